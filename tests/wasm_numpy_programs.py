"""NumPy programs in the Wasm backend's whole-array subset (loops.py): (function, argument
shapes as tuples of the size names "n", "m", "k" or integers, wrt)."""

import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
from numpy_on_wasm import gmm_means as gmm_like  # noqa: E402
from numpy_on_wasm import mlp_loss as mlp_softmax  # noqa: E402
from numpy_on_wasm import tanh_aw  # noqa: E402

SCALE = np.array([0.5, -1.0, 2.0])


def rebound(x, y):
    u = np.sin(x) * np.cos(y) + np.exp(0.2 * y)
    u = u + np.log1p(x * x) + np.sqrt(1.0 + y * y) + np.square(x)
    u = u + np.maximum(x, y) + np.minimum(x, 0.5) + np.where(x > y, x * y, x - y)
    u = u + np.clip(x, -0.7, 0.8) + np.abs(y) + np.arctan2(y, 2.0 + x * x)
    return np.sum(u * u)


def reductions(X):
    r = np.sum(X, axis=0) @ np.mean(X[:, :X.shape[0]], axis=0)
    r = r + np.prod(1.0 + 0.1 * X, axis=1).sum() + np.max(X, axis=0).sum() + np.min(X)
    r = r + X.sum(axis=1, keepdims=True).mean() + X.mean() * X.max()
    return r


def views(X, v):
    a = X[:, 1:] * 2.0
    b = X.T[0] * 2.0 + X[:, 1]
    c = X[0, :] - X[-1]
    return np.sum(a * a) + np.dot(b, b) + np.sum(c[:, None] * v[None, :]) + X[0, -1]


def products(A, B, v):
    C = A @ B
    s = v @ A
    return np.sum(np.tanh(C)) + np.dot(s, s) + np.sum(np.outer(v, s)) + v.dot(A @ s)


def constructed(x, a):
    idx = np.arange(x.shape[0])
    grid = np.linspace(0.0, 1.0, x.shape[0])
    w = np.array([a, 2.0 * a, 1.0])
    return np.sum(idx * x + grid * x * x) + np.sum(w * w) * SCALE[1] + math.log(a)


def softplus_loss(w, X, y):
    margin = y * (X @ w)
    return np.mean(np.log1p(np.exp(-margin))) + 0.01 * np.dot(w, w)


def scalars_only(x, y):
    return np.sin(x) * np.exp(y) + np.sqrt(1.0 + x * x) * np.tanh(y)


PROGRAMS = [
    (tanh_aw, [("n", "m"), ("m",)], (0, 1)),
    (mlp_softmax, [(2, "k"), ("k",), ("k", 3), (3,), ("n", 2), ("n", 3)], (0, 1, 2, 3)),
    (rebound, [("n", "m"), ("n", "m")], (0, 1)),
    (reductions, [("n", "m")], (0,)),
    (views, [("n", "m"), ("m",)], (0, 1)),
    (products, [("n", "m"), ("m", "k"), ("n",)], (0, 1, 2)),
    (constructed, [("n",), ()], (0, 1)),
    (softplus_loss, [("m",), ("n", "m"), ("n",)], (0, 1)),
    (gmm_like, [("k", 2), ("n", 2)], (0, 1)),
    (scalars_only, [(), ()], (0, 1)),
]


def rows_in_a_loop(W, x0):
    # a recurrence written into the rows of a history made at the start
    xs = np.zeros((4, x0.shape[0]))
    xs[0] = x0
    for t in range(3):
        xs[t + 1] = np.tanh(W @ xs[t] + 0.1)
        xs[t + 1, 0] = xs[t + 1, 0] * 2.0
    return np.sum(xs[3] * xs[3]) + np.sum(xs[:, 1])


PROGRAMS.append((rows_in_a_loop, [("m", "m"), ("m",)], (0, 1)))


def temps_in_a_loop(x, w):
    # an array made at each pass (read twice: stored), made once at the start on Wasm
    s = 0.0
    for _ in range(3):
        y = np.tanh(x * w + s)
        s = s + np.sum(y * y) + y[0]
    return s


def buffers_in_a_loop(x, w):
    # a force buffer made at each step, positions rebound at each step (x = x + f):
    # DiffTaichi's billiards written as NumPy users write it
    n = x.shape[0]
    pos = x.copy()
    for _ in range(3):
        force = np.zeros(n)
        for i in range(n - 1):
            d = pos[i + 1] - pos[i]
            force[i] += d * w[i]
            force[i + 1] -= d * w[i]
        c = pos.copy()
        c[0] = c[0] * 0.5
        pos = pos + 0.3 * force + 0.01 * np.sin(c)
    return np.sum(pos * pos)


PROGRAMS += [(temps_in_a_loop, [("n",), ("n",)], (0, 1)),
             (buffers_in_a_loop, [("m",), ("m",)], (0, 1))]


def reshaped(X, v):
    a = X.reshape(-1)
    b = np.reshape(v, (2, -1))
    return np.sum(a * a) + np.sum(np.tanh(b)) + X.ravel()[1] + np.sum(b[1] * 2.0)


def normalized(X, w):
    # standardized columns (np.std along an axis), then a layer
    Z = (X - np.mean(X, axis=0)) / (np.std(X, axis=0) + 0.5)
    return np.sum(np.tanh(Z @ w)) + np.var(X) + X.std(axis=1).sum()


def view_in_a_loop(x):
    s = 0.0
    for _ in range(2):
        v = x[1:] * s
        s = s + np.sum(v * v) + v[0] + 0.5
    return s


PROGRAMS += [(reshaped, [(2, "m"), (6,)], (0, 1)),
             (normalized, [("m", "m"), ("m",)], (0, 1)),
             (view_in_a_loop, [("m",)], (0,))]


def constants_and_norms(X, v):
    # np.eye, np.full, np.sign (no derivative), np.linalg.norm, a tuple of axes
    eye = np.eye(X.shape[1])
    r = np.sum((X @ eye) * np.full(X.shape[1], 0.5)) + np.linalg.norm(X) * np.linalg.norm(v)
    return r + np.sum(np.sign(v) * v) + np.sum(X, axis=(0, 1)) + np.mean(X ** 2, axis=(0,))[0]


PROGRAMS.append((constants_and_norms, [("n", "m"), ("m",)], (0, 1)))


def recurrent(W, x0):
    # h rebound in a loop to something that reads all of it (a matrix product): computed
    # into a second array and copied over; h = x0 first (a copy on Wasm: nothing writes x0)
    h = x0
    for k in range(3):
        h = np.tanh(W @ h + 0.1 * k)
        h = h * 0.9 + 0.05
    return np.sum(h * h) + np.sum(x0)


PROGRAMS.append((recurrent, [("m", "m"), ("m",)], (0, 1)))


def made_after_a_loop(x):
    # arrays made at the top after a loop (the tape has started there): made at the start,
    # filled where they are made
    s = 0.0
    for i in range(x.shape[0]):
        s = s + x[i] * x[i]
    y = np.zeros(x.shape[0])
    y[0] = s
    z = x.copy()
    z[1] = z[1] * s
    return np.sum(y * z) + s


PROGRAMS.append((made_after_a_loop, [("m",)], (0,)))


def joined(x, A, B):
    # np.concatenate along each axis, of parts of different extents (x[1:] is empty for n=1)
    z = np.concatenate([x, np.tanh(x) * 2.0, x[1:]])
    C = np.concatenate([A, B * B], axis=0)
    D = np.concatenate((A, np.sin(A)), -1)
    return np.sum(z * z * np.arange(z.shape[0])) + np.sum(C @ C.T) + np.sum(D * D)


def running_sums(x, A):
    # np.cumsum along each axis, flattened, as a method, and made at each pass of a loop
    c = np.cumsum(x * x)
    r = np.cumsum(A, axis=0)
    q = A.cumsum(1)
    f = np.cumsum(np.sin(A))
    s = 0.0
    for t in range(2):
        c2 = np.cumsum(x * (t + 1.0))
        s = s + np.sum(c2 * c2)
    return np.sum(np.tanh(c)) + np.sum(r * q) + np.sum(f * f) + c[-1] + s


PROGRAMS += [(joined, [("n",), ("n", "m"), ("k", "m")], (0, 1, 2)),
             (running_sums, [("n",), ("n", "m")], (0, 1))]


def running_sums_in_place(x, w):
    # a name rebound in a loop to a running sum of itself (a second array, copied over) and
    # of something else (written in place); an element of a running sum read alone
    y = x * 1.0
    z = x * 2.0
    for _ in range(2):
        y = np.cumsum(y) * 0.5
        z = np.cumsum(w * w)
    c = np.cumsum(np.sin(x))
    return np.sum(y * y) + np.sum(z) + c[0] * w[0]


PROGRAMS.append((running_sums_in_place, [("n",), ("n",)], (0, 1)))


def strided(x, A, w):
    # slices with a step: reversed, every other element, on both axes, a view of a view,
    # and stores and in-place updates through them
    a = x[::-1] * x
    b = x[1::2] + 2.0 * x[::2][: x[1::2].shape[0]]
    c = A[::2, ::-1]
    d = A.T[::-1][1:]
    e = x[::-2]
    y = w * 1.0
    y[::2] = np.tanh(w[::2]) * 2.0
    y[1::2] += x[1::2]
    return np.sum(a * a) + np.sum(np.tanh(b)) + np.sum(c * c) + np.sum(np.sin(d)) + \
        np.sum(e * x[: e.shape[0]]) + np.sum(y * y) + np.sum(x[::2][::-1] * x[::-1][::2])


PROGRAMS.append((strided, [("n",), ("n", "m"), ("n",)], (0, 1, 2)))


def contracted(A, B, v, w):
    # np.einsum of one and two operands: products, a matrix-vector and a matrix product, an
    # outer product, a trace of a product, a whole contraction, implicit outputs
    a = np.einsum("ij,j->i", A, v)
    b = np.einsum("ij,jk->ik", A, B)
    c = np.einsum("i,i->", v, w)
    e = np.einsum("i,j", v, w)
    f = np.einsum("ij,ij", A, A)
    return np.sum(np.tanh(a)) + np.sum(b * b) + c + np.sum(np.sin(e)) + f


PROGRAMS.append((contracted, [("n", "m"), ("m", "k"), ("m",), ("m",)], (0, 1, 2, 3)))


def sorted_values(x, w):
    # np.sort of an expression and of an argument, read reversed and by element
    s = np.sort(np.sin(x) * w)
    top = np.sort(x)[::-1]
    return np.sum(s * np.arange(s.shape[0])) + top[0] * 2.0 + np.sum(np.tanh(top[1:]))


PROGRAMS.append((sorted_values, [("n",), ("n",)], (0, 1)))


def differences(x, A):
    # np.diff along the last axis and along the first, of an argument and of an expression
    a = np.diff(x)
    b = np.diff(np.sin(A), axis=0)
    c = np.diff(A)
    return np.sum(a * a) + np.sum(np.tanh(b)) + np.sum(c * x[0])


PROGRAMS.append((differences, [("n",), ("n", "m")], (0, 1)))


def rolled(x, A):
    # np.roll by a constant and by an integer computed, along each axis, of an expression
    a = np.roll(x, 1) * x
    b = np.roll(np.sin(A), -2, axis=1)
    c = np.roll(A, A.shape[0] + 1, axis=0)
    d = np.flip(A) * np.flip(np.cos(A), axis=1) + np.flip(x)[:, None]
    return np.sum(a * a) + np.sum(np.tanh(b) * A) + np.sum(c * c[0]) + np.sum(d * d)


PROGRAMS.append((rolled, [("n",), ("n", "m")], (0, 1)))


def sorted_in_a_loop(x, w):
    # a sort made at each pass of a loop (its order array refilled), read reversed
    s = 0.0
    y = x * 1.0
    for t in range(3):
        z = np.sort(y * w + t)
        s = s + np.sum(z * np.arange(z.shape[0]))
        y = np.tanh(y + 0.5 * z[::-1])
    return s + np.sum(y)


PROGRAMS.append((sorted_in_a_loop, [("n",), ("n",)], (0, 1)))


def sorted_rows_and_columns(A, x):
    # np.sort of a 2-d array along each axis, and an extent read off the sorted array (its
    # arange made before the sort's loops start the tape)
    a = np.sort(A)
    b = np.sort(np.sin(A) * 2.0, axis=0)
    c = np.sort(x)
    return np.sum(a * np.arange(a.shape[1])) + np.sum(np.tanh(b[0])) + \
        np.sum(b[-1] * b[-1]) + c[0]


PROGRAMS.append((sorted_rows_and_columns, [("n", "m"), ("m",)], (0, 1)))


def three_dimensional(T, X, means):
    xc = X[:, None, :] - means[None, :, :]  # (n, k, m): broadcast to three dimensions
    lx = np.einsum("kij,nkj->nki", T, xc)
    s = np.sum(lx * lx, axis=2)
    u = np.tanh(T).sum(axis=(0, 2)) @ np.max(T, axis=1).mean(axis=0)
    T2 = T * 2.0
    T2[:, 0, :] = T2[:, 0, :] + 1.0
    first = np.sum(T * T[:, :1, :]) + np.sum(X[:1] * X)  # (an extent of one broadcasts)
    return np.sum(np.exp(-s)) + u + T[0, -1, 1] + np.sum(T2 * T2, axis=(1, 2)).max() + first


PROGRAMS.append((three_dimensional, [("k", "m", "m"), ("n", "m"), ("k", "m")], (0, 1, 2)))


def triangles(X, w):
    m = X.shape[1]
    rows, cols = np.tril_indices(m, -1)
    r2, c2 = np.triu_indices(m)
    L = np.zeros((X.shape[0], m, m))
    L[:, r2, c2] = np.tanh(X[:, r2] * X[:, c2])
    L[:, rows, cols] = X[:, cols] * 2.0
    diag = np.arange(m)
    L[:, diag, diag] = np.exp(X)
    picked = L[0, rows, cols] + L[-1, r2, c2][:1]  # (ints beside the index arrays)
    return np.sum(L * L) + np.sum(picked * w[cols]) + np.sum(L[:, :, 0] * X) + np.sum(w[c2])


def apart_axes(T, v):
    rows, cols = np.tril_indices(T.shape[0])
    g = T[rows, :, cols]  # (the arrays' axis first: a slice lies between them)
    h = T[:, rows[:1]]
    return np.sum(np.sin(g) * v[None, :]) + np.sum(h * h)


def _softmax(z, axis):
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _twice_softmax(z, axis):
    return _softmax(z, axis) * 2.0


def _lse(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    return np.log(np.sum(np.exp(x - m), axis=axis)) + np.squeeze(m, axis=axis)


def helpers_of_arrays(X, v):
    p = _twice_softmax(X, 1)
    q = _softmax(X.T, 0)
    return np.sum(p * p) + np.sum(q * X.T) + np.sum(_lse(X, 1)) + _lse(v, 0) * 0.5


PROGRAMS += [(triangles, [("n", "m"), ("m",)], (0, 1)),
             (apart_axes, [("m", "n", "m"), ("n",)], (0, 1)),
             (helpers_of_arrays, [("n", "m"), ("m",)], (0, 1))]


def triangle_after_a_loop(X, u):
    s = 0.0
    for r in range(2):  # (pushes: the tape starts here, the triangle's arrays are made before)
        s = s + np.sum(np.tanh(X * (s + r)))
    t = np.sum(X[:, np.tril_indices(X.shape[1], -1)[0]] * u[:, None], axis=1)
    return np.sum(t) * s


PROGRAMS.append((triangle_after_a_loop, [("n", "m"), ("n",)], (0, 1)))


def _centred(a, axis):
    m = np.mean(a, axis=axis, keepdims=True)
    m = a - m  # (bound twice: the caller's name is bound to it after the body)
    return m


def same_names_as_the_helper(X, v):
    m = _centred(X, 0)  # (m is the helper's local name too)
    return np.sum(m * m) + np.sum(_centred(v, 0) * v)



def _doubled_with_its_total(a):
    r = a * 2.0
    r[0] = np.sum(a)  # (reads a after r is bound: x = g(x) must not bind x before this)
    return r


def rebound_by_a_helper(x, w):
    x = _doubled_with_its_total(x)
    return np.sum(np.tanh(x * w))



def history_rows(X, v):
    H = np.zeros((3, X.shape[1]))
    H[1] = np.tanh(H[0] * v) * v
    for r in range(2):  # (an array made at each pass and stored into a row: copied there)
        H[r + 1] = np.tanh(H[r] * v + X[0])
    return np.sum(H * H) + np.sum(H[:, 0])


PROGRAMS.append((history_rows, [("n", "m"), ("m",)], (0, 1)))


def rebinds_its_arguments(x, w):
    # arguments rebound to new arrays (x = x * 3.0 was refused on Wasm: an array name
    # assigned more than once), then written in place and read
    x = np.tanh(x) * w
    x = x * 3.0 + w
    x[0] = x[1] * w[0]
    w = w * x
    return np.sum(x * w) + np.sum(np.sin(w))


PROGRAMS.append((rebinds_its_arguments, [("m",), ("m",)], (0, 1)))
