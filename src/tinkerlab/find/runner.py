"""Running interpreters over a FIND suite: resumable, parallel on a local process pool (or Ray).

Each (category, function) is one job described as data, mapped by `tinkerlab.core.jobs`; a worker process loads
the suite and the interpreter once and answers jobs. Finished jobs are written to
``RUN/outputs/interpretations/<category>/<id>.json`` (description, domain, code, full transcript) and recorded in
``RUN/state.json``, so an interrupted run resumes where it stopped.

A function whose run failed for a reason outside the function (no API key, an unknown or unreachable model, a missing
package or model file) is a *failed run*: its record carries the cause in ``failure`` but it stays out of
``state.json``'s done list, the run ends with a `TinkerlabError` that names the cause, and the same command run again
interprets the pending functions. After `STOP_AFTER_FAILURES` failed runs in a row the rest are not started.

Interpreter specs:
    ``baseline``          fit (numeric), search (strings), exemplar (entities, relations)
    ``fit`` | ``interp`` | ``search`` | ``exemplar``   one baseline
    ``hints``             the hints-only control (entities, relations; never calls the function)
    ``truth`` | ``vacuous``  references: the suite's ground-truth description (and code), or one content-free
                          description (strings, entities, relations)

An interpreter runs only on the categories it applies to (`BASELINES`); the others asked for are skipped, and the
run log says so. Asking only for categories it does not apply to is an InputError.
    ``agent:<llm spec>``  the LLM agent on a chat model, e.g. ``agent:local``, ``agent:openai:gpt-4o``,
                          ``agent:scripted:replies.json``
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinkerlab.core.config import check_count, check_subset, check_type, config_error
from tinkerlab.core.errors import InputError, TinkerlabError
from tinkerlab.core.jobs import JobExecutor as Executor
from tinkerlab.find.agent import DEFAULT_MAX_TOKENS

BASELINE_FOR = {"numeric": "fit", "strings": "search", "entities": "exemplar", "relations": "exemplar"}
BASELINES = {
    "fit": ("numeric",),
    "interp": ("numeric",),
    "search": ("strings",),
    "exemplar": ("entities", "relations"),
    "hints": ("entities", "relations"),
    "truth": ("numeric", "strings", "entities", "relations"),
    "vacuous": ("strings", "entities", "relations"),
}
"""Interpreter name -> the categories it applies to (the baselines, the hints-only control and the references)."""
NO_CALLS = ("hints", "truth", "vacuous")
"""Interpreters that answer without calling the function (their runs load no function LM)."""
USES_HINTS = ("exemplar", "hints")
"""Interpreters that read the hint words (``initial``) themselves; the agent reads them with ``hints=True``."""
STOP_AFTER_FAILURES = 20
"""Failed runs in a row (a dead server, a refused key) after which the remaining functions are not started."""
_OLD_FAILURE = re.compile(r"(LLMError|LLMConnectionError|MissingDependencyError|MissingAssetError): ")


@dataclass(frozen=True)
class RunConfig:
    """One interpretation run.

    Attributes:
        interpreter: an interpreter spec (see the module docstring).
        suite: the suite folder.
        categories: which categories to interpret.
        limit: interpret only the first `limit` functions of each category (None: all).
        hints: give the agent the search-initialisation words.
        single_round: the agent's non-interactive setting (one round, with hints).
        max_rounds: the agent's round limit.
        max_tokens: tokens one reply of the agent may take.
        seed: seeds the black boxes' noise.
    """

    interpreter: str = "baseline"
    suite: str = ""
    categories: tuple[str, ...] = ("numeric", "strings", "entities", "relations")
    limit: int | None = None
    hints: bool = False
    single_round: bool = False
    max_rounds: int = 20
    max_tokens: int = DEFAULT_MAX_TOKENS
    seed: int = 0

    def __post_init__(self) -> None:
        check_type(self, "interpreter", str)
        known = self.interpreter == "baseline" or self.interpreter in BASELINES or self.interpreter.startswith("agent:")
        if not known:
            expected = f"'baseline', one of {sorted(BASELINES)} or 'agent:<llm spec>' (e.g. agent:local)"
            raise config_error(
                self, "interpreter", expected, self.interpreter, got=f"unknown interpreter {self.interpreter!r}"
            )
        check_type(self, "suite", (str, os.PathLike))
        check_subset(self, "categories", tuple(BASELINE_FOR))
        check_count(self, "limit", 1, optional=True)
        check_type(self, "hints", bool)
        check_type(self, "single_round", bool)
        check_count(self, "max_rounds", 0)
        check_count(self, "max_tokens", 1)
        check_count(self, "seed")


def check_interpreter_spec(spec: str) -> None:
    """Raise InputError for an interpreter spec that names nothing we know (an agent's chat-model spec included).

    The chat model is not loaded here: a missing key or an unreachable server shows when the jobs run.
    """
    if spec.startswith("agent:"):
        check_chat_model_spec(spec[len("agent:") :])
        return
    if spec == "baseline" or spec in BASELINES:
        return
    raise InputError(
        f"unknown interpreter {spec!r}; expected 'baseline', one of {sorted(BASELINES)}, or 'agent:<llm spec>' "
        "(e.g. agent:local, agent:openai:gpt-4o)"
    )


def check_chat_model_spec(spec: str) -> None:
    """Raise InputError for a chat-model spec that `tinkerlab.llm.load_chat_model` would refuse by its form.

    Checked before any job starts, so ``agent:foo:bar`` fails at once instead of once per function.
    """
    from tinkerlab.llm.loader import VALID_SPECS

    kind, _, rest = spec.partition(":")
    if (kind == "local" and (rest or ":" not in spec)) or (kind in ("openai", "anthropic", "scripted") and rest):
        if kind == "scripted" and not Path(rest).is_file():
            raise InputError(f"scripted replies file {rest!r} does not exist (from agent:{spec})")
        return
    raise InputError(
        f"unknown chat-model spec {spec!r} in agent:{spec}; valid forms: {', '.join(VALID_SPECS)} "
        "(e.g. agent:local, agent:openai:gpt-4o, agent:scripted:replies.json)"
    )


def failure_of(record: dict[str, Any]) -> str | None:
    """The cause of a failed run recorded in an interpretation record (None when the interpreter itself answered).

    Records written before failures were kept apart say so only in their error (``LLMError: ...``); those count too.
    """
    if record.get("failure"):
        return str(record["failure"])
    error = record.get("error") or ""
    return error if _OLD_FAILURE.match(error) else None


def interpreter_for(spec: str, category: str, config: RunConfig) -> Any:
    """Build the interpreter object for one category."""
    from tinkerlab.find import baselines

    name = BASELINE_FOR[category] if spec == "baseline" else spec
    if name.startswith("agent:"):
        return _agent(name[len("agent:") :], config.hints, config.single_round, config.max_rounds, config.max_tokens)
    if category not in BASELINES.get(name, ()):
        raise InputError(f"baseline {name!r} interprets {BASELINES.get(name)}, not {category!r}")
    return {
        "fit": baselines.NumericFitInterpreter,
        "interp": baselines.InterpolationInterpreter,
        "search": baselines.StringSearchInterpreter,
        "exemplar": baselines.ExemplarInterpreter,
        "hints": baselines.HintsInterpreter,
        "truth": baselines.TruthInterpreter,
        "vacuous": baselines.VacuousInterpreter,
    }[name]()


@functools.lru_cache(maxsize=4)
def _agent(llm_spec: str, hints: bool, single_round: bool, max_rounds: int, max_tokens: int) -> Any:
    from tinkerlab.find.agent import AgentConfig, AgentInterpreter
    from tinkerlab.llm import load_chat_model

    model = load_chat_model(llm_spec)
    config = AgentConfig(max_rounds=max_rounds, hints=hints, single_round=single_round, max_tokens=max_tokens)
    return AgentInterpreter(model, config)


@functools.lru_cache(maxsize=2)
def _suite(path: str):
    from tinkerlab.find.suite import load_suite

    return load_suite(path)


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Interpret one function (runs in a worker process). Failures are returned as data, never raised.

    A `TinkerlabError` while the suite, the function's LM or the interpreter's model loads (no API key, an unknown
    model, a missing package) is the run's failure, not the function's: the record carries it as ``failure``.
    """
    from tinkerlab.find.protocol import BlackBox, Interpretation

    config = RunConfig(**{**job["config"], "categories": tuple(job["config"]["categories"])})
    category, function_id = job["category"], job["function_id"]
    try:
        try:
            suite = _suite(config.suite)
            spec = suite.get(category, function_id)
            lm = None
            if category in ("entities", "relations") and config.interpreter in NO_CALLS:
                lm = _NoLM()
            elif category in ("entities", "relations"):
                from tinkerlab.find.lm import load_function_lm

                lm = load_function_lm(suite.lm)
            interpreter = interpreter_for(config.interpreter, category, config)
        except TinkerlabError as exc:
            cause = " ".join(str(exc).split()) or type(exc).__name__
            record = Interpretation(function_id, category, error=f"{type(exc).__name__}: {cause}", failure=cause)
            record = record.to_dict()
        else:
            box = BlackBox(spec, lm, seed=config.seed * 100003 + int(function_id.lstrip("f")))
            record = interpreter.interpret(spec, box).to_dict()
            record["black_box_calls"] = box.calls
    except Exception as exc:  # noqa: BLE001 - one failing function must not stop the run
        record = Interpretation(function_id, category, error=f"{type(exc).__name__}: {exc}").to_dict()
    record["interpreter"] = config.interpreter
    return record


def skipped_categories(config: RunConfig) -> list[str]:
    """The asked-for categories that the run's interpreter does not apply to (it skips them).

    Raises:
        InputError: it applies to none of them (e.g. ``hints`` on numeric: numeric functions have no hint words).
    """
    applies = BASELINES.get(config.interpreter)
    if applies is None:
        return []
    skipped = [c for c in config.categories if c not in applies]
    if skipped and len(skipped) == len(config.categories):
        why = " (numeric and string functions have no hint words)" if config.interpreter == "hints" else ""
        raise InputError(
            f"interpreter {config.interpreter!r} applies to {', '.join(applies)} only, not to "
            f"{', '.join(skipped)}{why}; choose one of those with --categories"
        )
    return skipped


class _NoLM:
    """Stands in for the function LM under the `NO_CALLS` interpreters: any use of it is a bug."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"interpreters in {NO_CALLS} never call the function (asked the LM for {name!r})")


def _jobs(config: RunConfig) -> list[dict[str, Any]]:
    suite = _suite(config.suite)
    skipped = skipped_categories(config)
    jobs = []
    for category in config.categories:
        if category not in suite.functions:
            raise InputError(f"suite {config.suite} has no {category!r} functions; it has {sorted(suite.functions)}")
        if category in skipped:
            continue
        specs = suite.functions[category][: config.limit] if config.limit else suite.functions[category]
        jobs += [{"category": category, "function_id": s["id"]} for s in specs]
    return jobs


def run_interpretations(
    out: str | Path,
    config: RunConfig,
    *,
    workers: int | None = None,
    executor: Executor = "local",
    overwrite: bool = False,
    ray_address: str | None = None,
) -> Path:
    """Interpret the suite's functions and write a run directory (resuming a matching one).

    Args:
        out: the run folder.
        config: what to run.
        workers: processes of the local pool (default: the CPU count, at most 4; 1 runs in-process); with Ray,
            the CPUs of the local cluster it starts (default: all) or the jobs in flight on an existing one.
        executor: 'local' (process pool) or 'ray' (needs `pip install 'tinkerlab[ray]'`).
        overwrite: start afresh in a folder that holds a run with another config.
        ray_address: the Ray cluster to use (default: RAY_ADDRESS, else a local one on 127.0.0.1).

    Returns:
        The run folder.

    Raises:
        MissingDependencyError: executor 'ray' without ray installed.
        InputError: a bad interpreter spec (an agent's chat-model spec included), category, executor or worker
            count; raised before any job starts.
        ResumeError: the folder holds a different run.
        TinkerlabError: some functions were failed runs (their records say why; the message names the most common
            cause), or jobs died in the executor (a worker crashed). Those functions stay pending: the others are
            saved, and running the same call again interprets the rest.
    """
    from tinkerlab.core.jobs import check_executor, map_jobs
    from tinkerlab.core.runs import RunDir, atomic_write_text
    from tinkerlab.find.suite import load_suite

    check_interpreter_spec(config.interpreter)
    check_executor(executor, workers)
    suite_path = str(Path(config.suite).resolve())
    load_suite(suite_path, categories=())  # fails early on a missing or incompatible suite
    config = RunConfig(**{**config.__dict__, "suite": suite_path})
    skipped = skipped_categories(config)  # an interpreter that applies to none of the categories fails here
    run = RunDir.open(out, system="find", config=config, overwrite=overwrite)
    state = run.state()
    done: set[str] = set(state.get("done", [])) - _failed_earlier(run.outputs / "interpretations", state)
    jobs = [j for j in _jobs(config) if f"{j['category']}/{j['function_id']}" not in done]
    payload = {k: (list(v) if isinstance(v, tuple) else v) for k, v in config.__dict__.items()}
    for job in jobs:
        job["config"] = payload
    if skipped:
        run.log(f"{config.interpreter} does not apply to {', '.join(skipped)}: skipped")
    run.log(f"{len(done)} functions already interpreted, {len(jobs)} to go ({executor})")

    failed: dict[str, str] = {}
    tokens = Counter()
    costs: list[float] = []

    def finish(record: dict[str, Any]) -> None:
        folder = run.outputs / "interpretations" / record["category"]
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder / f"{record['function_id']}.json", json.dumps(record, indent=1) + "\n")
        key = f"{record['category']}/{record['function_id']}"
        tokens.update(record.get("usage") or {})
        if record.get("cost_usd") is not None:
            costs.append(record["cost_usd"])
        if record.get("failure"):
            failed[key] = record["failure"]
            run.log(f"{key} failed: {record['failure']}")
            return
        done.add(key)
        run.save_state({"done": sorted(done)})

    count = workers
    if executor == "local":
        count = 1 if len(jobs) <= 1 else workers or min(4, os.cpu_count() or 1)
    results = map_jobs(
        run_job,
        jobs,
        executor=executor,
        workers=count,
        ordered=False,
        progress=f"interpreting ({config.interpreter})",
        ray_address=ray_address,
    )
    lost = []
    in_a_row = 0
    stopped = ""
    for result in results:
        if result.ok:
            finish(result.value)
            in_a_row = in_a_row + 1 if result.value.get("failure") else 0
        else:
            # run_job returns its own failures as records, so this job died in the executor: left for a rerun
            lost.append(f"{result.job['category']}/{result.job['function_id']}")
            run.log(f"{lost[-1]} did not finish: {result.error}")
        if in_a_row >= STOP_AFTER_FAILURES and len(failed) + len(lost) < len(jobs):
            results.close()  # stops the pool; the functions not started stay pending
            stopped = f" (the rest were not started after {in_a_row} failures in a row)"
            run.log(f"stopped after {in_a_row} failed runs in a row")
            break
    run.log(f"finished: {len(done)} functions interpreted")
    if tokens:
        cost = f"; estimated cost ${sum(costs):.4f} (list prices, an estimate)" if costs else ""
        run.log(f"tokens: {tokens['prompt_tokens']} prompt, {tokens['completion_tokens']} completion{cost}")
    if failed:
        cause, count = Counter(failed.values()).most_common(1)[0]
        others = f" ({len(failed) - count} others failed for other causes; see {run.path / 'run.log'})"
        pending = len(jobs) - len(done & {f"{j['category']}/{j['function_id']}" for j in jobs})
        raise TinkerlabError(
            f"{len(failed)} of {len(jobs)} functions failed{stopped}: {cause}"
            + (others if count < len(failed) else "")
            + f"; fix that and run the same command again: the run resumes with the {pending} functions left"
        )
    if lost:
        raise TinkerlabError(
            f"{len(lost)} of {len(jobs)} functions did not finish ({', '.join(lost[:5])}; see {run.path / 'run.log'}); "
            "run the same command again to retry them"
        )
    return run.path


def _failed_earlier(root: Path, state: dict[str, Any]) -> set[str]:
    """Done functions whose saved record is a failed run (written before failed runs were kept pending)."""
    failed = set()
    for key in state.get("done", []):
        file = root / f"{key}.json"
        try:
            record = json.loads(file.read_text(encoding="utf-8")) if file.is_file() else {}
        except (OSError, ValueError):
            continue
        if failure_of(record):
            failed.add(key)
    return failed


def load_interpretations(run_dir: str | Path) -> dict[str, dict[str, dict[str, Any]]]:
    """category -> function id -> interpretation record, read from a run folder."""
    root = Path(run_dir) / "outputs" / "interpretations"
    if not root.exists():
        raise InputError(f"{run_dir} holds no interpretations; run `tinkerlab find run` first")
    records: dict[str, dict[str, dict[str, Any]]] = {}
    for file in sorted(root.glob("*/*.json")):
        record = json.loads(file.read_text(encoding="utf-8"))
        records.setdefault(record["category"], {})[record["function_id"]] = record
    return records
