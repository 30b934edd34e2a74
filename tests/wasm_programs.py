"""Programs with array arguments for the Wasm backend tests (read element-wise in loops)."""

import math

import numpy as np


def dot_tanh(w, xs):
    s = 0.0
    for i in range(len(xs)):
        s = s + math.tanh(w[i] * xs[i])
    return s


def matvec_norm(a, v):
    n, m = a.shape
    total = 0.0
    for i in range(n):
        row = 0.0
        for j in range(m):
            row = row + a[i, j] * v[j]
        total = total + row * row
    return math.sqrt(total)


def horner(coeffs, x):
    y = 0.0
    for k in range(len(coeffs)):
        y = y * x + coeffs[k]
    return y


def last_minus_first(xs):
    return xs[-1] * xs[0] - xs[len(xs) - 1]


def running_max(xs, x):
    best = xs[0] * x
    for i in range(1, len(xs)):
        v = xs[i] * x
        if v > best:
            best = v
    return best


def out_of_range(xs):
    return xs[len(xs)] * 2.0


def scale_in_place(a, x):
    # writes into an array argument; differentiated for `a` only, x's cotangent is a buffer
    # of the module's (an internal error before: the buffer did not exist)
    for i in range(2):
        x[i] = x[i] * a
    return x[0] * x[1]


def sum_first(xs, n):
    total = 0.0
    for j in range(n):
        total = total + xs[j] * xs[j]
    return total


def größe(x):
    maß = x * x * 1.5
    return maß + math.sin(x)


def smooth_in_place(xs, k):
    # writes into its array argument (the gradient never changes the caller's array)
    for _ in range(3):
        for i in range(1, len(xs) - 1):
            xs[i] = xs[i] + k * (xs[i - 1] - 2.0 * xs[i] + xs[i + 1])
    total = 0.0
    for i in range(len(xs)):
        total = total + xs[i] * xs[i]
    return total


def _bounce(px, vx, wall):
    # a helper returning a tuple of numbers
    if px > wall:
        return 2.0 * wall - px, -vx
    return px, vx


def bounces(x0, v0):
    px, vx = x0, v0
    for _ in range(20):
        px = px + 0.1 * vx
        px, vx = _bounce(px, vx, 1.0)
        vx = vx * 0.99
    return px * px + vx



def _weigh(u, v):
    return u * math.sin(v) + v * v


def mixed_kinds(x, y):
    # one helper called with an int and with a float (constant) first argument, the second
    # active: two specializations of one adjoint, one Wasm function each (fuzz seed 53: a
    # KeyError, then a duplicate name)
    s = 0.0
    for i in range(3):
        s = s + _weigh(i, x)
    return s + _weigh(0.5, y)


def made_inside(x, w):
    # arrays made at the start of the function: zeros, ones, a copy, zeros_like
    n = x.shape[0]
    y = x.copy()
    acc = np.zeros((n, 2))
    ones = np.ones(n)
    z = np.zeros_like(y)
    for i in range(n):
        y[i] = y[i] * w + ones[i]
        acc[i, 0] = y[i] * y[i]
        acc[i, 1] = acc[i, 0] * w
        z[i] = acc[i, 1] - x[i]
    s = 0.0
    for i in range(n):
        s = s + z[i] * y[i]
    return s


def made_in_a_loop(x):
    s = 0.0
    for i in range(3):
        tmp = np.zeros(2)
        tmp[0] = x[i]
        s = s + tmp[0]
    return s
