"""Functions s2sad must refuse (tests/test_errors.py), kept in a file so lines are known."""

import bisect
import math

import numpy as np

import s2sad

TABLE = [1.0, 2.0]


def uses_try(x):
    try:
        return x * 2
    except ValueError:
        return x


def uses_with(x):
    with open("f") as fh:
        fh.read()
    return x


def uses_yield(x):
    yield x * 2


def uses_global(x):
    global TABLE
    TABLE = x
    return x


def uses_del(x):
    y = x
    del y
    return x


def uses_nested_class(x):
    class A:
        pass
    return x


def uses_lambda(x):
    # (a lambda bound to a name and called is a nested def; one passed as a value is not)
    return sum(map(lambda t: t * 2, [x]))


def mutates_argument(xs):
    xs[0] = 1.0
    return xs[1]


def appends_to_argument(xs):
    xs.append(1.0)
    return xs[0]


def mutates_global(x):
    TABLE[0] = x
    return x


def recursive(x, n):
    if n == 0:
        return x
    return recursive(x * 2, n - 1)


def ping(x):
    return pong(x) * 2


def pong(x):
    return ping(x)


def unknown_call(x):
    return np.i0(x) * x


def unknown_builtin_call(x):
    return math.gamma(x) + x


def comprehension(xs):
    return sum([v * v for v in xs if v > 0])


def _inner(x):
    return math.sin(x) * x


def takes_a_gradient_inside(x):
    # (s2sad.grad(_inner)(x) is differentiated: the next order; only wrt= is taken)
    return s2sad.grad(_inner, backend="wasm")(x) * x


D_INNER = s2sad.grad(_inner, backend="wasm")  # (a Python-backend one is differentiated)


def calls_a_wasm_gradient_inside(x):
    return D_INNER(x) + x


def opaque_change(x):
    # bisect.insort (no source, no rule, not a library s2sad knows) changes the list it is
    # given: once taken to change nothing, a wrong gradient
    xs = [x, 2.0 * x]
    bisect.insort(xs, 0.5)
    return xs[0] * xs[2]
