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
import importlib
import inspect
import math
import operator
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gast

from .guards import RULES_VERSION

_RULES: dict[int, Rule] = {}
_NONDIFF: dict[int, Any] = {}


@dataclass
class Rule:
    """A registered vector-Jacobian rule for ``primitive``."""

    primitive: Any
    func: Callable
    params: list[str]  # the rule's own parameter names: g, ans, then one per argument
    elementwise: bool = False  # broadcasts its arguments: cotangents are unbroadcast
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


def _key(primitive) -> Any:
    # a bound method (scipy.stats.norm.logpdf) is a new object at each lookup: its instance
    # and function name it
    func = getattr(primitive, "__func__", None)
    if func is not None and type(primitive).__name__ == "method":
        return (id(primitive.__self__), id(func))
    return id(primitive)


def adjoint(primitive: Any, elementwise: bool = False) -> Callable[[Callable], Callable]:
    """Register a vector-Jacobian rule for ``primitive`` (a decorator).

    The rule takes ``(g, ans, *args)`` -- the cotangent of the result, the result, and the
    primitive's positional arguments -- and returns one cotangent per argument (a tuple when
    there are several; ``None`` for an argument with no gradient)::

        @s2sad.adjoint(my_softplus)
        def _(g, ans, x):
            return g / (1.0 + math.exp(-x))

    A rule whose body is one ``return`` is inlined into the generated code.  With
    ``elementwise=True`` (a primitive that broadcasts its array arguments, like ``np.add``)
    the generated code sums each cotangent back to its argument's shape.
    """

    def register(func: Callable) -> Callable:
        params = list(inspect.signature(func).parameters)
        if len(params) < 3 or params[:2] != ["g", "ans"]:
            raise TypeError("an adjoint rule takes (g, ans, *args); got "
                            f"({', '.join(params)})")
        _RULES[_key(primitive)] = Rule(primitive, func, params, elementwise)
        _NONDIFF.pop(_key(primitive), None)
        _changed()
        return func

    return register


def nondifferentiable(*primitives: Any) -> None:
    """Declare primitives whose results are constants for the gradient (``int``, ``len``)."""
    for p in primitives:
        _NONDIFF[_key(p)] = p
    _changed()


def _changed() -> None:
    """A rule was registered: gradients transformed before must be transformed again."""
    RULES_VERSION[0] += 1


def lookup(primitive: Any) -> Rule | None:
    """The rule registered for ``primitive``, or None."""
    rule = _RULES.get(_key(primitive))
    if rule is None and _scipy_rules():
        rule = _RULES.get(_key(primitive))
    return rule


_SCIPY_LOADED: set = set()
_SCIPY_RULES = {"scipy.special": "rules_scipy", "scipy.stats": "rules_scipy_stats"}
#: rules registered outside this module whose forward form is a reduction's (forward.py)
REDUCTIONS: set = set()


def _scipy_rules() -> bool:
    """Register the rules of scipy.special (rules_scipy.py) and scipy.stats
    (rules_scipy_stats.py) once the user has loaded them: True when some were registered just
    now."""
    if len(_SCIPY_LOADED) == len(_SCIPY_RULES) or "scipy" not in sys.modules:
        return False
    new = False
    for package, module in _SCIPY_RULES.items():
        if package not in _SCIPY_LOADED and package in sys.modules:
            _SCIPY_LOADED.add(package)
            importlib.import_module(f".{module}", __package__)  # (its rules register)
            new = True
    return new


_SEQUENCE_RULES: dict[int, Rule] = {}


def adjoint_for_sequences(primitive: Any):
    """Register the rule used when ``primitive`` (``+``, ``*``) is applied to lists or tuples
    (concatenation and repetition), where its numeric rule would not do."""

    def register(func):
        params = list(inspect.signature(func).parameters)
        _SEQUENCE_RULES[_key(primitive)] = Rule(primitive, func, params)
        _changed()
        return func

    return register


def lookup_for_sequences(primitive: Any) -> Rule | None:
    return _SEQUENCE_RULES.get(_key(primitive))


def is_nondifferentiable(primitive: Any) -> bool:
    if _key(primitive) in _NONDIFF:
        return True
    return _scipy_rules() and _key(primitive) in _NONDIFF


LIBRARIES = ("numpy", "scipy", "math", "builtins", "operator", "random", "s2sad")


def is_library(obj: Any) -> bool:
    """A function of NumPy, SciPy or the standard library: s2sad does not read its source
    (it needs a rule), unlike the user's own functions."""
    module = getattr(obj, "__module__", None) or ""
    if not module and type(obj).__name__ == "ufunc":  # (SciPy's ufuncs name no module)
        return True
    if module.startswith("s2sad.gradbench"):  # (user code shipped with s2sad: the evals)
        return False
    return module.split(".")[0] in LIBRARIES


# -- operators ---------------------------------------------------------------------------------

@adjoint(operator.add, elementwise=True)
def _(g, ans, a, b):
    return g, g


@adjoint(operator.sub, elementwise=True)
def _(g, ans, a, b):
    return g, -g


@adjoint(operator.mul, elementwise=True)
def _(g, ans, a, b):
    return g * b, g * a


@adjoint(operator.truediv, elementwise=True)
def _(g, ans, a, b):
    return g / b, -g * a / b / b  # (not a / (b * b): b * b may underflow to 0)


# a ** b: b * a ** (b - 1) divides by zero at a = 0 when b < 1, where IEEE arithmetic (and
# NumPy, and JAX) give inf: power() is ** with IEEE results; _log(0) is taken as 0, so the
# derivative of 0 ** b in b is 0, as JAX has it
@adjoint(operator.pow, elementwise=True)
def _(g, ans, a, b):
    return g * b * power(a, b - 1), g * ans * _log(a)


@adjoint(operator.mod, elementwise=True)
def _(g, ans, a, b):
    return g, -g * (a // b)


def _pow_by_constant(g, ans, a, b):
    return g * b * a ** (b - 1), None


# x ** c for a constant c >= 1 (x ** 2, x ** 3): the plain template, which cannot divide by
# zero (activity.py picks it when the exponent is such a constant)
POW_BY_CONSTANT = Rule(operator.pow, _pow_by_constant, ["g", "ans", "a", "b"], elementwise=True)


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


# NaN in, NaN out: where no comparison holds, x is NaN and so is the cotangent (g * x)
@adjoint(builtins.abs)
def _(g, ans, x):
    return g if x >= 0 else -g if x < 0 else g * x


# min(a, b) is b if b < a, else a (Python's choice, NaN included); a tie splits the cotangent
# evenly, as JAX does, so that min(x, y) * max(x, y) gets the derivative of x * y
@adjoint(builtins.min)
def _(g, ans, a, b):
    return ((0.5 * g if a == b else 0.0 if b < a else g),
            (0.5 * g if a == b else g if b < a else 0.0))


@adjoint(builtins.max)
def _(g, ans, a, b):
    return ((0.5 * g if a == b else 0.0 if b > a else g),
            (0.5 * g if a == b else g if b > a else 0.0))


@adjoint(builtins.float)
def _(g, ans, x):
    return g


@adjoint(builtins.sum)
def _(g, ans, xs, start=0):
    return fill_like(xs, g), g


@adjoint(builtins.pow)
def _(g, ans, a, b):
    return g * b * power(a, b - 1), g * ans * _log(a)


@adjoint(builtins.divmod)
def _(g, ans, a, b):
    return g[1], -g[1] * ans[0]


@adjoint(builtins.list)
def _(g, ans, xs):
    return to_structure(g, xs)


@adjoint(builtins.tuple)
def _(g, ans, xs):
    return to_structure(g, xs)


@adjoint(builtins.sorted)
def _(g, ans, xs):
    return unsort(g, xs)


@adjoint(builtins.reversed)
def _(g, ans, xs):
    return to_structure(list(reversed(g)), xs)


def _log(a):
    """The log in the derivative of ``a ** b`` in ``b``: IEEE for a float or an array (nan
    below 0), with log(0) taken as 0 -- the derivative of 0 ** b in b is 0 for b > 0."""
    if isinstance(a, (int, float)):
        return math.log(a) if a > 0 else 0.0 if a == 0 else math.nan
    a = np.asarray(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(np.where(a == 0, 1.0, a))


nondifferentiable(builtins.int, builtins.round, builtins.len, builtins.bool, builtins.range,
                  builtins.print, builtins.isinstance, builtins.type, builtins.hash,
                  builtins.id)

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


# div(a, b) is a / b with IEEE results (b == 0 gives inf or nan): these derivatives divide
# by zero where the function itself is fine (sqrt at 0, asin at 1, hypot and atan2 at 0)
@adjoint(math.sqrt)
def _(g, ans, x):
    return div(g, 2.0 * ans)


@adjoint(math.pow)
def _(g, ans, a, b):
    return g * b * power(a, b - 1), g * ans * _log(a)


@adjoint(math.hypot)
def _(g, ans, a, b):
    return div(g * a, ans), div(g * b, ans)


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
    return div(g, math.sqrt(1.0 - x * x))


@adjoint(math.acos)
def _(g, ans, x):
    return div(-g, math.sqrt(1.0 - x * x))


@adjoint(math.atan)
def _(g, ans, x):
    return g / (1.0 + x * x)


@adjoint(math.atan2)
def _(g, ans, y, x):
    return div(g * x, x * x + y * y), div(-g * y, x * x + y * y)


@adjoint(math.asinh)
def _(g, ans, x):
    return g / math.sqrt(x * x + 1.0)


@adjoint(math.acosh)
def _(g, ans, x):
    return div(g, math.sqrt(x * x - 1.0))


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
    return g if x >= 0 else -g if x < 0 else g * x


@adjoint(math.degrees)
def _(g, ans, x):
    return g * 57.29577951308232


@adjoint(math.radians)
def _(g, ans, x):
    return g * 0.017453292519943295


@adjoint(math.copysign)
def _(g, ans, a, b):
    return (g if (a >= 0) == (ans >= 0) else -g) if a == a else g * a, None


@adjoint(math.fmod)
def _(g, ans, a, b):
    return g, -g * math.trunc(a / b)


nondifferentiable(math.floor, math.ceil, math.trunc, math.isnan, math.isinf, math.isfinite,
                  math.factorial, math.gcd, math.comb, math.perm, math.isclose)

# -- methods of values (x.sum(), x.dot(y)); keyed by (kind, name) --------------------------------

_METHOD_RULES: dict[tuple[str, str], Rule] = {}


def lookup_method(kind: str, name: str) -> Rule | None:
    """The rule for ``x.name(...)`` (kind ``method``) or ``x.name`` (kind ``attr``), or None."""
    return _METHOD_RULES.get((kind, name))


def adjoint_method(name: str, elementwise: bool = False, attribute: bool = False):
    """Register the rule of ``x.name(...)`` (or of the attribute ``x.name``) for array
    values ``x``; the rule's first argument after ``g, ans`` is ``x`` itself."""

    def register(func):
        params = list(inspect.signature(func).parameters)
        kind = "attr" if attribute else "method"
        _METHOD_RULES[(kind, name)] = Rule((kind, name), func, params, elementwise)
        _changed()
        return func

    return register


_ARRAY_RULES: dict[int, Rule] = {}


def adjoint_for_arrays(primitive: Any, elementwise: bool = False):
    """Register the rule used when ``primitive`` (e.g. the builtin ``abs``) is applied to
    arrays, where its scalar rule would not do."""

    def register(func):
        params = list(inspect.signature(func).parameters)
        _ARRAY_RULES[_key(primitive)] = Rule(primitive, func, params, elementwise)
        _changed()
        return func

    return register


def lookup_for_arrays(primitive: Any) -> Rule | None:
    return _ARRAY_RULES.get(_key(primitive))


def all_rules() -> list[Rule]:
    """Every registered rule: functions, array and sequence variants, methods."""
    return (list(_RULES.values()) + list(_ARRAY_RULES.values())
            + list(_SEQUENCE_RULES.values()) + list(_METHOD_RULES.values()))


# -- NumPy -------------------------------------------------------------------------------------
# The helpers (unbroadcast, unreduce, matmul_grad_a...) live in runtime.py, which generated code
# imports; rules whose body is one return are inlined into the generated code.

import numpy as np  # noqa: E402

from .runtime import (  # noqa: E402
    abs_grad,
    abs_grad_grads,
    angle_grad,
    append_grad,
    arange_grad_step,
    cholesky_grad,
    clip_mask,
    clipped_above,
    clipped_below,
    concat_grad,
    convolve_grad,
    count,
    cumprod_grad,
    det_grad,
    diag_grad,
    diagonal_grad,
    diff_grad,
    div,
    dot_grad_a,
    dot_grad_b,
    eig_grad,
    eigh_grad,
    einsum_grad,
    extreme_grad,
    fft_grad,
    fill_grad,
    fill_like,
    from_structure,
    gradient_grad,
    imag_grad,
    insert_index,
    irfft_grad,
    kron_grad,
    linspace_weights,
    matmul_grad_a,
    matmul_grad_b,
    max_grad,
    norm_input,
    pad_grad,
    partition_grad,
    picked,
    pinv_grad,
    polyval_grad_p,
    pop_index,
    power,
    real_part,
    reduce_to,
    repeat_array_grad,
    repeat_grad,
    rfft_grad,
    share_max,
    sinc_slope,
    slice_bounds,
    solve_grad_a,
    solve_grad_a_jvp,
    solve_grad_b,
    solve_grad_b_jvp,
    sort_grad,
    split_grad,
    split_like,
    stacked_like,
    svd_grad,
    tensordot_grad,
    tile_grad,
    to_structure,
    unbroadcast,
    unfill,
    unreduce,
    unsort,
    unstack,
    untranspose,
    var_grad,
)


@adjoint(operator.matmul)
def _(g, ans, a, b):
    return matmul_grad_a(g, a, b), matmul_grad_b(g, a, b)


# NumPy's own names for the operators (and the functions whose rule reads the same) share
# their rules
for _numpy_name, _same in [(np.add, operator.add), (np.subtract, operator.sub),
                           (np.multiply, operator.mul), (np.divide, operator.truediv),
                           (np.power, operator.pow), (np.matmul, operator.matmul),
                           (np.negative, operator.neg), (np.tanh, math.tanh),
                           (np.arctan, math.atan)]:
    adjoint(_numpy_name, elementwise=lookup(_same).elementwise)(lookup(_same).func)


@adjoint_for_arrays(builtins.abs, elementwise=True)
def _(g, ans, x):
    return abs_grad(g, x, ans)


@adjoint(np.sin)
def _(g, ans, x):
    return g * np.cos(x)


@adjoint(np.cos)
def _(g, ans, x):
    return -g * np.sin(x)


@adjoint(np.tan)
def _(g, ans, x):
    return g * (1.0 + ans * ans)


@adjoint(np.exp)
def _(g, ans, x):
    return g * ans


@adjoint(np.log)
def _(g, ans, x):
    return g / x


@adjoint(np.log1p)
def _(g, ans, x):
    return g / (1.0 + x)


@adjoint(np.expm1)
def _(g, ans, x):
    return g * (ans + 1.0)


@adjoint(np.sqrt)
def _(g, ans, x):
    return g / (2.0 * ans)


@adjoint(np.square)
def _(g, ans, x):
    return 2.0 * g * x


@adjoint(np.sinh)
def _(g, ans, x):
    return g * np.cosh(x)


@adjoint(np.cosh)
def _(g, ans, x):
    return g * np.sinh(x)


@adjoint(np.arcsin)
def _(g, ans, x):
    return g / np.sqrt(1.0 - x * x)


@adjoint(np.arccos)
def _(g, ans, x):
    return -g / np.sqrt(1.0 - x * x)


@adjoint(np.abs)
def _(g, ans, x):
    return abs_grad(g, x, ans)


# (in gradients: their derivatives, Hessians, go through these)
@adjoint(abs_grad, elementwise=True)
def _(g, ans, cotangent, x, abs_x):
    return abs_grad_grads(g, cotangent, x, abs_x)


@adjoint(imag_grad)
def _(g, ans, cotangent, x):
    return np.imag(g), None


@adjoint(np.reciprocal)
def _(g, ans, x):
    return -g * ans * ans


@adjoint(np.arctan2, elementwise=True)
def _(g, ans, y, x):
    return g * x / (x * x + y * y), -g * y / (x * x + y * y)


@adjoint(np.hypot, elementwise=True)
def _(g, ans, a, b):
    return g * a / ans, g * b / ans


@adjoint(np.maximum, elementwise=True)
@adjoint(np.fmax, elementwise=True)
def _(g, ans, a, b):
    return g * share_max(a, b), g * share_max(b, a)


@adjoint(np.minimum, elementwise=True)
@adjoint(np.fmin, elementwise=True)
def _(g, ans, a, b):
    return g * share_max(b, a), g * share_max(a, b)


@adjoint(np.logaddexp, elementwise=True)
def _(g, ans, a, b):
    return g * np.exp(a - ans), g * np.exp(b - ans)


@adjoint(np.logaddexp2, elementwise=True)
def _(g, ans, a, b):
    return g * np.exp2(a - ans), g * np.exp2(b - ans)


@adjoint(np.remainder, elementwise=True)
def _(g, ans, a, b):
    return g, -g * np.floor_divide(a, b)


@adjoint(np.arcsinh)
def _(g, ans, x):
    return g / np.sqrt(x * x + 1.0)


@adjoint(np.arccosh)
def _(g, ans, x):
    return g / np.sqrt(x * x - 1.0)


@adjoint(np.arctanh)
def _(g, ans, x):
    return g / (1.0 - x * x)


@adjoint(np.exp2)
def _(g, ans, x):
    return g * ans * 0.6931471805599453


@adjoint(np.log2)
def _(g, ans, x):
    return g / (x * 0.6931471805599453)


@adjoint(np.log10)
def _(g, ans, x):
    return g / (x * 2.302585092994046)


@adjoint(np.fabs)
def _(g, ans, x):
    return g * np.sign(x)


@adjoint(np.deg2rad)
@adjoint(np.radians)
def _(g, ans, x):
    return g * 0.017453292519943295


@adjoint(np.rad2deg)
@adjoint(np.degrees)
def _(g, ans, x):
    return g * 57.29577951308232


@adjoint(np.sinc)
def _(g, ans, x):
    return g * sinc_slope(x)


# complex values: the cotangent gz of z with dL = Re(sum(gz * dz)) (autograd's convention);
# a real result's cotangent is taken real before it reaches a complex argument
@adjoint(np.real)
@adjoint(real_part)  # (in gradients: their derivatives, Hessians, go through it)
def _(g, ans, x):
    return real_part(g)


@adjoint(np.real_if_close)
def _(g, ans, x):
    return g if np.iscomplexobj(ans) else real_part(g)


@adjoint(np.conjugate)
def _(g, ans, x):
    return np.conj(g)


@adjoint(np.imag)
def _(g, ans, x):
    return imag_grad(g, x)


@adjoint(np.angle)
def _(g, ans, x, deg=False):
    return angle_grad(g, x) * (180.0 / np.pi if deg else 1.0), None


@adjoint(np.nan_to_num)
def _(g, ans, x):
    return g * np.isfinite(x)




@adjoint(np.where, elementwise=True)
def _(g, ans, condition, x, y):
    return None, np.where(condition, g, 0.0), np.where(condition, 0.0, g)


@adjoint_method("clip")
@adjoint(np.clip)
def _(g, ans, a, a_min=None, a_max=None):
    return (g * clip_mask(a, a_min, a_max),
            unbroadcast(g * clipped_below(a, a_min, a_max), a_min),
            unbroadcast(g * clipped_above(a, a_min, a_max), a_max))


# (parameters named as NumPy names them, so that keyword arguments bind: np.sum(a=x))
@adjoint_method("sum")
@adjoint(np.sum)
def _(g, ans, a, axis=None, keepdims=False, dtype=None):
    return unreduce(g, a, axis, keepdims), None, None, None


@adjoint_method("mean")
@adjoint(np.mean)
def _(g, ans, a, axis=None, keepdims=False, dtype=None):
    return unreduce(g, a, axis, keepdims) / count(a, axis), None, None, None


@adjoint_method("prod")
@adjoint(np.prod)
def _(g, ans, a, axis=None, keepdims=False, dtype=None):
    return unreduce(g * ans, a, axis, keepdims) / a, None, None, None


@adjoint_method("max")
@adjoint(np.max)
@adjoint(np.amax)
def _(g, ans, a, axis=None, keepdims=False):
    return max_grad(g, ans, a, axis, keepdims), None, None


@adjoint_method("min")
@adjoint(np.min)
@adjoint(np.amin)
def _(g, ans, a, axis=None, keepdims=False):
    return max_grad(g, ans, a, axis, keepdims), None, None


@adjoint_method("var")
@adjoint(np.var)
def _(g, ans, a, axis=None, keepdims=False, ddof=0, dtype=None):
    return var_grad(g, a, axis, keepdims, ddof), None, None, None, None


@adjoint_method("std")
@adjoint(np.std)
def _(g, ans, a, axis=None, keepdims=False, ddof=0, dtype=None):
    return var_grad(g / (2.0 * ans), a, axis, keepdims, ddof), None, None, None, None


@adjoint(np.linalg.norm)
def _(g, ans, x, ord=None, axis=None, keepdims=False):
    return unreduce(div(g, ans), x, axis, keepdims) * norm_input(x, ord, axis), None, None, None


# (an identity for derivatives that checks the norm's order: differentiated again as one)
@adjoint(norm_input)
def _(g, ans, x, ord=None, axis=None):
    return g, None, None


@adjoint(np.dot)
def _(g, ans, a, b):
    return dot_grad_a(g, a, b), dot_grad_b(g, a, b)


@adjoint(np.outer)
def _(g, ans, a, b):
    return (g @ np.ravel(b)).reshape(np.shape(a)), (np.ravel(a) @ g).reshape(np.shape(b))


@adjoint(np.einsum)
def _(g, ans, subscripts, a, b):
    return None, einsum_grad(g, subscripts, a, b, 0), einsum_grad(g, subscripts, a, b, 1)


@adjoint(np.linalg.solve)
def _(g, ans, a, b):
    return solve_grad_a(g, ans, a), solve_grad_b(g, a)


@adjoint(np.linalg.inv)
def _(g, ans, a):
    return -np.swapaxes(ans, -1, -2) @ g @ np.swapaxes(ans, -1, -2)


@adjoint(np.reshape)
def _(g, ans, a, shape):
    return np.reshape(g, np.shape(a)), None


@adjoint(np.transpose)
def _(g, ans, a, axes=None):
    return untranspose(g, axes), None


@adjoint(np.swapaxes)
def _(g, ans, a, axis1, axis2):
    return np.swapaxes(g, axis1, axis2), None, None


@adjoint(np.expand_dims)
def _(g, ans, a, axis):
    return np.reshape(g, np.shape(a)), None


@adjoint_method("squeeze")
@adjoint(np.squeeze)
def _(g, ans, a, axis=None):
    return np.reshape(g, np.shape(a)), None


@adjoint_method("flatten")
@adjoint_method("ravel")
@adjoint(np.ravel)
def _(g, ans, a):
    return np.reshape(g, np.shape(a))


@adjoint_method("cumsum")
@adjoint(np.cumsum)
def cumsum_rule(g, ans, a, axis=None):
    if axis is None:
        return np.reshape(np.flip(np.cumsum(np.flip(np.ravel(g)))), np.shape(a)), None
    return np.flip(np.cumsum(np.flip(g, axis), axis), axis), None


@adjoint(np.flip)
def _(g, ans, m, axis=None):
    return np.flip(g, axis), None


@adjoint(np.roll)
def _(g, ans, a, shift, axis=None):
    return np.roll(g, np.negative(shift), axis), None, None


@adjoint(np.diff)
def _(g, ans, a, n=1, axis=-1):
    return diff_grad(g, np.shape(a), n, axis), None, None


@adjoint(np.trace)
def _(g, ans, a):
    return g * np.eye(*np.shape(a))


@adjoint(np.atleast_1d)
@adjoint(np.atleast_2d)
@adjoint(np.atleast_3d)
def _(g, ans, x):
    return np.reshape(g, np.shape(x))


@adjoint(np.fliplr)
def _(g, ans, m):
    return np.fliplr(g)


@adjoint(np.flipud)
def _(g, ans, m):
    return np.flipud(g)


@adjoint(np.rot90)
def _(g, ans, m, k=1, axes=(0, 1)):
    return np.rot90(g, -k, axes), None, None


@adjoint(np.moveaxis)
def _(g, ans, a, source, destination):
    return np.moveaxis(g, destination, source), None, None


@adjoint(np.tril)
def _(g, ans, m, k=0):
    return np.tril(g, k), None


@adjoint(np.triu)
def _(g, ans, m, k=0):
    return np.triu(g, k), None


@adjoint(np.diag)
def _(g, ans, v, k=0):
    return diag_grad(g, v, k), None


@adjoint(np.diagonal)
def _(g, ans, a, offset=0, axis1=0, axis2=1):
    return diagonal_grad(g, a, offset, axis1, axis2), None, None, None


@adjoint(np.tile)
def _(g, ans, A, reps):
    return tile_grad(g, A, reps), None


@adjoint(np.repeat)
def _(g, ans, a, repeats, axis=None):
    return repeat_array_grad(g, a, repeats, axis), None, None


@adjoint(np.sort)
def _(g, ans, a, axis=-1):
    return sort_grad(g, a, axis), None


@adjoint(np.cross)
def _(g, ans, a, b):
    return np.cross(b, g), np.cross(g, a)


@adjoint(np.tensordot)
def _(g, ans, a, b, axes=2):
    return tensordot_grad(g, a, b, axes, 0), tensordot_grad(g, a, b, axes, 1), None


@adjoint(np.inner)
def _(g, ans, a, b):
    return (tensordot_grad(g, a, b, ([-1], [-1]), 0) if np.ndim(a) and np.ndim(b) else g * b,
            tensordot_grad(g, a, b, ([-1], [-1]), 1) if np.ndim(a) and np.ndim(b) else g * a)


@adjoint(np.kron)
def _(g, ans, a, b):
    return kron_grad(g, a, b, 0), kron_grad(g, a, b, 1)


@adjoint(np.rollaxis)
def rollaxis_rule(g, ans, a, axis, start=0):
    n = np.ndim(a)
    axis, start = axis % n, start % (n + 1)
    return np.moveaxis(g, start if start <= axis else start - 1, axis), None, None


@adjoint(np.pad)
def _(g, ans, array, pad_width, mode="constant"):
    return pad_grad(g, array, pad_width, mode), None, None


@adjoint(np.partition)
def _(g, ans, a, kth, axis=-1):
    return partition_grad(g, a, kth, axis), None, None


@adjoint(np.split)
@adjoint(np.array_split)
def _(g, ans, ary, indices_or_sections, axis=0):
    return split_grad(g, ary, axis), None, None


@adjoint(np.hsplit)
def _(g, ans, ary, indices_or_sections):
    return split_grad(g, ary, 1 if np.ndim(ary) > 1 else 0), None


@adjoint(np.vsplit)
def _(g, ans, ary, indices_or_sections):
    return split_grad(g, ary, 0), None


@adjoint(np.dsplit)
def _(g, ans, ary, indices_or_sections):
    return split_grad(g, ary, 2), None


@adjoint(np.linalg.det)
def _(g, ans, a):
    return det_grad(g, ans, a)


@adjoint(np.fft.fftshift)
def _(g, ans, x, axes=None):
    return np.fft.ifftshift(g, axes), None


@adjoint(np.fft.ifftshift)
def _(g, ans, x, axes=None):
    return np.fft.fftshift(g, axes), None


@adjoint(np.cumprod)
def _(g, ans, a, axis=None):
    return cumprod_grad(g, ans, a, axis), None


@adjoint(np.convolve)
def _(g, ans, a, v, mode="full"):
    return convolve_grad(g, a, v, mode, 0), convolve_grad(g, a, v, mode, 1), None


@adjoint(np.polyval)
def _(g, ans, p, x):
    return polyval_grad_p(g, p, x), g * np.polyval(np.polyder(p), x)


@adjoint(np.linalg.cholesky)
def _(g, ans, a):
    return cholesky_grad(g, ans)


@adjoint(np.linalg.eigh)
def _(g, ans, a, UPLO="L"):
    return eigh_grad(g, ans, a, UPLO), None


@adjoint(np.linalg.svd)
def _(g, ans, a, full_matrices=True, compute_uv=True):
    return svd_grad(g, ans, a, full_matrices, compute_uv), None, None


@adjoint(np.linalg.pinv)
def _(g, ans, a):
    return pinv_grad(g, ans, a)


@adjoint(np.gradient)
def _(g, ans, f, spacing=1.0, axis=None, edge_order=1):  # (one uniform spacing)
    return gradient_grad(g, f, (spacing,), axis, edge_order), None, None, None


@adjoint(np.linalg.slogdet)
def _(g, ans, a):  # (the sign is piecewise constant)
    return np.swapaxes(np.linalg.inv(a), -1, -2) * np.expand_dims(np.asarray(g[1]), (-1, -2))


@adjoint(np.concatenate)
def _(g, ans, arrays, axis=0):
    return split_like(g, arrays, axis), None


@adjoint(np.vstack)
def _(g, ans, tup):
    return stacked_like(g, tup, "v")


@adjoint(np.hstack)
def _(g, ans, tup):
    return stacked_like(g, tup, "h")


@adjoint(np.dstack)
def _(g, ans, tup):
    return stacked_like(g, tup, "d")


@adjoint(np.column_stack)
def _(g, ans, tup):
    return stacked_like(g, tup, "column")


@adjoint(np.append)
def _(g, ans, arr, values, axis=None):
    return append_grad(g, arr, values, axis, 0), append_grad(g, arr, values, axis, 1), None


@adjoint(np.stack)
def _(g, ans, arrays, axis=0):
    return unstack(g, arrays, axis), None


@adjoint(np.broadcast_to)
def _(g, ans, array, shape):
    return unbroadcast(g, array), None


@adjoint(np.array)
def _(g, ans, object):
    return to_structure(g, object)


@adjoint(np.asarray)
def _(g, ans, a):
    return to_structure(g, a)


@adjoint(np.full)
def _(g, ans, shape, fill_value, dtype=None):
    return None, fill_grad(g, ans, fill_value), None


@adjoint(np.full_like)
def _(g, ans, a, fill_value, dtype=None):
    return None, fill_grad(g, ans, fill_value), None


@adjoint(np.linspace)
def _(g, ans, start, stop, num=50):
    return (np.sum(g * linspace_weights(num, 0)), np.sum(g * linspace_weights(num, 1)),
            None)


@adjoint(np.arange)
def _(g, ans, start, stop=None, step=1):
    # arange(n) counts up to n: its values do not move with n
    return (0.0 if stop is None else np.sum(g)), None, arange_grad_step(g, stop)


@adjoint_method("copy")
@adjoint(np.copy)
def _(g, ans, a):
    return g


nondifferentiable(np.zeros, np.ones, np.zeros_like, np.ones_like, np.empty, np.empty_like,
                  np.eye, np.sign, np.floor,
                  np.ceil, np.round, np.rint, np.argmax, np.argmin, np.argsort, np.shape,
                  np.ndim, np.size, np.isnan, np.isfinite, np.isinf, np.greater, np.less,
                  np.equal, np.logical_and, np.logical_or, np.logical_not, np.identity,
                  np.tri, np.tril_indices, np.triu_indices)

# methods of arrays: x.sum(axis=0), x.T, ...


@adjoint_method("dot")
def _(g, ans, x, other):
    return dot_grad_a(g, x, other), dot_grad_b(g, x, other)


@adjoint_method("reshape")
def _(g, ans, x, d0=None, d1=None, d2=None, d3=None):
    return np.reshape(g, np.shape(x)), None, None, None, None


@adjoint_method("transpose")
def _(g, ans, x, a0=None, a1=None, a2=None, a3=None):
    return untranspose(g, None if a0 is None else ans_axes(a0, a1, a2, a3)), None, None, \
        None, None


def ans_axes(*axes):
    """The axes of ``x.transpose(0, 2, 1)`` or ``x.transpose((0, 2, 1))``."""
    if isinstance(axes[0], (tuple, list)):
        return tuple(axes[0])
    return tuple(a for a in axes if a is not None)


@adjoint_method("T", attribute=True)
def _(g, ans, x):
    return np.transpose(g)


# -- lists and tuples: + concatenates, * repeats ----------------------------------------------


@adjoint_for_sequences(operator.add)
def _(g, ans, a, b):
    return concat_grad(g, a, 0), concat_grad(g, a, 1)


@adjoint_for_sequences(builtins.max)
@adjoint_for_sequences(builtins.min)
def _(g, ans, xs):
    return extreme_grad(g, ans, xs)


@adjoint_for_sequences(operator.mul)
def _(g, ans, a, b):
    return repeat_grad(g, a, b), repeat_grad(g, b, a)


# -- the helpers generated code calls: a generated gradient is itself differentiated (hvp:
# forward mode over it; grad of grad) ----------------------------------------------------------

from .runtime import add as _add  # noqa: E402
from .runtime import (  # noqa: E402  (the others are imported with the array rules)
    copy_of,
    expand_to,
    fresh_copy,
    saved_item,
    tangent_zero,
    zeros_like,
)

nondifferentiable(zeros_like, tangent_zero)
adjoint(power, elementwise=True)(lookup(operator.pow).func)


# (div's own derivative divides as it does: IEEE where Python raises, so that a gradient of
# a gradient at atan2(0, 0) or sqrt(0) is nan or inf as the gradient is, not an exception)
@adjoint(div, elementwise=True)
def _(g, ans, a, b):
    return div(g, b), div(div(-g * a, b), b)


@adjoint(_log)
def _(g, ans, a):
    return div(g, a)


@adjoint(copy_of)
def _(g, ans, value):
    return g


@adjoint(fresh_copy)
def _(g, ans, value):
    return g


@adjoint(_add)
def _(g, ans, a, b):
    return g, g


@adjoint(unbroadcast)
def _(g, ans, cotangent, x):
    return expand_to(g, cotangent), None


@adjoint(unreduce)
def _(g, ans, cotangent, x, axis=None, keepdims=False):
    return reduce_to(g, cotangent, axis, keepdims), None, None, None


# masks and counts: constants for a derivative (zero almost everywhere)
nondifferentiable(clip_mask, clipped_below, clipped_above, count, share_max,
                  linspace_weights)

# -- discrete Fourier transforms (real or complex input; complex-linear ones are their own
# transpose, rfft's is the full transform of the padded half spectrum) --------------------

@adjoint(np.fft.fft)
def _(g, ans, a, n=None, axis=-1, norm=None):
    return fft_grad(g, a, np.fft.fft, n, axis, norm), None, None, None


@adjoint(np.fft.ifft)
def _(g, ans, a, n=None, axis=-1, norm=None):
    return fft_grad(g, a, np.fft.ifft, n, axis, norm), None, None, None


@adjoint(np.fft.fft2)
def _(g, ans, a, s=None, axes=(-2, -1), norm=None):
    return fft_grad(g, a, np.fft.fft2, s, axes, norm), None, None, None


@adjoint(np.fft.ifft2)
def _(g, ans, a, s=None, axes=(-2, -1), norm=None):
    return fft_grad(g, a, np.fft.ifft2, s, axes, norm), None, None, None


@adjoint(np.fft.fftn)
def _(g, ans, a, s=None, axes=None, norm=None):
    return fft_grad(g, a, np.fft.fftn, s, axes, norm), None, None, None


@adjoint(np.fft.ifftn)
def _(g, ans, a, s=None, axes=None, norm=None):
    return fft_grad(g, a, np.fft.ifftn, s, axes, norm), None, None, None


@adjoint(np.fft.rfft)
def _(g, ans, a, n=None, axis=-1, norm=None):
    return rfft_grad(g, a, n, axis, norm), None, None, None


@adjoint(np.fft.rfft2)
def _(g, ans, a, s=None, axes=(-2, -1), norm=None):
    return rfft_grad(g, a, s, axes, norm, True, True), None, None, None


@adjoint(np.fft.rfftn)
def _(g, ans, a, s=None, axes=None, norm=None):
    return rfft_grad(g, a, s, axes, norm, True), None, None, None


@adjoint(np.fft.irfft)
def _(g, ans, a, n=None, axis=-1, norm=None):
    return irfft_grad(g, a, n, axis, norm), None, None, None


@adjoint(np.fft.irfft2)
def _(g, ans, a, s=None, axes=(-2, -1), norm=None):
    return irfft_grad(g, a, s, axes, norm, True, True), None, None, None


@adjoint(np.fft.irfftn)
def _(g, ans, a, s=None, axes=None, norm=None):
    return irfft_grad(g, a, s, axes, norm, True), None, None, None


@adjoint(np.linalg.eig)
def _(g, ans, a):
    return eig_grad(g, ans, a)


@adjoint_method("conj")
@adjoint_method("conjugate")
def _(g, ans, x):
    return np.conj(g)


@adjoint_method("real", attribute=True)
def _(g, ans, x):
    return real_part(g)


@adjoint_method("imag", attribute=True)
def _(g, ans, x):
    return imag_grad(g, x)


# the positions list helpers of generated code compute (a gradient differentiated again)
nondifferentiable(insert_index, pop_index, slice_bounds)


# (a gradient of a gradient through sum: the adjoint of its adjoint)
@adjoint(fill_like)
def _(g, ans, xs, v):
    return None, unfill(g, v)


# (through max/min of a list, and list(x) / np.array(x) of a list: likewise)
@adjoint(extreme_grad)
def _(g, ans, gv, value, xs):
    return picked(g, value, xs), None, None


@adjoint(to_structure)
def _(g, ans, gv, x):
    return from_structure(g, gv), None


nondifferentiable(picked, from_structure)


#: helpers of generated code that are multilinear in some arguments (first list), read others
#: only for their shape or as a mask (constants for a derivative), and need the rest (second
#: list) to carry no derivative.  Forward mode maps tangents through them (a Hessian-vector
#: product: forward over reverse); the reverse mode has no rule for them, and refuses a
#: gradient of a gradient through them.
LINEAR_HELPERS: dict = {
    matmul_grad_a: ((0, 2), ()), matmul_grad_b: ((0, 1), ()),
    dot_grad_a: ((0, 2), ()), dot_grad_b: ((0, 1), ()),
    einsum_grad: ((0, 2, 3), ()),  # (forward.py: only g and the partner of `which`)
    max_grad: ((0,), ()), untranspose: ((0,), ()),
    split_like: ((0,), ()), unstack: ((0,), ()), to_structure: ((0,), ()),
    concat_grad: ((0,), ()), repeat_grad: ((0,), ()), unsort: ((0,), ()),
    fill_like: ((1,), ()), unfill: ((0,), ()), extreme_grad: ((0,), ()),
    var_grad: ((0, 1), ()),
    saved_item: ((0,), ()),  # (the old item of a dict: of the tangent dict, too)
    norm_input: ((0,), ()),  # (an identity that checks the order)
    # (the transposes of the DFTs: linear in the cotangent, x read for its shape)
    fft_grad: ((0,), ()), rfft_grad: ((0,), ()), irfft_grad: ((0,), ()),
    expand_to: ((0,), ()),  # (a cotangent that may be the number 0.0, given its shape)
    # (a reordering or differencing of the cotangent: the order is piecewise constant)
    sort_grad: ((0,), ()), diff_grad: ((0,), ()),
    fill_grad: ((0,), ()),  # (the array made read for its dtype)
    # (the two rules whose body is not one return, called as functions: a read for its shape)
    cumsum_rule: ((0,), ()), rollaxis_rule: ((0,), ()),
}

#: helpers of generated code that are not linear, with the function computing their tangent
#: from each argument and its tangent in turn (forward over reverse)
HELPER_JVPS: dict = {solve_grad_a: solve_grad_a_jvp, solve_grad_b: solve_grad_b_jvp}
