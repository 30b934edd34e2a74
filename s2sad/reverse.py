"""Reverse-mode rewriting: IR of ``f`` -> IR of ``f_grad(params..., b_out) -> (value,
gradients)``.

The pass runs in steps, each a module with one job:

1. ``kinds`` -- what each variable holds, for the argument kinds of this specialization;
2. ``aliases`` -- writes through names that share a list or an array made explicit (or
   refused), and the arguments the function writes (copied on entry);
3. ``prepare`` -- the IR's statements given their exact meaning for these kinds (dict
   iteration, positions of list changes);
4. ``activity`` -- every statement classified (closed world), the active variables, and a
   refusal, with the user's line, of anything active without a derivative;
5. ``plan`` -- each active statement's contributions to the adjoints;
6. ``taping`` -- what the forward sweep saves so the adjoint sweep sees the right values;
7. ``sweeps`` -- the function itself: forward sweep, ``# adjoint sweep``, gradients.

``Reverser`` holds what the steps share; ``plan``, ``taping`` and ``sweeps`` are its parts.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import gast

from . import ir, kinds
from .activity import analyze, check, classify_all, returned_names, useful_after
from .aliases import resolve_aliases
from .checkpointing import Checkpointing
from .emit import is_generated
from .errors import S2SADError
from .parse import FunctionIR
from .plan import Planning
from .prepare import prepare, unstar_calls
from .sweeps import Sweeps
from .taping import Taping


class Reverser(Planning, Taping, Checkpointing, Sweeps):
    """Builds the adjoint function of one FunctionIR for one ``wrt`` and argument kinds."""

    FORWARD = False  # (forward.Forwarder: the same front half, for forward mode)

    def __init__(self, fir: FunctionIR, wrt: list[str], context: Context,
                 param_kinds: dict | None = None) -> None:
        self.wrt = wrt
        self.ctx = context
        self.names = fir.namer.copy()  # the cached IR's namer stays as parse left it
        # (the derivatives f takes inside, made at parse: the generated code calls them too)
        self.injected: dict[str, Any] = dict(fir.meta.get("made", {}))
        self.callee_names: dict[str, Any] = {}  # names of callee adjoints -> the functions
        # a parameter of no known kind may hold anything (OBJECT, not "nothing yet")
        param_kinds = {p: (param_kinds or {}).get(p) or kinds.OBJECT for p in fir.params}
        self.param_kinds = param_kinds
        local_names = set(fir.locals)
        body = ir.clone(fir.body)
        # 1-3: kinds, aliases, the kinds-aware lowering (then kinds again, for new names)
        env = self._env(fir, local_names)
        found = kinds.infer(body, param_kinds, env)
        body, starred = unstar_calls(body, found, env, self.names, local_names, fir)
        if starred:  # (f(*xs) spliced: the items read have kinds of their own)
            found = kinds.infer(body, param_kinds, self._env(fir, local_names))
        aliasing = resolve_aliases(fir, body, found, env, self.names, self.FORWARD)
        local_names |= aliasing.locals
        self.entry_copies = set(aliasing.mutated_params)
        body = prepare(aliasing.body, found, env, self.names, local_names, self.helper,
                       fir.error, fir.resolve)
        self.fir = replace(fir, body=body, locals=local_names)
        self.env = self._env(self.fir, local_names)
        self.kinds = kinds.infer(body, param_kinds, self.env)
        # 4: classification, activity, the closed world
        self.ops = classify_all(self.fir, self.kinds, self.env)
        self.act = analyze(self.fir, wrt, self.ops, self.kinds)
        check(self.fir, self.ops, self.act, body)
        self.useful_after = useful_after(body, self.ops, returned_names(self.fir))
        self.plans: dict[int, Any] = {}
        self.order: list = []
        self.branch_of: dict[int, tuple] = {}
        self.loop_bodies: set[int] = set()
        self.block_inits: dict[int, list] = {}
        self.containers: set[str] = set()
        self.owned: set[str] = set()
        self.trips: dict[int, str] = {}
        self.ckpt: dict[int, dict] = {}  # checkpointed loops (checkpointing.py)
        self.ckpt_unbound: set[str] = set()
        self.written = {ir.store_base(x.targets[0]) for x in ir.walk_statements(body)
                        if isinstance(x, gast.Assign)
                        and isinstance(x.targets[0], gast.Subscript)}

    def _env(self, fir, local_names):
        # a gradient s2sad generated, read again (hvp, grad of grad): its primal names keep
        # the kinds the reverse pass inferred for them -- every value they hold there is one
        # the primal computed, restored from the tape or recomputed
        fixed = {n: k for n, k in (getattr(fir.func, "__s2sad_local_kinds__", None) or
                                   {}).items() if n in local_names or n in fir.params}
        return kinds.Env({}, fir.resolve, local_names.__contains__,
                         callee=self.ctx.callee_kind, fixed=fixed)

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

    def helper_named(self, obj, base: str) -> str:
        """A fresh name for ``obj`` (a rule's free name taken by the user's code)."""
        name = self.names.once(("renamed", id(obj)), base, "helper")
        self.injected[name] = obj
        return name

    def bind_free_name(self, name: str, obj) -> None:
        """A free name of an inlined rule template, bound to what it means for the rule."""
        self.names.reserve([name])
        self.names._memo.setdefault(("helper", id(obj)), name)
        self.injected.setdefault(name, obj)

    @property
    def seed(self) -> str:
        return self.role_name("seed", "b_out")


def _at_call(exc: S2SADError, fir: FunctionIR, node) -> S2SADError:
    """A refusal met in a called function, named at the call when that function is code s2sad
    generated (a gradient called inside, differentiated again): it has no line of the
    user's."""
    if not is_generated(exc.filename):
        return exc
    return fir.error(exc.what, node, exc.hint)


class Context:
    """Shared state of one transformation: callee adjoints generated so far, recursion guard."""

    def __init__(self, make_vjp, make_jvp=None) -> None:
        self.make_vjp = make_vjp  # (func, wrt positions, arg kinds) -> (name, function)
        self.make_jvp = make_jvp  # the same for forward mode (forward.py)
        self.stack: list = []
        self.memory: int | None = None  # the memory budget of checkpointed loops (bytes)
        self.lowered = False  # whole-array NumPy lowered to loops first (loops.py: Wasm)
        self.pending: dict = {}  # adjoints being built: a recursive call's target
        self._returns: dict = {}
        self._inferring: list = []  # the callees whose return kinds are being inferred

    def vjp_of(self, callee, wrt_pos, fir, node, arg_kinds=()):
        try:
            return self.make_vjp(callee, tuple(wrt_pos), tuple(arg_kinds))
        except S2SADError as exc:
            raise _at_call(exc, fir, node) from None

    def jvp_of(self, callee, positions, fir, node, arg_kinds=()):
        """The tangent function of a called user function (forward mode)."""
        try:
            return self.make_jvp(callee, tuple(positions), tuple(arg_kinds))
        except S2SADError as exc:
            raise _at_call(exc, fir, node) from None

    def callee_kind(self, func, arg_kinds):
        """The kind of what user function ``func`` returns for arguments of these kinds."""
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
        self._inferring.append(func)
        try:
            kinds.infer(callee.body, dict(zip(callee.params, arg_kinds)), env)
        except RecursionError as exc:  # a long chain of calls: say which (transform.py)
            if not hasattr(exc, "s2sad_chain"):
                exc.s2sad_chain = list(self.stack) + list(self._inferring)
            raise
        finally:
            self._inferring.pop()
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
