"""GradBench's llsq eval: a linear least-squares objective over n sample points of a degree-m
polynomial, and its gradient (JAX's vmap over the points written as a loop)."""

import numpy as np

import s2sad
from s2sad.gradbench import timed


def llsq(x, n):
    m = x.shape[0]
    powers = np.arange(m)
    total = 0.0
    for i in range(n):
        ti = -1.0 + (i * 2.0) / (n - 1.0)
        muls = ti ** powers  # [1, t, t^2, ...]
        r = np.sign(ti) + np.sum(-x * muls)
        total = total + r * r
    return total / 2.0


_gradient = s2sad.grad(llsq)


def _prepare(raw):
    return np.array(raw["x"], dtype=np.float64), int(raw["n"])


@timed(_prepare, float)
def primal(data):
    return llsq(*data)


@timed(_prepare, lambda g: g.tolist())
def gradient(data):
    return _gradient(*data)


def warm_up():
    _gradient(np.array([0.5, 1.5, -0.25]), 4)
