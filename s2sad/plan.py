"""Planning: what each active statement does in the adjoint sweep.

For every statement whose result (or changed object) is active, a ``StmtPlan`` lists its
*contributions* -- ``bx += <expression>`` for each active operand, from the statement's rule,
the adjoint of a called user function, or the shape of the statement (a copy, a literal, an
element read, a store) -- the statements that must run first (a call of a rule that is not
inlined, a callee's adjoint), what the adjoint mirror of a list must undo (``bys.pop()`` for an
``append``), and which primal values those expressions read (before or after the statement),
which is what the taping decisions (``taping.py``) need.

Rules are bound to the call's arguments by position, then keyword, then the rule's defaults;
a rule whose body is one ``return`` is inlined as a template when every free name it uses means
the same object in the generated code.
"""

from __future__ import annotations

import builtins
import inspect
import operator
from dataclasses import dataclass, field
from typing import Any

import gast

from . import ir, kinds, rules
from . import runtime as rt
from .activity import Op, describe
from .ir import assign, call, clone, const, name, names_in, names_or_one, substitute
from .ir import walk_statements as _walk
from .parse import MISSING
from .zeros import zero_cotangents


@dataclass
class Contribution:
    operand: str
    expr: Any  # gast expression of the cotangent; None for element accumulation
    index: Any = None  # for xs[i] reads: accumulate into bxs[i]
    target: str | None = None  # for element accumulation: whose cotangent is added


@dataclass
class StmtPlan:
    op: Op
    contributions: list = field(default_factory=list)
    reads_before: set = field(default_factory=set)
    reads_after: set = field(default_factory=set)
    pre: list = field(default_factory=list)  # statements computing call results first
    post: list = field(default_factory=list)  # after the contributions (list mirrors)
    uses_ans: bool = False
    clear: Any = None  # for a store: the slot of the adjoint cleared after the contributions


class Planning:
    """The planning half of the reverse pass (mixed into ``reverse.Reverser``)."""

    def _find_containers(self):
        """Names whose adjoint is a container (list, tuple, dict -- also by use: a name that
        is subscripted or built from a literal): zeroed with ``zeros_like``, accumulated with
        ``add``."""
        for n, k in self.kinds.items():
            if isinstance(k, (kinds.Seq, kinds.Dict)):
                self.containers.add(n)
        for node in ir.walk_block(self.fir.body):
            if isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name):
                self.containers.add(node.value.id)
            if isinstance(node, gast.Assign) and isinstance(node.value,
                                                            (gast.Tuple, gast.List, gast.Dict)):
                base = ir.store_base(node.targets[0])
                if base:
                    self.containers.add(base)
        changed = True
        while changed:  # copies of containers are containers
            changed = False
            for s in _walk(self.fir.body):
                if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) \
                        and isinstance(s.value, gast.Name) and s.value.id in self.containers \
                        and s.targets[0].id not in self.containers:
                    self.containers.add(s.targets[0].id)
                    changed = True

    def is_dict(self, n: str) -> bool:
        return isinstance(self.kinds.get(n), kinds.Dict)

    def is_list(self, n: str) -> bool:
        k = self.kinds.get(n)
        return isinstance(k, kinds.Seq) and k.kind == "list"

    def active(self, n) -> bool:
        return self.act.is_active(n)

    # ------------------------------------------------------------------------ planning --
    def plan_statements(self):
        # (a container's adjoint starts and is reset as zeros_like: never the number 0.0)
        self.zero_cotangents = zero_cotangents(
            self.fir.body, self.ops, lambda n: self.is_array(n) and n not in self.containers)
        for s in _walk(self.fir.body):
            op = self.ops.get(id(s))
            if op is None:
                continue
            plan = None
            useful = self.useful_after.get(id(s), set())
            if op.kind == "store" and op.writes[0] not in useful:
                pass  # the object is not used again: the store needs no adjoint
                # (a list's changes always have theirs: its adjoint mirrors its length)
            elif op.kind == "store":
                plan = self.plan_store(s, op)
            elif op.kind == "list":
                plan = self.plan_list(s, op)
            elif op.kind == "mirror" and any(self.active(w) for w in op.writes):
                raise self.fir.error(f"{describe(op)} accumulates derivatives: a generated "
                                     "gradient's dict or array updates have no reverse "
                                     "derivative", s, "use s2sad.hvp (forward over reverse)")
            elif op.target is not None and self.active(op.target) and op.target in useful:
                plan = StmtPlan(op)
                self._plan_assign(s, op.target, op, plan)
            if plan is not None:
                self.plans[id(s)] = plan

    def plan_store(self, s, op) -> StmtPlan | None:
        """``a[i][j] = v``: ``v`` receives ``ba[i][j]``, which is then cleared (the old
        element was overwritten)."""
        target = s.targets[0]
        base = ir.store_base(target)
        if not self.active(base):
            return None
        plan = StmtPlan(op)
        slot = self.adjoint_slot(target, base)
        value = s.value
        parent = target.value if isinstance(target.value, gast.Name) else None
        if parent is not None and self.is_dict(parent.id):
            # the adjoint of a dict holds the keys that received a cotangent
            taken = call(self.helper(rt.take_item), name(self.adj(base)), clone(target.slice))
            if isinstance(value, gast.Name) and self.active(value.id):
                plan.contributions.append(Contribution(value.id, taken))
            else:
                plan.post.append(ir.expr_stmt(taken))
        else:
            if isinstance(value, gast.Name) and self.active(value.id):
                plan.contributions.append(Contribution(value.id, slot))
            plan.clear = slot
        plan.reads_before |= names_in(target) - {base} & self.fir.locals
        return plan

    def adjoint_slot(self, target, base):
        """``ba[i][j]`` for the target ``a[i][j]``."""
        slot = clone(target)
        ir.path_root_parent(slot).value = name(self.adj(base))
        for n in ir.walk(slot):
            if hasattr(n, "ctx"):
                n.ctx = gast.Load()
        return slot

    def plan_list(self, s, op) -> StmtPlan | None:
        """``append``, ``extend``, ``insert`` and ``pop`` of an active list: the adjoint list
        (``bys``, as long as ``ys`` at every point of the adjoint sweep) undoes the change."""
        base = op.writes[0]
        if not self.active(base):
            return None
        plan = StmtPlan(op)
        by = name(self.adj(base))
        args = list(op.node.args)
        position = ir.anno(s, "position")
        method = op.method

        def mirror_call(method_name, *call_args):
            return call(gast.Attribute(value=name(self.adj(base)), attr=method_name,
                                       ctx=gast.Load()), *call_args)

        if method == "append":
            taken = mirror_call("pop")
            value = args[0]
        elif method == "insert":
            taken = mirror_call("pop", name(position))
            value = args[1]
            plan.reads_before.add(position)
        elif method == "extend":
            taken = call(self.helper(rt.take_tail), by, name(position))
            value = args[0]
            plan.reads_before.add(position)
        else:  # pop: the popped element's cotangent goes back into the list
            t = op.target
            g = name(self.adj(t)) if t is not None and self.active(t) else const(0.0)
            if position is None:
                plan.post.append(ir.expr_stmt(mirror_call("append", g)))
            else:
                plan.post.append(ir.expr_stmt(mirror_call("insert", name(position), g)))
                plan.reads_before.add(position)
            return plan
        if isinstance(value, gast.Name) and self.active(value.id):
            plan.contributions.append(Contribution(value.id, taken))
        else:
            plan.post.append(ir.expr_stmt(taken))
        return plan

    def _active_operands(self, op):
        return [a for a in op.operands if self.active(a.id)]

    def _plan_assign(self, s, t, op: Op, plan: StmtPlan):
        g = name(self.adj(t))
        fir = self.fir
        if op.kind == "copy":
            if self.active(op.operands[0].id):
                plan.contributions.append(Contribution(op.operands[0].id, g))
            return
        if op.kind == "literal":
            self._plan_literal(op, g, plan)
            return
        if op.kind == "index":
            base = op.node.value.id
            if self.active(base):
                plan.contributions.append(Contribution(base, None, index=op.node.slice,
                                                       target=t))
                plan.reads_before |= names_in(op.node.slice) & fir.locals
            return
        if op.kind == "dict_get":
            self._plan_dict_get(op, g, plan)
            return
        if op.kind == "list" and op.method == "pop":
            return  # planned with the list (plan_list)
        if op.kind in ("zero", "const", "effect") or not self._active_operands(op):
            return
        if op.kind == "rule":
            self._plan_rule(s, t, op, plan)
            return
        if op.kind == "helper":
            raise fir.error(f"{describe(op)} (a helper of generated code) has no reverse "
                            "derivative: a gradient of a gradient through it is not supported",
                            s, "use s2sad.hvp or s2sad.hessian (forward over reverse)")
        if op.kind == "user":
            self._plan_user_call(s, t, op, plan)
            return
        raise fir.error(f"no derivative rule for {describe(op)}", s)  # (refused by check)

    def _plan_literal(self, op, g, plan):
        node = op.node
        if isinstance(node, gast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(value, gast.Name) and self.active(value.id):
                    plan.contributions.append(Contribution(value.id, call(
                        self.helper(rt.take_item), clone(g), clone(key))))
            return
        for k, e in enumerate(node.elts):
            if isinstance(e, gast.Name) and self.active(e.id):
                plan.contributions.append(Contribution(
                    e.id, ir.subscript(clone(g), const(k))))

    def _plan_dict_get(self, op, g, plan):
        node = op.node
        d = node.func.value.id
        key = node.args[0] if node.args else const(None)
        default = node.args[1] if len(node.args) > 1 else None
        bd = name(self.adj(d)) if self.active(d) else gast.Dict(keys=[], values=[])
        share = call(self.helper(rt.get_grad), bd, name(d), clone(key), clone(g))
        if isinstance(default, gast.Name) and self.active(default.id):
            plan.contributions.append(Contribution(default.id, share))
        elif self.active(d):
            plan.post.append(ir.expr_stmt(share))
        plan.reads_before |= ({d} | names_in(key)) & self.fir.locals

    def _call_args(self, op):
        node = op.node
        if isinstance(node, gast.BinOp):
            return [node.left, node.right]
        if isinstance(node, gast.UnaryOp):
            return [node.operand]
        if isinstance(node, gast.Attribute):
            return [node.value]
        if isinstance(node.func, gast.Attribute) and self.fir.resolve(node.func) is MISSING:
            return [node.func.value] + list(node.args)
        return list(node.args)

    def _bind_rule_args(self, s, op, rule):
        """The call's arguments bound to the rule's parameter names (positional, keyword,
        then the rule's defaults): {name: atom}."""
        args = self._call_args(op)
        keywords = list(op.node.keywords) if isinstance(op.node, gast.Call) else []
        names = rule.arg_names
        if len(args) > len(names):
            raise self.fir.error(f"{describe(op)} called with {len(args)} arguments; its "
                                 f"rule takes {len(names)}", s)
        bound = dict(zip(names, args))
        for kw in keywords:
            if kw.arg not in names:
                raise self.fir.error(f"{describe(op)}: its derivative rule has no parameter "
                                     f"'{kw.arg}'", s, "register a rule that takes it with "
                                     "s2sad.adjoint")
            if kw.arg in bound:
                raise self.fir.error(f"{describe(op)} given '{kw.arg}' twice", s)
            bound[kw.arg] = kw.value
        return bound, keywords

    def _plan_rule(self, s, t, op: Op, plan: StmtPlan):
        rule: rules.Rule = op.rule
        names = rule.arg_names
        bound, keywords = self._bind_rule_args(s, op, rule)
        args = self._call_args(op)
        template = rule.template()
        renamed = self._template_names(rule, template) if template is not None else None
        if renamed is None:
            template = None  # a name of the rule cannot be resolved: call it
        g = name(self.adj(t))
        active = [n for n in names if n in bound and isinstance(bound[n], gast.Name)
                  and bound[n].id in self.fir.locals and self.active(bound[n].id)]
        # the result, by name; when the target is also an argument (x = f(x)) the adjoint
        # sweep saves it before restoring x's old value
        ans = name(self.role_name("ans", "_ans")) if any(
            isinstance(a, gast.Name) and a.id == t for a in bound.values()) else name(t)
        locals_read = {a.id for a in bound.values() if isinstance(a, gast.Name)} & \
            self.fir.locals
        if not rule.elementwise and t in self.zero_cotangents:
            # (its cotangent may be the number 0.0 here: np.reshape(0.0, shape) fails, so a
            # rule that is not element-wise reads it expanded to the result's shape)
            g = call(self.helper(rt.expand_to), g, clone(ans))
            plan.reads_after.add(t)
            plan.uses_ans = True
        defaults = _rule_defaults(rule)
        required = [n for n in names if n not in defaults]
        if any(n not in bound for n in required):
            error = self.fir.error(
                f"{describe(op)} called with {len(bound)} argument(s): its derivative rule "
                f"takes ({', '.join(names)})", s,
                "write it with separate arguments, or register a rule with s2sad.adjoint")
            if op.primitive in (builtins.max, builtins.min) and len(bound) == 1:
                error.needs_arguments = True  # (max(xs) of a list: the arguments will tell)
            raise error
        if template is None:
            # call the rule itself: _dx, _dy = rule(g, ans, x, y)
            outs = [self.names.numbered("_d") for _ in names]
            c = self.call_rule(rule, g, ans, op, keywords)
            plan.pre.append(assign(names_or_one(outs, True) if len(names) > 1 else
                                   name(outs[0], True), c, s))
            plan.reads_before |= locals_read
            plan.reads_after.add(t)
            plan.uses_ans = True
            for n in active:
                plan.contributions.append(Contribution(
                    bound[n].id, self._fit(name(outs[names.index(n)]), bound[n], rule, t,
                                           list(bound.values()))))
            return
        if (rule.primitive is operator.mul and len(args) == 2 and len(active) == 2
                and args[0].id == args[1].id and not isinstance(self.kinds.get(t), kinds.Seq)):
            # x * x: one contribution, 2 * g * x, instead of g * x twice
            plan.contributions.append(Contribution(args[0].id, gast.BinOp(
                left=gast.BinOp(left=const(2.0), op=gast.Mult(), right=g), op=gast.Mult(),
                right=clone(args[0]))))
            plan.reads_before.add(args[0].id)
            return
        mapping = template_mapping(rule, bound, renamed, g, ans)
        for n in active:
            expr = template[names.index(n)]
            if isinstance(expr, gast.Constant) and expr.value is None:
                continue
            inst = _fold(substitute(expr, mapping))
            used = names_in(expr)
            for pname in names:
                if pname in used and pname in bound and isinstance(bound[pname], gast.Name) \
                        and bound[pname].id in self.fir.locals:
                    plan.reads_before.add(bound[pname].id)
            if "ans" in used:
                plan.reads_after.add(t)
                plan.uses_ans = True
            plan.contributions.append(Contribution(
                bound[n].id, self._fit(inst, bound[n], rule, t, list(bound.values()))))

    def rule_name(self, rule) -> str:
        """The name the rule function is bound to in the generated code (``_vjp_sin``)."""
        fname = self.names.once(("rule", id(rule.func)), "_vjp_" + _short(rule.primitive),
                                "helper")
        self.injected[fname] = rule.func
        return fname

    def call_rule(self, rule, g, ans, op, keywords):
        """``rule(g, ans, args..., keywords...)``: the rule function called on the statement's
        arguments (a rule whose body is not one ``return``)."""
        c = call(self.rule_name(rule), g, ans, *[clone(a) for a in self._call_args(op)])
        c.keywords = [gast.keyword(arg=k.arg, value=clone(k.value)) for k in keywords]
        return c

    def _fit(self, expr, operand, rule, t, others=()):
        """For an elementwise rule on arrays, sum the cotangent back to the operand's shape
        (``unbroadcast``): x + y with x of shape (3,) and y of shape (2, 3) gives bx the
        shape (3,).  Scalar code is left alone, and so is an array operand whose partners
        are scalars (its shape is the result's)."""
        if not rule.elementwise or not self.is_array(t):
            return expr
        operand_is_array = isinstance(operand, gast.Name) and self.is_array(operand.id)
        partners_are_arrays = any(isinstance(o, gast.Name) and o is not operand and
                                  (self.is_array(o.id) or o.id not in self.fir.locals)
                                  for o in others)
        if operand_is_array and not partners_are_arrays:
            return expr
        return call(self.helper(rt.unbroadcast), expr, clone(operand))

    def _template_names(self, rule, template) -> dict | None:
        """How the free names of a rule's template (``math``, ``unbroadcast``...) read in
        the generated code: as themselves where they mean the same object there, else under
        a fresh name bound to the rule's object ({name: Name} for those renamed); None if a
        name does not resolve for the rule."""
        free_names = set()
        for expr in template:
            free_names |= names_in(expr)
        renamed = {}
        for n in sorted(free_names - set(rule.params)):
            obj = _rule_name(rule, n)
            if obj is MISSING:
                return None
            user = self.fir.resolve(name(n))
            if n in self.fir.locals or (n in self.injected and self.injected[n] is not obj) \
                    or (self.names.role(n) is not None and self.injected.get(n) is not obj) \
                    or (user is not MISSING and user is not obj):
                renamed[n] = name(self.helper_named(obj, n))
            else:
                self.bind_free_name(n, obj)
        return renamed

    def _plan_user_call(self, s, t, op: Op, plan: StmtPlan):
        callee = op.primitive
        args = list(op.node.args)
        wrt_pos = [k for k, a in enumerate(args)
                   if isinstance(a, gast.Name) and a.id in self.fir.locals
                   and self.active(a.id)]
        arg_kinds = tuple(kinds.kind_of(a, self.env) or kinds.OBJECT for a in args)
        vjp_name, vjp_obj = self.ctx.vjp_of(callee, wrt_pos, self.fir, s, arg_kinds)
        vjp_name = self.names.once(("callee", id(vjp_obj)), vjp_name, "helper")
        self.injected[vjp_name] = vjp_obj
        self.callee_names[vjp_name] = vjp_obj
        outs = [self.names.numbered("_d" + args[k].id.lstrip("_")) for k in wrt_pos]
        vjp = ir.VjpCall(func=vjp_name, args=[clone(a) for a in args], seed=name(self.adj(t)),
                         count=len(outs))
        plan.pre.append(assign(names_or_one(outs, True), vjp, s))
        plan.reads_before |= {a.id for a in args if isinstance(a, gast.Name)} & \
            self.fir.locals
        for k, o in zip(wrt_pos, outs):
            plan.contributions.append(Contribution(args[k].id, name(o)))


class _Fold(gast.NodeTransformer):
    """Tiny constant folding so instantiated templates read well (``x ** (2 - 1)`` -> ``x``)."""

    def visit_BinOp(self, node):
        self.generic_visit(node)
        left, right = node.left, node.right
        if isinstance(left, gast.Constant) and isinstance(right, gast.Constant) and \
                isinstance(left.value, (int, float)) and isinstance(right.value, (int, float)):
            try:
                value = eval(compile(gast.gast_to_ast(gast.Expression(body=node)), "", "eval"))
                return const(value)
            except Exception:
                return node
        if isinstance(node.op, gast.Pow) and isinstance(right, gast.Constant) and \
                right.value == 1:
            return left
        if isinstance(node.op, (gast.Mult, gast.Div)) and isinstance(right, gast.Constant) and \
                right.value == 1 and not isinstance(right.value, bool):
            return left
        if isinstance(node.op, (gast.Add, gast.Sub)) and isinstance(right, gast.Constant) and \
                right.value == 0 and not isinstance(right.value, bool) and \
                isinstance(right.value, (int, float)):  # (x - loc with loc's default 0.0)
            return left
        return node

    def visit_Compare(self, node):
        # 5.0 is None -> False (a rule's test of an optional argument that was given)
        self.generic_visit(node)
        if len(node.ops) == 1 and isinstance(node.ops[0], (gast.Is, gast.IsNot)) and \
                isinstance(node.left, gast.Constant) and \
                isinstance(node.comparators[0], gast.Constant) and \
                node.comparators[0].value is None:
            same = node.left.value is None
            return const(same if isinstance(node.ops[0], gast.Is) else not same)
        return node

    def visit_IfExp(self, node):
        self.generic_visit(node)
        if isinstance(node.test, gast.Constant) and isinstance(node.test.value, bool):
            return node.body if node.test.value else node.orelse
        return node

    def visit_Call(self, node):
        # math.log(2.718281828459045) -> 1.0 (a default argument of a rule, folded away)
        self.generic_visit(node)
        func = node.func
        if (isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name)
                and func.value.id == "math" and not node.keywords
                and all(isinstance(a, gast.Constant) for a in node.args)):
            import math

            try:
                return const(getattr(math, func.attr)(*[a.value for a in node.args]))
            except Exception:
                return node
        return node


def _fold(node):
    return _Fold().visit(node)


def _const_tree(value):
    """A constant (or a tuple of constants) as an IR expression."""
    if isinstance(value, tuple):
        return gast.Tuple(elts=[_const_tree(v) for v in value], ctx=gast.Load())
    return const(value)


def _rule_name(rule, free):
    """What a free name of a rule's template denotes (its closure, globals, builtins)."""
    func = rule.func
    if func.__closure__ and free in func.__code__.co_freevars:
        try:
            return func.__closure__[func.__code__.co_freevars.index(free)].cell_contents
        except ValueError:
            return MISSING
    if free in func.__globals__:
        return func.__globals__[free]
    import builtins

    return getattr(builtins, free, MISSING)


def template_mapping(rule, bound: dict, renamed: dict, g, ans) -> dict:
    """What each name of a rule's template reads as at one call: ``g``, ``ans``, the bound
    arguments, the rule's defaults for those left out, its renamed free names."""
    mapping = {"g": g, "ans": ans}
    mapping.update(renamed)
    defaults = _rule_defaults(rule)
    for n in rule.arg_names:
        if n in bound:
            mapping[n] = bound[n]
        elif n in defaults:
            mapping[n] = _const_tree(defaults[n])
    return mapping


def _rule_defaults(rule):
    cached = getattr(rule, "_defaults", None)
    if cached is not None:
        return cached
    out = {}
    for n, p in inspect.signature(rule.func).parameters.items():
        if p.default is not inspect.Parameter.empty:
            out[n] = p.default
    rule._defaults = out
    return out


def _short(prim) -> str:
    return getattr(prim, "__name__", "rule").strip("_<>") or "rule"
