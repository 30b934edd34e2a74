"""Reverse-mode rewriting: IR of ``f`` -> IR of ``f_vjp(params..., b_out)``.

The generated function runs the *forward sweep* (the primal statements, plus pushes onto
``_stack``) and then the *adjoint sweep* (the statements in reverse order, each replaced by
its derivative rule) and returns ``(value, gradients)``.

Taping follows one invariant: when the adjoint sweep reaches a statement, every primal value
its rule reads holds what it held when the statement ran.  So a value is pushed only when it
is overwritten *and* an earlier (in time) adjoint needs the old one:

* an assignment pushes the old value of its target when a rule at or before it (within the
  same loop iteration) reads that variable, and the adjoint sweep pops it back after the
  statement's adjoint;
* a loop pushes, at the end of each iteration, one tuple of the variables its body assigns
  and its adjoints read (the *snapshot*), popped at the start of each reversed iteration;
  before the loop it pushes what it overwrites that code before the loop still needs;
* ``for`` over ``range`` is reversed with ``reversed(range(...))`` (its trip count is pushed
  only when the loop can exit early); ``while`` pushes its trip count; branch conditions
  are ordinary values, pushed only if overwritten inside a loop.

Adjoints: ``bx`` for active ``x``, accumulated with ``bx = bx + ...``; a temporary used once
gets its adjoint assigned directly (``b_t1 = b_t2 * math.cos(_t1)``).
"""

from __future__ import annotations

import copy
import operator
from dataclasses import dataclass, field
from typing import Any

import gast

from . import ir, kinds, rules
from .activity import Activity, Op, analyze, classify, returned_names, store_base
from .activity import walk_statements as _walk
from .ir import Pop, Push, StackGrowth, StackMark, VjpCall, comment
from .ir import add as _add
from .ir import assign as _assign
from .ir import at as _at
from .ir import call as _call
from .ir import clone as _clone
from .ir import const as _const
from .ir import name as _name
from .ir import names_in as _names_in
from .ir import names_or_one as _tuple_or_one
from .ir import substitute as _substitute
from .parse import MISSING, FunctionIR


def _push(*values):
    return Push(values=list(values))


def _push_names(names):
    return Push(values=[_name(n) for n in names])


def _is_trailing_break(s) -> bool:
    return (isinstance(s, gast.If) and len(s.body) == 1 and isinstance(s.body[0], gast.Break)
            and not s.orelse)


@dataclass
class Contribution:
    operand: str
    expr: Any  # gast expression of the cotangent; None for element accumulation
    index: Any = None  # for xs[i] reads: accumulate into bxs[i]


@dataclass
class StmtPlan:
    op: Op
    contributions: list = field(default_factory=list)
    reads_before: set = field(default_factory=set)
    reads_after: set = field(default_factory=set)
    pre: list = field(default_factory=list)  # statements computing call results first
    uses_ans: bool = False


class Reverser:
    """Builds the adjoint function of one FunctionIR for one ``wrt``."""

    def __init__(self, fir: FunctionIR, wrt: list[str], context: Context,
                 param_kinds: dict | None = None) -> None:
        self.fir = fir
        self.wrt = wrt
        self.ctx = context
        self.names = fir.namer.copy()  # the cached IR's namer stays as parse left it
        self.act: Activity = analyze(fir, wrt)
        # what each variable may hold, from the kinds of the arguments (kinds.py)
        param_kinds = dict(param_kinds or {})
        self.array_params = {p for p, k in param_kinds.items() if kinds.is_array(k)}
        self.env = kinds.Env({}, fir.resolve, lambda n: n in fir.locals,
                             callee=context.callee_kind)
        self.kinds = kinds.infer(fir.body, param_kinds, self.env)
        self.injected: dict[str, Any] = {}
        self.callee_names: dict[str, Any] = {}  # names of callee adjoints -> the functions
        self.plans: dict[int, StmtPlan] = {}
        self.index: dict[int, int] = {}
        self.parent_loop: dict[int, Any] = {}
        self.loop_range: dict[int, tuple[int, int]] = {}
        self.containers: set[str] = set()
        self.trips: dict[int, str] = {}
        self.chain: dict[int, tuple] = {}
        self.branch_of: dict[int, tuple] = {}
        self.block_inits: dict[int, list] = {}

    def is_array(self, name: str) -> bool:
        return kinds.is_array(self.kinds.get(name))

    # ------------------------------------------------------------------ generated names --
    def adj(self, name: str) -> str:
        """The adjoint of a primal variable: ``bx`` for ``x`` (from the namer)."""
        return self.names.adjoint(name)

    def helper(self, obj) -> str:
        """The name a runtime helper or rule object is bound to in the generated code."""
        name = self.names.once(("helper", id(obj)), getattr(obj, "__name__", "helper"),
                               "helper")
        self.injected[name] = obj
        return name

    def role_name(self, role: str, base: str) -> str:
        """One generated name per role in the function (``_g``, ``_ans``, the seed...)."""
        return self.names.once(("role", role), base, "temp" if base in ("_g", "_ans")
                               else role)

    def bind_free_name(self, name: str, obj) -> None:
        """A free name of an inlined rule template, bound to what it means for the rule."""
        self.names.reserve([name])
        self.names._memo.setdefault(("helper", id(obj)), name)
        self.injected.setdefault(name, obj)

    @property
    def seed(self) -> str:
        return self.role_name("seed", "b_out")

    # ------------------------------------------------------------------ analysis helpers --
    def _exclusive(self, a, b) -> bool:
        """Whether a and b sit in different branches of one if statement."""
        ca, cb = self.chain[id(a)], self.chain[id(b)]
        k = 0
        while k < min(len(ca), len(cb)) and ca[k] == cb[k]:
            k += 1
        if k >= min(len(ca), len(cb)):
            return False
        ia, ib = self.branch_of.get(ca[k]), self.branch_of.get(cb[k])
        return ia is not None and ib is not None and ia[0] == ib[0] and ia[1] != ib[1]

    def _number(self, stmts, loop, chain=()):
        chain = chain + (id(stmts),)
        for s in stmts:
            self.index[id(s)] = len(self.index)
            self.parent_loop[id(s)] = loop
            self.chain[id(s)] = chain
            if isinstance(s, gast.If):
                self.branch_of[id(s.body)] = (id(s), "body")
                self.branch_of[id(s.orelse)] = (id(s), "orelse")
                self._number(s.body, loop, chain)
                self._number(s.orelse, loop, chain)
            elif isinstance(s, (gast.For, gast.While)):
                start = len(self.index)
                self._number(s.body, s, chain)
                self.loop_range[id(s)] = (start, len(self.index) - 1)

    def _find_containers(self):
        for node in gast.walk(gast.Module(body=self.fir.body, type_ignores=[])):
            if isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name):
                self.containers.add(node.value.id)
            if isinstance(node, gast.Assign) and isinstance(node.value, (gast.Tuple, gast.List)):
                base = store_base(node.targets[0])
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

    def _active_stmt(self, s) -> bool:
        if not isinstance(s, gast.Assign):
            return False
        base = store_base(s.targets[0])
        return base is not None and self.act.is_active(base) and bool(self.plans.get(id(s))
                                                                      and self.plans[id(s)]
                                                                      .contributions)

    # ------------------------------------------------------------------------ planning --
    def plan_statements(self):
        for s in _walk(self.fir.body):
            if not isinstance(s, gast.Assign):
                continue
            target = s.targets[0]
            base = store_base(target)
            if base is None or not self.act.is_active(base):
                continue
            if isinstance(target, gast.Subscript):
                plan = StmtPlan(Op("store"))
                value = s.value
                if isinstance(value, gast.Name) and self.act.is_active(value.id):
                    gname = gast.Subscript(value=_name(self.adj(base)), slice=_clone(
                        target.slice), ctx=gast.Load())
                    plan.contributions.append(Contribution(value.id, gname))
                plan.reads_before |= _names_in(target.slice) & self.fir.locals
                self.plans[id(s)] = plan
                continue
            op = classify(self.fir, s.value)
            plan = StmtPlan(op)
            self._plan_assign(s, base, op, plan)
            self.plans[id(s)] = plan

    def _active_operands(self, op):
        return [a for a in op.operands if self.act.is_active(a.id)]

    def _plan_assign(self, s, t, op: Op, plan: StmtPlan):
        g = _name(self.adj(t))
        fir = self.fir
        if op.kind == "copy":
            if self.act.is_active(op.operands[0].id):
                plan.contributions.append(Contribution(op.operands[0].id, g))
            return
        if op.kind == "literal":
            for k, e in enumerate(op.node.elts):
                if isinstance(e, gast.Name) and self.act.is_active(e.id):
                    plan.contributions.append(Contribution(
                        e.id, gast.Subscript(value=g, slice=_const(k), ctx=gast.Load())))
            return
        if op.kind == "index":
            base = op.node.value.id
            if self.act.is_active(base):
                plan.contributions.append(Contribution(base, None, index=op.node.slice))
                plan.reads_before |= _names_in(op.node.slice) & fir.locals
            return
        if op.kind == "nondiff" or not self._active_operands(op):
            return
        if op.kind == "rule":
            if self.is_array(t) and not isinstance(op.primitive, tuple):
                variant = rules.lookup_for_arrays(op.primitive)
                if variant is not None:
                    op.rule = variant
            self._plan_rule(s, t, op, plan)
            return
        if op.kind == "user":
            self._plan_user_call(s, t, op, plan)
            return
        what = _describe(op)
        raise fir.error(f"no derivative rule for {what}", s,
                        f"register one with @s2sad.adjoint({what.split(' ')[0]}) "
                        "or pass only constants to it")

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
            raise self.fir.error(f"{_describe(op)} called with {len(args)} arguments; its "
                                 f"rule takes {len(names)}", s)
        bound = dict(zip(names, args))
        for kw in keywords:
            if kw.arg not in names:
                raise self.fir.error(f"{_describe(op)}: its derivative rule has no parameter "
                                     f"'{kw.arg}'", s, "register a rule that takes it with "
                                     "s2sad.adjoint")
            bound[kw.arg] = kw.value
        return bound, keywords

    def _plan_rule(self, s, t, op: Op, plan: StmtPlan):
        rule: rules.Rule = op.rule
        names = rule.arg_names
        bound, keywords = self._bind_rule_args(s, op, rule)
        args = self._call_args(op)
        template = rule.template()
        if template is not None and not self._inlinable(rule, template):
            template = None  # the rule's names would mean something else here: call it
        g = _name(self.adj(t))
        active = [n for n in names if n in bound and isinstance(bound[n], gast.Name)
                  and bound[n].id in self.fir.locals and self.act.is_active(bound[n].id)]
        # the result, by name; when the target is also an argument (x = f(x)) the adjoint
        # sweep saves it as _ans before restoring x's old value
        ans = _name(self.role_name("ans", "_ans")) if any(isinstance(a, gast.Name) and a.id == t
                                   for a in bound.values()) else _name(t)
        locals_read = {a.id for a in bound.values() if isinstance(a, gast.Name)} & \
            self.fir.locals
        required = [n for n in names if n not in _rule_defaults(rule)]
        if any(n not in bound for n in required):
            raise self.fir.error(
                f"{_describe(op)} called with {len(bound)} argument(s): its derivative rule "
                f"takes ({', '.join(names)})", s,
                "write it with separate arguments, or register a rule with s2sad.adjoint")
        if template is None:
            # call the rule itself: _dx, _dy = rule(g, ans, x, y)
            fname = self.names.once(("rule", id(rule.func)), "_vjp_" + _short(rule.primitive),
                                    "helper")
            self.injected[fname] = rule.func
            outs = [self.names.numbered("_d") for _ in names]
            call = _call(fname, g, ans, *[_clone(a) for a in args])
            call.keywords = [gast.keyword(arg=k.arg, value=_clone(k.value)) for k in keywords]
            plan.pre.append(_assign(_tuple_or_one(outs, True) if len(names) > 1 else
                                    _name(outs[0], True), call, s))
            plan.reads_before |= locals_read
            plan.reads_after.add(t)
            plan.uses_ans = True
            for n in active:
                plan.contributions.append(Contribution(
                    bound[n].id, self._fit(_name(outs[names.index(n)]), bound[n], rule, t,
                                           list(bound.values()))))
            return
        defaults = _rule_defaults(rule)
        if (rule.primitive is operator.mul and len(args) == 2 and len(active) == 2
                and args[0].id == args[1].id):
            # x * x: one contribution, 2 * g * x, instead of g * x twice
            plan.contributions.append(Contribution(args[0].id, gast.BinOp(
                left=gast.BinOp(left=_const(2.0), op=gast.Mult(), right=g), op=gast.Mult(),
                right=_clone(args[0]))))
            plan.reads_before.add(args[0].id)
            return
        mapping = {"g": g, "ans": ans}
        for n in names:
            if n in bound:
                mapping[n] = bound[n]
            elif n in defaults:
                mapping[n] = _const_tree(defaults[n])

        for n in active:
            expr = template[names.index(n)]
            if isinstance(expr, gast.Constant) and expr.value is None:
                continue
            inst = _fold(_substitute(expr, mapping))
            for name in _names_in(expr) - set(rule.params):
                obj = _rule_name(rule, name)
                if obj is not MISSING:
                    self.bind_free_name(name, obj)
            used = _names_in(expr)
            for pname in names:
                if pname in used and pname in bound and isinstance(bound[pname], gast.Name) \
                        and bound[pname].id in self.fir.locals:
                    plan.reads_before.add(bound[pname].id)
            if "ans" in used:
                plan.reads_after.add(t)
                plan.uses_ans = True
            plan.contributions.append(Contribution(
                bound[n].id, self._fit(inst, bound[n], rule, t, list(bound.values()))))

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
        from . import runtime as tape

        return _call(self.helper(tape.unbroadcast), expr, _clone(operand))

    def _inlinable(self, rule, template) -> bool:
        """A template inlines when each free name resolves for the rule and means the same
        object in the generated code (not a local of the user's function, not another
        injected object, not a different global of the user's module)."""
        names = set()
        for expr in template:
            names |= _names_in(expr)
        for name in names - set(rule.params):
            obj = _rule_name(rule, name)
            if obj is MISSING or name in self.fir.locals:
                return False
            if name in self.injected and self.injected[name] is not obj:
                return False
            user = self.fir.resolve(_name(name))
            if user is not MISSING and user is not obj:
                return False
        return True

    def _plan_user_call(self, s, t, op: Op, plan: StmtPlan):
        callee = op.primitive
        args = list(op.node.args)
        wrt_pos = [k for k, a in enumerate(args)
                   if isinstance(a, gast.Name) and a.id in self.fir.locals
                   and self.act.is_active(a.id)]
        arg_kinds = tuple(kinds.kind_of(a, self.env) or kinds.OBJECT for a in args)
        vjp_name, vjp_obj = self.ctx.vjp_of(callee, wrt_pos, self.fir, s, arg_kinds)
        vjp_name = self.names.once(("callee", id(vjp_obj)), vjp_name, "helper")
        self.injected[vjp_name] = vjp_obj
        self.callee_names[vjp_name] = vjp_obj
        outs = [self.names.numbered("_d" + args[k].id.lstrip("_")) for k in wrt_pos]
        call = VjpCall(func=vjp_name, args=[_clone(a) for a in args],
                       seed=_name(self.adj(t)), count=len(outs))
        plan.pre.append(_assign(_tuple_or_one(outs, True), call, s))
        plan.reads_before |= {a.id for a in args if isinstance(a, gast.Name)} & \
            self.fir.locals
        for k, o in zip(wrt_pos, outs):
            plan.contributions.append(Contribution(args[k].id, _name(o)))

    # ----------------------------------------------------------------- tape decisions --
    def collect_reads(self, reversed_ids):
        reads = {}  # var -> list of (index, kind)

        def add(var, idx, kind, s=None):
            # a for loop's own variable is re-derived by the reversed loop: not a tape read
            loop = self.parent_loop.get(id(s)) if s is not None else None
            while loop is not None:
                if isinstance(loop, gast.For) and loop.target.id == var:
                    return
                loop = self.parent_loop[id(loop)]
            reads.setdefault(var, []).append((idx, kind))

        for s in _walk(self.fir.body):
            idx = self.index[id(s)]
            plan = self.plans.get(id(s))
            if plan is not None and plan.contributions:
                for v in plan.reads_before:
                    add(v, idx, "before", s)
                for v in plan.reads_after:
                    add(v, idx, "after", s)
            if id(s) in reversed_ids:
                if isinstance(s, gast.If) and isinstance(s.test, gast.Name):
                    add(s.test.id, idx, "before", s)
                elif isinstance(s, gast.For):
                    for a in s.iter.args:
                        if isinstance(a, gast.Name) and a.id in self.fir.locals:
                            add(a.id, idx, "before", s)
        return reads

    def decide(self):
        # a branch or loop is mirrored in the adjoint sweep when it holds an active statement
        # or overwrites an active variable (whose adjoint must then be reset there)
        def touches_active(x):
            return self._active_stmt(x) or (
                isinstance(x, gast.Assign) and store_base(x.targets[0]) is not None
                and self.act.is_active(store_base(x.targets[0])))

        reversed_ids = {id(s) for s in _walk(self.fir.body)
                        if isinstance(s, (gast.If, gast.For, gast.While))
                        and any(touches_active(x) for x in _walk(_children(s)))}
        while True:
            reads = self.collect_reads(reversed_ids)
            self.push_at, self.loop_restore, self.snapshot = self._pushes(reads)
            self.reads = reads
            more = {id(s) for s in _walk(self.fir.body)
                    if isinstance(s, (gast.If, gast.For, gast.While))
                    and self._has_tape(s)} - reversed_ids
            if not more:
                break
            reversed_ids |= more
        self.reversed_ids = reversed_ids
        self._decide_copies()

    def _decide_copies(self):
        """Restores that need no tape: outside loops the old value is kept in a local
        (``_old_x = x``); at the top level of a loop body it is kept in a local that joins
        the iteration's snapshot tuple, so each iteration still pushes once."""
        self.copies: dict[int, str] = {}
        for s in _walk(self.fir.body):
            if id(s) not in self.push_at or not isinstance(s.targets[0], gast.Name):
                continue
            loop = self.parent_loop[id(s)]
            if loop is not None and not any(x is s for x in loop.body):
                continue
            name = self.names.fresh("_old_" + s.targets[0].id.lstrip("_"), "saved")
            self.copies[id(s)] = name
            if loop is not None:
                self.snapshot.setdefault(id(loop), []).append(name)
        self.early: dict[int, Any] = {}
        self.recomputed: dict[int, list] = {}
        for loop in _walk(self.fir.body):
            if isinstance(loop, (gast.For, gast.While)):
                self._decide_early_push(loop)
                self._decide_recompute(loop)

    CHEAP = (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.USub)

    def _decide_recompute(self, loop):
        """Cheap arithmetic of an iteration (``_t4 = 3.0 * x``) is recomputed at the start of
        the reversed iteration instead of being taped, when its operands then hold the values
        they held when it ran: loop invariants, the loop variable, popped or recomputed values
        last assigned before it.  The forward sweep then folds back into the user's own
        expressions, and the tape carries only what is expensive to recompute."""
        snap = self.snapshot.get(id(loop))
        if not snap:
            return
        body = loop.body
        assigned_at: dict[str, list[int]] = {}
        for x in _walk(body):
            if isinstance(x, gast.Assign):
                assigned_at.setdefault(store_base(x.targets[0]), []).append(self.index[id(x)])
            elif isinstance(x, gast.For):
                assigned_at.setdefault(x.target.id, []).append(self.index[id(x)])
        early = self.early.get(id(loop))
        own = loop.target.id if isinstance(loop, gast.For) else None
        outermost = loop
        while self.parent_loop.get(id(outermost)) is not None:
            outermost = self.parent_loop[id(outermost)]
        first = self.index[id(outermost)]
        all_sites: dict[str, list[int]] = {}
        for x in _walk(self.fir.body):
            if isinstance(x, gast.Assign):
                all_sites.setdefault(store_base(x.targets[0]), []).append(self.index[id(x)])
            elif isinstance(x, gast.For):
                all_sites.setdefault(x.target.id, []).append(self.index[id(x)])
        available = set()  # names whose value at the reversed iteration start is right
        recompute = []
        deps: dict[str, set] = {}
        for d in body:
            if not (isinstance(d, gast.Assign) and isinstance(d.targets[0], gast.Name)):
                continue
            v = d.targets[0].id
            if len(assigned_at.get(v, [])) != 1 or v in self.fir.params \
                    or id(d) in self.push_at:
                continue  # (a pushed value is also read before it is overwritten)
            value = d.value
            if isinstance(value, gast.BinOp):
                ops, operands = value.op, [value.left, value.right]
            elif isinstance(value, gast.UnaryOp):
                ops, operands = value.op, [value.operand]
            else:
                continue
            if not isinstance(ops, self.CHEAP):
                continue
            idx = self.index[id(d)]
            ok = True
            for u in operands:
                if not isinstance(u, gast.Name) or u.id not in self.fir.locals:
                    continue
                u = u.id
                sites = assigned_at.get(u, [])
                if u == own and not sites:
                    continue  # the for loop's own variable, re-derived by the reversed loop
                if not sites and all(k < first for k in all_sites.get(u, [])):
                    continue  # set before the loop (nest) and never again
                if u in available:
                    continue
                if early is not None and u == early.targets[0].id and \
                        sites == [self.index[id(early)]] and self.index[id(early)] > idx:
                    continue  # restored to its value before the assignment
                if u in snap and u not in available and all(site < idx for site in sites):
                    continue  # popped at the start of the reversed iteration
                ok = False
                break
            if ok:
                recompute.append(d)
                available.add(v)
                deps[v] = {u.id for u in operands if isinstance(u, gast.Name)} & available
        # what the tape would carry, and the cheap values it is computed from
        chosen = set(snap) & available
        todo = list(chosen)
        while todo:
            for u in deps.get(todo.pop(), ()):
                if u not in chosen:
                    chosen.add(u)
                    todo.append(u)
        recompute = [d for d in recompute if d.targets[0].id in chosen]
        if recompute:
            names = {d.targets[0].id for d in recompute}
            self.snapshot[id(loop)] = [n for n in snap if n not in names]
            self.recomputed[id(loop)] = [_clone(d) for d in recompute]

    def _decide_early_push(self, loop):
        """Push the iteration's tuple right before the last restored assignment instead of
        copying the old value and pushing at the end, when nothing after that assignment
        touches the tape or the tuple, and no adjoint after it reads the new value: then
        ``_t1, x = _stack.pop()`` at the start of the reversed iteration restores both."""
        body = [x for x in loop.body if not _is_trailing_break(x)]
        cut = len(body) - (getattr(loop, "recompute", 0) if not any(
            _is_trailing_break(x) for x in loop.body) else 0)
        body = body[:cut]
        tops = [k for k, x in enumerate(body) if id(x) in self.copies]
        if not tops:
            return
        k = tops[-1]
        a = body[k]
        v = a.targets[0].id
        snap = self.snapshot.get(id(loop), [])
        others = [n for n in snap if n != self.copies[id(a)]]
        after = body[k + 1:]
        for x in after:
            if isinstance(x, (gast.For, gast.While)) or (_assigned_in([x]) & set(others + [v])):
                return
            for y in _walk([x]):
                if id(y) in self.push_at or (isinstance(y, (gast.If,)) and
                                             id(y) in self.reversed_ids and
                                             any(id(z) in self.push_at for z in _walk([y]))):
                    return
        plan = self.plans.get(id(a))
        if plan is not None and v in plan.reads_after:
            return
        start, end = self.loop_range[id(loop)]
        idx = self.index[id(a)]
        if any(idx < r <= end for r, _ in self.reads.get(v, ())):
            return
        if v in others:
            return
        snap[snap.index(self.copies[id(a)])] = v
        self.early[id(loop)] = a

    def _has_tape(self, s) -> bool:
        for x in _walk(_children(s)):
            if id(x) in self.push_at or self.loop_restore.get(id(x)) or self.snapshot.get(id(x)):
                return True
        return bool(self.snapshot.get(id(s)))

    def _scope_start(self, s):
        loop = self.parent_loop[id(s)]
        return self.loop_range[id(loop)][0] if loop is not None else 0

    def _pushes(self, reads):
        push_at = set()
        for s in _walk(self.fir.body):
            if not isinstance(s, gast.Assign):
                continue
            target = s.targets[0]
            idx = self.index[id(s)]
            if isinstance(target, gast.Name):
                lo = self._scope_start(s)
                for r, kind in reads.get(target.id, ()):
                    if lo <= r and (r <= idx if kind == "before" else r < idx):
                        push_at.add(id(s))
                        break
            else:
                base = store_base(target)
                hi = idx
                loop = self.parent_loop[id(s)]
                while loop is not None:
                    hi = max(hi, self.loop_range[id(loop)][1])
                    loop = self.parent_loop[id(loop)]
                if any(r <= hi for r, _ in reads.get(base, ())):
                    push_at.add(id(s))
        loop_restore, snapshot = {}, {}
        for s in _walk(self.fir.body):
            if not isinstance(s, (gast.For, gast.While)):
                continue
            idx = self.index[id(s)]
            lo = self._scope_start(s)
            start, end = self.loop_range[id(s)]
            assigned = _assigned(s)
            loop_restore[id(s)] = sorted(v for v in assigned if any(
                lo <= r < idx for r, _ in reads.get(v, ())))
            body_assigned = _assigned_in(s.body)
            own = {s.target.id} if isinstance(s, gast.For) else set()
            snap = []
            for v in sorted(body_assigned - own):
                if not any(start <= r <= end for r, _ in reads.get(v, ())):
                    continue
                if self._fully_restored(v, s.body, push_at, loop_restore):
                    continue
                snap.append(v)
            snapshot[id(s)] = snap
        return push_at, loop_restore, snapshot

    def _fully_restored(self, v, body, push_at, loop_restore) -> bool:
        for s in body:
            if isinstance(s, gast.Assign) and store_base(s.targets[0]) == v:
                if not isinstance(s.targets[0], gast.Name) or id(s) not in push_at:
                    return False
            elif isinstance(s, gast.If):
                if not (self._fully_restored(v, s.body, push_at, loop_restore)
                        and self._fully_restored(v, s.orelse, push_at, loop_restore)):
                    return False
            elif isinstance(s, (gast.For, gast.While)):
                if v in _assigned(s) and v not in loop_restore.get(id(s), ()):
                    return False
        return True

    # ------------------------------------------------------------------ adjoint naming --
    def decide_direct(self):
        """Temporaries defined once and used once in the same block get assigned adjoints."""
        defs: dict[str, list] = {}
        uses: dict[str, list] = {}
        self.block_of: dict[int, int] = {}

        def scan(stmts):
            for s in stmts:
                self.block_of[id(s)] = id(stmts)
                if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
                    defs.setdefault(s.targets[0].id, []).append(s)
                if isinstance(s, (gast.For, gast.While)):
                    target = s.target.id if isinstance(s, gast.For) else None
                    if target:
                        defs.setdefault(target, []).extend([s, s])
                plan = self.plans.get(id(s))
                if plan is not None:
                    for c in plan.contributions:
                        uses.setdefault(c.operand, []).append(s)
                if isinstance(s, gast.If):
                    scan(s.body)
                    scan(s.orelse)
                elif isinstance(s, (gast.For, gast.While)):
                    scan(s.body)

        scan(self.fir.body)
        self.defs = defs
        returned = set(returned_names(self.fir))
        self.direct = set()
        for v, ds in defs.items():
            us = uses.get(v, [])
            # one active definition, its one use later in the same block, and no other
            # definition (a constant, say) in between: the adjoint is assigned at the use
            active_defs = [d for d in ds if isinstance(d, gast.Assign) and self._active_stmt(d)]
            if (len(active_defs) != 1 or len(us) != 1 or v in self.fir.params
                    or v in returned or v in self.containers
                    or any(not isinstance(d, gast.Assign) for d in ds)):
                continue
            d, u = active_defs[0], us[0]
            lo, hi = self.index[id(d)], self.index[id(u)]
            if (self.block_of[id(d)] == self.block_of[id(u)] and lo < hi
                    and not any(lo < self.index[id(o)] <= hi for o in ds if o is not d)):
                self.direct.add(v)

    # ---------------------------------------------------------------------- generation --
    def build(self, name: str) -> gast.FunctionDef:
        fir = self.fir
        name = self.names.fresh(name, "function")
        mutated = fir.meta.get("mutated", {})
        for p, error in mutated.items():
            if p not in self.array_params:
                raise error
        self.written = {store_base(x.targets[0]) for x in _walk(fir.body)
                        if isinstance(x, gast.Assign) and isinstance(x.targets[0], gast.Subscript)}
        self._number(fir.body, None)
        self._find_containers()
        self.plan_statements()
        self.attach_index_targets()
        self.decide()
        self.decide_direct()
        body = fir.body[:-1]
        ret = fir.body[-1]
        fwd = self.forward(body)
        inits = self.adjoint_inits(ret)  # (also the zeroing of containers inside blocks)
        bwd = self.backward(body)
        out = []
        for p in sorted(mutated):  # the caller's arrays are never written
            out.append(_assign(p, _call(gast.Attribute(value=_name(p), attr="copy",
                                                       ctx=gast.Load()))))
        out.extend(self.unbound_inits())
        out.extend(fwd)
        # the value to return, kept safe from restores in the adjoint sweep
        value = ret.value
        restored = {store_base(s.targets[0]) for s in _walk(body) if id(s) in self.push_at}
        for v in self.loop_restore.values():
            restored |= set(v)
        for v in self.snapshot.values():
            restored |= set(v)
        if _names_in(value) & restored:
            kept = self.names.fresh("_value", "saved")
            out.append(_assign(kept, _clone(value)))
            value = _name(kept)
        marker = comment("adjoint sweep")
        ir.set_anno(marker, "adjoint_sweep", True)
        out.append(marker)
        out.extend(inits)
        out.extend(bwd)
        grads = []
        for p in self.wrt:
            if self.act.is_active(p):
                grads.append(_name(self.adj(p)))
            else:  # the result does not depend on p
                grads.append(_call(self.helper(_tape().zeros_like), _name(p)))
        grad_expr = grads[0] if len(grads) == 1 else gast.Tuple(elts=grads, ctx=gast.Load())
        out.append(gast.Return(value=gast.Tuple(elts=[value, grad_expr], ctx=gast.Load())))
        args = gast.arguments(
            args=[_name(p, False) for p in fir.params] + [_name(self.seed, False)],
            posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
            defaults=[_const(1.0)])
        for a in args.args:
            a.ctx = gast.Param()
        fdef = gast.FunctionDef(name=name, args=args, body=out, decorator_list=[],
                                returns=None, type_comment=None, type_params=[])
        if ir.uses_tape(fdef):
            ir.set_anno(fdef, "tape", self.names.fresh("_stack", "tape"))
        return fdef

    def unbound_inits(self):
        """``v = None`` for values pushed where they may not be bound yet (rare)."""
        pushed = set()
        for s in _walk(self.fir.body):
            if id(s) in self.push_at and isinstance(s.targets[0], gast.Name):
                if s.targets[0].id not in self.bound_before.get(id(s), set()):
                    pushed.add(s.targets[0].id)
            if isinstance(s, (gast.For, gast.While)):
                for v in self.loop_restore.get(id(s), ()):
                    if v not in self.bound_before.get(id(s), set()):
                        pushed.add(v)
                copies = set(self.copies.values())
                for v in self.snapshot.get(id(s), ()):
                    if v not in self.bound_end.get(id(s), set()) and v not in copies:
                        pushed.add(v)
        return [_assign(v, _const(None)) for v in sorted(pushed)]

    def adjoint_inits(self, ret):
        inits = {}
        top = self.chain[id(ret)][0]
        for v in sorted(self.act.active):
            if v in self.direct:
                continue
            block = self._init_block(v) if v in self.containers else top
            if block != top:
                # a container defined in a branch or loop: zeroed where it exists
                self.block_inits.setdefault(block, []).append(_assign(self.adj(v), self._zero(v)))
                continue
            inits[v] = self._zero(v)
        value = ret.value
        if isinstance(value, gast.Name) and self.act.is_active(value.id):
            inits[value.id] = _name(self.seed)
        elif isinstance(value, gast.Tuple):
            for k, e in enumerate(value.elts):
                if isinstance(e, gast.Name) and self.act.is_active(e.id):
                    seed = gast.Subscript(value=_name(self.seed), slice=_const(k),
                                          ctx=gast.Load())
                    prev = inits.get(e.id)
                    if isinstance(prev, gast.Constant) and prev.value == 0.0:
                        inits[e.id] = seed
                    else:
                        inits[e.id] = self._accumulate_expr(e.id, prev, seed)
        if isinstance(value, gast.Name) and value.id in self.containers and \
                self.act.is_active(value.id):
            inits[value.id] = _call(self.helper(_tape().add),
                                    _call(self.helper(_tape().zeros_like), _name(value.id)),
                                    _name(self.seed))
        return [_assign(self.adj(v), e) for v, e in inits.items()]

    def _init_block(self, v):
        """The innermost block holding every definition and use of v (params: the top)."""
        if v in self.fir.params or v in returned_names(self.fir):
            return self.chain[id(self.fir.body[-1])][0]
        chains = [self.chain[id(d)] for d in self.defs.get(v, [])]
        for s in _walk(self.fir.body):
            plan = self.plans.get(id(s))
            if plan and any(c.operand == v for c in plan.contributions):
                chains.append(self.chain[id(s)])
        common = chains[0]
        for c in chains[1:]:
            k = 0
            while k < min(len(common), len(c)) and common[k] == c[k]:
                k += 1
            common = common[:k]
        return common[-1]

    def _zero(self, v):
        if v in self.containers:
            return _call(self.helper(_tape().zeros_like), _name(v))
        return _const(0.0)

    def _accumulate_expr(self, v, current, expr):
        if v in self.containers and not self.is_array(v):  # lists: elementwise
            return _call(self.helper(_tape().add), current, expr)
        return _add(current, expr)

    # forward sweep --------------------------------------------------------------------------
    def forward(self, stmts, bound=None):
        if bound is None:
            bound = set(self.fir.params)
            self.bound_before = {}
            self.bound_end = {}
        out = []
        for s in stmts:
            self.bound_before[id(s)] = set(bound)
            if isinstance(s, gast.Assign) and isinstance(s.value, gast.Subscript) and \
                    isinstance(s.value.value, gast.Name) and s.value.value.id in self.written \
                    and self.is_array(s.value.value.id):
                # a slice of an array that is written later is a view: keep its values
                from . import runtime as tape

                s = _assign(_clone(s.targets[0]), _call(self.helper(tape.copy_of),
                                                        _clone(s.value)), s)
            if isinstance(s, gast.Assign):
                loop = self.parent_loop.get(id(s))
                if loop is not None and self.early.get(id(loop)) is s:
                    out.append(_push_names(self.snapshot[id(loop)]))
                elif id(s) in self.copies:
                    out.append(_assign(self.copies[id(s)], _name(s.targets[0].id)))
                elif id(s) in self.push_at:
                    target = s.targets[0]
                    if isinstance(target, gast.Name):
                        out.append(_push(_name(target.id)))
                    else:
                        old = _clone(target)
                        old.ctx = gast.Load()
                        if self.is_array(store_base(target)):
                            from . import runtime as tape

                            old = _call(self.helper(tape.copy_of), old)
                        out.append(_push(old))
                out.append(s)
                if isinstance(s.targets[0], gast.Name):
                    bound.add(s.targets[0].id)
            elif isinstance(s, gast.If):
                b1, b2 = set(bound), set(bound)
                new = gast.If(test=s.test, body=self.forward(s.body, b1),
                              orelse=self.forward(s.orelse, b2))
                out.append(_at(new, s))
                bound |= b1 & b2
            elif isinstance(s, (gast.For, gast.While)):
                out.extend(self._forward_loop(s, set(bound)))
            else:
                out.append(s)
        return out

    def _forward_loop(self, s, bound):
        out = []
        restore = self.loop_restore.get(id(s), [])
        if restore:
            out.append(_push_names(restore))
        rev = id(s) in self.reversed_ids
        # the exit check `if _break: break` ends the body proper; in a while loop only the
        # recomputation of the condition follows it
        checks = [k for k, x in enumerate(s.body) if _is_trailing_break(x)]
        cut = checks[-1] if checks else len(s.body) - getattr(s, "recompute", 0)
        trailing = s.body[cut] if checks else None
        body_in = list(s.body[:cut])
        tail = list(s.body[cut:])
        inner_bound = bound | ({s.target.id} if isinstance(s, gast.For) else set())
        body = self.forward(body_in, inner_bound)
        self.bound_end[id(s)] = inner_bound
        counted = rev and (isinstance(s, gast.While) or trailing is not None)
        snap = self.snapshot.get(id(s), [])
        # when each iteration pushes exactly one snapshot and nothing else, the trip count is
        # the growth of the stack: no counter to bump in every iteration
        pushes = sum(1 for x in _walk(body) if ir.uses_tape(x) and not isinstance(
            x, (gast.If, gast.For, gast.While)))
        by_height = counted and snap and pushes == (1 if id(s) in self.early else 0)
        if counted:
            n = len(self.trips)
            if by_height:
                trips = self.names.fresh("_height" if n == 0 else f"_height{n + 1}", "saved")
                out.append(_assign(trips, StackMark(), s))
            else:
                trips = self.names.fresh("_trips" if n == 0 else f"_trips{n + 1}", "saved")
                out.append(_assign(trips, _const(0), s))
                body.insert(0, _assign(trips, _add(_name(trips), _const(1)), s))
            self.trips[id(s)] = trips
        if rev and snap and id(s) not in self.early and self.snapshot.get(id(s)):
            body.append(_push_names(snap))
        body.extend(self.forward(tail, inner_bound) if tail else [])
        new = copy.copy(s)
        new.body = body
        out.append(new)
        if counted:
            trips = _name(self.trips[id(s)])
            if by_height:
                trips = StackGrowth(mark=trips, record=len(snap))
            out.append(_push(trips))
        return out

    # adjoint sweep --------------------------------------------------------------------------
    def backward(self, stmts, block=None):
        out = list(self.block_inits.get(block or id(stmts), []))
        for s in reversed(stmts):
            if isinstance(s, gast.Assign):
                out.extend(self._backward_assign(s))
            elif isinstance(s, gast.If) and id(s) in self.reversed_ids:
                body = self.backward(s.body) or [gast.Pass()]
                orelse = self.backward(s.orelse)
                if orelse == [] and body == [gast.Pass()]:
                    continue
                out.append(_at(gast.If(test=s.test, body=body, orelse=orelse), s))
            elif isinstance(s, (gast.For, gast.While)):
                out.extend(self._backward_loop(s))
        return out

    def _backward_loop(self, s):
        out = []
        restore = self.loop_restore.get(id(s), [])
        if id(s) in self.reversed_ids:
            body_in = [x for x in s.body if not _is_trailing_break(x)]
            body = []
            snap = self.snapshot.get(id(s), [])
            if snap:
                body.append(_assign(_tuple_or_one(snap, True), Pop()))
            body.extend(_clone(self.recomputed.get(id(s), [])))
            body.extend(self.backward(body_in, block=id(s.body)))
            if not body:
                body = [gast.Pass()]
            if isinstance(s, gast.For):
                rng = _clone(s.iter)
                if id(s) in self.trips:
                    rng = gast.Subscript(value=rng, slice=gast.Slice(
                        lower=None, upper=Pop(), step=None), ctx=gast.Load())
                it = _call("reversed", rng)
                target = _clone(s.target)
            else:
                it = _call("range", Pop())
                target = _name(self.role_name("ignored", "_"), True)
            out.append(comment(f"reversed loop from line {self.fir.line_of(s)}"))
            out.append(_at(gast.For(target=target, iter=it, body=body, orelse=[],
                                    type_comment=None), s))
        if restore:
            out.append(_assign(_tuple_or_one(restore, True), Pop()))
        return out

    def _backward_assign(self, s):
        target = s.targets[0]
        plan = self.plans.get(id(s))
        pushed = id(s) in self.push_at
        restore = []
        if pushed:
            load = _clone(target)
            load.ctx = gast.Store()
            saved = self.copies.get(id(s))
            restore = [_assign(load, _name(saved) if saved else Pop())]
            loop = self.parent_loop.get(id(s))
            if loop is not None and self.early.get(id(loop)) is s:
                restore = []  # restored by the iteration's pop
        if plan is None or not plan.contributions:
            # an active variable overwritten by a constant: its old value gets no cotangent
            if isinstance(target, gast.Name) and self.act.is_active(target.id) \
                    and target.id not in self.direct and self._needs_reset(target.id, s):
                return [_assign(self.adj(target.id), self._zero(target.id))] + restore
            if isinstance(target, gast.Subscript) and self.act.is_active(store_base(target)):
                cleared = _clone(target)
                cleared.value = _name(self.adj(store_base(target)))
                cleared.ctx = gast.Store()
                return [_assign(cleared, _const(0.0))] + restore
            return restore
        if isinstance(target, gast.Subscript):
            # a[i] = v: v receives ba[i], which is then cleared (the old a[i] was overwritten)
            if self.is_array(store_base(target)):
                from . import runtime as tape

                plan.contributions = [Contribution(c.operand, _call(
                    self.helper(tape.unbroadcast), _call(self.helper(tape.copy_of), c.expr),
                    _name(c.operand))) for c in plan.contributions]
            out = [self._contribute(c) for c in plan.contributions]
            cleared = _clone(target)
            cleared.value = _name(self.adj(store_base(target)))
            cleared.ctx = gast.Store()
            out.append(_assign(cleared, _const(0.0)))
            return out + restore
        t = target.id
        g = self.adj(t)
        self_ref = any(c.operand == t for c in plan.contributions)
        out = []
        if self_ref and not _is_identity(plan.contributions, t, g):
            g_saved = self.role_name("g", "_g")
            out.append(_assign(g_saved, _name(g)))
            out.append(_assign(g, self._zero(t)))
            subst = {g: _name(g_saved)}
            if plan.uses_ans:
                out.append(_assign(self.role_name("ans", "_ans"), _name(t)))
            out.extend(restore)
            out.extend(_substitute(p, subst) for p in plan.pre)
            out.extend(self._contribute(c, subst) for c in plan.contributions)
            return out
        if self_ref:
            # t = t + e: the adjoint of t passes through unchanged
            out.extend(plan.pre)
            out.extend(self._contribute(c) for c in plan.contributions if c.operand != t)
            return out + restore
        out.extend(plan.pre)
        out.extend(self._contribute(c) for c in plan.contributions)
        if t not in self.direct and self._needs_reset(t, s):
            out.append(_assign(g, self._zero(t)))
        return out + restore

    def _needs_reset(self, t, s) -> bool:
        """Whether bt is read again after this definition's adjoint: only if t was defined
        earlier in time (an earlier definition not in the other branch of an if, a loop
        around this one, or a parameter)."""
        earlier = any(self.index[id(d)] < self.index[id(s)] and not self._exclusive(d, s)
                      for d in self.defs.get(t, []))
        return earlier or self.parent_loop[id(s)] is not None or t in self.fir.params

    def _contribute(self, c: Contribution, subst=None):
        o = c.operand
        bo = self.adj(o)
        if c.index is not None and self.is_array(o) and not self._int_index(c.index):
            # x = a[idx] -> add_at(ba, idx, bx): repeated fancy indices accumulate
            from . import runtime as tape

            add_at = self.helper(tape.add_at)
            g = _name(self.adj(self._index_target(c)))
            index = _clone(c.index)
            if isinstance(index, gast.Slice) or (isinstance(index, gast.Tuple) and any(
                    isinstance(e, gast.Slice) for e in index.elts)):
                # a slice is not an expression: build the index object with a subscript
                index = gast.Subscript(value=_name(self.helper(tape.index_of)), slice=index,
                                       ctx=gast.Load())
            return gast.Expr(value=_call(add_at, _name(bo), index, g))
        if c.index is not None:
            # x = xs[i]  ->  bxs[i] = bxs[i] + bx
            slot = gast.Subscript(value=_name(bo), slice=_clone(c.index),
                                  ctx=gast.Load())
            g = _name(self.adj(self._index_target(c)))
            value = self._accumulate_expr(self._index_target(c), slot, g) \
                if self._index_target(c) in self.containers else _add(slot, g)
            store = _clone(slot)
            store.ctx = gast.Store()
            return _assign(store, value)
        expr = c.expr if subst is None else _substitute(c.expr, subst)
        if o in self.direct:
            return _assign(bo, expr)
        return _assign(bo, self._accumulate_expr(o, _name(bo), expr))

    def _int_index(self, index) -> bool:
        """An index made of integers only (a[i], a[2, j]): plain += is exact for it."""
        parts = index.elts if isinstance(index, gast.Tuple) else [index]
        return all(kinds.is_int(kinds.kind_of(p, self.env)) for p in parts)

    def _index_target(self, c):
        return c._target

    def attach_index_targets(self):
        for s in _walk(self.fir.body):
            plan = self.plans.get(id(s))
            if plan is None:
                continue
            for c in plan.contributions:
                if c.index is not None:
                    c._target = s.targets[0].id


def _is_identity(contributions, t, g) -> bool:
    for c in contributions:
        if c.operand == t:
            if not (isinstance(c.expr, gast.Name) and c.expr.id == g):
                return False
    return sum(1 for c in contributions if c.operand == t) == 1


def _children(s):
    if isinstance(s, gast.If):
        return list(s.body) + list(s.orelse)
    return list(s.body)


def _assigned_in(stmts) -> set[str]:
    out = set()
    for s in _walk(stmts):
        if isinstance(s, gast.Assign):
            out.add(store_base(s.targets[0]))
        elif isinstance(s, gast.For):
            out.add(s.target.id)
    out.discard(None)
    return out


def _assigned(loop) -> set[str]:
    out = _assigned_in(loop.body)
    if isinstance(loop, gast.For):
        out.add(loop.target.id)
    return out


class _Fold(gast.NodeTransformer):
    """Tiny constant folding so instantiated templates read well (``x ** (2 - 1)`` -> ``x``)."""

    def visit_BinOp(self, node):
        self.generic_visit(node)
        left, right = node.left, node.right
        if isinstance(left, gast.Constant) and isinstance(right, gast.Constant) and \
                isinstance(left.value, (int, float)) and isinstance(right.value, (int, float)):
            try:
                value = eval(compile(gast.gast_to_ast(gast.Expression(body=node)), "", "eval"))
                return _const(value)
            except Exception:
                return node
        if isinstance(node.op, gast.Pow) and isinstance(right, gast.Constant) and \
                right.value == 1:
            return left
        if isinstance(node.op, (gast.Mult, gast.Div)) and isinstance(right, gast.Constant) and \
                right.value == 1 and not isinstance(right.value, bool):
            return left
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
                return _const(getattr(math, func.attr)(*[a.value for a in node.args]))
            except Exception:
                return node
        return node


def _fold(node):
    return _Fold().visit(node)


def _const_tree(value):
    """A constant (or a tuple of constants) as an IR expression."""
    if isinstance(value, tuple):
        return gast.Tuple(elts=[_const_tree(v) for v in value], ctx=gast.Load())
    return _const(value)


def _rule_name(rule, name):
    """What a free name of a rule's template denotes (its closure, globals, builtins)."""
    func = rule.func
    if func.__closure__ and name in func.__code__.co_freevars:
        try:
            return func.__closure__[func.__code__.co_freevars.index(name)].cell_contents
        except ValueError:
            return MISSING
    if name in func.__globals__:
        return func.__globals__[name]
    import builtins

    return getattr(builtins, name, MISSING)


def _rule_defaults(rule):
    cached = getattr(rule, "_defaults", None)
    if cached is not None:
        return cached
    import inspect

    out = {}
    for name, p in inspect.signature(rule.func).parameters.items():
        if p.default is not inspect.Parameter.empty:
            out[name] = p.default
    rule._defaults = out
    return out


def _short(prim) -> str:
    return getattr(prim, "__name__", "rule").strip("_<>") or "rule"


def _describe(op: Op) -> str:
    prim = op.primitive
    if isinstance(prim, tuple):
        return f".{prim[1]}" + ("()" if prim[0] == "method" else "")
    if prim is not None:
        mod = getattr(prim, "__module__", None) or ""
        name = getattr(prim, "__qualname__", getattr(prim, "__name__", repr(prim)))
        return f"{mod}.{name}" if mod and mod != "builtins" else name
    return "this call"


def _tape():
    from . import runtime as tape

    return tape


class Context:
    """Shared state of one transformation: callee adjoints generated so far, recursion guard."""

    def __init__(self, make_vjp) -> None:
        self.make_vjp = make_vjp  # (func, wrt positions, arg kinds) -> (name, function)
        self.stack: list = []
        self._returns: dict = {}

    def vjp_of(self, callee, wrt_pos, fir, node, arg_kinds=()):
        if callee in self.stack:
            chain = " -> ".join(f.__name__ for f in self.stack + [callee])
            raise fir.error(f"recursion is not supported ({chain})", node,
                            "rewrite the recursion as a loop")
        return self.make_vjp(callee, tuple(wrt_pos), tuple(arg_kinds))

    def callee_kind(self, func, arg_kinds):
        """The kind of what user function ``func`` returns for arguments of these kinds."""
        from .errors import S2SADError
        from .parse import parse_function

        key = (func, tuple(arg_kinds))
        if key in self._returns:
            return self._returns[key]
        self._returns[key] = kinds.OBJECT  # (recursion: unknown)
        try:
            callee = parse_function(func)
        except S2SADError:
            return kinds.OBJECT
        env = kinds.Env({}, callee.resolve, lambda n: n in callee.locals,
                        callee=self.callee_kind)
        kinds.infer(callee.body, dict(zip(callee.params, arg_kinds)), env)
        result = kinds.kind_of(callee.body[-1].value, env) or kinds.OBJECT
        self._returns[key] = result
        return result


def reverse(fir: FunctionIR, wrt: list[str], name: str, context: Context,
            param_kinds: dict | None = None):
    """Build the adjoint FunctionDef of ``fir`` for arguments of ``param_kinds``; returns
    (FunctionDef, injected names, the Reverser)."""
    r = Reverser(fir, wrt, context, param_kinds)
    fdef = r.build(name)
    return fdef, r.injected, r
