"""The sandbox harness that runs FIND interpretation code (Schwettmann et al., NeurIPS 2023 D&B) on held-out inputs.

Interpreter code only ever runs inside `tinkerlab.sandbox`; many interpretations share one sandbox process
(`SandboxWorker.run_items`), so running 1000 interpretations takes seconds. The per-item wall clock is enforced by
the parent, not by a signal inside the sandbox that the code could ignore: an item that overruns gets the process
killed and is recorded as timed out, and the batch goes on in a fresh process. Results travel as length-prefixed
frames, so a large output never cuts a record; a result over 1 MB is that item's error. Code that fails to parse,
raises, loops, prints too much or runs out of memory gets an error, and the others still run.

The sandbox sees only the interpretation's code and its inputs: the ground truth stays in the parent, and in the
jail the suite's folder is not there at all (`SandboxConfig.hidden_paths` also covers it should it lie inside a
bound folder). In the process fallback the code could still read the suite by its path (see docs/sandbox.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinkerlab.core.config import check_count, check_positive

# Runs inside the sandbox: executes one interpretation in a fresh namespace and calls its entry function on every
# input, one value at a time, as the original. A call that raises is that input's error, recorded with its index; with
# the original's rule ("original") the first such error ends the item, as the original's loop does. The time limit
# is the parent's.
_HARNESS = r"""
import ast, math

def _entry_name(code, rule):
    if rule == "original":
        # the original takes the text after the last 'def ' up to '(' (nested or indented defs included)
        where = code.rfind("def ")
        tail = code[where + 4:] if where >= 0 else code
        return tail.partition("(")[0]
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

def _argument(value, kind, rule):
    if kind == "strings" and rule == "original":
        # the original writes the input between single quotes into a Python call: the function gets that
        # literal's value, and an input the literal cannot hold (a quote, a newline) raises
        return ast.literal_eval("'" + value + "'")
    return value

def _score_item(item):
    rule = item.get("rule", "per-input")
    result = {"outputs": None, "error": None, "point_errors": []}
    try:
        name = _entry_name(item["code"], rule)
        namespace = {"__name__": "interpretation"}
        exec(compile(item["code"], "<interpretation>", "exec"), namespace)
        function = namespace.get(name)
        if not callable(function):
            raise ValueError("no function named %r (the last 'def ' of the code, as the original reads it)" % name)
        outputs = []
        for index, value in enumerate(item["inputs"]):
            try:
                outputs.append(_encode(function(_argument(value, item["kind"], rule)), item["kind"]))
            except MemoryError:
                raise
            except Exception as exc:
                outputs.append(None)
                result["point_errors"].append([index, "%s: %s" % (type(exc).__name__, str(exc)[:300])])
                if rule == "original":
                    break
        result["outputs"] = outputs
    except MemoryError:
        result["error"] = "memory limit exceeded"
    except BaseException as exc:
        result["error"] = "%s: %s" % (type(exc).__name__, str(exc)[:300])
    return result
"""

MAX_RESULT_BYTES = 1_000_000  # one interpretation's outputs (JSON)


@dataclass(frozen=True)
class SandboxConfig:
    """Limits for running interpretation code."""

    item_timeout_s: float = 2.0
    chunk_size: int = 150  # interpretations sent to the sandbox per request
    memory_mb: int = 1024
    isolation: str | None = None  # "auto", "jail", "process"; None reads $TINKERLAB_SANDBOX
    hidden_paths: tuple[str, ...] = ()  # folders the code must not see (the suite's), see tinkerlab.sandbox

    def __post_init__(self) -> None:
        check_positive(self, "item_timeout_s")
        check_count(self, "chunk_size", 1)
        check_count(self, "memory_mb", 64)  # the sandbox's smallest memory limit


@dataclass
class CodeRun:
    """Outputs of one interpretation's code on its inputs, or why it failed.

    ``outputs[i]`` is None where the call on input ``i`` raised (its message is in ``point_errors`` as
    ``(i, message)``) or, for numeric code, gave no finite number. With the original's rule the outputs stop after
    the first input that raised.
    """

    key: str
    outputs: list[Any] | None
    error: str | None = None
    point_errors: list[tuple[int, str]] = field(default_factory=list)


def run_codes(items: list[dict[str, Any]], config: SandboxConfig = SandboxConfig()) -> dict[str, CodeRun]:
    """Run many interpretation codes in the sandbox, batched; each item is
    ``{"key": str, "code": str, "inputs": list, "kind": "numeric" | "strings"}``, with an optional
    ``"rule": "per-input" | "original"`` (default per-input): how the entry function is found and whether the first
    input that raises ends the item (see `tinkerlab.find.metrics`).

    Only ``code``, ``inputs``, ``kind`` and ``rule`` reach the sandbox.

    Returns:
        key -> `CodeRun`. An item whose code loops past the limit, crashes the process, exhausts memory or returns
        more than 1 MB gets an error; the others still run.
    """
    from tinkerlab.sandbox import SandboxWorker

    results: dict[str, CodeRun] = {}
    pending = [i for i in items if i.get("code", "").strip()]
    for item in items:
        if not item.get("code", "").strip():
            results[item["key"]] = CodeRun(item["key"], None, "no code")
    if not pending:
        return results
    hidden = tuple(str(Path(p)) for p in config.hidden_paths)
    with SandboxWorker(
        timeout_s=30.0,  # the set-up code only; each item has its own limit
        memory_mb=config.memory_mb,
        setup_code=_HARNESS,
        isolation=config.isolation,
        hidden_paths=hidden,
    ) as worker:
        for start in range(0, len(pending), config.chunk_size):
            chunk = pending[start : start + config.chunk_size]
            payload = [
                {"code": i["code"], "inputs": i["inputs"], "kind": i["kind"], "rule": i.get("rule", "per-input")}
                for i in chunk
            ]
            ran = worker.run_items(
                "_score_item", payload, item_timeout_s=config.item_timeout_s, max_record_bytes=MAX_RESULT_BYTES
            )
            for item, result in zip(chunk, ran, strict=True):
                key = item["key"]
                if isinstance(result.value, dict):
                    errors = [(int(i), str(m)) for i, m in result.value.get("point_errors") or []]
                    results[key] = CodeRun(key, result.value.get("outputs"), result.value.get("error"), errors)
                elif (result.error or "").startswith("the sandbox process"):  # the process died on this item
                    results[key] = CodeRun(key, None, f"sandbox failure: {result.error}"[:400])
                else:  # timed out, or its output was over the limit
                    results[key] = CodeRun(key, None, result.error or "no result")
    return results
