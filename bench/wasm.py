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


def _c_reference():
    """bench/c_reference.c compiled with ``cc -O2`` (None without a compiler)."""
    import ctypes
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        return None
    out = Path(tempfile.mkdtemp()) / "c_reference.so"
    source = Path(__file__).resolve().parent / "c_reference.c"
    subprocess.run([cc, "-O2", "-shared", "-fPIC", str(source), "-o", str(out), "-lm"],
                   check=True)
    lib = ctypes.CDLL(str(out))
    for fn in (lib.tanh_aw_grad, lib.mlp_grad, lib.gmm_grad):
        fn.restype = ctypes.c_double
    return lib


def _c_call(lib, name, f, args):
    """A zero-argument call of the C adjoint for ``args`` (buffers made once) and a check
    that its value and gradient are the Wasm backend's."""
    import ctypes

    import numpy as np

    P = ctypes.POINTER(ctypes.c_double)

    def ptr(a):
        return a.ctypes.data_as(P)

    if name == "tanh_aw":
        A, w = (np.ascontiguousarray(a) for a in args)
        grads = [np.empty_like(A), np.empty_like(w)]
        t = np.empty(A.shape[0])
        call_args = (A.shape[0], A.shape[1], ptr(A), ptr(w), ptr(grads[0]), ptr(grads[1]),
                     ptr(t))
        fn = lib.tanh_aw_grad
    elif name == "mlp_loss":
        w1, b1, w2, b2, x, y = (np.ascontiguousarray(a, dtype=float) for a in args)
        grads = [np.empty_like(w1), np.empty_like(b1), np.empty_like(w2), np.empty_like(b2)]
        h, z = np.empty((x.shape[0], w1.shape[1])), np.empty((x.shape[0], w2.shape[1]))
        call_args = (x.shape[0], x.shape[1], w1.shape[1], w2.shape[1], ptr(x), ptr(w1),
                     ptr(b1), ptr(w2), ptr(b2), ptr(y), *(ptr(g) for g in grads), ptr(h),
                     ptr(z))
        fn = lib.mlp_grad
    else:
        means, x = (np.ascontiguousarray(a) for a in args)
        grads = [np.empty_like(means)]
        d2 = np.empty(means.shape[0])
        call_args = (x.shape[0], x.shape[1], means.shape[0], ptr(x), ptr(means),
                     ptr(grads[0]), ptr(d2))
        fn = lib.gmm_grad

    def call():
        return fn(*call_args)

    return call, grads


def numpy_programs() -> list[str]:
    """Whole-array NumPy (examples/numpy_on_wasm.py, lowered to loops: s2sad/loops.py): the
    NumPy primal, s2sad's Python gradient (NumPy), its Wasm gradient, and a hand-written C
    adjoint compiled with cc -O2 (bench/c_reference.c), side by side."""
    import sys
    from pathlib import Path

    import numpy as np

    import s2sad

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
    import gmm
    import numpy_on_wasm

    lib = _c_reference()
    rows = ["| program | NumPy primal | s2sad gradient (NumPy) | s2sad Wasm gradient | "
            "C adjoint (cc -O2) | Wasm / NumPy primal | Wasm / C |",
            "|---|---|---|---|---|---|---|"]
    # (the whole ADBench objective, examples/gmm.py as written: no hand-written C adjoint)
    adbench = [(f"GMM objective (ADBench), d={d}, K={k}, n=1000", gmm.gmm_objective,
                gmm.make_problem(d, k, 1000), (0, 1, 2)) for d, k in ((2, 5), (10, 25))]
    for title, f, args, wrt in numpy_on_wasm.problems() + adbench:
        wg = wasm.value_and_grad(f, wrt=wrt)
        pg = s2sad.value_and_grad(f, wrt=wrt)
        value, grads = wg(*args)
        grads = grads if isinstance(grads, tuple) else (grads,)
        expected = pg(*args)
        assert math.isclose(value, expected[0], rel_tol=1e-9)
        for g, e in zip(grads, expected[1] if isinstance(expected[1], tuple) else (
                expected[1],)):
            assert np.allclose(g, e, rtol=1e-8, atol=1e-10)
        tp, tpg, twg = timeit(f, *args), timeit(pg, *args), timeit(wg, *args)
        c_text, ratio = "no compiler" if lib is None else "-", "-"
        if lib is not None and f is not gmm.gmm_objective:
            call, c_grads = _c_call(lib, f.__name__, f, args)
            c_value = call()
            assert math.isclose(c_value, value, rel_tol=1e-9), (c_value, value)
            for g, e in zip(grads, c_grads):
                assert np.allclose(g, e, rtol=1e-8, atol=1e-10)
            tc = timeit(call, repeat=25)
            c_text, ratio = f"{tc * 1e6:.1f} us", f"{twg / tc:.2f}"
        rows.append(f"| {title} | {tp * 1e6:.1f} us | {tpg * 1e6:.1f} us | {twg * 1e6:.1f} us "
                    f"| {c_text} | {twg / tp:.2f} | {ratio} |")
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
    rows += [""] + numpy_programs()
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
