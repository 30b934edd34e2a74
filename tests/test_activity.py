"""activity.py: varied, useful and active sets."""

import math

from s2sad.activity import activity_of as analyze
from s2sad.parse import parse_function


def f(x, y, n):
    a = x * 2          # varied by x
    b = y * 3          # varied by y
    k = n + 1          # integer, never varied
    unused = math.exp(x)   # varied but not useful  # noqa: F841
    c = int(a)         # not varied: int() has no derivative
    return a * b + c + k


def test_varied_and_useful():
    act = analyze(parse_function(f), ["x"])
    assert {"x", "a"} <= act.varied
    assert "b" not in act.varied and "k" not in act.varied and "c" not in act.varied
    assert "unused" in act.varied and "unused" not in act.useful
    assert act.active >= {"x", "a"}
    assert "y" not in act.active and "b" not in act.active and "n" not in act.active


def test_other_wrt():
    act = analyze(parse_function(f), ["y"])
    assert "b" in act.active and "a" not in act.active and "x" not in act.active


def loop(x, n):
    s = 0.0
    for i in range(n):
        s = s + x * i
    return s


def test_loop_counter_is_inactive():
    act = analyze(parse_function(loop), ["x"])
    assert "s" in act.active and "x" in act.active
    assert "i" not in act.active and "n" not in act.active
