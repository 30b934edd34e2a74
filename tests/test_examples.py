"""The example programs run, and their gradients match finite differences."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import s2sad
from s2sad.testing import numerical_grad

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))

import billiards  # noqa: E402
import difftaichi_billiards  # noqa: E402
import gmm  # noqa: E402
import mlp  # noqa: E402
import newton  # noqa: E402
import pendulum  # noqa: E402
import piecewise  # noqa: E402
import springs  # noqa: E402


def check(f, args, wrt, rtol=1e-6, atol=1e-6):
    got = s2sad.grad(f, wrt=wrt)(*args)
    got = got if isinstance(wrt, tuple) else (got,)
    for p, g in zip(wrt if isinstance(wrt, tuple) else (wrt,), got):
        want = numerical_grad(f, args, p)
        np.testing.assert_allclose(np.ravel(g), want, rtol=rtol, atol=atol)


def test_scalar_examples():
    check(pendulum.pendulum, (0.7, 1.3), (0, 1))
    check(newton.cubic_root, (1.7,), 0)
    check(piecewise.piecewise_cost, (0.33, 1.7), (0, 1))


@pytest.mark.parametrize("d,k,n", [(2, 3, 30), (3, 4, 25)])
def test_gmm_objective_gradient(d, k, n):
    problem = gmm.make_problem(d, k, n, seed=d)
    check(gmm.gmm_objective, problem, (0, 1, 2), rtol=1e-5, atol=1e-5)


def test_mlp_gradient_and_training():
    x, labels = mlp.spirals(40)
    params = mlp.init(hidden=6)
    check(mlp.mlp_loss, (*params, x, labels), (0, 1, 2, 3), rtol=1e-5, atol=1e-7)
    _, losses = mlp.train(steps=80)
    assert losses[-1] < 0.8 * losses[0]


def test_springs_gradient():
    rng = np.random.default_rng(3)
    check(springs.simulate, (rng.uniform(1, 3, 4), rng.normal(size=5)), (0, 1),
          rtol=1e-5, atol=1e-6)


def test_element_wise_loops():
    # written element by element: the spring chain and the billiards shot (away from the
    # kinks where a collision starts or stops)
    check(springs.chain, (1.5, np.linspace(0.0, 1.0, 30) ** 2), (0, 1), rtol=1e-6, atol=1e-8)
    check(billiards.shoot, (2.0, 0.05, billiards.rack()), (0, 1), rtol=1e-5, atol=1e-8)
    check(billiards.shoot, (1.5, 0.02, billiards.rack()), (0, 1), rtol=1e-5, atol=1e-8)


def test_difftaichi_billiards_on_both_backends():
    # DiffTaichi's algorithm (impulses from the previous step, a time-of-impact correction):
    # a hard shot, so that the balls collide within the 200 steps; Wasm as Python, Python
    # as central differences
    shot = (0.1, 0.5, 1.5, 0.05, difftaichi_billiards.rack(), 200)
    check(difftaichi_billiards.loss, shot, (0, 1, 2, 3), rtol=1e-5, atol=1e-8)
    python = s2sad.value_and_grad(difftaichi_billiards.loss, wrt=(0, 1, 2, 3))(*shot)
    wasm = s2sad.value_and_grad(difftaichi_billiards.loss, wrt=(0, 1, 2, 3),
                                backend="wasm")(*shot)
    assert wasm[0] == pytest.approx(python[0], rel=1e-12)
    np.testing.assert_allclose(wasm[1], python[1], rtol=1e-9)


def test_difftaichi_mass_spring_on_both_backends():
    # the controller's gradient (whole-array NumPy in a loop, written into each step's row)
    # over 120 steps -- the robot touches the ground: Wasm as Python, both as differences
    import difftaichi_mass_spring as M

    x0, y0, springs = M.robot_a()
    params = M.controller(len(x0), len(springs))
    args = (*params, x0, y0, springs, 120)
    python = s2sad.value_and_grad(M.simulate, wrt=(0, 1, 2, 3))(*args)
    wasm = s2sad.value_and_grad(M.simulate, wrt=(0, 1, 2, 3), backend="wasm")(*args)
    assert wasm[0] == pytest.approx(python[0], rel=1e-12)
    for w, p in zip(wasm[1], python[1]):
        np.testing.assert_allclose(w, p, rtol=1e-9, atol=1e-12)
    rng = np.random.default_rng(0)
    h = 1e-6
    for k in range(4):
        d = rng.normal(size=params[k].shape)
        up, down = list(args), list(args)
        up[k], down[k] = params[k] + h * d, params[k] - h * d
        fd = (M.simulate(*up) - M.simulate(*down)) / (2 * h)
        assert np.sum(wasm[1][k] * d) == pytest.approx(fd, rel=1e-5, abs=1e-8)


@pytest.mark.parametrize("script", ["pendulum", "newton", "piecewise", "gmm", "springs",
                                    "tour", "many_gradients", "billiards",
                                    "difftaichi_billiards", "numpy_on_wasm",
                                    "difftaichi_mass_spring"])
def test_example_runs(script):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, str(ROOT / "examples" / f"{script}.py")],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip()


@pytest.mark.parametrize("d,k", [(2, 5), (10, 25)])
def test_gmm_at_the_adbench_sizes(d, k):
    """The benchmark sizes (n=1000): the gradient against a central difference along random
    directions (all 1,650 parameters at d=10 K=25 at once)."""
    alphas, means, icf, x, gamma, m = gmm.make_problem(d, k, 1000, seed=1)
    ga, gm, gi = s2sad.grad(gmm.gmm_objective, wrt=(0, 1, 2))(alphas, means, icf, x, gamma, m)
    rng = np.random.default_rng(2)
    for _ in range(3):
        va, vm, vi = (rng.normal(size=a.shape) for a in (alphas, means, icf))
        h = 1e-6

        def along(t):
            return gmm.gmm_objective(alphas + t * va, means + t * vm, icf + t * vi, x, gamma, m)

        fd = (along(h) - along(-h)) / (2 * h)
        analytic = np.sum(ga * va) + np.sum(gm * vm) + np.sum(gi * vi)
        assert analytic == pytest.approx(fd, rel=1e-6)
