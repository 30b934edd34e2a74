"""Sweeps: the adjoint function, built from the plans and the taping decisions.

``build`` writes ``f_grad(params..., b_out=1.0) -> (value, gradients)``:

1. arguments the function changes in place are copied (the caller's objects are never
   written);
2. the *forward sweep*: the primal statements, with the pushes, saved copies and trip counts
   the taping decisions asked for;
3. ``# adjoint sweep``: adjoints initialized (``bx = 0.0``, containers with ``zeros_like``, the
   result's adjoint with the seed), then every statement in reverse order replaced by its
   plan's contributions (``bx = bx + ...``), followed by what restores the primal state it
   overwrote (a pop, a saved local, the inverse of a list change);
4. the value and the gradients, shaped like the arguments by the caller (``runtime.like``).
"""

from __future__ import annotations

import copy

import gast

from . import ir
from . import runtime as rt
from .activity import returned_names
from .ir import Pop, Push, StackGrowth, StackMark, anno, assign, call, clone, comment, const, name
from .ir import add as _add
from .ir import names_in as _names_in
from .ir import names_or_one as _tuple_or_one
from .ir import substitute as _substitute
from .ir import walk_statements as _walk
from .plan import Contribution
from .taping import _is_trailing_break, rebinds


def _push(*values):
    return Push(values=list(values))


def _push_names(names):
    return Push(values=[name(n) for n in names])


def _is_identity(contributions, t, g) -> bool:
    for c in contributions:
        if c.operand == t:
            if not (isinstance(c.expr, gast.Name) and c.expr.id == g):
                return False
    return sum(1 for c in contributions if c.operand == t) == 1


def _method(obj, method_name, *args):
    return call(gast.Attribute(value=name(obj) if isinstance(obj, str) else obj,
                               attr=method_name, ctx=gast.Load()), *args)


class _Scope:
    """The names bound at a point of the forward sweep: this block's own, then those of the
    blocks around it (a layer per block, not a copy of the whole set per branch or loop,
    which made the sweep quadratic)."""

    __slots__ = ("own", "outer")

    def __init__(self, outer: _Scope | None = None, names=()) -> None:
        self.own = set(names)
        self.outer = outer

    def __contains__(self, n) -> bool:
        scope = self
        while scope is not None:
            if n in scope.own:
                return True
            scope = scope.outer
        return False

    def add(self, n) -> None:
        self.own.add(n)


class Sweeps:
    """The generating half of the reverse pass (mixed into ``reverse.Reverser``)."""

    def build(self, fname: str) -> gast.FunctionDef:
        fir = self.fir
        fname = self.names.fresh(fname, "function")
        self._number(fir.body, None)
        self._find_containers()
        self.plan_statements()
        self.collect_defs()
        names = self.names.copy()
        self.decide()
        self.choose_checkpoints()
        if self.ckpt:  # again, knowing what the re-runs of checkpointed loops read
            self.names = names
            self.decide()
            self.name_checkpoints()
        self.decide_direct()
        body = fir.body[:-1]
        ret = fir.body[-1]
        fwd = self.forward(body)
        inits = self.adjoint_inits(ret)  # (also the zeroing of containers inside blocks)
        bwd = self.backward(body)
        out = []
        for p in sorted(self.entry_copies):  # the caller's objects are never written
            if self.is_array(p):
                value = call(gast.Attribute(value=name(p), attr="copy", ctx=gast.Load()))
            else:
                value = call(self.helper(rt.fresh_copy), name(p))
            out.append(assign(p, value))
        out.extend(self.unbound_inits())
        out.extend(fwd)
        # the value to return, kept safe from restores in the adjoint sweep
        value = ret.value
        restored = {s.targets[0].id for s in _walk(body) if id(s) in self.push_at}
        for s in _walk(body):
            if id(s) in self.undo:
                restored.update(ir.anno(s, "op").writes)
        for v in self.loop_restore.values():
            restored |= set(v)
        for v in self.snapshot.values():
            restored |= set(v)
        for c in self.ckpt.values():
            restored |= set(c["state"]) | set(c["objects"])
        if _names_in(value) & restored:
            kept = self.names.fresh("_value", "saved")
            out.append(assign(kept, self.value_copy(value, restored)))
            value = name(kept)
        marker = comment("adjoint sweep")
        ir.set_anno(marker, "adjoint_sweep", True)
        out.append(marker)
        out.extend(inits)
        out.extend(bwd)
        grads = []
        reached = {n.id for n in ir.walk_block(bwd) if isinstance(n, gast.Name)}
        for p in self.wrt:
            if self.act.is_active(p) and p in self.zero_cotangents and p not in \
                    self.containers and self.adj(p) in reached:
                # (it may still be the number 0.0: D = Y * 1.0 rebound in a loop, unread)
                grads.append(call(self.helper(rt.expand_to), name(self.adj(p)), name(p)))
            elif self.act.is_active(p) and (self.adj(p) in reached or not self.is_array(p)
                                            or p in self.containers):
                grads.append(name(self.adj(p)))
            elif self.act.is_active(p):  # (an array whose every path to the result is dead:
                # its cotangent would be the number 0.0 of the init)
                grads.append(call(self.helper(rt.zeros_like), name(p)))
            else:  # the result does not depend on p
                grads.append(call(self.helper(rt.zeros_like), name(p)))
        grad_expr = grads[0] if len(grads) == 1 else gast.Tuple(elts=grads, ctx=gast.Load())
        out.append(gast.Return(value=gast.Tuple(elts=[value, grad_expr], ctx=gast.Load())))
        args = gast.arguments(
            args=[name(p, False) for p in fir.params] + [name(self.seed, False)],
            posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
            defaults=[const(1.0)])
        for a in args.args:
            a.ctx = gast.Param()
        fdef = gast.FunctionDef(name=fname, args=args, body=out, decorator_list=[],
                                returns=None, type_comment=None, type_params=[])
        if ir.uses_tape(fdef):
            ir.set_anno(fdef, "tape", self.names.fresh("_stack", "tape"))
        return fdef

    def value_copy(self, value, restored):
        """The returned value, copied where the adjoint sweep will change it in place."""
        changed = set()
        for s in _walk(self.fir.body):
            if id(s) in self.undo:
                changed.update(ir.anno(s, "op").writes)
        for c in self.ckpt.values():
            changed |= set(c["objects"])
        if isinstance(value, gast.Name) and value.id in changed:
            return call(self.helper(rt.snapshot_of), clone(value))
        return clone(value)

    def unbound_inits(self):
        """``v = None`` for values pushed where they may not be bound yet (rare)."""
        pushed = set()
        for s in _walk(self.fir.body):
            if id(s) in self.push_at:
                if s.targets[0].id not in self.bound_before.get(id(s), set()):
                    pushed.add(s.targets[0].id)
            if isinstance(s, (gast.For, gast.While)):
                for v in self.loop_restore.get(id(s), ()):
                    if v not in self.bound_before.get(id(s), set()):
                        pushed.add(v)
                copies = set(self.copies.values())
                for v in self.snapshot.get(id(s), ()):
                    if v not in self.bound_end.get(id(s), set()) and v not in copies:
                        pushed.add(v)
        pushed |= self.ckpt_unbound
        return [assign(v, const(None)) for v in sorted(pushed)]

    def adjoint_inits(self, ret):
        inits = {}
        top = anno(ret, "chain")[0]
        for v in sorted(self.act.active):
            if v in self.direct:
                continue
            block = self._init_block(v) if v in self.containers else top
            if block != top:
                # a container defined in a branch or loop: zeroed where it exists
                self.block_inits.setdefault(block, []).append(assign(self.adj(v), self._zero(v)))
                continue
            inits[v] = self._zero(v)
        value = ret.value
        if isinstance(value, gast.Name) and self.act.is_active(value.id):
            if value.id in self.containers:
                inits[value.id] = call(self.helper(rt.add),
                                       call(self.helper(rt.zeros_like), name(value.id)),
                                       name(self.seed))
            else:
                inits[value.id] = name(self.seed)
        elif isinstance(value, gast.Tuple):
            for k, e in enumerate(value.elts):
                if isinstance(e, gast.Name) and self.act.is_active(e.id):
                    seed = gast.Subscript(value=name(self.seed), slice=const(k),
                                          ctx=gast.Load())
                    prev = inits.get(e.id)
                    if isinstance(prev, gast.Constant) and prev.value == 0.0:
                        inits[e.id] = seed
                    else:
                        inits[e.id] = self._accumulate_expr(e.id, prev, seed)
        return [assign(self.adj(v), e) for v, e in inits.items()]

    def _init_block(self, v):
        """The innermost block holding every definition and use of v (params: the top)."""
        if v in self.fir.params or v in returned_names(self.fir):
            return anno(self.fir.body[-1], "chain")[0]
        chains = [anno(d, "chain") for d in self.defs.get(v, [])]
        for s in _walk(self.fir.body):
            plan = self.plans.get(id(s))
            if plan and (any(c.operand == v for c in plan.contributions)
                         or v in anno(s, "op").writes):
                chains.append(anno(s, "chain"))
        common = chains[0]
        for c in chains[1:]:
            k = 0
            while k < min(len(common), len(c)) and common[k] == c[k]:
                k += 1
            common = common[:k]
        return common[-1]

    def _zero(self, v):
        if self.is_dict(v):  # the keys that received a cotangent: none yet
            return gast.Dict(keys=[], values=[])
        if v in self.containers:
            return call(self.helper(rt.zeros_like), name(v))
        return const(0.0)

    def shaped_zero(self, v) -> bool:
        """Whether the zero adjoint of ``v`` has ``v``'s shape (a list's: its length)."""
        return v in self.containers and not self.is_dict(v)

    def _accumulate_expr(self, v, current, expr):
        if v in self.containers and not self.is_array(v):  # lists, dicts: elementwise
            return call(self.helper(rt.add), current, expr)
        return _add(current, expr)

    # forward sweep --------------------------------------------------------------------------
    def forward(self, stmts, bound=None):
        if bound is None:
            bound = _Scope(None, self.fir.params)
            self.bound_before = {}
            self.bound_end = {}
        out = []
        for s in stmts:
            # which of the names unbound_inits asks about are bound here (not a copy of
            # `bound` per statement: that made this sweep quadratic)
            if id(s) in self.push_at:
                t = s.targets[0].id
                self.bound_before[id(s)] = {t} if t in bound else set()
            elif isinstance(s, (gast.For, gast.While)):
                self.bound_before[id(s)] = {v for v in self.loop_restore.get(id(s), ())
                                            if v in bound}
            if isinstance(s, gast.Assign) and isinstance(s.value, gast.Subscript) and \
                    isinstance(s.value.value, gast.Name) and s.value.value.id in self.written \
                    and self.is_array(s.value.value.id) and isinstance(s.targets[0], gast.Name) \
                    and self.is_array(s.targets[0].id):
                # a slice of an array that is written later is a view: keep its values (the
                # decisions below are the statement's own: `orig`)
                orig, s = s, assign(clone(s.targets[0]),
                                    call(self.helper(rt.copy_of), clone(s.value)), s)
            else:
                orig = s
            if isinstance(s, (gast.Assign, gast.Expr)):
                out.extend(self.undo_pushes(orig))
                loop = anno(orig, "loop")
                if loop is not None and self.early.get(id(loop)) is orig:
                    out.append(_push_names(self.snapshot[id(loop)]))
                elif id(orig) in self.copies:
                    out.append(assign(self.copies[id(orig)], name(s.targets[0].id)))
                elif id(orig) in self.push_at:
                    out.append(_push(name(s.targets[0].id)))
                out.append(s)
                t = rebinds(s) if isinstance(s, gast.Assign) else None
                if t is not None:
                    bound.add(t)
            elif isinstance(s, gast.If):
                b1, b2 = _Scope(bound), _Scope(bound)
                new = gast.If(test=s.test, body=self.forward(s.body, b1),
                              orelse=self.forward(s.orelse, b2))
                out.append(ir.at(new, s))
                bound.own |= b1.own & b2.own
            elif id(s) in self.ckpt:
                out.extend(self.checkpoint_forward(s, bound))
            elif isinstance(s, (gast.For, gast.While)):
                out.extend(self._forward_loop(s, bound))
            else:
                out.append(s)
        return out

    def undo_pushes(self, s):
        """What undoing an in-place change of ``s`` needs saved before it runs."""
        out = []
        op = anno(s, "op")
        for w, how in zip([w for w in op.writes if w is not None] if op else [],
                          self.undo.get(id(s), ())):
            if how == "store":
                target = s.targets[0]
                old = clone(target)
                for n in ir.walk(old):
                    if hasattr(n, "ctx"):
                        n.ctx = gast.Load()
                parent = target.value
                if isinstance(parent, gast.Name) and self.is_dict(parent.id):
                    old = call(self.helper(rt.saved_item), clone(parent), clone(target.slice))
                elif self.is_array(w) and not self.is_number_store(s):
                    old = call(self.helper(rt.copy_of), old)
                out.append(_push(old))
            elif how == "snapshot":
                out.append(_push(call(self.helper(rt.snapshot_of), name(w))))
        return out

    def is_number_store(self, s) -> bool:
        """A store of one element of an array (``a[i] = v`` with integer indices)."""
        target = s.targets[0]
        parts = []
        node = target
        while ir.is_path_step(node):
            if not isinstance(node, gast.Subscript):
                return False
            parts.append(node.slice)
            node = node.value
        return all(self._int_index(p) for p in parts) and \
            self.kinds_ndim(ir.store_base(target)) == sum(
                len(p.elts) if isinstance(p, gast.Tuple) else 1 for p in parts)

    def _forward_loop(self, s, bound):
        out = []
        restore = self.loop_restore.get(id(s), [])
        if restore:
            out.append(_push_names(restore))
        rev = id(s) in self.reversed_ids
        # the exit check `if _break: break` ends the body proper; in a while loop only the
        # recomputation of the condition follows it
        checks = [k for k, x in enumerate(s.body) if _is_trailing_break(x)]
        cut = checks[-1] if checks else len(s.body) - getattr(s, "recompute", 0)
        trailing = s.body[cut] if checks else None
        body_in = list(s.body[:cut])
        tail = list(s.body[cut:])
        # what the loop binds stays in it: the code after may run after no iteration
        inner_bound = _Scope(bound, [s.target.id] if isinstance(s, gast.For) else ())
        body = self.forward(body_in, inner_bound)
        counted = rev and (isinstance(s, gast.While) or trailing is not None)
        snap = self.snapshot.get(id(s), [])
        # when each iteration pushes exactly one snapshot and nothing else, the trip count is
        # the growth of the stack: no counter to bump in every iteration
        pushes = sum(1 for x in _walk(body) if ir.uses_tape(x) and not isinstance(
            x, (gast.If, gast.For, gast.While)))
        by_height = counted and snap and pushes == (1 if id(s) in self.early else 0)
        if counted:
            n = len(self.trips)
            if by_height:
                trips = self.names.fresh("_height" if n == 0 else f"_height{n + 1}", "saved")
                out.append(assign(trips, StackMark(), s))
            else:
                trips = self.names.fresh("_trips" if n == 0 else f"_trips{n + 1}", "saved")
                out.append(assign(trips, const(0), s))
                body.insert(0, assign(trips, _add(name(trips), const(1)), s))
            self.trips[id(s)] = trips
        if rev and snap and id(s) not in self.early and self.snapshot.get(id(s)):
            body.append(_push_names(snap))
        body.extend(self.forward(tail, inner_bound) if tail else [])
        self.bound_end[id(s)] = {v for v in self.snapshot.get(id(s), ()) if v in inner_bound}
        new = copy.copy(s)
        new.body = body
        out.append(new)
        if counted:
            trips = name(self.trips[id(s)])
            if by_height:
                trips = StackGrowth(mark=trips, record=tuple(snap))
            out.append(_push(trips))
        return out

    # adjoint sweep --------------------------------------------------------------------------
    def backward(self, stmts, block=None):
        out = list(self.block_inits.get(block or id(stmts), []))
        for s in reversed(stmts):
            if isinstance(s, (gast.Assign, gast.Expr)):
                out.extend(self._backward_stmt(s))
            elif isinstance(s, gast.If) and id(s) in self.reversed_ids:
                body = self.backward(s.body) or [gast.Pass()]
                orelse = self.backward(s.orelse)
                if orelse == [] and body == [gast.Pass()]:
                    continue
                out.append(ir.at(gast.If(test=s.test, body=body, orelse=orelse), s))
            elif id(s) in self.ckpt:
                out.extend(self.checkpoint_backward(s))
            elif isinstance(s, (gast.For, gast.While)):
                out.extend(self._backward_loop(s))
        return out

    def _backward_loop(self, s):
        out = []
        restore = self.loop_restore.get(id(s), [])
        if id(s) in self.reversed_ids:
            body_in = [x for x in s.body if not _is_trailing_break(x)]
            body = []
            snap = self.snapshot.get(id(s), [])
            if snap:
                body.append(assign(_tuple_or_one(snap, True), Pop()))
            body.extend(clone(self.recomputed.get(id(s), [])))
            body.extend(self.backward(body_in, block=id(s.body)))
            if not body:
                body = [gast.Pass()]
            if isinstance(s, gast.For):
                rng = clone(s.iter)
                if id(s) in self.trips:
                    rng = gast.Subscript(value=rng, slice=gast.Slice(
                        lower=None, upper=Pop(), step=None), ctx=gast.Load())
                it = call("reversed", rng)
                target = clone(s.target)
            else:
                it = call("range", Pop())
                target = name(self.role_name("ignored", "_"), True)
            out.append(comment(f"reversed loop from line {self.fir.line_of(s)}"))
            out.append(ir.at(gast.For(target=target, iter=it, body=body, orelse=[],
                                      type_comment=None), s))
        if restore:
            out.append(assign(_tuple_or_one(restore, True), Pop()))
        return out

    def undo_statements(self, s):
        """What puts back an object that ``s`` changed in place (after its adjoint)."""
        op = anno(s, "op")
        out = []
        writes = [w for w in op.writes if w is not None]
        for w, how in reversed(list(zip(writes, self.undo.get(id(s), ())))):
            if how == "store":
                target = s.targets[0]
                parent = target.value
                if isinstance(parent, gast.Name) and self.is_dict(parent.id):
                    out.append(ir.expr_stmt(call(self.helper(rt.restore_item), clone(parent),
                                                 clone(target.slice), Pop())))
                else:
                    load = clone(target)
                    load.ctx = gast.Store()
                    out.append(assign(load, Pop()))
            elif how == "snapshot":
                out.append(ir.expr_stmt(call(self.helper(rt.restore_into), name(w), Pop())))
            else:  # a list change: its inverse
                position = anno(s, "position")
                if op.method == "append":
                    out.append(ir.expr_stmt(_method(w, "pop")))
                elif op.method == "extend":
                    out.append(ir.expr_stmt(call(self.helper(rt.truncate), name(w),
                                                 name(position))))
                elif op.method == "insert":
                    out.append(ir.expr_stmt(_method(w, "pop", name(position))))
                elif op.method == "pop":
                    item = name(op.target)
                    out.append(ir.expr_stmt(_method(w, "append", item) if position is None
                                            else _method(w, "insert", name(position), item)))
        return out

    def _backward_stmt(self, s):
        op = anno(s, "op")
        if isinstance(s, gast.Expr):
            if op is None:
                return []
            plan = self.plans.get(id(s))
            out = []
            if plan is not None:
                out.extend(plan.pre)
                out.extend(self._contribute(c) for c in plan.contributions)
                out.extend(plan.post)
            return out + self.undo_statements(s)
        target = s.targets[0]
        plan = self.plans.get(id(s))
        pushed = id(s) in self.push_at
        restore = []
        if pushed:
            load = clone(target)
            load.ctx = gast.Store()
            saved = self.copies.get(id(s))
            restore = [assign(load, name(saved) if saved else Pop())]
            loop = anno(s, "loop")
            if loop is not None and self.early.get(id(loop)) is s:
                restore = []  # restored by the iteration's pop
        undo = self.undo_statements(s) if op is not None else []
        if isinstance(target, gast.Subscript):
            out = []
            if plan is not None:
                base = ir.store_base(target)
                contributions = plan.contributions
                if self.is_array(base):
                    # an element's cotangent read out of the array is a number already (no
                    # copy, no shape to undo) when a number was stored by integer indices
                    scalar = self.is_number_store(s)
                    contributions = [c if scalar and self._is_number(c.operand) else
                                     Contribution(c.operand, call(
                                         self.helper(rt.unbroadcast),
                                         call(self.helper(rt.copy_of), c.expr),
                                         name(c.operand))) for c in contributions]
                out.extend(self._contribute(c) for c in contributions)
                out.extend(plan.post)
                if plan.clear is not None:
                    cleared = clone(plan.clear)
                    cleared.ctx = gast.Store()
                    if self.is_array(base) or not self._holds_container(target):
                        out.append(assign(cleared, const(0.0)))
                    else:
                        # a list's element that is itself a container (grid[1] = row): its
                        # cotangent is zeros shaped like the old element, once restored
                        old = clone(target)
                        old.ctx = gast.Load()
                        return out + undo + [
                            assign(cleared, call(self.helper(rt.zeros_like), old))]
            return out + undo
        t = target.id
        reset = []
        if self.act.is_active(t) and t not in self.direct and self._needs_reset(t, s):
            reset = [assign(self.adj(t), self._zero(t))]
        if self.shaped_zero(t):
            # zeros shaped like the old value: after it is restored
            late, reset = reset, []
        else:
            late = []
        if plan is None or not (plan.contributions or plan.post):
            # an active variable overwritten by a constant: its old value gets no cotangent
            return reset + undo + restore + late
        g = self.adj(t)
        self_ref = any(c.operand == t for c in plan.contributions)
        out = []
        if self_ref and not _is_identity(plan.contributions, t, g):
            g_saved = self.role_name("g", "_g")
            out.append(assign(g_saved, name(g)))
            zero = assign(g, self._zero(t))
            if not self.shaped_zero(t):
                out.append(zero)
            subst = {g: name(g_saved)}
            if plan.uses_ans:
                out.append(assign(self.role_name("ans", "_ans"), name(t)))
            out.extend(restore)
            if self.shaped_zero(t):
                out.append(zero)  # zeros shaped like the restored old value
            out.extend(_substitute(p, subst) for p in plan.pre)
            out.extend(self._contribute(c, subst) for c in plan.contributions)
            out.extend(_substitute(p, subst) for p in plan.post)
            return out + undo
        if self_ref:
            # t = t + e: the adjoint of t passes through unchanged
            out.extend(plan.pre)
            out.extend(self._contribute(c) for c in plan.contributions if c.operand != t)
            out.extend(plan.post)
            return out + undo + restore
        out.extend(plan.pre)
        out.extend(self._contribute(c) for c in plan.contributions)
        out.extend(plan.post)
        return out + reset + undo + restore + late

    def _contribute(self, c: Contribution, subst=None):
        o = c.operand
        bo = self.adj(o)
        if c.index is not None and self.is_dict(o):
            g = name(self.adj(c.target))
            return ir.expr_stmt(call(self.helper(rt.add_item), name(bo), clone(c.index), g))
        if c.index is not None and self.is_array(o) and not self._int_index(c.index):
            # x = a[idx] -> add_at(ba, idx, bx): repeated fancy indices accumulate
            add_at = self.helper(rt.add_at)
            g = name(self.adj(c.target))
            index = clone(c.index)
            if isinstance(index, gast.Slice) or (isinstance(index, gast.Tuple) and any(
                    isinstance(e, gast.Slice) for e in index.elts)):
                # a slice is not an expression: build the index object with a subscript
                index = gast.Subscript(value=name(self.helper(rt.index_of)), slice=index,
                                       ctx=gast.Load())
            return ir.expr_stmt(call(add_at, name(bo), index, g))
        if c.index is not None:
            # x = xs[i]  ->  bxs[i] = bxs[i] + bx
            slot = gast.Subscript(value=name(bo), slice=clone(c.index), ctx=gast.Load())
            g = name(self.adj(c.target))
            value = self._accumulate_expr(c.target, slot, g) \
                if c.target in self.containers else _add(slot, g)
            if isinstance(c.index, gast.Slice) and not self.is_array(o):
                # a slice of a list: elementwise
                value = call(self.helper(rt.add), slot, g)
            store = clone(slot)
            store.ctx = gast.Store()
            return assign(store, value)
        expr = c.expr if subst is None else _substitute(c.expr, subst)
        if o in self.direct:
            return assign(bo, expr)
        return assign(bo, self._accumulate_expr(o, name(bo), expr))

    def _int_index(self, index) -> bool:
        """An index made of integers only (a[i], a[2, j]): plain += is exact for it."""
        from . import kinds

        parts = index.elts if isinstance(index, gast.Tuple) else [index]
        return all(kinds.is_int(kinds.kind_of(p, self.env)) for p in parts)

    def _is_number(self, n: str) -> bool:
        from . import kinds

        return kinds.is_number(self.kinds.get(n))

    def _holds_container(self, target) -> bool:
        """Whether the element a subscript store overwrites may be a list, dict or array."""
        from . import kinds

        load = clone(target)
        load.ctx = gast.Load()
        k = kinds.kind_of(load, self.env)
        return k is None or not kinds.is_number(k)

    def kinds_ndim(self, n):
        from . import kinds

        k = self.kinds.get(n)
        return k.ndim if isinstance(k, kinds.Array) else None
