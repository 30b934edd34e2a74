"""Running emitted modules under wasmtime: safe under threads, interruptible, recoverable.

- One ``Engine`` per process; a module is compiled once (``Compiled``) and instantiated once
  per thread that calls it (``Instance``: a ``Store``, the instance, its memory and tape),
  so threads never share a store -- wasmtime stores are not thread-safe -- and calls from
  different threads run in parallel (wasmtime releases the GIL).
- Ctrl-C: every loop of the user's code looks at one word of linear memory (the interrupt
  flag, ``wasm_emit.INTERRUPT_FLAG``) and traps (``unreachable``) when it is set -- no call in
  the loop, which would make Cranelift keep the loop's values out of registers: a call there
  doubled a tight loop's time.  A watcher thread, woken
  through ``signal.set_wakeup_fd`` when SIGINT arrives, sets the flag of every instance of the
  main thread, so a running call stops at once and the caller sees ``KeyboardInterrupt``;
  other threads' calls go on, as in Python, where only the main thread is interrupted.
  (wasmtime's epoch interruption does the same, but its checks at every function entry cost
  up to half the speed of a loop that calls math kernels; one load and a branch to a trap per
  iteration cost ~2% of the tightest loop, 258 -> 263 us on the arithmetic benchmark.)
- Failures: a trap leaves an instance in an unknown state (a tape half written, memory at its
  limit), so the instance is dropped and the next call gets a fresh one; the error says what
  happened (``error_code``: 1 the tape is exhausted, 2 an index out of range, 3 an assert
  failed, 5 a checkpointed loop's budget leaves no room; the interrupt flag set: Ctrl-C).
- ``memory_limit`` caps each instance's linear memory (bytes; ``None``: the 32-bit limit).
"""

from __future__ import annotations

import ctypes
import struct
import threading
import weakref
from collections.abc import Callable

from .errors import S2SADError
from .wasm_emit import INTERRUPT_FLAG

F64, I64, I32 = "f64", "i64", "i32"

memory_limit: int | None = None  # bytes of linear memory per instance (None: 4 GiB - 64 KiB)

_ENGINE: list = []
_LOCK = threading.Lock()
_INTERRUPTS = [0]  # how many times SIGINT has interrupted the main thread's Wasm calls
_MAIN_INSTANCES: weakref.WeakSet = weakref.WeakSet()  # the instances Ctrl-C stops


def wasmtime_module():
    try:
        import wasmtime
    except ImportError:  # pragma: no cover - wasmtime is a dependency
        raise S2SADError("the Wasm backend needs the wasmtime package",
                         hint="pip install wasmtime") from None
    return wasmtime


def engine():
    """One wasmtime Engine for the process (creating one costs milliseconds; an engine is
    shared safely between threads, each instance gets a Store of its own)."""
    if not _ENGINE:
        with _LOCK:
            if not _ENGINE:
                import atexit

                wasmtime = wasmtime_module()
                _ENGINE.append(wasmtime.Engine(wasmtime.Config()))
                atexit.register(_release)  # before the interpreter unloads wasmtime
    return _ENGINE[0]


_LIVE: weakref.WeakSet = weakref.WeakSet()  # every Compiled and Instance not yet collected


def _release() -> None:
    """At exit, while wasmtime is still loaded: free every store and module (left to the
    garbage collector, those still cached -- a jvp's module held by its function -- were freed
    after wasmtime's own globals were gone: "Exception ignored in Managed.__del__" on stderr)."""
    for obj in sorted(_LIVE, key=lambda o: isinstance(o, Compiled)):  # (stores first)
        obj.release()
    _ENGINE.clear()


# -- Ctrl-C ----------------------------------------------------------------------------------

_WATCHER: list = []


def _watch_interrupts() -> None:
    """Make SIGINT stop the main thread's running Wasm call (installed once, from the main
    thread; a wakeup fd set before is still written to)."""
    import signal
    import socket

    if _WATCHER or threading.current_thread() is not threading.main_thread():
        return
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    try:
        previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    except (ValueError, OSError):  # not the main interpreter: Ctrl-C waits for the call
        reader.close()
        writer.close()
        return
    _WATCHER.append((reader, writer))

    def watch() -> None:
        while True:
            try:
                data = reader.recv(64)
            except OSError:
                return
            if not data:
                return
            if signal.SIGINT in data:
                for inst in list(_MAIN_INSTANCES):  # (flags first: see Instance.rearm)
                    inst.flag.value = 1
                _INTERRUPTS[0] += 1
            if previous != -1:  # the wakeup fd of whoever set one before us
                try:
                    import os

                    os.write(previous, data)
                except OSError:
                    pass

    threading.Thread(target=watch, name="s2sad-wasm-interrupts", daemon=True).start()


# -- modules and instances -----------------------------------------------------------------------

class Compiled:
    """A module compiled once; ``instance()`` is the calling thread's own instance."""

    def __init__(self, wat: str, sites: list | tuple = ()) -> None:
        """``sites``: (file, line, source line) of each statement whose index can trap
        (the module's ``error_site`` - 1)."""
        wasmtime = wasmtime_module()
        try:
            self.module = wasmtime.Module(engine(), wat)
        except wasmtime.WasmtimeError as exc:  # a bug of ours: say so with the text
            raise S2SADError(f"internal error: the emitted module does not assemble: {exc}",
                             hint="please report this with the function") from None
        self._local = threading.local()
        self.sites = list(sites)
        _LIVE.add(self)

    def release(self) -> None:
        self.module.close()

    def instance(self) -> Instance:
        inst = getattr(self._local, "instance", None)
        if inst is None or inst.dead:
            inst = self._local.instance = Instance(self.module, self.sites)
        return inst


class Instance:
    """One instantiated module in a store of its own (used by one thread only)."""

    def __init__(self, module, sites: list | tuple = ()) -> None:
        wasmtime = wasmtime_module()
        self.sites = sites
        self.main = threading.current_thread() is threading.main_thread()
        if self.main:
            _watch_interrupts()
        self.store = wasmtime.Store(engine())
        _LIVE.add(self)
        if memory_limit is not None:
            self.store.set_limits(memory_size=memory_limit)
        self.interrupts = _INTERRUPTS[0]
        self.instance = wasmtime.Instance(self.store, module, [])
        self.exports = self.instance.exports(self.store)
        self.memory = self.exports["memory"]
        # the word the module's loops look at: set to stop the running call (the memory
        # never moves: the address holds)
        base = ctypes.cast(self.memory.data_ptr(self.store), ctypes.c_void_p).value
        self.flag = ctypes.c_int32.from_address(base + INTERRUPT_FLAG)
        if self.main:
            _MAIN_INSTANCES.add(self)
        self.tape_top = self.exports["tape_top"]
        self.error_code = self.exports["error_code"]
        self.tape_base = 1024
        self.dead = False
        self.runners: dict = {}  # per specialization (wasm.py)
        self._view = None
        self._view_size = 0

    def release(self) -> None:
        self.dead = True
        self.store.close()

    def rearm(self) -> None:
        """After a Ctrl-C that came between calls: the flag is cleared (the watcher sets
        the flags before it counts the interrupt, so none is set after this)."""
        self.interrupts = _INTERRUPTS[0]
        self.flag.value = 0

    def set_tape_base(self, base: int) -> None:
        self.tape_base = base
        self.tape_top.set_value(self.store, wasmtime_module().Val.i32(base))

    def ensure_memory(self, nbytes: int) -> None:
        have = self.memory.data_len(self.store)
        if nbytes > have:
            try:
                self.memory.grow(self.store, (nbytes - have) // 65536 + 1)
            except wasmtime_module().WasmtimeError:
                raise S2SADError(f"the Wasm memory cannot hold {nbytes} bytes of arguments "
                                 "and results", hint="s2sad.wasm_runtime.memory_limit caps "
                                 "it; the Python backend has no such limit") from None

    def memory_view(self, need: int = 0):
        """Linear memory as a float64 array, rebuilt only when the memory has grown; one that
        already covers the first ``need`` bytes is returned as it is (the memory never moves
        nor shrinks, so an older view stays valid over its range: no call to ask the size)."""
        import numpy as np

        if need and self._view is not None and self._view_size >= need:
            return self._view
        size = self.memory.data_len(self.store)
        if self._view is None or self._view_size != size:
            base = ctypes.cast(self.memory.data_ptr(self.store), ctypes.c_void_p).value
            buf = (ctypes.c_double * (size // 8)).from_address(base)
            self._view = np.frombuffer(buf, dtype=np.float64)
            self._view_size = size
        return self._view

    def fail(self, exc, interrupted: bool = False) -> BaseException:
        """The exception for a trap; the instance is dropped (the next call gets a new one)."""
        self.dead = True
        code = self.error_code.value(self.store)
        if interrupted or code == 4 or self.flag.value:  # (a loop saw the flag: it traps)
            return KeyboardInterrupt()
        if code == 1:
            return S2SADError("the Wasm tape is exhausted: linear memory could not grow "
                              f"(the limit is {_limit_words()})",
                              hint="the Python backend's tape is only limited by RAM")
        if code == 2:
            site = self.exports["error_site"].value(self.store) if "error_site" in \
                self.exports else 0
            where = self.sites[site - 1] if 0 < site <= len(self.sites) else (None, None, None)
            return S2SADError("index out of range in an array access (Wasm backend)", *where,
                              hint="the Python backend raises IndexError here")
        if code == 3:
            return AssertionError()
        if code == 5:
            site = self.exports["error_site"].value(self.store)
            where = self.sites[site - 1] if 0 < site <= len(self.sites) else (None, None, None)
            return S2SADError("the checkpointed loop's memory budget or snapshot count leaves "
                              "no room for one snapshot of its state and the tape of one "
                              "iteration (Wasm backend)", *where,
                              hint="give a larger memory= or snapshots= of 1 or more")
        if code == 6:
            from .wasm_math import REDUCTION_MESSAGE

            return S2SADError(REDUCTION_MESSAGE, hint="the Python backend computes it")
        return S2SADError(f"the Wasm module trapped: {exc}")

    def caller(self, export: str, param_types: list[str], result_types: list[str],
               tail=(), inputs: Callable[[], tuple] | None = None,
               input_types: list[str] = ()) -> Callable:
        """A fast function ``call(*raw_args) -> tuple`` for one export: the function type
        is resolved once, and the argument buffer is reused, through wasmtime's unchecked
        call; it falls back to the public ``Func.__call__`` where that binding is missing.
        Arguments left out are taken from ``tail``; the values ``inputs()`` returns (the
        user's global numbers, read at each call) follow the arguments."""
        func = self.exports[export]
        try:
            return fast_caller(self, func, param_types, result_types, tail, inputs,
                               input_types)
        except Exception:  # the low-level binding moved: the public path still works
            return _public_caller(self, func, param_types, tail, inputs)


def _limit_words() -> str:
    if memory_limit is None:
        return "4 GiB, the address space of a 32-bit module"
    return f"s2sad.wasm_runtime.memory_limit = {memory_limit} bytes"


def _public_caller(inst: Instance, func, param_types, tail, inputs) -> Callable:
    store = inst.store
    wasmtime = wasmtime_module()

    def slow(*args):
        missing = len(param_types) - len(args)
        if missing > 0:
            args = args + tuple(tail[len(tail) - missing:])
        if inputs is not None:
            args = args + inputs()
        if inst.main and inst.interrupts != _INTERRUPTS[0]:
            inst.rearm()
        try:
            out = func(store, *args)
        except wasmtime.Trap as exc:
            raise inst.fail(exc) from None
        except KeyboardInterrupt:
            inst.dead = True
            raise
        return tuple(out) if isinstance(out, list) else (out,)

    return slow


def _slots_format(types_, stride: int, i32: str = "i") -> struct.Struct:
    """The layout of values of ``types_`` in wasmtime's array of raw values (one slot of
    ``stride`` bytes each, the value at its start), for one ``pack_into``/``unpack_from``;
    ``i32="q"`` writes an i32 in eight bytes (an address up to 4 GiB, as the i64 view did)."""
    codes = {F64: ("d", 8), I64: ("q", 8), I32: (i32, struct.calcsize(i32))}
    return struct.Struct("<" + "".join(f"{codes[t][0]}{stride - codes[t][1]}x"
                                       for t in types_))


def fast_caller(inst: Instance, func, param_types, result_types, tail=(), inputs=None,
                input_types=()) -> Callable:
    from wasmtime import _bindings as ffi

    raw_call = ffi._wasmtime_func_call_unchecked
    n = max(len(param_types) + len(input_types), len(result_types), 1)
    buf = (ffi.wasmtime_val_raw * n)()
    size = ctypes.sizeof(ffi.wasmtime_val_raw)
    stride = size // 8
    as_f64 = memoryview(buf).cast("B").cast("d")
    as_i64 = memoryview(buf).cast("B").cast("q")
    context = inst.store._context()
    func_ref = ctypes.byref(func._func)
    slot = [ctypes.POINTER(ffi.wasm_trap_t)()]  # where a trap is reported; renewed after one
    trap_ref = [ctypes.byref(slot[0])]
    setters = [(as_f64 if t == F64 else as_i64, k * stride, t)
               for k, t in enumerate(param_types)]
    # all the arguments in one call (struct's conversions are the loop's: a float for f64,
    # an integer for the others; what it refuses goes through the loop below)
    pack = _slots_format(list(param_types) + list(input_types), size, "q").pack_into
    unpack = _slots_format(result_types, size).unpack_from
    wasmtime = wasmtime_module()
    full = len(param_types)
    tail = tuple(tail)
    main = inst.main

    def fill(args) -> None:
        """The slow way of setting arguments: each converted, its error reported."""
        try:
            for (view, k, t), a in zip(setters, args):
                view[k] = a if t != I32 else int(a)
        except (TypeError, ValueError, OverflowError):
            raise _bad_argument(args, param_types) from None
        if inputs is not None:
            values = args[full:]
            try:
                for k, (t, a) in enumerate(zip(input_types, values)):
                    (as_f64 if t == F64 else as_i64)[(full + k) * stride] = \
                        a if t != I32 else int(a)
            except (TypeError, ValueError, OverflowError):
                raise S2SADError("a global number the Wasm module reads no longer fits its "
                                 f"type ({', '.join(map(repr, values))})") from None

    def call(*args):
        if main and inst.interrupts != _INTERRUPTS[0]:
            inst.rearm()
        if len(args) < full:
            args = args + tail[len(tail) - (full - len(args)):]
        if inputs is not None:
            args = args + inputs()
        try:
            pack(buf, 0, *args)
        except (TypeError, struct.error):
            if len(args) > full + len(input_types):
                raise _bad_argument(args, param_types) from None
            fill(args)
        try:
            error = raw_call(context, func_ref, buf, n, trap_ref[0])
            if error or slot[0]:
                if slot[0]:
                    exc = wasmtime.Trap._from_ptr(slot[0])  # takes ownership of the trap
                    slot[0] = ctypes.POINTER(ffi.wasm_trap_t)()
                    trap_ref[0] = ctypes.byref(slot[0])
                else:
                    exc = wasmtime.WasmtimeError._from_ptr(error)
                raise inst.fail(exc)
        except KeyboardInterrupt:  # (Ctrl-C: the instance is left as the trap found it)
            inst.dead = True
            raise
        return unpack(buf)

    return call


def _bad_argument(args, param_types) -> S2SADError:
    for k, (a, t) in enumerate(zip(args, param_types)):
        try:
            if t == F64:
                float(a)
            elif not -2 ** 63 <= int(a) < 2 ** 63:
                raise OverflowError
        except (TypeError, ValueError, OverflowError):
            what = "an integer of more than 64 bits" if isinstance(a, int) else \
                f"a {type(a).__name__}"
            return S2SADError(f"argument {k + 1} ({a!r:.40}) is {what}: the Wasm module takes "
                              f"{'a float' if t == F64 else 'a 64-bit integer'} there",
                              hint="the Python backend takes any Python number")
    return S2SADError("an argument does not fit the Wasm module's parameter types")
