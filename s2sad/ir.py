"""The IR's building blocks, shared by every pass.

The IR is a restricted subset of Python as gast nodes (see ``docs/design.md``), plus a few node
types of its own that both printers lower -- ``emit`` to Python, ``wasm_emit`` to WebAssembly:

* ``Push(values)`` -- push one record (one value, or a tuple of values) onto the tape;
* ``Pop()`` -- the last record, taken off the tape; assigned to a name or a tuple of names;
* ``StackMark()`` and ``StackGrowth(mark, record)`` -- the tape's height, and how many records
  were pushed since a mark, each of the values of the names ``record`` (trip counts of loops
  that push once per iteration);
* ``VjpCall(func, args, seed)`` -- the cotangents of a called user function's arguments;
* ``Comment(text)`` -- a ``# text`` line in the generated code.

Every generated name comes from one ``Namer``, seeded with every name the function uses (its
parameters, locals, the globals and builtins it reads): so no generated name can capture or
shadow a user's, and passes ask the namer, not a naming convention, what a name is.

Facts that one pass computes for another are attached to nodes with ``set_anno``/``anno``.
"""

from __future__ import annotations

import contextlib
import gc
from ast import AST
from collections import deque
from collections.abc import Iterable
from typing import Any

import gast

_LOCATION = ("lineno", "col_offset", "end_lineno", "end_col_offset")
_STMT = gast.stmt

# -- node builders ---------------------------------------------------------------------------


def name(id_: str, store: bool = False) -> gast.Name:
    return gast.Name(id=id_, ctx=gast.Store() if store else gast.Load(), annotation=None,
                     type_comment=None)


def const(value: Any) -> gast.Constant:
    return gast.Constant(value=value, kind=None)


def at(node, like):
    """Give ``node`` (and its expressions that have none) the location of ``like``; nested
    statement blocks keep their own."""
    if like is None:
        return node
    where = like.__dict__
    if "lineno" not in where:
        return node
    lineno, col = where["lineno"], where.get("col_offset", 0)
    d = node.__dict__
    for attr in _LOCATION:
        if attr in where:
            d[attr] = where[attr]
    stack = [node]
    while stack:
        n = stack.pop()
        d = n.__dict__
        if "lineno" not in d:
            d["lineno"] = lineno
            d["col_offset"] = col
        for f in n._fields:
            v = d.get(f)
            if type(v) is list:
                stack.extend([x for x in v if isinstance(x, AST) and not isinstance(x, _STMT)])
            elif isinstance(v, AST) and not isinstance(v, _STMT):
                stack.append(v)
    return node


def assign(target, value, like=None) -> gast.Assign:
    if isinstance(target, str):
        target = name(target, True)
    node = gast.Assign(targets=[target], value=value, type_comment=None)
    return at(node, like) if like is not None else node


def dotted(path: str):
    """``"np.linalg.norm"`` as a Name/Attribute chain."""
    parts = path.split(".")
    node = name(parts[0])
    for p in parts[1:]:
        node = gast.Attribute(value=node, attr=p, ctx=gast.Load())
    return node


def call(func, *args, keywords=()) -> gast.Call:
    if isinstance(func, str):
        func = dotted(func)
    return gast.Call(func=func, args=list(args),
                     keywords=[gast.keyword(arg=k, value=v) for k, v in keywords])


def binop(left, op, right) -> gast.BinOp:
    return gast.BinOp(left=left, op=op, right=right)


def add(a, b) -> gast.BinOp:
    return binop(a, gast.Add(), b)


def subscript(value, index, store: bool = False) -> gast.Subscript:
    return gast.Subscript(value=value, slice=index, ctx=gast.Store() if store else gast.Load())


def tuple_of(elts, store: bool = False) -> gast.Tuple:
    return gast.Tuple(elts=list(elts), ctx=gast.Store() if store else gast.Load())


def names_or_one(names: list[str], store: bool = False):
    """``a`` for one name, ``(a, b)`` for several."""
    if len(names) == 1:
        return name(names[0], store)
    return tuple_of([name(n, store) for n in names], store)


def expr_stmt(value) -> gast.Expr:
    return gast.Expr(value=value)


# -- the IR's own nodes ---------------------------------------------------------------------


class _Node:
    def __init__(self, **fields) -> None:
        super().__init__()
        for f in self._fields:
            setattr(self, f, fields.get(f))


class Push(_Node, gast.stmt):
    """Push one record -- ``values`` is a list of expressions -- onto the tape."""

    _fields = ("values",)


class Pop(_Node, gast.expr):
    """The last record of the tape, removed from it (assigned to the names it holds)."""

    _fields = ()


class StackMark(_Node, gast.expr):
    """The tape's current height (in Python, ``len(_stack)``)."""

    _fields = ()


class StackGrowth(_Node, gast.expr):
    """How many records were pushed since ``mark`` (a name holding a ``StackMark``), each
    holding the values of the names in ``record``."""

    _fields = ("mark", "record")


class VjpCall(_Node, gast.expr):
    """The cotangents of the arguments of a call to a user function: ``func`` (the name its
    generated adjoint is bound to) applied to ``args`` and the result's cotangent ``seed``.
    ``count`` is how many cotangents it returns."""

    _fields = ("func", "args", "seed", "count")


class Comment(_Node, gast.stmt):
    """A comment line in the generated code."""

    _fields = ("text",)


def comment(text: str, like=None) -> Comment:
    node = Comment(text=text)
    return at(node, like) if like is not None else node


def is_pop(node) -> bool:
    return isinstance(node, Pop)


def uses_tape(node) -> bool:
    """Whether ``node`` pushes, pops or reads the tape's height."""
    return any(isinstance(n, (Push, Pop, StackMark, StackGrowth)) for n in walk(node))


# -- walking and copying ----------------------------------------------------------------------


def walk_statements(stmts):
    """Every statement, nested ones included, in textual order."""
    for s in stmts:
        yield s
        if isinstance(s, gast.If):
            yield from walk_statements(s.body)
            yield from walk_statements(s.orelse)
        elif isinstance(s, (gast.For, gast.While)):
            yield from walk_statements(s.body)


def children(s) -> list:
    if isinstance(s, gast.If):
        return list(s.body) + list(s.orelse)
    return list(getattr(s, "body", []))


def is_path_step(node) -> bool:
    """A step of a store path: ``[i]``, or ``.T`` (a view that writes go through)."""
    return isinstance(node, gast.Subscript) or (isinstance(node, gast.Attribute)
                                                 and node.attr == "T")


def store_base(target) -> str | None:
    """The name an assignment target stores into (``a`` for ``a``, ``a[i][j]`` and
    ``a.T[i]``)."""
    while is_path_step(target):
        target = target.value
    return target.id if isinstance(target, gast.Name) else None


def path_root_parent(target):
    """The innermost step of a store path (the node whose ``value`` is the base name)."""
    node = target
    while is_path_step(node.value):
        node = node.value
    return node


def names_in(node) -> set[str]:
    return {n.id for n in walk(node) if isinstance(n, gast.Name)}


def loads_in(node) -> list[str]:
    return [n.id for n in walk(node) if isinstance(n, gast.Name)
            and isinstance(n.ctx, gast.Load)]




@contextlib.contextmanager
def paused_gc():
    """The cyclic garbage collector paused while a pass runs: the passes build many small
    trees with no cycles to collect, and the collector's passes over them were a quarter of
    the time on long functions."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def walk(node) -> Iterable:
    """Every node of ``node``'s tree, breadth first, ``node`` first (``ast.walk``'s order,
    several times faster: one loop over each node's fields, no generator per node)."""
    todo = deque((node,))
    pop, push, extend = todo.popleft, todo.append, todo.extend
    while todo:
        n = pop()
        yield n
        for f in n._fields:
            v = getattr(n, f, None)
            if type(v) is list:
                extend([x for x in v if isinstance(x, AST)])
            elif isinstance(v, AST):
                push(v)


def walk_block(stmts) -> Iterable:
    """Every node of a list of statements (``walk`` of each, in order)."""
    for s in stmts:
        yield from walk(s)


def clone(node):
    """A copy of a gast tree (several times faster than copy.deepcopy for these plain trees:
    a node's attributes are copied as one dict); locations and annotations come along."""
    if type(node) is list:
        return [clone(x) for x in node]
    if not isinstance(node, AST):
        return node
    return _copy_node(node, clone)


def substitute(node, mapping: dict):
    """A copy of ``node`` with each read of a name in ``mapping`` replaced by its value."""
    if type(node) is list:
        return [substitute(x, mapping) for x in node]
    if not isinstance(node, AST):
        return node
    if type(node) is gast.Name and node.id in mapping and type(node.ctx) is gast.Load:
        return clone(mapping[node.id])
    return _copy_node(node, lambda child: substitute(child, mapping))


def _copy_node(node, copy_child):
    """``node`` with its attributes copied as one dict and each child node (and each node of
    a list field) replaced by ``copy_child`` of it; its annotations are copied too."""
    cls = type(node)
    new = cls() if issubclass(cls, _Node) else cls.__new__(cls)
    d = new.__dict__
    d.update(node.__dict__)
    for f in node._fields:
        v = d.get(f)
        if type(v) is list:
            d[f] = [copy_child(x) for x in v]
        elif isinstance(v, AST):
            d[f] = copy_child(v)
    facts = d.get("_s2sad")
    if facts:
        d["_s2sad"] = dict(facts)
    return new


# -- annotations ------------------------------------------------------------------------------


def anno(node, key: str, default: Any = None) -> Any:
    """A fact a pass attached to ``node`` (``default`` if none)."""
    facts = getattr(node, "_s2sad", None)
    return default if facts is None else facts.get(key, default)


def set_anno(node, key: str, value: Any) -> None:
    facts = getattr(node, "_s2sad", None)
    if facts is None:
        facts = node._s2sad = {}
    facts[key] = value


# -- names ------------------------------------------------------------------------------------


def function_names(fdef) -> set[str]:
    """Every name a function definition mentions: parameters, locals, globals, builtins."""
    out = {fdef.name}
    for node in walk(fdef):
        if isinstance(node, gast.Name):  # gast's parameters are Names too
            out.add(node.id)
    return out


class Namer:
    """The one source of generated names.

    Seeded with every name the function uses, it hands out names that are none of them and
    none of each other, and remembers what each is for (its *role*): ``temp`` (a temporary of
    the normal form, folded away by ``tidy`` when used once), ``adjoint`` (``bx``, the
    cotangent of ``x``), ``flag``, ``tape``, ``saved``, ``helper``, ``seed``, ``function``.
    """

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self.taken: set[str] = set(taken)
        self.roles: dict[str, str] = {}
        self.primal_of: dict[str, str] = {}
        self._adjoints: dict[str, str] = {}
        self._counters: dict[str, int] = {}
        self._memo: dict[Any, str] = {}

    def copy(self) -> Namer:
        new = Namer(self.taken)
        new.roles = dict(self.roles)
        new.primal_of = dict(self.primal_of)
        new._adjoints = dict(self._adjoints)
        new._counters = dict(self._counters)
        new._memo = dict(self._memo)
        return new

    def reserve(self, names: Iterable[str]) -> None:
        """Names the generated code uses as they are (e.g. free names of inlined rules)."""
        self.taken.update(names)

    def _take(self, candidate: str, role: str) -> str:
        self.taken.add(candidate)
        self.roles[candidate] = role
        return candidate

    def fresh(self, base: str, role: str = "temp") -> str:
        """``base`` if no one uses it, else ``base_1``, ``base_2``, ..."""
        candidate, k = base, 0
        while candidate in self.taken:
            k += 1
            candidate = f"{base}_{k}" if not base.endswith("_") else f"{base}{k}"
        return self._take(candidate, role)

    def numbered(self, stem: str, role: str = "temp") -> str:
        """``stem1``, ``stem2``, ... (the next one no one uses)."""
        n = self._counters.get(stem, 0)
        while True:
            n += 1
            candidate = f"{stem}{n}"
            if candidate not in self.taken:
                self._counters[stem] = n
                return self._take(candidate, role)

    def once(self, key: Any, base: str, role: str = "temp") -> str:
        """One fresh name per ``key`` (a helper object, a role in the function)."""
        if key not in self._memo:
            self._memo[key] = self.fresh(base, role)
        return self._memo[key]

    def adjoint(self, primal: str) -> str:
        """The name of the cotangent of ``primal``: ``bx`` for ``x``, unless taken."""
        if primal not in self._adjoints:
            adj = self.fresh("b" + primal, "adjoint")
            self._adjoints[primal] = adj
            self.primal_of[adj] = primal
        return self._adjoints[primal]

    def role(self, name_: str) -> str | None:
        """What a generated name is for; None for the user's own names."""
        return self.roles.get(name_)

    def is_temp(self, name_: str) -> bool:
        """A generated temporary, or the adjoint or tangent of one: ``tidy`` may fold it
        away."""
        role = self.roles.get(name_)
        if role == "temp":
            return True
        return role in ("adjoint", "tangent") and \
            self.roles.get(self.primal_of.get(name_)) == "temp"

    def is_adjoint(self, name_: str) -> bool:
        return self.roles.get(name_) == "adjoint"
