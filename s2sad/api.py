"""The public entry points: grad, value_and_grad, vjp, and the transformation cache."""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import gast
import numpy as np

from .emit import compile_function, to_source
from .errors import S2SADError
from .ir import clone
from .parse import parse_function
from .reverse import Context, reverse
from .tape import like
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


def _wrt_names(f: Callable, params: list[str], wrt: Wrt) -> tuple[list[str], bool]:
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
    if not names:
        raise S2SADError("wrt is empty: name at least one parameter")
    return names, single


def transform(f: Callable, wrt_names: Sequence[str], _ctx: Context | None = None,
              arrays: frozenset = frozenset()) -> Transformed:
    """Parse, analyze and reverse ``f`` for ``wrt_names`` (cached per function, wrt and the
    set of parameters that are NumPy arrays)."""
    key = (tuple(wrt_names), frozenset(arrays))
    try:
        per_func = _CACHE.setdefault(f, {})
    except TypeError:
        per_func = {}
    if key in per_func:
        return per_func[key]
    ctx = _ctx or Context(None)
    outer_make_vjp = ctx.make_vjp
    ctx.stack.append(f)
    try:
        fir = parse_function(f)
        for w in wrt_names:
            if w not in fir.params:
                raise S2SADError(f"{w!r} is not a parameter of {f.__name__}")
        callee_sources: list[str] = []
        callees: dict = {}

        def make_vjp(callee, wrt_pos, array_pos=()):
            params = list(inspect.signature(callee).parameters)
            t = transform(callee, [params[k] for k in wrt_pos], ctx,
                          frozenset(params[k] for k in array_pos))
            callees[t.name] = t
            for piece in t.sources:
                if piece not in callee_sources:
                    callee_sources.append(piece)
            return t.name, t.vjp

        ctx.make_vjp = make_vjp
        # one name per (function, wrt): f_grad for all parameters, f_grad_x for x only
        suffix = "" if list(wrt_names) == fir.params else "_" + "_".join(wrt_names)
        if arrays and _ctx is not None:  # a callee specialized for array arguments
            suffix += "_on_" + "_".join(sorted(a if isinstance(a, str) else a[0]
                                               for a in arrays))
        name = f"{fir.name}_grad{suffix}"
        try:
            fdef, injected, rev = reverse(fir, list(wrt_names), name, ctx, frozenset(arrays))
            recomputed = {d.targets[0].id for ds in rev.recomputed.values() for d in ds}
            # tidy rewrites statements in place: give it a copy, so the primal IR stays flat
            adjoint_ir = tidy(clone(fdef), rev.names, recomputed)
            source = to_source(adjoint_ir)
        except S2SADError:
            raise
        except Exception as exc:  # a bug of ours: still say where it happened
            raise fir.error(f"internal error while differentiating {fir.name}: {exc!r}",
                            None, "please report this with the function") from exc
        extra = dict(fir.closure)
        extra.update(injected)
        vjp = compile_function(source, name, f.__globals__, extra)
        sources = callee_sources + [source]
        result = Transformed(name, vjp, source, "\n".join(sources), sources, fir.params,
                             list(wrt_names), isinstance(fir.body[-1].value, gast.Tuple), fir,
                             rev, adjoint_ir, callees)
    finally:
        ctx.stack.pop()
        ctx.make_vjp = outer_make_vjp  # the caller's callees are collected by the caller
    per_func[key] = result
    return result


def _argument_binder(f: Callable, params: list[str]) -> Callable:
    sig = inspect.signature(f)
    n = len(params)

    def values(args, kwargs):
        if not kwargs and len(args) == n:
            return args
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        return tuple(bound.arguments.values())

    return values


def _make(f: Callable, wrt: Wrt, verbose: bool, with_value: bool) -> Callable:
    if not callable(f):
        raise S2SADError(f"expected a function to differentiate, got {type(f).__name__}")
    try:
        params = list(inspect.signature(f).parameters)
    except (TypeError, ValueError):
        params = []
    names, single = _wrt_names(f, params, wrt) if params else ([], True)
    # built now for scalar (and list) arguments; specialized once more the first time NumPy
    # arrays come in, so scalar code keeps its plain adjoint and array code gets unbroadcast
    # (an argument the function assigns into is assumed to be an array: for a list, that is
    # refused when the gradient is called with one)
    t = transform(f, names, arrays=frozenset(_mutated_params(f)))
    if t.returns_tuple:
        raise S2SADError(f"{f.__name__} returns a tuple; grad needs a single scalar output",
                         t.fir.filename, t.fir.line_of(t.fir.body[-1]), None,
                         "use s2sad.vjp for functions with several outputs")
    if verbose:
        print(t.full_source)
    bind = _argument_binder(f, params)
    positions = [params.index(w) for w in names]
    # (argument types, array ranks) -> (vjp, whether its gradients need no reshaping)
    specs: dict = {}
    ndarray = np.ndarray
    plain = (float, int, bool, ndarray)

    def key_of(args):
        key = tuple(map(type, args))
        if ndarray in key:
            key += tuple([a.ndim for a in args if type(a) is ndarray])
        return key

    def vjp_for(args):
        key = key_of(args)
        entry = specs.get(key)
        if entry is not None:
            return entry[0]
        arrays = frozenset((p, a.ndim) for p, a in zip(params, args) if type(a) is ndarray)
        spec = transform(f, names, arrays=arrays)
        if spec is not t and verbose:
            print(spec.full_source)
        specs[key] = (spec.vjp, all(k in plain for k in key if isinstance(k, type)))
        fn.source = spec.full_source
        fn.transformed = spec
        return spec.vjp

    def shaped(args, g):
        if single:
            return like(args[positions[0]], g)
        if len(positions) == 1:
            g = (g,)
        return tuple(like(args[p], gi) for p, gi in zip(positions, g))

    if with_value:
        def value_and_grad_f(*args, **kwargs):
            args = bind(args, kwargs)
            value, g = vjp_for(args)(*args)
            return value, shaped(args, g)
        fn = value_and_grad_f
    else:
        nparams = len(params)

        def grad_f(*args, **kwargs):
            if not kwargs and len(args) == nparams:
                entry = specs.get(key_of(args))
                if entry is not None and entry[1]:  # numbers and arrays: nothing to reshape
                    g = entry[0](*args)[1]
                    return g if single else (g,) if len(positions) == 1 else g
            args = bind(args, kwargs)
            return shaped(args, vjp_for(args)(*args)[1])
        fn = grad_f
    fn.__name__ = f"{'value_and_grad' if with_value else 'grad'}_{f.__name__}"
    fn.__doc__ = f"Gradient of {f.__name__} with respect to {', '.join(names)} (s2sad)."
    fn.source = t.full_source
    fn.transformed = t
    return fn


def _mutated_params(f) -> list[str]:
    return list(parse_function(f).meta.get("mutated", {})) if params_of(f) else []


def params_of(f) -> list[str]:
    try:
        return list(inspect.signature(f).parameters)
    except (TypeError, ValueError):
        return []


def grad(f: Callable, wrt: Wrt = 0, verbose: bool = False, backend: str = "python") -> Callable:
    """Return a function with ``f``'s signature that computes the gradient of ``f``.

    ``wrt`` is a parameter position or name, or a tuple of them; the gradient is a float (or a
    list/tuple/array shaped like the input) for one ``wrt`` and a tuple for a tuple ``wrt``.
    The transformation runs once, here, and is cached per (function, wrt).  With
    ``verbose=True`` the generated source is printed; it is always available as the returned
    function's ``source`` attribute.

    ``backend="wasm"`` compiles the same adjoint to a WebAssembly module run by wasmtime
    (scalar and array-loop code; see ``s2sad.wasm``); its ``source()`` is the WAT text.
    """
    if backend == "wasm":
        from . import wasm

        return wasm.grad(f, wrt, verbose)
    _check_backend(backend)
    return _make(f, wrt, verbose, with_value=False)


def value_and_grad(f: Callable, wrt: Wrt = 0, verbose: bool = False,
                   backend: str = "python") -> Callable:
    """Like ``grad``, but the returned function returns ``(f(*args), gradient)``."""
    if backend == "wasm":
        from . import wasm

        return wasm.value_and_grad(f, wrt, verbose)
    _check_backend(backend)
    return _make(f, wrt, verbose, with_value=True)


def _check_backend(backend: str) -> None:
    if backend != "python":
        raise S2SADError(f"unknown backend {backend!r}", hint='use "python" or "wasm"')


def vjp(f: Callable, *args: Any) -> tuple[Any, Callable]:
    """Evaluate ``f(*args)`` and return ``(value, pullback)``.

    ``pullback(seed)`` returns a tuple with one cotangent per argument of ``f``; ``seed`` has
    the structure of the value (a tuple of floats when ``f`` returns a tuple).
    """
    params = list(inspect.signature(f).parameters)
    args = _argument_binder(f, params)(args, {})
    t = transform(f, params, arrays=frozenset(
        (p, a.ndim) for p, a in zip(params, args) if isinstance(a, np.ndarray)))
    value, _ = t.vjp(*args) if not t.returns_tuple else (f(*args), None)

    def pullback(seed):
        g = t.vjp(*args, seed)[1]
        if len(params) == 1:
            g = (g,)
        return tuple(like(a, gi) for a, gi in zip(args, g))

    return value, pullback
