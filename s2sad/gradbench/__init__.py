"""A GradBench tool (https://github.com/gradbench/gradbench): ``python -m s2sad.gradbench``
speaks GradBench's protocol -- JSON lines on stdin, one response per message on stdout --
with the evals s2sad runs listed in ``evals.txt``, each a module of this package written the
way the other Python tools write theirs (their JAX/PyTorch code as NumPy).

Each module defines its functions as ``name(input) -> (output, timings)`` through
``timed`` (one timing per run, ``min_runs`` / ``min_seconds`` honoured) and a ``warm_up()``
that ``define`` calls: the transformation happens there, not in the first timed run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def timed(prepare: Callable[[Any], Any], finish: Callable[[Any], Any],
          repeated: bool = True) -> Callable:
    """A GradBench function from ``f(prepared input)``: the input made by ``prepare``, the
    output by ``finish``; run ``min_runs`` times and for ``min_seconds`` at least (once when
    not ``repeated``), one ``evaluate`` timing per run."""

    def decorator(f: Callable[[Any], Any]) -> Callable[[Any], tuple[Any, list]]:
        def run(raw: Any) -> tuple[Any, list]:
            data = prepare(raw)
            min_runs = raw.get("min_runs", 1) if repeated and isinstance(raw, dict) else 1
            min_seconds = raw.get("min_seconds", 0.0) if repeated and isinstance(raw, dict) \
                else 0.0
            timings: list = []
            elapsed = 0.0
            while len(timings) < min_runs or elapsed < min_seconds:
                start = time.perf_counter_ns()
                out = f(data)
                end = time.perf_counter_ns()
                timings.append({"name": "evaluate", "nanoseconds": end - start})
                elapsed += (end - start) / 1e9
            return finish(out), timings

        run.__name__ = f.__name__
        return run

    return decorator
