"""Wasm gradients under threads: ``python -m bench.threads``.

The runtime gives each thread its own instance of a module (wasm_runtime.py).  The other
design is one instance behind a lock.  Measured side by side in one run, for a cheap
function (the call overhead dominates) and a loop of 2,000 iterations (the Wasm code
dominates; wasmtime releases the GIL while it runs), at 1 and 8 threads: calls per second
of the whole process, per-thread instances / one locked instance.  Both call the module's
raw entry (the ``grad`` wrapper's argument binding and guard are the same for both designs
and left out).
"""

from __future__ import annotations

import math
import threading
import time

from s2sad import wasm


def cheap(x):
    return math.sin(x) * x


def loop(x):
    s = 0.0
    for i in range(2000):
        s = s + math.sin(x * i) * x
    return s


def throughput(call, threads: int, calls: int) -> float:
    start = threading.Barrier(threads + 1)

    def work():
        start.wait()
        for _ in range(calls):
            call(0.3)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in pool:
        t.join()
    return threads * calls / (time.perf_counter() - t0)


def _spec(f):
    g = wasm.grad(f)
    g(0.3)
    return next(iter(g.specialized.values()))


def per_thread(f):
    """Each thread calls its own instance (what the runtime does)."""
    spec = _spec(f)

    def own_call(x):
        return spec.runner().call_grad(x)

    return own_call


def locked(f):
    """One instance (the main thread's) shared by every thread through a lock."""
    call = _spec(f).runner().call_grad
    lock = threading.Lock()

    def locked_call(x):
        with lock:
            return call(x)

    return locked_call


def main() -> None:
    print("| function | threads | per-thread instances (calls/s) | one locked instance "
          "(calls/s) | ratio |")
    print("|---|---|---|---|---|")
    for f, calls in ((cheap, 20000), (loop, 400)):
        own, lk = per_thread(f), locked(f)
        for threads in (1, 8):
            best_own = max(throughput(own, threads, calls // threads) for _ in range(3))
            best_lock = max(throughput(lk, threads, calls // threads) for _ in range(3))
            print(f"| {f.__name__} | {threads} | {best_own:,.0f} | {best_lock:,.0f} | "
                  f"{best_own / best_lock:.2f} |")


if __name__ == "__main__":
    main()
