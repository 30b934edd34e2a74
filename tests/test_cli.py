"""s2sad-cli through a subprocess, and the emitted module run by Node."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import s2sad

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def cli(*args, cwd=None):
    import os

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "s2sad.cli", *args], capture_output=True,
                          text=True, cwd=cwd or ROOT, env=env)


def test_emit_python():
    out = cli(f"{EXAMPLES}/pendulum.py:pendulum", "--wrt", "theta0,length", "--emit", "python")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("def pendulum_grad(theta0, length, b_out=1.0):")
    assert "# adjoint sweep" in out.stdout


def test_emit_wat_to_a_file(tmp_path):
    target = tmp_path / "newton.wat"
    out = cli(f"{EXAMPLES}/newton.py:cubic_root", "--emit", "wat", "-o", str(target))
    assert out.returncode == 0, out.stderr
    text = target.read_text()
    assert text.startswith("(module") and '(export "cubic_root_grad")' in text


def test_emit_wasm_default_name(tmp_path):
    out = cli(f"{EXAMPLES}/newton.py:cubic_root", "--emit", "wasm", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    binary = (tmp_path / "cubic_root.wasm").read_bytes()
    assert binary[:4] == b"\0asm"


def test_ranks_of_arrays_the_source_does_not_index(tmp_path):
    # np.sum(np.tanh(A @ w)): nothing in the source says A and w are arrays, nor their ranks
    target = f"{EXAMPLES}/numpy_on_wasm.py:tanh_aw"
    out = cli(target, "--wrt", "A,w", "--emit", "wat")
    assert out.returncode == 2 and "--ranks A=2,w=1" in out.stderr
    assert "numpy_on_wasm.py:12" in out.stderr
    out = cli(target, "--wrt", "A,w", "--ranks", "A=2,w=1", "--emit", "wat")
    assert out.returncode == 0, out.stderr
    assert '(export "tanh_aw_grad")' in out.stdout
    out = cli(target, "--ranks", "B=3", "--emit", "wat")
    assert out.returncode == 2 and "expected NAME=1 or NAME=2" in out.stderr


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_runs_the_module_and_agrees_with_python(tmp_path):
    sys.path.insert(0, str(EXAMPLES))
    import newton

    cli(f"{EXAMPLES}/newton.py:cubic_root", "--emit", "wasm", "-o", str(tmp_path / "m.wasm"))
    script = tmp_path / "run.js"
    script.write_text("""
const fs = require('fs');
WebAssembly.instantiate(fs.readFileSync(process.argv[2]), {}).then(({instance}) => {
  const out = [];
  for (const x of [0.5, 1.0, 2.0, 3.7]) {
    out.push([instance.exports.cubic_root(x), instance.exports.cubic_root_grad(x, 1.0)]);
  }
  console.log(JSON.stringify(out));
});
""")
    run = subprocess.run(["node", str(script), str(tmp_path / "m.wasm")], capture_output=True,
                         text=True, check=True)
    results = json.loads(run.stdout)
    dgrad = s2sad.grad(newton.cubic_root)
    for x, (value, (value2, g)) in zip([0.5, 1.0, 2.0, 3.7], results):
        assert value == pytest.approx(newton.cubic_root(x), rel=1e-9)
        assert value2 == pytest.approx(value, rel=1e-15)
        assert g == pytest.approx(dgrad(x), rel=1e-9)


def one_line_error(out):
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("s2sad-cli: "), out.stderr
    assert "Traceback" not in out.stderr
    return lines[0]


def test_missing_file():
    line = one_line_error(cli("no/such/file.py:f", "--emit", "python"))
    assert "no/such/file.py: no such file" in line


def test_missing_function():
    line = one_line_error(cli(f"{EXAMPLES}/newton.py:nope"))
    assert "newton.py: no function named 'nope'" in line


def test_syntax_error_in_the_module(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(x):\n    return x *\n")
    line = one_line_error(cli(f"{bad}:f"))
    assert f"{bad}:2: syntax error" in line


def test_unsupported_construct(tmp_path):
    line = one_line_error(cli(f"{ROOT}/tests/refused.py:uses_try", "--emit", "wat"))
    source = (ROOT / "tests" / "refused.py").read_text().splitlines()
    try_line = 1 + [k for k, text in enumerate(source) if text.strip() == "try:"][0]
    assert f"refused.py:{try_line}: unsupported construct: try/except" in line


def test_construct_outside_the_wasm_subset(tmp_path):
    line = one_line_error(cli(f"{ROOT}/tests/programs.py:list_mutation", "--emit", "wasm",
                              "-o", str(tmp_path / "x.wasm")))
    assert "programs.py:" in line and "Wasm backend" in line


def test_help_shows_an_example():
    out = cli("--help")
    assert out.returncode == 0
    assert "s2sad-cli examples/pendulum.py:pendulum --emit python" in out.stdout


def test_array_parameters_are_read_off_the_source(tmp_path):
    out = cli(f"{ROOT}/tests/wasm_programs.py:matvec_norm", "--wrt", "a,v", "--emit", "wat")
    assert out.returncode == 0, out.stderr
    assert "(param $a i32)\n    (param $a.n0 i64)\n    (param $a.n1 i64)" in out.stdout
    assert "(param $v i32)\n    (param $v.n0 i64)" in out.stdout


def test_help_says_the_module_is_imported():
    out = cli("--help")
    assert "The module is imported: its top-level code runs" in out.stdout


def test_files_beside_the_target_do_not_replace_s2sads_imports(tmp_path):
    # the target's folder goes on sys.path (its own imports find their neighbours), after
    # s2sad has imported what it needs
    (tmp_path / "target.py").write_text(
        "import math\nimport helper\n\n\ndef f(x):\n    return helper.scale * math.sin(x) * x\n")
    (tmp_path / "helper.py").write_text("scale = 3.0\n")
    for shadow in ("wasmtime", "numpy", "gast", "astor"):
        (tmp_path / f"{shadow}.py").write_text(f"raise RuntimeError('not {shadow}')\n")
    out = cli(f"{tmp_path}/target.py:f", "--emit", "python")
    assert out.returncode == 0, out.stderr
    assert "helper.scale" in out.stdout
    out = cli(f"{tmp_path}/target.py:f", "--emit", "wasm", "-o", str(tmp_path / "t.wasm"))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "t.wasm").read_bytes()[:4] == b"\0asm"


def test_a_target_named_like_a_standard_module(tmp_path):
    (tmp_path / "ast.py").write_text("def f(x):\n    return x * x\n")
    out = cli(f"{tmp_path}/ast.py:f")
    assert out.returncode == 0, out.stderr
    assert "bx = 2.0 * b_out * x" in out.stdout


def test_sys_exit_while_importing_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "exits.py").write_text("import sys\n\nsys.exit(7)\n")
    out = cli(f"{tmp_path}/exits.py:f")
    assert out.returncode == 2
    assert one_line_error(out).endswith("exits.py:3: importing the module called sys.exit(7)")


def test_an_exception_while_importing_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "fails.py").write_text("x = 1\ny = {}['missing']\n")
    out = cli(f"{tmp_path}/fails.py:f")
    assert out.returncode == 2
    assert "fails.py:2: importing the module failed: KeyError: 'missing'" in one_line_error(out)


def test_a_target_that_is_not_python_source(tmp_path):
    (tmp_path / "f.txt").write_text("def f(x):\n    return x\n")
    out = cli(f"{tmp_path}/f.txt:f")
    assert out.returncode == 2
    assert "f.txt: not a Python source file" in one_line_error(out)


def test_import_s2sad_makes_the_wasm_backend_reachable():
    code = "import s2sad, math; print(s2sad.wasm.primal(math.sin) if False else " \
           "s2sad.wasm.grad.__module__)"
    import os

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert out.stdout.strip() == "s2sad.wasm", out.stderr


def test_emit_python_of_a_function_that_needs_arrays():
    # x0.copy(), x0.shape: refused for numbers; the source is the one for arrays (was None,
    # and the CLI crashed writing it)
    out = cli(f"{EXAMPLES}/billiards.py:shoot", "--wrt", "vx,vy")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("def shoot_grad_vx_vy(") and "# adjoint sweep" in out.stdout
