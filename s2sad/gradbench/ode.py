"""GradBench's ode eval: Runge-Kutta (4th order, s steps) on y0' = x0, yi' = xi y(i-1), and
the gradient of the final state's last element (the JAX tool's closure over x kept as a
function defined inside, its vmap and scan as NumPy and a loop)."""

import numpy as np

import s2sad
from s2sad.gradbench import timed


def ode(x, s):
    tf = 2.0
    h = tf / s
    first = np.arange(x.shape[0]) == 0

    def f(y):
        return np.where(first, x, x * np.roll(y, 1))

    y = np.zeros_like(x)
    for _ in range(s):
        k1 = f(y)
        k2 = f(y + h / 2 * k1)
        k3 = f(y + h / 2 * k2)
        k4 = f(y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return y


def last(x, s):
    return ode(x, s)[-1]


_gradient = s2sad.grad(last)


def _prepare(raw):
    return np.array(raw["x"], dtype=np.float64), int(raw["s"])


@timed(_prepare, lambda y: y.tolist())
def primal(data):
    return ode(*data)


@timed(_prepare, lambda g: g.tolist())
def gradient(data):
    return _gradient(*data)


def warm_up():
    _gradient(np.array([0.5, 1.5, -0.25]), 3)
