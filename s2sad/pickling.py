"""How the functions s2sad returns pickle: as the recipe that built them.

A gradient holds compiled code, closures and (Wasm) a module instance per thread; none of it
pickles, and none of it needs to.  What it was built from does: the user's function and the
options.  The receiving process builds the gradient again -- once: ``rebuild`` keeps what it
built, so a worker pays the transformation for its first task only, and later tasks find it.

The user's function travels by reference (module and qualified name) when it lives in an
importable module; otherwise (``__main__``, a function defined inside another) it is
serialized on its own -- by cloudpickle when that is installed (what Dask and joblib use:
by value), else by pickle -- so that a failure to load it on the other side is reported as
one line that says how to fix it, not as an AttributeError from deep inside pickle.
"""

from __future__ import annotations

import functools
import importlib
import linecache
import pickle
import threading
import types
from collections.abc import Callable
from typing import Any

from .errors import S2SADError

_FIX = ("define it at the top level of a module the worker processes can import (not in an "
        "interactive session, nor inside another function)")


class Built(functools.partial):
    """A function s2sad returned: it calls like the function it wraps (at C speed, no extra
    Python frame) and pickles as ``recipe`` -- ``(maker, f, *options)``, ``maker`` one of
    ``MAKERS`` -- rebuilt on the other side by ``rebuild``."""

    def __reduce_ex__(self, protocol):
        maker, f, *options = self.recipe
        return (rebuild, (maker, _reference(f), *options))

    def __reduce__(self):  # (copy.copy and older picklers)
        return self.__reduce_ex__(2)

    def __repr__(self) -> str:
        return f"<s2sad {self.__name__}>"


def built(call: Callable, maker: str, f: Callable, *options: Any) -> Built:
    fn = Built(call)
    fn.recipe = (maker, f, *options)
    return fn


def _reference(f: Callable) -> tuple:
    module = getattr(f, "__module__", None)
    qualname = getattr(f, "__qualname__", "")
    if module and module != "__main__" and "<locals>" not in qualname and \
            _lookup(module, qualname) is f:
        return ("module", module, qualname)
    try:
        import cloudpickle  # (by value: what Dask and joblib use for functions)

        data = cloudpickle.dumps(f)
    except ImportError:
        try:
            data = pickle.dumps(f)
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            raise pickle.PicklingError(
                f"s2sad: a gradient pickles as a reference to its function, and "
                f"{getattr(f, '__qualname__', f)!r} cannot be pickled ({exc}); {_FIX}") from None
    # the source goes along: s2sad reads it on the other side, and a function sent by value
    # no longer knows its file (cloudpickle names it <dynamic-code>)
    code = getattr(f, "__code__", None)
    filename = code.co_filename if code is not None else ""
    return ("pickled", getattr(f, "__qualname__", repr(f)), data, filename,
            "".join(linecache.getlines(filename)))


def _lookup(module: str, qualname: str) -> Any:
    try:
        obj = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
        return obj
    except (ImportError, AttributeError):
        return None


def _resolve(ref: tuple) -> Callable:
    if ref[0] == "module":
        _, module, qualname = ref
        f = _lookup(module, qualname)
        if f is None:
            raise S2SADError(f"cannot rebuild the gradient of {module}.{qualname} in this "
                             "process: it is not importable here", hint=_FIX)
        return f
    _, qualname, data, filename, text = ref
    try:
        f = pickle.loads(data)
    except Exception as exc:
        raise S2SADError(f"cannot rebuild the gradient of {qualname} in this process: "
                         f"{type(exc).__name__}: {exc}", hint=_FIX) from None
    if text and filename:
        _give_source(f, filename, text)
    return f


def _give_source(f: Callable, filename: str, text: str) -> None:
    """Point ``f`` -- and the functions of the same file it calls, sent along with it -- at
    its source again: ``filename`` is read from the sent text where this machine lacks it."""
    if not linecache.getlines(filename):
        lines = text.splitlines(keepends=True)
        linecache.cache[filename] = (len(text), None, lines, filename)
    functions = [f] + [v for v in getattr(f, "__globals__", {}).values()
                       if isinstance(v, types.FunctionType)]
    for g in functions:
        code = g.__code__
        if code.co_filename != filename and code.co_filename.startswith("<") and \
                g.__module__ == f.__module__:
            g.__code__ = code.replace(co_filename=filename)


_REBUILT: dict = {}
_LOCK = threading.Lock()


def rebuild(maker: str, ref: tuple, *options: Any) -> Callable:
    """The function ``maker`` builds for the referenced function and ``options``, built once
    per process."""
    try:
        f = _resolve(ref)
    except S2SADError as exc:  # raised by the first call, so the pool reports it as the task's
        return _Unbuilt(exc)   # error (a failure while unpickling would kill the worker)
    if maker == "pullback":  # (one evaluation's: made again from its arguments)
        return MAKERS[maker](f, *options)
    key = (maker, ref, _hashable(options))  # (a function sent by value is a new object
    with _LOCK:                               # each time: the reference is the key)
        fn = _REBUILT.get(key)
        if fn is None:
            fn = _REBUILT[key] = MAKERS[maker](f, *options)
    return fn


class _Unbuilt:
    """What a gradient that could not be rebuilt here becomes: calling it raises why."""

    def __init__(self, error: S2SADError) -> None:
        self.error = error

    def __call__(self, *args, **kwargs):
        raise self.error


def _hashable(value):
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    return value


def _make_grad(f, wrt, memory=None):
    from .api import grad

    return grad(f, wrt=wrt, memory=memory)


def _make_value_and_grad(f, wrt, memory=None):
    from .api import value_and_grad

    return value_and_grad(f, wrt=wrt, memory=memory)


def _make_wasm(f, wrt, with_value, primal, memory=None):
    from .wasm import WasmFunction

    return WasmFunction(f, wrt, with_value, primal=primal, memory=memory)


def _make_jvp(f, wrt, backend="python"):
    from .api import make_jvp

    return make_jvp(f, wrt=wrt, backend=backend)


def _make_pullback(f, args, kwargs=None):
    from .api import vjp

    return vjp(f, *args, **(kwargs or {}))[1]


MAKERS: dict[str, Callable] = {
    "pullback": _make_pullback,
    "grad": _make_grad,
    "value_and_grad": _make_value_and_grad,
    "wasm": _make_wasm,
    "make_jvp": _make_jvp,
}
