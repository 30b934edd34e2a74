"""Checkpointed loops (``s2sad.checkpointed``, ``grad(f, memory=...)``): the binomial
schedule against the dynamic programme it must match, checkpointed gradients against the
plain gradient (1e-12 relative) and finite differences, a memory bound measured with
tracemalloc, and the refusals."""

import functools
import importlib.util
import math
import re
import sys
import tracemalloc
from pathlib import Path

import checkpoint_programs as CP
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import s2sad
from s2sad import S2SADError
from s2sad.checkpoint import Checkpoints, parse_memory, schedule, split

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
TRIPS = st.sampled_from([0, 1, 2, 3, 5, 7, 13, 31]) | st.integers(0, 40)
SNAPSHOTS = st.integers(1, 6) | st.just(10 ** 6)


@functools.lru_cache(None)
def _optimal(n: int, free: int) -> int:
    """The fewest untaped steps that reverse ``n`` steps from a stored start with ``free``
    more slots (dynamic programme over the first snapshot's position)."""
    if n <= 1:
        return 0
    if free == 0:
        return n * (n - 1) // 2
    return min(m + _optimal(n - m, free - 1) + _optimal(m, free) for m in range(1, n))


def _check_schedule(n, s):
    ops = list(schedule(n, s))
    live, state, peak = set(), 0, 0
    forward_end = None
    for k, (op, lo, hi) in enumerate(ops):
        if op == "save":
            assert state == lo
            live.add(lo)
            peak = max(peak, len(live))
        elif op == "load":
            assert lo in live
            forward_end = k if forward_end is None else forward_end
            live = {j for j in live if j <= lo}
            state = lo
        elif op == "run":
            assert state == lo and hi > lo
            state = hi
        else:
            assert state == lo and hi == lo + 1
            state = None
    assert peak <= s
    assert [lo for op, lo, _ in ops if op == "reverse"] == list(range(n - 1, -1, -1))
    return ops, forward_end


@pytest.mark.parametrize("s", range(1, 7))
def test_schedule_is_binomially_optimal(s):
    for n in range(1, 90):
        ops, cut = _check_schedule(n, s)
        runs = sum(hi - lo for op, lo, hi in ops if op == "run")
        # the forward run goes to the end; its last piece (from the last snapshot) is the
        # only extra over the optimal reversal
        last = max(lo for op, lo, _ in ops[:cut] if op == "save") if cut else 0
        assert runs == _optimal(n, s - 1) + (n - last), (n, s)


@given(n=st.integers(1, 3000), s=st.integers(1, 40))
@SETTINGS
def test_schedule_valid_for_large_sizes(n, s):
    _check_schedule(n, s)
    assert 0 <= split(n, s - 1) < n


def test_parse_memory():
    assert parse_memory("64MB") == 64 << 20
    assert parse_memory("1.5 GiB") == int(1.5 * (1 << 30))
    assert parse_memory(4096) == 4096
    assert parse_memory(None) is None
    for bad in ("lots", "-3MB", 0, True):
        with pytest.raises(S2SADError, match="memory="):
            parse_memory(bad)


@pytest.fixture(scope="module")
def plain_programs(tmp_path_factory):
    """checkpoint_programs.py without its markers: the plain gradients."""
    text = Path(CP.__file__).read_text()
    text = re.sub(r"checkpointed\((range\([^()]*\)), snapshots=k\)", r"\1", text)
    assert "snapshots=k" not in text
    path = tmp_path_factory.mktemp("plain") / "plain_checkpoint_programs.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("plain_checkpoint_programs", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _close(a, b, rtol=1e-12):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.allclose(a, b, rtol=rtol, atol=rtol * max(1.0, float(np.max(np.abs(b)))))


@pytest.mark.parametrize("key", sorted(CP.PROGRAMS))
def test_checkpointed_equals_plain(key, plain_programs):
    f, make = CP.PROGRAMS[key]
    plain = getattr(plain_programs, f.__name__)
    g = s2sad.value_and_grad(f)
    gp = s2sad.value_and_grad(plain)

    @given(n=TRIPS, k=SNAPSHOTS)
    @SETTINGS
    def check(n, k):
        args = make()
        value, grad = g(*args, n, k)
        pvalue, pgrad = gp(*args, n, k)
        assert _close(value, pvalue) and _close(grad, pgrad), (n, k, grad, pgrad)
        assert _close(value, f(*args, n, k))

    check()


@pytest.mark.parametrize("key", ["pendulum", "vec_state", "path_array", "calls"])
def test_checkpointed_against_differences(key):
    f, make = CP.PROGRAMS[key]
    args = make()
    g = s2sad.grad(f)(*args, 17, 2)
    x = args[0]
    h = 1e-6
    if isinstance(x, np.ndarray):
        fd = np.zeros_like(x)
        for j in range(x.size):
            e = np.zeros_like(x)
            e[j] = h
            fd[j] = (f(x + e, *args[1:], 17, 2) - f(x - e, *args[1:], 17, 2)) / (2 * h)
    else:
        fd = (f(x + h, *args[1:], 17, 2) - f(x - h, *args[1:], 17, 2)) / (2 * h)
    assert np.allclose(g, fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("budget", ["600B", "4KB", "64KB", "64MB"])
def test_memory_budget_for_and_while(budget):
    plain = s2sad.grad(CP.sin_loop)
    budgeted = s2sad.grad(CP.sin_loop, memory=budget)
    for n in (0, 1, 2, 97, 1000):
        assert _close(budgeted(0.3, n), plain(0.3, n))
    plain = s2sad.grad(CP.settle)
    budgeted = s2sad.grad(CP.settle, memory=budget)
    for x in (0.5, 2.0, 5.0):
        assert _close(budgeted(x, 1e-3), plain(x, 1e-3))
    plain = s2sad.grad(CP.while_return)
    budgeted = s2sad.grad(CP.while_return, memory=budget)
    for x, limit in ((0.1, 50), (0.3, 3), (0.2, 0), (-0.5, 40)):
        assert _close(budgeted(x, limit), plain(x, limit)), (x, limit)
    x = np.array([0.3, -0.5, 1.0, 0.2])
    plain = s2sad.grad(CP.spring_while)
    budgeted = s2sad.grad(CP.spring_while, memory="8KB" if budget == "600B" else budget)
    for n in (0, 1, 7, 150):
        assert _close(budgeted(x, n), plain(x, n))


@pytest.mark.parametrize("budget", ["3KB", "16KB"])
def test_memory_budget_with_inner_loops(budget):
    x = np.array([0.3, -0.2, 0.8])
    plain = s2sad.grad(CP.springs)
    budgeted = s2sad.grad(CP.springs, memory=budget)
    for n in (0, 1, 17, 60):
        assert _close(budgeted(x, n, 3), plain(x, n, 3))
    assert "tape=(2*len(range(m)),len(range(m)),0)" in "".join(budgeted.source.split())
    plain = s2sad.grad(CP.chain)
    budgeted = s2sad.grad(CP.chain, memory=budget)
    for n in (0, 1, 17, 60):
        assert _close(budgeted(0.4, n), plain(0.4, n))
    if importlib.util.find_spec("wasmtime"):
        wasm = s2sad.grad(CP.chain, backend="wasm", memory=budget)
        for n in (0, 1, 17, 60):
            assert _close(wasm(0.4, n), plain(0.4, n))


def test_generated_source_shows_the_schedule():
    g = s2sad.grad(CP.sin_loop, memory="64KB")
    src = g.source
    assert "_ckpt.forward()" in src and "_ckpt.backward()" in src
    assert "_ckpt.save(_lo, v, x)" in src and "v, x = _ckpt.load(_lo)" in src
    # the untaped runs are the user's statements, as written
    assert src.count("v = v - 0.1 * math.sin(x)") == 3
    assert src.count("_stack.append") == 1


def _peak(g, *args):
    tracemalloc.start()
    try:
        g(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_bound_measured():
    n = 100_000
    budget = 256 << 10
    plain = s2sad.grad(CP.sin_loop)
    bounded = s2sad.grad(CP.sin_loop, memory=budget)
    bounded(0.3, 10), plain(0.3, 10)
    assert _close(bounded(0.3, n), plain(0.3, n))
    assert _peak(plain, 0.3, n) > 8 * budget  # (the plain tape: ~32 bytes an iteration)
    assert _peak(bounded, 0.3, n) < budget


def test_pullback_runs_again():
    f = CP.PROGRAMS["pendulum"][0]
    value, pull = s2sad.vjp(f, 0.8, 2.0, 23, 3)
    first = pull(1.0)
    assert pull(1.0) == first
    assert pull(2.0)[0] == pytest.approx(2 * first[0], rel=1e-12)
    value, pull = s2sad.vjp(CP.settle, 2.0, 1e-3)
    assert pull(1.0) == pull(1.0)
    # a budget for vjp, too: the same cotangents as without
    value, pull = s2sad.vjp(CP.sin_loop, 0.3, 500, memory="2KB")
    plain_value, plain_pull = s2sad.vjp(CP.sin_loop, 0.3, 500)
    assert value == plain_value and _close(pull(1.0)[0], plain_pull(1.0)[0])
    assert "_ckpt" in s2sad.transform(CP.sin_loop, ["x", "n"], memory=2048).source


def test_marker_is_plain_python():
    assert list(s2sad.checkpointed(range(4), snapshots=2)) == [0, 1, 2, 3]
    f, make = CP.PROGRAMS["pendulum"]
    assert f(0.8, 2.0, 10, 2) == pytest.approx(f(0.8, 2.0, 10, 10))


def _source_error(fn):
    with pytest.raises(S2SADError) as info:
        s2sad.grad(fn)(0.5, 4)
    return info.value


def test_refusals():
    def inner(x, n):
        s = x
        for _i in range(2):
            for _t in s2sad.checkpointed(range(n), snapshots=2):
                s = math.sin(s)
        return s

    e = _source_error(inner)
    assert "inside another loop" in str(e) and "checkpointed" in e.source_line

    def bad_count(x, n):
        s = x
        for _t in s2sad.checkpointed(range(n), snapshots=0):
            s = math.sin(s)
        return s

    e = _source_error(bad_count)
    assert "snapshots=0" in str(e) and "checkpointed" in e.source_line

    def both(x, n):
        s = x
        for _t in s2sad.checkpointed(range(n), snapshots=2, memory="1MB"):
            s = math.sin(s)
        return s

    assert "not both" in str(_source_error(both))


def test_budget_too_small():
    g = s2sad.grad(CP.spring_while, memory="300B")
    with pytest.raises(S2SADError, match="too small for this loop") as info:
        g(np.ones(50), 3)
    assert info.value.lineno is not None


TRIPS_WASM = st.sampled_from([0, 1, 2, 3, 5, 7, 13, 31]) | st.integers(0, 39)


@pytest.mark.parametrize("key", CP.WASM)
def test_wasm_equals_python(key):
    pytest.importorskip("wasmtime")
    f, make = CP.PROGRAMS[key]
    gw = s2sad.value_and_grad(f, backend="wasm")
    gp = s2sad.value_and_grad(f)

    @given(n=TRIPS_WASM, k=SNAPSHOTS)
    @SETTINGS
    def check(n, k):
        value, grad = gw(*make(), n, k)
        pvalue, pgrad = gp(*make(), n, k)
        assert _close(value, pvalue) and _close(grad, pgrad), (n, k, grad, pgrad)

    check()


@pytest.mark.parametrize("budget", ["600B", "4KB", "64KB", "64MB"])
def test_wasm_memory_budget_for_and_while(budget):
    pytest.importorskip("wasmtime")
    for f, argsets in [(CP.sin_loop, [(0.3, n) for n in (0, 1, 2, 97, 1000)]),
                       (CP.settle, [(x, 1e-3) for x in (0.5, 2.0, 5.0)])]:
        gw = s2sad.grad(f, backend="wasm", memory=budget)
        gp = s2sad.grad(f)
        for args in argsets:
            assert _close(gw(*args), gp(*args)), (f.__name__, budget, args)


def _linear_memory(g):
    spec = next(iter(g.specialized.values()))
    runner = spec.runner()
    return runner.inst.memory.data_len(runner.inst.store)


def test_wasm_memory_bound_measured():
    pytest.importorskip("wasmtime")
    n, budget = 300_000, 256 << 10
    plain = s2sad.grad(CP.sin_loop, backend="wasm")
    bounded = s2sad.grad(CP.sin_loop, backend="wasm", memory=budget)
    assert _close(bounded(0.3, n), plain(0.3, n))
    page = 1 << 16  # (the module's first page: arguments and the interrupt word)
    assert _linear_memory(plain) > 8 * budget  # 8 bytes a taped value
    assert _linear_memory(bounded) <= budget + page


def test_wasm_split_sweeps_and_refusals():
    wasmtime = pytest.importorskip("wasmtime")
    from s2sad import wasm

    f = CP.PROGRAMS["pendulum"][0]
    source = wasm.build_module(f, ("theta", "w"), {"theta": "f64", "w": "f64", "n": "i64",
                                                    "k": "i64"}, split=True)
    store = wasmtime.Store()
    ex = wasmtime.Instance(store, wasmtime.Module(store.engine, source.wat), []).exports(store)
    for n, k in [(0, 1), (9, 2), (30, 3)]:
        whole = ex["pendulum_grad"](store, 0.8, 2.0, n, k, 1.0)
        top = ex["tape_top"].value(store)
        ex["pendulum_fwd"](store, 0.8, 2.0, n, k)
        split = ex["pendulum_bwd"](store, 1.0)
        assert ex["tape_top"].value(store) == top
        assert all(_close(a, b) for a, b in zip(split, whole))
    with pytest.raises(S2SADError, match="no room") as info:
        s2sad.grad(f, backend="wasm")(0.8, 2.0, 10, 0)
    assert info.value.lineno is not None and "checkpointed" in info.value.source_line
    with pytest.raises(S2SADError, match="no room"):
        s2sad.grad(CP.settle, backend="wasm", memory="20B")(2.0, 1e-3)


def test_forward_mode_ignores_the_marker():
    f = CP.PROGRAMS["pendulum"][0]
    value, tangent = s2sad.jvp(f, (0.8, 2.0, 12, 2), (1.0, 0.0, 0, 0))
    assert tangent == pytest.approx(s2sad.grad(f)(0.8, 2.0, 12, 2), rel=1e-12)
    assert value == pytest.approx(f(0.8, 2.0, 12, 2))


def test_snapshots_of_arguments_are_not_the_callers():
    x = np.array([0.3, -0.5, 1.0])
    before = x.copy()
    s2sad.grad(CP.in_place)(x, 9, 2)
    assert np.array_equal(x, before)


def test_checkpoints_counts():
    c = Checkpoints(10 ** 6, (0.0, 0.0), tape=(1, 0, 0), memory=1 << 20)
    assert c.snapshots * c.length >= 10 ** 6
    assert c.snapshots * 100 + c.length * 40 <= (1 << 20) * 1.05
    c = Checkpoints(100, snapshots=3)
    assert (c.length, c.snapshots) == (1, 3)
    c = Checkpoints(100)
    assert c.length * c.snapshots >= 100 and c.length <= 11
    assert math.comb(3 + 3, 3) >= 20


def test_second_derivatives_refused_and_pickling():
    import pickle

    f = CP.PROGRAMS["pendulum"][0]
    with pytest.raises(S2SADError, match="second derivatives of a checkpointed loop"):
        s2sad.hvp(f, (0.8, 2.0, 12, 2), (1.0, 0.0, 0, 0))
    g = s2sad.grad(CP.sin_loop, memory="1KB")
    with pytest.raises(S2SADError, match="memory="):
        s2sad.grad(g)(0.3, 50)
    again = pickle.loads(pickle.dumps(g))
    assert again(0.3, 50) == g(0.3, 50)
    assert "_ckpt" in again.source
