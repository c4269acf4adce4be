"""`tinkerlab find ...`: build a FIND suite, run interpreters on it, score and report (light imports only)."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help="FIND: function-interpretation benchmark.")

_ALL = "numeric,strings,entities,relations"


def _categories(text: str) -> tuple[str, ...]:
    return tuple(c.strip() for c in text.split(",") if c.strip())


@app.command()
def build(
    out: Path = typer.Option(..., "--out", help="Folder for the suite."),
    seed: int = typer.Option(0, "--seed", help="Seed: the same seed writes an identical suite."),
    small: bool = typer.Option(False, "--small", help="A quick subset (40/40/10/6) instead of 1000/1000/200/75."),
    lm: str = typer.Option("local", "--lm", help="LM behind entity/relation functions: local or local:PATH."),
    categories: str = typer.Option(_ALL, "--categories", help="Comma-separated categories to build."),
    entity_readout: str = typer.Option(
        "instruction",
        "--entity-readout",
        help='Entity neurons: instruction (the original P("1")) or association (concept-word PMI; selective even on a 135M LM).',
    ),
) -> None:
    """Write a FIND suite deterministically."""
    from tinkerlab.find.suite import BuildConfig, build_suite, load_suite

    config = BuildConfig(
        seed=seed, small=small, lm=lm, categories=_categories(categories), entity_readout=entity_readout
    )  # type: ignore[arg-type]
    path = build_suite(out, config)
    suite = load_suite(path)
    counts = ", ".join(f"{k}: {len(v)}" for k, v in suite.functions.items())
    typer.echo(f"suite written to {path} ({counts})")


@app.command()
def run(
    suite: Path = typer.Option(..., "--suite", help="Suite folder (from `tinkerlab find build`)."),
    interpreter: str = typer.Option(
        "baseline", "--interpreter", help="baseline | fit | interp | search | exemplar | agent:<llm spec>."
    ),
    out: Path = typer.Option(Path("find-run"), "--out", help="Run folder (resumed when it matches)."),
    categories: str = typer.Option(_ALL, "--categories", help="Comma-separated categories."),
    limit: int | None = typer.Option(None, "--limit", help="Only the first N functions of each category."),
    hints: bool = typer.Option(False, "--hints", help="Give the agent the search-initialisation words."),
    single_round: bool = typer.Option(False, "--single-round", help="The agent's one-round setting (with hints)."),
    max_rounds: int = typer.Option(20, "--max-rounds", help="The agent's round limit."),
    workers: int | None = typer.Option(None, "--workers", help="Local pool size (default: CPUs, at most 4)."),
    executor: str = typer.Option("local", "--executor", help="local (process pool) or ray."),
    seed: int = typer.Option(0, "--seed", help="Seeds the black boxes' noise."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Start afresh where another run's config is recorded."),
) -> None:
    """Interpret the suite's functions; every transcript is saved in the run folder."""
    from tinkerlab.find.runner import RunConfig, run_interpretations

    config = RunConfig(
        interpreter=interpreter,
        suite=str(suite),
        categories=_categories(categories),
        limit=limit,
        hints=hints,
        single_round=single_round,
        max_rounds=max_rounds,
        seed=seed,
    )
    path = run_interpretations(out, config, workers=workers, executor=executor, overwrite=overwrite)  # type: ignore[arg-type]
    typer.echo(f"interpretations written to {path}/outputs/interpretations")


@app.command()
def score(
    run_dir: Path = typer.Option(..., "--run", help="Run folder (from `tinkerlab find run`)."),
    evaluator: str | None = typer.Option(
        None,
        "--evaluator",
        help="Judge of the language unit tests: a chat model spec (local, openai:gpt-4o, ...), 'logprob:local' (or logprob:local:PATH: a local model compares the options' log-probabilities, position-debiased) or 'embedding' (offline MiniLM proxy); none skips them.",
    ),
    item_timeout: float = typer.Option(2.0, "--item-timeout", help="Seconds each interpretation's code may run."),
) -> None:
    """Score a run: numeric NMSE < 0.1, exact string matches, and LM-judged unit tests with --evaluator."""
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
    scores = score_run(run_dir, evaluator=model, config=SandboxConfig(item_timeout_s=item_timeout))
    by: dict[str, list[float]] = {}
    for s in scores:
        by.setdefault(f"{s.category}/{s.metric}", []).append(s.score)
    for key, values in sorted(by.items()):
        typer.echo(f"{key}: {sum(values) / len(values):.3f} (n={len(values)})")


@app.command()
def report(
    runs: list[Path] = typer.Argument(..., help="Scored run folders."),
    out: Path = typer.Option(Path("find-report"), "--out", help="Report folder."),
    published: bool = typer.Option(True, "--published/--no-published", help="Add the published rows."),
) -> None:
    """Table per category in the paper's layout, as JSON, CSV, Markdown and plots."""
    from tinkerlab.find.report import make_report

    make_report(list(runs), out, published=published)
    typer.echo((out / "report.md").read_text())
    typer.echo(f"report written to {out}")
