"""GradBench's particle eval (Pearlmutter and Siskind's nested-AD benchmark): the control
``w`` that makes a charged particle, pushed by two charges one of which ``w`` places, cross
the x axis at the origin -- gradient descent (``solver``) on the squared miss of an Euler
integration whose force is itself a gradient: a derivative of a function that takes a
derivative inside.  The four variants choose forward (``s2sad.jvp``) or reverse
(``s2sad.grad``) mode for the outer descent and for the force, as the Futhark tool does;
the force is the derivative of a function defined inside the integration, over the charges
it places (a closure: s2sad lifts it)."""

import math

import s2sad
from s2sad.gradbench import timed
from s2sad.gradbench.solver import multivariate_argmin


def naive_euler(w, forward):
    """The squared x at which the particle crosses the x axis (Euler steps of 0.1, then
    linear interpolation); the force by forward mode when ``forward``."""
    charges = [(10.0, 10.0 - w), (10.0, 0.0)]

    def p(x0, x1):
        return sum(1.0 / math.hypot(x0 - c0, x1 - c1) for c0, c1 in charges)

    x0, x1 = 0.0, 8.0
    xdot0, xdot1 = 0.75, 0.0
    delta_t = 1e-1
    while True:
        if forward:
            g0 = s2sad.jvp(p, (x0, x1), (1.0, 0.0))[1]
            g1 = s2sad.jvp(p, (x0, x1), (0.0, 1.0))[1]
        else:
            g0, g1 = s2sad.grad(p, wrt=(0, 1))(x0, x1)
        new0, new1 = x0 + delta_t * xdot0, x1 + delta_t * xdot1
        if new1 > 0.0:
            x0, x1 = new0, new1
            xdot0, xdot1 = xdot0 - delta_t * g0, xdot1 - delta_t * g1
        else:
            break
    delta_t_f = -x1 / xdot1
    x_t_f = x0 + delta_t_f * xdot0
    return x_t_f * x_t_f


_reverse = s2sad.grad(naive_euler)


def particle(w0, outer, inner):
    """The final ``w``; ``outer``/``inner`` are ``"f"`` or ``"r"``: the modes of the
    descent's gradient and of the force."""
    forward = inner == "f"
    if outer == "f":
        def gradient(w):
            return (s2sad.jvp(naive_euler, (w[0], forward), (1.0, 0))[1],)
    else:
        def gradient(w):
            return (_reverse(w[0], forward),)
    return multivariate_argmin(lambda w: naive_euler(w[0], forward), gradient, (w0,))[0]


def _variant(mode):
    return timed(lambda raw: float(raw["w"]), float)(
        lambda w0: particle(w0, mode[0], mode[1]))


rr, ff, fr, rf = (_variant(m) for m in ("rr", "ff", "fr", "rf"))


def warm_up():
    for outer in "fr":
        for inner in "fr":
            if outer == "f":
                s2sad.jvp(naive_euler, (0.1, inner == "f"), (1.0, 0))
            else:
                _reverse(0.1, inner == "f")
