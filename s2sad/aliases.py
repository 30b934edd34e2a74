"""Aliasing: which names may share a list, dict or array, and what a write through one does.

The reverse pass treats every variable as its own value.  Python does not: after ``ys = xs``
or ``y = x[1:]`` a write through one name changes what the other reads.  This pass makes such
writes explicit, so that every later pass may keep its simple view:

* a flow-sensitive analysis follows, statement by statement, which abstract object each name
  refers to -- an argument, an allocation site (its most recent object kept apart from older
  ones, so ``cur = nxt`` in a loop does not make next iteration's fresh ``nxt`` shared), or a
  view of one (a basic slice, an element, ``.T``) -- and which names are live;
* at a write through ``n`` (a store ``n[i] = v``, an in-place operator, a mutating method), every
  other live name ``m`` that may share memory with ``n`` must be known to: either the same
  object (the write is repeated through ``m``: idempotent, and now visible to the analysis), a
  view ``m = n[q]`` (re-derived after the write), or the base of ``n`` (the write is stored
  through ``m[q]`` as well).  Anything else is refused with the line of the write;
* ``x op= v`` keeps NumPy's in-place meaning (``x[...] = x op v``) when ``x``'s array is
  shared with a live name, and is a plain rebinding otherwise;
* writes that reach an argument's object make the generated code copy that argument on entry
  (the caller's objects are never written); writes that reach a global are refused.
"""

from __future__ import annotations

import builtins
import weakref
from dataclasses import dataclass, field

import gast

from . import ir, kinds, runtime
from .parse import MISSING, FunctionIR

MUTATING_METHODS = {"append", "extend", "insert", "pop", "remove", "sort", "reverse", "clear",
                    "update", "setdefault", "popitem", "fill", "resize", "put", "itemset",
                    "add", "discard", "partition", "byteswap", "setflags", "shuffle"}
VIEW_METHODS = {"reshape", "ravel", "view", "transpose", "swapaxes", "squeeze", "diagonal"}
VIEW_FUNCTIONS = {"reshape", "ravel", "transpose", "swapaxes", "moveaxis", "squeeze",
                  "expand_dims", "asarray", "asanyarray", "atleast_1d", "atleast_2d",
                  "atleast_3d", "broadcast_to", "diagonal", "real", "imag", "split",
                  "array_split", "hsplit", "vsplit", "flip", "fliplr", "flipud", "rot90"}
UNKNOWN = ("?",)  # a view or element whose relation to its base cannot be written through
# what a list, tuple or dict holds: a change of the container itself (append, xs[i] = v)
# does not write it; ("in", k): item k of a tuple display (unpacked by position)
CONTAINED = ("in",)


def _is_contained(step) -> bool:
    return step[0] == "in"


def _mutator_functions():
    import random

    import numpy as np

    return {np.copyto, np.put, np.place, np.putmask, np.fill_diagonal, np.random.shuffle,
            random.shuffle}


@dataclass
class Result:
    body: list
    mutated_params: set = field(default_factory=set)
    in_place: set = field(default_factory=set)  # ids of statements turned into writes
    locals: set = field(default_factory=set)  # the function's variables, new ones included


class Aliasing:
    def __init__(self, fir: FunctionIR, kinds_of: dict, env, namer, local_names: set,
                 forward: bool = False) -> None:
        # forward mode: a write into an object a container holds needs nothing more (the
        # tangent container holds the tangent object, written the same way); the reverse
        # pass refuses it (the container's cotangent would not see the write)
        self.forward = forward
        self.tracked: set[int] = set()  # sites of containers whose items are all known
        self.fir = fir
        self.kinds = kinds_of
        self.env = env
        self.namer = namer
        self.locals = local_names
        self.mutated_params: set[str] = set()
        # id(stmt) -> {m: ("repeat"|"store"|"rederive", m, path)}: the writes to repeat
        self.plans: dict[int, dict] = {}
        self.in_place: dict[int, bool] = {}  # augmented assignments kept in place
        self.step_index: dict[int, object] = {}  # id(alias statement) -> its index node
        self.used_steps: set[int] = set()
        self.live_out: dict[int, set] = {}
        self.mutators = _mutator_functions()
        self.holders: dict = {}  # abstract object -> every name that ever refers to it
        self.written_objects: dict[int, set] = {}  # id(write statement) -> objects written

    # -- kinds ---------------------------------------------------------------------------
    def may_share(self, name: str) -> bool:
        k = self.kinds.get(name)
        if k is None:
            return name in self.locals
        if isinstance(k, kinds.Scalar) or k in (kinds.STR, kinds.NONE):
            return False
        if isinstance(k, kinds.Seq) and k.kind == "tuple":
            inner = list(k.elts or ()) + [k.elem]
            return any(x is None or not (isinstance(x, kinds.Scalar) or x in (
                kinds.STR, kinds.NONE)) for x in inner)
        return True

    def kind(self, name):
        return self.kinds.get(name)

    # -- the analysis --------------------------------------------------------------------
    def run_analysis_only(self) -> None:
        body = self.fir.body
        self.liveness(body, set())
        self.bound: dict[int, frozenset] = {}  # id(stmt) -> the names bound on every path
        _bound_before(body, frozenset(self.fir.params), self.bound)
        state = {}
        for p in self.fir.params:
            if self.may_share(p):
                state[p] = frozenset({(("param", p), ())})
                self.holders.setdefault(("param", p), set()).add(p)
        self.final_state = self.block(body, state)

    def returned_params(self) -> set:
        """The parameters whose objects (or parts of them) the return value may hold, after
        ``run_analysis_only``."""
        ret = self.fir.body[-1] if self.fir.body else None
        if not isinstance(ret, gast.Return) or ret.value is None:
            return set()
        refs = self.value_refs(ret, ret.value, self.final_state) or frozenset()
        return {o[1] for o, _ in refs if o[0] == "param"}

    def sharers(self, s) -> set:
        """Every name that refers, at some point, to memory the write ``s`` changes: an
        adjoint reading one of them before the write (in time) needs it undone."""
        out = set()
        for o in self.written_objects.get(id(s), ()):
            out |= self.holders.get(o, set())
        for o, holders in self.holders.items():  # (old objects of the same site)
            if o[0] == "site" and any(w[0] == "site" and w[1] == o[1]
                                      for w in self.written_objects.get(id(s), ())):
                out |= holders
        return out

    def run(self) -> Result:
        body = self.fir.body
        self.run_analysis_only()
        for st in ir.walk_statements(body):
            if id(st) in self.written_objects:
                ir.set_anno(st, "sharers", self.sharers(st))
        if not self.plans and not self.in_place:
            return Result(body, self.mutated_params, set(), self.locals)
        new = self.rewrite(body)
        return Result(new, self.mutated_params, {k for k, v in self.in_place.items() if v},
                      self.locals)

    def block(self, stmts, state):
        for s in stmts:
            state = self.stmt(s, state)
        return state

    def stmt(self, s, state):
        if isinstance(s, gast.Assign):
            target = s.targets[0]
            if isinstance(target, gast.Name):
                return self.assign(s, target.id, s.value, state)
            base = ir.store_base(target)
            if base is not None:
                self.write(s, base, state, "store")
                # a list or dict now holds the object stored (an array copies the values)
                if isinstance(s.value, gast.Name) and s.value.id in state and \
                        not isinstance(self.kind(base), kinds.Array):
                    state = dict(state)
                    state[base] = state.get(base, frozenset()) | self.contained(
                        state[s.value.id])
            return state
        if isinstance(s, gast.Expr) and isinstance(s.value, gast.Call):
            return self.call_effects(s, s.value, state)
        if isinstance(s, gast.If):
            a = self.block(s.body, dict(state))
            b = self.block(s.orelse, dict(state))
            return _join(a, b)
        if isinstance(s, (gast.For, gast.While)):
            head = dict(state)
            if isinstance(s, gast.For):
                head.pop(s.target.id, None)
            for _ in range(50):
                end = self.block(s.body, dict(head))
                if isinstance(s, gast.For):
                    end.pop(s.target.id, None)
                new_head = _join(head, end)
                if _same_partition(new_head, head):
                    head = new_head
                    break
                head = new_head
            return head
        return state

    def elements(self, refs, of=None, index=None):
        """Objects held inside the objects ``refs`` (none when ``of``, the container's name,
        holds only numbers and strings): what a container is known to hold (its contained
        refs), and -- for a container whose items are not all known -- any part of it.
        ``index``: the item at that position only, where a tuple display says it."""
        if of is not None and not self.elements_may_share(of):
            return frozenset()
        out = set()
        for o, p in refs:
            if p and _is_contained(p[-1]):
                if index is not None and len(p[-1]) == 2 and p[-1][1] != index:
                    continue  # (another item of a tuple made here)
                out.add((o, p[:-1]))  # an item put in the container
            elif not (p == () and o[0] == "site" and o[1] in self.tracked):
                out.add((o, _extend(p, UNKNOWN)))
        return frozenset(out)

    def track(self, s) -> None:
        """The container made by ``s`` (a display, a slice, a concatenation) holds only what
        its contained refs say, until something unknown may change it."""
        self.tracked.add(id(s))

    def contained(self, refs, of=None, index=None):
        """``refs`` as what a container now holds (put in it, or held by the items of
        another container it was made from; ``index``: item ``index`` of a tuple)."""
        if of is not None and not self.elements_may_share(of):
            return frozenset()
        step = CONTAINED if index is None else ("in", index)
        return frozenset((o, _extend(p, step)) for o, p in refs)

    def elements_may_share(self, name) -> bool:
        k = self.kind(name)
        if isinstance(k, (kinds.Seq, kinds.Dict)):
            inner = [k.value] if isinstance(k, kinds.Dict) else list(k.elts or ()) + [k.elem]
            return any(x is not None and not (isinstance(x, kinds.Scalar) or x in (
                kinds.STR, kinds.NONE)) for x in inner)
        return not isinstance(k, (kinds.Array, kinds.Scalar))

    def fresh(self, s, state):
        """A new object allocated by ``s``: older objects of the same site are demoted."""
        recent = ("site", id(s), "recent")
        old = ("site", id(s), "old")
        out = {}
        for n, refs in state.items():
            out[n] = refs if isinstance(n, tuple) else frozenset(
                (old if o == recent else o, p) for o, p in refs)
        return out, frozenset({(recent, ())})

    def refs_of(self, atom, state):
        if isinstance(atom, gast.Starred):  # (f(*xs) in a callee not yet spliced: xs's items)
            inner = self.refs_of(atom.value, state)
            return inner | self.elements(inner)
        if isinstance(atom, gast.Name):
            if atom.id in self.locals:
                return state.get(atom.id, frozenset())
            obj = self.fir.resolve(atom)
            if obj is not MISSING and kinds.is_mutable(kinds.value_kind(obj)):
                return frozenset({(("global", atom.id), ())})
        return frozenset()

    def assign(self, s, t, value, state):
        if ir.anno(s, "augmented") and isinstance(value, gast.BinOp) and \
                isinstance(value.left, gast.Name) and value.left.id == t:
            kt = self.kind(t)
            if isinstance(kt, kinds.Seq) and kt.kind == "list":
                # ys += zs extends the list in place (prepare.py): the same object
                self.write(s, t, state, "method")
                if isinstance(value.right, gast.Name) and value.right.id in state:
                    state = dict(state)
                    state[t] = state.get(t, frozenset()) | self.contained(self.elements(
                        state[value.right.id], value.right.id))
                return state
            if self.shared_when_written(s, t, state):
                self.in_place[id(s)] = True
                self.write(s, t, state, "augmented")
                return state
        state = dict(state)
        # t is rebound: what was derived from it, or it from, no longer holds
        for key in [k for k, v in state.items() if isinstance(k, tuple)
                    and (k[1] == t or v[0] == t)]:
            del state[key]
        if not self.may_share(t):
            state.pop(t, None)
            return state
        refs = self.value_refs(s, value, state)
        if refs is None:  # a new object
            state, refs = self.fresh(s, state)
        state[t] = refs
        for o, _ in refs:
            self.holders.setdefault(o, set()).add(t)
        derived = self.derivation(s, value)
        if derived is not None:
            state[("derived", t)] = derived
        return state

    def derivation(self, s, value):
        """``t = b`` (the same object), ``t = b[i:j]``, ``t = b.T`` (a view): (b, path) --
        a relation that holds, whatever object b is, until t or b is rebound."""
        if isinstance(value, gast.Name) and value.id in self.locals and \
                self.may_share(value.id):
            return (value.id, ())
        if isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name) and \
                isinstance(self.kind(value.value.id), kinds.Array) and \
                _basic(value.slice, self.env) and \
                _integer_read(value.slice, self.kind(value.value.id)) == "view" and \
                isinstance(kinds.kind_of(value, self.env), kinds.Array):
            return (value.value.id, (("sub", id(s)),))
        if isinstance(value, gast.Attribute) and value.attr == "T" and \
                isinstance(value.value, gast.Name) and value.value.id in self.locals:
            return (value.value.id, (("T",),))
        return None

    def root(self, n, state):
        """The name ``n`` was derived from, through the derivations still holding, and the
        path from it to ``n``."""
        path = ()
        seen = set()
        while ("derived", n) in state and n not in seen:
            seen.add(n)
            base, steps = state[("derived", n)]
            path = steps + path
            n = base
        return n, path

    def value_refs(self, s, value, state):
        """The objects ``value`` may refer to; None for a fresh object."""
        if isinstance(value, gast.Name):
            return self.refs_of(value, state)
        if isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name):
            base = value.value.id
            refs = self.refs_of(value.value, state)
            kb = self.kind(base)
            if isinstance(kb, kinds.Array):
                if _basic(value.slice, self.env):
                    self.step_index[id(s)] = value.slice
                    what = _integer_read(value.slice, kb)
                    if what == "element":
                        return None  # a number, copied
                    if what == "either":
                        # an element or a row: not known, so not re-derived after a write
                        return frozenset((o, _extend(p, UNKNOWN)) for o, p in refs)
                    return frozenset((o, _extend(p, ("sub", id(s)))) for o, p in refs)
                return None  # fancy indexing copies
            if isinstance(value.slice, gast.Slice) and isinstance(kb, kinds.Seq):
                inner = self.contained(self.elements(refs, base))  # a slice: a new list
                self.track(s)
                return None if not inner else inner | self.fresh_marker(s)
            index = value.slice.value if isinstance(value.slice, gast.Constant) and \
                type(value.slice.value) is int and value.slice.value >= 0 else None
            return self.elements(refs, index=index)
        if isinstance(value, gast.Attribute) and isinstance(value.value, gast.Name) and \
                value.value.id in self.locals:
            refs = self.refs_of(value.value, state)
            if value.attr == "T":
                return frozenset((o, _extend(p, ("T",))) for o, p in refs)
            return self.elements(refs)
        if isinstance(value, (gast.List, gast.Tuple, gast.Dict)):
            parts = value.values if isinstance(value, gast.Dict) else value.elts
            # (a tuple's items by position: a tuple is never changed, nor reordered)
            placed = isinstance(value, gast.Tuple) and \
                not any(isinstance(e, gast.Starred) for e in parts)
            inner = frozenset()
            for k, e in enumerate(parts):
                if isinstance(e, gast.Name) and self.may_share(e.id):
                    inner |= self.contained(self.refs_of(e, state), index=k if placed else None)
            self.track(s)
            return None if not inner else inner | self.fresh_marker(s)
        if isinstance(value, gast.BinOp):
            inner = frozenset()
            for side in (value.left, value.right):
                name_ = getattr(side, "id", "")
                if isinstance(self.kind(name_), kinds.Seq):
                    inner |= self.contained(self.elements(self.refs_of(side, state), name_))
            self.track(s)
            return None if not inner else inner | self.fresh_marker(s)
        if isinstance(value, gast.Call):
            return self.call_refs(s, value, state)
        return None

    def fresh_marker(self, s):
        return frozenset({(("site", id(s), "recent"), ())})

    def call_refs(self, s, call, state):
        func = call.func
        obj = self.fir.resolve(func)
        args = list(call.args) + [k.value for k in call.keywords]
        if obj is MISSING and isinstance(func, gast.Attribute) and \
                isinstance(func.value, gast.Name) and func.value.id in self.locals:
            receiver = func.value.id
            self.method_effect(s, receiver, func.attr, call.args, state)
            rk = self.kind(receiver)
            refs = self.refs_of(func.value, state)
            if func.attr in ("copy", "astype", "tolist") or (
                    isinstance(rk, kinds.Array) and func.attr not in VIEW_METHODS):
                inner = self.elements(refs, receiver) if isinstance(rk, (kinds.Seq, kinds.Dict)) \
                    else frozenset()
                return None if not inner else inner | self.fresh_marker(s)
            if func.attr in ("pop", "get") and not self.elements_may_share(receiver):
                return None
            return self.elements(refs)
        name = getattr(obj, "__name__", "")
        module = (getattr(obj, "__module__", "") or "").split(".")[0]
        if obj is runtime.copy_of and len(call.args) == 1 and not call.keywords:
            # (generated code read again: an array's copy is a new array; anything else is
            # returned as it is)
            a = call.args[0]
            if isinstance(kinds.kind_of(a, self.env), kinds.Array):
                return None
            return self.refs_of(a, state)
        if obj in self.mutators and call.args:
            self.write(s, _name_of(call.args[0]), state, "unknown")
        if any(k.arg == "out" for k in call.keywords):
            for k in call.keywords:
                if k.arg == "out":
                    self.write(s, _name_of(k.value), state, "unknown")
        if module == "numpy":
            if name in VIEW_FUNCTIONS and call.args:
                return self.elements(self.refs_of(call.args[0], state))
            return None
        if module in ("math", "operator", "builtins") and name not in (
                "list", "tuple", "dict", "sorted", "reversed", "iter", "next", "max", "min",
                "getattr", "vars"):
            return None
        inner = frozenset()
        returned = _user_returns(obj, call, self.env)  # (None: any argument)
        for k, a in enumerate(args):
            if returned is None or k in returned:
                inner |= self.elements(self.refs_of(a, state))
        from .rules import is_library

        if is_library(obj) and module not in ("builtins",):
            return None if not inner else inner | self.fresh_marker(s)
        # a user function or an unknown callable: it may return (part of) an argument, and a
        # user function may write into its arguments
        self.callee_effects(s, obj, call, state)
        return inner | self.fresh_marker(s)

    def callee_effects(self, s, obj, call, state):
        import types

        from .parse import parse_function
        from .rules import is_library, lookup

        if isinstance(obj, types.FunctionType) and not is_library(obj) and lookup(obj) is None:
            arg_kinds = [kinds.kind_of(a, self.env) for a in call.args]
            written = callee_writes(obj, arg_kinds)
            params = list(parse_function(obj).params)
            for k, a in enumerate(call.args):
                if k < len(params) and params[k] in written:
                    self.write(s, _name_of(a), state, "unknown")
        elif obj is MISSING or not is_library(obj):
            for a in call.args:  # an unknown callable may change what it is given
                name = _name_of(a)
                if name is not None and self.may_share(name):
                    self.write(s, name, state, "unknown")

    def call_effects(self, s, call, state):
        self.call_refs(s, call, state)
        func = call.func
        if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) and \
                func.value.id in self.locals and func.attr in ("append", "insert", "extend"):
            receiver = func.value.id
            added = call.args[-1] if call.args else None
            refs = self.refs_of(added, state) if added is not None else frozenset()
            if func.attr == "extend":
                refs = self.elements(refs, added.id) if isinstance(added, gast.Name) else refs
            elif not (isinstance(added, gast.Name) and self.may_share(added.id)):
                refs = frozenset()
            if refs:
                state = dict(state)
                state[receiver] = state.get(receiver, frozenset()) | self.contained(refs)
        return state

    def method_effect(self, s, receiver, method, args, state):
        rk = self.kind(receiver)
        if method in MUTATING_METHODS:
            self.write(s, receiver, state, "method")
        elif rk == kinds.OBJECT or rk is None:
            # an unknown object's method may change the object and what it is given
            self.write(s, receiver, state, "unknown")
            for a in args:
                name = _name_of(a)
                if name is not None and self.may_share(name):
                    self.write(s, name, state, "unknown")

    # -- writes --------------------------------------------------------------------------
    def shared_when_written(self, s, n, state) -> bool:
        refs = state.get(n, frozenset())
        objs = {o for o, _ in refs}
        if any(o[0] == "global" for o in objs):
            return True
        for m in self.live_out.get(id(s), ()):
            if m != n and objs & {o for o, _ in state.get(m, frozenset())}:
                return True
        return False

    def write(self, s, n, state, how):
        if n is None or n not in self.locals:
            return
        refs = state.get(n, frozenset())
        if how == "unknown":  # whatever it now holds is not known
            self.tracked -= {o[1] for o, p in refs if o[0] == "site" and p == ()}
        if how == "method" or (how == "store" and _sets_an_item(s, n)):
            # the container itself changes, not what it holds
            refs = frozenset(r for r in refs if not (r[1] and _is_contained(r[1][-1])))
        self.written_objects.setdefault(id(s), set()).update(o for o, _ in refs)
        for o, _ in refs:
            if o[0] == "global":
                raise self.fir.error(f"mutation of global '{o[1]}' through '{n}'", s,
                                     "s2sad treats globals as constants; copy it first")
            if o[0] == "param":
                self.mutated_params.add(o[1])
        objs = {o for o, _ in refs}
        for m in sorted(self.live_out.get(id(s), ())):
            if m == n or m not in state:
                continue
            shared = objs & {o for o, _ in state[m]}
            if not shared:
                continue
            if self.forward and all(p and _is_contained(p[-1]) for o, p in state[m]
                                    if o in shared):
                continue  # m holds the object written: forward mode needs nothing more
            if m not in self.bound.get(id(s), ()):
                # (bound on some paths only: a write repeated through it would meet it
                # unbound on the others -- a generated gradient's w2 of one branch)
                raise self.fir.error(f"writes through '{n}', which may share memory with "
                                     f"'{m}', a name bound on some paths only", s,
                                     f"copy it first ({m} = {n}.copy()) where it is bound, "
                                     "or bind it on every path")
            self.plans.setdefault(id(s), {})[m] = self.relation(s, n, m, state, how)

    def relation(self, s, n, m, state, how):
        hint = (f"copy it first ({m} = {n}.copy() or list({n})) if the two should differ, "
                "or write through one name only")
        where = f"writes through '{n}', which may share memory with '{m}'"
        root_n, pn = self.root(n, state)
        root_m, pm = self.root(m, state)
        if root_n != root_m:
            # not derived from one another: the same object only if both surely are
            rn, rm = state[n], state[m]
            if len(rn) != 1 or len(rm) != 1:
                raise self.fir.error(where, s, hint)
            (on, pn), = rn
            (om, pm), = rm
            if on != om or not (on[0] == "param" or on[-1] == "recent"):
                raise self.fir.error(where, s, hint)
        if any(step == UNKNOWN or _is_contained(step) for step in pn + pm):
            raise self.fir.error(where + " (through a view or an element s2sad cannot "
                                 "write through)", s, hint)
        if how not in ("store", "augmented"):
            raise self.fir.error(f"{where}: s2sad repeats stores and in-place operators on "
                                 "the other name, not method calls", s, hint)
        for step in pn + pm:
            if step[0] == "sub":
                self.used_steps.add(step[1])
        if pm == pn:
            return ("repeat", m, ())
        if pn[:len(pm)] == pm:
            return ("store", m, pn[len(pm):])
        if pm[:len(pn)] == pn:
            return ("rederive", m, pm[len(pn):])
        raise self.fir.error(where + " (overlapping views)", s, hint)

    # -- liveness ------------------------------------------------------------------------
    def liveness(self, stmts, live_after):
        """Record, for each statement, the names live after it; return those live before."""
        live = set(live_after)
        for s in reversed(stmts):
            self.live_out[id(s)] = set(live)
            if isinstance(s, gast.If):
                a = self.liveness(s.body, live)
                b = self.liveness(s.orelse, live)
                live = a | b | set(ir.loads_in(s.test))
            elif isinstance(s, (gast.For, gast.While)):
                # (range(n) reads n once, before the loop, and holds an int: n is not live
                # in the body for it -- a trip count popped from a generated gradient's tape,
                # whose objects a write in the loop may otherwise seem to reach)
                once = set(ir.loads_in(s.iter)) if isinstance(s, gast.For) and \
                    isinstance(s.iter, gast.Call) and \
                    self.fir.resolve(s.iter.func) is builtins.range else set()
                head = set(live)
                for _ in range(50):
                    inner = self.liveness(s.body, head | live)
                    if isinstance(s, gast.For):
                        inner = (inner - {s.target.id}) | (set(ir.loads_in(s.iter)) - once)
                    else:
                        inner = inner | set(ir.loads_in(s.test))
                    new = head | inner
                    if new == head:
                        break
                    head = new
                live = head | once
            else:
                defs, uses = _defs_uses(s)
                live = (live - defs) | uses
        return live

    # -- the rewrite ---------------------------------------------------------------------
    def rewrite(self, stmts):
        out = []
        for s in stmts:
            if isinstance(s, gast.If):
                s = _copy_with(s, body=self.rewrite(s.body), orelse=self.rewrite(s.orelse))
                out.append(s)
                continue
            if isinstance(s, (gast.For, gast.While)):
                out.append(_copy_with(s, body=self.rewrite(s.body)))
                continue
            out.extend(self.captures(s))
            if self.in_place.get(id(s)):
                written = self.in_place_write(s)
            else:
                written = [s]
            out.extend(written)
            group = [x for x in written if isinstance(x, gast.Assign)
                     and isinstance(x.targets[0], gast.Subscript)]
            for plan in self.plans.get(id(s), {}).values():
                mirrored = self.mirror(s, plan)
                out.extend(mirrored)
                group += [x for x in mirrored if isinstance(x, gast.Assign)
                          and not isinstance(x.targets[0], gast.Name)]
            if len(group) > 1:
                # the same memory written under several names: undone together, so that the
                # first write's saved value is the old one (taping.py)
                for x in group:
                    ir.set_anno(x, "write_group", tuple(group))
        return out

    def captures(self, s):
        """An alias statement whose index a mirror reuses: its index's names are copied into
        names of its own, which hold the values the view was taken with."""
        if id(s) not in self.used_steps:
            return []
        index = self.step_index[id(s)]
        out = []
        mapping = {}
        for n in sorted(ir.names_in(index) & self.locals):
            c = self.namer.fresh("_at_" + n.lstrip("_"), "temp")
            self.locals.add(c)
            out.append(ir.at(ir.assign(c, ir.name(n)), s))
            mapping[n] = ir.name(c)
        if mapping:
            new_index = ir.substitute(index, mapping)
            s.value.slice = new_index
            self.step_index[id(s)] = new_index
        return out

    def in_place_write(self, s):
        """``x = x op v`` (from ``x op= v``) as ``_t = x op v; x[...] = _t``."""
        t = s.targets[0].id
        tmp = self.namer.numbered("_t")
        self.locals.add(tmp)
        compute = ir.at(ir.assign(tmp, s.value), s)
        store = ir.at(ir.assign(ir.subscript(ir.name(t), ir.const(Ellipsis), store=True),
                                ir.name(tmp)), s)
        ir.set_anno(store, "in_place_of", t)
        ir.set_anno(store, "sharers", ir.anno(s, "sharers", set()))
        self._stored_value = ir.name(tmp)
        self._store_target = store.targets[0]
        return [compute, store]

    def path(self, node, steps):
        for step in steps:
            if step[0] == "T":
                node = gast.Attribute(value=node, attr="T", ctx=gast.Load())
            else:
                node = ir.subscript(node, ir.clone(self.step_index[step[1]]))
        return node

    def mirror(self, s, plan):
        how, m, steps = plan
        if self.in_place.get(id(s)):
            target, value = self._store_target, self._stored_value
            base = s.targets[0].id
        else:
            target, value = s.targets[0], s.value
            base = ir.store_base(target)
        note = ir.comment(f"{m} shares memory with {base}", s)
        if how == "rederive":
            return [note, ir.at(ir.assign(m, self.path(ir.name(base), steps)), s)]
        # the same store through m (and the path from m to the written name)
        new_target = ir.clone(target)
        node = ir.path_root_parent(new_target)
        node.value = self.path(ir.name(m), steps)
        return [note, ir.at(gast.Assign(targets=[new_target], value=ir.clone(value),
                                        type_comment=None), s)]


MAX_PATH = 4


def _sets_an_item(s, n) -> bool:
    """Whether ``s`` is ``n[i] = v``: one item of the container ``n`` replaced."""
    target = s.targets[0] if isinstance(s, gast.Assign) else None
    return isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name) and \
        target.value.id == n


_ENDS = (gast.Return, gast.Raise, gast.Break, gast.Continue)


def _bound_before(stmts, bound: frozenset, out: dict):
    """Record, for each statement, the names bound on every path to it (``out``); the names
    bound after ``stmts``, or None when they never fall through."""
    for s in stmts:
        out[id(s)] = bound
        if isinstance(s, _ENDS):
            return None
        if isinstance(s, gast.If):
            a = _bound_before(s.body, bound, out)
            b = _bound_before(s.orelse, bound, out)
            if a is None and b is None:
                return None
            bound = b if a is None else a if b is None else a & b
        elif isinstance(s, (gast.For, gast.While)):  # (the body may not run)
            inner = bound | ({t.id for t in ir.walk(s.target) if isinstance(t, gast.Name)}
                             if isinstance(s, gast.For) else set())
            _bound_before(s.body, frozenset(inner), out)
            _bound_before(s.orelse, bound, out)
        elif isinstance(s, (gast.Assign, gast.AugAssign)):
            targets = s.targets if isinstance(s, gast.Assign) else [s.target]
            bound = bound | {t.id for x in targets for t in ir.walk(x)
                             if isinstance(t, gast.Name) and isinstance(t.ctx, gast.Store)}
        elif isinstance(s, gast.FunctionDef):
            bound = bound | {s.name}
    return bound


def _extend(path, step):
    """``path + (step,)``, kept finite (so the analysis of a loop reaches its fixed point):
    an unknown step after an unknown step adds nothing, and a long path ends unknown."""
    if (step == UNKNOWN or _is_contained(step)) and path and path[-1] == step:
        return path
    if len(path) >= MAX_PATH:
        return path[:MAX_PATH - 1] + (UNKNOWN,)
    return path + (step,)


def _name_of(node):
    return node.id if isinstance(node, gast.Name) else None


def _integer_read(index, kind) -> str:
    """What basic indexing of an array of ``kind`` gives: ``"element"`` (integers for every
    dimension: a number), ``"view"``, or ``"either"`` (integers only, the rank unknown)."""
    parts = index.elts if isinstance(index, gast.Tuple) else [index]
    ints = all(not isinstance(p, gast.Slice) and not (
        isinstance(p, gast.Constant) and (p.value is None or p.value is Ellipsis))
        for p in parts)
    if not ints:
        return "view"
    if kind.ndim is None:
        return "either"
    return "element" if len(parts) >= kind.ndim else "view"


def _basic(index, env) -> bool:
    """Basic indexing (integers, slices, None): a view, not a copy."""
    for part in (index.elts if isinstance(index, gast.Tuple) else [index]):
        if isinstance(part, gast.Slice):
            continue
        if isinstance(part, gast.Constant) and (part.value is None or part.value is Ellipsis
                                                or isinstance(part.value, int)):
            continue
        if not kinds.is_int(kinds.kind_of(part, env)):
            return False
    return True


def _join(a, b):
    out = {}
    for n in set(a) | set(b):
        if isinstance(n, tuple):  # a derivation holds after a join if it holds on both sides
            if a.get(n) == b.get(n):
                out[n] = a[n]
            continue
        out[n] = a.get(n, frozenset()) | b.get(n, frozenset())
    return out


def _same_partition(a, b) -> bool:
    return a == b


def _defs_uses(s):
    defs, uses = set(), set()
    if isinstance(s, gast.Assign):
        target = s.targets[0]
        uses |= set(ir.loads_in(s.value))
        if isinstance(target, gast.Name):
            defs.add(target.id)
        else:
            uses |= set(ir.loads_in(target)) | {ir.store_base(target)} - {None}
            for n in ir.walk(target):
                if isinstance(n, gast.Name):
                    uses.add(n.id)
    elif isinstance(s, (gast.Expr, gast.Return, gast.Assert)):
        node = s.value if not isinstance(s, gast.Assert) else s.test
        if node is not None:
            uses |= set(ir.loads_in(node))
    return defs, uses


def _copy_with(s, **fields):
    new = type(s)(**{f: getattr(s, f) for f in s._fields})
    for f, v in fields.items():
        setattr(new, f, v)
    for attr in ("lineno", "col_offset", "end_lineno", "end_col_offset", "recompute"):
        if hasattr(s, attr):
            setattr(new, attr, getattr(s, attr))
    facts = getattr(s, "_s2sad", None)
    if facts:
        new._s2sad = dict(facts)
    return new


def resolve_aliases(fir: FunctionIR, body: list, kinds_of: dict, env, namer,
                    forward: bool = False) -> Result:
    """Run the analysis on ``body`` (a copy of ``fir``'s, which it may change; see the module
    docstring); new names come from ``namer``; ``forward``: for forward mode."""
    view = FunctionIR(fir.func, fir.name, fir.params, body, fir.filename, fir.firstline,
                      fir.file_lines, fir.closure, set(fir.locals), namer, fir.meta, fir.reads)
    return Aliasing(view, kinds_of, env, namer, view.locals, forward).run()


_WRITES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def callee_writes(func, arg_kinds) -> set:
    """The parameters of user function ``func`` whose objects a call writes (directly or
    through names that share them), for arguments of these kinds.  Cached per function and
    kinds, for as long as the function's parse is (parse_function revalidates it)."""
    from .parse import parse_function

    callee = parse_function(func)
    key = tuple(arg_kinds)
    try:
        per_func = _WRITES.setdefault(func, {})
    except TypeError:
        per_func = {}
    cached = per_func.get(key)
    if cached is not None and cached[0] is callee:
        return cached[1]
    per_func[key] = (callee, set(), set(callee.params))  # (recursion: refused elsewhere)
    params = dict(zip(callee.params, arg_kinds))
    env = kinds.Env({}, callee.resolve, lambda n: n in callee.locals)
    kinds_of = kinds.infer(callee.body, {p: k for p, k in params.items() if k is not None},
                           env)
    result = Aliasing(callee, kinds_of, env, callee.namer.copy(), set(callee.locals))
    try:
        result.run_analysis_only()
        returned = result.returned_params()
    except Exception:
        # whatever the callee does that the analysis refuses, its own transformation refuses
        # too; as a caller, assume every argument it can change is changed
        result.mutated_params = {p for p in callee.params if result.may_share(p)}
        returned = set(callee.params)
    per_func[key] = (callee, set(result.mutated_params), returned)
    return per_func[key][1]


def callee_returns(func, arg_kinds) -> set:
    """The parameters of user function ``func`` whose objects (or parts) its result may hold,
    for arguments of these kinds (all of them when the analysis cannot tell)."""
    callee_writes(func, arg_kinds)
    from .parse import parse_function

    cached = _WRITES.get(func, {}).get(tuple(arg_kinds))
    if cached is None or cached[0] is not parse_function(func):
        return set(parse_function(func).params)
    return cached[2]


def _user_returns(obj, call, env) -> set | None:
    """The argument positions a call of a user function may return (parts of); None for
    anything else (which may return any of them)."""
    import types

    from . import runtime as rt
    from .parse import parse_function
    from .rules import is_library, lookup

    # helpers of generated code whose results are new: zeros shaped like an argument hold
    # none of its objects; sum's cotangent holds the cotangent it spreads; a cotangent given
    # its primal's structure holds parts of the cotangent, none of the primal's
    fresh = {rt.zeros_like: set(), rt.tangent_zero: set(), rt.fill_like: {1},
             rt.to_structure: {0}}
    if obj in fresh:
        return fresh[obj]
    if not isinstance(obj, types.FunctionType) or is_library(obj) or lookup(obj) is not None \
            or call.keywords:
        return None
    try:
        params = list(parse_function(obj).params)
        returned = callee_returns(obj, [kinds.kind_of(a, env) for a in call.args])
    except Exception:
        return None
    return {k for k, p in enumerate(params) if p in returned}
