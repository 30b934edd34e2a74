"""Forward mode (``s2sad.jvp``): every corpus program along random directions, against
central differences along the direction and against the reverse mode's gradient; outputs of
every structure; refusals with the user's line; random programs of the fuzzer."""

import math
import os
from pathlib import Path

import numpy as np
import numpy_programs as NP
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from programs import PROGRAMS
from test_programs import strategy

import s2sad
from s2sad import S2SADError

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
GOLDEN = Path(__file__).parent / "golden"


def _along(primals, tangents, s):
    out = []
    for p, t in zip(primals, tangents):
        if isinstance(p, bool) or isinstance(p, int):
            out.append(p)
        elif isinstance(p, list):
            out.append([a + s * b for a, b in zip(p, t)])
        else:
            out.append(p + s * t)
    return out


def directional_fd(f, primals, tangents, step):
    """Central difference of ``f`` along ``tangents`` (any output structure, flattened)."""
    hi = np.ravel(np.asarray(f(*_along(primals, tangents, step)), dtype=float))
    lo = np.ravel(np.asarray(f(*_along(primals, tangents, -step)), dtype=float))
    return (hi - lo) / (2 * step)


def fd_or_none(f, primals, tangents):
    """The directional derivative by central differences, or None where it has not
    converged (a kink or a branch within the step)."""
    h = np.finfo(float).eps ** (1 / 3)
    try:
        coarse = directional_fd(f, primals, tangents, h)
        fine = directional_fd(f, primals, tangents, h / 10)
        here = np.ravel(np.asarray(f(*primals), dtype=float))
        sides = [(np.ravel(np.asarray(f(*_along(primals, tangents, s * h / 100)),
                                      dtype=float)) - here) / (s * h / 100) for s in (1, -1)]
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    # (one-sided differences on either side that differ: a kink or a branch right here)
    if not np.allclose(coarse, fine, rtol=1e-6, atol=1e-7) or \
            not all(np.allclose(side, coarse, rtol=1e-3, atol=1e-4) for side in sides):
        return None
    return coarse


def _tangent(primal, rng):
    if isinstance(primal, bool) or isinstance(primal, int):
        return 0
    if isinstance(primal, list):
        return list(rng.normal(size=len(primal)))
    if isinstance(primal, np.ndarray):
        return rng.normal(size=primal.shape)
    return float(rng.normal())


@pytest.mark.parametrize("f,domains,wrt", PROGRAMS, ids=[p[0].__name__ for p in PROGRAMS])
def test_jvp_matches_differences_along_random_directions(f, domains, wrt):
    @SETTINGS
    @given(st.tuples(*[strategy(d) for d in domains]), st.integers(0, 2 ** 32 - 1))
    def check(args, seed):
        try:
            want_value = f(*args)
        except (ValueError, ZeroDivisionError, OverflowError):
            assume(False)
        tangents = [_tangent(a, np.random.default_rng(seed)) for a in args]
        value, tangent = s2sad.jvp(f, args, tangents)
        assert value == want_value or (math.isnan(value) and math.isnan(want_value))
        want = fd_or_none(f, args, tangents)
        assume(want is not None)
        np.testing.assert_allclose(np.ravel(tangent), want, rtol=1e-5, atol=1e-6)

    check()


@pytest.mark.parametrize("f,shapes,wrt", NP.PROGRAMS, ids=[p[0].__name__ for p in NP.PROGRAMS])
def test_numpy_jvp_is_the_gradient_along_the_direction(f, shapes, wrt):
    """For NumPy programs: jvp(v) = <grad, v> to 1e-9, and central differences agree."""
    rng = np.random.default_rng(len(f.__name__))
    for _ in range(3):
        args = tuple(rng.uniform(-1, 1, s) if s else float(rng.uniform(-1, 1)) for s in shapes)
        tangents = tuple(rng.normal(size=s) if s else float(rng.normal()) for s in shapes)
        before = [np.copy(a) for a in args]
        value, tangent = s2sad.jvp(f, args, tangents)
        for a, b in zip(args, before):  # the caller's arguments are not changed
            assert np.array_equal(a, b)
        g = s2sad.grad(f, wrt=tuple(range(len(args))))(*[np.copy(a) for a in args])
        want = sum(float(np.sum(np.asarray(gi) * ti)) for gi, ti in zip(g, tangents))
        assert value == pytest.approx(f(*[np.copy(a) for a in args]), rel=1e-12)
        assert tangent == pytest.approx(want, rel=1e-9, abs=1e-12)
        fd = fd_or_none(lambda *a: f(*[np.copy(x) for x in a]), args, tangents)
        if fd is not None:
            assert tangent == pytest.approx(fd[0], rel=1e-5, abs=1e-6)


def vector_out(A, w):
    h = np.tanh(A @ w)
    return h * h + np.cumsum(h)


def tuple_out(x, y):
    s = x * y
    for _ in range(3):
        s = math.sin(s) + x
    return s, [s * y, x], {"k": y * y}


def matrix_inverse(A, b):
    return np.linalg.solve(A, b).sum() + np.linalg.inv(A).sum() + np.max(A, axis=0).sum() + \
        np.prod(A[0]) + np.linalg.norm(A)


def test_outputs_of_every_structure():
    rng = np.random.default_rng(3)
    A, w = rng.normal(size=(4, 3)), rng.normal(size=3)
    dA, dw = rng.normal(size=(4, 3)), rng.normal(size=3)
    value, tangent = s2sad.jvp(vector_out, (A, w), (dA, dw))
    assert tangent.shape == (4,)
    np.testing.assert_allclose(tangent, fd_or_none(vector_out, (A, w), (dA, dw)), rtol=1e-6)
    value, tangent = s2sad.jvp(tuple_out, (0.3, 0.8), (1.0, -0.5))
    assert isinstance(tangent, tuple) and isinstance(tangent[1], list) and \
        set(tangent[2]) == {"k"}
    h = 1e-6
    hi, lo = tuple_out(0.3 + h, 0.8 - 0.5 * h), tuple_out(0.3 - h, 0.8 + 0.5 * h)
    assert tangent[0] == pytest.approx((hi[0] - lo[0]) / (2 * h), rel=1e-7)
    assert tangent[1] == pytest.approx([(a - b) / (2 * h) for a, b in zip(hi[1], lo[1])],
                                       rel=1e-7)
    assert tangent[2]["k"] == pytest.approx(2 * 0.8 * -0.5)
    S = rng.normal(size=(3, 3)) + 3 * np.eye(3)
    b, dS, db = rng.normal(size=3), rng.normal(size=(3, 3)), rng.normal(size=3)
    _, tangent = s2sad.jvp(matrix_inverse, (S, b), (dS, db))
    assert tangent == pytest.approx(fd_or_none(matrix_inverse, (S, b), (dS, db))[0], rel=1e-6)


def sin_loop(x, n):
    s = 0.0
    for i in range(n):
        s = s + math.sin(x * i) * x
    return s


def test_the_forward_source_is_readable(capsys):
    s2sad.jvp(sin_loop, (0.3, 10), (1.0, 0), verbose=True)
    source = capsys.readouterr().out
    path = GOLDEN / "forward_sin_loop.py"
    if os.environ.get("S2SAD_UPDATE_GOLDEN"):
        path.write_text(source)
    assert source == path.read_text()
    assert "_stack" not in source  # forward mode needs no tape


def _block_sum(x):
    return np.sum(x)


def custom_rule_user(x):
    return _block_sum(x * x)


def test_refusals_name_the_line_and_the_arguments_are_checked():
    @s2sad.adjoint(_block_sum)
    def _(g, ans, x):
        return g * np.ones_like(x)

    # a rule registered for the reverse mode only: refused in forward mode, at the line
    with pytest.raises(S2SADError) as info:
        s2sad.jvp(custom_rule_user, (np.ones(3),), (np.ones(3),))
    assert "no forward rule" in info.value.what and info.value.lineno == \
        custom_rule_user.__code__.co_firstlineno + 1
    with pytest.raises(S2SADError, match="2 parameters, 2 primals and 1 tangents"):
        s2sad.jvp(sin_loop, (0.3, 4), (1.0,))
    with pytest.raises(S2SADError, match="the tangent of 'A' has shape"):
        s2sad.jvp(vector_out, (np.ones((4, 3)), np.ones(3)), (np.ones(3), np.ones(3)))
    with pytest.raises(S2SADError, match="must be a number"):
        s2sad.jvp(sin_loop, (0.3, 4), ("a", 0))
    value, tangent = s2sad.jvp(sin_loop, (0.3, 4), (0.0, 0))  # a zero tangent: not varied
    assert value == sin_loop(0.3, 4) and tangent == 0.0


def test_random_programs_forward_equals_reverse(tmp_path_factory):
    """The fuzzer's feature programs (names that look generated, keyword arguments,
    containers, aliases, in-place operators, loops, calls): jvp along a random direction
    equals the reverse gradient's dot product with it, and the value is f's."""
    import test_fuzz
    from fuzz_programs import generate

    exact = 0
    for seed in range(1000, 1000 + int(os.environ.get("S2SAD_FORWARD_FUZZ", "120"))):
        f, _ = test_fuzz.load(tmp_path_factory, seed, generate(seed, True))
        try:
            g = s2sad.value_and_grad(f, wrt=(0, 1))
        except S2SADError:
            continue
        rng = np.random.default_rng(seed)
        for point in test_fuzz.points(seed):
            try:
                with np.errstate(all="ignore"):
                    want = f(*point)
                    value, (gx, gy) = g(*point)
            except test_fuzz.ERRORS:
                continue
            if not np.all(np.isfinite([value, gx, gy])) or abs(value) > 1e6:
                continue
            vx, vy = (float(v) for v in rng.normal(size=2))
            with np.errstate(all="ignore"):
                fv, tv = s2sad.jvp(f, point, (vx, vy))
            assert test_fuzz.same(fv, want), seed
            assert tv == pytest.approx(gx * vx + gy * vy, rel=1e-7,
                                       abs=1e-9 * (1 + abs(gx) + abs(gy))), seed
            exact += 1
            break
    assert exact >= 100
