"""One Wasm gradient called from many threads at once (run as a script, in a subprocess, so
that an abort of the process fails the test instead of killing the run).

    python tests/wasm_threads.py THREADS CALLS

checks every result against the Python backend's gradient at the same point and prints
``calls=N wrong=N errors=N``; exit status 0 only if nothing was wrong.
"""

import math
import sys
import threading

import numpy as np

import s2sad


def f(x, y):
    s = 0.0
    for i in range(40):
        if x * i > y:
            s = s + math.sin(x * i) * y
        else:
            s = s - math.cos(y * i) * x
    k = 0
    while s > 1.0 and k < 30:  # a tape that grows with the input
        s = s * 0.5
        k = k + 1
    return s


def h(a, x):
    s = 0.0
    for i in range(a.shape[0]):
        s = s + a[i] * math.sin(a[i] * x)
    return s


def main(threads: int, calls: int) -> int:
    g = s2sad.grad(f, wrt=(0, 1), backend="wasm")
    ga = s2sad.grad(h, wrt=(0, 1), backend="wasm")
    ref = s2sad.grad(f, wrt=(0, 1))
    ref_a = s2sad.grad(h, wrt=(0, 1))
    rng = np.random.default_rng(0)
    points = [(float(a), float(b)) for a, b in rng.uniform(-3, 3, size=(64, 2))]
    expected = [ref(*p) for p in points]
    arrays = [rng.normal(size=n) for n in (3, 17, 40)]
    expected_a = [ref_a(a, 0.3) for a in arrays]
    wrong, errors = [0], [0]
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def close(u, v):
        return math.isclose(u, v, rel_tol=1e-12, abs_tol=1e-12)

    def work(seed):
        start.wait()
        bad = err = 0
        for k in range(calls):
            j = (seed * 7919 + k) % len(points)
            try:
                if k % 10 == 9:  # every tenth call: arrays through linear memory
                    m = (seed + k) % len(arrays)
                    ga_, gx = ga(arrays[m], 0.3)
                    ea, ex = expected_a[m]
                    if not (np.allclose(ga_, ea, rtol=1e-12, atol=1e-12) and close(gx, ex)):
                        bad += 1
                else:
                    out = g(*points[j])
                    if not all(close(u, v) for u, v in zip(out, expected[j])):
                        bad += 1
            except Exception as exc:  # noqa: BLE001 - counted and shown
                err += 1
                if err == 1:
                    print("error:", type(exc).__name__, exc, file=sys.stderr)
        with lock:
            wrong[0] += bad
            errors[0] += err

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    print(f"calls={threads * calls} wrong={wrong[0]} errors={errors[0]}")
    return 0 if wrong[0] == 0 and errors[0] == 0 else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2])))
