"""A two-layer perceptron trained with plain SGD on a generated data set (two interleaved
spirals), with s2sad computing the gradient of the loss -- softmax cross-entropy."""

import numpy as np

import s2sad


def softmax_cross_entropy(logits, labels):
    z = logits - np.max(logits, axis=1, keepdims=True)
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.mean(logp[np.arange(labels.shape[0]), labels])


def mlp_loss(w1, b1, w2, b2, x, labels):
    hidden = np.tanh(x @ w1 + b1)
    logits = hidden @ w2 + b2
    return softmax_cross_entropy(logits, labels)


def spirals(n, seed=0):
    rng = np.random.default_rng(seed)
    t = np.sqrt(rng.uniform(size=n)) * 3.0 * np.pi
    labels = rng.integers(0, 2, size=n)
    sign = 2.0 * labels - 1.0
    x = np.stack([sign * t * np.cos(t), sign * t * np.sin(t)], axis=1) / 10.0
    return x + rng.normal(scale=0.05, size=x.shape), labels


def init(hidden=32, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.normal(scale=0.5, size=(2, hidden)), np.zeros(hidden),
            rng.normal(scale=0.5, size=(hidden, 2)), np.zeros(2)]


def train(steps=300, lr=0.5, seed=0, report=None):
    x, labels = spirals(400, seed)
    params = init()
    value_and_grad = s2sad.value_and_grad(mlp_loss, wrt=(0, 1, 2, 3))
    losses = []
    for step in range(steps):
        loss, grads = value_and_grad(*params, x, labels)
        params = [p - lr * g for p, g in zip(params, grads)]
        losses.append(loss)
        if report and step % 50 == 0:
            report(step, loss)
    return params, losses


if __name__ == "__main__":
    _, losses = train(report=lambda step, loss: print(f"step {step:4d}  loss {loss:.4f}"))
    print(f"final loss {losses[-1]:.4f} (from {losses[0]:.4f})")
