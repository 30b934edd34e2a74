"""Activity analysis over the IR.

A variable is *varied* when its value depends, through differentiable operations, on a
``wrt`` input, and *useful* when the function's result depends on it the same way.  Only
variables that are both (*active*) get an adjoint ``b<name>`` and only active statements get a
backward counterpart.  The analysis is flow-insensitive -- one fixed point over every
statement, so a variable active anywhere is active everywhere -- which is simple, cannot miss
a dependence, and is exact for the straight-line and loop code people write.

``classify`` says what kind of operation a flat right-hand side is (a rule, a user function,
an index read, ...); reverse.py uses the same answer.
"""

from __future__ import annotations

import operator
import types
from dataclasses import dataclass, field
from typing import Any

import gast

from . import rules
from .parse import MISSING, FunctionIR

BINOPS = {gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul,
          gast.Div: operator.truediv, gast.Pow: operator.pow, gast.Mod: operator.mod,
          gast.FloorDiv: operator.floordiv, gast.MatMult: operator.matmul,
          gast.BitAnd: operator.and_, gast.BitOr: operator.or_, gast.BitXor: operator.xor,
          gast.LShift: operator.lshift, gast.RShift: operator.rshift}
UNOPS = {gast.USub: operator.neg, gast.UAdd: operator.pos, gast.Not: operator.not_,
         gast.Invert: operator.invert}
CONSTANT_ATTRS = {"shape", "ndim", "size", "dtype", "real_if_close", "itemsize", "nbytes"}


@dataclass
class Op:
    """What a flat right-hand side does, as far as differentiation cares.

    kind: ``copy`` (``a = b``), ``rule`` (a primitive with a rule), ``user`` (a call to a
    user function with source), ``index`` (``a = b[i]``), ``literal`` (a tuple or list),
    ``nondiff`` (a result with no derivative), ``opaque`` (a call with no rule and no source),
    ``attr`` (an attribute of a local such as ``x.T``).
    """

    kind: str
    operands: list = field(default_factory=list)  # atoms that may carry derivatives
    primitive: Any = None
    rule: Any = None
    node: Any = None


def _locals_in(fir, atoms):
    return [a for a in atoms if isinstance(a, gast.Name) and a.id in fir.locals]


def classify(fir: FunctionIR, value) -> Op:
    """Describe a flat right-hand side (see ``Op``)."""
    if isinstance(value, gast.Name):
        if value.id in fir.locals:
            return Op("copy", [value], node=value)
        return Op("nondiff", node=value)
    if isinstance(value, (gast.Constant, gast.JoinedStr)):
        return Op("nondiff", node=value)
    if isinstance(value, gast.BinOp):
        return _primitive_op(BINOPS[type(value.op)], [value.left, value.right], fir, value)
    if isinstance(value, gast.UnaryOp):
        return _primitive_op(UNOPS[type(value.op)], [value.operand], fir, value)
    if isinstance(value, gast.Compare):
        return Op("nondiff", node=value)
    if isinstance(value, gast.Subscript):
        return Op("index", _locals_in(fir, [value.value]), node=value)
    if isinstance(value, (gast.Tuple, gast.List)):
        return Op("literal", _locals_in(fir, value.elts), node=value)
    if isinstance(value, gast.Attribute):
        if not fir.is_local(value.value):
            return Op("nondiff", node=value)
        if value.attr in CONSTANT_ATTRS:
            return Op("nondiff", node=value)
        return _primitive_op(("attr", value.attr), [value.value], fir, value)
    if isinstance(value, gast.Call):
        target = fir.resolve(value.func)
        args = list(value.args)
        if target is MISSING and isinstance(value.func, gast.Attribute):
            # a method of a local value: x.sum(), x.dot(y)
            return _primitive_op(("method", value.func.attr), [value.func.value] + args, fir,
                                 value)
        if target is MISSING:
            return Op("opaque", _locals_in(fir, args), node=value)
        return _primitive_op(target, args, fir, value)
    return Op("opaque", node=value)


def _primitive_op(prim, args, fir, node) -> Op:
    operands = _locals_in(fir, args)
    if isinstance(prim, tuple):
        rule = rules.lookup_method(prim[0], prim[1])
    else:
        if rules.is_nondifferentiable(prim):
            return Op("nondiff", node=node, primitive=prim)
        rule = rules.lookup(prim)
    if rule is not None:
        return Op("rule", operands, primitive=prim, rule=rule, node=node)
    if isinstance(prim, types.FunctionType) and not rules.is_library(prim):
        return Op("user", operands, primitive=prim, node=node)
    return Op("opaque", operands, primitive=prim, node=node)


def walk_statements(stmts):
    """Every statement, nested ones included, in textual order."""
    for s in stmts:
        yield s
        if isinstance(s, gast.If):
            yield from walk_statements(s.body)
            yield from walk_statements(s.orelse)
        elif isinstance(s, (gast.For, gast.While)):
            yield from walk_statements(s.body)


def store_base(target) -> str | None:
    """The name an assignment target stores into (``a`` for ``a`` and for ``a[i]``)."""
    while isinstance(target, gast.Subscript):
        target = target.value
    return target.id if isinstance(target, gast.Name) else None


@dataclass
class Activity:
    varied: set[str]
    useful: set[str]

    @property
    def active(self) -> set[str]:
        return self.varied & self.useful

    def is_active(self, name: str) -> bool:
        return name in self.varied and name in self.useful


def returned_names(fir: FunctionIR) -> list[str]:
    ret = fir.body[-1].value
    elts = ret.elts if isinstance(ret, gast.Tuple) else [ret]
    return [e.id for e in elts if isinstance(e, gast.Name) and e.id in fir.locals]


def analyze(fir: FunctionIR, wrt: list[str]) -> Activity:
    """Compute the varied and useful sets of ``fir`` for inputs ``wrt``."""
    edges = []  # (target, [operand names]) for every flow of derivatives
    for s in walk_statements(fir.body):
        if isinstance(s, gast.Assign):
            target = s.targets[0]
            op = classify(fir, s.value)
            if op.kind in ("nondiff",):
                continue
            names = [a.id for a in op.operands]
            base = store_base(target)
            if isinstance(target, gast.Subscript):
                names.append(base)  # a[i] = v: a keeps its other elements
            edges.append((base, names))
    varied = set(wrt)
    changed = True
    while changed:
        changed = False
        for target, names in edges:
            if target not in varied and any(n in varied for n in names):
                varied.add(target)
                changed = True
    useful = set(returned_names(fir))
    changed = True
    while changed:
        changed = False
        for target, names in edges:
            if target in useful:
                for n in names:
                    if n not in useful:
                        useful.add(n)
                        changed = True
    return Activity(varied, useful)
