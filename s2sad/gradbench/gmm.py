"""GradBench's gmm eval: the Gaussian mixture objective of ADBench and its gradient with
respect to alpha, mu, q and l (the JAX tool's code as NumPy; the lower triangle's indexes are
computed outside the differentiated function)."""

import math

import numpy as np

import s2sad
from s2sad.gradbench import timed


def logsumexp(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    return np.log(np.sum(np.exp(x - m), axis=axis)) + np.squeeze(m, axis=axis)


def multigammaln(a, p):
    out = 0.25 * p * (p - 1) * math.log(math.pi)
    for j in range(1, p + 1):
        out = out + math.lgamma(a + 0.5 * (1 - j))
    return out


def gmm_objective(alpha, mu, q, l, x, rows, cols, m, gamma):  # noqa: E741 (GradBench's names)
    n, d = x.shape
    k = alpha.shape[0]
    qdiags = np.exp(q)
    sum_qs = np.sum(q, axis=1)
    ls = np.zeros((k, d, d))
    ls[:, rows, cols] = l
    xcentered = x[:, None, :] - mu[None, :, :]
    lxcentered = qdiags * xcentered + np.einsum("ijk,mik->mij", ls, xcentered)
    sqsum = np.sum(lxcentered * lxcentered, axis=2)
    inner = alpha + sum_qs - 0.5 * sqsum
    slse = np.sum(logsumexp(inner, 1))
    constant = -n * d * 0.5 * math.log(2 * math.pi)
    p = d
    wn = p + m + 1
    prior = np.sum(0.5 * gamma * gamma * (np.sum(qdiags * qdiags, axis=1) +
                                          np.sum(l * l, axis=1)) - m * sum_qs)
    c = wn * p * math.log(gamma / math.sqrt(2))
    return constant + slse - n * logsumexp(alpha, 0) - prior + k * (c - multigammaln(0.5 * wn, p))


_gradient = s2sad.grad(gmm_objective, wrt=(0, 1, 2, 3))


def lower_triangle(d):
    """The (rows, cols) of the packed lower triangle, column by column (as the JAX tool)."""
    cols = np.repeat(np.arange(d - 1), np.arange(d - 1, 0, -1))
    rows = np.concatenate([np.arange(c + 1, d) for c in range(d - 1)]) if d > 1 else \
        np.zeros(0, dtype=int)
    return rows.astype(int), cols.astype(int)


def _prepare(raw):
    d = raw["d"]
    rows, cols = lower_triangle(d)
    return (np.array(raw["alpha"], dtype=float), np.array(raw["mu"], dtype=float),
            np.array(raw["q"], dtype=float), np.array(raw["l"], dtype=float).reshape(
                raw["k"], d * (d - 1) // 2), np.array(raw["x"], dtype=float), rows, cols,
            raw["m"], float(raw["gamma"]))


def _lists(g):
    return {"alpha": g[0].tolist(), "mu": g[1].tolist(), "q": g[2].tolist(),
            "l": g[3].tolist()}


@timed(_prepare, float)
def objective(data):
    return gmm_objective(*data)


@timed(_prepare, _lists)
def jacobian(data):
    return _gradient(*data)


def warm_up():
    rng = np.random.default_rng(0)
    d, k, n = 2, 3, 5
    rows, cols = lower_triangle(d)
    _gradient(rng.normal(size=k), rng.normal(size=(k, d)), rng.normal(size=(k, d)),
              rng.normal(size=(k, 1)), rng.normal(size=(n, d)), rows, cols, 0, 1.0)
