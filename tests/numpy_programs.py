"""NumPy programs for tests/test_numpy.py: (function, argument shapes, wrt, value range)."""

import numpy as np

B = np.array([0.5, -1.0, 2.0, 0.25])


def tanh_aw(A, w):
    return np.sum(np.tanh(A @ w))


def broadcasting(x, b):
    return np.sum((x + b) * x - b / (1.0 + x * x) + x * 2.0 - 1.0 / (2.0 + b))


def elementwise(x, y):
    u = np.sin(x) * np.cos(y) + np.tan(0.3 * x) + np.exp(0.2 * y) + np.log(2.0 + y * y)
    u = u + np.log1p(x * x) + np.expm1(0.1 * y) + np.sqrt(1.0 + x * x) + np.square(y)
    u = u + np.tanh(x) * np.sinh(0.5 * y) / np.cosh(x) + np.arcsin(0.3 * np.tanh(x))
    u = u + np.arccos(0.2 * np.tanh(y)) + np.arctan(x) + np.arctan2(y, 2.0 + x * x)
    u = u + np.abs(x) * np.sign(y) + np.power(1.5 + np.tanh(x), y) + np.maximum(x, y)
    u = u + np.minimum(x, 0.5) + np.where(x > y, x * y, x - y) + np.clip(x, -0.7, 0.8)
    u = u + np.logaddexp(x, y)
    return np.sum(u)


def reductions(X):
    r = np.sum(X, axis=0) @ np.mean(X, axis=1, keepdims=True).ravel()[:4]
    r = r + np.prod(1.0 + 0.1 * X, axis=-1).sum() + np.max(X, axis=1).sum()
    r = r + np.min(X) + np.std(X, axis=0).sum() + np.var(X, axis=(0, 1))
    r = r + np.linalg.norm(X) + np.linalg.norm(X[0]) + X.sum(axis=(0,), keepdims=True).sum()
    return r


def logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def linear_algebra(A, b):
    S = A @ A.T + 3.0 * np.eye(4)
    x = np.linalg.solve(S, b)
    r = np.dot(x, b) + np.sum(np.linalg.inv(S)) + np.einsum("ij,i->j", A, b).sum()
    r = r + np.einsum("ij,ik->jk", A, A).sum() + np.outer(b, x).sum() + np.matmul(b, A).sum()
    batched = np.stack([A, 2.0 * A]) @ A.T
    return r + np.sum(np.tanh(batched)) + b.dot(A).sum()


def shapes(x):
    a = x.reshape(2, 6).T
    b = np.transpose(x.reshape(2, 3, 2), (2, 0, 1))
    c = np.swapaxes(b, 0, 2)
    d = np.expand_dims(x, 0) * np.squeeze(np.expand_dims(x, 1))
    e = np.concatenate([a, a * 2.0], axis=1)
    f = np.broadcast_to(x.reshape(1, 12), (3, 12))
    n = x.shape[0] + x.ndim + x.size + len(x)
    return np.sum(a * a) + np.sum(np.sin(c)) + np.sum(d) + np.sum(e) + np.sum(f) * n


def indexing(x, M):
    mask = x > 0.1
    r = np.sum(x[1:4] * x[::2][:3]) + x[-1] * x[0] + np.sum(M[1, :3] * M[:, 2])
    r = r + np.sum(x[mask] ** 2) + np.sum(x[np.array([0, 2, 2, 5])]) + np.sum(M[[0, 2], 1:3])
    return r + np.sum(M[M > 0.0])


def assignment_in_loops(x):
    y = np.zeros(6)
    for i in range(6):
        y[i] = x[i] * x[(i + 1) % 6]
    for i in range(0, 4, 2):
        y[i:i + 2] += np.sin(x[i + 1:i + 3]) * y[i + 2:i + 4]
    z = np.ones((3, 2))
    z[1] = x[:2] * 3.0
    z[:, 0] = z[:, 1] * x[2]
    return np.sum(y * y) + np.sum(z)


def constructors(x):
    a = np.zeros(3) + np.ones(3) * x[0] + np.zeros_like(x[:3]) + np.ones_like(x[:3])
    b = np.arange(3) * x[1] + np.linspace(0.0, 1.0, 3) * x[2] + np.full(3, 2.0) * x[0]
    e = np.empty(3)
    e[:] = x[:3]
    c = np.array([x[0], x[1] * x[2], 3.0]) + np.eye(3) @ x[:3]
    return np.sum(a * b) + np.sum(c * c) + np.sum(e)


def methods(X, y):
    return X.sum(axis=0).dot(y) + X.mean() + X.reshape(12).max() + X.T.dot(X @ y).sum() + \
        X.std() + X.var(axis=1).sum() + X.min(axis=0).sum() + X.prod() * 0.01


def mutate_argument(x):
    x[0] = x[1] * 2.0
    x *= 3.0
    x[2:] += 1.0
    return np.sum(x * x)


def softmax_xent(W, X):
    labels = np.array([0, 2, 1, 2, 0])
    logits = X @ W
    z = logits - np.max(logits, axis=1, keepdims=True)
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.mean(logp[np.arange(5), labels])


def numpy_on_scalars(x):
    return np.sin(x) * np.exp(x) + np.sqrt(1.0 + x * x) * B[1]


def loop_of_arrays(w, X):
    h = w
    for k in range(3):
        h = np.tanh(X @ h + 0.1 * k)
    return np.sum(h * h)


def starred_shape(w):
    z = np.reshape(w, (*w.shape, 1))
    return np.sum(z * z * np.reshape(w, (1, *w.shape)))


PROGRAMS = [
    (starred_shape, [(4,)], (0,)),
    (tanh_aw, [(5, 4), (4,)], (0, 1)),
    (broadcasting, [(3, 4), (4,)], (0, 1)),
    (elementwise, [(2, 3), (2, 3)], (0, 1)),
    (reductions, [(4, 4)], (0,)),
    (logsumexp, [(6,)], (0,)),
    (linear_algebra, [(4, 3), (4,)], (0, 1)),
    (shapes, [(12,)], (0,)),
    (indexing, [(6,), (3, 4)], (0, 1)),
    (assignment_in_loops, [(6,)], (0,)),
    (constructors, [(3,)], (0,)),
    (methods, [(3, 4), (4,)], (0, 1)),
    (mutate_argument, [(4,)], (0,)),
    (softmax_xent, [(4, 3), (5, 4)], (0, 1)),
    (numpy_on_scalars, [()], (0,)),
    (loop_of_arrays, [(4,), (4, 4)], (0, 1)),
]
