"""The Wasm backend: build a module from the IR, run it under wasmtime.

``build_module(f, wrt, kinds)`` gathers the primal IR of ``f`` and of every user function it
calls, the adjoint IR that emit.py prints, and the math kernels they need, translates each with
wasm_emit and wraps them in one module.  The module imports nothing and exports:

* ``<f>`` -- the primal, and ``<f>_grad`` -- ``(args..., b_out, gradient buffers...) ->
  (value, gradient per wrt)``; an array argument is passed as an address and its extents;
* ``memory``, ``tape_top`` (the tape's stack pointer, where the tape starts) and
  ``error_code`` (1: the tape could not grow, 2: an index out of range, 3: an assert failed,
  5: a checkpointed loop's budget leaves no room; a loop of the forward sweep traps when the
  word at ``INTERRUPT_FLAG`` is set: Ctrl-C);
* the user's global numbers the code reads follow each export's own parameters.

``grad(f, wrt)`` returns a Python callable that copies arrays into linear memory, calls the
module through a fast path (types resolved once, argument buffers reused) and returns the same
results as the Python backend; ``primal(f)`` does the same for ``f`` itself.
"""

from __future__ import annotations

import inspect
import math
import re
import threading
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gast
import numpy as np

from . import ir, wasm_math
from . import kinds as kinds_module
from .errors import S2SADError
from .guards import Guard, compile_reader
from .parse import MISSING, parse_function
from .pickling import Built
from .runtime import assertion_of
from .transform import LOCK, Wrt, positional_arity, transform, wrt_names
from .wasm_checkpoint import RUNTIME as CHECKPOINTS
from .wasm_emit import (
    _TYPE_OF,
    F64,
    I32,
    I64,
    Arr,
    FunctionEmitter,
    ModuleContext,
    Multi,
    _kind_words,
    is_ours,
    multi_of,
    tape_value,
)
from .wasm_runtime import Compiled, Instance

RUNTIME = r"""
  (func $tape.reserve (param $n i32)
    ;; make room for $n more bytes of tape, growing the memory; a failed grow traps
    (local $need i32)
    global.get $sp
    local.get $n
    i32.add
    local.tee $need
    memory.size
    i32.const 16
    i32.shl
    i32.gt_u
    (if (then
      local.get $need
      memory.size
      i32.const 16
      i32.shl
      i32.sub
      i32.const 16
      i32.shr_u
      i32.const 1
      i32.add
      memory.grow
      i32.const -1
      i32.eq
      (if (then (global.set $error_code (i32.const 1)) unreachable))))
    memory.size
    i32.const 16
    i32.shl
    global.set $tape_end
  )
  (func $range.len (param $stop i64) (param $start i64) (param $step i64) (result i64)
    ;; len(range(start, stop, step))
    local.get $step
    i64.const 0
    i64.gt_s
    (if (result i64)
      (then
        local.get $stop
        local.get $start
        i64.gt_s
        (if (result i64)
          (then local.get $stop local.get $start i64.sub local.get $step i64.add
                i64.const 1 i64.sub local.get $step i64.div_s)
          (else i64.const 0)))
      (else
        local.get $start
        local.get $stop
        i64.gt_s
        (if (result i64)
          (then local.get $start local.get $stop i64.sub local.get $step i64.sub
                i64.const 1 i64.sub i64.const 0 local.get $step i64.sub i64.div_s)
          (else i64.const 0))))
  )
  (func $math.ifloordiv (param $a i64) (param $b i64) (result i64)
    ;; Python's a // b: rounds toward minus infinity
    (local $q i64)
    local.get $a
    local.get $b
    i64.div_s
    local.set $q
    local.get $a
    local.get $b
    i64.rem_s
    i64.const 0
    i64.ne
    local.get $a
    i64.const 0
    i64.lt_s
    local.get $b
    i64.const 0
    i64.lt_s
    i32.ne
    i32.and
    (if (result i64) (then local.get $q i64.const 1 i64.sub) (else local.get $q))
  )
  (func $math.imod (param $a i64) (param $b i64) (result i64)
    ;; Python's a % b: the sign of b
    (local $r i64)
    local.get $a
    local.get $b
    i64.rem_s
    local.tee $r
    i64.const 0
    i64.ne
    local.get $r
    i64.const 0
    i64.lt_s
    local.get $b
    i64.const 0
    i64.lt_s
    i32.ne
    i32.and
    (if (result i64) (then local.get $r local.get $b i64.add) (else local.get $r))
  )
  (func $math.mod (param $a f64) (param $b f64) (result f64)
    ;; Python's float a % b (fmod, then the sign of b)
    (local $r f64)
    local.get $a
    local.get $a
    local.get $b
    f64.div
    f64.trunc
    local.get $b
    f64.mul
    f64.sub
    local.tee $r
    f64.const 0
    f64.ne
    local.get $r
    f64.const 0
    f64.lt
    local.get $b
    f64.const 0
    f64.lt
    i32.ne
    i32.and
    (if (result f64) (then local.get $r local.get $b f64.add) (else local.get $r))
  )
  (func $math.floordiv (param $a f64) (param $b f64) (result f64)
    local.get $a
    local.get $a
    local.get $b
    call $math.mod
    f64.sub
    local.get $b
    f64.div
    f64.nearest
  )
  (func $math.ldexp (param $y f64) (param $k i64) (result f64)
    ;; y * 2**k (musl's scalbn)
    local.get $k
    i64.const 1023
    i64.gt_s
    (if (then
      local.get $y f64.const 0x1p1023 f64.mul local.set $y
      local.get $k i64.const 1023 i64.sub local.set $k
      local.get $k i64.const 1023 i64.gt_s
      (if (then
        local.get $y f64.const 0x1p1023 f64.mul local.set $y
        local.get $k i64.const 1023 i64.sub local.set $k
        local.get $k i64.const 1023 i64.gt_s
        (if (then i64.const 1023 local.set $k))))))
    local.get $k
    i64.const -1022
    i64.lt_s
    (if (then
      local.get $y f64.const 0x1p-969 f64.mul local.set $y
      local.get $k i64.const 969 i64.add local.set $k
      local.get $k i64.const -1022 i64.lt_s
      (if (then
        local.get $y f64.const 0x1p-969 f64.mul local.set $y
        local.get $k i64.const 969 i64.add local.set $k
        local.get $k i64.const -1022 i64.lt_s
        (if (then i64.const -1022 local.set $k))))))
    local.get $y
    local.get $k
    i64.const 1023
    i64.add
    i64.const 52
    i64.shl
    f64.reinterpret_i64
    f64.mul
  )
  (func $math.scale2 (param $y f64) (param $k f64) (result f64)
    ;; y * 2**k for a whole number k: the bits of 2**k when it is a normal number (exp's
    ;; last step, no call, no trapping conversion), else scalbn
    local.get $k
    f64.const -1022
    f64.ge
    local.get $k
    f64.const 1023
    f64.le
    i32.and
    (if (result f64)
      (then
        local.get $y
        local.get $k
        i64.trunc_sat_f64_s
        i64.const 1023
        i64.add
        i64.const 52
        i64.shl
        f64.reinterpret_i64
        f64.mul)
      (else
        local.get $y
        local.get $k
        i64.trunc_sat_f64_s
        call $math.ldexp))
  )
  (func $math.beyond_reduction (result f64)
    ;; an argument of sin, cos or tan too large to reduce exactly: error code 6, trap
    (global.set $error_code (i32.const 6))
    unreachable
  )
  (func $math.floorf (param $x f64) (result f64)
    local.get $x
    f64.floor
  )
  (func $math.frexp_exponent (param $x f64) (result i64)
    (local $e i64)
    local.get $x
    f64.const 0
    f64.eq
    (if (then i64.const 0 return))
    local.get $x
    i64.reinterpret_f64
    i64.const 52
    i64.shr_u
    i64.const 2047
    i64.and
    local.tee $e
    i64.eqz
    (if (then
      local.get $x f64.const 0x1p64 f64.mul call $math.frexp_exponent
      i64.const 64 i64.sub return))
    local.get $e
    i64.const 1022
    i64.sub
  )
  (func $math.frexp_mantissa (param $x f64) (result f64)
    local.get $x
    f64.const 0
    f64.eq
    (if (then local.get $x return))
    local.get $x
    i64.reinterpret_f64
    i64.const 52
    i64.shr_u
    i64.const 2047
    i64.and
    i64.eqz
    (if (then local.get $x f64.const 0x1p64 f64.mul call $math.frexp_mantissa return))
    local.get $x
    i64.reinterpret_f64
    i64.const 0x800fffffffffffff
    i64.and
    i64.const 0x3fe0000000000000
    i64.or
    f64.reinterpret_i64
  )
"""

INTRINSIC_SIGNATURES = {
    "math.ldexp": ([F64, I64], [F64]),
    "math.frexp_mantissa": ([F64], [F64]),
    "math.frexp_exponent": ([F64], [I64]),
    "math.floorf": ([F64], [F64]),
    "math.scale2": ([F64, F64], [F64]),
    "math.beyond_reduction": ([], [F64]),
}


def kind_of_type(t):
    """The kind (kinds.py) of a parameter passed as Wasm type ``t``."""
    if isinstance(t, Arr):
        return kinds_module.Array(t.ndim)
    return {F64: kinds_module.FLOAT, I64: kinds_module.INT, I32: kinds_module.BOOL}[t]


def kind_of(value: Any):
    """The Wasm type an argument value is passed as (see wasm_emit)."""
    if isinstance(value, (bool, np.bool_)):
        return I32
    if isinstance(value, (int, np.integer)):
        return I64
    if isinstance(value, (float, np.floating)):
        return F64
    if isinstance(value, np.ndarray) and value.ndim >= 1 and \
            value.dtype.kind in "fiu":  # (not complex: its imaginary part would be lost)
        return Arr(value.ndim)
    what = f"a {value.ndim}-d {value.dtype} array" if isinstance(value, np.ndarray) else \
        f"a {type(value).__name__}"
    raise S2SADError(f"the Wasm backend takes floats, ints and arrays of real "
                     f"numbers; got {what}", hint="use the Python backend for this argument")


def _wasm_params(names: list[str], kinds: dict) -> list[tuple[str, str]]:
    out = []
    for n in names:
        k = kinds[n]
        if isinstance(k, Arr):
            out.append((n, I32))
            out.extend((f"{n}.n{d}", I64) for d in range(k.ndim))
        else:
            out.append((n, k))
    return out


def fuse_sincos(fdef: gast.FunctionDef, fir, namer) -> tuple[gast.FunctionDef, dict]:
    """A copy of the adjoint IR in which a loop that tapes ``t = math.sin(u)`` also tapes
    ``cos(u)``, computed with it from one argument reduction (``math.sincos``), and its
    reversed iteration reads that instead of calling ``math.cos(u)`` again.  Only where ``u``
    reads the loop's own variable and names the function never reassigns, so both sweeps see
    the same ``u``.  (A Wasm-only rewrite: Python has no sincos to share the work.)  Returns the
    new IR and the names it binds (the ``sincos`` call and the taped value)."""
    import math

    fdef = ir.clone(fdef)
    namer = namer.copy()
    body = fdef.body
    split = next((k for k, st in enumerate(body) if ir.anno(st, "adjoint_sweep")), len(body))
    assigned = {n.id for n in ir.walk(fdef) if isinstance(n, gast.Name)
                and isinstance(n.ctx, gast.Store)}
    bound: dict = {}

    def is_math(call, name):
        return (isinstance(call, gast.Call) and len(call.args) == 1
                and fir.resolve(call.func) is getattr(math, name))

    def pushes(loop):
        for k, st in enumerate(loop.body):
            if isinstance(st, ir.Push):
                return k, st
        return None, None

    reversed_loops = [st for st in ir.walk_block(body[split:])
                      if isinstance(st, gast.For)]
    for loop in ir.walk_block(body[:split]):
        if not isinstance(loop, gast.For):
            continue
        k, push = pushes(loop)
        if push is None:
            continue
        names = [e.id for e in push.values if isinstance(e, gast.Name)]
        if len(names) != len(push.values):
            continue
        for st in loop.body[:k]:
            if not (isinstance(st, gast.Assign) and isinstance(st.targets[0], gast.Name)
                    and st.targets[0].id in names and is_math(st.value, "sin")):
                continue
            u = st.value.args[0]
            reads = {n.id for n in ir.walk(u) if isinstance(n, gast.Name)}
            if not reads <= ({loop.target.id} | (set(fir.params) - assigned)
                             | (reads - fir.locals - assigned)):
                continue
            # the reversed loop that pops this record, and the cos(u) its rules compute
            for rloop in reversed_loops:
                first = rloop.body[0] if rloop.body else None
                if not (isinstance(first, gast.Assign) and isinstance(first.value, ir.Pop)
                        and [e.id for e in _target_names(first.targets[0])] == names):
                    continue
                hits = [c for c in ir.walk_block(rloop.body[1:])
                        if is_math(c, "cos") and gast.dump(c.args[0]) == gast.dump(u)]
                if not hits:
                    continue
                c_name = namer.fresh(f"_cos_{st.targets[0].id.lstrip('_')}")
                read_back = namer.once("tape_value", "_tape_value", "helper")
                sincos = namer.once("sincos", "_sincos", "helper")
                bound[read_back] = tape_value
                bound[sincos] = wasm_math.sincos
                for c in hits:  # replace each call by the taped value
                    c.func = ir.name(read_back)
                    c.args = [ir.name(c_name)]
                st.targets = [ir.tuple_of([ir.name(st.targets[0].id, True),
                                           ir.name(c_name, True)], store=True)]
                st.value = ir.call(sincos, u)
                push.values.append(ir.name(c_name))
                names = names + [c_name]
                first.targets = [ir.names_or_one(names, store=True)]
                break
    return fdef, bound


def pair_sincos(fdef: gast.FunctionDef, fir, namer) -> tuple[gast.FunctionDef, dict]:
    """``fdef`` with each ``math.sin(u)`` and ``math.cos(u)`` of one name ``u`` in one block,
    ``u`` not assigned between them, computed together: ``_s, _c = _sincos(u)`` before the
    first, and the two calls read those (one argument reduction instead of two -- a tangent
    function's ``d * cos(u)`` beside its ``sin(u)``, an adjoint's ``cos(u)`` and ``sin(u)``
    of the same line).  Returns the new IR and the names it binds."""
    import math

    fdef = ir.clone(fdef)
    namer = namer.copy()
    bound: dict = {}

    def which(node):
        if isinstance(node, gast.Call) and len(node.args) == 1 and \
                isinstance(node.args[0], gast.Name) and not node.keywords:
            obj = fir.resolve(node.func)
            if obj is math.sin:
                return "sin"
            if obj is math.cos:
                return "cos"
        return None

    def stores(st) -> set:
        return {n.id for n in ir.walk(st) if isinstance(n, gast.Name)
                and isinstance(n.ctx, gast.Store)}

    def rewrite(block: list) -> list:
        out = list(block)
        k = 0
        while k < len(out):
            st = out[k]
            for field_ in ("body", "orelse"):
                inner = getattr(st, field_, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], gast.stmt):
                    setattr(st, field_, rewrite(inner))
            if isinstance(st, (gast.For, gast.While, gast.If)):
                k += 1
                continue
            for call in [c for c in ir.walk(st) if which(c)]:
                kind, u = which(call), call.args[0].id
                other = "cos" if kind == "sin" else "sin"
                # the partner in this statement or in the next simple ones, u unchanged
                partners, last = [], k
                for last in range(k, len(out)):
                    t = out[last]
                    if isinstance(t, (gast.For, gast.While, gast.If)):
                        break
                    partners = [c for c in ir.walk(t) if which(c) == other and
                                c.args[0].id == u]
                    if partners or u in stores(t):
                        break
                if not partners:
                    continue
                s_name = namer.fresh(f"_sin_{u.lstrip('_')}")
                c_name = namer.fresh(f"_cos_{u.lstrip('_')}")
                helper = namer.once("sincos", "_sincos", "helper")
                bound[helper] = wasm_math.sincos
                # each of the two calls reads its name instead
                swap = _Swap({id(c): s_name if which(c) == "sin" else c_name
                              for c in [call] + partners})
                for m in range(k, last + 1):
                    out[m] = swap.visit(out[m])
                out.insert(k, ir.at(gast.Assign(
                    targets=[ir.tuple_of([ir.name(s_name, True), ir.name(c_name, True)],
                                         store=True)],
                    value=ir.call(helper, ir.name(u)), type_comment=None), st))
                k += 1  # (st again: it may hold the sin and cos of another name)
                break
            else:
                k += 1
        return out

    fdef.body = rewrite(fdef.body)
    return fdef, bound


class _Swap(gast.NodeTransformer):
    """Replace the calls of ``names`` (id of a call -> a name) by reads of those names."""

    def __init__(self, names: dict) -> None:
        self.names = names

    def visit_Call(self, node):
        if id(node) in self.names:
            return ir.name(self.names[id(node)])
        return self.generic_visit(node)


def _resolve_injected(node, injected: dict, fir):
    """What a name or attribute chain of generated code denotes: the names the transformation
    bound first (``math`` of a rule's ``math.cos``, though the user's module has no ``math``),
    then the user's."""
    if isinstance(node, gast.Name) and node.id in injected:
        return injected[node.id]
    if isinstance(node, gast.Attribute):
        base = node.value
        while isinstance(base, gast.Attribute):
            base = base.value
        if isinstance(base, gast.Name) and base.id in injected:
            obj = _resolve_injected(node.value, injected, fir)
            return getattr(obj, node.attr, MISSING)
    return fir.resolve(node)


def _target_names(target):
    return target.elts if isinstance(target, gast.Tuple) else [target]


@dataclass
class ModuleSource:
    """The WAT of one module and how to call its exports."""

    wat: str
    name: str
    params: list[str]
    kinds: dict
    wrt: list[str]
    grad_export: str
    primal_export: str
    notes: list[str] = field(default_factory=list)
    # the user's global numbers the module takes after its parameters: [(fir, path, type)]
    inputs: list = field(default_factory=list)
    guard: Any = None  # true while the module is still the right one (guards.py)
    # (file, line, source line) of each statement that can trap on an index: error_site - 1
    sites: list = field(default_factory=list)
    # array arguments not in wrt whose cotangent buffers follow the gradient buffers (the
    # adjoint sweep needs them: the function writes into the array); zeroed, not returned
    scratch: list = field(default_factory=list)
    # array arguments the primal may write into (what a caller of <f> sees change)
    written: list = field(default_factory=list)
    forward: bool = False  # exports <f>_jvp (build_module(forward=True))

    def input_reader(self) -> Callable[[], tuple] | None:
        """A function returning the current values of the user's global numbers the module
        takes after its parameters (None when it takes none)."""
        if not self.inputs:
            return None
        return compile_reader([(fir, path) for fir, path, _ in self.inputs])

    @property
    def input_types(self) -> list[str]:
        return [t for _, _, t in self.inputs]


class _Builder:
    def __init__(self) -> None:
        self.ctx = ModuleContext()
        self.ctx.signatures.update(INTRINSIC_SIGNATURES)
        self.functions: list[str] = []
        self.done: set[str] = set()
        self.user_names: dict[int, str] = {}
        self.pending: list = []
        self.firs: list = []  # every function read for the module (its guard checks them)
        self.exports: list = []  # (export name, function, [(param, type)], results)
        self.scratch: list[str] = []  # array arguments with a cotangent buffer, not in wrt
        self.grad_names: dict[int, str] = {}  # id(callee transformation) -> its Wasm name
        self.split = False  # also export the gradient's two sweeps as <f>_fwd and <f>_bwd
        self.carry: list[str] = []  # globals that carry the state from _fwd to _bwd

    # names -----------------------------------------------------------------------------
    def user_name(self, func) -> str:
        key = id(func)
        if key not in self.user_names:
            base = func.__name__
            name = base
            k = 2
            while name in self.user_names.values():
                name = f"{base}{k}"
                k += 1
            self.user_names[key] = name
        return self.user_names[key]

    def callee_map(self, fir, stmts) -> dict:
        """IR names of called user functions -> their Wasm names (queued for emission)."""
        out = {}
        for node in ir.walk_block(stmts):
            if isinstance(node, gast.Call) and isinstance(node.func, gast.Name):
                obj = fir.resolve(node.func) if fir is not None else MISSING
                if isinstance(obj, types.FunctionType) and not (
                        is_ours(obj) and obj.__module__ != wasm_math.__name__):
                    # (s2sad's own helpers -- div, power in generated code read again --
                    # are the emitter's, not functions to compile)
                    if obj.__module__ == wasm_math.__name__:
                        name = f"math.{obj.__name__}"
                        self.queue_math(obj.__name__)
                    else:
                        name = self.user_name(obj)
                        self.queue_user(obj)
                    out[node.func.id] = name
        return out

    def queue_user(self, func) -> None:
        name = self.user_name(func)
        if name not in self.done:
            self.done.add(name)
            fir = parse_function(func)
            kind = _result_kind(fir)  # (one inference of the body's kinds)
            self.ctx.signatures[name] = ([F64] * len(fir.params), [F64] * _n_results(fir, kind))
            multi = multi_of(kind)
            if multi is not None and multi.groups is not None:  # (a tuple of tuples)
                self.ctx.result_kinds[name] = kind
            self.pending.append(("primal", fir, name, {p: F64 for p in fir.params}))

    def queue_math(self, name: str) -> None:
        wasm_name = f"math.{name}"
        if wasm_name in self.done or wasm_name in INTRINSIC_SIGNATURES:
            return
        self.done.add(wasm_name)
        func = getattr(wasm_math, name)
        fir = parse_function(func)
        ret = fir.body[-1].value
        n_results = len(ret.elts) if isinstance(ret, gast.Tuple) else 1
        self.ctx.signatures[wasm_name] = ([F64] * len(fir.params), [F64] * n_results)
        self.pending.append(("primal", fir, wasm_name, {p: F64 for p in fir.params}))

    # functions -------------------------------------------------------------------------
    def emit_primal(self, fir, name, kinds, export=None) -> None:
        fdef = gast.FunctionDef(name=name, args=gast.arguments(
            args=[gast.Name(id=p, ctx=gast.Param(), annotation=None, type_comment=None)
                  for p in fir.params], posonlyargs=[], vararg=None, kwonlyargs=[],
            kw_defaults=[], kwarg=None, defaults=[]), body=fir.body, decorator_list=[],
            returns=None, type_comment=None, type_params=[])
        results = self.ctx.signatures.get(name, (None, [F64]))[1]
        if isinstance(fir.body[-1].value, gast.Tuple) and len(results) == 1:
            raise fir.error("not supported by the Wasm backend: returning a tuple",
                            fir.body[-1], "the Python backend supports it")
        self.firs.append(fir)
        emitter = FunctionEmitter(fdef, dict(kinds), fir, self.ctx, name,
                                  fir.resolve, self.callee_map(fir, fir.body))
        params = _wasm_params(fir.params, kinds)
        self.functions.append(emitter.function(params, results, None))
        if export:
            self.exports.append((export, name, params, results))
        self._drain()

    def emit_grad(self, t, kinds, export=None, func_name=None) -> list:
        """The adjoint of ``t`` (a Transformed), as the Wasm function ``func_name``
        (``t.name`` by default); returns its result types."""
        fir = t.fir
        fdef, bound = fuse_sincos(t.adjoint_ir, fir, t.reverser.names)
        fdef, paired = pair_sincos(fdef, fir, t.reverser.names)
        injected = dict(t.reverser.injected)
        injected.update(bound)
        injected.update(paired)

        def resolve(node):
            return _resolve_injected(node, injected, fir)

        seed = t.adjoint_ir.args.args[-1].id
        n_value = _n_numbers(t.output_kind)
        params = _wasm_params(fir.params, kinds)
        types_ = dict(kinds)
        if n_value == 1:
            params.append((seed, F64))
            types_[seed] = F64
        else:  # a tuple of numbers: one seed each ($b_out.0, ...)
            params += [(f"{seed}.{k}", F64) for k in range(n_value)]
            types_[seed] = Multi((F64,) * n_value, multi_of(t.output_kind).groups)
        results = [F64] * n_value
        for w in t.wrt:
            if isinstance(kinds[w], Arr):
                bw = t.reverser.names.adjoint(w)
                params += _wasm_params([bw], {bw: kinds[w]})
                types_[bw] = kinds[w]
                results.append(I32)
            else:
                results.append(F64)
        # arrays not in wrt whose cotangents the adjoint sweep needs (one written in place
        # with active values): buffers the caller provides too, not returned
        assigned = {n.id for n in ir.walk(fdef) if isinstance(n, gast.Name)
                    and isinstance(n.ctx, gast.Store)}
        scratch = [p for p in fir.params if p not in t.wrt and isinstance(kinds[p], Arr)
                   and t.reverser.names.adjoint(p) in assigned]
        for p in scratch:
            bp = t.reverser.names.adjoint(p)
            params += _wasm_params([bp], {bp: kinds[p]})
            types_[bp] = kinds[p]
        if export:
            self.scratch = scratch
        callees = self.callee_map(fir, fir.body)
        for name, obj in {**bound, **paired}.items():
            if obj is wasm_math.sincos:
                callees[name] = "math.sincos"
                self.queue_math("sincos")
        by_function = {id(sub.vjp): sub for sub in t.callees.values()}
        for vjp_name, obj in t.reverser.callee_names.items():
            callees[vjp_name] = self.specialization(fir, by_function.get(id(obj)), "grad")
        self.firs.append(fir)
        emitter = FunctionEmitter(fdef, types_, fir, self.ctx, func_name or t.name, resolve,
                                  callees, frozenset(injected))
        emitter.buffers = {w: t.reverser.names.adjoint(w) for w in list(t.wrt) + scratch}
        # a local array's cotangent is made with it (the adjoint sweep cannot allocate)
        emitter.allocations = {n: adj for n, adj in t.reverser.names._adjoints.items()
                               if adj in assigned and n not in fir.params}
        self.functions.append(emitter.function(params, results, None))
        if export:
            self.exports.append((export, t.name, params, results))
            if self.split:  # <f>_fwd and <f>_bwd: the two sweeps as two calls (<f>_grad
                # stays one function: calling the two from it was measured 25-30% slower
                # in V8 on the billiards shot)
                n_primal = len(_wasm_params(fir.params, kinds))
                fwd, bwd, carry = emitter.split(n_primal, n_value)
                self.functions += [fwd, bwd]
                self.carry += carry
                base = export[:-len("_grad")]
                self.exports.append((f"{base}_fwd", f"{t.name}.fwd", params[:n_primal],
                                     [F64] * n_value))
                # (no inputs: the globals the forward sweep set still hold)
                self.exports.append((f"{base}_bwd", f"{t.name}.bwd", params[n_primal:],
                                     results, False))
        self._drain()
        return results

    def specialization(self, fir, sub, kind: str) -> str:
        """The Wasm name of a callee's adjoint (``kind`` "grad": ``sub`` a Transformed) or
        tangent function ("jvp": a Forward), queued for emission the first time: one Wasm
        function per specialization (pair(int, float) and pair(float, float) share a Python
        name)."""
        if sub is None:  # (the callee is the function being built: transform._Pending)
            raise S2SADError(f"{fir.name} is recursive: the Wasm backend does not "
                             "differentiate recursion yet", fir.filename,
                             hint="use the Python backend")
        n_value = _n_numbers(sub.output_kind)
        if kind == "jvp" and not _numbers(sub.output_kind):
            raise S2SADError(f"{fir.name} calls {sub.fir.name}, which returns "
                             f"{_kind_words(sub.output_kind)}: the Wasm forward mode takes "
                             "calls of functions returning numbers or tuples of numbers",
                             fir.filename,
                             hint="use s2sad.jvp (Python backend)")
        wasm_name = self.grad_names.get(id(sub))
        if wasm_name is None:
            wasm_name = sub.name
            k = 2
            while wasm_name in self.grad_names.values() or wasm_name in self.done:
                wasm_name = f"{sub.name}{k}"
                k += 1
            self.grad_names[id(sub)] = wasm_name
        if wasm_name not in self.done:
            self.done.add(wasm_name)
            analysis = sub.reverser if kind == "grad" else sub.forwarder
            sub_kinds = {p: _TYPE_OF.get(analysis.kinds.get(p), F64) for p in sub.fir.params}
            args = [sub_kinds[p] for p in sub.fir.params]
            self.ctx.signatures[wasm_name] = (
                (args + [F64] * n_value, [F64] * (n_value + len(sub.wrt))) if kind == "grad"
                else (args + [F64] * len(sub.wrt), [F64] * (2 * n_value)))
            if kind == "jvp" and n_value > 1:  # ((values...), (tangents...))
                numbers = kinds_module.Seq("tuple", kinds_module.FLOAT,
                                           (kinds_module.FLOAT,) * n_value)
                self.ctx.result_kinds[wasm_name] = kinds_module.Seq("tuple", numbers,
                                                                    (numbers, numbers))
            self.pending.append((kind, sub, wasm_name, sub_kinds))
        return wasm_name

    def emit_jvp(self, ft, kinds, export=None, func_name=None) -> list:
        """The tangent function of ``ft`` (a transform.Forward) as the Wasm function
        ``func_name``: ``(params..., tangents...) -> (value, tangent)``, numbers only."""
        fir = ft.fir
        fdef = ft.ir
        injected = dict(ft.forwarder.injected)

        def resolve(node):
            return _resolve_injected(node, injected, fir)

        if not (isinstance(ft.output_kind, kinds_module.Scalar) or
                export is None and _numbers(ft.output_kind)):
            raise S2SADError(f"{fir.name}: the Wasm forward mode differentiates functions "
                             "of one number", hint="use s2sad.jvp (Python backend)")
        params = _wasm_params(fir.params, kinds)
        types_ = dict(kinds)
        for w in ft.wrt:
            if isinstance(kinds[w], Arr):
                raise S2SADError(f"the Wasm forward mode takes number arguments ('{w}' is an "
                                 "array)", hint="use s2sad.jvp (Python backend)")
            d = ft.forwarder.tangent(w)
            params.append((d, F64))
            types_[d] = F64
        results = [F64] * (2 * _n_numbers(ft.output_kind))  # (values..., tangents...)
        callees = self.callee_map(fir, fir.body)
        for py_name, obj in ft.forwarder.callee_names.items():
            callees[py_name] = self.specialization(fir, ft.callees.get(id(obj)), "jvp")
        self.firs.append(fir)
        emitter = FunctionEmitter(fdef, types_, fir, self.ctx, func_name or ft.name, resolve,
                                  callees, frozenset(injected))
        self.functions.append(emitter.function(params, results, None))
        if export:
            self.exports.append((export, func_name or ft.name, params, results))
        self._drain()
        return results

    def wrapper(self, export, name, params, results, with_inputs=True) -> str:
        """The exported entry of ``name``: it takes the user's global numbers the module
        reads after the function's own parameters and sets them before the call."""
        inputs = list(self.ctx.inputs.values()) if with_inputs else []
        out = [f'(func ${name}.entry (export "{export}")']
        out += [f"    (param ${p} {t})" for p, t in params]
        out += [f"    (param {g}.in {t})" for g, t, _, _ in inputs]
        if results:
            out.append(f"    (result {' '.join(results)})")
        out += [f"    local.get {g}.in\n    global.set {g}" for g, _, _, _ in inputs]
        out += [f"    local.get ${p}" for p, _ in params]
        out += [f"    call ${name}", "  )"]
        return "\n".join(out)

    def _drain(self) -> None:
        while self.pending:
            kind, obj, name, kinds = self.pending.pop()
            if kind == "primal":
                self.emit_primal(obj, name, kinds)
            elif kind == "jvp":
                self.emit_jvp(obj, kinds, func_name=name)
            else:
                self.emit_grad(obj, kinds, func_name=name)
        while self.ctx.math_used - {n.split(".", 1)[1] for n in self.done
                                    if n.startswith("math.")}:
            for m in sorted(self.ctx.math_used):
                if m in ("floordiv", "mod", "ifloordiv", "imod", "range_len"):
                    self.done.add(f"math.{m}")
                    continue
                self.queue_math(m)
            while self.pending:
                kind, obj, name, kinds = self.pending.pop()
                self.emit_primal(obj, name, kinds)

    def module(self) -> str:
        functions = list(self.functions)
        if self.ctx.inputs:  # entries that set the globals, then call the function
            functions += [self.wrapper(*e) for e in self.exports]
        else:  # the functions are the entries
            for export, name, *_ in self.exports:
                head = f"(func ${name}\n"
                functions = [f.replace(head, f'(func ${name} (export "{export}")\n', 1)
                             if f.startswith(head) else f for f in functions]
        body = "\n".join(functions)
        inputs = "".join(f"  (global {g} (mut {t}) ({t}.const 0))\n"
                         for g, t, _, _ in self.ctx.inputs.values())
        inputs += "".join(g + "\n" for g in self.carry)
        return _ascii_identifiers("(module\n"
                '  (memory (export "memory") 1 65535)\n'
                '  (global $sp (export "tape_top") (mut i32) (i32.const 1024))\n'
                '  (global $error_code (export "error_code") (mut i32) (i32.const 0))\n'
                '  (global $error_site (export "error_site") (mut i32) (i32.const 0))\n'
                "  (global $tape_end (mut i32) (i32.const 0))\n"
                f"{inputs}{RUNTIME}{CHECKPOINTS if self.ctx.checkpoints else ''}\n{body}\n)\n")


_IDENTIFIER = re.compile(r"\$[^\s()\";]+")


def _ascii_identifiers(text: str) -> str:
    """WAT identifiers are ASCII: a Python name's other characters are spelled as the %XX
    of their UTF-8 bytes (``$größe`` -> ``$gr%C3%B6%C3%9Fe``; no Python name holds a ``%``,
    so no two names meet).  Export names are strings and keep the user's spelling."""
    def ascii_only(match):
        word = match.group(0)
        if word.isascii():
            return word
        return "".join(c if c.isascii() else "".join(f"%{b:02X}" for b in c.encode())
                       for c in word)

    return _IDENTIFIER.sub(ascii_only, text)


def _written(fir, kinds) -> list[str]:
    """The array parameters ``f`` may write into: all but those only read as ``p[...]``,
    ``p.shape``, ``p.copy()`` or ``len(p)``."""
    read_only = {p for p, k in kinds.items() if isinstance(k, Arr)}
    reads = set()
    for node in ir.walk_block(fir.body):
        if isinstance(node, gast.Subscript) and isinstance(node.ctx, gast.Load) or \
                isinstance(node, gast.Attribute) and node.attr in ("shape", "copy") or \
                isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and \
                node.func.id == "len" and len(node.args) == 1:
            inner = node.args[0] if isinstance(node, gast.Call) else node.value
            if isinstance(inner, gast.Name):
                reads.add(id(inner))
    for node in ir.walk_block(fir.body):
        if isinstance(node, gast.Name) and node.id in read_only and id(node) not in reads:
            read_only.discard(node.id)
    return [p for p in fir.params if isinstance(kinds.get(p), Arr) and p not in read_only]


def _result_kind(fir):
    """The kind of what a function returns for number arguments (its IR has one return, of
    a name when it had several), or None when it cannot tell."""
    last = fir.body[-1] if fir.body else None
    value = last.value if isinstance(last, gast.Return) else None
    env = kinds_module.Env({}, fir.resolve, lambda n: n in fir.locals)
    try:
        kinds_module.infer(fir.body, {p: kinds_module.FLOAT for p in fir.params}, env)
        return kinds_module.kind_of(value, env) if value is not None else None
    except S2SADError:  # (a kind it cannot tell: the emitter says what it lacks)
        return None


def _n_results(fir, kind) -> int:
    """How many numbers a function returns (a tuple of n numbers: n; of tuples: all), from
    the kind of what it returns (``_result_kind``)."""
    value = fir.body[-1].value if fir.body and isinstance(fir.body[-1], gast.Return) else None
    multi = multi_of(kind)
    if multi is not None:
        return len(multi.types)
    return len(value.elts) if isinstance(value, gast.Tuple) else 1  # (kinds not known here)


def _numbers(kind) -> bool:
    """A number, or a tuple of numbers (a callee's value the Wasm code passes as numbers)."""
    multi = multi_of(kind)
    return isinstance(kind, kinds_module.Scalar) or multi is not None and multi.groups is None


def _n_numbers(kind) -> int:
    """How many numbers a value of ``kind`` is passed as (a tuple of n numbers: n; a tuple
    of tuples of numbers: all of them)."""
    multi = multi_of(kind)
    return len(multi.types) if multi is not None else 1


def guess_kinds(f: Callable, params: list[str]) -> dict:
    """Argument kinds read off the source, for building a module without example arguments
    (the CLI): a parameter indexed as ``p[i]`` is a 1-d array, as ``p[i, j]`` a 2-d one
    (also when only ``p.shape`` or ``len(p)`` says it is an array: 1-d), one whose default
    is an int an int (a bool: a bool), the rest floats."""
    fir = parse_function(f)
    kinds = {p: F64 for p in params}
    signature = inspect.signature(f).parameters
    for p in params:
        default = signature[p].default if p in signature else None
        if isinstance(default, bool):
            kinds[p] = I32
        elif isinstance(default, int):
            kinds[p] = I64
    ranks: dict[str, int] = {}  # every name indexed: its rank
    copies: dict[str, str] = {}  # x = p.copy() / np.copy(p) / np.zeros_like(p): x -> p
    for node in ir.walk_block(fir.body):
        if isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name):
            parts = node.slice.elts if isinstance(node.slice, gast.Tuple) else [node.slice]
            # (x[:, None, :] is of a 2-d x: None makes an axis, it indexes none)
            rank = sum(not (isinstance(i, gast.Constant) and i.value is None) for i in parts)
            ranks[node.value.id] = max(rank, ranks.get(node.value.id, 0))
        elif isinstance(node, gast.Attribute) and node.attr == "shape" and \
                isinstance(node.value, gast.Name):
            ranks.setdefault(node.value.id, 1)
        elif isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Name) and \
                isinstance(node.value, gast.Call):
            source = _copied(node.value, fir)
            if source is not None:
                copies[node.targets[0].id] = source
    for local, source in copies.items():  # an array argument's rank, seen through its copy
        if local in ranks:
            ranks[source] = max(ranks[local], ranks.get(source, 0))
    for p in params:
        if ranks.get(p):
            kinds[p] = Arr(ranks[p])
    return kinds


def _whole_array(fir) -> bool:
    """Whether ``fir`` applies NumPy to whole values (``A @ w``, ``np.tanh(x)``, ``x.sum()``):
    its parameters may be arrays though the source never indexes them."""
    for node in ir.walk_block(fir.body):
        if isinstance(node, gast.BinOp) and isinstance(node.op, gast.MatMult):
            return True
        if isinstance(node, gast.Call):
            obj = fir.resolve(node.func)
            if isinstance(obj, np.ufunc) or getattr(obj, "__module__", "") == "numpy" or \
                    isinstance(node.func, gast.Attribute) and fir.is_local(node.func.value):
                return True
    return False


def _copied(call, fir) -> str | None:
    """The name ``call`` copies (``p.copy()``, ``np.copy(p)``, ``np.zeros_like(p)``)."""
    func = call.func
    if isinstance(func, gast.Attribute) and func.attr == "copy" and not call.args and \
            isinstance(func.value, gast.Name):
        return func.value.id
    if call.args and isinstance(call.args[0], gast.Name) and fir.resolve(func) in (
            np.copy, np.zeros_like, np.ones_like, np.empty_like):
        return call.args[0].id
    return None


def build_module(f: Callable, wrt: Wrt = 0, kinds: dict | None = None,
                 split: bool = False, forward: bool = False,
                 memory: int | str | None = None, hvp: bool = False) -> ModuleSource:
    """The WAT module for ``f`` and its gradient with respect to ``wrt``.

    ``kinds`` gives each parameter's type (``"f64"``, ``"i64"``, ``"i32"`` or ``Arr(ndim)``);
    by default it is guessed from the source (``guess_kinds``).  ``split=True`` also exports
    the gradient's two sweeps: ``<f>_fwd`` (f's parameters -> its value; the tape is left in
    memory) and ``<f>_bwd`` (the seed and buffers of ``<f>_grad`` -> its results);
    ``forward=True`` exports ``<f>_jvp`` (``args..., tangents of wrt... -> (value,
    tangent)``: forward mode, number arguments).  ``hvp=True`` exports ``<f>_hvp`` (``args...,
    tangents of the float parameters..., seed -> (f's directional derivative, the Hessian
    times the tangents for each float parameter)``: the gradient of the tangent, reverse over
    forward, number arguments).  ``memory`` (bytes, or ``"64MB"``) checkpoints the loops that
    tape so that the tape stays within it (checkpointing.py).
    """
    with LOCK:
        return _build_module(f, wrt, kinds, split, forward, memory, hvp)


def _build_module(f, wrt, kinds, split=False, forward=False, memory=None,
                  hvp=False) -> ModuleSource:
    from .checkpoint import parse_memory

    params = list(inspect.signature(f).parameters)
    names, _ = wrt_names(f, params, wrt, allow_empty=wrt == ())
    kinds = dict(kinds or guess_kinds(f, params))
    # the adjoint specialized for the array arguments (of known rank), as the Python backend's
    t = transform(f, names, kinds={p: kind_of_type(k) for p, k in kinds.items()},
                  memory=parse_memory(memory), lowered=True)
    if t.returns_tuple:
        raise S2SADError(f"{f.__name__} returns a tuple; the Wasm backend differentiates "
                         "scalar functions", hint="use s2sad.vjp (Python backend)")
    for w in names:
        if kinds[w] in (I64, I32):
            raise S2SADError(f"cannot differentiate with respect to the integer argument '{w}'")
    b = _Builder()
    b.split = split
    name = t.fir.name
    b.done.add(name)
    b.user_names[id(f)] = name
    b.emit_primal(t.fir, name, kinds, export=name)
    b.done.add(t.name)
    b.emit_grad(t, kinds, export=f"{name}_grad")
    if forward:
        from .transform import transform_forward

        ft = transform_forward(f, names, kinds={p: kind_of_type(k) for p, k in kinds.items()})
        b.done.add(ft.name)
        b.emit_jvp(ft, kinds, export=f"{name}_jvp")
    if hvp:
        from .higher import hvp_function

        fn, varied = hvp_function(f, {p: kind_of_type(k) for p, k in kinds.items()})
        # (its parameters: f's, then a tangent for each of varied, of its kind)
        hvp_params = list(inspect.signature(fn).parameters)
        of = params + list(varied)
        hvp_kinds = {q: kinds[of[k]] for k, q in enumerate(hvp_params)}
        th = transform(fn, varied, kinds={p: kind_of_type(k) for p, k in hvp_kinds.items()},
                       lowered=True)
        b.done.add(th.name)
        split, b.split = b.split, False  # (the two sweeps are exported for <f>_grad only)
        b.emit_grad(th, hvp_kinds, export=f"{name}_hvp")
        b.split = split
    wat = b.module()
    inputs = [(fir, path, t) for _, t, fir, path in b.ctx.inputs.values()]
    guard = Guard([fir for fir in b.firs + t.guard.firs if not is_ours(fir.func)],
                  pinned=b.ctx.pinned)
    return ModuleSource(wat, name, params, kinds, names, f"{name}_grad", name, [], inputs,
                        guard, list(b.ctx.sites), list(b.scratch), _written(t.fir, kinds),
                        forward)


# -- running modules ---------------------------------------------------------------------------

class WasmFunction:
    """What ``grad(f, backend="wasm")`` returns: specialized per argument types on first
    call, then a fast call into the module per call.  Each thread calls its own instance of
    the module (wasm_runtime.py); a specialization is used while its guard holds (the
    functions and globals it was built from are unchanged: guards.py)."""

    def __init__(self, f: Callable, wrt: Wrt, with_value: bool, primal: bool = False,
                 verbose: bool = False, memory: int | str | None = None) -> None:
        from .checkpoint import parse_memory

        self.f = f
        self.memory = memory
        self.budget = parse_memory(memory)
        self.wrt = wrt
        self.with_value = with_value
        self.primal = primal
        self.verbose = verbose
        self.params = list(inspect.signature(f).parameters)
        self.wrt_names, self.single = wrt_names(f, self.params, wrt, allow_empty=primal)
        self.specialized: dict = {}
        self._by_types: dict = {}
        self._local = threading.local()  # per thread: type key -> (fast call, guard)
        self._bind = inspect.signature(f)
        self._positional = positional_arity(self._bind)  # (calls that need no binding)
        # validate now: unsupported constructs are reported when the gradient is built (with
        # every argument a float; other argument types are compiled on first call)
        try:  # (kinds read off the source: a parameter indexed as p[i] is an array)
            t = transform(f, self.wrt_names, kinds={
                p: kind_of_type(k) for p, k in guess_kinds(f, self.params).items()},
                memory=self.budget, lowered=True)
        except S2SADError as refusal:
            # refused for float arguments: reported now if arrays are refused too, else left
            # for the first call (``a.sum()`` needs ``a`` to be an array); NumPy of whole
            # arguments (A @ w) is left for the first call too: its ranks come with it
            if _whole_array(parse_function(f)):
                return
            try:
                transform(f, self.wrt_names,
                          kinds={p: kinds_module.Array(None) for p in self.params},
                          memory=self.budget, lowered=True)
            except S2SADError:
                raise refusal from None
            return
        if not set(t.fir.params) & t.reverser.containers:  # (arrays: built on first call)
            try:
                build_module(f, tuple(self.wrt_names), memory=memory)
            except S2SADError:
                if not _whole_array(parse_function(f)):
                    raise
                # (NumPy of arguments read whole: their ranks come with the first call)

    def __reduce_ex__(self, protocol):
        """Pickled as what it was built from (pickling.py); the modules are built again on
        the other side, once per process."""
        return Built.__reduce_ex__(self, protocol)

    @property
    def recipe(self) -> tuple:
        return ("wasm", self.f, self.wrt, self.with_value, self.primal) + (
            (self.memory,) if self.memory is not None else ())

    def source(self, *args) -> str:
        """The WAT of the module specialized for these arguments (floats by default)."""
        kinds = {p: kind_of(a) for p, a in zip(self.params, args)} if args else None
        return build_module(self.f, tuple(self.wrt_names), kinds, memory=self.memory).wat

    def _specialize(self, args):
        kinds = tuple(kind_of(a) for a in args)
        with LOCK:  # (threads calling it for the first time at once: built once)
            spec = self.specialized.get(kinds)
            if spec is None or not spec.guard():
                spec = _Specialized(self.f, self.wrt_names, dict(zip(self.params, kinds)),
                                    self.memory)
                if self.verbose:
                    print(spec.source.wat)
                self.specialized[kinds] = spec
        return spec

    def __call__(self, *args, **kwargs):
        if kwargs or len(args) != self._positional:
            bound = self._bind.bind(*args, **kwargs)
            bound.apply_defaults()
            args = tuple(bound.arguments.values())
        # fast path: the module for these Python types (and array shapes: each has its call,
        # _Runner._row) was built
        key = tuple(map(type, args))
        if np.ndarray in key:
            key = key + tuple([a.shape for a in args if type(a) is np.ndarray])
        fast = getattr(self._local, "fast", None)
        if fast is None:
            fast = self._local.fast = {}
        entry = fast.get(key)
        if entry is not None and entry[1]():
            try:
                out = entry[0](*args)
            except BaseException as exc:
                fast.pop(key, None)  # (the next call takes the slow path, on a new instance)
                if isinstance(exc, AssertionError):
                    raise self._assertion(args) from None
                raise
            if self.primal:
                return out[0]
            if self.with_value:
                return (out[0], out[1] if self.single else out[1:])
            return out[1] if self.single else out[1:]
        spec = self._by_types.get(key)
        if spec is None or not spec.guard():
            spec = self._specialize(args)
        if spec.has_arrays:
            if len(self._by_types) > 256:  # (calls with ever new shapes: kept bounded)
                self._by_types.clear()
            self._by_types[key] = spec
        runner = spec.runner()
        try:
            if self.primal:
                out = runner.run_primal(args)
            else:
                value, grads = runner.run_grad(args)
        except AssertionError:
            raise self._assertion(args) from None
        if len(fast) > 256:
            fast.clear()
        if not spec.has_arrays:
            fast[key] = (runner.call_primal if self.primal else runner.call_grad, spec.guard)
        elif all(type(args[k]) is np.ndarray for k in runner.array_positions):
            # (the same rows as the module's: (value, gradients...)), for the shapes the key
            # ends with; a subclass of ndarray is not keyed by its shape: always the slow path
            fast[key] = (runner.row_for(key[len(args):], not self.primal), spec.guard)
        if self.primal:
            return out
        out = grads[0] if self.single else tuple(grads)
        return (value, out) if self.with_value else out

    def _assertion(self, args) -> BaseException:
        """An ``assert`` failed in the module: the same AssertionError as ``f``'s."""
        return assertion_of(self.f, args)


class _Specialized:
    """One module built for one tuple of argument kinds: compiled once, instantiated per
    thread (``runner()``)."""

    def __init__(self, f, wrt_names, kinds, memory=None) -> None:
        self.source = build_module(f, tuple(wrt_names), kinds, memory=memory)
        self.compiled = Compiled(self.source.wat, self.source.sites)
        self.guard = self.source.guard.fast()
        self.kinds = kinds
        self.params = list(kinds)
        self.wrt = wrt_names
        flat = [t for _, t in _wasm_params(self.params, kinds)]
        self.primal_types = flat
        self.grad_types = flat + [F64]
        self.results = [F64]
        for w in wrt_names:
            if isinstance(kinds[w], Arr):
                self.grad_types += [t for _, t in _wasm_params([w], {w: kinds[w]})]
                self.results.append(I32)
            else:
                self.results.append(F64)
        self.scratch = list(self.source.scratch)
        for p in self.scratch:
            self.grad_types += [t for _, t in _wasm_params([p], {p: kinds[p]})]
        self.has_arrays = any(isinstance(k, Arr) for k in kinds.values())
        self.input_types = self.source.input_types
        self.read_inputs = self.source.input_reader()

    def runner(self) -> _Runner:
        """The calling thread's runner (a new one after a trap dropped its instance)."""
        inst = self.compiled.instance()
        runner = inst.runners.get(id(self))
        if runner is None:
            runner = inst.runners[id(self)] = _Runner(self, inst)
        return runner


class _Runner:
    """One specialization's callers on one thread's instance."""

    def __init__(self, spec: _Specialized, inst: Instance) -> None:
        self.spec = spec
        self.inst = inst
        self.plans: dict = {}  # array shapes -> where they go in memory (_plan)
        self.rows: dict = {}  # array shapes -> the call for them (_row)
        self.array_positions = [k for k, p in enumerate(spec.params)
                                if isinstance(spec.kinds[p], Arr)]
        export = spec.source
        inputs = (spec.read_inputs, spec.input_types)
        self.call_primal = inst.caller(export.primal_export, spec.primal_types, [F64], (),
                                       *inputs)
        # the seed b_out defaults to 1.0 when the caller leaves it out
        self.call_grad = inst.caller(export.grad_export, spec.grad_types, spec.results,
                                     () if spec.has_arrays else (1.0,), *inputs)

    def _plan(self, shapes: tuple, with_grads: bool):
        """Where the arrays of these shapes go in linear memory: (slots of the arrays --
        (position in args, start, end) in float64 units --, the flat argument list with
        placeholders for numbers, the gradient buffers (address, shape), the tape's base);
        made once per shapes."""
        key = (shapes, with_grads)
        plan = self.plans.get(key)
        if plan is not None:
            return plan
        spec = self.spec
        flat: list = []
        offset = 64
        slots = []
        numbers = []
        it = iter(shapes)
        for k, p in enumerate(spec.params):
            if isinstance(spec.kinds[p], Arr):
                shape = next(it)
                size = math.prod(shape)
                slots.append((k, offset // 8, offset // 8 + size))
                flat.append(offset)
                flat.extend(shape)
                offset += (size * 8 + 15) // 16 * 16
            else:
                numbers.append((len(flat), k))
                flat.append(None)
        buffers = []
        if with_grads:
            arrays = [p for p in spec.params if isinstance(spec.kinds[p], Arr)]
            by_param = dict(zip(arrays, shapes))
            for w in [w for w in spec.wrt if isinstance(spec.kinds[w], Arr)] + spec.scratch:
                shape = by_param[w]
                buffers.append((offset, shape))
                offset += (math.prod(shape) * 8 + 15) // 16 * 16
        tape = (offset + 1023) // 1024 * 1024
        extra = []
        for off, shape in buffers:
            extra.append(off)
            extra.extend(shape)
        zero = [(off // 8, off // 8 + math.prod(shape)) for off, shape in buffers]
        plan = self.plans[key] = (slots, flat, numbers, buffers, tape, extra, zero)
        return plan

    def _row(self, shapes: tuple, with_grads: bool) -> Callable:
        """The call for array arguments of these shapes: each array copied straight into
        linear memory, the gradient buffers zeroed, the module called, the gradients copied
        out; everything that depends on the shapes alone is worked out here, once."""
        slots, flat, numbers, buffers, tape, extra, zero = self._plan(shapes, with_grads)
        inst = self.inst
        spec = self.spec
        need = tape + 65536
        outs = iter(buffers)
        results = []  # per wrt: (start, end, shape) of an array's buffer, or None
        for w in spec.wrt if with_grads else ():
            if isinstance(spec.kinds[w], Arr):
                off, shape = next(outs)
                results.append((off // 8, off // 8 + math.prod(shape), shape))
            else:
                results.append(None)
        call = self.call_grad if with_grads else self.call_primal
        tail = (1.0, *extra) if with_grads else ()

        def row(*args) -> tuple:
            if inst._view_size < need:
                inst.ensure_memory(need)
            view = inst.memory_view(tape)
            for k, start, end in slots:  # one copy per array, straight into linear memory
                a = args[k]
                if a.dtype.kind not in "fiu":
                    kind_of(a)  # (raises: complex, bool and object arrays are refused)
                view[start:end] = a.ravel()
            for start, end in zero:
                view[start:end] = 0.0
            if tape != inst.tape_base:
                inst.set_tape_base(tape)
            values = flat
            if numbers:
                values = list(flat)
                for pos, k in numbers:
                    values[pos] = args[k]
            if not with_grads:
                return call(*values)
            out = call(*values, *tail)
            return (out[0], *[g if r is None else view[r[0]:r[1]].reshape(r[2]).copy()
                              for g, r in zip(out[1:], results)])

        return row

    def row_for(self, shapes: tuple, with_grads: bool) -> Callable:
        """The call for arrays of these shapes (``row(*args) -> (value, gradients...)``)."""
        key = (shapes, with_grads)
        row = self.rows.get(key)
        if row is None:
            if len(self.rows) > 256:  # (ever new shapes: kept bounded)
                self.rows.clear()
            row = self.rows[key] = self._row(shapes, with_grads)
        return row

    def _array_row(self, args, with_grads: bool) -> tuple:
        shapes = tuple([args[k].shape for k in self.array_positions])
        return self.row_for(shapes, with_grads)(*args)

    def run_primal(self, args):
        if self.spec.has_arrays:
            args = self._arrays(args)
            return self._array_row(args, False)[0]
        return self.call_primal(*args)[0]

    def _arrays(self, args) -> tuple:
        """``args`` with their arrays as NumPy arrays (the row takes shapes and dtypes)."""
        args = list(args)
        for k in self.array_positions:
            args[k] = np.asarray(args[k])
        return tuple(args)

    def run_grad(self, args):
        if not self.spec.has_arrays:
            out = self.call_grad(*args)
            return out[0], out[1:]
        out = self._array_row(self._arrays(args), True)
        return out[0], list(out[1:])


class WasmForward:
    """``s2sad.jvp(f, primals, tangents, backend="wasm")``: the module's ``<f>_jvp`` export
    (forward mode, number arguments), built per argument types, an instance per thread; with
    array arguments, ``f``'s compiled primal and its compiled tangent function (``_arrays``)."""

    def __init__(self, f: Callable) -> None:
        self.f = f
        self.params = list(inspect.signature(f).parameters)
        self.specs: dict = {}

    def _spec(self, primals):
        kinds = {p: kind_of(a) for p, a in zip(self.params, primals)}
        wrt = [p for p in self.params if kinds[p] == F64]
        if not wrt:
            raise S2SADError(f"jvp of {self.f.__name__}: no float argument to vary")
        source = build_module(self.f, tuple(wrt), kinds, forward=True)
        compiled = Compiled(source.wat, source.sites)
        types_ = [t for _, t in _wasm_params(self.params, kinds)] + [F64] * len(wrt)
        return (source, compiled, source.guard.fast(), [self.params.index(w) for w in wrt],
                types_, source.input_reader(), source.input_types)

    def __call__(self, primals, tangents) -> tuple[float, float]:
        if any(isinstance(a, np.ndarray) for a in primals):
            return self._arrays(primals, tangents)
        key = tuple(map(type, primals))
        spec = self.specs.get(key)
        if spec is None or not spec[2]():
            spec = self.specs[key] = self._spec(primals)
        source, compiled, _, positions, types_, reader, input_types = spec
        inst = compiled.instance()
        call = inst.runners.get(("jvp", id(spec)))
        if call is None:
            call = inst.runners[("jvp", id(spec))] = inst.caller(
                f"{source.name}_jvp", types_, [F64, F64], (), reader, input_types)
        out = call(*primals, *[float(tangents[k]) for k in positions])
        return out[0], out[1]


    def _arrays(self, primals, tangents) -> tuple:
        """Array arguments: the value by ``f``'s compiled primal, the tangent by the compiled
        tangent function (``higher.hvp_function``: ``f``'s forward transformation returning
        its tangent, one function of arrays and numbers); each runs on copies."""
        from .higher import derived_refusal, hvp_function

        kinds = tuple(kind_of(a) for a in primals)
        made = self.specs.get(kinds)
        if made is None:
            arg_kinds = {p: kinds_module.value_kind(a) for p, a in zip(self.params, primals)}
            fn, varied = hvp_function(self.f, arg_kinds)
            made = self.specs[kinds] = (primal(self.f), WasmFunction(fn, (), False, primal=True),
                                        [self.params.index(p) for p in varied])
        value_of, tangent_of, positions = made

        def copies():
            return [a.copy() if isinstance(a, np.ndarray) else a for a in primals]

        from .api import _tangent_like

        # (checked as the Python backend's: a number's 0.0 for an array is its zeros)
        ts = [np.ascontiguousarray(_tangent_like(primals[k], tangents[k], self.params[k],
                                                 self.f.__name__)) if
              isinstance(primals[k], np.ndarray) else float(tangents[k]) for k in positions]
        try:
            return value_of(*copies()), tangent_of(*copies(), *ts)
        except S2SADError as exc:
            self.specs.pop(kinds, None)
            raise derived_refusal(self.f, "the Wasm jvp", exc) from None


def grad(f: Callable, wrt: Wrt = 0, verbose: bool = False,
         memory: int | str | None = None) -> WasmFunction:
    """The gradient of ``f`` computed by a WebAssembly module (see the module docstring)."""
    return WasmFunction(f, wrt, with_value=False, verbose=verbose, memory=memory)


def value_and_grad(f: Callable, wrt: Wrt = 0, verbose: bool = False,
                   memory: int | str | None = None) -> WasmFunction:
    """``(f(*args), gradient)`` computed by a WebAssembly module."""
    return WasmFunction(f, wrt, with_value=True, verbose=verbose, memory=memory)


def primal(f: Callable) -> WasmFunction:
    """``f`` itself, compiled to WebAssembly (the module's primal export)."""
    # (differentiated with respect to nothing: the module's gradient export is empty, and a
    # construct only its derivative would need is not refused)
    return WasmFunction(f, (), with_value=False, primal=True)
