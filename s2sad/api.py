"""The public entry points: grad, value_and_grad, vjp (a thin facade over ``transform``).

A gradient is specialized per kinds of arguments (numbers, arrays of each rank, lists, tuples,
dicts): the first call with new kinds runs the transformation (cached), later calls go
straight to the generated function.  ``grad(f)`` itself parses ``f`` -- refusing what s2sad
refuses whatever the arguments -- and transforms it for the arguments it most likely gets
(numbers, or what the source shows: ``xs.append`` a list, ``x[i] = v`` an array), so that the
source can be printed at once; a refusal that only follows from such a guess waits for the
real arguments.
"""

from __future__ import annotations

import inspect
import threading
import weakref
from collections.abc import Callable
from typing import Any

import gast
import numpy as np

from . import ir, kinds
from .dispatch import EntryPoint
from .errors import S2SADError
from .nested import derivative_recipe, innermost, source_for_call, source_function
from .parse import parse_function
from .pickling import built
from .runtime import assertion_of, fresh_copy, is_complex, like, tangent_zero
from .transform import (
    Transformed,
    Wrt,
    argument_binder,
    positional_arity,
    transform,
    transform_forward,
    wrt_names,
)

_SCALAR_TYPES = (float, int, bool)


_STRUCTURED = frozenset({np.ndarray, list, tuple, dict})


def spec_key(args) -> tuple:
    """What a specialization depends on: the arguments' types, arrays' ranks and dtypes, and
    the kinds of containers' elements."""
    key = tuple(map(type, args))
    if _STRUCTURED.isdisjoint(key):  # numbers only: their types say it all
        return key
    extra = ()
    for a in args:
        t = type(a)
        if t is np.ndarray:
            extra += (a.ndim, a.dtype.char)
        elif t in (list, tuple, dict):
            extra += (kinds.value_kind(a),)
    return key + extra if extra else key


def guess_kinds(f: Callable, params: list[str]) -> dict:
    """The kinds ``f``'s parameters most likely have, read off its source (numbers unless
    the source shows a list, an array or a container)."""
    fir = parse_function(f)
    cached = fir.meta.get("guessed")  # (the IR is cached: a closure made again reads it)
    if cached is not None and cached[0] == params:
        return dict(cached[1])
    out = {p: kinds.FLOAT for p in params}
    for node in ir.walk_block(fir.body):
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) and \
                isinstance(node.func.value, gast.Name) and node.func.value.id in out:
            p = node.func.value.id
            if node.func.attr in ("append", "extend", "insert", "pop"):
                out[p] = kinds.Seq("list", kinds.FLOAT)
            elif out[p] == kinds.FLOAT:
                out[p] = kinds.OBJECT
        elif isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name) and \
                node.value.id in out and out[node.value.id] == kinds.FLOAT:
            out[node.value.id] = kinds.OBJECT
        elif isinstance(node, gast.Attribute) and isinstance(node.value, gast.Name) and \
                node.value.id in out and out[node.value.id] == kinds.FLOAT:
            out[node.value.id] = kinds.OBJECT
    for p in fir.meta.get("mutated", {}):  # assigned into: most likely an array
        if out.get(p) == kinds.OBJECT:
            out[p] = kinds.Array(None)
    guessed = {p: k for p, k in out.items() if k != kinds.OBJECT}
    fir.meta["guessed"] = (list(params), guessed)
    return dict(guessed)


def _arrays_but_defaults(f: Callable, params: list[str]) -> dict:
    """Every parameter an array, but those with a default: the default's kind (``_range=None``
    is most likely left out)."""
    out = {p: kinds.Array(None) for p in params}
    for p, param in inspect.signature(f).parameters.items():
        if p in out and param.default is not inspect.Parameter.empty:
            out[p] = kinds.value_kind(param.default)
    return out


def _too_deep(f: Callable) -> S2SADError:
    import sys

    return S2SADError(f"the gradient of {f.__name__} recursed deeper than Python's recursion "
                      f"limit ({sys.getrecursionlimit()}): a recursive function's adjoint "
                      "takes about twice the frames of the function",
                      hint="raise sys.setrecursionlimit, or write the recursion as a loop")


def check_output(t: Transformed) -> None:
    """``grad`` differentiates functions with one scalar output: anything else is refused
    (with the line of the return) and pointed to ``vjp``."""
    k = t.output_kind
    fir = t.fir
    ret = fir.body[-1]
    what = None
    if t.returns_tuple or (isinstance(k, kinds.Seq) and k.kind == "tuple"):
        what = "returns a tuple"
    elif isinstance(k, kinds.Array) and k.ndim is not None and k.ndim > 0:
        what = f"returns an array of {k.ndim} dimension{'s' if k.ndim > 1 else ''}"
    elif isinstance(k, kinds.Seq):
        what = "returns a list"
    elif isinstance(k, kinds.Dict):
        what = "returns a dict"
    elif k == kinds.NONE:
        what = "returns None" if not _is_implicit_return(ret) else "returns nothing"
    elif k == kinds.STR:
        what = "returns a string"
    if what is not None:
        raise fir.error(f"{fir.name} {what}; grad needs one number", ret,
                        "use s2sad.vjp for a function with several outputs or an array "
                        "output, and seed it with the output's cotangent")


def _is_implicit_return(ret) -> bool:
    from .ir import anno

    return bool(anno(ret, "implicit"))


def _check_value(t: Transformed, value) -> None:
    """For an output whose kind the transformation could not tell: one number, or refused."""
    if isinstance(value, (float, int, bool, np.floating, np.integer)) or (
            isinstance(value, np.ndarray) and value.ndim == 0):
        return
    ret = t.fir.body[-1]
    raise t.fir.error(f"{t.fir.name} returned a {type(value).__name__}; grad needs one number",
                      ret, "use s2sad.vjp for a function with several outputs or an array "
                      "output")


def _same_objects(f: Callable, t: Transformed, args) -> None:
    """The generated code copies the arguments ``f`` writes into; Python would let a write
    through one argument show in another that is the same object.  Refused when it happens."""
    copies = t.reverser.entry_copies
    if not copies:
        return
    params = t.params
    for p in copies:
        a = args[params.index(p)]
        for q, b in zip(params, args):
            if q != p and isinstance(b, (list, dict, np.ndarray)) and (
                    b is a or isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
                    and np.shares_memory(a, b)):
                raise S2SADError(f"{f.__name__} writes into its argument '{p}', and '{q}' is "
                                 "the same object (or shares its memory)",
                                 hint="pass copies, or arguments that do not overlap")


def _make_nested(g: Callable, wrt: Wrt, verbose: bool, with_value: bool) -> Callable:
    """The gradient of a gradient s2sad made: per argument kinds, the gradient of the
    function with source that computes it (nested.py)."""
    f = innermost(g)
    params = list(inspect.signature(f).parameters)
    bind = argument_binder(f, params)
    made: dict = {}

    def nested(*args, **kwargs):
        args = bind(args, kwargs)
        key = tuple(kinds.value_kind(a) for a in args)
        fn = made.get(key)
        if fn is None:
            fn = made[key] = _make(source_function(g, key), wrt, verbose, with_value,
                                   arg_kinds=dict(zip(params, key)))
            outer.source = fn.source
        return fn(*args)

    outer = built(nested, "value_and_grad" if with_value else "grad", g, wrt)
    outer.__name__ = f"{'value_and_grad' if with_value else 'grad'}_{g.__name__}"
    outer.source = None
    return outer


def _make(f: Callable, wrt: Wrt, verbose: bool, with_value: bool,
          memory: int | str | None = None, arg_kinds: dict | None = None) -> Callable:
    """The gradient of ``f``: one per function and options (``s2sad.grad(g)`` written in a
    loop, or in a function called often, is made once).  ``arg_kinds``: the kinds of the
    arguments it will be called with, when they are known (no guess from the source)."""
    if verbose:
        return _build(f, wrt, verbose, with_value, memory, arg_kinds)
    key = (f, with_value, wrt, memory)
    try:
        with _MADE_LOCK:
            fn = _MADE.pop(key, None)
    except TypeError:  # (an unhashable wrt)
        return _build(f, wrt, verbose, with_value, memory, arg_kinds)
    if fn is None:
        fn = _build(f, wrt, verbose, with_value, memory, arg_kinds)
    with _MADE_LOCK:
        while len(_MADE) >= _MADE_KEPT:
            _MADE.pop(next(iter(_MADE)))
        _MADE[key] = fn  # (the most recent last)
    return fn


# (f, with value, wrt, memory) -> the gradient made: the last few, reused (threads share it)
_MADE: dict = {}
_MADE_KEPT = 64
_MADE_LOCK = threading.Lock()


def _for_likely_kinds(f: Callable, names: list, params: list, budget) -> Any:
    """The transformation for the argument kinds ``f``'s source suggests, or None when it is
    refused for them but may not be for the real arguments (a refusal that only follows
    from a guess waits for the first call)."""
    guessed = guess_kinds(f, params)
    try:
        t = transform(f, names, kinds=guessed, memory=budget)
        check_output(t)
        return t
    except S2SADError as refusal:
        # refused for the guessed kinds: reported now if arrays are refused too
        try:
            check_output(transform(f, names, kinds=_arrays_but_defaults(f, params),
                                   memory=budget))
        except S2SADError as again:
            if not getattr(again, "needs_arguments", False) and \
                    (again.lineno, again.what) == (refusal.lineno, refusal.what):
                # refused the same way for numbers and for arrays: reported now (guesses
                # that disagree wait for the arguments -- a guess refused elsewhere named a
                # construct the real arguments pass, .std() of a number, before np.unwrap)
                raise refusal from None
        return None


def _build(f: Callable, wrt: Wrt, verbose: bool, with_value: bool,
           memory: int | str | None = None, arg_kinds: dict | None = None) -> Callable:
    from .checkpoint import parse_memory

    budget = parse_memory(memory)
    if derivative_recipe(f) is not None:
        if budget is not None:
            raise S2SADError("memory= is not supported for the gradient of a gradient")
        return _make_nested(f, wrt, verbose, with_value)
    if not callable(f):
        raise S2SADError(f"expected a function to differentiate, got {type(f).__name__}")
    try:
        params = list(inspect.signature(f).parameters)
    except (TypeError, ValueError):
        params = []
    names, single = wrt_names(f, params, wrt) if params else ([], True)
    # parsed now (refusals that hold whatever the arguments), transformed now for the
    # arguments' kinds when they are known, else for the likely ones
    parse_function(f)
    if arg_kinds is not None:
        t = transform(f, names, kinds=arg_kinds, memory=budget)
        check_output(t)
    else:
        t = _for_likely_kinds(f, names, params, budget)
    if verbose and t is not None:
        print(t.full_source)
    bind = argument_binder(f, params)
    positions = [params.index(w) for w in names]
    # spec_key(args) -> (vjp, gradients need no reshaping, the transformation, its guard)
    specs: dict = {}
    plain = {float, int, bool, np.ndarray}

    def vjp_for(args):
        key = spec_key(args)
        entry = specs.get(key)
        if entry is not None and entry[3]():
            return entry
        spec = transform(f, names, kinds={p: kinds.value_kind(a) for p, a in zip(params, args)},
                         memory=budget)
        check_output(spec)
        if spec is not t and verbose:
            print(spec.full_source)
        known = isinstance(spec.output_kind, kinds.Scalar)
        # the plain call: numbers and arrays, a known scalar output, no argument to check
        plain_call = all(type(a) in plain for a in args) and known and \
            not spec.reverser.entry_copies
        # (the guard: what the transformation read from outside still holds)
        entry = specs[key] = (spec.vjp, plain_call, spec, spec.guard.fast())
        fn.source = spec.full_source
        fn.transformed = spec
        return entry

    def shaped(args, g):
        if single:
            return like(args[positions[0]], g)
        if len(positions) == 1:
            g = (g,)
        return tuple(like(args[p], gi) for p, gi in zip(positions, g))

    def run(args):
        vjp, _, spec, _ = vjp_for(args)
        _same_objects(f, spec, args)
        try:
            value, g = vjp(*args)
        except AssertionError:
            raise assertion_of(f, args) from None
        except RecursionError:
            raise _too_deep(f) from None
        if not isinstance(spec.output_kind, kinds.Scalar):
            _check_value(spec, value)
        return value, shaped(args, g)

    if with_value:
        def value_and_grad_f(*args, **kwargs):
            return run(bind(args, kwargs))
        fn = built(value_and_grad_f, "value_and_grad", f, wrt, *_budget_option(memory))
    else:
        nparams = positional_arity(inspect.signature(f))  # (the fast path's calls)

        def grad_f(*args, **kwargs):
            if not kwargs and len(args) == nparams:
                entry = specs.get(spec_key(args))
                if entry is not None and entry[1] and entry[3]():
                    # numbers and arrays of a known scalar function: nothing to reshape
                    try:
                        g = entry[0](*args)[1]
                    except AssertionError:
                        raise assertion_of(f, args) from None
                    except RecursionError:
                        raise _too_deep(f) from None
                    if type(g) is not float and _has_complex(g):
                        return shaped(args, g)  # (real arguments: the real part)
                    return g if single else (g,) if len(positions) == 1 else g
            return run(bind(args, kwargs))[1]
        fn = built(grad_f, "grad", f, wrt, *_budget_option(memory))
    fn.__name__ = f"{'value_and_grad' if with_value else 'grad'}_{f.__name__}"
    fn.__doc__ = f"Gradient of {f.__name__} with respect to {', '.join(names)} (s2sad)."
    fn.source = t.full_source if t is not None else None
    fn.transformed = t
    return fn


def grad(f: Callable, wrt: Wrt = 0, verbose: bool = False, backend: str = "python",
         memory: int | str | None = None) -> Callable:
    """Return a function with ``f``'s signature that computes the gradient of ``f``.

    ``f`` must return one number.  ``wrt`` is a parameter position or name, or a tuple of
    them; the gradient is a float (or a list/tuple/dict/array shaped like the input) for one
    ``wrt`` and a tuple for a tuple ``wrt``.  The transformation runs here and once more for
    each new kind of arguments (an array of another rank, a list...), and is cached.  With
    ``verbose=True`` the generated source is printed; it is always available as the returned
    function's ``source`` attribute (the most recent specialization's).

    ``backend="wasm"`` compiles the same adjoint to a WebAssembly module run by wasmtime
    (scalar and array-loop code; see ``s2sad.wasm``); its ``source()`` is the WAT text.

    ``memory`` (bytes, or a string like ``"64MB"``) bounds the tape: every loop outside loops
    that tapes is checkpointed (binomial schedule, ``s2sad.checkpointed``) so that its
    snapshots and the tape of one segment fit, re-running iterations instead of taping them.
    """
    if backend == "wasm":
        from . import wasm

        return wasm.grad(f, wrt, verbose, memory=memory)
    _check_backend(backend)
    return _make(f, wrt, verbose, with_value=False, memory=memory)


def value_and_grad(f: Callable, wrt: Wrt = 0, verbose: bool = False,
                   backend: str = "python", memory: int | str | None = None) -> Callable:
    """Like ``grad``, but the returned function returns ``(f(*args), gradient)``."""
    if backend == "wasm":
        from . import wasm

        return wasm.value_and_grad(f, wrt, verbose, memory=memory)
    _check_backend(backend)
    return _make(f, wrt, verbose, with_value=True, memory=memory)


def _has_complex(g) -> bool:
    """Whether a gradient holds complex values (complex intermediates of a real function)."""
    t = type(g)
    if t is float:
        return False
    if t is tuple:
        return any(_has_complex(x) for x in g)
    return is_complex(g)


def _budget_option(memory) -> tuple:
    """The recipe's options beyond wrt (pickling.py): the budget, when one is given."""
    return () if memory is None else (memory,)



def _check_backend(backend: str) -> None:
    if backend != "python":
        raise S2SADError(f"unknown backend {backend!r}", hint='use "python" or "wasm"')


def vjp(f: Callable, *args: Any, **kwargs: Any) -> tuple[Any, Callable]:
    """Evaluate ``f(*args, **kwargs)`` once and return ``(value, pullback)``.

    ``pullback(seed)`` runs the adjoint sweep of that evaluation and returns one cotangent
    per parameter of ``f``, in the signature's order (defaults and keyword arguments
    included); ``seed`` has the structure of the value (a float for a number, an array for
    an array, a tuple for a tuple).  It may be called any number of times.

    ``memory=`` (bytes or ``"64MB"``), unless ``f`` has a parameter of that name, bounds the
    tape as for ``grad``: loops that tape are checkpointed.
    """
    from .checkpoint import parse_memory

    made = f  # (what a pickled pullback is made from again)
    derivative = derivative_recipe(f) is not None  # a gradient s2sad made: f's parameters
    signature_of = innermost(f) if derivative else f
    params = list(inspect.signature(signature_of).parameters)
    given = (tuple(args), dict(kwargs))  # (what a pickled pullback evaluates again)
    budget = None
    if "memory" in kwargs and "memory" not in params:
        kwargs = dict(kwargs)
        budget = parse_memory(kwargs.pop("memory"))
    args = argument_binder(signature_of, params)(args, kwargs)
    arg_kinds = [kinds.value_kind(a) for a in args]
    if derivative:  # the function with source computing that gradient
        f = source_for_call(f, arg_kinds)
    t = transform(f, params, kinds=dict(zip(params, arg_kinds)), memory=budget)
    _same_objects(f, t, args)
    forward, _ = t.split()
    try:
        value, pull = forward(*args)
    except AssertionError:
        raise assertion_of(f, args) from None
    restore = _closure_state(pull, deep=bool(t.reverser.undo), skip=f.__closure__ or ())

    def pullback(seed):
        restore()  # each call starts from the state the forward sweep left
        g = pull(seed)
        if len(params) == 1:
            g = (g,)
        return tuple(like(a, gi) for a, gi in zip(args, g))

    # (pickled as f and the arguments: the other side evaluates f again)
    return value, built(pullback, "pullback", made, *given)


def _closure_state(pull: Callable, deep: bool, skip=()) -> Callable:
    """Remember what the pullback's closure holds after the forward sweep; the returned
    function puts it back.  The adjoint sweep empties the tape (a list: copied) and, when
    ``deep``, undoes changes of lists, dicts and arrays in place (copied all the way).  The
    cells of ``skip`` (the user function's own closure) are the user's, left alone."""
    cells = []
    for cell in pull.__closure__ or ():
        if any(cell is c for c in skip):
            continue
        try:
            cells.append((cell, cell.cell_contents))
        except ValueError:  # a variable the forward sweep never bound
            pass

    def copy(v):
        if deep and isinstance(v, (list, dict, np.ndarray)):
            return fresh_copy(v)
        return list(v) if isinstance(v, list) else v

    saved = [(cell, copy(v)) for cell, v in cells]

    def restore():
        for cell, v in saved:
            cell.cell_contents = copy(v)

    return restore



def _varies(kind) -> bool:
    """Whether an argument of ``kind`` carries a tangent: floats, float arrays, containers
    of those (not ints, bools, strings, None)."""
    if kind == kinds.FLOAT:
        return True
    if isinstance(kind, kinds.Array):
        return kind.dtype not in ("int", "bool")
    if isinstance(kind, kinds.Seq):
        return any(_varies(k) for k in (kind.elts or (kind.elem,)))
    if isinstance(kind, kinds.Dict):
        return _varies(kind.value)
    return False


def _tangent_like(primal, tangent, pname: str, fname: str):
    """The tangent given for ``primal``, checked and made float (an int 0 is 0.0)."""
    if type(tangent) is float and type(primal) is float:
        return tangent
    if type(tangent) is np.ndarray and type(primal) is np.ndarray and \
            tangent.dtype == np.float64 and tangent.shape == primal.shape:
        return tangent
    if isinstance(primal, np.ndarray):
        out = np.asarray(tangent, dtype=np.float64)
        if out.shape != primal.shape and out.shape != ():
            raise S2SADError(f"jvp of {fname}: the tangent of '{pname}' has shape "
                             f"{out.shape}, its primal {primal.shape}")
        return np.broadcast_to(out, primal.shape) if out.shape == () else out
    if isinstance(primal, (list, tuple)):
        if not isinstance(tangent, (list, tuple)) or len(tangent) != len(primal):
            raise S2SADError(f"jvp of {fname}: the tangent of '{pname}' must be a "
                             f"{type(primal).__name__} of {len(primal)} items")
        return type(primal)(_tangent_like(p, t, pname, fname) for p, t in zip(primal, tangent))
    if isinstance(primal, dict):
        return {k: _tangent_like(v, tangent[k], pname, fname) for k, v in primal.items()}
    if isinstance(tangent, np.ndarray) and tangent.shape == () and tangent.dtype.kind in "fiu":
        return float(tangent)  # (a 0-d array, as np.float64(x) * 1 or np.copy(x) give)
    if not isinstance(tangent, (int, float, np.floating, np.integer)) or \
            isinstance(tangent, bool):
        raise S2SADError(f"jvp of {fname}: the tangent of '{pname}' must be a number, got "
                         f"{type(tangent).__name__}")
    return float(tangent)


class PerFunction:
    """A cache of state per user function, held weakly (a function dropped drops its entry);
    the function looked up last is found again without making a weak reference (calling
    ``jvp(f, ...)`` in a loop: a microsecond primal must not pay a dictionary of weak keys)."""

    def __init__(self) -> None:
        self._entries: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._last: tuple = (None, None)

    def get(self, f: Callable) -> Any:
        ref, value = self._last
        if ref is not None and ref() is f:
            return value
        value = self._entries.get(f)
        if value is not None:
            self._last = (weakref.ref(f), value)
        return value

    def __setitem__(self, f: Callable, value: Any) -> None:
        self._entries[f] = value
        self._last = (weakref.ref(f), value)

    def of(self, f: Callable) -> dict:
        """``f``'s entry: a dict made on first use, holding ``f``'s parameters."""
        entry = self.get(f)
        if entry is None:
            entry = self[f] = {"params": list(inspect.signature(f).parameters)}
        return entry


# f -> {"params": f's parameters, (argument kinds key, wrt): (tangent function, its guard)}
_FORWARDS = PerFunction()


_WASM_FORWARDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _wasm_forward(f: Callable):
    from .wasm import WasmForward

    made = _WASM_FORWARDS.get(f)
    if made is None:
        made = _WASM_FORWARDS[f] = WasmForward(f)
    return made


def refuse_integer_tangent(f, p: str, a, tangent) -> None:
    """An int or bool primal (or an array of them) has no tangent: a nonzero one is refused
    -- leaving it out silently made ``jvp(g, (5, x), (1.0, 0.0))`` differ from the same jvp
    transformed inside a differentiated function, where 5 may be a float at other calls."""
    integer = isinstance(a, (bool, int, np.integer, np.bool_)) or (
        isinstance(a, np.ndarray) and a.dtype.kind in "biu")
    if integer and _nonzero(tangent):
        raise S2SADError(f"jvp of {getattr(f, '__name__', f)}: '{p}' is an integer "
                         f"({type(a).__name__}) with a nonzero tangent; an integer has no "
                         "tangent", hint="give 0 as its tangent, or pass a float")


def _nonzero(tangent) -> bool:
    if type(tangent) is float:
        return tangent != 0.0
    if isinstance(tangent, np.ndarray):
        return np.count_nonzero(tangent) != 0  # (a third of .any()'s time; nan counts)
    if isinstance(tangent, (list, tuple)):
        return any(_nonzero(t) for t in tangent)
    if isinstance(tangent, dict):
        return any(_nonzero(t) for t in tangent.values())
    return tangent != 0


def make_jvp(f: Callable, wrt: Wrt = 0, verbose: bool = False,
             backend: str = "python") -> Callable:
    """Return ``f_jvp(*args, *tangents) -> (f(*args), tangent_out)``: forward mode of ``f``
    along tangents of the ``wrt`` parameters (one per parameter, in ``wrt``'s order), the
    generated tangent function itself behind a check of the argument types -- what
    ``s2sad.jvp`` computes, for a loop of calls (a Newton-Krylov solver's products) without
    its per-call sorting of which tangents are zero.  Built once per argument kinds, like
    ``grad``; ``.source`` holds the tangent function, printed with ``verbose=True``."""
    if backend != "wasm":
        _check_backend(backend)
    if not callable(f):
        raise S2SADError(f"expected a function to differentiate, got {type(f).__name__}")
    params = list(inspect.signature(f).parameters)
    names, _ = wrt_names(f, params, wrt)
    positions = [params.index(w) for w in names]
    n, total = len(params), len(params) + len(names)
    fname = getattr(f, "__name__", "f")
    parse_function(f)  # (refusals that hold whatever the arguments: now)
    specs: dict = {}  # spec_key(args and tangents) -> (tangent function, its guard)
    shaped: dict = {}  # types, arrays' shapes and dtypes -> (tangent function, its guard)

    def arguments(args) -> tuple:
        """``args`` checked: primals, then a tangent per wrt parameter shaped like it."""
        if len(args) != total:
            raise S2SADError(f"{fname}_jvp takes {n} arguments and {len(names)} tangents "
                             f"({', '.join(names)}), got {len(args)} values")
        primals, tangents = args[:n], args[n:]
        for p, k, tan in zip(names, positions, tangents):
            refuse_integer_tangent(f, p, primals[k], tan)
        return primals, tuple(_tangent_like(primals[k], tan, p, fname)
                              for p, k, tan in zip(names, positions, tangents))

    def build(args) -> tuple:
        """The entry for ``args`` (made now if need be) and the arguments it takes."""
        primals, tangents = arguments(args)
        key = spec_key(primals + tangents)
        entry = specs.get(key)
        if entry is None or not entry[1]():
            arg_kinds = {q: kinds.value_kind(a) for q, a in zip(params, primals)}
            for p, k in zip(names, positions):
                if not _varies(arg_kinds[p]):
                    raise S2SADError(f"jvp of {fname}: '{p}' carries no tangent (an "
                                     f"{type(primals[k]).__name__})",
                                     hint="give floats or float arrays for the wrt parameters")
            t = transform_forward(f, names, kinds=arg_kinds)
            entry = specs[key] = (t.jvp, t.guard.fast())
            f_jvp.source = t.full_source
            if verbose:
                print(t.full_source)
        return entry, primals + tangents

    def jvp_f(*args):
        key = tuple(map(type, args))
        # (numbers only: their types say it all; arrays by their shapes and dtypes too,
        # checked when the entry was built)
        entry = specs.get(key) if _STRUCTURED.isdisjoint(key) else \
            shaped.get(_shaped_key(args))
        if entry is None or not entry[1]():
            entry, checked = build(args)
            if all(c is a for c, a in zip(checked, args)):
                if np.ndarray in key and all(t in (float, int, bool, np.ndarray) for t in key):
                    # (numbers and arrays, the tangents as given: this call's shapes are a key)
                    if len(shaped) > 256:
                        shaped.clear()
                    shaped[_shaped_key(args)] = entry
                # (the next calls like this one check their arguments inline)
                entry_point.install(args, *entry)
            args = checked
        try:
            return entry[0](*args)
        except AssertionError:
            raise assertion_of(f, args[:n]) from None

    if backend == "wasm":
        def wasm_jvp(*args):
            primals, tangents = arguments(args)
            full = [0.0 if not isinstance(a, np.ndarray) else np.zeros(a.shape)
                    for a in primals]
            for k, tan in zip(positions, tangents):
                full[k] = tan
            return _wasm_forward(f)(primals, full)
        f_jvp = built(wasm_jvp, "make_jvp", f, wrt, backend)
    else:
        entry_point = EntryPoint(f"{fname}_jvp", total, jvp_f,
                                 lambda args: assertion_of(f, args[:n]))
        f_jvp = built(entry_point.function, "make_jvp", f, wrt, backend)
    f_jvp.__name__ = f"{fname}_jvp"
    f_jvp.__doc__ = f"Forward mode of {fname} along tangents of {', '.join(names)} (s2sad)."
    f_jvp.source = None
    return f_jvp


def _shaped_key(args) -> tuple:
    """Numbers by type, arrays by shape and dtype (what a plain call of make_jvp's is built
    for)."""
    return tuple([(a.shape, a.dtype) if type(a) is np.ndarray else type(a) for a in args])


def jvp(f: Callable, primals, tangents, backend: str = "python",
        verbose: bool = False) -> tuple[Any, Any]:
    """``(f(*primals), tangent_out)``: the Jacobian-vector product of ``f`` at ``primals``
    along ``tangents`` (forward mode, as JAX's ``jvp``).

    ``tangents`` matches ``primals`` item by item (a number, an array of the same shape, a
    list or tuple of those); an int or bool primal has no tangent (give 0: a nonzero one is
    refused).  The tangent of
    the output has the output's structure.  The transformation is built once per argument
    kinds and cached; its source is printed with ``verbose=True``.
    """
    primals, tangents = tuple(primals), tuple(tangents)
    if backend == "wasm":
        return _wasm_forward(f)(primals, tangents)
    if backend != "python":
        _check_backend(backend)
    if derivative_recipe(f) is not None:  # a gradient s2sad made: the function computing it
        f = source_for_call(f, [kinds.value_kind(a) for a in primals])
    cache = _FORWARDS.of(f)
    params = cache["params"]
    if len(primals) != len(params) or len(tangents) != len(primals):
        raise S2SADError(f"jvp of {f.__name__}: {len(params)} parameters, {len(primals)} "
                         f"primals and {len(tangents)} tangents",
                         hint="give one primal and one tangent per parameter")
    key = spec_key(primals)
    arg_kinds = None
    wrt, ts = [], []  # a zero tangent marks a primal that is not varied: left out
    for p, a, tan in zip(params, primals, tangents):
        if type(tan) is float and type(a) is float:  # (the common case first: numbers)
            if tan != 0.0:
                wrt.append(p)
                ts.append(tan)
            continue
        if (type(tan) is float or type(tan) is int) and tan == 0:
            continue  # (0.0 for a number, an array, a list: not varied)
        if not (type(a) is float or type(a) is np.ndarray and a.dtype == np.float64):
            refuse_integer_tangent(f, p, a, tan)
            if isinstance(a, (bool, int, str)) or a is None:
                continue
            arg_kinds = arg_kinds or {q: kinds.value_kind(b) for q, b in zip(params, primals)}
            if not _varies(arg_kinds[p]):
                continue
        tan = _tangent_like(a, tan, p, f.__name__)
        if _nonzero(tan):
            wrt.append(p)
            ts.append(tan)
    wrt = tuple(wrt)
    if not wrt:
        value = f(*primals)
        return value, tangent_zero(value)
    entry = cache.get((key, wrt))
    if entry is None or verbose or not entry[1]():
        arg_kinds = arg_kinds or {q: kinds.value_kind(b) for q, b in zip(params, primals)}
        t = transform_forward(f, list(wrt), kinds=arg_kinds)
        entry = cache[key, wrt] = (t.jvp, t.guard.fast())
        if verbose:
            print(t.full_source)
    try:
        return entry[0](*primals, *ts)
    except AssertionError:
        raise assertion_of(f, primals) from None
