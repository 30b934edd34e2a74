"""Derivative rules for ``scipy.stats.norm`` (``pdf``, ``logpdf``, ``cdf``, ``logcdf``, ``sf``,
``logsf`` of ``x``, ``loc`` and ``scale``): registered into the one table the first time a
rule is looked up while ``scipy.stats`` is imported.  With ``z = (x - loc) / scale``, each
derivative is the density's (or its ratio to the cdf / sf) times ``dz``."""

import numpy as np
import scipy.stats as st

from .rules import adjoint

_norm = st.norm


def _norm_grads(g, ans, x, loc, scale, of):
    """The cotangents of ``x``, ``loc`` and ``scale`` in ``ans = norm.<of>(x, loc, scale)``:
    ``z`` and the density computed once, the slope in ``z`` by ``of``; a density's own
    ``1 / scale`` adds to the scale's."""
    z = (x - loc) / scale
    if of == "logpdf":
        slope, own = -z, 1.0
    elif of == "pdf":
        slope, own = -z * ans, ans
    else:
        ratio = _norm.pdf(z) if of in ("cdf", "sf") else np.exp(_norm.logpdf(z) - ans)
        slope, own = (ratio if of in ("cdf", "logcdf") else -ratio), 0.0
    d = g * slope / scale
    return d, -d, -d * z - g * own / scale


@adjoint(_norm.logpdf, elementwise=True)
def _(g, ans, x, loc=0.0, scale=1.0):
    return _norm_grads(g, ans, x, loc, scale, "logpdf")


@adjoint(_norm.pdf, elementwise=True)
def _(g, ans, x, loc=0.0, scale=1.0):
    return _norm_grads(g, ans, x, loc, scale, "pdf")


@adjoint(_norm.cdf, elementwise=True)
def _(g, ans, x, loc=0.0, scale=1.0):
    return _norm_grads(g, ans, x, loc, scale, "cdf")


@adjoint(_norm.sf, elementwise=True)
def _(g, ans, x, loc=0.0, scale=1.0):
    return _norm_grads(g, ans, x, loc, scale, "sf")


# (logcdf, logsf: the density over the cdf / sf as exp(logpdf - ans): finite in the tails)
@adjoint(_norm.logcdf, elementwise=True)
def _(g, ans, x, loc=0.0, scale=1.0):
    return _norm_grads(g, ans, x, loc, scale, "logcdf")


@adjoint(_norm.logsf, elementwise=True)
def _(g, ans, x, loc=0.0, scale=1.0):
    return _norm_grads(g, ans, x, loc, scale, "logsf")
