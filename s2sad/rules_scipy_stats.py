"""Derivative rules for ``scipy.stats.norm`` (``pdf``, ``logpdf``, ``cdf``, ``logcdf``, ``sf``,
``logsf`` of ``x``, ``loc`` and ``scale``): registered into the one table the first time a
rule is looked up while ``scipy.stats`` is imported.  With ``z = (x - loc) / scale``, each
derivative is the density's (or its ratio to the cdf / sf) times ``dz``."""

import numpy as np
import scipy.stats as st

from .rules import adjoint

_norm = st.norm


# Each rule is one expression of primitives that have rules (a template: inlined into the
# adjoint, and differentiated again for Hessians and gradients of gradients).  With
# z = (x - loc) / scale and d the cotangent of x: loc's is -d, scale's -d z minus a density's
# own g ans / scale.

@adjoint(_norm.logpdf, elementwise=True)
def _(g, ans, x, loc=0.0, scale=1.0):
    return (-g * ((x - loc) / scale) / scale, g * ((x - loc) / scale) / scale,
            g * ((x - loc) / scale) ** 2 / scale - g / scale)


@adjoint(_norm.pdf, elementwise=True)
def _(g, ans, x, loc=0.0, scale=1.0):
    return (-g * ((x - loc) / scale) * ans / scale, g * ((x - loc) / scale) * ans / scale,
            g * ((x - loc) / scale) ** 2 * ans / scale - g * ans / scale)


@adjoint(_norm.cdf, elementwise=True)
def _(g, ans, x, loc=0.0, scale=1.0):
    return (g * _norm.pdf((x - loc) / scale) / scale, -g * _norm.pdf((x - loc) / scale) / scale,
            -g * _norm.pdf((x - loc) / scale) * ((x - loc) / scale) / scale)


@adjoint(_norm.sf, elementwise=True)
def _(g, ans, x, loc=0.0, scale=1.0):
    return (-g * _norm.pdf((x - loc) / scale) / scale, g * _norm.pdf((x - loc) / scale) / scale,
            g * _norm.pdf((x - loc) / scale) * ((x - loc) / scale) / scale)


# (logcdf, logsf: the density over the cdf / sf as exp(logpdf - ans): finite in the tails)
@adjoint(_norm.logcdf, elementwise=True)
def _(g, ans, x, loc=0.0, scale=1.0):
    return (g * np.exp(_norm.logpdf((x - loc) / scale) - ans) / scale,
            -g * np.exp(_norm.logpdf((x - loc) / scale) - ans) / scale,
            -g * np.exp(_norm.logpdf((x - loc) / scale) - ans) * ((x - loc) / scale) / scale)


@adjoint(_norm.logsf, elementwise=True)
def _(g, ans, x, loc=0.0, scale=1.0):
    return (-g * np.exp(_norm.logpdf((x - loc) / scale) - ans) / scale,
            g * np.exp(_norm.logpdf((x - loc) / scale) - ans) / scale,
            g * np.exp(_norm.logpdf((x - loc) / scale) - ans) * ((x - loc) / scale) / scale)
