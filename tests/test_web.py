"""The gradient on the web: the split exports (<f>_fwd, <f>_bwd) against <f>_grad, and the
generated ES module (--emit js) run by Node against the Python backend."""

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import wasm_numpy_programs as P
import wasm_programs as W
from test_wasm import COVERED, close

import s2sad
from s2sad import wasm, web
from s2sad.wasm_emit import Arr

ROOT = Path(__file__).resolve().parent.parent
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="LOUD SKIP: node is not installed, the "
                                "generated ES module is not run")
sys.path.insert(0, str(ROOT / "examples" / "web"))
sys.path.insert(0, str(ROOT / "examples"))


def _instance(source):
    import wasmtime

    store = wasmtime.Store()
    inst = wasmtime.Instance(store, wasmtime.Module(store.engine, source.wat), [])
    return store, inst.exports(store)


def _as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


SCALAR = [p for p in COVERED if all(d[0] != "list" for d in p[1])]


@pytest.mark.parametrize("f,domains,wrt", SCALAR, ids=[p[0].__name__ for p in SCALAR])
def test_fwd_then_bwd_is_grad(f, domains, wrt):
    """The two sweeps as two calls give what one call gives, for each seed, and the tape
    they leave is the tape _grad leaves (tape_top back where it started)."""
    import inspect

    params = list(inspect.signature(f).parameters)
    kinds = {p: "i64" if len(d) == 3 else "f64" for p, d in zip(params, domains)}
    source = wasm.build_module(f, tuple(wrt), kinds, split=True)
    store, ex = _instance(source)
    reader = source.input_reader()
    inputs = list(reader()) if reader is not None else []
    rng = np.random.default_rng(len(f.__name__))
    name = source.name
    for _ in range(4):
        args = [int(rng.integers(0, 6)) if kinds[p] == "i64" else float(rng.uniform(0.2, 1.5))
                for p in params]
        try:
            want_value, _ = s2sad.value_and_grad(f, wrt=tuple(wrt))(*args)
        except (ValueError, ZeroDivisionError, OverflowError):
            continue
        seed = float(rng.uniform(-2, 2))
        whole = _as_list(ex[f"{name}_grad"](store, *args, seed, *inputs))
        top = ex["tape_top"].value(store)
        value = _as_list(ex[f"{name}_fwd"](store, *args, *inputs))
        assert close(value[0], want_value) and close(value[0], whole[0])
        split = _as_list(ex[f"{name}_bwd"](store, seed))
        assert ex["tape_top"].value(store) == top
        assert len(split) == len(whole)
        for a, b in zip(split, whole):
            assert close(a, b), (args, split, whole)


def test_most_of_the_corpus_is_checked_split():
    assert len(SCALAR) >= 40


def test_fwd_then_bwd_with_arrays():
    source = wasm.build_module(W.matvec_norm, (0, 1), {"a": Arr(2), "v": Arr(1)}, split=True)
    store, ex = _instance(source)
    a = np.arange(12.0).reshape(3, 4) / 7.0
    v = np.array([0.5, -1.0, 2.0, 0.25])
    mem = ex["memory"]
    view = np.frombuffer(mem.get_buffer_ptr(store, mem.data_len(store)), dtype=np.float64,
                         count=mem.data_len(store) // 8)
    view[8:20] = a.ravel()
    view[20:24] = v
    ex["tape_top"].set_value(store, __import__("wasmtime").Val.i32(1024))
    value = ex["matvec_norm_fwd"](store, 64, 3, 4, 160, 4)
    view = np.frombuffer(mem.get_buffer_ptr(store, mem.data_len(store)), dtype=np.float64,
                         count=mem.data_len(store) // 8)
    view[32:48] = 0.0  # the gradient buffers: ba at byte 256 (3 x 4), bv at 352 (4)
    out = ex["matvec_norm_bwd"](store, 0.5, 256, 3, 4, 352, 4)
    view = np.frombuffer(mem.get_buffer_ptr(store, mem.data_len(store)), dtype=np.float64,
                         count=mem.data_len(store) // 8)
    want_value, (ga, gv) = s2sad.value_and_grad(W.matvec_norm, wrt=(0, 1))(a, v)
    assert close(value, want_value) and close(out[0], want_value)
    assert close(view[32:44].reshape(3, 4), 0.5 * ga) and close(view[44:48], 0.5 * gv)


# -- the ES module, run by Node ---------------------------------------------------------------

RUNNER = r"""
// node run.mjs cases.json: each case {module, call, args}; arrays as {array, shape}
import fs from "node:fs";
import { pathToFileURL } from "node:url";
const cases = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const modules = {};
function decode(a, m) {
  if (a && typeof a === "object" && "array" in a) {
    const data = Float64Array.from(a.array);
    return a.shape.length === 1 ? (a.plain ? Array.from(data) : data)
      : (a.rows ? a.rows : a.shape.length === 2 ? m.matrix(data, ...a.shape)
                                                : { data, shape: a.shape });
  }
  return a;
}
function encode(v) {
  if (v instanceof Float64Array) return { array: Array.from(v) };
  if (Array.isArray(v)) return v.map(encode);
  if (v && typeof v === "object" && v.data) return { array: Array.from(v.data), shape: v.shape };
  return v;
}
const out = [];
for (const c of cases) {
  const m = modules[c.module] ??= await import(pathToFileURL(c.module));
  if (!m.__loaded) { await m.load(); }
  try {
    const args = c.args.map((a) => decode(a, m));
    let result;
    if (c.call === "jvp") {
      result = m.jvp(args, c.tangents);
    } else if (c.call === "vjp") {
      const r = m.vjp(...args);
      const seeds = c.seeds ?? [1.0];
      result = { value: r.value, pullbacks: [] };
      for (const s of seeds) {
        if (c.between) m.grad(...args);
        try { result.pullbacks.push(encode(r.pullback(s))); }
        catch (e) { result.pullbacks.push({ error: e.message }); }
      }
    } else {
      result = encode(m[c.call](...args));
      if (c.call === "primal") result = { value: result, args: args.map(encode) };
    }
    out.push(result);
  } catch (e) {
    out.push({ error: `${e.constructor.name}: ${e.message}` });
  }
}
console.log(JSON.stringify(out));
"""


def _arr(a, **flags):
    a = np.asarray(a, dtype=float)
    return {"array": a.ravel().tolist(), "shape": list(a.shape), **flags}


def run_node(tmp_path, cases):
    runner = tmp_path / "run.mjs"
    runner.write_text(RUNNER)
    data = tmp_path / "cases.json"
    data.write_text(json.dumps(cases))
    out = subprocess.run([NODE, str(runner), str(data)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _module(tmp_path, f, wrt, kinds=None, forward=False):
    source = wasm.build_module(f, wrt, kinds, split=True, forward=forward)
    import wasmtime

    folder = tmp_path / source.name
    folder.mkdir()
    paths = web.write(f, source, bytes(wasmtime.wat2wasm(source.wat)), str(folder),
                      single=not isinstance(wrt, tuple))
    return paths[1]


@needs_node
def test_the_js_module_agrees_with_python(tmp_path):
    import shot
    from billiards import rack
    from programs import inactive_param

    rng = np.random.default_rng(7)
    dot = _module(tmp_path, W.dot_tanh, (0, 1))
    mat = _module(tmp_path, W.matvec_norm, (0, 1))
    ints = _module(tmp_path, inactive_param, 0)
    smooth = _module(tmp_path, W.smooth_in_place, (0, 1))
    billiard = _module(tmp_path, shot.shoot, ("vx", "vy"))
    cube = _module(tmp_path, P.three_dimensional, (0, 1, 2))
    w, xs = rng.normal(size=5), rng.normal(size=5)
    a, v = rng.normal(size=(3, 4)), rng.normal(size=4)
    ys = rng.normal(size=6)
    t3, x3, m3 = rng.normal(size=(2, 3, 3)), rng.normal(size=(4, 3)), rng.normal(size=(2, 3))
    x0 = rack()
    n = len(x0)
    state = [_arr(x0), _arr(np.zeros((30, 2 * n)))]
    cases = [
        {"module": dot, "call": "grad", "args": [_arr(w), _arr(xs, plain=True)]},
        {"module": mat, "call": "valueAndGrad", "args": [_arr(a), _arr(v)]},
        {"module": mat, "call": "valueAndGrad", "args": [_arr(a, rows=a.tolist()), _arr(v)]},
        {"module": ints, "call": "grad", "args": [0.75, 9]},
        {"module": smooth, "call": "grad", "args": [_arr(ys), 0.3]},
        {"module": smooth, "call": "primal", "args": [_arr(ys), 0.3]},
        {"module": billiard, "call": "valueAndGrad", "args": [2.0, 0.05, *state, 0.9, 0.1]},
        {"module": billiard, "call": "vjp", "args": [2.0, 0.05, *state, 0.9, 0.1],
         "seeds": [2.5, 1.0]},
        {"module": billiard, "call": "primal", "args": [2.0, 0.05, *state, 0.9, 0.1]},
        {"module": cube, "call": "valueAndGrad", "args": [_arr(t3), _arr(x3), _arr(m3)]},
        {"module": cube, "call": "valueAndGrad", "args": [_arr(t3, rows=t3.tolist()),
                                                          _arr(x3), _arr(m3)]},
    ]
    got = run_node(tmp_path, cases)
    assert close([g["array"] for g in got[0]], s2sad.grad(W.dot_tanh, wrt=(0, 1))(w, xs))
    value, (ga, gv) = s2sad.value_and_grad(W.matvec_norm, wrt=(0, 1))(a, v)
    for k in (1, 2):  # {data, shape} and an array of rows give the same
        assert close(got[k][0], value)
        assert got[k][1][0]["shape"] == [3, 4] and close(got[k][1][0]["array"], ga.ravel())
        assert close(got[k][1][1]["array"], gv)
    assert close(got[3], s2sad.grad(inactive_param)(0.75, 9))
    want = s2sad.grad(W.smooth_in_place, wrt=(0, 1))(ys.copy(), 0.3)
    assert close(got[4][0]["array"], want[0]) and close(got[4][1], want[1])
    # the primal updates the array it writes into, as calling it in Python does
    mutated = ys.copy()
    assert close(got[5]["value"], W.smooth_in_place(mutated, 0.3))
    assert close(got[5]["args"][0]["array"], mutated)
    args = (2.0, 0.05, x0.copy(), np.zeros((30, 2 * n)), 0.9, 0.1)
    value, g = s2sad.value_and_grad(shot.shoot, wrt=("vx", "vy"))(*args)
    assert close(got[6][0], value) and close(got[6][1], g)
    assert close(got[7]["value"], value)
    assert close(got[7]["pullbacks"][0], 2.5 * np.array(g))
    assert got[7]["pullbacks"][1] == {"error": "shoot: a pullback runs once (its tape is "
                                      "consumed)"}
    path = np.zeros((30, 2 * n))
    assert close(got[8]["value"], shot.shoot(2.0, 0.05, x0.copy(), path, 0.9, 0.1))
    assert close(got[8]["args"][3]["array"], path.ravel()) and np.any(path != 0.0)
    assert close(got[8]["args"][2]["array"], x0.ravel())  # (the rack is not written)
    # a 3-d argument as {data, shape}, its gradient of the same shape; nested rows refused
    value, grads = s2sad.value_and_grad(P.three_dimensional, wrt=(0, 1, 2))(t3, x3, m3)
    assert close(got[9][0], value)
    assert got[9][1][0]["shape"] == [2, 3, 3] and close(got[9][1][0]["array"], grads[0].ravel())
    assert close(got[9][1][1]["array"], grads[1].ravel()) and \
        close(got[9][1][2]["array"], grads[2].ravel())
    assert "must be a 3-d array: {data: Float64Array, shape: [n, n, n]}" in got[10]["error"]


GAIN = 1.5


def gained(x, n=3):
    s = 0.0
    for i in range(n):
        s = s + GAIN * math.sin(x * i)
    return s


@needs_node
def test_global_numbers_and_int_defaults_in_the_js_module(tmp_path):
    # GAIN is baked in with its value when the module was built; n defaults to 3 (an int:
    # a BigInt for the i64 parameter)
    module = _module(tmp_path, gained, 0)
    got = run_node(tmp_path, [{"module": module, "call": "valueAndGrad", "args": [0.4]},
                              {"module": module, "call": "grad", "args": [0.4, 5]}])
    value, g = s2sad.value_and_grad(gained)(0.4)
    assert close(got[0][0], value) and close(got[0][1], g)
    assert close(got[1], s2sad.grad(gained)(0.4, 5))


@needs_node
def test_the_js_module_refuses_bad_arguments_and_reports_the_line(tmp_path):
    mat = _module(tmp_path, W.matvec_norm, (0, 1))
    oob = _module(tmp_path, W.out_of_range, 0, {"xs": Arr(1)})
    billiard = _module(tmp_path, __import__("shot").shoot, ("vx", "vy"))
    v = _arr([1.0, 2.0])
    cases = [
        {"module": mat, "call": "grad", "args": [_arr(np.ones((2, 2)))]},
        {"module": mat, "call": "grad", "args": ["a", v]},
        {"module": mat, "call": "grad", "args": [_arr(np.ones((2, 2))), v, 3.0]},
        {"module": mat, "call": "grad", "args": [_arr(np.ones((2, 3))), v]},
        {"module": oob, "call": "grad", "args": [_arr([1.0, 2.0])]},
        {"module": oob, "call": "grad", "args": [_arr([1.0, 2.0])]},
        {"module": billiard, "call": "grad", "args": [2.0, 0.05, _arr(np.ones((2, 2))),
                                                      _arr(np.zeros((3, 4))), 0.9, "x"]},
        {"module": billiard, "call": "vjp", "args": [2.0, 0.05, _arr([[0, 0], [0.5, 0]]),
                                                     _arr(np.zeros((3, 4))), 0.9, 0.1],
         "between": True, "seeds": [1.0]},
        {"module": billiard, "call": "grad", "args": [2.0, 0.05, _arr(np.ones((2, 2))),
                                                      _arr(np.zeros((3, 4))), 0.9, 0.1, 2.5]},
    ]
    got = run_node(tmp_path, cases)
    assert got[0] == {"error": "Error: matvec_norm: missing argument 'v' (argument 2)"}
    assert got[1]["error"].startswith("Error: matvec_norm: argument 'a' must be a 2-d array")
    assert got[2] == {"error": "Error: matvec_norm takes 2 arguments, got 3"}
    # a shape that does not fit: the index check of the module, with the user's line
    assert got[3]["error"].startswith("RangeError: matvec_norm: index out of range at "
                                      "wasm_programs.py:")
    line = W.out_of_range.__code__.co_firstlineno + 1
    assert got[4] == {"error": f"RangeError: out_of_range: index out of range at "
                               f"wasm_programs.py:{line}: return xs[len(xs)] * 2.0"}
    assert got[5] == got[4]  # (a fresh instance after the trap: the same, not garbage)
    assert got[6]["error"] == "Error: shoot: argument 'target_y' must be a number, got " \
                              "string x"
    assert got[7]["pullbacks"] == [{"error": "shoot: this pullback's tape was overwritten by "
                                             "a later call"}]
    assert got[8]["error"] == "Error: shoot: argument 'steps' must be an integer, got " \
                              "number 2.5"


def test_the_declarations_name_the_parameters_and_their_types():
    import shot

    source = wasm.build_module(shot.shoot, ("vx", "vy"), split=True)
    text = web.ts_declarations(web.spec_of(shot.shoot, source, "shoot.wasm", single=False))
    assert ("export declare function grad(vx: number, vy: number, x0: Matrix, path: Matrix, "
            "target_x: number, target_y: number, steps?: number, dt?: number, "
            "radius?: number): Gradient;") in text
    assert "export type Gradient = [number, number];" in text


def test_cli_emit_js_writes_three_files(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "s2sad.cli",
                          f"{ROOT}/examples/web/shot.py:shoot", "--wrt", "vx,vy", "--emit",
                          "js", "-o", str(tmp_path)], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shoot.d.ts", "shoot.mjs",
                                                          "shoot.wasm"]
    assert (tmp_path / "shoot.wasm").read_bytes()[:4] == b"\0asm"
    missing = subprocess.run([sys.executable, "-m", "s2sad.cli",
                              f"{ROOT}/examples/web/shot.py:shoot", "--emit", "js", "-o",
                              str(tmp_path / "nope")], capture_output=True, text=True, env=env)
    assert missing.returncode == 2 and "not a folder" in missing.stderr



def test_serve_builds_the_folder_and_serves_wasm_and_mjs_with_their_types(tmp_path):
    import threading
    import urllib.request

    from s2sad import serve

    for name in ("build.txt", "shot.py"):
        shutil.copy(ROOT / "examples" / "web" / name, tmp_path / name)
    assert serve.build(str(tmp_path)) == 0
    os.environ["S2SAD_SERVE_QUIET"] = "1"
    httpd = serve.server(str(tmp_path), 0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{httpd.server_address[1]}/"
        for name, kind in (("shoot.wasm", "application/wasm"), ("shoot.mjs", "text/javascript")):
            with urllib.request.urlopen(base + name) as response:
                assert response.headers["Content-Type"] == kind
                assert response.read() == (tmp_path / name).read_bytes()
    finally:
        httpd.shutdown()
        httpd.server_close()
    (tmp_path / "build.txt").write_text("shot.py:nothing\n")
    assert serve.build(str(tmp_path)) == 2


@needs_node
def test_forward_mode_in_the_js_module(tmp_path):
    module = _module(tmp_path, gained, 0, forward=True)
    (tmp_path / "plain").mkdir()
    plain = _module(tmp_path / "plain", gained, 0)  # (built without forward mode)
    got = run_node(tmp_path, [{"module": module, "call": "jvp", "args": [0.4, 5],
                               "tangents": [1.5, 0]},
                              {"module": plain, "call": "jvp", "args": [0.4, 5],
                               "tangents": [1.5, 0]}])
    value, tangent = s2sad.jvp(gained, (0.4, 5), (1.5, 0))
    assert close(got[0][0], value) and close(got[0][1], tangent)
    assert got[1] == {"error": "Error: gained: this module has no forward mode (build it with "
                               "--mode forward)"}
