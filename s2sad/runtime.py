"""Runtime helpers that generated Python calls: zeros and accumulation for containers,
unbroadcast, the NumPy rules' helpers.  They are bound into the generated function under names
from its namer; the generated source says which.

Scalar adjoints need nothing from here (the generated code uses ``0.0`` and ``+``); the tape
itself is a plain list named ``_stack`` created inside each generated function, so gradients
are reentrant and thread-safe.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def zeros_like(value: Any) -> Any:
    """A zero cotangent with the structure of ``value`` (lists stay lists, tuples become lists
    so that elements can be accumulated in place)."""
    if isinstance(value, (list, tuple)):
        return [zeros_like(v) for v in value]
    if isinstance(value, np.ndarray):
        return np.zeros(value.shape)
    if isinstance(value, np.generic):
        return 0.0
    return 0.0


def add(a: Any, b: Any) -> Any:
    """``a + b`` for cotangents: elementwise for lists and tuples, ``+`` otherwise."""
    if isinstance(a, list) or isinstance(b, (list, tuple)):
        if isinstance(a, (int, float)) and a == 0:
            return list(b)
        if isinstance(b, (int, float)) and b == 0:
            return a
        return [add(x, y) for x, y in zip(a, b)]
    return a + b


def like(structure: Any, cotangent: Any) -> Any:
    """Give ``cotangent`` the container type of ``structure`` (a tuple for a tuple input)."""
    if isinstance(structure, tuple) and isinstance(cotangent, list):
        return tuple(like(s, c) for s, c in zip(structure, cotangent))
    if isinstance(structure, list) and isinstance(cotangent, list):
        return [like(s, c) for s, c in zip(structure, cotangent)]
    return cotangent


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
    """``target[index] += g`` where repeated integer indices accumulate (``np.add.at``)."""
    if type(target) is np.ndarray:
        if type(index) is int or _is_basic(index) or _is_mask(index):
            target[index] += g
        elif _is_point_index(index, target.ndim):
            # one integer array per axis (a[rows, cols]): accumulate with bincount, which is
            # much faster than np.add.at and exact for repeated points
            parts = index if isinstance(index, tuple) else (index,)
            flat = np.ravel_multi_index(tuple(np.asarray(i) for i in parts), target.shape)
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
            out = np.empty(shape)
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


def norm_grad(g: Any, ans: Any, x: Any, ord: Any = None, axis: Any = None,
              keepdims: bool = False) -> Any:
    if ord not in (None, 2, "fro") or (ord == 2 and np.ndim(x) > 1 and axis is None):
        raise NotImplementedError(f"the derivative of np.linalg.norm with ord={ord!r}")
    return unreduce(g / ans, x, axis, keepdims) * x


def split_like(g: Any, parts: Any, axis: int = 0) -> list:
    """Cotangents of the pieces of ``np.concatenate(parts, axis)``."""
    sizes = np.cumsum([np.shape(p)[axis] for p in parts])[:-1]
    return list(np.split(g, sizes, axis=axis))


def unstack(g: Any, parts: Any, axis: int = 0) -> list:
    """Cotangents of the pieces of ``np.stack(parts, axis)``."""
    return [np.take(g, k, axis=axis) for k in range(len(parts))]


def clip_mask(x: Any, lo: Any, hi: Any) -> Any:
    mask = np.ones(np.shape(x))
    if lo is not None:
        mask = mask * (np.asarray(x) >= lo)
    if hi is not None:
        mask = mask * (np.asarray(x) <= hi)
    return mask


def share_max(a: Any, b: Any) -> Any:
    """1 where ``a`` is the maximum, 1/2 on ties, 0 elsewhere."""
    return (np.asarray(a) > b) + 0.5 * (np.asarray(a) == b)


def copy_of(value: Any) -> Any:
    """A copy of an array (a slice is a view that later writes would change); other values
    as they are."""
    return value.copy() if isinstance(value, np.ndarray) else value


def fill_like(xs: Any, g: Any) -> Any:
    """The cotangent of ``sum(xs)`` for ``xs``: ``g`` for every element."""
    if isinstance(xs, np.ndarray):
        return np.broadcast_to(g, xs.shape).copy()
    return [g] * len(xs)
