"""The code base stays ruff-clean (run as part of the test command)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff is not installed")
def test_ruff_clean():
    dirs = [d for d in ("s2sad", "tests", "examples", "bench") if (ROOT / d).exists()]
    result = subprocess.run([sys.executable, "-m", "ruff", "check", *dirs], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
