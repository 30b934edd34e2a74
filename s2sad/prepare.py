"""Kinds-aware lowering of the primal IR, before activity analysis.

``parse`` writes the IR without knowing what the arguments are; once the transformation is
specialized for argument kinds, a few statements get their exact meaning:

* ``for k in d`` over a dict iterates its keys: the loop reads ``_keys = list(d)``;
* ``ys.insert(i, v)``, ``t = ys.pop(i)`` and ``ys.extend(zs)`` on a list record, just before,
  the position they change (``_t = insert_index(ys, i)``, ``pop_index``, ``len(ys)``): the
  adjoint sweep and the tape undo the change there;
* ``ys += zs`` on a list nobody else shares is ``ys.extend(zs)`` (one element at a time, not a
  copy of the list);
* ``ys[i:j] = zs`` on a list, which may change its length, is ``ys = ys[:a] + list(zs) +
  ys[b:]`` with ``a, b`` the bounds Python replaces (a new list: writes through names that
  shared the old one were repeated on them by ``aliases``).

* a generated gradient read again (``grad(grad(f))``) accumulates the cotangents of a dict
  with helpers: ``add_item(bd, k, v)`` is ``bd[k] = bd.get(k, 0.0) + v``, ``r =
  take_item(bd, k)`` is ``r = bd.get(k, 0.0); bd[k] = 0.0`` and ``get_grad(bd, d, k, g)``
  is ``if k in d: add_item(bd, k, g)`` (its value ``0.0`` there, else ``g``) -- dict
  operations with reverse rules (numbers only: the helpers add containers structurally).

Shared arrays and lists were already handled by ``aliases``.
"""

from __future__ import annotations

import gast

from . import ir, kinds, runtime
from .ir import Namer

# the helpers a generated gradient accumulates a dict's cotangents with -> the position of the
# value they add (take_item adds none)
ACCUMULATORS = {runtime.add_item: 2, runtime.get_grad: 3, runtime.take_item: None}


def _accumulates(obj) -> bool:
    return any(obj is h for h in ACCUMULATORS)  # (by identity: obj may be unhashable)


class Preparer:
    def __init__(self, kinds_of: dict, env, namer: Namer, local_names: set,
                 bind_helper, error, resolve=None) -> None:
        self.resolve = resolve  # a call's function -> the object it names
        self.kinds = kinds_of
        self.env = env
        self.namer = namer
        self.locals = local_names
        self.helper = bind_helper  # runtime function -> the name it is bound to
        self.fir_error = error  # (what, node, hint) -> S2SADError at the user's line

    def kind(self, atom):
        return kinds.kind_of(atom, self.env)

    def temp(self) -> str:
        name = self.namer.numbered("_t")
        self.locals.add(name)
        return name

    def block(self, stmts) -> list:
        out: list = []
        for s in stmts:
            if isinstance(s, gast.If):
                s.body = self.block(s.body)
                s.orelse = self.block(s.orelse)
                out.append(s)
            elif isinstance(s, (gast.For, gast.While)):
                s.body = self.block(s.body)
                out.extend(self.dict_keys(s))
                out.append(s)
            else:
                out.extend(self.statement(s))
        return out

    def dict_keys(self, loop) -> list:
        """``for k in d``: read the keys of ``d`` from a list made before the loop."""
        pre = []
        for st in loop.body:
            seq = ir.anno(st, "iterates")
            if seq is None or not isinstance(st.value, gast.Subscript):
                continue
            if isinstance(self.kind(seq), kinds.Dict):
                keys = self.temp()
                pre.append(ir.at(ir.assign(keys, ir.call("list", ir.clone(seq))), loop))
                st.value.value = ir.name(keys)
        return pre

    def statement(self, s) -> list:
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Subscript) and \
                isinstance(s.targets[0].value, gast.Name) and \
                isinstance(s.targets[0].slice, gast.Slice) and \
                isinstance(self.kinds.get(s.targets[0].value.id), kinds.Seq):
            return self.slice_store(s)
        call = None
        if isinstance(s, gast.Expr) and isinstance(s.value, gast.Call):
            call = s.value
        elif isinstance(s, gast.Assign) and isinstance(s.value, gast.Call):
            call = s.value
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) and \
                ir.anno(s, "augmented") and isinstance(s.value, gast.BinOp) and \
                isinstance(s.value.op, gast.Add) and isinstance(s.value.left, gast.Name) and \
                s.value.left.id == s.targets[0].id and \
                isinstance(self.kinds.get(s.targets[0].id), kinds.Seq) and \
                self.kinds[s.targets[0].id].kind == "list" and \
                isinstance(self.kind(s.value.right), kinds.Seq):
            # ys += zs extends the list in place
            extend = ir.at(ir.expr_stmt(ir.call(gast.Attribute(
                value=ir.name(s.targets[0].id), attr="extend", ctx=gast.Load()),
                s.value.right)), s)
            return self.statement(extend)
        if call is not None and isinstance(call.func, gast.Name) and self.resolve is not None:
            out = self.accumulation(s, call)
            if out is not None:
                return [ir.at(x, s) for x in out]
        if call is None or not isinstance(call.func, gast.Attribute) or \
                not isinstance(call.func.value, gast.Name):
            return [s]
        receiver = call.func.value.id
        rk = self.kinds.get(receiver)
        if not (isinstance(rk, kinds.Seq) and rk.kind == "list") or call.keywords:
            return [s]
        method = call.func.attr
        position = None
        if method == "insert" and len(call.args) == 2:
            position = ir.call(self.helper(runtime.insert_index), ir.name(receiver),
                               call.args[0])
        elif method == "pop" and len(call.args) == 1:
            position = ir.call(self.helper(runtime.pop_index), ir.name(receiver), call.args[0])
        elif method == "extend" and len(call.args) == 1:
            position = ir.call("len", ir.name(receiver))
        if position is None:
            return [s]
        t = self.temp()
        ir.set_anno(s, "position", t)
        return [ir.at(ir.assign(t, position), s), s]


    def accumulation(self, s, call) -> list | None:
        """The dict operations a helper of a generated gradient stands for (module docstring),
        or None for any other call."""
        helper = self.resolve(call.func)
        if not _accumulates(helper) or \
                call.keywords or not all(isinstance(a, (gast.Name, gast.Constant))
                                         for a in call.args):
            return None
        target = s.targets[0] if isinstance(s, gast.Assign) else None
        if target is not None and not isinstance(target, gast.Name):
            return None
        bd = call.args[0]
        if not (isinstance(bd, gast.Name) and bd.id in self.number_dicts):
            return None  # (containers are added structurally: left to the helper)

        def get(key):
            return ir.call(gast.Attribute(value=ir.clone(bd), attr="get", ctx=gast.Load()),
                           ir.clone(key), ir.const(0.0))

        def add(key, value) -> list:
            old, new = self.temp(), self.temp()
            return [ir.assign(old, get(key)),
                    ir.assign(new, ir.binop(ir.name(old), gast.Add(), ir.clone(value))),
                    ir.assign(ir.subscript(ir.clone(bd), ir.clone(key), True), ir.name(new))]

        if helper is runtime.add_item and len(call.args) == 3 and target is None:
            return add(call.args[1], call.args[2])
        if helper is runtime.take_item and len(call.args) == 2:
            key = call.args[1]
            out = [ir.assign(target.id, get(key))] if target is not None else []
            return out + [ir.assign(ir.subscript(ir.clone(bd), ir.clone(key), True),
                                    ir.const(0.0))]
        if helper is runtime.get_grad and len(call.args) == 4:
            _, d, key, g = call.args
            present = self.temp()
            test = ir.assign(present, gast.Compare(left=ir.clone(key), ops=[gast.In()],
                                                   comparators=[ir.clone(d)]))
            body, orelse = add(key, g), []
            if target is not None:
                body.append(ir.assign(target.id, ir.const(0.0)))
                orelse.append(ir.assign(target.id, ir.clone(g)))
            return [test, gast.If(test=ir.name(present), body=[ir.at(x, s) for x in body],
                                  orelse=[ir.at(x, s) for x in orelse])]
        return None

    def slice_store(self, s) -> list:
        target = s.targets[0]
        ys = target.value.id
        sl = target.slice
        if sl.step is not None:
            raise self.error(s)
        lo = sl.lower if sl.lower is not None else ir.const(None)
        hi = sl.upper if sl.upper is not None else ir.const(None)
        bounds, a, b, head, tail, new, joined = [self.temp() for _ in range(7)]
        out = [
            ir.assign(bounds, ir.call(self.helper(runtime.slice_bounds), ir.name(ys), lo, hi)),
            ir.assign(a, ir.subscript(ir.name(bounds), ir.const(0))),
            ir.assign(b, ir.subscript(ir.name(bounds), ir.const(1))),
            ir.assign(head, ir.subscript(ir.name(ys), gast.Slice(lower=None, upper=ir.name(a),
                                                                 step=None))),
            ir.assign(tail, ir.subscript(ir.name(ys), gast.Slice(lower=ir.name(b), upper=None,
                                                                 step=None))),
            ir.assign(new, ir.call("list", s.value)),
            ir.assign(joined, ir.binop(ir.name(head), gast.Add(), ir.name(new))),
            ir.assign(ys, ir.binop(ir.name(joined), gast.Add(), ir.name(tail))),
        ]
        return [ir.at(x, s) for x in out]

    def error(self, s):
        return self.fir_error("unsupported: a store into an extended slice of a list "
                              "(ys[i:j:k] = ...)", s, "assign the elements one by one")


def prepare(body: list, kinds_of: dict, env, namer: Namer, local_names: set,
            bind_helper, error, resolve=None) -> list:
    """The body with the rewrites of the module docstring (``body`` is a copy it may change)."""
    p = Preparer(kinds_of, env, namer, local_names, bind_helper, error, resolve)
    p.number_dicts = _number_dicts(body, p) if resolve is not None else set()
    return p.block(body)


def _number_dicts(body: list, p: Preparer) -> set[str]:
    """The dicts of cotangents that the accumulating helpers only ever add numbers to (their
    values are numbers: known, or unknown -- ``bd = {}`` -- and every value added a number)."""
    seen: dict[str, bool] = {}
    for node in ir.walk_block(body):
        if not (isinstance(node, gast.Call) and isinstance(node.func, gast.Name)):
            continue
        helper = p.resolve(node.func)
        if not _accumulates(helper) or \
                not node.args or not isinstance(node.args[0], gast.Name):
            continue
        bd = node.args[0].id
        kind = p.kinds.get(bd)
        ok = isinstance(kind, kinds.Dict) and (kind.value is None or
                                              kinds.is_number(kind.value))
        value = ACCUMULATORS[helper]
        if value is not None:
            ok = ok and len(node.args) > value and kinds.is_number(p.kind(node.args[value]))
        seen[bd] = seen.get(bd, True) and ok
    return {bd for bd, ok in seen.items() if ok}


def unstar_calls(body: list, kinds_of: dict, env, namer: Namer, local_names: set,
                 fir) -> tuple[list, bool]:
    """``f(a, *xs)`` with ``xs`` a tuple whose length the kinds know: ``_t1 = xs[0]``,
    ``_t2 = xs[1]`` ... and ``f(a, _t1, _t2)`` (a function of the user's then bound like any
    call: defaults filled in); anything else starred is refused with the line.  Runs before
    the alias analysis (which then sees the items read).  Returns (body, whether any)."""
    from .parse import bind_call, is_user_function

    changed = [False]

    def splice(s, call, out):
        args = []
        for a in call.args:
            if not isinstance(a, gast.Starred):
                args.append(a)
                continue
            k = kinds.kind_of(a.value, env) if not isinstance(a.value, gast.Name) else \
                kinds_of.get(a.value.id)
            if not (isinstance(k, kinds.Seq) and k.kind == "tuple" and k.elts is not None):
                what = "a list" if isinstance(k, kinds.Seq) else "a value"
                error = fir.error(f"unsupported construct: *{gast.unparse(a.value).strip()} "
                                  f"in a call, {what} whose length is not known when the "
                                  "function is transformed", s,
                                  "pass a tuple (its length is part of its kind), or the "
                                  "items one by one")
                error.needs_arguments = True  # (grad() waits for the real arguments)
                raise error
            for j in range(len(k.elts)):
                t = namer.fresh("_t", "temp")
                local_names.add(t)
                out.append(ir.at(ir.assign(t, gast.Subscript(
                    value=ir.clone(a.value), slice=ir.const(j), ctx=gast.Load())), s))
                args.append(ir.name(t))
        call.args = args
        target = fir.resolve(call.func)
        if is_user_function(target):
            call.args, call.keywords = bind_call(fir, target, call.args, call.keywords, s)
        changed[0] = True

    def visit(stmts):
        out = []
        for s in stmts:
            for block in ("body", "orelse"):
                inner = getattr(s, block, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], gast.stmt):
                    setattr(s, block, visit(inner))
            value = getattr(s, "value", None) if isinstance(
                s, (gast.Assign, gast.Expr, gast.Return)) else None
            if isinstance(value, gast.Call) and any(isinstance(a, gast.Starred)
                                                    for a in value.args):
                splice(s, value, out)
            out.append(s)
        return out

    new = visit(body)
    return new, changed[0]
