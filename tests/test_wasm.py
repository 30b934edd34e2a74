"""The Wasm backend agrees with the Python backend: every corpus program the Wasm subset
covers, with hypothesis-drawn inputs, primal and gradient to 1e-9 relative."""

import math

import numpy as np
import pytest
import wasm_programs as W
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from programs import PROGRAMS
from test_programs import strategy

import s2sad
from s2sad import S2SADError, wasm

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))


def supported(f, domains, wrt):
    import inspect

    from s2sad.wasm_emit import Arr

    params = list(inspect.signature(f).parameters)
    kinds = {p: Arr(1) if d[0] == "list" else ("i64" if len(d) == 3 else "f64")
             for p, d in zip(params, domains)}
    try:
        wasm.build_module(f, tuple(wrt), kinds)
        return True
    except S2SADError:
        return False


COVERED = [p for p in PROGRAMS if supported(*p)]


def test_the_subset_covers_most_of_the_corpus():
    assert len(COVERED) >= 45, [p[0].__name__ for p in PROGRAMS if p not in COVERED]


def close(a, b):
    """Equal to 1e-9 relative, inf and nan included (both backends follow IEEE)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    finite = np.abs(b[np.isfinite(b)]) if b.ndim else np.abs(b[None][np.isfinite(b[None])])
    scale = max(1.0, float(np.max(finite, initial=0.0)))
    return np.allclose(a, b, rtol=1e-9, atol=1e-12 * scale, equal_nan=True)


@pytest.mark.parametrize("f,domains,wrt", COVERED, ids=[p[0].__name__ for p in COVERED])
def test_backends_agree(f, domains, wrt):
    on_wasm = wasm.value_and_grad(f, wrt=tuple(wrt))
    primal = wasm.primal(f)
    on_python = s2sad.value_and_grad(f, wrt=tuple(wrt))

    @SETTINGS
    @given(st.tuples(*[strategy(d) for d in domains]))
    def check(args):
        try:
            want_value, want = on_python(*args)
        except (ValueError, ZeroDivisionError, OverflowError):
            assume(False)
        wasm_args = [np.array(a) if isinstance(a, list) else a for a in args]
        value, got = on_wasm(*wasm_args)
        assert close(value, want_value) and close(primal(*wasm_args), f(*args))
        for g, w in zip(got, want):
            assert close(g, w), (args, got, want)

    check()


ARRAYS = [(W.dot_tanh, [(5,), (5,)], (0, 1)), (W.matvec_norm, [(3, 4), (4,)], (0, 1)),
          (W.horner, [(6,), ()], (0, 1)), (W.last_minus_first, [(4,)], (0,)),
          (W.running_max, [(7,), ()], (0, 1)), (W.smooth_in_place, [(6,), ()], (0, 1))]


@pytest.mark.parametrize("f,shapes,wrt", ARRAYS, ids=[a[0].__name__ for a in ARRAYS])
def test_array_arguments(f, shapes, wrt):
    on_wasm = wasm.grad(f, wrt=wrt)

    @SETTINGS
    @given(st.data())
    def check(data):
        args = []
        for shape in shapes:
            if shape:
                args.append(np.array(data.draw(st.lists(
                    st.floats(-2, 2, allow_nan=False), min_size=int(np.prod(shape)),
                    max_size=int(np.prod(shape))))).reshape(shape))
            else:
                args.append(data.draw(st.floats(-2, 2, allow_nan=False)))
        try:
            want = s2sad.grad(f, wrt=wrt)(*[a.copy() if isinstance(a, np.ndarray) else a
                                            for a in args])
        except ZeroDivisionError:  # a point where f has no derivative (sqrt at 0)
            assume(False)
        before = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        got = on_wasm(*args)
        for g, w, a in zip(got, want, [args[k] for k in wrt]):
            assert np.shape(g) == np.shape(a)
            assert close(g, w)
        for a, b in zip(args, before):  # arguments are not mutated
            assert np.array_equal(a, b)

    check()


def test_index_out_of_range_is_an_error_not_garbage():
    with pytest.raises(S2SADError, match="index out of range") as info:
        wasm.grad(W.out_of_range)(np.ones(3))
    # the user's file, line and source line, as for any refusal
    assert info.value.filename == W.__file__
    assert info.value.source_line.strip() == "return xs[len(xs)] * 2.0"


def test_a_complex_or_bool_array_is_refused_not_cast():
    # (casting to float64 dropped the imaginary part with only a ComplexWarning) -- refused
    # on the first call and on the per-call fast path alike, and for the primal
    w = np.array([0.3, -0.2])
    for make in (wasm.grad, wasm.primal):
        g = make(W.dot_tanh) if make is wasm.primal else make(W.dot_tanh, wrt=0)
        g(w, np.ones(2))  # (the fast path for two 1-d arrays is made)
        for bad in (np.ones(2) + 1j, np.array([True, False])):
            with pytest.raises(S2SADError, match=f"1-d {bad.dtype} array"):
                g(w, bad)
        with pytest.raises(S2SADError, match="1-d complex128 array"):
            make(W.dot_tanh)(np.ones(2) + 1j, np.ones(2))
    assert close(wasm.grad(W.dot_tanh)(w, np.arange(2)),  # (ints are numbers: taken)
                 s2sad.grad(W.dot_tanh)(w, np.arange(2.0)))


class _Tagged(np.ndarray):
    """A subclass of ndarray (as np.matrix and masked arrays are)."""


def test_arrays_of_a_subclass_of_other_shapes_are_not_given_the_first_shapes_call():
    # (the per-call fast path is keyed by the shapes of exact ndarrays only: a subclass's
    # second call, of other extents, took the first call's layout -- a silent wrong gradient)
    g = wasm.grad(W.matvec_norm, wrt=0)
    for shape in ((2, 3), (3, 2), (3, 3)):
        a = np.arange(float(np.prod(shape))).reshape(shape) * 0.1
        v = np.linspace(0.5, 1.5, shape[1])
        assert close(g(a.view(_Tagged), v), s2sad.grad(W.matvec_norm, wrt=0)(a, v))


def test_an_index_out_of_range_in_a_loop_names_its_line():
    with pytest.raises(S2SADError, match="index out of range") as info:
        wasm.grad(W.sum_first, wrt=0)(np.ones(3), 5)
    assert info.value.source_line.strip() == "total = total + xs[j] * xs[j]"
    assert list(wasm.grad(W.sum_first, wrt=0)(np.ones(3), 3)) == [2.0, 2.0, 2.0]


def test_an_array_argument_written_in_place_but_not_in_wrt():
    x = np.array([1.5, 2.0])
    for wrt in (0, (0, 1)):
        got, want = wasm.grad(W.scale_in_place, wrt=wrt)(0.7, x), \
            s2sad.grad(W.scale_in_place, wrt=wrt)(0.7, x)
        got, want = (got,) if wrt == 0 else got, (want,) if wrt == 0 else want
        assert np.allclose(np.hstack(got), np.hstack(want), rtol=1e-14, atol=0)
    assert wasm.primal(W.scale_in_place)(0.7, x) == pytest.approx(W.scale_in_place(0.7, x.copy()))
    assert x.tolist() == [1.5, 2.0]  # the caller's array is untouched
    assert wasm.grad(W.scale_in_place)(0.7, x) == pytest.approx(2 * 0.7 * 1.5 * 2.0, rel=1e-14)


def test_a_helper_returning_a_tuple_of_numbers():
    for x0, v0 in ((0.2, 0.9), (0.5, 2.0), (-0.3, 1.5)):
        assert wasm.primal(W.bounces)(x0, v0) == pytest.approx(W.bounces(x0, v0), rel=1e-15)
        got = wasm.grad(W.bounces, wrt=(0, 1))(x0, v0)
        assert np.allclose(got, s2sad.grad(W.bounces, wrt=(0, 1))(x0, v0), rtol=1e-13, atol=0)


def test_a_helper_specialized_for_int_and_float_arguments():
    got = wasm.grad(W.mixed_kinds, wrt=(0, 1))(0.4, -0.7)
    assert np.allclose(got, s2sad.grad(W.mixed_kinds, wrt=(0, 1))(0.4, -0.7), rtol=1e-14,
                       atol=0)


def test_names_beyond_ascii():
    # WAT identifiers are ASCII: the module spells the rest as %XX; the export keeps the name
    f = W.größe
    x = 0.7
    assert wasm.primal(f)(x) == pytest.approx(f(x), rel=1e-15)
    assert wasm.grad(f)(x) == pytest.approx(s2sad.grad(f)(x), rel=1e-14)
    assert wasm.grad(f)(x) == pytest.approx(2 * x * 1.5 + math.cos(x), rel=1e-14)


def test_a_refused_construct_names_itself_and_the_line():
    import programs

    with pytest.raises(S2SADError) as info:
        wasm.grad(programs.list_mutation, wrt=0)  # (a list whose length the code sets)
    assert "Wasm backend" in str(info.value)
    assert info.value.filename == programs.__file__ and info.value.lineno


def test_integer_arguments_stay_integers():
    import programs

    g = wasm.grad(programs.inactive_param)
    assert g(0.5, 4) == pytest.approx(s2sad.grad(programs.inactive_param)(0.5, 4), rel=1e-12)


def test_generated_wat_is_readable():
    import programs

    text = wasm.grad(programs.sin_sum).source()
    assert '(func $sin_sum_grad (export "sin_sum_grad")' in text
    assert "(param $x f64)" in text and "(local $bx f64)" in text
    assert ";; adjoint sweep" in text and ";; reversed for loop (line" in text
    assert "(import" not in text


def test_long_loops_grow_the_tape():
    import programs

    g = wasm.grad(programs.sin_sum)
    assert g(0.25) == pytest.approx(s2sad.grad(programs.sin_sum)(0.25), rel=1e-12)

    # 200,000 iterations push 1.6 MB: several memory.grow calls on the way
    coeffs = np.linspace(-1, 1, 200_000)
    gc, gx = wasm.grad(W.horner, wrt=(0, 1))(coeffs, 0.999)
    pc, px = s2sad.grad(W.horner, wrt=(0, 1))(coeffs, 0.999)
    assert close(gx, px) and close(gc, pc)
    assert math.isfinite(gx)


def test_public_call_path_when_the_fast_binding_is_missing(monkeypatch):
    import programs

    from s2sad import wasm_runtime

    def missing(*args, **kwargs):
        raise AttributeError("wasmtime._bindings has no _wasmtime_func_call_unchecked")

    monkeypatch.setattr(wasm_runtime, "fast_caller", missing)
    g = wasm.grad(programs.sin_sum)
    assert g(0.3) == pytest.approx(s2sad.grad(programs.sin_sum)(0.3), rel=1e-12)
    with pytest.raises(S2SADError, match="index out of range"):
        wasm.grad(W.out_of_range)(np.ones(3))


def test_tape_exhaustion_is_an_error_not_an_overwrite(monkeypatch):
    """With the memory capped at 2 pages (128 KiB), a loop that keeps taping runs out of
    room: the module traps with error_code 1 and the wrapper says so; the next call runs on a
    fresh instance, with the memory it needs."""
    import programs

    from s2sad import wasm_runtime

    monkeypatch.setattr(wasm_runtime, "memory_limit", 2 * 65536)
    g = wasm.grad(programs.while_halving)
    assert g(3.0) == pytest.approx(s2sad.grad(programs.while_halving)(3.0))
    with pytest.raises(S2SADError, match="tape is exhausted"):
        g(1e300)  # y * y overflows to inf: the loop never ends, the tape fills up
    for x in (3.0, 0.7, 3.0):  # recovered: small calls work again
        assert g(x) == pytest.approx(s2sad.grad(programs.while_halving)(x))


def test_arrays_made_inside_the_function():
    """np.zeros/ones/zeros_like and .copy() at the start of a function: in linear memory,
    their cotangents beside them; the natural billiards and spring chain run on Wasm."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
    import billiards
    import springs

    rng = np.random.default_rng(4)
    x = rng.normal(size=5)
    for f, args, wrt in [(W.made_inside, (x, 0.7), (0, 1)),
                         (springs.chain, (1.5, np.linspace(0.0, 1.0, 30) ** 2), (0, 1)),
                         (billiards.shoot, (2.0, 0.05, billiards.rack()), (0, 1))]:
        want_value, want = s2sad.value_and_grad(f, wrt=wrt)(*args)
        before = [np.copy(a) for a in args]
        value, got = wasm.value_and_grad(f, wrt=wrt)(*args)
        assert close(value, want_value) and close(wasm.primal(f)(*args), f(*args))
        for g, w in zip(got, want):
            assert close(g, w)
        for a, b in zip(args, before):
            assert np.array_equal(a, b)


def test_an_array_made_in_a_loop_is_made_once_and_refilled():
    # (refused until loops.py: np.zeros(2) at each pass is one array made at the start,
    # zeroed at each pass; growing_in_a_loop in test_wasm_numpy is what stays refused)
    x = np.array([0.3, -1.2, 2.5])
    assert wasm.grad(W.made_in_a_loop)(x) == pytest.approx(s2sad.grad(W.made_in_a_loop)(x))


def _sin_and_cos(x, y):
    s = 0.0
    for i in range(5):
        u = x * i + y
        s = s + math.sin(u) * y + math.cos(u) * x  # (the adjoint: cos(u) and sin(u) again)
    return s


def test_sin_and_cos_of_one_value_share_one_reduction():
    # wasm.pair_sincos: sin(u) and cos(u) of one u in a block are one $math.sincos call
    wat = wasm.build_module(_sin_and_cos, (0, 1)).wat
    body = wat[wat.index("(func $_sin_and_cos_grad"):]
    body = body[:body.index("\n(func", 1)] if "\n(func" in body[1:] else body
    assert body.count("call $math.sincos") == 2 and "call $math.sin\n" not in body
    got = wasm.value_and_grad(_sin_and_cos, wrt=(0, 1))(0.3, 1.1)
    want = s2sad.value_and_grad(_sin_and_cos, wrt=(0, 1))(0.3, 1.1)
    assert close(got[0], want[0]) and close(got[1], want[1])


def _pair_of(u, v):
    return u * v, u + v


def _small_list(a, b):
    p = [a, b * 2.0]  # a list of numbers read and written by constant indexes
    q = _pair_of(p[0], p[1])
    for _ in range(3):
        p[0] = p[0] * 0.5 + q[1]
    return q[0] * p[1] + p[0]


def _aliased_list(a, b):
    p = [a, b]
    q = p  # (a second name: writes through it change p)
    q[0] = 5.0 * a
    return p[0] * b


def _tuple_to_a_helper(a, b):
    t = (a, b)
    return _first_times_second(t) * a


def _first_times_second(t):
    return t[0] * t[1]


def test_a_small_list_of_numbers_lives_as_a_tuple():
    got = wasm.value_and_grad(_small_list, wrt=(0, 1))(0.3, 0.7)
    want = s2sad.value_and_grad(_small_list, wrt=(0, 1))(0.3, 0.7)
    assert close(got[0], want[0]) and close(got[1], want[1])
    # what a tuple's locals could not follow is refused with the line
    with pytest.raises(S2SADError, match="'p' holding a list") as info:
        wasm.grad(_aliased_list, wrt=(0, 1))(0.3, 0.7)
    assert info.value.lineno == _aliased_list.__code__.co_firstlineno + 1
    with pytest.raises(S2SADError, match="a tuple where a number is expected") as info:
        wasm.grad(_tuple_to_a_helper, wrt=(0, 1))(0.3, 0.7)
    assert info.value.lineno == _tuple_to_a_helper.__code__.co_firstlineno + 2


def _two_pairs(x, y):
    u = x * 2.0
    v = y + 1.0
    return math.sin(u) * math.cos(v) + math.cos(u) * math.sin(v)


def test_one_line_with_the_sin_and_cos_of_two_values():
    wat = wasm.build_module(_two_pairs, (0, 1)).wat
    body = wat[wat.index("(func $_two_pairs_grad"):]
    body = body[:body.index("\n(func", 1)] if "\n(func" in body[1:] else body
    assert body.count("call $math.sincos") == 4  # (u's and v's, in each sweep)
    got = wasm.value_and_grad(_two_pairs, wrt=(0, 1))(0.3, 0.7)
    want = s2sad.value_and_grad(_two_pairs, wrt=(0, 1))(0.3, 0.7)
    assert close(got[0], want[0]) and close(got[1], want[1])
