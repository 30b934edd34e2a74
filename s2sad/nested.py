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
import types
from collections.abc import Callable
from typing import Any

from .emit import compile_function
from .errors import S2SADError

DERIVATIVES = ("grad", "value_and_grad")


def derivative_recipe(obj: Any) -> tuple | None:
    """``(maker, f, wrt)`` when ``obj`` is a gradient s2sad returned (``grad``,
    ``value_and_grad``, Python backend), else None."""
    if type(obj) is types.FunctionType:  # (the common case, first: jvp(f) of a user's f)
        return None
    from .pickling import Built

    if isinstance(obj, InnerJvp):
        return obj.recipe
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
    if maker == "jvp":
        return _jvp_source(g, arg_kinds)
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


# -- derivatives taken inside the function being differentiated -----------------------------

class InnerJvp:
    """``s2sad.jvp(g, primals, tangents)`` written inside a function being differentiated, as
    one function of ``(*primals, *tangents)`` returning ``(value, tangent)``; ``g`` takes
    ``len(primals)`` parameters first (then a lifted function's captured values, whose
    tangents are zero)."""

    def __init__(self, f: Callable, n: int, fixed: frozenset = frozenset()) -> None:
        self.recipe = ("jvp", f, n)
        self.fixed = fixed  # positions whose tangent is written as 0: not varied
        self.params = list(inspect.signature(f).parameters)
        self.count = len(self.params)
        self.__name__ = f"jvp_{f.__name__}"
        self.__doc__ = f"jvp of {f.__name__} (s2sad), taken inside a differentiated function"

    def __call__(self, *args: Any) -> tuple:
        # (the forward transformation for these arguments' kinds, called directly)
        from .api import refuse_integer_tangent
        from .kinds import value_kind

        _, f, n = self.recipe
        for k in range(n):  # (as s2sad.jvp at run time: an int's tangent must be 0)
            refuse_integer_tangent(f, self.params[k], args[k], args[self.count + k])
        key = tuple(value_kind(a) for a in args[:self.count])
        return _jvp_source(self, key)(*args)


def _jvp_source(g: InnerJvp, arg_kinds: tuple) -> Callable:
    """``def jvp_g(x, y, dx, dy): return g_jvp(x, y, dx, dy)`` for arguments of ``arg_kinds``:
    the forward transformation of ``g`` (tangents of its float arguments) as a function with
    source, which a caller's transformation reads like user code."""

    _, f, n = g.recipe
    cache = g.__dict__.setdefault("_s2sad_sources", {})
    if arg_kinds in cache:
        return cache[arg_kinds]
    if derivative_recipe(f) is not None:
        f = source_function(f, arg_kinds)
    fn = _tangent_function(f, dict(zip(inspect.signature(f).parameters, arg_kinds)), n,
                           f"jvp_{f.__name__}", g.fixed)
    fn.__doc__ = g.__doc__
    cache[arg_kinds] = fn
    return fn


def _tangent_function(f: Callable, kinds_of: dict, n: int, name: str,
                      fixed: frozenset = frozenset()) -> Callable:
    """``def name(x, y, dx, dy): return f_jvp(x, y, dx, dy)`` -- the forward transformation of
    ``f`` for arguments of ``kinds_of`` (tangents of its first ``n`` parameters that carry
    derivatives, or of a kind not known yet: a pass of the kinds' fixed point, but for the
    positions ``fixed``, whose tangent is written as 0) as a function with source."""
    from . import kinds
    from .api import _varies
    from .transform import transform_forward

    params = list(inspect.signature(f).parameters)
    taken = set(params)
    tangents = []
    for p in params[:n]:
        d = "d" + p
        while d in taken:
            d = "d" + d
        taken.add(d)
        tangents.append(d)
    varied = [p for k, p in enumerate(params[:n]) if k not in fixed and (
        _varies(kinds_of.get(p)) or kinds_of.get(p) in (None, kinds.OBJECT))]
    if not varied and fixed:  # (every tangent written as 0: f's value, a zero tangent)
        from .runtime import tangent_zero

        source = (f"def {name}({', '.join(params + tangents)}):\n"
                  f"    value = f({', '.join(params)})\n"
                  f"    return value, tangent_zero(value)\n")
        return compile_function(source, name, {}, {"f": f, "tangent_zero": tangent_zero})
    if not varied:
        raise S2SADError(f"jvp of {f.__name__}: no argument carries a derivative",
                         hint="give floats or float arrays")
    ft = transform_forward(f, varied, kinds=kinds_of)
    callee = ft.name + ("_" if ft.name in taken else "")
    passed = [tangents[params.index(p)] for p in varied]
    source = (f"def {name}({', '.join(params + tangents)}):\n"
              f"    return {callee}({', '.join(params + passed)})\n")
    return compile_function(source, name, {}, {callee: ft.jvp})
