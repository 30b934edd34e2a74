"""Derivative rules: one small entry per primitive, and the registry behind ``s2sad.adjoint``.

A rule is a Python function ``rule(g, ans, *args)`` that returns the cotangent of each
argument given ``g``, the cotangent of the result, and ``ans``, the result itself (``None`` for
an argument that gets no gradient).  When a rule's body is a single ``return``, reverse.py
inlines its expression into the generated code as a template (``g * math.cos(x)`` with the
names replaced), so the generated adjoint reads like the math; otherwise the generated code
calls the rule.  Built-in rules and user rules (``@s2sad.adjoint(f)``) have the same form.

Primitives whose result has no derivative (``int``, ``round``, comparisons, ``len``...) are
declared with ``nondifferentiable``: their results are constants for the gradient.
"""

from __future__ import annotations

import builtins
import inspect
import math
import operator
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gast

_RULES: dict[int, Rule] = {}
_NONDIFF: dict[int, Any] = {}


@dataclass
class Rule:
    """A registered vector-Jacobian rule for ``primitive``."""

    primitive: Any
    func: Callable
    params: list[str]  # the rule's own parameter names: g, ans, then one per argument
    _template: Any = None
    _parsed: bool = False

    @property
    def arg_names(self) -> list[str]:
        return self.params[2:]

    def template(self):
        """The returned expressions as gast nodes (one per argument), or None to call it."""
        if not self._parsed:
            self._parsed = True
            self._template = _parse_template(self.func)
        return self._template


def _parse_template(func):
    try:
        source = textwrap.dedent(inspect.getsource(func))
        fdef = gast.parse(source).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):
        return None
    body = [s for s in fdef.body
            if not (isinstance(s, gast.Expr) and isinstance(s.value, gast.Constant))]
    if len(body) != 1 or not isinstance(body[0], gast.Return) or body[0].value is None:
        return None
    value = body[0].value
    n_args = len(fdef.args.args) - 2
    elts = value.elts if isinstance(value, gast.Tuple) and n_args != 1 else [value]
    if len(elts) != n_args:
        return None
    return elts


def _key(primitive) -> int:
    return id(primitive)


def adjoint(primitive: Any) -> Callable[[Callable], Callable]:
    """Register a vector-Jacobian rule for ``primitive`` (a decorator).

    The rule takes ``(g, ans, *args)`` -- the cotangent of the result, the result, and the
    primitive's positional arguments -- and returns one cotangent per argument (a tuple when
    there are several; ``None`` for an argument with no gradient)::

        @s2sad.adjoint(my_softplus)
        def _(g, ans, x):
            return g / (1.0 + math.exp(-x))

    A rule whose body is one ``return`` is inlined into the generated code.
    """

    def register(func: Callable) -> Callable:
        params = list(inspect.signature(func).parameters)
        if len(params) < 3 or params[:2] != ["g", "ans"]:
            raise TypeError("an adjoint rule takes (g, ans, *args); got "
                            f"({', '.join(params)})")
        _RULES[_key(primitive)] = Rule(primitive, func, params)
        _NONDIFF.pop(_key(primitive), None)
        return func

    return register


def nondifferentiable(*primitives: Any) -> None:
    """Declare primitives whose results are constants for the gradient (``int``, ``len``)."""
    for p in primitives:
        _NONDIFF[_key(p)] = p


def lookup(primitive: Any) -> Rule | None:
    """The rule registered for ``primitive``, or None."""
    return _RULES.get(_key(primitive))


def is_nondifferentiable(primitive: Any) -> bool:
    return _key(primitive) in _NONDIFF


def all_rules() -> list[Rule]:
    """Every registered rule (the test suite checks each against finite differences)."""
    return list(_RULES.values())


# -- operators ---------------------------------------------------------------------------------

@adjoint(operator.add)
def _(g, ans, a, b):
    return g, g


@adjoint(operator.sub)
def _(g, ans, a, b):
    return g, -g


@adjoint(operator.mul)
def _(g, ans, a, b):
    return g * b, g * a


@adjoint(operator.truediv)
def _(g, ans, a, b):
    return g / b, -g * a / (b * b)


@adjoint(operator.pow)
def _(g, ans, a, b):
    return g * b * a ** (b - 1), g * ans * math.log(a)


@adjoint(operator.mod)
def _(g, ans, a, b):
    return g, -g * (a // b)


@adjoint(operator.neg)
def _(g, ans, a):
    return -g


@adjoint(operator.pos)
def _(g, ans, a):
    return g


nondifferentiable(operator.floordiv, operator.not_, operator.lt, operator.le, operator.gt,
                  operator.ge, operator.eq, operator.ne, operator.is_, operator.is_not,
                  operator.contains, operator.and_, operator.or_, operator.xor,
                  operator.lshift, operator.rshift, operator.invert)

# -- builtins ------------------------------------------------------------------------------------


@adjoint(builtins.abs)
def _(g, ans, x):
    return g if x >= 0 else -g


# min and max split the cotangent evenly on a tie, as JAX does, so that min(x, y) * max(x, y)
# gets the derivative of x * y
@adjoint(builtins.min)
def _(g, ans, a, b):
    return ((g if a < b else 0.5 * g if a == b else 0.0),
            (g if b < a else 0.5 * g if a == b else 0.0))


@adjoint(builtins.max)
def _(g, ans, a, b):
    return ((g if a > b else 0.5 * g if a == b else 0.0),
            (g if b > a else 0.5 * g if a == b else 0.0))


@adjoint(builtins.float)
def _(g, ans, x):
    return g


@adjoint(builtins.pow)
def _(g, ans, a, b):
    return g * b * a ** (b - 1), g * ans * math.log(a)


nondifferentiable(builtins.int, builtins.round, builtins.len, builtins.bool, builtins.range,
                  builtins.print, builtins.isinstance, builtins.type, builtins.str,
                  builtins.repr, builtins.hash, builtins.id, builtins.divmod)

# -- math ----------------------------------------------------------------------------------------


@adjoint(math.sin)
def _(g, ans, x):
    return g * math.cos(x)


@adjoint(math.cos)
def _(g, ans, x):
    return -g * math.sin(x)


@adjoint(math.tan)
def _(g, ans, x):
    return g * (1.0 + ans * ans)


@adjoint(math.exp)
def _(g, ans, x):
    return g * ans


@adjoint(math.log)
def _(g, ans, x, base=math.e):
    return g / (x * math.log(base)), -g * ans / (base * math.log(base))


@adjoint(math.log2)
def _(g, ans, x):
    return g / (x * math.log(2.0))


@adjoint(math.log10)
def _(g, ans, x):
    return g / (x * math.log(10.0))


@adjoint(math.log1p)
def _(g, ans, x):
    return g / (1.0 + x)


@adjoint(math.expm1)
def _(g, ans, x):
    return g * (ans + 1.0)


@adjoint(math.sqrt)
def _(g, ans, x):
    return g / (2.0 * ans)


@adjoint(math.pow)
def _(g, ans, a, b):
    return g * b * a ** (b - 1), g * ans * math.log(a)


@adjoint(math.hypot)
def _(g, ans, a, b):
    return g * a / ans, g * b / ans


@adjoint(math.tanh)
def _(g, ans, x):
    return g * (1.0 - ans * ans)


@adjoint(math.sinh)
def _(g, ans, x):
    return g * math.cosh(x)


@adjoint(math.cosh)
def _(g, ans, x):
    return g * math.sinh(x)


@adjoint(math.asin)
def _(g, ans, x):
    return g / math.sqrt(1.0 - x * x)


@adjoint(math.acos)
def _(g, ans, x):
    return -g / math.sqrt(1.0 - x * x)


@adjoint(math.atan)
def _(g, ans, x):
    return g / (1.0 + x * x)


@adjoint(math.atan2)
def _(g, ans, y, x):
    return g * x / (x * x + y * y), -g * y / (x * x + y * y)


@adjoint(math.asinh)
def _(g, ans, x):
    return g / math.sqrt(x * x + 1.0)


@adjoint(math.acosh)
def _(g, ans, x):
    return g / math.sqrt(x * x - 1.0)


@adjoint(math.atanh)
def _(g, ans, x):
    return g / (1.0 - x * x)


@adjoint(math.erf)
def _(g, ans, x):
    return g * 1.1283791670955126 * math.exp(-x * x)


@adjoint(math.erfc)
def _(g, ans, x):
    return -g * 1.1283791670955126 * math.exp(-x * x)


@adjoint(math.fabs)
def _(g, ans, x):
    return g if x >= 0 else -g


@adjoint(math.degrees)
def _(g, ans, x):
    return g * 57.29577951308232


@adjoint(math.radians)
def _(g, ans, x):
    return g * 0.017453292519943295


@adjoint(math.copysign)
def _(g, ans, a, b):
    return (g if (a >= 0) == (ans >= 0) else -g), None


nondifferentiable(math.floor, math.ceil, math.trunc, math.isnan, math.isinf, math.isfinite,
                  math.factorial, math.gcd, math.comb, math.perm, math.isclose)

# -- methods of values (x.sum(), x.dot(y)); keyed by (kind, name) --------------------------------

_METHOD_RULES: dict[tuple[str, str], Rule] = {}


def lookup_method(kind: str, name: str) -> Rule | None:
    """The rule for ``x.name(...)`` (kind ``method``) or ``x.name`` (kind ``attr``), or None."""
    return _METHOD_RULES.get((kind, name))
