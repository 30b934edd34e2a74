"""reverse.py: the structure of the generated code (what is taped, what gets an adjoint)."""

import math
import re

import s2sad


def src(f, wrt=0):
    return s2sad.grad(f, wrt=wrt).source


def two(x, y):
    return x * y + math.sin(x)


def test_no_adjoint_for_an_input_not_in_wrt():
    code = src(two, 0)
    assert "bx" in code and "by" not in code


def test_straight_line_code_has_no_tape():
    assert "_stack" not in src(two, (0, 1))


def accumulate(x, n):
    s = 0.0
    for i in range(n):
        s = s + x * i
    return s


def test_loop_that_overwrites_nothing_needed_pushes_nothing():
    code = src(accumulate)
    assert "_stack" not in code, code
    assert "for i in reversed(range(n))" in code
    assert "bi" not in code and "bn" not in code


def sin_loop(x):
    s = 0.0
    for i in range(100):
        s = s + math.sin(x * i) * x
    return s


def test_one_push_per_iteration_and_no_counter_push_for_range():
    code = src(sin_loop)
    fwd, bwd = code.split("# adjoint sweep")
    assert fwd.count("_stack.append") == 1
    assert bwd.count("_stack.pop()") == 1
    assert "_trips" not in code


def halving(x):
    while x > 1.0:
        x = x * 0.5
    return x


def test_while_loop_pushes_its_trip_count():
    code = src(halving)
    fwd, bwd = code.split("# adjoint sweep")
    assert re.search(r"_stack\.append\((len\(_stack\) - _height|_trips)\)", fwd), code
    assert "for _ in range(_stack.pop())" in bwd


def branchy(x):
    s = 0.0
    for i in range(10):
        if x * i > 1:
            s = s + x
        else:
            s = s * x
    return s


def test_branch_condition_is_taped_inside_a_loop():
    code = src(branchy)
    fwd, bwd = code.split("# adjoint sweep")
    assert "_stack.append" in fwd and "if " in bwd


def outside_branch(x):
    if x > 0:
        y = x * x
    else:
        y = -x
    return y


def test_branch_outside_loops_needs_no_tape():
    code = src(outside_branch)
    assert "_stack" not in code
    assert code.count("if ") == 2  # the forward branch and its mirror


def overwrite(x):
    y = x * 2
    y = math.sin(y)
    return y * x


def test_overwritten_value_outside_loops_is_kept_in_a_local():
    code = src(overwrite)
    assert "_stack" not in code and "_old_y = y" in code


def test_generated_names_are_readable():
    code = src(sin_loop)
    assert "def sin_loop_grad(x, b_out=1.0):" in code
    assert re.search(r"\bbx\b", code) and re.search(r"\bbs\b", code)
    assert "# adjoint sweep" in code and "# reversed loop from line" in code
