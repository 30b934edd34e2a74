"""The web benchmark: run ``python -m bench.web`` (needs ``node``).

Builds the web demo's module (examples/web/shot.py) and the sin loop with ``--emit js`` and
measures in one Node 20 process, side by side (best of repeats):
(a) a gradient through the ``.mjs`` wrapper (``grad(...)``: argument checks, arrays copied
    in, gradients copied out) vs the raw ``<f>_grad`` export on arguments already in memory
    (the tape reset as the wrapper does): the wrapper's overhead;
(b) ``vjp(...)`` + ``pullback()`` (the split exports) vs ``grad(...)``;
(c) the demo's optimization step rate (one ``valueAndGrad`` and two primal calls);
and the sizes of ``.wasm``, ``.mjs`` and ``.d.ts``, plain and gzip -9.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import wasmtime

from bench.core import sin_loop
from s2sad import wasm, web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples" / "web"))

SCRIPT = r"""
import { pathToFileURL } from "node:url";
const [shotPath, sinPath] = process.argv.slice(2);
const shot = await import(pathToFileURL(shotPath));
const sin = await import(pathToFileURL(sinPath));
await shot.load(); await sin.load();
function best(fn, k, reps = 7) {
  let b = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    for (let i = 0; i < k; i++) fn();
    b = Math.min(b, (performance.now() - t0) / k);
  }
  return b * 1000;  // us
}
function rack() {
  const pos = [[0, 0]];
  for (let row = 0; row < 3; row++) for (let k = 0; k <= row; k++)
    pos.push([0.5 + row * 0.03 * 1.8, (k - row / 2) * 0.03 * 2.1]);
  return pos;
}
const n = 7;
const x = shot.matrix(rack().flat(), n, 2);
const path = shot.matrix(new Float64Array(60 * 2 * n), 60, 2 * n);
const args = [2.0, 0.05, x, path, 0.9, 0.1];
const out = {};
// the raw export: the same memory layout as the wrapper's, arrays placed once
const { instance } = await WebAssembly.instantiate(
  (await import("node:fs")).readFileSync(shotPath.replace(/\.mjs$/, ".wasm")));
const ex = instance.exports;
const need = 65536 * 4 - ex.memory.buffer.byteLength;
if (need > 0) ex.memory.grow(Math.ceil(need / 65536));
new Float64Array(ex.memory.buffer).set(x.data, 8);  // x0 at 64, path at 176
const tape = Math.ceil((176 + 60 * 14 * 8) / 1024) * 1024;
const rawShot = () => {
  ex.tape_top.value = tape;
  return ex.shoot_grad(2.0, 0.05, 64, 7n, 2n, 176, 60n, 14n, 0.9, 0.1, 600n, 0.002, 0.03, 1.0);
};
const check = rawShot();
const viaWrapper = shot.valueAndGrad(...args);
if (Math.abs(check[1] - viaWrapper[1][0]) > 1e-12 * Math.abs(check[1])) {
  throw new Error(`raw and wrapper disagree: ${check} ${viaWrapper}`);
}
out.shot_raw = best(rawShot, 200);
out.shot_wrapper = best(() => shot.grad(...args), 200);
out.shot_vjp = best(() => shot.vjp(...args).pullback(), 200);
out.shot_step = best(() => {
  shot.valueAndGrad(...args); shot.shoot(...args); shot.shoot(...args);
}, 100);
const sinEx = (await WebAssembly.instantiate(
  (await import("node:fs")).readFileSync(sinPath.replace(/\.mjs$/, ".wasm")))).instance.exports;
const rawSin = () => { sinEx.tape_top.value = 1024; return sinEx.sin_loop_grad(0.3, 1.0); };
out.sin_raw = best(rawSin, 2000);
out.sin_wrapper = best(() => sin.grad(0.3), 2000);
out.sin_vjp = best(() => sin.vjp(0.3).pullback(), 2000);
out.sin_primal = best(() => sin.sin_loop(0.3), 2000);
out.agree = Math.abs(sin.grad(0.3) - rawSin()[1]) <= 1e-12 * Math.abs(rawSin()[1]);
console.log(JSON.stringify(out));
"""


def build(folder: str) -> dict:
    import shot

    paths = {}
    for f, wrt in ((shot.shoot, ("vx", "vy")), (sin_loop, 0)):
        source = wasm.build_module(f, wrt, split=True)
        written = web.write(f, source, bytes(wasmtime.wat2wasm(source.wat)), folder,
                            single=not isinstance(wrt, tuple))
        paths[f.__name__] = written
    return paths


def main() -> None:
    node = shutil.which("node")
    if node is None:
        print("bench.web needs node (Node 20): not found")
        return
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as folder:
        paths = build(folder)
        script = Path(folder) / "bench.mjs"
        script.write_text(SCRIPT)
        run = subprocess.run([node, str(script), paths["shoot"][1], paths["sin_loop"][1]],
                             capture_output=True, text=True)
        if run.returncode:
            print(run.stderr)
            raise SystemExit(1)
        r = json.loads(run.stdout)
        sizes = {name: web.sizes(p) for name, p in paths.items()}
    print(f"Node {version}; microseconds per call, best of 7")
    print("| program | raw <f>_grad | grad() via .mjs | wrapper overhead | vjp + pullback |")
    print("|---|---|---|---|---|")
    for key, label in (("shot", "billiards shot (7 balls, 600 steps)"), ("sin", "sin loop")):
        raw, wrapped, vjp = r[f"{key}_raw"], r[f"{key}_wrapper"], r[f"{key}_vjp"]
        print(f"| {label} | {raw:.1f} | {wrapped:.1f} | {100 * (wrapped / raw - 1):+.0f}% | "
              f"{vjp:.1f} |")
    ratio = r["sin_wrapper"] / r["sin_primal"]
    print(f"\nsin loop: gradient / primal through the wrapper {ratio:.2f}"
          f" (primal {r['sin_primal']:.1f} us); wrapper and raw agree: {r['agree']}")
    print(f"billiards demo: {1e6 / r['shot_step']:.0f} optimization steps per second "
          f"({r['shot_step'] / 1000:.2f} ms a step: valueAndGrad + 2 primal calls)")
    print("\n| file | bytes | gzip -9 |")
    print("|---|---|---|")
    for files in sizes.values():
        for name, (plain, gz) in files.items():
            print(f"| {name} | {plain:,} | {gz:,} |")


if __name__ == "__main__":
    main()
