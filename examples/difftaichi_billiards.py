"""DiffTaichi's billiards, the same algorithm written as plain Python (its ``examples/
billiards.py``: 11 balls, 1,023 steps of 0.003, elastic collisions with elasticity 0.8 computed
from the previous step's state and a time-of-impact correction): the squared distance of the
last ball from a goal, as a function of the cue ball's initial position and velocity.
``bench/difftaichi.py`` times its gradient on s2sad's Wasm backend against DiffTaichi's own
(``ti.ad.Tape``) when ``taichi`` is installed."""

import math

import numpy as np

import s2sad

LAYERS = 4
N_BALLS = 1 + (1 + LAYERS) * LAYERS // 2
RADIUS = 0.03
ELASTICITY = 0.8
DT = 0.003


def rack():
    """The balls' initial positions, the cue ball's (row 0) left for the shot."""
    x = np.zeros((N_BALLS, 2))
    count = 0
    for i in range(LAYERS):
        for j in range(i + 1):
            count += 1
            x[count, 0] = i * 2 * RADIUS + 0.5
            x[count, 1] = j * 2 * RADIUS + 0.5 - i * RADIUS * 0.7
    return x


def loss(x0, y0, vx, vy, balls, steps=1024, goal_x=0.9, goal_y=0.75):
    """The last ball's squared distance from the goal after ``steps - 1`` steps, the cue ball
    shot from (x0, y0) with velocity (vx, vy) into ``balls`` (``rack()``)."""
    n = balls.shape[0]
    x = balls.copy()
    v = np.zeros((n, 2))
    x[0, 0] = x0
    x[0, 1] = y0
    v[0, 0] = vx
    v[0, 1] = vy
    # (DiffTaichi's per-step impulse and position-correction fields, as two buffers made
    # once and cleared as they are consumed: the Wasm backend makes arrays at the start)
    impulse = np.zeros((n, 2))
    x_inc = np.zeros((n, 2))
    for _ in range(1, steps):
        for i in range(n):
            for j in range(n):
                if i != j:
                    dx = (x[i, 0] + DT * v[i, 0]) - (x[j, 0] + DT * v[j, 0])
                    dy = (x[i, 1] + DT * v[i, 1]) - (x[j, 1] + DT * v[j, 1])
                    norm = math.sqrt(dx * dx + dy * dy)
                    if norm < 2 * RADIUS:
                        inv = 1.0 / (norm + 1e-6)  # (Taichi's normalized(eps))
                        nx, ny = dx * inv, dy * inv
                        projected = nx * (v[i, 0] - v[j, 0]) + ny * (v[i, 1] - v[j, 1])
                        if projected < 0:
                            ix = -(1 + ELASTICITY) * 0.5 * projected * nx
                            iy = -(1 + ELASTICITY) * 0.5 * projected * ny
                            toi = (norm - 2 * RADIUS) / min(-1e-3, projected)
                            impulse[i, 0] += ix
                            impulse[i, 1] += iy
                            x_inc[i, 0] += min(toi - DT, 0) * ix
                            x_inc[i, 1] += min(toi - DT, 0) * iy
        for i in range(n):
            v[i, 0] = v[i, 0] + impulse[i, 0]
            v[i, 1] = v[i, 1] + impulse[i, 1]
            x[i, 0] = x[i, 0] + DT * v[i, 0] + x_inc[i, 0]
            x[i, 1] = x[i, 1] + DT * v[i, 1] + x_inc[i, 1]
            impulse[i, 0] = 0.0
            impulse[i, 1] = 0.0
            x_inc[i, 0] = 0.0
            x_inc[i, 1] = 0.0
    return (x[n - 1, 0] - goal_x) ** 2 + (x[n - 1, 1] - goal_y) ** 2


if __name__ == "__main__":
    balls = rack()
    dloss = s2sad.value_and_grad(loss, wrt=(0, 1, 2, 3), backend="wasm")
    shot = [0.1, 0.5, 0.3, 0.0]
    for step in range(5):  # DiffTaichi's optimization: plain gradient steps of 0.01
        value, grads = dloss(*shot, balls)
        print(f"step {step}: loss {value:.6f}, gradient {[f'{g:+.4f}' for g in grads]}")
        shot = [s - 0.01 * g for s, g in zip(shot, grads)]
