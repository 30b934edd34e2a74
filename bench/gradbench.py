"""GradBench's evals, side by side: run ``python -m bench.gradbench``.

For the evals the s2sad tool has (s2sad/gradbench), at small sizes, in one run: the primal,
s2sad's gradient, and the same module's source run by autograd, jax eager and jax.jit (the
module executed again with ``np`` bound to ``autograd.numpy`` / ``jax.numpy``: the code is the
same), each as gradient time / NumPy primal time, best of repeats.  A peer that cannot run the
code (an assignment into an array, a Python loop under jit) says why.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def best(fn, repeat=5) -> float:
    fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return min(out)


def load_as(name: str, numpy_module):
    """The eval module ``name`` executed again with ``np`` bound to ``numpy_module``."""
    path = ROOT / "s2sad" / "gradbench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_gb_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.np = numpy_module
    return module


def problems():
    rng = np.random.default_rng(31337)
    from s2sad.gradbench.gmm import lower_triangle

    d, k, n = 2, 5, 1000
    rows, cols = lower_triangle(d)
    gmm_args = (rng.normal(size=k), rng.normal(size=(k, d)), 0.3 * rng.normal(size=(k, d)),
                0.3 * rng.normal(size=(k, 1)), rng.normal(size=(n, d)), rows, cols, 0, 1.0)
    return [
        ("lse (n=10,000)", "lse", "logsumexp", (rng.random(10000),), 0),
        ("llsq (n=256, m=32)", "llsq", "llsq", (rng.random(32), 256), 0),
        ("gmm (d=2, K=5, n=1000)", "gmm", "gmm_objective", gmm_args, (0, 1, 2, 3)),
        ("kmeans cost (K=10, n=1000, d=8)", "kmeans", "costfun",
         (rng.random((1000, 8)), rng.random((10, 8))), 1),
        # (jax.jit unrolls their Python loop and recursion: minutes of compile, not run)
        ("ode (n=10, s=100)", "ode", "last", (rng.random(10), 100), 0),
        ("det by minors (5 x 5)", "det", "det_by_minor", (rng.random((5, 5)),), 0),
        ("lstm (l=2, c=64, bits 7)", "lstm", "lstm_objective",
         (rng.random((4, 28)), rng.random((3, 7)), rng.random((4, 7)),
          (rng.random((64, 7)) > 0.5).astype(float)), (0, 1)),
    ]


def main() -> None:
    import s2sad

    rows_out = ["| eval | NumPy primal | s2sad | autograd | jax eager | jax.jit (compile) |",
                "|---|---|---|---|---|---|"]
    for label, module, fname, args, wrt in problems():
        ours = load_as(module, np)
        f = getattr(ours, fname)
        primal = best(lambda: f(*args))
        g = s2sad.grad(f, wrt=wrt)
        want = g(*args)
        cells = [f"{primal * 1e3:.2f} ms", f"{best(lambda: g(*args)) / primal:.2f}"]

        def agrees(got) -> str:
            got = got if isinstance(wrt, tuple) else (got,)
            w = want if isinstance(wrt, tuple) else (want,)
            ok = all(np.allclose(np.asarray(a, dtype=float), np.asarray(b), rtol=1e-6,
                                 atol=1e-9) for a, b in zip(got, w))
            return "" if ok else " (DISAGREES with s2sad)"
        for peer in ("autograd", "jax", "jit"):
            if peer == "jit" and module in ("ode", "det"):
                cells.append("not run (unrolled)")
                continue
            try:
                if peer == "autograd":
                    import autograd
                    import autograd.numpy as anp

                    pf = getattr(load_as(module, anp), fname)
                    if isinstance(wrt, tuple):
                        grads = [autograd.grad(pf, i) for i in wrt]

                        def pg(*a, grads=grads):
                            return tuple(gi(*a) for gi in grads)
                    else:
                        pg = autograd.grad(pf, wrt)
                    cells.append(f"{best(lambda: pg(*args)) / primal:.2f}{agrees(pg(*args))}")
                else:
                    import jax
                    import jax.numpy as jnp

                    jax.config.update("jax_enable_x64", True)
                    pf = getattr(load_as(module, jnp), fname)
                    pg = jax.grad(pf, argnums=wrt)
                    if peer == "jit":
                        static = tuple(i for i, a in enumerate(args) if not isinstance(
                            a, np.ndarray) or a.dtype.kind == "i")
                        pg = jax.jit(pg, static_argnums=static)
                        t0 = time.perf_counter()
                        jax.block_until_ready(pg(*args))
                        compile_s = time.perf_counter() - t0
                        run = best(lambda: jax.block_until_ready(pg(*args)))
                        cells.append(f"{run / primal:.2f} ({compile_s:.2f} s)"
                                     f"{agrees(pg(*args))}")
                    else:
                        eager = best(lambda: jax.block_until_ready(pg(*args)), 3)
                        cells.append(f"{eager / primal:.2f}{agrees(pg(*args))}")
            except Exception as exc:  # noqa: BLE001 (a peer that cannot run: why)
                cells.append(f"fails: {type(exc).__name__}")
        rows_out.append(f"| {label} | " + " | ".join(cells) + " |")
    rows_out.append(ht_row())
    print("gradient time / NumPy primal time (best of 5), one run")
    print("\n".join(rows_out))
    print()
    print(nested_table())
    if "--slow" in sys.argv:
        print(f"particle rr by autograd (grad inside grad): {autograd_particle():.1f} s")


def autograd_particle() -> float:
    """particle's rr variant by autograd (``--slow``: minutes): the same integration, the force
    by ``autograd.grad`` of the potential inside, the descent's gradient by ``autograd.grad``;
    seconds for the whole run (checked against GradBench's answer)."""
    import autograd
    import autograd.numpy as anp

    from s2sad.gradbench.solver import multivariate_argmin

    def naive_euler(w):
        charges = [(10.0, 10.0 - w), (10.0, 0.0)]

        def p(x0, x1):
            return sum(1.0 / anp.sqrt((x0 - c0) ** 2 + (x1 - c1) ** 2) for c0, c1 in charges)

        x0, x1, xdot0, xdot1, delta_t = 0.0, 8.0, 0.75, 0.0, 1e-1
        dp0, dp1 = autograd.grad(p, 0), autograd.grad(p, 1)
        while True:
            g0, g1 = dp0(x0, x1), dp1(x0, x1)
            new0, new1 = x0 + delta_t * xdot0, x1 + delta_t * xdot1
            if new1 > 0.0:
                x0, x1 = new0, new1
                xdot0, xdot1 = xdot0 - delta_t * g0, xdot1 - delta_t * g1
            else:
                break
        x_t_f = x0 + (-x1 / xdot1) * xdot0
        return x_t_f * x_t_f

    g = autograd.grad(naive_euler)
    t0 = time.perf_counter()
    w = multivariate_argmin(lambda w: naive_euler(w[0]), lambda w: (g(w[0]),), (0.0,))[0]
    seconds = time.perf_counter() - t0
    assert abs(w - 0.2071918746486116) < 1e-9, w
    return seconds


def nested_table() -> str:
    """particle and saddle (nested AD): each variant's whole run (the descent to the
    answer GradBench expects), seconds, after a warm-up."""
    from s2sad.gradbench import particle, saddle

    lines = ["| eval (whole run, s) | rr | ff | fr | rf |", "|---|---|---|---|---|"]
    for label, module, arg in (("particle (w0 = 0)", particle, 0.0),
                               ("saddle (start 1, 1)", saddle, (1.0, 1.0))):
        module.warm_up()
        run = module.particle if module is particle else module.saddle
        cells = [f"{best(lambda m=m: run(arg, m[0], m[1]), 1):.2f}"
                 for m in ("rr", "ff", "fr", "rf")]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ht_row() -> str:
    """Hand tracking's Jacobian (26 columns by forward mode, as the tool computes it) over a
    synthetic model of the real one's size (22 bones, 544 vertices, 100 points), beside
    autograd's ``jacobian`` and JAX's ``jacfwd`` of the same code."""
    from s2sad.gradbench import ht

    rng = np.random.default_rng(7)
    nbones, nverts, npts = 22, 544, 100
    rel = np.tile(np.eye(4), (nbones, 1, 1))
    rel[:, :3, :] += 0.1 * rng.standard_normal((nbones, 3, 4))
    params = (nbones, np.arange(-1, nbones - 1, dtype=np.int32), rel, rel.copy(),
              np.hstack([rng.standard_normal((nverts, 3)), np.ones((nverts, 1))]),
              rng.random((nverts, nbones)), False, rng.standard_normal((npts, 3)),
              rng.integers(0, nverts, npts).astype(np.int32))
    theta = 0.3 * rng.standard_normal(26)
    primal = best(lambda: ht.hand_objective(theta, *params))
    want = ht._jacobian((ht.hand_objective, theta, params))
    cells = [f"{primal * 1e3:.2f} ms",
             f"{best(lambda: ht._jacobian((ht.hand_objective, theta, params))) / primal:.2f}"]
    for peer in ("autograd", "jax"):
        try:
            if peer == "autograd":
                import autograd
                import autograd.numpy as anp

                pj = autograd.jacobian(load_as("ht", anp).hand_objective, 0)
            else:
                import jax
                import jax.numpy as jnp

                jax.config.update("jax_enable_x64", True)
                pj = jax.jacfwd(load_as("ht", jnp).hand_objective, 0)
            got = np.asarray(pj(theta, *params)).reshape(want.shape)
            flag = "" if np.allclose(got, want, rtol=1e-6, atol=1e-9) else \
                " (DISAGREES with s2sad)"
            cells.append(f"{best(lambda: pj(theta, *params), 3) / primal:.2f}{flag}")
        except Exception as exc:  # noqa: BLE001 (a peer that cannot run: why)
            cells.append(f"fails: {type(exc).__name__}")
    cells.append("fails (as jax eager)" if cells[-1].startswith("fails") else "not run")
    return "| ht Jacobian (simple, 26 columns, 100 points) | " + " | ".join(cells) + " |"


if __name__ == "__main__":
    sys.exit(main())
