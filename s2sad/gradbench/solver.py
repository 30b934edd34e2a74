"""Gradient descent as GradBench's particle and saddle evals define it (the Futhark tool's
``solver``): steps of ``eta`` along the gradient, ``eta`` halved after a step that does not
improve, doubled after 10 that do; stop when the gradient or the step is below 1e-5."""

import math


def multivariate_argmin(f, gradient, x):
    """The point gradient descent from ``x`` (a tuple of floats) reaches for ``f``, whose
    gradient at a point is ``gradient(point)`` (a tuple)."""
    fx, gx = f(x), gradient(x)
    eta, i = 1e-5, 0
    while True:
        if math.sqrt(sum(g * g for g in gx)) <= 1e-5:
            return x
        if i == 10:
            eta, i = 2 * eta, 0
            continue
        x_prime = tuple(xk - eta * gk for xk, gk in zip(x, gx))
        if math.sqrt(sum((a - b) ** 2 for a, b in zip(x, x_prime))) <= 1e-5:
            return x
        fx_prime = f(x_prime)
        if fx_prime < fx:
            x, fx, gx, i = x_prime, fx_prime, gradient(x_prime), i + 1
        else:
            eta, i = eta / 2, 0


def multivariate_argmax(f, gradient, x):
    """``multivariate_argmin`` of ``-f`` (``gradient`` is ``f``'s)."""
    return multivariate_argmin(lambda p: -f(p), lambda p: tuple(-g for g in gradient(p)), x)
