"""Lower early ``return``, ``break`` and ``continue`` to structured control flow.

The reverse pass needs loops whose iterations run to the end of the body and branches that
rejoin.  This pass, run by ``parse`` before flattening, rewrites jumps with flags:

* ``if c: return a`` followed by more code becomes ``if c: _ret = a`` / ``else: <the rest>``
  (no flag at all when a branch always jumps);
* otherwise a jump sets a flag (``_returned``, ``_break``, ``_continue``) and the code after
  the statement that may jump is guarded by ``if not <flag>:``;
* a loop that may be left early ends its body with ``if _break: break`` -- the only ``break``
  the IR keeps, always the last statement of a loop body;
* the function ends with a single ``return _ret``.

Flags that end up never read are removed, so simple functions come out unchanged.  Flag names
come from the function's ``Namer`` (``_break`` unless the user has one).
"""

from __future__ import annotations

import gast

from . import ir
from .ir import Namer
from .ir import at as _at
from .ir import name as _name


def _assign(target: str, value: gast.expr, like: gast.AST) -> gast.Assign:
    node = gast.Assign(targets=[_name(target, True)], value=value, type_comment=None)
    return _at(node, like)


def _true():
    return gast.Constant(value=True, kind=None)


def _false():
    return gast.Constant(value=False, kind=None)


def _walk_jumps(stmts, kinds, into_loops):
    """Yield jump statements of ``kinds`` in ``stmts`` (not inside nested loops unless asked)."""
    for s in stmts:
        if isinstance(s, kinds):
            yield s
        if isinstance(s, gast.If):
            yield from _walk_jumps(s.body, kinds, into_loops)
            yield from _walk_jumps(s.orelse, kinds, into_loops)
        elif isinstance(s, (gast.For, gast.While)) and into_loops:
            yield from _walk_jumps(s.body, kinds, into_loops)


def _always_jumps(stmts) -> bool:
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, (gast.Return, gast.Break, gast.Continue)):
        return True
    if isinstance(last, gast.If):
        return _always_jumps(last.body) and _always_jumps(last.orelse)
    return False


class _Loop:
    def __init__(self, index: int, namer: Namer) -> None:
        suffix = "" if index == 0 else str(index + 1)
        self.brk = namer.fresh("_break" + suffix, "flag")
        self.cont = namer.fresh("_continue" + suffix, "flag")


class JumpLowering:
    """Rewrites one function body; see the module docstring."""

    def __init__(self, namer: Namer) -> None:
        self.namer = namer
        self.RET = namer.fresh("_ret", "result")
        self.RETURNED = namer.fresh("_returned", "flag")
        self.loops: list[_Loop] = []
        self.n_loops = 0
        self.used_flags: set[str] = set()

    # which flags a statement may set, seen from the block that contains it
    def _flags_set_by(self, s) -> list[str]:
        flags = []
        if self.loops:
            loop = self.loops[-1]
            if any(_walk_jumps([s], gast.Break, False)):
                flags.append(loop.brk)
            if any(_walk_jumps([s], gast.Continue, False)):
                flags.append(loop.cont)
        if any(_walk_jumps([s], gast.Return, True)):
            flags.append(self.RETURNED)
        return flags

    def _jump(self, s) -> list:
        if isinstance(s, gast.Return):
            value = s.value if s.value is not None else gast.Constant(value=None, kind=None)
            return [_assign(self.RET, value, s), _assign(self.RETURNED, _true(), s)]
        loop = self.loops[-1]
        flag = loop.brk if isinstance(s, gast.Break) else loop.cont
        return [_assign(flag, _true(), s)]

    def block(self, stmts) -> list:
        out: list = []
        for k, s in enumerate(stmts):
            rest = stmts[k + 1:]
            if isinstance(s, (gast.Return, gast.Break, gast.Continue)):
                out.extend(self._jump(s))
                return out  # what follows a jump is dead
            if isinstance(s, gast.If) and _always_jumps(s.body) and rest:
                out.append(_at(gast.If(test=s.test, body=self.block(s.body),
                                       orelse=self.block(s.orelse + rest)), s))
                return out
            if isinstance(s, gast.If) and _always_jumps(s.orelse) and rest:
                out.append(_at(gast.If(test=s.test, body=self.block(s.body + rest),
                                       orelse=self.block(s.orelse)), s))
                return out
            flags = self._flags_set_by(s)
            out.append(self._statement(s))
            if flags and rest:
                self.used_flags.update(flags)
                test = _name(flags[0])
                if len(flags) > 1:
                    test = gast.BoolOp(op=gast.Or(), values=[_name(f) for f in flags])
                guard = gast.UnaryOp(op=gast.Not(), operand=test)
                out.append(_at(gast.If(test=guard, body=self.block(rest), orelse=[]), s))
                return out
        return out

    def _statement(self, s):
        if isinstance(s, gast.If):
            return _at(gast.If(test=s.test, body=self.block(s.body),
                               orelse=self.block(s.orelse)), s)
        if isinstance(s, (gast.For, gast.While)):
            return self._loop(s)
        return s

    def _loop(self, s):
        loop = _Loop(self.n_loops, self.namer)
        self.n_loops += 1
        has_break = any(_walk_jumps(s.body, gast.Break, False))
        has_cont = any(_walk_jumps(s.body, gast.Continue, False))
        has_ret = any(_walk_jumps(s.body, gast.Return, True))
        self.loops.append(loop)
        body = self.block(s.body)
        self.loops.pop()
        pre = []
        if has_cont:
            body = [_assign(loop.cont, _false(), s)] + body
        exits = ([loop.brk] if has_break else []) + ([self.RETURNED] if has_ret else [])
        if exits:
            self.used_flags.update(exits)
            test = _name(exits[0]) if len(exits) == 1 else gast.BoolOp(
                op=gast.Or(), values=[_name(f) for f in exits])
            body.append(_at(gast.If(test=test, body=[_at(gast.Break(), s)], orelse=[]), s))
            if has_break:
                pre.append(_assign(loop.brk, _false(), s))
        new = type(s)(**{f: getattr(s, f) for f in s._fields})
        new.body = body
        _at(new, s)
        return pre + [new] if pre else new

    def function_body(self, body) -> list:
        """Lower a whole function body; returns it unchanged when it has no early jump."""
        returns = list(_walk_jumps(body, gast.Return, True))
        jumps = list(_walk_jumps(body, (gast.Break, gast.Continue), True))
        if not jumps and (not returns or (len(returns) == 1 and body and body[-1] is returns[0])):
            return body
        first = body[0] if body else None
        new_body = self._flatten(self.block(body))
        pre = []
        if self.RETURNED in self.used_flags:
            pre.append(_assign(self.RETURNED, _false(), first))
        new_body = self._drop_unused_flags(new_body)
        if not _always_assigns(new_body, self.RET):
            pre.append(_assign(self.RET, gast.Constant(value=None, kind=None), first))
        ret = _at(gast.Return(value=_name(self.RET)), body[-1])
        return pre + new_body + [ret]

    @staticmethod
    def _flatten(stmts):
        """Splice the statement lists that loops with flags were lowered to."""
        out = []
        for item in stmts:
            for s in (item if isinstance(item, list) else [item]):
                if isinstance(s, gast.If):
                    s.body = JumpLowering._flatten(s.body)
                    s.orelse = JumpLowering._flatten(s.orelse)
                elif isinstance(s, (gast.For, gast.While)):
                    s.body = JumpLowering._flatten(s.body)
                out.append(s)
        return out

    def _drop_unused_flags(self, stmts):
        read: set[str] = set()
        for node in ir.walk_block(stmts):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
                read.add(node.id)

        def is_dead_flag(s):
            if not (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)):
                return False
            name = s.targets[0].id
            return self.namer.role(name) == "flag" and name not in read

        def clean(block):
            out = []
            for s in block:
                if is_dead_flag(s):
                    continue
                if isinstance(s, gast.If):
                    s.body = clean(s.body)
                    s.orelse = clean(s.orelse)
                elif isinstance(s, (gast.For, gast.While)):
                    s.body = clean(s.body)
                out.append(s)
            return out

        return clean(stmts)


def _always_assigns(stmts, target: str) -> bool:
    for s in stmts:
        if (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)
                and s.targets[0].id == target):
            return True
        if isinstance(s, gast.If) and _always_assigns(s.body, target) and \
                _always_assigns(s.orelse, target):
            return True
    return False


def lower_jumps(body: list, namer: Namer) -> list:
    """Return ``body`` with early returns, breaks and continues lowered (see module doc)."""
    return JumpLowering(namer).function_body(body)
