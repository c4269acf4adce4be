"""FIND's metrics (Schwettmann et al., NeurIPS 2023 D&B), as the original benchmark computes them.

- **Numeric** (code-based): the interpreter's code runs on x = i + 0.5 for i in [-128, 128); points where the
  ground truth is NaN/inf are skipped; NMSE = sum((gt - pred)^2) / sum(gt^2); success when NMSE < 0.1.
- **Strings, code**: the code's output must equal the expected output exactly on 10 held-out inputs; the score is
  the fraction that match.
- **Language unit tests** (strings, entities, relations): an evaluator LM reads the description (the text before
  ``[CODE]``) and picks one of three candidates, answering ``[ANSWER]: <index>``; the score is the fraction correct
  over 10 items (chance 1/3).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinkerlab.core.errors import InputError
from tinkerlab.find.harness import SandboxConfig, run_codes

NMSE_THRESHOLD = 0.1


# -------------------------------------------------------------------------------------------------- numeric
def nmse(ground_truth: np.ndarray, prediction: np.ndarray) -> float:
    """sum((gt - pred)^2) / sum(gt^2) over the points where the ground truth is finite (inf when a prediction
    there is missing or non-finite)."""
    gt = np.asarray(ground_truth, dtype=float)
    pred = np.asarray(prediction, dtype=float)
    keep = np.isfinite(gt)
    gt, pred = gt[keep], pred[keep]
    if not np.isfinite(pred).all():
        return math.inf
    denominator = float((gt**2).sum())
    numerator = float(((gt - pred) ** 2).sum())
    if denominator == 0.0:
        return 0.0 if numerator == 0.0 else math.inf
    return numerator / denominator


@dataclass
class Score:
    """One function's score under one metric."""

    function_id: str
    category: str
    metric: str  # 'numeric' | 'strings_code' | 'unit'
    score: float
    value: float | None = None  # NMSE for numeric
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        value = self.value
        if value is not None and not math.isfinite(value):
            value = None
        return {
            "function_id": self.function_id,
            "category": self.category,
            "metric": self.metric,
            "score": self.score,
            "value": value,
            "error": self.error,
            **({"details": self.details} if self.details else {}),
        }


def score_numeric(
    specs: list[dict[str, Any]], codes: dict[str, str], config: SandboxConfig = SandboxConfig()
) -> list[Score]:
    """Score numeric interpretations: NMSE < 0.1 succeeds (score 1), anything else (or failure) scores 0.

    Args:
        specs: numeric function specs.
        codes: function id -> interpretation code (a missing id scores 0).
        config: sandbox limits.
    """
    from tinkerlab.find import numeric

    x = [float(v) for v in numeric.scoring_inputs()]
    items = [{"key": s["id"], "code": codes.get(s["id"], ""), "inputs": x, "kind": "numeric"} for s in specs]
    runs = run_codes(items, config)
    scores = []
    for spec in specs:
        run = runs[spec["id"]]
        if run.error is not None or run.outputs is None:
            scores.append(Score(spec["id"], "numeric", "numeric", 0.0, None, run.error or "no output"))
            continue
        pred = np.array([math.nan if v is None else v for v in run.outputs], dtype=float)
        value = nmse(numeric.ground_truth_values(spec), pred)
        scores.append(Score(spec["id"], "numeric", "numeric", float(value < NMSE_THRESHOLD), value))
    return scores


def score_strings_code(
    specs: list[dict[str, Any]], codes: dict[str, str], config: SandboxConfig = SandboxConfig()
) -> list[Score]:
    """Score string interpretations: the fraction of the 10 held-out pairs reproduced exactly."""
    items = [
        {
            "key": s["id"],
            "code": codes.get(s["id"], ""),
            "inputs": [p[0] for p in s["test_pairs"]],
            "kind": "strings",
        }
        for s in specs
    ]
    runs = run_codes(items, config)
    scores = []
    for spec in specs:
        run = runs[spec["id"]]
        if run.error is not None or run.outputs is None:
            scores.append(Score(spec["id"], "strings", "strings_code", 0.0, None, run.error or "no output"))
            continue
        hits = [out == pair[1] for out, pair in zip(run.outputs, spec["test_pairs"], strict=False)]
        scores.append(Score(spec["id"], "strings", "strings_code", sum(hits) / len(spec["test_pairs"])))
    return scores


# ------------------------------------------------------------------------------------------ language tests
_UNIT_PROMPTS = {
    "strings": (
        "Below is a textual description of a function f(x) that maps an input string to an output string:\n"
        "{description}\n"
        "Which one of the following input-output pairs is a correct execution of f(x)?\n{candidates}\n"
        'Reply in the following format: "[ANSWER]: <index>", where <index> is the number of the correct '
        "example. Only include the numerical index of the example."
    ),
    "relations": (
        "Below is a textual description of a function f(x) that maps an input word to an output word:\n"
        "{description}\n"
        "Which one of the following input-output pairs is a correct execution of f(x)?\n{candidates}\n"
        'Reply in the following format: "[ANSWER]: <index>", where <index> is the number of the correct '
        "example. Only include the numerical index of the example."
    ),
    "entities": (
        "Below is a textual description of a function f(x), which is selective to a specific concept:\n"
        "{description}\n"
        "Which one of the following input examples will the function be most selective for?\n{candidates}\n"
        'Reply in the following format: "[ANSWER]: <index>", where <index> is the number of the correct '
        "example. Only include the numerical index of the example."
    ),
}


def description_for_evaluation(answer: str) -> str:
    """The part of an interpretation the evaluator reads: everything before ``[CODE]``."""
    return answer.split("[CODE]")[0].strip()


def unit_test_prompt(category: str, description: str, item: dict[str, Any]) -> str:
    """The evaluator's prompt for one three-way item."""
    if category not in _UNIT_PROMPTS:
        raise InputError(f"language unit tests exist for {sorted(_UNIT_PROMPTS)}, not {category!r}")
    lines = []
    for index, candidate in enumerate(item["candidates"], start=1):
        if category == "entities":
            lines.append(f"Example {index}: input = {candidate}")
        else:
            lines.append(f"Example {index}: input = {candidate[0]}, output = {candidate[1]}")
    return _UNIT_PROMPTS[category].format(description=description, candidates="\n".join(lines))


_ANSWER = re.compile(r"\[ANSWER\]\s*:?\s*\**\s*(\d)")


def parse_answer(text: str) -> int | None:
    """The index in ``[ANSWER]: k`` (or the first lone digit 1-3 when the tag is missing)."""
    match = _ANSWER.search(text)
    if match:
        return int(match.group(1))
    loose = re.search(r"\b([123])\b", text)
    return int(loose.group(1)) if loose else None


def score_unit_tests(
    category: str,
    specs: list[dict[str, Any]],
    descriptions: dict[str, str],
    evaluator: Any,
    *,
    max_tokens: int = 8,
) -> list[Score]:
    """Ask the evaluator LM each three-way item; the score is the fraction answered correctly.

    Args:
        category: 'strings', 'entities' or 'relations'.
        specs: the functions (with ``unit_tests``).
        descriptions: function id -> the interpreter's answer (text before ``[CODE]`` is used).
        evaluator: a `tinkerlab.llm.ChatModel` (temperature 0; a prefill ``[ANSWER]:`` is used when supported),
            or a judge with ``choose(category, description, item) -> index`` (or ``choose_many`` over a list of
            items) such as `LogprobJudge` or `EmbeddingJudge`.
        max_tokens: the evaluator's reply length.
    """
    from tinkerlab.llm import Message

    scores = []
    for spec in specs:
        description = description_for_evaluation(descriptions.get(spec["id"], ""))
        if not description:
            scores.append(Score(spec["id"], category, "unit", 0.0, None, "no description"))
            continue
        picks: list[int | None] = []
        if hasattr(evaluator, "choose_many"):
            picks = list(evaluator.choose_many(category, description, spec["unit_tests"]))
        for item in spec["unit_tests"] if not picks else []:
            if hasattr(evaluator, "choose"):
                picks.append(evaluator.choose(category, description, item))
                continue
            messages = [Message.user(unit_test_prompt(category, description, item))]
            if getattr(evaluator, "supports_prefill", False):
                messages.append(Message.assistant("[ANSWER]:"))
            reply = evaluator.complete(messages, temperature=0.0, max_tokens=max_tokens)
            text = reply.text if not getattr(evaluator, "supports_prefill", False) else "[ANSWER]:" + reply.text
            picks.append(parse_answer(text))
        correct = [p == item["answer"] for p, item in zip(picks, spec["unit_tests"], strict=False)]
        scores.append(Score(spec["id"], category, "unit", sum(correct) / len(correct), details={"picks": picks}))
    return scores


# ------------------------------------------------------------------------------------------------ whole runs
