"""`tinkerlab find ...`: build a FIND suite, run interpreters on it, score and report (light imports only)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from tinkerlab.cli_options import (
    CHAT_MODEL_FORMS,
    ApiKeyEnv,
    BaseUrl,
    CommaList,
    ExecutorOption,
    Overwrite,
    Retries,
    Seed,
    Spec,
    Timeout,
    Workers,
    connection_environment,
    model_option,
    one_of,
    out_option,
)

app = typer.Typer(no_args_is_help=True, add_completion=False, help="FIND: function-interpretation benchmark.")

CATEGORIES = ("numeric", "strings", "entities", "relations")
"""`tinkerlab.find.suite.CATEGORIES` (not imported here, so `--help` stays fast)."""
_ALL = ",".join(CATEGORIES)
EntityReadout = Literal["instruction", "association"]
Ranges = Literal["original", "easy"]
Scoring = Literal["per-input", "original"]
"""The `scoring` modes of `tinkerlab.find.scoring.score_run`."""
"""`tinkerlab.find.entities.Readout`."""
INTERPRETERS = Spec(
    ("baseline", "fit", "interp", "search", "exemplar", "hints", "truth", "vacuous", "agent", "agent:SPEC")
)
"""The interpreter forms of `tinkerlab.find.runner` (`agent:SPEC` is the older spelling of `agent --model SPEC`)."""
EVALUATORS = Spec(("embedding", "logprob:SPEC", *CHAT_MODEL_FORMS))
FUNCTION_LMS = ("local", "local:PATH")
Categories = Annotated[
    str, typer.Option("--categories", parser=CommaList(CATEGORIES), metavar="LIST", help="Comma-separated categories.")
]


def _categories(text: str) -> tuple[str, ...]:
    return tuple(c.strip() for c in text.split(",") if c.strip())


def _interpreter(interpreter: str | None, model: str | None) -> str:
    """The runner's interpreter spec from --interpreter and --model (`agent` + `--model X` is `agent:X`)."""
    from tinkerlab.core.errors import InputError

    if interpreter is None:
        interpreter = "agent" if model else "baseline"
    if interpreter == "agent":
        return f"agent:{model or 'local'}"
    if interpreter.startswith("agent:"):
        if model and model != interpreter[len("agent:") :]:
            raise InputError(f"--interpreter {interpreter} and --model {model} name two models; give --model only")
        return interpreter
    if model:
        raise InputError(
            f"--model is the agent's chat model, but --interpreter {interpreter} is a baseline; "
            "use --interpreter agent (or leave --interpreter out)"
        )
    return interpreter


@app.command()
def build(
    out: Annotated[Path, out_option("a folder for the suite.")] = ...,
    seed: Seed = 0,
    small: bool = typer.Option(False, "--small", help="A quick subset (40/40/10/6) instead of 1000/1000/200/75."),
    model: Annotated[str | None, model_option(FUNCTION_LMS)] = None,
    lm: Annotated[
        str | None, typer.Option("--lm", hidden=True, parser=Spec(FUNCTION_LMS), help="The old name of --model.")
    ] = None,
    categories: Categories = _ALL,
    entity_readout: EntityReadout = typer.Option(
        "instruction",
        "--entity-readout",
        help='Entity neurons: instruction (the original P("1")) or association (concept-word PMI; selective even '
        "on a 135M LM).",
    ),
    ranges: Ranges = typer.Option(
        "original",
        "--ranges",
        help="Numeric parameter ranges: original (the original's generator) or easy (slow waves, wide bumps, "
        "thresholds anywhere: the earlier ranges, to compare with runs on version-1 suites).",
    ),
) -> None:
    """Write a FIND suite deterministically (the same seed writes an identical suite).

    --model is the LM behind the entity and relation functions (default: local, the embedded SmolLM2).
    """
    from tinkerlab.find.suite import BuildConfig, build_suite, load_suite

    lm_spec = one_of(model, lm, name="--model", alias_name="--lm") if model or lm else "local"
    config = BuildConfig(
        seed=seed,
        small=small,
        lm=lm_spec,
        categories=_categories(categories),
        entity_readout=entity_readout,
        ranges=ranges,
    )
    path = build_suite(out, config)
    suite = load_suite(path)
    counts = ", ".join(f"{k}: {len(v)}" for k, v in suite.functions.items())
    typer.echo(f"suite written to {path} ({counts})")


@app.command()
def run(
    suite: Path | None = typer.Argument(
        None, metavar="SUITE", help="The suite folder (from `tinkerlab find build`).", show_default=False
    ),
    suite_option: Path | None = typer.Option(None, "--suite", hidden=True, help="The old spelling of SUITE."),
    interpreter: str | None = typer.Option(
        None,
        "--interpreter",
        parser=INTERPRETERS,
        metavar="KIND",
        show_default="baseline, or agent with --model",
        help=f"{INTERPRETERS.text}: a baseline, the hints-only control (hints: entities, relations), a reference "
        "(truth: the ground-truth descriptions; vacuous: one content-free description), or the LLM agent on --model.",
    ),
    model: Annotated[str | None, model_option()] = None,
    base_url: BaseUrl = None,
    timeout: Timeout = None,
    retries: Retries = None,
    api_key_env: ApiKeyEnv = None,
    out: Annotated[Path, out_option("the run folder (resumed when it matches).")] = Path("find-run"),
    categories: Categories = _ALL,
    limit: int | None = typer.Option(None, "--limit", help="Only the first N functions of each category."),
    hints: bool = typer.Option(False, "--hints", help="Give the agent the search-initialisation words."),
    single_round: bool = typer.Option(False, "--single-round", help="The agent's one-round setting (with hints)."),
    max_rounds: int = typer.Option(20, "--max-rounds", help="The agent's round limit."),
    max_tokens: int = typer.Option(
        1024, "--max-tokens", help="Tokens one agent reply may take (a reply cut short loses its code)."
    ),
    workers: Workers = None,
    executor: ExecutorOption = "local",
    seed: Seed = 0,
    overwrite: Overwrite = False,
) -> None:
    """Interpret the suite's functions; every transcript is saved in the run folder.

    The seed seeds the black boxes' noise. `--interpreter agent --model SPEC` runs the LLM agent on a chat model
    (`--interpreter agent:SPEC` is the same).
    """
    from tinkerlab.find.runner import RunConfig, run_interpretations, skipped_categories

    suite_dir = one_of(suite, suite_option, name="SUITE", alias_name="--suite")
    config = RunConfig(
        interpreter=_interpreter(interpreter, model),
        suite=str(suite_dir),
        categories=_categories(categories),
        limit=limit,
        hints=hints,
        single_round=single_round,
        max_rounds=max_rounds,
        max_tokens=max_tokens,
        seed=seed,
    )
    skipped = skipped_categories(config)
    if skipped:
        typer.echo(f"{config.interpreter} does not apply to {', '.join(skipped)}: skipped", err=True)
    with connection_environment(base_url=base_url, timeout=timeout, retries=retries, api_key_env=api_key_env):
        path = run_interpretations(out, config, workers=workers, executor=executor, overwrite=overwrite)
    typer.echo(f"interpretations written to {path}/outputs/interpretations")


@app.command()
def score(
    run: Path | None = typer.Argument(
        None, metavar="RUN", help="The run folder (from `tinkerlab find run`).", show_default=False
    ),
    run_option: Path | None = typer.Option(None, "--run", hidden=True, help="The old spelling of RUN."),
    evaluator: str | None = typer.Option(
        None,
        "--evaluator",
        parser=EVALUATORS,
        metavar="SPEC",
        help="Judge of the language unit tests: a chat model spec (local, openai:gpt-4o, ...), 'logprob:local' (or "
        "logprob:local:PATH: a local model compares the options' log-probabilities, position-debiased) or "
        "'embedding' (offline MiniLM proxy); none skips them.",
    ),
    item_timeout: float = typer.Option(2.0, "--item-timeout", help="Seconds each interpretation's code may run."),
    scoring: Scoring = typer.Option(
        "per-input",
        "--scoring",
        help="per-input: code that raises on an input misses that input only; original: as the original scripts "
        "(see tinkerlab.find.scoring.score_run).",
    ),
    base_url: BaseUrl = None,
    timeout: Timeout = None,
    retries: Retries = None,
    api_key_env: ApiKeyEnv = None,
) -> None:
    """Score a run: numeric NMSE < 0.1, exact string matches, and LM-judged unit tests with --evaluator."""
    from tinkerlab.find.runner import load_interpretations

    run_dir = one_of(run, run_option, name="RUN", alias_name="--run")
    load_interpretations(run_dir)  # a folder without interpretations fails here, before a judge model loads
    with connection_environment(base_url=base_url, timeout=timeout, retries=retries, api_key_env=api_key_env):
        _score(run_dir, evaluator, item_timeout, scoring)


def _score(run_dir: Path, evaluator: str | None, item_timeout: float, scoring: str) -> None:
    from tinkerlab.find.harness import SandboxConfig
    from tinkerlab.find.scoring import score_run

    model = None
    if evaluator == "embedding":
        from tinkerlab.find.judges import EmbeddingJudge

        model = EmbeddingJudge()
    elif evaluator and evaluator.startswith("logprob:"):
        from tinkerlab.find.judges import LogprobJudge
        from tinkerlab.llm import load_chat_model

        model = LogprobJudge(load_chat_model(evaluator.split(":", 1)[1]))
    elif evaluator:
        from tinkerlab.llm import load_chat_model

        model = load_chat_model(evaluator)
    scores = score_run(run_dir, evaluator=model, config=SandboxConfig(item_timeout_s=item_timeout), scoring=scoring)
    by: dict[str, list[float]] = {}
    for s in scores:
        by.setdefault(f"{s.category}/{s.metric}", []).append(s.score)
    for key, values in sorted(by.items()):
        typer.echo(f"{key}: {sum(values) / len(values):.3f} (n={len(values)})")


@app.command()
def report(
    runs: list[Path] = typer.Argument(..., metavar="RUN...", help="Scored run folders."),
    out: Annotated[Path, out_option("the report folder.")] = Path("find-report"),
    published: bool = typer.Option(True, "--published/--no-published", help="Add the published rows."),
) -> None:
    """Table per category in the paper's layout, as JSON, CSV, Markdown and plots."""
    from tinkerlab.find.report import make_report

    make_report(list(runs), out, published=published)
    typer.echo((out / "report.md").read_text())
    typer.echo(f"report written to {out}")
