"""The nodes of loops.py: array values that compute their element at an index.

A node has ``dims`` (its extents, IR atoms), ``reads`` (the names its elements are computed
from: what must not change before it is read, loops.fusable) and ``elem(lw, idx)``, which
appends the statements computing the element at ``idx`` to the lowering's current block and
returns the atom that holds it.
"""

from __future__ import annotations

import builtins

import gast

from . import ir


class Node:
    """An array value: its extents (``dims``: IR atoms) and how to compute an element."""

    dims: list
    reads: set  # the names its elements are computed from
    stored = False  # an index map of a named array (reading it costs nothing)

    def elem(self, lw, idx: list):  # (lw: the loops._Lowering at work)
        raise NotImplementedError


class Stored(Node):
    """A named array, or a view of one: ``axes`` gives each of the array's axes as
    ``("out", k, offset)`` or ``("out", k, offset, step)`` (the k-th index of the view, times
    a constant step when there is one, plus an offset atom or None) or ``("at", atom)`` (a
    fixed index)."""

    stored = True

    def __init__(self, name: str, dims: list, axes: list) -> None:
        self.name, self.dims, self.axes = name, dims, axes
        self.reads = {name}

    def key(self, lw, idx):
        """The index into the named array of the view's element at ``idx``."""
        index = []
        for a in self.axes:
            if a[0] == "at":
                index.append(a[1])
                continue
            i = idx[a[1]]
            if step_of(a) is not None:
                i = lw.let(ir.binop(i, gast.Mult(), ir.const(step_of(a))), "_i")
            index.append(i if a[2] is None else lw.let(ir.add(i, a[2]), "_i"))
        return index[0] if len(index) == 1 else ir.tuple_of(index)

    def elem(self, lw, idx):
        return lw.let(ir.subscript(ir.name(self.name), self.key(lw, idx)))


class Number(Node):
    def __init__(self, atom) -> None:
        self.atom, self.dims = atom, []
        self.reads = set(ir.names_in(atom))

    def elem(self, lw, idx):
        return self.atom


class Map(Node):
    """An element-wise operation of broadcast operands: ``build(lw, atoms) -> atom``."""

    def __init__(self, build, operands: list, dims: list, maps: list) -> None:
        self.build, self.operands, self.dims, self.maps = build, operands, dims, maps
        self.reads = set().union(*(o.reads for o in operands))

    def elem(self, lw, idx):
        atoms = [o.elem(lw, [idx[k] if k is not None else ir.const(0) for k in m])
                 for o, m in zip(self.operands, self.maps)]
        return self.build(lw, atoms)


class Index(Node):
    """``np.arange(start, stop)``, ``np.linspace(a, b, n)`` and ``np.eye(n)`` (``whole``: its
    build takes every index): an element from its index."""

    def __init__(self, dims, build, reads, whole: bool = False) -> None:
        self.dims, self.build, self.reads, self.whole = dims, build, reads, whole

    def elem(self, lw, idx):
        return self.build(lw, idx if self.whole else idx[0])


class Reduce(Node):
    """``np.sum/mean/max/min/prod`` of an operand along ``axes`` (``keep``: keepdims)."""

    def __init__(self, how: str, operand: Node, axes: list, keep: bool, dims: list) -> None:
        self.how, self.operand, self.axes, self.keep, self.dims = how, operand, axes, keep, dims
        self.reads = operand.reads

    def elem(self, lw, idx):
        op = self.operand
        kept = [k for k in range(len(op.dims)) if k not in self.axes]
        outer = [idx[k] for k in kept] if self.keep else list(idx)
        acc = lw.local("acc")

        def at(inner):
            full, o, r = [], iter(outer), iter(inner)
            for k in range(len(op.dims)):
                full.append(next(r) if k in self.axes else next(o))
            return full

        if self.how in ("max", "min"):  # the first element, then every one (ties keep it)
            first = op.elem(lw, at([ir.const(0)] * len(self.axes)))
            lw.emit(ir.assign(acc, first))
        else:
            lw.emit(ir.assign(acc, ir.const(1.0 if self.how == "prod" else 0.0)))

        def body(inner):
            e = op.elem(lw, at(inner))
            if self.how in ("max", "min"):
                value = ir.call(lw.ref(getattr(builtins, self.how)), ir.name(acc), e)
            else:
                value = ir.binop(ir.name(acc), gast.Mult() if self.how == "prod" else gast.Add(), e)
            lw.emit(ir.assign(acc, value))

        lw.loops([op.dims[k] for k in self.axes], body)
        if self.how == "mean":
            count = lw.count([op.dims[k] for k in self.axes])
            return lw.let(ir.binop(ir.name(acc), gast.Div(), count))
        return ir.name(acc)


class Filled(Node):
    """An array its own loops write whole (``np.concatenate``, ``np.cumsum``): no element
    alone has a formula, so it is always stored -- ``fill(lw, name)`` writes it into the
    array made for it."""

    def __init__(self, dims: list, reads: set, fill) -> None:
        self.dims, self.reads, self.fill = dims, reads, fill

    def elem(self, lw, idx):
        raise AssertionError("a Filled node is stored before it is read (loops.node_of)")


class MatMul(Node):
    """``a @ b`` of stored 1-d or 2-d operands (one index of each summed)."""

    def __init__(self, a: Node, b: Node, dims: list) -> None:
        self.a, self.b, self.dims = a, b, dims
        self.reads = a.reads | b.reads

    def elem(self, lw, idx):
        a, b = self.a, self.b
        acc = lw.local("acc")
        lw.emit(ir.assign(acc, ir.const(0.0)))
        rows = idx[:len(a.dims) - 1]
        cols = idx[len(a.dims) - 1:]

        def body(inner):
            x = a.elem(lw, rows + inner)
            y = b.elem(lw, inner + cols)
            p = lw.let(ir.binop(x, gast.Mult(), y))
            lw.emit(ir.assign(acc, ir.add(ir.name(acc), p)))

        lw.loops([a.dims[-1]], body)
        return ir.name(acc)


class Gather(Node):
    """``base[...]`` with index arrays (NumPy's advanced indexing): ``picks`` gives each of
    ``base``'s axes as ``("out", k)`` (a whole slice: the view's axis k), ``("index", node)``
    (a 1-d index array, read at the view's axis ``at_axis``) or ``("at", atom)`` (an int);
    the items are made ints, as NumPy requires them to be."""

    def __init__(self, base: Node, picks: list, to_int, dims: list, at_axis: int) -> None:
        self.base, self.picks, self.to_int = base, picks, to_int
        self.dims, self.at_axis = dims, at_axis
        self.indices = [p[1] for p in picks if p[0] == "index"]
        self.reads = base.reads.union(*(i.reads for i in self.indices))

    def at(self, lw, idx) -> list:
        """The index into ``base`` of the element at ``idx``."""
        at = []
        for pick, n in zip(self.picks, self.base.dims):
            if pick[0] == "out":
                at.append(idx[pick[1]])
                continue
            # an item counted from the end made an index from the start first: the base may
            # be a view, or an expression of views, whose index maps take no -1 (X[:, 1:] at
            # -1 read X[:, 0]); one out of range fails f's own check (NumPy's IndexError)
            item = pick[1].elem(lw, [idx[self.at_axis]]) if pick[0] == "index" else pick[1]
            raw = lw.let(ir.call(self.to_int, item))
            below = lw.let(ir.call(self.to_int, lw.let(gast.Compare(
                left=raw, ops=[gast.Lt()], comparators=[ir.const(0)]))))
            k = lw.let(ir.add(raw, lw.let(ir.binop(n, gast.Mult(), below))))
            for op, bound in ((gast.GtE(), ir.const(0)), (gast.Lt(), n)):
                ok = lw.let(gast.Compare(left=k, ops=[op], comparators=[bound]))
                lw.emit(gast.Assert(test=ok, msg=None))
            at.append(k)
        return at

    def elem(self, lw, idx):
        return self.base.elem(lw, self.at(lw, idx))


class Reshaped(Node):
    """``base`` read in C order under other extents."""

    def __init__(self, base: Node, dims: list) -> None:
        self.base, self.dims, self.reads = base, dims, base.reads

    def elem(self, lw, idx):
        flat = idx[0]
        for k in range(1, len(idx)):
            flat = lw.let(ir.add(lw.let(ir.binop(flat, gast.Mult(), self.dims[k])), idx[k]))
        at = []
        for k in reversed(range(len(self.base.dims))):
            d = self.base.dims[k]
            if k == 0:
                at.append(flat)
            else:
                at.append(lw.let(ir.binop(flat, gast.Mod(), d)))
                flat = lw.let(ir.binop(flat, gast.FloorDiv(), d))
        return self.base.elem(lw, at[::-1])


class Rolled(Node):
    """``np.roll(base, shift, axis)``: the element ``(i - shift) % n`` along the axis."""

    def __init__(self, base: Node, shift, axis: int) -> None:
        self.base, self.shift, self.axis = base, shift, axis
        self.dims, self.reads = list(base.dims), base.reads | set(ir.names_in(shift))

    def elem(self, lw, idx):
        at = list(idx)
        back = lw.let(ir.binop(idx[self.axis], gast.Sub(), self.shift), "_i")
        at[self.axis] = lw.let(ir.binop(back, gast.Mod(), self.dims[self.axis]), "_i")
        return self.base.elem(lw, at)


class Squeezed(Node):
    """A node with its axis ``k`` (of extent 1) dropped."""

    def __init__(self, node: Node, k: int) -> None:
        self.node, self.k = node, k
        self.dims = node.dims[:k] + node.dims[k + 1:]
        self.reads = node.reads
        self.stored = node.stored

    def elem(self, lw, idx):
        return self.node.elem(lw, idx[:self.k] + [ir.const(0)] + idx[self.k:])


def step_of(axis: tuple) -> int | None:
    """The constant step of a view's axis (None: 1)."""
    return axis[3] if len(axis) > 3 else None


def reads_in_step(node: Node, name: str) -> bool:
    """Whether ``node`` reads the array ``name`` only at the index it computes (element-wise
    all the way down, no broadcast of it, no view)."""
    if isinstance(node, Stored):
        return node.name != name or all(
            a[0] == "out" and a[1] == k and a[2] is None and step_of(a) is None
            for k, a in enumerate(node.axes))
    if isinstance(node, Map):
        for o, m in zip(node.operands, node.maps):
            if name in o.reads and (m != list(range(len(node.dims) - len(m), len(node.dims)))
                                    or len(o.dims) != len(node.dims)
                                    or not reads_in_step(o, name)):
                return False
        return True
    return name not in node.reads


def where_element(lw, atoms):
    """``np.where(c, a, b)`` of one element: ``r = a if c else b`` as an ``if``."""
    r = lw.namer.numbered("_t")
    lw.locals.add(r)
    branch = gast.If(test=atoms[0], body=[ir.at(ir.assign(r, atoms[1]), lw.like)],
                     orelse=[ir.at(ir.assign(r, atoms[2]), lw.like)])
    lw.emit(branch)
    return ir.name(r)
