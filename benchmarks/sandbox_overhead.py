"""Sandbox overhead: the bubblewrap jail against the process fallback, measured in the same run.

Times `run("print(1)")` (a fresh process per call: start-up included) and one call of a warm `SandboxWorker`,
in both modes, and prints the medians, the jail/process ratios and the peak memory of this process.

Run: .venv/bin/python benchmarks/sandbox_overhead.py [--repeats 20]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time


def _median_seconds(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()

    from tinkerlab.sandbox import SandboxWorker, run
    from tinkerlab.sandbox.jail import bubblewrap_problem

    modes = ["process"] + (["jail"] if bubblewrap_problem() is None else [])
    if len(modes) == 1:
        print(f"bubblewrap is unusable here ({bubblewrap_problem()}): only the fallback is measured")
    rows: dict[str, dict[str, float]] = {}
    for mode in modes:
        run("print(1)", isolation=mode)  # warm the page cache and the one-off probes
        startup = _median_seconds(lambda mode=mode: run("print(1)", isolation=mode), args.repeats)
        with SandboxWorker(isolation=mode) as worker:
            worker.run("print(1)")
            warm = _median_seconds(lambda worker=worker: worker.run("print(1)"), args.repeats * 5)
            spawn = _median_seconds(lambda worker=worker: (worker._stop_process(), worker.start()), args.repeats)
        rows[mode] = {"run": startup, "warm": warm, "spawn": spawn}
    print(f"sandbox overhead, median of {args.repeats} (x5 for warm calls); times vary with the machine's load")
    print(f"  {'':28s} {'process':>10s} {'jail':>10s} {'jail/process':>13s}")
    labels = {
        "run": 'run("print(1)"), fresh',
        "spawn": "worker (re)start",
        "warm": 'warm worker.run("print(1)")',
    }
    for key, label in labels.items():
        base = rows["process"][key]
        jail = rows.get("jail", {}).get(key)
        jail_text = f"{jail * 1000:8.1f}ms" if jail is not None else "       n/a"
        ratio = f"x{jail / base:.2f}" if jail is not None else "n/a"
        print(f"  {label:28s} {base * 1000:8.1f}ms {jail_text} {ratio:>13s}")
    print(f"  peak memory (this process): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    from tinkerlab.core.errors import run_main

    sys.exit(run_main(main))
