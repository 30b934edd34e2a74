"""Whole-array NumPy on the Wasm backend (loops.py): lowered to element loops before the
reverse pass, checked against the Python backend (which differentiates the arrays as they
are), against differences, and for what the lowering promises about the code it makes."""

import numpy as np
import numpy_programs
import pytest
import wasm_numpy_programs as P
from hypothesis import given, settings
from hypothesis import strategies as st

import s2sad
from s2sad import kinds, wasm
from s2sad.errors import S2SADError
from s2sad.transform import transform


def _arguments(shapes, sizes, rng):
    return [rng.uniform(-0.9, 0.9, size=tuple(sizes.get(d, d) for d in s)) if s else 0.6
            for s in shapes]


def _close(a, b) -> None:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("f, shapes, wrt", P.PROGRAMS, ids=[p[0].__name__ for p in P.PROGRAMS])
@settings(max_examples=8, deadline=None)
@given(n=st.integers(1, 5), m=st.integers(2, 5), k=st.integers(1, 4), seed=st.integers(0, 99))
def test_wasm_equals_the_python_backend(f, shapes, wrt, n, m, k, seed):
    args = _arguments(shapes, dict(n=n, m=m, k=k), np.random.default_rng(seed))
    try:
        expected = s2sad.value_and_grad(f, wrt=wrt)(*args)
    except ValueError:  # shapes NumPy refuses (a matrix product of these extents)
        with pytest.raises(ValueError):
            wasm.value_and_grad(f, wrt=wrt)(*args)
        return
    value, grads = wasm.value_and_grad(f, wrt=wrt)(*args)
    _close(value, expected[0])
    for g, e in zip(grads, expected[1]):
        _close(g, e)


@pytest.mark.parametrize("f, shapes, wrt", [p for p in P.PROGRAMS
                                            if p[0] in (P.mlp_softmax, P.gmm_like, P.joined,
                                                        P.running_sums, P.strided,
                                                        P.contracted, P.sorted_values,
                                                        P.differences, P.rolled,
                                                        P.sorted_in_a_loop,
                                                        P.sorted_rows_and_columns,
                                                        P.three_dimensional, P.triangles,
                                                        P.apart_axes, P.helpers_of_arrays)])
def test_against_central_differences(f, shapes, wrt):
    rng = np.random.default_rng(3)
    args = _arguments(shapes, dict(n=6, m=3, k=4), rng)
    _, grads = wasm.value_and_grad(f, wrt=wrt)(*args)
    h = 1e-6
    for pos, g in zip(wrt, grads):
        d = rng.normal(size=np.shape(args[pos]))
        up = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        down = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        up[pos] = args[pos] + h * d
        down[pos] = args[pos] - h * d
        fd = (f(*up) - f(*down)) / (2 * h)
        assert abs(np.sum(g * d) - fd) <= 1e-7 * max(1.0, abs(fd))


def test_a_fused_chain_makes_no_array_and_tapes_one_value_a_row():
    # sum(tanh(A @ w)): one loop nest; the tape carries tanh of each row's dot product and
    # the adjoint reads A and w again (they do not change) -- the hand-written adjoint
    t = transform(P.tanh_aw, ["A", "w"], kinds={"A": kinds.Array(2), "w": kinds.Array(1)},
                  lowered=True)
    assert "empty(" not in t.source
    assert t.source.count("_stack.append") == 1
    assert "bA[i, j] += bacc_1 * w[j]" in t.source or "bA[i, j] +=" in t.source


def reads_a_row_against_w(A, w):
    s = 0.0
    for j in range(A.shape[1]):  # (no assert ties A's extent to w's: w[j] stays checked)
        s = s + A[0, j] * w[j]
    return s


def test_extents_asserted_equal_need_no_index_check_in_the_loops():
    # A @ w asserts A.shape[1] == w.shape[0] before its loops: j in range(A.shape[1]) is in
    # range for w and its cotangent, so the module checks only the gradient buffers' extents
    # (once, at the adjoint sweep) -- and where nothing ties the extents, the check stays
    source = wasm.build_module(P.tanh_aw, ("A", "w"), {"A": wasm.Arr(2), "w": wasm.Arr(1)})
    checks = source.wat.count("(global.set $error_code (i32.const 2))")
    assert checks == 3  # bA's two extents and bw's
    A, w = np.ones((2, 5)), np.ones(3)
    with pytest.raises(IndexError):
        reads_a_row_against_w(A, w)
    with pytest.raises(S2SADError, match="index out of range"):
        wasm.grad(reads_a_row_against_w, wrt=(0, 1))(A, w)
    with pytest.raises(ValueError):  # (f's own error: A @ w of these shapes)
        wasm.grad(P.tanh_aw, wrt=(0, 1))(A, w)


def test_arrays_read_twice_are_stored_once_at_the_start():
    t = transform(P.mlp_softmax, ["w1", "b1", "w2", "b2"],
                  kinds={p: kinds.Array(d) for p, d in
                         zip(["w1", "b1", "w2", "b2", "x", "y"], [2, 1, 2, 1, 2, 2])},
                  lowered=True)
    lines = [line.strip() for line in t.source.splitlines()]
    made = [k for k, line in enumerate(lines) if "empty(" in line]
    first_loop = next(k for k, line in enumerate(lines) if line.startswith("for "))
    assert made and max(made) < first_loop  # before the tape starts


def test_a_global_array_read_by_element_is_checked_before_each_call():
    f = wasm.grad(P.constructed, wrt=1)
    x = np.linspace(0.1, 0.5, 4)
    before = f(x, 0.6)
    saved = P.SCALE.copy()
    try:
        P.SCALE[1] = 3.0
        after = f(x, 0.6)
        assert after == pytest.approx(s2sad.grad(P.constructed, wrt=1)(x, 0.6), rel=1e-12)
        assert after != before
    finally:
        P.SCALE[:] = saved


def solved_sum(x):
    return np.sum(np.linalg.solve(np.outer(x, x) + np.eye(3), x))


def element_in_a_loop(x):
    s = 0.0
    for _ in range(3):
        y = np.tanh(x) * s
        s = s + y[0] + 1.0
    return s


def array_in_a_loop(x):
    s = 0.0
    for _ in range(3):
        y = np.tanh(x) * s
        s = s + np.sum(y) + y[0]
    return s


def growing_in_a_loop(x):
    s = 0.0
    for k in range(3):
        y = np.zeros(k + 1)
        y[k] = x[k] * s + 1.0
        s = s + np.sum(y * y)
    return s


def test_refusals_name_the_construct_and_the_line():
    with pytest.raises(S2SADError) as info:
        wasm.grad(solved_sum)(np.ones(3))
    assert "np.solve" in info.value.what
    assert info.value.source_line.strip() == \
        "return np.sum(np.linalg.solve(np.outer(x, x) + np.eye(3), x))"
    with pytest.raises(S2SADError) as info:  # (made once at the start: its extent?)
        wasm.grad(growing_in_a_loop)(np.ones(3))
    assert "inside a loop" in info.value.what and "known only there" in info.value.what
    assert info.value.source_line.strip() == "y = np.zeros(k + 1)"
    # an array made at each pass whose extents are known at the start: made there once
    x = np.array([0.3, -0.5, 0.8])
    assert wasm.grad(array_in_a_loop)(x) == pytest.approx(
        s2sad.grad(array_in_a_loop)(x), rel=1e-12)
    # one element of it read once: computed where it is read, no array
    x = np.array([0.3, -0.5, 0.8])
    assert wasm.grad(element_in_a_loop)(x) == pytest.approx(
        s2sad.grad(element_in_a_loop)(x), rel=1e-12)


def keeps_the_old_one(x):
    s = 0.0
    prev = x
    for _ in range(2):
        y = np.tanh(x * s + 0.5)
        s = s + np.sum(y * prev)
        prev = y
    return s


def test_an_array_made_in_a_loop_that_another_name_keeps_is_refused():
    # made once and refilled at each pass on Wasm: prev would see the refill
    with pytest.raises(S2SADError) as info:
        wasm.grad(keeps_the_old_one)(np.array([0.1, 0.2]))
    assert info.value.lineno is not None and "_t" not in info.value.what


def shifts_in_place(x):
    y = x * 1.0
    y[1:] = np.sin(y[:3])
    return np.sum(y)


def test_a_slice_stored_from_what_may_overlap_it_is_refused():
    # NumPy computes np.sin(y[:3]) whole before it stores; element by element the store
    # would read what it wrote (rows at t and t + 1 are known apart: rows_in_a_loop)
    with pytest.raises(S2SADError) as info:
        wasm.grad(shifts_in_place)(np.array([0.1, 0.2, 0.3, 0.4]))
    assert "may overlap" in info.value.what
    assert info.value.source_line.strip() == "y[1:] = np.sin(y[:3])"


def test_a_reduction_inside_a_loop_needs_no_array():
    def norms(X, w):
        s = 0.0
        for i in range(X.shape[0]):
            s = s + np.sum(np.tanh(X[i] * w))
        return s

    X, w = np.random.default_rng(1).normal(size=(4, 3)), np.array([0.3, -0.2, 0.5])
    value, grads = wasm.value_and_grad(norms, wrt=(0, 1))(X, w)
    expected = s2sad.value_and_grad(norms, wrt=(0, 1))(X, w)
    _close(value, expected[0])
    for g, e in zip(grads, expected[1]):
        _close(g, e)


def _copies(args):
    return [np.copy(a) if isinstance(a, np.ndarray) else a for a in args]


@pytest.mark.parametrize("f, shapes, wrt", numpy_programs.PROGRAMS,
                         ids=[p[0].__name__ for p in numpy_programs.PROGRAMS])
def test_the_numpy_corpus_is_compiled_or_refused_never_crashes(f, shapes, wrt):
    rng = np.random.default_rng(0)
    args = [rng.uniform(-0.9, 0.9, size=s) if s else 0.3 for s in shapes]
    try:
        value, grads = wasm.value_and_grad(f, wrt=wrt)(*_copies(args))
    except S2SADError as refusal:
        assert refusal.filename and refusal.lineno  # where, in the user's file
        return
    expected = s2sad.value_and_grad(f, wrt=wrt)(*_copies(args))
    _close(value, expected[0])
    for g, e in zip(grads if len(wrt) > 1 else [grads], expected[1] if len(wrt) > 1
                    else [expected[1]]):
        _close(g, e)


def ignores_y(x, y):
    return np.sum(np.tanh(x))


def test_an_array_in_wrt_that_the_value_does_not_read_gets_zeros():
    # (the module returned the buffer's address through a path that took zeros_like(y) for
    # a name: AttributeError from the emitter; found by the array fuzzer, seed 97)
    x, y = np.array([0.1, -0.4]), np.array([[1.0, 2.0], [3.0, 4.0]])
    gx, gy = wasm.grad(ignores_y, wrt=(0, 1))(x, y)
    _close(gx, 1.0 - np.tanh(x) ** 2)
    assert gy.shape == y.shape and not gy.any()


def _random_array_program(seed, tmp_path):
    """The array fuzzer's program of ``seed`` (tests/array_fuzz.py), loaded from a file, its
    source, arguments at extents drawn from the seed, and the random generator after them."""
    import importlib.util

    from array_fuzz import SHAPES, generate

    source = generate(seed)
    path = tmp_path / f"array_program_{seed}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(seed)
    sizes = dict(n=int(rng.integers(2, 5)), m=int(rng.integers(2, 5)), k=int(rng.integers(1, 4)))
    args = tuple(rng.uniform(-0.9, 0.9, size=tuple(sizes[d] for d in SHAPES[p])) if SHAPES[p]
                 else 0.4 for p in "XYvuAs")
    return module.f, source, args, rng


@pytest.mark.parametrize("seed", range(30))
def test_random_array_programs_equal_the_python_backend(seed, tmp_path):
    f, source, args, _ = _random_array_program(seed, tmp_path)
    wrt = tuple(range(6))
    try:
        expected = s2sad.value_and_grad(f, wrt=wrt)(*args)
    except S2SADError:  # (np.unwrap has no rule: refused on both backends)
        with pytest.raises(S2SADError):
            wasm.value_and_grad(f, wrt=wrt)(*args)
        return
    try:
        value, grads = wasm.value_and_grad(f, wrt=wrt)(*args)
    except S2SADError as refusal:  # only what is outside the subset, named with its line
        assert "t_out" in source and refusal.lineno is not None
        return
    _close(value, expected[0])
    for g, e in zip(grads, expected[1]):
        _close(g, e)


@pytest.mark.parametrize("seed", range(30, 42))
def test_random_array_programs_jvp_and_hvp_equal_the_python_backends(seed, tmp_path):
    # forward mode on Wasm (the tangent function lowered to loops) and reverse over it
    f, _, args, rng = _random_array_program(seed, tmp_path)
    tangents = tuple(rng.normal(size=np.shape(a)) if isinstance(a, np.ndarray) else 0.3
                     for a in args)
    for how in (s2sad.jvp, s2sad.hvp):
        try:
            expected = how(f, args, tangents)
        except S2SADError:
            continue
        try:
            got = how(f, args, tangents, backend="wasm")
        except S2SADError as refusal:  # (named at f, never quoting generated names)
            assert refusal.lineno is not None and "'_stack" not in refusal.what
            continue
        for g, e in zip(got, expected):
            _close(g, e)


def softmax_xent(W, X, labels):
    logits = X @ W
    z = logits - np.max(logits, axis=1, keepdims=True)
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.mean(logp[np.arange(labels.shape[0]), labels])


@pytest.mark.parametrize("labels", [[0, 2, 1, 2, 0], [2, 2, 2, 2, 2], [-1, 0, 1, -2, 0]])
def test_a_gather_by_labels(labels):
    # one element of each row, picked by an index array (floats on Wasm, made ints)
    rng = np.random.default_rng(4)
    W, X = rng.normal(size=(4, 3)), rng.normal(size=(5, 4))
    labels = np.array(labels)
    value, grads = wasm.value_and_grad(softmax_xent, wrt=(0, 1))(W, X, labels)
    expected = s2sad.value_and_grad(softmax_xent, wrt=(0, 1))(W, X, labels)
    _close(value, expected[0])
    for g, e in zip(grads, expected[1]):
        _close(g, e)


# the array corpora's programs whose gradient the Wasm backend refuses too (np.linalg.solve, a
# reshape to three extents, a boolean mask, a store overlapping what it reads)
WASM_OUTSIDE = {"linear_algebra", "shapes", "indexing", "assignment_in_loops"}


@pytest.mark.parametrize("f, shapes, wrt", [
    p for p in P.PROGRAMS + numpy_programs.PROGRAMS if p[0].__name__ not in WASM_OUTSIDE],
    ids=lambda p: getattr(p, "__name__", ""))
def test_jvp_and_hvp_of_array_programs_on_wasm(f, shapes, wrt):
    # the tangent function of whole-array NumPy is whole-array NumPy: lowered the same way
    # (issue 10's Wasm forward mode over arrays; expand_to, which the tangents of np.cumsum
    # and softplus call, is a broadcast; the tangent of a max or min reduction, with or
    # without keepdims, the mean of the tangent over the ties, of var, std and the 2-norm;
    # share_max, clip_mask and abs_jvp, the tangents of maximum/minimum, clip and abs, as
    # element-wise maps; tangent_zero of an array as np.zeros_like, also in a loop; the
    # tangent of np.sort and np.prod; np's functions of numbers; the tangent functions of
    # the program's own functions of arrays inlined, s2sad's helpers they read bound)
    rng = np.random.default_rng(5)
    args = _arguments(shapes, dict(n=4, m=3, k=2), rng)
    tangents = tuple(rng.normal(size=np.shape(a)) if isinstance(a, np.ndarray) else 0.0
                     for a in args)
    for got, want in [(s2sad.jvp(f, tuple(args), tangents, backend="wasm"),
                       s2sad.jvp(f, tuple(args), tangents))]:
        for g, w in zip(got, want):
            _close(g, w)
    got = s2sad.hvp(f, tuple(args), tangents, backend="wasm")
    try:
        want = s2sad.hvp(f, tuple(args), tangents)
    except S2SADError:  # (a Python hvp refused: against differences of the gradient)
        g = s2sad.grad(f, wrt=tuple(range(len(args))))
        h = 1e-5
        hi = g(*[a + h * t for a, t in zip(args, tangents)])
        lo = g(*[a - h * t for a, t in zip(args, tangents)])
        for k, (p, m) in enumerate(zip(hi, lo)):
            np.testing.assert_allclose(got[k], (p - m) / (2 * h), rtol=1e-6, atol=1e-7)
        return
    for g, w in zip(got, want):
        _close(g, w)


def scales_its_argument(x):
    x *= 3.0
    x[2:] += 1.0
    return np.sum(x * x)


def test_an_argument_updated_in_place_is_the_functions_own_copy():
    # x *= 3.0 and x[2:] += 1.0: NumPy's in place, element by element into x (x[2:] read at
    # the element's own place); the caller's array is not changed (s2sad never mutates it)
    x = np.array([0.1, -0.2, 0.3, 0.4])
    before = x.copy()
    value, grad = wasm.value_and_grad(scales_its_argument)(x)
    np.testing.assert_array_equal(x, before)
    expected = s2sad.value_and_grad(scales_its_argument)(x.copy())
    _close(value, expected[0])
    _close(grad, expected[1])
    _close(grad, 2 * (3 * x + np.array([0, 0, 1, 1])) * 3)


def clips(v, lo):
    return (np.sum(np.clip(v, lo, None) ** 2) + np.sum(v.clip(None, lo) * 3.0)
            + np.sum(np.clip(v, a_min=lo + 1.0, a_max=v * 0.5)) + float(np.clip(lo, -1.0, 0.2)))


def test_clip_with_keywords_open_and_crossing_bounds():
    # NumPy's minimum(maximum(v, lo), hi): where the bounds cross the result is hi, and so is
    # the cotangent's place (the Python rule sent it to lo as well: fuzz seed 22052)
    v = np.linspace(-2.0, 2.0, 7)
    lo = 0.3
    value, (gv, glo) = wasm.value_and_grad(clips, wrt=(0, 1))(v, lo)
    want = s2sad.value_and_grad(clips, wrt=(0, 1))(v, lo)
    _close(value, clips(v, lo))
    _close(gv, want[1][0])
    _close(glo, want[1][1])
    hi = v * 0.5
    third = np.where(np.maximum(v, lo + 1.0) > hi, 0.5, np.where(v < lo + 1.0, 0.0, 1.0))
    _close(gv, np.where(v > lo, 2 * v, 0.0) + np.where(v < lo, 3.0, 0.0) + third)
    lo_grad = (np.sum(2 * lo * (v <= lo)) + 3.0 * np.sum(v >= lo)
               + np.sum((v < lo + 1.0) & (lo + 1.0 <= hi)) + (1.0 if lo < 0.2 else 0.0))
    _close(glo, lo_grad)


def gathers_from_a_view(X, labels):
    t = X[:, 1:] * 2.0
    return np.sum(t[np.arange(X.shape[0]), labels] ** 2)


def test_a_gather_counted_from_the_end_through_a_view():
    # (an index -1 went into the view's index map: X[:, 1:] at -1 read X[:, 0] -- a silent
    # wrong value and gradient; found by tests/array_fuzz.py with a slice with a step)
    X = np.random.default_rng(4).normal(size=(3, 4))
    for labels in ([-1, -1, -1], [0, -2, 2], [-3, 1, -1]):
        labels = np.array(labels)
        got = wasm.value_and_grad(gathers_from_a_view)(X, labels)
        want = s2sad.value_and_grad(gathers_from_a_view)(X, labels)
        _close(got[0], want[0])
        _close(got[1], want[1])
    with pytest.raises(IndexError):  # (out of range: f's own error, as NumPy raises it)
        wasm.grad(gathers_from_a_view)(X, np.array([0, -4, 1]))


def test_the_adbench_gmm_objective_on_wasm():
    # examples/gmm.py as written: (n, k, d) arrays, np.tril_indices and stores at index
    # arrays (ls[:, rows, cols] = ...), einsum, a helper returning an array
    # (logsumexp(x, axis): inlined), math.lgamma of constants
    import gmm

    for d, k, n in ((2, 5, 40), (3, 4, 25)):
        problem = gmm.make_problem(d, k, n, seed=d)
        value, grads = wasm.value_and_grad(gmm.gmm_objective, wrt=(0, 1, 2))(*problem)
        expected = s2sad.value_and_grad(gmm.gmm_objective, wrt=(0, 1, 2))(*problem)
        _close(value, expected[0])
        for g, e in zip(grads, expected[1]):
            _close(g, e)
    rng = np.random.default_rng(4)
    h = 1e-6
    for pos, g in zip((0, 1, 2), grads):
        direction = rng.normal(size=np.shape(problem[pos]))
        up, down = list(problem), list(problem)
        up[pos] = problem[pos] + h * direction
        down[pos] = problem[pos] - h * direction
        fd = (gmm.gmm_objective(*up) - gmm.gmm_objective(*down)) / (2 * h)
        assert abs(np.sum(g * direction) - fd) <= 1e-6 * max(1.0, abs(fd))


def traced_offset(x):
    r, c = np.tril_indices(x.shape[0], x.shape[0] - 3)
    return np.sum(x[r, c])


def reads_what_it_stores(x):
    L = np.zeros((3, 3))
    r, c = np.tril_indices(3)
    L[r, c] = x[r, c]
    L[r, c] = L[c, r] * 2.0
    return np.sum(L)


def masked(x):
    t = x[x > 0.0]
    return np.sum(t)


def test_triangles_and_index_stores_outside_the_subset_are_refused():
    x = np.ones((3, 3))
    with pytest.raises(S2SADError) as info:
        wasm.grad(traced_offset)(x)
    assert "np.tril_indices with these arguments" in info.value.what
    assert info.value.source_line.strip() == \
        "r, c = np.tril_indices(x.shape[0], x.shape[0] - 3)"
    # NumPy reads L[c, r] whole before it stores; element by element it would read its stores
    with pytest.raises(S2SADError) as info:
        wasm.grad(reads_what_it_stores)(x)
    assert "stored into 'L' at index arrays" in info.value.what
    assert info.value.source_line.strip() == "L[r, c] = L[c, r] * 2.0"
    with pytest.raises(S2SADError) as info:
        wasm.grad(masked)(x)
    assert "boolean mask" in info.value.what and info.value.source_line.strip() == \
        "t = x[x > 0.0]"


def extremes(X):
    return np.sum(np.max(X, axis=1) * X[:, 0]) + np.min(X) * np.sum(X.max(axis=0, keepdims=True))


def test_the_wasm_tangent_of_max_and_min_shares_ties_as_the_python_one():
    # max_grad shares a cotangent evenly among the elements that attain the extreme, and
    # forward mode's tangent is the mean of the tangent over them: so is the lowered one
    X = np.array([[1.0, 3.0, 3.0], [2.0, -1.0, 0.5], [-1.0, -1.0, 0.0]])
    dX = np.random.default_rng(2).normal(size=X.shape)
    got = s2sad.jvp(extremes, (X,), (dX,), backend="wasm")
    want = s2sad.jvp(extremes, (X,), (dX,))
    _close(got[0], want[0])
    _close(got[1], want[1])
    Y = np.random.default_rng(3).normal(size=(4, 3))  # (no ties: the hvp too)
    dY = np.random.default_rng(4).normal(size=Y.shape)
    _close(s2sad.hvp(extremes, (Y,), (dY,), backend="wasm")[0],
           s2sad.hvp(extremes, (Y,), (dY,))[0])


def spreads(X):
    return np.sum(np.std(X, axis=0, ddof=1) * X[0]) + np.var(X) + np.sum(
        X.std(axis=1, keepdims=True) * X)


def test_the_wasm_tangents_of_var_and_std_are_the_python_ones():
    X = np.random.default_rng(6).normal(size=(4, 3))
    dX = np.random.default_rng(7).normal(size=X.shape)
    for got, want in [(s2sad.jvp(spreads, (X,), (dX,), backend="wasm"),
                       s2sad.jvp(spreads, (X,), (dX,))),
                      (s2sad.hvp(spreads, (X,), (dX,), backend="wasm"),
                       s2sad.hvp(spreads, (X,), (dX,)))]:
        for g, w in zip(got, want):
            _close(g, w)


def aliased(x, w):
    y = x  # (one array, two names: read as x)
    z = np.tanh(y * w)
    z = z * x  # (versioned: z_1 = ..., then read under its own name)
    return np.sum(z) + np.sum(y)


def test_an_array_bound_to_another_name_is_that_array():
    x, w = np.array([0.3, -0.2, 0.5]), np.array([1.5, 0.5, -1.0])
    value, grads = wasm.value_and_grad(aliased, wrt=(0, 1))(x, w)
    expected = s2sad.value_and_grad(aliased, wrt=(0, 1))(x, w)
    _close(value, expected[0])
    for g, e in zip(grads, expected[1]):
        _close(g, e)


@pytest.mark.parametrize("f", [P.same_names_as_the_helper, P.rebound_by_a_helper])
def test_a_helper_inlined_under_the_callers_names_is_exact_or_refused(f):
    # the inlined body binds the caller's target only after it (x = g(x) reads the old x to
    # the end of g's body; the caller's m is not g's m): equal to the Python backend, or
    # refused with the line -- never another value
    X, v = np.array([[0.3, -0.2, 0.5], [0.1, 0.4, -0.6]]), np.array([0.7, -0.1, 0.2])
    args = (X, v) if f is P.same_names_as_the_helper else (v, v[::-1].copy())
    expected = s2sad.value_and_grad(f, wrt=(0, 1))(*args)
    try:
        value, grads = wasm.value_and_grad(f, wrt=(0, 1))(*args)
    except S2SADError as refusal:
        assert refusal.lineno is not None and refusal.source_line
        return
    _close(value, expected[0])
    for g, e in zip(grads, expected[1]):
        _close(g, e)
