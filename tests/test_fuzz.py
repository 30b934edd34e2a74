"""Differential testing of the reverse pass on random programs (tests/fuzz_programs.py):
branches, loops, while loops, break, continue, early returns and reassigned arguments, each
gradient checked against finite differences where the program is smooth and moderate."""

import importlib.util

import numpy as np
from fuzz_programs import generate
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_programs import smooth_fd

import s2sad


def load(tmp_path_factory, seed):
    path = tmp_path_factory.mktemp("fuzz") / f"fuzz_{seed}.py"
    path.write_text(generate(seed))
    spec = importlib.util.spec_from_file_location(f"fuzz_{seed}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.f


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 10**9), x=st.floats(-2, 2), y=st.floats(-2, 2))
def test_random_program_gradient(tmp_path_factory, seed, x, y):
    f = load(tmp_path_factory, seed)
    try:
        value = f(x, y)
    except (ValueError, ZeroDivisionError, OverflowError):
        assume(False)
    assume(abs(value) < 1e4)  # beyond that, finite differences are mostly rounding noise
    try:
        gx, gy = s2sad.grad(f, wrt=(0, 1))(x, y)
    except ZeroDivisionError:
        # only acceptable at a point where f has no derivative (hypot(0, 0), sqrt(0), ...)
        smooth = [smooth_fd(f, (x, y), p) is not None for p in (0, 1)]
        assert not all(smooth), generate(seed)
        assume(False)
    for p, got in ((0, gx), (1, gy)):
        want = smooth_fd(f, (x, y), p)
        assume(want is not None)
        np.testing.assert_allclose(got, want[0], rtol=1e-5, atol=1e-6,
                                   err_msg=generate(seed))
