"""FIND's metrics (Schwettmann et al., NeurIPS 2023 D&B): numeric NMSE, exact string match and language unit tests.

Two rules, chosen with ``scoring``: ``"per-input"`` (the default) and ``"original"``, which reproduces the original
evaluation scripts (`mse_indicator.py`, `string_indicator.py`, `unit_testing.py`) with their quirks.

- **Numeric** (code-based): the interpreter's code is called once per point x = i + 0.5, i in [-128, 128), and only
  at the points where the ground truth is finite (as the original: elsewhere it is never called, so an exact answer
  written with ``math.log`` or ``math.sqrt`` is not penalised for raising outside its domain).
  NMSE = sum((gt - pred)^2) / sum(gt^2); success when NMSE < 0.1.

  - per-input: a point where the call raises, or gives no finite number, is a miss, and a miss counts as a
    prediction of 0 there (squared error gt^2). This keeps the original's normalisation: an answer that misses
    everywhere has NMSE 1, like one that answers 0 everywhere. All-zero ground truth scores NMSE 0 for an exact
    answer and inf otherwise.
  - original: any call that raises scores 0 (the original's loop is inside one ``try``); a non-finite prediction
    makes NMSE NaN or inf, so 0; a ground truth that is zero at every scored point (or has no finite point) scores
    0, because the original divides by zero; the entry function is the name after the code's last ``def ``.
- **Strings, code**: the code's output must equal the expected output exactly on the 10 held-out inputs.

  - per-input: the score is the fraction of the inputs matched; an input whose call raises is a miss for that
    input only.
  - original: the calls stop at the first input that raises, which counts 0, and the score is the hits over the
    inputs tried, that one included (right on 4, raising on the 5th: 4/5 whatever follows); the input reaches the
    function as the single-quoted Python literal the original writes, so one the literal cannot hold raises.
- **Language unit tests** (strings, entities, relations): an evaluator LM reads the description only and picks one
  of three candidates, answering ``[ANSWER]: <index>``; the score is the fraction correct over 10 items (chance
  1/3). The evaluator gets a system prompt (`UNIT_TEST_SYSTEM_PROMPT`).

  - per-input: the description is the text after the ``[DESCRIPTION]`` tag up to a ``[DOMAIN]`` or ``[CODE]`` tag,
    with markdown around the tags removed; the reply's ``[ANSWER]`` index must be the right one.
  - original: the description is cut as the original cuts it (after the last ``[DESCRIPTION]: ``, before the first
    ``[DOMAIN]: `` and ``[CODE]: ``), no reply prefill is used, and an item is right when the right index appears
    anywhere in the reply (so ``"1, 2 or 3"`` is right for every item).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from tinkerlab.core.errors import InputError
from tinkerlab.find.harness import SandboxConfig, run_codes

NMSE_THRESHOLD = 0.1

ScoringRule = Literal["per-input", "original"]
SCORING_RULES: tuple[str, ...] = ("per-input", "original")


def check_scoring(scoring: str) -> str:
    """`scoring` if it names a rule.

    Raises:
        InputError: `scoring` is not 'per-input' or 'original'.
    """
    if scoring not in SCORING_RULES:
        raise InputError(f"scoring must be one of {list(SCORING_RULES)}, got {scoring!r}")
    return scoring


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
    specs: list[dict[str, Any]],
    codes: dict[str, str],
    config: SandboxConfig = SandboxConfig(),
    *,
    scoring: ScoringRule = "per-input",
) -> list[Score]:
    """Score numeric interpretations: NMSE < 0.1 succeeds (score 1), anything else (or failure) scores 0.

    The code is called only where the ground truth is finite; a point that raises is a miss under ``"per-input"``
    and fails the function under ``"original"`` (see the module docstring).

    Args:
        specs: numeric function specs.
        codes: function id -> interpretation code (a missing id scores 0).
        config: sandbox limits.
        scoring: 'per-input' or 'original'.

    Returns:
        One `Score` per spec; ``value`` is the NMSE, ``details`` counts the missed points.

    Raises:
        InputError: an unknown `scoring`.

    Example:
        >>> score_numeric([spec], {spec["id"]: "import math\\ndef f(x):\\n    return math.log(x)\\n"})  # doctest: +SKIP
    """
    from tinkerlab.find import numeric

    check_scoring(scoring)
    x = numeric.scoring_inputs()
    truths = {s["id"]: np.asarray(numeric.ground_truth_values(s), dtype=float) for s in specs}
    items = []
    for spec in specs:
        keep = np.isfinite(truths[spec["id"]])
        inputs = [float(v) for v in x[keep]]
        code = codes.get(spec["id"], "")
        items.append({"key": spec["id"], "code": code, "inputs": inputs, "kind": "numeric", "rule": scoring})
    runs = run_codes(items, config)
    scores = []
    for spec, item in zip(specs, items, strict=True):
        run = runs[spec["id"]]
        if run.error is not None or run.outputs is None:
            scores.append(Score(spec["id"], "numeric", "numeric", 0.0, None, run.error or "no output"))
            continue
        gt = truths[spec["id"]]
        gt = gt[np.isfinite(gt)]
        pred = np.array([math.nan if v is None else v for v in run.outputs], dtype=float)
        scorer = _numeric_original if scoring == "original" else _numeric_per_input
        scores.append(scorer(spec["id"], gt, pred, run, item["inputs"]))
    return scores


def _point_error(run: Any, inputs: list[Any]) -> str:
    index, message = run.point_errors[0]
    return f"at input {inputs[index]!r}: {message}"


def _numeric_per_input(function_id: str, gt: np.ndarray, pred: np.ndarray, run: Any, inputs: list[float]) -> Score:
    missed = ~np.isfinite(pred)
    value = nmse(gt, np.where(missed, 0.0, pred))
    details: dict[str, Any] = {}
    error = None
    if missed.any():
        details = {"missed_points": int(missed.sum()), "points": int(len(pred))}
        if run.point_errors:
            details["first_error"] = _point_error(run, inputs)
        if missed.all():
            error = details.get("first_error", "no finite prediction at any point")
    return Score(function_id, "numeric", "numeric", float(value < NMSE_THRESHOLD), value, error, details)


def _numeric_original(function_id: str, gt: np.ndarray, pred: np.ndarray, run: Any, inputs: list[float]) -> Score:
    if run.point_errors:
        return Score(function_id, "numeric", "numeric", 0.0, None, _point_error(run, inputs))
    denominator = float((gt**2).sum())
    if denominator == 0.0:
        message = "the ground truth is 0 at every scored point: the original divides by zero and scores 0"
        return Score(function_id, "numeric", "numeric", 0.0, None, message)
    if not np.isfinite(pred).all():
        return Score(function_id, "numeric", "numeric", 0.0, math.nan, "a prediction is not a finite number")
    value = float(((gt - pred) ** 2).sum()) / denominator
    return Score(function_id, "numeric", "numeric", float(value < NMSE_THRESHOLD), value)


def score_strings_code(
    specs: list[dict[str, Any]],
    codes: dict[str, str],
    config: SandboxConfig = SandboxConfig(),
    *,
    scoring: ScoringRule = "per-input",
) -> list[Score]:
    """Score string interpretations: the fraction of the 10 held-out pairs reproduced exactly.

    Args:
        specs: string function specs (with ``test_pairs``).
        codes: function id -> interpretation code (a missing id scores 0).
        config: sandbox limits.
        scoring: 'per-input' (an input that raises is a miss for that input only) or 'original' (the first input
            that raises ends the count: hits over the inputs tried).

    Returns:
        One `Score` per spec; ``details`` counts the inputs whose call raised.

    Raises:
        InputError: an unknown `scoring`.
    """
    check_scoring(scoring)
    items = [
        {
            "key": s["id"],
            "code": codes.get(s["id"], ""),
            "inputs": [p[0] for p in s["test_pairs"]],
            "kind": "strings",
            "rule": scoring,
        }
        for s in specs
    ]
    runs = run_codes(items, config)
    scores = []
    for spec, item in zip(specs, items, strict=True):
        run = runs[spec["id"]]
        if run.error is not None or run.outputs is None:
            scores.append(Score(spec["id"], "strings", "strings_code", 0.0, None, run.error or "no output"))
            continue
        raised = {index for index, _ in run.point_errors}
        hits = [
            index not in raised and out == pair[1]
            for index, (out, pair) in enumerate(zip(run.outputs, spec["test_pairs"], strict=False))
        ]
        tried = len(run.outputs) if scoring == "original" else len(spec["test_pairs"])
        score = sum(hits) / tried if tried else 0.0
        details: dict[str, Any] = {}
        error = None
        if run.point_errors:
            details = {
                "raised": len(raised),
                "tried": len(run.outputs),
                "first_error": _point_error(run, item["inputs"]),
            }
            if len(raised) == len(spec["test_pairs"]) or (scoring == "original" and len(run.outputs) == 1):
                error = details["first_error"]
        scores.append(Score(spec["id"], "strings", "strings_code", score, None, error, details))
    return scores


# ------------------------------------------------------------------------------------------ language tests
_UNIT_PROMPTS = {
    "strings": (
        "Below is a textual description of a function f(x) that maps an input string to an output string:\n"
        "{description}\n"
        "Which one of the following input-output pairs is a correct execution of f(x)?\n{candidates}\n"
        'Answer as "[ANSWER]: <index>", where <index> is the number of the correct example, and write nothing '
        "else."
    ),
    "relations": (
        "Below is a textual description of a function f(x) that maps an input word to an output word:\n"
        "{description}\n"
        "Which one of the following input-output pairs is a correct execution of f(x)?\n{candidates}\n"
        'Answer as "[ANSWER]: <index>", where <index> is the number of the correct example, and write nothing '
        "else."
    ),
    "entities": (
        "Below is a textual description of a function f(x), which is selective to a specific concept:\n"
        "{description}\n"
        "Which one of the following input examples will the function be most selective for?\n{candidates}\n"
        'Answer as "[ANSWER]: <index>", where <index> is the number of the correct example, and write nothing '
        "else."
    ),
}


UNIT_TEST_SYSTEM_PROMPT = (
    "You check descriptions of functions. The user describes a function f(x) and lists three numbered examples; "
    "exactly one of them agrees with the description. Reply with '[ANSWER]: <index>' and nothing more, where "
    "<index> is the number of that example."
)

_TAG = re.compile(r"\[(DESCRIPTION|DOMAIN|CODE)\]")
_LEADING_MARKUP = re.compile(r"^[\s*_:]*")
_TRAILING_MARKUP = re.compile(r"[\s*_#>]*$")


def description_for_evaluation(answer: str, scoring: ScoringRule = "per-input") -> str:
    """The part of an interpretation the evaluator reads: the description, without its domain or code.

    Args:
        answer: the interpreter's answer (``[DESCRIPTION]: ... [DOMAIN]: ... [CODE]: ...``).
        scoring: 'per-input': the text after the last ``[DESCRIPTION]`` tag (the whole answer when there is none)
            up to the next ``[DOMAIN]`` or ``[CODE]`` tag, with markdown around the tags (``**[DESCRIPTION]:**``)
            and surrounding whitespace removed. 'original': cut on the exact strings ``[DESCRIPTION]: ``,
            ``[DOMAIN]: ``, ``[CODE]: `` and ``[CODE]:`` as the original does, nothing stripped.

    Returns:
        The description text ('' when there is none).

    Example:
        >>> description_for_evaluation("**[DESCRIPTION]:** adds 2\\n**[DOMAIN]:** none\\n[CODE]: def f(x): ...")
        'adds 2'
    """
    check_scoring(scoring)
    if scoring == "original":
        text = answer.rpartition("[DESCRIPTION]: ")[2]
        for tag in ("[DOMAIN]: ", "[CODE]: ", "[CODE]:"):
            text = text.partition(tag)[0]
        return text
    tags = list(_TAG.finditer(answer))
    starts = [m for m in tags if m.group(1) == "DESCRIPTION"]
    begin = starts[-1].end() if starts else 0
    ends = [m.start() for m in tags if m.start() >= begin and m.group(1) != "DESCRIPTION"]
    text = answer[begin : ends[0] if ends else len(answer)]
    if starts:
        text = _LEADING_MARKUP.sub("", text)
    return _TRAILING_MARKUP.sub("", text).strip()


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
    scoring: ScoringRule = "per-input",
) -> list[Score]:
    """Ask the evaluator LM each three-way item; the score is the fraction answered correctly.

    Args:
        category: 'strings', 'entities' or 'relations'.
        specs: the functions (with ``unit_tests``).
        descriptions: function id -> the interpreter's answer (only its description is used,
            `description_for_evaluation`).
        evaluator: a `tinkerlab.llm.ChatModel` (temperature 0, with `UNIT_TEST_SYSTEM_PROMPT`; under 'per-input'
            a prefill ``[ANSWER]:`` is used when supported), or a judge with
            ``choose(category, description, item) -> index`` (or ``choose_many`` over a list of items) such as
            `LogprobJudge` or `EmbeddingJudge`.
        max_tokens: the evaluator's reply length.
        scoring: 'per-input' (the parsed ``[ANSWER]`` index must be right; an empty description scores 0 without
            asking) or 'original' (the original's description cut, no prefill, right when the right index
            appears anywhere in the reply; an empty description is asked like any other).

    Raises:
        InputError: an unknown `category` or `scoring`.
    """
    from tinkerlab.llm import Message

    check_scoring(scoring)
    original = scoring == "original"
    prefill = getattr(evaluator, "supports_prefill", False) and not original
    scores = []
    for spec in specs:
        description = description_for_evaluation(descriptions.get(spec["id"], ""), scoring)
        if not description.strip() and not original:
            scores.append(Score(spec["id"], category, "unit", 0.0, None, "no description"))
            continue
        items = spec["unit_tests"]
        picks: list[int | None] = []
        correct: list[bool] = []
        if hasattr(evaluator, "choose_many"):
            picks = list(evaluator.choose_many(category, description, items))
        elif hasattr(evaluator, "choose"):
            picks = [evaluator.choose(category, description, item) for item in items]
        if picks or not items:
            correct = [p == item["answer"] for p, item in zip(picks, items, strict=False)]
        for item in items if not picks else []:
            messages = [
                Message.system(UNIT_TEST_SYSTEM_PROMPT),
                Message.user(unit_test_prompt(category, description, item)),
            ]
            if prefill:
                messages.append(Message.assistant("[ANSWER]:"))
            reply = evaluator.complete(messages, temperature=0.0, max_tokens=max_tokens)
            text = "[ANSWER]:" + reply.text if prefill else reply.text
            picks.append(parse_answer(text))
            correct.append(str(item["answer"]) in text if original else picks[-1] == item["answer"])
        score = sum(correct) / len(correct) if correct else 0.0
        scores.append(Score(spec["id"], category, "unit", score, details={"picks": picks}))
    return scores
