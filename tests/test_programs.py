"""Every program of the corpus, with hypothesis-drawn inputs, against central differences."""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from programs import PROGRAMS

import s2sad
from s2sad.testing import floats, is_smooth, numerical_grad


def strategy(domain):
    if domain[0] == "list":
        _, n, lo, hi = domain
        return st.lists(floats(lo, hi), min_size=n, max_size=n)
    if len(domain) == 3 and domain[2] == "int":
        return st.integers(domain[0], domain[1])
    return floats(*domain)


def smooth_fd(f, args, p):
    """Central differences, or None where they cannot be trusted: where ``f`` is not smooth
    around ``args`` (a kink, or a branch that flips inside the step), or where they have not
    converged (they move with the step, as where f'' jumps).  Such points are skipped rather
    than compared."""
    if not is_smooth(f, args, p):
        return None
    fd = numerical_grad(f, args, p)
    finer = numerical_grad(f, args, p, step=np.finfo(float).eps ** (1 / 3) / 10)
    if not np.allclose(fd, finer, rtol=1e-6, atol=1e-7):
        return None
    return fd


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
