"""The gradient on the web: an ES module (``.mjs``) and its TypeScript declarations
(``.d.ts``) that wrap a module built by ``wasm.build_module(..., split=True)``.

The wrapper knows the module's contract (wasm.py) so that its caller does not: it takes
numbers and ``Float64Array``s (an array of more dimensions as ``{data, shape}``, a 2-d one
also as an array of rows), copies them into linear memory, calls the export and returns
numbers and ``Float64Array``s.  It imports nothing and runs in browsers and in Node.  Exports:

* ``load(source?)`` -- the ``.wasm`` beside the ``.mjs`` by default, or a URL, bytes or a
  ``WebAssembly.Module``;
* ``<f>(...)`` (also ``primal``) -- f itself; an array argument f writes into is updated, as
  a Python caller would see it;
* ``grad(...)``, ``valueAndGrad(...)`` -- as ``s2sad.grad`` / ``value_and_grad`` (one
  gradient, or an array of them when ``wrt`` names several); arguments are never changed;
* ``vjp(...) -> {value, pullback(seed = 1)}`` -- the ``<f>_fwd`` / ``<f>_bwd`` exports: the
  forward sweep runs now and leaves its tape, the pullback runs the adjoint sweep once;
* ``jvp(primals, tangents) -> [value, tangent]`` -- forward mode, for a module built with
  ``forward=True`` (``s2sad-cli --mode forward``);
* ``matrix(data, rows, cols)`` -- a 2-d argument.
"""

from __future__ import annotations

import inspect
import json
import math
import os
from typing import Any

from .wasm import ModuleSource
from .wasm_emit import Arr

#: names a JS module cannot bind (a function with such a name is exported as ``primal`` only)
RESERVED = frozenset("""arguments await break case catch class const continue debugger default
delete do else enum eval export extends false finally for function if implements import in
instanceof interface let new null package private protected public return static super switch
this throw true try typeof var void while with yield load grad valueAndGrad vjp jvp matrix primal
""".split())


def _param_spec(f, source: ModuleSource) -> list[dict]:
    signature = inspect.signature(f)
    out = []
    for p in source.params:
        k = source.kinds[p]
        item: dict[str, Any] = {"name": p}
        if isinstance(k, Arr):
            item["type"], item["ndim"] = "array", k.ndim
        else:
            item["type"] = {"f64": "float", "i64": "int", "i32": "bool"}[k]
        default = signature.parameters[p].default
        # (a number default the wrapper fills in; JSON has no NaN or infinity)
        if isinstance(default, (bool, int, float)) and math.isfinite(default):
            item["default"] = default
        out.append(item)
    return out


def spec_of(f, source: ModuleSource, wasm_file: str, single: bool) -> dict:
    """What the wrapper needs to know of the module, as JSON-ready data."""
    reader = source.input_reader()
    values = reader() if reader is not None else ()
    inputs = [{"type": t, "value": bool(v) if t == "i32" else
               int(v) if t == "i64" else float(v)}
              for (_, _, t), v in zip(source.inputs, values)]
    return {
        "name": source.name,
        "wasm": wasm_file,
        "params": _param_spec(f, source),
        "wrt": list(source.wrt),
        "single": single,
        "scratch": list(source.scratch),
        "written": list(source.written),
        "forward": source.forward,
        "inputs": inputs,
        "sites": [[os.path.basename(file or ""), line or 0, (text or "").strip()]
                  for file, line, text in source.sites],
    }


def js_module(spec: dict) -> str:
    """The ``.mjs`` text for a module described by ``spec`` (``spec_of``)."""
    name = spec["name"]
    alias = "" if name in RESERVED or not name.isidentifier() else \
        f"export {{ primal as {name} }};\n"
    return (_HEADER.format(name=name, wasm=spec["wasm"])
            + "const SPEC = {\n" + ",\n".join(f"  {k}: {_json(v)}" for k, v in spec.items())
            + "\n};\n" + _BODY + alias)


def _json(value) -> str:
    """Compact JSON, a list of objects one per line."""
    if isinstance(value, list) and value and isinstance(value[0], (dict, list)):
        return "[\n" + ",\n".join("    " + json.dumps(v) for v in value) + "\n  ]"
    return json.dumps(value)


def ts_declarations(spec: dict) -> str:
    """The ``.d.ts`` text: the wrapper's API with the function's own parameter names."""
    def ident(p: str) -> str:
        return p + "_" if p in RESERVED else p

    def typ(item: dict) -> str:
        if item["type"] == "array":
            return {1: "Vector", 2: "Matrix"}.get(item["ndim"], "Tensor")
        return "boolean" if item["type"] == "bool" else "number"

    params = ", ".join(f"{ident(p['name'])}{'?' if 'default' in p else ''}: {typ(p)}"
                       for p in spec["params"])
    by_name = {p["name"]: p for p in spec["params"]}
    grads = [("Float64Array" if by_name[w]["ndim"] == 1 else "Matrix" if by_name[w]["ndim"] == 2
              else "Tensor") if by_name[w]["type"] == "array" else "number"
             for w in spec["wrt"]]
    gtype = grads[0] if spec["single"] else f"[{', '.join(grads)}]"
    name = spec["name"]
    alias = "" if name in RESERVED or not name.isidentifier() else \
        f"/** {name} itself (also exported as `primal`). */\n" \
        f"export declare function {name}({params}): number;\n"
    return f"""// generated by s2sad: the API of {name}.mjs
/** A 1-d argument: a Float64Array (or an array of numbers). */
export type Vector = Float64Array | number[];
/** A 2-d argument: row-major data and its shape (or an array of rows). */
export type Matrix = {{ data: Float64Array; shape: [number, number] }} | number[][];
/** An argument of three or more dimensions: row-major data and its shape. */
export type Tensor = {{ data: Float64Array; shape: number[] }};
/** The gradient with respect to {", ".join(spec["wrt"])}. */
export type Gradient = {gtype};
/** Loads {spec["wasm"]} (beside this file by default), a URL, its bytes or a compiled module. */
export declare function load(
    source?: string | URL | ArrayBuffer | Uint8Array | WebAssembly.Module): Promise<void>;
{alias}/** {name} itself: an array argument it writes into is updated in place. */
export declare function primal({params}): number;
/** The gradient of {name} with respect to {", ".join(spec["wrt"])}. */
export declare function grad({params}): Gradient;
/** [{name}(...), its gradient]. */
export declare function valueAndGrad({params}): [number, Gradient];
/** Forward mode (a module built with --mode forward): [value, derivative along tangents]. */
export declare function jvp(primals: unknown[], tangents: number[]): [number, number];
/** Runs the forward sweep now; pullback(seed) runs the adjoint sweep once. */
export declare function vjp({params}): {{
    value: number; pullback(seed?: number): Gradient }};
/** A 2-d argument from row-major data. */
export declare function matrix(
    data: Float64Array | number[], rows: number, cols: number): Matrix;
"""


def write(f, source: ModuleSource, binary: bytes, folder: str, single: bool) -> list[str]:
    """Write ``<f>.wasm``, ``<f>.mjs`` and ``<f>.d.ts`` into ``folder``; returns the paths.
    ``single``: one gradient (``wrt`` named one parameter), not an array of them."""
    name = source.name
    wasm_file = f"{name}.wasm"
    spec = spec_of(f, source, wasm_file, single)
    paths = [os.path.join(folder, wasm_file), os.path.join(folder, f"{name}.mjs"),
             os.path.join(folder, f"{name}.d.ts")]
    with open(paths[0], "wb") as fh:
        fh.write(binary)
    with open(paths[1], "w", encoding="utf-8") as fh:
        fh.write(js_module(spec))
    with open(paths[2], "w", encoding="utf-8") as fh:
        fh.write(ts_declarations(spec))
    return paths


_HEADER = """\
// {name}.mjs -- generated by s2sad: {name}, its gradient and its vjp, computed by
// {wasm}.  No dependencies; browsers and Node.  The API is in {name}.d.ts.
"""

_BODY = r"""
const PARAMS = SPEC.params;
const NAME = SPEC.name;
let compiled = null;  // the WebAssembly.Module
let exports_ = null;  // the current instance's exports (a trap replaces the instance)
let generation = 0;   // calls so far: a pullback is valid until the next call

/** Load the module: the .wasm beside this file by default, or a URL, bytes or a module. */
export async function load(source) {
  if (source === undefined) source = new URL(SPEC.wasm, import.meta.url);
  if (source instanceof WebAssembly.Module) {
    compiled = source;
  } else {
    let bytes = source;
    if (typeof source === "string" || source instanceof URL) {
      const url = new URL(source, typeof location !== "undefined" ? location.href :
                          import.meta.url);
      if (url.protocol === "file:") {  // Node: fetch() does not read files
        const fs = await import("node:fs/promises");
        bytes = await fs.readFile(url);
      } else {
        const response = await fetch(url);
        if (!response.ok) throw new Error(`${NAME}: cannot load ${url}: ${response.status}`);
        bytes = await response.arrayBuffer();
      }
    }
    compiled = await WebAssembly.compile(bytes);
  }
  exports_ = new WebAssembly.Instance(compiled, {}).exports;
}

function instance() {
  if (exports_ === null) throw new Error(`${NAME}: call load() first`);
  return exports_;
}

/** A 2-d argument from row-major data. */
export function matrix(data, rows, cols) {
  const d = data instanceof Float64Array ? data : Float64Array.from(data);
  if (d.length !== rows * cols) {
    throw new Error(`matrix: ${d.length} numbers do not make ${rows} x ${cols}`);
  }
  return { data: d, shape: [rows, cols] };
}

function describe(v) {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an Array";
  if (typeof v === "object") return v.constructor ? `a ${v.constructor.name}` : "an object";
  return `${typeof v} ${String(v)}`;
}

function asArray(p, v) {
  // -> { data: Float64Array, shape: number[] }
  const what = `${NAME}: argument '${p.name}'`;
  if (p.ndim === 1) {
    if (v instanceof Float64Array) return { data: v, shape: [v.length] };
    if (Array.isArray(v) && v.every((x) => typeof x === "number")) {
      return { data: Float64Array.from(v), shape: [v.length] };
    }
    throw new Error(`${what} must be a Float64Array or an array of numbers, got ${describe(v)}`);
  }
  if (Array.isArray(v) && p.ndim === 2) {
    const cols = v.length ? (Array.isArray(v[0]) ? v[0].length : -1) : 0;
    if (cols < 0 || !v.every((row) => Array.isArray(row) && row.length === cols &&
                             row.every((x) => typeof x === "number"))) {
      throw new Error(`${what} must be ${p.ndim}-d: rows of numbers of one length`);
    }
    return { data: Float64Array.from(v.flat()), shape: [v.length, cols] };
  }
  if (v && v.data instanceof Float64Array && Array.isArray(v.shape) &&
      v.shape.length === p.ndim && v.shape.every((n) => Number.isInteger(n) && n >= 0) &&
      v.shape.reduce((a, b) => a * b, 1) === v.data.length) {
    return { data: v.data, shape: v.shape };
  }
  throw new Error(`${what} must be a ${p.ndim}-d array: {data: Float64Array, shape: ` +
                  `[${Array(p.ndim).fill("n").join(", ")}]} with data.length the product ` +
                  `of the shape${p.ndim === 2 ? ", or an array of rows" : ""}; ` +
                  `got ${describe(v)}`);
}

function bind(args) {
  // the arguments by position, defaults filled in, each checked
  if (args.length > PARAMS.length) {
    throw new Error(`${NAME} takes ${PARAMS.length} arguments, got ${args.length}`);
  }
  return PARAMS.map((p, i) => {
    let v = args[i];
    if (v === undefined) {
      if (!("default" in p)) {
        throw new Error(`${NAME}: missing argument '${p.name}' (argument ${i + 1})`);
      }
      v = p.default;
    }
    if (p.type === "array") return asArray(p, v);
    if (p.type === "float") {
      if (typeof v !== "number") {
        throw new Error(`${NAME}: argument '${p.name}' must be a number, got ${describe(v)}`);
      }
      return v;
    }
    if (p.type === "int") {
      if (typeof v === "bigint") return v;
      if (!Number.isSafeInteger(v)) {
        throw new Error(`${NAME}: argument '${p.name}' must be an integer, got ${describe(v)}`);
      }
      return BigInt(v);
    }
    if (typeof v !== "boolean") {
      throw new Error(`${NAME}: argument '${p.name}' must be a boolean, got ${describe(v)}`);
    }
    return v ? 1 : 0;
  });
}

function layout(ex, values, buffers) {
  // copy arrays into linear memory (from byte 64, 16-byte aligned), then the zeroed
  // gradient buffers of `buffers` (parameter names); the tape starts after them
  const flat = [];
  const placed = {};
  let offset = 64;
  const arrays = [];
  PARAMS.forEach((p, i) => {
    const v = values[i];
    if (p.type === "array") {
      arrays.push([offset, v.data]);
      placed[p.name] = { offset, shape: v.shape };
      flat.push(offset, ...v.shape.map(BigInt));
      offset += Math.ceil(v.data.length * 8 / 16) * 16;
    } else {
      flat.push(v);
    }
  });
  const grads = [];
  for (const name of buffers) {
    const shape = placed[name].shape;
    const n = shape.reduce((a, b) => a * b, 1);
    grads.push({ name, offset, shape, n });
    offset += Math.ceil(n * 8 / 16) * 16;
  }
  const tape = Math.ceil(offset / 1024) * 1024;
  const need = tape + 65536 - ex.memory.buffer.byteLength;
  if (need > 0) ex.memory.grow(Math.ceil(need / 65536));
  const heap = new Float64Array(ex.memory.buffer);
  for (const [off, data] of arrays) heap.set(data, off / 8);
  for (const g of grads) heap.fill(0, g.offset / 8, g.offset / 8 + g.n);
  ex.tape_top.value = tape;
  return { flat, placed, grads };
}

const INPUTS = SPEC.inputs.map((g) => g.type === "i64" ? BigInt(g.value) :
                                      g.type === "i32" ? (g.value ? 1 : 0) : g.value);

function call(name, args, withInputs = true) {
  const ex = instance();
  try {
    return ex[name](...args, ...(withInputs ? INPUTS : []));
  } catch (err) {
    if (!(err instanceof WebAssembly.RuntimeError)) throw err;
    const code = ex.error_code.value;
    const site = SPEC.sites[ex.error_site.value - 1];
    exports_ = new WebAssembly.Instance(compiled, {}).exports;  // a fresh instance
    const where = site ? ` at ${site[0]}:${site[1]}: ${site[2]}` : "";
    if (code === 1) throw new Error(`${NAME}: the tape is exhausted (linear memory cannot grow)`);
    if (code === 2) throw new RangeError(`${NAME}: index out of range${where}`);
    if (code === 3) throw new Error(`${NAME}: assertion failed`);
    if (code === 5) throw new RangeError(`${NAME}: the checkpointed loop's memory budget or ` +
                                         `snapshot count leaves no room${where}`);
    if (code === 6) throw new RangeError(`${NAME}: sin, cos or tan of an argument beyond ` +
                                         `2**20 * pi/2 (reduced exactly only below it)`);
    throw err;
  }
}

function results(ex, out, grads) {
  // -> the gradient (single wrt) or an array of gradients, arrays copied out
  const heap = new Float64Array(ex.memory.buffer);
  const byName = Object.fromEntries(grads.map((g) => [g.name, g]));
  const gs = SPEC.wrt.map((w, k) => {
    const g = byName[w];
    if (g === undefined) return out[k + 1];
    const data = heap.slice(g.offset / 8, g.offset / 8 + g.n);
    return g.shape.length === 1 ? data : { data, shape: g.shape };
  });
  return SPEC.single ? gs[0] : gs;
}

function arrayBuffers() {
  return SPEC.wrt.filter((w) => PARAMS.find((p) => p.name === w).type === "array")
    .concat(SPEC.scratch);
}

function bufferArgs(grads) {
  return grads.flatMap((g) => [g.offset, ...g.shape.map(BigInt)]);
}

function asList(out) {
  return Array.isArray(out) ? out : [out];
}

/** The function itself; an array argument it writes into is updated, as in Python. */
export function primal(...args) {
  const values = bind(args);
  const ex = instance();
  generation++;
  const { flat, placed } = layout(ex, values, []);
  const value = call(NAME, flat);
  if (SPEC.written.length) {
    const heap = new Float64Array(ex.memory.buffer);
    for (const name of SPEC.written) {
      const { offset } = placed[name];
      const data = values[PARAMS.findIndex((p) => p.name === name)].data;
      const arg = args[PARAMS.findIndex((p) => p.name === name)];
      const fresh = heap.subarray(offset / 8, offset / 8 + data.length);
      if (data instanceof Float64Array) data.set(fresh);
      if (Array.isArray(arg)) {  // (an array of numbers or of rows, as given)
        if (Array.isArray(arg[0])) arg.forEach((row, i) => row.forEach((_, j) => {
          row[j] = fresh[i * row.length + j];
        }));
        else arg.forEach((_, i) => { arg[i] = fresh[i]; });
      }
    }
  }
  return value;
}

/** [f(...), its gradient]. */
export function valueAndGrad(...args) {
  const values = bind(args);
  const ex = instance();
  generation++;
  const { flat, grads } = layout(ex, values, arrayBuffers());
  const out = asList(call(`${NAME}_grad`, [...flat, 1.0, ...bufferArgs(grads)]));
  return [out[0], results(ex, out, grads)];
}

/** The gradient of f with respect to SPEC.wrt (arguments are not changed). */
export function grad(...args) {
  return valueAndGrad(...args)[1];
}

/** [f(...primals), the derivative along tangents] (forward mode: a module built with
 * s2sad-cli --mode forward; number arguments; tangents one per primal, 0 for an int). */
export function jvp(primals, tangents) {
  if (!SPEC.forward) {
    throw new Error(`${NAME}: this module has no forward mode (build it with --mode forward)`);
  }
  if (!Array.isArray(primals) || !Array.isArray(tangents) ||
      tangents.length !== primals.length) {
    throw new Error(`${NAME}: jvp takes an array of primals and one of tangents, as long`);
  }
  const values = bind(primals);
  const ex = instance();
  generation++;
  const { flat } = layout(ex, values, []);
  const ts = SPEC.wrt.map((w) => {
    const t = tangents[PARAMS.findIndex((p) => p.name === w)];
    if (typeof t !== "number") {
      throw new Error(`${NAME}: the tangent of '${w}' must be a number, got ${describe(t)}`);
    }
    return t;
  });
  const out = call(`${NAME}_jvp`, [...flat, ...ts]);
  return [out[0], out[1]];
}

/** {value, pullback(seed = 1)}: the forward sweep runs now and leaves its tape; the
 * pullback runs the adjoint sweep, once, before any other call of this module. */
export function vjp(...args) {
  const values = bind(args);
  const ex = instance();
  const mine = ++generation;
  const { flat, grads } = layout(ex, values, arrayBuffers());
  const value = asList(call(`${NAME}_fwd`, flat))[0];
  let used = false;
  function pullback(seed = 1.0) {
    if (typeof seed !== "number") {
      throw new Error(`${NAME}: the pullback's seed must be a number, got ${describe(seed)}`);
    }
    if (used) throw new Error(`${NAME}: a pullback runs once (its tape is consumed)`);
    if (generation !== mine || exports_ !== ex) {
      throw new Error(`${NAME}: this pullback's tape was overwritten by a later call`);
    }
    used = true;
    generation++;
    const out = asList(call(`${NAME}_bwd`, [seed, ...bufferArgs(grads)], false));
    return results(ex, out, grads);
  }
  return { value, pullback };
}
"""


def sizes(paths: list[str]) -> dict[str, tuple[int, int]]:
    """Bytes and gzip bytes of each file (the figures the README reports)."""
    import gzip

    out = {}
    for p in paths:
        with open(p, "rb") as fh:
            data = fh.read()
        out[os.path.basename(p)] = (len(data), len(gzip.compress(data, 9)))
    return out

