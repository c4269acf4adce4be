"""FIND speed: building the numeric and string suites, and scoring 1000 numeric interpretations in the sandbox.

Targets: build numeric + strings (1000 + 1000 functions, 150 MLPs fitted) in <= 30 s; score 1000 numeric
interpretations in the sandbox in <= 60 s. Baselines measured in the same run: the time to evaluate the 1000
ground-truth functions in-process (no sandbox), and scoring with one fresh sandbox process per interpretation
on a sample (the naive way), extrapolated to 1000.

Run: .venv/bin/python benchmarks/find_speed.py [--naive-sample 20]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--naive-sample", type=int, default=20, help="interpretations scored one sandbox each")
    args = parser.parse_args()

    import numpy as np

    from tinkerlab.find import numeric, scoring
    from tinkerlab.find.suite import BuildConfig, build_suite, load_suite

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        build_suite(Path(tmp) / "numeric", BuildConfig(seed=args.seed, categories=("numeric",)))
        t_numeric = time.perf_counter() - start
        start = time.perf_counter()
        build_suite(Path(tmp) / "strings", BuildConfig(seed=args.seed, categories=("strings",)))
        t_strings = time.perf_counter() - start
        specs = load_suite(Path(tmp) / "numeric").functions["numeric"]

    codes = {s["id"]: s["code"] for s in specs}  # ground-truth code: what a perfect interpreter would write
    start = time.perf_counter()
    x = numeric.scoring_inputs()
    for s in specs:
        namespace: dict = {}
        exec(s["code"], namespace)
        [namespace["f"](float(v)) for v in x]
    t_inprocess = time.perf_counter() - start

    start = time.perf_counter()
    scores = scoring.score_numeric(specs, codes)
    t_sandbox = time.perf_counter() - start
    success = float(np.mean([s.score for s in scores]))

    sample = specs[: args.naive_sample]
    start = time.perf_counter()
    for s in sample:
        scoring.score_numeric([s], codes, scoring.SandboxConfig(chunk_size=1))
    t_naive = (time.perf_counter() - start) / len(sample) * len(specs)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    build = t_numeric + t_strings
    print("FIND speed (the CPU is shared with other jobs: absolute times are noisy)")
    print(f"  build numeric suite (1000, 150 MLPs fitted): {t_numeric:6.2f} s")
    print(f"  build string suite (1000, with unit tests):   {t_strings:6.2f} s")
    print(f"  build total:                                  {build:6.2f} s  (target <= 30 s: {'ok' if build <= 30 else 'MISSED'})")
    print(f"  score 1000 numeric codes, batched sandbox:    {t_sandbox:6.2f} s  (target <= 60 s: {'ok' if t_sandbox <= 60 else 'MISSED'})")
    print(f"    ground-truth code success rate:             {success:6.3f}  (noise/corruption keep it below 1)")
    print(f"  baseline: same 1000 codes in-process:         {t_inprocess:6.2f} s  -> sandbox costs x{t_sandbox / t_inprocess:.1f}")
    print(f"  baseline: one sandbox per code (est. 1000):   {t_naive:6.2f} s  -> batching is x{t_naive / t_sandbox:.1f} faster")
    print(f"  peak memory (this process):                   {peak_mb:6.0f} MB")
    return 0 if build <= 30 and t_sandbox <= 60 else 1


if __name__ == "__main__":
    sys.exit(main())
