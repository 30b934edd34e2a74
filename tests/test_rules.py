"""Every rule in the rule table, checked against finite differences.

For each registered rule a spec below says how to call its primitive; the test draws inputs
with hypothesis (arrays with broadcasting shapes included), computes the rule's
vector-Jacobian product for a random cotangent G, and compares <vjp, V> with the central
difference of <G, f(x + hV)> along a random direction V.  A rule without a spec fails.
"""

import builtins
import math
import operator

import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as ss
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from s2sad import rules
from s2sad import runtime as rt
from s2sad.runtime import unbroadcast
from s2sad.testing import arrays, floats

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))


def F(lo=-3.0, hi=3.0, avoid=()):
    return floats(lo, hi, avoid=avoid, margin=1e-2)


def A(shape, lo=-3.0, hi=3.0, avoid=()):
    return arrays(shape, lo, hi, avoid=avoid, margin=1e-2)


def _eig_order(e):
    return np.lexsort((e.imag, e.real))  # (by real part, a conjugate pair by imaginary)


def _sorted_eig(a):
    """eig's values and vectors in an order that moves continuously with ``a`` (LAPACK's
    own may not, near a diagonal matrix)."""
    e, u = np.linalg.eig(a)
    order = _eig_order(e)
    return e[order], u[:, order]


def CA(shape, lo=-3.0, hi=3.0):
    """Complex arrays: real and imaginary parts drawn like ``A``'s."""
    return st.tuples(A(shape, lo, hi), A(shape, lo, hi)).map(lambda p: p[0] + 1j * p[1])


@st.composite
def broadcast_pair(draw, lo=-3.0, hi=3.0):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                    max_side=3))
    return [draw(A(s, lo, hi)) for s in shapes.input_shapes]


def unary(lo=-3.0, hi=3.0, avoid=()):
    return st.tuples(A(hnp.array_shapes(min_dims=0, max_dims=3, max_side=3), lo, hi, avoid))


def scalar(lo=-3.0, hi=3.0, avoid=()):
    return st.tuples(F(lo, hi, avoid))


def pair(lo=-3.0, hi=3.0):
    return st.tuples(F(lo, hi), F(lo, hi)).filter(lambda p: abs(p[0] - p[1]) > 1e-2)


def method(name):
    return lambda x, *rest, **kw: getattr(x, name)(*rest, **kw)


M = {"shape": (3, 4)}
MAT = A((3, 4))
SQ = st.builds(lambda m: m + 4.0 * np.eye(3), A((3, 3), -1, 1))
# symmetric positive definite, eigenvalues apart (eigh's eigenvectors are smooth there)
SPD = st.builds(lambda m: m @ m.T + np.diag([1.0, 3.0, 6.0]), A((3, 3), -0.5, 0.5))
# 3 x 4, singular values apart (the SVD's vectors are smooth there)
DISTINCT = st.builds(lambda m: m + np.array([[3.0, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, 1.0, 0]]),
                     A((3, 4), -0.2, 0.2))

# key -> list of (callable, strategy of positional args, kwargs, differentiable positions)
SPECS = {
    operator.add: [(operator.add, broadcast_pair(), {}, (0, 1)),
                   (operator.add, pair(), {}, (0, 1))],
    operator.sub: [(operator.sub, broadcast_pair(), {}, (0, 1))],
    operator.mul: [(operator.mul, broadcast_pair(), {}, (0, 1)),
                   (operator.mul, pair(), {}, (0, 1))],
    operator.truediv: [(operator.truediv, broadcast_pair(0.5, 3.0), {}, (0, 1))],
    operator.pow: [(operator.pow, broadcast_pair(0.5, 2.0), {}, (0, 1)),
                   (operator.pow, pair(0.5, 2.0), {}, (0, 1))],
    operator.mod: [(operator.mod, st.tuples(F(0.1, 0.9), F(1.1, 2.0)), {}, (0, 1))],
    operator.neg: [(operator.neg, unary(), {}, (0,))],
    operator.pos: [(operator.pos, unary(), {}, (0,))],
    operator.matmul: [(operator.matmul, st.tuples(A((2, 3)), A((3, 4))), {}, (0, 1)),
                      (operator.matmul, st.tuples(A((3,)), A((3, 2))), {}, (0, 1)),
                      (operator.matmul, st.tuples(A((2, 3)), A((3,))), {}, (0, 1)),
                      (operator.matmul, st.tuples(A((3,)), A((3,))), {}, (0, 1)),
                      (operator.matmul, st.tuples(A((2, 2, 3)), A((3, 2))), {}, (0, 1))],
    builtins.abs: [(abs, scalar(avoid=[0.0]), {}, (0,))],
    builtins.min: [(min, pair(), {}, (0, 1))],
    builtins.max: [(max, pair(), {}, (0, 1))],
    builtins.float: [(float, scalar(), {}, (0,))],
    builtins.pow: [(pow, pair(0.5, 2.0), {}, (0, 1))],
    builtins.sum: [(sum, st.tuples(A((4,))), {}, (0,)), (sum, st.tuples(A((3, 2))), {}, (0,))],
    builtins.divmod: [(divmod, st.tuples(F(0.1, 3.0), F(0.7, 2.0)), {}, (0, 1))],
    builtins.list: [(list, st.tuples(A((4,))), {}, (0,))],
    builtins.tuple: [(tuple, st.tuples(A((3,))), {}, (0,))],
    builtins.sorted: [(sorted, st.tuples(A((5,))), {}, (0,))],
    builtins.reversed: [(lambda x: list(reversed(x)), st.tuples(A((4,))), {}, (0,))],
    math.sin: [(math.sin, scalar(), {}, (0,))], math.cos: [(math.cos, scalar(), {}, (0,))],
    math.tan: [(math.tan, scalar(-1.4, 1.4), {}, (0,))],
    math.exp: [(math.exp, scalar(), {}, (0,))],
    math.log: [(math.log, scalar(0.1, 5), {}, (0,)),
               (math.log, st.tuples(F(0.1, 5), F(1.5, 5)), {}, (0, 1))],
    math.log2: [(math.log2, scalar(0.1, 5), {}, (0,))],
    math.log10: [(math.log10, scalar(0.1, 5), {}, (0,))],
    math.log1p: [(math.log1p, scalar(-0.9, 5), {}, (0,))],
    math.expm1: [(math.expm1, scalar(), {}, (0,))],
    math.sqrt: [(math.sqrt, scalar(0.1, 5), {}, (0,))],
    math.pow: [(math.pow, pair(0.5, 2.0), {}, (0, 1))],
    math.hypot: [(math.hypot, pair(), {}, (0, 1))],
    math.tanh: [(math.tanh, scalar(), {}, (0,))], math.sinh: [(math.sinh, scalar(), {}, (0,))],
    math.cosh: [(math.cosh, scalar(), {}, (0,))],
    math.asin: [(math.asin, scalar(-0.9, 0.9), {}, (0,))],
    math.acos: [(math.acos, scalar(-0.9, 0.9), {}, (0,))],
    math.atan: [(math.atan, scalar(), {}, (0,))],
    math.atan2: [(math.atan2, st.tuples(F(), F(0.5, 3.0)), {}, (0, 1))],
    math.asinh: [(math.asinh, scalar(), {}, (0,))],
    math.acosh: [(math.acosh, scalar(1.1, 5), {}, (0,))],
    math.atanh: [(math.atanh, scalar(-0.9, 0.9), {}, (0,))],
    math.erf: [(math.erf, scalar(), {}, (0,))], math.erfc: [(math.erfc, scalar(), {}, (0,))],
    math.fabs: [(math.fabs, scalar(avoid=[0.0]), {}, (0,))],
    math.degrees: [(math.degrees, scalar(), {}, (0,))],
    math.radians: [(math.radians, scalar(), {}, (0,))],
    math.copysign: [(math.copysign, st.tuples(F(avoid=[0.0]), F(avoid=[0.0])), {}, (0,))],
    math.fmod: [(math.fmod, st.tuples(F(0.1, 5.0), F(0.7, 2.0)), {}, (0, 1))],
    np.sin: [(np.sin, unary(), {}, (0,))], np.cos: [(np.cos, unary(), {}, (0,))],
    np.tan: [(np.tan, unary(-1.4, 1.4), {}, (0,))], np.exp: [(np.exp, unary(), {}, (0,))],
    np.log: [(np.log, unary(0.1, 5), {}, (0,))], np.log1p: [(np.log1p, unary(-0.9, 5), {}, (0,))],
    np.expm1: [(np.expm1, unary(), {}, (0,))], np.sqrt: [(np.sqrt, unary(0.1, 5), {}, (0,))],
    np.square: [(np.square, unary(), {}, (0,))], np.tanh: [(np.tanh, unary(), {}, (0,))],
    np.sinh: [(np.sinh, unary(), {}, (0,))], np.cosh: [(np.cosh, unary(), {}, (0,))],
    np.arcsin: [(np.arcsin, unary(-0.9, 0.9), {}, (0,))],
    np.arccos: [(np.arccos, unary(-0.9, 0.9), {}, (0,))],
    np.arctan: [(np.arctan, unary(), {}, (0,))],
    np.abs: [(np.abs, unary(avoid=[0.0]), {}, (0,)), (np.abs, st.tuples(CA((3,), 0.2, 3.0)),
                                                      {}, (0,))],
    np.negative: [(np.negative, unary(), {}, (0,))],
    np.reciprocal: [(np.reciprocal, unary(0.5, 3), {}, (0,))],
    np.add: [(np.add, broadcast_pair(), {}, (0, 1))],
    np.subtract: [(np.subtract, broadcast_pair(), {}, (0, 1))],
    np.multiply: [(np.multiply, broadcast_pair(), {}, (0, 1))],
    np.divide: [(np.divide, broadcast_pair(0.5, 3.0), {}, (0, 1))],
    np.power: [(np.power, broadcast_pair(0.5, 2.0), {}, (0, 1))],
    np.arctan2: [(np.arctan2, broadcast_pair(0.5, 3.0), {}, (0, 1))],
    np.hypot: [(np.hypot, broadcast_pair(0.5, 3.0), {}, (0, 1))],
    np.maximum: [(np.maximum, broadcast_pair(), {}, (0, 1))],
    np.minimum: [(np.minimum, broadcast_pair(), {}, (0, 1))],
    np.logaddexp: [(np.logaddexp, broadcast_pair(), {}, (0, 1))],
    np.where: [(np.where, st.tuples(st.just(np.array([True, False, True])), A((3,)), A((2, 3))),
                {}, (1, 2))],
    np.clip: [(np.clip, st.tuples(A((4,), avoid=[-1.0, 1.0]), st.just(-1.0), st.just(1.0)),
               {}, (0,)),
              (np.clip, st.tuples(A((4,), avoid=[-1.0, 1.0]), F(-1.5, -0.5), F(0.5, 1.5)), {},
               (0, 1, 2)),
              # bounds that cross (lo > hi: NumPy gives hi), element by element
              (np.clip, st.tuples(A((4,)), A((4,)), A((4,))), {}, (0, 1, 2)),
              (np.clip, st.tuples(A((4,)), F(0.5, 1.5), F(-1.5, -0.5)), {}, (0, 1, 2))],
    np.sum: [(np.sum, st.tuples(MAT), {"axis": 0}, (0,)), (np.sum, st.tuples(MAT), {}, (0,)),
             (np.sum, st.tuples(MAT), {"axis": -1, "keepdims": True}, (0,)),
             # (of complex values: a complex cotangent, whole or per axis)
             (np.sum, st.tuples(CA((3, 4))), {}, (0,)),
             (np.sum, st.tuples(CA((3, 4))), {"axis": 0}, (0,))],
    np.mean: [(np.mean, st.tuples(MAT), {"axis": (0, 1)}, (0,)),
              (np.mean, st.tuples(MAT), {"axis": 1}, (0,)),
              (np.mean, st.tuples(CA((3, 4))), {}, (0,))],
    np.prod: [(np.prod, st.tuples(A((3, 4), 0.5, 2)), {"axis": 1}, (0,))],
    np.max: [(np.max, st.tuples(MAT), {"axis": 0}, (0,))],
    np.min: [(np.min, st.tuples(MAT), {}, (0,))],
    np.amax: [(np.amax, st.tuples(MAT), {"axis": 1}, (0,))],
    np.amin: [(np.amin, st.tuples(MAT), {}, (0,))],
    np.var: [(np.var, st.tuples(MAT), {"axis": 1}, (0,)), (np.var, st.tuples(MAT), {"ddof": 1},
                                                           (0,))],
    np.std: [(np.std, st.tuples(MAT), {"axis": 0, "keepdims": True}, (0,))],
    np.linalg.norm: [(np.linalg.norm, st.tuples(A((5,))), {}, (0,)),
                     (np.linalg.norm, st.tuples(MAT), {}, (0,)),
                     (np.linalg.norm, st.tuples(MAT), {"axis": 1}, (0,))],
    np.dot: [(np.dot, st.tuples(A((3,)), A((3,))), {}, (0, 1)),
             (np.dot, st.tuples(A((2, 3)), A((3, 2))), {}, (0, 1))],
    np.matmul: [(np.matmul, st.tuples(A((2, 3)), A((3,))), {}, (0, 1))],
    np.outer: [(np.outer, st.tuples(A((3,)), A((2,))), {}, (0, 1))],
    np.einsum: [(np.einsum, st.tuples(st.just("ij,jk->ik"), A((2, 3)), A((3, 2))), {}, (1, 2)),
                (np.einsum, st.tuples(st.just("ij,j->"), A((2, 3)), A((3,))), {}, (1, 2)),
                (np.einsum, st.tuples(st.just("i,i->i"), A((3,)), A((3,))), {}, (1, 2))],
    np.linalg.solve: [(np.linalg.solve, st.tuples(SQ, A((3,))), {}, (0, 1)),
                      (np.linalg.solve, st.tuples(SQ, A((3, 2))), {}, (0, 1))],
    np.linalg.inv: [(np.linalg.inv, st.tuples(SQ), {}, (0,))],
    np.reshape: [(np.reshape, st.tuples(MAT, st.just((2, 6))), {}, (0,))],
    np.transpose: [(np.transpose, st.tuples(A((2, 3, 4)), st.just((1, 2, 0))), {}, (0,)),
                   (np.transpose, st.tuples(MAT), {}, (0,))],
    np.swapaxes: [(np.swapaxes, st.tuples(A((2, 3, 4)), st.just(0), st.just(2)), {}, (0,))],
    np.expand_dims: [(np.expand_dims, st.tuples(MAT, st.just(1)), {}, (0,))],
    np.squeeze: [(np.squeeze, st.tuples(A((3, 1, 2))), {}, (0,))],
    np.ravel: [(np.ravel, st.tuples(MAT), {}, (0,))],
    # the helpers generated code calls (a generated gradient is differentiated again)
    rt.div: [(rt.div, broadcast_pair(0.5, 3.0), {}, (0, 1))],
    rt.power: [(rt.power, broadcast_pair(0.5, 2.0), {}, (0, 1))],
    rules._log: [(rules._log, scalar(0.1, 5), {}, (0,)), (rules._log, unary(0.1, 5), {}, (0,))],
    rt.copy_of: [(rt.copy_of, unary(), {}, (0,))],
    rt.fresh_copy: [(rt.fresh_copy, unary(), {}, (0,))],
    # (the adjoint of sum's adjoint: a gradient of a gradient through sum)
    # (a gradient of a gradient through max/min of a list, and list(x) of an array's
    # cotangent: linear in the cotangent, the rest read for where it goes)
    rt.extreme_grad: [(rt.extreme_grad, st.lists(F(), min_size=3, max_size=3).flatmap(
        lambda xs: st.tuples(F(), st.just(max(xs)), st.just(xs))), {}, (0,))],
    rt.to_structure: [(rt.to_structure, st.tuples(A((3,)), st.just([0.5, 1.5, 2.5])), {}, (0,)),
                      (rt.to_structure, st.tuples(F(), st.just([0.5, 1.5])), {}, (0,)),
                      (rt.to_structure, st.tuples(A((2, 2)), st.just([[0.5, 1.0], [2.0, 3.0]])),
                       {}, (0,))],
    rt.norm_input: [(rt.norm_input, st.tuples(A((2, 3)), st.just(None), st.just(1)), {}, (0,))],
    rt.fill_like: [(rt.fill_like, st.tuples(A((4,)), F()), {}, (1,)),
                   (rt.fill_like, st.tuples(A((3, 2)), A((2,))), {}, (1,))],
    rt.add: [(rt.add, st.tuples(F(), F()), {}, (0, 1)), (rt.add, st.tuples(MAT, MAT), {},
                                                         (0, 1))],
    rt.unbroadcast: [(rt.unbroadcast, st.tuples(A((3, 4)), A((4,))), {}, (0,)),
                     (rt.unbroadcast, st.tuples(A((3, 4)), F()), {}, (0,)),
                     (rt.unbroadcast, st.tuples(A((2, 3, 4)), A((3, 1))), {}, (0,))],
    rt.unreduce: [(rt.unreduce, st.tuples(F(), MAT), {}, (0,)),
                  (rt.unreduce, st.tuples(A((4,)), MAT, st.just(0)), {}, (0,)),
                  (rt.unreduce, st.tuples(A((3, 1)), MAT, st.just(1), st.just(True)), {},
                   (0,))],
    np.cumsum: [(np.cumsum, st.tuples(MAT), {}, (0,)),
                (np.cumsum, st.tuples(MAT), {"axis": 1}, (0,))],
    np.flip: [(np.flip, st.tuples(MAT), {}, (0,)), (np.flip, st.tuples(MAT, st.just(0)), {},
                                                       (0,))],
    np.roll: [(np.roll, st.tuples(MAT, st.just(2)), {}, (0,)),
              (np.roll, st.tuples(MAT, st.just(-1)), {"axis": 0}, (0,))],
    np.diff: [(np.diff, st.tuples(A((5,))), {}, (0,)),
              (np.diff, st.tuples(MAT, st.just(2)), {"axis": 0}, (0,))],
    np.trace: [(np.trace, st.tuples(MAT), {}, (0,))],
    np.logaddexp2: [(np.logaddexp2, broadcast_pair(), {}, (0, 1))],
    np.fmax: [(np.fmax, broadcast_pair(), {}, (0, 1))],
    np.fmin: [(np.fmin, broadcast_pair(), {}, (0, 1))],
    np.remainder: [(np.remainder, st.tuples(A((3,), 0.1, 0.9), A((3,), 1.1, 2.0)), {},
                    (0, 1))],
    np.arcsinh: [(np.arcsinh, unary(), {}, (0,))],
    np.arccosh: [(np.arccosh, unary(1.1, 4.0), {}, (0,))],
    np.arctanh: [(np.arctanh, unary(-0.9, 0.9), {}, (0,))],
    np.exp2: [(np.exp2, unary(), {}, (0,))],
    np.log2: [(np.log2, unary(0.1, 5), {}, (0,))],
    np.log10: [(np.log10, unary(0.1, 5), {}, (0,))],
    np.fabs: [(np.fabs, unary(avoid=[0.0]), {}, (0,))],
    np.radians: [(np.radians, unary(), {}, (0,))],
    np.deg2rad: [(np.deg2rad, unary(), {}, (0,))],
    np.degrees: [(np.degrees, unary(), {}, (0,))],
    np.rad2deg: [(np.rad2deg, unary(), {}, (0,))],
    np.sinc: [(np.sinc, unary(), {}, (0,))],
    np.real_if_close: [(np.real_if_close, unary(), {}, (0,)),
                       (np.real_if_close, st.tuples(CA((3,))), {}, (0,))],
    np.conjugate: [(np.conjugate, unary(), {}, (0,)), (np.conjugate, st.tuples(CA((3,))), {},
                                                       (0,))],
    np.real: [(np.real, unary(), {}, (0,)), (np.real, st.tuples(CA((2, 3))), {}, (0,))],
    np.imag: [(np.imag, unary(), {}, (0,)), (np.imag, st.tuples(CA((2, 3))), {}, (0,))],
    np.angle: [(np.angle, st.tuples(CA((3,), 0.2, 3.0)), {}, (0,)),
               (np.angle, st.tuples(CA((3,), 0.2, 3.0)), {"deg": True}, (0,))],
    # the discrete Fourier transforms, of real and complex arrays, lengths and axes given
    np.fft.fft: [(np.fft.fft, st.tuples(A((5,))), {}, (0,)),
                 (np.fft.fft, st.tuples(CA((4,))), {"n": 6}, (0,)),
                 (np.fft.fft, st.tuples(CA((3, 4))), {"n": 2, "axis": 0, "norm": "ortho"},
                  (0,))],
    np.fft.ifft: [(np.fft.ifft, st.tuples(CA((4,))), {"n": 3, "norm": "forward"}, (0,))],
    np.fft.fft2: [(np.fft.fft2, st.tuples(A((3, 4))), {}, (0,)),
                  (np.fft.fft2, st.tuples(CA((3, 4))), {"s": (4, 3)}, (0,))],
    np.fft.ifft2: [(np.fft.ifft2, st.tuples(CA((3, 4))), {"norm": "ortho"}, (0,))],
    np.fft.fftn: [(np.fft.fftn, st.tuples(A((2, 3, 4))), {"axes": (0, 2)}, (0,))],
    np.fft.ifftn: [(np.fft.ifftn, st.tuples(CA((3, 4))), {}, (0,))],
    np.fft.rfft: [(np.fft.rfft, st.tuples(A((6,))), {}, (0,)),
                  (np.fft.rfft, st.tuples(A((5,))), {}, (0,)),
                  (np.fft.rfft, st.tuples(A((3, 4))), {"n": 6, "axis": 0, "norm": "ortho"},
                   (0,))],
    np.fft.rfft2: [(np.fft.rfft2, st.tuples(A((3, 4))), {}, (0,))],
    np.fft.rfftn: [(np.fft.rfftn, st.tuples(A((2, 3, 5))), {}, (0,)),
                   (np.fft.rfftn, st.tuples(A((3, 4))), {"s": (5, 3), "axes": (0, 1)}, (0,))],
    np.fft.irfft: [(np.fft.irfft, st.tuples(CA((4,))), {}, (0,)),
                   (np.fft.irfft, st.tuples(CA((4,))), {"n": 7}, (0,)),
                   (np.fft.irfft, st.tuples(CA((3, 4))), {"axis": 0, "norm": "ortho"}, (0,))],
    np.fft.irfft2: [(np.fft.irfft2, st.tuples(CA((3, 4))), {}, (0,))],
    np.fft.irfftn: [(np.fft.irfftn, st.tuples(CA((2, 3, 4))), {"norm": "forward"}, (0,)),
                    (np.fft.irfftn, st.tuples(CA((3, 3))), {"s": (3, 5), "axes": (0, 1)}, (0,))],
    np.nan_to_num: [(np.nan_to_num, unary(), {}, (0,))],
    np.atleast_1d: [(np.atleast_1d, scalar(), {}, (0,)), (np.atleast_1d, st.tuples(MAT), {},
                                                          (0,))],
    np.atleast_2d: [(np.atleast_2d, st.tuples(A((3,))), {}, (0,))],
    np.atleast_3d: [(np.atleast_3d, st.tuples(MAT), {}, (0,))],
    np.fliplr: [(np.fliplr, st.tuples(MAT), {}, (0,))],
    np.flipud: [(np.flipud, st.tuples(MAT), {}, (0,))],
    np.rot90: [(np.rot90, st.tuples(MAT), {}, (0,)),
               (np.rot90, st.tuples(MAT, st.just(3)), {}, (0,))],
    np.moveaxis: [(np.moveaxis, st.tuples(A((2, 3, 4)), st.just(0), st.just(-1)), {}, (0,))],
    np.tril: [(np.tril, st.tuples(MAT), {}, (0,)), (np.tril, st.tuples(MAT, st.just(1)), {},
                                                    (0,))],
    np.triu: [(np.triu, st.tuples(MAT, st.just(-1)), {}, (0,))],
    np.diag: [(np.diag, st.tuples(A((3,))), {}, (0,)), (np.diag, st.tuples(MAT, st.just(1)),
                                                         {}, (0,)),
              (np.diag, st.tuples(MAT, st.just(-1)), {}, (0,))],
    np.diagonal: [(np.diagonal, st.tuples(MAT), {}, (0,)),
                  (np.diagonal, st.tuples(A((2, 3, 4)), st.just(1), st.just(1), st.just(2)),
                   {}, (0,))],
    np.tile: [(np.tile, st.tuples(A((2, 3)), st.just((2, 1, 2))), {}, (0,)),
              (np.tile, st.tuples(A((3,)), st.just(2)), {}, (0,))],
    np.repeat: [(np.repeat, st.tuples(MAT, st.just(2)), {}, (0,)),
                (np.repeat, st.tuples(MAT, st.just([1, 0, 2])), {"axis": 0}, (0,))],
    np.sort: [(np.sort, st.tuples(MAT), {}, (0,)), (np.sort, st.tuples(MAT), {"axis": 0},
                                                    (0,))],
    np.cross: [(np.cross, st.tuples(A((3,)), A((3,))), {}, (0, 1)),
               (np.cross, st.tuples(A((2, 3)), A((2, 3))), {}, (0, 1))],
    np.linalg.det: [(np.linalg.det, st.tuples(SQ), {}, (0,))],
    np.fft.fftshift: [(np.fft.fftshift, st.tuples(A((5,))), {}, (0,)),
                      (np.fft.fftshift, st.tuples(MAT), {"axes": 1}, (0,))],
    np.fft.ifftshift: [(np.fft.ifftshift, st.tuples(MAT), {}, (0,))],
    np.linalg.cholesky: [(np.linalg.cholesky, st.tuples(SPD), {}, (0,))],
    # (eigenvalues apart, some complex: through the values and the vectors' squared moduli)
    np.linalg.eig: [(lambda a: _sorted_eig(a)[0], st.tuples(A((3, 3))), {}, (0,)),
                    (lambda a: np.abs(_sorted_eig(a)[1]) ** 2, st.tuples(A((3, 3))), {},
                     (0,))],
    np.linalg.eigh: [(lambda a: np.linalg.eigh(a)[0], st.tuples(SPD), {}, (0,)),
                     (lambda a: np.linalg.eigh(a)[1] ** 2, st.tuples(SPD), {}, (0,))],
    np.linalg.svd: [(lambda a: np.linalg.svd(a, compute_uv=False), st.tuples(DISTINCT), {},
                     (0,)),
                    (lambda a: np.linalg.svd(a, full_matrices=False)[0] ** 2,
                     st.tuples(DISTINCT), {}, (0,)),
                    (lambda a: np.linalg.svd(a, full_matrices=False)[2] ** 2,
                     st.tuples(DISTINCT), {}, (0,)),
                    (lambda a: np.linalg.svd(a, full_matrices=False)[1],
                     st.tuples(DISTINCT.map(lambda m: m.T)), {}, (0,))],
    np.linalg.pinv: [(np.linalg.pinv, st.tuples(st.builds(lambda m: m + 3.0 * np.eye(3, 4),
                                                          A((3, 4), -1, 1))), {}, (0,))],
    np.gradient: [(np.gradient, st.tuples(A((5,))), {}, (0,)),
                  (np.gradient, st.tuples(MAT, st.just(0.5)), {}, (0,)),
                  (np.gradient, st.tuples(MAT), {"axis": 1}, (0,))],
    np.append: [(np.append, st.tuples(MAT, A((2,))), {}, (0, 1)),
                (np.append, st.tuples(MAT, A((1, 4))), {"axis": 0}, (0, 1))],
    np.cumprod: [(np.cumprod, st.tuples(A((5,))), {}, (0,)),
                 (np.cumprod, st.tuples(MAT), {"axis": 1}, (0,)),
                 (np.cumprod, st.tuples(st.just(np.array([0.5, 0.0, 2.0, -1.5]))), {}, (0,))],
    np.convolve: [(np.convolve, st.tuples(A((5,)), A((3,))), {}, (0, 1)),
                  (np.convolve, st.tuples(A((3,)), A((5,)), st.just("same")), {}, (0, 1)),
                  (np.convolve, st.tuples(A((5,)), A((2,)), st.just("valid")), {}, (0, 1))],
    np.polyval: [(np.polyval, st.tuples(A((4,)), F()), {}, (0, 1)),
                 (np.polyval, st.tuples(A((3,)), A((5,))), {}, (0, 1))],
    np.tensordot: [(np.tensordot, st.tuples(A((2, 3)), A((3, 4)), st.just(1)), {}, (0, 1)),
                   (np.tensordot, st.tuples(A((3, 2)), A((2, 4, 3))), {"axes": ([1, 0], [0, 2])},
                    (0, 1)),
                   (np.tensordot, st.tuples(A((2, 3)), A((2, 3))), {}, (0, 1))],
    np.inner: [(np.inner, st.tuples(A((3,)), A((3,))), {}, (0, 1)),
               (np.inner, st.tuples(A((2, 3)), A((4, 3))), {}, (0, 1))],
    np.kron: [(np.kron, st.tuples(A((2, 3)), A((2, 2))), {}, (0, 1)),
              (np.kron, st.tuples(A((3,)), A((2,))), {}, (0, 1))],
    np.rollaxis: [(np.rollaxis, st.tuples(A((2, 3, 4)), st.just(2)), {}, (0,)),
                  (np.rollaxis, st.tuples(A((2, 3, 4)), st.just(0), st.just(2)), {}, (0,))],
    np.pad: [(np.pad, st.tuples(MAT, st.just(1)), {}, (0,)),
             (np.pad, st.tuples(A((3,)), st.just(((2, 1),))), {}, (0,))],
    np.partition: [(np.partition, st.tuples(A((5,)), st.just(2)), {}, (0,))],
    np.split: [(np.split, st.tuples(A((6,)), st.just(3)), {}, (0,)),
               (np.split, st.tuples(MAT, st.just(2)), {"axis": 1}, (0,))],
    np.array_split: [(np.array_split, st.tuples(A((6,)), st.just(2)), {}, (0,))],
    np.hsplit: [(np.hsplit, st.tuples(MAT, st.just(2)), {}, (0,))],
    np.vsplit: [(np.vsplit, st.tuples(A((4, 3)), st.just(2)), {}, (0,))],
    np.dsplit: [(np.dsplit, st.tuples(A((2, 2, 4)), st.just(2)), {}, (0,))],
    np.linalg.slogdet: [(lambda a: np.linalg.slogdet(a)[1], st.tuples(SQ), {}, (0,))],
    np.broadcast_to: [(np.broadcast_to, st.tuples(A((1, 3)), st.just((4, 3))), {}, (0,))],
    np.array: [(np.array, st.tuples(MAT), {}, (0,))],
    np.asarray: [(np.asarray, st.tuples(MAT), {}, (0,))],
    np.copy: [(np.copy, st.tuples(MAT), {}, (0,))],
    np.full: [(np.full, st.tuples(st.just((2, 3)), F()), {}, (1,)),
              (np.full, st.tuples(st.just(3), A((3,))), {}, (1,))],
    np.full_like: [(np.full_like, st.tuples(MAT, F()), {}, (1,))],
    np.linspace: [(np.linspace, st.tuples(F(), F(), st.just(5)), {}, (0, 1))],
    np.arange: [(np.arange, st.tuples(F(0.0, 1.0), st.just(4.05), F(0.3, 0.5)), {}, (0, 2))],
    ("method", "sum"): [(method("sum"), st.tuples(MAT), {"axis": 1}, (0,))],
    ("method", "mean"): [(method("mean"), st.tuples(MAT), {}, (0,))],
    ("method", "prod"): [(method("prod"), st.tuples(A((3, 4), 0.5, 2)), {"axis": 0}, (0,))],
    ("method", "max"): [(method("max"), st.tuples(MAT), {"axis": 1}, (0,))],
    ("method", "min"): [(method("min"), st.tuples(MAT), {"axis": 0}, (0,))],
    ("method", "var"): [(method("var"), st.tuples(MAT), {}, (0,))],
    ("method", "std"): [(method("std"), st.tuples(MAT), {"axis": 1}, (0,))],
    ("method", "dot"): [(method("dot"), st.tuples(A((2, 3)), A((3,))), {}, (0, 1))],
    ("method", "reshape"): [(method("reshape"), st.tuples(MAT, st.just(6), st.just(2)), {},
                             (0,))],
    ("method", "transpose"): [(method("transpose"), st.tuples(A((2, 3, 4)), st.just(2),
                                                              st.just(0), st.just(1)), {}, (0,))],
    ("method", "copy"): [(method("copy"), st.tuples(MAT), {}, (0,))],
    ("method", "cumsum"): [(method("cumsum"), st.tuples(MAT), {}, (0,)),
                           (method("cumsum"), st.tuples(MAT), {"axis": 0}, (0,))],
    ("method", "flatten"): [(method("flatten"), st.tuples(MAT), {}, (0,))],
    ("method", "ravel"): [(method("ravel"), st.tuples(MAT), {}, (0,))],
    ("method", "squeeze"): [(method("squeeze"), st.tuples(A((3, 1))), {}, (0,))],
    ("method", "clip"): [(method("clip"), st.tuples(A((4,), avoid=[-1.0, 1.0]), st.just(-1.0),
                                                    st.just(1.0)), {}, (0,))],
    ("pow", "constant"): [(operator.pow, st.tuples(F(-2.0, 2.0), st.just(3)), {}, (0,)),
                          (operator.pow, st.tuples(A((3,)), st.just(2.0)), {}, (0,))],
    ("attr", "T"): [(lambda x: x.T, st.tuples(MAT), {}, (0,))],
    ("attr", "real"): [(lambda x: x.real, st.tuples(CA((3,))), {}, (0,))],
    ("attr", "imag"): [(lambda x: x.imag, st.tuples(CA((3,))), {}, (0,))],
    ("method", "conj"): [(method("conj"), st.tuples(CA((3,))), {}, (0,))],
    ("method", "conjugate"): [(method("conjugate"), st.tuples(CA((3,))), {}, (0,))],
}

# s2sad's own cotangent helpers, which second derivatives differentiate: abs_grad(g, x, |x|)
# of a real or a complex x (|x| an argument of its own), imag_grad(g, x), real_part(z)
SPECS.update({
    rt.abs_grad: [(rt.abs_grad, st.tuples(A((3,)), A((3,), 0.2, 3.0)).map(
                       lambda p: (p[0], p[1], np.abs(p[1]))), {}, (0, 1, 2)),
                  (rt.abs_grad, st.tuples(A((3,)), CA((3,), 0.2, 3.0)).map(
                      lambda p: (p[0], p[1], np.abs(p[1]))), {}, (0, 1, 2))],
    rt.imag_grad: [(rt.imag_grad, st.tuples(A((2, 3)), CA((2, 3))), {}, (0,))],
    rt.real_part: [(rt.real_part, st.tuples(CA((2, 3))), {}, (0,))],
})
# scipy.stats.norm (registered when scipy.stats is loaded: rules_scipy_stats.py), of x, loc
# and scale
SPECS.update({method: [(method, st.tuples(A((3,), -2.0, 2.0), F(-1.0, 1.0), F(0.5, 2.0)), {},
                        (0, 1, 2))]
              for method in (ss.norm.pdf, ss.norm.logpdf, ss.norm.cdf, ss.norm.logcdf,
                             ss.norm.sf, ss.norm.logsf)})
# scipy.special (registered when SciPy is loaded: rules_scipy.py)
SPECS.update({
    sp.erf: [(sp.erf, unary(), {}, (0,))],
    sp.erfc: [(sp.erfc, unary(), {}, (0,))],
    sp.erfinv: [(sp.erfinv, unary(-0.9, 0.9), {}, (0,))],
    sp.erfcinv: [(sp.erfcinv, unary(0.1, 1.9), {}, (0,))],
    sp.expit: [(sp.expit, unary(), {}, (0,))],
    sp.logit: [(sp.logit, unary(0.05, 0.95), {}, (0,))],
    sp.gamma: [(sp.gamma, unary(0.2, 3.0), {}, (0,))],
    sp.gammaln: [(sp.gammaln, unary(0.2, 5.0), {}, (0,))],
    sp.rgamma: [(sp.rgamma, unary(0.2, 3.0), {}, (0,))],
    sp.psi: [(sp.psi, unary(0.2, 5.0), {}, (0,))],
    sp.polygamma: [(sp.polygamma, st.tuples(st.just(2), A((3,), 0.2, 3.0)), {}, (1,))],
    sp.multigammaln: [(sp.multigammaln, st.tuples(F(2.0, 5.0), st.just(3)), {}, (0,))],
    sp.gammainc: [(sp.gammainc, st.tuples(F(0.5, 3.0), A((3,), 0.1, 3.0)), {}, (1,))],
    sp.gammaincc: [(sp.gammaincc, st.tuples(F(0.5, 3.0), A((3,), 0.1, 3.0)), {}, (1,))],
    sp.beta: [(sp.beta, broadcast_pair(0.3, 3.0), {}, (0, 1))],
    sp.betaln: [(sp.betaln, broadcast_pair(0.3, 3.0), {}, (0, 1))],
    sp.betainc: [(sp.betainc, st.tuples(F(0.5, 3.0), F(0.5, 3.0), A((3,), 0.05, 0.95)), {},
                  (2,))],
    sp.j0: [(sp.j0, unary(), {}, (0,))],
    sp.y0: [(sp.y0, unary(0.2, 5.0), {}, (0,))],
    sp.j1: [(sp.j1, unary(), {}, (0,))],
    sp.y1: [(sp.y1, unary(0.2, 5.0), {}, (0,))],
    sp.jn: [(sp.jn, st.tuples(st.just(2), A((3,))), {}, (1,))],
    sp.yn: [(sp.yn, st.tuples(st.just(2), A((3,), 0.2, 5.0)), {}, (1,))],
    sp.i0: [(sp.i0, unary(), {}, (0,))],
    sp.i1: [(sp.i1, unary(avoid=[0.0]), {}, (0,))],  # (iv(2, x) is NaN at denormals)
    sp.iv: [(sp.iv, st.tuples(st.just(1.5), A((3,), 0.2, 3.0)), {}, (1,))],
    sp.ive: [(sp.ive, st.tuples(st.just(1.5), A((3,), 0.2, 3.0)), {}, (1,))],
    sp.logsumexp: [(sp.logsumexp, st.tuples(A((3, 4))), {}, (0,)),
                   (sp.logsumexp, st.tuples(A((3, 4))), {"axis": 1, "keepdims": True}, (0,)),
                   (sp.logsumexp, st.tuples(A((3, 4))),
                    {"axis": 0, "b": np.array([[0.5], [1.0], [2.0]])}, (0,))],
})
# rules whose argument is a list of arrays
SEQUENCE_SPECS = {
    np.concatenate: (np.concatenate, [(2, 3), (1, 3)], {"axis": 0}),
    np.stack: (np.stack, [(2, 3), (2, 3)], {"axis": 1}),
    np.vstack: (np.vstack, [(3,), (2, 3)], {}),
    np.hstack: (np.hstack, [(2, 3), (2, 2)], {}),
    np.dstack: (np.dstack, [(3, 4), (3, 4)], {}),
    np.column_stack: (np.column_stack, [(3,), (3, 2)], {}),
}


def rule_key(rule):
    if rule is rules.POW_BY_CONSTANT:
        return ("pow", "constant")
    return rule.primitive


def test_every_rule_has_a_check():
    rules.lookup(sp.erf)  # (SciPy is loaded: its rules are registered)
    builtin = [r for r in rules.all_rules() if r.func.__module__ in (
        rules.__name__, "s2sad.rules_scipy", "s2sad.rules_scipy_stats")]
    assert len(builtin) > 100
    builtin.append(rules.POW_BY_CONSTANT)
    missing = [getattr(r.primitive, "__name__", r.primitive) for r in builtin
               if rule_key(r) not in SPECS and rule_key(r) not in SEQUENCE_SPECS
               and not (r.primitive is builtins.abs and r in rules._ARRAY_RULES.values())
               and r not in rules._SEQUENCE_RULES.values()]  # (test_list_rules)
    assert not missing, f"rules without a finite-difference check: {missing}"


def _vjp(rule, g, ans, args, kwargs):
    out = rule.func(g, ans, *args, **kwargs)
    if len(rule.arg_names) == 1:
        out = (out,)
    if rule.elementwise:  # as the generated code does for broadcasting primitives
        out = tuple(unbroadcast(c, a) if c is not None and k < len(args) else c
                    for k, (c, a) in enumerate(zip(out, list(args) + [None] * len(out))))
    return out


def _check(rule, call, args, kwargs, positions, rng):
    args = list(args)
    ans = call(*args, **kwargs)
    G = rng.normal(size=np.shape(ans))
    if np.iscomplexobj(ans):  # (dL = Re(sum(gz dz)): a complex seed, a complex move)
        G = G + 1j * rng.normal(size=np.shape(ans))
    G = G.item() if np.ndim(ans) == 0 else G
    cot = _vjp(rule, G, ans, args, kwargs)

    def L(moved):
        return float(np.real(np.sum(G * np.asarray(call(*moved, **kwargs)))))

    for p in positions:
        V = rng.normal(size=np.shape(args[p]))
        if np.iscomplexobj(args[p]):
            V = V + 1j * rng.normal(size=np.shape(args[p]))
        V = V.item() if np.ndim(args[p]) == 0 else V
        h = 1e-6
        plus, minus = list(args), list(args)
        plus[p] = args[p] + h * V
        minus[p] = args[p] - h * V
        fd = (L(plus) - L(minus)) / (2 * h)
        analytic = float(np.real(np.sum(np.asarray(cot[p]) * V)))
        assert np.shape(cot[p]) == np.shape(args[p]) or np.ndim(args[p]) == 0, \
            (rule.primitive, p, np.shape(cot[p]), np.shape(args[p]))
        assert analytic == pytest.approx(fd, rel=1e-5, abs=1e-6), (rule.primitive, p, args)


CASES = [(key, k) for key, specs in SPECS.items() for k in range(len(specs))]


def _rule_for(key):
    if key == ("pow", "constant"):
        return rules.POW_BY_CONSTANT
    if isinstance(key, tuple):
        return rules.lookup_method(*key)
    return rules.lookup(key)


@pytest.mark.parametrize("key,k", CASES, ids=[f"{getattr(k, '__name__', k)}-{i}"
                                              for k, i in CASES])
def test_rule_against_finite_differences(key, k):
    rule = _rule_for(key)
    assert rule is not None, key
    call, strategy, kwargs, positions = SPECS[key][k]
    if key is np.linalg.slogdet:  # (checked through its log-determinant: seed (0, G))
        inner = rule
        rule = rules.Rule(key, lambda g, ans, a: inner.func((0.0, g), np.linalg.slogdet(a), a),
                          inner.params, False)
    if key is np.linalg.svd:  # (the values; the squared vectors; values of a tall matrix)
        inner = rule
        if k == 0:
            rule = rules.Rule(key, lambda g, ans, a: inner.func(
                g, ans, a, True, False)[0], ["g", "ans", "a"], False)
        else:
            part = {1: 0, 2: 2, 3: 1}[k]

            def through(g, ans, a, part=part):
                usv = np.linalg.svd(a, full_matrices=False)
                seeds = [0.0, 0.0, 0.0]
                seeds[part] = 2.0 * g * usv[part] if part != 1 else g
                return inner.func(tuple(seeds), usv, a, False, True)[0]

            rule = rules.Rule(key, through, ["g", "ans", "a"], False)
    if key is np.linalg.eig:  # (through the sorted eigenvalues, the vectors' |.|^2)
        inner = rule

        def through_eig(g, ans, a, k=k):
            e, u = np.linalg.eig(a)
            order = _eig_order(e)
            seed = np.zeros(e.shape if k == 0 else u.shape, dtype=complex)
            if k == 0:
                seed[order] = g
                return inner.func((seed, 0.0), (e, u), a)
            seed[:, order] = 2.0 * g * np.conj(u[:, order])
            return inner.func((0.0, seed), (e, u), a)

        rule = rules.Rule(key, through_eig, ["g", "ans", "a"], False)
    if key is np.linalg.eigh:  # (through the eigenvalues, and the squared eigenvectors)
        inner = rule
        if k == 0:
            rule = rules.Rule(key, lambda g, ans, a: inner.func(
                (g, 0.0), np.linalg.eigh(a), a)[0], ["g", "ans", "a"], False)
        else:
            rule = rules.Rule(key, lambda g, ans, a: inner.func(
                (0.0, 2.0 * g * np.linalg.eigh(a)[1]), np.linalg.eigh(a), a)[0],
                ["g", "ans", "a"], False)
    rng = np.random.default_rng(k)

    @SETTINGS
    @given(strategy)
    def check(args):
        with np.errstate(all="ignore"):
            try:
                ans = call(*args, **kwargs)
            except (ValueError, OverflowError, np.linalg.LinAlgError):
                assume(False)
            assume(np.all(np.isfinite(ans)))
        if key is np.clip and len(args) == 3:  # no element at a bound: a kink
            assume(np.all(np.abs(args[0] - args[1]) > 1e-2)
                   and np.all(np.abs(args[0] - args[2]) > 1e-2)
                   and np.all(np.abs(args[1] - args[2]) > 1e-2))
        if key in (np.max, np.min, ("method", "max"), ("method", "min"), builtins.sorted,
                   np.sort, np.amax, np.amin, np.partition):
            # no ties, not even within the finite-difference step: a kink
            assume(np.all(np.diff(np.sort(np.ravel(args[0]))) > 1e-3))
        if key is np.linalg.eig:  # distinct eigenvalues (where the derivative exists)
            e, u = np.linalg.eig(args[0])
            # (LAPACK's balancing can return wrong vectors for a matrix with denormal entries:
            # off by 3e-5 in one seen, with a @ u = u e still true to 1e-9)
            assume(np.allclose(args[0] @ u, u * e, atol=1e-9))
            assume(not np.any((args[0] != 0) & (np.abs(args[0]) < 1e-100)))
            assume(np.min(np.abs(e[:, None] - e[None, :]) + 9 * np.eye(len(e))) > 0.1)
            gaps = np.abs(e.real[:, None] - e.real[None, :])  # (sorted stably)
            assume(np.all((gaps > 1e-3) | (np.abs(e[:, None] - np.conj(e)[None, :]) < 1e-9) |
                          np.eye(len(e), dtype=bool)))
        if key in (builtins.divmod, math.fmod):
            ratio = args[0] / args[1]  # a // b jumps where a / b is an integer
            assume(abs(ratio - round(ratio)) > 1e-3)
        if key in (np.maximum, np.minimum, np.fmax, np.fmin):
            assume(np.all(np.abs(np.subtract(*args)) > 1e-2))  # no ties: a kink
        if key in (np.std, np.linalg.norm, ("method", "std")):
            assume(np.all(np.asarray(ans) > 1e-2))  # zero is where they have no derivative
        _check(rule, call, args, kwargs, positions, rng)

    check()


def test_array_rule_of_builtin_abs():
    rule = rules.lookup_for_arrays(builtins.abs)
    rng = np.random.default_rng(0)
    _check(rule, abs, [np.array([-1.5, 2.0, 0.3])], {}, (0,), rng)


@pytest.mark.parametrize("prim", list(SEQUENCE_SPECS), ids=lambda p: p.__name__)
def test_sequence_rules(prim):
    call, shapes, kwargs = SEQUENCE_SPECS[prim]
    rule = rules.lookup(prim)
    rng = np.random.default_rng(1)
    parts = [rng.normal(size=s) for s in shapes]
    ans = call(parts, **kwargs)
    G = rng.normal(size=ans.shape)
    out = rule.func(G, ans, parts, **kwargs)
    cot = out[0] if len(rule.arg_names) > 1 else out  # (a one-argument rule: bare)
    for k, part in enumerate(parts):
        V = rng.normal(size=part.shape)
        h = 1e-6
        plus = [p + (h * V if j == k else 0) for j, p in enumerate(parts)]
        minus = [p - (h * V if j == k else 0) for j, p in enumerate(parts)]
        fd = (np.sum(G * call(plus, **kwargs)) - np.sum(G * call(minus, **kwargs))) / (2 * h)
        assert np.sum(cot[k] * V) == pytest.approx(fd, rel=1e-6)


@pytest.mark.parametrize("prim", [max, min])
def test_max_and_min_of_a_list(prim):
    """max(xs) / min(xs) of a list or tuple: the cotangent goes to the item Python picks (the
    first equal to the result), checked against central differences; ties go to the first."""
    rule = rules.lookup_for_sequences(prim)
    for xs in ([0.3, -1.2, 0.9, 0.1], (2.0, 0.5, -0.5)):
        ans = prim(xs)
        cot = rule.func(1.5, ans, xs)
        h = 1e-6
        for k in range(len(xs)):
            up = [v + h * (j == k) for j, v in enumerate(xs)]
            down = [v - h * (j == k) for j, v in enumerate(xs)]
            assert cot[k] == pytest.approx(1.5 * (prim(up) - prim(down)) / (2 * h), abs=1e-6)
    assert rule.func(1.0, 0.5, [0.5, 0.5, 0.1] if prim is max else [0.5, 0.5, 0.9]) == \
        [1.0, 0.0, 0.0]


@pytest.mark.parametrize("prim,a,b", [(operator.add, [0.3, -1.2], [2.0, 0.5, 4.0]),
                                       (operator.mul, [0.3, -1.2], 3),
                                       (operator.mul, 2, [0.7])])
def test_list_rules(prim, a, b):
    """+ and * of lists (concatenation, repetition): <vjp, V> against central differences."""
    rule = rules.lookup_for_sequences(prim)
    rng = np.random.default_rng(3)
    ans = prim(a, b)
    G = list(rng.normal(size=len(ans)))
    cot = rule.func(G, ans, a, b)
    for k, arg in enumerate((a, b)):
        if not isinstance(arg, list):
            assert cot[k] is None
            continue
        V = rng.normal(size=len(arg))
        h = 1e-6

        def L(moved, k=k):
            args = [a, b]
            args[k] = list(moved)
            return float(np.dot(G, prim(*args)))

        fd = (L(np.add(arg, h * V)) - L(np.subtract(arg, h * V))) / (2 * h)
        assert float(np.dot(cot[k], V)) == pytest.approx(fd, rel=1e-6)


NAN_RULES = [abs, math.fabs, math.sqrt, math.exp, math.sin, math.tanh, math.log1p, math.atan,
             np.abs, np.sqrt, np.tanh]


@pytest.mark.parametrize("prim", NAN_RULES, ids=lambda p: p.__name__)
def test_nan_in_nan_out(prim):
    """A NaN argument gives a NaN cotangent (not a number taken from a comparison)."""
    rule = rules.lookup(prim)
    x = float("nan") if not isinstance(prim, np.ufunc) else np.array([np.nan, 0.5])
    out = rule.func(1.0, prim(x), x)
    assert np.isnan(np.ravel(out)[0])


def test_ieee_derivatives_where_python_would_raise():
    """sqrt at 0, asin at 1, hypot at the origin, x ** 0.5 at 0, x ** y in y at x = 0: the
    derivative is what IEEE arithmetic (NumPy, JAX) gives, never a ZeroDivisionError."""
    assert rules.lookup(math.sqrt).func(1.0, 0.0, 0.0) == math.inf
    assert rules.lookup(math.asin).func(1.0, math.pi / 2, 1.0) == math.inf
    assert all(math.isnan(v) for v in rules.lookup(math.hypot).func(1.0, 0.0, 0.0, 0.0))
    dx, dy = rules.lookup(operator.pow).func(1.0, 0.0, 0.0, 0.5)
    assert dx == math.inf and dy == 0.0
    dx, dy = rules.lookup(operator.pow).func(1.0, 0.0, 0.0, 2.0)
    assert dx == 0.0 and dy == 0.0
    assert math.isnan(rules.lookup(operator.pow).func(1.0, 4.0, -2.0, 2.0)[1])
