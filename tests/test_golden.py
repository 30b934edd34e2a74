"""Golden files of generated source, so that readability changes show up in review.

Regenerate after an intended change with ``S2SAD_UPDATE_GOLDEN=1 python -m pytest
tests/test_golden.py`` and read the diff.
"""

import os
import sys
from pathlib import Path

import numpy as np
import programs as P
import pytest

import s2sad

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
import billiards  # noqa: E402
import springs  # noqa: E402

GOLDEN = Path(__file__).parent / "golden"
CASES = {
    "sin_sum": (P.sin_sum, 0),
    "newton_sqrt": (P.newton_sqrt, 0),
    "while_halving": (P.while_halving, 0),
    "return_in_branch": (P.return_in_branch, (0, 1)),
    "list_mutation": (P.list_mutation, 0),
    "nested_calls": (P.nested_calls, (0, 1)),
    "pendulum": (P.pendulum, 0),
    "break_in_for": (P.break_in_for, 0),
    "stack_of_states": (P.stack_of_states, (0, 1)),
    "weighted_dict": (P.weighted_dict, (0, 1)),
    "shared_buffer": (P.shared_buffer, (0, 1)),
    # element-wise array loops (specialized at the first call, for these arguments)
    "spring_chain": (springs.chain, (0, 1), (1.5, np.linspace(0.0, 1.0, 30) ** 2)),
    "billiards": (billiards.shoot, (0, 1), (2.0, 0.05, billiards.rack())),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_source_matches_golden_file(name):
    f, wrt, *args = CASES[name]
    g = s2sad.grad(f, wrt=wrt)
    if args:
        g(*args[0])
    source = g.source
    path = GOLDEN / f"{name}.py"
    if os.environ.get("S2SAD_UPDATE_GOLDEN"):
        path.write_text(source)
    assert path.exists(), f"missing golden file {path}; run with S2SAD_UPDATE_GOLDEN=1"
    assert source == path.read_text()
