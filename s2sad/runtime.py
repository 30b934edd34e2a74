"""Runtime helpers that generated Python calls: zeros and accumulation for containers,
unbroadcast, the NumPy rules' helpers.  They are bound into the generated function under names
from its namer; the generated source says which.

Scalar adjoints need nothing from here (the generated code uses ``0.0`` and ``+``); the tape
itself is a plain list named ``_stack`` created inside each generated function, so gradients
are reentrant and thread-safe.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np


def zeros_like(value: Any) -> Any:
    """A zero cotangent with the structure of ``value`` (lists stay lists, tuples become lists
    so that elements can be accumulated in place, dicts keep their keys)."""
    if isinstance(value, (list, tuple)):
        return [zeros_like(v) for v in value]
    if isinstance(value, dict):
        return {k: zeros_like(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return np.zeros(value.shape, dtype=complex if value.dtype.kind == "c" else float)
    return 0.0


def tangent_zero(value: Any) -> Any:
    """A zero tangent with the structure of ``value`` (forward mode: tuples stay tuples)."""
    if isinstance(value, tuple):
        return tuple(tangent_zero(v) for v in value)
    if isinstance(value, list):
        return [tangent_zero(v) for v in value]
    if isinstance(value, dict):
        return {k: tangent_zero(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return np.zeros(value.shape)
    return 0.0


def fill_grad(g: Any, ans: Any, fill_value: Any) -> Any:
    """The cotangent of the fill value of ``np.full`` / ``np.full_like``: ``g`` summed back to
    its shape -- none where the array made holds integers (``np.full_like(k, s)`` of an int
    ``k`` truncates ``s``: a piecewise constant)."""
    if np.asarray(ans).dtype.kind not in "fc":
        return np.zeros(np.shape(fill_value)) if np.ndim(fill_value) else 0.0
    return unbroadcast(g, fill_value)


def fresh_tangent(d: Any) -> Any:
    """A tangent of its own for a new object whose tangent is another's (``y = x + 1.0``:
    ``dx``), so that writing into one does not change the other."""
    if isinstance(d, np.ndarray):
        return d.copy()
    if isinstance(d, (list, dict)):
        return type(d)(d)
    return d


def expand_to(d: Any, ans: Any) -> Any:
    """A tangent ``d`` given the shape of the result ``ans`` it broadcasts to (a new array)."""
    shape = np.shape(ans)
    if np.shape(d) == shape:
        return d
    return d + np.zeros(shape)


def reduce_to(g: Any, cotangent: Any, axis: Any, keepdims: bool) -> Any:
    """The cotangent of ``unreduce``'s first argument: ``g`` summed over the axes it was
    spread along, in the shape of ``cotangent``."""
    return np.reshape(np.sum(g, axis=axis, keepdims=bool(keepdims)), np.shape(cotangent))


def _is_zero(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x == 0


def add(a: Any, b: Any) -> Any:
    """``a + b`` for cotangents: elementwise for lists, tuples and dicts, ``+`` otherwise."""
    if isinstance(a, dict) or isinstance(b, dict):
        if _is_zero(a):
            return dict(b)
        if _is_zero(b):
            return a
        out = dict(a)
        for k, v in b.items():
            out[k] = add(out[k], v) if k in out else v
        return out
    if isinstance(a, list) or isinstance(b, (list, tuple)):
        if _is_zero(a):
            return list(b)
        if _is_zero(b):
            return a
        return [add(x, y) for x, y in zip(a, b)]
    return a + b


def like(structure: Any, cotangent: Any) -> Any:
    """Give ``cotangent`` the structure of ``structure``: a tuple for a tuple input, a dict
    with every key of a dict input (zeros where nothing flowed), an array for an array."""
    if isinstance(structure, tuple) and isinstance(cotangent, list):
        return tuple(like(s, c) for s, c in zip(structure, cotangent))
    if isinstance(structure, list) and isinstance(cotangent, list):
        return [like(s, c) for s, c in zip(structure, cotangent)]
    if isinstance(structure, dict):
        cotangent = cotangent if isinstance(cotangent, dict) else {}
        return {k: like(v, cotangent[k]) if k in cotangent else zeros_like(v)
                for k, v in structure.items()}
    if isinstance(structure, np.ndarray) and isinstance(cotangent, (list, tuple)):
        return np.asarray(cotangent, dtype=float).reshape(structure.shape)
    if isinstance(structure, tuple) and isinstance(cotangent, tuple):
        return tuple(like(s, c) for s, c in zip(structure, cotangent))
    if is_complex(cotangent) and not np.iscomplexobj(structure):
        return real_part(cotangent)  # (a real argument's part of a complex cotangent)
    return cotangent


def to_structure(g: Any, x: Any) -> Any:
    """The cotangent ``g`` of ``list(x)``, ``np.array(x)``... as the cotangent of ``x``: a list
    for a list (of lists), an array for an array, a number for a number; real where ``x`` is
    real (``np.asarray(b) * 1j`` sends a complex cotangent back to the float ``b``)."""
    if isinstance(x, np.ndarray):
        g = np.asarray(g)
        if x.dtype.kind != "c":
            g = g.real
        return np.reshape(np.broadcast_to(g.astype(complex if x.dtype.kind == "c" else float,
                                                    copy=False), x.shape), x.shape)
    if isinstance(x, (list, tuple)):
        if not isinstance(g, (list, tuple, np.ndarray)):  # a zero that stands for an array
            g = np.broadcast_to(np.asarray(g), np.shape(x))
        return [to_structure(gi, xi) for gi, xi in zip(g, x)]
    if isinstance(g, np.ndarray) and g.ndim == 0:
        g = g[()]
    if isinstance(g, (complex, np.complexfloating)):
        return g if isinstance(x, (complex, np.complexfloating)) else float(g.real)
    return float(g) if isinstance(g, (np.floating, np.integer)) else g


# -- IEEE arithmetic for derivatives that divide by zero where the function does not --------


# how many times a derivative met a point where it is infinite or undefined (0 / 0, 0 ** -1):
# read by tests, to tell a NaN of IEEE arithmetic at such a point from a wrong gradient
singular_points = [0]


def div(a: Any, b: Any) -> Any:
    """``a / b`` with IEEE results where Python raises: ``x / 0`` is +-inf, ``0 / 0`` is nan
    (what NumPy and JAX give)."""
    try:
        q = a / b
    except ZeroDivisionError:
        singular_points[0] += 1
        if a != a or a == 0:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    if isinstance(b, float) and b == 0.0:  # a NumPy scalar: IEEE already
        singular_points[0] += 1
    return q


def power(a: Any, b: Any) -> Any:
    """``a ** b`` with IEEE results where Python raises: ``0.0 ** -0.5`` is inf, an overflow
    is inf."""
    try:
        return a ** b
    except ZeroDivisionError:
        singular_points[0] += 1
        return math.inf if float(b) != int(b) or int(b) % 2 == 0 or \
            math.copysign(1.0, a) > 0 else -math.inf
    except OverflowError:
        return math.inf if a > 0 or float(b) == int(b) and int(b) % 2 == 0 else -math.inf


def unbroadcast(g: Any, x: Any) -> Any:
    """Sum a cotangent back to the shape of ``x`` after broadcasting (the one unbroadcast:
    leading axes summed away, axes of length 1 summed with keepdims)."""
    if type(x) is not np.ndarray:  # a scalar: float, int, or a NumPy scalar (a[i])
        return g.sum() if type(g) is np.ndarray else g
    shape = x.shape
    if type(g) is np.ndarray and g.shape == shape:
        return g
    g = np.asarray(g)
    if not shape:
        return np.sum(g)
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


class _IndexOf:
    """``index_of[1:3, ::2]`` is the index object ``(slice(1, 3), slice(None, None, 2))``."""

    def __getitem__(self, index):
        return index


index_of = _IndexOf()


def add_at(target: Any, index: Any, g: Any) -> None:
    """``target[index] += g`` where repeated integer indices accumulate (``np.add.at``); a
    real ``target`` takes the real part of a complex ``g``."""
    if type(target) is np.ndarray:
        if target.dtype.kind != "c" and is_complex(g):
            g = np.real(g)
        if type(index) is int or _is_basic(index) or _is_mask(index):
            target[index] += g
        elif _is_point_index(index, target.ndim):
            # one integer array per axis (a[rows, cols]): accumulate with bincount, which is
            # much faster than np.add.at and exact for repeated points
            parts = index if isinstance(index, tuple) else (index,)
            # (negative indices count from the end, as NumPy's indexing read them)
            flat = np.ravel_multi_index(tuple(
                np.where(np.asarray(i) < 0, np.asarray(i) + n, np.asarray(i))
                for i, n in zip(parts, target.shape)), target.shape)
            weights = np.broadcast_to(g, flat.shape).ravel()
            target.reshape(-1)[:] += np.bincount(flat.ravel(), weights=weights,
                                                 minlength=target.size)
        else:
            np.add.at(target, index, g)
    else:
        target[index] = add(target[index], g)


def _is_mask(index) -> bool:
    return type(index) is np.ndarray and index.dtype == bool


def _is_point_index(index, ndim) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return len(parts) == ndim and all(
        isinstance(p, np.ndarray) and p.dtype.kind in "iu" for p in parts)


def _is_basic(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, np.integer, slice)) or p is None or p is Ellipsis
               for p in parts)


def unreduce(g: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Broadcast the cotangent of a reduction (sum over ``axis``) back to ``x``'s shape."""
    if axis is None and type(x) is np.ndarray and type(g) in (float, np.float64):
        out = np.empty(x.shape)  # the common case, a full sum: fill a new array (fastest)
        out.fill(g)
        return out
    shape = np.shape(x)
    if axis is None:
        if np.ndim(g) == 0:
            if is_complex(g) and not np.iscomplexobj(x):
                g = g.real  # (a real x: the real part)
            out = np.empty(shape, dtype=complex if is_complex(g) else float)
            out.fill(g)
            return out
        return np.broadcast_to(g, shape)
    g = np.asarray(g)
    if not keepdims:
        axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
        axes = tuple(a % len(shape) for a in axes)
        g = np.expand_dims(g, axes)
    return np.broadcast_to(g, shape)


def count(x: Any, axis: Any = None) -> int:
    """How many elements a reduction over ``axis`` combines."""
    shape = np.shape(x)
    if axis is None:
        return int(np.prod(shape))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return int(np.prod([shape[a] for a in axes]))


def keep(ans: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """A reduction's result broadcast against ``x`` (to compare with or divide by)."""
    return unreduce(ans, x, axis, keepdims)


def _as2d(a, side):
    a = np.asarray(a)
    if a.ndim == 1:
        return a[None, :] if side == "left" else a[:, None]
    return a


def matmul_grad_a(g: Any, a: Any, b: Any) -> Any:
    """Cotangent of ``a`` in ``a @ b`` (1-d, 2-d and batched operands)."""
    if type(a) is np.ndarray and type(b) is np.ndarray and a.ndim == 2:
        if b.ndim == 1:
            return g[:, None] * b  # the outer product (a little faster than np.outer)
        if b.ndim == 2:
            return g @ b.T
    a, b, g = np.asarray(a), np.asarray(b), np.asarray(g)
    if a.ndim == 1 and b.ndim == 1:
        return g * b
    b2 = _as2d(b, "right")
    g2 = g
    if a.ndim == 1:
        g2 = g2[..., None, :]
    if b.ndim == 1:
        g2 = g2[..., :, None]
    ga = g2 @ np.swapaxes(b2, -1, -2)
    if a.ndim == 1:
        ga = ga[..., 0, :]
    return unbroadcast(ga, a)


def matmul_grad_b(g: Any, a: Any, b: Any) -> Any:
    """Cotangent of ``b`` in ``a @ b`` (1-d, 2-d and batched operands)."""
    if type(a) is np.ndarray and type(b) is np.ndarray and a.ndim == 2 and b.ndim <= 2:
        return a.T @ g
    a, b, g = np.asarray(a), np.asarray(b), np.asarray(g)
    if a.ndim == 1 and b.ndim == 1:
        return g * a
    a2 = _as2d(a, "left")
    g2 = g
    if a.ndim == 1:
        g2 = g2[..., None, :]
    if b.ndim == 1:
        g2 = g2[..., :, None]
    gb = np.swapaxes(a2, -1, -2) @ g2
    if b.ndim == 1:
        gb = gb[..., :, 0]
    return unbroadcast(gb, b)


def dot_grad_a(g: Any, a: Any, b: Any) -> Any:
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * b, a)
    return matmul_grad_a(g, a, b)


def dot_grad_b(g: Any, a: Any, b: Any) -> Any:
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return unbroadcast(g * a, b)
    return matmul_grad_b(g, a, b)


def einsum_grad(g: Any, spec: str, a: Any, b: Any, which: int) -> Any:
    """Cotangent of operand ``which`` of a two-operand ``einsum(spec, a, b)``."""
    inputs, _, out = spec.replace(" ", "").partition("->")
    sa, sb = inputs.split(",")
    if not _:
        out = "".join(sorted(c for c in sa + sb if (sa + sb).count(c) == 1))
    mine, other = (sa, sb) if which == 0 else (sb, sa)
    partner = b if which == 0 else a
    target = a if which == 0 else b
    if set(mine) <= set(out) | set(other):
        return np.einsum(f"{out},{other}->{mine}", g, partner, optimize=True)
    # an index summed away in the forward product: a ones operand carries it back
    return np.einsum(f"{out},{other},{mine}->{mine}", g, partner, np.ones_like(target),
                     optimize=True)


def solve_grad_a(g: Any, ans: Any, a: Any) -> Any:
    gb = np.linalg.solve(np.swapaxes(a, -1, -2), g)
    if np.ndim(ans) == np.ndim(a) - 1:
        return -np.einsum("...i,...j->...ij", gb, ans)
    return -gb @ np.swapaxes(ans, -1, -2)


def solve_grad_b(g: Any, a: Any) -> Any:
    return np.linalg.solve(np.swapaxes(a, -1, -2), g)


def _solved_change(gb: Any, a: Any, da: Any) -> Any:
    """``da^T gb``, the change of the right-hand side that ``solve(a^T, .)`` sees when ``a``
    moves along ``da`` (``gb`` one vector or a stack of columns, as ``np.linalg.solve``)."""
    daT = np.swapaxes(da, -1, -2)
    if np.ndim(gb) == np.ndim(a) - 1:
        return np.einsum("...ij,...j->...i", daT, gb)
    return daT @ gb


def solve_grad_b_jvp(g: Any, dg: Any, a: Any, da: Any) -> Any:
    """The tangent of ``solve_grad_b(g, a) = solve(a^T, g)``: ``solve(a^T, dg - da^T gb)``."""
    if np.ndim(da) == 0:  # (a not varied)
        return np.linalg.solve(np.swapaxes(a, -1, -2), dg)
    gb = solve_grad_b(g, a)
    return np.linalg.solve(np.swapaxes(a, -1, -2), dg - _solved_change(gb, a, da))


def solve_grad_a_jvp(g: Any, dg: Any, ans: Any, dans: Any, a: Any, da: Any) -> Any:
    """The tangent of ``solve_grad_a(g, ans, a) = -gb ans^T`` (``gb = solve(a^T, g)``):
    ``-(dgb ans^T + gb dans^T)``."""
    gb = solve_grad_b(g, a)
    dgb = solve_grad_b_jvp(g, dg, a, da)
    dans = np.broadcast_to(dans, np.shape(ans))
    if np.ndim(ans) == np.ndim(a) - 1:
        return -(np.einsum("...i,...j->...ij", dgb, ans) +
                 np.einsum("...i,...j->...ij", gb, dans))
    return -(dgb @ np.swapaxes(ans, -1, -2) + gb @ np.swapaxes(dans, -1, -2))


def untranspose(g: Any, axes: Any = None) -> Any:
    if axes is None:
        return np.transpose(g)
    return np.transpose(g, np.argsort(axes))


def max_grad(g: Any, ans: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Cotangent of ``max``/``min``: shared evenly among the elements that attain it."""
    hit = (np.asarray(x) == keep(ans, x, axis, keepdims)).astype(float)
    n = unreduce(np.sum(hit, axis=axis, keepdims=keepdims), x, axis, keepdims)
    return unreduce(g, x, axis, keepdims) * hit / n


def var_grad(g: Any, x: Any, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Any:
    mean = np.mean(x, axis=axis, keepdims=True)
    return unreduce(g, x, axis, keepdims) * 2.0 * (x - mean) / (count(x, axis) - ddof)


def norm_input(x: Any, ord: Any = None, axis: Any = None) -> Any:
    """``x``, where s2sad differentiates ``np.linalg.norm(x, ord, axis)`` (the 2-norm of
    vectors, Frobenius of matrices); other orders raise.  In the norm's rule
    ``unreduce(div(g, ans), x, axis, keepdims) * norm_input(x, ord, axis)``: an identity for
    derivatives, so the rule differentiates again (hvp, hessian)."""
    if ord not in (None, 2, "fro") or (ord == 2 and np.ndim(x) > 1 and axis is None):
        raise NotImplementedError(f"the derivative of np.linalg.norm with ord={ord!r}")
    return x


def diff_grad(g: Any, shape: tuple, n: int, axis: int) -> np.ndarray:
    """The cotangent of ``a`` (of ``shape``) for ``np.diff(a, n, axis)`` given ``g``: each
    first difference sends ``g`` to its right element and ``-g`` to its left one."""
    g = np.moveaxis(np.asarray(g, dtype=np.float64), axis, -1)
    length = shape[axis]
    for k in range(n):
        out = np.zeros(g.shape[:-1] + (length - n + k + 1,))
        out[..., 1:] += g
        out[..., :-1] -= g
        g = out
    return np.moveaxis(g, -1, axis)


def split_like(g: Any, parts: Any, axis: int = 0) -> list:
    """Cotangents of the pieces of ``np.concatenate(parts, axis)``."""
    sizes = np.cumsum([np.shape(p)[axis] for p in parts])[:-1]
    return list(np.split(g, sizes, axis=axis))


def stacked_like(g: Any, parts: Any, how: str) -> list:
    """Cotangents of the pieces of ``np.vstack``/``hstack``/``dstack``/``column_stack``
    (each piece promoted as NumPy does, then concatenated)."""
    if how == "v":
        shaped, axis = [np.atleast_2d(p) for p in parts], 0
    elif how == "d":
        shaped, axis = [np.atleast_3d(p) for p in parts], 2
    elif how == "column":
        shaped = [np.reshape(p, (-1, 1)) if np.ndim(p) < 2 else np.asarray(p) for p in parts]
        axis = 1
    else:
        shaped = [np.atleast_1d(p) for p in parts]
        axis = 0 if shaped[0].ndim == 1 else 1
    return [np.reshape(piece, np.shape(p)) for piece, p in
            zip(split_like(g, shaped, axis), parts)]


def append_grad(g: Any, arr: Any, values: Any, axis: Any, which: int) -> Any:
    """The cotangent of ``arr`` (which 0) or ``values`` (1) in ``np.append(arr, values,
    axis)``."""
    g = np.asarray(g, dtype=np.float64)
    if axis is None:
        k = np.size(arr)
        part = g[:k] if which == 0 else g[k:]
        return np.reshape(part, np.shape(arr) if which == 0 else np.shape(values))
    k = np.shape(arr)[axis]
    index = [slice(None)] * g.ndim
    index[axis] = slice(None, k) if which == 0 else slice(k, None)
    return g[tuple(index)]


def unstack(g: Any, parts: Any, axis: int = 0) -> list:
    """Cotangents of the pieces of ``np.stack(parts, axis)``."""
    return [np.take(g, k, axis=axis) for k in range(len(parts))]


def clip_mask(x: Any, lo: Any, hi: Any) -> Any:
    """1 where ``x`` passes through ``clip`` (NumPy's ``minimum(maximum(x, lo), hi)``), nan
    where it is."""
    x = np.asarray(x)
    mask = 1.0 - clipped_below(x, lo, hi) - clipped_above(x, lo, hi)
    return np.where(np.isnan(x), np.nan, mask)


def clipped_below(x: Any, lo: Any, hi: Any = None) -> Any:
    """1 where ``clip`` replaced ``x`` by the lower bound ``lo`` (and ``hi`` did not replace
    that in turn: where ``lo > hi`` the result is ``hi``)."""
    if lo is None:
        return np.zeros(np.shape(x))
    return (np.asarray(x) < lo) * (1.0 - clipped_above(x, lo, hi))


def clipped_above(x: Any, lo: Any, hi: Any) -> Any:
    """1 where ``clip``'s result is the upper bound ``hi``: ``maximum(x, lo) > hi``."""
    if hi is None:
        return np.zeros(np.shape(x))
    return (np.asarray(x if lo is None else np.maximum(x, lo)) > hi) * 1.0


def sinc_slope(x: Any) -> Any:
    """d sinc(x) / dx (0 at 0)."""
    x = np.asarray(x, dtype=np.float64)
    safe = np.where(x == 0, 1.0, x)
    return np.where(x == 0, 0.0, (np.cos(np.pi * safe) - np.sinc(safe)) / safe)


def diag_grad(g: Any, v: Any, k: int = 0) -> Any:
    """The cotangent of ``v`` in ``np.diag(v, k)``: a 1-d ``v`` got the k-th diagonal of the
    result, a 2-d ``v`` gave its k-th diagonal."""
    g = np.asarray(g, dtype=np.float64)
    if np.ndim(v) == 1:
        return np.diagonal(g, k).copy()
    out = np.zeros(np.shape(v))
    i = np.arange(len(g))
    out[i + max(-k, 0), i + max(k, 0)] = g
    return out


def diagonal_grad(g: Any, a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """The cotangent of ``a`` in ``np.diagonal(a, offset, axis1, axis2)``."""
    out = np.zeros(np.shape(a))
    moved = np.moveaxis(out, (axis1, axis2), (-2, -1))
    n = np.shape(g)[-1]
    i = np.arange(n)
    moved[..., i + max(-offset, 0), i + max(offset, 0)] = g
    return np.moveaxis(moved, (-2, -1), (axis1, axis2))


def tile_grad(g: Any, a: Any, reps: Any) -> Any:
    """The cotangent of ``a`` in ``np.tile(a, reps)``: the sum over the tiles."""
    g = np.asarray(g, dtype=np.float64)
    reps = (reps,) if np.ndim(reps) == 0 else tuple(reps)
    shape = np.shape(a)
    ndim = max(len(shape), len(reps))
    shape = (1,) * (ndim - len(shape)) + tuple(shape)
    reps = (1,) * (ndim - len(reps)) + reps
    split = []
    for r, n in zip(reps, shape):
        split += [r, n]
    return np.reshape(np.sum(np.reshape(g, split), axis=tuple(range(0, 2 * ndim, 2))),
                      np.shape(a))


def repeat_array_grad(g: Any, a: Any, repeats: Any, axis: Any = None) -> Any:
    """The cotangent of ``a`` in ``np.repeat(a, repeats, axis)``: each element's copies
    summed."""
    g = np.asarray(g, dtype=np.float64)
    if axis is None:
        flat = np.ravel(a)
        starts = np.concatenate(([0], np.cumsum(np.broadcast_to(repeats, flat.shape))[:-1]))
        sums = np.add.reduceat(g, starts) if g.size else np.zeros(flat.shape)
        counts = np.broadcast_to(repeats, flat.shape)
        return np.reshape(np.where(counts > 0, sums, 0.0), np.shape(a))
    axis = axis % np.ndim(a)
    n = np.shape(a)[axis]
    counts = np.broadcast_to(repeats, (n,))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    sums = np.add.reduceat(g, starts, axis=axis) if g.size else np.zeros(np.shape(a))
    mask = np.reshape(counts > 0, (n,) + (1,) * (np.ndim(a) - axis - 1))
    return np.where(mask, sums, 0.0)


def sort_grad(g: Any, a: Any, axis: Any = -1) -> Any:
    """The cotangent of ``a`` in ``np.sort(a, axis)``: each element's back in its place."""
    g = np.asarray(g, dtype=np.float64)
    if axis is None:
        order = np.argsort(np.ravel(a), kind="stable")
        out = np.zeros(np.size(a))
        out[order] = np.ravel(g)
        return np.reshape(out, np.shape(a))
    order = np.argsort(a, axis=axis, kind="stable")
    out = np.zeros(np.shape(a))
    np.put_along_axis(out, order, g, axis=axis)
    return out


def tensordot_subscripts(a_ndim: int, b_ndim: int, axes: Any) -> tuple[str, str, str]:
    """einsum subscripts ``(a, b, out)`` of ``np.tensordot(a, b, axes)``."""
    if isinstance(axes, int):
        a_axes, b_axes = list(range(a_ndim - axes, a_ndim)), list(range(axes))
    else:
        a_axes, b_axes = axes
        a_axes = [a_axes] if isinstance(a_axes, int) else list(a_axes)
        b_axes = [b_axes] if isinstance(b_axes, int) else list(b_axes)
    a_axes = [k % a_ndim for k in a_axes]
    b_axes = [k % b_ndim for k in b_axes]
    letters = iter("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    a_sub = [next(letters) for _ in range(a_ndim)]
    b_sub = [next(letters) for _ in range(b_ndim)]
    for i, j in zip(a_axes, b_axes):
        b_sub[j] = a_sub[i]
    out = [a_sub[i] for i in range(a_ndim) if i not in a_axes] + \
        [b_sub[j] for j in range(b_ndim) if j not in b_axes]
    return "".join(a_sub), "".join(b_sub), "".join(out)


def tensordot_grad(g: Any, a: Any, b: Any, axes: Any, which: int) -> Any:
    """The cotangent of ``a`` (which 0) or ``b`` (1) in ``np.tensordot(a, b, axes)``."""
    a_sub, b_sub, out = tensordot_subscripts(np.ndim(a), np.ndim(b), axes)
    if which == 0:
        return np.einsum(f"{out},{b_sub}->{a_sub}", g, b)
    return np.einsum(f"{out},{a_sub}->{b_sub}", g, a)


def kron_grad(g: Any, a: Any, b: Any, which: int) -> Any:
    """The cotangent of ``a`` (which 0) or ``b`` (1) in ``np.kron(a, b)``."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    nd = max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + a.shape
    sb = (1,) * (nd - b.ndim) + b.shape
    inter = [n for pair in zip(sa, sb) for n in pair]
    g4 = np.reshape(g, inter)  # (a0, b0, a1, b1, ...)
    if which == 0:
        out = np.tensordot(g4, np.reshape(b, sb), axes=(list(range(1, 2 * nd, 2)),
                                                        list(range(nd))))
        return np.reshape(out, a.shape)
    out = np.tensordot(g4, np.reshape(a, sa), axes=(list(range(0, 2 * nd, 2)),
                                                    list(range(nd))))
    return np.reshape(out, b.shape)


def pad_grad(g: Any, array: Any, pad_width: Any, mode: str = "constant") -> Any:
    """The cotangent of ``array`` in ``np.pad(array, pad_width)`` (constant padding): the
    middle of ``g``."""
    if mode != "constant":
        raise ValueError(f"s2sad differentiates np.pad with mode='constant', not {mode!r}")
    widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (np.ndim(array), 2))
    return np.asarray(g)[tuple(slice(lo, lo + n) for (lo, _), n in
                               zip(widths, np.shape(array)))]


def partition_grad(g: Any, a: Any, kth: Any, axis: Any = -1) -> Any:
    """The cotangent of ``a`` in ``np.partition(a, kth, axis)``: each element's back in its
    place."""
    g = np.asarray(g, dtype=np.float64)
    if axis is None:
        order = np.argpartition(np.ravel(a), kth)
        out = np.zeros(np.size(a))
        out[order] = np.ravel(g)
        return np.reshape(out, np.shape(a))
    order = np.argpartition(a, kth, axis=axis)
    out = np.zeros(np.shape(a))
    np.put_along_axis(out, order, g, axis=axis)
    return out


def split_grad(g: Any, ary: Any, axis: int) -> Any:
    """The cotangent of ``ary`` in ``np.split(ary, ...)`` (and array_split, hsplit, vsplit,
    dsplit): the pieces' cotangents put back together."""
    parts = [np.asarray(p, dtype=np.float64) for p in g]
    return np.reshape(np.concatenate(parts, axis=axis), np.shape(ary))


def gradient_grad(g: Any, f: Any, spacing: tuple = (), axis: Any = None,
                  edge_order: int = 1) -> Any:
    """The cotangent of ``f`` in ``np.gradient(f, *spacing, axis=axis)`` (uniform spacing,
    first-order edges): the transposed stencil along each axis."""
    if edge_order != 1:
        raise ValueError("s2sad differentiates np.gradient with edge_order=1")
    ndim = np.ndim(f)
    axes = list(range(ndim)) if axis is None else \
        ([axis] if isinstance(axis, int) else list(axis))
    parts = [g] if len(axes) == 1 and not isinstance(g, (list, tuple)) else list(g)
    steps = list(spacing) if len(spacing) > 1 else list(spacing) * len(axes) or \
        [1.0] * len(axes)
    out = np.zeros(np.shape(f))
    for ax, part, h in zip(axes, parts, steps):
        part = np.moveaxis(np.asarray(part, dtype=np.float64) / h, ax % ndim, -1)
        acc = np.zeros(part.shape)
        acc[..., 0] -= part[..., 0]
        acc[..., 1] += part[..., 0]
        acc[..., -2] -= part[..., -1]
        acc[..., -1] += part[..., -1]
        acc[..., :-2] -= 0.5 * part[..., 1:-1]
        acc[..., 2:] += 0.5 * part[..., 1:-1]
        out += np.moveaxis(acc, -1, ax % ndim)
    return out


def cholesky_grad(g: Any, L: Any) -> Any:
    """The cotangent of ``a`` in ``L = np.linalg.cholesky(a)``, which reads the lower
    triangle only (Murray, arXiv:1602.07527): off-diagonal entries count twice."""
    n = np.shape(L)[-1]
    phi = np.tril(np.swapaxes(L, -1, -2) @ g) / (1.0 + np.eye(n))
    inv = np.linalg.inv(L)
    s = np.swapaxes(inv, -1, -2) @ phi @ inv
    sym = 0.5 * (s + np.swapaxes(s, -1, -2))
    return np.tril(2.0 * sym) - sym * np.eye(n)


def eigh_grad(g: Any, ans: Any, a: Any, uplo: str = "L") -> Any:
    """The cotangent of ``a`` in ``w, v = np.linalg.eigh(a, uplo)`` (one triangle read): the
    eigenvalues' part and, when ``v`` has a cotangent, the eigenvectors' (distinct
    eigenvalues)."""
    w, v = ans
    gw, gv = g
    n = np.shape(a)[-1]
    vt = np.swapaxes(v, -1, -2)
    out = (v * np.expand_dims(np.asarray(gw, dtype=np.float64) * np.ones(np.shape(w)), -2)) @ vt
    if np.any(gv):
        off = 1.0 - np.eye(n)
        gaps = np.expand_dims(w, -2) - np.expand_dims(w, -1) + np.eye(n)
        out = out + v @ ((off / gaps) * (vt @ gv)) @ vt
    triangle = np.tril(np.ones((n, n)), -1) if uplo == "L" else np.triu(np.ones((n, n)), 1)
    return out * np.eye(n) + (out + np.swapaxes(out, -1, -2)) * triangle


def pinv_grad(g: Any, ans: Any, a: Any) -> Any:
    """The cotangent of ``a`` in ``np.linalg.pinv(a)`` (full rank)."""
    t = lambda m: np.swapaxes(m, -1, -2)  # noqa: E731
    m, k = np.shape(a)[-2], np.shape(ans)[-2]
    return t(-ans @ t(g) @ ans + ans @ t(ans) @ g @ (np.eye(m) - a @ ans)
             + (np.eye(k) - ans @ a) @ g @ t(ans) @ ans)


def svd_grad(g: Any, ans: Any, a: Any, full_matrices: bool = True,
             compute_uv: bool = True) -> Any:
    """The cotangent of ``a`` in ``np.linalg.svd(a, full_matrices, compute_uv)`` (real, the
    singular values distinct; ``full_matrices=False`` when the vectors are used -- as
    autograd's rule, after Townsend's note on the SVD's derivative)."""
    t = lambda m: np.swapaxes(m, -1, -2)  # noqa: E731
    if not compute_uv:
        u, _, vt = np.linalg.svd(a, full_matrices=False)
        return (u * np.expand_dims(np.asarray(g, dtype=np.float64), -2)) @ vt
    if full_matrices:
        raise ValueError("s2sad differentiates np.linalg.svd with full_matrices=False (or "
                         "compute_uv=False)")
    u, s, vt = ans
    gu, gs, gvt = (np.zeros(np.shape(x)) if np.ndim(y) == 0 else np.asarray(y, dtype=float)
                   for x, y in zip(ans, g))
    v, gv = t(vt), t(gvt)
    m, n = np.shape(a)[-2:]
    k = min(m, n)
    eye = np.eye(k)
    f = 1.0 / (np.expand_dims(s, -2) ** 2 - np.expand_dims(s, -1) ** 2 + eye)
    utgu, vtgv = t(u) @ gu, t(v) @ gv
    inner = (f * (utgu - t(utgu))) * np.expand_dims(s, -2) + eye * np.expand_dims(gs, -1) \
        + np.expand_dims(s, -1) * (f * (vtgv - t(vtgv)))
    out = u @ inner @ t(v)
    if m < n:
        out = out + (u / np.expand_dims(s, -2)) @ t(gv) @ (np.eye(n) - v @ t(v))
    elif m > n:
        out = out + t((v / np.expand_dims(s, -2)) @ t(gu) @ (np.eye(m) - u @ t(u)))
    return out


def cumprod_grad(g: Any, ans: Any, a: Any, axis: Any = None) -> Any:
    """The cotangent of ``a`` in ``np.cumprod(a, axis)``: d ans[j] / d a[k] is the product of
    a[:j+1] but a[k] (computed without dividing, so zeros are fine)."""
    g = np.asarray(g, dtype=np.float64)
    if axis is None:
        return np.reshape(cumprod_grad(g, np.ravel(ans), np.ravel(a), 0), np.shape(a))
    x = np.moveaxis(np.asarray(a, dtype=np.float64), axis, -1)
    gm = np.moveaxis(g, axis, -1)
    n = x.shape[-1]
    before = np.concatenate([np.ones(x.shape[:-1] + (1,)), np.cumprod(x, -1)[..., :-1]], -1)
    out = np.zeros(x.shape)
    for k in range(n):  # sum over j >= k of g[j] * before[k] * prod(x[k+1:j+1])
        after = np.cumprod(x[..., k + 1:], -1)
        out[..., k] = before[..., k] * (gm[..., k] + np.sum(gm[..., k + 1:] * after, -1))
    return np.moveaxis(out, -1, axis)


def convolve_grad(g: Any, a: Any, v: Any, mode: str, which: int) -> Any:
    """The cotangent of ``a`` (which 0) or ``v`` (1) in ``np.convolve(a, v, mode)``."""
    g = np.asarray(g, dtype=np.float64)
    n, m = len(a), len(v)
    full = np.zeros(n + m - 1)
    if mode == "full":
        full = g
    elif mode == "same":
        start = (min(n, m) - 1) // 2
        full[start:start + max(n, m)] = g
    else:  # valid
        start = min(n, m) - 1
        full[start:start + max(n, m) - min(n, m) + 1] = g
    other = v if which == 0 else a
    return np.correlate(full, np.asarray(other, dtype=np.float64), "valid")


def polyval_grad_p(g: Any, p: Any, x: Any) -> Any:
    """The cotangent of the coefficients ``p`` in ``np.polyval(p, x)``: the powers of ``x``
    weighted by ``g``, summed over ``x``."""
    powers = np.power.outer(np.asarray(x, dtype=np.float64), np.arange(len(p) - 1, -1, -1.0))
    return np.sum(np.expand_dims(g, -1) * powers, axis=tuple(range(np.ndim(x))))


def det_grad(g: Any, ans: Any, a: Any) -> Any:
    """The cotangent of ``a`` in ``det(a)``: ``g det(a) inv(a)^T`` (stacked matrices too)."""
    return np.swapaxes(np.linalg.inv(a), -1, -2) * np.expand_dims(
        np.asarray(g) * np.asarray(ans), (-1, -2))


def share_max(a: Any, b: Any) -> Any:
    """1 where ``a`` is the maximum, 1/2 on ties, 0 elsewhere; nan where either is nan."""
    a = np.asarray(a)
    share = (a > b) + 0.5 * (a == b)
    return np.where(np.isnan(a) | np.isnan(b), np.nan, share)


def linspace_weights(num: int, end: int) -> Any:
    """How ``np.linspace(start, stop, num)`` moves with ``start`` (end 0) or ``stop`` (1)."""
    t = np.linspace(0.0, 1.0, int(num))
    return 1.0 - t if end == 0 else t


def arange_grad_step(g: Any, stop: Any) -> Any:
    """The cotangent of ``step`` in ``np.arange(start, stop, step)``: value k moves by k."""
    g = np.asarray(g)
    return float(np.sum(g * np.arange(g.size))) if stop is not None else 0.0


def concat_grad(g: Any, a: Any, which: int) -> Any:
    """The cotangent of ``a`` (which 0) or ``b`` (1) in the concatenation ``a + b``."""
    n = len(a)
    return list(g[:n]) if which == 0 else list(g[n:])


def repeat_grad(g: Any, seq: Any, times: Any) -> Any:
    """The cotangent of the sequence in ``seq * times``: the sum over the copies (None for
    the count, or when ``seq`` is the count)."""
    if not isinstance(seq, (list, tuple)):
        return None
    n = len(seq)
    out = zeros_like(list(seq))
    for k, gk in enumerate(g):
        out[k % n] = add(out[k % n], gk)
    return out


def unsort(g: Any, xs: Any) -> list:
    """The cotangent of ``xs`` in ``sorted(xs)``: each element's back in its place."""
    order = sorted(range(len(xs)), key=list(xs).__getitem__)
    out = [0.0] * len(xs)
    for k, j in enumerate(order):
        out[j] = g[k]
    return out


def copy_of(value: Any) -> Any:
    """A copy of an array (a slice is a view that later writes would change); other values
    as they are."""
    return value.copy() if isinstance(value, np.ndarray) else value


def fill_like(xs: Any, g: Any) -> Any:
    """The cotangent of ``sum(xs)`` for ``xs``: ``g`` for every element."""
    if isinstance(xs, np.ndarray):
        return np.broadcast_to(g, xs.shape).copy()
    return [g] * len(xs)


# -- complex values (autograd's convention: the cotangent of z is the gz with
# dL = Re(sum(gz * dz)); holomorphic rules need no conjugate, and a real value's cotangent is
# the real part of what reaches it) -------------------------------------------------------


def is_complex(g: Any) -> bool:
    """Whether ``g`` is a complex number (Python's or NumPy's) or a complex array."""
    return isinstance(g, (complex, np.complexfloating)) or \
        isinstance(g, np.ndarray) and g.dtype.kind == "c"


def real_part(g: Any) -> Any:
    """``g`` without its imaginary part (a float for a number)."""
    if isinstance(g, (complex, np.complexfloating)):
        return float(g.real)
    if isinstance(g, np.ndarray) and g.dtype.kind == "c":
        return g.real.copy()
    return g


def abs_grad(g: Any, x: Any, ans: Any) -> Any:
    """The cotangent of ``x`` in ``abs(x)``: ``g * sign(x)`` for a real ``x``; for a complex
    one ``Re(g) * conj(x) / |x|`` (0 at 0)."""
    if not np.iscomplexobj(x):
        return g * np.sign(x)
    safe = np.where(ans == 0, 1.0, ans)
    return np.real(g) * np.conj(x) / safe * (ans != 0)


def abs_grad_grads(gout: Any, g: Any, x: Any, ans: Any) -> tuple:
    """The cotangents of ``g``, ``x`` and ``ans`` in ``abs_grad(g, x, ans)`` for the cotangent
    ``gout`` of its result (second derivatives through ``abs``): ``sign(x) gout``, 0, 0 for a
    real ``x``; for a complex one, of ``Re(g) conj(x) / ans``, ``Re(gout conj(x)) / ans``,
    ``Re(g) conj(gout) / ans`` and ``-Re(g) Re(gout conj(x)) / ans^2`` (0 where ans is 0)."""
    if not np.iscomplexobj(x):
        return gout * np.sign(x), zeros_like(x), zeros_like(ans)
    safe = np.where(ans == 0, 1.0, ans)
    alive = ans != 0
    inner = np.real(gout * np.conj(x)) / safe * alive
    return inner, np.real(g) * np.conj(gout) / safe * alive, -np.real(g) * inner / safe


def abs_grad_jvp(g: Any, dg: Any, x: Any, dx: Any, ans: Any, dans: Any) -> Any:
    """The tangent of ``abs_grad(g, x, ans)``: ``sign(x) dg`` for a real ``x``; for a complex
    one, of ``Re(g) conj(x) / ans``: ``(Re(dg) conj(x) + Re(g) conj(dx)) / ans - Re(g)
    conj(x) dans / ans^2`` (0 where ans is 0)."""
    if not np.iscomplexobj(x):
        return dg * np.sign(x)
    safe = np.where(ans == 0, 1.0, ans)
    return ((np.real(dg) * np.conj(x) + np.real(g) * np.conj(dx)) / safe -
            np.real(g) * np.conj(x) * dans / safe ** 2) * (ans != 0)


def abs_jvp(x: Any, dx: Any, ans: Any) -> Any:
    """The tangent of ``abs(x)``: ``Re(conj(x) dx) / |x|`` (``sign(x) dx`` for a real x)."""
    if not np.iscomplexobj(x):
        return np.sign(x) * dx
    safe = np.where(ans == 0, 1.0, ans)
    return np.real(np.conj(x) * dx) / safe * (ans != 0)


def imag_grad(g: Any, x: Any) -> Any:
    """The cotangent of ``x`` in ``np.imag(x)``: ``-1j * Re(g)`` (0 for a real ``x``)."""
    if not np.iscomplexobj(x):
        return zeros_like(x) if isinstance(x, np.ndarray) else 0.0
    return -1j * np.real(g)


def angle_grad(g: Any, x: Any) -> Any:
    """The cotangent of ``x`` in ``np.angle(x)``: ``Re(g) * conj(1j x) / |x|^2`` (0 for a
    real ``x``: its angle is 0 or pi, piecewise constant)."""
    if not np.iscomplexobj(x):
        return zeros_like(x) if isinstance(x, np.ndarray) else 0.0
    return np.real(g) * np.conj(1j * x) / np.abs(x) ** 2


def angle_jvp(x: Any, dx: Any) -> Any:
    """The tangent of ``np.angle(x)``: ``Im(conj(x) dx) / |x|^2`` (0 for a real x)."""
    if not np.iscomplexobj(x):
        return np.zeros(np.shape(x)) if isinstance(x, np.ndarray) else 0.0
    return np.imag(np.conj(x) * dx) / np.abs(x) ** 2


def _fit(a: np.ndarray, shape: tuple) -> np.ndarray:
    """``a`` cut or padded with zeros to ``shape``."""
    a = a[tuple(slice(0, n) for n in shape)]
    pad = [(0, n - m) for n, m in zip(shape, a.shape)]
    return np.pad(a, pad) if any(p[1] for p in pad) else a


def _fft_axes(x, s, axes, two: bool):
    """The axes and lengths an n-dimensional transform of ``x`` uses (NumPy's defaults)."""
    if axes is None:
        axes = (-2, -1) if two else (tuple(range(-len(s), 0)) if s is not None
                                     else tuple(range(-np.ndim(x), 0)))
    axes = tuple(a % np.ndim(x) for a in axes)
    return axes, s


def fft_grad(g: Any, x: Any, transform: Callable, n: Any = None, axis: Any = -1,
             norm: Any = None) -> Any:
    """The cotangent of ``x`` in ``transform(x, n, axis, norm)``, a complex-linear DFT
    (``fft``, ``ifft``, ``fft2``, ``ifft2``, ``fftn``, ``ifftn``: ``n``/``axis`` are
    ``s``/``axes`` for the latter): its transpose, the same transform (its matrix is
    symmetric), cut or padded back to ``x``'s shape."""
    return _fit(transform(g, n, axis, norm), np.shape(x))


def rfft_grad(g: Any, x: Any, n: Any = None, axis: Any = -1, norm: Any = None,
              multi: bool = False, two: bool = False) -> Any:
    """The cotangent of real ``x`` in ``rfft(x, n, axis, norm)`` (``rfftn``/``rfft2`` with
    ``multi``: ``n``/``axis`` are ``s``/``axes``): the half spectrum padded to the full one,
    then the full transform's transpose."""
    if not multi:
        axis = axis % np.ndim(x)
        full = x.shape[axis] if n is None else n
        shape = list(np.shape(g))
        shape[axis] = full
        return _fit(np.fft.fft(_fit(g, tuple(shape)), full, axis, norm), np.shape(x))
    axes, s = _fft_axes(x, n, axis, two)
    if s is None:
        s = [x.shape[a] for a in axes]
    shape = list(np.shape(g))
    shape[axes[-1]] = s[-1]
    return _fit(np.fft.fftn(_fit(g, tuple(shape)), s, axes, norm), np.shape(x))


def irfft_grad(g: Any, z: Any, n: Any = None, axis: Any = -1, norm: Any = None,
               multi: bool = False, two: bool = False) -> Any:
    """The cotangent of ``z`` in ``irfft(z, n, axis, norm)`` (``irfftn``/``irfft2`` with
    ``multi``), a real-linear map: ``conj(rfft(g))`` weighted 1 for the bins that stand for
    themselves (0, and n/2 for an even n), 2 for those that stand for a conjugate pair too,
    and scaled as ``norm`` says."""
    g = np.real(g)
    if multi:
        axes, s = _fft_axes(z, n, axis, two)
        if s is None:
            s = [z.shape[a] for a in axes[:-1]] + [2 * (z.shape[axes[-1]] - 1)]
        spectrum = np.fft.rfftn(g, s, axes)
        last, size = axes[-1], int(np.prod(s))
    else:
        last = axis % np.ndim(z)
        full = 2 * (z.shape[last] - 1) if n is None else n
        spectrum = np.fft.rfft(g, full, last)
        s, size = [full], full
    bins = spectrum.shape[last]
    weight = np.full(bins, 2.0)
    weight[0] = 1.0
    if s[-1] % 2 == 0:
        weight[-1] = 1.0
    scale = {None: 1.0 / size, "backward": 1.0 / size, "ortho": 1.0 / np.sqrt(size),
             "forward": 1.0}[norm]
    shape = [1] * spectrum.ndim
    shape[last] = bins
    return _fit(np.conj(spectrum) * weight.reshape(shape) * scale, np.shape(z))


def eig_grad(g: Any, ans: Any, a: Any) -> Any:
    """The cotangent of ``a`` in ``e, u = np.linalg.eig(a)`` (distinct eigenvalues; the
    eigenvectors normalized to unit length, as LAPACK returns them), real for a real ``a``."""
    e, u = ans
    ge, gu = g
    n = e.shape[-1]
    t = lambda m: np.swapaxes(m, -1, -2)  # noqa: E731
    gaps = np.expand_dims(e, -2) - np.expand_dims(e, -1)
    f = np.where(np.eye(n, dtype=bool), 0.0, 1.0 / np.where(gaps == 0, 1.0, gaps))
    ut = t(u)
    inner = np.expand_dims(np.asarray(ge) * np.ones(e.shape), -2) * np.eye(n)
    if np.any(gu):
        utg = ut @ gu
        inner = inner + f * utg - f * (ut @ np.conj(u) @ (np.real(utg) * np.eye(n)))
    out = np.linalg.solve(ut, inner @ ut)
    return out if np.iscomplexobj(a) else np.real(out)


def logsumexp_scale(b: Any, return_sign: bool = False) -> Any:
    """The weights ``b`` of ``scipy.special.logsumexp`` (1.0 when not given), a constant in
    its rule ``unreduce(g, a, axis, keepdims) * exp(a - unreduce(ans, a, axis, keepdims)) *
    logsumexp_scale(b, return_sign)`` (a softmax); ``return_sign`` raises."""
    if return_sign:
        raise ValueError("s2sad differentiates logsumexp without return_sign")
    return 1.0 if b is None else b


def extreme_grad(g: Any, ans: Any, xs: Any) -> list:
    """The cotangent of ``xs`` in ``max(xs)`` / ``min(xs)`` of a list or tuple: ``g`` at the
    item Python picked (the first equal to the result), zeros elsewhere."""
    out = [zeros_like(v) for v in xs]
    for k, v in enumerate(xs):
        if v is ans or v == ans:
            out[k] = g
            break
    return out


def picked(g: Any, ans: Any, xs: Any) -> Any:
    """The cotangent of ``g`` in ``extreme_grad(g, ans, xs)`` (a gradient of a gradient
    through ``max``/``min`` of a list): ``g``'s item where Python picked, 0.0 if none."""
    for k, v in enumerate(xs):
        if v is ans or v == ans:
            return g[k]
    return 0.0


def from_structure(g: Any, like: Any) -> Any:
    """The cotangent of ``like`` in ``to_structure(like, x)`` from ``g``, shaped as ``x``: in
    ``like``'s own structure, or summed where ``like`` was a number standing for zeros."""
    if isinstance(like, (list, tuple)) or isinstance(like, np.ndarray) and like.ndim:
        return to_structure(g, like)
    return unfill(np.asarray(g, dtype=float).reshape(-1), 0.0)


def unfill(g: Any, v: Any) -> Any:
    """The cotangent of ``v`` in ``fill_like(xs, v)`` (a gradient of a gradient through
    ``sum``): the cotangents of every element, summed back to ``v``'s shape."""
    if isinstance(g, np.ndarray):
        return unbroadcast(g, v)
    total = 0.0
    for gi in g:
        total = total + gi
    return unbroadcast(total, v) if isinstance(total, np.ndarray) else total


# -- lists and dicts: the adjoint of a list mirrors it; the tape undoes changes ---------------


def insert_index(xs: list, i: int) -> int:
    """Where ``xs.insert(i, v)`` puts ``v``."""
    n = len(xs)
    if i < 0:
        i += n
    return min(max(i, 0), n)


def pop_index(xs: list, i: int = -1) -> int:
    """Which position ``xs.pop(i)`` removes."""
    return i + len(xs) if i < 0 else i


def slice_bounds(xs: list, lower: Any, upper: Any) -> tuple:
    """The positions ``xs[lower:upper] = ...`` replaces (the end never before the start)."""
    a, b, _ = slice(lower, upper).indices(len(xs))
    return a, max(a, b)


def truncate(xs: list, n: int) -> None:
    """Undo ``xs.extend(...)``: keep the first ``n`` elements."""
    del xs[n:]


def take_tail(xs: list, n: int) -> list:
    """Remove and return the elements after the first ``n``."""
    tail = xs[n:]
    del xs[n:]
    return tail


def add_item(bd: dict, key: Any, g: Any) -> None:
    """Accumulate ``g`` into the cotangent of ``d[key]``."""
    bd[key] = add(bd[key], g) if key in bd else g


def take_item(bd: dict, key: Any) -> Any:
    """The cotangent of ``d[key]``, removed (the item was overwritten or created here)."""
    return bd.pop(key, 0.0)


def get_grad(bd: dict, d: dict, key: Any, g: Any) -> Any:
    """``d.get(key, default)``: ``g`` goes to ``d[key]`` if it was there; the default's
    cotangent is returned (0.0 if the key was there)."""
    if key in d:
        add_item(bd, key, g)
        return 0.0
    return g


_ABSENT = object()


def saved_item(d: dict, key: Any) -> Any:
    """What ``d[key]`` held before a store, for ``restore_item``."""
    return d.get(key, _ABSENT)


def restore_item(d: dict, key: Any, saved: Any) -> None:
    if saved is _ABSENT:
        del d[key]
    else:
        d[key] = saved


def snapshot_of(value: Any) -> Any:
    """A copy of a list, dict or array to restore after a change s2sad cannot undo."""
    import copy

    return copy.deepcopy(value)


def restore_into(value: Any, saved: Any) -> None:
    """Put ``saved`` back into ``value`` (the same object, so other names see it)."""
    if isinstance(value, list):
        value[:] = saved
    elif isinstance(value, dict):
        value.clear()
        value.update(saved)
    else:
        value[...] = saved


def fresh_copy(value: Any) -> Any:
    """A copy of an argument the function writes into: arrays, lists and dicts copied all the
    way down (objects shared inside it stay shared with each other), so the caller's objects
    are never written."""
    import copy

    if isinstance(value, np.ndarray):
        return value.copy()
    return copy.deepcopy(value)


# the helpers above that change their first argument in place (tidy never moves calls of
# them, nor reads of that argument across them)
MUTATING_HELPERS = (add_at, truncate, take_tail, add_item, take_item, get_grad, restore_item,
                    restore_into)


def assertion_of(f: Any, args: Any) -> BaseException:
    """An ``assert`` failed in generated code (which keeps the test, not the message): the
    AssertionError ``f`` itself raises on copies of the arguments -- its message and its
    traceback in the user's source."""
    try:
        f(*[fresh_copy(a) for a in args])
    except Exception as exc:  # noqa: BLE001 - f's own error, whatever it is (NumPy's
        return exc  # ValueError where the Wasm backend checks that two extents agree)
    return AssertionError(f"an assert of {getattr(f, '__name__', f)} failed in generated code "
                          "though not in f (the Wasm backend checks that extents agree where "
                          "NumPy may broadcast an extent of 1)")
