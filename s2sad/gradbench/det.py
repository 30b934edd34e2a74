"""GradBench's det eval: the determinant by expansion by minors (recursive), and its gradient
(the generated adjoint calls itself)."""

import numpy as np

import s2sad
from s2sad.gradbench import timed


def det_by_minor(m):
    n = m.shape[0]
    if n == 1:
        return m[0, 0]
    if n == 2:
        return m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0]
    det = 0.0
    for col in range(n):
        sign = (-1.0) ** col
        minor = np.concatenate([m[1:, :col], m[1:, col + 1:]], axis=1)
        det = det + sign * m[0, col] * det_by_minor(minor)
    return det


_gradient = s2sad.grad(det_by_minor)


def _prepare(raw):
    ell = int(raw["ell"])
    return np.array(raw["A"], dtype=np.float64).reshape(ell, ell)


@timed(_prepare, float)
def primal(a):
    return det_by_minor(a)


@timed(_prepare, lambda g: g.ravel().tolist())
def gradient(a):
    return _gradient(a)


def warm_up():
    _gradient(np.eye(3) + 0.5)
