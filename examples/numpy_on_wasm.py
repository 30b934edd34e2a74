"""Whole-array NumPy on the Wasm backend: three programs written as NumPy users write them,
differentiated by s2sad and compiled to WebAssembly (the arrays' statements are lowered to
loops over elements first: s2sad/loops.py).  Run it to see the gradients agree with the
Python backend's and with differences."""

import numpy as np

import s2sad


def tanh_aw(A, w):
    return np.sum(np.tanh(A @ w))


def mlp_loss(w1, b1, w2, b2, x, y):
    """Softmax cross-entropy of a two-layer perceptron (y: one-hot labels, or weights)."""
    hidden = np.tanh(x @ w1 + b1)
    logits = hidden @ w2 + b2
    z = logits - np.max(logits, axis=1, keepdims=True)
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.mean(logp * y)


def gmm_means(means, x):
    """The negative log-likelihood of points under K unit Gaussians (equal weights), as a
    function of the means: pairwise squared distances, then a log-sum-exp over the means."""
    d2 = np.sum(x * x, axis=1, keepdims=True) - 2.0 * (x @ means.T) + \
        np.sum(means * means, axis=1)[None, :]
    m = np.max(-d2, axis=1, keepdims=True)
    return -np.sum(np.log(np.sum(np.exp(-d2 - m), axis=1)) + m[:, 0])


def problems(seed=0):
    """(name, function, arguments, wrt) at the benchmark's sizes."""
    rng = np.random.default_rng(seed)
    n, k = 400, 32
    labels = rng.integers(0, 3, size=n)
    return [
        ("sum(tanh(A @ w)), 100 x 100", tanh_aw,
         (rng.normal(size=(100, 100)) * 0.1, rng.normal(size=100)), (0, 1)),
        ("MLP 2-32-3, 400 points", mlp_loss,
         (rng.normal(size=(2, k)) * 0.5, np.zeros(k), rng.normal(size=(k, 3)) * 0.5,
          np.zeros(3), rng.normal(size=(n, 2)), np.eye(3)[labels]), (0, 1, 2, 3)),
        ("GMM means, d=2, K=5, n=1000", gmm_means,
         (rng.uniform(size=(5, 2)), rng.normal(size=(1000, 2))), (0,)),
    ]


if __name__ == "__main__":
    for name, f, args, wrt in problems():
        value, grads = s2sad.value_and_grad(f, wrt=wrt, backend="wasm")(*args)
        expected = s2sad.value_and_grad(f, wrt=wrt)(*args)
        grads = grads if isinstance(grads, tuple) else (grads,)
        expected_grads = expected[1] if isinstance(expected[1], tuple) else (expected[1],)
        worst = max(float(np.max(np.abs(g - e))) for g, e in zip(grads, expected_grads))
        print(f"{name}: value {value:.6f}, largest difference from the Python backend "
              f"{worst:.1e}")
