"""Many gradients at once: ``python -m bench.scale``.

200 gradients of the pendulum example (``examples/pendulum.py``, 1,000 steps: a task of about
a millisecond) and of the same pendulum over 40 seconds (40,000 steps: a task of over 10 ms),
measured side by side in one run: serially, with a ``ProcessPoolExecutor`` of 2 processes
(spawn) and on a Dask ``LocalCluster`` of 2 worker processes (if the ``dask`` extra is
installed; also as 8 tasks of 25 gradients each).  Each parallel figure is the second
``map`` over a started pool (the first pays the workers' start and their one
transformation, reported apart as the first-call cost).
"""

from __future__ import annotations

import math
import multiprocessing
import pickle
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))

from pendulum import pendulum  # noqa: E402

import s2sad  # noqa: E402

N = 200


def long_pendulum(theta0, length=1.0):
    g = 9.81
    theta = theta0
    omega = 0.0
    t = 0.0
    dt = 0.001
    while t < 40.0:
        omega = omega - g / length * math.sin(theta) * dt
        theta = theta + omega * dt
        t = t + dt
    return theta


def first_call(data: bytes, x: float) -> float:
    """In a worker that has not seen the gradient: seconds to unpickle (rebuild: parse and
    transform) and call it once."""
    t0 = time.perf_counter()
    g = pickle.loads(data)
    g(x)
    return time.perf_counter() - t0


def batch(g, xs: list) -> list:
    """Gradients at several inputs in one task (fewer, longer tasks for the scheduler)."""
    return [g(x) for x in xs]


def timed(run) -> float:
    t0 = time.perf_counter()
    run()
    return time.perf_counter() - t0


def main() -> None:
    xs = [0.1 + 0.4 * k / N for k in range(N)]
    try:
        import distributed
    except ImportError:
        distributed = None
        print("(dask is not installed: pip install -e '.[dask]' for the cluster column)")
    print("| task | serial | 2 processes (speedup) | Dask, 2 workers (speedup) | Dask, 8 "
          "tasks of 25 | first call in a new worker |")
    print("|---|---|---|---|---|---|")
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        cluster = client = None
        if distributed is not None:
            cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                               processes=True, dashboard_address=None)
            client = distributed.Client(cluster)
        try:
            for name, f in (("pendulum, 1 s", pendulum), ("pendulum, 40 s", long_pendulum)):
                g = s2sad.grad(f, wrt=(0, 1))
                serial = timed(lambda: [g(x) for x in xs])
                chunk = max(1, N // 16)
                list(pool.map(g, xs, chunksize=chunk))  # (workers started, transformed)
                procs = timed(lambda: list(pool.map(g, xs, chunksize=chunk)))
                cold = pool.submit(first_call, pickle.dumps(s2sad.grad(f, wrt=1)), 0.3).result()
                cell = batched = "-"
                if client is not None:
                    client.gather(client.map(g, xs))
                    dask = timed(lambda: client.gather(client.map(g, xs, pure=False)))
                    cell = f"{dask * 1e3:,.0f} ms ({serial / dask:.2f}x)"
                    chunks = [xs[k:k + N // 8] for k in range(0, N, N // 8)]
                    dask8 = timed(lambda: client.gather(
                        client.map(batch, [g] * len(chunks), chunks, pure=False)))
                    batched = f"{dask8 * 1e3:,.0f} ms ({serial / dask8:.2f}x)"
                print(f"| {N} x {name} | {serial * 1e3:,.0f} ms | {procs * 1e3:,.0f} ms "
                      f"({serial / procs:.2f}x) | {cell} | {batched} | {cold * 1e3:,.0f} ms |")
        finally:
            if client is not None:
                client.close()
                cluster.close()


if __name__ == "__main__":
    main()
