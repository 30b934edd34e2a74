"""DiffTaichi's mass-spring robot (its examples/mass_spring.py, robot A, the time-of-impact
ground contact it trains with), as plain Python and NumPy, differentiated by s2sad and run on
the Wasm backend.

Six masses joined by eleven springs; a two-layer controller (sine waves of time and the
masses' offsets and velocities in, tanh units, one actuation per spring out) lengthens and
shortens the springs; the loss is how far left the head ends up after 682 steps, and the
gradient is taken with respect to the controller's weights.  DiffTaichi keeps every step's
state in fields indexed by time; so does this program, in arrays made at the start.  Run it
to train the controller a few steps (``python examples/difftaichi_mass_spring.py``).
"""

import math

import numpy as np

import s2sad

STEPS = 2048 // 3
DT = 0.004
N_SIN_WAVES = 10
N_HIDDEN = 32
SPRING_OMEGA = 10.0
DAMPING = 15.0
GRAVITY = -4.8
GROUND = 0.1
GOAL_X, GOAL_Y = 0.9, 0.2
HEAD = 0


def robot_a():
    """DiffTaichi's robot A: the masses' positions and the springs (a, b, rest length,
    stiffness, actuation), as arrays."""
    objects = [(0.2, 0.1), (0.3, 0.13), (0.4, 0.1), (0.2, 0.2), (0.3, 0.2), (0.4, 0.2)]
    links = [(0, 1), (1, 2), (3, 4), (4, 5), (0, 3), (2, 5), (0, 4), (1, 4), (2, 4), (3, 1),
             (5, 1)]
    springs = np.array([[a, b, math.dist(objects[a], objects[b]), 14000.0, 0.1]
                        for a, b in links])
    xy = np.array(objects)
    return xy[:, 0].copy(), xy[:, 1].copy(), springs


def simulate(weights1, bias1, weights2, bias2, x0, y0, springs, steps):
    """The loss after ``steps`` steps: minus the head's final x."""
    n = x0.shape[0]
    n_springs = springs.shape[0]
    x = np.zeros((steps, n))
    y = np.zeros((steps, n))
    vx = np.zeros((steps, n))
    vy = np.zeros((steps, n))
    vinc_x = np.zeros((steps, n))
    vinc_y = np.zeros((steps, n))
    inputs = np.zeros((steps, N_SIN_WAVES + 4 * n + 2))
    hidden = np.zeros((steps, N_HIDDEN))
    act = np.zeros((steps, n_springs))
    x[0] = x0
    y[0] = y0
    damping = math.exp(-DT * DAMPING)
    for t in range(1, steps):
        # the controller sees the time and the masses relative to their center
        cx = np.mean(x[t - 1])
        cy = np.mean(y[t - 1])
        for j in range(N_SIN_WAVES):
            inputs[t - 1, j] = math.sin(SPRING_OMEGA * (t - 1) * DT +
                                        2 * math.pi / N_SIN_WAVES * j)
        for j in range(n):
            inputs[t - 1, N_SIN_WAVES + 4 * j] = (x[t - 1, j] - cx) * 0.05
            inputs[t - 1, N_SIN_WAVES + 4 * j + 1] = (y[t - 1, j] - cy) * 0.05
            inputs[t - 1, N_SIN_WAVES + 4 * j + 2] = vx[t - 1, j] * 0.05
            inputs[t - 1, N_SIN_WAVES + 4 * j + 3] = vy[t - 1, j] * 0.05
        inputs[t - 1, N_SIN_WAVES + 4 * n] = GOAL_X - cx
        inputs[t - 1, N_SIN_WAVES + 4 * n + 1] = GOAL_Y - cy
        hidden[t - 1] = np.tanh(weights1 @ inputs[t - 1] + bias1)
        act[t - 1] = np.tanh(weights2 @ hidden[t - 1] + bias2)
        # the springs push their ends apart or together
        for i in range(n_springs):
            a = int(springs[i, 0])
            b = int(springs[i, 1])
            dx = x[t - 1, a] - x[t - 1, b]
            dy = y[t - 1, a] - y[t - 1, b]
            length = math.sqrt(dx * dx + dy * dy) + 1e-4
            target = springs[i, 2] * (1.0 + springs[i, 4] * act[t - 1, i])
            impulse = DT * (length - target) * springs[i, 3] / length
            vinc_x[t, a] -= impulse * dx
            vinc_y[t, a] -= impulse * dy
            vinc_x[t, b] += impulse * dx
            vinc_y[t, b] += impulse * dy
        # the masses move; one that would go through the ground stops where it meets it
        for i in range(n):
            old_vx = damping * vx[t - 1, i] + vinc_x[t, i]
            old_vy = damping * vy[t - 1, i] + DT * GRAVITY + vinc_y[t, i]
            old_x = x[t - 1, i]
            old_y = y[t - 1, i]
            toi = 0.0
            new_vx = old_vx
            new_vy = old_vy
            if old_y + DT * old_vy < GROUND and old_vy < -1e-4:
                toi = -(old_y - GROUND) / old_vy
                new_vx = 0.0
                new_vy = 0.0
            x[t, i] = old_x + toi * old_vx + (DT - toi) * new_vx
            y[t, i] = old_y + toi * old_vy + (DT - toi) * new_vy
            vx[t, i] = new_vx
            vy[t, i] = new_vy
    return -x[steps - 1, HEAD]


def controller(n_objects, n_springs, seed=0):
    """DiffTaichi's initial weights (scaled normal; zero biases)."""
    rng = np.random.default_rng(seed)
    n_inputs = N_SIN_WAVES + 4 * n_objects + 2
    weights1 = rng.normal(size=(N_HIDDEN, n_inputs)) * math.sqrt(2 / (N_HIDDEN + n_inputs)) * 2
    weights2 = rng.normal(size=(n_springs, N_HIDDEN)) * math.sqrt(2 / (N_HIDDEN + n_springs)) * 3
    return [weights1, np.zeros(N_HIDDEN), weights2, np.zeros(n_springs)]


def train(iterations=5, steps=STEPS):
    """DiffTaichi's loop: a step of 0.2 along the normalized gradient."""
    x0, y0, springs = robot_a()
    params = controller(len(x0), len(springs))
    value_and_grad = s2sad.value_and_grad(simulate, wrt=(0, 1, 2, 3), backend="wasm")
    losses = []
    for _ in range(iterations):
        loss, grads = value_and_grad(*params, x0, y0, springs, steps)
        norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
        params = [p - 0.2 / (norm + 1e-6) * g for p, g in zip(params, grads)]
        losses.append(loss)
    return losses


if __name__ == "__main__":
    for k, loss in enumerate(train()):
        print(f"iteration {k}: loss {loss:.5f}")
