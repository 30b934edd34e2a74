"""Taping decisions: what the forward sweep saves so the adjoint sweep sees the right values.

One invariant: when the adjoint sweep reaches a statement, every primal value its adjoint
reads holds what it held when the statement ran.  So a value is saved only when it is
overwritten *and* an earlier (in time) adjoint needs the old one:

* a rebinding pushes the old value of its target when a plan at or before it (within the
  same loop iteration) reads that variable; the adjoint sweep pops it back after the
  statement's adjoint -- outside loops into a local (``_old_x = x``) instead of the tape;
* a change of an object in place (a store, ``append``, an unknown change) is undone after its
  adjoint when any plan reads the object at or before it in time: a store pushes the old
  element, ``append`` is undone by ``pop``, an unknown change by a copy taken before it;
* a loop pushes, at the end of each iteration, one tuple of the variables its body rebinds
  and its adjoints read (the *snapshot*), popped at the start of each reversed iteration --
  pushed earlier, right before the last restored assignment, when nothing after it touches
  the tape; cheap arithmetic of the iteration is recomputed instead of taped;
* ``for`` over ``range`` is reversed with ``reversed(range(...))`` (its trip count is pushed
  only when the loop can exit early); ``while`` pushes its trip count, as the tape's growth
  when each iteration pushes one record.

Facts about statements are attached to them (``ir.anno``): ``index`` (textual position),
``loop`` (the enclosing loop), ``chain`` (the blocks around it, to tell branches apart).
"""

from __future__ import annotations

import builtins
from typing import Any

import gast

from . import ir
from . import kinds as kinds_module
from .ir import anno, children, set_anno, store_base
from .ir import walk_statements as _walk


def _is_trailing_break(s) -> bool:
    return (isinstance(s, gast.If) and len(s.body) == 1 and isinstance(s.body[0], gast.Break)
            and not s.orelse)


def rebinds(s) -> str | None:
    """The name a statement rebinds (``x = ...``; a loop's own variable), or None."""
    if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
        return s.targets[0].id
    if isinstance(s, gast.For):
        return s.target.id
    return None


def writes(s) -> list:
    """The names whose objects a statement changes in place."""
    op = anno(s, "op")
    return [w for w in (op.writes if op is not None else []) if w is not None]


def _rebound_in(stmts) -> set[str]:
    out = set()
    for s in _walk(stmts):
        n = rebinds(s)
        if n is not None:
            out.add(n)
    return out


def _written_in(stmts) -> set[str]:
    """Names rebound or changed in place."""
    out = _rebound_in(stmts)
    for s in _walk(stmts):
        out.update(writes(s))
    return out


def _rebound(loop) -> set[str]:
    out = _rebound_in(loop.body)
    if isinstance(loop, gast.For):
        out.add(loop.target.id)
    return out


class Taping:
    """The taping half of the reverse pass (mixed into ``reverse.Reverser``)."""

    # ------------------------------------------------------------------ statement facts --
    def _number(self, stmts, loop, chain=()):
        chain = chain + (id(stmts),)
        for s in stmts:
            set_anno(s, "index", len(self.order))
            set_anno(s, "loop", loop)
            set_anno(s, "chain", chain)
            self.order.append(s)
            if isinstance(s, gast.If):
                self.branch_of[id(s.body)] = (id(s), "body")
                self.branch_of[id(s.orelse)] = (id(s), "orelse")
                self._number(s.body, loop, chain)
                self._number(s.orelse, loop, chain)
            elif isinstance(s, (gast.For, gast.While)):
                start = len(self.order)
                self.loop_bodies.add(id(s.body))
                self._number(s.body, s, chain)
                set_anno(s, "range", (start, len(self.order) - 1))

    def _exclusive(self, a, b) -> bool:
        """Whether a and b sit in different branches of one if statement."""
        ca, cb = anno(a, "chain"), anno(b, "chain")
        k = 0
        while k < min(len(ca), len(cb)) and ca[k] == cb[k]:
            k += 1
        if k >= min(len(ca), len(cb)):
            return False
        ia, ib = self.branch_of.get(ca[k]), self.branch_of.get(cb[k])
        return ia is not None and ib is not None and ia[0] == ib[0] and ia[1] != ib[1]

    def _active_stmt(self, s) -> bool:
        plan = self.plans.get(id(s))
        return bool(plan and (plan.contributions or plan.post or plan.clear is not None))

    # ----------------------------------------------------------------- tape decisions --
    def collect_reads(self, reversed_ids):
        reads = {}  # var -> list of (index, kind)
        loop_inits: dict[int, list] = {}  # loop body -> lists whose adjoint is made there
        for v in sorted(self.act.active):
            if self.shaped_zero(v):  # (never a "direct" adjoint: containers are not)
                block = self._init_block(v)
                if block in self.loop_bodies:
                    loop_inits.setdefault(block, []).append(v)

        def add(var, idx, kind, s=None):
            # a for loop's own variable is re-derived by the reversed loop: not a tape read
            loop = anno(s, "loop") if s is not None else None
            while loop is not None:
                if isinstance(loop, gast.For) and loop.target.id == var:
                    return
                loop = anno(loop, "loop")
            reads.setdefault(var, []).append((idx, kind))

        for s in _walk(self.fir.body):
            idx = anno(s, "index")
            plan = self.plans.get(id(s))
            if plan is not None and self._active_stmt(s):
                for v in plan.reads_before:
                    add(v, idx, "before", s)
                for v in plan.reads_after:
                    add(v, idx, "after", s)
            for v in self.restore_reads(s):
                add(v, idx, "before", s)
            t = rebinds(s) if isinstance(s, gast.Assign) else None
            if t is not None and self.shaped_zero(t) and self.act.is_active(t) and \
                    self._needs_reset(t, s) and (self._init_block(t) not in self.loop_bodies or
                                                 self._defined_before(t, s)):
                # the adjoint of a list is reset to zeros as long as the old value (a list
                # whose adjoint lives in one loop iteration is zeroed where it is made, and
                # reset where it is rebound after that: ys = ys + [y] after a read of ys[-2])
                add(t, idx, "before", s)
            if isinstance(s, (gast.For, gast.While)) and id(s.body) in loop_inits:
                # zeros_like(v) at the start of each reversed iteration: v's value at the end
                # of the iteration (so it rides in the iteration's snapshot)
                for v in loop_inits[id(s.body)]:
                    add(v, anno(s, "range")[1], "after", s.body[0] if s.body else s)
            for v in self.checkpoint_reads(s):  # re-runs of a checkpointed loop
                add(v, idx, "before", s)
            if id(s) in reversed_ids:
                if isinstance(s, gast.If) and isinstance(s.test, gast.Name):
                    add(s.test.id, idx, "before", s)
                elif isinstance(s, gast.For):
                    for a in s.iter.args:
                        if isinstance(a, gast.Name) and a.id in self.fir.locals:
                            add(a.id, idx, "before", s)
        return reads

    def restore_reads(self, s) -> set:
        """What undoing the change a statement made reads (its indices, a recorded
        position, the popped element)."""
        if id(s) not in self.undo:
            return set()
        op = anno(s, "op")
        out = set()
        if op.kind == "store":
            out |= ir.names_in(s.targets[0]) & self.fir.locals
        position = anno(s, "position")
        if position is not None:
            out.add(position)
        if op.kind == "list" and op.method == "pop" and op.target is not None:
            out.add(op.target)
        return out

    def decide(self):
        # a branch or loop is mirrored in the adjoint sweep when it holds an active statement
        # or overwrites an active variable (whose adjoint must then be reset there), or when
        # it holds a change that must be undone
        def touches_active(x):
            t = rebinds(x) if isinstance(x, gast.Assign) else None
            return self._active_stmt(x) or (t is not None and self.act.is_active(t))

        reversed_ids = {id(s) for s in _walk(self.fir.body)
                        if isinstance(s, (gast.If, gast.For, gast.While))
                        and any(touches_active(x) for x in _walk(children(s)))}
        self.undo: dict[int, list] = {}
        while True:
            undone = dict(self.undo)
            reads = self.collect_reads(reversed_ids)
            self.push_at, self.loop_restore, self.snapshot = self._pushes(reads)
            self.reads = reads
            more = {id(s) for s in _walk(self.fir.body)
                    if isinstance(s, (gast.If, gast.For, gast.While))
                    and self._has_tape(s)} - reversed_ids
            # undoing a change reads the object's name (and indices): once more with those
            if not more and self.undo == undone:
                break
            reversed_ids |= more
        self.reversed_ids = reversed_ids
        self._decide_copies()

    def _decide_copies(self):
        """Restores that need no tape: outside loops the old value is kept in a local
        (``_old_x = x``); at the top level of a loop body it is kept in a local that joins
        the iteration's snapshot tuple, so each iteration still pushes once."""
        self.copies: dict[int, str] = {}
        self.saved_of: dict[str, str] = {}  # a kept old value -> the variable it was
        for s in _walk(self.fir.body):
            if id(s) not in self.push_at:
                continue
            loop = anno(s, "loop")
            if loop is not None and not any(x is s for x in loop.body):
                continue
            name = self.names.fresh("_old_" + s.targets[0].id.lstrip("_"), "saved")
            self.copies[id(s)] = name
            self.saved_of[name] = s.targets[0].id
            if loop is not None:
                self.snapshot.setdefault(id(loop), []).append(name)
        self.early: dict[int, Any] = {}
        self.recomputed: dict[int, list] = {}
        for loop in _walk(self.fir.body):
            if isinstance(loop, (gast.For, gast.While)):
                self._decide_early_push(loop)
                self._decide_recompute(loop)

    CHEAP = (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.USub)

    def _decide_recompute(self, loop):
        """Cheap arithmetic of an iteration (``_t4 = 3.0 * x``) is recomputed at the start of
        the reversed iteration instead of being taped, when its operands then hold the values
        they held when it ran: loop invariants, the loop variable, popped or recomputed values
        last assigned before it.  The forward sweep then folds back into the user's own
        expressions, and the tape carries only what is expensive to recompute."""
        snap = self.snapshot.get(id(loop))
        if not snap:
            return
        body = loop.body
        assigned_at: dict[str, list[int]] = {}
        for x in _walk(body):
            for n in ([rebinds(x)] if rebinds(x) else []) + writes(x):
                assigned_at.setdefault(n, []).append(anno(x, "index"))
        early = self.early.get(id(loop))
        own = loop.target.id if isinstance(loop, gast.For) else None
        outermost = loop
        enclosing: dict[str, int] = {}  # the variables of the loops around: where each is set
        while anno(outermost, "loop") is not None:
            outermost = anno(outermost, "loop")
            if isinstance(outermost, gast.For) and isinstance(outermost.target, gast.Name):
                inside = {n for x in _walk(outermost.body)
                          for n in ([rebinds(x)] if rebinds(x) else []) + writes(x)}
                if outermost.target.id not in inside:
                    enclosing[outermost.target.id] = anno(outermost, "index")
        first = anno(outermost, "index")
        all_sites: dict[str, list[int]] = {}
        for x in _walk(self.fir.body):
            for n in ([rebinds(x)] if rebinds(x) else []) + writes(x):
                all_sites.setdefault(n, []).append(anno(x, "index"))
        available = set()  # names whose value at the reversed iteration start is right
        recompute = []
        reread: dict[int, Any] = {}  # a value read back from where it was stored
        deps: dict[str, set] = {}
        for d in body:
            if not (isinstance(d, gast.Assign) and isinstance(d.targets[0], gast.Name)):
                continue
            v = d.targets[0].id
            if len(assigned_at.get(v, [])) != 1 or v in self.fir.params \
                    or id(d) in self.push_at:
                continue  # (a pushed value is also read before it is overwritten)
            value = d.value
            if isinstance(value, gast.BinOp):
                ops, operands = value.op, [value.left, value.right]
            elif isinstance(value, gast.UnaryOp):
                ops, operands = value.op, [value.operand]
            elif self._unchanged_element(value, first, d):
                # an element of an array or list that nothing changes from the loop (nest)
                # on, or only at other rows: read again (x[i] at the reversed iteration is
                # what it was)
                ops = gast.Add()
                operands = value.slice.elts if isinstance(value.slice, gast.Tuple) \
                    else [value.slice]
            elif (stored := self._stored_copy(d, body, first)) is not None:
                # v = f(...) then a[i, j] = v, the element kept from then on: v read back
                ops = gast.Add()
                operands = stored.slice.elts if isinstance(stored.slice, gast.Tuple) \
                    else [stored.slice]
                reread[id(d)] = ir.at(gast.Assign(targets=[ir.name(v, store=True)],
                                                  value=stored, type_comment=None), d)
            else:
                continue
            if not isinstance(ops, self.CHEAP):
                continue
            idx = anno(d, "index")
            ok = True
            for u in operands:
                if not isinstance(u, gast.Name) or u.id not in self.fir.locals:
                    continue
                u = u.id
                sites = assigned_at.get(u, [])
                if u == own and not sites:
                    continue  # the for loop's own variable, re-derived by the reversed loop
                if not sites and all(k < first for k in all_sites.get(u, [])):
                    continue  # set before the loop (nest) and never again
                if not sites and u in enclosing:
                    continue  # the variable of a loop around, set by that loop alone
                if not sites and self._row_offset(u, enclosing) is not None:
                    continue  # t - 1 of such a variable t: recomputed from it (below)
                if u in available:
                    continue
                if early is not None and u == early.targets[0].id and \
                        sites == [anno(early, "index")] and anno(early, "index") > idx:
                    continue  # restored to its value before the assignment
                if u in snap and u not in available and all(site < idx for site in sites):
                    continue  # popped at the start of the reversed iteration
                ok = False
                break
            if ok:
                recompute.append(d)
                available.add(v)
                deps[v] = {u.id for u in operands if isinstance(u, gast.Name)} & available
        # what the tape would carry, and the cheap values it is computed from
        chosen = set(snap) & available
        todo = list(chosen)
        while todo:
            for u in deps.get(todo.pop(), ()):
                if u not in chosen:
                    chosen.add(u)
                    todo.append(u)
        recompute = [d for d in recompute if d.targets[0].id in chosen]
        if recompute:
            recomputed_names = {d.targets[0].id for d in recompute}
            self.snapshot[id(loop)] = [n for n in snap if n not in recomputed_names]
            self.recomputed[id(loop)] = [self._with_offsets(ir.clone(reread.get(id(d), d)),
                                                            enclosing) for d in recompute]

    def _unchanged_element(self, value, first: int, d=None) -> bool:
        """``a[i]`` (integer or name indices) of a local ``a`` that no statement from index
        ``first`` on rebinds or changes in place, under its name or one sharing its memory --
        or changes only at rows apart from the one read (``_rows_apart``)."""
        if not (isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name)):
            return False
        index = value.slice.elts if isinstance(value.slice, gast.Tuple) else [value.slice]
        if not all(isinstance(i, gast.Name) or (isinstance(i, gast.Constant)
                                                and isinstance(i.value, int)) for i in index):
            return False
        a = value.value.id
        if a not in self.fir.locals and a not in self.fir.params:
            return False
        if self._last_change().get(a, -1) < first:
            return True
        return d is not None and self._rows_apart(a, index, first, d)

    @staticmethod
    def _loops_around(s) -> list:
        """The loops around ``s``, innermost first."""
        out = []
        loop = anno(s, "loop")
        while loop is not None:
            out.append(loop)
            loop = anno(loop, "loop")
        return out

    def _ascending(self, loop) -> bool:
        """``for t in range(stop)`` / ``range(start, stop)`` (a step of 1: later iterations
        have larger ``t``) whose body does not rebind ``t``."""
        return isinstance(loop, gast.For) and isinstance(loop.target, gast.Name) and \
            isinstance(loop.iter, gast.Call) and len(loop.iter.args) in (1, 2) and \
            not loop.iter.keywords and self.fir.resolve(loop.iter.func) is builtins.range \
            and loop.target.id not in _rebound_in(loop.body)

    @staticmethod
    def _rows_from_start(loop, c: int) -> bool:
        """Whether row ``t + c`` of the loop over ``t`` is never negative (a negative row
        counts from the end: a row written at another step)."""
        args = loop.iter.args
        start = args[0] if len(args) == 2 else ir.const(0)
        return isinstance(start, gast.Constant) and type(start.value) is int and \
            start.value + c >= 0

    def _changes_of(self, a: str, first: int) -> list:
        """The statements from index ``first`` on that rebind ``a`` or change its object in
        place, under its name or one sharing its memory."""
        return [x for x in _walk(self.fir.body) if anno(x, "index") >= first and (
            a in writes(x) or a in anno(x, "sharers", set()) or rebinds(x) == a)]

    def _row_offset(self, u: str, enclosing) -> tuple[str, int] | None:
        """``(t, c)`` when the local ``u`` is bound once, to ``t + c`` or ``t - c`` (``c`` an
        int constant, ``t`` the variable of a loop around that only that loop sets), else
        None; ``u`` itself such a variable: ``(u, 0)``."""
        if u in enclosing:
            return u, 0
        bindings = getattr(self, "_bindings", None)
        if bindings is None:  # (name -> the statements that rebind it: once per function)
            bindings = self._bindings = {}
            for x in _walk(self.fir.body):
                if rebinds(x) is not None:
                    bindings.setdefault(rebinds(x), []).append(x)
        defs = bindings.get(u, [])
        if len(defs) != 1 or not isinstance(defs[0], gast.Assign) or u in self.fir.params:
            return None
        v = defs[0].value
        if not (isinstance(v, gast.BinOp) and isinstance(v.op, (gast.Add, gast.Sub)) and
                isinstance(v.left, gast.Name) and v.left.id in enclosing and
                isinstance(v.right, gast.Constant) and type(v.right.value) is int):
            return None
        loop = anno(defs[0], "loop")  # (bound inside that variable's loop, at each iteration)
        while loop is not None and not (isinstance(loop, gast.For) and
                                        loop.target.id == v.left.id):
            loop = anno(loop, "loop")
        if loop is None:
            return None
        return v.left.id, v.right.value if isinstance(v.op, gast.Add) else -v.right.value

    def _with_offsets(self, d, enclosing):
        """A recomputed statement with its row names written out (``inputs[_t68, j]`` ->
        ``inputs[t - 1, j]``): at the reversed iteration ``t`` holds, ``_t68`` may not."""
        if not isinstance(d.value, gast.Subscript):
            return d
        index = d.value.slice.elts if isinstance(d.value.slice, gast.Tuple) else [d.value.slice]
        out = []
        for i in index:
            off = self._row_offset(i.id, enclosing) if isinstance(i, gast.Name) and \
                i.id not in enclosing and i.id in self.fir.locals else None
            if off is None:
                out.append(i)
            else:
                t, c = off
                out.append(gast.BinOp(left=ir.name(t), op=gast.Add() if c >= 0 else gast.Sub(),
                                      right=ir.const(abs(c))))
        d.value.slice = gast.Tuple(elts=out, ctx=gast.Load()) if len(out) > 1 else out[0]
        return d

    def _stored_copy(self, d, body: list, first: int):
        """``a[i, j]`` when ``d`` (``v = ...``, a float) is followed in ``body`` by ``a[i, j] =
        v`` that always runs after it (no break, continue or return between) and is the only
        change of ``a`` from ``first`` on, with indices that tell the iterations of every
        loop around it apart (each loop's variable, or ``t - c`` of it, at its own position;
        ascending loops, no row counted from the end): the element holds ``v`` until the
        adjoint sweep reads it back.  Else None."""
        v = d.targets[0].id
        if self.kinds.get(v) != kinds_module.FLOAT:
            return None
        k = next(k for k, x in enumerate(body) if x is d)
        for x in body[k + 1:]:
            if any(isinstance(n, (gast.Break, gast.Continue, gast.Return)) for n in ir.walk(x)):
                return None
            target = x.targets[0] if isinstance(x, gast.Assign) else None
            if isinstance(target, gast.Subscript) and isinstance(x.value, gast.Name) and \
                    x.value.id == v and isinstance(target.value, gast.Name):
                break
        else:
            return None
        st, a = x, target.value.id
        kind = self.kinds.get(a)
        index = target.slice.elts if isinstance(target.slice, gast.Tuple) else [target.slice]
        if not (isinstance(kind, kinds_module.Array) and kind.dtype == "float" and
                kind.ndim == len(index) and all(isinstance(i, gast.Name) for i in index)):
            return None
        if any(y is not st for y in self._changes_of(a, first)):
            return None
        loops = self._loops_around(st)
        if not all(self._ascending(lp) for lp in loops):
            return None  # (a while loop, or a for loop not over an ascending range)
        enclosing = {lp.target.id: lp for lp in loops}
        covered = set()
        for i in index:
            off = self._row_offset(i.id, enclosing)
            if off is None:
                continue
            t, c = off
            if not self._rows_from_start(enclosing[t], c):
                return None  # (t - 1 at t = 0 is the last row)
            covered.add(t)
        if covered != set(enclosing) or len(covered) != len(loops):
            return None
        return gast.Subscript(value=ir.name(a), slice=ir.clone(target.slice), ctx=gast.Load())

    def _rows_apart(self, a: str, index: list, first: int, d) -> bool:
        """Whether ``a[t + c, ...]`` read at ``d`` still holds its value when the adjoint
        sweep reaches ``d`` again: every change of ``a`` from ``first`` on is a store
        ``a[t + w, ...] = v`` in the body of the loop over ``t`` (ascending, one step) whose
        row is after the one read (``w > c``: later iterations write later rows), or the
        same row before ``d`` in the same iteration and in no loop around ``d`` inside
        that one -- a time-indexed state, ``x[t] = f(x[t - 1])``."""
        if not isinstance(index[0], gast.Name):
            return False
        kind = self.kinds.get(a)
        if not (isinstance(kind, kinds_module.Array) and kind.ndim == len(index)):
            return False  # (an element: a number, not a view of a row)
        around = self._loops_around(d)
        enclosing = {lp.target.id: lp for lp in around if self._ascending(lp)}
        read = self._row_offset(index[0].id, enclosing)
        if read is None:
            return False
        t, c = read
        loop = enclosing[t]
        if not self._rows_from_start(loop, c):
            return False  # (a row t + c < 0 counts from the end: a row written later)
        lo, hi = anno(loop, "range")
        inner = around[:around.index(loop)]  # the loops around d inside the loop over t
        for x in self._changes_of(a, first):
            idx = anno(x, "index")
            op = anno(x, "op")
            target = x.targets[0] if isinstance(x, gast.Assign) else None
            if not (lo <= idx <= hi and op is not None and op.kind == "store" and
                    isinstance(target, gast.Subscript) and
                    isinstance(target.value, gast.Name) and target.value.id == a and
                    rebinds(x) is None):
                return False
            rows = target.slice.elts if isinstance(target.slice, gast.Tuple) \
                else [target.slice]
            w = self._row_offset(rows[0].id, {t: loop}) if isinstance(rows[0], gast.Name) \
                else None
            if w is None or w[0] != t:
                return False
            if w[1] > c:
                continue
            if w[1] == c and idx < anno(d, "index") and \
                    not any(anno(lp, "range")[0] <= idx <= anno(lp, "range")[1]
                            for lp in inner):
                continue
            return False
        return True

    def _last_change(self) -> dict:
        """name -> the index of the last statement that rebinds it or changes its object in
        place (under its name or one sharing its memory); computed once per function."""
        last = getattr(self, "_last_changes", None)
        if last is None:
            last = self._last_changes = {}
            for x in _walk(self.fir.body):
                idx = anno(x, "index")
                names = set(writes(x)) | anno(x, "sharers", set())
                if rebinds(x) is not None:
                    names.add(rebinds(x))
                for n in names:
                    last[n] = max(last.get(n, -1), idx)
        return last

    def _decide_early_push(self, loop):
        """Push the iteration's tuple right before the last restored assignment instead of
        copying the old value and pushing at the end, when nothing after that assignment
        touches the tape or the tuple, and no adjoint after it reads the new value: then
        ``_t1, x = _stack.pop()`` at the start of the reversed iteration restores both."""
        body = [x for x in loop.body if not _is_trailing_break(x)]
        cut = len(body) - (getattr(loop, "recompute", 0) if not any(
            _is_trailing_break(x) for x in loop.body) else 0)
        body = body[:cut]
        tops = [k for k, x in enumerate(body) if id(x) in self.copies]
        if not tops:
            return
        k = tops[-1]
        a = body[k]
        v = a.targets[0].id
        snap = self.snapshot.get(id(loop), [])
        others = [n for n in snap if n != self.copies[id(a)]]
        after = body[k + 1:]
        for x in after:
            if isinstance(x, (gast.For, gast.While)) or (_written_in([x]) & set(others + [v])):
                return
            for y in _walk([x]):
                if self._touches_tape(y) or (isinstance(y, gast.If) and
                                             id(y) in self.reversed_ids and
                                             any(self._touches_tape(z) for z in _walk([y]))):
                    return
        plan = self.plans.get(id(a))
        if plan is not None and v in plan.reads_after:
            return
        start, end = anno(loop, "range")
        idx = anno(a, "index")
        if any(idx < r <= end for r, _ in self.reads.get(v, ())):
            return
        if v in others:
            return
        snap[snap.index(self.copies[id(a)])] = v
        self.early[id(loop)] = a

    def _touches_tape(self, s) -> bool:
        """Whether undoing ``s`` uses the tape (a push of an old value or an object's copy)."""
        return id(s) in self.push_at or any(
            how in ("store", "snapshot") for how in self.undo.get(id(s), ()))

    def _has_tape(self, s) -> bool:
        for x in _walk(children(s)):
            if id(x) in self.push_at or self.undo.get(id(x)) or self.loop_restore.get(id(x)) \
                    or self.snapshot.get(id(x)):
                return True
        return bool(self.snapshot.get(id(s)))

    def _scope_start(self, s):
        loop = anno(s, "loop")
        return anno(loop, "range")[0] if loop is not None else 0

    def _outer_end(self, s) -> int:
        """The last statement index of the outermost loop around ``s`` (or ``s``'s own)."""
        hi = anno(s, "index")
        loop = anno(s, "loop")
        while loop is not None:
            hi = max(hi, anno(loop, "range")[1])
            loop = anno(loop, "loop")
        return hi

    def _pushes(self, reads):
        push_at = set()
        undo: dict[int, list] = {}
        for s in _walk(self.fir.body):
            idx = anno(s, "index")
            target = rebinds(s) if isinstance(s, gast.Assign) else None
            if target is not None:
                lo = self._scope_start(s)
                for r, kind in reads.get(target, ()):
                    if lo <= r and (r <= idx if kind == "before" else r < idx):
                        push_at.add(id(s))
                        break
            hi = self._outer_end(s)
            for w in writes(s):
                # an object changed in place: undone if anything reads it -- under any name
                # that shares its memory (aliases.py) -- at or before this statement in time
                # (a read later in a loop body ran earlier, in an earlier iteration)
                names = {w} | anno(s, "sharers", set())
                if any(r <= hi for n in names for r, _ in reads.get(n, ())):
                    undo.setdefault(id(s), []).append(self.undo_kind(s, w))
        # stores of one memory under several names (aliases.py) are undone together
        for s in _walk(self.fir.body):
            group = anno(s, "write_group")
            if group and id(s) in undo:
                for x in group:
                    if id(x) not in undo:
                        undo[id(x)] = [self.undo_kind(x, w) for w in writes(x)]
        self.undo = undo
        loop_restore, snapshot = {}, {}
        # inner loops first: an outer loop needs no snapshot of what an inner one restores
        loops = [s for s in _walk(self.fir.body) if isinstance(s, (gast.For, gast.While))]
        for s in reversed(loops):
            idx = anno(s, "index")
            lo = self._scope_start(s)
            start, end = anno(s, "range")
            rebound = _rebound(s)
            loop_restore[id(s)] = sorted(v for v in rebound if any(
                lo <= r < idx for r, _ in reads.get(v, ())))
            body_rebound = _rebound_in(s.body)
            own = {s.target.id} if isinstance(s, gast.For) else set()
            snap = []
            for v in sorted(body_rebound - own):
                if not any(start <= r <= end for r, _ in reads.get(v, ())):
                    continue
                if self._fully_restored(v, s.body, push_at, loop_restore, snapshot,
                                        [r for r, _ in reads.get(v, ()) if start <= r <= end]):
                    continue
                snap.append(v)
            snapshot[id(s)] = snap
        return push_at, loop_restore, snapshot

    def undo_kind(self, s, w) -> str:
        """How a change of ``w`` by ``s`` is undone: ``store`` (push the old element),
        ``list`` (the inverse list operation), ``snapshot`` (push a copy, put it back)."""
        op = anno(s, "op")
        if op.kind == "store":
            return "store"
        if op.kind == "list":
            return "list"
        return "snapshot"

    def _fully_restored(self, v, body, push_at, loop_restore, snapshot, read_at) -> bool:
        """Whether every adjoint read of ``v`` in a loop's ``body`` (at ``read_at``) finds its
        value restored by something other than the loop's own snapshot: each assignment of
        it pushes, and each inner loop that rebinds it restores it after itself -- or before
        each of its reversed iterations (its own snapshot), when the body reads ``v`` only
        inside that inner loop."""
        for s in body:
            if isinstance(s, gast.Assign) and rebinds(s) == v:
                if id(s) not in push_at:
                    return False
            elif isinstance(s, gast.If):
                if not (self._fully_restored(v, s.body, push_at, loop_restore, snapshot,
                                             read_at)
                        and self._fully_restored(v, s.orelse, push_at, loop_restore,
                                                 snapshot, read_at)):
                    return False
            elif isinstance(s, (gast.For, gast.While)):
                if v in _rebound(s) and v not in loop_restore.get(id(s), ()):
                    lo, hi = anno(s, "range")
                    inside = [r for r in read_at if lo <= r <= hi]
                    if len(inside) < len(read_at):
                        return False
                    if v not in snapshot.get(id(s), ()) and not self._fully_restored(
                            v, s.body, push_at, loop_restore, snapshot, inside):
                        return False
        return True

    def collect_defs(self):
        """Where each variable is (re)bound (a loop's own variable counts twice)."""
        defs: dict[str, list] = {}
        for s in _walk(self.fir.body):
            if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
                defs.setdefault(s.targets[0].id, []).append(s)
            if isinstance(s, gast.For):
                defs.setdefault(s.target.id, []).extend([s, s])
        self.defs = defs

    def _needs_reset(self, t, s) -> bool:
        """Whether bt is read again after this definition's adjoint: only if t was defined
        earlier in time (an earlier definition not in the other branch of an if, a loop
        around this one, or a parameter)."""
        return self._defined_before(t, s) or anno(s, "loop") is not None or \
            t in self.fir.params

    def _defined_before(self, t, s) -> bool:
        """Whether a definition of t comes before s (not in the other branch of an if)."""
        return any(anno(d, "index") < anno(s, "index") and not self._exclusive(d, s)
                   for d in self.defs.get(t, []))

    # ------------------------------------------------------------------ adjoint naming --
    def decide_direct(self):
        """Temporaries defined once and used once in the same block get assigned adjoints."""
        defs = self.defs
        uses: dict[str, list] = {}
        self.block_of: dict[int, int] = {}

        def scan(stmts):
            for s in stmts:
                self.block_of[id(s)] = id(stmts)
                plan = self.plans.get(id(s))
                if plan is not None:
                    for c in plan.contributions:
                        uses.setdefault(c.operand, []).append(s)
                if isinstance(s, gast.If):
                    scan(s.body)
                    scan(s.orelse)
                elif isinstance(s, (gast.For, gast.While)):
                    scan(s.body)

        scan(self.fir.body)
        from .activity import returned_names

        returned = set(returned_names(self.fir))
        self.direct = set()
        for v, ds in defs.items():
            us = uses.get(v, [])
            # one active definition, its one use later in the same block, and no other
            # definition (a constant, say) in between: the adjoint is assigned at the use
            active_defs = [d for d in ds if isinstance(d, gast.Assign) and self._active_stmt(d)]
            if (len(active_defs) != 1 or len(us) != 1 or v in self.fir.params
                    or v in returned or v in self.containers or v in self.owned
                    or any(not isinstance(d, gast.Assign) for d in ds)):
                continue
            d, u = active_defs[0], us[0]
            lo, hi = anno(d, "index"), anno(u, "index")
            if (self.block_of[id(d)] == self.block_of[id(u)] and lo < hi
                    and not any(lo < anno(o, "index") <= hi for o in ds if o is not d)):
                self.direct.add(v)

    def store_base_of(self, s):
        return store_base(s.targets[0]) if isinstance(s, gast.Assign) else None
