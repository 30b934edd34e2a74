"""GradBench's lse eval: log-sum-exp of a vector and its gradient."""

import numpy as np

import s2sad
from s2sad.gradbench import timed


def logsumexp(x):
    x_max = np.max(x)
    return np.log(np.sum(np.exp(x - x_max))) + x_max


_gradient = s2sad.grad(logsumexp)


def _prepare(raw):
    return np.array(raw["x"], dtype=np.float64)


@timed(_prepare, float)
def primal(x):
    return logsumexp(x)


@timed(_prepare, lambda g: g.tolist())
def gradient(x):
    return _gradient(x)


def warm_up():
    _gradient(np.array([0.5, 1.5, -0.25]))
