"""The Wasm runtime under load and odd input: threads, an exhausted tape, Ctrl-C, assert,
numbers that do not fit; each process-level case runs in a subprocess, so that an abort or
a hang fails the test instead of the run."""

import math
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import s2sad
from s2sad import S2SADError, wasm

HERE = Path(__file__).resolve().parent


def checked(x):
    y = x * x
    assert y < 10.0, f"too big: {y}"
    return y * x


def run_file(tmp_path, source: str, *flags: str, timeout: float = 120):
    """Run ``source`` as a script file (s2sad reads sources from files) in a new process."""
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(source))
    return subprocess.run([sys.executable, *flags, str(script)], capture_output=True,
                          text=True, timeout=timeout, cwd=tmp_path)


def test_one_wasm_gradient_called_from_eight_threads():
    """8 threads x 2,000 calls on one gradient object (scalars and arrays), twice: no wrong
    result, no error, no abort (the process exits 0)."""
    for _ in range(2):
        out = subprocess.run([sys.executable, str(HERE / "wasm_threads.py"), "8", "2000"],
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stdout + out.stderr[-2000:]
        assert "calls=16000 wrong=0 errors=0" in out.stdout


@pytest.mark.parametrize("backend", ["python", "wasm"])
def test_assert_keeps_its_meaning(backend):
    g = s2sad.grad(checked, backend=backend)
    assert g(2.0) == pytest.approx(12.0)
    with pytest.raises(AssertionError, match="too big: 25.0"):
        g(5.0)
    assert g(1.5) == pytest.approx(6.75)  # and the next call is fine
    vg = s2sad.value_and_grad(checked, backend=backend)
    with pytest.raises(AssertionError, match="too big"):
        vg(4.0)


def test_vjp_keeps_assert():
    with pytest.raises(AssertionError, match="too big: 16.0"):
        s2sad.vjp(checked, 4.0)


def test_the_wasm_module_keeps_the_assert():
    text = wasm.grad(checked).source()
    assert ";; assert (line" in text and "(i32.const 3)" in text


def test_assert_is_dropped_under_python_O(tmp_path):
    source = """
        import s2sad

        def checked(x):
            y = x * x
            assert y < 10.0, "too big"
            return y * x

        print(s2sad.grad(checked, backend="wasm")(5.0), s2sad.grad(checked)(5.0))
    """
    plain = run_file(tmp_path, source)
    assert plain.returncode != 0 and "AssertionError: too big" in plain.stderr
    optimized = run_file(tmp_path, source, "-O")
    assert optimized.returncode == 0, optimized.stderr
    assert optimized.stdout.split() == ["75.0", "75.0"]


def test_integers_beyond_64_bits_are_refused_with_a_message():
    def f(x, n):
        return x * n

    g = s2sad.grad(f, backend="wasm")
    assert g(1.5, 3) == pytest.approx(3.0)
    with pytest.raises(S2SADError, match="more than 64 bits"):
        g(1.5, 2 ** 70)
    assert g(1.5, 4) == pytest.approx(4.0)
    assert s2sad.grad(f)(1.5, 2 ** 70) == 2 ** 70  # (the Python backend takes it)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
@pytest.mark.parametrize("backend", ["wasm", "python"])
def test_ctrl_c_stops_a_running_gradient(tmp_path, backend):
    """An endless loop under SIGINT: KeyboardInterrupt within a second, and the gradient
    works again afterwards."""
    script = textwrap.dedent(f"""
        import sys, time
        import s2sad

        def spin(x, stop):
            k = 0
            while k != stop:  # endless for stop = -1
                k = k + 1
            return x * x + k

        g = s2sad.grad(spin, backend="{backend}")
        print("warm", g(3.0, 5), flush=True)
        try:
            g(3.0, -1)
            print("finished?!", flush=True)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
        print("again", g(2.0, 5), flush=True)
    """)
    (tmp_path / "spin.py").write_text(script)
    proc = subprocess.Popen([sys.executable, str(tmp_path / "spin.py")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        first = proc.stdout.readline()
        assert first.startswith("warm 6.0"), first + proc.stderr.read()
        time.sleep(0.5)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
        elapsed = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out + err
    assert out.split("\n")[:2] == ["interrupted", "again 4.0"], out + err
    assert elapsed < 5.0


def test_a_program_exits_quietly_with_modules_still_cached(tmp_path):
    """Modules and stores still held at exit (a jvp's module is cached with its function)
    are freed while wasmtime is loaded: no "Exception ignored in ... __del__" on stderr (it
    showed under pytest, whose modules are torn down in another order than a script's)."""
    (tmp_path / "test_quiet.py").write_text(textwrap.dedent("""
        import math
        import s2sad

        def f(x, y):
            return math.sin(x) * y

        def test_wasm_jvp():
            value, tangent = s2sad.jvp(f, (0.3, 2.0), (1.0, 0.0), backend="wasm")
            assert tangent == 2.0 * math.cos(0.3)
    """))
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "-p", "no:xdist", "-p", "no:randomly", "test_quiet.py"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Exception ignored" not in out.stdout + out.stderr, out.stdout + out.stderr


def test_tape_exhaustion_recovers_and_frees_its_memory(monkeypatch):
    from s2sad import wasm_runtime

    def grows(x):
        y = x
        while y > 0.5:  # for x > 1 the loop never ends
            y = y * y
        return y

    monkeypatch.setattr(wasm_runtime, "memory_limit", 8 * 65536)
    g = wasm.grad(grows)
    assert g(0.9) == pytest.approx(s2sad.grad(grows)(0.9))
    for _ in range(3):
        with pytest.raises(S2SADError, match="tape is exhausted"):
            g(2.0)
        assert g(0.9) == pytest.approx(s2sad.grad(grows)(0.9))
    spec = next(iter(g.specialized.values()))
    inst = spec.compiled.instance()
    assert inst.memory.data_len(inst.store) < 8 * 65536  # a fresh instance, not the full one


def test_the_32_bit_address_space_is_the_default_limit():
    text = wasm.grad(checked).source()
    assert '(memory (export "memory") 1 65535)' in text  # so memory.size << 16 fits in i32


def test_numbers_in_arrays_and_gradients_agree_with_python_after_recovery(monkeypatch):
    from s2sad import wasm_runtime

    def horner(c, x):
        s = 0.0
        for i in range(c.shape[0]):
            s = s * x + c[i]
        return s

    monkeypatch.setattr(wasm_runtime, "memory_limit", 4 * 65536)
    g = wasm.grad(horner, wrt=(0, 1))
    small = np.linspace(-1, 1, 50)
    with pytest.raises(S2SADError):
        g(np.ones(200_000), 0.5)  # the arguments do not fit: refused, not overwritten
    gc, gx = g(small, 0.3)
    pc, px = s2sad.grad(horner, wrt=(0, 1))(small, 0.3)
    assert np.allclose(gc, pc, rtol=1e-12) and math.isclose(gx, px, rel_tol=1e-12)
