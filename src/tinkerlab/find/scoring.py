"""Scoring FIND interpretations, as in the original benchmark (Schwettmann et al., NeurIPS 2023 D&B).

- **Numeric** (code-based): the interpreter's code runs on x = i + 0.5 for i in [-128, 128); points where the
  ground truth is NaN/inf are skipped; NMSE = sum((gt - pred)^2) / sum(gt^2); success when NMSE < 0.1.
- **Strings, code** : the code's output must equal the expected output exactly on 10 held-out inputs; the
  score is the fraction that match.
- **Language unit tests** (strings, entities, relations): an evaluator LM reads the description (the text
  before ``[CODE]``) and picks one of three candidates, answering ``[ANSWER]: <index>``; the score is the
  fraction correct over 10 items (chance 1/3).

Interpreter code only ever runs inside `tinkerlab.sandbox`; many interpretations share one sandbox process
(one call per chunk), each with its own time limit, so scoring 1000 functions takes seconds. Code that fails
to parse, raises, loops or runs out of memory scores 0 and the reason is recorded.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinkerlab.core.errors import InputError

NMSE_THRESHOLD = 0.1
_MARK = "@@FIND-RESULT@@"

# Runs inside the sandbox: executes each interpretation in a fresh namespace, calls its last top-level function
# on every input (one value at a time, as the original), with a per-item time limit; prints one result line each.
_HARNESS = r'''
import ast, io, json, math, signal, sys, contextlib

class _ItemTimeout(BaseException):
    pass

def _on_alarm(signum, frame):
    raise _ItemTimeout()

signal.signal(signal.SIGALRM, _on_alarm)

def _entry_name(code):
    tree = ast.parse(code)
    names = [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not names:
        raise ValueError("the code defines no function")
    return names[-1]

def _encode(value, kind):
    if kind == "numeric":
        try:
            value = float(value)
        except Exception:
            value = float(__import__("numpy").asarray(value, dtype=float).reshape(-1)[0])
        return value if math.isfinite(value) else None
    return value if isinstance(value, str) else {"non_string": repr(value)[:200]}

def _score_items(items, item_timeout):
    for item in items:
        result = {"key": item["key"], "outputs": None, "error": None}
        sink = io.StringIO()
        signal.setitimer(signal.ITIMER_REAL, item_timeout)
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                name = _entry_name(item["code"])
                namespace = {"__name__": "interpretation"}
                exec(compile(item["code"], "<interpretation>", "exec"), namespace)
                function = namespace[name]
                result["outputs"] = [_encode(function(value), item["kind"]) for value in item["inputs"]]
        except _ItemTimeout:
            result["error"] = "timed out after %s s" % item_timeout
        except MemoryError:
            result["error"] = "memory limit exceeded"
        except BaseException as exc:
            result["error"] = "%s: %s" % (type(exc).__name__, str(exc)[:300])
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        sys.__stdout__.write(MARK + json.dumps(result) + "\n")
        sys.__stdout__.flush()
'''


@dataclass(frozen=True)
class SandboxConfig:
    """Limits for running interpretation code."""

    item_timeout_s: float = 2.0
    chunk_size: int = 150
    memory_mb: int = 1024


@dataclass
class CodeRun:
    """Outputs of one interpretation's code on its inputs, or why it failed."""

    key: str
    outputs: list[Any] | None
    error: str | None = None


def run_codes(items: list[dict[str, Any]], config: SandboxConfig = SandboxConfig()) -> dict[str, CodeRun]:
    """Run many interpretation codes in the sandbox, batched; each item is
    ``{"key": str, "code": str, "inputs": list, "kind": "numeric" | "strings"}``.

    Returns:
        key -> `CodeRun`. An item whose code loops past the limit, crashes the process or exhausts memory gets
        an error; the others still run.
    """
    from tinkerlab.sandbox import SandboxWorker

    results: dict[str, CodeRun] = {}
    pending = [i for i in items if i.get("code", "").strip()]
    for item in items:
        if not item.get("code", "").strip():
            results[item["key"]] = CodeRun(item["key"], None, "no code")
    if not pending:
        return results
    budget = config.item_timeout_s * config.chunk_size + 30.0
    setup = f"MARK = {_MARK!r}\n" + _HARNESS
    with SandboxWorker(timeout_s=budget, memory_mb=config.memory_mb, setup_code=setup) as worker:
        start = 0
        while start < len(pending):
            chunk = pending[start : start + config.chunk_size]
            payload = json.dumps(chunk)
            call = f"_score_items(__import__('json').loads({payload!r}), {config.item_timeout_s!r})"
            outcome = worker.run(call)
            done = 0
            for line in outcome.stdout.splitlines():
                if line.startswith(_MARK):
                    record = json.loads(line[len(_MARK) :])
                    results[record["key"]] = CodeRun(record["key"], record["outputs"], record["error"])
                    done += 1
            if done < len(chunk):
                # the process died or hung in C code on chunk[done]: record it and carry on after it (the
                # worker restarts and runs the harness set-up again)
                reason = outcome.error or "the sandbox process stopped"
                first_line = reason.strip().splitlines()[-1] if reason.strip() else reason
                bad = chunk[done]
                results[bad["key"]] = CodeRun(bad["key"], None, f"sandbox failure: {first_line}"[:400])
                start += done + 1
            else:
                start += len(chunk)
    return results


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
        {"key": s["id"], "code": codes.get(s["id"], ""), "inputs": [p[0] for p in s["test_pairs"]], "kind": "strings"}
        for s in specs
    ]
    runs = run_codes(items, config)
    scores = []
    for spec in specs:
        run = runs[spec["id"]]
        if run.error is not None or run.outputs is None:
            scores.append(Score(spec["id"], "strings", "strings_code", 0.0, None, run.error or "no output"))
            continue
        hits = [out == pair[1] for out, pair in zip(run.outputs, spec["test_pairs"])]
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
    category: str, specs: list[dict[str, Any]], descriptions: dict[str, str], evaluator: Any,
    *, max_tokens: int = 8,
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
        correct = [p == item["answer"] for p, item in zip(picks, spec["unit_tests"])]
        scores.append(
            Score(spec["id"], category, "unit", sum(correct) / len(correct), details={"picks": picks})
        )
    return scores


# ------------------------------------------------------------------------------------------------ whole runs
def score_run(run_dir: Any, *, evaluator: Any = None, config: SandboxConfig = SandboxConfig()) -> list[Score]:
    """Score every interpretation in a run folder; writes ``outputs/scores.json`` and ``outputs/scores.csv``.

    Args:
        run_dir: a folder written by `tinkerlab.find.runner.run_interpretations`.
        evaluator: a ChatModel for the language unit tests (None: skip them; code metrics only).
        config: sandbox limits for the code metrics.

    Returns:
        All scores (numeric, strings_code, and unit where an evaluator was given).
    """
    import csv
    from pathlib import Path

    from tinkerlab.core.runs import atomic_write_text
    from tinkerlab.find.runner import load_interpretations
    from tinkerlab.find.suite import load_suite

    run_dir = Path(run_dir)
    records = load_interpretations(run_dir)
    run_config = json.loads((run_dir / "config.json").read_text())["config"]
    suite = load_suite(run_config["suite"], categories=tuple(records))
    scores: list[Score] = []
    for category, by_id in records.items():
        specs = [s for s in suite.functions[category] if s["id"] in by_id]
        codes = {i: r.get("code") or "" for i, r in by_id.items()}
        answers = {i: r.get("answer") or (f"[DESCRIPTION]: {r['description']}" if r.get("description") else "")
                   for i, r in by_id.items()}
        if category == "numeric":
            scores += score_numeric(specs, codes, config)
        if category == "strings":
            scores += score_strings_code(specs, codes, config)
        if category in ("strings", "entities", "relations") and evaluator is not None:
            scores += score_unit_tests(category, specs, answers, evaluator)
    for score in scores:
        error = records[score.category][score.function_id].get("error")
        if error and score.score == 0 and not score.error:
            score.error = f"interpreter: {error}"
    out = run_dir / "outputs"
    payload = {
        "evaluator": getattr(evaluator, "name", None),
        "scores": [s.to_dict() for s in scores],
    }
    atomic_write_text(out / "scores.json", json.dumps(payload, indent=1) + "\n")
    with open(out / "scores.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["function_id", "category", "metric", "score", "value", "error"])
        for s in scores:
            row = s.to_dict()
            writer.writerow([row["function_id"], row["category"], row["metric"], row["score"], row["value"], row["error"]])
    return scores


class EmbeddingJudge:
    """An offline stand-in for the evaluator LM: picks the candidate whose text is most similar to the
    description under the all-MiniLM-L6-v2 sentence encoder (mean-pooled, cosine).

    This is *not* the paper's metric (an LM judge); it gives a cheap, deterministic proxy where no capable chat
    model is at hand, and results made with it are labelled ``embedding-judge``.
    """

    name = "embedding-judge"

    def __init__(self) -> None:
        from tinkerlab.core.assets import minilm_dir
        from tinkerlab.core.errors import require

        transformers = require("transformers", extra="llm")
        folder = minilm_dir()
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
        self.model = transformers.AutoModel.from_pretrained(folder).eval()
        self._cache: dict[str, np.ndarray] = {}

    def embed_cached(self, texts: list[str]) -> np.ndarray:
        """Embeddings of `texts`, each text encoded once per judge."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            for text, vector in zip(missing, self.embed(missing)):
                self._cache[text] = vector
        return np.stack([self._cache[t] for t in texts])

    def embed(self, texts: list[str]) -> np.ndarray:
        import torch

        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
        with torch.no_grad():
            hidden = self.model(**batch).last_hidden_state  # (B, T, D)
        mask = batch["attention_mask"][:, :, None].float()  # (B, T, 1)
        pooled = (hidden * mask).sum(1) / mask.sum(1)  # (B, D)
        return torch.nn.functional.normalize(pooled, dim=1).numpy()

    def choose(self, category: str, description: str, item: dict[str, Any]) -> int:
        """1-based index of the candidate closest to the description."""
        if category == "entities":
            texts = [str(c) for c in item["candidates"]]
        else:
            texts = [f"{i} -> {o}" for i, o in item["candidates"]]
        vectors = self.embed_cached([description] + texts)
        return int(np.argmax(vectors[1:] @ vectors[0])) + 1


class LogprobJudge:
    """An LM judge of the three-way unit tests that reads log-probabilities instead of generating.

    The judge sees the same prompt as a generating evaluator (`unit_test_prompt`, in the chat template) with the
    reply prefilled as ``[ANSWER]: `` and picks the index token ("1", "2" or "3") with the highest next-token
    log-probability: one forward pass per item, deterministic, and always a valid answer. With ``debias`` each
    item is also asked with its candidates rotated (three orders), and a candidate's score is the sum of its
    log-probabilities (normalised over the three index tokens) at the positions it was shown in, which cancels
    the strong preference small models have for one position.

    Args:
        chat_model: a local chat model (``tinkerlab.llm.load_chat_model("local")`` or ``local:PATH``), whose
            ``model`` and ``tokenizer`` are used.
        debias: average over the three rotations of the candidates (three forward passes per item).
        batch_size: prompts per forward pass.
        threads: torch threads while judging (restored afterwards; None leaves torch's setting).

    Raises:
        InputError: the chat model exposes no local ``model`` and ``tokenizer`` (a remote API model).
    """

    def __init__(self, chat_model: Any, *, debias: bool = True, batch_size: int = 8, threads: int | None = 1) -> None:
        from tinkerlab.find.lm import FunctionLM

        model = getattr(chat_model, "model", None)
        tokenizer = getattr(chat_model, "tokenizer", None)
        if model is None or tokenizer is None:
            raise InputError(
                f"the log-probability judge needs a local chat model (local or local:PATH), got "
                f"{getattr(chat_model, 'name', type(chat_model).__name__)!r}"
            )
        self.debias = debias
        self.name = f"logprob{'-debiased' if debias else ''}:{getattr(chat_model, 'name', 'local')}"
        self.lm = FunctionLM(model, tokenizer, name=self.name, cache=None, batch_size=batch_size, threads=threads)
        self._choices = [self.lm._token_id(str(k)) for k in (1, 2, 3)]

    def _prompt(self, category: str, description: str, item: dict[str, Any]) -> str:
        text = unit_test_prompt(category, description, item)
        tokenizer = self.lm.tokenizer
        if getattr(tokenizer, "chat_template", None):
            text = tokenizer.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True,
                                                 tokenize=False)
        else:
            text += "\n"
        return text + "[ANSWER]: "

    def choice_logprobs(self, category: str, description: str, items: list[dict[str, Any]]) -> np.ndarray:
        """Log-probabilities of the three candidates of each item, normalised over them.

        Returns:
            an array (len(items), 3), columns in the items' own candidate order.
        """
        import torch

        shifts = (0, 1, 2) if self.debias else (0,)
        prompts, where = [], []
        for row, item in enumerate(items):
            for shift in shifts:
                order = [(k + shift) % 3 for k in range(3)]  # shown position -> original candidate
                shown = dict(item, candidates=[item["candidates"][k] for k in order])
                prompts.append(self._prompt(category, description, shown))
                where.append((row, order))
        totals = np.zeros((len(items), 3))
        for start in range(0, len(prompts), self.lm.batch_size):
            logits = self.lm.last_logits(prompts[start : start + self.lm.batch_size])  # (B, vocab)
            logp = torch.log_softmax(logits[:, self._choices], dim=1).numpy()  # (B, 3)
            for offset, values in enumerate(logp):
                row, order = where[start + offset]
                for position, original in enumerate(order):
                    totals[row, original] += values[position]
        return totals / len(shifts)

    def choose_many(self, category: str, description: str, items: list[dict[str, Any]]) -> list[int]:
        """1-based index of the picked candidate for each item."""
        return [int(k) + 1 for k in self.choice_logprobs(category, description, items).argmax(axis=1)]

    def choose(self, category: str, description: str, item: dict[str, Any]) -> int:
        return self.choose_many(category, description, [item])[0]
