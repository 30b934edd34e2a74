"""The GradBench tool (python -m s2sad.gradbench): recorded protocol sessions replayed, the
outputs checked against values computed independently (closed forms, central differences)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from s2sad.gradbench.__main__ import serve

ROOT = Path(__file__).resolve().parent.parent


def session(*messages):
    lines = [json.dumps({"id": k, **m}) for k, m in enumerate(messages)]
    return [json.loads(r) for r in serve(lines)]


def test_protocol_rounds_and_unknown_modules():
    out = session({"kind": "start", "eval": "hello"}, {"kind": "define", "module": "hello"},
                  {"kind": "evaluate", "module": "hello", "function": "square", "input": 3.0},
                  {"kind": "evaluate", "module": "hello", "function": "double", "input": 9.0},
                  {"kind": "analysis", "of": 3, "valid": True},
                  {"kind": "define", "module": "nosuch"},
                  {"kind": "evaluate", "module": "kmeans", "function": "cost", "input": {}})
    assert out[0] == {"id": 0, "tool": "s2sad"}
    assert out[1]["success"] is True and out[1]["timings"][0]["name"] == "prepare"
    assert out[2]["output"] == 9.0 and out[3]["output"] == 18.0
    assert len(out[2]["timings"]) == 1 and out[2]["timings"][0]["name"] == "evaluate"
    assert out[4] == {"id": 4}
    assert out[5]["success"] is False and "no module 'nosuch'" in out[5]["error"]
    assert out[6]["success"] is False and "was not defined" in out[6]["error"]


def test_lse_against_the_softmax():
    rng = np.random.default_rng(0)
    x = rng.uniform(-100, 100, size=50)
    inp = {"x": x.tolist(), "min_runs": 3, "min_seconds": 0}
    out = session({"kind": "define", "module": "lse"},
                  {"kind": "evaluate", "module": "lse", "function": "primal", "input": inp},
                  {"kind": "evaluate", "module": "lse", "function": "gradient", "input": inp})
    m = np.max(x)
    assert out[1]["output"] == pytest.approx(m + np.log(np.sum(np.exp(x - m))), rel=1e-12)
    soft = np.exp(x - m) / np.sum(np.exp(x - m))
    np.testing.assert_allclose(out[2]["output"], soft, rtol=1e-10, atol=1e-15)
    assert len(out[1]["timings"]) == 3  # min_runs honoured


def test_llsq_against_central_differences():
    from s2sad.gradbench.llsq import llsq

    rng = np.random.default_rng(1)
    x = rng.random(8)
    inp = {"x": x.tolist(), "n": 33, "min_runs": 1, "min_seconds": 0}
    out = session({"kind": "define", "module": "llsq"},
                  {"kind": "evaluate", "module": "llsq", "function": "gradient", "input": inp})
    h = 1e-6
    fd = [(llsq(x + h * e, 33) - llsq(x - h * e, 33)) / (2 * h) for e in np.eye(8)]
    np.testing.assert_allclose(out[1]["output"], fd, rtol=1e-6, atol=1e-8)


def test_the_tool_runs_as_a_program():
    messages = [{"id": 0, "kind": "start"}, {"id": 1, "kind": "define", "module": "hello"},
                {"id": 2, "kind": "evaluate", "module": "hello", "function": "double",
                 "input": 2.5}]
    out = subprocess.run([sys.executable, "-m", "s2sad.gradbench"], input="\n".join(
        json.dumps(m) for m in messages) + "\n", capture_output=True, text=True, cwd=ROOT,
        timeout=120)
    assert out.returncode == 0, out.stderr
    responses = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["id"] for r in responses] == [0, 1, 2] and responses[2]["output"] == 5.0


def test_gmm_against_central_differences():
    from s2sad.gradbench.gmm import gmm_objective, lower_triangle

    rng = np.random.default_rng(2)
    d, k, n = 3, 4, 20
    raw = {"d": d, "k": k, "n": n, "x": rng.normal(size=(n, d)).tolist(), "m": 0,
           "gamma": 1.0, "alpha": rng.normal(size=k).tolist(),
           "mu": rng.normal(size=(k, d)).tolist(), "q": (0.3 * rng.normal(size=(k, d))).tolist(),
           "l": (0.3 * rng.normal(size=(k, 3))).tolist(), "min_runs": 1, "min_seconds": 0}
    out = session({"kind": "define", "module": "gmm"},
                  {"kind": "evaluate", "module": "gmm", "function": "objective", "input": raw},
                  {"kind": "evaluate", "module": "gmm", "function": "jacobian", "input": raw})
    rows, cols = lower_triangle(d)
    parts = [np.array(raw[key]) for key in ("alpha", "mu", "q", "l")]
    rest = (np.array(raw["x"]), rows, cols, 0, 1.0)
    assert out[1]["output"] == pytest.approx(gmm_objective(*parts, *rest), rel=1e-12)
    h = 1e-6
    for key, part in zip(("alpha", "mu", "q", "l"), range(4)):
        base = parts[part]
        fd = []
        for e in np.eye(base.size):
            up = list(parts)
            up[part] = base + h * e.reshape(base.shape)
            down = list(parts)
            down[part] = base - h * e.reshape(base.shape)
            fd.append((gmm_objective(*up, *rest) - gmm_objective(*down, *rest)) / (2 * h))
        np.testing.assert_allclose(np.ravel(out[2]["output"][key]), fd, rtol=1e-6, atol=1e-7)


def test_kmeans_direction_against_a_closed_form():
    # each centroid's cost gradient is 2 * sum over its points of (c - p), its Hessian times
    # ones 2 * (its number of points): the direction is c - mean of its points
    rng = np.random.default_rng(3)
    points, centroids = rng.random((40, 3)), rng.random((4, 3))
    raw = {"points": points.tolist(), "centroids": centroids.tolist(), "min_runs": 1,
           "min_seconds": 0}
    out = session({"kind": "define", "module": "kmeans"},
                  {"kind": "evaluate", "module": "kmeans", "function": "cost", "input": raw},
                  {"kind": "evaluate", "module": "kmeans", "function": "dir", "input": raw})
    d2 = ((points[:, None, :] - centroids[None, :, :]) ** 2).sum(-1)
    assert out[1]["output"] == pytest.approx(d2.min(axis=1).sum(), rel=1e-10)
    owner = d2.argmin(axis=1)
    want = np.stack([centroids[j] - points[owner == j].mean(axis=0) for j in range(4)])
    np.testing.assert_allclose(out[2]["output"], want, rtol=1e-9, atol=1e-12)


def test_det_by_minors_against_the_cofactors():
    # recursive, on arrays; the gradient of det(A) is det(A) * inv(A).T
    rng = np.random.default_rng(4)
    a = rng.random((5, 5))
    raw = {"A": a.ravel().tolist(), "ell": 5, "min_runs": 1, "min_seconds": 0}
    out = session({"kind": "define", "module": "det"},
                  {"kind": "evaluate", "module": "det", "function": "primal", "input": raw},
                  {"kind": "evaluate", "module": "det", "function": "gradient", "input": raw})
    assert out[1]["output"] == pytest.approx(np.linalg.det(a), rel=1e-10)
    np.testing.assert_allclose(out[2]["output"],
                               (np.linalg.det(a) * np.linalg.inv(a).T).ravel(), rtol=1e-9,
                               atol=1e-12)


def test_ode_against_the_exact_solution_and_differences():
    # y0 = x0 t, y1 = x1 x0 t^2 / 2, ...: RK4 is exact for these polynomials up to degree 4
    from s2sad.gradbench.ode import last

    rng = np.random.default_rng(5)
    x = rng.random(4)
    raw = {"x": x.tolist(), "s": 10, "min_runs": 1, "min_seconds": 0}
    out = session({"kind": "define", "module": "ode"},
                  {"kind": "evaluate", "module": "ode", "function": "primal", "input": raw},
                  {"kind": "evaluate", "module": "ode", "function": "gradient", "input": raw})
    t = 2.0
    exact = [np.prod(x[:i + 1]) * t ** (i + 1) / np.prod(np.arange(1, i + 2))
             for i in range(4)]
    np.testing.assert_allclose(out[1]["output"], exact, rtol=1e-12)
    h = 1e-6
    fd = [(last(x + h * e, 10) - last(x - h * e, 10)) / (2 * h) for e in np.eye(4)]
    np.testing.assert_allclose(out[2]["output"], fd, rtol=1e-7, atol=1e-10)


def test_lstm_against_central_differences():
    """The LSTM objective (text bits as in GradBench's generator) and its gradient with
    respect to the main and extra parameters, flattened as the PyTorch tool's is."""
    from s2sad.gradbench.lstm import lstm_objective

    rng = np.random.default_rng(2)
    layers, bits, chars = 2, 5, 12
    main = rng.random((2 * layers, 4 * bits))
    extra = rng.random((3, bits))
    state = rng.random((2 * layers, bits))
    seq = (rng.random((chars, bits)) > 0.5).astype(float)
    inp = {"main_params": main.tolist(), "extra_params": extra.tolist(),
           "state": state.tolist(), "sequence": seq.tolist(), "min_runs": 1, "min_seconds": 0}
    out = session({"kind": "define", "module": "lstm"},
                  {"kind": "evaluate", "module": "lstm", "function": "objective", "input": inp},
                  {"kind": "evaluate", "module": "lstm", "function": "jacobian", "input": inp})
    assert out[1]["output"] == pytest.approx(lstm_objective(main, extra, state, seq), rel=1e-12)
    grad = np.array(out[2]["output"])
    assert grad.shape == (main.size + extra.size,)
    h = 1e-6
    rows = [(0, k) for k in range(0, main.size, 7)] + [(1, k) for k in range(extra.size)]
    for which, k in rows:
        e = np.zeros(main.size if which == 0 else extra.size)
        e[k] = h
        if which == 0:
            hi = lstm_objective(main + e.reshape(main.shape), extra, state, seq)
            lo = lstm_objective(main - e.reshape(main.shape), extra, state, seq)
            got = grad[k]
        else:
            hi = lstm_objective(main, extra + e.reshape(extra.shape), state, seq)
            lo = lstm_objective(main, extra - e.reshape(extra.shape), state, seq)
            got = grad[main.size + k]
        assert got == pytest.approx((hi - lo) / (2 * h), rel=1e-5, abs=1e-9)


def test_ba_against_central_differences():
    """Bundle adjustment: the objective's summary and the sparse Jacobian (rows, cols, vals
    as GradBench's BASparseMat, the first 30 and the last kept) against central
    differences of the reprojection error and of 1 - w^2."""
    from s2sad.gradbench.ba import BA_NCAMPARAMS, compute_reproj_err

    rng = np.random.default_rng(4)
    cam, x, w, feat = rng.random(11), rng.random(3) + [0.0, 0.0, 3.0], 0.8, rng.random(2)
    n, m, p = 3, 4, 7
    inp = {"n": n, "m": m, "p": p, "cam": cam.tolist(), "x": x.tolist(), "w": w,
           "feat": feat.tolist(), "min_runs": 1, "min_seconds": 0}
    out = session({"kind": "define", "module": "ba"},
                  {"kind": "evaluate", "module": "ba", "function": "objective", "input": inp},
                  {"kind": "evaluate", "module": "ba", "function": "jacobian", "input": inp})
    err = compute_reproj_err(cam, x, w, feat)
    assert out[1]["output"]["reproj_error"] == {"elements": pytest.approx(err.tolist()),
                                                "repeated": p}
    assert out[1]["output"]["w_err"] == {"element": pytest.approx(1 - w * w), "repeated": p}
    jac = out[2]["output"]
    full = [15 * k for k in range(2 * p + 1)] + [30 * p + k for k in range(1, p + 1)]
    assert jac["rows"] == full[:30] + [full[-1]]
    h = 1e-6
    params = np.concatenate([cam, x, [w]])

    def err_of(q):
        return compute_reproj_err(q[:11], q[11:14], q[14], feat)

    fd = np.array([(err_of(params + h * e) - err_of(params - h * e)) / (2 * h)
                   for e in np.eye(15)]).T  # (2, 15)
    # the first observation's block: row 0 then row 1, each cam (11), point (3), w (1)
    np.testing.assert_allclose(jac["vals"][:15], fd[0], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(jac["vals"][15:30], fd[1], rtol=1e-6, atol=1e-9)
    assert jac["cols"][:15] == list(range(11)) + [BA_NCAMPARAMS * n + i for i in range(3)] + \
        [BA_NCAMPARAMS * n + 3 * m]
    assert jac["vals"][-1] == pytest.approx(-2 * w)  # the last w_err block


def _hand(rng, complicated):
    """A random hand model of GradBench's shape (22 bones in a chain, homogeneous vertex
    positions, skinning weights) and an ht input for it."""
    nbones, nverts, npts = 22, 9, 5
    rel = np.tile(np.eye(4), (nbones, 1, 1))
    rel[:, :3, :] += 0.1 * rng.standard_normal((nbones, 3, 4))
    inv = np.tile(np.eye(4), (nbones, 1, 1))
    inv[:, :3, :] += 0.1 * rng.standard_normal((nbones, 3, 4))
    positions = np.hstack([rng.standard_normal((nverts, 3)), np.ones((nverts, 1))])
    model = {"bone_count": nbones, "bone_names": [f"b{k}" for k in range(nbones)],
             "parents": list(range(-1, nbones - 1)), "base_relatives": rel.tolist(),
             "inverse_base_absolutes": inv.tolist(), "base_positions": positions.tolist(),
             "weights": rng.random((nverts, nbones)).tolist(),
             "triangles": rng.integers(0, nverts, (6, 3)).tolist(), "is_mirrored": False}
    data = {"model": model, "correspondences": rng.integers(0, 6 if complicated else nverts,
                                                           npts).tolist(),
            "points": rng.standard_normal((npts, 3)).tolist()}
    us = rng.random((npts, 2)).tolist() if complicated else []
    return {"theta": (0.3 * rng.standard_normal(26)).tolist(), "data": data, "us": us,
            "min_runs": 1, "min_seconds": 0}


@pytest.mark.parametrize("complicated", [False, True])
def test_ht_against_central_differences(complicated):
    """Hand tracking: the residuals, and the Jacobian laid out as the PyTorch tool lays it
    out (the complicated variant: each point's two us columns, then theta's), against
    central differences of the objective."""
    from s2sad.gradbench import ht

    inp = _hand(np.random.default_rng(5 + complicated), complicated)
    out = session({"kind": "define", "module": "ht"},
                  {"kind": "evaluate", "module": "ht", "function": "objective", "input": inp},
                  {"kind": "evaluate", "module": "ht", "function": "jacobian", "input": inp})
    f, inputs, params = ht._prepare(inp)
    err = np.asarray(out[1]["output"])
    np.testing.assert_allclose(err, f(inputs, *params).ravel(), rtol=1e-13)
    jac = np.asarray(out[2]["output"])
    h = 1e-6
    fd = np.stack([(f(inputs + h * e, *params) - f(inputs - h * e, *params)).ravel() / (2 * h)
                   for e in np.eye(inputs.size)], axis=1)
    if complicated:
        npts = len(inp["us"])
        assert jac.shape == (3 * npts, 2 + 26)
        for i in range(npts):
            np.testing.assert_allclose(jac[3 * i:3 * i + 3, :2], fd[3 * i:3 * i + 3,
                                                                    2 * i:2 * i + 2],
                                       rtol=1e-6, atol=1e-8)
        fd = fd[:, 2 * npts:]
        jac = jac[:, 2:]
    assert jac.shape == (err.size, 26)
    np.testing.assert_allclose(jac, fd, rtol=1e-6, atol=1e-8)


def test_particle_against_gradbench_and_differences():
    """Nested AD: the final w of the forward-over-forward variant is the one GradBench's eval
    expects; the derivative of the Euler integration (which takes the force's derivative
    inside) in all four mode pairs against central differences."""
    import s2sad
    from s2sad.gradbench.particle import naive_euler

    out = session({"kind": "define", "module": "particle"},
                  {"kind": "evaluate", "module": "particle", "function": "ff",
                   "input": {"w": 0.0, "min_runs": 1, "min_seconds": 0}})
    assert out[1]["output"] == pytest.approx(0.2071918746486116, rel=1e-9)
    h = 1e-6
    for forward in (False, True):
        fd = (naive_euler(0.1 + h, forward) - naive_euler(0.1 - h, forward)) / (2 * h)
        assert s2sad.grad(naive_euler)(0.1, forward) == pytest.approx(fd, rel=1e-6)
        assert s2sad.jvp(naive_euler, (0.1, forward), (1.0, 0))[1] == pytest.approx(fd,
                                                                                 rel=1e-6)


def test_saddle_against_gradbench_and_the_closed_form():
    """The forward-over-reverse variant reaches the point GradBench's eval expects; the
    gradient of the inner maximum (a descent of its own, differentiated through) is 2 p in
    every mode pair (the inner ascent does not depend on p)."""
    import s2sad
    from s2sad.gradbench.saddle import r1_cost

    out = session({"kind": "define", "module": "saddle"},
                  {"kind": "evaluate", "module": "saddle", "function": "fr",
                   "input": {"start": [1.0, 1.0], "min_runs": 1, "min_seconds": 0}})
    assert out[1]["output"] == pytest.approx([8.246324826140356e-06] * 4, rel=1e-9)
    p = (0.3, -0.7)
    for forward in (False, True):
        got = s2sad.grad(r1_cost, wrt=(0, 1))(*p, 1.0, 1.0, forward)
        assert got == pytest.approx((0.6, -1.4), rel=1e-10)
        tangent = s2sad.jvp(r1_cost, (*p, 1.0, 1.0, forward), (0.0, 1.0, 0.0, 0.0, 0))[1]
        assert tangent == pytest.approx(-1.4, rel=1e-10)


_FAKE_EVAL = r'''
import json, sys
def send(m):
    print(json.dumps(m), flush=True)
    return None if m["kind"] == "end" else json.loads(sys.stdin.readline())
send({"id": 0, "kind": "start", "eval": "hello"})
send({"id": 1, "kind": "define", "module": "hello"})
r = send({"id": 2, "kind": "evaluate", "module": "hello", "function": "square", "input": 3.0})
send({"id": 3, "kind": "analysis", "of": 2, "valid": r["output"] == 9.0, "error": None})
r = send({"id": 4, "kind": "evaluate", "module": "hello", "function": "double", "input": 2.0})
send({"id": 5, "kind": "analysis", "of": 4, "valid": r["output"] == 5.0, "error": "not 5"})
send({"id": 6, "kind": "evaluate", "module": "hello", "function": "nosuch", "input": 1.0})
send({"id": 7, "kind": "end"})
'''


def test_pipe_runs_an_eval_against_the_tool():
    """``python -m s2sad.gradbench.pipe -- <eval>``: the eval's messages to the tool and back;
    the eval's verdicts counted (a made-up eval here: one output it accepts, one it refuses,
    one function the tool does not have)."""
    import io

    from s2sad.gradbench.pipe import pipe

    report = io.StringIO()
    assert pipe([sys.executable, "-c", _FAKE_EVAL], out=report) == (1, 1, 1)
    assert "not 5" in report.getvalue() and "nosuch" in report.getvalue()
