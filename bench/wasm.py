"""Wasm backend benchmark: run ``python -m bench.wasm``.

Measured side by side in one run, median of repeats:
(a) the sin loop: Python primal, s2sad Wasm gradient;
(b) arithmetic loops of 100,000 iterations: Python primal vs Wasm gradient (one of
    independent arithmetic, one a recurrence whose every step waits for the last);
(c) Wasm gradient / Wasm primal on both;
(d) compile time (transform + emit + assemble + instantiate) of a fresh function;
(e) the per-call overhead of the fast call path on a trivial function.
"""

from __future__ import annotations

import math
import time

from bench.core import sin_loop, timeit
from s2sad import wasm


def recurrence(x):
    # a logistic-style recurrence, 100,000 steps of pure arithmetic
    y = x
    s = 0.0
    for _ in range(100000):
        y = 3.7 * y * (1.0 - y)
        s = s + y * 0.001
    return s


def arithmetic(x):
    # 100,000 iterations of independent arithmetic (a polynomial feature summed over a grid)
    s = 0.0
    for i in range(100000):
        t = i * 1e-5
        s = s + (x * t - 0.5) * (x * t + 0.25) * t
    return s


def trivial(x):
    return x * x


def fresh_function_source() -> str:
    return ("import math\n\n\ndef fresh(x, y):\n    s = 0.0\n    for i in range(100):\n"
            "        if s < 10.0:\n            s = s + math.sin(x * i) * y\n"
            "        else:\n            s = s * 0.5\n    return s\n")


def compile_time() -> float:
    import importlib.util
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "fresh_module.py")
        with open(path, "w") as fh:
            fh.write(fresh_function_source())
        spec = importlib.util.spec_from_file_location("fresh_module", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        t0 = time.perf_counter()
        g = wasm.grad(mod.fresh, wrt=(0, 1))
        g(0.3, 0.7)  # specializes: emit, assemble, instantiate
        return time.perf_counter() - t0


def simulations() -> list[str]:
    """DiffTaichi's billiards and a spring chain, written the natural way (arrays made inside
    with np.zeros and .copy()): loss and gradient on Wasm vs the Python primal."""
    import sys
    from pathlib import Path

    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
    import billiards
    import springs

    rows = []
    for name, f, args, wrt in [
            ("billiards (7 balls, 600 steps)", billiards.shoot, (2.0, 0.05, billiards.rack()),
             ("vx", "vy")),
            ("spring chain (30 masses, 50 steps)", springs.chain,
             (1.5, np.linspace(0.0, 1.0, 30) ** 2), (0, 1))]:
        wp, wg = wasm.primal(f), wasm.value_and_grad(f, wrt=wrt)
        assert math.isclose(wg(*args)[0], f(*args), rel_tol=1e-9)
        tp, twp, twg = timeit(f, *args, repeat=5), timeit(wp, *args), timeit(wg, *args)
        rows.append(f"| {name} | {tp * 1e6:.1f} us | {twp * 1e6:.1f} us | {twg * 1e6:.1f} us "
                    f"| {tp / twg:.1f}x | {twg / twp:.2f} |")
    return rows


def main() -> str:
    rows = ["| program | Python primal | Wasm primal | Wasm gradient | Python primal / Wasm "
            "gradient | Wasm gradient / Wasm primal |", "|---|---|---|---|---|---|"]
    for name, f, x in [("sin loop (1000)", sin_loop, 0.7),
                       ("arithmetic loop (100,000)", arithmetic, 0.3),
                       ("latency-bound recurrence (100,000)", recurrence, 0.3)]:
        wp, wg = wasm.primal(f), wasm.grad(f)
        assert math.isclose(wp(x), f(x), rel_tol=1e-9)
        tp, twp, twg = timeit(f, x), timeit(wp, x), timeit(wg, x)
        rows.append(f"| {name} | {tp * 1e6:.1f} us | {twp * 1e6:.1f} us | {twg * 1e6:.1f} us | "
                    f"{tp / twg:.1f}x | {twg / twp:.2f} |")
    rows += simulations()
    seconds = compile_time()
    g = wasm.grad(trivial)
    per_call = timeit(g, 0.5, repeat=25)
    from s2sad.wasm import _Specialized  # the raw module call, without the Python wrapper

    spec = g._specialize((0.5,))
    raw = timeit(spec.runner().call_grad, 0.5, 1.0, repeat=25)
    rows += ["", f"Compile time (transform + emit + assemble + instantiate): "
             f"{seconds * 1e3:.0f} ms", f"Per-call overhead of grad(f, backend='wasm') on "
             f"x * x: {per_call * 1e6:.2f} us (the module call itself: {raw * 1e6:.2f} us)"]
    del _Specialized
    table = "\n".join(rows)
    print(table)
    return table


if __name__ == "__main__":
    main()
