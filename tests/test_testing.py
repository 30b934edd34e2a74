"""s2sad.testing: the gradient checker users run, and its strategies."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings

import s2sad
from s2sad.testing import GradientMismatch, arrays, check_grad, floats, is_smooth


def smooth(x, y):
    return math.sin(x) * y + x * x


def test_check_grad_accepts_a_right_gradient():
    check_grad(smooth, 0.3, 1.7, wrt=(0, 1), backends=("python", "wasm"))


class _Wrong:
    def __call__(self, x):
        return math.exp(x)


wrong = _Wrong()


@s2sad.adjoint(wrong)
def _(g, ans, x):
    return g * ans * 1.001  # 0.1% off: the checker must notice


def uses_wrong(x, w):
    return wrong(x * w[1]) + w[0]


def test_check_grad_reports_the_worst_element():
    with pytest.raises(GradientMismatch) as info:
        check_grad(uses_wrong, 0.5, np.array([1.0, 2.0]), wrt=(0, 1))
    message = str(info.value)
    assert "d(arg 0)" in message or "d(arg 1)[1]" in message
    assert "finite differences give" in message


@settings(max_examples=50, deadline=None)
@given(floats(-1, 1, avoid=[0.0], margin=0.1))
def test_floats_avoid_kinks(x):
    assert abs(x) > 0.1 and -1 <= x <= 1


@settings(max_examples=20, deadline=None)
@given(arrays((2, 3), -5, 5))
def test_arrays_strategy(a):
    assert a.shape == (2, 3) and a.dtype == np.float64 and np.all(np.abs(a) <= 5)


def test_is_smooth():
    assert is_smooth(smooth, (0.3, 1.0), 0)
    assert not is_smooth(lambda x: abs(x), (0.0,), 0)
    assert not is_smooth(lambda x, y: min(x, y), (1.0, 1.0), 0)


def test_the_users_example_test_passes():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
    import test_my_gradient

    test_my_gradient.test_damped_gradient()
