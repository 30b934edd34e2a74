"""NumPy benchmark: ``python -m bench.numpy_bench``.

Gradient time / primal time, s2sad and autograd side by side in one run (median of
repeats), on sum(tanh(A @ w)) with A 100x100, the MLP loss of examples/mlp.py, and the ADBench
GMM objective at d=2 K=5 and d=10 K=25 with n=1000.  autograd is a ``bench`` extra: when it is
not installed its column says so.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import s2sad
from bench.core import timeit
from bench.programs import load as load_programs
from bench.programs import tanh_aw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
import gmm  # noqa: E402
import mlp  # noqa: E402


def problems():
    rng = np.random.default_rng(0)
    x, labels = mlp.spirals(1000)
    params = mlp.init(hidden=64)
    return [
        ("sum(tanh(A @ w)), A 100x100", tanh_aw, (rng.normal(size=(100, 100)),
                                                 rng.normal(size=100)), (0, 1), None),
        ("MLP loss (1000 x 2 -> 64 -> 2)", mlp.mlp_loss, (*params, x, labels), (0, 1, 2, 3),
         "mlp"),
        ("GMM d=2 K=5 n=1000", gmm.gmm_objective, gmm.make_problem(2, 5, 1000), (0, 1, 2),
         "gmm"),
        ("GMM d=10 K=25 n=1000", gmm.gmm_objective, gmm.make_problem(10, 25, 1000), (0, 1, 2),
         "gmm"),
    ]


def autograd_version(kind, f):
    """The same program with autograd's numpy (bench/programs.py loaded with it); for the GMM
    a variant without assignment into arrays, which autograd cannot differentiate."""
    import autograd.numpy as anp

    if kind is None:
        return load_programs(anp).tanh_aw
    if kind == "mlp":
        return load_programs(anp).mlp_loss
    return _autograd_gmm


def _autograd_gmm(alphas, means, icf, x, wishart_gamma, wishart_m):
    import autograd.numpy as anp

    return masked_gmm(anp)(alphas, means, icf, x, wishart_gamma, wishart_m)


def masked_gmm(xp):
    """The GMM objective in NumPy module ``xp`` (autograd's, JAX's) without assigning into
    arrays, which they cannot differentiate: L is built from one-hot masks."""
    import math

    def lse(v, axis):
        m = xp.max(v, axis=axis, keepdims=True)
        return xp.log(xp.sum(xp.exp(v - m), axis=axis)) + xp.squeeze(m, axis=axis)

    def gmm(alphas, means, icf, x, wishart_gamma, wishart_m):
        n, d = x.shape
        k = alphas.shape[0]
        qdiags = xp.exp(icf[:, :d])
        sum_qs = xp.sum(icf[:, :d], axis=1)
        rows, cols = np.tril_indices(d, -1)
        diag_mask = np.eye(d)[None]
        lower = np.zeros((d * (d - 1) // 2, d, d))
        lower[np.arange(len(rows)), rows, cols] = 1.0
        ls = qdiags[:, :, None] * diag_mask + xp.einsum("km,mij->kij", icf[:, d:], lower)
        xcentered = x[:, None, :] - means[None, :, :]
        lx = xp.einsum("kij,nkj->nki", ls, xcentered)
        inner = alphas + sum_qs - 0.5 * xp.sum(lx * lx, axis=2)
        const = -n * d * 0.5 * math.log(2.0 * math.pi)
        likelihood = const + xp.sum(lse(inner, 1)) - n * lse(alphas, 0)
        p = d + wishart_m + 1
        prior = xp.sum(0.5 * wishart_gamma ** 2 * (xp.sum(qdiags ** 2, axis=1)
                                                    + xp.sum(icf[:, d:] ** 2, axis=1))
                       - wishart_m * sum_qs)
        log_gamma = 0.25 * d * (d - 1) * math.log(math.pi)
        for j in range(1, d + 1):
            log_gamma += math.lgamma(0.5 * p + 0.5 * (1 - j))
        c = p * d * (math.log(wishart_gamma) - 0.5 * math.log(2.0)) - log_gamma
        return likelihood + prior - k * c

    return gmm


def main() -> str:
    try:
        import autograd
    except ImportError:
        autograd = None
    rows = ["| program | primal | s2sad gradient / primal | autograd gradient / primal | "
            "s2sad / autograd |", "|---|---|---|---|---|"]
    for name, f, args, wrt, kind in problems():
        g = s2sad.grad(f, wrt=wrt)
        ours = g(*args)
        tp = timeit(f, *args)
        ts = timeit(g, *args)
        if autograd is None:
            cells = "not installed | -"
        else:
            ag = autograd.grad(autograd_version(kind, f), argnum=wrt)
            theirs = ag(*args)
            for a, b in zip(ours, theirs):
                if not np.allclose(a, b, rtol=1e-8, atol=1e-10):
                    print(f"!!! {name}: s2sad and autograd gradients DISAGREE", file=sys.stderr)
            ta = timeit(ag, *args)
            cells = f"{ta / tp:.2f} | {ts / ta:.2f}"
        rows.append(f"| {name} | {tp * 1e6:.1f} us | {ts / tp:.2f} | {cells} |")
    table = "\n".join(rows)
    print(table)
    return table


if __name__ == "__main__":
    main()
