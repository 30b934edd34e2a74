"""IR -> readable Python source -> a compiled function object.

The adjoint IR (gast) has its own nodes lowered to Python -- the tape is a list, ``Push`` is
``_stack.append(...)``, ``Pop`` is ``_stack.pop()``, a ``Comment`` is a ``# ...`` line -- then
it is converted to a standard ``ast`` tree, printed with astor, and compiled
inside a small factory function whose parameters are the names the generated code needs besides
the user's globals: derivative-rule helpers (``math``, ``zeros_like``) and the adjoints of
called user functions; the user function's closure variables are read from its own cells.  The
generated function's globals are the user's module globals, which are read, never written.
The source is registered with ``linecache`` so a traceback through generated code shows the
generated line.
"""

from __future__ import annotations

import ast
import linecache
import math
import types
from collections.abc import Callable
from typing import Any

import astor
import gast

from . import ir

COMMENT = "__s2sad_comment__ "


class _LowerIR(gast.NodeTransformer):
    """The IR's tape, callee-adjoint and comment nodes as plain Python."""

    def __init__(self, tape: str | None) -> None:
        self.tape = tape

    def _tape(self):
        if self.tape is None:
            raise AssertionError("a tape operation in a function without a tape")
        return ir.name(self.tape)

    def visit_Push(self, node):
        values = [self.visit(v) for v in node.values]
        value = values[0] if len(values) == 1 else ir.tuple_of(values)
        return ir.at(ir.expr_stmt(ir.call(gast.Attribute(
            value=self._tape(), attr="append", ctx=gast.Load()), value)), node)

    def visit_Pop(self, node):
        return ir.call(gast.Attribute(value=self._tape(), attr="pop", ctx=gast.Load()))

    def visit_StackMark(self, node):
        return ir.call("len", self._tape())

    def visit_StackGrowth(self, node):
        return ir.binop(ir.call("len", self._tape()), gast.Sub(), self.visit(node.mark))

    def visit_VjpCall(self, node):
        args = [self.visit(a) for a in node.args] + [self.visit(node.seed)]
        return ir.subscript(ir.call(node.func, *args), ir.const(1))

    def visit_Comment(self, node):
        return ir.at(ir.expr_stmt(ir.const(COMMENT + node.text)), node)


_IR_NODES = (ir.Push, ir.Pop, ir.StackMark, ir.StackGrowth, ir.VjpCall, ir.Comment)


def _lowered(node, lowering):
    """``node`` with the IR's own nodes lowered; only the nodes on a path to one are copied
    (the rest is shared: ``gast_to_ast`` builds a new tree from it anyway)."""
    if isinstance(node, list):
        new = [_lowered(x, lowering) for x in node]
        return node if all(a is b for a, b in zip(new, node)) else new
    if isinstance(node, _IR_NODES):
        return lowering.visit(ir.clone(node))
    if not isinstance(node, gast.AST):
        return node
    fields = {f: getattr(node, f) for f in node._fields}
    new_fields = {f: _lowered(v, lowering) for f, v in fields.items()}
    if all(new_fields[f] is fields[f] for f in fields):
        return node
    new = type(node)(**new_fields)
    facts = getattr(node, "_s2sad", None)
    if facts:
        new._s2sad = dict(facts)
    return ir.at(new, node) if hasattr(node, "lineno") else new


def lower_ir(fdef: gast.FunctionDef) -> gast.FunctionDef:
    """``fdef`` in plain Python (a new tree where it differs): the tape is a list created on
    entry."""
    tape = ir.anno(fdef, "tape")
    new = _lowered(fdef, _LowerIR(tape))
    if new is fdef:
        new = type(fdef)(**{f: getattr(fdef, f) for f in fdef._fields})
    new.body = list(new.body)
    if tape is not None:
        new.body.insert(0, ir.assign(tape, gast.List(elts=[], ctx=gast.Load())))
    return new


def _tidy_blocks(stmts: list) -> None:
    """Printing touches, in place: ``if c: pass else: X`` -> ``if not c: X``; empty blocks
    get ``pass``.  (Only statements have blocks: expressions are not visited.)"""
    for node in stmts:
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if type(block) is list and block:
                _tidy_blocks(block)
        if isinstance(node, ast.If):
            if node.orelse and all(isinstance(s, ast.Pass) for s in node.body):
                node.test = ast.UnaryOp(op=ast.Not(), operand=node.test)
                node.body, node.orelse = node.orelse, []
            if not node.body:
                node.body = [ast.Pass()]
        elif isinstance(node, (ast.For, ast.While, ast.FunctionDef)) and not node.body:
            node.body = [ast.Pass()]


def _direct_classes() -> dict:
    """gast classes that convert to the ``ast`` class of the same name field for field."""
    out = {}
    for n in dir(gast):
        cls, target = getattr(gast, n), getattr(ast, n, None)
        if (isinstance(cls, type) and issubclass(cls, ast.AST) and isinstance(target, type)
                and tuple(cls._fields) == tuple(target._fields)
                and n not in ("ExceptHandler", "Suite")):
            out[cls] = target
    return out


_DIRECT = _direct_classes()
_LOCATION = ("lineno", "col_offset", "end_lineno", "end_col_offset")


def _to_ast(node):
    """``node`` as a standard ``ast`` tree: a direct copy for the nodes the IR uses, gast's own
    converter (a visitor per node, several times slower) for the rest."""
    if type(node) is list:
        return [_to_ast(x) for x in node]
    if not isinstance(node, ast.AST):
        return node
    cls = type(node)
    d = node.__dict__
    if cls is gast.Constant and type(node.value) in (int, float) and (
            node.value < 0 or node.value == 0 and math.copysign(1.0, node.value) < 0):
        # -1.0 as -(1.0): printed in parentheses where precedence needs them, (-1.0) ** k
        # (a negative constant printed bare would read as -(1.0 ** k))
        new = ast.UnaryOp(op=ast.USub(), operand=ast.Constant(value=-node.value))
        return ast.copy_location(new, node) if hasattr(node, "lineno") else new
    target = _DIRECT.get(cls)
    if target is not None:
        new = target()
        nd = new.__dict__
        for f in cls._fields:
            v = d.get(f)
            nd[f] = _to_ast(v) if isinstance(v, (list, ast.AST)) else v
        shape = ir.anno(node, "call_shape") if cls is gast.Call else None
        if shape:  # a user function's call bound by position: passed as its signature takes
            # them (keyword-only parameters by name, *args starred, **kwargs double-starred)
            args, keywords = [], []
            for a, how in zip(nd["args"], shape):
                if how is None:
                    args.append(a)
                elif how == "*":
                    args.append(ast.Starred(value=a, ctx=ast.Load()))
                else:
                    keywords.append(ast.keyword(arg=None if how == "**" else how, value=a))
            nd["args"], nd["keywords"] = args, keywords + nd["keywords"]
    elif cls is gast.Name:
        new = ast.Name(id=node.id, ctx=_DIRECT[type(node.ctx)]())
        nd = new.__dict__
    elif cls is gast.FunctionDef:
        shell = gast.FunctionDef(**{f: d.get(f) for f in cls._fields if f != "body"}, body=[])
        new = gast.gast_to_ast(shell)
        new.body = _to_ast(node.body)
        nd = new.__dict__
    else:
        return gast.gast_to_ast(node)
    for attr in _LOCATION:
        if attr in d:
            nd[attr] = d[attr]
    return new


def to_source(fdef: gast.FunctionDef) -> str:
    """Print an IR function as Python source; comment markers become ``# ...`` lines."""
    tree = ast.Module(body=[_to_ast(lower_ir(fdef))], type_ignores=[])
    _tidy_blocks(tree.body)
    ast.fix_missing_locations(tree)
    text = astor.to_source(tree)
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        for quote in ('"""', "'", '"'):
            marker = quote + COMMENT
            if stripped.startswith(marker) and stripped.endswith(quote):
                indent = line[: len(line) - len(line.lstrip())]
                line = f"{indent}# {stripped[len(marker):-len(quote)]}"
                break
        lines.append(line)
    return "\n".join(lines) + "\n"


_counter = [0]
_GENERATED = "<s2sad generated "


def is_generated(filename: str | None) -> bool:
    """Whether ``filename`` names code s2sad compiled (``compile_function``)."""
    return (filename or "").startswith(_GENERATED)


def compile_function(source: str, name: str, globals_: dict, extra: dict[str, Any],
                     cells: dict[str, Any] | None = None) -> Callable:
    """Compile ``source`` (one ``def name``) with ``extra`` names bound around it, and the
    names of ``cells`` (the user function's closure cells) read live from those cells."""
    cells = {n: c for n, c in (cells or {}).items() if n not in extra}
    params = sorted(set(extra) | set(cells))
    body = "".join("    " + line + "\n" if line else "\n" for line in source.splitlines())
    factory = f"def _s2sad_factory({', '.join(params)}):\n{body}    return {name}\n"
    _counter[0] += 1
    filename = f"{_GENERATED}{name} #{_counter[0]}>"
    linecache.cache[filename] = (len(factory), None, factory.splitlines(True), filename)
    code = compile(factory, filename, "exec")
    namespace: dict[str, Any] = {}
    exec(code, globals_, namespace)  # definitions land in `namespace`, not in the user's globals
    fn = namespace["_s2sad_factory"](*[extra.get(p) for p in params])
    if not cells or not fn.__closure__:
        return fn
    # the same function, closing over the user's own cells: a closure variable rebound after
    # the transformation is read with its new value
    closure = tuple(cells.get(n, c) for n, c in zip(fn.__code__.co_freevars, fn.__closure__))
    out = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, closure)
    out.__kwdefaults__ = fn.__kwdefaults__
    return out


class _Rename(gast.NodeTransformer):
    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    def visit_Name(self, node):
        if node.id in self.names and isinstance(node.ctx, gast.Load):
            return gast.Name(id=self.names[node.id], ctx=node.ctx, annotation=None,
                             type_comment=None)
        return node


def split_vjp(fdef: gast.FunctionDef, namer, frozen=frozenset()) -> gast.FunctionDef:
    """``f_grad(x, b_out)`` as ``f_vjp(x)`` that runs the forward sweep once and returns
    ``(value, f_pullback)``; ``f_pullback(b_out)`` is the adjoint sweep, a closure over the
    forward sweep's variables (``nonlocal`` for those it restores).  The user's globals and
    closure variables of ``frozen`` that the adjoint sweep reads are read by the forward
    sweep (``k_fwd = k``): a pullback differentiates the evaluation that made it, whatever
    they hold when it runs."""
    body = fdef.body
    k = next(j for j, s in enumerate(body) if ir.anno(s, "adjoint_sweep"))
    forward, backward, ret = body[:k], body[k + 1:-1], body[-1]
    read_back = sorted({n.id for s in backward + [ret] for n in ir.walk(s)
                        if isinstance(n, gast.Name) and n.id in frozen})
    if read_back:
        renames = {n: namer.fresh(n + "_fwd") for n in read_back}
        forward = [ir.assign(renames[n], ir.name(n)) for n in read_back] + list(forward)
        backward = [_Rename(renames).visit(ir.clone(s)) for s in backward]
        ret = _Rename(renames).visit(ir.clone(ret))
    value, grads = ret.value.elts
    params = [a.id for a in fdef.args.args]
    seed = params[-1]
    outer = set(params[:-1])
    for s in forward:
        outer |= {n.id for n in ir.walk(s) if isinstance(n, gast.Name)
                  and isinstance(n.ctx, gast.Store)}
    restored = sorted({n.id for s in backward for n in ir.walk(s)
                       if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)} & outer)
    pullback_name = namer.fresh(fdef.name.replace("_grad", "_pullback", 1)
                                if "_grad" in fdef.name else fdef.name + "_pullback",
                                "function")
    inner_body = ([gast.Nonlocal(names=restored)] if restored else []) + list(backward) + \
        [gast.Return(value=grads)]
    inner = gast.FunctionDef(
        name=pullback_name, args=gast.arguments(
            args=[gast.Name(id=seed, ctx=gast.Param(), annotation=None, type_comment=None)],
            posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
            defaults=[]),
        body=inner_body, decorator_list=[], returns=None, type_comment=None, type_params=[])
    outer_name = namer.fresh(fdef.name.replace("_grad", "_vjp", 1) if "_grad" in fdef.name
                             else fdef.name + "_vjp", "function")
    args = gast.arguments(args=[gast.Name(id=p, ctx=gast.Param(), annotation=None,
                                          type_comment=None) for p in params[:-1]],
                          posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[],
                          kwarg=None, defaults=[])
    new = gast.FunctionDef(name=outer_name, args=args,
                           body=list(forward) + [inner, gast.Return(value=ir.tuple_of(
                               [value, ir.name(pullback_name)]))],
                           decorator_list=[], returns=None, type_comment=None, type_params=[])
    tape = ir.anno(fdef, "tape")
    if tape is not None:
        ir.set_anno(new, "tape", tape)
    return new
