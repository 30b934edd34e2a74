"""``python -m s2sad.gradbench``: the GradBench protocol on stdin/stdout (see __init__)."""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback
from collections.abc import Iterable, Iterator
from pathlib import Path

EVALS = (Path(__file__).with_name("evals.txt")).read_text().split()


def respond(message: dict, modules: dict) -> dict:
    """The response to one message of the protocol."""
    kind = message.get("kind")
    response: dict = {"id": message["id"]}
    if kind == "start":
        response["tool"] = "s2sad"
    elif kind == "define":
        name = message["module"]
        if name not in EVALS:
            response.update(success=False, error=f"s2sad has no module {name!r}")
            return response
        try:
            start = time.perf_counter_ns()
            module = modules[name] = importlib.import_module(f"s2sad.gradbench.{name}")
            module.warm_up()  # (the transformation runs here, not in a timed run)
            response.update(success=True, timings=[
                {"name": "prepare", "nanoseconds": time.perf_counter_ns() - start}])
        except Exception as exc:  # noqa: BLE001 (reported to the eval)
            response.update(success=False, error="".join(traceback.format_exception(exc)))
    elif kind == "evaluate":
        try:
            module = modules.get(message["module"])
            if module is None:
                raise KeyError(f"module {message['module']!r} was not defined")
            function = getattr(module, message["function"])
            output, timings = function(message["input"])
            response.update(success=True, output=output, timings=timings)
        except Exception as exc:  # noqa: BLE001
            response.update(success=False, error="".join(traceback.format_exception(exc)))
    return response


def serve(lines: Iterable[str]) -> Iterator[str]:
    """One JSON response line per JSON message line."""
    modules: dict = {}
    for line in lines:
        if line.strip():
            yield json.dumps(respond(json.loads(line), modules))


def main() -> int:
    for out in serve(sys.stdin):
        print(out, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
