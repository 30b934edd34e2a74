"""Derivatives composed from the two modes: Hessian-vector products (forward over reverse),
Hessians, Jacobians (by columns with ``jvp`` or by rows with ``vjp``).

``hvp`` applies the forward transformation to the generated adjoint itself -- it is Python
in the subset s2sad reads, stacks included -- so the Hessian-vector product is one sweep
forward and one back, each carrying tangents, and its source is readable like the others.
"""

from __future__ import annotations

import inspect
import itertools
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from . import ir, kinds
from .api import (
    PerFunction,
    _check_backend,
    _nonzero,
    _tangent_like,
    _varies,
    check_output,
    jvp,
    spec_key,
    vjp,
)
from .emit import is_generated
from .errors import S2SADError
from .runtime import like, real_part
from .runtime import tangent_zero as _zero
from .transform import Wrt, transform, transform_forward, wrt_names


def hvp_transformations(f: Callable, args: tuple, varied: list[str] | None = None,
                        gradient_wrt: list[str] | None = None) -> tuple[list[str], Any]:
    """The parameters the gradient is taken for (those that carry derivatives), and the
    forward transformation of ``f``'s adjoint (``f_grad_jvp(params..., b_out, dparams...) ->
    ((value, grads), (dvalue, dgrads))``) with tangents for ``varied`` (default: the
    same) for these arguments; ``gradient_wrt``: the parameters of the gradient (default:
    every one that carries derivatives)."""
    params = list(inspect.signature(f).parameters)
    arg_kinds = {p: kinds.value_kind(a) for p, a in zip(params, args)}
    wrt = gradient_wrt or [p for p in params if _varies(arg_kinds[p])]
    if not wrt:
        raise S2SADError(f"hvp of {f.__name__}: no argument carries a derivative",
                         hint="give floats or float arrays")
    t = transform(f, wrt, kinds=arg_kinds)
    check_output(t)
    for loop in ir.walk_statements(t.reverser.fir.body):
        if id(loop) in t.reverser.ckpt:
            raise t.fir.error("second derivatives of a checkpointed loop are not supported",
                              loop, "drop the s2sad.checkpointed marker for hvp and hessian")
    seed = list(inspect.signature(t.vjp).parameters)[-1]
    adjoint_kinds = dict(arg_kinds)
    adjoint_kinds[seed] = kinds.FLOAT
    try:  # (the tangent of the gradients only: the value's is not needed)
        return wrt, transform_forward(t.vjp, varied or wrt, kinds=adjoint_kinds, output=1)
    except S2SADError as exc:
        raise derived_refusal(f, "hvp and hessian", exc) from None


def hvp(f: Callable, primals, tangents, backend: str = "python",
        verbose: bool = False) -> tuple:
    """The Hessian of scalar ``f`` at ``primals`` times ``tangents``: one entry per primal
    (shaped like it; ``0.0`` for an int), as ``grad(f, wrt=all)`` has.  Forward mode applied
    to the generated gradient (forward over reverse); built once per argument kinds.
    ``backend="wasm"``: the gradient of the tangent -- reverse over forward, the same
    number -- compiled to WebAssembly (``<f>_hvp`` of ``wasm.build_module(hvp=True)``)."""
    if backend != "wasm":
        _check_backend(backend)
    primals, tangents = tuple(primals), tuple(tangents)
    cache = _HVPS.of(f)
    params = cache["params"]
    if len(primals) != len(params) or len(tangents) != len(params):
        raise S2SADError(f"hvp of {f.__name__}: {len(params)} parameters, {len(primals)} "
                         f"primals and {len(tangents)} tangents")
    if backend == "wasm":
        return _wasm_hvp(f, params, primals, tangents, verbose)
    key = (spec_key(primals), tuple([isinstance(t, str) or bool(_nonzero(t))
                                     for t in tangents]))
    entry = cache.get(key)
    if entry is None or verbose or not entry[2]():
        arg_kinds = {p: kinds.value_kind(a) for p, a in zip(params, primals)}
        varied = [p for p, t in zip(params, tangents) if _varies(arg_kinds[p]) and
                  _nonzero(_tangent_like(primals[params.index(p)], t, p, f.__name__))]
        if not varied:
            return tuple(_zero(a) if not isinstance(a, (bool, int)) else 0.0 for a in primals)
        wrt, ft = hvp_transformations(f, primals, varied)
        entry = cache[key] = (ft.jvp, (wrt, varied), ft.guard.fast())
        if verbose:
            print(ft.full_source)
    jvp_, (wrt, varied), _ = entry
    ts = [_tangent_like(primals[params.index(w)], tangents[params.index(w)], w, f.__name__)
          for w in varied]
    _, (_, dgrads) = jvp_(*primals, 1.0, *ts)
    if len(wrt) == 1:
        dgrads = (dgrads,)
    by_name = dict(zip(wrt, dgrads))
    return tuple(like(a, by_name[p]) if p in by_name else 0.0
                 for p, a in zip(params, primals))


# f -> {"params": f's parameters, (argument kinds, which tangents are not zero): (tangent of
# the adjoint, wrt, guard)}
_HVPS = PerFunction()


def hvp_function(f: Callable, arg_kinds: dict) -> tuple[Callable, list[str]]:
    """``(f_tangent, varied)``: ``f``'s forward transformation returning the tangent alone --
    ``f_tangent(params..., tangents of varied...) -> f's directional derivative``, its source
    the generated ``f_jvp``'s with the last line ``return value, tangent`` made ``return
    tangent`` -- and the parameters that carry tangents (``varied``).  Its gradient with
    respect to them is the Hessian times the tangents: reverse over forward, what the Wasm
    backend compiles (one function: no call whose forward sweep would run twice)."""
    import ast

    from .emit import compile_function
    from .transform import transform_forward

    params = list(inspect.signature(f).parameters)
    varied = [p for p in params if _varies(arg_kinds.get(p))]
    if not varied:
        raise S2SADError(f"hvp of {f.__name__}: no argument carries a derivative",
                         hint="give floats or float arrays")
    ft = transform_forward(f, varied, kinds=arg_kinds)
    tree = ast.parse(ft.source)
    fdef = tree.body[0]
    ret = fdef.body[-1]
    if not (isinstance(ret, ast.Return) and isinstance(ret.value, ast.Tuple) and
            len(ret.value.elts) == 2):
        raise S2SADError(f"hvp of {f.__name__}: its tangent function does not end in one "
                         "return of (value, tangent)", hint="use the Python backend")
    ret.value = ret.value.elts[1]
    name = f"{f.__name__}_tangent"
    fdef.name = name
    jvp = ft.jvp
    bound = dict(zip(jvp.__code__.co_freevars,
                     (c.cell_contents for c in (jvp.__closure__ or ()))))
    # the helpers its callees' tangent functions read (reduction_jvp, _vjp_max) bound here
    # too, where the name is free: the Wasm lowering inlines a callee whose names all mean
    # for the caller what they mean for it
    todo = list(ft.callees.values())
    while todo:
        callee = todo.pop()
        todo.extend(callee.callees.values())
        code = callee.jvp.__code__
        for n, c in zip(code.co_freevars, callee.jvp.__closure__ or ()):
            if n not in bound and n not in jvp.__globals__:
                bound[n] = c.cell_contents
    fn = compile_function(ast.unparse(tree) + "\n", name, jvp.__globals__, bound)
    fn.__doc__ = f"the tangent of {f.__name__} along its arguments' tangents (s2sad)"
    return fn, varied


def _in_user_terms(f: Callable, text: str) -> str:
    """``text`` with each quoted name of the derived code said in ``f``'s terms: a tangent
    (``'dc2'``: the tangent of 'c2'), a cotangent (``'bys3'``: the cotangent of 'ys3'), the
    tape (``'_stack1'``), a temporary by the expression it holds."""
    import re

    from .parse import parse_function

    try:
        fir = parse_function(f)
    except S2SADError:
        return text
    origins = fir.meta.get("origin", {})

    def said(n: str, depth: int = 0) -> str | None:
        if n in origins:  # (f's temporary: the derived code reads f's names as they are)
            return f"'{origins[n]}'"
        if n in fir.locals or n in fir.params:
            return f"'{n}'"
        if re.fullmatch(r"_stack\d*", n):
            return "the tape"
        if n.startswith("_old_") and said(n[5:], depth + 1) is not None:
            return f"the earlier value of {said(n[5:], depth + 1)}"
        if depth < 3 and len(n) > 1 and n[0] in "db":
            inner = said(n[1:], depth + 1)
            if inner is not None:
                return ("the tangent of " if n[0] == "d" else "the cotangent of ") + inner
        return None

    def quoted(m):
        n = m.group(1)
        if re.fullmatch(r"\w+\.pop\(\)", n) and said(n[:-6]) is not None:
            return f"a value popped from {said(n[:-6])}"
        if not re.fullmatch(r"\w+", n):  # (an expression: its temporaries as f's own)
            return "'" + re.sub(r"\b_t\d+\b", lambda w: origins.get(w.group(0), w.group(0)),
                                n) + "'"
        if (n in fir.locals or n in fir.params) and n not in origins:
            return m.group(0)  # (the user's own name)
        return said(n) or m.group(0)

    return re.sub(r"'([^']+)'", quoted, text)


def derived_refusal(f: Callable, what: str, exc: S2SADError) -> S2SADError:
    """A refusal met in a function s2sad derived from ``f`` (its tangent function), named at
    ``f``'s own definition: the derived code has no line of the user's."""
    import linecache

    if not is_generated(exc.filename):
        return exc
    code = f.__code__
    return S2SADError(f"{what} of {f.__name__}: {_in_user_terms(f, exc.what)}",
                      code.co_filename,
                      code.co_firstlineno,
                      linecache.getline(code.co_filename, code.co_firstlineno) or None,
                      exc.hint)


def _wasm_hvp(f, params, primals, tangents, verbose) -> tuple:
    from . import wasm

    key = spec_key(primals)
    cache = _WASM_HVPS.setdefault(f, {})
    entry = cache.get(key)
    if entry is None or verbose:
        arg_kinds = {p: kinds.value_kind(a) for p, a in zip(params, primals)}
        fn, varied = hvp_function(f, arg_kinds)
        wrt = tuple(params.index(p) for p in varied)
        try:
            entry = cache[key] = (wasm.grad(fn, wrt=wrt, verbose=verbose), varied)
        except S2SADError as exc:
            raise derived_refusal(f, "the Wasm hvp", exc) from None
    g, varied = entry
    ts = [_tangent_like(primals[params.index(p)], tangents[params.index(p)], p, f.__name__)
          for p in varied]
    try:
        by_name = dict(zip(varied, g(*primals, *ts)))  # (a tuple: wrt is a tuple)
    except S2SADError as exc:
        raise derived_refusal(f, "the Wasm hvp", exc) from None
    return tuple(like(a, by_name[p]) if p in by_name else 0.0
                 for p, a in zip(params, primals))


# f -> {argument kinds: (the Wasm gradient of f_hvp, the parameters with tangents)}
_WASM_HVPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _basis(x):
    """Unit tangents along each element of ``x`` (a number or an array), in order."""
    if isinstance(x, np.ndarray):
        for k in range(x.size):
            e = np.zeros(x.size)
            e[k] = 1.0
            yield e.reshape(x.shape)
    else:
        yield 1.0


def linearized(ft) -> tuple[Callable, Callable] | None:
    """``(prep, column)`` splitting the tangent function of a gradient, ``ft.jvp(*params,
    b_out, *tangents) -> ((value, grads), (dvalue, dgrads))``, at what the tangents reach:
    ``prep(*params, b_out)`` runs the statements no tangent reaches once and returns what the
    others read; ``column(*that, *tangents) -> dgrads`` runs the rest -- a Hessian's columns
    share one primal and gradient prefix.  None when the split is not plain: a loop or branch
    that a tangent reaches, or a value changed after a tangent statement read it."""
    import ast

    tree = ast.parse(ft.source)
    fdef = tree.body[0]
    params = [a.arg for a in fdef.args.args]
    body, ret = fdef.body[:-1], fdef.body[-1]
    if not (isinstance(ret, ast.Return) and isinstance(ret.value, ast.Tuple) and
            len(ret.value.elts) == 2 and isinstance(ret.value.elts[1], ast.Tuple) and
            len(ret.value.elts[1].elts) == 2):
        return None
    from .parse import MUTATING_METHODS
    from .runtime import MUTATING_HELPERS

    helpers = {h.__name__ for h in MUTATING_HELPERS}  # (they change their first argument)
    n_tangents = len(ft.wrt)
    roles = ft.forwarder.names.roles
    reached = {n for n, r in roles.items() if r == "tangent"} | set(params[-n_tangents:])

    def loads(node) -> set:
        return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and
                isinstance(n.ctx, ast.Load)}

    def changes(node) -> set:
        out = set()
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                out.add(n.id)
            elif isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Store):
                base = n.value
                while isinstance(base, ast.Subscript):
                    base = base.value
                if isinstance(base, ast.Name):
                    out.add(base.id)
            elif isinstance(n, ast.Call):
                f = n.func
                if isinstance(f, ast.Name) and f.id in helpers and n.args and \
                        isinstance(n.args[0], ast.Name):
                    out.add(n.args[0].id)
                elif isinstance(f, ast.Attribute) and f.attr in MUTATING_METHODS and \
                        isinstance(f.value, ast.Name):
                    out.add(f.value.id)
        return out

    column: set[int] = set()
    changed = True
    while changed:
        changed = False
        for k, st in enumerate(body):
            if k not in column and (loads(st) | changes(st)) & reached:
                column.add(k)
                reached |= changes(st)
                changed = True
    for k in column:
        if isinstance(body[k], (ast.For, ast.While, ast.If, ast.With, ast.Try)):
            return None
    for p_ in range(len(body)):  # a prefix statement changing what a column one read before
        if p_ in column:
            continue
        if any(k < p_ and changes(body[p_]) & loads(body[k]) for k in column):
            return None
    first = [body[k] for k in range(len(body)) if k not in column]
    rest = [body[k] for k in sorted(column)]
    dgrads = ret.value.elts[1].elts[1]
    needed = sorted(set().union(*[loads(st) for st in rest], loads(dgrads)) - reached
                    - set(params[-n_tangents:]))
    needed = [n for n in needed if n in params or any(n in changes(st) for st in first)]
    prep = ast.FunctionDef(name="_prep", args=ast.arguments(
        posonlyargs=[], args=[ast.arg(arg=p_) for p_ in params[:-n_tangents]], vararg=None,
        kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]),
        body=first + [ast.Return(value=ast.Tuple(elts=[ast.Name(id=n, ctx=ast.Load())
                                                        for n in needed], ctx=ast.Load()))],
        decorator_list=[], returns=None, type_params=[])
    col = ast.FunctionDef(name="_column", args=ast.arguments(
        posonlyargs=[], args=[ast.arg(arg=p_) for p_ in needed + params[-n_tangents:]],
        vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]),
        body=rest + [ast.Return(value=dgrads)], decorator_list=[], returns=None,
        type_params=[])
    module = ast.fix_missing_locations(ast.Module(body=[prep, col], type_ignores=[]))
    jvp = ft.jvp
    bound = dict(zip(jvp.__code__.co_freevars, (c.cell_contents for c in jvp.__closure__ or ())))
    namespace = dict(jvp.__globals__)
    namespace.update(bound)
    exec(compile(module, f"<s2sad linearized {ft.name}>", "exec"), namespace)
    return namespace["_prep"], namespace["_column"]


def hessian(f: Callable, wrt: Wrt = 0, backend: str = "python") -> Callable:
    """A function returning the Hessian of scalar ``f`` with respect to ``wrt``: of shape
    ``x.shape + x.shape`` for one array (a number for one number); for a tuple ``wrt``, a
    tuple of tuples of blocks ``H[i][j]`` of shape ``xi.shape + xj.shape``.  Each column is
    one Hessian-vector product (forward over reverse; ``backend="wasm"``: the Wasm ``hvp``)."""
    if backend != "wasm":
        _check_backend(backend)
    params = list(inspect.signature(f).parameters)
    names, single = wrt_names(f, params, wrt)

    def hessian_f(*args):
        args = tuple(args)
        if len(args) != len(params):
            raise S2SADError(f"hessian of {f.__name__} takes {len(params)} arguments "
                             f"({', '.join(params)}), got {len(args)}")
        blocks = {}
        for j in names:
            xj = args[params.index(j)]
            basis = _basis(np.asarray(xj) if isinstance(xj, np.ndarray) else xj)
            # the columns of block j: one entry per parameter of wrt each
            columns = wasm_columns(args, j, basis) if backend == "wasm" else \
                hvp_columns(args, j, basis)
            for k, i in enumerate(names):
                xi = args[params.index(i)]
                stacked = np.stack([np.asarray(c[k], dtype=float) for c in columns], axis=-1)
                blocks[i, j] = stacked.reshape(np.shape(xi) + np.shape(xj)) if \
                    isinstance(xj, np.ndarray) or isinstance(xi, np.ndarray) else \
                    float(stacked.reshape(()))
        if single:
            return blocks[names[0], names[0]]
        return tuple(tuple(blocks[i, j] for j in names) for i in names)

    def wasm_columns(args, j, basis) -> list:
        """The Wasm hvp along each tangent of ``basis`` put at ``j``."""
        zero = [_zero(a) if not isinstance(a, (bool, int)) else 0 for a in args]
        columns = []
        for e in basis:
            ts = list(zero)
            ts[params.index(j)] = e
            hv = hvp(f, args, ts, "wasm")
            columns.append([hv[params.index(i)] for i in names])
        return columns

    def hvp_columns(args, j, basis) -> list:
        """Forward over reverse along each tangent of ``basis`` at ``j``: one transformation
        for j, of the gradient of the Hessian's parameters only (the others' would be
        waste), split where the tangents reach it (``linearized``)."""
        varied, ft = hvp_transformations(f, args, [j], gradient_wrt=list(names))
        if any(n not in varied for n in names):
            raise S2SADError(f"hessian of {f.__name__}: '{j}' is not a float or a "
                             "float array")
        split = getattr(ft, "linear_split", None)
        if split is None:  # (kept on the transformation, which is cached)
            split = ft.linear_split = linearized(ft) or False
        shared = split[0](*args, 1.0) if split else None
        columns = []
        for e in basis:
            if split:  # (the primal and gradient prefix once, the tangents per column)
                dgrads = split[1](*shared, e)
            else:
                _, (_, dgrads) = ft.jvp(*args, 1.0, e)
            dgrads = (dgrads,) if len(varied) == 1 else dgrads
            # (real parameters: the real part of what complex intermediates leave)
            columns.append([real_part(dgrads[varied.index(i)]) for i in names])
        return columns

    hessian_f.__name__ = f"hessian_{f.__name__}"
    hessian_f.__doc__ = f"Hessian of {f.__name__} with respect to {', '.join(names)} (s2sad)."
    return hessian_f


def jacobian(f: Callable, wrt: Wrt = 0, mode: str = "rev") -> Callable:
    """A function returning the Jacobian of ``f`` (a number or an array out) with respect to
    ``wrt``: shape ``out.shape + x.shape`` (a tuple of those for a tuple ``wrt``).
    ``mode="fwd"`` builds it by columns (one ``jvp`` per input element: few inputs),
    ``"rev"`` by rows (one ``vjp`` and a pullback per output element: few outputs); both
    reuse one cached transformation."""
    if mode not in ("fwd", "rev"):
        raise S2SADError(f"jacobian mode must be 'fwd' or 'rev', got {mode!r}")
    params = list(inspect.signature(f).parameters)
    names, single = wrt_names(f, params, wrt)

    def jacobian_f(*args):
        args = tuple(args)
        if mode == "fwd":
            out = {}
            zeros = [_zero(a) if not isinstance(a, (bool, int)) else 0 for a in args]
            for n in names:
                x = args[params.index(n)]
                cols = []
                for e in _basis(np.asarray(x) if isinstance(x, np.ndarray) else x):
                    ts = list(zeros)
                    ts[params.index(n)] = e
                    value, tangent = jvp(f, args, ts)
                    cols.append(np.asarray(tangent, dtype=float))
                block = np.stack(cols, axis=-1).reshape(np.shape(value) + np.shape(x))
                out[n] = block if block.ndim else float(block)
        else:
            value, pullback = vjp(f, *args)
            rows = []
            for idx in itertools.product(*[range(d) for d in np.shape(value)]):
                seed = np.zeros(np.shape(value))
                seed[idx] = 1.0
                cot = pullback(seed if np.ndim(value) else 1.0)
                rows.append([np.asarray(cot[params.index(n)], dtype=float) for n in names])
            out = {}
            for k, n in enumerate(names):
                x = args[params.index(n)]
                block = np.stack([r[k] for r in rows]).reshape(np.shape(value) + np.shape(x))
                out[n] = block if block.ndim else float(block)
        return out[names[0]] if single else tuple(out[n] for n in names)

    jacobian_f.__name__ = f"jacobian_{f.__name__}"
    jacobian_f.__doc__ = f"Jacobian of {f.__name__} with respect to {', '.join(names)} " \
                         f"(s2sad, {mode} mode)."
    return jacobian_f
