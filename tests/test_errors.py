"""Refusals: every unsupported construct raises S2SADError at transformation time, naming the
construct, the user's file and line, the source line and a hint."""

import inspect
import math
import os

import numpy as np
import pytest
import refused

import s2sad
from s2sad import S2SADError

CASES = [
    (refused.uses_try, "try", "try:"),
    (refused.uses_with, "with", 'with open("f") as fh:'),
    (refused.uses_yield, "yield", "yield x * 2"),
    (refused.uses_global, "global", "global TABLE"),
    (refused.uses_del, "del", "del y"),
    (refused.uses_nested_class, "class", "class A:"),
    (refused.uses_lambda, "lambda", "return sum(map(lambda t: t * 2, [x]))"),
    (refused.mutates_global, "mutation of global 'TABLE'", "TABLE[0] = x"),
    (refused.unknown_call, "no derivative rule for numpy.i0", "return np.i0(x) * x"),
    (refused.unknown_builtin_call, "no derivative rule for math.gamma",
     "return math.gamma(x) + x"),
    (refused.comprehension, "comprehension with a condition",
     "return sum([v * v for v in xs if v > 0])"),
    (refused.opaque_change, "may change 'xs', which carries derivatives",
     "bisect.insort(xs, 0.5)"),
    (refused.takes_a_gradient_inside, "s2sad.grad(..., backend=...) inside",
     "return s2sad.grad(_inner, backend=\"wasm\")(x) * x"),
    (refused.calls_a_wasm_gradient_inside, "a derivative taken inside",
     "return D_INNER(x) + x"),
]


def line_of(text):
    lines = inspect.getsource(refused).splitlines()
    return [k + 1 for k, line in enumerate(lines) if line.strip() == text][0]


@pytest.mark.parametrize("f,what,line", CASES, ids=[c[0].__name__ for c in CASES])
def test_refusal_names_construct_file_line_and_hint(f, what, line):
    with pytest.raises(S2SADError) as info:
        s2sad.grad(f)
    err = info.value
    assert what in err.what
    assert err.filename == refused.__file__
    assert err.lineno == line_of(line), str(err)
    assert err.source_line.strip() == line
    assert err.hint
    message = str(err)
    assert f"{os.path.basename(refused.__file__)}:{err.lineno}" in message
    assert line in message and "hint:" in message


def test_unknown_function_hint_names_adjoint():
    with pytest.raises(S2SADError) as info:
        s2sad.grad(refused.unknown_call)
    assert "s2sad.adjoint" in info.value.hint


def test_lambda_is_read_from_its_line_and_builtin_refused_clearly():
    assert s2sad.grad(lambda x: x * x * 2)(1.5) == 6.0
    pair = (lambda x: x * 2, lambda x: x * 3)  # (which one? refused, with the line)
    with pytest.raises(S2SADError, match="several lambdas") as info:
        s2sad.grad(pair[1])
    assert info.value.lineno == pair[1].__code__.co_firstlineno
    with pytest.raises(S2SADError, match="builtin"):
        s2sad.grad(math.sin)


def test_syntax_error_in_the_source(tmp_path):
    path = tmp_path / "broken_mod.py"
    path.write_text("def f(x):\n    return x * 2\n")
    import importlib.util
    import linecache

    spec = importlib.util.spec_from_file_location("broken_mod", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    path.write_text("def f(x):\n    return x *\n")  # the file changed on disk since import
    linecache.checkcache(str(path))
    with pytest.raises(S2SADError) as info:
        s2sad.grad(mod.f)
    assert "syntax error" in info.value.what
    assert info.value.filename == str(path) and info.value.lineno == 2


def test_errors_come_before_the_gradient_is_called():
    # raised by grad() itself, not by calling its result
    with pytest.raises(S2SADError):
        s2sad.grad(refused.uses_try)


def test_bad_wrt():
    def f(x, y):
        return x * y

    with pytest.raises(S2SADError, match="not a parameter"):
        s2sad.grad(f, wrt="z")
    with pytest.raises(S2SADError, match="out of range"):
        s2sad.grad(f, wrt=5)


def test_arguments_the_function_writes_into_are_copied_lists_and_arrays_alike():
    import numpy as np

    g = s2sad.grad(refused.mutates_argument)
    xs = [1.0, 2.0]
    assert g(xs) == [0.0, 1.0]  # xs[0] is overwritten: no gradient flows to it
    assert xs == [1.0, 2.0]  # the caller's list is untouched
    xs = np.array([1.0, 2.0])
    assert list(g(xs)) == [0.0, 1.0]
    assert list(xs) == [1.0, 2.0]  # the caller's array is untouched
    ys = [3.0, 4.0]
    assert s2sad.grad(refused.appends_to_argument)(ys) == [1.0, 0.0]
    assert ys == [3.0, 4.0]


def _module(tmp_path, name, source):
    import importlib.util

    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod, str(path)


def _nested(depth):
    e = "x"
    for k in range(depth):
        e = f"(1.0 + x * {e})" if k % 2 else f"math.sin({e})"
    return e


def test_deep_expressions_work_or_are_refused_with_their_line(tmp_path):
    from s2sad.testing import numerical_grad

    mod, path = _module(tmp_path, "deep_expr", "import math\n\n\ndef ok(x):\n"
                        f"    return {_nested(60)}\n\n\ndef deep(x):\n"
                        f"    y = x * 2.0\n    return {_nested(150)}\n")
    g = s2sad.grad(mod.ok)(0.3)
    assert g == pytest.approx(numerical_grad(mod.ok, (0.3,), 0), rel=1e-6)
    with pytest.raises(S2SADError, match="nested too deeply") as info:
        s2sad.grad(mod.deep)
    assert info.value.filename == path and info.value.lineno == 10
    assert info.value.source_line.strip().startswith("return (1.0 + x * math.sin(")


def test_long_call_chains_work_or_are_refused_at_the_first_call(tmp_path):
    def chain(prefix, n):
        out = []
        for k in range(n - 1):
            out.append(f"def {prefix}{k}(x):\n    return {prefix}{k + 1}(x) * 1.01\n\n")
        out.append(f"def {prefix}{n - 1}(x):\n    return math.sin(x)\n\n")
        return "".join(out)

    mod, path = _module(tmp_path, "chains", "import math\n\n" + chain("a", 30)
                        + chain("b", 200))
    assert s2sad.grad(mod.a0)(0.4) == pytest.approx(1.01 ** 29 * math.cos(0.4), rel=1e-12)
    with pytest.raises(S2SADError, match="calls nested too deeply") as info:
        s2sad.grad(mod.b0)
    assert info.value.filename == path
    assert info.value.source_line.strip() == "return b1(x) * 1.01"
    assert "b0 -> b1" in info.value.what


def test_refusals_name_the_users_expression_not_a_temporary():
    def holds_an_array(a, x):
        c = np.linalg.solve(np.outer(a, a) + np.eye(3), a)
        return c[0] * x

    import numpy as np

    with pytest.raises(S2SADError) as info:
        s2sad.wasm.grad(holds_an_array, wrt=(0, 1))(np.ones(3), 0.5)
    text = str(info.value)
    assert "np.solve" in text and "c = np.linalg.solve(np.outer(a, a) + np.eye(3), a)" in \
        text and "_t" not in text


def test_unbounded_recursion_is_a_clear_error_not_a_raw_traceback():
    # recursion is differentiated (the adjoint calls itself); one without a base case runs
    # into Python's recursion limit, reported as such
    with pytest.raises(S2SADError, match="recursion limit") as info:
        s2sad.grad(refused.ping)(1.0)
    assert "setrecursionlimit" in info.value.hint
    assert s2sad.grad(refused.recursive)(0.5, 3) == 8.0


def array_code_with_an_unknown_function(x, m):
    return float(np.sum(m @ m.T)) + float(np.sum(np.unwrap(x)))


def test_the_refusal_for_array_code_names_what_arrays_meet():
    """grad() transforms at once for the kinds the source suggests; when it shows arrays
    (m.T) and both guesses are refused, the arrays' refusal is the one reported -- the
    function without a rule, not 'the attribute .T of a number'."""
    with pytest.raises(S2SADError) as info:
        s2sad.grad(array_code_with_an_unknown_function)
    assert "numpy.unwrap" in info.value.what and "unwrap" in info.value.source_line


def test_a_refusal_made_before_the_arguments_names_what_they_meet(tmp_path):
    # grad(f) tries the kinds f's source suggests; refused differently for numbers (.std() of
    # a number) and for arrays, it waits for the arguments: the refusal names np.unwrap, the
    # construct the real ones meet (it named .std(), found by tests/array_fuzz.py)
    import importlib.util

    import numpy as np

    path = tmp_path / "guessed.py"
    path.write_text("import numpy as np\n\n\ndef f(X, v):\n    t = np.hypot(X, 1.0)\n"
                    "    r = t.std(axis=-1)\n    return np.mean(r) + np.sum(np.unwrap(v))\n")
    spec = importlib.util.spec_from_file_location("guessed", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    g = s2sad.grad(module.f, wrt=(0, 1))
    with pytest.raises(S2SADError) as info:
        g(np.ones((2, 3)), np.ones(3))
    assert "numpy.unwrap" in info.value.what and info.value.lineno == 7
