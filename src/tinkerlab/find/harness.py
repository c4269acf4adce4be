"""The sandbox harness that runs FIND interpretation code (Schwettmann et al., NeurIPS 2023 D&B) on held-out inputs.

Interpreter code only ever runs inside `tinkerlab.sandbox`; many interpretations share one sandbox process (one call
per chunk), each with its own time limit, so running 1000 interpretations takes seconds. Code that fails to parse,
raises, loops or runs out of memory gets an error, and the others still run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tinkerlab.core.config import check_count, check_positive

_MARK = "@@FIND-RESULT@@"

# Runs inside the sandbox: executes each interpretation in a fresh namespace, calls its last top-level function
# on every input (one value at a time, as the original), with a per-item time limit; prints one result line each.
_HARNESS = r"""
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
"""


@dataclass(frozen=True)
class SandboxConfig:
    """Limits for running interpretation code."""

    item_timeout_s: float = 2.0
    chunk_size: int = 150
    memory_mb: int = 1024

    def __post_init__(self) -> None:
        check_positive(self, "item_timeout_s")
        check_count(self, "chunk_size", 1)
        check_count(self, "memory_mb", 64)  # the sandbox's smallest memory limit


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
