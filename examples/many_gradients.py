"""Gradients at many inputs on several processes: a process pool, and a Dask cluster.

The gradient object pickles as the function it was built from; each worker transforms it
once, on its first task.  (Dask: pip install -e '.[dask]'.)
"""

from concurrent.futures import ProcessPoolExecutor

from pendulum import pendulum

import s2sad

if __name__ == "__main__":
    dpendulum = s2sad.grad(pendulum, wrt=("theta0", "length"))
    starts = [0.1 + 0.01 * k for k in range(100)]
    with ProcessPoolExecutor(max_workers=2) as pool:
        grads = list(pool.map(dpendulum, starts, chunksize=25))
    assert grads == [dpendulum(x) for x in starts]
    print(f"process pool: {len(grads)} gradients, d/dtheta0 at {starts[0]}: {grads[0][0]:+.6f}")
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        print("dask is not installed: pip install -e '.[dask]'")
    else:
        with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            grads = client.gather(client.map(dpendulum, starts))
        assert grads == [dpendulum(x) for x in starts]
        print(f"dask cluster: {len(grads)} gradients, the same")
