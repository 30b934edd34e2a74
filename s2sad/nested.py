"""Derivatives of derivatives: a gradient s2sad made, as a function s2sad can read.

``grad(f)`` returns a wrapper (argument binding, caches), not source; what computes the
gradient is the generated adjoint ``f_grad(params..., b_out)``, which is plain Python in the
subset s2sad reads.  ``source_function(g, kinds)`` writes, for arguments of ``kinds``, the
one-line function that calls it::

    def grad_f(x, n):
        return f_grad(x, n, 1.0)[1]

so that ``grad(grad(f))``, ``jvp(grad(f), ...)``, and a function that calls a gradient inside
are transformed like any other code (the adjoint's own adjoint, or its tangent).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from .emit import compile_function
from .errors import S2SADError

DERIVATIVES = ("grad", "value_and_grad")


def derivative_recipe(obj: Any) -> tuple | None:
    """``(maker, f, wrt)`` when ``obj`` is a gradient s2sad returned (``grad``,
    ``value_and_grad``, Python backend), else None."""
    from .pickling import Built

    if not isinstance(obj, Built):
        return None
    recipe = getattr(obj, "recipe", None)
    if not recipe or recipe[0] not in DERIVATIVES:
        return None
    if len(recipe) == 4:  # (made with a memory budget)
        raise S2SADError(f"cannot differentiate {obj.__name__} again: it was made with "
                         "memory= (checkpointing)", hint="make the inner gradient without "
                         "memory= for second derivatives")
    return recipe


def innermost(g: Any) -> Callable:
    """The user's function at the bottom of a chain of gradients (its signature is theirs)."""
    while derivative_recipe(g) is not None:
        g = derivative_recipe(g)[1]
    return g


def source_function(g: Any, arg_kinds: tuple) -> Callable:
    """A function with source computing what the gradient ``g`` computes, for arguments of
    ``arg_kinds`` (one per parameter of the function ``g`` differentiates); one per kinds."""
    from .api import check_output
    from .transform import transform, wrt_names

    maker, f, wrt = derivative_recipe(g)
    cache = g.__dict__.setdefault("_s2sad_sources", {})
    made = cache.get(arg_kinds)
    if made is not None:
        return made
    if derivative_recipe(f) is not None:  # a gradient of a gradient: its source first
        f = source_function(f, arg_kinds)
    signature = inspect.signature(innermost(f))
    params = list(signature.parameters)
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in signature.parameters.values()):
        raise S2SADError(f"the gradient of {f.__name__} takes *args or **kwargs: s2sad "
                         "cannot differentiate it again")
    names, single = wrt_names(f, params, wrt)
    t = transform(f, names, kinds=dict(zip(params, arg_kinds)))
    check_output(t)
    callee = t.name + ("_" if t.name in params else "")
    call = f"{callee}({', '.join(params)}, 1.0)"
    grads = "_out[1]" if single or len(names) > 1 else "(_out[1],)"
    value = grads if maker == "grad" else f"_out[0], {grads}"
    defaults = {}
    heads = []
    for k, (p, param) in enumerate(signature.parameters.items()):
        if param.default is param.empty:
            heads.append(p)
        else:
            defaults[f"_default{k}"] = param.default
            heads.append(f"{p}=_default{k}")
    name = f"{maker}_{f.__name__}"
    source = f"def {name}({', '.join(heads)}):\n    _out = {call}\n    return {value}\n"
    fn = compile_function(source, name, {}, {callee: t.vjp, **defaults})
    fn.__doc__ = f"{maker} of {f.__name__} (s2sad), as a function s2sad can read"
    cache[arg_kinds] = fn
    return fn


def source_for_call(g: Any, arg_kinds: list) -> Callable:
    """``source_function`` for a call of ``g`` inside a function being differentiated, with
    the kinds of the arguments it is given (the defaults' kinds for those left out)."""
    from . import kinds

    params = list(inspect.signature(innermost(g)).parameters.values())
    full = list(arg_kinds)[:len(params)]
    for p in params[len(full):]:
        full.append(kinds.value_kind(p.default) if p.default is not p.empty else kinds.OBJECT)
    return source_function(g, tuple(full))
