"""Transform time and memory against function length: ``python -m bench.transform``.

Generates functions of 100, 1,000 and 5,000 lines (``--lines`` for others) of the code people
write -- arithmetic on a few dozen variables, math calls, an ``if`` and a short ``for`` loop
every few lines -- and measures, for each, the time ``s2sad.grad(f)`` takes to transform it
(parse, analyses, reverse, tidy, emit, compile) and the peak memory it allocates (tracemalloc),
and Python's own ``compile()`` of the same source for scale.  The last column is the time per
line relative to the shortest function: 1.0 means linear.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path


def program(lines: int, seed: int = 0, name: str = "f") -> str:
    """A function of about ``lines`` lines (straight-line code, branches and short loops)."""
    rng = random.Random(seed)
    names = ["x", "y"]
    out = [f"def {name}(x, y):"]
    k = 0

    def operand():  # a recent variable, or (one time in four) a parameter
        return rng.choice(names[:2]) if rng.random() < 0.25 else rng.choice(names[-12:])

    def expression():
        a, b = operand(), operand()
        form = rng.randrange(6)
        if form == 0:
            return f"{a} * {b} + {rng.uniform(0.1, 2):.3f}"
        if form == 1:
            return f"math.sin({a}) * {b}"
        if form == 2:
            return f"({a} - {b}) * 0.5"
        if form == 3:
            return f"math.exp(-{a} * {a}) + {b}"
        if form == 4:
            return f"{a} / (1.0 + {b} * {b})"
        return f"math.tanh({a} + {b})"

    while len(out) < lines:
        k += 1
        target = f"v{k}"
        kind = rng.randrange(20)
        if kind == 0:
            out.append(f"    if {operand()} > {operand()}:")
            out.append(f"        {target} = {expression()}")
            out.append("    else:")
            out.append(f"        {target} = {expression()}")
        elif kind == 1:
            out.append(f"    {target} = {operand()}")
            out.append("    for i in range(3):")
            out.append(f"        {target} = {target} * 0.9 + {operand()} * i")
        else:
            out.append(f"    {target} = {expression()}")
        names.append(target)
    out.append(f"    return {' + '.join(names[-4:])}")
    return "import math\n\n\n" + "\n".join(out) + "\n"


def load(source: str, name: str = "f"):
    folder = Path(tempfile.mkdtemp(prefix="s2sad_bench_"))
    path = folder / f"generated_{abs(hash(source))}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def measure(lines: int) -> tuple[float, int, float]:
    """(transform seconds, peak bytes, Python compile() seconds) for one function."""
    import s2sad

    source = program(lines, seed=lines)
    f = load(source)
    t0 = time.perf_counter()
    compile(source, "<bench>", "exec")
    python_compile = time.perf_counter() - t0
    tracemalloc.start()
    t0 = time.perf_counter()
    s2sad.grad(f)
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak, python_compile


def timed(lines: int) -> float:
    """Transform seconds without tracemalloc (which slows allocation-heavy code)."""
    import s2sad

    f = load(program(lines, seed=lines))
    gc.collect()  # (the garbage of earlier runs is not this run's cost)
    t0 = time.perf_counter()
    s2sad.grad(f)
    return time.perf_counter() - t0


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="*", default=[100, 1000, 5000])
    args = parser.parse_args(argv)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
    timed(50)  # (imports and first-use costs out of the way)
    print("| lines | transform | per line | peak memory | Python compile() | time/line vs "
          f"{args.lines[0]} lines |")
    print("|---|---|---|---|---|---|")
    base = None
    for n in args.lines:
        seconds = min(timed(n) for _ in range(3 if n <= 1000 else 1))
        _, peak, py = measure(n)
        per_line = seconds / n
        base = base or per_line
        print(f"| {n:,} | {seconds * 1e3:,.0f} ms | {per_line * 1e6:,.0f} us | "
              f"{peak / 2 ** 20:,.1f} MiB | {py * 1e3:.1f} ms | {per_line / base:.2f} |")


if __name__ == "__main__":
    main()
