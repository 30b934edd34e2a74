"""Complex values between real arguments and a real result (FFTs, eig, complex constants):
gradients and tangents against central differences, real where the argument is real."""

import warnings

import numpy as np
import pytest

import s2sad


def power_spectrum(x):
    z = np.fft.rfft(x)
    return np.sum(np.abs(z) ** 2)


def real_times_imag(x):
    z = np.fft.fft(x)
    return np.sum(np.real(z) * np.imag(z))


def rotated(x):
    z = x * (1.0 + 2.0j)  # (|z| = sqrt(5) |x|: abs of a complex value takes conj)
    return np.sum(np.abs(z))


def phases(x):
    z = np.fft.fft(x, 6)
    return np.sum(np.angle(z[1:3]) * np.abs(z[1:3])) + np.sum(z.imag.conj()) + z.real[0]


def filtered(a):
    z = np.fft.rfft2(a)
    w = np.fft.irfft2(z * np.conj(z), a.shape)
    return np.sum(w * a) + np.sum(np.abs(np.fft.ifftn(a, norm="ortho")))


def eigen(a):
    e, u = np.linalg.eig(a)
    return np.sum(np.abs(e) ** 2) + np.real(np.sum(e)) + np.sum(np.abs(u) ** 2 * np.arange(3.0))


def sliced(x):
    z = x[0:2] * 1j + x[1:3]
    return np.sum(np.abs(np.exp(z)))


def by_elements(x):
    z = x[0] * 1j + x[1]
    return np.abs(np.exp(z) * x[2]) + np.real(z * z)


PROGRAMS = [(power_spectrum, (7,)), (real_times_imag, (5,)), (rotated, (4,)), (phases, (5,)),
            (filtered, (3, 4)), (eigen, (3, 3)), (sliced, (3,)), (by_elements, (3,))]


def central(f, x, h=1e-6):
    out = np.zeros(x.shape)
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = h
        out.flat[k] = (f(x + e.reshape(x.shape)) - f(x - e.reshape(x.shape))) / (2 * h)
    return out


@pytest.mark.parametrize("f, shape", PROGRAMS, ids=[f.__name__ for f, _ in PROGRAMS])
def test_complex_intermediates_against_differences(f, shape):
    rng = np.random.default_rng(len(f.__name__))
    for _ in range(3):
        x = rng.normal(size=shape)
        if f is eigen:  # (distinct eigenvalues: a diagonal pulled apart, then mixed)
            x = x * 0.3 + np.diag([2.0, -1.0, 0.5])
        want = central(f, x)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
            g = s2sad.grad(f)(x)
            value, g2 = s2sad.value_and_grad(f)(x)
            v = rng.normal(size=shape)
            tangent = s2sad.jvp(f, (x,), (v,))[1]
        assert g.dtype == np.float64 and g.shape == x.shape
        np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(g2, g, rtol=1e-14)
        assert value == pytest.approx(f(x), rel=1e-14)
        assert isinstance(tangent, float) or np.isrealobj(tangent)
        assert float(tangent) == pytest.approx(float(np.sum(want * v)), rel=1e-6, abs=1e-7)


def test_a_complex_argument_keeps_a_complex_gradient():
    # f(z) = sum |z|^2: gz = 2 conj(z) under dL = Re(sum(gz dz))
    z = np.array([1.0 + 2.0j, -0.5 + 0.25j])
    g = s2sad.grad(lambda z: np.sum(np.abs(z) ** 2))(z)
    np.testing.assert_allclose(g, 2 * np.conj(z), rtol=1e-14)


def through_numpy_scalars(x, y):
    # (np.asarray of a float times a complex constant: NumPy complex scalars, whose
    # cotangent reached the float arguments complex -- fuzz seed 0)
    a = float(np.real(np.exp(np.asarray(np.arctan2(x, 1.5)) * 1j))) * y
    return a + float(np.abs(np.asarray(np.exp(np.sin(x))) * (1.0 + 0.5j)))


def test_numbers_through_complex_numpy_scalars_have_real_gradients():
    def exact(x, y):  # cos(atan2(x, 1.5)) y + sqrt(1.25) exp(sin(x))
        t = np.arctan2(x, 1.5)
        return (-np.sin(t) * 1.5 / (x * x + 2.25) * y + np.sqrt(1.25) * np.exp(np.sin(x)) *
                np.cos(x), np.cos(t))

    for x, y in [(0.3, 0.7), (-1.2, 2.0)]:
        g = s2sad.grad(through_numpy_scalars, wrt=(0, 1))(x, y)
        value, g2 = s2sad.value_and_grad(through_numpy_scalars, wrt=(0, 1))(x, y)
        assert all(isinstance(v, float) for v in g + g2), g  # (np.float64 is one)
        np.testing.assert_allclose(g, exact(x, y), rtol=1e-13)
        assert g2 == g and value == through_numpy_scalars(x, y)
        gx = s2sad.grad(through_numpy_scalars)(x, y)
        assert isinstance(gx, float) and gx == g[0]


def complex_cotangent_into_an_array(x):
    h = np.zeros(2)
    h[0] = x * 3.0
    b = h[0] * 2.0
    return float(np.real(np.exp(np.asarray(b) * 1j)))  # cos(6 x)


def test_the_cotangent_of_a_float_made_complex_is_real_before_it_goes_on():
    # (the cotangent of b came back from np.asarray(b) * 1j complex and was added into
    # h's float cotangent array: NumPy dropped its imaginary part with a ComplexWarning --
    # fuzz seed 417)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for x in (0.3, -1.1):
            g = s2sad.grad(complex_cotangent_into_an_array)(x)
            assert isinstance(g, float)  # (not complex: np.float64 is a float)
            assert g == pytest.approx(-6.0 * np.sin(6.0 * x), rel=1e-13)


def sum_of_complex(x):
    return float(np.real(np.sum(x * 1j) * (1j + 0.5)) + np.imag(np.mean(x * (1.0 + 2j))))


def test_a_whole_sum_of_complex_values_keeps_its_imaginary_part():
    # (its cotangent, a complex number, filled a float array: the imaginary part was lost)
    x = np.array([0.3, -0.5, 0.8])
    np.testing.assert_allclose(s2sad.grad(sum_of_complex)(x), central(sum_of_complex, x),
                               rtol=1e-8)


def real_abs(x):
    return np.sum(np.abs(x) * x ** 2)


def through_imag(x):
    z = np.exp(1j * x) * (x + 0.3)
    return np.sum(np.imag(z) * x) + np.sum(np.abs(z * x) ** 3)


SECOND = [(real_abs, (4,)), (rotated, (4,)), (by_elements, (3,)), (through_imag, (3,))]


@pytest.mark.parametrize("f, shape", SECOND, ids=[f.__name__ for f, _ in SECOND])
def test_hessians_through_abs_real_and_imag(f, shape):
    """Second derivatives differentiate the gradient's own helpers (abs of an array, real or
    complex; Re and Im): each column of the Hessian against differences of the gradient."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=shape)
    with warnings.catch_warnings():
        # (element stores of the generated code cast; the Hessian's columns take Re itself)
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        warnings.filterwarnings("error", category=np.exceptions.ComplexWarning,
                                module=r"s2sad\.higher")
        h = s2sad.hessian(f)(x)
        grad = s2sad.grad(f)
        columns = []
        for k in range(x.size):
            e = np.zeros(x.size)
            e[k] = 1e-5
            columns.append((grad(x + e) - grad(x - e)) / 2e-5)
    assert h.dtype == np.float64 and h.shape == shape * 2
    for k, column in enumerate(columns):
        np.testing.assert_allclose(h[:, k], column, rtol=1e-6, atol=1e-7)


def spectrum_norm(x):
    gx = s2sad.grad(power_spectrum)(x)
    return np.sum(gx * gx)


def test_second_derivatives_through_first_order_helpers_are_refused_at_the_users_line():
    """The rules of angle (and eig) are differentiated once: their second
    derivatives are refused, named at the user's function or call, not the generated code;
    rfft's cotangent helper is linear -- hessian goes through it -- but has no reverse
    derivative: a gradient of its gradient is refused likewise."""
    x = np.array([0.3, -0.5, 0.8, 1.1])
    with pytest.raises(s2sad.S2SADError, match="no second derivative through s2sad's "
                       "gradient helper angle_grad") as err:
        s2sad.hessian(phases)(x)
    assert err.value.filename == __file__
    assert err.value.lineno == phases.__code__.co_firstlineno
    h = s2sad.hessian(power_spectrum)(x)
    grad = s2sad.grad(power_spectrum)
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = 1e-6
        np.testing.assert_allclose(h[:, k], (grad(x + e) - grad(x - e)) / 2e-6, rtol=1e-6,
                                   atol=1e-7)
    with pytest.raises(s2sad.S2SADError, match="rfft_grad") as err:
        s2sad.grad(spectrum_norm)(x)
    assert err.value.filename == __file__
    assert err.value.source_line.strip() == "gx = s2sad.grad(power_spectrum)(x)"
