"""Checkpointed loops in the generated source (mixed into ``reverse.Reverser``).

A checkpointed loop -- marked ``for t in s2sad.checkpointed(range(n), ...)``, or any loop
outside loops that tapes when ``grad(f, memory=...)`` is given -- keeps no tape in the
forward sweep.  It runs untaped there, saving its *state* (the values it rebinds that an
iteration reads before writing them, and the objects it changes in place) at the start of the
segments ``checkpoint.Checkpoints`` chooses; the adjoint sweep then follows the rest of the
schedule, written out as four branches a reader can follow::

    for _op, _lo, _hi in _ckpt.backward():
        if _op == 'load':        # the state before iteration _lo, from its snapshot
        elif _op == 'save':      # a snapshot of the state
        elif _op == 'run':       # iterations _lo .. _hi - 1, untaped
        else:                    # the same, taped, then reversed: the plain adjoint
            ...

The segment's taped and reversed loops are the ones the plain reverse pass writes (the
loop's own snapshot tuple, recomputation, undo of in-place changes), over ``_range[_lo:_hi]``.
What the re-runs read besides the state is a read of the adjoint sweep at the loop (so the
taping keeps it as it was, like any value an adjoint reads).
"""

from __future__ import annotations

import functools
import math

import gast

from . import checkpoint as ck
from . import ir, kinds
from .ir import anno, assign, call, clone, comment, const, name
from .ir import walk_statements as _walk
from .taping import _is_trailing_break

_OPS = ("load", "save", "run")


def _reads(s) -> set[str]:
    """The names one statement reads (not its nested blocks)."""
    if isinstance(s, gast.Assign):
        t = s.targets[0]
        out = ir.names_in(s.value)
        if not isinstance(t, gast.Name):
            out |= ir.names_in(t)
        return out
    if isinstance(s, gast.Expr):
        return ir.names_in(s.value)
    if isinstance(s, gast.If):
        return ir.names_in(s.test)
    if isinstance(s, gast.For):
        return ir.names_in(s.iter)
    if isinstance(s, gast.While):
        return ir.names_in(s.test)
    return set()


def live_in(stmts, live_out: set[str]) -> set[str]:
    """The names whose values on entry to ``stmts`` may be read before being rebound."""
    live = set(live_out)
    for s in reversed(stmts):
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
            live = (live - {s.targets[0].id}) | _reads(s)
        elif isinstance(s, gast.If):
            live = live_in(s.body, live) | live_in(s.orelse, live) | _reads(s)
        elif isinstance(s, (gast.For, gast.While)):
            live = loop_live_in(s, live)
        else:
            live = live | _reads(s)
    return live


def loop_live_in(s, live_out: set[str]) -> set[str]:
    """Live names at a loop's head (a fixed point over the back edge), with the iterable's."""
    head = set(live_out) | (_reads(s) if isinstance(s, gast.While) else set())
    while True:
        inner = live_in(s.body, head)
        if isinstance(s, gast.For):
            inner = inner - {s.target.id}
        new = head | inner
        if new == head:
            break
        head = new
    return head | _reads(s)


class Checkpointing:
    """Which loops are checkpointed, their state, and their two sweeps."""

    # -------------------------------------------------------------------- decisions --
    def choose_checkpoints(self) -> None:
        """The loops to checkpoint: those marked, and -- with a memory budget -- every loop
        outside loops that tapes; then the taping is decided again, knowing what their
        re-runs read."""
        self.ckpt: dict[int, dict] = {}
        memory = getattr(self.ctx, "memory", None)
        for s in _walk(self.fir.body):
            if not isinstance(s, (gast.For, gast.While)):
                continue
            options = anno(s, "checkpoint")
            if options is not None:
                if anno(s, "loop") is not None:
                    raise self.fir.error("a checkpointed loop inside another loop", s,
                                         "mark the outer loop instead")
            elif memory is not None and anno(s, "loop") is None and self._has_tape(s):
                options = {"memory": const(memory)}
            else:
                continue
            if id(s) not in self.reversed_ids or not self._has_tape(s):
                continue  # nothing to tape: nothing to checkpoint
            self.ckpt[id(s)] = self._state(s, options)

    def name_checkpoints(self) -> None:
        """The generated names of each checkpointed loop (its range and schedule)."""
        for c in self.ckpt.values():
            if c["for"]:
                c["range"] = self.names.fresh("_range", "saved")
            c["ckpt"] = self.names.fresh("_ckpt", "saved")

    def _state(self, s, options) -> dict:
        # a loop that can exit early (break, return: a trailing `if _break: break`) has a
        # length known at its end, like a while loop: snapshots are taken online
        exits = any(_is_trailing_break(x) for x in s.body)
        rebound = set()
        changed = set()
        for x in _walk(s.body):
            if isinstance(x, gast.Assign) and isinstance(x.targets[0], gast.Name):
                rebound.add(x.targets[0].id)
            elif isinstance(x, gast.For):
                rebound.add(x.target.id)
            op = anno(x, "op")
            for w in (op.writes if op is not None else []):
                if w is not None:  # (names sharing its memory see it refilled in place)
                    changed.add(w)
        own = {s.target.id} if isinstance(s, gast.For) else set()
        head = loop_live_in(s, set()) - own
        state = sorted(rebound & head)
        objects = sorted(changed - rebound)
        for v in objects:
            if not (self.is_array(v) or self.is_list(v) or self.is_dict(v)):
                raise self.fir.error(f"the checkpointed loop changes {v!r} in place, which "
                                     "s2sad cannot copy into a snapshot", s)
        for v in objects + state:
            k = self.kinds.get(v)
            inner = getattr(k, "elem", None) if isinstance(k, kinds.Seq) else \
                getattr(k, "value", None) if isinstance(k, kinds.Dict) else None
            if isinstance(inner, (kinds.Array, kinds.Seq, kinds.Dict)) or inner == kinds.OBJECT:
                raise self.fir.error(f"the checkpointed loop's state holds {v!r}, a container "
                                     "of arrays or containers (its snapshot would not keep "
                                     "their identity)", s)
        reads = set()
        for x in _walk(s.body):
            reads |= _reads(x)
        reads |= _reads(s)
        return {"for": isinstance(s, gast.For), "online": exits or isinstance(s, gast.While),
                "options": options, "state": state,
                "objects": objects, "reads": reads - rebound - set(changed) - own}

    def checkpoint_reads(self, s) -> set[str]:
        """What the re-runs of a checkpointed loop read besides its state (read by the
        adjoint sweep at the loop)."""
        c = self.ckpt.get(id(s))
        return c["reads"] if c else set()

    # ------------------------------------------------------------------------ sweeps --
    def _site(self, s) -> tuple:
        e = self.fir.error("", s)
        return (e.filename, e.lineno, e.source_line)

    def _segment(self, s, c):
        """The loop over one segment, ``for t in _range[_lo:_hi]`` (a ``while`` loop: ``for _
        in range(_lo, _hi)``), carrying the taping decisions of ``s``."""
        lo, hi = self.role_name("segment_lo", "_lo"), self.role_name("segment_hi", "_hi")
        c["lo"], c["hi"] = lo, hi
        if isinstance(s, gast.For):
            c["seg_iter"] = gast.Subscript(value=name(c["range"]), slice=gast.Slice(
                lower=name(lo), upper=name(hi), step=None), ctx=gast.Load())
            if not c["online"]:
                return s
            target = clone(s.target)
        else:
            c["seg_iter"] = call("range", name(lo), name(hi))
            target = name(self.role_name("ignored", "_"), True)
        # (a segment ends where the schedule says: its exit check is left out, the loop's
        # last iteration ending the last segment)
        body = [x for x in s.body if not _is_trailing_break(x)]
        seg = ir.at(gast.For(target=target, iter=c["seg_iter"], body=body, orelse=[],
                             type_comment=None), s)
        for table in (self.snapshot, self.loop_restore, self.early, self.recomputed):
            if id(s) in table:
                table[id(seg)] = table[id(s)]
        self.reversed_ids.add(id(seg))
        for key in ("index", "loop", "chain", "range"):
            ir.set_anno(seg, key, anno(s, key))
        return seg

    def checkpoint_forward(self, s, bound) -> list:
        c = self.ckpt[id(s)]
        out = []
        restore = self.loop_restore.get(id(s), [])
        if restore:
            out.append(ir.Push(values=[name(v) for v in restore]))
        # the taped segment, built now (its pushes size the tape of one iteration)
        scope = _frozen(bound)
        seg = c["seg"] = self._segment(s, c)
        c["restore"] = restore  # (pushed before the loop, popped after its whole reversal)
        self.loop_restore[id(seg)] = []
        saved_iter = seg.iter
        seg.iter = c["seg_iter"]
        try:
            c["taped"] = self._forward_loop(seg, scope)
        finally:
            seg.iter = saved_iter
            self.loop_restore[id(s)] = restore
        if seg is not s:
            self.bound_end[id(s)] = self.bound_end.get(id(seg), set())
        tape = self._tape_per_iteration(c["taped"], s)
        static = isinstance(tape, tuple)
        maker = functools.partial(ck.Checkpoints, where=self._site(s),
                                  tape=tape if static else (0, 0, 0))
        helper = self.helper_named(maker, "checkpoints")
        lo, hi = c["lo"], c["hi"]
        state = gast.Tuple(elts=[name(v) for v in c["state"] + c["objects"]], ctx=gast.Load())
        keywords = [gast.keyword(arg=k, value=clone(v)) for k, v in c["options"].items()]
        if not static and "snapshots" not in c["options"]:  # (what a budget needs to know)
            keywords.append(gast.keyword(arg="tape", value=tape))
        line = self.fir.line_of(s)
        if not c["online"]:
            out.append(assign(c["range"], clone(s.iter), s))
            ctor = call(helper, call("len", name(c["range"])), state)
            ctor.keywords = keywords
            out.append(assign(c["ckpt"], ctor, s))
            body = [gast.Expr(value=self._save(c, name(lo)))]
            body.append(self._plain_loop(s, c))
            out.append(comment(f"checkpointed loop from line {line}: untaped, a snapshot "
                               "at the start of each segment"))
            out.append(ir.at(gast.For(
                target=gast.Tuple(elts=[name(lo, True), name(hi, True)], ctx=gast.Store()),
                iter=call(gast.Attribute(value=name(c["ckpt"]), attr="forward",
                                         ctx=gast.Load())),
                body=body, orelse=[], type_comment=None), s))
        else:  # its length is known at its end: snapshots taken (and thinned) as it goes
            k = c["count"] = self.names.fresh("_k", "saved")
            if isinstance(s, gast.For):
                out.append(assign(c["range"], clone(s.iter), s))
            ctor = call(helper, const(None), state)
            ctor.keywords = keywords
            out.append(assign(c["ckpt"], ctor, s))
            out.append(assign(k, const(0), s))
            out.append(comment(f"checkpointed loop from line {line}: untaped, snapshots "
                               "taken as it goes"))
            nxt = gast.Attribute(value=name(c["ckpt"]), attr="next", ctx=gast.Load())
            due = gast.If(test=gast.Compare(left=name(k), ops=[gast.Eq()], comparators=[nxt]),
                          body=[gast.Expr(value=self._save(c, name(k)))], orelse=[])
            body = [due] + self._plain_loop(s, c).body
            count = assign(k, ir.add(name(k), const(1)), s)
            exits = [j for j, x in enumerate(body) if _is_trailing_break(x)]
            # (counted before the exit check: the last iteration counts too)
            body.insert(exits[-1] if exits else len(body), count)
            if isinstance(s, gast.For):
                loop = ir.at(gast.For(target=clone(s.target), iter=name(c["range"]),
                                      body=body, orelse=[], type_comment=None), s)
            else:
                loop = ir.at(gast.While(test=clone(s.test), body=body, orelse=[]), s)
            out.append(loop)
            out.append(gast.Expr(value=call(gast.Attribute(
                value=name(c["ckpt"]), attr="end", ctx=gast.Load()), name(k))))
        for v in c["state"]:
            if v not in scope:
                self.ckpt_unbound.add(v)
        return out

    def _save(self, c, at):
        return call(gast.Attribute(value=name(c["ckpt"]), attr="save", ctx=gast.Load()), at,
                    *[name(v) for v in c["state"] + c["objects"]])

    def _plain_loop(self, s, c):
        """The loop over a segment, untaped: the user's statements, with temporaries of
        their own (so that each folds back into the expression it came from)."""
        body = clone(s.body)
        if "outside" not in c:
            inside = {id(x) for x in _walk(s.body)}
            c["outside"] = set()
            for x in _walk(self.fir.body):
                if id(x) not in inside and x is not s:
                    c["outside"] |= ir.names_in(x)
        renamed = {}
        for x in _walk(body):
            if isinstance(x, gast.Assign) and isinstance(x.targets[0], gast.Name):
                t = x.targets[0].id
                if self.names.roles.get(t) == "temp" and t not in c["outside"] \
                        and t not in renamed:
                    renamed[t] = self.names.fresh("_t", "temp")
        if renamed:
            for node in ir.walk_block(body):
                if isinstance(node, gast.Name) and node.id in renamed:
                    node.id = renamed[node.id]
        target = clone(c["seg"].target)
        return ir.at(gast.For(target=target, iter=clone(c["seg_iter"]), body=body, orelse=[],
                              type_comment=None), s)

    def _tape_per_iteration(self, taped, s):
        """(numbers, tuples, arrays) one iteration of the taped loop pushes: a tuple of ints,
        or of expressions when an inner loop's length is known only when the loop starts
        (``len(range(m))``, m not rebound by the loop); both branches of an if count."""
        loop = [x for x in taped if isinstance(x, gast.For)][-1]
        budget = getattr(self.ctx, "memory", None) is not None or \
            "memory" in self.ckpt[id(s)]["options"]
        rebound = {v for x in _walk(s.body) for v in ([x.targets[0].id] if isinstance(
            x, gast.Assign) and isinstance(x.targets[0], gast.Name) else [])}
        terms: list = []  # (numbers, tuples, arrays, trip-count factors)

        def refuse(x):
            raise self.fir.error(
                "with a memory budget, a checkpointed loop may not hold a loop that tapes "
                "whose length is not known when the outer loop starts", x,
                "give the outer loop snapshots=<count>")

        def trips(x):
            if not (isinstance(x, gast.For) and isinstance(x.iter, gast.Call)
                    and isinstance(x.iter.func, gast.Name) and x.iter.func.id == "range"):
                return None
            args = x.iter.args
            if all(isinstance(e, gast.Constant) and isinstance(e.value, int) for e in args):
                return len(range(*[e.value for e in args]))
            if any(isinstance(e, gast.Name) and e.id in rebound for e in args):
                return None
            return call("len", call("range", *[clone(e) for e in args]))

        def visit(stmts, factors):
            for x in stmts:
                if isinstance(x, ir.Push):
                    items = x.values
                    arrays = sum(1 for v in items if isinstance(v, gast.Call) or (
                        isinstance(v, gast.Name) and self.is_array(v.id)))
                    terms.append((len(items) - arrays, int(len(items) > 1), arrays, factors))
                elif isinstance(x, gast.If):
                    visit(x.body, factors)
                    visit(x.orelse, factors)
                elif isinstance(x, (gast.For, gast.While)):
                    n = trips(x)
                    if n is None and budget and ir.uses_tape(x):
                        refuse(x)
                    visit(x.body, factors + [n if n is not None else 0])

        visit(loop.body, [])
        if all(isinstance(f, int) for t in terms for f in t[3]):
            totals = [0, 0, 0]
            for *counts, factors in terms:
                scale = math.prod(factors)
                for j in range(3):
                    totals[j] += counts[j] * scale
            return tuple(totals)
        exprs = []
        for j in range(3):
            expr = const(0)
            for *counts, factors in terms:
                if counts[j]:
                    term = None if counts[j] == 1 else const(counts[j])
                    for f in factors:
                        f = const(f) if isinstance(f, int) else clone(f)
                        term = f if term is None else gast.BinOp(left=term, op=gast.Mult(),
                                                                 right=f)
                    term = const(1) if term is None else term
                    expr = term if isinstance(expr, gast.Constant) and expr.value == 0 \
                        else ir.add(expr, term)
            exprs.append(expr)
        return gast.Tuple(elts=exprs, ctx=gast.Load())

    def checkpoint_backward(self, s) -> list:
        c = self.ckpt[id(s)]
        restore = c["restore"]
        op, lo, hi = self.role_name("segment_op", "_op"), c["lo"], c["hi"]
        load = call(gast.Attribute(value=name(c["ckpt"]), attr="load", ctx=gast.Load()),
                    name(lo), *[name(v) for v in c["objects"]])
        if c["state"]:
            load_stmt = assign(ir.names_or_one(c["state"], True), load)
        else:
            load_stmt = gast.Expr(value=load)
        seg = c["seg"]
        if seg.body is not s.body:  # (adjoints zeroed at the top of each reversed iteration)
            self.block_inits[id(seg.body)] = self.block_inits.get(id(s.body), [])
        saved_iter = seg.iter
        seg.iter = c["seg_iter"]
        self.loop_restore[id(seg)] = []
        try:
            reversed_loop = [x for x in self._backward_loop(seg)
                             if not isinstance(x, ir.Comment)]
        finally:
            seg.iter = saved_iter
            self.loop_restore[id(s)] = restore
        reverse = list(c["taped"]) + reversed_loop
        branches = {
            "load": [load_stmt],
            "save": [gast.Expr(value=self._save(c, name(lo)))],
            "run": [self._plain_loop(s, c)],
        }
        chain = reverse
        for key in reversed(_OPS):
            test = gast.Compare(left=name(op), ops=[gast.Eq()], comparators=[const(key)])
            chain = [gast.If(test=test, body=branches[key], orelse=chain)]
        out = [comment(f"reversed loop from line {self.fir.line_of(s)}, checkpointed: "
                       "load, save, run, or reverse a segment")]
        out.append(ir.at(gast.For(
            target=gast.Tuple(elts=[name(op, True), name(lo, True), name(hi, True)],
                              ctx=gast.Store()),
            iter=call(gast.Attribute(value=name(c["ckpt"]), attr="backward", ctx=gast.Load())),
            body=chain, orelse=[], type_comment=None), s))
        if restore:
            out.append(assign(ir.names_or_one(restore, True), ir.Pop()))
        return out


def _frozen(scope):
    """A copy of a (layered) scope of bound names, as one set."""
    from .sweeps import _Scope

    names = set()
    while scope is not None:
        names |= scope.own
        scope = scope.outer
    return _Scope(None, names)
