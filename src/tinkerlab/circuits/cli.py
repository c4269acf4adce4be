"""`tinkerlab circuits ...`: entity-tracking data, the model pair, path patching, evaluation, DCM, CMAP, report.

Only light imports at module level; every command imports torch and transformers when it runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from tinkerlab.circuits.steps import STEPS
from tinkerlab.cli_options import Device, Seed, Spec, model_help, model_option, one_of, out_option

app = typer.Typer(
    help="Entity-tracking circuits (Prakash et al., ICLR 2024): patching, DCM, CMAP.", no_args_is_help=True
)

STEP_SPEC = Spec(STEPS)
Kind = Literal["plain", "path-patching", "positional", "object_value", "box_label_value"]
"""Prompt sets: plain, path-patching pairs, or the pairs of one desideratum (`tinkerlab.circuits.data.DESIDERATA`)."""
RunOut = Annotated[Path, out_option("the run directory (resumable; one JSON per step).")]
_DEFAULT_RUN = Path("circuits-run")


DType = Literal["float32", "bfloat16", "float16"]
DTypeOption = Annotated[
    DType | None, typer.Option("--dtype", help="Weights' dtype (default: the run's, else float32).")
]
MODEL_FORMS = ("base", "finetuned", "PATH")
PATH_HELP = "a transformers model folder (config.json and weights) or a .gguf file"


class ModelSpec(Spec):
    """`--model` of the pipeline: a role of the pair (the run's model in that role) or a model on disk (PATH)."""

    def matches(self, value: str) -> bool:
        from tinkerlab.circuits.models import is_model_path

        return value in self.forms or ("PATH" in self.forms and is_model_path(value))


def _model_option(forms: tuple[str, ...]):
    parser = ModelSpec(forms)
    return typer.Option("--model", "-m", parser=parser, metavar="SPEC", help=model_help(parser))


def _experiment(out: Path, *, device: str = "cpu", **settings):
    """The experiment in `out`: its saved settings (when a run is there) with the ones given on top."""
    from dataclasses import fields

    from tinkerlab.circuits.experiment import Experiment, ExperimentConfig

    names = {f.name for f in fields(ExperimentConfig)}
    saved: dict = {}
    record = out / "config.json"
    if record.is_file():
        try:
            saved = json.loads(record.read_text(encoding="utf-8")).get("config") or {}
        except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
            saved = {}  # RunDir.open names the damaged file
    values = {k: v for k, v in saved.items() if k in names}
    values.update({k: v for k, v in settings.items() if v is not None and k in names})
    return Experiment(out, ExperimentConfig(**values), log=typer.echo, device=device)


def _model_path(model: str) -> str:
    """An absolute model path (so a run records where its model is), refusing what is no model."""
    from tinkerlab.circuits.models import is_model_path
    from tinkerlab.core.errors import InputError

    if not is_model_path(model):
        raise InputError(f"--model: expected {' | '.join(MODEL_FORMS)} ({PATH_HELP}), got {model!r}")
    return str(Path(model).resolve())


@app.command()
def data(
    n: int = typer.Option(5, help="Number of prompts."),
    boxes: int = typer.Option(7, help="Segments per prompt."),
    kind: Kind = typer.Option("plain", help="Which prompts: plain, path-patching pairs, or a desideratum's pairs."),
    seed: Seed = 0,
    model: Annotated[str, model_option(("original", "base", "finetuned", "local:PATH"))] = "original",
) -> None:
    """Print entity-tracking prompts (and counterfactuals) checked against the tokenizer's fixed layout.

    The --model's tokenizer checks the layout: a model of the pair, or any transformers folder (local:PATH).
    """
    from tinkerlab.circuits import data as d
    from tinkerlab.circuits.models import load_model
    from tinkerlab.core.errors import InputError

    path = model[len("local:") :] if model.startswith("local:") else None
    _, tokenizer = load_model(model, path=path)
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
    seed: Seed = 11,
    redo: bool = typer.Option(False, help="Remake models that already exist."),
) -> None:
    """Make the base / fine-tuned SmolLM2 pair in the user cache directory (about 10 min on 2 CPU cores).

    The seed picks the fine-tune's data and initialisation.
    """
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
    out: RunOut = _DEFAULT_RUN,
    model: Annotated[str, _model_option(MODEL_FORMS)] = "base",
    n: int | None = typer.Option(None, min=1, help="Prompts (default: the run's, else 300 as the paper)."),
    device: Device = "cpu",
    dtype: DTypeOption = None,
) -> None:
    """Four-step path patching (VF, PT, PD, SR) on a model; saves scores and the circuit.

    --model is the run's base or fine-tuned model (the cached SmolLM2 pair unless the run names others), or any
    causal LM of a mapped family (PATH: a transformers folder or a .gguf file), studied as the run's base model.
    """
    if model in ("base", "finetuned"):
        exp = _experiment(out, n_path_patching=n, device=device, dtype=dtype)
        result = exp.run(f"pp_{model}")
    else:
        exp = _experiment(out, n_path_patching=n, device=device, dtype=dtype, model=_model_path(model))
        result = exp.run("pp_base")
    typer.echo(json.dumps(result["circuit"]))


@app.command("evaluate-circuit")
def evaluate_circuit_cmd(
    out: RunOut = _DEFAULT_RUN,
    completeness: bool = typer.Option(False, help="Also the incompleteness of the base circuit."),
    diagnostics: bool = typer.Option(
        False,
        help="Also the ceiling of the circuit's positions, the no-ablation-elsewhere mode, the position x layer "
        "sweep and the circuit extended by a query-region group.",
    ),
    device: Device = "cpu",
) -> None:
    """Faithfulness of the circuits (mean ablation) with random-circuit baselines; optionally diagnostics and
    completeness."""
    exp = _experiment(out, device=device)
    typer.echo(json.dumps(exp.run("faithfulness"), indent=1))
    if diagnostics:
        result = exp.run("diagnostics")
        typer.echo(json.dumps({k: v for k, v in result.items() if not k.startswith(("sweep", "query_region_s"))}))
    if completeness:
        typer.echo(json.dumps(exp.run("completeness"), indent=1))


@app.command()
def dcm(
    out: RunOut = _DEFAULT_RUN,
    finetuned: bool = typer.Option(False, help="Also the fine-tuned circuit."),
    device: Device = "cpu",
) -> None:
    """DCM per head group and desideratum, then semantic patching and the extra positional desiderata."""
    exp = _experiment(out, device=device)
    exp.run("dcm")
    exp.run("semantics")
    exp.run("extra")
    if finetuned:
        exp.run("dcm_finetuned")
    typer.echo(f"saved in {exp.run_dir.outputs}")


@app.command()
def cmap(out: RunOut = _DEFAULT_RUN, device: Device = "cpu") -> None:
    """Cross-model activation patching: fine-tuned circuit heads into the base model, per group."""
    exp = _experiment(out, device=device)
    typer.echo(json.dumps(exp.run("cmap"), indent=1))


@app.command()
def run(
    out: RunOut = _DEFAULT_RUN,
    steps: list[str] | None = typer.Option(
        None, "--step", parser=STEP_SPEC, metavar="STEP", help=f"Steps to run (default: all): {STEP_SPEC.text}."
    ),
    model: Annotated[str, _model_option(("base", "PATH"))] = "base",
    finetuned_model: Annotated[
        str | None, typer.Option("--finetuned-model", metavar="PATH", help=f"Fine-tuned model: {PATH_HELP}.")
    ] = None,
    device: Device = "cpu",
    dtype: DTypeOption = None,
) -> None:
    """The whole pipeline on the model pair (resumable); --step runs only the steps named (repeatable).

    By default the pair is the cached SmolLM2 base / fine-tuned models (or the run's own); --model PATH and
    --finetuned-model PATH study any other pair of causal LMs of mapped families (they must share a tokenizer).
    """
    exp = _experiment(
        out,
        device=device,
        dtype=dtype,
        model=None if model == "base" else _model_path(model),
        finetuned_model=None if finetuned_model is None else _model_path(finetuned_model),
    )
    for step in steps or STEPS:
        exp.run(step)


@app.command()
def report(
    run_dir: Path | None = typer.Argument(
        None, metavar="RUN", help="The run directory (from `tinkerlab circuits run`).", show_default="circuits-run"
    ),
    out: Path | None = typer.Option(None, "--out", hidden=True, help="The old spelling of RUN."),
    html: Path | None = typer.Option(None, help="Output file (default RUN/report.html)."),
) -> None:
    """A self-contained HTML report with head heatmaps and the tables of the finished steps."""
    from tinkerlab.circuits.report import write_report

    folder = _DEFAULT_RUN if run_dir is None and out is None else one_of(run_dir, out, name="RUN", alias_name="--out")
    path = write_report(folder, html or folder / "report.html")
    typer.echo(f"report -> {path}")
