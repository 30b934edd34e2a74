"""Elements of a time-indexed state re-read, not taped (taping._rows_apart): ``x[t - 1, j]``
read at step ``t`` of an ascending loop, where the array is written only at rows ``t + w``
with ``w`` past the row read (or that same row earlier in the step).  Each program here is
checked against central differences on both backends; the ones whose rows may meet must
still tape what they read, and are checked the same way."""

import math

import numpy as np
import pytest

import s2sad
from s2sad import kinds
from s2sad.transform import transform


def state_rows(w, x0):
    # x[t] = tanh(w @ x[t - 1]) element by element: x[t - 1, j] is read again in the adjoint
    n, m = 6, x0.shape[0]
    x = np.zeros((n, m))
    for j in range(m):
        x[0, j] = x0[j]
    for t in range(1, n):
        for i in range(m):
            acc = 0.0
            for j in range(m):
                acc = acc + w[i, j] * x[t - 1, j]
            x[t, i] = math.tanh(acc)
    s = 0.0
    for j in range(m):
        s = s + x[n - 1, j] * (j + 1.0)
    return s


def same_row_written_first(w, x0):
    # the row read is written earlier in the same step (u[t - 1] from x[t - 1]), then read
    n, m = 5, x0.shape[0]
    x = np.zeros((n, m))
    u = np.zeros((n, m))
    for j in range(m):
        x[0, j] = x0[j]
    for t in range(1, n):
        for j in range(m):
            u[t - 1, j] = math.sin(x[t - 1, j])
        for i in range(m):
            acc = 0.0
            for j in range(m):
                acc = acc + w[i, j] * u[t - 1, j] * u[t - 1, j]
            x[t, i] = acc * 0.5
    return x[n - 1, 0] + x[n - 1, m - 1]


def reads_a_row_ahead(w, x0):
    # x[t + 1] read at step t, x[t + 1] written at step t + 1: rows meet, so it is taped
    n, m = 5, x0.shape[0]
    x = np.zeros((n + 1, m))
    for t in range(n + 1):
        for j in range(m):
            x[t, j] = x0[j] * (t + 1.0)
    s = 0.0
    for t in range(n):
        for j in range(m):
            s = s + w[j, j] * x[t + 1, j] * x[t + 1, j]
            x[t, j] = s * 0.1
    return s


def wraps_around(w, x0):
    # x[t - 1] at t = 0 is the last row, written at the last step: taped
    n, m = 4, x0.shape[0]
    x = np.zeros((n, m))
    for j in range(m):
        x[n - 1, j] = x0[j]
    s = 0.0
    for t in range(n):
        for j in range(m):
            s = s + w[j, j] * x[t - 1, j] * x[t - 1, j]
            x[t, j] = math.sin(s)
    return s


def same_row_written_in_the_loop_reading_it(w, x0):
    # x[t, m - 1 - j] read, x[t, j] written in the same inner loop: a later j writes the
    # column read earlier -- taped
    n, m = 4, x0.shape[0]
    x = np.zeros((n, m))
    for t in range(n):
        for j in range(m):
            x[t, j] = x0[j] + t
    s = 0.0
    for t in range(n):
        for j in range(m):
            k = m - 1 - j
            v = x[t, k]
            s = s + w[j, j] * v * v
            x[t, j] = s * 0.5
    return s


def written_after_the_read(w, x0):
    # the row read is written after the read in the same step: taped
    n, m = 4, x0.shape[0]
    x = np.zeros((n, m))
    for j in range(m):
        x[0, j] = x0[j]
    s = 0.0
    for t in range(1, n):
        for j in range(m):
            v = x[t - 1, j]
            s = s + w[j, j] * v * v
        for j in range(m):
            x[t - 1, j] = s * 0.25
            x[t, j] = math.cos(s) + x0[j]
    return s


PROGRAMS = [state_rows, same_row_written_first, reads_a_row_ahead, wraps_around,
            same_row_written_in_the_loop_reading_it, written_after_the_read]


def _differences(f, w, x0):
    h = 1e-6
    out = []
    for a, k in ((w, 0), (x0, 1)):
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            up, down = a.copy(), a.copy()
            up[idx] += h
            down[idx] -= h
            args_up = (up, x0) if k == 0 else (w, up)
            args_down = (down, x0) if k == 0 else (w, down)
            g[idx] = (f(*args_up) - f(*args_down)) / (2 * h)
        out.append(g)
    return out


@pytest.mark.parametrize("backend", ["python", "wasm"])
@pytest.mark.parametrize("f", PROGRAMS, ids=[f.__name__ for f in PROGRAMS])
def test_gradients_agree_with_differences(f, backend):
    rng = np.random.default_rng(5)
    w, x0 = rng.normal(size=(3, 3)) * 0.5, rng.normal(size=3) * 0.5
    value, grads = s2sad.value_and_grad(f, wrt=(0, 1), backend=backend)(w, x0)
    assert value == pytest.approx(f(w, x0), rel=1e-12)
    for got, want in zip(grads, _differences(f, w, x0)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


def _pushes_of_element_reads(f) -> int:
    t = transform(f, ["w", "x0"], kinds={"w": kinds.Array(2), "x0": kinds.Array(1)})
    return t.source.count("_stack.append")


def test_rows_apart_are_read_again_not_taped():
    t = transform(state_rows, ["w", "x0"], kinds={"w": kinds.Array(2), "x0": kinds.Array(1)})
    adjoint = t.source[t.source.index("# adjoint sweep"):]
    assert "x[t - 1, j]" in adjoint  # read again at the reversed step
    # the inner loop pushes nothing: x[t - 1, j] is not on the tape
    forward = t.source[:t.source.index("# adjoint sweep")]
    inner = forward[forward.index("for j in range(m):", forward.index("for t in")):]
    assert "_stack.append" not in inner.splitlines()[1]
    t2 = transform(same_row_written_first, ["w", "x0"],
                   kinds={"w": kinds.Array(2), "x0": kinds.Array(1)})
    assert "u[t - 1, j]" in t2.source[t2.source.index("# adjoint sweep"):]


@pytest.mark.parametrize("f", [reads_a_row_ahead, wraps_around,
                               same_row_written_in_the_loop_reading_it, written_after_the_read])
def test_rows_that_may_meet_are_taped(f):
    t = transform(f, ["w", "x0"], kinds={"w": kinds.Array(2), "x0": kinds.Array(1)})
    adjoint = t.source[t.source.index("# adjoint sweep"):]
    # the element read is restored from the tape, never read again from x
    assert not any(line.strip().startswith(("v = x[", "_t")) and " = x[" in line
                   for line in adjoint.splitlines())


# -- a value read back from the element it was stored in (taping._stored_copy) --------------

def stored_states(w, x0):
    # v = tanh(...) then h[t, i] = v: v is read back from h in the adjoint, not taped
    n, m = 5, x0.shape[0]
    h = np.zeros((n, m))
    s = 0.0
    for t in range(n):
        for i in range(m):
            v = math.tanh(w[i, i] * x0[i] + t * 0.1)
            h[t, i] = v
            s = s + v * v * w[i, 0]
    return s + float(np.sum(h))


def stored_twice(w, x0):
    # h[i] written at every (t, i): a later t overwrites the element -- taped
    n, m = 3, x0.shape[0]
    h = np.zeros(m)
    s = 0.0
    for t in range(n):
        for i in range(m):
            v = math.tanh(w[i, i] * x0[i] + t * 0.3)
            h[i] = v
            s = s + v * v * w[i, 0]
    return s


def stored_then_changed(w, x0):
    # the element is changed after the loop: taped
    m = x0.shape[0]
    h = np.zeros((2, m))
    s = 0.0
    for t in range(2):
        for i in range(m):
            v = math.sin(w[i, i] * x0[i] + t)
            h[t, i] = v
            s = s + v * v
    h[0, 0] = 5.0
    return s + float(np.sum(h))


def stored_at_a_row_counted_from_the_end(w, x0):
    # h[t - 2] of 3 rows at t = 0 is row 1, written again at t = 3: taped
    m = x0.shape[0]
    h = np.zeros((3, m))
    s = 0.0
    for t in range(4):
        r = t - 2
        for i in range(m):
            v = math.sin(w[i, i] * x0[i] * (t + 1.0))
            h[r, i] = v
            s = s + v * v
    return s


def stored_after_a_break(w, x0):
    # a break between the value and its store: the last iteration run stores nothing -- taped
    m = x0.shape[0]
    h = np.zeros((3, m))
    s = 0.0
    for t in range(3):
        for i in range(m):
            v = math.sin(w[i, i] * x0[i] + t)
            s = s + v * v
            if s > 0.8:
                break
            h[t, i] = v
    return s + float(np.sum(h))


STORED = [stored_states, stored_twice, stored_then_changed, stored_at_a_row_counted_from_the_end,
          stored_after_a_break]


@pytest.mark.parametrize("backend", ["python", "wasm"])
@pytest.mark.parametrize("f", STORED, ids=[f.__name__ for f in STORED])
def test_values_read_back_from_their_element_agree_with_differences(f, backend):
    test_gradients_agree_with_differences(f, backend)


def test_a_stored_value_is_read_back_only_where_the_element_keeps_it():
    def adjoint(f):
        t = transform(f, ["w", "x0"], kinds={"w": kinds.Array(2), "x0": kinds.Array(1)})
        return t.source[t.source.index("# adjoint sweep"):]

    assert "v = h[t, i]" in adjoint(stored_states)
    for f in STORED[1:]:
        assert "v = h[" not in adjoint(f), f.__name__
