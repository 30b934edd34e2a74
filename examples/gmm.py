"""The ADBench Gaussian mixture objective and its gradient.

The log-likelihood of n points under a mixture of K Gaussians in d dimensions, each with an
inverse covariance given by its Cholesky factor L (log-diagonal and lower triangle packed in
``icf``), plus a Wishart prior -- the ADBench GMM objective, written with NumPy.
"""

import math

import numpy as np

import s2sad


def logsumexp(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    return np.log(np.sum(np.exp(x - m), axis=axis)) + np.squeeze(m, axis=axis)


def gmm_objective(alphas, means, icf, x, wishart_gamma, wishart_m):
    n, d = x.shape
    k = alphas.shape[0]
    qdiags = np.exp(icf[:, :d])
    sum_qs = np.sum(icf[:, :d], axis=1)
    # L: lower triangular, diagonal exp(log-diagonal), below it the packed entries of icf
    rows, cols = np.tril_indices(d, -1)
    diag = np.arange(d)
    ls = np.zeros((k, d, d))
    ls[:, diag, diag] = qdiags
    ls[:, rows, cols] = icf[:, d:]
    xcentered = x[:, None, :] - means[None, :, :]
    lx = np.einsum("kij,nkj->nki", ls, xcentered)
    inner = alphas + sum_qs - 0.5 * np.sum(lx * lx, axis=2)
    const = -n * d * 0.5 * math.log(2.0 * math.pi)
    likelihood = const + np.sum(logsumexp(inner, 1)) - n * logsumexp(alphas, 0)
    # Wishart prior
    p = d + wishart_m + 1
    prior = np.sum(0.5 * wishart_gamma * wishart_gamma * (
        np.sum(qdiags * qdiags, axis=1) + np.sum(icf[:, d:] * icf[:, d:], axis=1))
        - wishart_m * sum_qs)
    log_gamma = 0.25 * d * (d - 1) * math.log(math.pi)
    for j in range(1, d + 1):
        log_gamma = log_gamma + math.lgamma(0.5 * p + 0.5 * (1 - j))
    c = p * d * (math.log(wishart_gamma) - 0.5 * math.log(2.0)) - log_gamma
    return likelihood + prior - k * c


def make_problem(d, k, n, seed=0):
    rng = np.random.default_rng(seed)
    alphas = rng.normal(size=k)
    means = rng.uniform(size=(k, d))
    icf = rng.normal(size=(k, d + d * (d - 1) // 2)) * 0.5
    x = rng.normal(size=(n, d))
    return alphas, means, icf, x, 1.0, 0


if __name__ == "__main__":
    problem = make_problem(2, 5, 1000)
    dgmm = s2sad.grad(gmm_objective, wrt=(0, 1, 2))
    value = gmm_objective(*problem)
    g_alphas, g_means, g_icf = dgmm(*problem)
    print(f"GMM d=2 K=5 n=1000: objective {value:.6f}")
    print("d/d alphas:", np.round(g_alphas, 4))
    print("d/d means[0]:", np.round(g_means[0], 4), " d/d icf[0]:", np.round(g_icf[0], 4))
