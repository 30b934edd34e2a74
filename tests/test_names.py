"""Generated names never capture, shadow or collide with the user's (issue: sound by
construction, 1 and 9).  Every program here uses names from the generated vocabulary -- adjoints
(``bx``), temporaries (``_t1``), the tape (``_stack``), flags (``_break``), saved values
(``_old_y``), the seed (``b_out``) -- and is checked on both backends against central finite
differences and against its own value."""

import math

import numpy as np
import pytest

import s2sad
from s2sad import wasm
from s2sad.testing import numerical_grad

bx = 10.0  # a global whose name is the adjoint of x: read by uses_global_bx


def local_bx(x):
    bx = x * 2.0
    return bx * x


def param_bx(bx, x):
    return bx * x + math.sin(bx)


def param_b_out(b_out):
    return b_out * b_out


def locals_t(x):
    _t1 = x + 1.0
    _t2 = _t1 * x
    return _t2 * math.sin(_t1)


def user_b_accumulates(n):
    b = 0.0
    b = b + n
    return b


def tape_vocabulary(x):
    _stack = 2.0
    _g = 0.5
    _ans = x
    _old_y = 1.0
    y = x * 2.0
    y = math.sin(y)
    for i in range(3):
        _stack = _stack * math.cos(x * i) + _g * _ans
    return _stack * y + _old_y


def loop_vocabulary(x):
    _break = 0.0
    _ret = 1.0
    _trips = 3
    _height = 2.0
    s = 0.0
    k = 0
    while s < 2.0:
        s = s + math.exp(x * 0.1) * _height
        k = k + 1
        if k > 50:
            break
    for i in range(10):
        if x * i > 3.0:
            break
        _break = _break + x * _trips
    return s * _ret + _break


def uses_global_bx(x):
    return x * bx + math.sin(x)


def inner(a):
    return math.exp(a) * a


def caller_with_callee_names(x, inner_grad):
    _d1 = inner(x) * inner_grad
    return _d1 + inner(x * 2.0)


def early_return_names(x, _returned):
    for i in range(5):
        if x * i > _returned:
            return x * i
    return -x


SCALAR = [(local_bx, (3.0,), 0), (param_bx, (4.0, 3.0), (0, 1)), (param_b_out, (3.0,), 0),
          (locals_t, (0.7,), 0), (tape_vocabulary, (0.3,), 0), (loop_vocabulary, (0.2,), 0),
          (uses_global_bx, (0.4,), 0), (caller_with_callee_names, (0.3, 2.0), (0, 1)),
          (early_return_names, (0.9, 1.5), 0), (user_b_accumulates, (3.0,), 0)]


@pytest.mark.parametrize("f,args,wrt", SCALAR, ids=[c[0].__name__ for c in SCALAR])
@pytest.mark.parametrize("backend", ["python", "wasm"])
def test_user_names_from_the_generated_vocabulary(f, args, wrt, backend):
    value, g = s2sad.value_and_grad(f, wrt=wrt, backend=backend)(*args)
    assert value == f(*args) and type(value) is type(f(*args))
    positions = [wrt] if isinstance(wrt, int) else list(wrt)
    grads = [g] if isinstance(wrt, int) else list(g)
    for p, got in zip(positions, grads):
        np.testing.assert_allclose(got, numerical_grad(f, args, p)[0], rtol=1e-7, atol=1e-9)


def test_the_value_keeps_its_type():
    # b = 0.0; b = b + n is a float, even where n is an int
    value, g = s2sad.value_and_grad(user_b_accumulates)(3)
    assert value == 3.0 and type(value) is float and g == 1.0


def shadows_helpers(x, w):
    zeros_like = np.sum(x * w)
    unbroadcast = x * 2.0
    add_at = unbroadcast[0]
    return zeros_like + add_at * np.sum(unbroadcast * w)


def test_locals_named_like_runtime_helpers():
    x, w = np.array([0.3, -0.2, 0.5]), np.array([1.5, 0.7, -0.4])
    gx, gw = s2sad.grad(shadows_helpers, wrt=(0, 1))(x, w)
    np.testing.assert_allclose(gx, numerical_grad(shadows_helpers, (x, w), 0), rtol=1e-7)
    np.testing.assert_allclose(gw, numerical_grad(shadows_helpers, (x, w), 1), rtol=1e-7)


def test_generated_names_avoid_every_name_of_the_function():
    source = s2sad.grad(local_bx).source
    # the user's bx keeps its name; the adjoint of x gets another
    assert "bx = x * 2.0" in source and "bx_1" in source
    source = s2sad.grad(param_b_out).source
    assert "def param_b_out_grad(b_out, b_out_1=1.0):" in source


def test_wasm_module_of_colliding_names_assembles():
    text = wasm.grad(tape_vocabulary).source()
    assert "(param $x f64)" in text
