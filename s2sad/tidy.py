"""Peephole passes on an adjoint IR function before it is printed as Python.

The IR is in administrative normal form -- good for the passes, noisy to read and slow to run
in CPython, where every temporary is a store and a load.  ``tidy`` folds it back:

* a generated temporary (``_t3``, ``b_t2``, ``_d1``: the namer says which names are) that is
  assigned once and read once, later in the same block, with nothing in between writing what
  its expression reads, is inlined into its use: ``b_t1 = b_t2 * math.cos(_t1); bx = bx +
  b_t1 * i`` becomes ``bx = bx + b_t2 * math.cos(_t1) * i``;
* a generated adjoint that is a plain copy (``b_t3 = bs``) is replaced by the name it copies
  when that name is not reassigned before the copy's last use;
* an element's cotangent that is cleared and added back (the adjoint of ``x[i] = x[i] + e``)
  is left in place, and ``bx[i] = bx[i] + e`` is written ``bx[i] += e`` (the IR's
  ``AugAssign``: the same addition, the index written once).

Temporaries that are pushed, restored or read twice stay.  Expressions that pop the tape or
call user code are never moved.  The result computes the same values in the same order.
"""

from __future__ import annotations

import bisect
import copy

import gast

from . import ir
from .ir import Namer

# the function's namer, for the duration of one tidy() call: which names are generated
# temporaries (foldable) and which are adjoints (accumulations); and the names of the bound
# helpers that change their first argument (add_at, take_tail...)
_names: list[Namer] = []
_mutating: list[frozenset] = []
MUTATING_METHODS = {"append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse",
                    "update", "setdefault", "popitem", "fill", "put", "resize"}


def _changed_by(call) -> str | None:
    """The name a call changes in place: ``ys.pop()`` changes ys, ``add_at(ba, ...)`` ba."""
    func = call.func
    if isinstance(func, gast.Attribute) and func.attr in MUTATING_METHODS and \
            isinstance(func.value, gast.Name):
        return func.value.id
    if isinstance(func, gast.Name) and _mutating and func.id in _mutating[-1] and call.args \
            and isinstance(call.args[0], gast.Name):
        return call.args[0].id
    return None


def _is_generated(name: str) -> bool:
    return _names[-1].is_temp(name)


def _is_adjoint(name: str) -> bool:
    return _names[-1].is_adjoint(name)


def _reads(node) -> list[str]:
    return [n.id for n in ir.walk(node) if isinstance(n, gast.Name)
            and isinstance(n.ctx, gast.Load)]


_memo: dict[int, tuple] = {}


def _facts(s) -> tuple[list[str], set[str]]:
    """(names read, names written) by statement ``s``, its nested blocks included; computed
    bottom-up and memoized for the current pass (``_forget`` after changing ``s``)."""
    hit = _memo.get(id(s))
    if hit is not None and hit[0] is s:
        return hit[1], hit[2]
    reads: list[str] = []
    writes: set[str] = set()
    for field in s._fields:
        value = getattr(s, field)
        if isinstance(value, list) and value and isinstance(value[0], gast.stmt):
            for child in value:
                r, w = _facts(child)
                reads += r
                writes |= w
        elif isinstance(value, (gast.AST, list)):
            for node in (value if isinstance(value, list) else [value]):
                if not isinstance(node, gast.AST):
                    continue
                for n in ir.walk(node):
                    if isinstance(n, gast.Name):
                        if isinstance(n.ctx, gast.Store):
                            writes.add(n.id)
                        else:
                            reads.append(n.id)
                    elif isinstance(n, gast.Call):
                        changed = _changed_by(n)
                        if changed is not None:
                            writes.add(changed)
                    elif isinstance(n, gast.Subscript) and isinstance(n.ctx, gast.Store):
                        base = n.value
                        while isinstance(base, gast.Subscript):
                            base = base.value
                        if isinstance(base, gast.Name):
                            writes.add(base.id)
    _memo[id(s)] = (s, reads, writes)
    return reads, writes


def _forget(s) -> None:
    _memo.pop(id(s), None)


def _writes(stmts) -> set[str]:
    """Names (and bases of subscripts) that ``stmts`` assign."""
    out: set[str] = set()
    for s in stmts:
        out |= _facts(s)[1]
    return out


def _movable(expr) -> bool:
    for n in ir.walk(expr):
        if isinstance(n, (ir.Pop, ir.StackMark, ir.StackGrowth, ir.VjpCall)):
            return False
        if isinstance(n, gast.Call):
            func = n.func
            if _changed_by(n) is not None:
                return False  # a call that changes an object stays where it is
            # math.* and other module functions are pure; calls of local names are not moved
            if not isinstance(func, gast.Attribute):
                if isinstance(func, gast.Name) and func.id in ("abs", "min", "max", "float"):
                    continue
                return False
        if isinstance(n, (gast.List, gast.ListComp)):
            return False  # a fresh mutable object must stay one object
    return True


class _Counts:
    """Stores and loads of each name.  Names in ``recomputed`` are assigned again by the
    adjoint sweep before it reads them, so the two sweeps count separately for them."""

    def __init__(self, fdef, recomputed=frozenset()):
        self.stores: dict[str, int] = {}
        self.loads: dict[str, int] = {}
        split = _sweep_split(fdef.body)
        stores, loads = self.stores, self.loads
        for k, s in enumerate(fdef.body):
            adjoint = k >= split
            stack = [s]
            while stack:
                n = stack.pop()
                if type(n) is gast.Name:
                    key = (n.id, "adjoint") if adjoint and n.id in recomputed else n.id
                    table = stores if type(n.ctx) is gast.Store else loads
                    table[key] = table.get(key, 0) + 1
                    continue
                for f in n._fields:
                    v = getattr(n, f)
                    if type(v) is list:
                        stack.extend(x for x in v if isinstance(x, gast.AST))
                    elif isinstance(v, gast.AST):
                        stack.append(v)


def _sweep_split(body) -> int:
    """The index of the ``# adjoint sweep`` marker in a function body."""
    for k, s in enumerate(body):
        if ir.anno(s, "adjoint_sweep"):
            return k
    return len(body)


def _replace_first(node, name, expr, fields=None) -> bool:
    """Replace the first read of ``name`` under ``node`` (depth first, in field order; only
    in ``fields`` at the top) by ``expr``, in place; whether there was one.  ``expr`` is moved,
    not copied: the statement that held it is dropped."""
    for f in fields or node._fields:
        v = getattr(node, f, None)
        if type(v) is list:
            for i, x in enumerate(v):
                if type(x) is gast.Name and x.id == name and type(x.ctx) is gast.Load:
                    v[i] = expr
                    return True
                if isinstance(x, gast.AST) and _replace_first(x, name, expr):
                    return True
        elif isinstance(v, gast.AST):
            if type(v) is gast.Name and v.id == name and type(v.ctx) is gast.Load:
                setattr(node, f, expr)
                return True
            if _replace_first(v, name, expr):
                return True
    return False


_SIMPLE = (gast.Assign, gast.AugAssign, gast.Expr, gast.Return)


def _header(s):
    """The part of a statement evaluated once, before anything inside it runs."""
    if isinstance(s, _SIMPLE):
        return s
    if isinstance(s, gast.If):
        return s.test
    if isinstance(s, gast.For):
        return s.iter
    return None


def _header_reads(s) -> list[str]:
    """The names ``_header(s)`` reads."""
    if isinstance(s, _SIMPLE):
        return _facts(s)[0]
    h = _header(s)
    return _reads(h) if h is not None else []


def _fold_block(stmts, counts) -> list:
    stmts = list(stmts)
    reads = [_facts(x)[0] for x in stmts]
    writes = [_facts(x)[1] for x in stmts]
    headers = [_header_reads(x) for x in stmts]
    k = 0
    while k < len(stmts):
        s = stmts[k]
        name = s.targets[0].id if (isinstance(s, gast.Assign)
                                   and isinstance(s.targets[0], gast.Name)) else None
        if (name is None or not _is_generated(name) or counts.stores.get(name) != 1
                or counts.loads.get(name) != 1 or not _movable(s.value)):
            k += 1
            continue
        operands = set(reads[k])
        # what the value changes in place (bt.pop(i)): no statement it moves past may read
        # or write that (by += bt.pop(i) folded past bx += bt[0] read the shifted list)
        effects = writes[k] - {name}
        folded = False
        for j in range(k + 1, len(stmts)):
            if effects and effects & (set(reads[j]) | writes[j]):
                break
            if name in headers[j]:
                later = stmts[j]
                fields = ("test",) if isinstance(later, gast.If) else \
                    ("iter",) if isinstance(later, gast.For) else None
                if _replace_first(later, name, s.value, fields):
                    _forget(later)
                    reads[j] = _facts(later)[0]
                    headers[j] = _header_reads(later)
                    for table in (stmts, reads, writes, headers):
                        del table[k]
                    counts.stores[name] = 0
                    folded = True
                break
            if name in reads[j] or writes[j] & (operands | {name}):
                break
        if not folded:
            k += 1
        else:
            k = max(k - 1, 0)  # the statement before may now fold into its new neighbour
    return stmts


def _zero_then_accumulate(stmts, counts) -> list:
    """``bx = 0.0; bx = bx + E`` -> ``bx = E``; and ``b_t = bx; ...; bx = b_t`` with nothing
    writing either in between drops the copy back.

    Both look forward from a statement to the next one that touches a name: an index of the
    positions where each name is touched keeps that a lookup (a scan of the block for each
    adjoint cleared at the top of the adjoint sweep made this pass quadratic)."""
    out: list = list(stmts)
    touched = [set(_facts(x)[0]) | _facts(x)[1] for x in out]
    where = _positions(touched)

    def after(name, k):
        """Positions after ``k`` of the statements that still touch ``name``, in order."""
        for j in _between(where, name, k):
            if out[j] is not None and name in touched[j]:
                yield j

    for k, s in enumerate(out):
        if (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)
                and _is_adjoint(s.targets[0].id) and isinstance(s.value, gast.Constant)
                and s.value.value == 0.0 and not isinstance(s.value.value, bool)):
            name = s.targets[0].id
            j = next(after(name, k), None)
            if j is None:
                continue
            t = out[j]
            if _is_accumulation(t) and t.targets[0].id == name:
                rest = _drop_leftmost(t.value)
                if name not in _reads(rest):
                    t = copy.copy(t)
                    t.value = rest
                    out[j] = t
                    touched[j] = set(_reads(t)) | {name}
                    out[k] = None
                    counts.loads[name] = counts.loads.get(name, 1) - 1
                    counts.stores[name] = counts.stores.get(name, 1) - 1
    # copies back
    for k, s in enumerate(out):
        if (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)
                and isinstance(s.value, gast.Name)):
            dst, src = s.targets[0].id, s.value.id
            for j in sorted(set(after(dst, k)) | set(after(src, k))):
                t = out[j]
                if (isinstance(t, gast.Assign) and isinstance(t.targets[0], gast.Name)
                        and t.targets[0].id == src and isinstance(t.value, gast.Name)
                        and t.value.id == dst):
                    out[j] = None
                    counts.loads[dst] = counts.loads.get(dst, 1) - 1
                    counts.stores[src] = counts.stores.get(src, 1) - 1
                    break
                if _facts(t)[1] & {dst, src}:
                    break
    return [s for s in out if s is not None]


def _drop_leftmost(expr):
    """``bx + A + B`` -> ``A + B`` (the leftmost operand of a chain of additions)."""
    if isinstance(expr, gast.BinOp) and isinstance(expr.op, gast.Add):
        if isinstance(expr.left, gast.Name):
            return expr.right
        return gast.BinOp(left=_drop_leftmost(expr.left), op=gast.Add(), right=expr.right)
    return expr


def _positions(table) -> dict[str, list[int]]:
    """name -> the (ascending) positions of the statements whose entry in ``table`` has it."""
    where: dict[str, list[int]] = {}
    for j, names in enumerate(table):
        for n in set(names):
            where.setdefault(n, []).append(j)
    return where


def _between(where, name, lo, hi=None) -> list[int]:
    """The positions of ``name`` in ``where`` strictly between ``lo`` and ``hi``."""
    positions = where.get(name, [])
    end = len(positions) if hi is None else bisect.bisect_left(positions, hi)
    return positions[bisect.bisect_right(positions, lo):end]


def _copy_propagate(stmts, counts) -> list:
    out: list = list(stmts)
    reads = [_facts(x)[0] for x in out]
    writes = [_facts(x)[1] for x in out]
    read_at, write_at = _positions(reads), _positions(writes)
    for k, s in enumerate(out):
        value = s.value if isinstance(s, gast.Assign) else None
        negated = (isinstance(value, gast.UnaryOp) and isinstance(value.op, gast.USub)
                   and isinstance(value.operand, gast.Name))
        if (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)
                and (isinstance(value, gast.Name) or negated) and _is_generated(s.targets[0].id)
                and _is_adjoint(s.targets[0].id) and counts.stores.get(s.targets[0].id) == 1):
            # b_t = bx (or b_t = -bx): every read of b_t becomes bx (-bx)
            name = s.targets[0].id
            source = value.operand.id if negated else value.id
            uses = [j for j in _between(read_at, name, k)
                    if out[j] is not None and name in reads[j]]
            total = sum(reads[j].count(name) for j in uses)
            last = uses[-1] if uses else k
            clobbered = any(out[j] is not None for j in _between(write_at, source, k, last)) \
                or (last > k and source in writes[last]
                    and not isinstance(out[last], gast.Assign))
            if uses and total == counts.loads.get(name) and not clobbered:
                for j in uses:
                    _forget(out[j])
                    if negated:
                        out[j] = _Rename.substitute(out[j], name, value)
                    else:
                        out[j] = _Rename(name, source).visit(out[j])
                    _forget(out[j])
                    reads[j] = _facts(out[j])[0]
                    positions = read_at.setdefault(source, [])
                    at = bisect.bisect_left(positions, j)
                    if at == len(positions) or positions[at] != j:
                        positions.insert(at, j)
                out[k] = None
                counts.loads[source] = counts.loads.get(source, 0) + total
                counts.loads[name] = 0
    return [x for x in out if x is not None]


class _Rename(gast.NodeTransformer):
    def __init__(self, old, new):
        self.old, self.new = old, new

    @staticmethod
    def substitute(expr, name, value):
        """Replace every read of ``name`` in ``expr`` by a copy of ``value``."""

        class _Sub(gast.NodeTransformer):
            def visit_Name(self, node):
                if isinstance(node.ctx, gast.Load) and node.id == name:
                    return ir.clone(value)
                return node

        return _Sub().visit(expr)

    def visit_Name(self, node):
        if isinstance(node.ctx, gast.Load) and node.id == self.old:
            return gast.Name(id=self.new, ctx=node.ctx, annotation=None, type_comment=None)
        return node


def _signs(node):
    """``a + -b`` -> ``a - b``, ``a - -b`` -> ``a + b``, ``--a`` -> ``a``, under ``node``
    (rewritten in place; the new root is returned)."""
    for f in node._fields:
        v = getattr(node, f, None)
        if type(v) is list:
            for i, x in enumerate(v):
                if isinstance(x, gast.AST):
                    v[i] = _signs(x)
        elif isinstance(v, gast.AST) and not isinstance(v, gast.expr_context):
            new = _signs(v)
            if new is not v:
                setattr(node, f, new)
    kind = type(node)
    if kind is gast.AugAssign and isinstance(node.op, (gast.Add, gast.Sub)):
        # x += -e -> x -= e (through the same rewrite of a BinOp)
        as_binop = _signs(gast.BinOp(left=node.target, op=node.op, right=node.value))
        node.op, node.value = as_binop.op, as_binop.right
        return node
    if kind is gast.UnaryOp:
        if isinstance(node.op, gast.USub) and isinstance(node.operand, gast.UnaryOp) \
                and isinstance(node.operand.op, gast.USub):
            return node.operand.operand
    elif kind is gast.BinOp and isinstance(node.op, (gast.Add, gast.Sub)):
        right = node.right
        if isinstance(right, gast.UnaryOp) and isinstance(right.op, gast.USub):
            node.op = gast.Sub() if isinstance(node.op, gast.Add) else gast.Add()
            node.right = right.operand
        elif isinstance(right, gast.BinOp):
            # a + -g * x * y -> a - g * x * y
            inner = right
            while isinstance(inner, gast.BinOp) and isinstance(inner.op, (gast.Mult, gast.Div)) \
                    and isinstance(inner.left, gast.BinOp):
                inner = inner.left
            if isinstance(inner, gast.BinOp) and isinstance(inner.op, (gast.Mult, gast.Div)) \
                    and isinstance(inner.left, gast.UnaryOp) \
                    and isinstance(inner.left.op, gast.USub):
                node.op = gast.Sub() if isinstance(node.op, gast.Add) else gast.Add()
                inner.left = inner.left.operand
    return node


# at most this many terms are merged into one accumulation: longer sums are split into
# statements (a left-nested sum of hundreds of terms is hard to read and deep to walk)
MAX_TERMS = 8


def _merge_accumulations(stmts, counts) -> list:
    """``bx = bx + A`` followed (maybe after statements that neither touch ``bx`` nor write
    what ``A`` reads) by ``bx = bx + B`` -> one ``bx = bx + A + B`` where the second was: the
    same additions in the same order.

    The last statement to touch each name, and the last to write it, are indexed: the
    candidate for a merge is a lookup, not a scan back through the block."""
    out: list = []
    last: dict[str, int] = {}  # name -> position in out of the last statement touching it
    last_write: dict[str, int] = {}

    def record(s):
        reads, writes = _facts(s)
        for n in reads:
            last[n] = len(out)
        for n in writes:
            last[n] = last_write[n] = len(out)
        out.append(s)

    for s in stmts:
        if _is_accumulation(s):
            name = s.targets[0].id
            k = last.get(name)
            prev = out[k] if k is not None else None
            if prev is not None and _is_accumulation(prev) and prev.targets[0].id == name:
                terms = _drop_leftmost(prev.value)
                term_reads = _reads(terms)
                # what the terms change in place (bt.pop(i)) is touched by nothing between:
                # the change moves down to s (fuzz seed 339: bx += bt[0] read the list
                # after the pop had moved past it)
                effects = _facts(prev)[1] - {name}
                if (name not in _reads(s.value.right) and name not in term_reads
                        and _sum_length(terms) < MAX_TERMS
                        and all(last_write.get(r, -1) <= k for r in term_reads)
                        and all(last.get(e, -1) <= k for e in effects)):
                    out[k] = None
                    s.value = gast.BinOp(left=gast.BinOp(
                        left=gast.Name(id=name, ctx=gast.Load(), annotation=None,
                                       type_comment=None), op=gast.Add(), right=terms),
                        op=gast.Add(), right=s.value.right) if not _is_sum(terms) else \
                        _append_terms(name, terms, s.value.right)
                    _forget(s)
        record(s)
    return [s for s in out if s is not None]


def _sum_length(expr) -> int:
    """How many terms a left-nested sum has."""
    n = 1
    while _is_sum(expr):
        n += 1
        expr = expr.left
    return n


def _is_sum(expr) -> bool:
    return isinstance(expr, gast.BinOp) and isinstance(expr.op, gast.Add)


def _append_terms(name, terms, last):
    """``name + t1 + t2 + ... + last`` from ``t1 + t2 + ...`` (left-nested sums)."""
    parts = []
    while _is_sum(terms):
        parts.append(terms.right)
        terms = terms.left
    parts.append(terms)
    expr = gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None)
    for p in reversed(parts):
        expr = gast.BinOp(left=expr, op=gast.Add(), right=p)
    return gast.BinOp(left=expr, op=gast.Add(), right=last)


def _is_accumulation(s) -> bool:
    if not (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)
            and _is_adjoint(s.targets[0].id)):
        return False
    left = s.value
    while isinstance(left, gast.BinOp) and isinstance(left.op, gast.Add):
        left = left.left
    return left is not s.value and isinstance(left, gast.Name) and left.id == s.targets[0].id


def _fold_while_tests(stmts, counts) -> list:
    """``_t1 = c; while _t1: ...; _t1 = c`` -> ``while c: ...`` (the IR's recomputed test,
    printed the way a person writes it)."""
    out = list(stmts)
    for w, loop in enumerate(out):
        if not (isinstance(loop, gast.While) and isinstance(loop.test, gast.Name)):
            continue
        # statements between the test's computation and the loop (a stack mark, a flag) that
        # do not touch it move above it
        j = w
        while j > 0 and not (isinstance(out[j - 1], gast.Assign)
                             and isinstance(out[j - 1].targets[0], gast.Name)
                             and out[j - 1].targets[0].id == loop.test.id):
            j -= 1
        if j == 0:
            continue
        between = out[j:w]
        n = 0
        while (n < j and n < len(loop.body) - 1
               and gast.dump(out[j - n - 1]) == gast.dump(loop.body[-n - 1])
               and isinstance(out[j - n - 1], gast.Assign)
               and isinstance(out[j - n - 1].targets[0], gast.Name)
               and _is_generated(out[j - n - 1].targets[0].id)):
            n += 1
        if n == 0:
            continue
        touched = {loop.test.id}
        for c in out[j - n:j]:
            touched |= set(_reads(c)) | _writes([c])
        if any(_writes([b]) & touched or set(_reads(b)) & touched for b in between):
            continue
        out[j - n:w] = between + out[j - n:j]
        chain = out[w - n:w]
        names = [c.targets[0].id for c in chain]
        inner_reads = [r for c in chain for r in _reads(c.value)]
        ok = all(counts.stores.get(t) == 2 and counts.loads.get(t) ==
                 2 * inner_reads.count(t) + (1 if t == loop.test.id else 0) for t in names)
        if not ok or not all(_movable(c.value) for c in chain):
            continue
        expr = ir.clone(chain[-1].value)
        for c in reversed(chain[:-1]):
            expr = _Rename.substitute(expr, c.targets[0].id, c.value)
        loop.test = expr
        loop.body = loop.body[:-n]
        _forget(loop)
        del out[w - n:w]
        return _fold_while_tests(out, counts)
    return out


def _visit_blocks(stmts, fn):
    """Apply ``fn`` to every statement list, innermost first.  A compound statement's facts
    are forgotten once its blocks have been rewritten."""
    for s in stmts:
        for field in ("body", "orelse"):
            block = getattr(s, field, None)
            if isinstance(block, list) and block and isinstance(block[0], gast.stmt):
                setattr(s, field, _visit_blocks(block, fn))
                _forget(s)
    return fn(stmts)


def tidy(fdef: gast.FunctionDef, namer: Namer, recomputed=frozenset(),
         mutating=frozenset()) -> gast.FunctionDef:
    """Fold single-use temporaries and copies of ``fdef`` in place (see module docstring).

    ``namer`` is the function's: only names it generated are folded or merged.
    ``mutating`` names the bound helpers that change their first argument.
    ``recomputed`` names temporaries that the adjoint sweep recomputes rather than reads from
    the forward sweep; in the forward sweep they fold like any other single-use temporary."""
    _names.append(namer)
    _mutating.append(frozenset(mutating))
    try:
        return _tidy(fdef, recomputed)
    finally:
        _names.pop()
        _mutating.pop()
        _memo.clear()


def _same_element(a, b) -> bool:
    """``a`` and ``b`` are the same subscript of a name (``bx[i]``, ``bx[i, j]``), whatever
    their contexts."""
    return (isinstance(a, gast.Subscript) and isinstance(b, gast.Subscript)
            and isinstance(a.value, gast.Name) and isinstance(b.value, gast.Name)
            and a.value.id == b.value.id and gast.dump(a.slice) == gast.dump(b.slice))


def _element_accumulation(s):
    """``bx[i] = bx[i] + e`` of an adjoint: its target, else None."""
    if (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Subscript)
            and isinstance(s.targets[0].value, gast.Name) and _is_adjoint(s.targets[0].value.id)
            and isinstance(s.value, gast.BinOp) and isinstance(s.value.op, gast.Add)
            and _same_element(s.value.left, s.targets[0])):
        return s.targets[0]
    return None


def _is_clear(s) -> str | None:
    """``bx = 0.0`` of an adjoint: its name."""
    if (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)
            and _is_adjoint(s.targets[0].id) and isinstance(s.value, gast.Constant)
            and s.value.value == 0.0 and not isinstance(s.value.value, bool)):
        return s.targets[0].id
    return None


def _copies(s, name: str) -> bool:
    """``b_t = bx`` or ``b_t = -bx`` of a generated ``b_t``."""
    value = s.value if isinstance(s, gast.Assign) else None
    if isinstance(value, gast.UnaryOp) and isinstance(value.op, gast.USub):
        value = value.operand
    return (isinstance(value, gast.Name) and value.id == name
            and isinstance(s.targets[0], gast.Name) and _is_generated(s.targets[0].id))


def _sink_clears(stmts, counts) -> list:
    """``b_t = bx; bx = 0.0``: the clear moves down to just before the next statement that
    touches ``bx`` (or the end of the block), past statements that neither read nor write
    it, so that the copy ``b_t`` reads ``bx`` itself (copy propagation), the way a person
    writes ``bdx += 2.0 * bd2 * dx; bdy += 2.0 * bd2 * dy; bd2 = 0.0``."""
    touched = [set(_facts(x)[0]) | _facts(x)[1] for x in stmts]
    where = _positions(touched)
    stops = [j for j, x in enumerate(stmts)
             if isinstance(x, (gast.Return, gast.Break, gast.Continue))]
    target: dict[int, int] = {}  # a clear's position -> the position it goes right before
    for k in range(len(stmts) - 1, -1, -1):
        name = _is_clear(stmts[k])
        if name is None or not (k and _copies(stmts[k - 1], name)):
            continue  # (only a clear right after copies of the name: what it unlocks)
        later = _between(where, name, k)
        stop = stops[bisect.bisect_right(stops, k)] if stops and stops[-1] > k else None
        to = min([p for p in (later[0] if later else None, stop) if p is not None],
                 default=len(stmts))
        if to > k + 1:
            target[k] = target.get(to, to)  # (before a clear that moves: where it goes)
    if not target:
        return list(stmts)
    before: dict[int, list] = {}
    for k in sorted(target):
        before.setdefault(target[k], []).append(stmts[k])
    out = []
    for k, s in enumerate(stmts):
        out.extend(before.pop(k, ()))
        if k not in target:
            out.append(s)
    out.extend(before.pop(len(stmts), ()))
    return out


def _keep_element_cotangents(stmts, counts) -> list:
    """``b = bx[i]; bx[i] = 0.0; ...; bx[i] = bx[i] + b`` with nothing in between touching
    ``bx``, ``b`` or the index -> ``b = bx[i]; ...``: an element that a statement updates
    from itself (``x[i] = x[i] + e``) keeps its cotangent instead of clearing it and adding
    it back."""
    out: list = list(stmts)
    for k in range(1, len(out)):
        s, prev = out[k], out[k - 1]
        if not (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Subscript)
                and isinstance(s.value, gast.Constant) and s.value.value == 0.0
                and isinstance(prev, gast.Assign) and isinstance(prev.targets[0], gast.Name)
                and _same_element(prev.value, s.targets[0])):
            continue
        element, b = s.targets[0], prev.targets[0].id
        base, unchanged = element.value.id, {b} | set(_reads(element.slice))
        for j in range(k + 1, len(out)):
            t = out[j]
            if t is None:
                continue
            target = _element_accumulation(t)
            if target is not None and _same_element(target, element) and \
                    isinstance(t.value.right, gast.Name) and t.value.right.id == b:
                out[k] = out[j] = None
                break
            reads, writes = _facts(t)
            if base in reads or base in writes or unchanged & writes:
                break
    return [s for s in out if s is not None]


def _augmented(stmts, counts) -> list:
    """``bx[i] = bx[i] + e`` -> ``bx[i] += e`` (an adjoint's element: the same additions; the
    index is written once, so a single-use index temporary folds into it)."""
    out = []
    for s in stmts:
        target = _element_accumulation(s)
        if target is not None:
            s = ir.at(gast.AugAssign(target=target, op=gast.Add(), value=s.value.right), s)
        out.append(s)
    return out


def _drop_dead_clears(body) -> list:
    """Clears of an adjoint (``bx = 0.0``, ``bv[0, 1] = 0.0``) in the function's own block
    that nothing reads afterwards: dead stores at the end of the adjoint sweep.  Elements
    with constant indices are told apart (``bv[0, 0]`` read later keeps ``bv[0, 1]`` dead)."""
    out = list(body)
    names: set[str] = set()  # read or written later, as a whole
    elements: set[tuple] = set()  # (name, index) read later by a constant index
    for k in range(len(out) - 1, -1, -1):
        s = out[k]
        target = s.targets[0] if isinstance(s, gast.Assign) and len(s.targets) == 1 else None
        base = target.value if isinstance(target, gast.Subscript) else target
        if (isinstance(base, gast.Name) and _is_adjoint(base.id) and base.id not in names
                and isinstance(s.value, gast.Constant) and s.value.value == 0.0
                and not isinstance(s.value.value, bool)
                and (base is target or (_constant_index(target.slice)
                                        and (base.id, gast.dump(target.slice)) not in elements))):
            out[k] = None
            continue
        by_element = set()
        for n in ir.walk(s):
            if isinstance(n, gast.Subscript) and isinstance(n.value, gast.Name) and \
                    isinstance(n.ctx, gast.Load) and _constant_index(n.slice):
                elements.add((n.value.id, gast.dump(n.slice)))
                by_element.add(id(n.value))
            elif isinstance(n, gast.Name) and id(n) not in by_element:
                names.add(n.id)
        names |= _facts(s)[1]
    return [s for s in out if s is not None]


def _drop_self_stores(stmts) -> list:
    """``dx[2:] = dx[2:]`` (the tangent of ``x[2:] = x[2:] + 1.0``, its temporary folded)
    stores what is there: dropped (a target with a call in it is kept)."""
    def same(s) -> bool:
        if not (isinstance(s, gast.Assign) and len(s.targets) == 1 and
                isinstance(s.targets[0], (gast.Name, gast.Subscript, gast.Attribute))):
            return False
        target = s.targets[0]
        if any(isinstance(n, gast.Call) for n in ir.walk(target)):
            return False
        return gast.dump(ir.clone(s.value)) == gast.dump(_loaded(target))
    kept = [s for s in stmts if not same(s)]
    return kept or ([gast.Pass()] if stmts else [])


def _loaded(target):
    """``target`` read rather than stored."""
    out = ir.clone(target)
    for n in ir.walk(out):
        if hasattr(n, "ctx") and isinstance(n.ctx, gast.Store):
            n.ctx = gast.Load()
    return out


def _constant_index(index) -> bool:
    """Non-negative integer constants only: ``b[0]`` and ``b[-1]`` may be one element."""
    parts = index.elts if isinstance(index, gast.Tuple) else [index]
    return all(isinstance(p, gast.Constant) and type(p.value) is int and p.value >= 0
               for p in parts)


def _tidy(fdef, recomputed):
    # the first three passes keep the counts up to date (or too high, which only stops a
    # fold), so one count serves them all
    _memo.clear()  # facts of statements of an earlier function are of no use
    counts = _Counts(fdef)
    fdef.body = _visit_blocks(fdef.body, lambda b: _sink_clears(b, counts))
    fdef.body = _visit_blocks(fdef.body, lambda b: _zero_then_accumulate(b, counts))
    fdef.body = _visit_blocks(fdef.body, lambda b: _copy_propagate(b, counts))
    fdef.body = _visit_blocks(fdef.body, lambda b: _fold_while_tests(b, counts))
    fdef.body = _visit_blocks(fdef.body, lambda b: _keep_element_cotangents(b, counts))
    fdef.body = _visit_blocks(fdef.body, lambda b: _augmented(b, counts))
    counts = _Counts(fdef, recomputed)
    split = _sweep_split(fdef.body)
    forward = _visit_blocks(fdef.body[:split], lambda b: _fold_block(b, counts))
    counts = _Counts(fdef)
    fdef.body = forward + _visit_blocks(fdef.body[split:], lambda b: _fold_block(b, counts))
    fdef.body = _visit_blocks(fdef.body, lambda b: _merge_accumulations(b, counts))
    fdef.body = _drop_dead_clears(fdef.body)
    fdef.body = _visit_blocks(fdef.body, _drop_self_stores)
    _signs(fdef)
    _memo.clear()
    return fdef
