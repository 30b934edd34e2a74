"""parse.py and lower.py: the IR after normalization."""

import math

import gast

from s2sad.parse import is_atom, parse_function


def body_source(f) -> str:
    return gast.unparse(gast.Module(body=parse_function(f).body, type_ignores=[]))


def flat_expressions(stmts):
    for s in stmts:
        if isinstance(s, gast.Assign):
            yield s.value
        for field in ("body", "orelse"):
            yield from flat_expressions(getattr(s, field, []))


def nested(x, y):
    return math.sin(x * y + 1.0) / (x - y) ** 2


def test_every_expression_is_one_operation_on_atoms():
    fir = parse_function(nested)
    for value in flat_expressions(fir.body):
        for child in gast.iter_child_nodes(value):
            if isinstance(child, gast.expr) and not isinstance(child, gast.Attribute):
                assert is_atom(child) or isinstance(child, gast.Name), gast.dump(value)


def swap(a, b):
    a, b = b, a * b
    return a


def test_swap_evaluates_the_right_side_first():
    src = body_source(swap)
    # a * b is computed before a is overwritten, and b gets the product, not the new a
    assert src.index("_t1 = a * b") < src.index("a = b")
    assert "b = _t1" in src


def aug(x):
    s = x
    s += x
    s *= 2
    return s


def test_augmented_assignment_is_lowered():
    src = body_source(aug)
    assert "s = s + x" in src and "s = s * 2" in src and "+=" not in src


def chain(x):
    return 0 < x < 1


def test_chained_comparison_evaluates_the_middle_once():
    src = body_source(chain)
    assert "_t1 = 0 < x" in src and "if _t1:" in src and "_t1 = x < 1" in src


def early(x):
    for i in range(10):
        if x > i:
            return x * i
    return -x


def test_early_return_in_a_loop_becomes_flags():
    src = body_source(early)
    assert "_returned = True" in src and "break" in src
    assert src.strip().endswith("return _ret")
    fir = parse_function(early)
    # the only break left is the exit check at the end of the loop body
    loop = [s for s in fir.body if isinstance(s, gast.For)][0]
    last = loop.body[-1]
    assert isinstance(last, gast.If) and isinstance(last.body[0], gast.Break)


def branch_return(x):
    if x > 0:
        return x
    y = x * x
    return y


def test_return_in_a_branch_needs_no_flag():
    src = body_source(branch_return)
    assert "_returned" not in src
    assert "else:" in src


def plain(x):
    y = x * 2
    return y


def test_simple_functions_are_left_as_written():
    assert body_source(plain).strip() == "y = x * 2\nreturn y"


def test_nodes_keep_the_users_line_numbers():
    fir = parse_function(nested)
    import inspect

    first = inspect.getsourcelines(nested)[1]
    assert all(fir.line_of(s) == first + 1 for s in fir.body)


def loops(xs):
    s = 0.0
    for i, v in enumerate(xs):
        s = s + v * i
    return s


def test_for_over_a_sequence_becomes_an_index_loop():
    src = body_source(loops)
    assert "for i in range(" in src and "v = xs[i]" in src
