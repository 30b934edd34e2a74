"""The entry point make_jvp returns: the last specialization's arguments and guard checked
inline, everything else through the general path."""

import math

import numpy as np
import pytest

import s2sad
from s2sad import S2SADError


def positive_log(x, k):
    assert x > 0, "x must be positive"
    return math.log(x) * k


def test_make_jvp_checks_each_call_against_the_entry_it_last_built():
    fj = s2sad.make_jvp(positive_log)
    assert fj(2.0, 3, 1.0) == (math.log(2.0) * 3, pytest.approx(1.5, rel=1e-15))
    # the same types: the entry point's inline check; an assert still f's own message
    with pytest.raises(AssertionError, match="must be positive"):
        fj(-1.0, 3, 1.0)
    # other types take the general path (and become the inline check)
    assert fj(np.float64(2.0), 3, 1.0)[1] == pytest.approx(1.5, rel=1e-15)
    assert fj(2.0, 2.5, 1.0)[1] == pytest.approx(1.25, rel=1e-15)
    with pytest.raises(S2SADError, match="1 tangents"):
        fj(2.0, 3)
    with pytest.raises(S2SADError, match="got 4 values"):
        fj(2.0, 3, 1.0, 1.0)
    with pytest.raises(TypeError):
        fj(2.0, 3, dx=1.0)


def weighted(w, scale):
    return np.sum(np.tanh(w) * scale)


def test_make_jvp_of_arrays_checks_shapes_at_each_call():
    fj = s2sad.make_jvp(weighted)
    w, dw = np.linspace(-1, 1, 5), np.linspace(0.5, 1.5, 5)
    want = np.sum((1 - np.tanh(w) ** 2) * dw) * 2.0
    assert fj(w, 2.0, dw)[1] == pytest.approx(want, rel=1e-14)
    with pytest.raises(S2SADError, match="has shape"):
        fj(w, 2.0, dw[:3])  # (never broadcast: the inline check is of shapes too)
    assert fj(w[:3], 2.0, dw[:3])[1] == pytest.approx(
        np.sum((1 - np.tanh(w[:3]) ** 2) * dw[:3]) * 2.0, rel=1e-14)
    assert fj(w, 2.0, dw)[1] == pytest.approx(want, rel=1e-14)
    assert fj(w.astype(np.float32), 2.0, dw)[1] == pytest.approx(want, rel=1e-6)


def square(x):
    return x * x


def through_a_helper(x):
    return square(x) + x


def test_make_jvp_sees_a_rebound_global_after_its_inline_check():
    global square
    fj = s2sad.make_jvp(through_a_helper)
    assert fj(3.0, 1.0) == (12.0, 7.0)
    old = square

    def square(x):  # noqa: F811 (rebound: the guard of the entry point sees it)
        return x * x * x

    try:
        assert fj(3.0, 1.0) == (30.0, 28.0)
    finally:
        square = old
    assert fj(3.0, 1.0) == (12.0, 7.0)
