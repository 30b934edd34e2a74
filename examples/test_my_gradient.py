"""How a user tests a gradient with s2sad.testing: a property test in a few lines.

Run with ``python -m pytest examples/test_my_gradient.py``.
"""

import math

from hypothesis import given, settings

from s2sad.testing import check_grad, floats


def damped(x, k):
    y = x
    for _ in range(20):
        y = y - 0.1 * k * math.sin(y)
    return y * y


@settings(max_examples=30, deadline=None)
@given(floats(-3, 3), floats(0.1, 2))
def test_damped_gradient(x, k):
    # s2sad's gradient vs central differences, on the Python and the Wasm backends
    check_grad(damped, x, k, wrt=(0, 1), backends=("python", "wasm"))
