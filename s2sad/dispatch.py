"""A generated entry point that checks one specialization's arguments inline.

Looking an entry up by a key made of the arguments' types (a tuple built, hashed and found in
a dict, then a guard called) costs about 0.6 us a call: most of the time of a microsecond
primal's tangent.  ``EntryPoint`` is a function compiled for the last specialization a call
found: ``type(a0) is _e_t0 and ...`` (arrays: type, shape and dtype) and the guard's own
expression, inline, then the specialization itself; any other call takes the general path,
which finds or builds its entry and installs it here.  Installing swaps the function's code
and its keyword-only defaults (the values the checks read, as locals), so the object handed
out (and pickled by its recipe) stays the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


class _Missing:
    """An argument not given (the entry point takes its arity with defaults, so that a
    wrong count reaches the general path and its message)."""

    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()


def _given(args: tuple, more: tuple) -> tuple:
    return tuple(a for a in args if a is not _MISSING) + more


class EntryPoint:
    """``function`` calls ``general(*args)`` until ``install`` names a specialization; after
    that, calls whose arguments match it (number types; arrays' types, shapes and dtypes)
    while its guard holds call it directly -- an ``AssertionError`` from it becomes
    ``on_assert(args)`` (raised) -- and the others still go to ``general``."""

    def __init__(self, name: str, arity: int, general: Callable,
                 on_assert: Callable[[tuple], BaseException]) -> None:
        self.name = name if name.isidentifier() else "entry"
        self.arity = arity
        self.params = [f"a{i}" for i in range(arity)]
        self.namespace: dict[str, Any] = {"_e_general": general, "_e_on_assert": on_assert,
                                          "_e_given": _given, "_e_missing": _MISSING,
                                          "_e_ndarray": np.ndarray}
        self.function = self._compile(None)
        self._general_code = self.function.__code__

    def _compile(self, test: str | None, guard: str = "True", bound=()):
        params = ", ".join(self.params)
        call = f"_e_fast({params})"
        given = "(" + "".join(p + ", " for p in self.params) + ")"
        fast = "" if test is None else (
            f"    if {test} and not more:\n"
            f"        try:\n"
            f"            ok = ({guard})\n"
            f"        except Exception:\n"
            f"            ok = False\n"
            f"        if ok:\n"
            f"            try:\n"
            f"                return {call}\n"
            f"            except AssertionError:\n"
            f"                raise _e_on_assert({given}) from None\n")
        signature = "".join(p + "=_e_missing, " for p in self.params) + "*more" + \
            "".join(", " + n for n in bound)
        source = (f"def {self.name}({signature}):\n{fast}"
                  f"    return _e_general(*_e_given({given}, more))\n")
        made: dict[str, Any] = {}
        exec(compile(source, f"<s2sad {self.name}>", "exec"), self.namespace, made)
        return made[self.name]

    def install(self, args: tuple, fast: Callable, guard: Callable[[], bool]) -> None:
        """Make calls shaped like ``args`` (numbers and arrays only) call ``fast``."""
        if len(args) != self.arity or not args:
            return
        checks, bound = [], {"_e_fast": fast}
        for i, a in enumerate(args):
            t = type(a)
            if t is np.ndarray:
                bound[f"_e_s{i}"], bound[f"_e_d{i}"] = a.shape, a.dtype
                checks.append(f"type(a{i}) is _e_ndarray and a{i}.shape == _e_s{i} and "
                              f"a{i}.dtype == _e_d{i}")
            elif t in (float, int, bool) or issubclass(t, (np.floating, np.integer)):
                bound[f"_e_t{i}"] = t
                checks.append(f"type(a{i}) is _e_t{i}")
            else:
                return  # (containers: the general path checks them)
        expression = getattr(guard, "expression", None)
        if expression is None:
            bound["_e_guard"], expression = guard, "_e_guard()"
        code = self._compile(" and ".join(checks), expression, sorted(bound)).__code__
        # What the checks compare with and the entry called are keyword-only parameters
        # whose defaults are these values: a call binds them together with the code when it
        # starts, so a call running while another thread installs an entry sees the old
        # pair or the new one, never the new checks with the old entry (calls in between
        # take the general path).  The guard's expression reads names of its own (numbered
        # across guards), added to the namespace and never rebound.
        self.namespace.update(getattr(guard, "env", {}))
        self.function.__code__ = self._general_code
        self.function.__kwdefaults__ = bound
        self.function.__code__ = code
