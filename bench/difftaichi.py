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
    print("| | ms | vs s2sad Wasm gradient |")
    print("|---|---|---|")
    ours_time = rows[1][1]
    for label, seconds in rows:
        print(f"| {label} | {seconds * 1e3:.2f} | {seconds / ours_time:.1f}x |")


if __name__ == "__main__":
    main()
