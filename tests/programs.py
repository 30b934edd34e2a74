"""The scalar test corpus: ordinary Python programs covering the core language.

Each entry of PROGRAMS is (function, argument domains, wrt positions).  A domain is
(low, high) for a float, or ("list", n, low, high) for a list of n floats.  Domains keep each
program away from poles; points where the program is not smooth (a branch flips inside the
finite-difference step) are detected and skipped by the test, not by the domain.
"""

import math
import random

SCALE = 0.5
OFFSETS = (0.1, -0.2, 0.3)


# --- arithmetic --------------------------------------------------------------------------

def poly(x):
    return x ** 3 - 2 * x ** 2 + x - 7


def arith(x, y):
    return (x + y) * (x - y) / (1 + y * y)


def floordiv_mod(x, y):
    return x % 1.5 + (x // 1.0) * y + x % y


def unary(x, y):
    return -x + (+y) * -x


def power_var(x, y):
    return x ** y + 2.0 ** x + pow(x, 2)


def abs_min_max(x, y):
    return abs(x) + min(x, y) * max(x, y) + max(x * x, 1.0)


def compare_ifexp(x, y):
    return x * 2 if x > y else y * 3


def boolops(x, y):
    if x > 0 and y > 0:
        return x * y
    if x < -1 or y < -1:
        return x + y
    return x - y


def chained(x):
    if 0 < x < 2:
        return x * x
    return 3 * x


def not_op(x):
    if not x > 1:
        return math.exp(x)
    return x


def augassign(x, y):
    s = x
    s += y
    s *= x
    s -= 1
    s /= y
    s **= 2
    return s


def swap(x, y):
    a, b = x, y
    for _ in range(5):
        a, b = b, a * b * 0.5 + 1.0
    return a - b


def multi_target(x):
    a = b = x * 2
    return a * b


# --- math ----------------------------------------------------------------------------------

def trig(x):
    return math.sin(x) * math.cos(2 * x) + math.tan(x / 4)


def exp_log(x, y):
    return math.exp(x) + math.log(y) + math.log(y, 2) + math.log(y, x + 5) + math.log1p(y) \
        + math.expm1(x)


def roots(x, y):
    return math.sqrt(y) + math.pow(y, x) + math.hypot(x, y)


def hyperbolic(x):
    return math.tanh(x) + math.sinh(x) * math.cosh(x)


def inverse_trig(x, y):
    return math.asin(x) + math.acos(x) * math.atan(y) + math.atan2(y, x + 2)


def erf_fabs(x):
    return math.erf(x) + math.fabs(x) * math.erf(x / 3)


def constants(x):
    return math.pi * x + math.e - math.tau / x


def float_int(x, y):
    n = int(y)
    return float(x) * n + float(n) + round(y) * x


def more_math(x):
    return math.log2(x) + math.log10(x) + math.degrees(x) + math.radians(x) + math.asinh(x) \
        + math.atanh(1 / (x + 2))


# --- control flow ------------------------------------------------------------------------------

def if_elif(x):
    if x < -1:
        y = x * x
    elif x < 1:
        y = math.sin(x)
    elif x < 3:
        y = x ** 3
    else:
        y = math.log(x)
    return y * x


def range_step(x):
    s = 0.0
    for i in range(2, 11, 3):
        s = s + x ** i / i
    return s


def range_negative_step(x):
    s = 1.0
    for i in range(10, 0, -2):
        s = s * x + i
    return s


def data_dependent_stop(x, y):
    s = 0.0
    for i in range(int(abs(y)) + 1):
        s = s + math.sin(x + i)
    return s


def loop_over_list(xs):
    s = 0.0
    for v in xs:
        s = s + v * v
    return s


def loop_over_tuple(x, y):
    s = 1.0
    for v in (x, y, x * y):
        s = s * v + 1
    return s


def while_halving(x):
    y = x
    n = 0
    while abs(y) > 0.01:
        y = y * 0.5 + 0.001 * y * y
        n += 1
    return y * n


def break_in_for(x):
    s = 0.0
    for i in range(100):
        s = s + math.cos(x * i) + 1.1
        if s > 10:
            break
    return s * x


def continue_in_for(x):
    s = 0.0
    for i in range(20):
        if i % 3 == 0:
            continue
        s = s + math.sin(x * i) / i
    return s


def return_in_loop(x):
    s = x
    for i in range(50):
        s = s * 1.1 + math.sin(s)
        if s > 5:
            return s * i
    return -s


def return_in_branch(x, y):
    if x > y:
        return x * y
    z = x + y
    if z > 1:
        return z * z
    return math.exp(z)


def nested_loops(x):
    s = 0.0
    for i in range(4):
        t = x
        for j in range(i + 1):
            t = t * math.sin(t + j)
        s = s + t
    return s


def nested_break(x):
    s = 0.0
    for i in range(5):
        for j in range(10):
            s = s + x * (i + 1) * 0.1
            if j > i:
                break
        s = math.sin(s)
    return s


def while_break(x):
    y = x
    k = 0
    while True:
        y = math.cos(y)
        k += 1
        if k >= 7:
            break
    return y


def while_continue(x):
    y = 0.0
    k = 0
    while k < 10:
        k += 1
        if k % 2 == 0:
            continue
        y = y + x ** 2 / k
    return y


def reassign(x):
    y = x * 2
    y = math.sin(y)
    y = y * y + x
    x = x * 3
    return y * x


def enumerate_zip(xs, ys):
    s = 0.0
    for i, v in enumerate(xs):
        s = s + v * i
    for a, b in zip(xs, ys):
        s = s + a * b
    return s


def list_literal(x, y):
    vs = [x, y, x * y]
    t = (y, x)
    return vs[0] * vs[2] + vs[1] * t[1] - t[0]


def list_mutation(x):
    ys = [0.0] * 4
    for i in range(4):
        ys[i] = x * (i + 1)
    for i in range(1, 4):
        ys[i] = ys[i] + ys[i - 1] * x
    return ys[3]


def list_accumulate(xs):
    acc = [0.0, 0.0]
    for k in range(len(xs)):
        acc[k % 2] += xs[k] * xs[k]
    return acc[0] - acc[1]


def stack_of_states(x, k):
    # a list built by append, read back by pop
    states = [x]
    for i in range(5):
        states.append(states[-1] * math.cos(k * i) + 0.1 * x)
    total = 0.0
    while len(states) > 2:
        total = total + states.pop() * states[-1]
    return total + sum(states)


def weighted_dict(x, y):
    w = {"a": x, "b": y * y}
    w["c"] = w["a"] * w["b"]
    s = 0.0
    for name, v in w.items():
        s = s + v * w.get(name, 1.0)
    return s


def shared_buffer(x, y):
    buf = [x, y, x * y]
    view = buf  # the same list under another name
    view[0] = y * 3.0
    return buf[0] * buf[2] + view[1]


def comprehensions(xs, w):
    ys = [math.sin(v) * w for v in xs]
    pairs = [xs[k] * ys[k] for k in range(len(xs))]
    return sum(v * v for v in ys) + sum(pairs) + sum(xs)


# --- calls, globals, closures --------------------------------------------------------------------

def helper(a, b=2.0, scale=1.0):
    return scale * (a * a + math.sin(b))


def calls_kwargs(x, y):
    return helper(x) + helper(y, b=x) + helper(x, scale=y, b=0.5)


def inner(a):
    return math.exp(a) * a


def middle(a, b):
    return inner(a) * b + inner(b)


def nested_calls(x, y):
    return middle(x, y) + middle(y, 1.5)


def pair(a, b):
    return a * b, a + b


def tuple_from_call(x, y):
    p, q = pair(x, y)
    return p * q


def call_in_loop(x):
    s = 0.0
    for i in range(5):
        s = s + inner(x * i * 0.1) * helper(s)
    return s


def globals_read(x):
    return x * SCALE + OFFSETS[1] * x * x + OFFSETS[0]


def make_closure(k):
    def scaled(x):
        return math.sin(k * x) * k
    return scaled


closed = make_closure(2.5)


def inactive_calls(x, xs):
    n = len(xs)
    r = random.Random(n).random()
    return x * n + r * x * x + max(xs) * x


def inactive_param(x, n):
    s = 0.0
    for i in range(n):
        s = s + x / (i + 1)
    return s


def list_grad(xs):
    return xs[0] * xs[1] + math.sin(xs[2]) * len(xs)


# --- real programs ------------------------------------------------------------------------

def pendulum(theta0):
    theta = theta0
    omega = 0.0
    t = 0.0
    dt = 0.01
    while t < 1.0:
        omega = omega - 9.81 * math.sin(theta) * dt
        theta = theta + omega * dt
        t = t + dt
    return theta


def newton_sqrt(a):
    x = a
    for _ in range(30):
        x_new = 0.5 * (x + a / x)
        if abs(x_new - x) < 1e-12:
            x = x_new
            break
        x = x_new
    return x


def piecewise(x):
    s = 0.0
    for i in range(50):
        u = x + 0.1 * i
        if u < 0:
            s = s + u * u
        elif u < 2:
            s = s + math.sin(u)
        else:
            s = s + math.log(u)
    return s


def sin_sum(x):
    s = 0.0
    for i in range(1000):
        s = s + math.sin(x * i) * x
    return s


def _star_helper(a, b, c=1.0):
    return a * b + c * a


def starred_calls(x, y):
    # starred arguments whose length the source shows, ** of a dict display, and a starred
    # assignment target
    args = (x, y)
    kw = {"c": y}
    first, *rest = [x, y, x * y]
    return _star_helper(*args) + _star_helper(*[y, x], c=2.0) + _star_helper(x, y, **kw) + \
        first * rest[-1] + sum(rest)


def _pair(u, v):
    return u * v, u - v


def starred_by_kinds(x, y):
    # starred tuples whose length only their kinds tell: a helper's result, tuple(list)
    t = _pair(x, y)
    both = tuple([y, x * 0.5])
    return _star_helper(*t) + _star_helper(x, *both) + math.atan2(*t)


def _squares(*args):
    s = 0.0
    for a in args:
        s = s + a * a
    return s


def _options(x, *rest, k=2.0, **kw):
    return x * k + sum(rest) * kw["c"] + kw.get("shift", 0.0)


def variadic_helpers(x, y):
    # helpers taking *args and **kwargs: each call's extra arguments as a tuple and a dict
    return _squares(x, y, 3.0) + _squares() + _options(x, y, x, c=y) + \
        _options(y, k=x, c=2.0, shift=x * y)


def closure_factory(x, k):
    # a closure returned by a function defined here (what it captures is fixed when it is
    # made: k rebound afterwards does not change it), and a def bound to a second name
    def make(c):
        d = c * 2.0

        def h(y):
            return d * math.sin(y) + c

        return h

    def scale(y):
        return k * y

    h = make(k)
    op = scale
    k = 3.0 * k
    return h(x) * k + op(x)


def extremes_of_a_list(x, y):
    # max and min of a list and of a tuple: the cotangent goes to the item picked
    xs = [x * 2.0, y, x * y]
    return max(xs) * x + min((x, y - 0.25)) ** 2


def recursive_power_sum(x, n):
    # recursion: the generated adjoint calls itself
    if n == 0:
        return 1.0
    return 1.0 + x * recursive_power_sum(x, n - 1)


def _ping(x, n):
    if n <= 0:
        return x
    return math.sin(_pong(x * 1.1, n - 1)) + x


def _pong(x, n):
    return _ping(x, n) * 0.5 + x * x * 0.1


def mutual_recursion(x, n):
    return _ping(x, n) * x


def negative_base_power(x):
    # (-1.0) ** k: a negative constant as the base of ** (printed bare, the generated code
    # read -(1.0 ** k): wrong values, found by GradBench's det)
    s = 0.0
    for k in range(4):
        s = s + (-1.0) ** k * x ** (k + 1) + (-2) ** k * 0.1
    return s * (-0.5) ** 2


def insert_then_read(x, y):
    # the cotangent list's pop (undoing the insert) must come before reading its items: tidy
    # once merged it into a later sum, past bx += bt[0] (fuzz seed 339: a wrong gradient)
    t = [x, y]
    t.insert(0, y)
    if x > 100.0:
        y = 2.0 * x
    return t[-2] * 3.0 + y


F = (-3.0, 3.0)
POS = (0.2, 4.0)
UNIT = (-0.9, 0.9)

PROGRAMS = [
    (poly, [F], [0]),
    (starred_calls, [F, F], [0, 1]),
    (starred_by_kinds, [F, F], [0, 1]),
    (variadic_helpers, [F, F], [0, 1]),
    (closure_factory, [F, F], [0, 1]),
    (extremes_of_a_list, [F, F], [0, 1]),
    (negative_base_power, [F], [0]),
    (insert_then_read, [F, F], [0, 1]),
    (recursive_power_sum, [(-1.5, 1.5), (0, 6, "int")], [0]),
    (mutual_recursion, [F, (0, 5, "int")], [0]),
    (arith, [F, F], [0, 1]),
    (floordiv_mod, [F, (0.5, 3.0)], [0, 1]),
    (unary, [F, F], [0, 1]),
    (power_var, [POS, F], [0, 1]),
    (abs_min_max, [F, F], [0, 1]),
    (compare_ifexp, [F, F], [0, 1]),
    (boolops, [F, F], [0, 1]),
    (chained, [F], [0]),
    (not_op, [F], [0]),
    (augassign, [F, POS], [0, 1]),
    (swap, [(-1.0, 1.0), (-1.0, 1.0)], [0, 1]),
    (multi_target, [F], [0]),
    (trig, [F], [0]),
    (exp_log, [F, POS], [0, 1]),
    (roots, [F, POS], [0, 1]),
    (hyperbolic, [F], [0]),
    (inverse_trig, [UNIT, F], [0, 1]),
    (erf_fabs, [F], [0]),
    (constants, [POS], [0]),
    (float_int, [F, (0.0, 5.0)], [0]),
    (more_math, [POS], [0]),
    (if_elif, [(-3.0, 6.0)], [0]),
    (range_step, [F], [0]),
    (range_negative_step, [F], [0]),
    (data_dependent_stop, [F, (0.0, 6.0)], [0]),
    (loop_over_list, [("list", 4, -3.0, 3.0)], [0]),
    (loop_over_tuple, [F, F], [0, 1]),
    (while_halving, [F], [0]),
    (break_in_for, [F], [0]),
    (continue_in_for, [F], [0]),
    (return_in_loop, [(0.1, 2.0)], [0]),
    (return_in_branch, [F, F], [0, 1]),
    (nested_loops, [F], [0]),
    (nested_break, [F], [0]),
    (while_break, [F], [0]),
    (while_continue, [F], [0]),
    (reassign, [F], [0]),
    (enumerate_zip, [("list", 3, -2.0, 2.0), ("list", 3, -2.0, 2.0)], [0, 1]),
    (list_literal, [F, F], [0, 1]),
    (list_mutation, [F], [0]),
    (stack_of_states, [F, F], [0, 1]),
    (weighted_dict, [F, F], [0, 1]),
    (shared_buffer, [F, F], [0, 1]),
    (list_accumulate, [("list", 5, -2.0, 2.0)], [0]),
    (comprehensions, [("list", 4, -2.0, 2.0), F], [0, 1]),
    (calls_kwargs, [F, F], [0, 1]),
    (nested_calls, [(-2.0, 2.0), (-2.0, 2.0)], [0, 1]),
    (tuple_from_call, [F, F], [0, 1]),
    (call_in_loop, [(-1.0, 1.0)], [0]),
    (globals_read, [F], [0]),
    (closed, [F], [0]),
    (inactive_calls, [F, ("list", 3, -2.0, 2.0)], [0]),
    (inactive_param, [F, (0, 6, "int")], [0]),
    (list_grad, [("list", 3, -2.0, 2.0)], [0]),
    (pendulum, [(-1.0, 1.0)], [0]),
    (newton_sqrt, [(0.5, 50.0)], [0]),
    (piecewise, [F], [0]),
    (sin_sum, [(-1.0, 1.0)], [0]),
]
