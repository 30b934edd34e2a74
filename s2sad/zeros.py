"""Which arrays' cotangents may be the number ``0.0`` where a rule reads them.

The adjoint of an array starts as the number 0.0 (``bz = 0.0``) and is reset to it after a
definition's adjoint when it is read again (a definition in a loop, or after another one): a
number stands for zeros of any shape, which every element-wise rule takes (``0.0 * cos(z)``).
A rule that reshapes its cotangent does not: ``np.reshape(0.0, (4,))`` raises.  That happens
when a definition's value may never be read -- ``z = np.ravel(w * w)`` in a loop that reads
``z`` only after it (every pass's value but the last is dead), a value read only inside a
branch or a loop that may not run -- so that its adjoint finds no contribution; and a number
0.0 goes on through element-wise rules (``b_t = bz * 2.0``) to their operands.

``zero_cotangents`` finds those names (plan.py then expands the cotangent to the result's
shape before a rule that is not element-wise reads it: ``runtime.expand_to``).  A value read
by the next statement that mentions its name, in the same block, never meets a zero: the
common case (a temporary, a state updated from itself) is left as it is.
"""

from __future__ import annotations

import gast

from . import ir

_COMPOUND = (gast.If, gast.For, gast.While)


def zero_cotangents(body: list, ops: dict, is_array) -> set[str]:
    """The array names whose cotangent may be the number 0.0 at one of their definitions'
    adjoints (``ops``: activity's Op per statement id; ``is_array(name)``)."""
    where: dict[int, tuple] = {}
    _index(body, None, where)
    found: set[str] = set()
    for s in ir.walk_statements(body):
        op = ops.get(id(s))
        t = getattr(op, "target", None)
        if t is not None and t not in found and is_array(t) and \
                isinstance(s, gast.Assign) and not _surely_read(s, t, where):
            found.add(t)
    changed = True
    while changed:  # a number 0.0 goes on to the operands of element-wise rules and copies
        changed = False
        for s in ir.walk_statements(body):
            op = ops.get(id(s))
            if op is None or op.target not in found or not (
                    op.kind == "copy" or op.kind == "rule" and op.rule.elementwise):
                continue
            for a in op.operands:
                if a.id not in found and is_array(a.id):
                    found.add(a.id)
                    changed = True
    return found


def _index(block: list, parent, where: dict) -> None:
    for k, s in enumerate(block):
        where[id(s)] = (block, k, parent)
        if isinstance(s, _COMPOUND):
            _index(s.body, s, where)
            _index(s.orelse, s, where)


def _surely_read(s, t: str, where: dict) -> bool:
    """Whether every value ``s`` gives ``t`` is read before ``t`` is bound again."""
    block, k, parent = where[id(s)]
    first = _first_mention(block[k + 1:], t)
    if first is not None:
        return first
    if parent is None:
        return False  # (the function's end: nothing reads it)
    if isinstance(parent, (gast.For, gast.While)) and block is parent.body:
        # the next pass: from the top of the body (s itself may read the old value first)
        if not _first_mention(block[:k + 1], t):
            return False
    return _surely_read(parent, t, where)


def _first_mention(stmts: list, t: str) -> bool | None:
    """Scanning ``stmts`` in order, whether ``t`` is surely read before it is bound again
    (True), maybe not -- bound first on some path (False) --, or None when no path through
    them mentions it (what follows decides).  A branch or a loop that may not run passes the
    value on to what follows it."""
    for s in stmts:
        if isinstance(s, _COMPOUND):
            header = s.iter if isinstance(s, gast.For) else s.test
            if t in ir.loads_in(header):
                return True
            if t not in ir.names_in(s):
                continue
            # (an if's two branches; a loop's body and the pass by it when it does not run)
            paths = [_first_mention(s.body, t), _first_mention(s.orelse, t)
                     if isinstance(s, gast.If) else None]
            if False in paths:
                return False
            if all(paths):  # (both branches of an if read it)
                return True
            continue  # (a path that does not mention it: what follows decides)
        if t in ir.loads_in(s):
            return True  # (z = z + 1: the read comes first)
        if t in ir.names_in(s):
            return False
    return None
