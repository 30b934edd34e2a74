"""Caches that never go stale: a gradient reads closure variables and globals when it runs,
and is transformed again when something it was built from (a callee, the kind of a global,
a rule, the function's code) has changed -- on both backends."""

import math
import sys

import numpy as np
import pytest

import s2sad
from s2sad import wasm

HERE = sys.modules[__name__]

K = 2.0
N = 3
FLAG = True
COEFFS = (1.0, 2.0, 3.0)


class Config:
    k = 1.5


CFG = Config()


def sq(x):
    return x * x


def cube(x):
    return x * x * x


helper = sq


def caller(x):
    return helper(x) + 1.0


def scaled(x):
    return K * x * x


def counted(x):
    s = 0.0
    for i in range(N):
        s = s + x * i
    return s


def flagged(x):
    if FLAG:
        return x * x
    return x


def with_coeff(x):
    return COEFFS[1] * x + CFG.k * x * x


def scaled_callee(x):
    return scaled(x) + x


def make_closure():
    k = 1.0

    def f(x):
        return k * x * x

    def set_k(value):
        nonlocal k
        k = value

    return f, set_k


def central(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


def test_a_rebound_closure_variable_is_read_when_the_gradient_runs():
    f, set_k = make_closure()
    g = s2sad.grad(f)
    vg = s2sad.value_and_grad(f)
    assert g(2.0) == pytest.approx(4.0)
    set_k(5.0)
    assert g(2.0) == pytest.approx(20.0)
    assert s2sad.grad(f)(2.0) == pytest.approx(20.0)  # a fresh grad(f): the same
    assert vg(2.0) == pytest.approx((20.0, 20.0))
    value, pullback = s2sad.vjp(f, 2.0)
    set_k(7.0)  # the pullback of an evaluation at k = 5 ...
    assert pullback(1.0)[0] == pytest.approx(20.0)
    assert s2sad.vjp(f, 2.0)[1](1.0)[0] == pytest.approx(28.0)  # ... a new one at k = 7


def test_a_closure_variable_that_changes_kind_is_transformed_again():
    f, set_k = make_closure()
    g = s2sad.grad(f)
    assert g(1.5) == pytest.approx(3.0)
    set_k(3)  # an int now
    assert g(1.5) == pytest.approx(9.0)


def test_a_rebound_callee_is_differentiated_anew(monkeypatch):
    g = s2sad.grad(caller)
    vg = s2sad.value_and_grad(caller)
    assert g(2.0) == pytest.approx(4.0)
    assert vg(2.0) == pytest.approx((5.0, 4.0))
    monkeypatch.setattr(HERE, "helper", cube)
    assert vg(2.0) == pytest.approx((9.0, 12.0))  # the value and the gradient agree
    assert g(2.0) == pytest.approx(12.0)
    assert s2sad.grad(caller)(2.0) == pytest.approx(12.0)


def test_a_global_that_changes_kind_is_transformed_again(monkeypatch):
    def f(x):
        return np.sum(K * x)

    g = s2sad.grad(f)
    assert g(2.0) == pytest.approx(2.0)
    monkeypatch.setattr(HERE, "K", np.array([1.0, 2.0, 4.0]))
    assert g(2.0) == pytest.approx(7.0)


def test_a_callees_global_is_read_when_the_gradient_runs(monkeypatch):
    g = s2sad.grad(scaled_callee)
    assert g(1.0) == pytest.approx(5.0)
    monkeypatch.setattr(HERE, "K", 5.0)
    assert g(1.0) == pytest.approx(11.0)


def test_a_new_rule_replaces_the_one_a_gradient_was_built_with():
    def bump(x):  # an opaque primitive: differentiated by its registered rule
        return x + 1.0

    def f(x):
        return bump(x) * 2.0

    try:
        s2sad.adjoint(bump)(lambda g, ans, x: g)
        g = s2sad.grad(f)
        assert g(1.0) == pytest.approx(2.0)

        @s2sad.adjoint(bump)
        def _(g, ans, x):
            return 3.0 * g  # (wrong on purpose: the new rule is the one used)

        assert g(1.0) == pytest.approx(6.0)
    finally:
        from s2sad import rules

        rules._RULES.pop(id(bump), None)


def test_replaced_code_is_transformed_again():
    def f(x):
        return x * x

    def h(x):
        return x * x * x

    g = s2sad.grad(f)
    assert g(2.0) == pytest.approx(4.0)
    f.__code__ = h.__code__
    assert f(2.0) == 8.0
    assert g(2.0) == pytest.approx(12.0)  # (the source of the code object is h's)


@pytest.mark.parametrize("backend", ["python", "wasm"])
def test_global_numbers_are_read_when_the_gradient_runs(monkeypatch, backend):
    g = s2sad.grad(scaled, backend=backend)
    assert g(1.0) == pytest.approx(4.0)
    monkeypatch.setattr(HERE, "K", 5.0)
    assert g(1.0) == pytest.approx(10.0)
    monkeypatch.setattr(HERE, "K", 3)  # an int now: (re)built for it
    assert g(1.0) == pytest.approx(6.0)
    c = s2sad.grad(counted, backend=backend)
    assert c(1.0) == pytest.approx(3.0)
    monkeypatch.setattr(HERE, "N", 5)
    assert c(1.0) == pytest.approx(10.0)
    fl = s2sad.grad(flagged, backend=backend)
    assert fl(3.0) == pytest.approx(6.0)
    monkeypatch.setattr(HERE, "FLAG", False)
    assert fl(3.0) == pytest.approx(1.0)


@pytest.mark.parametrize("backend", ["python", "wasm"])
def test_baked_values_and_callees_are_checked(monkeypatch, backend):
    g = s2sad.grad(with_coeff, backend=backend)
    assert g(1.0) == pytest.approx(2.0 + 3.0)
    monkeypatch.setattr(HERE, "COEFFS", (1.0, 7.0, 3.0))
    assert g(1.0) == pytest.approx(7.0 + 3.0)
    monkeypatch.setattr(CFG, "k", 0.5)
    assert g(1.0) == pytest.approx(7.0 + 1.0)
    c = s2sad.value_and_grad(caller, backend=backend)
    assert c(2.0) == pytest.approx((5.0, 4.0))
    monkeypatch.setattr(HERE, "helper", cube)
    assert c(2.0) == pytest.approx((9.0, 12.0))


def test_the_wasm_module_takes_global_numbers_as_inputs(monkeypatch):
    text = wasm.grad(scaled).source()
    assert "(global $global.K (mut f64)" in text
    assert "f64.const 2" not in text.split("(func $scaled_grad")[1].split("(func")[0]
    g = wasm.grad(scaled)
    for k in (2.0, -1.5, 1e10, math.pi):
        monkeypatch.setattr(HERE, "K", k)
        assert g(0.7) == pytest.approx(2 * k * 0.7, rel=1e-12)


def test_globals_and_closures_are_never_written(monkeypatch):
    f, set_k = make_closure()
    before = dict(vars(HERE))
    s2sad.grad(f)(2.0)
    s2sad.vjp(f, 2.0)[1](1.0)
    s2sad.grad(scaled, backend="wasm")(1.0)
    assert f.__closure__[0].cell_contents == 1.0
    assert {k: v for k, v in vars(HERE).items() if k in before} == before


def test_a_fast_guard_costs_little():
    """The guard is one generated expression; it holds until something changes."""
    g = s2sad.grad(scaled)
    g(1.0)
    guard = g.transformed.guard
    assert guard()
    assert central(scaled, 1.0) == pytest.approx(g(1.0), rel=1e-8)
