"""An unrolled physics simulation: a chain of masses and springs integrated with
semi-implicit Euler; the gradient of the final energy of the last mass with respect to the
stiffnesses and the initial velocities (arrays written element by element in the loop)."""

import numpy as np

import s2sad


def simulate(stiffness, v0, steps=200, dt=0.01):
    n = v0.shape[0]
    x = np.arange(n) * 1.0
    v = v0.copy()
    for _ in range(steps):
        force = np.zeros(n)
        stretch = x[1:] - x[:-1] - 1.0
        force[:-1] += stiffness * stretch
        force[1:] -= stiffness * stretch
        v = v + dt * force
        x = x + dt * v
    return 0.5 * v[-1] * v[-1] + np.sum((x[1:] - x[:-1] - 1.0) ** 2)


def chain(k, x0, steps=50, dt=0.01):
    """The same physics written element by element, the way simulation code often is: a
    chain of masses, each pulled by its neighbours with stiffness k; the final energy."""
    n = x0.shape[0]
    x = x0.copy()
    v = np.zeros(n)
    for _ in range(steps):
        for i in range(1, n - 1):
            f = k * (x[i + 1] - 2.0 * x[i] + x[i - 1])
            v[i] = v[i] + dt * f
        for i in range(n):
            x[i] = x[i] + dt * v[i]
    e = 0.0
    for i in range(n):
        e = e + x[i] * x[i]
    return e


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    stiffness = rng.uniform(1.0, 3.0, size=4)
    v0 = rng.normal(size=5)
    d_stiffness, d_v0 = s2sad.grad(simulate, wrt=(0, 1))(stiffness, v0)
    print(f"energy after 200 steps: {simulate(stiffness, v0):.6f}")
    print("d/d stiffness:", np.round(d_stiffness, 6))
    print("d/d v0:       ", np.round(d_v0, 6))
    x0 = np.linspace(0.0, 1.0, 30) ** 2
    d_k, d_x0 = s2sad.grad(chain, wrt=(0, 1), verbose=True)(1.5, x0)
    print(f"element-wise chain: d/dk {d_k:+.6f}, d/dx0[:3] {np.round(d_x0[:3], 6)}")
