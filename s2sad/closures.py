"""Functions made inside the function being differentiated, as plain nested defs (run by
``parse`` before nested functions are collected):

- ``op = scale`` (``scale`` a def of ``f``'s, ``op`` bound once) -- every ``op`` is ``scale``;
- ``h = make(k)`` where ``make`` is a def of ``f``'s whose body is assignments, one ``def`` and
  ``return`` of it (a closure factory) -- the call becomes ``make``'s parameters and
  assignments, bound to fresh names where the call stood, then ``def h(...)`` reading them:
  what the closure captured is fixed there, as Python's would be.

Anything else about such functions stays for ``parse`` to refuse at its line."""

from __future__ import annotations

from typing import Any

import gast

from . import ir


def _stores(nodes) -> dict[str, int]:
    counts: dict[str, int] = {}
    for n in ir.walk_block(list(nodes)):
        if isinstance(n, gast.Name) and isinstance(n.ctx, (gast.Store, gast.Del)):
            counts[n.id] = counts.get(n.id, 0) + 1
    return counts


def _params(fdef) -> list[str]:
    return [a.id for a in fdef.args.args]


def _factory_parts(fdef):
    """``(assignments, inner def)`` of a closure factory, or None."""
    body = [s for s in fdef.body if not (isinstance(s, gast.Expr) and isinstance(
        s.value, gast.Constant) and isinstance(s.value.value, str))]
    a = fdef.args
    if len(body) < 2 or a.vararg or a.kwarg or a.kwonlyargs or a.defaults or \
            getattr(a, "posonlyargs", None) or fdef.decorator_list:
        return None
    *pre, inner, ret = body
    if not (isinstance(inner, gast.FunctionDef) and isinstance(ret, gast.Return) and
            isinstance(ret.value, gast.Name) and ret.value.id == inner.name):
        return None
    if not all(isinstance(s, gast.Assign) and all(isinstance(t, gast.Name) for t in s.targets)
               for s in pre):
        return None
    return pre, inner


def _rename(nodes, mapping: dict) -> list:
    class Rename(gast.NodeTransformer):
        def visit_Name(self, node):
            if node.id in mapping:
                return ir.at(gast.Name(id=mapping[node.id], ctx=node.ctx, annotation=None,
                                       type_comment=None), node)
            return node

    return [Rename().visit(ir.clone(n)) for n in nodes]


def made_functions(fdef, namer: Any) -> None:
    """Rewrite ``fdef``'s block in place (see the module's docstring)."""
    defs = {s.name: s for s in fdef.body if isinstance(s, gast.FunctionDef)}
    if not defs:
        return
    stores = _stores(fdef.body)
    aliases = {s.targets[0].id: s.value.id for s in fdef.body
               if isinstance(s, gast.Assign) and len(s.targets) == 1 and
               isinstance(s.targets[0], gast.Name) and isinstance(s.value, gast.Name) and
               s.value.id in defs and stores.get(s.targets[0].id) == 1 and
               s.targets[0].id not in defs}
    body = []
    made = set()
    for s in fdef.body:
        if isinstance(s, gast.Assign) and len(s.targets) == 1 and \
                isinstance(s.targets[0], gast.Name) and s.targets[0].id in aliases:
            continue  # (op = scale: every op is scale)
        call = s.value if isinstance(s, gast.Assign) else None
        parts = _factory_parts(defs[call.func.id]) if (
            isinstance(call, gast.Call) and isinstance(call.func, gast.Name) and
            call.func.id in defs and len(s.targets) == 1 and
            isinstance(s.targets[0], gast.Name) and stores.get(s.targets[0].id) == 1 and
            not call.keywords and len(call.args) == len(_params(defs[call.func.id])) and
            not any(isinstance(a, gast.Starred) for a in call.args)) else None
        if parts is None:
            body.append(s)
            continue
        factory, name = defs[call.func.id], s.targets[0].id
        pre, inner = parts
        # the factory's parameters and locals, bound to fresh names where the call stood
        captured = _params(factory) + [t.id for p in pre for t in p.targets]
        inner_own = set(_params(inner)) | set(_stores(inner.body))
        mapping = {c: namer.fresh(f"{name}_{c}") for c in captured}
        for c, value in zip(_params(factory), call.args):
            body.append(ir.at(gast.Assign(targets=[ir.name(mapping[c], store=True)],
                                          value=value, type_comment=None), s))
        body.extend(_rename(pre, mapping))
        fn = ir.clone(inner)
        fn.name = name
        fn.body = _rename(inner.body, {c: n for c, n in mapping.items() if c not in inner_own})
        body.append(ir.at(fn, s))
        made.add(factory.name)
    # a factory used only by such calls is gone with them
    used = {n.id for t in body if t not in defs.values() for n in ir.walk(t)
            if isinstance(n, gast.Name)}
    body = [t for t in body if not (isinstance(t, gast.FunctionDef) and t.name in made and
                                    t.name not in used)]
    if aliases:
        body = [ir.substitute(t, {a: ir.name(d) for a, d in aliases.items()})
                if not isinstance(t, gast.FunctionDef) else t for t in body]
    fdef.body = body
