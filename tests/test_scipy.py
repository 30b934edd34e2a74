"""SciPy through the transformation (its rules are checked one by one in test_rules.py):
scipy.special's ufuncs on array items and scipy.stats.norm's bound methods, gradients and
tangents against central differences."""

import numpy as np
import pytest
import scipy.special as sp
from scipy.stats import norm

import s2sad


def special_of_items(x):
    # (SciPy's ufuncs name no module: once taken for unknown callables that might write
    # into x, which refused reading x's items through them)
    return sp.j0(x[0]) + sp.jn(2, x[1]) + sp.beta(x[0] + 2, x[1] + 2) + \
        sp.gammainc(1.5, x[2] + 2) + sp.i1(x[1]) + sp.ive(1, x[2] + 1) + sp.logsumexp(x)


def gaussian_nll(mu, sigma, data):
    return -np.sum(norm.logpdf(data, mu, sigma)) + norm.cdf(mu) + \
        np.sum(norm.logcdf(data - mu)) + norm.logsf(mu, 0.0, sigma) + \
        norm.pdf(mu, loc=0.5, scale=sigma) + norm.sf(mu)


def central(f, args, k, h=1e-6):
    up, down = list(args), list(args)
    up[k], down[k] = args[k] + h, args[k] - h
    return (f(*up) - f(*down)) / (2 * h)


def test_scipy_special_on_array_items():
    x = np.array([0.3, -0.5, 0.8])
    g = s2sad.grad(special_of_items)(x)
    fd = [(special_of_items(x + 1e-6 * e) - special_of_items(x - 1e-6 * e)) / 2e-6
          for e in np.eye(3)]
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)
    v = np.array([0.2, 0.7, -0.4])
    assert s2sad.jvp(special_of_items, (x,), (v,))[1] == pytest.approx(np.dot(fd, v),
                                                                       rel=1e-6)


def test_norm_methods_with_loc_and_scale():
    data = np.array([0.3, -1.2, 0.8, 2.0])
    args = (0.4, 1.3, data)
    g = s2sad.grad(gaussian_nll, wrt=(0, 1))
    got = g(*args)
    assert got == pytest.approx((central(gaussian_nll, args, 0),
                                 central(gaussian_nll, args, 1)), rel=1e-6)
    # a bound method is a new object at each lookup: the transformation still holds
    made = g.transformed
    g(*args)
    assert g.transformed is made


def test_second_derivatives_through_the_norm_methods():
    # (their rules are templates of primitives that have rules: differentiated again)
    data = np.array([0.3, -1.2, 0.8, 2.0])
    args = (0.4, 1.3, data)
    g = s2sad.grad(gaussian_nll, wrt=(0, 1))
    h = s2sad.hessian(gaussian_nll, wrt=(0, 1))(*args)
    for j in (0, 1):
        column = central(lambda *a: np.array(g(*a)), args, j)
        np.testing.assert_allclose([h[0][j], h[1][j]], column, rtol=1e-6)
    gg = s2sad.grad(s2sad.grad(gaussian_nll, wrt=1), wrt=1)(*args)
    assert gg == pytest.approx(h[1][1], rel=1e-10)
