"""Derivative rules for ``scipy.special`` (autograd's list): registered into the one table
(``rules.py``) the first time a rule is looked up while SciPy is loaded -- s2sad does not
import SciPy itself.  Each is checked against finite differences by tests/test_rules.py."""

import numpy as np
import scipy.special as sp

from .rules import REDUCTIONS, adjoint, nondifferentiable
from .runtime import logsumexp_scale, unreduce

_TWO_OVER_ROOT_PI = 1.1283791670955126
_ROOT_PI_OVER_TWO = 0.886226925452758

nondifferentiable(sp.gammasgn)


@adjoint(sp.erf, elementwise=True)
def _(g, ans, x):
    return g * _TWO_OVER_ROOT_PI * np.exp(-x * x)


@adjoint(sp.erfc, elementwise=True)
def _(g, ans, x):
    return -g * _TWO_OVER_ROOT_PI * np.exp(-x * x)


@adjoint(sp.erfinv, elementwise=True)
def _(g, ans, x):
    return g * _ROOT_PI_OVER_TWO * np.exp(ans * ans)


@adjoint(sp.erfcinv, elementwise=True)
def _(g, ans, x):
    return -g * _ROOT_PI_OVER_TWO * np.exp(ans * ans)


@adjoint(sp.expit, elementwise=True)
def _(g, ans, x):
    return g * ans * (1.0 - ans)


@adjoint(sp.logit, elementwise=True)
def _(g, ans, x):
    return g / (x * (1.0 - x))


@adjoint(sp.gamma, elementwise=True)
def _(g, ans, x):
    return g * ans * sp.psi(x)


@adjoint(sp.gammaln, elementwise=True)
def _(g, ans, x):
    return g * sp.psi(x)


@adjoint(sp.rgamma, elementwise=True)
def _(g, ans, x):
    return -g * ans * sp.psi(x)


@adjoint(sp.psi, elementwise=True)
def _(g, ans, x):
    return g * sp.polygamma(1, x)


# (digamma is psi under another name: the same ufunc, the same rule)
if sp.digamma is not sp.psi:
    @adjoint(sp.digamma, elementwise=True)
    def _(g, ans, x):
        return g * sp.polygamma(1, x)


@adjoint(sp.polygamma, elementwise=True)
def _(g, ans, n, x):
    return None, g * sp.polygamma(n + 1, x)


@adjoint(sp.multigammaln)
def _(g, ans, a, d):
    return g * np.sum(sp.digamma(np.expand_dims(a, -1) - np.arange(d) / 2.0), -1), None


@adjoint(sp.gammainc, elementwise=True)
def _(g, ans, a, x):
    return None, g * np.exp(-x) * x ** (a - 1.0) / sp.gamma(a)


@adjoint(sp.gammaincc, elementwise=True)
def _(g, ans, a, x):
    return None, -g * np.exp(-x) * x ** (a - 1.0) / sp.gamma(a)


@adjoint(sp.beta, elementwise=True)
def _(g, ans, a, b):
    return g * ans * (sp.psi(a) - sp.psi(a + b)), g * ans * (sp.psi(b) - sp.psi(a + b))


@adjoint(sp.betaln, elementwise=True)
def _(g, ans, a, b):
    return g * (sp.psi(a) - sp.psi(a + b)), g * (sp.psi(b) - sp.psi(a + b))


@adjoint(sp.betainc, elementwise=True)
def _(g, ans, a, b, x):
    return None, None, g * x ** (a - 1.0) * (1.0 - x) ** (b - 1.0) / sp.beta(a, b)


@adjoint(sp.j0, elementwise=True)
def _(g, ans, x):
    return -g * sp.j1(x)


@adjoint(sp.y0, elementwise=True)
def _(g, ans, x):
    return -g * sp.y1(x)


@adjoint(sp.j1, elementwise=True)
def _(g, ans, x):
    return g * (sp.j0(x) - sp.jn(2, x)) / 2.0


@adjoint(sp.y1, elementwise=True)
def _(g, ans, x):
    return g * (sp.y0(x) - sp.yn(2, x)) / 2.0


@adjoint(sp.jn, elementwise=True)
def _(g, ans, n, x):
    return None, g * (sp.jn(n - 1, x) - sp.jn(n + 1, x)) / 2.0


@adjoint(sp.yn, elementwise=True)
def _(g, ans, n, x):
    return None, g * (sp.yn(n - 1, x) - sp.yn(n + 1, x)) / 2.0


@adjoint(sp.i0, elementwise=True)
def _(g, ans, x):
    return g * sp.i1(x)


@adjoint(sp.i1, elementwise=True)
def _(g, ans, x):
    return g * (sp.i0(x) + sp.iv(2, x)) / 2.0


@adjoint(sp.iv, elementwise=True)
def _(g, ans, n, x):
    return None, g * (sp.iv(n - 1, x) + sp.iv(n + 1, x)) / 2.0


@adjoint(sp.ive, elementwise=True)
def _(g, ans, n, x):
    return None, g * (ans * (n / x - np.sign(x)) + sp.ive(n + 1, x))


REDUCTIONS.add(sp.logsumexp)  # (forward: the softmax-weighted sum of the tangent)


nondifferentiable(logsumexp_scale)  # (the weights b: constants, as the rule has them)


@adjoint(sp.logsumexp)
def _(g, ans, a, axis=None, b=None, keepdims=False, return_sign=False):
    return (unreduce(g, a, axis, keepdims) * np.exp(a - unreduce(ans, a, axis, keepdims)) *
            logsumexp_scale(b, return_sign), None, None, None, None)
