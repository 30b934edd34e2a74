"""NumPy programs through the transformation, with hypothesis-drawn arrays, against central
finite differences; gradients have exactly the shape of their input."""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from numpy_programs import PROGRAMS
from test_programs import smooth_fd

import s2sad
from s2sad import S2SADError
from s2sad.testing import floats


def inputs(shapes):
    """Arrays away from 0 and without two equal values (kinks of abs, sign, max, where):
    hypothesis draws the seed and the scale of random values, which are then distinct."""

    def make(seed, scale):
        rng = np.random.default_rng(seed)
        return tuple(rng.uniform(-scale, scale, s) if s else float(rng.uniform(-scale, scale))
                     for s in shapes)

    strategy = st.builds(make, st.integers(0, 2 ** 32 - 1), floats(0.2, 1.5))
    return strategy.filter(lambda args: _distinct(args))


def _distinct(args):
    values = np.sort(np.concatenate([np.ravel(a) for a in args]))
    return bool(np.all(np.diff(values) > 1e-3))


@pytest.mark.parametrize("f,shapes,wrt", PROGRAMS, ids=[p[0].__name__ for p in PROGRAMS])
def test_numpy_gradient(f, shapes, wrt):
    df = s2sad.grad(f, wrt=wrt)

    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
    @given(inputs(shapes))
    def check(args):
        originals = [np.copy(a) for a in args]
        try:
            with np.errstate(all="raise"):
                f(*[np.copy(a) for a in args])
        except (FloatingPointError, ValueError, np.linalg.LinAlgError):
            assume(False)
        got = df(*args)
        for a, o in zip(args, originals):  # never writes the caller's arrays
            np.testing.assert_array_equal(a, o)
        for p, g in zip(wrt, got):
            assert np.shape(g) == np.shape(args[p])
            want = smooth_fd(lambda *xs: f(*[np.copy(x) for x in xs]), args, p)
            assume(want is not None)
            np.testing.assert_allclose(np.ravel(g), want, rtol=1e-5, atol=1e-6)

    check()


def test_generated_numpy_code_is_readable():
    import numpy_programs as P

    g = s2sad.grad(P.tanh_aw, wrt=(0, 1))
    g(np.ones((2, 3)), np.ones(3))  # specializes for arrays; .source is now that version
    assert "def tanh_aw_grad(A, w, b_out=1.0):" in g.source
    assert "bA = matmul_grad_a(" in g.source and "unreduce(" in g.source


def uses_unknown(x):
    return np.sum(np.i0(x))


def test_numpy_function_without_rule_is_refused():
    with pytest.raises(S2SADError) as info:
        s2sad.grad(uses_unknown)(np.ones(3))
    assert "numpy.i0" in info.value.what and "s2sad.adjoint" in info.value.hint
    assert info.value.lineno and "np.i0" in info.value.source_line


def test_an_array_whose_every_path_is_dead_gets_zeros_of_its_shape():
    # y is read (y.min) but its result is rebound before use: the cotangent was the number
    # 0.0 of the adjoint's init, not an array of y's shape (found by tests/array_fuzz.py)
    def dead_path(x, y):
        t = y.min(axis=1)
        t = np.exp(0.3 * x)
        return np.mean(t)

    x, y = np.array([0.2, -0.1]), np.ones((2, 3))
    gx, gy = s2sad.grad(dead_path, wrt=(0, 1))(x, y)
    np.testing.assert_allclose(gx, 0.3 * np.exp(0.3 * x) / 2, rtol=1e-12)
    assert gy.shape == y.shape and not gy.any()


def test_point_indices_counted_from_the_end():
    # x[rows, cols] with negative cols: the cotangent's scatter raised "invalid entry in
    # coordinates array" (np.ravel_multi_index takes no negative index)
    def picked(x):
        return np.sum(x[np.array([0, 1, 1]), np.array([-1, -2, -2])] ** 2)

    x = np.arange(6.0).reshape(2, 3)
    expected = np.zeros_like(x)
    expected[0, 2] = 2 * x[0, 2]
    expected[1, 1] = 2 * 2 * x[1, 1]
    np.testing.assert_allclose(s2sad.grad(picked)(x), expected)


# an array rebound in a loop and read only after it: each pass's value but the last is dead
# and its cotangent the number 0.0, which rules that reshape their cotangent took for an
# array (np.reshape(0.0, (4,)): ValueError) -- s2sad/zeros.py
DEAD_IN_A_LOOP = ["np.cumsum(w * w)", "np.reshape(w * w, (2, 2))", "(w * w).reshape(2, 2)",
                  "np.ravel(w * w)", "np.concatenate([w, w * w])", "np.stack([w, w * 2.0])",
                  "np.tile(w, 2)", "np.diag(w)", "np.pad(w, 1)", "np.kron(w, w)",
                  "np.transpose(np.outer(w, w))", "np.max(np.outer(w, w), axis=1)",
                  "np.fft.fft(w).real", "np.convolve(w, w)", "np.einsum('i,j->ij', w, w)"]


def _dead_in_a_loop_module(tmp_path):
    import importlib.util

    source = "import numpy as np\n\n"
    for k, e in enumerate(DEAD_IN_A_LOOP):
        source += (f"def dead{k}(w, y):\n    z = y * 1.0\n    for _ in range(2):\n"
                   f"        z = {e}\n    return np.sum(z) + np.sum(np.sin(y))\n\n")
    # a value read only inside a loop that may not run, or a branch that may not be taken
    source += ("def maybe_unread(w, n):\n    z = np.reshape(w * w, (2, 2))\n    s = 0.0\n"
               "    for _ in range(n):\n        s = s + np.sum(z)\n    if n > 5:\n"
               "        s = s + np.sum(np.ravel(z))\n    return s + np.sum(w)\n")
    path = tmp_path / "dead_in_a_loop.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("dead_in_a_loop", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _central(f, x, *rest, h=1e-6):
    out = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = h
        out.flat[i] = (f(x + e, *rest) - f(x - e, *rest)) / (2 * h)
    return out


def test_a_cotangent_that_is_still_zero_reaches_rules_that_reshape_it(tmp_path):
    module = _dead_in_a_loop_module(tmp_path)
    w, y = np.array([0.3, -1.2, 0.7, 1.9]), np.array([0.5, -0.4, 1.1, 0.2])
    for k, e in enumerate(DEAD_IN_A_LOOP):
        f = getattr(module, f"dead{k}")
        gw, gy = s2sad.grad(f, wrt=(0, 1))(w, y)
        np.testing.assert_allclose(gw, _central(lambda a: f(a, y), w), rtol=1e-6, atol=1e-8,
                                   err_msg=e)
        # (y's own value is dead: its gradient is cos(y) alone, an array of its shape)
        assert np.shape(gy) == y.shape
        np.testing.assert_allclose(gy, np.cos(y), rtol=1e-12, err_msg=e)
    for n in (0, 1, 7):
        g = s2sad.grad(module.maybe_unread)(w, n)
        np.testing.assert_allclose(g, _central(module.maybe_unread, w, n), rtol=1e-6,
                                   atol=1e-8)


def test_hvp_through_a_cotangent_expanded_from_zero(tmp_path):
    # (expand_to is linear in the cotangent: forward mode maps tangents through it)
    module = _dead_in_a_loop_module(tmp_path)
    w, y = np.array([0.3, -1.2, 0.7, 1.9]), np.array([0.5, -0.4, 1.1, 0.2])
    t = np.array([1.0, 0.5, -0.2, 0.3])
    for k in (1, 2, 3, 4):  # (not np.cumsum: its rule is a function, differentiated once)
        f = getattr(module, f"dead{k}")
        hw, _ = s2sad.hvp(f, (w, y), (t, 0.0))
        g = s2sad.grad(f)
        want = (g(w + 1e-6 * t, y) - g(w - 1e-6 * t, y)) / 2e-6
        np.testing.assert_allclose(hw, want, rtol=1e-6, atol=1e-8, err_msg=DEAD_IN_A_LOOP[k])
