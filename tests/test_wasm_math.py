"""The Wasm math library: the kernels agree with Python's math to a few ulp, first as Python
code, then compiled into a module."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import s2sad
from s2sad import wasm, wasm_math

FINITE = dict(allow_nan=False, allow_infinity=False)
# function, domain strategy, ulp bound
UNARY = {
    "sin": (st.floats(-2 ** 20 * math.pi / 2, 2 ** 20 * math.pi / 2, **FINITE), 2),
    "cos": (st.floats(-2 ** 20 * math.pi / 2, 2 ** 20 * math.pi / 2, **FINITE), 2),
    "tan": (st.floats(-1e5, 1e5, **FINITE), 4),
    "exp": (st.floats(-745, 709, **FINITE), 2),
    "log": (st.floats(1e-300, 1e300, **FINITE), 2),
    "log1p": (st.floats(-0.999, 1e10, **FINITE), 3),
    "expm1": (st.floats(-40, 700, **FINITE), 3),
    "tanh": (st.floats(-40, 40, **FINITE), 4),
    "sinh": (st.floats(-700, 700, **FINITE), 3),
    "cosh": (st.floats(-700, 700, **FINITE), 3),
    "atan": (st.floats(-1e10, 1e10, **FINITE), 2),
    "asin": (st.floats(-1, 1, **FINITE), 3),
    "acos": (st.floats(-1, 1, **FINITE), 3),
    "log2": (st.floats(1e-300, 1e300, **FINITE), 2),
    "log10": (st.floats(1e-300, 1e300, **FINITE), 3),
    "asinh": (st.floats(-1e10, 1e10, **FINITE), 3),
    "acosh": (st.floats(1, 1e10, **FINITE), 3),
    "atanh": (st.floats(-0.999, 0.999, **FINITE), 3),
    "erf": (st.floats(-8, 8, **FINITE), 2),
    "erfc": (st.floats(-8, 30, **FINITE), 4),
}


def ulps(got: float, want: float) -> float:
    if got == want or (math.isnan(got) and math.isnan(want)):
        return 0.0
    return abs(got - want) / math.ulp(want) if want != 0 else abs(got) / 5e-324


@pytest.mark.parametrize("name", sorted(UNARY))
def test_python_kernel_agrees_with_math(name):
    domain, bound = UNARY[name]
    ours, ref = getattr(wasm_math, name), getattr(math, name)

    @settings(max_examples=300, deadline=None)
    @given(domain)
    def check(x):
        assert ulps(ours(x), ref(x)) <= bound, (x, ours(x), ref(x))

    check()


@settings(max_examples=300, deadline=None)
@given(st.floats(-1e6, 1e6, **FINITE), st.floats(-1e6, 1e6, **FINITE))
def test_atan2_and_hypot(y, x):
    assert ulps(wasm_math.atan2(y, x), math.atan2(y, x)) <= 2
    assert ulps(wasm_math.hypot(y, x), math.hypot(y, x)) <= 2


@settings(max_examples=400, deadline=None)
@given(st.floats(1e-5, 1e5, **FINITE), st.floats(-60, 60, **FINITE))
def test_pow(a, b):
    want = math.pow(a, b)
    assert ulps(wasm_math.pow(a, b), want) <= 4, (a, b)


def test_pow_special_cases():
    for a, b in [(-2.0, 3.0), (-2.0, 2.0), (2.0, 0.5), (0.0, 2.0), (10.0, -2.0), (1.0, 1e300)]:
        assert wasm_math.pow(a, b) == pytest.approx(math.pow(a, b), rel=1e-15)
    assert math.isnan(wasm_math.pow(-2.0, 0.5))


def k_sin(x):
    return math.sin(x)


def k_exp(x):
    return math.exp(x)


def k_log(x):
    return math.log(x)


def k_atan2(y, x):
    return math.atan2(y, x)


def k_pow(a, b):
    return a ** b


def k_tanh(x):
    return math.tanh(x)


def k_erf(x):
    return math.erf(x)


def k_erfc(x):
    return math.erfc(x)


COMPILED = [(k_sin, [st.floats(-1e6, 1e6, **FINITE)], math.sin),
            (k_exp, [st.floats(-700, 700, **FINITE)], math.exp),
            (k_log, [st.floats(1e-300, 1e300, **FINITE)], math.log),
            (k_tanh, [st.floats(-30, 30, **FINITE)], math.tanh),
            (k_erf, [st.floats(-7, 7, **FINITE)], math.erf),
            (k_erfc, [st.floats(-7, 27, **FINITE)], math.erfc),
            (k_atan2, [st.floats(-1e3, 1e3, **FINITE), st.floats(-1e3, 1e3, **FINITE)],
             math.atan2),
            (k_pow, [st.floats(1e-3, 1e3, **FINITE), st.floats(-20, 20, **FINITE)], math.pow)]


@pytest.mark.parametrize("f,domains,ref", COMPILED, ids=[c[0].__name__ for c in COMPILED])
def test_compiled_kernel_agrees_with_math(f, domains, ref):
    run = wasm.primal(f)

    @settings(max_examples=200, deadline=None)
    @given(st.tuples(*domains))
    def check(args):
        assert ulps(run(*args), ref(*args)) <= 4, args

    check()


@settings(max_examples=300, deadline=None)
@given(st.floats(-2 ** 20 * math.pi / 2, 2 ** 20 * math.pi / 2, **FINITE))
def test_sincos_shares_one_reduction_and_agrees(x):
    s, c = wasm_math.sincos(x)
    assert ulps(s, math.sin(x)) <= 2 and ulps(c, math.cos(x)) <= 2


def test_the_wasm_sin_loop_tapes_the_cosine():
    import programs

    text = wasm.build_module(programs.sin_sum).wat
    grad_body = text[text.index("(func $sin_sum_grad"):]
    grad_body = grad_body[:grad_body.index("\n  )")]
    assert "call $math.sincos" in grad_body and "call $math.cos" not in grad_body


def test_erf_and_erfc_at_their_branch_points_and_limits():
    points = [0.0, -0.0, 1e-300, 3.7e-9, 0.25, 0.84375, -0.84375, 1.0, 1.25, -1.25,
              2.857142857142857, 5.9, 6.0, -6.0, 27.9, 28.0, 40.0, -40.0, math.inf, -math.inf]
    for x in points:
        for name in ("erf", "erfc"):
            got, want = getattr(wasm_math, name)(x), getattr(math, name)(x)
            assert ulps(got, want) <= 4, (name, x, got, want)
    assert math.isnan(wasm_math.erf(math.nan)) and math.isnan(wasm_math.erfc(math.nan))


def test_erf_gradient_on_the_wasm_backend():
    def f(x):
        return math.erf(x) * math.erfc(0.5 * x)

    for x in (-2.0, -0.3, 0.1, 0.9, 1.7, 3.5):
        assert wasm.grad(f)(x) == pytest.approx(s2sad.grad(f)(x), rel=1e-13, abs=1e-300)


def k_sin_of_product(x, y):
    return math.sin(x * y) + math.cos(x)


def _lgamma_scale(x: float) -> float:
    """The magnitude lgamma's error is measured against: its own, but 1 between 0.5 and 3
    (its zeros at 1 and 2 are the differences of numbers near 1) and, for x < 0, also
    lgamma(-x)'s (the reflection's difference)."""
    ref = scipy_special.gammaln
    scale = abs(float(ref(x)))
    if 0.5 < x < 3.0:
        scale = max(scale, 1.0)
    if x < 0:
        scale = max(scale, abs(float(ref(-x))))
    return scale


scipy_special = pytest.importorskip("scipy.special")


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.floats(-30, 30, allow_subnormal=False, **FINITE),
                 st.floats(1e-300, 1e300, **FINITE), st.floats(-1e15, -1e-300, **FINITE)))
def test_lgamma_agrees_with_cephes(x):
    # (against scipy's cephes gammaln: Python's own math.lgamma, a Lanczos sum, is off by
    # up to ~150 ulp near 2.12, where fdlibm's algorithm and cephes agree to the last bit;
    # cephes gives inf for subnormals, where -log(x) is right)
    want = float(scipy_special.gammaln(x))
    got = wasm_math.lgamma(x)
    if math.isinf(want):  # (the poles: 0 and the negative integers)
        assert got == math.inf
        return
    assert abs(got - want) <= (4 if x > 0 else 16) * math.ulp(_lgamma_scale(x)), (x, got, want)


def k_lgamma(w, x):
    # (math.lgamma has no derivative rule: its argument is not differentiated, as the GMM's)
    return w * (math.lgamma(x) + math.lgamma(0.5 * x + 3.0))


def test_compiled_lgamma_and_its_special_points():
    run = wasm.primal(k_lgamma)
    grad = s2sad.grad(k_lgamma, backend="wasm")
    rng = np.random.default_rng(5)
    for x in [1.0, 2.0, 0.5, 1e-25, 7.999, 8.0, 3e17, -0.5, -2.4004238400912996,
              *rng.uniform(-12, 12, 300)]:
        want = k_lgamma(1.0, x)
        assert abs(run(1.0, x) - want) <= 1e-13 * max(1.0, abs(want)), x
        assert abs(grad(2.0, x) - want) <= 1e-13 * max(1.0, abs(want)), x
    assert wasm_math.lgamma(0.0) == math.inf and wasm_math.lgamma(-3.0) == math.inf
    assert math.isnan(wasm_math.lgamma(math.nan)) and wasm_math.lgamma(-math.inf) == math.inf


def test_sin_of_an_argument_too_large_to_reduce_is_refused_not_garbage():
    # (beyond 2**20 * pi/2 the three-part pi/2 is not exact: sin(1e20) came out as 2.7e27,
    # and a gradient as nan)
    for x in (1e20, -3e7, 1e300):
        with pytest.raises(s2sad.S2SADError, match="beyond 2\\*\\*20 \\* pi/2"):
            wasm.primal(k_sin)(x)
        with pytest.raises(s2sad.S2SADError, match="beyond 2\\*\\*20 \\* pi/2"):
            wasm.value_and_grad(k_sin_of_product, wrt=(0, 1))(x, 1.0)
    limit = 2 ** 20 * math.pi / 2  # (the last argument reduced exactly: taken)
    assert ulps(wasm.primal(k_sin)(limit), math.sin(limit)) <= 2
    assert ulps(wasm.primal(k_sin)(-limit), math.sin(-limit)) <= 2
    assert wasm.primal(k_sin)(1e6) == pytest.approx(math.sin(1e6), rel=1e-15)
