"""Gradient checking for users and for s2sad's own tests.

``check_grad(f, *args, wrt=0)`` compares s2sad's gradient of ``f`` with central finite
differences (and, with ``backends=("python", "wasm")``, the backends with each other) and raises
``GradientMismatch`` naming the worst element.  ``floats()`` and ``arrays()`` are hypothesis
strategies for inputs away from overflow (and, on request, away from kinks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from .api import grad as _grad

__all__ = ["check_grad", "numerical_grad", "is_smooth", "GradientMismatch", "floats", "arrays"]


class GradientMismatch(AssertionError):
    """s2sad's gradient disagrees with finite differences or with another backend."""


def _flatten(value) -> np.ndarray:
    if isinstance(value, (list, tuple)):
        parts = [_flatten(v) for v in value]
        return np.concatenate(parts) if parts else np.zeros(0)
    return np.atleast_1d(np.asarray(value, dtype=float)).ravel()


def _replace(value, flat_index: int, new: float):
    """A copy of ``value`` (float, array, nested list/tuple) with one element replaced."""
    counter = [flat_index]

    def go(v):
        if isinstance(v, (list, tuple)):
            out = [go(x) for x in v]
            return type(v)(out)
        arr = np.asarray(v, dtype=float)
        n = arr.size
        if 0 <= counter[0] < n:
            k = counter[0]
            counter[0] = -1 - n  # done
            if arr.ndim == 0 and not isinstance(v, np.ndarray):
                return new
            arr = arr.copy()
            arr.flat[k] = new
            return arr
        if counter[0] >= 0:
            counter[0] -= n
        return v

    return go(value)


def numerical_grad(f: Callable, args: Sequence[Any], wrt: int = 0, step: float | None = None):
    """Central finite differences of scalar ``f`` with respect to ``args[wrt]``, flattened.

    The step scales with the input: ``h = step * max(1, |x|)`` with ``step`` = eps**(1/3)
    (about 6e-6), the optimum for central differences in float64.
    """
    step = step if step is not None else np.finfo(float).eps ** (1 / 3)
    x = args[wrt]
    flat = _flatten(x)
    out = np.zeros(flat.size)
    for k, xk in enumerate(flat):
        h = step * max(1.0, abs(xk))
        plus = list(args)
        minus = list(args)
        plus[wrt] = _replace(x, k, xk + h)
        minus[wrt] = _replace(x, k, xk - h)
        out[k] = (float(f(*plus)) - float(f(*minus))) / (2 * h)
    return out


def _one_sided(f, args, wrt, step):
    x = args[wrt]
    flat = _flatten(x)
    f0 = float(f(*args))
    out = np.zeros(flat.size)
    for k, xk in enumerate(flat):
        h = step * max(1.0, abs(xk))
        moved = list(args)
        moved[wrt] = _replace(x, k, xk + h)
        out[k] = (float(f(*moved)) - f0) / h
    return out, f0


def is_smooth(f: Callable, args: Sequence[Any], wrt: int = 0) -> bool:
    """Whether ``f`` is differentiable at ``args`` along ``args[wrt]`` as far as finite
    differences can tell.

    The gap between the forward and the backward difference shrinks in proportion to the
    step where ``f`` is smooth (it is about ``h * f''``) and tends to the jump in the slope at
    a kink such as ``abs`` at 0, ``min(x, y)`` at ``x == y``, or a branch that flips within
    the step.  Two steps a decade apart tell the two apart.
    """
    gaps = []
    for step in (1e-5, 1e-6):
        fwd, f0 = _one_sided(f, args, wrt, step)
        bwd, _ = _one_sided(f, args, wrt, -step)
        gaps.append((np.abs(fwd - bwd), f0, step))
    (g1, f0, _), (g2, _, h2) = gaps
    noise = 1e3 * np.finfo(float).eps * max(1.0, abs(f0)) / h2
    return bool(np.all((g2 <= 0.5 * g1) | (g2 <= noise)))


def _worst(got: np.ndarray, want: np.ndarray, rtol: float, atol: float):
    err = np.abs(got - want) - (atol + rtol * np.abs(want))
    k = int(np.argmax(err)) if err.size else 0
    return k, (err.size and err[k] > 0) or not np.all(np.isfinite(got) == np.isfinite(want))


def check_grad(
    f: Callable,
    *args: Any,
    wrt: int | Iterable[int] = 0,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    backends: Sequence[str] = ("python",),
) -> None:
    """Raise ``GradientMismatch`` unless s2sad's gradient of ``f`` at ``args`` agrees with
    central finite differences (``rtol``/``atol``) and, for several backends, across them
    (to 1e-9 relative).  ``wrt`` is a position or several positions."""
    positions = [wrt] if isinstance(wrt, int) else list(wrt)
    results = {}
    for backend in backends:
        if backend == "python":
            g = _grad(f, wrt=tuple(positions))
        else:
            from . import wasm

            g = wasm.grad(f, wrt=tuple(positions))
        results[backend] = g(*args)
    for backend, got_all in results.items():
        for p, got in zip(positions, got_all):
            got_flat = _flatten(got)
            want = numerical_grad(f, args, p)
            if got_flat.shape != want.shape:
                raise GradientMismatch(f"{backend}: gradient wrt argument {p} has "
                                       f"{got_flat.size} elements, expected {want.size}")
            k, bad = _worst(got_flat, want, rtol, atol)
            if bad:
                raise GradientMismatch(
                    f"{backend}: d{getattr(f, '__name__', 'f')}/d(arg {p})[{k}] = "
                    f"{got_flat[k]!r}, finite differences give {want[k]!r} "
                    f"(rtol={rtol}, atol={atol}) at args={args!r}")
    names = list(results)
    for other in names[1:]:
        for p, a, b in zip(positions, results[names[0]], results[other]):
            a, b = _flatten(a), _flatten(b)
            k, bad = _worst(b, a, 1e-9, 1e-12)
            if bad:
                raise GradientMismatch(f"{other} and {names[0]} disagree on d/d(arg {p})[{k}]: "
                                       f"{b[k]!r} vs {a[k]!r}")


def floats(min_value: float = -10.0, max_value: float = 10.0, avoid: Iterable[float] = (),
           margin: float = 1e-3):
    """A hypothesis strategy for finite floats in a range, at least ``margin`` away from each
    point in ``avoid`` (kinks such as 0 for ``abs``)."""
    from hypothesis import strategies as st

    avoid = list(avoid)
    base = st.floats(min_value=min_value, max_value=max_value, allow_nan=False,
                     allow_infinity=False)
    if not avoid:
        return base
    return base.filter(lambda x: all(abs(x - a) > margin for a in avoid))


def arrays(shape, min_value: float = -10.0, max_value: float = 10.0, avoid: Iterable[float] = (),
           margin: float = 1e-3):
    """A hypothesis strategy for float64 arrays of ``shape`` (values as in ``floats``)."""
    from hypothesis.extra import numpy as hnp

    return hnp.arrays(np.float64, shape, elements=floats(min_value, max_value, avoid, margin))
