"""Derivative rules for ``scipy.stats.norm`` (``pdf``, ``logpdf``, ``cdf``, ``logcdf``, ``sf``,
``logsf`` of ``x``, ``loc`` and ``scale``): registered into the one table the first time a
rule is looked up while ``scipy.stats`` is imported.  With ``z = (x - loc) / scale``, each
derivative is the density's (or its ratio to the cdf / sf) times ``dz``."""

import numpy as np
import scipy.stats as st

from .rules import adjoint

_norm = st.norm


def _z(x, loc, scale):
    return (x - loc) / scale


@adjoint(_norm.logpdf, elementwise=True)
def _(g, ans, x, loc=0.0, scale=1.0):
    return (-g * _z(x, loc, scale) / scale, g * _z(x, loc, scale) / scale,
            g * (_z(x, loc, scale) ** 2 - 1.0) / scale)


@adjoint(_norm.pdf, elementwise=True)
def _(g, ans, x, loc=0.0, scale=1.0):
    return (-g * ans * _z(x, loc, scale) / scale, g * ans * _z(x, loc, scale) / scale,
            g * ans * (_z(x, loc, scale) ** 2 - 1.0) / scale)


@adjoint(_norm.cdf, elementwise=True)
def _(g, ans, x, loc=0.0, scale=1.0):
    return (g * _norm.pdf(_z(x, loc, scale)) / scale, -g * _norm.pdf(_z(x, loc, scale)) / scale,
            -g * _norm.pdf(_z(x, loc, scale)) * _z(x, loc, scale) / scale)


@adjoint(_norm.sf, elementwise=True)
def _(g, ans, x, loc=0.0, scale=1.0):
    return (-g * _norm.pdf(_z(x, loc, scale)) / scale, g * _norm.pdf(_z(x, loc, scale)) / scale,
            g * _norm.pdf(_z(x, loc, scale)) * _z(x, loc, scale) / scale)


@adjoint(_norm.logcdf, elementwise=True)
def _(g, ans, x, loc=0.0, scale=1.0):
    # (the density over the cdf, as exp(logpdf - logcdf): finite far in the left tail)
    return (g * np.exp(_norm.logpdf(_z(x, loc, scale)) - ans) / scale,
            -g * np.exp(_norm.logpdf(_z(x, loc, scale)) - ans) / scale,
            -g * np.exp(_norm.logpdf(_z(x, loc, scale)) - ans) * _z(x, loc, scale) / scale)


@adjoint(_norm.logsf, elementwise=True)
def _(g, ans, x, loc=0.0, scale=1.0):
    return (-g * np.exp(_norm.logpdf(_z(x, loc, scale)) - ans) / scale,
            g * np.exp(_norm.logpdf(_z(x, loc, scale)) - ans) / scale,
            g * np.exp(_norm.logpdf(_z(x, loc, scale)) - ans) * _z(x, loc, scale) / scale)
