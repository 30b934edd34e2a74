"""GradBench's saddle eval (Pearlmutter and Siskind): the saddle point of
``f(x, y) = (x1^2 + y1^2) - (x2^2 + y2^2)`` by gradient descent (``solver``), ``x`` the argmin
of the max over ``y`` -- a descent whose objective runs a descent of its own, so the outer
gradient differentiates through the inner one's loop and the gradient it takes inside.  The
four variants choose forward (``s2sad.jvp``) or reverse (``s2sad.grad``) mode for the outer
and the inner descent, as the Futhark tool does."""

import math

import s2sad
from s2sad.gradbench import timed
from s2sad.gradbench.solver import multivariate_argmax, multivariate_argmin


def f(x1, y1, x2, y2):
    return (x1**2 + y1**2) - (x2**2 + y2**2)


def r1_cost(p0, p1, s0, s1, forward):
    """``max over p of f(p0, p1, p)``: the solver's ascent from ``(s0, s1)`` written out (the
    function differentiated here runs it), its gradient by forward mode when ``forward``."""

    def cost(q0, q1):
        return -f(p0, p1, q0, q1)

    def gradient(q0, q1):
        if forward:
            return (s2sad.jvp(cost, (q0, q1), (1.0, 0.0))[1],
                    s2sad.jvp(cost, (q0, q1), (0.0, 1.0))[1])
        return s2sad.grad(cost, wrt=(0, 1))(q0, q1)

    x0, x1 = s0, s1
    fx = cost(x0, x1)
    g0, g1 = gradient(x0, x1)
    eta, i = 1e-5, 0
    while math.sqrt(g0 * g0 + g1 * g1) > 1e-5:
        if i == 10:
            eta, i = 2 * eta, 0
        else:
            n0, n1 = x0 - eta * g0, x1 - eta * g1
            if math.sqrt((x0 - n0) ** 2 + (x1 - n1) ** 2) <= 1e-5:
                break
            fn = cost(n0, n1)
            if fn < fx:
                x0, x1, fx = n0, n1, fn
                g0, g1 = gradient(x0, x1)
                i += 1
            else:
                eta, i = eta / 2, 0
    return f(p0, p1, x0, x1)


_reverse = s2sad.grad(r1_cost, wrt=(0, 1))
_f_reverse = s2sad.grad(f, wrt=(2, 3))


def saddle(start, outer, inner):
    """``x`` then ``y`` (four numbers); ``outer``/``inner`` are ``"f"`` or ``"r"``."""
    s0, s1 = start
    forward = inner == "f"
    if outer == "f":
        def gradient(p):
            return tuple(s2sad.jvp(r1_cost, (*p, s0, s1, forward), (*e, 0.0, 0.0, 0))[1]
                         for e in ((1.0, 0.0), (0.0, 1.0)))

        def gradient2(q):
            return tuple(s2sad.jvp(f, (*r1, *q), (0.0, 0.0, *e))[1]
                         for e in ((1.0, 0.0), (0.0, 1.0)))
    else:
        def gradient(p):
            return _reverse(*p, s0, s1, forward)

        def gradient2(q):
            return _f_reverse(*r1, *q)
    r1 = multivariate_argmin(lambda p: r1_cost(*p, s0, s1, forward), gradient, (s0, s1))
    r2 = multivariate_argmax(lambda q: f(*r1, *q), gradient2, (s0, s1))
    return [*r1, *r2]


def _variant(mode):
    return timed(lambda raw: tuple(float(v) for v in raw["start"]), list)(
        lambda start: saddle(start, mode[0], mode[1]))


rr, ff, fr, rf = (_variant(m) for m in ("rr", "ff", "fr", "rf"))


def warm_up():
    for inner in (False, True):
        _reverse(0.5, 0.5, 1.0, 1.0, inner)
        s2sad.jvp(r1_cost, (0.5, 0.5, 1.0, 1.0, inner), (1.0, 0.0, 0.0, 0.0, 0))
    _f_reverse(0.5, 0.5, 1.0, 1.0)
    s2sad.jvp(f, (0.5, 0.5, 1.0, 1.0), (0.0, 0.0, 1.0, 0.0))
