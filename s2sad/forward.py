"""Forward mode: IR of ``f`` -> IR of ``f_jvp(params..., tangents...) -> (value, tangent)``.

The pass shares the reverse pass's front half -- kinds, aliases, prepare, the closed-world
classification and activity (``Reverser``'s constructor) -- and then walks the prepared body
once: each statement whose result is active gets the statement that computes its tangent
(``dx`` for ``x``, from the one name generator) next to it; loops and branches keep their
shape, nothing is taped.

Tangents come from the one rule table (rules.py).  Where the rule is pointwise -- every
operand and the result numbers, or a rule marked elementwise, or a NumPy ufunc -- its
vector-Jacobian template is also its Jacobian-vector product: the rule's cotangent of
argument ``a`` with ``g`` replaced by ``da`` is ``a``'s contribution to the tangent, and the
contributions add up.  Primitives that are linear in their data argument (``np.sum``,
``reshape``, ``.T``, ``np.stack`` ...) map its tangent through themselves; bilinear ones
(``@``, ``np.dot``, ``np.outer``) give ``da @ b + a @ db``; a few have their own forward rule
(``np.linalg.inv``, ``solve``).  Anything else that is active is refused with the user's
line, as the reverse pass refuses what it has no rule for.
"""

from __future__ import annotations

import builtins
import operator
import types

import gast
import numpy as np

from . import ir, kinds, rules
from . import runtime as rt
from .activity import analyze, describe
from .aliases import MUTATING_METHODS, VIEW_FUNCTIONS, VIEW_METHODS
from .ir import assign, call, clone, const, name, names_in, substitute
from .parse import MISSING
from .plan import _fold, _rule_name, template_mapping
from .reverse import Reverser

# linear in their first (data) argument: the tangent is the primitive applied to its tangent
LINEAR = {np.sum, np.mean, np.reshape, np.transpose, np.swapaxes, np.expand_dims, np.squeeze,
          np.ravel, np.concatenate, np.stack, np.broadcast_to, np.array, np.asarray, np.copy,
          builtins.sum, builtins.list, builtins.tuple, builtins.float, operator.neg,
          operator.pos, np.negative, np.real, np.trace, np.diag, np.cumsum, np.diff, np.roll,
          np.flip, np.tile, np.repeat, np.hstack, np.vstack, np.atleast_1d, np.atleast_2d,
          np.atleast_3d, np.fliplr, np.flipud, np.rot90, np.moveaxis, np.tril, np.triu,
          np.diagonal, np.conjugate, np.real_if_close, np.rollaxis, np.pad, np.split,
          np.array_split, np.hsplit, np.vsplit, np.dsplit, np.gradient, np.fft.fftshift,
          np.dstack, np.column_stack, np.imag, np.fft.fft, np.fft.ifft, np.fft.fft2,
          np.fft.ifft2, np.fft.fftn, np.fft.ifftn, np.fft.rfft, np.fft.rfft2, np.fft.rfftn,
          np.fft.irfft, np.fft.irfft2, np.fft.irfftn,
          np.fft.ifftshift,
          builtins.reversed, rt.unreduce, rt.unbroadcast, rt.copy_of, rt.fresh_copy, rt.real_part,
          rt.imag_grad}
# linear in all their arguments together: every argument replaced by its tangent (or zero)
JOINTLY_LINEAR = {rt.add}
LINEAR_METHODS = {("method", m) for m in ("sum", "mean", "reshape", "transpose", "squeeze",
                                          "ravel", "flatten", "copy", "cumsum", "conj",
                                          "conjugate")} | \
    {("attr", "T"), ("attr", "real"), ("attr", "imag")}
# bilinear in their first two arguments: d(a b) = da b + a db
BILINEAR = {operator.matmul, np.matmul, np.dot, np.outer, np.inner, np.kron, np.cross,
            np.tensordot, np.convolve}
BILINEAR_METHODS = {("method", "dot")}
# pointwise though not marked elementwise (their bounds are constants)
# (min(a, b) and max(a, b) of arrays raise in Python: what runs is numbers, whatever kinds
# could not tell)
POINTWISE = {np.clip, ("method", "clip"), rules._log, builtins.min, builtins.max, builtins.abs,
             np.sinc, np.nan_to_num}
# reductions: each output element depends on its slice; the tangent is the rule's cotangent
# for a seed of ones, times the tangent, summed over the reduced axes
REDUCTIONS = {np.prod, np.max, np.min, np.amax, np.amin, np.var, np.std,
              np.linalg.norm} | {("method", m) for m in ("prod", "max", "min",
                                                                     "var", "std")}


# the accumulating helpers of generated code (activity.MIRRORED): the positions of the
# object they accumulate into and of the values they add; keys and indexes stay as they are
MIRRORED = {rt.take_tail: (0,), rt.truncate: (0,),
            rt.add_item: (0, 2), rt.take_item: (0,), rt.get_grad: (0, 3),
            rt.add_at: (0, 2), rt.restore_item: (0, 2)}


def _sort_jvp(x, dx, axis=-1):
    """The tangent of ``np.sort(x, axis)``: ``dx`` in the order that sorts ``x``."""
    if axis is None:
        return np.ravel(dx)[np.argsort(np.ravel(x), kind="stable")]
    return np.take_along_axis(np.asarray(dx, dtype=float),
                              np.argsort(x, axis=axis, kind="stable"), axis)


def _partition_jvp(x, dx, kth, axis=-1):
    """The tangent of ``np.partition(x, kth, axis)``: ``dx`` in the order it puts ``x``."""
    if axis is None:
        return np.ravel(dx)[np.argpartition(np.ravel(x), kth)]
    return np.take_along_axis(np.asarray(dx, dtype=float), np.argpartition(x, kth, axis=axis),
                              axis)


def _det_jvp(a, da, ans):
    """The tangent of ``det(a)``: ``det(a) trace(inv(a) da)``."""
    return ans * np.trace(np.linalg.solve(a, da), axis1=-2, axis2=-1)


def extreme_jvp(pick, xs, dxs):
    """The tangent of ``max(xs)`` / ``min(xs)``: that of the (first) item picked."""
    return dxs[pick(range(len(xs)), key=xs.__getitem__)]


def reduction_jvp(rule, dx, ans, axis, keepdims, /, *args, **kwargs):
    """The tangent of a reduction ``ans = r(x, ...)`` along ``dx`` (forward.py)."""
    parts = rule(np.ones_like(np.asarray(ans, dtype=np.float64)), ans, *args, **kwargs)
    part = parts[0] if isinstance(parts, tuple) else parts
    product = np.asarray(part, dtype=np.float64) * np.asarray(dx, dtype=np.float64)
    if axis is None:
        return float(np.sum(product)) if np.ndim(ans) == 0 else np.sum(product)
    return np.sum(product, axis=axis, keepdims=bool(keepdims))


def _inv_jvp(a, da, ans):
    return -ans @ da @ ans


def _solve_jvp(a, b, da, db, ans):
    return np.linalg.solve(a, db - da @ ans)


def _cholesky_jvp(a, da, ans):
    """The tangent of ``L = cholesky(a)`` (its lower triangle read): ``L phi(L^-1 dA L^-T)``,
    phi the lower triangle with the diagonal halved."""
    t = lambda m: np.swapaxes(m, -1, -2)  # noqa: E731
    sym = np.tril(da) + t(np.tril(da, -1))
    x = t(np.linalg.solve(ans, t(np.linalg.solve(ans, sym))))
    return ans @ (np.tril(x) - 0.5 * x * np.eye(np.shape(a)[-1]))


def _cumprod_jvp(a, da, axis=None):
    """The tangent of ``np.cumprod(a, axis)``: d ans[j] = sum over k <= j of da[k] times the
    product of a[:j+1] but a[k] (no division: zeros are fine)."""
    if axis is None:
        return _cumprod_jvp(np.ravel(a), np.ravel(da) * np.ones(np.size(a)), 0)
    x = np.moveaxis(np.asarray(a, dtype=float), axis, -1)
    dx = np.moveaxis(np.asarray(da, dtype=float) * np.ones(np.shape(a)), axis, -1)
    out = np.zeros(x.shape)
    before = np.concatenate([np.ones(x.shape[:-1] + (1,)), np.cumprod(x, -1)[..., :-1]], -1)
    for k in range(x.shape[-1]):
        after = np.concatenate([np.ones(x.shape[:-1] + (1,)), np.cumprod(x[..., k + 1:], -1)],
                               -1)
        out[..., k:] += np.expand_dims(before[..., k] * dx[..., k], -1) * after
    return np.moveaxis(out, -1, axis)


def _polyval_jvp(p, x, dp, dx):
    """The tangent of ``np.polyval(p, x)``."""
    return np.polyval(dp, x) + np.polyval(np.polyder(p), x) * dx


def _slogdet_jvp(a, da):
    """The tangent of ``(sign, logdet) = slogdet(a)``: the sign is piecewise constant."""
    return (0.0, np.trace(np.linalg.solve(a, da), axis1=-2, axis2=-1))


def _eigh_jvp(a, da, ans, uplo="L"):
    """The tangent of ``(w, v) = eigh(a)`` (one triangle read; distinct eigenvalues):
    ``dw = diag(v^T dA v)``, ``dv = v (F * (v^T dA v))`` with ``F[i, j] = 1 / (w[j] - w[i])``
    off the diagonal."""
    t = lambda m: np.swapaxes(m, -1, -2)  # noqa: E731
    w, v = ans
    n = np.shape(a)[-1]
    tri = np.tril(da) if uplo == "L" else np.triu(da)
    sym = tri + t(tri) - tri * np.eye(n)
    inner = t(v) @ sym @ v
    off = 1.0 - np.eye(n)
    gaps = np.expand_dims(w, -2) - np.expand_dims(w, -1) + np.eye(n)
    return (np.diagonal(inner, axis1=-2, axis2=-1).copy(), v @ ((off / gaps) * inner))


def _eig_jvp(a, da, ans):
    """The tangent of ``(e, u) = eig(a)`` (distinct eigenvalues, unit-length vectors):
    with ``C = u^-1 dA u``, ``de = diag(C)`` and ``du = u (F * C)``, ``F[i, j] = 1 / (e[j] -
    e[i])`` off the diagonal, less each column's own part ``u Re(u^H du)`` (the length kept)."""
    e, u = ans
    n = np.shape(a)[-1]
    inner = np.linalg.solve(u, da @ u)
    gaps = np.expand_dims(e, -2) - np.expand_dims(e, -1)
    f = np.where(np.eye(n, dtype=bool), 0.0, 1.0 / np.where(gaps == 0, 1.0, gaps))
    du = u @ (f * inner)
    du = du - u * np.real(np.sum(np.conj(u) * du, axis=-2, keepdims=True))
    return np.diagonal(inner, axis1=-2, axis2=-1).copy(), du


def _svd_jvp(a, da, ans, full_matrices=True, compute_uv=True):
    """The tangent of ``np.linalg.svd(a, full_matrices, compute_uv)`` (real, distinct
    singular values; ``full_matrices=False`` when the vectors are used, as the reverse rule)."""
    t = lambda m: np.swapaxes(m, -1, -2)  # noqa: E731
    u, s, vt = np.linalg.svd(a, full_matrices=False) if not compute_uv else ans
    if compute_uv and full_matrices:
        raise ValueError("s2sad differentiates np.linalg.svd with full_matrices=False (or "
                         "compute_uv=False)")
    v = t(vt)
    ds_mat = t(u) @ da @ v
    ds = np.diagonal(ds_mat, axis1=-2, axis2=-1).copy()
    if not compute_uv:
        return ds
    row = np.expand_dims(s, -2)
    k = np.shape(s)[-1]
    f = np.where(np.eye(k) == 1, 0.0, 1.0 / (row ** 2 - t(row) ** 2 + np.eye(k)))
    dss, sds = row * ds_mat, t(row) * ds_mat
    du = u @ (f * (dss + t(dss)))
    dv = v @ (f * (sds + t(sds)))
    m, n = np.shape(a)[-2:]
    if m > n:
        dav = da @ v
        du = du + (dav - u @ (t(u) @ dav)) / row
    if n > m:
        dahu = t(da) @ u
        dv = dv + (dahu - v @ (vt @ dahu)) / row
    return (du, ds, t(dv))


def _pinv_jvp(a, da, ans):
    """The tangent of ``P = pinv(a)`` (full rank)."""
    t = lambda m: np.swapaxes(m, -1, -2)  # noqa: E731
    m, n = np.shape(a)[-2:]
    return -ans @ da @ ans + ans @ t(ans) @ t(da) @ (np.eye(m) - a @ ans) \
        + (np.eye(n) - ans @ a) @ t(da) @ t(ans) @ ans


ANS = "\0ans"  # the result of the statement in a tangent expression (no name can be it)


def _root(expr) -> str | None:
    """The name whose object ``expr`` may be, be a view of, or hold -- a name, an item, an
    attribute (``.T``), a view (``reshape``...) of one, or ``expand_to`` of one (which gives
    its argument back when the shapes agree) --; None for an object made by ``expr``."""
    while True:
        if isinstance(expr, gast.Name):
            return expr.id
        if isinstance(expr, (gast.Subscript, gast.Attribute)):
            expr = expr.value
            continue
        if not isinstance(expr, gast.Call):
            return None
        func = expr.func
        if isinstance(func, gast.Attribute) and func.attr in VIEW_METHODS:
            expr = func.value
            continue
        attr = func.attr if isinstance(func, gast.Attribute) else getattr(func, "id", None)
        if (attr in VIEW_FUNCTIONS or attr == "expand_to") and expr.args:
            expr = expr.args[0]
            continue
        return None


def _may_share(expr) -> bool:
    """Whether ``expr`` may be (a view of) an object that exists before it is evaluated."""
    return _root(expr) is not None


def _written_through(body, resolve, ops: dict) -> set:
    """The names whose object a statement may write into: stores into items or attributes,
    augmented assignments, methods that change their object, calls that write an argument
    -- and the names whose object those may be, a view of, or hold (``z = y`` with ``z``
    written: ``y`` too; ``L = [y]`` with ``L`` written)."""
    written: set = set()
    binds: list = []  # (target, names its object may be, be a view of or hold)
    for s in ir.walk_statements(body):
        op = ops.get(id(s))
        written.update(w for w in getattr(op, "writes", None) or () if w is not None)
        if isinstance(s, gast.AugAssign):
            written.add(ir.store_base(s.target))
        if isinstance(s, gast.Assign):
            for t in s.targets:
                if not isinstance(t, gast.Name):
                    written.add(ir.store_base(t))
            if isinstance(s.targets[0], gast.Name):
                value = s.value
                parts = value.elts if isinstance(value, (gast.List, gast.Tuple)) else \
                    value.values if isinstance(value, gast.Dict) else [value]
                binds.append((s.targets[0].id, {_root(e) for e in parts} - {None}))
        if isinstance(s, gast.For):
            binds.append((ir.store_base(s.target), {_root(s.iter)} - {None}))
        for node in ir.walk(s.test if isinstance(s, (gast.If, gast.While)) else
                            s.iter if isinstance(s, gast.For) else s):
            if isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) and \
                    node.func.attr in MUTATING_METHODS and \
                    not isinstance(resolve(node.func.value), types.ModuleType):
                written.add(_root(node.func.value))
    changed = True
    while changed:  # (back along the bindings, to a fixed point)
        changed = False
        for target, roots in binds:
            if target in written and not roots <= written:
                written |= roots
                changed = True
    return written - {None}


class Forwarder(Reverser):
    """Builds the tangent function of one FunctionIR for one ``wrt`` and argument kinds;
    ``output``: only that item of the returned tuple needs its tangent (hvp: the gradients,
    not the value), the others get zeros."""

    FORWARD = True

    def __init__(self, fir, wrt, context, param_kinds=None, output: int | None = None):
        super().__init__(fir, wrt, context, param_kinds)
        self.written_through = _written_through(self.fir.body, self.fir.resolve, self.ops)
        if output is not None:
            ret = self.fir.body[-1].value
            if isinstance(ret, gast.Tuple) and len(ret.elts) > output:
                wanted = [n.id for n in ir.walk(ret.elts[output])
                          if isinstance(n, gast.Name) and n.id in self.fir.locals]
                self.act = analyze(self.fir, wrt, self.ops, self.kinds, wanted)

    def tangent(self, primal: str) -> str:
        """``dx`` for ``x`` (a fresh name when ``dx`` is taken)."""
        t = self.names.once(("tangent", primal), "d" + primal, "tangent")
        self.names.primal_of[t] = primal
        return t

    def build_forward(self, fname: str) -> gast.FunctionDef:
        fir = self.fir
        params = [gast.Name(id=p, ctx=gast.Param(), annotation=None, type_comment=None)
                  for p in fir.params]
        params += [gast.Name(id=self.tangent(w), ctx=gast.Param(), annotation=None,
                             type_comment=None) for w in self.wrt]
        # a parameter without a tangent given that later holds varied values: zero until then
        body = [assign(self.tangent(p), self.zero_of(name(p))) for p in fir.params
                if p not in self.wrt and self.active(p)]
        for p in sorted(self.entry_copies):  # the caller's objects are never written
            for v in [p] + ([self.tangent(p)] if self.active(p) else []):
                if self.is_array(p):
                    value = call(gast.Attribute(value=name(v), attr="copy", ctx=gast.Load()))
                else:
                    value = call(self.helper(rt.fresh_copy), name(v))
                body.append(assign(v, value))
        body += self.block(fir.body)
        args = gast.arguments(args=params, posonlyargs=[], vararg=None, kwonlyargs=[],
                              kw_defaults=[], kwarg=None, defaults=[])
        return gast.FunctionDef(name=fname, args=args, body=body, decorator_list=[],
                                returns=None, type_comment=None, type_params=[])

    # -- statements ---------------------------------------------------------------------
    def block(self, stmts) -> list:
        out: list = []
        for s in stmts:
            out.extend(self.stmt(s))
        return out

    def stmt(self, s) -> list:
        if isinstance(s, gast.If):
            return [ir.at(gast.If(test=clone(s.test), body=self.block(s.body) or [gast.Pass()],
                                  orelse=self.block(s.orelse)), s)]
        if isinstance(s, gast.While):
            return [ir.at(gast.While(test=clone(s.test), body=self.block(s.body),
                                     orelse=self.block(s.orelse)), s)]
        if isinstance(s, gast.For):
            return [self.for_loop(s)]
        if isinstance(s, gast.Return):
            return [self.ret(s)]
        op = self.ops.get(id(s))
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
            t = s.targets[0].id
            if not self.active(t):
                if op is not None and (op.kind == "list" and op.method == "pop" or
                                       op.kind == "mirror"):
                    # an inactive value taken from an active list or accumulator (a trip
                    # count popped; the tail of a cotangent list no tangent reaches): the
                    # tangent list drops it too, as for the call on its own
                    return [clone(s)] + self.effect(ir.at(ir.expr_stmt(s.value), s), op)
                return [clone(s)]
            return self.assign(s, t, op)
        if isinstance(s, gast.Assign):  # a store: b[i] = v
            base = ir.store_base(s.targets[0])
            if base is None or not self.active(base):
                return [clone(s)]
            target = clone(s.targets[0])
            target.value = self._retarget(target.value, base)
            return [clone(s), ir.at(assign(target, self.tan_or_zero(s.value)), s)]
        if isinstance(s, gast.Expr) and op is not None and op.kind in ("list", "mirror"):
            return [clone(s)] + self.effect(s, op)
        if isinstance(s, gast.Expr) and op is not None and op.kind == "user" and \
                any(self.active(a.id) for a in op.operands):
            raise self.fir.error(f"forward mode: {describe(op)} called for its effect on "
                                 "active arguments", s, "return the new values instead")
        return [clone(s)]

    def effect(self, s, op) -> list:
        """The tangent statements of the expression statement ``s``, a call that changes an
        active list (``xs.append(v)``) or accumulator (``take_tail(bxs, n)``)."""
        if op.kind == "list":
            return self.list_change(s, op)
        mirrored = self.mirror(s.value, op)
        return [ir.at(ir.expr_stmt(mirrored), s)] if mirrored else []

    def _retarget(self, node, base):
        """``b`` in a store target ``b[i][j]`` replaced by its tangent."""
        if isinstance(node, gast.Name):
            return name(self.tangent(base))
        node.value = self._retarget(node.value, base)
        return node

    def for_loop(self, s):
        loop = gast.For(target=clone(s.target), iter=clone(s.iter), body=self.block(s.body),
                        orelse=self.block(s.orelse), type_comment=None)
        targets = [n.id for n in ir.walk(s.target) if isinstance(n, gast.Name)]
        if any(self.active(n) for n in targets):
            if not (isinstance(s.target, gast.Name) and isinstance(s.iter, gast.Name)):
                raise self.fir.error("forward mode: a loop over active values that is not "
                                     "`for x in xs`", s, "loop over an index instead")
            # for x in xs -> for x, dx in zip(xs, dxs)
            loop.target = gast.Tuple(elts=[clone(s.target), name(self.tangent(
                s.target.id), True)], ctx=gast.Store())
            loop.iter = call(self.helper(builtins.zip), clone(s.iter),
                             self.tan_or_zero(s.iter))
        return ir.at(loop, s)

    def ret(self, s):
        value = s.value
        if isinstance(value, gast.Tuple):
            tangent = gast.Tuple(elts=[self.tan_or_zero(e) for e in value.elts],
                                 ctx=gast.Load())
        else:
            tangent = self.tan_or_zero(value)
        return ir.at(gast.Return(value=gast.Tuple(elts=[clone(value), tangent],
                                                  ctx=gast.Load())), s)

    def list_change(self, s, op) -> list:
        """``xs.append(v)`` -> ``dxs.append(dv)`` (and extend, insert; pop as a value)."""
        node = s.value
        base = node.func.value.id
        if not self.active(base):
            return []
        args = list(node.args)
        if op.method in ("append", "extend"):
            args = [self.tan_or_zero(args[0])]
        elif op.method == "insert":
            args = [clone(args[0]), self.tan_or_zero(args[1])]
        else:
            args = [clone(a) for a in args]
        return [ir.at(ir.expr_stmt(call(gast.Attribute(value=name(self.tangent(base)),
                                                       attr=op.method, ctx=gast.Load()),
                                        *args)), s)]

    # -- tangents of values ---------------------------------------------------------------
    def tan(self, atom):
        """The tangent of an atom: its tangent's name, or None when it has none (a constant,
        an inactive value)."""
        if isinstance(atom, gast.Name) and atom.id in self.fir.locals and self.active(atom.id):
            return name(self.tangent(atom.id))
        return None

    def tan_or_zero(self, atom):
        d = self.tan(atom)
        if d is not None:
            return d
        return self.zero_of(atom)

    def zero_of(self, atom):
        """A zero tangent for ``atom``'s value: ``0.0`` for a number."""
        if isinstance(atom, gast.Constant) or isinstance(atom, gast.Name) and \
                kinds.is_number(kinds.kind_of(atom, self.env)):
            return const(0.0)
        return call(self.helper(rt.tangent_zero), clone(atom))

    def assign(self, s, t, op) -> list:
        """The statements for ``t = value`` with ``t`` active: the primal and its tangent."""
        dt = name(self.tangent(t), True)
        value = s.value
        kind = op.kind if op is not None else None
        if kind == "user":
            return [self.user_call(s, t, op)]
        expr = self.tangent_expr(s, t, op)
        if expr is None and isinstance(value, (gast.List, gast.Dict)) and not (
                value.elts if isinstance(value, gast.List) else value.keys):
            return [clone(s), ir.at(assign(dt, clone(value)), s)]  # (d_stack = [])
        if expr is None:  # no active operand: a zero of t's structure, once t is known
            return [clone(s), ir.at(assign(dt, self.zero_of(name(t))), s)]
        if _may_share(expr) and not _may_share(value) and t in self.written_through:
            # a new object whose tangent folded to another's (x + 1.0 -> dx): a copy, so a
            # write into t's does not reach the other (the caller's, or one still read)
            expr = call(gast.Attribute(value=expr, attr="copy", ctx=gast.Load())) if \
                self.is_array(t) else call(self.helper(rt.fresh_tangent), expr)
        if ANS not in names_in(expr):
            # the tangent first: from the operands' values before the statement
            return [ir.at(assign(dt, expr), s), clone(s)]
        if t not in names_in(expr):  # the tangent reads the result (not t's old value):
            # after it (x = x + b: dx = expand_to(dx + db, x), x's new shape)
            return [clone(s), ir.at(assign(dt, substitute(expr, {ANS: name(t)})), s)]
        # t = f(t) whose tangent needs the new t: through a temporary
        tmp = self.names.numbered("_t")
        expr = substitute(expr, {ANS: name(tmp)})
        return [ir.at(assign(name(tmp, True), clone(value)), s),
                ir.at(assign(name(self.tangent(tmp), True), expr), s),
                ir.at(assign(name(t, True), name(tmp)), s),
                ir.at(assign(dt, name(self.tangent(tmp))), s)]

    def tangent_expr(self, s, t, op):
        """The tangent of ``t = value`` as one expression, or None (no active operand)."""
        kind = op.kind if op is not None else None
        value = s.value
        if kind == "copy":
            return self.tan(op.operands[0])
        if kind in ("const", "zero", "effect"):
            return None
        if kind == "literal":
            value = op.node  # (dict(p=a) is the literal {"p": a})
            if isinstance(value, gast.Dict):
                if not any(self.tan(v) is not None for v in value.values):
                    return None
                return gast.Dict(keys=[clone(k) for k in value.keys],
                                 values=[self.tan_or_zero(v) for v in value.values])
            if not any(self.tan(e) is not None for e in value.elts):
                return None
            elts = [self.tan_or_zero(e) for e in value.elts]
            return (gast.List if isinstance(value, gast.List) else gast.Tuple)(
                elts=elts, ctx=gast.Load())
        if kind == "index":
            d = self.tan(value.value)
            if d is None:
                return None
            return gast.Subscript(value=d, slice=clone(value.slice), ctx=gast.Load())
        if kind == "dict_get":
            d = value.func.value
            if self.tan(d) is None and not (len(value.args) > 1 and self.tan(value.args[1])):
                return None
            args = [clone(value.args[0])] if value.args else [const(None)]
            if len(value.args) > 1:
                args.append(self.tan_or_zero(value.args[1]))
            return call(gast.Attribute(value=self.tan_or_zero(d), attr="get",
                                       ctx=gast.Load()), *args)
        if kind == "list" and op.method == "pop":
            base = value.func.value
            if self.tan(base) is None:
                return None
            return call(gast.Attribute(value=self.tan(base), attr="pop", ctx=gast.Load()),
                        *[clone(a) for a in value.args])
        if kind == "rule" and op.primitive in rules.LINEAR_HELPERS:
            kind = "helper"  # (a helper with a reverse rule: multilinear all the same)
        if kind == "rule":
            if not any(self.tan(a) is not None for a in op.operands):
                return None
            return self.rule_tangent(s, t, op)
        if kind == "mirror":
            return self.mirror(value, op)
        if kind == "helper" and op.primitive in rules.HELPER_JVPS:
            return call(self.helper(rules.HELPER_JVPS[op.primitive]),
                        *[e for a in value.args for e in (clone(a), self.tan_or_zero(a))])
        if kind == "helper":
            linear, constant = rules.LINEAR_HELPERS[op.primitive]
            if op.primitive is rt.einsum_grad:
                # linear in g and in the partner of operand `which` (the operand itself is
                # read for its shape)
                which = value.args[4] if len(value.args) > 4 else None
                if not (isinstance(which, gast.Constant) and which.value in (0, 1)):
                    raise self.fir.error("forward mode: einsum_grad of an unknown operand", s)
                linear = (0, 3) if which.value == 0 else (0, 2)
            for k in constant:
                if k < len(value.args) and self.tan(value.args[k]) is not None:
                    raise self.fir.error(f"forward mode: {describe(op)} is not linear in "
                                         "its argument " + str(k + 1), s)
            return self._multilinear(value, [k for k in linear if k < len(value.args)])
        raise self.fir.error(f"forward mode: no tangent for {describe(op) if op else 'this'}",
                             s)

    def mirror(self, node, op):
        """``add_item(bd, k, v)`` -> ``add_item(dbd, k, dv)``: the same accumulation on the
        tangents (None when the object accumulated into carries none)."""
        positions = MIRRORED[op.primitive]
        if not node.args or self.tan(node.args[0]) is None or node.keywords:
            return None
        new = clone(node)
        for k in positions:
            new.args[k] = self.tan_or_zero(node.args[k])
        return new

    # -- rules ------------------------------------------------------------------------------
    def _pointwise(self, op, t, args) -> bool:
        rule = op.rule
        prim = op.primitive
        if rule.elementwise or isinstance(prim, np.ufunc) or prim in POINTWISE:
            return True
        if getattr(prim, "__module__", None) == "math":
            return True
        numbers = [kinds.is_number(self.kinds.get(a.id)) if isinstance(a, gast.Name) and
                   a.id in self.fir.locals else True for a in args]
        return all(numbers) and kinds.is_number(self.kinds.get(t))

    def rule_tangent(self, s, t, op):
        rule: rules.Rule = op.rule
        prim = op.primitive
        args = self._call_args(op)
        node = s.value
        if isinstance(prim, tuple) and prim in LINEAR_METHODS or \
                not isinstance(prim, tuple) and prim in LINEAR:
            return self._linear(node, args)
        if prim in JOINTLY_LINEAR:
            return call(clone(node.func), *[self.tan_or_zero(a) for a in args])
        if prim in (np.full, np.full_like) and len(args) == 2 and \
                all(k.arg == "dtype" for k in node.keywords):
            # (linear in the fill value: its tangent fills the same shape -- where the array
            # made holds floats: np.full_like of an int array truncates)
            made = self.kinds.get(t)
            if not (isinstance(made, kinds.Array) and made.dtype == "float" or
                    made == kinds.FLOAT):
                raise self.fir.error(f"forward mode: {describe(op)} of an array that may "
                                     "not hold floats", s, "give it dtype=float")
            return call(clone(node.func), clone(args[0]), self.tan_or_zero(args[1]),
                        keywords=[("dtype", name(self.helper(builtins.float)))])
        if isinstance(prim, tuple) and prim in BILINEAR_METHODS or \
                not isinstance(prim, tuple) and prim in BILINEAR:
            bound, _ = self._bind_rule_args(s, op, rule)
            return self._bilinear(node, [bound.get(n) for n in rule.arg_names[:2]],
                                  rule.arg_names)
        if prim in (builtins.max, builtins.min) and len(args) == 1 and \
                isinstance(node, gast.Call) and not node.keywords:  # max(xs)
            return call(self.helper(extreme_jvp), name(prim.__name__), clone(args[0]),
                        self.tan_or_zero(args[0]))
        if prim is np.abs or prim is builtins.abs and not kinds.is_number(
                self.kinds.get(getattr(args[0], "id", None))):
            # (of a complex value: Re(conj(x) dx) / |x|, not the rule's g * conj(x) / |x|)
            return call(self.helper(rt.abs_jvp), clone(args[0]), self.tan_or_zero(args[0]),
                        name(ANS))
        if prim is rt.abs_grad and len(args) == 3:  # (in a gradient: of a complex x too)
            return call(self.helper(rt.abs_grad_jvp),
                        *[e for a in args for e in (clone(a), self.tan_or_zero(a))])
        if prim is np.angle:
            jvp = call(self.helper(rt.angle_jvp), clone(args[0]), self.tan_or_zero(args[0]))
            deg = args[1] if len(args) > 1 else next(
                (k.value for k in node.keywords if k.arg == "deg"), None)
            return jvp if deg is None else gast.BinOp(left=jvp, op=gast.Mult(), right=gast.IfExp(
                test=clone(deg), body=const(180.0 / np.pi), orelse=const(1.0)))
        if prim is np.einsum:  # multilinear in its operands
            return self._multilinear(node, list(range(1, len(node.args))))
        if (prim in REDUCTIONS or prim in rules.REDUCTIONS) and \
                not self._pointwise(op, t, args):
            return self._reduction(s, t, op)
        if (prim is np.sort and len(args) <= 2 or prim is np.partition and
                2 <= len(args) <= 3) and all(k.arg in ("axis", "kind") for k in node.keywords):
            # (the kind of sort does not change the values, nor their order but at ties)
            jvp = call(self.helper(_sort_jvp if prim is np.sort else _partition_jvp),
                       clone(args[0]), self.tan_or_zero(args[0]), *[clone(a) for a in args[1:]])
            jvp.keywords = [gast.keyword(arg="axis", value=clone(k.value))
                            for k in node.keywords if k.arg == "axis"]
            return jvp
        if prim is np.linalg.det and len(args) == 1:
            return call(self.helper(_det_jvp), clone(args[0]), self.tan_or_zero(args[0]),
                        name(ANS))
        if prim is np.cumprod and len(args) <= 2 and all(k.arg == "axis"
                                                         for k in node.keywords):
            jvp = call(self.helper(_cumprod_jvp), clone(args[0]), self.tan_or_zero(args[0]),
                       *[clone(a) for a in args[1:]])
            jvp.keywords = [gast.keyword(arg="axis", value=clone(k.value))
                            for k in node.keywords]
            return jvp
        if prim is np.polyval and not node.keywords and len(args) == 2:
            return call(self.helper(_polyval_jvp), clone(args[0]), clone(args[1]),
                        self.tan_or_zero(args[0]), self.tan_or_zero(args[1]))
        if prim is np.linalg.slogdet and len(args) == 1:
            return call(self.helper(_slogdet_jvp), clone(args[0]), self.tan_or_zero(args[0]))
        if prim is np.linalg.eigh and len(args) <= 2 and not node.keywords:
            return call(self.helper(_eigh_jvp), clone(args[0]), self.tan_or_zero(args[0]),
                        name(ANS), *[clone(a) for a in args[1:]])
        if prim is np.linalg.eig and len(args) == 1:
            return call(self.helper(_eig_jvp), clone(args[0]), self.tan_or_zero(args[0]),
                        name(ANS))
        if prim is np.linalg.svd and len(args) <= 3 and all(
                k.arg in ("full_matrices", "compute_uv") for k in node.keywords):
            jvp = call(self.helper(_svd_jvp), clone(args[0]), self.tan_or_zero(args[0]),
                       name(ANS), *[clone(a) for a in args[1:]])
            jvp.keywords = [gast.keyword(arg=k.arg, value=clone(k.value))
                            for k in node.keywords]
            return jvp
        if prim is np.linalg.cholesky and len(args) == 1:
            return call(self.helper(_cholesky_jvp), clone(args[0]), self.tan_or_zero(args[0]),
                        name(ANS))
        if prim is np.linalg.pinv and len(args) == 1:
            return call(self.helper(_pinv_jvp), clone(args[0]), self.tan_or_zero(args[0]),
                        name(ANS))
        if prim is np.linalg.inv:
            return call(self.helper(_inv_jvp), clone(args[0]), self.tan_or_zero(args[0]),
                        name(ANS))
        if prim is np.linalg.solve and len(args) == 2:
            return call(self.helper(_solve_jvp), clone(args[0]), clone(args[1]),
                        self.tan_or_zero(args[0]), self.tan_or_zero(args[1]), name(ANS))
        if isinstance(self.kinds.get(t), kinds.Seq) and prim in (operator.add, operator.mul):
            # list + list, list * n: the same operation on the tangents
            if prim is operator.add:
                return gast.BinOp(left=self.tan_or_zero(args[0]), op=gast.Add(),
                                  right=self.tan_or_zero(args[1]))
            seq = 0 if isinstance(self.kinds.get(getattr(args[0], "id", None)), kinds.Seq) \
                else 1
            other = clone(args[1 - seq])
            return gast.BinOp(left=self.tan_or_zero(args[seq]), op=gast.Mult(), right=other)
        if not self._pointwise(op, t, args):
            raise self.fir.error(f"forward mode: no forward rule for {describe(op)} on "
                                 "arrays", s, "the reverse mode (s2sad.grad, vjp) has one")
        if prim in (operator.truediv, np.divide, rt.div) and len(args) == 2 and \
                self.tan(args[1]) is not None:
            expr = self._quotient(prim, args)
        else:
            expr = self._from_vjp(s, t, op)
        if expr is not None and self._may_broadcast(t, args):
            # x + y with y a number or of another shape: the tangent takes the result's
            # shape (a later dt[i] = ... writes into it)
            expr = call(self.helper(rt.expand_to), expr, name(ANS))
        return expr

    def _quotient(self, prim, args):
        """``t = a / b``: ``dt = (da - db * t) / b`` (one division; the cotangent templates
        give ``da / b - db * a / b / b``)."""
        da, db = self.tan(args[0]), self.tan(args[1])
        minus = gast.BinOp(left=db, op=gast.Mult(), right=name(ANS))
        top = gast.BinOp(left=da, op=gast.Sub(), right=minus) if da is not None else \
            gast.UnaryOp(op=gast.USub(), operand=minus)
        if prim is rt.div:  # (the IEEE division of generated code)
            return call(self.helper(rt.div), top, clone(args[1]))
        return gast.BinOp(left=top, op=gast.Div(), right=clone(args[1]))

    def _may_broadcast(self, t, args) -> bool:
        if not self.is_array(t):
            return False
        arrays = [a for a in args if isinstance(a, gast.Name) and not
                  kinds.is_number(kinds.kind_of(a, self.env))]
        active_numbers = [a for a in args if self.tan(a) is not None and a not in arrays]
        # (x * x: one array, whatever the count of its uses)
        return not (len({a.id for a in arrays}) == 1 and self.tan(arrays[0]) is not None and
                    not active_numbers)

    def _linear(self, node, args):
        """The primitive applied to its data argument's tangent (other arguments as they
        are)."""
        new = clone(node)
        if isinstance(new, gast.Attribute):  # x.T
            new.value = self.tan_or_zero(args[0])
            return new
        if isinstance(new, gast.UnaryOp):
            new.operand = self.tan_or_zero(args[0])
            return new
        if isinstance(new.func, gast.Attribute) and self.fir.resolve(new.func) is MISSING:
            new.func.value = self.tan_or_zero(args[0])  # a method: x.sum() -> dx.sum()
            return new
        if new.args:
            first = new.args[0]
            if self.tan(first) is None:
                return None
            prim = self.fir.resolve(new.func)
            if prim in (np.sum, np.mean) and self.is_array(first.id):
                # np.sum(dx, ...) of an ndarray is dx.sum(...), without the microsecond of
                # np.sum's own dispatch (what a small array's tangent spends most on)
                return call(gast.Attribute(value=self.tan(first), attr=prim.__name__,
                                           ctx=gast.Load()), *new.args[1:],
                            keywords=[(k.arg, k.value) for k in new.keywords])
            new.args[0] = self.tan(first)
            return new
        if new.keywords:  # the data argument by keyword: np.sum(a=x)
            first = new.keywords[0]
            if self.tan(first.value) is None:
                return None
            first.value = self.tan(first.value)
            return new
        return None

    def _bilinear(self, node, args, arg_names):
        terms = []
        for k in (0, 1):
            d = self.tan(args[k]) if args[k] is not None else None
            if d is None:
                continue
            new = clone(node)
            if isinstance(new, gast.BinOp):
                if k == 0:
                    new.left = d
                else:
                    new.right = d
            elif isinstance(new.func, gast.Attribute) and \
                    self.fir.resolve(new.func) is MISSING:  # a.dot(b)
                if k == 0:
                    new.func.value = d
                else:
                    new.args[0] = d
            elif k < len(new.args):
                new.args[k] = d
            else:  # by keyword
                for kw in new.keywords:
                    if kw.arg == arg_names[k]:
                        kw.value = d
            terms.append(new)
        return _sum(terms)

    def _multilinear(self, node, positions):
        terms = []
        for k in positions:
            d = self.tan(node.args[k])
            if d is not None:
                new = clone(node)
                new.args[k] = d
                terms.append(new)
        return _sum(terms)

    def _reduction(self, s, t, op):
        rule: rules.Rule = op.rule
        bound, keywords = self._bind_rule_args(s, op, rule)
        data = self._call_args(op)[0]
        if [n for n in rule.arg_names if n in bound and self.tan(bound[n]) is not None] != \
                [rule.arg_names[0]]:
            raise self.fir.error(f"forward mode: {describe(op)} with active values beyond "
                                 "its data argument", s)
        axis = bound.get("axis", const(None))
        keepdims = bound.get("keepdims", const(False))
        c = call(self.helper(reduction_jvp), name(self.rule_name(rule)), self.tan(data),
                 name(ANS),
                 clone(axis), clone(keepdims), *[clone(a) for a in self._call_args(op)])
        c.keywords = [gast.keyword(arg=k.arg, value=clone(k.value)) for k in keywords]
        return c

    def _from_vjp(self, s, t, op):
        """A pointwise rule's tangent: its cotangent of each active argument with ``g``
        replaced by that argument's tangent, summed."""
        rule: rules.Rule = op.rule
        names = rule.arg_names
        bound, keywords = self._bind_rule_args(s, op, rule)
        template = rule.template()
        renamed = self._template_names(rule, template) if template is not None else None
        active = [n for n in names if n in bound and self.tan(bound[n]) is not None]
        terms = []
        if template is None or renamed is None:
            if self._may_broadcast(t, op.operands):
                # (the rule's cotangents are summed back to each operand's shape: a tangent
                # must be spread over the result's instead)
                raise self.fir.error(f"forward mode: {describe(op)} of operands of different "
                                     "shapes", s, "the reverse mode (s2sad.grad) has it")
            for n in active:
                c = self.call_rule(rule, self.tan(bound[n]), name(ANS), op, keywords)
                terms.append(ir.subscript(c, const(names.index(n))) if len(names) > 1 else c)
        else:
            for n in active:
                expr = template[names.index(n)]
                if isinstance(expr, gast.Constant) and expr.value is None:
                    continue
                # (a cotangent summed back to a broadcast operand's shape, unbroadcast(e, lo)
                # in clip's template: the tangent is e itself, spread over the result)
                expr = _Unbroadcast(rule).visit(clone(expr))
                mapping = template_mapping(rule, bound, renamed, self.tan(bound[n]),
                                           name(ANS))
                terms.append(_fold(substitute(expr, mapping)))
        return _sum(terms)

    # -- user functions -------------------------------------------------------------------
    def user_call(self, s, t, op):
        """``t = g(a, b)`` -> ``t, dt = g_jvp(a, b, da)`` (the callee's own tangent function
        for the arguments that carry tangents)."""
        node = s.value
        if node.keywords:
            raise self.fir.error("forward mode: keyword arguments to a user function", s)
        args = list(node.args)
        positions = [k for k, a in enumerate(args) if self.tan(a) is not None]
        arg_kinds = tuple(kinds.kind_of(a, self.env) or kinds.OBJECT for a in args)
        fname, fobj = self.ctx.jvp_of(op.primitive, positions, self.fir, s, arg_kinds)
        fname = self.names.once(("callee", id(fobj)), fname, "helper")
        self.injected[fname] = fobj
        self.callee_names[fname] = fobj
        c = call(fname, *[clone(a) for a in args], *[self.tan(args[k]) for k in positions])
        return ir.at(assign(gast.Tuple(elts=[name(t, True), name(self.tangent(t), True)],
                                       ctx=gast.Store()), c), s)


class _Unbroadcast(gast.NodeTransformer):
    """A rule's template with ``unbroadcast(e, x)`` read as ``e``."""

    def __init__(self, rule) -> None:
        self.rule = rule

    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, gast.Name) and node.args and \
                _rule_name(self.rule, node.func.id) is rt.unbroadcast:
            return node.args[0]
        return node


def _sum(terms):
    """``a + b + ...`` of tangent terms, or None for none."""
    if not terms:
        return None
    out = terms[0]
    for term in terms[1:]:
        if isinstance(term, gast.UnaryOp) and isinstance(term.op, gast.USub):
            out = gast.BinOp(left=out, op=gast.Sub(), right=term.operand)  # a - b, not a + -b
        else:
            out = gast.BinOp(left=out, op=gast.Add(), right=term)
    return out


def forward(fir, wrt: list[str], fname: str, context, param_kinds: dict | None = None,
            output: int | None = None):
    """Build the tangent FunctionDef of ``fir``; returns (FunctionDef, injected, Forwarder)."""
    f = Forwarder(fir, wrt, context, param_kinds, output)
    fdef = f.build_forward(fname)
    return fdef, f.injected, f

