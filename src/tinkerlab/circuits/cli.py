"""`tinkerlab circuits ...`: entity-tracking data, the model pair, path patching, evaluation, DCM, CMAP, report.

Only light imports at module level; every command imports torch and transformers when it runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(
    help="Entity-tracking circuits (Prakash et al., ICLR 2024): patching, DCM, CMAP.", no_args_is_help=True
)

_RUN = typer.Option(Path("circuits-run"), "--out", help="Run directory (resumable; one JSON per step).")


def _experiment(out: Path, **sizes):
    from tinkerlab.circuits.experiment import Experiment, ExperimentConfig

    defaults = ExperimentConfig()
    config = ExperimentConfig(**{k: v for k, v in sizes.items() if v is not None and hasattr(defaults, k)})
    return Experiment(out, config, log=typer.echo)


@app.command()
def data(
    n: int = typer.Option(5, help="Number of prompts."),
    boxes: int = typer.Option(7, help="Segments per prompt."),
    kind: str = typer.Option("plain", help="plain | path-patching | positional | object_value | box_label_value"),
    seed: int = typer.Option(0),
    model: str = typer.Option("original", help="Model whose tokenizer checks the layout."),
) -> None:
    """Print entity-tracking prompts (and counterfactuals) checked against the tokenizer's fixed layout."""
    from tinkerlab.circuits import data as d
    from tinkerlab.circuits.models import load_model
    from tinkerlab.core.errors import InputError

    _, tokenizer = load_model(model)
    d.check_vocabulary(tokenizer)
    if kind == "plain":
        batch = d.entity_batch(tokenizer, n, n_boxes=boxes, seed=seed)
        for p in batch.prompts:
            typer.echo(json.dumps({"prompt": p.text(), "answer": " " + p.answer}))
    elif kind == "path-patching":
        clean, corrupt = d.path_patching_pairs(tokenizer, n, n_boxes=boxes, seed=seed)
        for a, b in zip(clean.prompts, corrupt.prompts, strict=False):
            typer.echo(json.dumps({"clean": a.text(), "corrupt": b.text(), "answer": " " + a.answer}))
    elif kind in d.DESIDERATA:
        base, source, targets = d.desideratum_pairs(tokenizer, n, kind, n_boxes=boxes, seed=seed)
        for a, b, t in zip(base.prompts, source.prompts, targets.tolist(), strict=False):
            typer.echo(json.dumps({"base": a.text(), "source": b.text(), "target": tokenizer.decode([t])}))
    else:
        raise InputError(f"unknown kind {kind!r}: expected plain, path-patching, {', '.join(d.DESIDERATA)}")


@app.command()
def finetune(
    warmup_steps: int = typer.Option(50, help="Entity-tracking warm-up steps (makes 'base')."),
    steps: int = typer.Option(150, help="Variable-binding fine-tune steps (makes 'finetuned')."),
    lr: float = typer.Option(1e-4, help="Fine-tune learning rate."),
    seed: int = typer.Option(11, help="Fine-tune data and initialisation seed."),
    redo: bool = typer.Option(False, help="Remake models that already exist."),
) -> None:
    """Make the base / fine-tuned SmolLM2 pair in the user cache directory (about 10 min on 2 CPU cores)."""
    from tinkerlab.circuits.finetune import FinetuneConfig, WarmupConfig, make_base, make_finetuned
    from tinkerlab.circuits.models import is_cached

    if redo or not is_cached("base"):
        typer.echo(f"base -> {make_base(WarmupConfig(steps=warmup_steps))}")
    if redo or not is_cached("finetuned"):
        path = make_finetuned(FinetuneConfig(steps=steps, lr=lr, seed=seed))
        curve = json.loads((path / "training.json").read_text()).get("entity_tracking_accuracy", [])
        if curve:
            typer.echo(
                "7-box entity-tracking accuracy during the fine-tune (held-out prompts): "
                + ", ".join(f"step {step}: {acc:.3f}" for step, acc in curve)
            )
        typer.echo(f"finetuned -> {path}")
    typer.echo("models ready")


@app.command("path-patch")
def path_patch_cmd(
    out: Path = _RUN,
    model: str = typer.Option("base", help="base | finetuned"),
    n: int = typer.Option(100, help="Prompts."),
) -> None:
    """Four-step path patching (VF, PT, PD, SR) on a model; saves scores and the circuit."""
    exp = _experiment(out, n_path_patching=n)
    result = exp.run(f"pp_{model}")
    typer.echo(json.dumps(result["circuit"]))


@app.command("evaluate-circuit")
def evaluate_circuit_cmd(out: Path = _RUN, completeness: bool = typer.Option(False)) -> None:
    """Faithfulness of the circuits (mean ablation) with random-circuit baselines; optionally completeness."""
    exp = _experiment(out)
    typer.echo(json.dumps(exp.run("faithfulness"), indent=1))
    if completeness:
        typer.echo(json.dumps(exp.run("completeness"), indent=1))


@app.command()
def dcm(out: Path = _RUN, finetuned: bool = typer.Option(False, help="Also the fine-tuned circuit.")) -> None:
    """DCM per head group and desideratum, then semantic patching and the extra positional desiderata."""
    exp = _experiment(out)
    exp.run("dcm")
    exp.run("semantics")
    exp.run("extra")
    if finetuned:
        exp.run("dcm_finetuned")
    typer.echo(f"saved in {exp.run_dir.outputs}")


@app.command()
def cmap(out: Path = _RUN) -> None:
    """Cross-model activation patching: fine-tuned circuit heads into the base model, per group."""
    exp = _experiment(out)
    typer.echo(json.dumps(exp.run("cmap"), indent=1))


@app.command()
def run(
    out: Path = _RUN,
    steps: list[str] | None = typer.Option(None, "--step", help="Steps to run (default: all)."),
) -> None:
    """The whole pipeline on the model pair (resumable)."""
    from tinkerlab.circuits.experiment import STEPS

    exp = _experiment(out)
    for step in steps or STEPS:
        exp.run(step)


@app.command()
def report(
    out: Path = _RUN, html: Path | None = typer.Option(None, help="Output file (default RUN/report.html).")
) -> None:
    """A self-contained HTML report with head heatmaps and the tables of the finished steps."""
    from tinkerlab.circuits.report import write_report

    path = write_report(out, html or out / "report.html")
    typer.echo(f"report -> {path}")
