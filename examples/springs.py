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


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    stiffness = rng.uniform(1.0, 3.0, size=4)
    v0 = rng.normal(size=5)
    d_stiffness, d_v0 = s2sad.grad(simulate, wrt=(0, 1))(stiffness, v0)
    print(f"energy after 200 steps: {simulate(stiffness, v0):.6f}")
    print("d/d stiffness:", np.round(d_stiffness, 6))
    print("d/d v0:       ", np.round(d_v0, 6))
