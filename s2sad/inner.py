"""Derivatives taken inside the function being differentiated: ``s2sad.grad(g)(x)``,
``dg = s2sad.grad(g)`` then ``dg(x)``, ``value_and_grad``, ``s2sad.jvp(g, (x,), (dx,))``
written in ``f``, rewritten by ``parse`` into calls of derivatives made once (the next
order: ``nested.py`` differentiates them again like a gradient made at module level)."""

from __future__ import annotations

import ast
import inspect
import types
from typing import Any

import gast

from . import ir
from .nested import InnerJvp, derivative_recipe


def inner_derivatives(fir: Any, fdef: Any) -> None:
    """Rewrite the derivatives ``fdef`` takes of its own functions into calls the passes
    read: ``s2sad.grad(g, wrt=...)(a)`` (or ``dg = s2sad.grad(g)`` then ``dg(a)``, also
    ``value_and_grad``) and ``s2sad.jvp(g, (a, b), (da, db))`` become calls of a gradient
    (or ``InnerJvp``) made here, bound in ``fir.meta["made"]``, which the rest of the passes
    differentiate as a gradient called inside (the next order).  ``g`` is a module-level
    function or a ``def`` in ``fdef``'s block: the latter is lifted, the enclosing
    function's values it reads passed as extra arguments at each call (read when the call
    runs, as the closure would)."""
    from .api import grad, jvp, value_and_grad

    makers = {grad: "grad", value_and_grad: "value_and_grad", jvp: "jvp"}
    defs = {s.name: s for s in fdef.body if isinstance(s, gast.FunctionDef)}

    def maker_of(call) -> str | None:
        if not isinstance(call, gast.Call) or fir.is_local(call.func) or not isinstance(
                call.func, (gast.Name, gast.Attribute)):
            return None
        try:
            return makers.get(fir.resolve(call.func))
        except TypeError:  # (an unhashable object)
            return None

    if not any(maker_of(n) for n in ir.walk(fdef)):
        return
    stores: dict[str, int] = {}
    for n in ir.walk(fdef):
        if isinstance(n, gast.Name) and isinstance(n.ctx, (gast.Store, gast.Del)):
            stores[n.id] = stores.get(n.id, 0) + 1
    made: dict[str, Any] = fir.meta.setdefault("made", {})
    lifted: dict[str, tuple] = {}

    def target(call, what):
        """(the function differentiated, the names passed after the arguments)."""
        g = call.args[0] if call.args else None
        if isinstance(g, gast.Name) and g.id in defs:
            if g.id not in lifted:
                lifted[g.id] = _lift(fir, defs[g.id], defs)
            return lifted[g.id]
        if isinstance(g, gast.Lambda):  # s2sad.grad(lambda y: ...)(x): a def of its own
            node = ir.at(gast.FunctionDef(
                name=fir.namer.fresh("anonymous", "function"), args=g.args,
                body=[ir.at(gast.Return(value=g.body), g)], decorator_list=[], returns=None,
                type_comment=None, type_params=[]), g)
            return _lift(fir, node, defs)
        obj = fir.resolve(g) if isinstance(g, (gast.Name, gast.Attribute)) and \
            not fir.is_local(g) else None
        if isinstance(obj, types.FunctionType) or derivative_recipe(obj) is not None:
            return obj, ()
        raise fir.error(f"unsupported construct: {what} of something other than a function "
                        "defined in this function or at module level", call,
                        "name the function: def g(...) here or at module level, then "
                        f"{what}(g)")

    def options(call, what) -> Any:
        wrt = 0
        for kw in call.keywords:
            if kw.arg != "wrt":
                raise fir.error(f"unsupported construct: {what}(..., {kw.arg}=...) inside a "
                                "function being differentiated", call,
                                "only wrt= is taken; take the derivative outside for others")
            try:
                wrt = ast.literal_eval(gast.gast_to_ast(kw.value))
            except ValueError:
                raise fir.error(f"{what}(..., wrt=...) inside a function being "
                                "differentiated needs wrt written as a constant", call) from None
        if len(call.args) != 1:
            raise fir.error(f"{what} takes the function alone (wrt= by keyword)", call)
        return wrt

    def made_derivative(call) -> tuple[str, tuple]:
        what = makers[fir.resolve(call.func)]
        f, extras = target(call, f"s2sad.{what}")
        wrt = options(call, f"s2sad.{what}")
        maker = grad if what == "grad" else value_and_grad
        name = fir.namer.fresh(f"{what}_{f.__name__}", "function")
        made[name] = maker(f, wrt=wrt)
        return name, extras

    def call_with(node, name, extras):
        args = list(node.args) + [gast.Name(id=e, ctx=gast.Load(), annotation=None,
                                            type_comment=None) for e in extras]
        return ir.at(gast.Call(func=gast.Name(id=name, ctx=gast.Load(), annotation=None,
                                              type_comment=None),
                               args=args, keywords=node.keywords), node)

    # dg = s2sad.grad(g): every later dg(...) calls the made gradient
    bound: dict[str, tuple] = {}
    for n in list(ir.walk(fdef)):
        if isinstance(n, gast.Assign) and len(n.targets) == 1 and \
                isinstance(n.targets[0], gast.Name) and maker_of(n.value) in (
                    "grad", "value_and_grad") and stores.get(n.targets[0].id) == 1:
            bound[n.targets[0].id] = made_derivative(n.value)

    class Rewrite(gast.NodeTransformer):
        def visit_Assign(self, node):
            if len(node.targets) == 1 and isinstance(node.targets[0], gast.Name) and \
                    node.targets[0].id in bound:
                return ir.at(gast.Pass(), node)  # (the name is gone: its calls are rewritten)
            return self.generic_visit(node)

        def visit_Call(self, node):
            if isinstance(node.func, gast.Name) and node.func.id in bound:
                node.args = [self.visit(a) for a in node.args]
                node.keywords = [self.visit(k) for k in node.keywords]
                return call_with(node, *bound[node.func.id])
            self.generic_visit(node)
            inner = maker_of(node.func)
            if inner in ("grad", "value_and_grad"):
                return call_with(node, *made_derivative(node.func))
            if maker_of(node) == "jvp":
                return _jvp_call(node)
            return node

        def visit_Name(self, node):
            if node.id in bound and isinstance(node.ctx, gast.Load):
                raise fir.error(f"unsupported construct: the gradient '{node.id}' used as a "
                                "value (it is only called here)", node,
                                f"call {node.id}(...) where its value is needed")
            return node

    def _jvp_call(node):
        f, extras = target(node, "s2sad.jvp")
        displays = node.args[1:3]
        if len(node.args) != 3 or node.keywords or not all(
                isinstance(d, (gast.Tuple, gast.List)) and not any(
                    isinstance(e, gast.Starred) for e in d.elts) for d in displays):
            raise fir.error("unsupported construct: s2sad.jvp inside a function being "
                            "differentiated needs its primals and tangents written out", node,
                            "write s2sad.jvp(g, (x, y), (dx, dy))")
        primals, tangents = displays[0].elts, displays[1].elts
        count = len(inspect.signature(f).parameters) - len(extras)
        if len(primals) != count or len(tangents) != count:
            raise fir.error(f"s2sad.jvp of {f.__name__}: {count} parameters, "
                            f"{len(primals)} primals and {len(tangents)} tangents", node)
        name = fir.namer.fresh(f"jvp_{f.__name__}", "function")
        # a tangent written as the number 0 marks a primal not varied, as s2sad.jvp has it at
        # run time: left out of the transformation (0 * nan would make its value nan)
        fixed = frozenset(k for k, t in enumerate(tangents) if isinstance(t, gast.Constant)
                          and type(t.value) in (int, float) and t.value == 0)
        made[name] = InnerJvp(f, count, fixed)
        extra_names = [gast.Name(id=e, ctx=gast.Load(), annotation=None, type_comment=None)
                       for e in extras]
        return ir.at(gast.Call(func=gast.Name(id=name, ctx=gast.Load(), annotation=None,
                                              type_comment=None),
                               args=list(primals) + extra_names + list(tangents),
                               keywords=[]), node)

    Rewrite().visit(fdef)
    # a def differentiated here and not called by name otherwise is no longer needed
    used = {n.id for n in ir.walk(fdef) if isinstance(n, gast.Name)}
    fdef.body = [s for s in fdef.body if not (isinstance(s, gast.FunctionDef) and
                                              s.name in lifted and s.name not in used)]


def _lift(fir: Any, node: Any, defs: dict) -> tuple:
    """The ``def`` ``node`` of the function ``fir`` parses, as a function of its own: the
    enclosing function's variables it reads become parameters after its own (the returned
    names, passed at each call), and the other defs of ``fir`` it calls (``defs``; in turn)
    are defined at the start of its body.  Compiled at the user's file and lines, so that
    its transformation reports the user's source."""
    called: list = []  # the defs of fir's it calls, in turn
    todo = [node]
    while todo:
        for n in ir.walk_block(todo.pop().body):
            if isinstance(n, gast.Name) and n.id in defs and n.id != node.name and \
                    defs[n.id] not in called:
                called.append(defs[n.id])
                todo.append(defs[n.id])
    enclosing = set(fir.locals) | set(fir.func.__code__.co_freevars)
    extras: list[str] = []
    for d in [node] + called:
        own = {a.id for a in ir.walk(d.args) if isinstance(a, gast.Name)}
        stored = {n.id for n in ir.walk_block(d.body) if isinstance(n, gast.Name)
                  and isinstance(n.ctx, (gast.Store, gast.Del))}
        for n in ir.walk_block(d.body):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load) and \
                    n.id not in own and n.id not in stored and n.id not in defs and \
                    n.id in enclosing and n.id not in extras:
                extras.append(n.id)
    if called:
        node = ir.clone(node)
        node.body = [ir.clone(d) for d in reversed(called)] + node.body
    node = ir.clone(node)
    node.decorator_list = []
    copy = ir.clone(node)
    copy.args.args = list(copy.args.args) + [
        gast.Name(id=e, ctx=gast.Param(), annotation=None, type_comment=None) for e in extras]
    tree = gast.gast_to_ast(gast.Module(body=[copy], type_ignores=[]))
    ast.fix_missing_locations(tree)
    ast.increment_lineno(tree, fir.firstline - 1)
    namespace: dict[str, Any] = {}
    exec(compile(tree, fir.filename, "exec"), fir.func.__globals__, namespace)
    fn = namespace[node.name]
    fn.__qualname__ = f"{fir.func.__qualname__}.<locals>.{node.name}"
    fn.__s2sad_lifted__ = tuple(extras)
    # (parse reads this def, at the user's lines, not the file: a lambda has no def there)
    fn.__s2sad_def__ = (node, fir.filename, fir.firstline, fir.file_lines)
    return fn, tuple(extras)
