"""Long loops in bounded memory: run ``python -m bench.memory`` (``--quick``: up to 10^6).

For the sin loop and a pendulum at 10^5, 10^6 and 10^7 iterations, the gradient without a
budget and with ``memory="64MB"`` and ``"1MB"`` (checkpointing), on both backends: the peak
memory the gradient adds over the primal and its time over the primal's (the same backend's),
side by side in a fresh process per case.  Python: the growth of the process's peak resident
set; Wasm: the module's linear memory after the call, less its first page (the primal's).  On
Wasm also 10^8 iterations.  The budgeted gradients are checked against the plain one (relative
1e-12).
"""

from __future__ import annotations

import json
import math
import resource
import subprocess
import sys
import time

import s2sad


def sin_loop(x, n):
    s = 0.0
    for i in range(n):
        s = s + math.sin(x * i) * x
    return s


def pendulum(theta, n):
    w = 0.0
    for _ in range(n):
        w = w - 1e-4 * 9.81 * math.sin(theta)
        theta = theta + 1e-4 * w
    return theta


PROGRAMS = {"sin loop": (sin_loop, 0.3), "pendulum": (pendulum, 1.0)}
BUDGETS = [None, "64MB", "1MB"]


def _peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(program: str, n: int, budget: str | None, backend: str) -> dict:
    f, x = PROGRAMS[program]
    g = s2sad.grad(f, memory=budget, backend=backend)
    g(x, 10)
    run = f
    if backend == "wasm":
        run = s2sad.wasm.primal(f)
        run(x, 10)
    primal = math.inf
    for _ in range(2):
        t0 = time.perf_counter()
        run(x, n)
        primal = min(primal, time.perf_counter() - t0)
    before = _peak_kib()
    t0 = time.perf_counter()
    value = g(x, n)
    seconds = time.perf_counter() - t0
    if backend == "wasm":
        runner = next(iter(g.specialized.values())).runner()
        growth = runner.inst.memory.data_len(runner.inst.store) - (1 << 16)
    else:
        growth = (_peak_kib() - before) * 1024
    return {"grad": value, "ratio": seconds / primal, "seconds": seconds,
            "growth_mib": growth / 2 ** 20}


def measure(program: str, n: int, budget: str | None, backend: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.memory", "--child", program, str(n),
                          str(budget), backend], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--child":
        program, n, budget, backend = argv[1], int(argv[2]), argv[3], argv[4]
        print(json.dumps(child(program, n, None if budget == "None" else budget, backend)))
        return
    quick = "--quick" in argv
    sizes = [10 ** 5, 10 ** 6] if quick else [10 ** 5, 10 ** 6, 10 ** 7]
    print("| backend | program | iterations | budget | peak growth (MiB) | "
          "gradient / primal |")
    print("|---|---|---:|---|---:|---:|")
    for backend in ("python", "wasm"):
        for program in PROGRAMS:
            for n in sizes + ([10 ** 8] if backend == "wasm" and not quick else []):
                plain = None
                for budget in BUDGETS:
                    r = measure(program, n, budget, backend)
                    if plain is None:
                        plain = r["grad"]
                    elif abs(r["grad"] - plain) > 1e-12 * max(1.0, abs(plain)):
                        print(f"!! {program} n={n} budget={budget}: {r['grad']} != {plain}")
                    print(f"| {backend} | {program} | {n:,} | {budget or 'none'} | "
                          f"{r['growth_mib']:.1f} | {r['ratio']:.2f} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
