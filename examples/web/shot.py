"""The billiards shot of ../billiards.py, for the web page beside this file: the same
simulation, with one more argument, ``path``, that receives the balls' positions for drawing.

    s2sad-cli examples/web/shot.py:shoot --wrt vx,vy --emit js -o examples/web
"""

import math

import numpy as np


def shoot(vx, vy, x0, path, target_x, target_y, steps=600, dt=0.002, radius=0.03):
    """Squared distance between the last ball's final position and (target_x, target_y)
    after a shot of velocity (vx, vy) from the rack ``x0`` (n x 2); ``path`` (frames x 2n)
    gets the positions every ``steps // frames`` steps."""
    n = x0.shape[0]
    every = steps // path.shape[0]
    x = x0.copy()
    v = np.zeros((n, 2))
    v[0, 0] = vx
    v[0, 1] = vy
    for t in range(steps):
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
        if t % every == 0 and t // every < path.shape[0]:
            for i in range(n):
                path[t // every, 2 * i] = x[i, 0]
                path[t // every, 2 * i + 1] = x[i, 1]
    ex = x[n - 1, 0] - target_x
    ey = x[n - 1, 1] - target_y
    return ex * ex + ey * ey
