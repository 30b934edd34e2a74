"""collect: tangents of numbers rewritten as coefficients times tangents -- the same value,
never more operations."""

import math

import gast
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_forward import scaled_newton

import s2sad
from s2sad.collect import collect
from s2sad.emit import to_source

NUMBERS = {"x": 1.3, "y": -0.7, "z": 2.1, "i": 3}
TANGENTS = {"dx": 0.45, "dy": -1.25, "dz": 0.8}


def coefficients(depth):
    leaf = st.sampled_from(list(NUMBERS) + ["2.0", "3"])
    if depth == 0:
        return leaf
    inner = coefficients(depth - 1)
    return st.one_of(leaf, st.tuples(inner, st.sampled_from("+-*"), inner).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})"), inner.map(lambda c: f"math.cos({c})"),
        inner.map(lambda c: f"({c}) ** 2"), st.tuples(inner, inner).map(
            lambda t: f"({t[0]} if {t[1]} > 0 else 1.5)"))


def linear(depth):
    """An expression linear in the tangents (what forward mode writes)."""
    leaf = st.sampled_from(list(TANGENTS))
    if depth == 0:
        return leaf
    inner, coef = linear(depth - 1), coefficients(2)
    return st.one_of(
        leaf,
        st.tuples(inner, st.sampled_from("+-"), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(inner, coef).map(lambda t: f"({t[0]} * {t[1]})"),
        st.tuples(coef, inner).map(lambda t: f"({t[0]} * {t[1]})"),
        st.tuples(inner, coef).map(lambda t: f"({t[0]} / (4.0 + {t[1]} * {t[1]}))"),
        inner.map(lambda e: f"(-{e})"))


def collected(expr: str) -> str:
    fdef = gast.parse(f"def f():\n    dt = {expr}\n").body[0]
    collect(fdef, set(TANGENTS) | {"dt"},
            lambda n: True if n in NUMBERS or n in TANGENTS or n == "dt" else None)
    return to_source(fdef).split("dt = ", 1)[1]


def count(expr: str) -> int:
    import ast

    return sum(isinstance(n, (ast.BinOp, ast.UnaryOp)) for n in ast.walk(ast.parse(expr)))


@settings(max_examples=300, deadline=None)
@given(linear(4))
def test_collected_tangents_are_the_same_value_in_no_more_operations(expr):
    new = collected(expr)
    env = {"math": math, **NUMBERS, **TANGENTS}
    assert eval(new, env) == pytest.approx(eval(expr, env), rel=1e-10, abs=1e-12)
    assert count(new) <= count(expr)


def test_collect_factors_repeated_tangents():
    assert collected("(dx * x + dx * x) * x + dx * z - dy") == "dx * ((x + x) * x + z) - dy\n"
    # (a sum of several tangents divided as a whole stays one term)
    assert collected("(dx * x - dy) / z + dx") == "(dx * x - dy) / z + dx\n"
    assert collected("dx * x ** 2 + dx * (y if x > 0 else z)") == \
        "dx * (x ** 2 + (y if x > 0 else z))\n"
    # a tangent in a power: not arithmetic the rewrite knows, left as it is
    assert collected("dx ** 1 * x + dx * x") == "dx ** 1 * x + dx * x\n"
    # not arithmetic over numbers: left as it is
    assert collected("np.sum(dx * x) + dx * x") == "np.sum(dx * x) + dx * x\n"


def test_the_newton_tangent_multiplies_dx_once():
    fj = s2sad.make_jvp(scaled_newton)
    value, tangent = fj(2.0, 1.0)
    # d/da of 2 a^(1/3): (2/3) a^(-2/3)
    assert tangent == pytest.approx(2.0 / 3.0 * 2.0 ** (-2.0 / 3.0), rel=1e-12)
    step, = [line for line in fj.source.splitlines() if "dstep = (" in line]
    assert step.strip().startswith("dstep = (dx * (") and step.count("dx") == 1
