"""The pipeline and its cache: source -> adjoint function.

``transform(f, wrt)`` runs ``parse`` (with ``lower``), ``reverse`` (activity, planning, taping,
sweeps), ``tidy`` and ``emit``, and caches the result per function, ``wrt`` and the kinds of
the arguments it was specialized for.  Callee adjoints are transformed (and cached) on the way.
The public API (``api.py``) and the Wasm backend (``wasm.py``) both start here.
"""

from __future__ import annotations

import inspect
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import gast

from . import kinds as kinds_module
from .collect import collect
from .emit import compile_function, split_vjp, to_source
from .errors import S2SADError
from .guards import Guard, is_data
from .ir import clone, paused_gc, walk
from .kinds import Array
from .loops import lower_arrays
from .parse import call_chain_error, nesting_error, parse_function
from .reverse import Context, reverse
from .runtime import MUTATING_HELPERS
from .tidy import tidy

Wrt = int | str | Sequence[int | str]

_CACHE: weakref.WeakKeyDictionary[Callable, dict] = weakref.WeakKeyDictionary()


@dataclass
class Transformed:
    """One generated adjoint: ``vjp(*params, b_out=1.0) -> (value, gradients)``."""

    name: str
    vjp: Callable
    source: str  # this function's generated source
    full_source: str  # callees' adjoints first, then this one
    sources: list[str]  # the same, one function each
    params: list[str]
    wrt: list[str]
    returns_tuple: bool
    fir: Any  # the primal IR
    reverser: Any
    adjoint_ir: Any = None  # the adjoint IR after tidy (what emit printed)
    callees: dict = field(default_factory=dict)  # adjoint name -> Transformed of callees
    output_kind: Any = None  # what the function returns (kinds.py)
    globals_: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)  # the names the generated code is given
    guard: Any = None  # true while what the transformation read still holds (guards.py)
    _split: Any = None

    def split(self) -> tuple[Callable, str]:
        """``(f_vjp, source)``: ``f_vjp(*args) -> (value, pullback)`` runs the forward sweep
        once; ``pullback(seed)`` runs the adjoint sweep (see ``emit.split_vjp``)."""
        if self._split is None:
            names = self.reverser.names.copy()
            fdef = split_vjp(self.adjoint_ir, names, self.free_data())
            source = to_source(fdef)
            fn = compile_function(source, fdef.name, self.globals_, self.extra,
                                  closure_cells(self.fir.func))
            self._split = (fn, source)
        return self._split

    def free_data(self) -> set[str]:
        """The user's globals and closure variables holding data that the code reads."""
        return {path[1] for path, obj in self.fir.reads.items()
                if len(path) == 2 and path[0] in ("global", "closure")
                and path[1] not in self.extra and is_data(obj)}


def wrt_names(f: Callable, params: list[str], wrt: Wrt,
              allow_empty: bool = False) -> tuple[list[str], bool]:
    """The parameter names ``wrt`` gives, and whether it named one (not a tuple).  Empty
    only with ``allow_empty`` (a compiled primal: differentiated with respect to nothing)."""
    single = isinstance(wrt, (int, str))
    items = [wrt] if single else list(wrt)
    names = []
    for w in items:
        if isinstance(w, bool) or not isinstance(w, (int, str)):
            raise S2SADError(f"wrt must be a parameter position or name, got {w!r}")
        if isinstance(w, int):
            if not -len(params) <= w < len(params):
                raise S2SADError(f"wrt={w} is out of range: {f.__name__} takes "
                                 f"{len(params)} parameters ({', '.join(params)})")
            names.append(params[w])
        else:
            if w not in params:
                raise S2SADError(f"wrt={w!r} is not a parameter of {f.__name__} "
                                 f"({', '.join(params)})")
            names.append(w)
    if not names and not allow_empty:
        raise S2SADError("wrt is empty: name at least one parameter")
    return names, single


# one transformation at a time: the caches and the IR they hold are shared by every thread
LOCK = threading.RLock()


def transform(f: Callable, wrt_names: Sequence[str], _ctx: Context | None = None,
              kinds: dict | None = None, memory: int | None = None,
              lowered: bool = False) -> Transformed:
    """Parse, analyze and reverse ``f`` for ``wrt_names`` and arguments of ``kinds`` (a
    parameter -> kind mapping; parameters it leaves out are of unknown kind), cached per
    function, wrt, kinds and memory budget (bytes: every loop outside loops that tapes is
    checkpointed to fit it, and so are its callees' -- checkpointing.py).  ``lowered``: its
    whole-array NumPy statements lowered to element loops first, and its callees' (loops.py:
    the Wasm backend's)."""
    with LOCK, paused_gc():
        try:
            return _transform(f, wrt_names, _ctx, kinds, memory, lowered)
        except RecursionError as exc:
            # the chain of functions being differentiated, innermost last (the passes are
            # recursive, and a callee is transformed inside its caller's transformation)
            if not hasattr(exc, "s2sad_chain"):
                exc.s2sad_chain = (list(_ctx.stack) if _ctx is not None else []) + [f]
            if _ctx is not None and _ctx.stack:
                raise  # the outermost transformation reports it, with stack to spare
            chain = exc.s2sad_chain
            error = nesting_error(chain[-1]) if len(chain) == 1 else None
            raise (error or call_chain_error(chain) if len(chain) > 1 else
                   error or S2SADError(f"{f.__name__} is nested too deeply to differentiate",
                                       hint="split deep expressions into assignments")) \
                from None



def _transform(f, wrt_names, _ctx, kinds, memory=None, lowered=False) -> Transformed:
    kinds = {p: k for p, k in (kinds or {}).items() if k is not None}
    if _ctx is not None:  # a callee: the caller's budget and lowering
        memory, lowered = _ctx.memory, _ctx.lowered
    per_func, key, cached = _cached(_CACHE, f, wrt_names, kinds, memory, lowered)
    if cached is not None:
        return cached
    ctx = _ctx or Context(None)
    ctx.memory, ctx.lowered = memory, lowered
    outer_make_vjp = ctx.make_vjp
    ctx.stack.append(f)
    try:
        fir = parse_function(f)
        for w in wrt_names:
            if w not in fir.params:
                raise S2SADError(f"{w!r} is not a parameter of {f.__name__}")
        if lowered:
            fir = lower_arrays(fir, {p: kinds.get(p) or kinds_module.OBJECT
                                     for p in fir.params},
                               kinds_module.Env({}, fir.resolve, set(fir.locals).__contains__,
                                                callee=ctx.callee_kind))
        callee_sources: list[str] = []
        callees: dict = {}

        def built(t):
            callees[id(t)] = t  # (one function may be specialized for several kinds)

        # specialized for its array and container arguments (numbers: one version)
        ctx.make_vjp = _callee_maker(ctx, (), transform, "vjp", built, callee_sources)
        suffix = _suffix(fir, wrt_names, kinds, nested=_ctx is not None)
        # (a recursive call of f inside f calls this adjoint, once it is compiled)
        forward_ref = ctx.pending[_key(f, list(wrt_names), kinds)] = \
            _Pending(f"{fir.name}_grad{suffix}")
        try:
            fdef, injected, rev = reverse(fir, list(wrt_names), f"{fir.name}_grad{suffix}",
                                          ctx, kinds)
            name = fdef.name
            recomputed = {d.targets[0].id for ds in rev.recomputed.values() for d in ds}
            adjoint_ir = _tidied(fdef, rev.names, injected, f.__globals__, recomputed)
            source = to_source(adjoint_ir)
        except (S2SADError, RecursionError):
            raise
        except Exception as exc:  # a bug of ours: still say where it happened
            raise fir.error(f"internal error while differentiating {fir.name}: {exc!r}",
                            None, "please report this with the function") from exc
        extra = dict(injected)
        vjp = compile_function(source, name, f.__globals__, extra, closure_cells(f))
        # (read again by hvp and grad of grad: the kinds of the primal's names it prints --
        # only those: a name tidy folded away may be a fresh temporary of the reading)
        printed = {n.id for n in walk(adjoint_ir) if isinstance(n, gast.Name)}
        held = dict(rev.kinds)  # (the primal's names and parameters, and the old values kept)
        held.update({saved: rev.kinds.get(x) for saved, x in rev.saved_of.items()})
        vjp.__s2sad_local_kinds__ = {n: k for n, k in held.items() if n in printed and k is not None
                                     and (n in rev.fir.locals or n in rev.fir.params
                                          or n in rev.saved_of)}
        forward_ref.target = vjp
        sources = callee_sources + [source]
        output = kinds_module.kind_of(rev.fir.body[-1].value, rev.env)
        result = Transformed(name, vjp, source, "\n".join(sources), sources, fir.params,
                             list(wrt_names), isinstance(fir.body[-1].value, gast.Tuple), fir,
                             rev, adjoint_ir, callees, output, f.__globals__, extra)
        # valid while what this function and its callees read holds (guards.py)
        result.guard = Guard([fir] + [g for c in callees.values() for g in c.guard.firs])
    finally:
        ctx.stack.pop()
        ctx.pending.pop(_key(f, list(wrt_names), kinds), None)
        ctx.make_vjp = outer_make_vjp  # the caller's callees are collected by the caller
    per_func[key] = result
    return result


@dataclass
class Forward:
    """One generated tangent function: ``jvp(*params, *tangents) -> (value, tangent)``."""

    name: str
    jvp: Callable
    source: str
    full_source: str
    sources: list[str]
    params: list[str]
    wrt: list[str]
    fir: Any
    forwarder: Any
    output_kind: Any = None
    guard: Any = None
    ir: Any = None  # the tangent function's IR (what emit printed; the Wasm backend's input)
    callees: dict = field(default_factory=dict)  # id(tangent function) -> Forward of callees


_FORWARD_CACHE: weakref.WeakKeyDictionary[Callable, dict] = weakref.WeakKeyDictionary()


def _tidied(fdef, namer, injected: dict, namespace: dict, recomputed=frozenset()):
    """A tidied copy of ``fdef`` (tidy rewrites statements in place: the IR given stays
    flat), told which helpers change their first argument: injected ones, and those of the
    transformed function's ``namespace`` ``fdef`` calls (a generated gradient's own
    ``take_tail``, in its tangent: the hvp's)."""
    mutating = {n for n, obj in injected.items() if obj in MUTATING_HELPERS}
    helpers = {id(h) for h in MUTATING_HELPERS}
    mutating |= {n.id for n in walk(fdef) if isinstance(n, gast.Name) and
                 id(namespace.get(n.id)) in helpers}
    return tidy(clone(fdef), namer, recomputed, mutating)


def _collected(fdef, fwd):
    """``fdef`` with its tangents of numbers collected by tangent (``collect``)."""
    local = {n.id for n in walk(fdef) if isinstance(n, gast.Name) and
             not isinstance(n.ctx, gast.Load)}

    def is_number(n: str) -> bool | None:
        if n not in local:
            return None
        k = fwd.kinds.get(n, fwd.kinds.get(fwd.names.primal_of.get(n)))
        return k is not None and kinds_module.is_number(k)

    collect(fdef, set(fwd.names.primal_of), is_number)
    return fdef


def transform_forward(f: Callable, wrt_names: Sequence[str], _ctx: Context | None = None,
                      kinds: dict | None = None, output: int | None = None) -> Forward:
    """The forward-mode transformation of ``f`` for tangents of ``wrt_names`` and arguments
    of ``kinds`` (``output``: the one item of a returned tuple whose tangent is wanted),
    cached like ``transform``."""
    from .forward import forward

    with LOCK, paused_gc():
        kinds = {p: k for p, k in (kinds or {}).items() if k is not None}
        per_func, key, cached = _cached(_FORWARD_CACHE, f, wrt_names, kinds, output)
        if cached is not None:
            return cached
        ctx = _ctx or Context(None)
        outer = ctx.make_jvp
        ctx.stack.append(f)
        try:
            fir = parse_function(f)
            callee_sources: list[str] = []
            firs = [fir]
            callees: dict = {}

            def built(sub):
                callees[id(sub.jvp)] = sub
                firs.extend(sub.guard.firs)

            ctx.make_jvp = _callee_maker(ctx, ("jvp",), transform_forward, "jvp", built,
                                         callee_sources)
            suffix = _suffix(fir, wrt_names, kinds, nested=_ctx is not None)
            forward_ref = ctx.pending[("jvp",) + _key(f, list(wrt_names), kinds)] = \
                _Pending(f"{fir.name}_jvp{suffix}")
            try:
                fdef, injected, fwd = forward(fir, list(wrt_names), f"{fir.name}_jvp{suffix}",
                                              ctx, kinds, output)
                # printed tidied (single-use temporaries and their tangents folded); fdef
                # itself stays flat for the Wasm emitter and the Hessian's split
                source = to_source(_collected(_tidied(fdef, fwd.names, injected,
                                                      f.__globals__), fwd))
            except (S2SADError, RecursionError):
                raise
            except Exception as exc:  # a bug of ours: still say where it happened
                raise fir.error(f"internal error in forward mode for {fir.name}: {exc!r}",
                                None, "please report this with the function") from exc
            fn = compile_function(source, fdef.name, f.__globals__, dict(injected),
                                  closure_cells(f))
            forward_ref.target = fn
            sources = callee_sources + [source]
            output = kinds_module.kind_of(fwd.fir.body[-1].value, fwd.env)
            result = Forward(fdef.name, fn, source, "\n".join(sources), sources, fir.params,
                             list(wrt_names), fir, fwd, output, Guard(firs), fdef, callees)
        finally:
            ctx.stack.pop()
            ctx.pending.pop(("jvp",) + _key(f, list(wrt_names), kinds), None)
            ctx.make_jvp = outer
        per_func[key] = result
        return result


def _key(f, wrt_names, kinds: dict) -> tuple:
    return (f, tuple(wrt_names), tuple(sorted(kinds.items(), key=lambda item: item[0])))


def _cached(cache, f, wrt_names, kinds: dict, *more) -> tuple:
    """``(f's cache, the key, the cached transformation or None)``: one per wrt and kinds
    (and ``more``), valid while its guard holds (something it read may have changed)."""
    key = _key(f, wrt_names, kinds)[1:] + more  # (not f itself: the cache is f's)
    try:
        per_func = cache.setdefault(f, {})
    except TypeError:
        per_func = {}
    cached = per_func.get(key)
    return per_func, key, cached if cached is not None and cached.guard() else None


def _callee_maker(ctx, prefix: tuple, build, attr: str, built, sources: list):
    """``make(callee, positions, arg_kinds) -> (name, function)`` for the calls of user
    functions inside the one being transformed: ``build`` (transform or
    transform_forward) for those positions and kinds, or, for a recursive call, the proxy of
    the function being built (``ctx.pending``); ``built(sub)`` records it, its sources join
    ``sources`` once."""

    def make(callee, positions, arg_kinds=()):
        params = list(inspect.signature(callee).parameters)
        names = [params[k] for k in positions]
        kinds = {p: k for p, k in zip(params, arg_kinds) if k is not None}
        pending = ctx.pending.get(prefix + _key(callee, names, kinds))
        if pending is not None:  # a recursive call: the function being built calls itself
            return pending.name, pending
        sub = build(callee, names, ctx, kinds)
        built(sub)
        for piece in sub.sources:
            if piece not in sources:
                sources.append(piece)
        return sub.name, getattr(sub, attr)

    return make


class _Pending:
    """A recursive function's adjoint while it is being built: calls go to ``target`` once
    it is compiled (the generated code calls this object by the adjoint's name)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.target = None
        self.__name__ = name

    def __call__(self, *args, **kwargs):
        return self.target(*args, **kwargs)

    @property
    def s2sad_recursive_target(self):
        """The compiled adjoint (a generated function differentiated again reads it)."""
        return self.target


def _suffix(fir, wrt_names, kinds: dict, nested: bool) -> str:
    """One name per (function, wrt): f_grad for all parameters, f_grad_x for x only (and
    f_grad_x_on_a for a callee specialized for an array argument a)."""
    suffix = "" if list(wrt_names) == fir.params else "_" + "_".join(wrt_names)
    arrays = sorted(p for p, k in kinds.items() if isinstance(k, Array))
    if arrays and nested:
        suffix += "_on_" + "_".join(arrays)
    return suffix


def closure_cells(f: Callable) -> dict:
    """``f``'s closure cells by name (the generated code reads them live)."""
    return dict(zip(f.__code__.co_freevars, f.__closure__ or ()))


def positional_arity(sig: inspect.Signature) -> int:
    """How many positional arguments a call that needs no binding passes: every parameter,
    or -1 (none such) when some are keyword-only, *args or **kwargs."""
    params = sig.parameters.values()
    return len(params) if all(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                              for p in params) else -1


def argument_binder(f: Callable, params: list[str]) -> Callable:
    sig = inspect.signature(f)
    n = positional_arity(sig)  # (the fast path: every parameter by position)

    def values(args, kwargs):
        if not kwargs and len(args) == n:
            return args
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        return tuple(bound.arguments.values())

    return values


def mutated_params(f) -> list[str]:
    return list(parse_function(f).meta.get("mutated", {})) if params_of(f) else []


def params_of(f) -> list[str]:
    try:
        return list(inspect.signature(f).parameters)
    except (TypeError, ValueError):
        return []
