"""The public entry points: grad, value_and_grad, vjp (a thin facade over ``transform``)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import S2SADError
from .kinds import Array, value_kind
from .runtime import like
from .transform import Wrt, argument_binder, mutated_params, transform, wrt_names


def _make(f: Callable, wrt: Wrt, verbose: bool, with_value: bool) -> Callable:
    if not callable(f):
        raise S2SADError(f"expected a function to differentiate, got {type(f).__name__}")
    try:
        params = list(inspect.signature(f).parameters)
    except (TypeError, ValueError):
        params = []
    names, single = wrt_names(f, params, wrt) if params else ([], True)
    # built now for scalar (and list) arguments; specialized once more the first time NumPy
    # arrays come in, so scalar code keeps its plain adjoint and array code gets unbroadcast
    # (an argument the function assigns into is assumed to be an array: for a list, that is
    # refused when the gradient is called with one)
    t = transform(f, names, kinds={p: Array(None) for p in mutated_params(f)})
    if t.returns_tuple:
        raise S2SADError(f"{f.__name__} returns a tuple; grad needs a single scalar output",
                         t.fir.filename, t.fir.line_of(t.fir.body[-1]), None,
                         "use s2sad.vjp for functions with several outputs")
    if verbose:
        print(t.full_source)
    bind = argument_binder(f, params)
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
        spec = transform(f, names, kinds={p: value_kind(a) for p, a in zip(params, args)
                                          if type(a) is ndarray})
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
    args = argument_binder(f, params)(args, {})
    t = transform(f, params, kinds={p: value_kind(a) for p, a in zip(params, args)
                                    if isinstance(a, np.ndarray)})
    value, _ = t.vjp(*args) if not t.returns_tuple else (f(*args), None)

    def pullback(seed):
        g = t.vjp(*args, seed)[1]
        if len(params) == 1:
            g = (g,)
        return tuple(like(a, gi) for a, gi in zip(args, g))

    return value, pullback
