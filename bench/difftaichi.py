"""DiffTaichi's billiards, side by side: ``python -m bench.difftaichi``.

The same algorithm twice: DiffTaichi's own program (its ``examples/billiards.py``: kernels over
Taichi fields, the gradient by ``ti.ad.Tape``; here in float64 on the CPU backend) and
``examples/difftaichi_billiards.py``, plain Python, differentiated by s2sad on the Wasm
backend.  Both give the loss and its gradient with respect to the cue ball's position and
velocity; they are checked to agree, then timed (best of repeats, after a warm-up that
compiles both).  Needs ``taichi`` (``pip install -e '.[difftaichi]'``; without it only
s2sad's side runs).
"""

# (no `from __future__ import annotations`: Taichi reads its kernels' annotations as objects)
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))


def taichi_billiards(steps: int):
    """DiffTaichi's program (float64): ``run(shot) -> (loss, gradient of the shot)``."""
    import difftaichi_billiards as B
    import taichi as ti

    ti.init(arch=ti.cpu, default_fp=ti.f64, flatten_if=True, log_level=ti.ERROR)
    n, radius, elasticity, dt = B.N_BALLS, B.RADIUS, B.ELASTICITY, B.DT
    vec = lambda: ti.Vector.field(2, dtype=ti.f64)  # noqa: E731
    x, x_inc, v, impulse, init_x, init_v = vec(), vec(), vec(), vec(), vec(), vec()
    loss = ti.field(dtype=ti.f64)
    ti.root.dense(ti.i, steps + 1).dense(ti.j, n).place(x, v, x_inc, impulse)
    ti.root.place(init_x, init_v)
    ti.root.place(loss)
    ti.root.lazy_grad()

    @ti.func
    def collide_pair(t, i, j):
        imp = ti.Vector([0.0, 0.0])
        x_inc_contrib = ti.Vector([0.0, 0.0])
        if i != j:
            dist = (x[t, i] + dt * v[t, i]) - (x[t, j] + dt * v[t, j])
            dist_norm = dist.norm()
            rela_v = v[t, i] - v[t, j]
            if dist_norm < 2 * radius:
                direction = ti.Vector.normalized(dist, 1e-6)
                projected_v = direction.dot(rela_v)
                if projected_v < 0:
                    imp = -(1 + elasticity) * 0.5 * projected_v * direction
                    toi = (dist_norm - 2 * radius) / ti.min(-1e-3, projected_v)
                    x_inc_contrib = ti.min(toi - dt, 0) * imp
        x_inc[t + 1, i] += x_inc_contrib
        impulse[t + 1, i] += imp

    @ti.kernel
    def collide(t: ti.i32):
        for i in range(n):
            for j in range(i):
                collide_pair(t, i, j)
        for i in range(n):
            for j in range(i + 1, n):
                collide_pair(t, i, j)

    @ti.kernel
    def advance(t: ti.i32):
        for i in range(n):
            v[t, i] = v[t - 1, i] + impulse[t, i]
            x[t, i] = x[t - 1, i] + dt * v[t, i] + x_inc[t, i]

    @ti.kernel
    def compute_loss(t: ti.i32):
        loss[None] = (x[t, n - 1][0] - 0.9) ** 2 + (x[t, n - 1][1] - 0.75) ** 2

    @ti.kernel
    def initialize():
        x[0, 0] = init_x[None]
        v[0, 0] = init_v[None]

    @ti.kernel
    def clear():
        for t, i in ti.ndrange(steps + 1, n):
            impulse[t, i] = ti.Vector([0.0, 0.0])
            x_inc[t, i] = ti.Vector([0.0, 0.0])

    balls = B.rack()

    def forward():
        initialize()
        for i in range(1, n):
            x[0, i] = balls[i].tolist()
        for t in range(1, steps):
            collide(t - 1)
            advance(t)
        compute_loss(steps - 1)

    def run(shot):
        init_x[None] = shot[:2]
        init_v[None] = shot[2:]
        clear()
        with ti.ad.Tape(loss):
            forward()
        return loss[None], [init_x.grad[None][0], init_x.grad[None][1], init_v.grad[None][0],
                            init_v.grad[None][1]]

    def primal(shot):
        init_x[None] = shot[:2]
        init_v[None] = shot[2:]
        clear()
        forward()
        return loss[None]

    return run, primal


def taichi_mass_spring(steps: int):
    """DiffTaichi's mass-spring robot (its examples/mass_spring.py: robot A, advance_toi),
    float64: ``run(params) -> (loss, gradients of weights1, bias1, weights2, bias2)``."""
    import difftaichi_mass_spring as M
    import taichi as ti

    x0, y0, springs_ = M.robot_a()
    n_objects, n_springs = len(x0), len(springs_)
    n_sin_waves, n_hidden, dt = M.N_SIN_WAVES, M.N_HIDDEN, M.DT
    n_inputs = n_sin_waves + 4 * n_objects + 2
    scalar = lambda: ti.field(dtype=ti.f64)  # noqa: E731
    vec = lambda: ti.Vector.field(2, dtype=ti.f64)  # noqa: E731
    loss, x, v, v_inc, goal, center = scalar(), vec(), vec(), vec(), vec(), vec()
    anchor_a, anchor_b = ti.field(ti.i32), ti.field(ti.i32)
    spring_length, spring_stiffness, spring_actuation = scalar(), scalar(), scalar()
    weights1, bias1, weights2, bias2, hidden, act = (scalar() for _ in range(6))
    ti.root.dense(ti.i, steps).dense(ti.j, n_objects).place(x, v, v_inc)
    ti.root.dense(ti.i, n_springs).place(anchor_a, anchor_b, spring_length,
                                         spring_stiffness, spring_actuation)
    ti.root.dense(ti.ij, (n_hidden, n_inputs)).place(weights1)
    ti.root.dense(ti.i, n_hidden).place(bias1)
    ti.root.dense(ti.ij, (n_springs, n_hidden)).place(weights2)
    ti.root.dense(ti.i, n_springs).place(bias2)
    ti.root.dense(ti.ij, (steps, n_hidden)).place(hidden)
    ti.root.dense(ti.ij, (steps, n_springs)).place(act)
    ti.root.dense(ti.i, steps).place(center)
    ti.root.place(loss, goal)
    ti.root.lazy_grad()
    omega, damping, gravity, ground = M.SPRING_OMEGA, M.DAMPING, M.GRAVITY, M.GROUND

    @ti.kernel
    def compute_center(t: ti.i32):
        for _ in range(1):
            c = ti.Vector([0.0, 0.0])
            for i in ti.static(range(n_objects)):
                c += x[t, i]
            center[t] = (1.0 / n_objects) * c

    @ti.kernel
    def nn1(t: ti.i32):
        for i in range(n_hidden):
            actuation = 0.0
            for j in ti.static(range(n_sin_waves)):
                actuation += weights1[i, j] * ti.sin(omega * t * dt +
                                                     2 * math.pi / n_sin_waves * j)
            for j in ti.static(range(n_objects)):
                offset = x[t, j] - center[t]
                actuation += weights1[i, j * 4 + n_sin_waves] * offset[0] * 0.05
                actuation += weights1[i, j * 4 + n_sin_waves + 1] * offset[1] * 0.05
                actuation += weights1[i, j * 4 + n_sin_waves + 2] * v[t, j][0] * 0.05
                actuation += weights1[i, j * 4 + n_sin_waves + 3] * v[t, j][1] * 0.05
            actuation += weights1[i, n_objects * 4 + n_sin_waves] * (goal[None][0] -
                                                                     center[t][0])
            actuation += weights1[i, n_objects * 4 + n_sin_waves + 1] * (goal[None][1] -
                                                                         center[t][1])
            actuation += bias1[i]
            hidden[t, i] = ti.tanh(actuation)

    @ti.kernel
    def nn2(t: ti.i32):
        for i in range(n_springs):
            actuation = 0.0
            for j in ti.static(range(n_hidden)):
                actuation += weights2[i, j] * hidden[t, j]
            actuation += bias2[i]
            act[t, i] = ti.tanh(actuation)

    @ti.kernel
    def apply_spring_force(t: ti.i32):
        for i in range(n_springs):
            a = anchor_a[i]
            b = anchor_b[i]
            dist = x[t, a] - x[t, b]
            length = dist.norm() + 1e-4
            target_length = spring_length[i] * (1.0 + spring_actuation[i] * act[t, i])
            impulse = dt * (length - target_length) * spring_stiffness[i] / length * dist
            ti.atomic_add(v_inc[t + 1, a], -impulse)
            ti.atomic_add(v_inc[t + 1, b], impulse)

    @ti.kernel
    def advance_toi(t: ti.i32):
        for i in range(n_objects):
            s = ti.exp(-dt * damping)
            old_v = s * v[t - 1, i] + dt * gravity * ti.Vector([0.0, 1.0]) + v_inc[t, i]
            old_x = x[t - 1, i]
            new_x = old_x + dt * old_v
            toi = 0.0
            new_v = old_v
            if new_x[1] < ground and old_v[1] < -1e-4:
                toi = -(old_x[1] - ground) / old_v[1]
                new_v = ti.Vector([0.0, 0.0])
            new_x = old_x + toi * old_v + (dt - toi) * new_v
            v[t, i] = new_v
            x[t, i] = new_x

    @ti.kernel
    def compute_loss(t: ti.i32):
        loss[None] = -x[t, M.HEAD][0]

    @ti.kernel
    def clear_states():
        for t in range(0, steps):
            for i in range(0, n_objects):
                v_inc[t, i] = ti.Vector([0.0, 0.0])

    for i in range(n_objects):
        x[0, i] = [x0[i], y0[i]]
    for i in range(n_springs):
        anchor_a[i], anchor_b[i] = int(springs_[i, 0]), int(springs_[i, 1])
        spring_length[i], spring_stiffness[i] = springs_[i, 2], springs_[i, 3]
        spring_actuation[i] = springs_[i, 4]
    goal[None] = [M.GOAL_X, M.GOAL_Y]

    def forward():
        for t in range(1, steps):
            compute_center(t - 1)
            nn1(t - 1)
            nn2(t - 1)
            apply_spring_force(t - 1)
            advance_toi(t)
        loss[None] = 0
        compute_loss(steps - 1)

    def load(params):
        w1, b1, w2, b2 = params
        weights1.from_numpy(w1)
        bias1.from_numpy(b1)
        weights2.from_numpy(w2)
        bias2.from_numpy(b2)

    def run(params):
        load(params)
        clear_states()
        with ti.ad.Tape(loss):
            forward()
        return loss[None], [weights1.grad.to_numpy(), bias1.grad.to_numpy(),
                            weights2.grad.to_numpy(), bias2.grad.to_numpy()]

    def primal(params):
        load(params)
        clear_states()
        forward()
        return loss[None]

    return run, primal


def best(fn, repeat=5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    import difftaichi_billiards as B

    import s2sad

    steps = 1024
    shot = [0.1, 0.5, 0.3, 0.0]
    balls = B.rack()
    ours = s2sad.value_and_grad(B.loss, wrt=(0, 1, 2, 3), backend="wasm")
    value, grads = ours(*shot, balls)
    rows = [("Python primal (the plain program)", best(lambda: B.loss(*shot, balls), 3)),
            ("s2sad Wasm loss + gradient", best(lambda: ours(*shot, balls), 20))]
    try:
        run, primal = taichi_billiards(steps)
        t_value, t_grads = run(shot)
        agree = abs(t_value - value) <= 1e-9 * max(1.0, abs(value)) and np.allclose(
            t_grads, grads, rtol=1e-6, atol=1e-9)
        rows += [("DiffTaichi primal (CPU, float64)", best(lambda: primal(shot), 5)),
                 ("DiffTaichi loss + gradient (ti.ad.Tape)", best(lambda: run(shot), 5))]
        note = "gradients agree" if agree else \
            f"DISAGREE: taichi {t_value} {t_grads} vs s2sad {value} {grads}"
    except ImportError:
        note = "taichi not installed: DiffTaichi not timed"
    print(f"DiffTaichi's billiards ({B.N_BALLS} balls, {steps - 1} steps), one run; {note}")
    _table(rows)
    mass_spring()


def _table(rows) -> None:
    print("| | ms | vs s2sad Wasm gradient |")
    print("|---|---|---|")
    ours_time = rows[1][1]
    for label, seconds in rows:
        print(f"| {label} | {seconds * 1e3:.2f} | {seconds / ours_time:.1f}x |")


def mass_spring() -> None:
    """The mass-spring robot side by side (taichi is initialized by the billiards first)."""
    import difftaichi_mass_spring as M

    import s2sad

    x0, y0, springs = M.robot_a()
    params = M.controller(len(x0), len(springs))
    steps = M.STEPS
    ours = s2sad.value_and_grad(M.simulate, wrt=(0, 1, 2, 3), backend="wasm")
    value, grads = ours(*params, x0, y0, springs, steps)
    rows = [("Python primal (the plain program)",
             best(lambda: M.simulate(*params, x0, y0, springs, steps), 3)),
            ("s2sad Wasm loss + gradient", best(lambda: ours(*params, x0, y0, springs, steps),
                                                10))]
    try:
        run, primal = taichi_mass_spring(steps)
        t_value, t_grads = run(params)
        agree = abs(t_value - value) <= 1e-9 * max(1.0, abs(value)) and all(
            np.allclose(t, g, rtol=1e-6, atol=1e-9) for t, g in zip(t_grads, grads))
        rows += [("DiffTaichi primal (CPU, float64)", best(lambda: primal(params), 5)),
                 ("DiffTaichi loss + gradient (ti.ad.Tape)", best(lambda: run(params), 5))]
        note = "gradients agree" if agree else \
            f"DISAGREE: taichi {t_value} vs s2sad {value}, max gradient difference " \
            f"{max(float(np.max(np.abs(t - g))) for t, g in zip(t_grads, grads))}"
    except ImportError:
        note = "taichi not installed: DiffTaichi not timed"
    print(f"\nDiffTaichi's mass-spring robot (robot A, {steps - 1} steps), one run; {note}")
    _table(rows)


if __name__ == "__main__":
    main()
