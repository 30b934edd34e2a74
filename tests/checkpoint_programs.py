"""Loops marked for checkpointing (tests/test_checkpoint.py); the test also imports a copy
with every ``checkpointed(range(n), snapshots=k)`` replaced by ``range(n)``: the plain
gradient they must equal."""

import math

import numpy as np

from s2sad import checkpointed


def pendulum(theta, w, n, k):
    v = 0.0
    a = theta
    for _t in checkpointed(range(n), snapshots=k):
        acc = -w * math.sin(a)
        v = v + 0.01 * acc
        a = a + 0.01 * v
    return a * a + v


def path_array(x, n, k):
    path = np.zeros(n + 1)
    path[0] = x
    for t in checkpointed(range(n), snapshots=k):
        path[t + 1] = math.sin(path[t]) * 1.1 + 0.05
    return np.sum(path ** 2)


def vec_state(x, n, k):
    p = x.copy()
    v = np.zeros_like(x)
    for _t in checkpointed(range(n), snapshots=k):
        v = v - 0.1 * np.tanh(p)
        p = p + 0.1 * v
    return np.sum(p * p)


def list_append(x, n, k):
    xs = [x]
    for _t in checkpointed(range(n), snapshots=k):
        xs.append(math.cos(xs[-1]) + x)
    return sum(xs)


def outer_rebound(x, n, k):
    c = 0.7
    s = x
    for _t in checkpointed(range(n), snapshots=k):
        s = s * c + math.sin(s)
    c = c * 2.0
    return s * c


def nested(x, n, k):
    s = x
    for _t in checkpointed(range(n), snapshots=k):
        for _j in range(3):
            s = math.sin(s) + 0.5 * s
    return s


def helper(s, x):
    return math.sin(s) * x + s


def calls(x, n, k):
    s = x
    for _t in checkpointed(range(n), snapshots=k):
        s = helper(s, x) * 0.5
    return s


def bound_late(x, n, k):
    # prev is bound in the first iteration and read from the second on
    s = x
    for t in checkpointed(range(n), snapshots=k):
        if t > 0:
            s = s + prev * 0.5  # noqa: F821
        prev = math.sin(s)  # noqa: F841
    return s


def stepped(x, n, k):
    s = x
    for t in checkpointed(range(2, n, 3), snapshots=k):
        s = s * math.cos(s * t * 0.01) + x
    return s


def in_place(x, n, k):
    y = x.copy()
    for t in checkpointed(range(n), snapshots=k):
        y[t % 3] = y[t % 3] * 0.9 + math.sin(y[(t + 1) % 3])
        y *= 1.01
    return np.sum(y * y)


def path_fixed(x, n, k):
    # array state (elements written in place) of a fixed size: in the Wasm subset
    path = np.zeros(42)
    path[0] = x
    for t in checkpointed(range(n), snapshots=k):
        path[t + 1] = math.sin(path[t]) * 1.1 + 0.05
    s = 0.0
    for i in range(42):
        s = s + path[i] * path[i]
    return s


def restored_after(x, n, k):
    # the loop rebinds a (and tapes min's operand) whose value before the loop the
    # adjoint of sin(a) needs: pushed before the loop, popped after its whole reversal
    # (found by the checkpointing fuzzer: the pop was lost)
    a = x * 0.5
    s = math.sin(a)
    for _t in checkpointed(range(n), snapshots=k):
        a = min(abs(s) + a, 1.5)
    return a * s + s


def alias_rebound(x, n, k):
    # the loop changes arr's array in place through an alias, then rebinds arr; the tape
    # holds the array itself: a snapshot must give back that object, refilled (found by the
    # checkpointing fuzzer: loading a copy left the original with the forward run's values)
    arr = np.array([x, 0.5, 1.5])
    s = float(np.dot(arr, arr))  # (its adjoint reads the array as it was before the loop)
    for _t in checkpointed(range(n), snapshots=k):
        w = arr
        w *= 0.9 + 0.1 * math.tanh(float(np.dot(arr, arr)) * 0.1)
        arr = arr + math.sin(x)
    arr += 0.5
    return float(np.dot(arr, arr)) + s * s


def early_exit(x, n, k):
    # a for loop with break: its length is known at its end (snapshots taken online)
    s = x
    for t in checkpointed(range(n), snapshots=k):
        s = math.sin(s) * 1.3 + 0.1 * x
        if s < 0.2 + 0.001 * t:
            break
    return s


def early_return(x, n, k):
    s = x
    for t in checkpointed(range(3, n + 3), snapshots=k):
        s = s * 0.9 + math.cos(s) * 0.05 * t
        if s > 2.0:
            return s * s
    return s


def early_container(x, n, k):
    # a list made in each iteration of a loop that can exit early: its adjoint is zeroed at
    # the top of each reversed iteration (found by the fuzzer: that was lost, NameError)
    s = x
    for t in checkpointed(range(n), snapshots=k):
        ys = [s, s * 0.5 + 0.01 * t]
        s = math.sin(ys[0]) + ys[1] * 0.3
        if s > 5.0:
            break
    return s


def tuple_state(x, n, k):
    # a tuple carried from one iteration to the next (a snapshot is the tuple itself; it
    # was once taken for an object saved with its contents, and loading crashed)
    t = (x, 0.5)
    for _t in checkpointed(range(n), snapshots=k):
        t = (math.sin(t[0]) + t[1], t[0] * 0.3)
    return t[0] + t[1]


def iterated_then_grown(x, n, k):
    # the list is read through an iterator before the loop that grows it: the loop's state
    # is the list alone (names that merely shared its memory were once saved too)
    ys = [x, x * 0.5]
    s = 0.0
    for i, y in enumerate(reversed(ys)):
        s = s + y * (i + 1)
    for _t in checkpointed(range(n), snapshots=k):
        ys.append(math.sin(ys[-1]) + s * 0.1)
    return sum(ys)


PROGRAMS = {
    "pendulum": (pendulum, lambda: (0.8, 2.0)),
    "path_array": (path_array, lambda: (0.3,)),
    "vec_state": (vec_state, lambda: (np.array([0.3, -0.5, 1.0]),)),
    "list_append": (list_append, lambda: (0.4,)),
    "outer_rebound": (outer_rebound, lambda: (0.4,)),
    "nested": (nested, lambda: (0.4,)),
    "calls": (calls, lambda: (0.4,)),
    "bound_late": (bound_late, lambda: (0.4,)),
    "stepped": (stepped, lambda: (0.4,)),
    "in_place": (in_place, lambda: (np.array([0.3, -0.5, 1.0]),)),
    "path_fixed": (path_fixed, lambda: (0.3,)),
    "restored_after": (restored_after, lambda: (0.7,)),
    "alias_rebound": (alias_rebound, lambda: (0.7,)),
    "early_exit": (early_exit, lambda: (0.9,)),
    "early_return": (early_return, lambda: (0.4,)),
    "early_container": (early_container, lambda: (0.4,)),
    "tuple_state": (tuple_state, lambda: (0.4,)),
    "iterated_then_grown": (iterated_then_grown, lambda: (0.4,)),
}
# the programs the Wasm backend compiles (numbers, arrays written element by element)
WASM = ["pendulum", "outer_rebound", "nested", "calls", "bound_late", "stepped", "path_fixed",
        "restored_after", "early_exit", "early_return", "tuple_state"]


def sin_loop(x, n):
    v = 0.0
    for _t in range(n):
        v = v - 0.1 * math.sin(x)
        x = x + 0.1 * v
    return x


def settle(x, tol):
    s = x
    k = 0
    while s > tol:
        s = s * 0.9 - 0.01 * math.sin(s) * x
        k = k + 1
    return s * k + s


def spring_while(x, n):
    p = x.copy()
    v = np.zeros_like(x)
    t = 0
    while t < n:
        v = v - 0.05 * (p - np.roll(p, 1)) * x
        p = p + 0.05 * v
        t = t + 1
    return np.sum(p * p)


def springs(x, n, m):
    # inner loops that tape: under a budget, one iteration's tape is counted from their
    # lengths (m: known when the outer loop starts)
    p = x.copy()
    v = np.zeros_like(x)
    for _t in range(n):
        for j in range(m):
            f = math.sin(p[j] - p[(j + 1) % m])
            v[j] = v[j] - 0.01 * f
        for j in range(3):
            p[j] = p[j] + 0.01 * v[j]
    s = 0.0
    for j in range(3):
        s = s + p[j] * p[j]
    return s


def chain(x, n):
    # an inner loop of constant length (its tape counted at transform time; Wasm too)
    s = x
    for _t in range(n):
        for _j in range(4):
            s = math.sin(s) * 0.9 + 0.2 * x
    return s


def while_return(x, limit):
    # a while loop left by return: its last iteration counts (found by the fuzzer: it did
    # not, and the reversal met an empty piece)
    s = x
    n = 0
    while n < limit:
        n += 1
        s = math.sin(s) * 1.2 + 0.05 * x
        if s > 0.9:
            return s * 2.0
    return s
