"""Billiards, after DiffTaichi's example: a cue ball shot into a triangle of balls; how does
where the last ball ends up depend on the shot?  Positions and velocities are arrays updated
element by element in time steps, with elastic collisions (an ``if`` per pair) -- the way
simulation code is written -- and s2sad's gradient reads like the loop run backwards."""

import math

import numpy as np

import s2sad


def rack(n_rows=3, radius=0.03):
    """The cue ball at the origin and a triangle of balls to its right."""
    positions = [(0.0, 0.0)]
    for row in range(n_rows):
        for k in range(row + 1):
            positions.append((0.5 + row * radius * 1.8, (k - row / 2) * radius * 2.1))
    return np.array(positions)


def shoot(vx, vy, x0, steps=600, dt=0.002, radius=0.03, target_x=0.9, target_y=0.1):
    """Squared distance between the last ball's final position and a target, after a shot
    of velocity (vx, vy) from the rack ``x0`` (n x 2)."""
    n = x0.shape[0]
    x = x0.copy()
    v = np.zeros((n, 2))
    v[0, 0] = vx
    v[0, 1] = vy
    for _ in range(steps):
        for i in range(n):
            for j in range(i + 1, n):
                dx = x[j, 0] - x[i, 0]
                dy = x[j, 1] - x[i, 1]
                d2 = dx * dx + dy * dy
                if d2 < 4.0 * radius * radius:
                    d = math.sqrt(d2)
                    nx = dx / d
                    ny = dy / d
                    rel = (v[i, 0] - v[j, 0]) * nx + (v[i, 1] - v[j, 1]) * ny
                    if rel > 0.0:
                        v[i, 0] = v[i, 0] - rel * nx
                        v[i, 1] = v[i, 1] - rel * ny
                        v[j, 0] = v[j, 0] + rel * nx
                        v[j, 1] = v[j, 1] + rel * ny
        for i in range(n):
            x[i, 0] = x[i, 0] + dt * v[i, 0]
            x[i, 1] = x[i, 1] + dt * v[i, 1]
    ex = x[n - 1, 0] - target_x
    ey = x[n - 1, 1] - target_y
    return ex * ex + ey * ey


if __name__ == "__main__":
    x0 = rack()
    dshoot = s2sad.grad(shoot, wrt=("vx", "vy"), verbose=True)
    vx, vy = 2.0, 0.05
    for step in range(8):  # gradient descent on the shot
        loss = shoot(vx, vy, x0)
        gx, gy = dshoot(vx, vy, x0)
        print(f"step {step}: shot ({vx:.4f}, {vy:.4f}), loss {loss:.6f}, "
              f"gradient ({gx:+.5f}, {gy:+.5f})")
        vx, vy = vx - 0.004 * gx, vy - 0.004 * gy
