"""Module-level functions for the process-pool and Dask tests (worker processes import it)."""

import math
import os


def pendulum(theta0, length=1.0):
    g = 9.81
    theta = theta0
    omega = 0.0
    t = 0.0
    dt = 0.01
    while t < 1.0:
        omega = omega - g / length * math.sin(theta) * dt
        theta = theta + omega * dt
        t = t + dt
    return theta


def call_in_worker(g, x):
    """``g(x)``, the worker's pid and the identity of the gradient object it rebuilt."""
    return g(x), os.getpid(), id(g)
