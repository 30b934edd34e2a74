"""Kinds: what each variable of an IR function may hold, inferred once for every pass.

A kind is a small, frozen description of a value: ``BOOL``, ``INT``, ``FLOAT`` (numbers),
``Array(ndim, dtype)`` (a NumPy array of known or unknown rank), ``Seq("list"|"tuple", elem,
elts)`` (with its elements' kinds, each one's for a fixed tuple, and ``shape_of`` for the value
of ``x.shape``), ``Dict(value)``, and the opaque ``STR``, ``NONE``, ``OBJECT`` (anything else).
``join`` is the least kind holding both (an int and a float make a float; a number and an array
an array; unrelated kinds ``OBJECT``).

``infer(body, params, env)`` runs one flow-insensitive fixed point over a function body --
primal IR or adjoint IR, the IR's own nodes included -- from its parameters' kinds, which the
caller knows (the arguments the transformation is specialized for).  The reverse pass asks it
which variables are arrays, of what rank, which are integers (indices) and which are
containers; the Wasm emitter maps the same kinds to f64, i64, i32 and array extents.
"""

from __future__ import annotations

import builtins
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gast
import numpy as np

from . import ir


class Kind:
    """A kind (see the module docstring)."""


@dataclass(frozen=True)
class Scalar(Kind):
    name: str  # "bool" < "int" < "float"

    def __repr__(self) -> str:
        return self.name.upper()


BOOL, INT, FLOAT = Scalar("bool"), Scalar("int"), Scalar("float")
_RANK = {"bool": 0, "int": 1, "float": 2}


@dataclass(frozen=True)
class Array(Kind):
    ndim: int | None = None  # None: unknown (maybe 0-d)
    dtype: str | None = "float"  # "float", "int", "bool", or None: unknown

    def __repr__(self) -> str:
        return f"Array({self.ndim}, {self.dtype})"


@dataclass(frozen=True)
class Seq(Kind):
    kind: str  # "list" or "tuple"
    elem: Any = None  # the join of the elements' kinds (None: no element seen)
    elts: tuple | None = None  # each element's kind, for a sequence of known length
    shape_of: str | None = None  # the value of `<shape_of>.shape`

    def item(self, k: int | None) -> Any:
        if k is not None and self.elts is not None and -len(self.elts) <= k < len(self.elts):
            return self.elts[k]
        return self.elem


@dataclass(frozen=True)
class Dict(Kind):
    value: Any = None


@dataclass(frozen=True)
class Opaque(Kind):
    name: str

    def __repr__(self) -> str:
        return self.name.upper()


STR, NONE, OBJECT = Opaque("str"), Opaque("none"), Opaque("object")


def is_number(k) -> bool:
    return isinstance(k, Scalar)


def is_int(k) -> bool:
    return k in (INT, BOOL)


def is_array(k) -> bool:
    return isinstance(k, Array)


def is_container(k) -> bool:
    return isinstance(k, (Seq, Dict))


def is_mutable(k) -> bool:
    """A value that can be changed in place (and so aliased): arrays, lists, dicts, objects."""
    return isinstance(k, (Array, Dict)) or k == OBJECT or (isinstance(k, Seq)
                                                            and k.kind == "list")


def join(a, b):
    """The least kind holding both ``a`` and ``b`` (None is "nothing yet")."""
    if a is None or a == b:
        return b
    if b is None:
        return a
    if a == NONE:  # a placeholder later given a value: the value's kind
        return b
    if b == NONE:
        return a
    if isinstance(a, Scalar) and isinstance(b, Scalar):
        return a if _RANK[a.name] >= _RANK[b.name] else b
    if isinstance(a, Array) or isinstance(b, Array):
        if isinstance(a, Array) and isinstance(b, Array):
            return Array(a.ndim if a.ndim == b.ndim else None,
                         a.dtype if a.dtype == b.dtype else None)
        other = b if isinstance(a, Array) else a
        arr = a if isinstance(a, Array) else b
        if isinstance(other, Scalar):  # a number that becomes an array (s = 0.0; s = s + v)
            return arr
        return OBJECT
    if isinstance(a, Seq) and isinstance(b, Seq) and a.kind == b.kind:
        elts = None
        if a.elts is not None and b.elts is not None and len(a.elts) == len(b.elts):
            elts = tuple(join(x, y) for x, y in zip(a.elts, b.elts))
        return Seq(a.kind, join(a.elem, b.elem), elts,
                   a.shape_of if a.shape_of == b.shape_of else None)
    if isinstance(a, Dict) and isinstance(b, Dict):
        return Dict(join(a.value, b.value))
    return OBJECT


def join_all(kinds):
    out = None
    for k in kinds:
        out = join(out, k)
    return out


# -- the kind of a Python value -----------------------------------------------------------------


def value_kind(value: Any, depth: int = 3):
    """The kind of an argument or a global: containers by their first element (values of one
    container are assumed to be of one kind, as NumPy's are)."""
    if isinstance(value, (bool, np.bool_)):
        return BOOL
    if isinstance(value, (int, np.integer)):
        return INT
    if isinstance(value, (float, np.floating)):
        return FLOAT
    if isinstance(value, np.ndarray):
        return Array(value.ndim, _dtype(value.dtype))
    if depth <= 0:
        return OBJECT
    if isinstance(value, list):
        return Seq("list", value_kind(value[0], depth - 1) if value else None)
    if isinstance(value, tuple):
        if len(value) <= 8:
            elts = tuple(value_kind(v, depth - 1) for v in value)
            return Seq("tuple", join_all(elts), elts)
        return Seq("tuple", value_kind(value[0], depth - 1))
    if isinstance(value, dict):
        first = next(iter(value.values()), None) if value else None
        return Dict(value_kind(first, depth - 1) if value else None)
    if isinstance(value, str):
        return STR
    if value is None:
        return NONE
    return OBJECT


def _dtype(dtype) -> str | None:
    kind = np.dtype(dtype).kind
    return {"f": "float", "i": "int", "u": "int", "b": "bool"}.get(kind)


def as_element(k):
    """The kind of one element (or row) of a value of kind ``k``."""
    if isinstance(k, Array):
        if k.ndim is None:
            return Array(None, k.dtype)
        if k.ndim <= 1:
            return {"int": INT, "bool": BOOL}.get(k.dtype, FLOAT)
        return Array(k.ndim - 1, k.dtype)
    if isinstance(k, Seq):
        return k.elem
    if isinstance(k, Dict):
        return k.value
    return OBJECT


# -- expressions ----------------------------------------------------------------------------------


@dataclass
class Env:
    """What ``kind_of`` needs besides the kinds of locals."""

    kinds: dict
    resolve: Callable  # a Name/Attribute -> the object it denotes, or MISSING
    is_local: Callable  # name -> whether it is a variable of the function
    callee: Callable | None = None  # (function, arg kinds) -> kind of its result
    extra: dict = field(default_factory=dict)  # object -> (lambda arg kinds -> kind)
    # locals whose kind is known from elsewhere and kept (a generated adjoint read again:
    # the primal's names, their kinds as the reverse pass inferred them)
    fixed: dict = field(default_factory=dict)


def kind_of(e, env: Env):
    """The kind of a flat (or tidied) IR expression."""
    if isinstance(e, gast.Constant):
        return value_kind(e.value)
    if isinstance(e, gast.Name):
        if env.is_local(e.id):
            return env.kinds.get(e.id)
        obj = env.resolve(e)
        return OBJECT if _unresolved(obj) else value_kind(obj)
    if isinstance(e, gast.Attribute):
        return _attribute_kind(e, env)
    if isinstance(e, gast.BinOp):
        return _binop_kind(e.op, kind_of(e.left, env), kind_of(e.right, env), e.right)
    if isinstance(e, gast.UnaryOp):
        k = kind_of(e.operand, env)
        if isinstance(e.op, gast.Not):
            return BOOL
        if isinstance(e.op, gast.Invert):
            return INT if k == BOOL else k
        return INT if k == BOOL else k
    if isinstance(e, gast.Compare):
        ks = [kind_of(e.left, env)] + [kind_of(c, env) for c in e.comparators]
        ranks = [k.ndim for k in ks if isinstance(k, Array)]
        if ranks:
            return Array(max(ranks) if None not in ranks else None, "bool")
        return BOOL
    if isinstance(e, gast.BoolOp):
        return join_all(kind_of(v, env) for v in e.values)
    if isinstance(e, gast.IfExp):
        return join(kind_of(e.body, env), kind_of(e.orelse, env))
    if isinstance(e, gast.Subscript):
        return _subscript_kind(e, env)
    if isinstance(e, (gast.Tuple, gast.List)):
        elts = tuple(kind_of(x, env) for x in e.elts)
        kind = "tuple" if isinstance(e, gast.Tuple) else "list"
        return Seq(kind, join_all(elts), elts)
    if isinstance(e, gast.Dict):
        return Dict(join_all(kind_of(v, env) for v in e.values))
    if isinstance(e, gast.JoinedStr):
        return STR
    if isinstance(e, gast.Call):
        return _call_kind(e, env)
    if isinstance(e, (ir.StackMark, ir.StackGrowth)):
        return INT
    if isinstance(e, ir.Pop):
        return None
    if isinstance(e, ir.VjpCall):
        kinds = ir.anno(e, "kinds") or (FLOAT,) * (e.count or 1)
        return kinds[0] if len(kinds) == 1 else Seq("tuple", join_all(kinds), tuple(kinds))
    return OBJECT


def _unresolved(obj) -> bool:
    from .parse import MISSING

    return obj is MISSING


def _attribute_kind(e, env):
    base = e.value
    if isinstance(base, gast.Name) and env.is_local(base.id) or not _is_constant_ref(base, env):
        k = kind_of(base, env)
        if isinstance(k, Array):
            if e.attr == "shape":
                n = k.ndim
                name = base.id if isinstance(base, gast.Name) else None
                return Seq("tuple", INT, (INT,) * n if n is not None else None, name)
            if e.attr in ("ndim", "size", "itemsize", "nbytes"):
                return INT
            if e.attr in ("T", "real", "imag"):
                return k
            return OBJECT
        return OBJECT
    obj = env.resolve(e)
    return OBJECT if _unresolved(obj) else value_kind(obj)


def _is_constant_ref(node, env) -> bool:
    if isinstance(node, gast.Name):
        return not env.is_local(node.id)
    if isinstance(node, gast.Attribute):
        return _is_constant_ref(node.value, env)
    return False


def _number_or_array(*kinds):
    """The kind of arithmetic on operands of these kinds (None if one is not known yet)."""
    if any(k is None for k in kinds):
        return None
    arrays = [k for k in kinds if isinstance(k, Array)]
    if arrays:
        ranks = [a.ndim for a in arrays]
        dtypes = {a.dtype for a in arrays}
        return Array(None if None in ranks else max(ranks),
                     dtypes.pop() if len(dtypes) == 1 else None)
    if all(isinstance(k, Scalar) for k in kinds):
        return join_all(INT if k == BOOL else k for k in kinds)
    return OBJECT


def _binop_kind(op, lk, rk, right_node=None):
    if lk is None or rk is None or lk == NONE or rk == NONE:
        # (arithmetic on a None placeholder -- `prev = None` before a loop that binds it --
        # raises if it ever runs: the value's kind comes from the other assignments)
        return None
    seq = lk if isinstance(lk, Seq) else rk if isinstance(rk, Seq) else None
    if seq is not None:
        if isinstance(op, gast.Add) and isinstance(lk, Seq) and isinstance(rk, Seq):
            elts = lk.elts + rk.elts if lk.elts is not None and rk.elts is not None else None
            return Seq(lk.kind, join(lk.elem, rk.elem), elts)
        if isinstance(op, gast.Mult) and (is_int(lk) or is_int(rk)):
            return Seq(seq.kind, seq.elem)
        return OBJECT
    if isinstance(op, gast.MatMult):
        return _matmul_kind(lk, rk)
    out = _number_or_array(lk, rk)
    if isinstance(out, Array):
        if isinstance(op, (gast.Div, gast.Pow)) and out.dtype != "float":
            out = Array(out.ndim, "float" if isinstance(op, gast.Div) else None)
        return out
    if out is None or out == OBJECT:
        return out
    if isinstance(op, gast.Div):
        return FLOAT
    if isinstance(op, gast.Pow) and out == INT:
        nonneg = isinstance(right_node, gast.Constant) and isinstance(right_node.value, int) \
            and right_node.value >= 0
        return INT if nonneg else FLOAT
    if isinstance(op, (gast.BitAnd, gast.BitOr, gast.BitXor)) and lk == rk == BOOL:
        return BOOL
    return out


def _matmul_kind(a, b):
    if not (isinstance(a, Array) and isinstance(b, Array)):
        return Array(None)
    if a.ndim is None or b.ndim is None:
        return Array(None)
    if a.ndim == 1 and b.ndim == 1:
        return FLOAT
    if a.ndim == 1 or b.ndim == 1:
        return Array(max(a.ndim, b.ndim) - 1)
    return Array(max(a.ndim, b.ndim))


def _index_parts(index):
    return index.elts if isinstance(index, gast.Tuple) else [index]


def _subscript_kind(e, env):
    base = kind_of(e.value, env)
    index = e.slice
    if base is None:
        return None
    if isinstance(base, Array):
        if base.ndim is None:
            return Array(None, base.dtype)
        removed, added = 0, 0
        for part in _index_parts(index):
            if isinstance(part, gast.Slice):
                continue
            if isinstance(part, gast.Constant) and part.value is None:
                added += 1
                continue
            pk = kind_of(part, env)
            if is_int(pk):
                removed += 1
            elif isinstance(part, gast.Constant) and part.value is Ellipsis:
                return Array(None, base.dtype)
            else:  # fancy (array or list) indexing, or a mask
                return Array(None, base.dtype)
        ndim = base.ndim - removed + added
        if ndim == 0:
            return {"int": INT, "bool": BOOL}.get(base.dtype, FLOAT)
        return Array(ndim, base.dtype) if ndim > 0 else OBJECT
    if isinstance(base, Seq):
        if isinstance(index, gast.Slice):
            return Seq(base.kind, base.elem)
        k = index.value if isinstance(index, gast.Constant) and isinstance(index.value, int) \
            else None
        return base.item(k)
    if isinstance(base, Dict):
        return base.value
    if base == STR:
        return STR
    return OBJECT


def _arg(node, env, k, name=None):
    """The kind of argument ``k`` (or keyword ``name``) of a call, or None if absent."""
    for kw in node.keywords:
        if kw.arg == name and name is not None:
            return kind_of(kw.value, env)
    if k is not None and k < len(node.args):
        return kind_of(node.args[k], env)
    return None


def _arg_node(node, k, name=None):
    for kw in node.keywords:
        if kw.arg == name and name is not None:
            return kw.value
    if k is not None and k < len(node.args):
        return node.args[k]
    return None


INT_BUILTINS = {builtins.len, builtins.int, builtins.hash, builtins.id, operator.index}
BOOL_BUILTINS = {builtins.bool, builtins.isinstance, builtins.callable, math.isnan,
                 math.isinf, math.isfinite, math.isclose}
INT_MATH = {math.floor, math.ceil, math.trunc, math.factorial, math.gcd, math.comb, math.perm,
            math.isqrt}
REDUCTIONS = {"sum", "mean", "prod", "max", "min", "var", "std", "amax", "amin", "nansum",
              "nanmean", "average", "median", "all", "any", "argmax", "argmin", "ptp", "trace"}
SAME_SHAPE = {"copy", "clip", "cumsum", "cumprod", "sort", "round", "around", "conj",
              "nan_to_num", "astype", "negative", "abs", "absolute", "sign", "real", "imag",
              "diff", "roll", "flip", "fliplr", "flipud", "array", "asarray", "ascontiguousarray",
              "asfortranarray", "tanh", "squeeze_like"}


def _call_kind(e, env):
    func = e.func
    obj = env.resolve(func)
    obj = getattr(obj, "s2sad_recursive_target", None) or obj  # (transform._Pending)
    if _unresolved(obj) and isinstance(func, gast.Attribute):
        return _method_kind(e, func.attr, kind_of(func.value, env), env)
    if _unresolved(obj):
        return OBJECT  # a call of a local (a callable value)
    if obj in env.extra:
        return env.extra[obj]([kind_of(a, env) for a in e.args])
    args = [kind_of(a, env) for a in e.args]
    module = getattr(obj, "__module__", "") or ""
    if module in ("s2sad.runtime", "s2sad.rules", "s2sad.wasm_emit") or is_forward_helper(obj):
        return _helper_kind(getattr(obj, "__name__", ""), args)
    if obj is builtins.range:  # (a sequence of ints that cannot be changed)
        return Seq("tuple", INT)
    if obj is builtins.enumerate or obj is builtins.zip:
        return OBJECT
    if obj in INT_BUILTINS:
        return INT
    if obj in BOOL_BUILTINS:
        return BOOL
    if obj is builtins.float:
        return FLOAT
    if obj is builtins.round:
        return INT if len(args) == 1 else FLOAT
    if obj is builtins.abs:
        return INT if args and args[0] == BOOL else (args[0] if args else OBJECT)
    if obj in (builtins.min, builtins.max):
        if len(args) == 1:
            return as_element(args[0]) if args[0] is not None else None
        return _number_or_array(*args) if args else OBJECT
    if obj is builtins.pow:
        return _binop_kind(gast.Pow(), *(args + [INT])[:2], e.args[1] if len(e.args) > 1
                           else None)
    if obj is builtins.sum:
        if not args or args[0] is None:
            return None
        start = args[1] if len(args) > 1 else INT
        return _number_or_array(as_element(args[0]) or FLOAT, start)
    if obj is builtins.divmod:
        k = _number_or_array(*args)
        return Seq("tuple", k, (k, k))
    if obj in (builtins.list, builtins.tuple, builtins.sorted, builtins.reversed):
        kind = "tuple" if obj is builtins.tuple else "list"
        if not args:
            return Seq(kind, None, ())
        if args[0] is None:
            return None
        if isinstance(args[0], Dict):  # the keys
            return Seq(kind, OBJECT)
        if isinstance(args[0], Seq) and obj is not builtins.sorted:
            return Seq(kind, args[0].elem, args[0].elts if obj is not builtins.reversed
                       else None)
        return Seq(kind, as_element(args[0]))
    if obj is builtins.dict:
        return Dict(join_all([kind_of(k.value, env) for k in e.keywords]
                             + [as_element(a) for a in args]))
    if obj in (builtins.str, builtins.repr, builtins.format):
        return STR
    if obj is builtins.print:
        return NONE
    if obj in INT_MATH:
        return INT
    if obj is math.frexp:
        return Seq("tuple", FLOAT, (FLOAT, INT))
    if obj is math.modf:
        return Seq("tuple", FLOAT, (FLOAT, FLOAT))
    if getattr(obj, "__module__", None) == "math" or obj in vars(math).values():
        return FLOAT
    if _is_numpy(obj):
        return _numpy_kind(obj, e, args, env)
    if env.callee is not None and is_derivative(obj):  # a gradient s2sad made
        from .nested import source_for_call

        return env.callee(source_for_call(obj, args), args)
    if env.callee is not None and _is_user_function(obj):
        return env.callee(obj, args)
    if all(isinstance(a, Scalar) for a in args) and args:
        return FLOAT
    if any(isinstance(a, Array) for a in args):
        return Array(None)
    return OBJECT


def dtype_of(node, resolve) -> str | None:
    """What a ``dtype=`` argument says: ``"float"`` (``float``, ``np.float64``, ``"f8"``...),
    ``"complex"``, or None for any other (one that may truncate)."""
    if isinstance(node, gast.Constant):
        return {"float": "float", "float64": "float", "f8": "float", "d": "float",
                "complex": "complex", "complex128": "complex"}.get(node.value)
    obj = resolve(node)
    return "float" if obj in (builtins.float, np.float64) else \
        "complex" if obj in (builtins.complex, np.complex128) else None


def is_reduction_jvp(obj) -> bool:
    """Whether ``obj`` is forward mode's ``reduction_jvp`` (the tangent of a reduction, in
    tangent code), told by its module and name: kinds does not import forward.py."""
    return is_forward_helper(obj, "reduction_jvp")


# forward mode's helpers that tangent code calls and the Wasm lowering computes (kinds here,
# loops.py there)
FORWARD_HELPERS = ("reduction_jvp", "_sort_jvp")


def is_forward_helper(obj, name: str | None = None) -> bool:
    """Whether ``obj`` is forward mode's helper ``name`` (any of ``FORWARD_HELPERS`` when
    None)."""
    return getattr(obj, "__module__", None) == "s2sad.forward" and \
        getattr(obj, "__name__", None) in ((name,) if name else FORWARD_HELPERS)


def _helper_kind(name, args):
    """Kinds of what the runtime helpers that generated code calls return."""
    first = args[0] if args else None
    if name in ("zeros_like", "copy_of", "tape_value", "fill_like", "tangent_zero"):
        return first
    if name in ("unbroadcast", "unreduce", "expand_to", "matmul_grad_a", "dot_grad_a",
                "to_structure", "_sort_jvp"):  # (shaped like their second argument)
        return args[1] if len(args) > 1 else None
    if name in ("matmul_grad_b", "dot_grad_b", "max_grad", "reduction_jvp"):  # (like their
        return args[2] if len(args) > 2 else None  # third: reduction_jvp's is the reduction)
    if name == "var_grad":
        return args[1] if len(args) > 1 else None
    if name == "add":
        return join_all(args)
    if name == "_log":
        return first if isinstance(first, Array) else FLOAT
    if name in ("div", "power"):
        out = _number_or_array(*[a if a is not None else FLOAT for a in args[:2]])
        return FLOAT if out in (INT, BOOL) else out
    if name == "like":
        return first
    if name == "take_item" and isinstance(first, Dict):  # (a dict of cotangents' value)
        return first.value if first.value is not None else OBJECT
    return OBJECT if not any(isinstance(a, Array) for a in args) else Array(None)


def is_derivative(obj) -> bool:
    """A gradient s2sad returned (nested.py differentiates a call of it again)."""
    if getattr(obj, "recipe", None) is None:  # (most calls: no import, no further test)
        return False
    from .nested import derivative_recipe

    return derivative_recipe(obj) is not None


def _is_user_function(obj) -> bool:
    import types

    from .rules import is_library

    return isinstance(obj, types.FunctionType) and not is_library(obj)


def _is_numpy(obj) -> bool:
    return isinstance(obj, np.ufunc) or (getattr(obj, "__module__", "") or "").startswith(
        "numpy")


def _shape_rank(node, k, env):
    """The rank an array of shape ``node`` (an argument) has, or None."""
    if k is None:
        return None
    if is_int(k):
        return 1
    if isinstance(k, Seq) and k.elts is not None:
        return len(k.elts)
    return None


def _axis_rank(x, e, env, axis_pos, keep_pos=None):
    """The rank of a reduction of ``x`` along the call's ``axis``."""
    if not isinstance(x, Array):
        return FLOAT if isinstance(x, Scalar) else None if x is None else Array(None)
    axis = _arg_node(e, axis_pos, "axis")
    keep = _arg_node(e, keep_pos, "keepdims")
    keepdims = isinstance(keep, gast.Constant) and keep.value is True
    if axis is None or isinstance(axis, gast.Constant) and axis.value is None:
        return Array(x.ndim, x.dtype) if keepdims else FLOAT
    if x.ndim is None or keep is not None and not isinstance(keep, gast.Constant):
        return Array(None)
    if keepdims:
        return Array(x.ndim)
    n = _axes_count(axis, env)
    if n is None:
        return Array(None)
    rank = x.ndim - n
    return FLOAT if rank == 0 else Array(rank)


def _squeezed(x, axis, env):
    """The kind of ``np.squeeze(x, axis)``: a rank less by the axes named (unknown without
    them: it depends on the extents)."""
    dtype = x.dtype if isinstance(x, Array) else None
    if not isinstance(x, Array) or x.ndim is None or axis is None or \
            isinstance(axis, gast.Constant) and axis.value is None:
        return Array(None, dtype)
    n = _axes_count(axis, env)
    return Array(x.ndim - n if n is not None and n <= x.ndim else None, dtype)


def _axes_count(axis, env) -> int | None:
    """How many axes an ``axis`` argument names: 1 for an int, a tuple's length (None when
    its kind does not say)."""
    ak = kind_of(axis, env)
    return 1 if is_int(ak) else len(ak.elts) if isinstance(ak, Seq) and ak.elts else None


def _numpy_kind(obj, e, args, env):
    name = getattr(obj, "__name__", "")
    if not args:  # the array passed by keyword: np.sum(a=x)
        for k in e.keywords:
            if k.arg in ("a", "x", "array", "object", "arrays"):
                args = [kind_of(k.value, env)]
                break
    first = args[0] if args else None
    if any(a is None for a in args[:1]):
        return None
    if name == "einsum" and e.args and isinstance(e.args[0], gast.Constant) and \
            isinstance(e.args[0].value, str) and "." not in e.args[0].value and \
            all(isinstance(a, Array) and a.dtype in ("float", "int", "bool") or
                isinstance(a, Scalar) for a in args[1:]):
        # (real operands: the output's rank is its letters -- after '->', else those seen
        # once)
        ins, arrow, out = e.args[0].value.replace(" ", "").partition("->")
        letters = ins.replace(",", "")
        rank = len(out) if arrow else sum(1 for c in set(letters) if letters.count(c) == 1)
        real = any(a == FLOAT or isinstance(a, Array) and a.dtype == "float"
                   for a in args[1:])
        return (FLOAT if real else INT) if rank == 0 else \
            Array(rank, "float" if real else "int")
    if isinstance(obj, np.ufunc):
        if obj.nin == 1 or name in ("add", "subtract", "multiply", "divide", "power",
                                    "true_divide", "maximum", "minimum", "arctan2", "hypot",
                                    "logaddexp", "fmod", "mod", "remainder", "copysign"):
            out = _number_or_array(*[a if a is not None else FLOAT for a in args[:obj.nin]])
            if name in ("isnan", "isinf", "isfinite", "signbit", "logical_not") or \
                    name in ("greater", "less", "equal", "not_equal", "greater_equal",
                             "less_equal", "logical_and", "logical_or", "logical_xor"):
                return Array(out.ndim, "bool") if isinstance(out, Array) else BOOL
            if isinstance(out, Array) and out.dtype != "float" and name not in (
                    "add", "subtract", "multiply", "maximum", "minimum", "negative",
                    "absolute", "square", "sign", "fmod", "mod", "remainder"):
                return Array(out.ndim, "float")
            if out == INT and name not in ("add", "subtract", "multiply", "maximum",
                                           "minimum", "negative", "absolute", "square"):
                return FLOAT
            return out
        return Array(None)
    if name in REDUCTIONS:
        out = _axis_rank(first, e, env, 1, 3 if name in ("sum", "mean", "prod") else 2)
        if name in ("argmax", "argmin"):
            return INT if out == FLOAT else out
        if name in ("all", "any"):
            return BOOL if out == FLOAT else out
        return out
    if name == "norm":
        return _axis_rank(first, e, env, 2, 3)
    if name in ("zeros", "ones", "empty", "full"):
        rank = _shape_rank(_arg_node(e, 0, "shape"), first, env)
        return Array(rank, "float")
    if name in ("zeros_like", "ones_like", "empty_like", "full_like"):
        dtype = _arg_node(e, None, "dtype")
        if dtype is not None:  # (dtype=float: a float array whatever the first one holds)
            dtype = "float" if dtype_of(dtype, env.resolve) == "float" else None
        return Array(first.ndim, dtype or first.dtype) if isinstance(first, Array) else \
            Array(None, dtype) if not isinstance(first, Scalar) else FLOAT
    if name in ("arange", "linspace", "logspace"):
        return Array(1, None if name == "arange" else "float")
    if name in ("eye", "identity", "outer", "tri", "diag_matrix"):
        return Array(2)
    if name in ("dot", "matmul", "inner", "vdot"):
        return _matmul_kind(*(args + [None, None])[:2]) if name != "vdot" else FLOAT
    if name in ("reshape",):
        return Array(_shape_rank(_arg_node(e, 1, "newshape"), _arg(e, env, 1, "newshape"),
                             env), first.dtype if isinstance(first, Array) else None)
    if name in ("ravel", "flatten", "atleast_1d"):
        return Array(1, first.dtype if isinstance(first, Array) else None)
    if name in ("transpose", "swapaxes", "moveaxis", "flip"):
        return first if isinstance(first, Array) else Array(None)
    if name == "squeeze":
        return _squeezed(first, _arg_node(e, 1, "axis"), env)
    if name in ("tril_indices", "triu_indices"):  # (the rows and the columns of a triangle)
        return Seq("tuple", Array(1, "int"), (Array(1, "int"), Array(1, "int")))
    if name == "expand_dims":
        return Array(first.ndim + 1 if isinstance(first, Array) and first.ndim is not None
                     else None)
    if name in ("concatenate", "hstack", "vstack"):
        return as_element(first) if isinstance(first, Seq) and isinstance(
            as_element(first), Array) and name == "concatenate" else Array(None)
    if name == "stack":
        el = as_element(first) if isinstance(first, Seq) else None
        if isinstance(el, Array) and el.ndim is not None:
            return Array(el.ndim + 1)
        if isinstance(el, Scalar):
            return Array(1)
        return Array(None)
    if name in ("array", "asarray", "copy"):
        if isinstance(first, Array):
            return first
        if isinstance(first, Scalar):
            return Array(0)
        if isinstance(first, Seq):
            inner = as_element(first)
            if isinstance(inner, Scalar):
                return Array(1, "float" if inner == FLOAT else inner.name)
            if isinstance(inner, Seq) and isinstance(as_element(inner), Scalar):
                return Array(2)
        return Array(None)
    if name in ("where",):
        if len(args) == 1:
            return OBJECT
        return _number_or_array(*[a if a is not None else FLOAT for a in args[1:3]])
    if name in ("clip",) or name in SAME_SHAPE:
        return first if isinstance(first, (Array, Scalar)) else Array(None)
    if name in ("shape",):
        return Seq("tuple", INT)
    if name in ("ndim", "size"):
        return INT
    if name in ("float64", "float32", "double"):
        return FLOAT if not isinstance(first, Array) else Array(first.ndim, "float")
    if name in ("int64", "int32", "intp"):
        return INT if not isinstance(first, Array) else Array(first.ndim, "int")
    if name in ("solve",):
        b = args[1] if len(args) > 1 else None
        return b if isinstance(b, Array) else Array(None)
    if name in ("inv", "cholesky", "pinv"):
        return first if isinstance(first, Array) else Array(None)
    if name in ("det", "slogdet_sign"):
        return FLOAT
    return Array(None)


def _method_kind(e, attr, receiver, env):
    if receiver is None:
        return None
    args = [kind_of(a, env) for a in e.args]
    if isinstance(receiver, Array):
        if attr in REDUCTIONS:
            out = _axis_rank(receiver, e, env, 0, 2)
            if attr in ("argmax", "argmin"):
                return INT if out == FLOAT else out
            if attr in ("all", "any"):
                return BOOL if out == FLOAT else out
            return out
        if attr in ("copy", "clip", "astype", "round", "conj", "cumsum", "cumprod",
                    "transpose", "swapaxes"):
            if attr == "astype":
                return Array(receiver.ndim, None)
            return receiver
        if attr == "reshape":
            if len(e.args) == 1:
                return Array(_shape_rank(e.args[0], args[0], env))
            return Array(len(e.args))
        if attr in ("ravel", "flatten"):
            return Array(1, receiver.dtype)
        if attr == "dot":
            return _matmul_kind(receiver, args[0] if args else None)
        if attr == "item":
            return {"int": INT, "bool": BOOL}.get(receiver.dtype, FLOAT)
        if attr == "tolist":
            return Seq("list", as_element(receiver))
        if attr == "squeeze":
            return _squeezed(receiver, _arg_node(e, 0, "axis"), env)
        return OBJECT
    if isinstance(receiver, Seq):
        if attr == "pop":
            return receiver.elem
        if attr in ("index", "count"):
            return INT
        if attr == "copy":
            return Seq(receiver.kind, receiver.elem)
        if attr in ("append", "extend", "insert", "remove", "sort", "reverse", "clear"):
            return NONE
        return OBJECT
    if isinstance(receiver, Dict):
        if attr == "get":
            default = args[1] if len(args) > 1 else NONE
            return join(receiver.value, default)
        if attr in ("pop", "setdefault"):
            return receiver.value
        if attr == "copy":
            return receiver
        if attr in ("keys", "values", "items"):
            return OBJECT
        return OBJECT
    if receiver == STR:
        return STR if attr not in ("count", "find", "index") else INT
    return OBJECT


# -- statements -----------------------------------------------------------------------------------


def infer(body: list, params: dict, env: Env, rounds: int = 50) -> dict:
    """Kinds of every variable assigned in ``body`` (flow-insensitive: the join over all its
    assignments), starting from ``params``.  Names whose kind is never known stay absent."""
    kinds = env.kinds
    kinds.update(params)
    kinds.update(env.fixed)
    for _ in range(rounds):
        before = dict(kinds)
        _infer_block(body, env)
        if kinds == before:
            break
    return kinds


def _set(env, name, k):
    if k is not None and name not in env.fixed:
        env.kinds[name] = join(env.kinds.get(name), k)


def _infer_block(stmts, env):
    for s in stmts:
        if isinstance(s, gast.Assign):
            target, value = s.targets[0], s.value
            if isinstance(value, ir.Pop):
                continue  # restores a value assigned elsewhere: its kind comes from there
            k = kind_of(value, env)
            if isinstance(target, gast.Name):
                _set(env, target.id, k)
            elif isinstance(target, gast.Tuple):
                for j, t in enumerate(target.elts):
                    if isinstance(t, gast.Name):
                        _set(env, t.id, k.item(j) if isinstance(k, Seq) else
                             as_element(k) if k is not None else None)
            elif isinstance(target, gast.Subscript):
                _set_element(env, target, k)
        elif isinstance(s, gast.AugAssign) and isinstance(s.target, gast.Name):
            _set(env, s.target.id, _binop_kind(s.op, env.kinds.get(s.target.id),
                                               kind_of(s.value, env), s.value))
        elif isinstance(s, gast.If):
            _infer_block(s.body, env)
            _infer_block(s.orelse, env)
        elif isinstance(s, gast.While):
            _infer_block(s.body, env)
        elif isinstance(s, gast.For):
            if isinstance(s.target, gast.Name):
                _set(env, s.target.id, INT if _is_range_loop(s, env) else None)
            _infer_block(s.body, env)
        elif isinstance(s, gast.Expr) and isinstance(s.value, gast.Call):
            _mutation_kinds(s.value, env)


def _is_range_loop(s, env) -> bool:
    it = s.iter
    while isinstance(it, gast.Call) and env.resolve(it.func) is builtins.reversed:
        it = it.args[0]
    if isinstance(it, gast.Subscript):
        it = it.value
    return isinstance(it, gast.Call) and env.resolve(it.func) is builtins.range


def _set_element(env, target, k):
    """``xs[i] = v``: a list's or dict's element kind grows by ``v``'s kind."""
    base = target.value
    if not isinstance(base, gast.Name) or k is None or base.id in env.fixed:
        return
    if isinstance(target.slice, gast.Slice):  # ys[i:j] = zs stores zs's elements
        k = as_element(k)
    current = env.kinds.get(base.id)
    if isinstance(current, Seq) and current.kind == "list":
        elts = None  # (an item stored keeps the length: the items' kinds grow)
        if current.elts is not None and not isinstance(target.slice, gast.Slice):
            index = target.slice.value if isinstance(target.slice, gast.Constant) and \
                type(target.slice.value) is int else None
            n = len(current.elts)
            elts = tuple(join(e, k) if index is None or index % n == j else e
                         for j, e in enumerate(current.elts)) if n else None
        env.kinds[base.id] = Seq("list", join(current.elem, k), elts)
    elif isinstance(current, Dict):
        env.kinds[base.id] = Dict(join(current.value, k))


def _mutation_kinds(call, env):
    """``xs.append(v)`` and friends: the list's element kind grows; so does a dict of
    cotangents's value kind by what ``add_item`` and ``get_grad`` add to it."""
    func = call.func
    if isinstance(func, gast.Name) and call.args and isinstance(call.args[0], gast.Name):
        helper = env.resolve(func)
        position = {"add_item": 2, "get_grad": 3}.get(getattr(helper, "__name__", ""))
        bd = call.args[0].id
        current = env.kinds.get(bd)
        if position is not None and getattr(helper, "__module__", "") == "s2sad.runtime" \
                and len(call.args) > position and isinstance(current, Dict) and \
                bd not in env.fixed:
            env.kinds[bd] = Dict(join(current.value, kind_of(call.args[position], env)))
        return
    if not (isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name)
            and env.is_local(func.value.id)) or func.value.id in env.fixed:
        return
    current = env.kinds.get(func.value.id)
    if not (isinstance(current, Seq) and current.kind == "list"):
        return
    if func.attr == "append" and call.args:
        k = kind_of(call.args[0], env)
    elif func.attr == "insert" and len(call.args) == 2:
        k = kind_of(call.args[1], env)
    elif func.attr == "extend" and call.args:
        k = as_element(kind_of(call.args[0], env)) if kind_of(call.args[0], env) else None
    else:
        return
    if k is not None:
        env.kinds[func.value.id] = Seq("list", join(current.elem, k))
