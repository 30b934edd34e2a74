"""Activity analysis over a closed world.

``classify`` says, for every statement of the IR, what it does as far as derivatives care --
one ``Op`` with a *treatment* (``copy``, ``rule``, ``user``, ``index``, ``literal``, ...), the
operands that may carry derivatives (positional, keyword and receiver alike), the name it
rebinds and the objects it changes in place.  Every statement and expression form has an
explicit treatment; what has none is ``opaque`` (a call with no rule, an attribute of an
unknown object), ``text`` (a value turned into a string) or an unknown change of an object.

``analyze`` computes the *varied* variables (depending on a ``wrt`` input) and the *useful*
ones (the result depends on them): one flow-insensitive fixed point over every statement, so a
variable active anywhere is active everywhere.  ``check`` then refuses, with the user's file and
line, every statement whose result is active but whose treatment cannot carry derivatives:
nothing active is ever treated as a constant.
"""

from __future__ import annotations

import builtins
import math
import operator
import types
from dataclasses import dataclass, field
from typing import Any

import gast

from . import ir, kinds, rules, runtime
from .ir import store_base, walk_statements
from .parse import MISSING, FunctionIR

BINOPS = {gast.Add: operator.add, gast.Sub: operator.sub, gast.Mult: operator.mul,
          gast.Div: operator.truediv, gast.Pow: operator.pow, gast.Mod: operator.mod,
          gast.FloorDiv: operator.floordiv, gast.MatMult: operator.matmul,
          gast.BitAnd: operator.and_, gast.BitOr: operator.or_, gast.BitXor: operator.xor,
          gast.LShift: operator.lshift, gast.RShift: operator.rshift}
UNOPS = {gast.USub: operator.neg, gast.UAdd: operator.pos, gast.Not: operator.not_,
         gast.Invert: operator.invert}
CONSTANT_ATTRS = {"shape", "ndim", "size", "dtype", "itemsize", "nbytes"}
TEXT = {builtins.str, builtins.repr, builtins.format, builtins.ascii, builtins.bytes}
LIST_METHODS = {"append", "extend", "insert", "pop"}  # changes of a list s2sad differentiates
ZERO_METHODS = {"index", "count", "argmax", "argmin", "argsort", "nonzero", "startswith",
                "endswith", "isdigit", "keys"}  # results that are constants for the gradient
ARRAY_MUTATORS = {"sort", "fill", "put", "resize", "itemset", "partition", "byteswap",
                  "setflags", "setfield"}
# helpers of generated code that accumulate into their first argument, linearly: forward mode
# mirrors them on tangents (the others of runtime.MUTATING_HELPERS are refused when active)
MIRRORED = {runtime.add_item, runtime.take_item, runtime.get_grad, runtime.add_at,
            runtime.restore_item, runtime.take_tail, runtime.truncate}
MUTATING_HELPERS = set(runtime.MUTATING_HELPERS)


@dataclass
class Op:
    """What one statement does, as far as derivatives care.

    ``kind`` is the treatment: ``copy`` (``a = b``), ``const`` (a constant or global),
    ``zero`` (piecewise constant: ``int(x)``, ``x < y``, ``len(xs)``), ``literal`` (a tuple,
    list or dict), ``index`` (``a = b[i]``), ``rule`` (a primitive with a derivative rule),
    ``user`` (a call of a user function), ``store`` (``b[i] = v``), ``list`` (a change of a
    list by ``append/extend/insert/pop``), ``effect`` (a call for its effect that changes
    nothing differentiable), and the three without a derivative: ``opaque``, ``text`` and
    ``mutation`` (an object changed in a way s2sad does not follow).
    """

    kind: str
    operands: list = field(default_factory=list)  # Name nodes that may carry derivatives
    primitive: Any = None
    rule: Any = None
    node: Any = None  # the value expression or the call
    target: str | None = None  # the name the statement rebinds
    writes: list = field(default_factory=list)  # names whose objects it changes in place
    method: str | None = None  # for kind "list": append, extend, insert or pop


def _locals_in(fir, atoms):
    return [a for a in atoms if isinstance(a, gast.Name) and a.id in fir.locals]


def call_operands(node) -> list:
    """Every argument of a call: positional, then keyword values."""
    return list(node.args) + [k.value for k in node.keywords]


class Classifier:
    """Classifies the statements of one function for arguments of known kinds."""

    def __init__(self, fir: FunctionIR, kinds_of: dict, env) -> None:
        self.fir = fir
        self.kinds = kinds_of
        self.env = env

    def kind(self, atom):
        return kinds.kind_of(atom, self.env)

    def statement(self, s) -> Op | None:
        if isinstance(s, gast.Assign):
            target = s.targets[0]
            if isinstance(target, gast.Name):
                op = self.value(s.value)
                op.target = target.id
                return op
            base = store_base(target)
            return Op("store", _locals_in(self.fir, [s.value]), node=s.value, writes=[base])
        if isinstance(s, gast.Expr) and isinstance(s.value, gast.Call):
            op = self.value(s.value)
            if op.kind in ("rule", "zero", "const", "copy", "index", "literal", "text"):
                return Op("effect", node=s.value)
            return op
        return None

    def value(self, value) -> Op:
        fir = self.fir
        self.require_flat(value)
        if isinstance(value, gast.Name):
            if value.id in fir.locals:
                return Op("copy", [value], node=value)
            return Op("const", node=value)
        if isinstance(value, gast.Constant):
            return Op("const", node=value)
        if isinstance(value, gast.JoinedStr):
            names = [n for n in ir.walk(value) if isinstance(n, gast.Name)]
            return Op("text", _locals_in(fir, names), node=value)
        if isinstance(value, gast.BinOp):
            return self.primitive(BINOPS[type(value.op)], [value.left, value.right], value)
        if isinstance(value, gast.UnaryOp):
            return self.primitive(UNOPS[type(value.op)], [value.operand], value)
        if isinstance(value, gast.Compare):
            return Op("zero", _locals_in(fir, [value.left] + value.comparators), node=value)
        if isinstance(value, gast.Subscript):
            return Op("index", _locals_in(fir, [value.value]), node=value)
        if isinstance(value, (gast.Tuple, gast.List)):
            return Op("literal", _locals_in(fir, value.elts), node=value)
        if isinstance(value, gast.Dict):
            return Op("literal", _locals_in(fir, value.values), node=value)
        if isinstance(value, gast.Attribute):
            if not fir.is_local(value.value):
                return Op("const", node=value)
            if value.attr in CONSTANT_ATTRS:
                return Op("zero", _locals_in(fir, [value.value]), node=value)
            if isinstance(self.kind(value.value), kinds.Array):
                return self.primitive(("attr", value.attr), [value.value], value)
            return Op("opaque", _locals_in(fir, [value.value]), node=value)
        if isinstance(value, gast.Call):
            return self.call(value)
        if isinstance(value, (ir.StackMark, ir.StackGrowth, ir.Pop)):
            return Op("const", node=value)
        return Op("opaque", [n for n in _locals_in(fir, list(ir.walk(value)))], node=value)

    def require_flat(self, value) -> None:
        """Every operand slot holds a name or a constant (normal form): anything else here
        is a bug of ours, refused loudly rather than differentiated wrongly."""
        if isinstance(value, gast.BinOp):
            slots = [value.left, value.right]
        elif isinstance(value, gast.UnaryOp):
            slots = [value.operand]
        elif isinstance(value, gast.Subscript):
            slots = [value.value]
        elif isinstance(value, gast.Call):
            slots = call_operands(value)
            if isinstance(value.func, gast.Attribute) and self.fir.is_local(value.func.value):
                slots.append(value.func.value)
        elif isinstance(value, (gast.Tuple, gast.List)):
            slots = value.elts
        else:
            return
        for slot in slots:
            if not (isinstance(slot, (gast.Name, gast.Constant)) or self.is_constant_ref(slot)):
                raise self.fir.error("internal error: an expression was not flattened",
                                     value, "please report this with the function")

    def is_constant_ref(self, node) -> bool:
        if isinstance(node, gast.Attribute):
            return self.is_constant_ref(node.value)
        return isinstance(node, gast.Name) and not self.fir.is_local(node)

    def call(self, node) -> Op:
        fir = self.fir
        target = fir.resolve(node.func)
        args = call_operands(node)
        target = getattr(target, "s2sad_recursive_target", None) or target
        if kinds.is_derivative(target):
            # a gradient s2sad made, called here: the function with source computing it
            from .nested import source_for_call

            if node.keywords:
                raise fir.error("a gradient called with keyword arguments inside a function "
                                "being differentiated", node, "pass its arguments by position")
            target = source_for_call(target, [self.kind(a) for a in node.args])
        if target is MISSING and isinstance(node.func, gast.Attribute):
            return self.method(node, node.func.value, node.func.attr)
        if target is MISSING:  # calling a local value
            return Op("opaque", _locals_in(fir, [node.func] + args), node=node)
        if target in TEXT:
            return Op("text", _locals_in(fir, args), node=node)
        if target in (builtins.list, builtins.tuple, builtins.sorted, builtins.len) and \
                len(node.args) == 1 and isinstance(self.kind(node.args[0]), kinds.Dict):
            return Op("zero", _locals_in(fir, args), node=node)  # a dict's keys
        if target is builtins.dict and not node.args:
            # dict(x=a, y=b) is the literal {"x": a, "y": b}
            literal = gast.Dict(keys=[ir.const(k.arg) for k in node.keywords],
                                values=[k.value for k in node.keywords])
            return Op("literal", _locals_in(fir, literal.values), node=literal)
        if target is builtins.print:
            return Op("effect", node=node)
        op = self.primitive(target, args, node)
        if op.kind == "opaque" and target in MIRRORED:
            # a helper of generated code that accumulates into its first argument (a
            # generated gradient differentiated again): forward mode mirrors it
            op.kind = "mirror"
            op.writes = [n.id for n in _locals_in(fir, node.args[:1])]
        elif op.kind == "opaque" and rules.is_library(target):
            op.writes = self.library_writes(target, node)
        elif op.kind == "opaque":
            # a function with no source and no rule may change any object it is given
            op.writes = [a.id for a in _locals_in(fir, args) if isinstance(
                self.kind(a), (kinds.Seq, kinds.Dict, kinds.Array)) or self.kind(a) in (
                None, kinds.OBJECT)]
        elif any(k.arg == "out" for k in node.keywords):  # np.add(a, b, out=c) writes c
            op.writes = op.writes + [n.id for n in _locals_in(
                fir, [k.value for k in node.keywords if k.arg == "out"])]
        return op

    def library_writes(self, target, node) -> list:
        """Objects a library call changes: the known mutators' first argument, ``out=``."""
        from .aliases import _mutator_functions

        out = []
        if (target in _mutator_functions() or target in MUTATING_HELPERS) and node.args:
            out += _locals_in(self.fir, node.args[:1])
        out += _locals_in(self.fir, [k.value for k in node.keywords if k.arg == "out"])
        return [n.id for n in out]

    def method(self, node, receiver, name) -> Op:
        fir = self.fir
        args = call_operands(node)
        rk = self.kind(receiver)
        operands = _locals_in(fir, [receiver] + args)
        if isinstance(rk, kinds.Seq) and rk.kind == "list" and name in LIST_METHODS:
            return Op("list", operands, node=node, writes=[receiver.id], method=name)
        if isinstance(rk, kinds.Dict) and name == "get":
            return Op("dict_get", operands, node=node)
        if isinstance(rk, (kinds.Array, kinds.Seq, kinds.Dict)) and name == "copy" or \
                isinstance(rk, kinds.Array):
            rule = rules.lookup_method("method", name)
            if rule is not None:
                return Op("rule", operands, primitive=("method", name), rule=rule, node=node)
        if name in ZERO_METHODS:
            return Op("zero", operands, node=node)
        own = [receiver.id] if isinstance(receiver, gast.Name) and receiver.id in fir.locals \
            else []
        if isinstance(rk, kinds.Array):
            return Op("opaque", operands, node=node,
                      writes=own if name in ARRAY_MUTATORS else [])
        if isinstance(rk, kinds.Scalar) or rk == kinds.STR:
            return Op("opaque", operands, node=node)
        if isinstance(rk, (kinds.Seq, kinds.Dict)) and name in ("values", "items", "get"):
            return Op("opaque", operands, node=node)
        # any other method may change the object (and what it is given)
        writes = own + [a.id for a in _locals_in(fir, args)
                        if kinds.is_mutable(self.kind(a) or kinds.OBJECT)]
        return Op("opaque", operands, node=node, writes=writes)

    def primitive(self, prim, args, node) -> Op:
        fir = self.fir
        operands = _locals_in(fir, args)
        if isinstance(prim, tuple):
            rule = rules.lookup_method(prim[0], prim[1])
        else:
            if rules.is_nondifferentiable(prim):
                return Op("zero", operands, node=node, primitive=prim)
            rule = self.variant(prim, args)
        if rule is not None:
            return Op("rule", operands, primitive=prim, rule=rule, node=node)
        if not isinstance(prim, tuple) and (prim in rules.LINEAR_HELPERS or
                                            prim in rules.HELPER_JVPS):
            return Op("helper", operands, primitive=prim, node=node)
        if isinstance(prim, types.FunctionType) and not rules.is_library(prim):
            op = Op("user", operands, primitive=prim, node=node)
            op.writes = self.callee_writes(prim, node)
            return op
        return Op("opaque", operands, primitive=prim, node=node)

    def variant(self, prim, args):
        """The rule for ``prim`` on arguments of these kinds: sequences (``[x] + [y]``,
        ``[x] * 3``) and arrays (``abs`` of an array) have rules of their own."""
        arg_kinds = [self.kind(a) for a in args]
        if prim in (operator.pow, builtins.pow, math.pow) and len(args) == 2 and \
                isinstance(args[1], gast.Constant) and not isinstance(args[1].value, bool) \
                and isinstance(args[1].value, (int, float)) and args[1].value >= 1:
            return rules.POW_BY_CONSTANT
        if prim in (operator.add, operator.mul) and any(
                isinstance(k, kinds.Seq) for k in arg_kinds):
            return rules.lookup_for_sequences(prim)
        if prim in (builtins.max, builtins.min) and len(args) == 1 and \
                isinstance(arg_kinds[0], kinds.Seq):  # max(xs) of a list or tuple
            return rules.lookup_for_sequences(prim)
        if any(isinstance(k, kinds.Array) for k in arg_kinds):
            variant = rules.lookup_for_arrays(prim)
            if variant is not None:
                return variant
        return rules.lookup(prim)

    def callee_writes(self, func, node) -> list:
        from .aliases import callee_writes

        try:
            arg_kinds = [self.kind(a) for a in node.args]
            written = callee_writes(func, arg_kinds)
        except Exception:
            return []
        import inspect

        params = list(inspect.signature(func).parameters)
        return [a.id for k, a in enumerate(node.args)
                if k < len(params) and params[k] in written and isinstance(a, gast.Name)
                and a.id in self.fir.locals]


def classify_all(fir: FunctionIR, kinds_of: dict, env, body=None) -> dict:
    """``Op`` of every statement (by ``id``), also attached to it as the ``op`` annotation."""
    c = Classifier(fir, kinds_of, env)
    out = {}
    for s in walk_statements(fir.body if body is None else body):
        op = c.statement(s)
        if op is not None:
            out[id(s)] = op
            ir.set_anno(s, "op", op)
    return out


# -- activity ---------------------------------------------------------------------------------

# the treatments through which a derivative flows from operands to the result (the others give
# constants, or are refused once their result is active)
FLOWS = {"copy", "literal", "index", "rule", "user", "opaque", "text", "dict_get", "mirror",
         "helper"}


@dataclass
class Activity:
    varied: set[str]
    useful: set[str]

    @property
    def active(self) -> set[str]:
        return self.varied & self.useful

    def is_active(self, name: str) -> bool:
        return name in self.varied and name in self.useful


def returned_names(fir: FunctionIR) -> list[str]:
    ret = fir.body[-1].value
    elts = ret.elts if isinstance(ret, gast.Tuple) else [ret]
    return [e.id for e in elts if isinstance(e, gast.Name) and e.id in fir.locals]


def edges(ops: dict) -> list:
    """(target, [source names]) for every flow of derivatives."""
    out = []
    for op in ops.values():
        names = [a.id for a in op.operands]
        if op.target is not None and op.kind in FLOWS:
            out.append((op.target, names))
        if op.kind == "list" and op.method == "pop" and op.target is not None:
            out.append((op.target, [op.writes[0]]))
        for w in op.writes:
            if w is not None:
                # the object keeps what it held and gains what is stored or appended
                out.append((w, [w] + [n for n in names if n != w]))
    return out


def analyze(fir: FunctionIR, wrt: list[str], ops: dict, kinds_of: dict | None = None,
            returned: list[str] | None = None) -> Activity:
    """Compute the varied and useful sets of ``fir`` for inputs ``wrt`` (and outputs
    ``returned``: by default every name the function returns)."""
    readers: dict[str, list[str]] = {}  # name -> the names it flows into
    sources: dict[str, list[str]] = {}  # name -> the names that flow into it
    for target, names in edges(ops):
        for n in names:
            readers.setdefault(n, []).append(target)
        sources.setdefault(target, []).extend(names)
    varied = _reachable(set(wrt), readers)
    useful = _reachable(set(returned_names(fir) if returned is None else returned), sources)
    return Activity(varied, useful)


def _reachable(start: set[str], graph: dict[str, list[str]]) -> set[str]:
    """``start`` and every name reachable from it along ``graph``'s edges."""
    seen = set(start)
    todo = list(start)
    while todo:
        for m in graph.get(todo.pop(), ()):
            if m not in seen:
                seen.add(m)
                todo.append(m)
    return seen


def describe(op: Op) -> str:
    prim = op.primitive
    if isinstance(prim, tuple):
        return f".{prim[1]}" + ("()" if prim[0] == "method" else "")
    if prim is not None:
        mod = getattr(prim, "__module__", None) or ""
        name = getattr(prim, "__qualname__", getattr(prim, "__name__", repr(prim)))
        return f"{mod}.{name}" if mod and mod != "builtins" else name
    node = op.node
    if isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute):
        return f".{node.func.attr}()"
    if isinstance(node, gast.Attribute):
        return f"the attribute .{node.attr}"
    return "this call"


def _helper_of(func) -> str:
    """What one of s2sad's own functions in generated code stands for: the rule of a
    primitive, or a helper by name."""
    for rule in rules.all_rules():
        if rule.func is func:
            prim = rule.primitive
            return "the derivative rule of " + (
                f".{prim[1]}" if isinstance(prim, tuple) else
                f"{getattr(prim, '__module__', None) or ''}.{getattr(prim, '__name__', prim)}")
    return f"s2sad's gradient helper {func.__name__}"


def check(fir: FunctionIR, ops: dict, act: Activity, body) -> None:
    """Refuse (at the first such statement) an active result or an active object that no
    treatment can differentiate."""
    for s in walk_statements(body):
        op = ops.get(id(s))
        if op is None:
            continue
        varied = [a.id for a in op.operands if a.id in act.varied]
        target_active = op.target is not None and act.is_active(op.target)
        if op.kind == "opaque" and target_active and varied:
            what = describe(op)
            if op.primitive is None and not isinstance(op.node, gast.Call):
                raise fir.error(f"no derivative for {what} of '{varied[0]}', which carries "
                                "derivatives", s, "s2sad differentiates numbers, arrays, "
                                "lists, tuples and dicts; compute with those")
            if getattr(op.primitive, "__module__", "").startswith("s2sad."):
                # (a gradient differentiated again: s2sad's own first-derivative code)
                raise fir.error(f"no second derivative through {_helper_of(op.primitive)}",
                                s, "it is differentiated once: hvp, hessian and gradients "
                                "of gradients through it are not supported")
            raise fir.error(f"no derivative rule for {what}", s,
                            f"register one with @s2sad.adjoint({what.split(' ')[0]}) "
                            "or pass only constants to it")
        if op.kind in ("rule", "helper") and target_active and varied and \
                isinstance(op.node, gast.Call) and any(
                    k.arg == "dtype" and kinds.dtype_of(k.value, fir.resolve) is None
                    for k in op.node.keywords):
            # (np.sum(x, dtype=int) truncates: piecewise constant, the rule's derivative
            # is not its derivative)
            raise fir.error(f"{describe(op)} with a dtype that may not be a float one, of "
                            f"'{varied[0]}', which carries derivatives", s,
                            "give dtype=float, or convert outside the function")
        if op.kind == "text" and target_active and varied:
            raise fir.error(f"the value of '{varied[0]}' flows into a string", s,
                            "s2sad does not differentiate through text: compute with the "
                            "number itself")
        bad = [w for w in op.writes if w is not None and act.is_active(w)]
        if bad and (op.kind == "opaque" or (op.kind == "user" and bad)):
            what = describe(op) if op.kind == "opaque" else op.primitive.__name__
            raise fir.error(f"{what} may change '{bad[0]}', which carries derivatives", s,
                            "s2sad follows changes of lists by append, extend, insert and "
                            "pop, and stores (x[i] = v); return new values instead")


def activity_of(fir: FunctionIR, wrt: list[str], param_kinds: dict | None = None) -> Activity:
    """The activity of ``fir`` for ``wrt``, its statements classified for arguments of
    ``param_kinds`` (for tests and for reading; the reverse pass runs the steps itself)."""
    env = kinds.Env({}, fir.resolve, lambda n: n in fir.locals)
    found = kinds.infer(fir.body, dict(param_kinds or {}), env)
    return analyze(fir, wrt, classify_all(fir, found, env), found)


def _flows_of(op: Op) -> list:
    """(target, [sources]) of one statement (as ``edges``)."""
    return edges({0: op})


def useful_after(body: list, ops: dict, returned: list[str]) -> dict:
    """Flow-sensitive usefulness: for each statement, the names whose values at that point the
    result still depends on.  A rebinding whose value is never used afterwards (a loop that
    runs on after its variable's last use) is not differentiated at all -- its adjoint would
    multiply a zero cotangent by whatever it computed, inf included."""
    after: dict[int, set] = {}

    def block(stmts, live):
        live = set(live)
        for s in reversed(stmts):
            after[id(s)] = set(live)
            if isinstance(s, gast.If):
                live = block(s.body, live) | block(s.orelse, live)
            elif isinstance(s, (gast.For, gast.While)):
                head = set(live)
                for _ in range(100):
                    inner = block(s.body, head | live)
                    new = head | inner
                    if new == head:
                        break
                    head = new
                live = head
            else:
                op = ops.get(id(s))
                if op is None:
                    continue
                new = set(live)
                if op.target is not None:
                    new.discard(op.target)
                for target, sources in _flows_of(op):
                    if target in live:
                        new |= set(sources)
                live = new
        return live

    block(body, set(returned))
    return after
