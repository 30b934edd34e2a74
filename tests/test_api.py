"""The public API: grad, value_and_grad, vjp, wrt, caching, structure, no mutation."""

import copy
import math
import math as m

import numpy as np
import pytest

import s2sad
from s2sad import parse as parse_module

SCALE = [2.0, 3.0]


def f(x, y=2.0):
    return math.sin(x) * y + x * x


def test_grad_single_and_tuple_wrt():
    assert s2sad.grad(f)(0.5) == pytest.approx(math.cos(0.5) * 2.0 + 1.0)
    gx, gy = s2sad.grad(f, wrt=(0, 1))(0.5, 3.0)
    assert gx == pytest.approx(math.cos(0.5) * 3.0 + 1.0)
    assert gy == pytest.approx(math.sin(0.5))


def test_wrt_by_name_and_keyword_arguments():
    g = s2sad.grad(f, wrt="y")
    assert g(0.5, y=3.0) == pytest.approx(math.sin(0.5))
    assert g(x=0.5) == pytest.approx(math.sin(0.5))


def test_value_and_grad():
    value, g = s2sad.value_and_grad(f)(0.5, 3.0)
    assert value == pytest.approx(f(0.5, 3.0))
    assert g == pytest.approx(math.cos(0.5) * 3.0 + 1.0)


def two_outputs(x, y):
    return x * y, x + math.exp(y)


def test_vjp_with_tuple_output():
    value, pullback = s2sad.vjp(two_outputs, 2.0, 0.5)
    assert value == pytest.approx(two_outputs(2.0, 0.5))
    bx, by = pullback((1.0, 0.0))
    assert (bx, by) == pytest.approx((0.5, 2.0))
    bx, by = pullback((0.0, 1.0))
    assert (bx, by) == pytest.approx((1.0, math.exp(0.5)))
    bx, by = pullback((2.0, 3.0))
    assert (bx, by) == pytest.approx((2 * 0.5 + 3.0, 2 * 2.0 + 3 * math.exp(0.5)))


def test_vjp_scalar_output():
    value, pullback = s2sad.vjp(f, 0.5, 3.0)
    assert value == pytest.approx(f(0.5, 3.0))
    assert pullback(2.0) == pytest.approx((2 * (math.cos(0.5) * 3.0 + 1.0),
                                           2 * math.sin(0.5)))


def test_grad_of_tuple_output_is_refused():
    with pytest.raises(s2sad.S2SADError, match="vjp"):
        s2sad.grad(two_outputs)


def norm_sq(xs):
    s = 0.0
    for v in xs:
        s = s + v * v * SCALE[0]
    return s


def test_gradient_has_the_structure_of_the_argument():
    assert s2sad.grad(norm_sq)([1.0, 2.0, 3.0]) == pytest.approx([4.0, 8.0, 12.0])
    assert isinstance(s2sad.grad(norm_sq)([1.0, 2.0]), list)
    g = s2sad.grad(norm_sq)((1.0, 2.0))
    assert isinstance(g, tuple) and g == pytest.approx((4.0, 8.0))


def test_arguments_and_globals_are_not_mutated():
    xs = [1.0, 2.0, 3.0]
    before_globals = copy.copy(norm_sq.__globals__)
    before_scale = list(SCALE)
    s2sad.grad(norm_sq)(xs)
    assert xs == [1.0, 2.0, 3.0]
    assert SCALE == before_scale
    assert set(norm_sq.__globals__) == set(before_globals)
    assert norm_sq.__code__ is before_globals["norm_sq"].__code__


def test_transformation_runs_once_and_is_cached(monkeypatch):
    calls = []
    real = parse_module._parse_function

    def counting(fn):
        calls.append(fn)
        return real(fn)

    def fresh(x):
        return x * x * 3.0

    monkeypatch.setattr("s2sad.parse._parse_function", counting)
    g = s2sad.grad(fresh)
    for v in range(5):
        assert g(float(v)) == pytest.approx(6.0 * v)
    s2sad.grad(fresh)(1.0)
    assert len(calls) == 1


def test_verbose_prints_the_source_once(capsys):
    def shown(x):
        return x * math.cos(x)

    g = s2sad.grad(shown, verbose=True)
    out = capsys.readouterr().out
    assert "def shown_grad(x, b_out=1.0):" in out and "# adjoint sweep" in out
    g(1.0)
    g(2.0)
    assert capsys.readouterr().out == ""
    assert g.source == out.rstrip("\n") + "\n" or g.source.strip() == out.strip()


def test_generated_source_runs_standalone():
    g = s2sad.grad(f, wrt=(0, 1))
    namespace = {"math": math}
    exec(g.source, namespace)
    value, (gx, gy) = namespace["f_grad"](0.5, 3.0)
    assert value == pytest.approx(f(0.5, 3.0))
    assert (gx, gy) == pytest.approx(g(0.5, 3.0))


class _Softplus:
    """A callable with no Python source s2sad could read: it needs a rule."""

    def __call__(self, x):
        return math.log1p(math.exp(x))


softplus = _Softplus()


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


@s2sad.adjoint(softplus)
def _(g, ans, x):
    return g * _sigmoid(x)


def uses_softplus(x):
    return softplus(x * 2.0) * x


def test_custom_rule_for_a_callable_without_source():
    got = s2sad.grad(uses_softplus)(0.7)
    want = 2.0 * _sigmoid(1.4) * 0.7 + softplus(1.4)
    assert got == pytest.approx(want, rel=1e-12)
    assert "_sigmoid(" in s2sad.grad(uses_softplus).source  # the rule was inlined


def test_custom_rule_with_a_closure():
    scale = 3.0

    class Cube:
        def __call__(self, x):
            return scale * x ** 3

    cube = Cube()

    @s2sad.adjoint(cube)
    def _(g, ans, x):
        return g * 3.0 * scale * x * x

    def uses_cube(x):
        return cube(x) + x

    assert s2sad.grad(uses_cube)(2.0) == pytest.approx(9.0 * 4.0 + 1.0)


def shadow(x):
    math = 2.0  # a local named like the module that math.sin's rule uses
    return m.sin(x) * math


def test_rule_names_never_capture_the_users_locals():
    # the inlined rule would read the local float `math`; s2sad calls the rule instead
    assert s2sad.grad(shadow)(0.3) == pytest.approx(2.0 * m.cos(0.3))


def first_row(a, w):
    return np.sum(np.tanh(a[0] * w))


def test_a_new_array_rank_gets_its_own_specialization():
    from s2sad.testing import numerical_grad

    g = s2sad.grad(first_row, wrt=(0, 1))
    g(np.array([0.3, 0.2]), np.array([0.7, -0.4]))  # a 1-d: a[0] is a number
    for_vectors = g.transformed
    A, w = np.array([[0.3, 0.2], [0.1, 0.5]]), np.array([0.7, -0.4])
    gA, gw = g(A, w)  # a 2-d: a[0] is a row
    assert g.transformed is not for_vectors
    np.testing.assert_allclose(np.ravel(gA), numerical_grad(first_row, (A, w), 0), rtol=1e-6)
    np.testing.assert_allclose(gw, numerical_grad(first_row, (A, w), 1), rtol=1e-6)


def scaled(u, *, k=3.0):
    return u * k + m.cos(u)


def keyword_only(x, y, *, scale=2.0, shift):
    # keyword-only parameters, and a callee's keyword-only parameter passed by name and left
    # to its default
    return m.sin(x * scale) + y * shift + scaled(x, k=y) + scaled(y)


def positional_only(x, y, /, z=1.0):
    return x * y * z + scaled(z, k=x)


def variadic(*xs, scale=1.0, **named):
    return scale * (xs[0] * xs[1] + sum(xs)) + named["c"] * xs[0]


def test_star_args_and_star_star_kwargs_of_the_function_itself():
    # *xs is one parameter (a tuple, its gradient a tuple), **named one (a dict)
    g = s2sad.grad(variadic, wrt=(0, "scale", "named"))
    gxs, gscale, gnamed = g(0.5, 2.0, 3.0, scale=1.5, c=0.25)
    assert gxs == pytest.approx((1.5 * (2.0 + 1) + 0.25, 1.5 * (0.5 + 1), 1.5), rel=1e-14)
    assert gscale == pytest.approx(0.5 * 2.0 + 5.5, rel=1e-14)
    assert gnamed == pytest.approx({"c": 0.5}, rel=1e-14)
    value, tangent = s2sad.jvp(variadic, ((0.5, 2.0), 1.0, {"c": 0.25}),
                               ((1.0, 0.0), 0.0, {"c": 0.0}))
    assert tangent == pytest.approx(2.0 + 1 + 0.25, rel=1e-14)


def test_keyword_only_and_positional_only_parameters():
    from s2sad.testing import numerical_grad

    kw = dict(shift=1.5)
    for backend in ("python", "wasm"):
        g = s2sad.grad(keyword_only, wrt=(0, 1, "shift"), backend=backend)
        got = g(0.3, 0.4, **kw)
        want = [numerical_grad(lambda x, y, s: keyword_only(x, y, shift=s), (0.3, 0.4, 1.5),
                               p)[0] for p in range(3)]
        assert got == pytest.approx(want, rel=1e-7), backend
        g = s2sad.grad(positional_only, wrt=(0, 1, 2), backend=backend)
        want = [numerical_grad(positional_only, (0.3, 0.4, 0.8), p)[0] for p in range(3)]
        assert g(0.3, 0.4, 0.8) == pytest.approx(want, rel=1e-7), backend
    value, pullback = s2sad.vjp(keyword_only, 0.3, 0.4, shift=1.5)
    assert value == keyword_only(0.3, 0.4, shift=1.5)
    g = s2sad.grad(keyword_only, wrt=(0, 1, 2, 3))(0.3, 0.4, shift=1.5)
    assert pullback(1.0) == pytest.approx(g, rel=1e-14)
    import pickle

    assert pickle.loads(pickle.dumps(pullback))(2.0) == pytest.approx(pullback(2.0), rel=1e-15)
    source = s2sad.grad(keyword_only, wrt=0).source
    assert "scaled(x, k=y)" in source and "scaled(y, k=3.0)" in source
    with pytest.raises(TypeError):  # the gradient keeps the function's signature
        s2sad.grad(keyword_only)(0.3, 0.4, 2.0, 1.5)
