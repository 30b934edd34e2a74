"""The programs of the peer benchmark, written once in plain Python and NumPy.

Each peer runs this same code: for autograd and JAX the module is loaded again with ``np``
bound to their NumPy (``autograd.numpy``, ``jax.numpy``); ``math`` stays Python's.  Where a
peer cannot run a program, the table says why.  The GMM objective is examples/gmm.py's,
loaded the same way.
"""

import importlib.util
import math
import types
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def sin_loop(x):
    s = 0.0
    for i in range(1000):
        s = s + math.sin(x * i) * x
    return s


def newton(a):
    # cube root of a by Newton's method, iterated until the step is tiny
    x = a
    step = 1.0
    while abs(step) > 1e-12 * abs(x):
        step = (x * x * x - a) / (3.0 * x * x)
        x = x - step
    return x


def piecewise(x):
    s = 0.0
    for i in range(1000):
        u = x + 0.003 * i
        if u < 0.5:
            s = s + u * u
        elif u < 2.0:
            s = s + math.sin(u)
        else:
            s = s + math.log(u)
    return s


def tanh_aw(A, w):
    return np.sum(np.tanh(A @ w))


def mlp_loss(w1, b1, w2, b2, x, labels):
    hidden = np.tanh(x @ w1 + b1)
    logits = hidden @ w2 + b2
    z = logits - np.max(logits, axis=1, keepdims=True)
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.mean(logp[np.arange(labels.shape[0]), labels])


def ba_reprojection(cam, X, feat, weight):
    """One ADBench bundle-adjustment block: the squared, weighted reprojection error of a
    point X seen by camera cam (Rodrigues rotation, centre, focal, principal point, radial
    distortion), with the data-dependent branch for a zero rotation."""
    x0 = X[0] - cam[3]
    x1 = X[1] - cam[4]
    x2 = X[2] - cam[5]
    r0 = cam[0]
    r1 = cam[1]
    r2 = cam[2]
    sqtheta = r0 * r0 + r1 * r1 + r2 * r2
    if sqtheta != 0.0:
        theta = math.sqrt(sqtheta)
        c = math.cos(theta)
        s = math.sin(theta)
        w0 = r0 / theta
        w1 = r1 / theta
        w2 = r2 / theta
        t = (w0 * x0 + w1 * x1 + w2 * x2) * (1.0 - c)
        y0 = x0 * c + (w1 * x2 - w2 * x1) * s + w0 * t
        y1 = x1 * c + (w2 * x0 - w0 * x2) * s + w1 * t
        y2 = x2 * c + (w0 * x1 - w1 * x0) * s + w2 * t
    else:
        y0 = x0 + r1 * x2 - r2 * x1
        y1 = x1 + r2 * x0 - r0 * x2
        y2 = x2 + r0 * x1 - r1 * x0
    p0 = y0 / y2
    p1 = y1 / y2
    rsq = p0 * p0 + p1 * p1
    distortion = 1.0 + cam[9] * rsq + cam[10] * rsq * rsq
    e0 = (p0 * distortion * cam[6] + cam[7] - feat[0]) * weight
    e1 = (p1 * distortion * cam[6] + cam[8] - feat[1]) * weight
    return e0 * e0 + e1 * e1


def load(numpy_module=None) -> types.SimpleNamespace:
    """Fresh copies of bench/programs.py and examples/gmm.py with ``np`` bound to
    ``numpy_module``: the programs by name."""
    programs = {}
    for name, path in (("bench_programs", HERE / "programs.py"),
                       ("bench_gmm", HERE.parent / "examples" / "gmm.py")):
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if numpy_module is not None:
            module.np = numpy_module
        programs.update({k: v for k, v in vars(module).items() if callable(v)})
    programs["gmm"] = programs["gmm_objective"]
    # DiffTaichi's two programs, written as plain Python (their own names would collide)
    for name, path, entry in (("bench_billiards", "difftaichi_billiards.py", "loss"),
                              ("bench_mass_spring", "difftaichi_mass_spring.py", "simulate")):
        spec = importlib.util.spec_from_file_location(name, HERE.parent / "examples" / path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if numpy_module is not None:
            module.np = numpy_module
        programs[name.replace("bench_", "difftaichi_")] = getattr(module, entry)
    return types.SimpleNamespace(**programs)
