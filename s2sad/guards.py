"""What a transformation read from outside the function, and a cheap check that it still holds.

A generated gradient depends on more than ``f``'s source: on what its free names denote when
it is transformed (``helper`` is ``sq``, ``np`` is NumPy, ``K`` is a float, ``k`` a closure
variable holding a list of floats), on ``f.__code__`` and on the registered rules.  Every
lookup of a free name goes through ``FunctionIR.resolve``, which records it in ``reads``:
a *read* is a path (``("global", "np", "linalg")``, ``("closure", "k")``,
``("builtin", "range")``) and the object it led to.

A ``Guard`` turns the reads of one or more functions into one compiled predicate, true while
every path still leads to what the transformation relied on:

- functions, modules, classes and other objects by identity (``helper is sq``);
- data (numbers, strings, arrays, lists, tuples, dicts) by kind (``kinds.value_kind``): the
  generated code reads the value itself when it runs, so only its kind is baked in.

Caches (``parse_function``, ``transform``, the API's specializations, the Wasm modules) keep
an entry only while its guard holds: a rebound callee, a global that changed kind or a new
rule makes the next call transform again.  The predicate is a single generated expression
(about 50 ns per read), checked on every call of a gradient.
"""

from __future__ import annotations

import builtins
import itertools
import types
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from . import kinds

MISSING_READ = object()

# types whose kind is their type (checked by ``type(v) is t``, not by value_kind)
_ATOMS = frozenset({float, int, bool, str, complex, type(None), np.float64, np.float32,
                    np.int64, np.int32, np.bool_})
# immutable: the same object has the same kind (mutable containers are looked at again)
_IMMUTABLE = frozenset({tuple, frozenset, *_ATOMS})

# bumped whenever a rule is registered (rules.py): a registration changes what is generated
RULES_VERSION = [0]


def is_data(obj: Any) -> bool:
    """Whether a read of ``obj`` is checked by kind (data) rather than by identity."""
    if obj is MISSING_READ:
        return False
    if type(obj) in _ATOMS:
        return True
    return kinds.value_kind(obj) != kinds.OBJECT


def fingerprint(value: Any) -> Any:
    """What a data read is compared by: its type for numbers and strings, else its kind."""
    t = type(value)
    if t in _ATOMS:
        return t
    return kinds.value_kind(value)


class Guard:
    """A predicate over the reads of some functions (``FunctionIR``s), compiled once and
    again whenever one of them has recorded more reads."""

    def __init__(self, firs: Iterable, pinned: Iterable[tuple] = ()) -> None:
        self.firs = list({id(fir): fir for fir in firs}.values())  # (one check per function)
        # values baked into generated code (the Wasm backend's ``math.pi``): (fir, path,
        # index or None, value), each checked for the same value
        self.pinned = list(pinned)
        self._check: Callable[[], bool] | None = None
        self._sizes: tuple = ()

    def __call__(self) -> bool:
        sizes = tuple(len(fir.reads) for fir in self.firs)
        if sizes != self._sizes or self._check is None:
            self._check = compile_check(self.firs, self.pinned)
            self._sizes = sizes
        return self._check()

    def fast(self) -> Callable[[], bool]:
        """The compiled predicate itself (for hot paths; reads recorded later are not in
        it: take it after the transformation is complete)."""
        self()
        return self._check


def path_expression(fir, path: tuple, bind: Callable[[Any, str], str],
                    verified: dict | None = None) -> str:
    """Python source that reads ``path`` of ``fir``'s function now (``bind`` names objects
    the source refers to).  ``verified`` maps paths already checked to be a known object
    (and present) to that object's name: a path below one of them starts from it."""
    func = fir.func
    verified = verified or {}
    for cut in range(len(path) - 1, 1, -1):
        if path[:cut] in verified:
            expr = verified[path[:cut]]
            for a in path[cut:]:
                expr = f"_getattr({expr}, {a!r}, _M)"
            return expr
    scope, name, attrs = path[0], path[1], path[2:]
    if scope == "global":
        expr = f"{bind(func.__globals__, 'g')}.get({name!r}, _M)"
    elif scope == "closure":
        cell = bind(closure_cell(func, name), "c")
        expr = f"_cell({cell})"
    else:
        expr = f"_B.get({name!r}, _M)"  # (a dict: no AttributeError made and dropped)
    for a in attrs:
        expr = f"_getattr({expr}, {a!r}, _M)"
    return expr


_NUMBERS = itertools.count()  # (a guard's names are its own: dispatch.EntryPoint reads the
# expressions of several in one namespace)


def compile_check(firs: list, pinned: list = ()) -> Callable[[], bool]:
    """One generated function: ``True`` while every read of ``firs`` holds and every pinned
    value is the same."""
    env: dict[str, Any] = {"_M": MISSING_READ, "_fp": fingerprint, "_B": vars(builtins),
                           "_getattr": getattr, "_rv": RULES_VERSION, "_cell": _cell,
                           "_same": _same}
    terms = [f"_rv[0] == {RULES_VERSION[0]}"]
    bound: dict[int, str] = {}

    def bind(value: Any, stem: str) -> str:
        if id(value) in bound and env[bound[id(value)]] is value:
            return bound[id(value)]
        name = f"_{stem}{next(_NUMBERS)}"
        env[name] = value
        bound[id(value)] = name
        return name

    for fir in firs:
        func = fir.func
        terms.append(f"{bind(func, 'f')}.__code__ is {bind(func.__code__, 'code')}")
        verified: dict[tuple, str] = {}  # paths checked to hold an object: its name
        for path, obj in sorted(fir.reads.items(), key=lambda item: len(item[0])):
            if path[0] == "builtin":  # still not shadowed by a global
                terms.append(f"{path[1]!r} not in {bind(func.__globals__, 'g')}")
            expr = path_expression(fir, path, bind, verified)
            if not is_data(obj):
                name = bind(obj, "o")
                if obj is not MISSING_READ:
                    verified[path] = name
                    if path[0] == "global" and len(path) == 2:  # (the fast forms)
                        expr = f"{bind(func.__globals__, 'g')}[{path[1]!r}]"
                    elif len(path) > 2 and path[:-1] in verified:
                        expr = f"{verified[path[:-1]]}.{path[-1]}"
                # (a bound method is made anew at each lookup: the same method is equal)
                same = "==" if type(obj).__name__ == "method" else "is"
                terms.append(f"{expr} {same} {name}")
            elif type(obj) in _IMMUTABLE:
                terms.append(f"((_v := {expr}) is {bind(obj, 'o')} or "
                             f"_fp(_v) == {bind(fingerprint(obj), 'k')})")
            else:
                terms.append(f"_fp({expr}) == {bind(fingerprint(obj), 'k')}")
    for fir, path, index, value in pinned:
        expr = path_expression(fir, path, bind)
        if index is not None:
            expr = f"{expr}[{index!r}]"
        terms.append(f"_same({expr}, {bind(value, 'p')})")
    body = "\n        and ".join(terms)
    source = ("def _guard():\n    try:\n        return (" + body + ")\n"
              "    except Exception:\n        return False\n")
    namespace: dict[str, Any] = {}
    exec(compile(source, "<s2sad guard>", "exec"), env, namespace)
    guard = namespace["_guard"]
    # (for a caller that tests it inline: its expression, read in env)
    guard.expression, guard.env = body, env
    return guard


def compile_reader(items: list) -> Callable[[], tuple]:
    """A function returning the current values at ``items`` ([(fir, path)]), as a tuple."""
    env: dict[str, Any] = {"_M": MISSING_READ, "_B": vars(builtins), "_getattr": getattr,
                           "_cell": _cell}

    def bind(value: Any, stem: str) -> str:
        name = f"_{stem}{len(env)}"
        env[name] = value
        return name

    exprs = [path_expression(fir, path, bind) for fir, path in items]
    source = "def _read():\n    return (" + "".join(e + ", " for e in exprs) + ")\n"
    namespace: dict[str, Any] = {}
    exec(compile(source, "<s2sad reader>", "exec"), env, namespace)
    return namespace["_read"]


def closure_cell(func: types.FunctionType, name: str):
    return func.__closure__[func.__code__.co_freevars.index(name)]


def _same(a: Any, b: Any) -> bool:
    """The same value: equal and of the same type (NaN is the same as NaN)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    try:
        return bool(a == b) or (a != a and b != b)
    except Exception:
        return False


def _cell(cell) -> Any:
    try:
        return cell.cell_contents
    except ValueError:
        return MISSING_READ


def cell_contents(func: types.FunctionType) -> dict[str, Any]:
    """``func``'s closure variables that are bound, by name."""
    out = {}
    for name, cell in zip(func.__code__.co_freevars, func.__closure__ or ()):
        try:
            out[name] = cell.cell_contents
        except ValueError:  # not bound yet
            pass
    return out
