"""FIND speed: building the numeric and string suites, and scoring 1000 numeric interpretations in the sandbox.

Targets: build numeric + strings (1000 + 1000 functions, 150 MLPs fitted) in <= 30 s; score 1000 numeric
interpretations in the sandbox in <= 60 s. Baselines measured in the same run: the time to evaluate the 1000
ground-truth functions in-process (no sandbox), and scoring with one fresh sandbox process per interpretation
on a sample (the naive way), extrapolated to 1000.

With ``--lm`` it measures the LM behind entity and relation functions instead (SmolLM2-135M, no output cache):
the naive way (one prompt per forward pass; generation re-running the whole prompt for every new token; torch's
default thread count) against `FunctionLM` (left-padded batches, KV-cached ``generate``, one torch thread,
``inference_mode``), on the same entity prompts and relation answers.

Run: .venv/bin/python benchmarks/find_speed.py [--naive-sample 20] [--lm [--lm-prompts 16 --lm-answers 8]]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path


def _naive_prob_one(lm, instruction: str, text: str) -> float:
    """The unbatched reference: one forward pass for one prompt."""
    import torch

    ids = lm.tokenizer.encode(lm._prompt(instruction, text), add_special_tokens=False)
    with torch.no_grad():
        logits = lm.model(input_ids=torch.tensor([ids])).logits[0, -1]  # (vocab,)
    return float(torch.softmax(torch.stack([logits[lm._one], logits[lm._zero]]), dim=0)[0])


def _naive_answer(lm, instruction: str, text: str, max_tokens: int = 8) -> str:
    """The uncached reference: every new token re-runs the whole prompt."""
    import torch

    ids = list(lm.tokenizer.encode(lm._prompt(instruction, text), add_special_tokens=False))
    start = len(ids)
    for _ in range(max_tokens):
        with torch.no_grad():
            next_id = int(lm.model(input_ids=torch.tensor([ids])).logits[0, -1].argmax())
        if next_id == lm.tokenizer.eos_token_id:
            break
        ids.append(next_id)
        if "\n" in lm.tokenizer.decode(ids[start:]).strip("\n"):
            break
    return lm.tokenizer.decode(ids[start:], skip_special_tokens=True).strip().split("\n")[0].strip()


def lm_speed(n_prompts: int, n_answers: int) -> int:
    """Time entity P("1") prompts and relation answers, naive against batched + KV-cached."""
    import numpy as np
    import torch

    from tinkerlab.find import entities, relations
    from tinkerlab.find.concepts import CONCEPTS
    from tinkerlab.find.lm import load_function_lm

    lm = load_function_lm("local", cache=False)
    words = [w for c in sorted(CONCEPTS) for w in CONCEPTS[c]][:n_prompts]
    instruction = entities.instruction(["golf"])
    spec = next(
        s
        for s in relations.build_relation_specs(np.random.default_rng(0), 75)
        if s["relation"] == "country_capital" and s["mode"] == "none"
    )
    countries = ["France", "Japan", "Brazil", "Kenya", "Canada", "Peru", "Norway", "Egypt"][:n_answers]
    default_threads = torch.get_num_threads()
    rows = []

    def timed(label, run):
        start = time.perf_counter()
        out = run()
        rows.append((label, time.perf_counter() - start))
        return out

    naive_p = timed(
        f"naive, {default_threads} threads: {n_prompts} P(1)",
        lambda: [_naive_prob_one(lm, instruction, w) for w in words],
    )
    naive_a = timed(
        f"naive, {default_threads} threads: {n_answers} answers",
        lambda: [_naive_answer(lm, spec["instruction"], c) for c in countries],
    )
    lm.threads = None
    timed(f"batched + KV cache, {default_threads} threads: P(1)", lambda: lm.prob_one_many(instruction, words))
    timed(
        f"batched + KV cache, {default_threads} threads: answers",
        lambda: lm.answer_many(spec["instruction"], countries),
    )
    lm.threads = 1
    with_one = timed("batched + KV cache, 1 thread: P(1)", lambda: lm.prob_one_many(instruction, words))
    answers = timed("batched + KV cache, 1 thread: answers", lambda: lm.answer_many(spec["instruction"], countries))
    torch.set_num_threads(1)
    timed("naive, 1 thread: P(1)", lambda: [_naive_prob_one(lm, instruction, w) for w in words])
    timed("naive, 1 thread: answers", lambda: [_naive_answer(lm, spec["instruction"], c) for c in countries])
    torch.set_num_threads(default_threads)
    times = dict(rows)
    print("FIND LM functions, SmolLM2-135M (the CPU is shared with other jobs: absolute times are noisy)")
    for label, seconds in rows:
        print(f"  {label:48s} {seconds:7.2f} s")
    base_p, base_a = rows[0][1], rows[1][1]
    print(
        f"  speed-up, P(1):   x{base_p / times['batched + KV cache, 1 thread: P(1)']:.1f} against naive "
        f"({default_threads} threads), "
        f"x{times['naive, 1 thread: P(1)'] / times['batched + KV cache, 1 thread: P(1)']:.1f} at 1 thread"
    )
    print(
        f"  speed-up, answers: x{base_a / times['batched + KV cache, 1 thread: answers']:.1f} against naive "
        f"({default_threads} threads), "
        f"x{times['naive, 1 thread: answers'] / times['batched + KV cache, 1 thread: answers']:.1f} at 1 thread"
    )
    agree_p = max(abs(a - b) for a, b in zip(naive_p, with_one, strict=False))
    print(f"  same outputs: max |dP| = {agree_p:.2e}, answers equal: {naive_a == answers} ({answers[:3]}...)")
    print(f"  peak memory (this process): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--naive-sample", type=int, default=20, help="interpretations scored one sandbox each")
    parser.add_argument("--lm", action="store_true", help="time the LM behind entity/relation functions instead")
    parser.add_argument("--lm-prompts", type=int, default=16)
    parser.add_argument("--lm-answers", type=int, default=4)
    args = parser.parse_args()
    if args.lm:
        return lm_speed(args.lm_prompts, args.lm_answers)

    import numpy as np

    from tinkerlab.find import harness, metrics, numeric
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
    scores = metrics.score_numeric(specs, codes)
    t_sandbox = time.perf_counter() - start
    success = float(np.mean([s.score for s in scores]))

    sample = specs[: args.naive_sample]
    start = time.perf_counter()
    for s in sample:
        metrics.score_numeric([s], codes, harness.SandboxConfig(chunk_size=1))
    t_naive = (time.perf_counter() - start) / len(sample) * len(specs)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    build = t_numeric + t_strings
    print("FIND speed (the CPU is shared with other jobs: absolute times are noisy)")
    print(f"  build numeric suite (1000, 150 MLPs fitted): {t_numeric:6.2f} s")
    print(f"  build string suite (1000, with unit tests):   {t_strings:6.2f} s")
    print(
        f"  build total:                                  {build:6.2f} s  "
        f"(target <= 30 s: {'ok' if build <= 30 else 'MISSED'})"
    )
    print(
        f"  score 1000 numeric codes, batched sandbox:    {t_sandbox:6.2f} s  "
        f"(target <= 60 s: {'ok' if t_sandbox <= 60 else 'MISSED'})"
    )
    print(f"    ground-truth code success rate:             {success:6.3f}  (noise/corruption keep it below 1)")
    print(
        f"  baseline: same 1000 codes in-process:         {t_inprocess:6.2f} s  "
        f"-> sandbox costs x{t_sandbox / t_inprocess:.1f}"
    )
    print(
        f"  baseline: one sandbox per code (est. 1000):   {t_naive:6.2f} s  "
        f"-> batching is x{t_naive / t_sandbox:.1f} faster"
    )
    print(f"  peak memory (this process):                   {peak_mb:6.0f} MB")
    return 0 if build <= 30 and t_sandbox <= 60 else 1


if __name__ == "__main__":
    from tinkerlab.core.errors import run_main

    sys.exit(run_main(main))
