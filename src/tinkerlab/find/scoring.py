"""Scoring a FIND run (Schwettmann et al., NeurIPS 2023 D&B): every interpretation of a run folder, by its category's
metric (`metrics`), with interpretation code run in the sandbox (`harness`) and language unit tests answered by an
evaluator (a chat model or one of `judges`); writes scores.json and scores.csv.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from tinkerlab.find.harness import SandboxConfig
from tinkerlab.find.metrics import (
    Score,
    ScoringRule,
    check_scoring,
    score_numeric,
    score_strings_code,
    score_unit_tests,
)


def score_run(
    run_dir: Any,
    *,
    evaluator: Any = None,
    config: SandboxConfig = SandboxConfig(),
    scoring: ScoringRule = "per-input",
) -> list[Score]:
    """Score every interpretation in a run folder; writes ``outputs/scores.json`` and ``outputs/scores.csv``.

    Args:
        run_dir: a folder written by `tinkerlab.find.runner.run_interpretations`.
        evaluator: a ChatModel for the language unit tests (None: skip them; code metrics only).
        config: sandbox limits for the code metrics.
        scoring: 'per-input' (a call that raises misses that input only) or 'original' (the original scripts'
            rules, quirks included); see `tinkerlab.find.metrics`. Recorded in scores.json.

    Returns:
        All scores (numeric, strings_code, and unit where an evaluator was given).

    Raises:
        InputError: `run_dir` holds no interpretations, or is not a FIND run (or its config.json is damaged), or
            `scoring` is unknown.
    """
    import csv
    from pathlib import Path

    from tinkerlab.core.runs import RunDir, atomic_write_text
    from tinkerlab.find.runner import load_interpretations
    from tinkerlab.find.suite import load_suite

    check_scoring(scoring)
    run_dir = Path(run_dir)
    records = load_interpretations(run_dir)
    _, run_config = RunDir.load(run_dir, system="find", hint="make one with `tinkerlab find run`")
    suite = load_suite(run_config["suite"], categories=tuple(records))
    # The sandbox gets each interpretation's code and inputs only; the suite (with the ground truth) stays hidden.
    config = dataclasses.replace(config, hidden_paths=(*config.hidden_paths, str(Path(run_config["suite"]).resolve())))
    scores: list[Score] = []
    for category, by_id in records.items():
        specs = [s for s in suite.functions[category] if s["id"] in by_id]
        codes = {i: r.get("code") or "" for i, r in by_id.items()}
        answers = {
            i: r.get("answer") or (f"[DESCRIPTION]: {r['description']}" if r.get("description") else "")
            for i, r in by_id.items()
        }
        if category == "numeric":
            scores += score_numeric(specs, codes, config, scoring=scoring)
        if category == "strings":
            scores += score_strings_code(specs, codes, config, scoring=scoring)
        if category in ("strings", "entities", "relations") and evaluator is not None:
            scores += score_unit_tests(category, specs, answers, evaluator, scoring=scoring)
    for score in scores:
        error = records[score.category][score.function_id].get("error")
        if error and score.score == 0 and not score.error:
            score.error = f"interpreter: {error}"
    out = run_dir / "outputs"
    payload = {
        "evaluator": getattr(evaluator, "name", None),
        "scoring": scoring,
        "scores": [s.to_dict() for s in scores],
    }
    atomic_write_text(out / "scores.json", json.dumps(payload, indent=1) + "\n")
    with open(out / "scores.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["function_id", "category", "metric", "score", "value", "error"])
        for s in scores:
            row = s.to_dict()
            writer.writerow(
                [row["function_id"], row["category"], row["metric"], row["score"], row["value"], row["error"]]
            )
    return scores
