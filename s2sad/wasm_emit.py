"""IR -> WebAssembly text (WAT).

The same IR that emit.py prints as Python -- the primal after ``parse`` and the adjoint after
``reverse``/``tidy`` -- is translated statement by statement into one Wasm function each:

* types are inferred once per function from the argument types the module is built for:
  ``float`` -> f64, ``int`` -> i64, ``bool`` -> i32, a float64 array -> an i32 address in
  linear memory plus one i64 per dimension (``$xs``, ``$xs.n0``); a variable that holds both
  ints and floats is an f64;
* locals keep the user's names (``$x``, ``$bx``, ``$_t1``); ``;;`` comments mark loops and
  branches with the user's line numbers;
* the tape is a region of linear memory above the arrays: ``$sp`` is its top, every push
  stores 8-byte slots and grows the memory when needed (a failed grow traps with
  ``error_code`` = 1, never overwrites);
* ``for`` over ``range`` counts a hidden trip index, so ``reversed(range(...)[:n])`` and
  Python's evaluate-once semantics come out exact; ``while`` is ``block``/``loop``.

Math that Wasm has (sqrt, abs, floor, ceil, min, max, copysign) is inline; the rest calls the
functions of ``wasm_math`` compiled into the same module.  Anything outside this subset raises
``S2SADError`` naming the construct and the user's line.
"""

from __future__ import annotations

import builtins
import math
import sys
from dataclasses import dataclass
from typing import Any

import gast
import numpy as np

from . import ir, kinds, rules, wasm_math
from . import runtime as tape
from .errors import S2SADError
from .loops import BINARY as NP_BINARY
from .loops import UNARY as NP_UNARY
from .wasm_checkpoint import OFF as CKPT_OFF
from .wasm_checkpoint import CheckpointEmitter

# a value read back from the tape as it was pushed (wasm.fuse_sincos's cosine)


def tape_value(v):
    return v


IDENTITIES = (tape.copy_of, tape_value)  # helpers that are the identity on numbers

F64, I64, I32 = "f64", "i64", "i32"
MISSING_ITEM = object()


@dataclass(frozen=True)
class Arr:
    """A float64 array argument: an address in linear memory and ``ndim`` extents."""

    ndim: int


@dataclass(frozen=True)
class Shape:
    """The value of ``x.shape`` for an array ``x`` (only indexed with constants)."""

    of: str


@dataclass(frozen=True)
class Multi:
    """The results of a call returning several numbers (``_t = f(x)``, read as ``_t[k]``):
    kept in the locals ``$_t.0``, ``$_t.1``, ...  A tuple of tuples of numbers (a helper's
    tangent function: ``(values, tangents)``) is kept flat, its items' ``groups`` saying
    which locals each is: ``(start, stop, is_tuple)``."""

    types: tuple
    groups: tuple | None = None

    def item(self, k: int) -> tuple[int, int, bool]:
        """Item ``k``'s locals ``(start, stop, is_tuple)``."""
        if self.groups is None:
            k %= len(self.types)
            return k, k + 1, False
        return self.groups[k % len(self.groups)]

    def part(self, k: int) -> Multi:
        start, stop, _ = self.item(k)
        return Multi(self.types[start:stop])


def multi_of(kind) -> Multi | None:
    """The Multi of a tuple of numbers, or of a tuple whose items are numbers or tuples of
    numbers; None for any other kind."""
    if not (isinstance(kind, kinds.Seq) and kind.kind == "tuple" and kind.elts):
        return None
    if all(k in _TYPE_OF for k in kind.elts):
        return Multi(tuple(_TYPE_OF[k] for k in kind.elts))
    types, groups = [], []
    for k in kind.elts:
        if k in _TYPE_OF:
            groups.append((len(types), len(types) + 1, False))
            types.append(_TYPE_OF[k])
        elif isinstance(k, kinds.Seq) and k.kind == "tuple" and k.elts and \
                all(x in _TYPE_OF for x in k.elts):
            groups.append((len(types), len(types) + len(k.elts), True))
            types += [_TYPE_OF[x] for x in k.elts]
        else:
            return None
    return Multi(tuple(types), tuple(groups))


INTERRUPT_FLAG = 8  # the address of the word that asks a running call to stop (Ctrl-C)

_TYPE_OF = {kinds.FLOAT: F64, kinds.INT: I64, kinds.BOOL: I32}
_KIND_OF = {F64: kinds.FLOAT, I64: kinds.INT, I32: kinds.BOOL}


def _kind_of_type(t):
    """The kind a parameter of Wasm type ``t`` holds."""
    if isinstance(t, Arr):
        return kinds.Array(t.ndim)
    if isinstance(t, Multi):  # (a tuple's cotangent seed)
        if t.groups is not None:
            items = tuple(kinds.Seq("tuple", None, tuple(_KIND_OF[x] for x in
                                                         t.types[a:b])) if nested
                          else _KIND_OF[t.types[a]] for a, b, nested in t.groups)
            return kinds.Seq("tuple", None, items)
        return kinds.Seq("tuple", None, tuple(_KIND_OF[x] for x in t.types))
    return _KIND_OF.get(t)


def _kind_words(kind) -> str:
    if isinstance(kind, kinds.Array):
        return "an array" + (" of unknown rank" if kind.ndim is None else " of no dimension"
                             if kind.ndim == 0 else " of integers or booleans")
    if isinstance(kind, kinds.Seq):
        return f"a {kind.kind}"
    if isinstance(kind, kinds.Dict):
        return "a dict"
    return {kinds.STR: "a string"}.get(kind, "a value of no number type")


MATH_NATIVE = {"sqrt": "f64.sqrt", "fabs": "f64.abs"}
MATH_TO_INT = {"floor": "f64.floor", "ceil": "f64.ceil", "trunc": "f64.trunc"}
MATH_LIBRARY = {"sin", "cos", "tan", "exp", "log", "log1p", "expm1", "tanh", "sinh", "cosh",
                "atan", "atan2", "asin", "acos", "hypot", "pow", "log2", "log10", "erf",
                "erfc", "asinh", "acosh", "atanh", "degrees", "radians", "lgamma"}
CMP = {gast.Lt: "lt", gast.LtE: "le", gast.Gt: "gt", gast.GtE: "ge", gast.Eq: "eq",
       gast.NotEq: "ne"}


class ModuleContext:
    """What the functions of one module share: callee signatures, the math it needs."""

    def __init__(self) -> None:
        self.signatures: dict[str, tuple[list, list]] = {}  # wasm name -> (params, results)
        # wasm name -> the kind of what a call returns, where its flat results do not say it
        # (a tangent function of a tuple: (values, tangents), each a tuple of numbers)
        self.result_kinds: dict[str, kinds.Kind] = {}
        self.math_used: set[str] = set()
        self.checkpoints = False  # a checkpointed loop: the schedule's runtime is needed
        # the user's global (and closure) numbers the code reads: Wasm globals, set from
        # their current values on every call (key -> (wasm global, type, fir, path))
        self.inputs: dict[tuple, tuple[str, str, Any, tuple]] = {}
        # values baked into the code (math.pi, G[2] of a global tuple): (fir, path, index,
        # value), checked before each call (guards.py)
        self.pinned: list[tuple] = []
        # where an index can go out of range: (file, line, source line); a trap stores its
        # position + 1 in the global $error_site
        self.sites: list[tuple] = []

    def site(self, fir, node) -> int:
        """The number (from 1) of the statement ``node`` of ``fir`` among the places that can
        trap, registered once."""
        if fir is None:
            return 0
        line = fir.line_of(node)
        text = fir.file_lines[line - 1] if 0 < line <= len(fir.file_lines) else None
        where = (fir.filename, line, text)
        if where not in self.sites:
            self.sites.append(where)
        return self.sites.index(where) + 1

    def input_global(self, fir, path: tuple, value) -> tuple[str, str]:
        """The Wasm global holding the user's number at ``path`` (declared once)."""
        where = fir.func.__globals__ if path[0] == "global" else fir.func
        key = (id(where), path)
        if key not in self.inputs:
            t = I32 if isinstance(value, bool) else I64 if isinstance(value, int) else F64
            stem = "".join(c if c.isalnum() or c == "_" else "_" for c in path[1])
            name = f"$global.{stem}"
            taken = {v[0] for v in self.inputs.values()}
            k = 2
            while name in taken:
                name = f"$global.{stem}.{k}"
                k += 1
            self.inputs[key] = (name, t, fir, path)
        name, t, _, _ = self.inputs[key]
        return name, t


class FunctionEmitter(CheckpointEmitter):
    """Translates one IR function to a WAT ``func``."""

    def __init__(self, fdef: gast.FunctionDef, param_types: dict, fir, ctx: ModuleContext,
                 name: str, resolve, callee_names: dict, injected=frozenset()) -> None:
        self.fdef = fdef
        self.fir = fir
        self.ctx = ctx
        self.statement = None
        self.name = name
        self.resolve = resolve  # IR name/attribute -> Python object (the user's globals)
        self.injected = injected  # names bound by the transformation, not the user's
        self.callee_names = callee_names  # python name in the IR -> wasm function name
        self.types: dict = dict(param_types)
        self.params = [a.id for a in fdef.args.args]
        self.lines: list[str] = []
        self.indent = 2
        self.hidden: dict[str, str] = {}
        self.exits: list[str] = []
        self.buffers: dict[str, str] = {}  # array wrt argument -> its gradient buffer
        self.n_labels = 0
        self.adjoint_sweep = False  # past the adjoint sweep's marker
        self.sweep_line: int | None = None  # where the adjoint sweep's lines start
        self.allocated: set[str] = set()  # local arrays made so far (and their cotangents)
        self.allocations: dict[str, str] = {}  # local array -> its cotangent (a gradient)
        self.pushed = False  # the tape has started: no more arrays can be made
        self.value_nodes: list = []  # what the return gives as f's value (split())
        self.in_range: dict[str, Any] = {}  # loop variable -> the stop of its range(stop)
        self.same_extents: dict[str, str] = {}  # a cotangent buffer -> the array it is of
        self._extent_classes: dict | None = None  # extents asserted equal (_extent_class)
        # names bound once (to what) and how often each name is bound: extents known
        self.assigned: dict[str, int] = {}
        self.single_defs: dict[str, Any] = {}
        for x in ir.walk_block(fdef.body):
            if isinstance(x, gast.Name) and isinstance(x.ctx, gast.Store):
                self.assigned[x.id] = self.assigned.get(x.id, 0) + 1
        for x in ir.walk_statements(fdef.body):
            if isinstance(x, gast.Assign) and isinstance(x.targets[0], gast.Name) and \
                    self.assigned.get(x.targets[0].id) == 1 and \
                    x.targets[0].id not in self.params:
                self.single_defs[x.targets[0].id] = x.value

    # -- errors ---------------------------------------------------------------------------
    def refuse(self, what: str, node=None):
        hint = "the Python backend (the default) supports it"
        helpers = sorted({n.id for n in ir.walk(node) if isinstance(n, gast.Name)
                          and n.id in self.injected}) if node is not None else []
        if helpers:  # code of the transformation's, not the user's: say what it is for
            what = (f"the derivative of this line (it needs {', '.join(helpers)}, which has "
                    "no Wasm translation)")
        if self.fir is not None:
            return self.fir.error(f"not supported by the Wasm backend: {what}", node, hint)
        return S2SADError(f"not supported by the Wasm backend: {what}", hint=hint)

    # -- types: the kinds of kinds.py, as Wasm value types --------------------------------
    def infer(self) -> None:
        """Every local's Wasm type, from one run of ``kinds.infer`` over the function."""
        self.ckpt_scan()  # (checkpointed loops: their schedule's names are typed here)
        stores = {n.id for n in ir.walk(self.fdef) if isinstance(n, gast.Name)
                  and isinstance(n.ctx, gast.Store)}
        local_names = stores | set(self.params) | set(self.types)
        extra = {}
        for ir_name, wasm_name in self.callee_names.items():
            obj = self.resolve(ir.name(ir_name))
            if wasm_name not in self.ctx.signatures:
                call = next((n for n in ir.walk(self.fdef) if isinstance(n, gast.Call) and
                             isinstance(n.func, gast.Name) and n.func.id == ir_name), None)
                raise self.refuse(f"a recursive call of {ir_name} (the Wasm backend does "
                                  "not compile recursion yet)", call)
            results = self.ctx.signatures[wasm_name][1]
            kind = self.ctx.result_kinds.get(wasm_name) or (
                _KIND_OF[results[0]] if len(results) == 1 else kinds.Seq(
                    "tuple", None, tuple(_KIND_OF[r] for r in results)))
            extra[obj] = (lambda args, kind=kind: kind)
        self.env = kinds.Env({}, self.resolve, local_names.__contains__, extra=extra)
        params = {n: _kind_of_type(t) for n, t in self.types.items()}
        inferred = kinds.infer(self.ckpt_visible(self.fdef.body), params, self.env)
        for name, kind in inferred.items():
            if name not in self.types:
                try:
                    self.types[name] = self._wasm(kind, None, name)
                except S2SADError:  # refused: say where the name is first assigned
                    self.types[name] = self._wasm(kind, self._first_store(name), name)
        for name in local_names - set(self.types):
            self.types[name] = F64  # only ever restored from the tape: a number
        for name, t in list(self.types.items()):
            if t is None:
                self.types[name] = F64

    def _first_store(self, name):
        """The first statement that assigns ``name`` (where a refusal points)."""
        for st in ir.walk_statements(self.fdef.body):
            if any(isinstance(n, gast.Name) and n.id == name and isinstance(n.ctx, gast.Store)
                   for n in ir.walk(st) if not isinstance(st, (gast.If, gast.For,
                                                                  gast.While))):
                return st
        return None

    @staticmethod
    def _is_pop(e) -> bool:
        return isinstance(e, ir.Pop)

    def _is_vjp_call(self, e) -> bool:
        return isinstance(e, ir.VjpCall)

    def _helper(self, func):
        """The runtime helper or rule object a called name is bound to (None if none)."""
        if not isinstance(func, gast.Name) or func.id in self.types:
            return None
        obj = self.resolve(func)
        return obj if obj in (tape.zeros_like, tape.copy_of, tape.unbroadcast, rules._log,
                              tape_value, tape.div, tape.power, tape.add) else None

    def type_of(self, e):
        """The Wasm type of an expression (refused with a message if it has none)."""
        if isinstance(e, gast.Name) and e.id in self.types:
            return self.types[e.id]
        if self.ckpt_attribute(e):
            return I64
        if isinstance(e, gast.Subscript) and self._constant_item(e) is not MISSING_ITEM:
            item = self._constant_item(e)
            return self._wasm(kinds.value_kind(item), e)
        return self._wasm(kinds.kind_of(e, self.env), e)

    def _wasm(self, kind, node, local: str | None = None):
        if kind is None or kind == kinds.NONE:
            return None
        if kind in _TYPE_OF:
            return _TYPE_OF[kind]
        if isinstance(kind, kinds.Array) and (kind.ndim or 0) >= 1 and \
                kind.dtype in ("float", None):
            return Arr(kind.ndim)
        if isinstance(kind, kinds.Seq) and kind.shape_of is not None:
            return Shape(kind.shape_of)
        if (multi := multi_of(kind)) is not None:
            return multi
        if isinstance(kind, kinds.Seq) and kind.kind == "list" and kind.elts and \
                all(k in _TYPE_OF for k in kind.elts) and local is not None and \
                self._items_only(local):
            # a list of numbers of a length known here, read and written by constant
            # indexes only and never passed on: no other name sees it, so a tuple's locals
            return Multi(tuple(_TYPE_OF[k] for k in kind.elts))
        raise self.refuse(self._describe(node, kind, local), node)

    def _items_only(self, name: str) -> bool:
        """Whether every use of ``name`` in the function is an item at a constant index
        (``p[0]``, ``p[1] = v``, ``p[0] += v``) or its whole assignment: a list used so has
        no alias and no length change, and may live as a tuple's locals."""
        items = {id(n.value) for n in ir.walk(self.fdef) if isinstance(n, gast.Subscript)
                 and isinstance(n.value, gast.Name) and n.value.id == name and
                 isinstance(n.slice, gast.Constant) and isinstance(n.slice.value, int) and
                 not isinstance(n.slice.value, bool)}
        # (its cotangent made as zeros of its shape: a new value, no alias)
        items |= {id(n.args[0]) for n in ir.walk(self.fdef) if isinstance(n, gast.Call) and
                  len(n.args) == 1 and self._helper(n.func) is tape.zeros_like}
        for n in ir.walk(self.fdef):
            if isinstance(n, gast.Name) and n.id == name and \
                    not isinstance(n.ctx, gast.Store) and id(n) not in items:
                return False
        return True

    def _describe(self, e, kind, local=None) -> str:
        if local is not None:
            if isinstance(e, gast.Assign) and isinstance(e.value, gast.Call) and \
                    kind == kinds.OBJECT:
                return self._describe(e.value, kind)
            return f"'{local}' holding {_kind_words(kind)}"
        if isinstance(e, gast.Constant):
            return f"the constant {e.value!r}"
        if isinstance(e, gast.Attribute) and isinstance(e.value, gast.Name) and \
                isinstance(self.types.get(e.value.id), Arr):
            return f"the array attribute .{e.attr}"
        if isinstance(e, (gast.Name, gast.Attribute)):
            obj = self.resolve(e)
            return f"the global '{gast.unparse(e).strip()}' of type {type(obj).__name__}"
        if isinstance(e, gast.Subscript):
            return "indexing something other than an array argument"
        if isinstance(e, gast.Call):
            return f"a call to {gast.unparse(e.func).strip()}"
        return type(e).__name__

    def _constant_item(self, e):
        """The value of ``G[k]`` for a global tuple, list or 1-d NumPy array of numbers ``G``
        and a constant ``k`` (baked in; the guard checks it before each call)."""
        if not (isinstance(e.value, (gast.Name, gast.Attribute))
                and not (isinstance(e.value, gast.Name) and e.value.id in self.types)
                and isinstance(e.slice, gast.Constant) and isinstance(e.slice.value, int)):
            return MISSING_ITEM
        seq = self.resolve(e.value)
        numeric = isinstance(seq, np.ndarray) and seq.ndim == 1 and \
            seq.dtype.kind in "fiub"
        if (isinstance(seq, (tuple, list)) or numeric) and -len(seq) <= e.slice.value < len(seq):
            path = self._user_path(e.value)
            if path is not None:
                self.ctx.pinned.append((self.fir, path, e.slice.value, seq[e.slice.value]))
            return seq[e.slice.value].item() if numeric else seq[e.slice.value]
        return MISSING_ITEM

    def _user_path(self, e) -> tuple | None:
        """Where a non-local name or attribute chain is read from (guards.py), if it is the
        user's (not a name the transformation bound)."""
        if self.fir is None or is_ours(self.fir.func):  # (s2sad's kernels: constants)
            return None
        base = e
        while isinstance(base, gast.Attribute):
            base = base.value
        if isinstance(base, gast.Name) and base.id in self.injected:
            return None
        return self.fir._path(e)

    def _global_value(self, e, t) -> None:
        """A number read from the user's globals or closure: a plain name is read when the
        module is called (a Wasm global set on entry); an attribute (``math.pi``,
        ``cfg.k``) is baked in, and checked before each call."""
        value = self.resolve(e)
        path = self._user_path(e)
        if path is not None and len(path) == 2 and path[0] in ("global", "closure") and \
                type(value) in (float, int, bool):
            if type(value) is int and not -2 ** 63 <= value < 2 ** 63:
                raise self.refuse(f"the integer {gast.unparse(e).strip()} = {value} (more than "
                                  "64 bits)", e)
            name, gt = self.ctx.input_global(self.fir, path, value)
            self.emit(f"global.get {name}")
            self.convert(gt, t)
            return
        if path is not None:
            self.ctx.pinned.append((self.fir, path, None, value))
        self._expr(gast.Constant(value=value, kind=None), t)

    # -- emission helpers -----------------------------------------------------------------
    def emit(self, text: str) -> None:
        self.lines.append("  " * self.indent + text)

    def label(self, kind: str) -> str:
        self.n_labels += 1
        return f"${kind}{self.n_labels}"

    def hidden_local(self, stem: str, t: str) -> str:
        name = f"{stem}.{len(self.hidden) + 1}"
        self.hidden[name] = t
        return name

    def convert(self, src, dst) -> None:
        if src == dst or dst is None or src is None:
            return
        pair = (src, dst)
        table = {(I64, F64): "f64.convert_i64_s", (I32, F64): "f64.convert_i32_u",
                 (I32, I64): "i64.extend_i32_u", (I64, I32): "i32.wrap_i64",
                 (F64, I64): "i64.trunc_f64_s"}
        if pair not in table:
            what = "a tuple" if isinstance(src, Multi) else f"a value of type {src}"
            raise self.refuse(f"{what} where {'a number' if dst in (F64, I64) else dst} is "
                              "expected (a tuple passed to a function, or returned where a "
                              "number is)", getattr(self, "statement", None))
        self.emit(table[pair])

    def expr(self, e, want=None):
        """Emit ``e``, leaving one value of type ``want`` (or its own type) on the stack."""
        if isinstance(e, gast.Constant) and want in (F64, I64) and \
                isinstance(e.value, (int, float)) and not isinstance(e.value, bool) and \
                (want == F64 or isinstance(e.value, int)):
            self._expr(e, want)
            return want
        t = self.type_of(e)
        if t is None:  # None (an unbound placeholder) takes the type it is stored as
            t = want or F64
        self._expr(e, t)
        if want is not None:
            self.convert(t, want)
        return want or t

    def truth(self, e) -> None:
        t = self.type_of(e)
        self._expr(e, t)
        if t == F64:
            self.emit("f64.const 0")
            self.emit("f64.ne")
        elif t == I64:
            self.emit("i64.const 0")
            self.emit("i64.ne")

    def _expr(self, e, t) -> None:
        if isinstance(e, gast.Constant):
            v = e.value
            if v is None:
                v = 0
            if t == F64:
                self.emit(f"f64.const {_f64(float(v))}")
            elif t == I64:
                self.emit(f"i64.const {int(v)}")
            else:
                self.emit(f"i32.const {int(v)}")
            return
        if isinstance(e, gast.Name):
            if e.id in self.types:
                if isinstance(self.types[e.id], Arr):
                    raise self.refuse(f"the array '{e.id}' used as a value", e)
                self.emit(f"local.get ${e.id}")
            else:
                self._global_value(e, t)
            return
        if self.ckpt_attribute(e):  # _ckpt.next: the iteration of the next snapshot
            self.emit(f"local.get ${e.value.id}")
            self.emit(f"i64.load offset={CKPT_OFF['next']}")
            return
        if isinstance(e, gast.Attribute):
            self._global_value(e, t)
            return
        if isinstance(e, gast.BinOp):
            self._binop(e, t)
            return
        if isinstance(e, gast.UnaryOp):
            if isinstance(e.op, gast.Not):
                self.truth(e.operand)
                self.emit("i32.eqz")
            elif isinstance(e.op, gast.USub):
                if t == F64:
                    self.expr(e.operand, F64)
                    self.emit("f64.neg")
                else:
                    self.emit("i64.const 0")
                    self.expr(e.operand, I64)
                    self.emit("i64.sub")
            elif isinstance(e.op, gast.UAdd):
                self.expr(e.operand, t)
            else:
                raise self.refuse("the operator ~", e)
            return
        if isinstance(e, gast.Compare):
            if len(e.ops) != 1 or type(e.ops[0]) not in CMP:
                raise self.refuse("this comparison", e)
            lt, rt = self.type_of(e.left), self.type_of(e.comparators[0])
            ct = F64 if F64 in (lt, rt) else I64
            self.expr(e.left, ct)
            self.expr(e.comparators[0], ct)
            op = CMP[type(e.ops[0])]
            if ct == I64 and op not in ("eq", "ne"):
                op += "_s"
            self.emit(f"{ct}.{op}")
            return
        if isinstance(e, gast.BoolOp):
            # only as a condition (flags): both sides are booleans without side effects
            self.truth(e.values[0])
            for v in e.values[1:]:
                self.truth(v)
                self.emit("i32.or" if isinstance(e.op, gast.Or) else "i32.and")
            return
        if isinstance(e, gast.IfExp):
            self.truth(e.test)
            self.emit(f"(if (result {t})")
            self.indent += 1
            self.emit("(then")
            self.indent += 1
            self.expr(e.body, t)
            self.indent -= 1
            self.emit(")")
            self.emit("(else")
            self.indent += 1
            self.expr(e.orelse, t)
            self.indent -= 1
            self.emit(")")
            self.indent -= 1
            self.emit(")")
            return
        if isinstance(e, gast.Subscript):
            item = self._constant_item(e)
            if item is not MISSING_ITEM:
                self._expr(gast.Constant(value=item, kind=None), t)
                return
            self._load(e)
            return
        if isinstance(e, gast.Call):
            self._call(e, t)
            return
        if isinstance(e, ir.StackMark):
            self.emit("global.get $sp")
            self.emit("i64.extend_i32_u")
            return
        if isinstance(e, ir.StackGrowth):
            # records pushed since the mark: the tape's growth in bytes / the record's size
            self.emit("global.get $sp")
            self.emit("i64.extend_i32_u")
            self.expr(e.mark, I64)
            self.emit("i64.sub")
            slots = sum(len(self.types[n].types) if isinstance(self.types.get(n), Multi)
                        else 1 for n in e.record)  # (a tuple of numbers: a slot per item)
            self.emit(f"i64.const {8 * slots}")
            self.emit("i64.div_u")
            return
        raise self.refuse(type(e).__name__, e)

    def _binop(self, e, t) -> None:
        op = type(e.op)
        if op is gast.Pow:
            if isinstance(e.right, gast.Constant) and isinstance(e.right.value, int) \
                    and not isinstance(e.right.value, bool) and 0 <= e.right.value <= 8:
                n = e.right.value
                if n == 0:
                    self._expr(gast.Constant(value=1, kind=None), t)
                    return
                for k in range(n):
                    self.expr(e.left, t)
                    if k:
                        self.emit(f"{t}.mul")
                return
            self.ctx.math_used.add("pow")
            self.expr(e.left, F64)
            self.expr(e.right, F64)
            self.emit("call $math.pow")
            return
        if op is gast.Div:
            self.expr(e.left, F64)
            self.expr(e.right, F64)
            self.emit("f64.div")
            return
        simple = {gast.Add: "add", gast.Sub: "sub", gast.Mult: "mul"}
        if op in simple:
            self.expr(e.left, t)
            self.expr(e.right, t)
            self.emit(f"{t}.{simple[op]}")
            return
        if op in (gast.FloorDiv, gast.Mod):
            if t == F64:
                self.ctx.math_used.add("floordiv" if op is gast.FloorDiv else "mod")
                self.expr(e.left, F64)
                self.expr(e.right, F64)
                self.emit("call $math.floordiv" if op is gast.FloorDiv else "call $math.mod")
            else:
                self.ctx.math_used.add("ifloordiv" if op is gast.FloorDiv else "imod")
                self.expr(e.left, I64)
                self.expr(e.right, I64)
                self.emit("call $math.ifloordiv" if op is gast.FloorDiv else "call $math.imod")
            return
        raise self.refuse(f"the operator {type(e.op).__name__}", e)

    def _flat_step(self, base: str, k: int, index: str) -> None:
        """The flat position so far times extent ``k``, plus the index in local ``index``
        (Horner's rule over the axes; at axis 0, just the index)."""
        if k:
            self.emit(f"local.get ${base}.n{k}")
            self.emit("i64.mul")
            self.emit(f"local.get ${index}")
            self.emit("i64.add")
        else:
            self.emit(f"local.get ${index}")

    def _is_extent(self, stop, base: str, k: int) -> bool:
        """Whether ``stop`` is always ``base``'s extent ``k``: ``x.shape[m]`` (or ``len(x)``),
        read into a name assigned once, of an array whose extents do not change (a
        parameter, or made once), where ``x``'s extent ``m`` is ``base``'s ``k`` -- the same
        array, a cotangent buffer of it, or an extent asserted equal before any loop."""
        ref = self._extent_ref(stop)
        return ref is not None and self._extent_class(ref) == \
            self._extent_class((self.same_extents.get(base, base), k))

    def _extent_ref(self, node) -> tuple[str, int] | None:
        """``(array, axis)`` when ``node`` is always that extent of an array whose extents do
        not change, else None."""
        for _ in range(3):  # (n = _t[k] after _t = x.shape, or n = x.shape[k])
            if isinstance(node, gast.Name):
                node = self.single_defs.get(node.id)
                if node is None:
                    return None
                continue
            break
        if not (isinstance(node, gast.Subscript) and isinstance(node.slice, gast.Constant)
                and type(node.slice.value) is int):
            return None
        shape = node.value
        if isinstance(shape, gast.Name):
            shape = self.single_defs.get(shape.id)
        if not (isinstance(shape, gast.Attribute) and shape.attr == "shape" and
                isinstance(shape.value, gast.Name)):
            return None
        base = self.same_extents.get(shape.value.id, shape.value.id)
        if self.assigned.get(base, 0) > (0 if base in self.params else 1):
            return None
        return base, node.slice.value

    def _extent_class(self, ref: tuple[str, int]) -> tuple[str, int]:
        """The representative of the extents asserted equal to ``ref`` (``assert
        A.shape[1] == w.shape[0]``, as the lowering of ``A @ w`` writes it) at the top of the
        function before its first loop: every loop, and so every index checked against a
        loop's range, comes after it."""
        if self._extent_classes is None:
            self._extent_classes = {}
            for s in self.fdef.body:
                if any(isinstance(n, (gast.For, gast.While)) for n in ir.walk(s)):
                    break
                test = s.test if isinstance(s, gast.Assert) else None
                if isinstance(test, gast.Name):
                    test = self.single_defs.get(test.id)
                if isinstance(test, gast.Compare) and len(test.ops) == 1 and \
                        isinstance(test.ops[0], gast.Eq):
                    a, b = self._extent_ref(test.left), self._extent_ref(test.comparators[0])
                    if a is not None and b is not None:
                        a, b = self._extent_class(a), self._extent_class(b)
                        if a != b:
                            self._extent_classes[a] = b
        while ref in self._extent_classes:
            ref = self._extent_classes[ref]
        return ref

    def _address(self, e) -> None:
        """Leave the i32 address of the array element ``e`` (``a[i]`` or ``a[i, j]``)."""
        base = e.value.id
        arr = self.types[base]
        index = e.slice.elts if isinstance(e.slice, gast.Tuple) else [e.slice]
        if len(index) != arr.ndim or any(isinstance(i, gast.Slice) for i in index):
            raise self.refuse(f"indexing the {arr.ndim}-d array '{base}' with "
                              f"'{gast.unparse(e.slice).strip()}' (one integer per dimension)",
                              e)
        # flat = ((i0 * n1) + i1); each index checked against its extent (traps if outside),
        # but for the variable of a loop over range(that extent)
        for k, i in enumerate(index):
            if isinstance(i, gast.Name) and i.id in self.in_range and \
                    self._is_extent(self.in_range[i.id], base, k):
                self._flat_step(base, k, i.id)
                continue
            tmp = self.hidden_local("index", I64)
            self.expr(i, I64)
            nonnegative = isinstance(i, gast.Constant) and i.value >= 0 or \
                isinstance(i, gast.Name) and i.id in self.in_range
            if not nonnegative:
                # Python's negative indices count from the end
                self.emit(f"local.tee ${tmp}")
                self.emit(f"local.get ${base}.n{k}")
                self.emit("i64.add")
                self.emit(f"local.get ${tmp}")
                self.emit(f"local.get ${tmp}")
                self.emit("i64.const 0")
                self.emit("i64.lt_s")
                self.emit("select")
            self.emit(f"local.tee ${tmp}")
            self.emit(f"local.get ${base}.n{k}")
            self.emit("i64.ge_u")
            site = self.ctx.site(self.fir, self.statement) if self.statement is not None else 0
            self.emit(f"(if (then (global.set $error_site (i32.const {site})) "
                      "(global.set $error_code (i32.const 2)) unreachable))")
            self._flat_step(base, k, tmp)
        self.emit("i32.wrap_i64")
        self.emit("i32.const 3")
        self.emit("i32.shl")
        self.emit(f"local.get ${base}")
        self.emit("i32.add")

    def _load(self, e) -> None:
        base_t = self.type_of(e.value)
        if isinstance(base_t, Multi):
            start, _, nested = base_t.item(e.slice.value)
            if nested:
                raise self.refuse("a tuple of tuples read as a number", e)
            self.emit(f"local.get ${e.value.id}.{start}")
            return
        if isinstance(base_t, Shape):
            if not (isinstance(e.slice, gast.Constant) and isinstance(e.slice.value, int)):
                raise self.refuse("x.shape indexed with a variable", e)
            k = e.slice.value
            ndim = self.types[base_t.of].ndim
            if not -ndim <= k < ndim:
                raise self.refuse(f"shape index {k} of a {ndim}-d array", e)
            self.emit(f"local.get ${base_t.of}.n{k % ndim}")
            return
        if not isinstance(e.value, gast.Name) or not isinstance(base_t, Arr):
            raise self.refuse("indexing something other than an array argument", e)
        self._address(e)
        self.emit("f64.load")

    def _call(self, e, t) -> None:
        func = e.func
        if e.keywords:
            raise self.refuse("keyword arguments", e)
        helper = self._helper(func)
        if helper is tape.zeros_like:
            self._expr(gast.Constant(value=0.0, kind=None), t)
            return
        if helper is rules._log:  # the log of a number, 0 at 0 (rules._log)
            self.ctx.math_used.add("log")
            x = self.hidden_local("x", F64)
            self.emit("f64.const 0")
            self.expr(e.args[0], F64)
            self.emit(f"local.tee ${x}")
            self.emit("call $math.log")
            self.emit(f"local.get ${x}")
            self.emit("f64.const 0")
            self.emit("f64.eq")
            self.emit("select")
            return
        if helper is tape.div:  # IEEE division: Wasm's own
            self.expr(e.args[0], F64)
            self.expr(e.args[1], F64)
            self.emit("f64.div")
            return
        if helper is tape.power:
            self.ctx.math_used.add("pow")
            self.expr(e.args[0], F64)
            self.expr(e.args[1], F64)
            self.emit("call $math.pow")
            return
        if helper in IDENTITIES or (helper is tape.unbroadcast
                                    and not isinstance(self.type_of(e.args[0]), Arr)):
            # identities on numbers: a taped value (wasm.fuse_sincos), copy_of and unbroadcast
            # of an array element
            self.expr(e.args[0], t)
            return
        if isinstance(func, gast.Name) and func.id in self.callee_names:
            wasm_name = self.callee_names[func.id]
            params, _ = self.ctx.signatures[wasm_name]
            for a, pt in zip(e.args, params):
                self.expr(a, pt)
            self.emit(f"call ${wasm_name}")
            return
        obj = self.resolve(func)
        args = e.args
        if (obj in NP_UNARY or obj in NP_BINARY) and \
                not any(isinstance(self.type_of(a), Arr) for a in args):
            # NumPy's element-wise functions of numbers (in tangent code, which is not
            # lowered: dx * np.cos(x)) are their scalar counterparts, as the lowering has them
            obj = NP_UNARY.get(obj) or NP_BINARY[obj]
        if obj is builtins.len:
            arr = self.type_of(args[0])
            if not isinstance(arr, Arr):
                raise self.refuse("len() of something other than an array argument", e)
            self.emit(f"local.get ${args[0].id}.n0")
            return
        if obj is builtins.float:
            self.expr(args[0], F64)
            return
        if obj is builtins.int:
            at = self.type_of(args[0])
            self.expr(args[0], at)
            if at == F64:
                self.emit("i64.trunc_f64_s")
            else:
                self.convert(at, I64)
            return
        if obj is builtins.pow and len(args) == 2:
            self.ctx.math_used.add("pow")
            self.expr(args[0], F64)
            self.expr(args[1], F64)
            self.emit("call $math.pow")
            return
        if obj is builtins.round and len(args) == 1:
            self.expr(args[0], F64)
            self.emit("f64.nearest")
            self.emit("i64.trunc_f64_s")
            return
        if obj is builtins.abs or obj is math.fabs:
            if t == F64:
                self.expr(args[0], F64)
                self.emit("f64.abs")
            else:
                tmp = self.hidden_local("abs", I64)
                self.expr(args[0], I64)
                self.emit(f"local.tee ${tmp}")
                self.emit("i64.const 0")
                self.emit(f"local.get ${tmp}")
                self.emit("i64.sub")
                self.emit(f"local.get ${tmp}")
                self.emit("i64.const 0")
                self.emit("i64.ge_s")
                self.emit("select")
            return
        if obj in (builtins.min, builtins.max):
            if len(args) != 2:
                raise self.refuse(f"{obj.__name__}() of {len(args)} arguments", e)
            # Python's semantics: min(a, b) is b only if b < a (ties keep a)
            a = self.hidden_local("a", t)
            b = self.hidden_local("b", t)
            self.expr(args[0], t)
            self.emit(f"local.set ${a}")
            self.expr(args[1], t)
            self.emit(f"local.tee ${b}")
            self.emit(f"local.get ${a}")
            self.emit(f"local.get ${b}")
            self.emit(f"local.get ${a}")
            op = "lt" if obj is builtins.min else "gt"
            self.emit(f"{t}.{op}{'_s' if t == I64 else ''}")
            self.emit("select")
            return
        name = getattr(obj, "__name__", None)
        if obj is getattr(math, name or "", None):
            if name in MATH_NATIVE:
                self.expr(args[0], F64)
                self.emit(MATH_NATIVE[name])
                return
            if name in MATH_TO_INT:
                self.expr(args[0], F64)
                self.emit(MATH_TO_INT[name])
                self.emit("i64.trunc_f64_s")
                return
            if name == "copysign":
                self.expr(args[0], F64)
                self.expr(args[1], F64)
                self.emit("f64.copysign")
                return
            if name == "log" and len(args) == 2:
                self.ctx.math_used.add("log")
                self.expr(args[0], F64)
                self.emit("call $math.log")
                self.expr(args[1], F64)
                self.emit("call $math.log")
                self.emit("f64.div")
                return
            if name in MATH_LIBRARY and hasattr(wasm_math, name):
                self.ctx.math_used.add(name)
                for a in args:
                    self.expr(a, F64)
                self.emit(f"call $math.{name}")
                return
        raise self.refuse(f"a call to {gast.unparse(func).strip()}", e)

    # -- statements -----------------------------------------------------------------------
    def block(self, stmts) -> None:
        for s in stmts:
            self.stmt(s)

    def stmt(self, s) -> None:
        self.statement = s  # (the user's line of a trap in it)
        if isinstance(s, ir.Comment):
            self.emit(f";; {s.text}")
            if ir.anno(s, "adjoint_sweep"):  # its loops replay the forward sweep's trips
                self.adjoint_sweep = True
                if self.indent == 2:  # (a top-level marker: split() may cut here)
                    self.sweep_line = len(self.lines)
                for b, p in self.same_extents.items():
                    if b in self.buffers.values():
                        for k in range(self.types[p].ndim):
                            self.emit(f"local.get ${b}.n{k}\n    local.get ${p}.n{k}\n"
                                      "    i64.ne\n    (if (then (global.set $error_code "
                                      "(i32.const 2)) unreachable))")
            return
        if isinstance(s, ir.Push):
            self.push(s.values, s)
            return
        if isinstance(s, gast.Expr):
            v = s.value
            if isinstance(v, gast.Constant) and isinstance(v.value, str):
                return
            if self.ckpt_expr(s):
                return
            raise self.refuse(f"the statement '{gast.unparse(s).strip()}'", s)
        if isinstance(s, gast.Assign):
            self.assign(s)
            return
        if isinstance(s, gast.AugAssign) and isinstance(s.target, gast.Subscript) and \
                isinstance(s.target.value, gast.Name) and \
                isinstance(self.types.get(s.target.value.id), Arr) and \
                isinstance(s.op, (gast.Add, gast.Sub, gast.Mult)):
            # (tidy's bx[i] += e): the element's address once, for its load and its store
            addr = self.hidden_local("addr", I32)
            self._address(s.target)
            self.emit(f"local.tee ${addr}")
            self.emit(f"local.get ${addr}")
            self.emit("f64.load")
            self.expr(s.value, F64)
            self.emit({gast.Add: "f64.add", gast.Sub: "f64.sub", gast.Mult: "f64.mul"}[
                type(s.op)])
            self.emit("f64.store")
            return
        if isinstance(s, gast.AugAssign):  # bx[i] = bx[i] + e
            load = ir.clone(s.target)
            load.ctx = gast.Load()
            self.assign(ir.at(gast.Assign(targets=[s.target], value=gast.BinOp(
                left=load, op=s.op, right=s.value), type_comment=None), s))
            return
        if isinstance(s, gast.If):
            self.emit(f";; if (line {self._line(s)})")
            self.truth(s.test)
            self.emit("(if")
            self.indent += 1
            self.emit("(then")
            self.indent += 1
            self.block(s.body)
            self.indent -= 1
            self.emit(")")
            if s.orelse:
                self.emit("(else")
                self.indent += 1
                self.block(s.orelse)
                self.indent -= 1
                self.emit(")")
            self.indent -= 1
            self.emit(")")
            return
        if isinstance(s, gast.While):
            self.while_loop(s)
            return
        if isinstance(s, gast.For):
            self.for_loop(s)
            return
        if isinstance(s, gast.Break):
            if not self.exits:
                raise self.refuse("break outside a loop", s)
            self.emit(f"br {self.exits[-1]}")
            return
        if isinstance(s, gast.Return):
            self.ret(s)
            return
        if isinstance(s, gast.Assert):
            if sys.flags.optimize:  # (python -O drops asserts, and so does the module)
                return
            self.emit(f";; assert (line {self._line(s)})")
            self.truth(s.test)
            self.emit("(if (i32.eqz) (then (global.set $error_code (i32.const 3)) "
                      "unreachable))")
            return
        if isinstance(s, gast.Pass):
            return
        raise self.refuse(type(s).__name__, s)

    def _line(self, s) -> int:
        return self.fir.line_of(s) if self.fir is not None else getattr(s, "lineno", 0)

    def assign(self, s) -> None:
        target = s.targets[0]
        value = s.value
        if self.ckpt_assign(s):
            return
        if self._is_pop(value):
            names = target.elts if isinstance(target, gast.Tuple) else [target]
            self.pop([n.id for n in names], s)
            return
        if isinstance(target, gast.Tuple) and isinstance(value, gast.Call) and \
                isinstance(value.func, gast.Name) and value.func.id in self.callee_names:
            # several results: a, b = f(x)
            params, results = self.ctx.signatures[self.callee_names[value.func.id]]
            for a, pt in zip(value.args, params):
                self.expr(a, pt)
            self.emit(f"call ${self.callee_names[value.func.id]}")
            slots = []  # (local, type) per result: a tuple of numbers takes one per item
            for n in target.elts:
                t = self.types[n.id]
                if isinstance(t, Multi):
                    for k, kt in enumerate(t.types):
                        self.hidden[f"{n.id}.{k}"] = kt
                        slots.append((f"{n.id}.{k}", kt))
                else:
                    slots.append((n.id, t))
            if len(slots) != len(results):
                raise self.refuse(f"unpacking {len(results)} results into {len(slots)} "
                                  "numbers", s)
            for (local, t), rt in reversed(list(zip(slots, results))):
                self.convert(rt, t)
                self.emit(f"local.set ${local}")
            return
        if self._is_vjp_call(value):
            wasm_name = self.callee_names[value.func]
            params, results = self.ctx.signatures[wasm_name]
            seed_t = self.type_of(value.seed)
            n_value = len(seed_t.types) if isinstance(seed_t, Multi) else 1
            for a, pt in zip(value.args, params):
                self.expr(a, pt)
            if n_value > 1:  # a tuple's cotangent: one seed per number
                for k in range(n_value):
                    self.emit(f"local.get ${value.seed.id}.{k}")
            else:
                self.expr(value.seed, F64)
            self.emit(f"call ${wasm_name}")
            names = target.elts if isinstance(target, gast.Tuple) else [target]
            for n in reversed(names):
                self.convert(F64, self.types[n.id])
                self.emit(f"local.set ${n.id}")
            for _ in range(n_value):
                self.emit("drop")  # the callee's value
            return
        if isinstance(target, gast.Name):
            t = self.types[target.id]
            if isinstance(t, Shape):
                return  # x.shape: its items are read from the extents directly
            if isinstance(t, Multi):
                if isinstance(value, gast.Call) and \
                        self._helper(value.func) not in (tape.zeros_like, tape.add):
                    self._call(value, t)  # several results, into $name.0, $name.1, ...
                else:  # built item by item: (a, b), a copy, None, zeros_like, add
                    for k in range(len(t.types)):
                        self._multi_item(value, k, t, s, target.id)
                for k in reversed(range(len(t.types))):
                    self.hidden[f"{target.id}.{k}"] = t.types[k]
                    self.emit(f"local.set ${target.id}.{k}")
                return
            if isinstance(t, Arr):
                if isinstance(value, gast.Call) and self._helper(value.func) is tape.zeros_like \
                        and target.id in self.allocated:
                    return  # a local array's cotangent: allocated (zeroed) with the array
                if isinstance(value, gast.Call) and self._helper(value.func) is tape.zeros_like:
                    return  # the gradient buffer, zeroed by the caller
                if isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute) \
                        and value.func.attr == "copy" and isinstance(value.func.value, gast.Name) \
                        and value.func.value.id == target.id:
                    return  # x = x.copy(): the module works on its own copy already
                made = self._allocation(value)
                if made is not None and target.id not in self.params:
                    self.allocate(target.id, t, made, s)
                    return
                if isinstance(value, gast.BinOp) and isinstance(value.op, (gast.Add, gast.Sub)) \
                        and all(isinstance(e, gast.Name) and self.types.get(e.id) == t
                                for e in (value.left, value.right)) and \
                        (target.id in self.buffers.values() or target.id in self.allocated):
                    self._elementwise(target.id, t, value)  # bx = bx + by (whole arrays)
                    return
                if isinstance(value, gast.Name) and isinstance(self.types.get(value.id), Arr) \
                        and target.id in self.buffers.values():
                    # bx0 = bx (the cotangent of x = x0.copy()): into the caller's buffer
                    self.emit(f"local.get ${target.id}\n    local.get ${value.id}")
                    self.emit("i64.const 8")
                    for k in range(t.ndim):
                        self.emit(f"local.get ${value.id}.n{k}\n    i64.mul")
                    self.emit("i32.wrap_i64\n    memory.copy")
                    return
                raise self.refuse(f"assigning an array to '{target.id}'", s)
            self.expr(value, t)
            self.emit(f"local.set ${target.id}")
            return
        if isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name) and \
                isinstance(self.types.get(target.value.id), Arr):
            self._address(target)
            self.expr(value, F64)
            self.emit("f64.store")
            return
        if isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name) and \
                isinstance(self.types.get(target.value.id), Multi) and \
                isinstance(target.slice, gast.Constant) and isinstance(target.slice.value, int):
            t = self.types[target.value.id]  # an item of a tuple of numbers: its own local
            start, stop, nested = t.item(target.slice.value)
            if nested:  # (an item that is a tuple: its numbers, each its own local)
                part = t.part(target.slice.value)
                for k in range(stop - start):
                    self._multi_item(value, k, part, s, target.value.id)
            else:
                self.expr(value, t.types[start])
            for k in reversed(range(start, stop)):
                self.hidden[f"{target.value.id}.{k}"] = t.types[k]
                self.emit(f"local.set ${target.value.id}.{k}")
            return
        if isinstance(target, gast.Tuple):
            raise self.refuse("unpacking a tuple", s)
        raise self.refuse(f"assignment to '{gast.unparse(target).strip()}'", s)

    def _elementwise(self, target: str, t: Arr, value) -> None:
        """``target = a + b`` (or ``-``) for arrays of one shape: one loop over the elements
        (each read before it is written, so ``target`` may be ``a``)."""
        op = "f64.add" if isinstance(value.op, gast.Add) else "f64.sub"
        a, b = value.left.id, value.right.id
        end = self.hidden_local("end", I32)
        k = self.hidden_local("k", I32)
        self.emit(f";; {target} = {a} {'+' if op == 'f64.add' else '-'} {b}, element by element")
        site = self.ctx.site(self.fir, self.statement) if self.statement is not None else 0
        for d in range(t.ndim):  # (arrays of another shape: an index error, not garbage)
            self.emit(f"local.get ${a}.n{d}\n    local.get ${b}.n{d}\n    i64.ne\n"
                      f"    local.get ${a}.n{d}\n    local.get ${target}.n{d}\n    i64.ne\n"
                      "    i32.or")
            self.emit(f"(if (then (global.set $error_site (i32.const {site})) "
                      "(global.set $error_code (i32.const 2)) unreachable))")
        self.emit("i64.const 8")
        for d in range(t.ndim):
            self.emit(f"local.get ${a}.n{d}\n    i64.mul")
        self.emit(f"i32.wrap_i64\n    local.set ${end}\n    i32.const 0\n    local.set ${k}")
        self.emit(f"(block (loop\n      local.get ${k}\n      local.get ${end}\n"
                  f"      i32.ge_u\n      br_if 1\n"
                  f"      local.get ${target}\n      local.get ${k}\n      i32.add\n"
                  f"      local.get ${a}\n      local.get ${k}\n      i32.add\n"
                  f"      f64.load\n"
                  f"      local.get ${b}\n      local.get ${k}\n      i32.add\n"
                  f"      f64.load\n      {op}\n      f64.store\n"
                  f"      local.get ${k}\n      i32.const 8\n      i32.add\n"
                  f"      local.set ${k}\n      br 0))")

    # -- arrays made inside the function --------------------------------------------------
    def _allocation(self, value):
        """``(how, source, shape atoms)`` for ``np.zeros(shape)``, ``np.ones(shape)``,
        ``np.empty(shape)``, ``np.zeros_like(a)``, ``a.copy()``, ``np.copy(a)`` (``a`` an
        array), else None."""
        if not isinstance(value, gast.Call) or value.keywords:
            return None
        func = value.func
        if isinstance(func, gast.Attribute) and func.attr == "copy" and not value.args and \
                isinstance(func.value, gast.Name) and \
                isinstance(self.types.get(func.value.id), Arr):
            return ("copy", func.value.id, None)
        obj = self.resolve(func)
        if obj in (np.copy, np.zeros_like, np.ones_like, np.empty_like) and \
                len(value.args) == 1 and isinstance(value.args[0], gast.Name) and \
                isinstance(self.types.get(value.args[0].id), Arr):
            how = {np.copy: "copy", np.zeros_like: "zeros", np.ones_like: "ones",
                   np.empty_like: "empty"}[obj]
            return (how, value.args[0].id, None)
        if obj in (np.zeros, np.ones, np.empty) and len(value.args) == 1:
            shape = value.args[0]
            if isinstance(shape, gast.Tuple):
                atoms = list(shape.elts)
            elif isinstance(shape, gast.Name) and isinstance(self.types.get(shape.id), Multi):
                atoms = [ir.subscript(ir.name(shape.id), ir.const(k))
                         for k in range(len(self.types[shape.id].types))]
            else:
                atoms = [shape]
            how = {np.zeros: "zeros", np.ones: "ones", np.empty: "empty"}[obj]
            return (how, None, atoms)
        return None

    def allocate(self, name: str, t: Arr, made, s) -> None:
        """``name = np.zeros(...)`` / ``a.copy()``: the array's elements at the top of the tape
        region (before any push, so the tape starts above it), and, in a gradient, its
        cotangent's next to it, zeroed.  Arrays made inside loops or branches, or after the
        tape has started, are refused."""
        if self.indent != 2:
            raise self.refuse(f"an array made inside a loop or a branch ('{name}'): make it "
                              "at the start of the function", s)
        if self.pushed:
            raise self.refuse(f"an array made after the gradient's tape has started ('{name}'"
                              "): make it before the loops", s)
        how, source, atoms = made
        if name in self.allocated:
            raise self.refuse(f"'{name}' made twice", s)
        dims = len(atoms) if atoms is not None else t.ndim
        if dims != t.ndim:
            raise self.refuse(f"'{name}' made with {dims} dimensions", s)
        self.emit(f";; {name}: a new array (line {self._line(s)})")
        names = [name] + ([self.allocations[name]] if name in self.allocations else [])
        for n in names[1:]:
            self.same_extents[n] = name
        for k in range(t.ndim):
            if atoms is not None:
                self.expr(atoms[k], I64)
            else:
                self.emit(f"local.get ${source}.n{k}")
            for n in names:
                self.hidden[f"{n}.n{k}"] = I64
            self.emit(f"local.set ${name}.n{k}")
            for n in names[1:]:
                self.emit(f"local.get ${name}.n{k}\n    local.set ${n}.n{k}")
        size = self.hidden_local("bytes", I32)
        self.emit("i64.const 8")
        for k in range(t.ndim):
            self.emit(f"local.get ${name}.n{k}")
            self.emit("i64.mul")
        self.emit("i32.wrap_i64")
        self.emit(f"local.set ${size}")
        for n in names:
            self.hidden[n] = I32
            self.allocated.add(n)
            self.emit(f"local.get ${size}")
            self.emit("call $tape.reserve")
            self.emit("global.get $sp")
            self.emit(f"local.set ${n}")
            self.emit(f"global.get $sp\n    local.get ${size}\n    i32.add\n    global.set $sp")
            fill = how if n == name else "zeros"
            if fill == "copy":
                self.emit(f"local.get ${n}\n    local.get ${source}\n    local.get ${size}")
                self.emit("memory.copy")
            elif fill == "zeros":
                self.emit(f"local.get ${n}\n    i32.const 0\n    local.get ${size}")
                self.emit("memory.fill")
            elif fill == "ones":
                i = self.hidden_local("i", I32)
                self.emit(f"i32.const 0\n    local.set ${i}")
                self.emit(f"(block (loop\n      local.get ${i}\n      local.get ${size}\n"
                          f"      i32.ge_u\n      br_if 1\n      local.get ${n}\n"
                          f"      local.get ${i}\n      i32.add\n      f64.const 1\n"
                          f"      f64.store\n      local.get ${i}\n      i32.const 8\n"
                          f"      i32.add\n      local.set ${i}\n      br 0))")

    def _multi_item(self, e, k: int, t: Multi, s, target: str) -> None:
        """Leave item ``k`` of the tuple-of-numbers expression ``e`` assigned to ``target`` (of
        type ``t``): a tuple display of as many items, a name holding a tuple of type ``t``,
        ``None`` (declared before a branch binds it: 0), ``zeros_like(...)`` or ``add(a, b)``
        (a tuple's cotangent)."""
        kt = t.types[k]
        if isinstance(e, gast.Name) and isinstance(self.types.get(e.id), Multi) and \
                self.types[e.id].types == t.types:
            self.emit(f"local.get ${e.id}.{k}")
            return
        if isinstance(e, (gast.Tuple, gast.List)) and t.groups is not None and \
                len(e.elts) == len(t.groups):
            g = next(j for j, (a, b, _) in enumerate(t.groups) if a <= k < b)
            a, _, nested = t.groups[g]
            if nested:
                self._multi_item(e.elts[g], k - a, t.part(g), s, target)
            else:
                self.expr(e.elts[g], kt)
            return
        if isinstance(e, (gast.Tuple, gast.List)) and len(e.elts) == len(t.types):
            self.expr(e.elts[k], kt)
            return
        if isinstance(e, gast.Subscript) and isinstance(e.value, gast.Name) and \
                isinstance(self.types.get(e.value.id), Multi) and \
                isinstance(e.slice, gast.Constant) and type(e.slice.value) is int:
            whole = self.types[e.value.id]  # (an item of a tuple of tuples)
            a, b, nested = whole.item(e.slice.value)
            if nested and b - a == len(t.types):
                self.emit(f"local.get ${e.value.id}.{a + k}")
                return
        helper = self._helper(e.func) if isinstance(e, gast.Call) else None
        if helper is tape.zeros_like or (isinstance(e, gast.Constant) and e.value is None):
            self.emit(f"{kt}.const 0")
            return
        if helper is tape.add and len(e.args) == 2:
            self._multi_item(e.args[0], k, t, s, target)
            self._multi_item(e.args[1], k, t, s, target)
            self.emit(f"{kt}.add")
            return
        raise self.refuse(f"the tuple '{target}'", s)

    def _slot_type(self, t):
        return F64 if t == F64 else I64

    def push(self, elts, node) -> None:
        if any(isinstance(e, gast.Name) and isinstance(self.types.get(e.id), Multi)
               for e in elts):  # a tuple of numbers goes on the tape item by item
            expanded = []
            for e in elts:
                if isinstance(e, gast.Name) and isinstance(self.types.get(e.id), Multi):
                    for n in self._items([e.id]):
                        self.types.setdefault(n, self.hidden[n])
                        expanded.append(ir.name(n))
                else:
                    expanded.append(e)
            elts = expanded
        if any(isinstance(e, ir.StackGrowth) for e in elts):
            # a trip count measured by the tape's growth: computed before the push moves $sp
            tmp = self.hidden_local("trips", I64)
            self.expr(elts[0], I64)
            self.emit(f"local.set ${tmp}")
            elts = [gast.Name(id=tmp, ctx=gast.Load(), annotation=None, type_comment=None)]
            self.types[tmp] = I64
        nbytes = 8 * len(elts)
        self.pushed = True
        # grow the memory only when the tape reaches its end ($tape_end caches it)
        self.emit("global.get $sp")
        self.emit(f"i32.const {nbytes}")
        self.emit("i32.add")
        self.emit("global.get $tape_end")
        self.emit("i32.gt_u")
        self.emit(f"(if (then (call $tape.reserve (i32.const {nbytes}))))")
        for k, e in enumerate(elts):
            t = self.type_of(e)
            self.emit("global.get $sp")
            self.expr(e, self._slot_type(t))
            self.emit(f"{self._slot_type(t)}.store offset={8 * k}")
        self.emit("global.get $sp")
        self.emit(f"i32.const {nbytes}")
        self.emit("i32.add")
        self.emit("global.set $sp")

    def _items(self, names: list[str]) -> list[str]:
        """``names`` with each tuple of numbers spelled as its items' locals (``_t.0``...)."""
        out = []
        for n in names:
            t = self.types.get(n)
            if isinstance(t, Multi):
                for k, kt in enumerate(t.types):
                    self.hidden[f"{n}.{k}"] = kt
                    out.append(f"{n}.{k}")
            else:
                out.append(n)
        return out

    def pop(self, names, node) -> None:
        names = self._items(names)
        for n in names:
            if n in self.hidden:
                self.types.setdefault(n, self.hidden[n])
        nbytes = 8 * len(names)
        self.emit("global.get $sp")
        self.emit(f"i32.const {nbytes}")
        self.emit("i32.sub")
        self.emit("global.set $sp")
        for k, n in enumerate(names):
            t = self.types[n]
            slot = self._slot_type(t)
            self.emit("global.get $sp")
            self.emit(f"{slot}.load offset={8 * k}")
            self.convert(slot, t)
            self.emit(f"local.set ${n}")

    def _open_loop(self, bounded: bool = False):
        """``(block $exit (loop $top`` -- a loop that ``br $exit`` leaves; a loop of the
        forward sweep stops on Ctrl-C (one of the adjoint sweep runs as often as it did),
        but for ``bounded`` ones (an inner loop over an array's extent that loops.py made:
        the loop around it checks)."""
        exit_, top = self.label("exit"), self.label("loop")
        self.emit(f"(block {exit_}")
        self.indent += 1
        self.emit(f"(loop {top}")
        self.indent += 1
        if not self.adjoint_sweep and self.fir is not None and not is_ours(self.fir.func) \
                and not bounded:
            # Ctrl-C: the caller sets the word at INTERRUPT_FLAG (wasm_runtime.py)
            self.emit(f"(if (i32.load (i32.const {INTERRUPT_FLAG})) (then unreachable))")
        return exit_, top

    def _close_loop(self, exit_, top, body) -> None:
        """The body (``break`` leaves to ``exit_``), then back to the top."""
        self.exits.append(exit_)
        self.block(body)
        self.exits.pop()
        self.emit(f"br {top}")
        self.indent -= 1
        self.emit(")")
        self.indent -= 1
        self.emit(")")

    def while_loop(self, s) -> None:
        self.emit(f";; while loop (line {self._line(s)})")
        exit_, top = self._open_loop()
        self.truth(s.test)
        self.emit("i32.eqz")
        self.emit(f"br_if {exit_}")
        self._close_loop(exit_, top, s.body)

    def _range_parts(self, call, node):
        args = call.args
        if call.keywords or not 1 <= len(args) <= 3:
            raise self.refuse("range() with these arguments", node)
        zero, one = gast.Constant(value=0, kind=None), gast.Constant(value=1, kind=None)
        if len(args) == 1:
            return zero, args[0], one
        if len(args) == 2:
            return args[0], args[1], one
        return args[0], args[1], args[2]

    def for_loop(self, s) -> None:
        if self.ckpt_for(s):
            return
        it = s.iter
        rev = False
        limit = None
        if isinstance(it, gast.Call) and isinstance(it.func, gast.Name) and \
                it.func.id == "reversed":
            rev = True
            it = it.args[0]
        if isinstance(it, gast.Subscript) and isinstance(it.slice, gast.Slice):
            limit = it.slice.upper
            it = it.value
        if not (isinstance(it, gast.Call) and isinstance(it.func, gast.Name)
                and it.func.id == "range"):
            raise self.refuse("a for loop over something other than range()", s)
        start, stop, step = self._range_parts(it, s)
        if self._is_pop(stop):  # for _ in range(_stack.pop()): a reversed while loop
            popped = self.hidden_local("trips", I64)
            self.pop([popped], s)
            stop = gast.Name(id=popped, ctx=gast.Load(), annotation=None, type_comment=None)
        target = s.target.id if isinstance(s.target, gast.Name) else None
        k = self.hidden_local("k", I64)
        self.emit(f";; {'reversed ' if rev else ''}for loop (line {self._line(s)})")
        # range(stop): the trip index is the loop variable, no length to compute
        simple = _is_int(start, 0) and _is_int(step, 1)
        if simple:
            n = self.hidden_local("n", I64)
            self.expr(stop, I64)
            if rev:  # (counting down to 0: a negative stop is no trip)
                self.emit(f"local.tee ${n}\n    i64.const 0\n    local.get ${n}\n"
                          "    i64.const 0\n    i64.gt_s\n    select")
            self.emit(f"local.set ${n}")
        else:
            a, c, n = self.range_locals(start, stop, step)
        if limit is not None:
            # range(...)[:m]: the first min(n, m) elements
            m = self.hidden_local("m", I64)
            self._limit_value(limit, m)
            self.emit(f"local.get ${n}")
            self.emit(f"local.get ${m}")
            self.emit(f"local.get ${n}")
            self.emit(f"local.get ${m}")
            self.emit("i64.lt_s")
            self.emit("select")
            self.emit(f"local.set ${n}")
        if rev:
            self.emit(f"local.get ${n}")
            self.emit(f"local.set ${k}")
        else:
            self.emit("i64.const 0")
            self.emit(f"local.set ${k}")
        exit_, top = self._open_loop(bounded=bool(ir.anno(s, "inner_element_loop")))
        if rev:
            self.emit(f"local.get ${k}")
            self.emit("i64.eqz")
            self.emit(f"br_if {exit_}")
            self.emit(f"local.get ${k}")
            self.emit("i64.const 1")
            self.emit("i64.sub")
            self.emit(f"local.set ${k}")
        else:
            self.emit(f"local.get ${k}")
            self.emit(f"local.get ${n}")
            self.emit("i64.ge_s")
            self.emit(f"br_if {exit_}")
        if target is not None and simple:
            self.emit(f"local.get ${k}")
            self.emit(f"local.set ${target}")
        elif target is not None:
            self.emit(f"local.get ${a}")
            self.emit(f"local.get ${k}")
            self.emit(f"local.get ${c}")
            self.emit("i64.mul")
            self.emit("i64.add")
            self.emit(f"local.set ${target}")
        if not rev:
            self.emit(f"local.get ${k}")
            self.emit("i64.const 1")
            self.emit("i64.add")
            self.emit(f"local.set ${k}")
        # the variable of range(stop), not assigned in the body: 0 <= target < stop there
        known = simple and target is not None and limit is None and not any(
            isinstance(x, gast.Name) and x.id == target and isinstance(x.ctx, gast.Store)
            for x in ir.walk_block(s.body))
        saved = self.in_range.get(target) if target is not None else None
        if known:
            self.in_range[target] = stop
        try:
            self._close_loop(exit_, top, s.body)
        finally:
            if known:
                if saved is None:
                    del self.in_range[target]
                else:
                    self.in_range[target] = saved

    def range_locals(self, start, stop, step, stem: str = "") -> tuple[str, str, str]:
        """``range(start, stop, step)`` evaluated once into i64 locals: (start, step, length)."""
        a = self.hidden_local(f"{stem}start", I64)
        c = self.hidden_local(f"{stem}step", I64)
        n = self.hidden_local(f"{stem}n", I64)
        self.expr(start, I64)
        self.emit(f"local.set ${a}")
        self.expr(step, I64)
        self.emit(f"local.set ${c}")
        self.expr(stop, I64)
        self.emit(f"local.get ${a}")
        self.emit(f"local.get ${c}")
        self.ctx.math_used.add("range_len")
        self.emit("call $range.len")
        self.emit(f"local.set ${n}")
        return a, c, n

    def _limit_value(self, limit, local) -> None:
        if self._is_pop(limit):
            self.types[local] = I64
            self.pop([local], limit)
        else:
            self.expr(limit, I64)
            self.emit(f"local.set ${local}")

    def ret(self, s) -> None:
        value = s.value
        elts = []
        if isinstance(value, gast.Tuple):
            for e in value.elts:
                if isinstance(e, gast.Tuple):
                    elts.extend(e.elts)
                else:
                    elts.append(e)
        else:
            elts = [value]
        flat = []
        for e in elts:  # a name holding a tuple of numbers returns each
            t = self.type_of(e) if isinstance(e, gast.Name) else None
            if isinstance(t, Multi):
                for k, kt in enumerate(t.types):
                    self.hidden[f"{e.id}.{k}"] = kt
                    self.types.setdefault(f"{e.id}.{k}", kt)
                    flat.append(ir.name(f"{e.id}.{k}"))
            else:
                flat.append(e)
        self.value_nodes = flat
        for e, rt in zip(flat, self.results):
            if isinstance(e, gast.Call) and self._helper(e.func) is tape.zeros_like and \
                    isinstance(self.type_of(e.args[0]), Arr):
                # (an array in wrt that f's value does not depend on: its zeroed buffer)
                self.emit(f"local.get ${self.buffers[e.args[0].id]}")
            elif rt == I32 and isinstance(self.type_of(e), Arr):
                self.emit(f"local.get ${e.id}")
            else:
                self.expr(e, rt)
        self.emit("return")

    # -- the function -----------------------------------------------------------------------
    def function(self, params: list, results: list, export: str | None) -> str:
        """``params``: [(name, wasm type)]; returns the WAT of the function."""
        self.results = results
        self.infer()
        for p, b in self.buffers.items():
            # a gradient buffer has its array's extents (checked at the adjoint sweep's
            # start): a loop over the array's extent needs no check of the buffer's index
            if isinstance(self.types.get(p), Arr) and isinstance(self.types.get(b), Arr):
                self.same_extents[b] = p
        self.block(self.fdef.body)
        self.all_params = params
        return self._text(self.name, export, params, results, self._locals(params),
                          self.lines)

    def _locals(self, params: list) -> dict:
        param_names = {p for p, _ in params}
        locals_ = {n: t for n, t in self.types.items()
                   if n not in param_names and not isinstance(t, (Arr, Shape, Multi))
                   and n not in self.params}
        locals_.update(self.hidden)
        return locals_

    @staticmethod
    def _text(name, export, params, results, locals_, lines) -> str:
        head = f"(func ${name}"
        if export:
            head += f' (export "{export}")'
        out = [head]
        for p, t in params:
            out.append(f"    (param ${p} {t})")
        if results:
            out.append(f"    (result {' '.join(results)})")
        for n, t in sorted(locals_.items()):
            out.append(f"    (local ${n} {t})")
        out.extend(lines)
        out.append("    unreachable")
        out.append("  )")
        return "\n".join(out)

    def split(self, n_primal: int, n_value: int) -> tuple[str, str, list[str]]:
        """The adjoint function just emitted (``function()``), cut at its adjoint sweep's
        marker into two: ``<name>.fwd`` (the primal's parameters -> f's value: runs the
        forward sweep, leaves the tape) and ``<name>.bwd`` (the seeds and buffers -> the
        gradients: runs the adjoint sweep).  Every parameter and local lives on from one to
        the other in a global ``$carry.<name>``; returns the two functions and the globals'
        declarations."""
        if self.sweep_line is None or not self.value_nodes:
            raise S2SADError("internal error: the adjoint has no top-level sweep marker",
                             hint="please report this with the function")
        params = self.all_params
        state = dict(params[:n_primal])
        state.update(self._locals(params))
        carry = {n: f"$carry.{self.name}.{n}" for n in state}
        saved = self.lines[:self.sweep_line]
        saved += [f"    local.get ${n}\n    global.set {carry[n]}" for n in sorted(state)]
        lines, self.lines, self.indent = self.lines, [], 2
        for e in self.value_nodes[:n_value]:
            self.expr(e, F64)
        saved += self.lines + ["    return"]
        self.lines = lines
        fwd_locals = dict(self._locals(params))
        fwd_locals.update(params[n_primal:])
        fwd = self._text(f"{self.name}.fwd", None, params[:n_primal], [F64] * n_value,
                         fwd_locals, saved)
        restored = [f"    global.get {carry[n]}\n    local.set ${n}" for n in sorted(state)]
        bwd_locals = dict(self._locals(params))
        bwd_locals.update(params[:n_primal])
        bwd = self._text(f"{self.name}.bwd", None, params[n_primal:], self.results,
                         bwd_locals, restored + self.lines[self.sweep_line:])
        globals_ = [f"  (global {carry[n]} (mut {t}) ({t}.const 0))"
                    for n, t in sorted(state.items())]
        return fwd, bwd, globals_


def is_ours(func) -> bool:
    return (getattr(func, "__module__", "") or "").split(".")[0] == "s2sad"


def _f64(v: float) -> str:
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return float.hex(v) if v != int(v) or abs(v) > 2 ** 53 else repr(v)


def _is_int(node, value: int) -> bool:
    return isinstance(node, gast.Constant) and type(node.value) is int and node.value == value
