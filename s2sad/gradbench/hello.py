"""GradBench's hello eval: ``square`` and its derivative ``double``."""

import s2sad
from s2sad.gradbench import timed


def square_of(x):
    return x * x


_double = s2sad.grad(square_of)


@timed(float, float, repeated=False)
def square(x):
    return square_of(x)


@timed(float, float, repeated=False)
def double(x):
    return _double(x)


def warm_up():
    _double(1.0)
