"""Run a GradBench eval against the s2sad tool without docker: ``python -m
s2sad.gradbench.pipe -- python -m gradbench.evals.lse.run --min-seconds 0`` starts the eval
command and the tool (``python -m s2sad.gradbench``), passes each message of the eval to the
tool and each response back, and reports the eval's analyses: how many outputs its validator
accepted, and why it refused the others.  Run it where the eval expects to run (GradBench's
checkout, for the evals that read data files or build the golden C++ tool)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence


def pipe(eval_command: Sequence[str], cwd: str | None = None,
         out=sys.stdout) -> tuple[int, int, int]:
    """Run ``eval_command`` against the tool; ``(accepted, refused, failed)``: the outputs
    the eval's validator accepted and refused, and the messages the tool failed on."""
    tool = subprocess.Popen([sys.executable, "-m", "s2sad.gradbench"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    ev = subprocess.Popen(list(eval_command), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          text=True, cwd=cwd)
    accepted = refused = failed = 0
    try:
        for line in ev.stdout:
            message = json.loads(line)
            kind = message.get("kind")
            if kind == "analysis":
                if message.get("valid"):
                    accepted += 1
                else:
                    refused += 1
                    print(f"refused (message {message.get('of')}): {message.get('error')}",
                          file=out)
            if kind == "end":
                break
            tool.stdin.write(line)
            tool.stdin.flush()
            response = tool.stdout.readline()
            if not response:
                raise RuntimeError("the tool stopped answering")
            if json.loads(response).get("success") is False:
                failed += 1
                print(f"failed (message {message.get('id')}): "
                      f"{json.loads(response).get('error')}", file=out)
            ev.stdin.write(response)
            ev.stdin.flush()
    finally:
        for process in (ev, tool):
            if process.stdin:
                process.stdin.close()
            process.wait()
    return accepted, refused, failed


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print("usage: python -m s2sad.gradbench.pipe -- <eval command...>", file=sys.stderr)
        return 2
    accepted, refused, failed = pipe(argv)
    print(f"{accepted} outputs accepted, {refused} refused, {failed} messages failed")
    return 0 if not refused and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
