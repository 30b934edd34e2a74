"""The peer benchmark: ``python -m bench`` (add ``--quick`` for fewer repeats).

For each program of bench/programs.py (with examples/gmm.py and DiffTaichi's two programs,
examples/difftaichi_*.py) it measures, side by side in one run, the primal and
the gradient by s2sad (Python and Wasm backends), autograd, jax.grad (eager), jax.jit(grad)
(steady state, and its compile time) and tangent-ad, and prints a markdown table of
gradient time / primal time (median of repeats), or the short reason a peer failed.  Every
gradient that succeeded is compared with s2sad's (relative 1e-8); a disagreement is printed
loudly.  The table goes to bench/results.md and a plot of it to bench/results.png.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

import s2sad
from bench.core import timeit as core_timeit
from bench.programs import load as load_programs

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "examples"))

REPEAT = 11


def cases():
    import difftaichi_billiards as billiards
    import difftaichi_mass_spring as mass_spring
    import gmm as gmm_example
    import mlp as mlp_example

    rng = np.random.default_rng(0)
    x, labels = mlp_example.spirals(1000)
    cam = np.array([0.1, -0.2, 0.3, 0.5, -0.4, -3.0, 800.0, 0.1, -0.2, 1e-3, 1e-6])
    robot = mass_spring.robot_a()  # (masses x, y and springs)
    return [
        ("sin loop (1000 iterations)", "sin_loop", (0.7,), (0,)),
        ("Newton while loop", "newton", (5.0,), (0,)),
        ("branchy piecewise loop (1000)", "piecewise", (0.3,), (0,)),
        ("sum(tanh(A @ w)), A 100x100", "tanh_aw", (rng.normal(size=(100, 100)),
                                                    rng.normal(size=100)), (0, 1)),
        ("MLP loss (1000 points, 64 hidden)", "mlp_loss",
         (*mlp_example.init(hidden=64), x, labels), (0, 1, 2, 3)),
        ("GMM d=2 K=5 n=1000", "gmm", gmm_example.make_problem(2, 5, 1000), (0, 1, 2)),
        ("GMM d=10 K=25 n=1000", "gmm", gmm_example.make_problem(10, 25, 1000), (0, 1, 2)),
        ("BA reprojection block", "ba_reprojection",
         (cam, np.array([0.3, -0.2, 2.0]), np.array([10.0, -20.0]), 0.8), (0, 1)),
        (f"DiffTaichi billiards ({billiards.N_BALLS} balls, 1,023 steps)",
         "difftaichi_billiards", (0.1, 0.5, 0.3, 0.0, billiards.rack()), (0, 1, 2, 3)),
        (f"DiffTaichi mass-spring robot A ({mass_spring.STEPS - 1} steps)",
         "difftaichi_mass_spring", (*mass_spring.controller(len(robot[0]), len(robot[2])),
                                    *robot, mass_spring.STEPS), (0, 1, 2, 3)),
    ]


def timeit(fn, *args) -> float:
    return core_timeit(fn, *args, repeat=REPEAT)


def reason(exc: BaseException) -> str:
    """A short reason for a peer's failure, for the table."""
    text = f"{type(exc).__name__}: {exc}".splitlines()[0]
    for pattern, short in [("must be real number", "rejects math functions on its values"),
                           ("TracerBoolConversionError", "TracerBoolConversionError"),
                           ("ConcretizationTypeError", "ConcretizationTypeError"),
                           ("does not support item assignment", "rejects in-place assignment"),
                           ("doesn't support assignment", "rejects in-place assignment"),
                           ("setting an array element with a sequence",
                            "rejects in-place assignment"),
                           ("arrays are immutable", "rejects in-place assignment"),
                           ("Shapes must be 1D sequences of concrete values",
                            "rejects an array shape it traces"),
                           ("Failed to process assignment", "tangent: cannot process assignment"),
                           ("not supported by the Wasm backend", "outside the Wasm subset"),
                           ("Cannot retrieve source", "cannot read the source"),
                           ("only length-1 arrays", "rejects math functions on its values")]:
        if pattern in text:
            return short
    if "Reverse mode for function" in text:
        name = text.split('"')[1] if '"' in text else "?"
        return f"tangent: no rule for {name}"
    if "Tangent" in text or "tangent" in type(exc).__module__:
        return "tangent: " + text.split(":", 1)[-1].strip()[:40]
    return text[:60]


def flat(g) -> np.ndarray:
    if isinstance(g, (tuple, list)):
        return np.concatenate([flat(x) for x in g]) if g else np.zeros(0)
    return np.atleast_1d(np.asarray(g, dtype=float)).ravel()


def peers():
    """(column, maker) where maker(program_name, wrt) -> gradient callable, or raises."""
    out = []

    def s2sad_python(name, wrt):
        return s2sad.grad(getattr(load_programs(), name), wrt=wrt)

    def s2sad_wasm(name, wrt):
        return s2sad.grad(getattr(load_programs(), name), wrt=wrt, backend="wasm")

    out += [("s2sad (Python)", s2sad_python), ("s2sad (Wasm)", s2sad_wasm)]
    try:
        import autograd
        import autograd.numpy as anp

        def autograd_grad(name, wrt):
            return autograd.grad(getattr(load_programs(anp), name), argnum=wrt)

        out.append(("autograd", autograd_grad))
    except ImportError:
        out.append(("autograd", None))
    try:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)

        def jax_grad(name, wrt):
            return jax.grad(getattr(load_programs(jnp), name), argnums=wrt)

        def jax_jit(name, wrt):
            return jax.jit(jax.grad(getattr(load_programs(jnp), name), argnums=wrt))

        out += [("jax.grad", jax_grad), ("jax.jit(grad)", jax_jit)]
    except ImportError:
        out += [("jax.grad", None), ("jax.jit(grad)", None)]
    try:
        import tangent

        def tangent_grad(name, wrt):
            return tangent.grad(getattr(load_programs(), name), wrt=wrt, verbose=0)

        out.append(("tangent-ad", tangent_grad))
    except ImportError:
        out.append(("tangent-ad", None))
    return out


def run(quick: bool = False):
    global REPEAT
    if quick:
        REPEAT = 3
    programs = load_programs()
    columns = peers()
    header = ["program", "primal"] + [c for c, _ in columns] + ["jax.jit compile"]
    rows, ratios = [], {}
    for title, name, args, wrt in cases():
        f = getattr(programs, name)
        t_primal = timeit(f, *args)
        row = [title, f"{t_primal * 1e6:.1f} us"]
        reference = None
        compile_time = "-"
        for column, maker in columns:
            if maker is None:
                row.append("not installed")
                continue
            try:
                t0 = time.perf_counter()
                g = maker(name, wrt)
                got = g(*args)
                first_call = time.perf_counter() - t0
                t = timeit(g, *args)
            except Exception as exc:  # a peer that cannot run the program
                row.append(reason(exc))
                continue
            if column == "jax.jit(grad)":
                compile_time = f"{first_call:.2f} s"
            ratio = t / t_primal
            cell = f"{ratio:.2f}" if ratio >= 0.1 else f"{ratio:.3f}"  # (0.02 would hide 2x)
            if reference is None:
                reference = flat(got)
            else:
                other = flat(got)
                scale = max(1.0, float(np.max(np.abs(reference))))
                if other.shape != reference.shape or not np.allclose(
                        other, reference, rtol=1e-8, atol=1e-12 * scale):
                    worst = float(np.max(np.abs(other - reference))) if \
                        other.shape == reference.shape else math.inf
                    print(f"!!! GRADIENTS DISAGREE on {title}: {column} differs from s2sad "
                          f"(max abs difference {worst:.3g})", file=sys.stderr)
                    cell += " (disagrees!)"
            ratios[(title, column)] = t / t_primal
            row.append(cell)
        row.append(compile_time)
        rows.append(row)
        print(" | ".join(row), file=sys.stderr)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    table = "\n".join(lines)
    note = ("\nCells: gradient time / primal time (median of repeats, one run); the primal is "
            "the plain Python/NumPy program. jax.jit compile: the first call of "
            "jax.jit(jax.grad(f)).\n")
    (HERE / "results.md").write_text(table + "\n" + note)
    plot(rows, [c for c, _ in columns], ratios)
    print(table)
    print(note)
    return table


def plot(rows, columns, ratios) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib is not installed: no plot)", file=sys.stderr)
        return
    titles = [r[0] for r in rows]
    fig, ax = plt.subplots(figsize=(12, 5))
    width = 0.8 / len(columns)
    for k, column in enumerate(columns):
        xs = [i + k * width for i, t in enumerate(titles) if (t, column) in ratios]
        ys = [ratios[(t, column)] for t in titles if (t, column) in ratios]
        ax.bar(xs, ys, width, label=column)
    ax.set_yscale("log")
    ax.axhline(1.0, color="black", linewidth=0.5)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(titles))])
    ax.set_xticklabels(titles, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("gradient time / primal time (log)")
    ax.set_title("s2sad and its peers (missing bar: the peer cannot run the program)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(HERE / "results.png", dpi=110)


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
