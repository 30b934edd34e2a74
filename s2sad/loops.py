"""NumPy array expressions lowered to loops over elements (the Wasm backend's front end).

``lower_arrays(fir, param_kinds, env)`` rewrites a function's IR before the reverse pass, for
the Wasm backend only: every whole-array statement (element-wise arithmetic and ufuncs with
broadcasting, reductions with ``axis``/``keepdims``, ``@``/``dot``/``outer``, ``where``,
``clip``, slices, ``.T``, ``arange``/``linspace``) becomes loops over elements written in
the IR's own scalar statements -- the statements the Wasm emitter compiles and the reverse
pass differentiates with its scalar rules (``math.tanh``'s rule is ``np.tanh``'s, element by
element), so there is one meaning per rule and no second AD.

An array value is a *node* that computes its element at an index (``elem``).  A node read
once, each element once (an element-wise or reduction consumer of the same shape), is fused
into its consumer: ``np.sum(np.tanh(A @ w))`` is one loop nest with no temporary array.  A
node read otherwise -- by a matrix product, broadcast along an axis, more than once, or by a
statement that is not a whole-array one -- is stored: an array made with ``np.empty`` at the
top of the function (its extents come from the arguments' shapes, so it can be made before
the tape starts) and filled by its loops.  Views (slices, ``.T``, ``x[:, None]``) are index
maps and cost nothing.  Statements with no array operand are left as they are; whole-array
statements inside a loop or a branch are lowered where they need no new array (a reduction
to a number) and refused with their line where they would.
"""

from __future__ import annotations

import builtins
import math
from collections import Counter
from dataclasses import replace
from typing import Any

import gast
import numpy as np

from . import ir, runtime
from . import kinds as kinds_module
from .errors import S2SADError
from .loop_nodes import (
    Filled,
    Gather,
    Index,
    Map,
    MatMul,
    Node,
    Number,
    Reduce,
    Reshaped,
    Rolled,
    Squeezed,
    Stored,
    reads_in_step,
    step_of,
    where_element,
)

# NumPy's element-wise functions and their scalar counterparts (the rules of the scalar ones
# differentiate the loops)
UNARY = {
    np.sin: math.sin, np.cos: math.cos, np.tan: math.tan, np.exp: math.exp, np.log: math.log,
    np.sqrt: math.sqrt, np.tanh: math.tanh, np.sinh: math.sinh, np.cosh: math.cosh,
    np.arctan: math.atan, np.arcsin: math.asin, np.arccos: math.acos, np.arcsinh: math.asinh,
    np.arccosh: math.acosh, np.arctanh: math.atanh, np.log1p: math.log1p, np.expm1: math.expm1,
    np.log2: math.log2, np.log10: math.log10, np.abs: builtins.abs, np.absolute: builtins.abs,
    np.fabs: math.fabs,
}
BINARY = {np.arctan2: math.atan2, np.hypot: math.hypot, np.maximum: builtins.max,
          np.minimum: builtins.min, np.power: builtins.pow,
          runtime.power: runtime.power}  # (the rules' a ** b, in tangent code of arrays)
OPERATOR_UFUNCS = {np.add: gast.Add, np.subtract: gast.Sub, np.multiply: gast.Mult,
                   np.divide: gast.Div, np.true_divide: gast.Div}
REDUCTIONS = {np.sum: "sum", np.mean: "mean", np.max: "max", np.amax: "max", np.min: "min",
              np.amin: "min", np.prod: "prod"}
ELEMENTWISE_OPS = (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.Pow)
# s2sad's helpers that tangent code calls and the lowering computes (with forward mode's
# own: kinds.is_forward_helper); none keeps an array it is given
LOWERED_HELPERS = (runtime.expand_to, runtime.share_max, runtime.clip_mask, runtime.abs_jvp,
                   runtime.clipped_below, runtime.clipped_above, runtime.tangent_zero)


class _Lowering:
    def __init__(self, fir, kinds: dict) -> None:
        self.fir = fir
        self.kinds = kinds
        self.namer = fir.namer
        self.made: dict[str, Any] = dict(fir.meta.get("made", {}))
        self.locals: set[str] = set(fir.locals)
        self.out: list = []
        self.depth = 0
        self.index_names: list[str] = []
        self.prologue: list = []  # extents of the arguments, read at the start
        self.hoisted: dict[int, list] = {}  # top-level position -> arrays made after it
        self.param_dims: dict[tuple, Any] = {}
        self.param_shape: dict[str, str] = {}
        self.user_dims: dict[tuple, tuple] = {}  # (param, axis) -> (the user's name, where)
        self.extents: set[int] = set()  # (ids of the statements that read extents)
        self.generated: set[str] = set()  # names the lowering made
        self.extent_names: dict[str, str] = {}  # an extent placed early -> its name
        self.outs_of: dict[int, list] = {}  # a block -> its statements' lowered lists
        # arrays made once at the top and rebound only inside loops or branches (x = x + v):
        # those rebindings are updates in place (in_place)
        self.top_binds: dict[str, list] = {}
        for pos, st in enumerate(fir.body):
            if isinstance(st, gast.Assign) and isinstance(st.targets[0], gast.Name):
                self.top_binds.setdefault(st.targets[0].id, []).append((pos, st.value))
        # names bound to another name or passed to a call of a user's function (not NumPy's);
        # not those stored into an array's elements (x[i] = y copies y's elements)
        self.shared = {s.value.id for s in ir.walk_statements(fir.body)
                       if isinstance(s, gast.Assign) and isinstance(s.value, gast.Name) and not (
                           isinstance(s.targets[0], gast.Subscript) and
                           kinds_module.is_array(kinds.get(ir.store_base(s.targets[0]))))} | {
            a.id for c in ir.walk_block(fir.body) if isinstance(c, gast.Call)
            and not self.is_numpy(c.func) for a in c.args if isinstance(a, gast.Name)}

        self.start = 0  # where the current statement's output starts in self.out
        self.available: dict[str, int] = {p: -1 for p in fir.params}  # name -> where defined
        self.position = -1  # the top-level statement being lowered
        self.shapes: dict[str, list] = {}  # a tuple name of shape atoms (``_t1 = x.shape``)
        self.stored: dict[str, Node] = {}  # arrays with a name: params, made, lowered
        self.pending: dict[str, tuple] = {}  # lazy nodes: name -> (node, block, position)
        self.pairs: dict[str, tuple] = {}  # np.tril_indices(n, k) bound to a name: (n, k, upper)
        self.like = None
        uses: Counter = Counter()
        for node in ir.walk_block(fir.body):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
                uses[node.id] += 1
        self.uses = uses
        targets = [t for s in ir.walk_statements(fir.body) if isinstance(s, gast.Assign)
                   for t in s.targets]
        self.stores = Counter(t.id for t in targets if isinstance(t, gast.Name))
        self.written = Counter(ir.store_base(t) for t in targets if not isinstance(t, gast.Name))
        self.single_defs = {s.targets[0].id: s.value for s in ir.walk_statements(fir.body)
                            if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)
                            and self.stores[s.targets[0].id] == 1}
        # (h = w then h = f(h) in a loop: h gets a copy of w -- invisible while neither is
        # written element by element -- so that its rebindings can write into it)
        self.rebound = {n: binds[0][0] for n, binds in self.top_binds.items()
                        if len(binds) == 1 and self.stores[n] > 1 and n not in fir.params
                        and n not in self.shared and (
                            not isinstance(binds[0][1], gast.Name) or not (
                                self.written[n] or self.written[binds[0][1].id]))}

    # -- helpers ----------------------------------------------------------------------------
    def error(self, what: str, node=None) -> S2SADError:
        return self.fir.error(f"not supported by the Wasm backend: {what}", node or self.like,
                              "write the loop over elements, or use the Python backend")

    def local(self, stem: str) -> str:
        n = self.namer.fresh(stem)
        self.locals.add(n)
        self.generated.add(n)
        return n

    def emit(self, stmt) -> None:
        self.out.append(ir.at(stmt, self.like))

    def let(self, value, stem: str = "_t"):
        """``_tN = value`` appended to the current block; the atom that holds it."""
        if isinstance(value, (gast.Name, gast.Constant)):
            return value
        n = self.namer.numbered(stem)
        self.locals.add(n)
        self.generated.add(n)
        self.out.append(ir.at(ir.assign(n, value), self.like))
        return ir.name(n)

    def ref(self, obj):
        """A name that denotes ``obj`` in the generated code: bound by the transformation
        (``fir.meta["made"]``), so it reads nothing of the user's module (nothing for the
        guard to check at each call) and no global of the user's can shadow it."""
        if obj is builtins.range:
            return ir.name("range")  # (the IR's loops are over the name range: parse's too)
        for n, o in self.made.items():
            if o is obj:
                return ir.name(n)
        n = self.namer.fresh(obj.__name__, "helper")
        self.made[n] = obj
        return ir.name(n)

    def extent(self, value):
        """``_tN = value`` of integer extents, placed as early as its operands are known (at
        the start, for the arguments' shapes): an array whose extents it gives can then be
        made before the tape starts, even when the statement is in a loop."""
        names = [n for n in ir.names_in(value) if n not in self.made]  # (not min's name)
        where = max([self.available.get(n, self.position) for n in names] + [-1])
        if where >= self.position or self.depth:
            return self.let(value)
        key = gast.dump(value)  # (one name per extent: views of one slice are the same view)
        if key in self.extent_names:
            return ir.name(self.extent_names[key])
        n = self.namer.numbered("_t")
        self.extent_names[key] = n
        self.locals.add(n)
        self.generated.add(n)
        self.hoisted.setdefault(where, []).append(ir.at(ir.assign(n, value), self.like))
        self.available[n] = where
        return ir.name(n)

    def index_name(self) -> str:
        while len(self.index_names) <= self.depth:
            stem = "ijklmnpq"[len(self.index_names) % 8]
            self.index_names.append(self.namer.fresh(stem))
            self.locals.add(self.index_names[-1])
        return self.index_names[self.depth]

    def loops(self, dims: list, body) -> None:
        """Nested ``for`` loops over ``dims``, ``body(index atoms)`` innermost."""
        if not dims:
            body([])
            return
        if self.is_one(dims[0]):  # (an axis of one: its index is 0)
            self.loops(dims[1:], lambda rest: body([ir.const(0)] + rest))
            return
        outer = self.out
        i = self.index_name()
        inner: list = []
        self.out = inner
        self.depth += 1
        try:
            self.loops(dims[1:], lambda rest: body([ir.name(i)] + rest))
        finally:
            self.depth -= 1
            self.out = outer
        loop = gast.For(target=ir.name(i, True), iter=ir.call(self.ref(range), dims[0]),
                        body=inner, orelse=[], type_comment=None)
        if self.depth:  # (inside a loop of ours, which checks for Ctrl-C: wasm_emit)
            ir.set_anno(loop, "inner_element_loop", True)
        outer.append(ir.at(loop, self.like))

    def count(self, dims: list):
        """The product of ``dims`` as a float atom."""
        total = ir.call(self.ref(float), dims[0])
        atom = self.let(total)
        for d in dims[1:]:
            atom = self.let(ir.binop(atom, gast.Mult(), d))
        return atom

    def dim_of_param(self, p: str, k: int, early: bool = False):
        """The extent ``p.shape[k]`` of a parameter: the user's name for it when the function
        reads it at the top (``n, d = x.shape``), else (or ``early``) one read at the start."""
        key = (p, k)
        if key in self.user_dims and self.user_dims[key][1] < self.position and not early:
            return ir.name(self.user_dims[key][0])
        if key not in self.param_dims:
            like = self.fir.body[0]
            if p not in self.param_shape:
                shape = self.local(f"{p}_shape" if p.isascii() else "_shape")
                self.prologue.append(ir.assign(shape, gast.Attribute(
                    value=ir.name(p), attr="shape", ctx=gast.Load()), like))
                self.extents.add(id(self.prologue[-1]))
                self.param_shape[p] = shape
            n = self.local(f"{p}_n{k}" if p.isascii() else "_n")
            self.prologue.append(ir.assign(n, ir.subscript(ir.name(self.param_shape[p]),
                                                           ir.const(k)), like))
            self.extents.add(id(self.prologue[-1]))
            self.param_dims[key] = ir.name(n)
            self.available[n] = -1
        return self.param_dims[key]

    def user_extents(self) -> None:
        """``n = _t1[0]`` after ``_t1 = x.shape`` at the top, each assigned once, x a
        parameter: ``n`` is x's extent 0 from there on."""
        shapes: dict[str, str] = {}
        for pos, s in enumerate(self.top):
            if not (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)):
                continue
            t, v = s.targets[0].id, s.value
            if self.stores[t] != 1:
                continue
            if isinstance(v, gast.Attribute) and v.attr == "shape" and \
                    isinstance(v.value, gast.Name) and v.value.id in self.fir.params and \
                    not self.stores[v.value.id]:
                shapes[t] = v.value.id
            elif isinstance(v, gast.Subscript) and isinstance(v.value, gast.Name) and \
                    v.value.id in shapes and isinstance(v.slice, gast.Constant) and \
                    isinstance(v.slice.value, int) and v.slice.value >= 0:
                key = (shapes[v.value.id], v.slice.value)
                if key not in self.user_dims:
                    self.user_dims[key] = (t, pos)
                    self.available[t] = pos

    def check_same(self, a, b) -> None:
        """``assert a == b`` where two extents must agree and may not (NumPy raises there;
        f's own error is reported: ``runtime.assertion_of``)."""
        if not self.same(a, b):
            ok = self.let(gast.Compare(left=a, ops=[gast.Eq()], comparators=[b]))
            self.emit(gast.Assert(test=ok, msg=None))

    @staticmethod
    def same(a, b) -> bool:
        if isinstance(a, gast.Constant) and isinstance(b, gast.Constant):
            return a.value == b.value
        return isinstance(a, gast.Name) and isinstance(b, gast.Name) and a.id == b.id

    @staticmethod
    def is_one(d) -> bool:
        return isinstance(d, gast.Constant) and d.value == 1

    # -- the nodes of names ---------------------------------------------------------------
    def kind(self, node):
        if isinstance(node, gast.Name):
            return self.kinds.get(node.id)
        if isinstance(node, gast.Constant):
            return kinds_module.value_kind(node.value)
        return None

    def is_array(self, node) -> bool:
        return kinds_module.is_array(self.kind(node))

    def node_of(self, atom, once: bool = True) -> Node | None:
        """The node of an operand (None: not a number or an array of known rank).  ``once``:
        the consumer reads each of its elements once (a lazy node may be fused)."""
        if isinstance(atom, gast.Constant):
            return Number(atom) if isinstance(atom.value, (int, float)) and \
                not isinstance(atom.value, bool) else None
        if not isinstance(atom, gast.Name):
            return None
        n = atom.id
        if n in self.pending:
            node = self.pending[n][0]
            # (a view of an array rebound -- in place, inside a loop -- is good only until
            # then: read after, it is a copy made where the view was taken)
            stale = node.stored and any(self.stores[r] > 1 for r in node.reads) and \
                not self.fusable(n)
            if (node.stored and not stale) or (once and self.uses[n] == 1 and
                                               not isinstance(node, Filled) and
                                               self.fusable(n)):
                if not node.stored:
                    del self.pending[n]
                return node
            self.materialize(n)
        if n in self.stored:
            return self.stored[n]
        k = self.kinds.get(n)
        if kinds_module.is_number(k) or kinds_module.is_array(k) and k.ndim == 0 and \
                n not in self.fir.params:  # (a 0-d array made here is bound to its number)
            return Number(atom)
        if kinds_module.is_array(k) and k.ndim is not None and k.dtype != "complex":
            dims = self.dims_of_named(n, k.ndim)
            node = Stored(n, dims, [("out", a, None) for a in range(k.ndim)])
            self.stored[n] = node
            return node
        return None

    def dims_of_named(self, n: str, ndim: int) -> list:
        if n in self.fir.params:
            return [self.dim_of_param(n, k) for k in range(ndim)]
        if n in self.rebound and self.rebound[n] < self.position:
            self.defined_at.setdefault(n, self.rebound[n])
        if self.position >= 0 and self.depth == 0 and (self.stores[n] == 1 or (
                n in self.rebound and self.rebound[n] < self.position)):
            # made at the top level, once: its extents, read right after it
            shape = self.namer.numbered("_t")
            self.locals.add(shape)
            dims = []
            like = self.like
            reads = [ir.assign(shape, gast.Attribute(value=ir.name(n), attr="shape",
                                                     ctx=gast.Load()), like)]
            for k in range(ndim):
                d = self.namer.fresh(f"{n}_n{k}")
                self.locals.add(d)
                reads.append(ir.assign(d, ir.subscript(ir.name(shape), ir.const(k)), like))
                dims.append(ir.name(d))
                self.available[d] = self.defined_at.get(n, self.position)
            self.extents |= {id(r) for r in reads}
            self.hoisted.setdefault(self.defined_at.get(n, self.position), []).extend(reads)
            return dims
        raise self.error(f"an array ('{n}') of extents unknown at the start")

    def fusable(self, n: str) -> bool:
        """Nothing between ``n``'s definition and here writes what its elements read (or any
        array's elements: an alias may share them)."""
        node, block, pos = self.pending[n]
        if block is not self.block:
            return False
        for s in self.block[pos + 1:self.index]:
            for x in ir.walk_statements([s]):
                if isinstance(x, gast.Assign) and any(
                        not isinstance(t, gast.Name) or t.id in node.reads for t in x.targets):
                    return False
            if any(isinstance(c, gast.Call) and not self.is_numpy(c.func)
                   for c in ir.walk(s)):
                return False
        return True

    def is_numpy(self, func) -> bool:
        """Whether a call of ``func`` is NumPy's, math's or a builtin (or one of s2sad's
        helpers lowered here, in tangent code): it keeps no array it is given."""
        obj = self.fir.resolve(func)
        return getattr(obj, "__module__", None) in ("numpy", "math") or \
            isinstance(obj, np.ufunc) or obj in (builtins.range, builtins.len,
                                                 builtins.float, builtins.int) or \
            obj in LOWERED_HELPERS or kinds_module.is_forward_helper(obj)

    # -- storing a node -------------------------------------------------------------------
    def materialize(self, n: str) -> None:
        """Store the lazy node ``n`` where it was defined: an array made at the top, filled
        by loops at the definition."""
        node, block, pos = self.pending.pop(n)
        if node.stored and (self.written[n] or any(self.written[r] for r in node.reads)):
            raise self.error(f"a view ('{n}') of an array that is written, or written "
                             "through: the Wasm backend would copy it", block[pos])
        if block is not self.top:
            self.made_in_loop(n, node, block, pos)
            return
        self.store_node(n, node, self.out_at[pos], block[pos], pos)

    def late_extents(self, dims: list) -> list:
        """The extents among ``dims`` bound only here (not yet at the function's start)."""
        return [d for d in dims if isinstance(d, gast.Name) and
                self.available.get(d.id, self.position) >= self.position]

    def made_in_loop(self, n: str, node: Node, block: list, pos: int) -> None:
        """An array made inside a loop or a branch: made once at the start (its extents must
        be known there) and filled where it was made, at each pass -- NumPy's new array each
        time is the same memory each time, so nothing may hold the old one: ``n`` is read by
        element, whole, or by shape only."""
        like = block[pos]
        late = self.late_extents(node.dims)
        if late:
            raise self.error(f"an array made inside a loop or a branch ('{n}') whose extents "
                             f"are known only there ('{late[0].id}')", like)
        if n in self.fir.params or self.stores[n] != 1 or n in self.shared:
            raise self.error(f"an array made inside a loop or a branch ('{n}') that another "
                             "name or a call may keep", like)
        self.store_node(n, node, self.outs_of[id(block)][pos], like, self.position)

    def store_node(self, n: str, node: Node, out: list, like, pos: int) -> None:
        saved, saved_like = self.out, self.like
        self.out, self.like = out, like
        try:
            if not node.dims:  # a number
                self.out.append(ir.at(ir.assign(n, node.elem(self, [])), like))
                return
            self.allocate(n, node.dims, like, pos)
            dims = node.dims

            def body(idx):
                e = node.elem(self, idx)
                key = idx[0] if len(idx) == 1 else ir.tuple_of(idx)
                self.out.append(ir.at(ir.assign(ir.subscript(ir.name(n), key, True), e),
                                      like))

            if isinstance(node, Filled):  # (its own loops write it whole)
                node.fill(self, n)
            else:
                self.loops(dims, body)
            self.stored[n] = Stored(n, dims, [("out", a, None) for a in range(len(dims))])
        finally:
            self.out, self.like = saved, saved_like

    def allocate(self, n: str, dims: list, like, pos: int) -> None:
        """``n = np.empty(dims)`` as early as its extents are known (the Wasm backend makes
        arrays before the tape starts)."""
        where = max([self.available.get(d.id, pos) for d in dims
                     if isinstance(d, gast.Name)] + [-1])
        shape = self.namer.numbered("_t")
        self.locals.add(shape)
        made = [ir.at(ir.assign(shape, ir.tuple_of(dims)), like),
                ir.at(ir.assign(n, ir.call(self.ref(np.empty), ir.name(shape))),
                      like)]
        if where < pos:
            self.hoisted.setdefault(where, []).extend(made)
        else:  # (an extent computed at the definition itself)
            self.out.extend(made)

    # -- statements -------------------------------------------------------------------------
    def lower(self):
        self.top = self.fir.body
        self.out_at: list[list] = [[] for _ in self.top]
        self.defined_at: dict[str, int] = {}
        self.user_extents()
        body = self.block_of(self.top, top=True)
        # (what is still pending was read by whole-array statements only, or not at all)
        out = list(self.prologue) + list(self.hoisted.get(-1, []))
        for pos, stmts in enumerate(body):
            out += stmts + self.hoisted.get(pos, [])
        return _without_unread(out, self.extents)

    def block_of(self, stmts: list, top: bool = False):
        """Lower a block; at the top, a list of statements per statement."""
        saved = (self.block, self.index) if hasattr(self, "block") else (None, None)
        self.block = stmts
        result: list = []
        outs = self.out_at if top else [[] for _ in stmts]  # (one list per statement)
        self.outs_of[id(stmts)] = outs
        try:
            for k, s in enumerate(stmts):
                self.index = k
                if top:
                    self.position = k
                self.out = outs[k]
                self.like = s
                self.start = len(self.out)
                self.statement(s, k)
                if top:
                    result.append(self.out_at[k])
                    for t in s.targets if isinstance(s, gast.Assign) else []:
                        if isinstance(t, gast.Name):
                            self.defined_at.setdefault(t.id, k)
                            if self.stores[t.id] == 1:
                                self.available[t.id] = k
        finally:
            self.block, self.index = saved
        if not top:
            # (what is still pending here was read by whole-array statements only)
            for n in [n for n, p in self.pending.items() if p[1] is stmts]:
                del self.pending[n]
            return [x for out in outs for x in out]
        return result

    def statement(self, s, k: int) -> None:
        if isinstance(s, gast.Assign) and isinstance(s.value, gast.Call) and \
                len(s.value.args) == 1 and not s.value.keywords and \
                self.fir.resolve(s.value.func) is runtime.tangent_zero and \
                self.is_array(s.value.args[0]) and self.block is self.top and \
                not self.loops_before():
            # (tangent code's zero tangent of an array: np.zeros_like, made like any -- by
            # the emitter here, at the start; in a loop, by the call's lowering)
            s = ir.at(ir.assign(s.targets[0].id, ir.call(self.ref(np.zeros_like),
                                                         s.value.args[0])), s)
        if isinstance(s, gast.Assign) and (self.into_view(s) or self.into_gather(s) or
                                           self.index_pair(s)):
            return
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
            target = s.targets[0].id
            node = self.expression(s.value)
            if node is not None and node.dims and ir.anno(s, "augmented") and \
                    self.is_array(s.targets[0]) and target not in self.rebound:
                # x *= 3.0 on an array: NumPy's in place, into x's own elements
                whole = self.node_of(ir.name(target), once=False)
                if isinstance(whole, Stored) and len(whole.dims) == len(node.dims) and \
                        self.safe_store(node, whole):
                    self.in_place(target, node, s)
                    return
            if node is None and target in self.rebound and self.block is self.top and \
                    isinstance(s.value, gast.Name) and self.is_array(s.value):
                node = self.node_of(s.value, once=False)  # (h = w: a copy of w's)
            if node is not None and target in self.rebound and node.dims:
                if self.block is not self.top:
                    self.in_place(target, node, s)
                else:  # (its one binding at the top: an array of its own, made now)
                    self.store_node(target, node, self.out, s, self.position)
                return
            if node is not None:
                if node.dims or node.stored:
                    if self.stores[target] != 1 or target in self.fir.params:
                        raise self.error(f"an array name assigned more than once ('{target}')",
                                         s)
                    self.pending[target] = (node, self.block, k)
                    return
                self.bind(target, node.elem(self, []), s)
                return
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) and \
                self.literal(s):
            return
        if isinstance(s, gast.Assign) and isinstance(s.value, gast.Subscript) and \
                isinstance(s.value.value, gast.Name) and s.value.value.id in self.pending:
            # an element of a lazy array or a view: computed where it is read
            index = s.value.slice.elts if isinstance(s.value.slice, gast.Tuple) \
                else [s.value.slice]
            n = s.value.value.id
            node = self.pending[n][0]
            if all(kinds_module.is_int(self.kind(i)) for i in index) and \
                    len(index) == len(node.dims) and not isinstance(node, Filled) and \
                    (node.stored or self.uses[n] == 1 and self.fusable(n)):
                if not node.stored:
                    del self.pending[n]
                self.bind(s.targets[0].id, node.elem(self, list(index)), s)
                return
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) and \
                isinstance(self.kind(s.targets[0]), kinds_module.Seq) and \
                isinstance(s.value, (gast.Tuple, gast.List, gast.BinOp, gast.Attribute,
                                     gast.Call)) and \
                not any(isinstance(c, gast.Call) and self.fir.resolve(c.func) not in (
                    builtins.tuple, builtins.len) for c in ir.walk(s.value)):
            # (a shape tuple, the list np.concatenate reads: dropped if nothing reads it after)
            self.extents.add(id(s))
        # any other statement: the lazy arrays it reads are stored first
        for n in ir.loads_in(s):
            if n in self.pending:
                self.materialize(n)
        if isinstance(s, (gast.For, gast.While, gast.If)):
            s = ir.clone(s)
            depth = self.depth
            saved_out = self.out
            s.body = self.block_of(s.body)
            s.orelse = self.block_of(s.orelse)
            self.out, self.depth = saved_out, depth
            self.out.append(s)
            return
        self.out.append(s)

    def into_view(self, s) -> bool:
        """``x[t] = expression`` (``x[:, 0] = ...``, ``x[1:] = ...``): the expression's
        elements stored into that view of ``x`` -- loops, no array made (so also inside
        loops); an expression that reads ``x`` itself is refused (NumPy computes all of it
        before it stores)."""
        t = s.targets[0]
        if not (isinstance(t, gast.Subscript) and isinstance(t.value, gast.Name)
                and self.is_array(t.value) and self.kind(t.value).ndim is not None
                and self.is_view(t.slice, self.kind(t.value).ndim)):
            return False
        base = t.value.id
        view = self.view(t.value, t.slice)
        value = self.node_of(s.value, once=True)
        if value is None:
            raise self.error(f"storing this into a slice of '{base}'", s)
        if base in value.reads and not self.safe_store(value, view):
            raise self.error(f"an expression of '{base}' stored into a slice of '{base}' "
                             "that may overlap what it reads", s)
        self.store_by_loops(base, view.dims, value, lambda idx: view.key(self, idx), s,
                            "a slice of ")
        return True

    def store_by_loops(self, name: str, dims: list, value: Node, key_of, s, what: str):
        """``value`` (broadcast NumPy's way) stored element by element into ``name`` at
        ``key_of(index)`` for each index of ``dims``, by loops."""
        if len(value.dims) > len(dims):
            raise self.error(f"storing {len(value.dims)} dimensions into {what}{len(dims)}", s)
        shift = len(dims) - len(value.dims)
        for k, d in enumerate(value.dims):
            if not self.is_one(d):
                self.check_same(dims[k + shift], d)

        def body(idx):
            e = value.elem(self, [ir.const(0) if self.is_one(d) else idx[k + shift]
                                  for k, d in enumerate(value.dims)])
            self.emit(ir.assign(ir.subscript(ir.name(name), key_of(idx), True), e))

        self.loops(dims, body)

    def into_gather(self, s) -> bool:
        """``ls[:, rows, cols] = v``: ``v``'s elements stored at the places the index arrays
        name (as ``gather`` reads them), by loops.  ``v`` may not read the array it is stored
        into (NumPy computes all of it first), nor may the index arrays."""
        t = s.targets[0]
        if not (isinstance(t, gast.Subscript) and isinstance(t.value, gast.Name)
                and self.is_array(t.value) and self.kind(t.value).ndim is not None):
            return False
        parts = t.slice.elts if isinstance(t.slice, gast.Tuple) else [t.slice]
        if not any(self.is_array(p) for p in parts):
            return False
        name = t.value.id
        place = self.gather(t.value, parts)
        target = place.base
        if not isinstance(target, Stored) or target.name != name:
            raise self.error(f"storing into '{name}' at index arrays: '{name}' is not an "
                             "array of its own here", s)
        value = self.node_of(s.value, once=True)
        if value is None:
            raise self.error(f"storing this into '{name}' at index arrays", s)
        if name in value.reads or any(name in i.reads for i in place.indices):
            raise self.error(f"an expression of '{name}' stored into '{name}' at index arrays "
                             "(NumPy reads all of it before it stores)", s)
        self.store_by_loops(name, place.dims, value,
                            lambda idx: target.key(self, place.at(self, idx)), s, "")
        return True

    def index_pair(self, s) -> bool:
        """``p = np.tril_indices(n, k)`` (or ``triu_indices``) at the top: its two arrays are
        made where ``p[0]`` and ``p[1]`` are read (pair_item)."""
        v = s.value
        if not (isinstance(s.targets[0], gast.Name) and isinstance(v, gast.Call)):
            return False
        obj = self.fir.resolve(v.func)
        if obj not in (np.tril_indices, np.triu_indices):
            return False
        how = obj.__name__
        keywords = {k.arg: k.value for k in v.keywords}
        args = list(v.args) + [keywords.pop(k) for k in ("n", "k", "m")[len(v.args):]
                               if k in keywords]
        offset = args[1] if len(args) > 1 else ir.const(0)
        upper = obj is np.triu_indices
        if keywords or not args or len(args) > 3 or len(args) == 3 and not (
                isinstance(args[2], gast.Constant) and args[2].value is None) or \
                not kinds_module.is_int(self.kind(args[0])) or \
                not (isinstance(offset, gast.Constant) and type(offset.value) is int) or \
                (offset.value > 0 if not upper else offset.value < 0):
            raise self.error(f"np.{how} with these arguments (a square one, its diagonal "
                             f"offset a constant {'>=' if upper else '<='} 0)", s)
        if self.block is not self.top or self.stores[s.targets[0].id] != 1:
            raise self.error(f"np.{how} inside a loop or a branch, or bound twice", s)
        self.pairs[s.targets[0].id] = (args[0], offset.value, upper)
        return True

    def pair_item(self, e) -> Filled:
        """``p[0]`` or ``p[1]`` of ``p = np.tril_indices(n, k)``: the rows or the columns of
        the triangle's elements, in C order, written by loops over the triangle's rows (the
        items are floats: an index array's items are made ints where they are read)."""
        n, k, upper = self.pairs[e.value.id]
        n = self.canonical(n, early=True)  # (x.shape[1]: read at the start, its arrays
        # made there -- the user's name for it may be bound after a loop has started the tape)
        which = e.slice.value if isinstance(e.slice, gast.Constant) else None
        if type(which) is not int or not -2 <= which < 2:
            raise self.error("an item of np.tril_indices other than [0] or [1]")
        which %= 2
        # c rows, row r of the lower triangle has r + 1 elements, the upper's c - r
        side = self.extent(ir.binop(n, gast.Sub(), ir.const(abs(k))))
        c = self.extent(ir.call(self.ref(builtins.max), side, ir.const(0)))
        length = self.extent(ir.binop(self.extent(ir.binop(c, gast.Mult(), self.extent(
            ir.add(c, ir.const(1))))), gast.FloorDiv(), ir.const(2)))
        to_float = self.ref(builtins.float)

        def fill(lw, out):
            def row(idx):
                r = idx[0]
                before = lw.let(ir.binop(r, gast.Mult(), lw.let(ir.binop(
                    r, gast.Add() if not upper else gast.Sub(), ir.const(1)))))
                start = lw.let(ir.binop(before, gast.FloorDiv(), ir.const(2)))
                if upper:  # rows before r: r * c - r * (r - 1) / 2 elements
                    start = lw.let(ir.binop(lw.let(ir.binop(r, gast.Mult(), c)), gast.Sub(),
                                            start))
                    count = lw.let(ir.binop(c, gast.Sub(), r))
                    i = r
                else:
                    count = lw.let(ir.add(r, ir.const(1)))
                    i = lw.let(ir.add(r, ir.const(-k)))

                def item(jdx):
                    j = jdx[0] if not upper else lw.let(ir.add(lw.let(ir.add(r, ir.const(k))),
                                                              jdx[0]))
                    at = lw.let(ir.add(start, jdx[0]))
                    lw.emit(ir.assign(ir.subscript(ir.name(out), at, True),
                                      lw.let(ir.call(to_float, j if which else i))))

                lw.loops([count], item)

            lw.loops([c], row)

        return Filled([length], set(ir.names_in(n)), fill)

    def safe_store(self, node: Node, view: Stored) -> bool:
        """Whether storing ``node`` into ``view`` element by element is storing it all at
        once: every view of the array it reads is apart from ``view`` (``apart``) or is
        ``view`` itself read at the element's own index (``x[2:] += 1.0``)."""
        base = view.name
        if base not in node.reads:
            return True
        if isinstance(node, Stored):
            return self.apart(view, node, base) or self.same_view(node, view)
        if isinstance(node, Map):
            for o, m in zip(node.operands, node.maps):
                if base not in o.reads:
                    continue
                if not self.safe_store(o, view):
                    return False
                if not self.apart(view, o, base) and (
                        len(o.dims) != len(node.dims) or
                        m != list(range(len(node.dims) - len(m), len(node.dims)))):
                    return False  # (the same view, broadcast: read at other places)
            return True
        return self.apart(view, node, base)

    def same_view(self, a: Stored, b: Stored) -> bool:
        if a.name != b.name or len(a.axes) != len(b.axes):
            return False
        for x, y in zip(a.axes, b.axes):
            if x[0] != y[0]:
                return False
            if x[0] == "at" and not self.same(x[1], y[1]):
                return False
            if x[0] == "out" and (x[1] != y[1] or step_of(x) != step_of(y) or not (
                    x[2] is None and y[2] is None or x[2] is not None and y[2] is not None
                    and self.same(x[2], y[2]))):
                return False
        return True

    def apart(self, view: Stored, value: Node, base: str) -> bool:
        """Whether every view of ``base`` that ``value`` reads is at a fixed index that
        differs from ``view``'s on some axis (``xs[t + 1] = f(xs[t])``): then storing
        element by element is storing all at once."""
        def views(node):
            if isinstance(node, Stored):
                return [node] if node.name == base else []
            children = [getattr(node, a) for a in ("operand", "node", "a", "b", "base")
                        if hasattr(node, a)] + list(getattr(node, "operands", [])) + \
                list(getattr(node, "indices", []))
            return [v for c in children for v in views(c)]

        found = views(value)
        if not found:
            return False
        return all(any(a[0] == "at" and b[0] == "at" and self.differ(a[1], b[1])
                       for a, b in zip(view.axes, v.axes)) for v in found)

    def differ(self, a, b) -> bool:
        """Two integer atoms that are never equal: constants, or ``n`` and ``n + c``."""
        if isinstance(a, gast.Constant) and isinstance(b, gast.Constant):
            return a.value != b.value

        def offset(x):  # x -> (name, constant) when x is name + constant
            if isinstance(x, gast.Name):
                d = self.single_defs.get(x.id)
                if isinstance(d, gast.BinOp) and isinstance(d.left, gast.Name) and \
                        isinstance(d.right, gast.Constant) and type(d.right.value) is int \
                        and isinstance(d.op, (gast.Add, gast.Sub)) and \
                        not self.stores[d.left.id]:
                    c = d.right.value
                    return d.left.id, c if isinstance(d.op, gast.Add) else -c
                return x.id, 0
            return None

        oa, ob = offset(a), offset(b)
        return oa is not None and ob is not None and oa[0] == ob[0] and oa[1] != ob[1]

    def bind(self, target: str, atom, like) -> None:
        """``target = atom``; the temporary that holds ``atom``, just assigned, assigned to
        ``target`` instead (``y = math.sin(x)``, not ``_t5 = math.sin(x); y = _t5``)."""
        if isinstance(atom, gast.Name) and atom.id in self.generated and \
                self.stores[target] == 1 and target not in self.fir.params and \
                not any(isinstance(n, gast.Name) and n.id == target
                        for x in self.out[self.start:] for n in ir.walk(x)):
            # (the statements of this one only: the name is fresh, the target bound once)
            for x in self.out[self.start:]:
                for n in ir.walk(x):
                    if isinstance(n, gast.Name) and n.id == atom.id:
                        n.id = target
            return
        self.out.append(ir.at(ir.assign(target, atom), like))

    def literal(self, s) -> bool:
        """``c = np.array(items)`` of a list or tuple of numbers of known length: an array
        made at the start, its items stored here one by one."""
        v = s.value
        if not (isinstance(v, gast.Call) and len(v.args) == 1 and not v.keywords and
                self.fir.resolve(v.func) in (np.array, np.asarray) and
                isinstance(v.args[0], gast.Name)):
            return False
        k = self.kinds.get(v.args[0].id)
        if not (isinstance(k, kinds_module.Seq) and k.elts is not None and k.elts and
                all(kinds_module.is_number(e) for e in k.elts)):
            return False
        n, target = len(k.elts), s.targets[0].id
        if self.block is not self.top or self.stores[target] != 1:
            raise self.error(f"an array made inside a loop or a branch ('{target}')", s)
        self.allocate(target, [ir.const(n)], s, self.position)
        for i in range(n):
            item = self.let(ir.subscript(ir.name(v.args[0].id), ir.const(i)))
            self.emit(ir.assign(ir.subscript(ir.name(target), ir.const(i), True), item))
        self.stored[target] = Stored(target, [ir.const(n)], [("out", 0, None)])
        return True

    # -- expressions -> nodes ----------------------------------------------------------------
    def expression(self, e) -> Node | None:
        """The node of a whole-array expression, or None when ``e`` is not one."""
        if isinstance(e, gast.BinOp):
            if not (self.is_array(e.left) or self.is_array(e.right)):
                return None
            if isinstance(e.op, gast.MatMult):
                return self.matmul(e.left, e.right)
            if not isinstance(e.op, ELEMENTWISE_OPS):
                raise self.error(f"the operator {type(e.op).__name__} of arrays")
            op = e.op
            return self.map(lambda lw, a: lw.let(ir.binop(a[0], op, a[1])), [e.left, e.right])
        if isinstance(e, gast.UnaryOp) and self.is_array(e.operand):
            op = e.op
            return self.map(lambda lw, a: lw.let(gast.UnaryOp(op=op, operand=a[0])), [e.operand])
        if isinstance(e, gast.Compare) and len(e.ops) == 1 and \
                (self.is_array(e.left) or self.is_array(e.comparators[0])):
            op = e.ops[0]
            return self.map(lambda lw, a: lw.let(gast.Compare(left=a[0], ops=[op],
                                                              comparators=[a[1]])),
                            [e.left, e.comparators[0]])
        if isinstance(e, gast.Attribute) and e.attr == "T" and self.is_array(e.value):
            return self.transpose(e.value)
        if isinstance(e, gast.Subscript) and isinstance(e.value, gast.Name) and \
                e.value.id in self.pairs:
            return self.pair_item(e)
        if isinstance(e, gast.Subscript) and self.is_array(e.value) and \
                self.kind(e.value).ndim is None and e.value.id not in self.pending:
            raise self.error(f"indexing '{e.value.id}', an array of unknown rank")
        if isinstance(e, gast.Subscript) and self.is_array(e.value) and \
                self.is_view(e.slice, len(self.peek_dims(e.value))):
            return self.view(e.value, e.slice)
        if isinstance(e, gast.Subscript) and self.is_array(e.value):
            parts = e.slice.elts if isinstance(e.slice, gast.Tuple) else [e.slice]
            if any(self.is_array(p) for p in parts):
                return self.gather(e.value, parts)
            if any(isinstance(self.kind(p), kinds_module.Seq) for p in parts):
                raise self.error("indexing an array with a list")
        if isinstance(e, gast.Call):
            return self.call(e)
        if isinstance(e, gast.Name) and e.id in self.pending:
            return self.pending[e.id][0] if self.pending[e.id][0].stored else None
        return None

    def clip(self, args: list, keywords: dict) -> Node:
        """``np.clip(a, lo, hi)``: NumPy's ``minimum(maximum(a, lo), hi)`` (``hi`` where the
        bounds cross), with Python's ``max``/``min`` of numbers (NaN passes through both)."""
        keywords, bounds = dict(keywords), list(args[1:3])
        for k, names in enumerate((("a_min", "min"), ("a_max", "max"))):
            given = [keywords.pop(name) for name in names if name in keywords]
            if len(bounds) == k and len(given) == 1:
                bounds.append(given[0])
            elif given or len(bounds) == k:
                bounds.append(None)  # (no bound, or one given twice: refused below)
                if given:
                    keywords["twice"] = True
        if keywords or len(args) > 3:
            raise self.error("np.clip with these arguments")
        steps = [(self.ref(f), b) for f, b in zip((builtins.max, builtins.min), bounds)
                 if b is not None and not (isinstance(b, gast.Constant) and b.value is None)]
        operands = [args[0]] + [b for _, b in steps]

        def element(lw, a):
            out = a[0]
            for (f, _), bound in zip(steps, a[1:]):
                out = lw.let(ir.call(f, out, bound))
            return out
        return self.map(element, operands)

    def call(self, e) -> Node | None:
        func = e.func
        keywords = {k.arg: k.value for k in e.keywords}
        if isinstance(func, gast.Attribute) and self.is_array(func.value):
            attr = func.attr
            if attr in ("sum", "mean", "max", "min", "prod"):
                return self.reduce(attr, func.value, e.args, keywords)
            if attr in ("var", "std"):
                return self.spread(attr, func.value, e.args, keywords)
            if attr in ("reshape", "ravel", "flatten"):
                shape = e.args[0] if len(e.args) == 1 else (
                    ir.tuple_of(e.args) if e.args else ir.const(-1))
                if attr != "reshape" or keywords:
                    if e.args or keywords:
                        raise self.error(f"the method .{attr}() with these arguments")
                    shape = ir.const(-1)
                return self.reshape(func.value, shape)
            if attr == "dot" and len(e.args) == 1:
                return self.matmul(func.value, e.args[0])
            if attr == "transpose" and not e.args:
                return self.transpose(func.value)
            if attr == "clip":
                return self.clip([func.value, *e.args], keywords)
            if attr == "cumsum":
                return self.cumsum(func.value, e.args, keywords)
            if attr == "copy" and not e.args and (self.block is not self.top or
                                                  self.loops_before()):
                return self.made_here(np.copy, [func.value], keywords)
            if attr in ("copy", "item", "tolist", "conj", "conjugate"):
                return None  # (made by the emitter, or no array)
            raise self.error(f"the method .{attr}() of an array")
        obj = self.fir.resolve(func)
        args = e.args
        arrays = any(self.is_array(a) or isinstance(self.kind(a), kinds_module.Seq) and
                     kinds_module.is_array(self.kind(a).elem)
                     for a in args + list(keywords.values()))  # (np.concatenate([v, v]))
        if obj in (np.arange, np.linspace):
            return self.index_node(obj, args, keywords)
        if obj is runtime.expand_to and len(args) == 2 and not keywords:
            return self.expanded(args[0], args[1])
        if obj is runtime.share_max and len(args) == 2 and not keywords:
            return self.map(self.share_element, args)
        if obj is runtime.clip_mask and len(args) == 3 and not keywords:
            return self.clip_mask(args)
        if obj in (runtime.clipped_below, runtime.clipped_above) and 2 <= len(args) <= 3 and \
                not keywords:
            return self.clip_mask(args, "below" if obj is runtime.clipped_below else "above")
        if obj is runtime.abs_jvp and len(args) == 3 and not keywords:  # (x real: sign(x) dx)
            return self.map(lambda lw, a: lw.let(ir.binop(self.sign_element(lw, a[:1]),
                                                          gast.Mult(), a[1])), args[:2])
        if kinds_module.is_reduction_jvp(obj) and len(args) == 6:
            return self.reduction_tangent(args, keywords)
        if obj is np.eye and len(args) == 1 and not keywords:
            self.note_dim(args[0])
            to_float = self.ref(builtins.float)

            def eye(lw, idx):
                same = lw.let(gast.Compare(left=idx[0], ops=[gast.Eq()], comparators=[idx[1]]))
                return lw.let(ir.call(to_float, same))
            return Index([args[0], args[0]], eye, set(ir.names_in(args[0])), whole=True)
        if obj is np.linalg.norm and len(args) == 1 and not keywords:
            squares = self.map(lambda lw, a: lw.let(ir.binop(a[0], gast.Mult(), a[0])), args)
            total = Reduce("sum", squares, list(range(len(squares.dims))), False, [])
            sqrt = self.ref(math.sqrt)
            return Map(lambda lw, a: lw.let(ir.call(sqrt, a[0])), [total], [], [[]])
        if obj is np.logaddexp and len(args) == 2 and not keywords:
            mx, exp, log1p = (self.ref(f) for f in (builtins.max, math.exp, math.log1p))

            def logaddexp(lw, a):  # max(a, b) + log1p(exp(-|a - b|))
                gap = lw.let(ir.call(self.ref(builtins.abs),
                                     lw.let(ir.binop(a[0], gast.Sub(), a[1]))))
                tail = lw.let(ir.call(log1p, lw.let(ir.call(exp, lw.let(gast.UnaryOp(
                    op=gast.USub(), operand=gap))))))
                return lw.let(ir.add(lw.let(ir.call(mx, a[0], a[1])), tail))
            return self.map(logaddexp, args)
        if obj in (np.full, np.full_like) and len(args) == 2 and set(keywords) <= {"dtype"}:
            # (a constant: fusable; full_like's dtype float, as in tangent code)
            if "dtype" in keywords and kinds_module.dtype_of(
                    keywords["dtype"], self.fir.resolve) != "float" or \
                    obj is np.full_like and "dtype" not in keywords:
                # (arrays are passed as floats, an argument of ints too: full_like of it
                # would fill with floats where NumPy truncates)
                raise self.error(f"np.{obj.__name__} of an array that may hold integers "
                                 "(give dtype=float)")
            node = self.made_here(np.zeros if obj is np.full else np.zeros_like, args[:1], {})
            value = self.operand(args[1], once=False)
            if value.dims:
                raise self.error("np.full with an array as its value")
            return Map(lambda lw, a: value.elem(lw, []), [], node.dims, [])
        if obj in (np.zeros_like, np.ones_like, np.empty_like, np.copy, np.zeros, np.ones,
                   np.empty, runtime.tangent_zero):
            if self.block is self.top and not self.loops_before():
                return None  # made by the emitter (before the tape starts)
            # (tangent code's zero tangent of an array made in a loop: np.zeros_like)
            return self.made_here(np.zeros_like if obj is runtime.tangent_zero else obj, args,
                                  keywords)
        if not arrays and not (obj in UNARY or obj in BINARY or obj in OPERATOR_UFUNCS or
                               obj in (np.square, np.negative, np.clip)):
            return None  # (NumPy's functions of numbers: the scalar ones, below)
        if obj in UNARY and len(args) == 1 and not keywords:
            scalar = UNARY[obj]
            return self.map(lambda lw, a: lw.let(ir.call(lw.ref(scalar),
                                                         a[0])), args)
        if obj in BINARY and len(args) == 2 and not keywords:
            scalar = BINARY[obj]
            return self.map(lambda lw, a: lw.let(ir.call(lw.ref(scalar),
                                                         *a)), args)
        if obj in OPERATOR_UFUNCS and len(args) == 2 and not keywords:
            op = OPERATOR_UFUNCS[obj]
            return self.map(lambda lw, a: lw.let(ir.binop(a[0], op(), a[1])), args)
        if obj is np.sign and len(args) == 1:  # (float(x > 0) - float(x < 0): constant)
            return self.map(self.sign_element, args)
        if obj is np.square and len(args) == 1:
            return self.map(lambda lw, a: lw.let(ir.binop(a[0], gast.Mult(), a[0])), args)
        if obj is np.negative and len(args) == 1:
            return self.map(lambda lw, a: lw.let(gast.UnaryOp(op=gast.USub(), operand=a[0])),
                            args)
        if obj is np.clip:
            return self.clip(args, keywords)
        if obj is np.flip and len(args) == 1 and set(keywords) <= {"axis"}:
            nd = len(self.operand(args[0], once=False).dims)
            if nd == 0:
                raise self.error("np.flip of a number")
            axis = self.axis_of([], keywords, "flip", None, nd)
            back = gast.Slice(lower=None, upper=None, step=ir.const(-1))
            parts = [back if axis is None or k == axis else
                     gast.Slice(lower=None, upper=None, step=None) for k in range(nd)]
            return self.view(args[0], parts[0] if nd == 1 else ir.tuple_of(parts))
        if obj is np.roll and len(args) == 2 and set(keywords) <= {"axis"}:
            base = self.operand(args[0], once=False)
            nd = len(base.dims)
            axis = self.axis_of([], keywords, "roll", None if nd != 1 else 0, nd)
            if axis is None or not kinds_module.is_int(self.kind(args[1])):
                raise self.error("np.roll flattened, or by a shift that is not one integer")
            return Rolled(base, args[1], axis)
        if obj is np.diff and len(args) == 1 and set(keywords) <= {"axis"}:
            return self.diff(args[0], keywords)
        if obj is np.sort and len(args) == 1 and set(keywords) <= {"axis"}:
            return self.sort(args[0], keywords)
        if kinds_module.is_forward_helper(obj, "_sort_jvp") and len(args) == 2 and \
                set(keywords) <= {"axis"}:  # (the tangent of np.sort: dx in x's order)
            return self.sort(args[0], keywords, args[1])
        if obj is np.einsum and args and isinstance(args[0], gast.Constant) and \
                isinstance(args[0].value, str) and not keywords:
            return self.einsum(args[0].value, args[1:])
        if obj is np.cumsum and args:
            return self.cumsum(args[0], args[1:], keywords)
        if obj is np.concatenate and args:
            return self.concatenate(args[0], args[1:], keywords)
        if obj is np.where and len(args) == 3:
            return self.map(where_element, args)
        if obj in REDUCTIONS:
            return self.reduce(REDUCTIONS[obj], args[0], args[1:], keywords)
        if obj in (np.var, np.std):
            return self.spread(obj.__name__, args[0], args[1:], keywords)
        if obj in (np.reshape,) and len(args) == 2 and not keywords:
            return self.reshape(args[0], args[1])
        if obj is np.ravel and len(args) == 1 and not keywords:
            return self.reshape(args[0], ir.const(-1))
        if obj in (np.dot, np.matmul) and len(args) == 2:
            return self.matmul(args[0], args[1])
        if obj is np.outer and len(args) == 2:
            a, b = self.operand(args[0]), self.operand(args[1])
            if len(a.dims) != 1 or len(b.dims) != 1:
                raise self.error("np.outer of arrays that are not 1-d")
            return Map(lambda lw, x: lw.let(ir.binop(x[0], gast.Mult(), x[1])), [a, b],
                        [a.dims[0], b.dims[0]], [[0], [1]])
        if obj is np.transpose and len(args) == 1:
            return self.transpose(args[0])
        if obj is np.squeeze and len(args) == 1 and "axis" in keywords:
            return self.squeeze(args[0], keywords["axis"])
        if (getattr(obj, "__module__", None) or "").startswith("numpy") or \
                isinstance(obj, np.ufunc):
            raise self.error(f"np.{getattr(obj, '__name__', '?')} of arrays")
        return None

    def in_place(self, target: str, node: Node, s) -> None:
        """``x = x + dt * v`` inside a loop, ``x`` made once at the top: its elements
        updated where they are (each read at its own index only, so element by element is
        all at once)."""
        current = self.node_of(ir.name(target), once=False)
        if not isinstance(current, Stored) or len(current.dims) != len(node.dims):
            raise self.error(f"'{target}' rebound inside a loop or a branch to an array of "
                             "another shape", s)
        for a, b in zip(current.dims, node.dims):
            self.check_same(a, b)
        into = target
        if not reads_in_step(node, target) or isinstance(node, Filled) and \
                target in node.reads:
            # (h = np.tanh(X @ h): the new value reads the old one at other places -- made
            # whole in a second array, made once at the start, then copied over)
            late = self.late_extents(current.dims)
            if late:
                raise self.error(f"'{target}' rebound inside a loop to an array that reads "
                                 "it at other places, its extents known only there", s)
            into = self.local(f"{target}_next")
            self.allocate(into, current.dims, s, self.position)

        def body(idx, into=into, node=node):
            e = node.elem(self, idx)
            key = idx[0] if len(idx) == 1 else ir.tuple_of(idx)
            self.emit(ir.assign(ir.subscript(ir.name(into), key, True), e))

        if isinstance(node, Filled):  # (np.cumsum, np.concatenate: their own loops)
            node.fill(self, into)
        else:
            self.loops(current.dims, body)
        if into != target:
            self.loops(current.dims, lambda idx: body(idx, target, Stored(
                into, current.dims, [("out", a, None) for a in range(len(current.dims))])))

    def loops_before(self) -> bool:
        """Whether a loop comes before the top-level statement being lowered (the user's, or
        one this lowering made): the tape may have started there, and an array made here is
        made at the start instead (made_here, then stored)."""
        return any(isinstance(x, (gast.For, gast.While)) for out in self.out_at[:self.position]
                   for x in out)

    def made_here(self, obj, args, keywords) -> Node:
        """``np.zeros(shape)``, ``np.ones_like(a)``, ``a.copy()``... inside a loop or a
        branch: a node of constants or of a copy (made_in_loop stores it)."""
        if keywords or len(args) != 1:
            raise self.error(f"np.{obj.__name__} with these arguments")
        if obj is np.copy:
            source = self.operand(args[0], once=False)
            return Map(lambda lw, a: a[0], [source], list(source.dims),
                        [list(range(len(source.dims)))])
        if obj in (np.zeros_like, np.ones_like, np.empty_like):
            dims = list(self.operand(args[0], once=False).dims)
        else:
            shape = args[0]
            if isinstance(shape, gast.Name) and isinstance(self.single_defs.get(shape.id),
                                                           gast.Tuple):
                dims = list(self.single_defs[shape.id].elts)
            elif isinstance(shape, gast.Tuple):
                dims = list(shape.elts)
            elif kinds_module.is_int(self.kind(shape)):
                dims = [shape]
            else:
                raise self.error(f"np.{obj.__name__} of a shape the Wasm backend cannot read")
        fill = ir.const(1.0 if obj in (np.ones, np.ones_like) else 0.0)
        return Map(lambda lw, a: fill, [], [self.canonical(d) for d in dims], [])

    def canonical(self, d, early: bool = False):
        """An extent read inside a loop (``_t2 = x.shape; n = _t2[1]``) as the parameter's
        extent, known at the start; one of an array made here, bound once, as the extent it
        was made with when that is known earlier (``np.arange(a.shape[1])`` after a sort
        whose loops started the tape: its array is made before it)."""
        if isinstance(d, gast.Name):
            v = self.single_defs.get(d.id)
            if isinstance(v, gast.Subscript) and isinstance(v.value, gast.Name) and \
                    isinstance(v.slice, gast.Constant) and type(v.slice.value) is int:
                shape = self.single_defs.get(v.value.id)
                if not (isinstance(shape, gast.Attribute) and shape.attr == "shape" and
                        isinstance(shape.value, gast.Name) and v.slice.value >= 0):
                    return d
                owner, k = shape.value.id, v.slice.value
                if owner in self.fir.params and not self.stores[owner]:
                    return self.dim_of_param(owner, k, early)
                node = self.stored.get(owner)
                if node is not None and self.stores[owner] == 1 and \
                        owner not in self.fir.params and k < len(node.dims):
                    made = node.dims[k]
                    if isinstance(made, gast.Constant) or isinstance(made, gast.Name) and \
                            self.available.get(made.id, self.position) < self.position:
                        return made
        return d

    def operand(self, atom, once: bool = True) -> Node:
        node = self.node_of(atom, once)
        if node is None:
            names = ", ".join(sorted(ir.names_in(atom))) or gast.unparse(atom).strip()
            raise self.error(f"an operand of unknown kind ('{names}')")
        return node

    def map(self, build, args) -> Node:
        # the result's extents: NumPy's broadcasting, trailing axes aligned
        probe = [self.peek_dims(a) for a in args]
        ndim = max((len(d) for d in probe), default=0)
        dims = []
        for ax in range(ndim):
            chosen = None
            for d in probe:
                k = ax - (ndim - len(d))
                if k >= 0 and not self.is_one(d[k]):
                    if chosen is None:
                        chosen = d[k]
                    else:
                        self.check_same(chosen, d[k])
            dims.append(chosen if chosen is not None else ir.const(1))
        operands, maps = [], []
        for a, d in zip(args, probe):
            shift = ndim - len(d)
            m = [None if self.is_one(d[k]) and not self.is_one(dims[k + shift]) else k + shift
                 for k in range(len(d))]
            once = len(d) == ndim and all(x is not None for x in m)
            operands.append(self.operand(a, once))
            maps.append(m)
        return Map(build, operands, dims, maps)

    def reduction_tangent(self, args, keywords) -> Node:
        """``reduction_jvp(rule, dx, ans, axis, keepdims, x)`` (forward mode's tangent of a
        reduction: the rule's cotangent of ones times ``dx``, summed) of ``np.max``/``min``
        -- the mean of ``dx`` over the elements equal to ``ans`` along the axes (max_grad
        shares a cotangent evenly among ties) -- and of ``np.var``/``std``: the sum of
        ``2 (x - mean) dx`` over the count less ``ddof`` (over ``2 ans`` for std)."""
        from . import rules

        rule_func, dx, ans, axis, keep, x = args
        func = self.fir.resolve(rule_func)
        how = None
        for prims, name in (((np.max, np.min, np.amax, np.amin), "max"), ((np.var,), "var"),
                            ((np.std,), "std"), ((np.linalg.norm,), "norm"),
                            ((np.prod,), "prod")):
            if func in {r.func for r in map(rules.lookup, prims) if r is not None}:
                how = name
        ddof = keywords.get("ddof", ir.const(0))
        if how is None or set(keywords) - {"axis", "keepdims", "ddof"} or how in (
                "max", "norm", "prod") and "ddof" in keywords or not (
                    isinstance(ddof, gast.Constant) and type(ddof.value) is int):
            raise self.error("the tangent of a reduction other than max, min, prod, var, "
                             "std or the 2-norm")
        node = self.operand(x, once=False)
        tangent = self.operand(dx, once=False)
        nd = len(node.dims)
        if len(tangent.dims) != nd:
            raise self.error("the tangent of a reduction of another shape")
        for a, b in zip(node.dims, tangent.dims):
            self.check_same(a, b)
        axes = self.axes_of(axis, nd, how)
        kept = isinstance(keep, gast.Constant) and bool(keep.value)
        value = self.operand(ans, once=False)
        dims = [ir.const(1) if k in axes else d for k, d in enumerate(node.dims)
                if kept or k not in axes]
        ident, out = list(range(nd)), list(range(len(dims)))
        # a value reduced along the axes, read at x's index: its axes are x's but the
        # reduced ones (of extent 1 when kept)
        at = [k for k in range(nd) if kept or k not in axes]
        value_map = [None if k in axes else k for k in at] if value.dims else []
        if how == "max":
            to_float = self.ref(builtins.float)

            def hit(lw, a):
                same = lw.let(gast.Compare(left=a[0], ops=[gast.Eq()], comparators=[a[1]]))
                return lw.let(ir.call(to_float, same))

            hits = Map(hit, [node, value], list(node.dims), [ident, value_map])
            weighted = Map(lambda lw, a: lw.let(ir.binop(hit(lw, a[:2]), gast.Mult(), a[2])),
                           [node, value, tangent], list(node.dims), [ident, value_map, ident])
            total = Reduce("sum", weighted, axes, kept, dims)
            count = Reduce("sum", hits, axes, kept, dims)
            return Map(lambda lw, a: lw.let(ir.binop(a[0], gast.Div(), a[1])),
                       [total, count], list(dims), [out, out])
        if how == "prod":  # (sum(ans / x dx), as the rule's g * ans / x: nan at a zero)
            shares = Map(lambda lw, a: lw.let(ir.binop(lw.let(ir.binop(a[1], gast.Div(), a[0])),
                                                       gast.Mult(), a[2])),
                         [node, value, tangent], list(node.dims), [ident, value_map, ident])
            return Reduce("sum", shares, axes, kept, dims)
        if how == "norm":  # (the 2-norm: sum(x dx) / ans)
            products = Map(lambda lw, a: lw.let(ir.binop(a[0], gast.Mult(), a[1])),
                           [node, tangent], list(node.dims), [ident, ident])
            total = Reduce("sum", products, axes, kept, dims)
            return Map(lambda lw, a: lw.let(ir.binop(a[0], gast.Div(), a[1])),
                       [total, value], list(dims), [out, out if value.dims else []])
        mean = self.mean_once(x, axis)
        mean_map = [None if self.is_one(d) else k for k, d in enumerate(mean.dims)]
        weighted = Map(lambda lw, a: lw.let(ir.binop(lw.let(ir.binop(
            lw.let(ir.binop(a[0], gast.Sub(), a[1])), gast.Mult(), a[2])), gast.Mult(),
            ir.const(2.0))), [node, mean, tangent], list(node.dims), [ident, mean_map, ident])
        total = Reduce("sum", weighted, axes, kept, dims)
        n = self.let(ir.binop(self.count([node.dims[k] for k in axes]), gast.Sub(), ddof))

        def divided(lw, a):
            v = lw.let(ir.binop(a[0], gast.Div(), n))
            if how == "std":
                v = lw.let(ir.binop(v, gast.Div(), lw.let(ir.binop(ir.const(2.0), gast.Mult(),
                                                                   a[1]))))
            return v

        operands = [total] + ([value] if how == "std" else [])
        return Map(divided, operands, list(dims), [out] + ([out if value.dims else []]
                                                            if how == "std" else []))

    def clip_mask(self, args, which: str = "inside") -> Node:
        """``clip_mask(x, lo, hi)`` (the tangent of np.clip): 1 where ``x`` passes through
        NumPy's ``minimum(maximum(x, lo), hi)``, 0 where a bound replaced it, nan where ``x``
        is nan; ``which="below"`` / ``"above"``: ``clipped_below`` / ``clipped_above``, the
        tangents of the bounds -- 1 where the result is ``lo`` (``x < lo`` and not then
        above) / ``hi`` (``maximum(x, lo) > hi``, nan-propagating as NumPy's maximum).  A
        bound None is absent."""
        bounds = [b is not None and not (isinstance(b, gast.Constant) and b.value is None)
                  for b in args[1:3]] + [False] * (3 - len(args))
        operands = [args[0]] + [b for b, given in zip(args[1:], bounds) if given]
        to_float = self.ref(builtins.float)

        def mask(lw, a):
            x, rest = a[0], list(a[1:])
            lo = rest.pop(0) if bounds[0] else None
            hi = rest.pop(0) if bounds[1] else None

            def compare(op, u, v):
                return lw.let(ir.call(to_float, lw.let(gast.Compare(left=u, ops=[op],
                                                                     comparators=[v]))))
            above = below = ir.const(0.0)
            if hi is not None:
                top = x
                if lo is not None:  # (maximum(x, lo): nan where either is)
                    nan = lw.let(gast.Compare(left=x, ops=[gast.NotEq()], comparators=[x]))
                    top = where_element(lw, [lw.let(gast.Compare(
                        left=x, ops=[gast.GtE()], comparators=[lo])), x,
                        where_element(lw, [nan, x, lo])])
                above = compare(gast.Gt(), top, hi)
            if which == "above":
                return above
            if lo is not None:
                below = lw.let(ir.binop(compare(gast.Lt(), x, lo), gast.Mult(), lw.let(
                    ir.binop(ir.const(1.0), gast.Sub(), above))))
            if which == "below":
                return below
            inside = lw.let(ir.binop(lw.let(ir.binop(ir.const(1.0), gast.Sub(), below)),
                                     gast.Sub(), above))
            return where_element(lw, [lw.let(gast.Compare(left=x, ops=[gast.Eq()],
                                                          comparators=[x])), inside, x])

        return self.map(mask, operands)

    def sign_element(self, lw, a):
        """``np.sign`` of one element: ``float(x > 0) - float(x < 0)``."""
        to_float = lw.ref(builtins.float)
        pos = lw.let(gast.Compare(left=a[0], ops=[gast.Gt()], comparators=[ir.const(0)]))
        neg = lw.let(gast.Compare(left=a[0], ops=[gast.Lt()], comparators=[ir.const(0)]))
        return lw.let(ir.binop(lw.let(ir.call(to_float, pos)), gast.Sub(),
                               lw.let(ir.call(to_float, neg))))

    def share_element(self, lw, a):
        """``share_max(a, b)`` of one element (the tangents of np.maximum/minimum): 1 where
        ``a`` is the larger, 1/2 on a tie, 0 elsewhere -- nan (``a + b``) where either is."""
        to_float = lw.ref(builtins.float)

        def compare(op, x, y):
            return lw.let(gast.Compare(left=x, ops=[op], comparators=[y]))

        larger = lw.let(ir.call(to_float, compare(gast.Gt(), a[0], a[1])))
        tie = lw.let(ir.call(to_float, compare(gast.Eq(), a[0], a[1])))
        share = lw.let(ir.add(larger, lw.let(ir.binop(ir.const(0.5), gast.Mult(), tie))))
        nan = lw.let(ir.add(a[0], a[1]))
        inner = where_element(lw, [compare(gast.Eq(), a[1], a[1]), share, nan])
        return where_element(lw, [compare(gast.Eq(), a[0], a[0]), inner, nan])

    def expanded(self, value, like) -> Map:
        """``expand_to(value, like)`` (generated code: a cotangent or tangent that may still
        be the number 0.0, at ``like``'s shape): ``value`` broadcast to ``like``'s extents,
        whose elements are not read."""
        dims = list(self.peek_dims(like))
        have = self.peek_dims(value)
        shift = len(dims) - len(have)
        if shift < 0:
            raise self.error("expand_to of more dimensions than its target's")
        for k, d in enumerate(have):
            if not self.is_one(d):
                self.check_same(dims[k + shift], d)
        m = [None if self.is_one(d) and not self.is_one(dims[k + shift]) else k + shift
             for k, d in enumerate(have)]
        node = self.operand(value, len(have) == len(dims) and None not in m)
        return Map(lambda lw, a: a[0], [node], dims, [m])

    def peek_dims(self, atom) -> list:
        if isinstance(atom, gast.Name) and atom.id in self.pending:
            return self.pending[atom.id][0].dims
        node = self.node_of(atom, once=False) if not (
            isinstance(atom, gast.Name) and atom.id in self.pending) else None
        if node is None:
            raise self.error(f"an operand of unknown kind ('{gast.unparse(atom).strip()}')")
        return node.dims

    def stored_operand(self, atom) -> Node:
        node = self.operand(atom, once=False)
        if not node.stored and node.dims:
            # (node_of stored it if it was a pending name; an expression node is stored here)
            raise self.error("a matrix product of an expression: assign it to a name first")
        return node

    def matmul(self, x, y) -> Node:
        a, b = self.stored_operand(x), self.stored_operand(y)
        if not (1 <= len(a.dims) <= 2 and 1 <= len(b.dims) <= 2):
            raise self.error("a matrix product of arrays that are not 1-d or 2-d")
        self.check_same(a.dims[-1], b.dims[0])
        # (a 1-d operand has no row or column index: its one axis is the summed one)
        return MatMul(a, b, a.dims[:-1] + b.dims[1:])

    def gather(self, atom, parts) -> Gather:
        """``a[np.arange(n), labels]``, ``ls[:, rows, cols]``: NumPy's advanced indexing by
        1-d index arrays of one length (their items made ints, as NumPy requires), ints and
        whole slices.  The arrays' axis stands where they are when nothing but them and ints
        lies between them, else first (NumPy's rule)."""
        nd = self.kind(atom).ndim
        parts = list(parts)
        if any(self.is_array(p) and self.kind(p).dtype == "bool" for p in parts):
            raise self.error("indexing with a boolean mask (its length is known only when "
                             "it runs)")
        if len(parts) > nd:
            raise self.error("too many indices for the array")
        parts += [gast.Slice(lower=None, upper=None, step=None)] * (nd - len(parts))
        whole = [isinstance(p, gast.Slice) for p in parts]
        for p, w in zip(parts, whole):
            if w and (p.lower is not None or p.upper is not None or p.step is not None):
                raise self.error("indexing with arrays beside a slice that is not ':'")
            if not w and not self.is_array(p) and not kinds_module.is_int(self.kind(p)):
                raise self.error("indexing with arrays beside an index that is not an int")
        advanced = [k for k, w in enumerate(whole) if not w]
        if advanced == list(range(advanced[0], advanced[-1] + 1)):
            order = list(range(advanced[0])) + [None] + list(range(advanced[-1] + 1, nd))
        else:
            order = [None] + [k for k in range(nd) if whole[k]]
        at_axis = order.index(None)  # (None: the arrays' axis)
        base = self.operand(atom, once=True)
        picks, length = [], None
        for k, p in enumerate(parts):
            if whole[k]:
                picks.append(("out", order.index(k)))
            elif not self.is_array(p):
                picks.append(("at", p))
            else:
                # (each item read once when no slice repeats it: an arange fuses)
                node = self.node_of(p, once=not any(whole))
                if node is None or len(node.dims) != 1:
                    raise self.error("indexing with arrays other than 1-d ones")
                if length is None:
                    length = node.dims[0]
                else:
                    self.check_same(length, node.dims[0])
                picks.append(("index", node))
        dims = [length if k is None else base.dims[k] for k in order]
        # each element of the base is read at most once (distinct positions may repeat an
        # index, but then NumPy reads it twice too: fusing computes it twice, no more)
        return Gather(base, picks, self.ref(builtins.int), dims, at_axis)

    def spread(self, how: str, atom, args, keywords) -> Node:
        """``np.var`` / ``np.std`` (``ddof`` a constant): the mean of the squared distances to
        the mean (along ``axis``, kept as an array made here; their sum over the count less
        ``ddof``), then its square root."""
        ddof = keywords.get("ddof", ir.const(0))
        if set(keywords) - {"axis", "keepdims", "ddof"} or args or not (
                isinstance(ddof, gast.Constant) and type(ddof.value) is int):
            raise self.error(f"np.{how} with these arguments")
        node = self.operand(atom, once=False)
        axis = keywords.get("axis")
        keep = keywords.get("keepdims")
        centred = self.mean_once(atom, axis)
        diff = Map(lambda lw, a: lw.let(ir.binop(a[0], gast.Sub(), a[1])), [node, centred],
                    list(node.dims), [list(range(len(node.dims))),
                                      [k if not self.is_one(d) else None
                                       for k, d in enumerate(centred.dims)]])
        square = Map(lambda lw, a: lw.let(ir.binop(a[0], gast.Mult(), a[0])), [diff],
                      list(node.dims), [list(range(len(node.dims)))])
        nd = len(node.dims)
        axes = self.axes_of(axis, nd, how)
        kept = isinstance(keep, gast.Constant) and bool(keep.value)
        dims = [ir.const(1) if k in axes else d for k, d in enumerate(node.dims)
                if kept or k not in axes]
        var = Reduce("mean", square, axes, kept, dims)
        if ddof.value:  # (the sum over the count less ddof)
            n = self.let(ir.binop(self.count([node.dims[k] for k in axes]), gast.Sub(), ddof))
            var = Map(lambda lw, a: lw.let(ir.binop(a[0], gast.Div(), n)),
                      [Reduce("sum", square, axes, kept, dims)], list(dims),
                      [list(range(len(dims)))])
        if how == "var":
            return var
        sqrt = self.ref(math.sqrt)
        return Map(lambda lw, a: lw.let(ir.call(sqrt, a[0])), [var], list(dims),
                    [list(range(len(dims)))])

    def mean_once(self, atom, axis) -> Node:
        """The mean of ``atom`` along ``axis`` (kept: of extent 1 there), computed once -- a
        number here, or an array made like the program's own -- for what reads it at every
        element (var, std and their tangents)."""
        every = axis is None or isinstance(axis, gast.Constant) and axis.value is None
        mean = self.reduce("mean", atom, [], {} if every else
                           {"axis": axis, "keepdims": ir.const(True)})
        if not mean.dims:
            return Number(mean.elem(self, []))
        name = self.local("mean")
        self.stores[name] = 1
        self.uses[name] = 2
        self.pending[name] = (mean, self.block, self.index)
        return self.node_of(ir.name(name), once=False)

    def axes_of(self, axis, nd: int, how: str) -> list:
        """The axes a reduction's ``axis`` names: all (None), one, or a tuple of constants."""
        if axis is None or (isinstance(axis, gast.Constant) and axis.value is None):
            return list(range(nd))
        if isinstance(axis, gast.Constant) and type(axis.value) is int:
            return [axis.value % nd]
        items = self.tuple_items(axis)
        if all(isinstance(a, gast.Constant) and type(a.value) is int for a in items):
            return sorted({a.value % nd for a in items})
        raise self.error(f"np.{how} over an axis that is not a constant")

    def shape_items(self, node, depth: int = 0) -> list | None:
        """The extents a shape expression gives, as atoms: ``(n, 1)``, ``x.shape``,
        ``tuple(x.shape) + (1,)`` (what ``(*x.shape, 1)`` is in the IR), or one integer."""
        if depth > 8:
            return None
        if isinstance(node, gast.Name) and node.id in self.single_defs:
            value = self.single_defs[node.id]
            if not (isinstance(value, gast.Subscript) or kinds_module.is_int(self.kind(node))):
                return self.shape_items(value, depth + 1)
        if isinstance(node, gast.Tuple):
            return list(node.elts)
        if isinstance(node, gast.BinOp) and isinstance(node.op, gast.Add):
            left = self.shape_items(node.left, depth + 1)
            right = self.shape_items(node.right, depth + 1)
            return None if left is None or right is None else left + right
        if isinstance(node, gast.Call) and len(node.args) == 1 and \
                self.fir.resolve(node.func) is builtins.tuple:
            return self.shape_items(node.args[0], depth + 1)
        if isinstance(node, gast.Attribute) and node.attr == "shape" and \
                self.is_array(node.value):
            return list(self.operand(node.value, once=False).dims)
        if isinstance(node, (gast.Name, gast.Constant)):
            return [node]
        return None

    def tuple_items(self, node) -> list:
        """The items of a tuple display, or of a name bound once to one (else [None])."""
        if isinstance(node, gast.Name):
            node = self.single_defs.get(node.id)
        return list(node.elts) if isinstance(node, gast.Tuple) else [None]

    def reshape(self, atom, shape) -> Node:
        """``x.reshape(a, b)``, ``np.reshape(x, shape)``, ``x.ravel()``: the element at an
        index is the one at the same place in C order (its flat position, divided back)."""
        base = self.operand(atom, once=False)
        parts = self.shape_items(shape)
        if parts is None:
            raise self.error("a reshape to a shape the Wasm backend cannot read")
        if not 1 <= len(parts) <= 2 or not all(
                isinstance(p, gast.Constant) and type(p.value) is int or
                isinstance(p, gast.Name) and (kinds_module.is_int(self.kind(p)) or
                                              p.id in self.generated) for p in parts):
            raise self.error("a reshape to other than 1 or 2 extents given as integers")
        size = base.dims[0] if base.dims else ir.const(1)
        for d in base.dims[1:]:
            size = self.extent(ir.binop(size, gast.Mult(), d))
        free = [k for k, p in enumerate(parts) if isinstance(p, gast.Constant) and
                p.value == -1]
        dims = list(parts)
        if free:
            known = ir.const(1)
            for k, p in enumerate(parts):
                if k not in free:
                    known = self.extent(ir.binop(known, gast.Mult(), p))
            dims[free[0]] = self.extent(ir.binop(size, gast.FloorDiv(), known))
        total = dims[0]
        for d in dims[1:]:
            total = self.extent(ir.binop(total, gast.Mult(), d))
        self.check_same(total, size)
        for d in dims:
            self.note_dim(d)
        return Reshaped(base, dims)

    def transpose(self, atom) -> Node:
        node = self.operand(atom, once=False)
        if not node.stored:
            raise self.error("the transpose of an expression: assign it to a name first")
        if len(node.dims) == 1:
            return node
        if len(node.dims) != 2:
            raise self.error("the transpose of an array that is not 2-d")
        axes = [("out", 1 - a[1], *a[2:]) if a[0] == "out" else a for a in node.axes]
        return Stored(node.name, node.dims[::-1], axes)

    def squeeze(self, atom, axis) -> Node:
        node = self.operand(atom, once=False)
        if not isinstance(axis, gast.Constant) or not isinstance(axis.value, int):
            raise self.error("np.squeeze with an axis that is not a constant")
        k = axis.value % len(node.dims)
        if not self.is_one(node.dims[k]):
            raise self.error("np.squeeze of an axis whose extent is not known to be 1")
        return Squeezed(node, k)

    def is_view(self, index, ndim: int) -> bool:
        """Whether ``a[index]`` of an array of ``ndim`` dimensions is an array (a slice, a
        new axis, or fewer integer indices than axes), not an element."""
        parts = index.elts if isinstance(index, gast.Tuple) else [index]
        if any(self.is_array(p) for p in parts):
            return False  # (index arrays: a gather)
        if any(isinstance(p, gast.Slice) or (isinstance(p, gast.Constant) and p.value is None)
               for p in parts):
            return True
        return all(kinds_module.is_int(self.kind(p)) for p in parts) and len(parts) < ndim

    def view(self, atom, index) -> Node:
        base = self.operand(atom, once=False)
        if not base.stored:
            raise self.error("a slice of an expression: assign it to a name first")
        parts = list(index.elts) if isinstance(index, gast.Tuple) else [index]
        real = [p for p in parts if not (isinstance(p, gast.Constant) and p.value is None)]
        if len(real) > len(base.dims):
            raise self.error("too many indices for the array")
        parts += [gast.Slice(lower=None, upper=None, step=None)] * (len(base.dims) - len(real))
        dims, picks = [], []  # picks: per base axis of the view, an axis spec
        for p in parts:
            if isinstance(p, gast.Constant) and p.value is None:
                dims.append(ir.const(1))
                continue
            k = len(picks)
            if isinstance(p, gast.Slice):
                step = self.slice_step(p)
                for bound in (p.lower, p.upper):
                    if isinstance(bound, gast.Constant) and bound.value < 0:
                        raise self.error("a slice with a negative bound")
                if step is not None and step < 0:  # x[::-2]: from the last element down
                    if p.lower is not None or p.upper is not None:
                        raise self.error("a slice with a negative step and bounds")
                    n = base.dims[k]
                    lo = self.extent(ir.binop(n, gast.Sub(), ir.const(1)))
                    extent = n if step == -1 else self.extent(ir.binop(self.extent(
                        ir.binop(n, gast.Sub(), ir.const(step + 1))), gast.FloorDiv(),
                        ir.const(-step)))
                    picks.append(("out", len(dims), lo, step))
                    dims.append(extent)
                    continue
                lo = p.lower
                first = 0 if lo is None else lo.value if isinstance(lo, gast.Constant) else None
                if step is None and first is not None and isinstance(p.upper, gast.Constant) \
                        and p.upper.value == first + 1:
                    # x[:, :1]: an extent of one, which broadcasts (NumPy's is 0 when the
                    # axis is shorter: then f's check fails, never a wrong value)
                    ok = self.let(gast.Compare(left=ir.const(first), ops=[gast.Lt()],
                                               comparators=[base.dims[k]]))
                    self.emit(gast.Assert(test=ok, msg=None))
                    picks.append(("out", len(dims), lo))
                    dims.append(ir.const(1))
                    continue
                # (bounds past the end stop at it, as NumPy's)
                hi = base.dims[k] if p.upper is None else \
                    self.extent(ir.call(self.ref(builtins.min), p.upper, base.dims[k]))
                if lo is not None:
                    lo = self.extent(ir.call(self.ref(builtins.min), lo, hi))
                extent = hi if lo is None else self.extent(ir.binop(hi, gast.Sub(), lo))
                if step is not None:  # x[1::2]: ceil(extent / step) elements
                    extent = self.extent(ir.binop(self.extent(
                        ir.add(extent, ir.const(step - 1))), gast.FloorDiv(), ir.const(step)))
                picks.append(("out", len(dims), lo) + ((step,) if step is not None else ()))
                dims.append(extent)
            else:
                if isinstance(p, gast.Constant) and p.value < 0:
                    p = self.extent(ir.binop(base.dims[k], gast.Add(), p))
                picks.append(("at", p))
        axes = []
        for spec in base.axes:
            if spec[0] == "at":
                axes.append(spec)
                continue
            pick = picks[spec[1]]
            outer = step_of(spec)  # (the base view's own step: its index i is off + i * step)
            if pick[0] == "at":
                index_ = pick[1] if outer is None else \
                    self.let(ir.binop(pick[1], gast.Mult(), ir.const(outer)))
                index_ = index_ if spec[2] is None else self.let(ir.add(index_, spec[2]))
                axes.append(("at", index_))
            else:
                start = pick[2]
                if start is not None and outer is not None:
                    start = self.extent(ir.binop(start, gast.Mult(), ir.const(outer)))
                offset = _sum_atoms(self, spec[2], start)
                step = (outer or 1) * (step_of(pick) or 1)  # (a view of a view: the product)
                axes.append(("out", pick[1], offset) + ((step,) if step != 1 else ()))
        for d in dims:
            if isinstance(d, gast.Name) and d.id not in self.available:
                self.available[d.id] = self.position
        return Stored(base.name, dims, axes)

    def slice_step(self, p) -> int | None:
        """A slice's constant step (None for none, or 1)."""
        if p.step is None or isinstance(p.step, gast.Constant) and p.step.value is None:
            return None
        if not (isinstance(p.step, gast.Constant) and type(p.step.value) is int and
                p.step.value != 0):
            raise self.error("a slice with a step that is not a constant integer")
        return None if p.step.value == 1 else p.step.value

    def axis_of(self, args, keywords, how: str, default, nd: int):
        """The one ``axis`` argument of ``how`` (positional or keyword) for an array of
        ``nd`` dimensions, counted from the start, or ``default`` when it is left out (None
        stays None: flattened)."""
        if len(args) > 1 or set(keywords) - {"axis"}:
            raise self.error(f"np.{how} with these arguments")
        axis = args[0] if args else keywords.get("axis")
        if axis is not None and not (isinstance(axis, gast.Constant) and (
                axis.value is None or type(axis.value) is int)):
            raise self.error(f"np.{how} along an axis the Wasm backend cannot read")
        value = default if axis is None else axis.value
        if value is None:
            return None
        if not -nd <= value < nd:
            raise self.error(f"np.{how} along axis {value} of an array of {nd} dimensions")
        return value % nd

    def concatenate(self, parts, args, keywords) -> Node:
        """``np.concatenate([a, b, ...], axis=k)``: each part's loops write its block of the
        result (the other extents must agree)."""
        if isinstance(parts, gast.Name):
            parts = self.single_defs.get(parts.id)
        if not isinstance(parts, (gast.List, gast.Tuple)) or not parts.elts:
            raise self.error("np.concatenate of a sequence the Wasm backend cannot read")
        nodes = [self.operand(a, once=False) for a in parts.elts]
        ndim = len(nodes[0].dims)
        if ndim == 0 or any(len(x.dims) != ndim for x in nodes):
            raise self.error("np.concatenate of numbers, or of arrays of different ranks")
        axis = self.axis_of(args, keywords, "concatenate", 0, ndim)
        if axis is None:
            raise self.error("np.concatenate flattened (axis=None)")
        for x in nodes[1:]:
            for k in range(ndim):
                if k != axis:
                    self.check_same(nodes[0].dims[k], x.dims[k])
        total = None
        offsets = []
        for x in nodes:
            offsets.append(total)
            total = x.dims[axis] if total is None else self.extent(ir.add(total, x.dims[axis]))
        dims = list(nodes[0].dims)
        dims[axis] = total

        def fill(lw, n):
            for x, offset in zip(nodes, offsets):
                def body(idx, x=x, offset=offset):
                    e = x.elem(lw, idx)
                    key = list(idx)
                    if offset is not None:
                        key[axis] = lw.let(ir.add(idx[axis], offset), "_i")
                    lw.emit(ir.assign(ir.subscript(
                        ir.name(n), key[0] if ndim == 1 else ir.tuple_of(key), True), e))
                lw.loops(x.dims, body)
        return Filled(dims, set().union(*(x.reads for x in nodes)), fill)

    def einsum(self, spec: str, atoms: list) -> Node:
        """``np.einsum("ij,jk->ik", a, b)``: the product of the operands over the index space
        of the output's letters then the summed ones, summed over the latter -- a ``Map``
        under a ``Reduce``, fused like any other (each operand stored: read many times)."""
        spec = spec.replace(" ", "")
        ins, arrow, out = spec.partition("->")
        subs = ins.split(",")
        letters = [c for sub in subs for c in sub]
        if "." in spec or not all(c.isalpha() for c in letters + list(out)) or \
                len(subs) != len(atoms) or any(len(set(sub)) != len(sub) for sub in subs):
            raise self.error(f"np.einsum('{spec}') (an ellipsis, or an index repeated in "
                             "one operand)")
        if not arrow:  # (implicit output: the letters seen once, in alphabetical order)
            out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
        nodes = [self.operand(a, once=False) for a in atoms]
        extent: dict[str, Any] = {}
        for sub, node in zip(subs, nodes):
            if len(sub) != len(node.dims):
                raise self.error(f"np.einsum('{spec}') of an operand with "
                                 f"{len(node.dims)} dimensions for '{sub}'")
            for c, d in zip(sub, node.dims):
                if c in extent:
                    self.check_same(extent[c], d)
                else:
                    extent[c] = d
        if any(c not in extent for c in out) or len(set(out)) != len(out):
            raise self.error(f"np.einsum('{spec}') with an output index not in its inputs")
        summed = [c for c in dict.fromkeys(letters) if c not in out]
        full = list(out) + summed

        def product(lw, atoms_):
            acc = atoms_[0]
            for a in atoms_[1:]:
                acc = lw.let(ir.binop(acc, gast.Mult(), a))
            return acc

        body = Map(product, nodes, [extent[c] for c in full],
                   [[full.index(c) for c in sub] for sub in subs])
        if not summed:
            return body
        return Reduce("sum", body, list(range(len(out), len(full))), False,
                      [extent[c] for c in out])

    def diff(self, atom, keywords) -> Node:
        """``np.diff(x, axis=k)``: the view from the second element on minus the view up to
        the last one, along the axis (views of ``x``: no array made)."""
        base = self.operand(atom, once=False)
        nd = len(base.dims)
        if nd == 0:
            raise self.error("np.diff of a number")
        axis = self.axis_of([], keywords, "diff", -1, nd)
        if axis is None:
            raise self.error("np.diff flattened (axis=None)")
        last = self.extent(ir.binop(base.dims[axis], gast.Sub(), ir.const(1)))

        def view(lower, upper):
            parts = [gast.Slice(lower=None, upper=None, step=None) for _ in range(nd)]
            parts[axis] = gast.Slice(lower=lower, upper=upper, step=None)
            return self.view(atom, parts[0] if nd == 1 else ir.tuple_of(parts))

        ahead, behind = view(ir.const(1), None), view(None, last)
        same = [list(range(nd))] * 2
        return Map(lambda lw, a: lw.let(ir.binop(a[0], gast.Sub(), a[1])), [ahead, behind],
                   list(ahead.dims), same)

    def sort(self, atom, keywords, values=None) -> Node:
        """``np.sort(x, axis=k)`` of a 1-d or 2-d array: along the axis, line by line, the
        order found by an insertion sort of indices (kept as floats: the Wasm backend's arrays
        are float64), which compares elements only -- nothing to differentiate --, then the
        elements gathered in that order, which is what the reverse pass differentiates (each
        cotangent back to its element).  Stable, and quadratic in the length at worst (meant
        for the short arrays of scalar code).  ``values``: gathered in the order that sorts
        ``x`` instead (the tangent of the sort, ``_sort_jvp(x, dx)``)."""
        base = self.operand(atom, once=False)
        nd = len(base.dims)
        gathered = base if values is None else self.operand(values, once=False)
        if len(gathered.dims) != nd:
            raise self.error("the tangent of a sort of another shape")
        for a, b in zip(base.dims, gathered.dims):
            self.check_same(a, b)
        if nd not in (1, 2):
            raise self.error("np.sort of an array that is not 1-d or 2-d")
        axis = self.axis_of([], keywords, "sort", -1, nd)
        if axis is None:
            raise self.error("np.sort flattened (axis=None)")
        n = base.dims[axis]
        to_int, to_float = self.ref(builtins.int), self.ref(builtins.float)

        def fill(lw, out):
            order = lw.local("order")
            lw.allocate(order, [n], lw.like, lw.position)

            def sort_line(line):
                def at(position):  # the index of the line's element at a position
                    idx = [position, line] if axis == 0 else [line, position]
                    return idx[:nd]

                def element(position):  # x[.., int(order[position])]
                    k = lw.let(ir.subscript(ir.name(order), position))
                    return base.elem(lw, at(lw.let(ir.call(to_int, k))))

                def test(j, v, c):  # (c = j >= 0 and x[order[j]] > v: a while's test as
                    # parse writes it, before the loop and at the end of its body)
                    lw.emit(ir.assign(c, gast.Compare(left=ir.name(j), ops=[gast.GtE()],
                                                      comparators=[ir.const(0)])))
                    saved = lw.out
                    lw.out = []
                    lw.emit(ir.assign(c, gast.Compare(left=element(ir.name(j)),
                                                      ops=[gast.Gt()], comparators=[v])))
                    body, lw.out = lw.out, saved
                    lw.emit(gast.If(test=ir.name(c), body=body, orelse=[]))

                lw.loops([n], lambda idx: lw.emit(ir.assign(
                    ir.subscript(ir.name(order), idx[0], True), ir.call(to_float, idx[0]))))

                def insert(idx):
                    i = idx[0]
                    p = lw.let(ir.subscript(ir.name(order), i))
                    v = lw.let(base.elem(lw, at(lw.let(ir.call(to_int, p)))))
                    j = lw.local("j")
                    lw.emit(ir.assign(j, ir.binop(i, gast.Sub(), ir.const(1))))
                    c = lw.local("_c")
                    test(j, v, c)
                    saved = lw.out
                    lw.out = []
                    nxt = lw.let(ir.add(ir.name(j), ir.const(1)))
                    lw.emit(ir.assign(ir.subscript(ir.name(order), nxt, True),
                                      ir.subscript(ir.name(order), ir.name(j))))
                    lw.emit(ir.assign(j, ir.binop(ir.name(j), gast.Sub(), ir.const(1))))
                    test(j, v, c)
                    body, lw.out = lw.out, saved
                    lw.emit(gast.While(test=ir.name(c), body=body, orelse=[]))
                    lw.emit(ir.assign(ir.subscript(ir.name(order), lw.let(
                        ir.add(ir.name(j), ir.const(1))), True), p))

                lw.loops([n], insert)

                def gather(idx):
                    key = at(idx[0])
                    k = lw.let(ir.subscript(ir.name(order), idx[0]))
                    lw.emit(ir.assign(ir.subscript(
                        ir.name(out), key[0] if nd == 1 else ir.tuple_of(key), True),
                        gathered.elem(lw, at(lw.let(ir.call(to_int, k))))))

                lw.loops([n], gather)

            if nd == 1:
                sort_line(None)
            else:
                lw.loops([base.dims[1 - axis]], lambda idx: sort_line(idx[0]))
        return Filled(list(base.dims), set(base.reads) | set(gathered.reads), fill)

    def cumsum(self, atom, args, keywords) -> Node:
        """``np.cumsum(x, axis=k)``: a running sum along the axis, each line of the other
        axis on its own (no axis: over the flattened array, in C order)."""
        base = self.operand(atom, once=False)
        nd = len(base.dims)
        if nd not in (1, 2):
            raise self.error("np.cumsum of an array that is not 1-d or 2-d")
        axis = self.axis_of(args, keywords, "cumsum", None, nd)
        flat = axis is None and nd == 2
        axis = nd - 1 if axis is None else axis
        dims = [self.extent(ir.binop(base.dims[0], gast.Mult(), base.dims[1]))] if flat \
            else list(base.dims)
        other = [k for k in range(nd) if k != axis]

        def fill(lw, n):
            acc = lw.local("acc")

            def line(outer):
                def step(inner):
                    idx = [None] * nd
                    for k, i in zip(other, outer):
                        idx[k] = i
                    idx[axis] = inner[0]
                    e = base.elem(lw, idx)
                    lw.emit(ir.assign(acc, ir.add(ir.name(acc), e)))
                    if flat:
                        key = lw.let(ir.add(lw.let(ir.binop(idx[0], gast.Mult(),
                                                            base.dims[1])), idx[1]), "_i")
                    else:
                        key = idx[0] if nd == 1 else ir.tuple_of(idx)
                    lw.emit(ir.assign(ir.subscript(ir.name(n), key, True), ir.name(acc)))

                if not flat:
                    lw.emit(ir.assign(acc, ir.const(0.0)))
                lw.loops([base.dims[axis]], step)

            if flat:  # (one running sum across the rows)
                lw.emit(ir.assign(acc, ir.const(0.0)))
            lw.loops([base.dims[k] for k in other], line)
        return Filled(dims, set(base.reads), fill)

    def reduce(self, how: str, atom, args, keywords) -> Node:
        node = self.operand(atom)
        axis = keywords.get("axis", args[0] if args else None)
        keep = keywords.get("keepdims", args[2] if len(args) > 2 else None)
        if set(keywords) - {"axis", "keepdims"} or len(args) > 1 and how not in ():
            raise self.error(f"np.{how} with these arguments")
        keep = bool(keep.value) if isinstance(keep, gast.Constant) else False
        nd = len(node.dims)
        axes = self.axes_of(axis, nd, how)
        dims = [ir.const(1) if k in axes else d for k, d in enumerate(node.dims)
                if keep or k not in axes]
        return Reduce(how, node, axes, keep, dims)

    def index_node(self, obj, args, keywords) -> Node | None:
        if keywords or not args:
            return None
        if obj is np.arange:
            if len(args) > 2:
                raise self.error("np.arange with a step")
            start = args[0] if len(args) == 2 else ir.const(0)
            stop = self.canonical(args[-1]) if len(args) == 1 else args[-1]
            extent = stop if len(args) == 1 else self.let(ir.binop(stop, gast.Sub(), start))
            self.note_dim(extent)
            return Index([extent], lambda lw, i: lw.let(ir.add(i, start)),
                          set(ir.names_in(start)))
        if len(args) != 3:
            return None
        a, b, n = args
        self.note_dim(n)

        def build(lw, i):
            span = lw.let(ir.binop(b, gast.Sub(), a))
            # (n - 1 steps; one point is the start, as NumPy's)
            steps = lw.let(ir.call(lw.ref(builtins.max),
                                   lw.let(ir.binop(n, gast.Sub(), ir.const(1))), ir.const(1)))
            frac = lw.let(ir.binop(i, gast.Div(), steps))
            return lw.let(ir.add(a, lw.let(ir.binop(span, gast.Mult(), frac))))
        return Index([n], build, set(ir.names_in(a)) | set(ir.names_in(b)))

    def note_dim(self, d) -> None:
        if isinstance(d, gast.Name) and d.id not in self.available:
            self.available[d.id] = self.position


def _sum_atoms(lw, a, b):
    if a is None:
        return b
    if b is None:
        return a
    return lw.let(ir.add(a, b))


def _without_unread(body: list, extents: set) -> list:
    """``body`` without the extents (and lists np.concatenate read) that nothing reads: an
    operand's extent that broadcasting did not pick, at the top or inside loops and
    branches."""
    def keep(stmts: list, loads: Counter) -> list:
        out = []
        for s in stmts:
            if isinstance(s, gast.Assign) and id(s) in extents and \
                    not loads[s.targets[0].id]:
                continue
            if isinstance(s, (gast.For, gast.While, gast.If)):
                s.body, s.orelse = keep(s.body, loads), keep(s.orelse, loads)
            out.append(s)
        return out

    while True:
        loads = Counter(n for s in body for n in ir.loads_in(s))
        before = sum(1 for _ in ir.walk_statements(body))
        body = keep(body, loads)  # (nested blocks filtered in place)
        if sum(1 for _ in ir.walk_statements(body)) == before:
            return body


def _inlined(fir, found: dict) -> list:
    """The top level with each call ``t = g(...)`` of a user's function ``g`` that is passed
    an array (``logsumexp(x, axis)``) replaced by ``g``'s body: its locals renamed apart, a
    parameter it never assigns replaced by the argument itself (a constant ``axis`` stays a
    constant), its statements placed at the call's line.  The Wasm backend compiles a called
    function on its own, of numbers and arrays it is given; an array it makes and returns, or
    an axis given as an argument, is whole-array NumPy that only the caller's lowering sees.
    A function that returns before its end, reads a global the caller sees otherwise, or
    defines functions, is left as a call (its refusal, if any, says why); so is a call of f
    itself or, in statements inlined from a function, of that function or one it was
    inlined into (a recursion)."""
    from .parse import is_user_function, parse_function

    def item_of(s):  # x = t[k]: (t, k)
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) and \
                isinstance(s.value, gast.Subscript) and isinstance(s.value.value, gast.Name) \
                and isinstance(s.value.slice, gast.Constant) and \
                type(s.value.slice.value) is int:
            return s.value.value.id, s.value.slice.value
        return None

    loads = Counter(n.id for n in ir.walk_block(fir.body)
                    if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load))
    item_reads = Counter(item_of(x)[0] for x in ir.walk_statements(fir.body) if item_of(x))
    items: dict = {}  # a tuple the function returned, read only by item: its atoms
    body, changed = [], False
    for s in fir.body:
        read = item_of(s)
        if read is not None and read[0] in items and -len(items[read[0]]) <= read[1] < \
                len(items[read[0]]):  # (p, dp = g_jvp(...): each item bound by name)
            body.append(ir.at(ir.assign(s.targets[0].id, ir.clone(items[read[0]][read[1]])),
                              s))
            continue
        call = s.value if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) \
            and isinstance(s.value, gast.Call) else None
        helper = fir.resolve(call.func) if call is not None else None
        chain = ir.anno(s, "inlined_from", frozenset()) | {fir.func}
        if call is None or call.keywords or not is_user_function(helper) or \
                helper in chain or not any(
                isinstance(a, gast.Name) and kinds_module.is_array(found.get(a.id))
                for a in call.args):
            body.append(s)
            continue
        try:
            h = parse_function(helper)
        except S2SADError:
            body.append(s)
            continue
        inlined = _inline(fir, h, call.args, s)
        target = s.targets[0].id
        if inlined and isinstance(inlined[-1], gast.Assign) and \
                isinstance(inlined[-1].value, gast.Tuple) and \
                inlined[-1].targets[0].id == target and loads[target] == item_reads[target] \
                and all(isinstance(e, (gast.Name, gast.Constant))
                        for e in inlined[-1].value.elts):
            items[target] = inlined.pop().value.elts  # (a tuple read only by its items)
        for x in inlined or []:
            ir.set_anno(x, "inlined_from", chain | {helper})
        body.extend(inlined if inlined is not None else [s])
        changed = changed or inlined is not None
    return body if changed else fir.body


def _inline(fir, h, args: list, s) -> list | None:
    """``s`` (``t = h(*args)``) as ``h``'s statements (see _inlined); None when it cannot be."""
    hbody = h.body
    # (a closure is fine: every free name must mean for f what it means for h, below)
    if h.meta.get("nested") or h.meta.get("made") or len(args) != len(h.params) \
            or not hbody or not isinstance(hbody[-1], gast.Return) or any(
                isinstance(x, (gast.Return, gast.FunctionDef))
                for x in ir.walk_statements(hbody[:-1])) or any(
                isinstance(a, gast.Starred) for a in args):
        return None
    from .parse import MISSING

    names = set(h.params) | set(h.locals)
    bind: dict = {}  # s2sad's helpers h reads that the caller has no name for
    for n in ir.walk_block(hbody):
        if not isinstance(n, gast.Name) or n.id in names:
            continue
        if n.id in fir.locals or n.id in fir.params:
            return None  # (a global the caller hides with a local)
        mine, theirs = fir.resolve(n), h.resolve(n)
        if mine is MISSING and theirs is not MISSING and \
                (getattr(theirs, "__module__", None) or "").startswith("s2sad."):
            bind[n.id] = theirs  # (a tangent function's reduction_jvp, _vjp_max)
        elif mine is not theirs:
            return None  # (a global the caller sees otherwise)
    if bind:
        made = fir.meta["made"] = dict(fir.meta.get("made", {}))
        made.update(bind)
    assigned = {t.id for x in ir.walk_statements(hbody) if isinstance(x, (gast.Assign, gast.For))
                for t in ir.walk(x.targets[0] if isinstance(x, gast.Assign) else x.target)
                if isinstance(t, gast.Name)}
    given: dict = {}  # parameter -> the argument that stands for it
    out = []
    for p, a in zip(h.params, args):
        if p not in assigned and isinstance(a, (gast.Name, gast.Constant)):
            given[p] = a
    result = hbody[-1].value
    stores = Counter(t.id for x in ir.walk_statements(hbody) if isinstance(x, gast.Assign)
                     for t in x.targets if isinstance(t, gast.Name))
    # (the name it returns, assigned once, is the caller's target itself: no copy of an array)
    # (not when the target is an argument: x = g(x) reads the old x to the end of g's body)
    into = result.id if isinstance(result, gast.Name) and stores[result.id] == 1 and \
        result.id not in h.params and not any(isinstance(x, (gast.For, gast.While, gast.If))
                                              for x in hbody) and \
        s.targets[0].id not in {n for a in args for n in ir.names_in(a)} else None
    renamed = {n: s.targets[0].id if n == into else fir.namer.numbered("_t")
               if n.startswith("_") else fir.namer.fresh(n) for n in sorted(names - set(given))}
    fir.locals |= set(renamed.values())
    origins = h.meta.get("origin", {})
    if origins:
        mine = fir.meta.setdefault("origin", {})
        for old, new in renamed.items():
            if old in origins:
                mine[new] = origins[old]
    for p, a in zip(h.params, args):
        if p not in given:
            out.append(ir.assign(renamed[p], a))
    reads = {**given, **{old: ir.name(new) for old, new in renamed.items()}}
    for x in ir.clone(hbody[:-1]):
        x = ir.substitute(x, reads)
        for n in ir.walk(x):
            if isinstance(n, gast.Name) and type(n.ctx) is not gast.Load and n.id in renamed:
                n.id = renamed[n.id]
        out.append(x)
    if not into:  # (the caller's target is the caller's name: only the value is h's)
        out.append(ir.assign(s.targets[0].id, ir.substitute(ir.clone(result), reads)))
    for x in out:  # (at the call's line: the function's own lines are of another file, maybe)
        for n in ir.walk(x):
            if "lineno" in n.__dict__ or isinstance(n, (gast.stmt, gast.expr)):
                for attr in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
                    if attr in s.__dict__:
                        setattr(n, attr, s.__dict__[attr])
    return out


def _copies_propagated(fir, found: dict) -> list:
    """The top level with ``a = b`` of two array names dropped and ``a`` read as ``b`` when
    neither is ever written element-wise or rebound (``a`` bound there only, ``b`` at most
    once, before): one array with two names (a tangent ``dt4 = dX``), which the emitter
    would refuse to copy."""
    stores: Counter = Counter()
    written: set = set()
    for x in ir.walk_statements(fir.body):
        for t in (x.targets if isinstance(x, gast.Assign) else
                  [x.target] if isinstance(x, (gast.For, gast.AugAssign)) else []):
            if isinstance(t, gast.Name):
                stores[t.id] += 1
            else:
                written.add(ir.store_base(t))
    renamed: dict = {}
    body = []
    for s in fir.body:
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) and \
                isinstance(s.value, gast.Name):
            a, b = s.targets[0].id, s.value.id
            b = renamed.get(b, ir.name(b)).id
            if kinds_module.is_array(found.get(a)) and stores[a] == 1 and \
                    a not in fir.params and stores[b] <= (0 if b in fir.params else 1) and \
                    not written & {a, b} and a not in renamed:
                renamed[a] = ir.name(b)
                continue
        body.append(ir.substitute(s, renamed) if renamed else s)
    return body if renamed else fir.body


def _versions(fir, found: dict) -> list:
    """The top level with each array name the function rebinds there (``u = u + v``; every
    binding at the top, no other name sharing it) renamed at each binding after the first
    (``u_1 = u + v``), so that every array the lowering makes has one name."""
    top_stores: Counter = Counter()
    in_place: set[str] = set()  # (x *= 3.0 of a parameter: into its own elements)
    for s in fir.body:
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
            top_stores[s.targets[0].id] += 1
            if ir.anno(s, "augmented"):
                in_place.add(s.targets[0].id)
    nested = Counter(t.id for s in fir.body if not isinstance(s, gast.Assign)
                     for x in ir.walk_statements([s]) if isinstance(x, gast.Assign)
                     for t in x.targets if isinstance(t, gast.Name))
    shared = {s.value.id for s in ir.walk_statements(fir.body) if isinstance(s, gast.Assign)
              and isinstance(s.value, gast.Name)}
    # (a parameter's first binding is the call's: x = x * 3.0 is its second)
    renamed = {n for n, c in top_stores.items() if c + (n in fir.params) > 1 and not nested[n]
               and kinds_module.is_array(found.get(n)) and n not in shared
               and not (n in fir.params and n in in_place)}
    if not renamed:
        return fir.body
    current: dict[str, Any] = {}
    seen: set[str] = renamed & set(fir.params)
    body = []
    for s in fir.body:
        s = ir.substitute(s, current) if current else s
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) and \
                s.targets[0].id in renamed:
            n = s.targets[0].id
            if n in seen:
                new = fir.namer.fresh(n)
                fir.locals.add(new)
                s = ir.clone(s)
                s.targets[0].id = new
                current[n] = ir.name(new)
            seen.add(n)
        body.append(s)
    return body


def lower_arrays(fir, param_kinds: dict, env) -> Any:
    """``fir`` with its whole-array NumPy statements lowered to element loops (see the module
    docstring); ``fir`` itself when it has none."""
    from . import rules  # (rules imports this module's importers: read once it is loaded)

    UNARY.setdefault(rules._log, rules._log)  # (the log of a ** b's rule, in tangent code)
    found = kinds_module.infer(ir.clone(fir.body), dict(param_kinds), env)
    if any(kinds_module.is_array(k) and k.ndim is None for k in param_kinds.values()):
        return fir  # (ranks unknown: the emitter reports what it cannot compile)
    fir = replace(fir, namer=fir.namer.copy(), locals=set(fir.locals),
                  meta={**fir.meta, "origin": dict(fir.meta.get("origin", {}))})
    def inferred(fir):  # (the kinds of a rewritten body, its new locals and helpers known)
        return kinds_module.infer(ir.clone(fir.body), dict(param_kinds), kinds_module.Env(
            {}, fir.resolve, fir.locals.__contains__, callee=env.callee, extra=env.extra))

    for _ in range(8):  # (helpers that call helpers; a recursive one stays a call)
        body = _inlined(fir, found)
        if body is fir.body:
            break
        fir = replace(fir, body=body)
        found = inferred(fir)
    body = _copies_propagated(fir, found)
    if body is not fir.body:
        fir = replace(fir, body=body)
    body = _versions(fir, found)
    if body is not fir.body:
        fir = replace(fir, body=body)
        found = inferred(fir)
        # (t1 = t1 + 1.0 then t1 = _t12: versioned, t1_1 = _t12 is a copy of its own)
        body = _copies_propagated(fir, found)
        if body is not fir.body:
            fir = replace(fir, body=body)
    lw = _Lowering(fir, found)
    try:
        body = lw.lower()
    except S2SADError:
        raise
    except Exception as exc:  # a bug of ours: still say where (never a raw traceback)
        raise fir.error(f"internal error while lowering arrays for the Wasm backend: "
                        f"{exc!r}", lw.like, "please report this with the function") from exc
    meta = dict(fir.meta)
    meta["made"] = lw.made
    return replace(lw.fir, body=body, locals=lw.locals, meta=meta)
