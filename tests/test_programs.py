"""Every program of the corpus, with hypothesis-drawn inputs, against central differences."""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from programs import PROGRAMS

import s2sad
from s2sad.testing import _replace, floats, numerical_grad


def strategy(domain):
    if domain[0] == "list":
        _, n, lo, hi = domain
        return st.lists(floats(lo, hi), min_size=n, max_size=n)
    if len(domain) == 3 and domain[2] == "int":
        return st.integers(domain[0], domain[1])
    return floats(*domain)


def smooth_fd(f, args, p):
    """Central differences, or None where ``f`` is not smooth around ``args`` (a kink such
    as min(x, y) at x == y, or a branch that flips inside the step): there one-sided
    differences disagree, and such points are skipped rather than compared."""
    central = numerical_grad(f, args, p)
    for step in (1e-7, 1e-5):
        fwd = _one_sided(f, args, p, step)
        bwd = _one_sided(f, args, p, -step)
        if not np.allclose(fwd, bwd, rtol=1e-2, atol=1e-3):
            return None
    return central


def _one_sided(f, args, p, step):
    x = args[p]
    flat = np.atleast_1d(np.asarray(x, dtype=float)).ravel()
    f0 = float(f(*args))
    out = np.zeros(flat.size)
    for k, xk in enumerate(flat):
        h = step * max(1.0, abs(xk))
        moved = list(args)
        moved[p] = _replace(x, k, xk + h)
        out[k] = (float(f(*moved)) - f0) / h
    return out


@pytest.mark.parametrize("f,domains,wrt", PROGRAMS, ids=[p[0].__name__ for p in PROGRAMS])
def test_gradient_matches_finite_differences(f, domains, wrt):
    df = s2sad.grad(f, wrt=tuple(wrt))

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.tuples(*[strategy(d) for d in domains]))
    def check(args):
        try:
            f(*args)
        except (ValueError, ZeroDivisionError, OverflowError):
            assume(False)
        got = df(*args)
        for p, g in zip(wrt, got):
            want = smooth_fd(f, args, p)
            assume(want is not None)
            np.testing.assert_allclose(np.ravel(np.asarray(g, dtype=float)), want,
                                       rtol=1e-5, atol=1e-6)

    check()


def test_corpus_is_large_enough():
    assert len(PROGRAMS) >= 40
