"""Forward mode and second derivatives: run ``python -m bench.higher``.

Measured side by side in one run (best of rounds that time each function in turn):
(a) jvp / primal (the tangent function made once by ``make_jvp``, as ``grad`` is, and through
    ``s2sad.jvp`` at each call) and hvp / grad for the sin loop, the Newton loop and
    sum(tanh(A @ w)); the sin loop's jvp and hvp on the Wasm backend beside its Wasm and
    Python primals (timed the same way);
(b) the Hessian of the GMM objective (d=2, K=5, n=1000) with respect to the means (10 x 10)
    by s2sad (ten Hessian-vector products, forward over reverse), autograd's ``hessian``
    and ``jax.hessian`` eager (when installed), each checked against s2sad's.
"""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

import numpy as np

import s2sad
from bench.programs import load

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))


def best(fn, repeat=7, number=3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return min(times)


def side_by_side(fns, rounds=9, span=0.01) -> list[float]:
    """Seconds per call of each of ``fns``, the best of ``rounds`` rounds that each time
    every function in turn (so a slow spell of the machine falls on all of them), each
    timing as many calls as take about ``span`` seconds (a microsecond call timed three
    times at a go is mostly the timer)."""
    numbers = []
    for fn in fns:
        t0, count = time.perf_counter(), 0
        while time.perf_counter() - t0 < span / 4:
            fn()
            count += 1
        numbers.append(max(1, 4 * count))
    times = [[] for _ in fns]
    collecting = gc.isenabled()
    gc.disable()  # (as timeit does: a collection set off by one function's garbage is not
    try:          # charged to the next)
        for _ in range(rounds):
            for fn, number, out in zip(fns, numbers, times):
                t0 = time.perf_counter()
                for _ in range(number):
                    fn()
                out.append((time.perf_counter() - t0) / number)
    finally:
        if collecting:
            gc.enable()
    return [min(t) for t in times]


def ratios() -> list[tuple]:
    P = load()
    rng = np.random.default_rng(0)
    A, w = rng.normal(size=(100, 100)) / 10, rng.normal(size=100)
    cases = [("sin loop (1,000 steps)", P.sin_loop, (0.3,), (1.0,)),
             ("Newton loop", P.newton, (2.0,), (1.0,)),
             ("sum(tanh(A @ w)), 100 x 100", P.tanh_aw, (A, w),
              (0.0, rng.normal(size=100)))]  # (0.0: A is not varied)
    out = []
    for label, f, args, tangents in cases:
        wrt = tuple(range(len(args)))
        g = s2sad.grad(f, wrt=wrt)
        varied = [k for k, t in enumerate(tangents) if not (type(t) is float and t == 0.0)]
        made = s2sad.make_jvp(f, wrt=tuple(varied))  # (built once: as grad is)
        given = [tangents[k] for k in varied]
        s2sad.jvp(f, args, tangents)
        made(*args, *given)
        s2sad.hvp(f, args, tangents)
        g(*args)
        primal, forward, built, gradient, hvp = side_by_side([
            lambda: f(*args), lambda: s2sad.jvp(f, args, tangents),
            lambda: made(*args, *given), lambda: g(*args),
            lambda: s2sad.hvp(f, args, tangents)])
        out.append((label, built / primal, forward / primal, gradient / primal,
                    hvp / gradient))
    return out


def wasm_forward() -> tuple[float, float, float, float, float]:
    """The sin loop: Python primal, Wasm primal, Wasm jvp, Wasm hvp, Python hvp (seconds per
    call)."""
    from s2sad import wasm

    P = load()
    primal = wasm.primal(P.sin_loop)
    s2sad.jvp(P.sin_loop, (0.3,), (1.0,), backend="wasm")
    s2sad.hvp(P.sin_loop, (0.3,), (1.0,), backend="wasm")
    primal(0.3)
    return tuple(side_by_side([
        lambda: P.sin_loop(0.3), lambda: primal(0.3),
        lambda: s2sad.jvp(P.sin_loop, (0.3,), (1.0,), backend="wasm"),
        lambda: s2sad.hvp(P.sin_loop, (0.3,), (1.0,), backend="wasm"),
        lambda: s2sad.hvp(P.sin_loop, (0.3,), (1.0,))]))


def gmm_hessians() -> list[tuple]:
    import gmm

    problem = gmm.make_problem(2, 5, 1000)
    alphas, means, icf, x, gamma, m = problem
    ours = s2sad.hessian(gmm.gmm_objective, wrt=1)
    H = ours(*problem)
    rows = [("s2sad.hessian (10 hvps)", best(lambda: ours(*problem), repeat=5, number=1),
             0.0)]
    from bench.numpy_bench import masked_gmm

    try:
        import autograd
        import autograd.numpy as anp

        objective = masked_gmm(anp)  # (autograd cannot assign into arrays)
        hess = autograd.hessian(lambda mu: objective(alphas, mu, icf, x, gamma, m))
        Ha = hess(means)
        rows.append(("autograd.hessian", best(lambda: hess(means), repeat=3, number=1),
                     float(np.max(np.abs(Ha - H)))))
    except Exception as exc:  # noqa: BLE001 (a peer that cannot run: say why)
        rows.append(("autograd.hessian", None, f"{type(exc).__name__}: {exc}"[:80]))
    try:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        objective = masked_gmm(jnp)
        jh = jax.hessian(lambda mu: objective(alphas, mu, icf, x, gamma, m))
        Hj = np.asarray(jh(means))
        rows.append(("jax.hessian (eager)", best(lambda: np.asarray(jh(means)), repeat=3,
                                                 number=1), float(np.max(np.abs(Hj - H)))))
        jit = jax.jit(jh)
        t0 = time.perf_counter()
        np.asarray(jit(means))
        compile_time = time.perf_counter() - t0
        rows.append((f"jax.jit(jax.hessian) (compile {compile_time:.2f} s)",
                     best(lambda: np.asarray(jit(means)), repeat=5, number=3),
                     float(np.max(np.abs(np.asarray(jit(means)) - H)))))
    except Exception as exc:  # noqa: BLE001
        rows.append(("jax.hessian (eager)", None, f"{type(exc).__name__}: {exc}"[:80]))
    return rows


def main() -> None:
    print("| program | make_jvp / primal | s2sad.jvp / primal | grad / primal | hvp / grad |")
    print("|---|---|---|---|---|")
    for label, m, j, g, h in ratios():
        print(f"| {label} | {m:.2f} | {j:.2f} | {g:.2f} | {h:.2f} |")
    py, wp, wj, wh, ph = wasm_forward()
    print(f"\nsin loop on Wasm: jvp {wj * 1e6:.1f} us, Wasm primal {wp * 1e6:.1f} us (jvp / "
          f"primal {wj / wp:.2f}), Python primal {py * 1e6:.1f} us (Wasm jvp {py / wj:.1f}x "
          f"faster); Wasm hvp {wh * 1e6:.1f} us (Python primal / Wasm hvp {py / wh:.1f}; "
          f"Python hvp {ph * 1e6:.1f} us)")
    print("\nHessian of the GMM objective (d=2, K=5, n=1000) with respect to the means:")
    print("| tool | seconds | max abs difference from s2sad |")
    print("|---|---|---|")
    for label, seconds, diff in gmm_hessians():
        if seconds is None:
            print(f"| {label} | failed | {diff} |")
        else:
            print(f"| {label} | {seconds:.4f} | {diff:.1e} |")


if __name__ == "__main__":
    main()
