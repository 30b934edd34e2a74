"""Core benchmark: gradient time / primal time for scalar programs, and transformation time.

Run: ``python -m bench.core``.  Every ratio is measured side by side in one run (median of
repeats) against the plain Python primal; the hand-written stack gradient of the sin loop is
the reference a source transformation should approach (it is 2.9-3.5x elsewhere).
"""

from __future__ import annotations

import math
import statistics
import time

import s2sad
from bench.programs import piecewise, sin_loop


def sin_loop_by_hand(x):
    stack = []
    s = 0.0
    for i in range(1000):
        a = x * i
        b = math.sin(a)
        s = s + b * x
        stack.append((a, b))
    bx = 0.0
    for i in reversed(range(1000)):
        a, b = stack.pop()
        bx = bx + b + math.cos(a) * x * i
    return s, bx


def newton(a):
    x = a
    it = 0
    while it < 200:
        fx = x * x * x - a
        x = x - fx / (3.0 * x * x)
        it += 1
    return x


PROGRAMS = [("sin loop (1000 iterations)", sin_loop, 0.7),
            ("Newton while loop (200 iterations)", newton, 5.0),
            ("branchy piecewise loop (1000 iterations)", piecewise, 0.3)]


def timeit(fn, *args, repeat=15, number=None):
    if number is None:
        number = 1
        while True:
            t0 = time.perf_counter()
            for _ in range(number):
                fn(*args)
            if time.perf_counter() - t0 > 0.02:
                break
            number *= 2
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn(*args)
        times.append((time.perf_counter() - t0) / number)
    return statistics.median(times)


def hundred_line_function_source() -> str:
    lines = ["import math", "", "def big(x, y):", "    s = 0.0"]
    k = 0
    while len(lines) < 100:
        k += 1
        lines += [f"    a{k} = math.sin(x * {k}) + y * a{k - 1}" if k > 1 else
                  f"    a{k} = math.sin(x * {k}) + y",
                  f"    if a{k} > 0.5:", f"        s = s + a{k} * x",
                  "    else:", f"        s = s - math.exp(a{k}) * y"]
        if k % 4 == 0:
            lines += [f"    for i in range({k}):", f"        s = s + math.cos(s * i) * a{k}"]
    lines.append("    return s")
    return "\n".join(lines) + "\n"


def transform_time() -> tuple[float, int]:
    import importlib.util
    import os
    import tempfile

    source = hundred_line_function_source()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "big_module.py")
        with open(path, "w") as fh:
            fh.write(source)
        spec = importlib.util.spec_from_file_location("big_module", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        t0 = time.perf_counter()
        s2sad.grad(mod.big, wrt=(0, 1))
        return time.perf_counter() - t0, source.count("\n")


def element_loops() -> list[tuple[str, float, float]]:
    """(name, primal seconds, gradient seconds) of the element-wise loops of the examples."""
    import sys
    from pathlib import Path

    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
    from billiards import rack, shoot
    from springs import chain

    x0 = np.linspace(0.0, 1.0, 30) ** 2
    table = rack()
    cases = [("spring chain, 30 masses x 50 steps", chain, (1.5, x0), (0, 1)),
             ("billiards, 7 balls x 600 steps", shoot, (2.0, 0.05, table), (0, 1))]
    out = []
    for name, f, args, wrt in cases:
        df = s2sad.grad(f, wrt=wrt)
        out.append((name, timeit(f, *args, repeat=7), timeit(df, *args, repeat=7)))
    return out


def main() -> str:
    rows = ["| program | primal | s2sad gradient | gradient / primal |", "|---|---|---|---|"]
    for name, f, x in PROGRAMS:
        df = s2sad.grad(f)
        tp = timeit(f, x)
        tg = timeit(df, x)
        rows.append(f"| {name} | {tp * 1e6:.1f} us | {tg * 1e6:.1f} us | {tg / tp:.2f} |")
    tp = timeit(sin_loop, 0.7)
    th = timeit(sin_loop_by_hand, 0.7)
    rows.append(f"| sin loop, hand-written stack gradient | {tp * 1e6:.1f} us | "
                f"{th * 1e6:.1f} us | {th / tp:.2f} |")
    rows += ["", "| element-wise loop | primal | s2sad gradient | gradient / primal |",
             "|---|---|---|---|"]
    for name, tp, tg in element_loops():
        rows.append(f"| {name} | {tp * 1e3:.2f} ms | {tg * 1e3:.2f} ms | {tg / tp:.2f} |")
    seconds, nlines = transform_time()
    rows.append("")
    rows.append(f"Transforming a {nlines}-line function: {seconds * 1e3:.1f} ms")
    table = "\n".join(rows)
    print(table)
    return table


if __name__ == "__main__":
    main()
