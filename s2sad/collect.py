"""Tangents of numbers collected by the tangents they scale.

Forward mode writes each statement's tangent by its rule (``d(u * v) = du * v + u * dv``) and
tidy folds single-use tangents into their users, so a tangent of a number can read
``(dx * x + dx * x) * x + dx * _t5 - da``: three products of ``dx`` where one would do.
``collect`` rewrites such an expression as a sum of coefficients times tangents,
``dx * ((x + x) * x + _t5) - da``, when that takes fewer operations: the same derivative
(the same up to rounding: products are reassociated), cheaper in the interpreter, where a
scalar tangent's time is its count of operations.

Only arithmetic (``+ - * /``, unary minus) over names that hold numbers is rewritten: a
coefficient may also be a call, a subscript, a power or a conditional expression that reads
no tangent (``math.cos(x * i)``, ``x ** 2``), provided every local it reads holds a number;
anything else leaves the statement as it was.
A sum of several tangents scaled or divided as a whole stays one term (``(dx * c - da) / b``,
not ``c / b * dx - da / b``).
"""

from __future__ import annotations

from collections.abc import Callable

import gast

from .ir import walk


class _Skip(Exception):
    """Not arithmetic over numbers: the statement stays as it is."""


# a coefficient: (negated, expression or None for 1); a form: {key: (coefficient, atom)}
_Coef = tuple


def collect(fdef: gast.FunctionDef, tangents: set[str],
            is_number: Callable[[str], bool | None]) -> None:
    """Rewrite, in place, each ``dt = <arithmetic>`` of ``fdef`` (``dt`` in ``tangents``, a
    number) whose collected form takes fewer operations.  ``is_number(n)``: True for a
    local that holds a number, False for another local, None for a name not local."""
    for node in walk(fdef):
        if isinstance(node, gast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], gast.Name) and node.targets[0].id in tangents \
                and is_number(node.targets[0].id) is True and _count(node.value) > 2:
            try:
                form = _form(node.value, tangents, is_number)
            except _Skip:
                continue
            if form is None:
                continue
            new = _emit(form)
            if _count(new) < _count(node.value):
                node.value = new


def _count(e) -> int:
    return sum(isinstance(n, (gast.BinOp, gast.UnaryOp)) for n in gast.walk(e))


def _form(e, tangents, is_number):
    """``e`` as {key: (coefficient, atom)} (a tangent, or a sum of several as one atom, per
    key), or None when ``e`` reads no tangent (it is a coefficient)."""
    if isinstance(e, gast.Name):
        if e.id in tangents:
            return {e.id: ((False, None), e)}
        if is_number(e.id) is False:
            raise _Skip
        return None
    if isinstance(e, gast.Constant):
        if type(e.value) not in (int, float):
            raise _Skip
        return None
    if isinstance(e, gast.UnaryOp) and isinstance(e.op, (gast.USub, gast.UAdd)):
        inner = _form(e.operand, tangents, is_number)
        if inner is None or isinstance(e.op, gast.UAdd):
            return inner
        return {k: ((not neg, c), atom) for k, ((neg, c), atom) in inner.items()}
    if isinstance(e, gast.BinOp) and isinstance(e.op, (gast.Add, gast.Sub)):
        left = _form(e.left, tangents, is_number)
        right = _form(e.right, tangents, is_number)
        if left is None and right is None:
            return None
        if left is None or right is None:
            raise _Skip  # (a number added to a tangent: not a tangent's expression)
        out = dict(left)
        for k, ((neg, c), atom) in right.items():
            neg ^= isinstance(e.op, gast.Sub)
            out[k] = ((neg, c), atom) if k not in out else (_add(out[k][0], (neg, c)), atom)
        return out
    if isinstance(e, gast.BinOp) and isinstance(e.op, (gast.Mult, gast.Div)):
        left = _form(e.left, tangents, is_number)
        right = _form(e.right, tangents, is_number)
        if left is None and right is None:
            return None
        if right is not None and (left is not None or isinstance(e.op, gast.Div)):
            raise _Skip  # (a product of tangents, a tangent in a denominator)
        form, factor = (left, e.right) if right is None else (right, e.left)
        if len(form) > 1:  # (scaled as a whole: one term)
            return {id(e): ((False, None), gast.BinOp(left=_emit(form), op=e.op,
                                                      right=factor))}
        (k, ((neg, c), atom)), = form.items()
        if c is None and isinstance(e.op, gast.Div):
            return {id(e): ((neg, None), gast.BinOp(left=atom, op=e.op, right=factor))}
        scaled = factor if c is None else gast.BinOp(left=c, op=e.op, right=factor)
        return {k: ((neg, scaled), atom)}
    if any(isinstance(n, gast.Name) and (n.id in tangents or is_number(n.id) is False)
           for n in gast.walk(e)):
        raise _Skip
    if isinstance(e, (gast.Call, gast.Subscript, gast.Attribute, gast.BinOp, gast.IfExp)):
        return None  # (math.cos(x * i), xs[i], x ** 2 of numbers: a coefficient)
    raise _Skip


def _add(a: _Coef, b: _Coef) -> _Coef:
    (na, ca), (nb, cb) = a, b
    ca = ca if ca is not None else gast.Constant(value=1.0, kind=None)
    cb = cb if cb is not None else gast.Constant(value=1.0, kind=None)
    return (na, gast.BinOp(left=ca, op=gast.Sub() if na != nb else gast.Add(), right=cb))


def _emit(form: dict):
    out = None
    for (neg, c), atom in form.values():
        term = atom if c is None else _times(atom, c)
        if out is None:
            out = gast.UnaryOp(op=gast.USub(), operand=term) if neg else term
        else:
            out = gast.BinOp(left=out, op=gast.Sub() if neg else gast.Add(), right=term)
    return out


def _times(atom, c):
    """``atom * c``, a product or quotient ``c`` spelled out: ``dx * a * b``, not
    ``dx * (a * b)`` (the same count of operations)."""
    if isinstance(c, gast.BinOp) and isinstance(c.op, (gast.Mult, gast.Div)):
        return gast.BinOp(left=_times(atom, c.left), op=c.op, right=c.right)
    return gast.BinOp(left=atom, op=gast.Mult(), right=c)
