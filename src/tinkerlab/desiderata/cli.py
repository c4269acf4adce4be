"""`tinkerlab desiderata ...`: run a spec on a model, write the report, make the variable-binding fine-tune.

Only light imports at module level; every command imports torch and transformers when it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from tinkerlab.cli_options import Device, Overwrite, Seed, Spec, model_help, out_option

app = typer.Typer(
    help="Desiderata masks (Davies et al., 2023): find the components that perform a subtask.", no_args_is_help=True
)

MODEL_FORMS = ("binding", "smollm2", "PATH")
DType = Literal["float32", "bfloat16", "float16"]


class ModelSpec(Spec):
    """`--model`: the cached fine-tune, the packaged SmolLM2, or a model on disk (PATH)."""

    def matches(self, value: str) -> bool:
        from tinkerlab.desiderata.models import is_model_path

        return value in self.forms or is_model_path(value)


_MODEL_PARSER = ModelSpec(MODEL_FORMS)
ModelOption = Annotated[
    str, typer.Option("--model", "-m", parser=_MODEL_PARSER, metavar="SPEC", help=model_help(_MODEL_PARSER))
]
SpecFile = Annotated[
    Path,
    typer.Option("--spec", "-s", metavar="FILE", help="The desiderata spec (YAML; `tinkerlab desiderata example`)."),
]


@app.command()
def run(
    spec: SpecFile,
    model: ModelOption = "binding",
    out: Annotated[Path, out_option("the run directory (resumable; one JSON per stage, result.json).")] = Path(
        "desiderata-run"
    ),
    device: Device = "cpu",
    dtype: Annotated[DType, typer.Option("--dtype", help="Weights' dtype.")] = "float32",
    overwrite: Overwrite = False,
) -> None:
    """Learn the joint mask of a spec's desiderata (and the single, random and seed controls); then `report`."""
    import json

    from tinkerlab.core.runs import RunDir
    from tinkerlab.desiderata.models import load_model, resolve_model
    from tinkerlab.desiderata.search import SYSTEM, run_search, spec_record
    from tinkerlab.desiderata.spec import load_spec

    loaded_spec = load_spec(spec)
    name = resolve_model(model)
    run_dir = RunDir.open(
        out,
        system=SYSTEM,
        config={"spec": spec_record(loaded_spec), "model": name, "dtype": dtype},
        overwrite=overwrite,
    )
    lm, tokenizer = load_model(name, device=device, dtype=dtype)

    def log(message: str) -> None:
        typer.echo(message)
        run_dir.log(message)

    result = run_search(loaded_spec, lm, tokenizer, outputs=run_dir.outputs, log=log, model_name=name)
    run_dir.save_state({"done": True})
    summary = {"selected": result["joint"]["selected"], "heldout": result["joint"]["heldout"]}
    typer.echo(json.dumps(summary))
    typer.echo(f"saved in {run_dir.outputs}; `tinkerlab desiderata report {out}` writes the HTML report")


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN", help="The run directory (from `run`).")],
    html: Annotated[Path | None, typer.Option(help="Output file (default RUN/report.html).")] = None,
) -> None:
    """A self-contained HTML report: the component map per layer and the accuracy, random and seed tables."""
    from tinkerlab.desiderata.report import write_report

    typer.echo(f"report -> {write_report(run_dir, html)}")


@app.command()
def check(spec: SpecFile, model: ModelOption = "binding") -> None:
    """Check a spec against a model's tokenizer (single-token targets, equal lengths) without learning anything."""
    from tinkerlab.desiderata.models import load_model
    from tinkerlab.desiderata.spec import check_spec, load_spec

    loaded = load_spec(spec)
    _, tokenizer = load_model(model)
    check_spec(loaded, tokenizer)
    typer.echo(f"{spec}: {len(loaded.desiderata)} desiderata, {sum(len(d.items) for d in loaded.desiderata)} items: ok")


@app.command()
def example() -> None:
    """Print the example spec (the variable-binding study of docs/desiderata.md)."""
    from tinkerlab.desiderata.spec import EXAMPLE_SPEC

    typer.echo(EXAMPLE_SPEC, nl=False)


@app.command()
def finetune(
    steps: int = typer.Option(150, min=1, help="AdamW steps (batch 8)."),
    lr: float = typer.Option(1e-4, min=0.0, help="Learning rate."),
    seed: Seed = 0,
    redo: bool = typer.Option(False, help="Remake the model when it already exists."),
) -> None:
    """Fine-tune the packaged SmolLM2-135M on variable-binding arithmetic (cached; a few minutes on 2 cores)."""
    import json

    from tinkerlab.desiderata.finetune import FinetuneConfig, is_cached, make_finetuned, model_dir

    if is_cached() and not redo:
        typer.echo(f"binding -> {model_dir()} (cached; --redo remakes it)")
        return
    path = make_finetuned(config=FinetuneConfig(steps=steps, lr=lr, seed=seed))
    record = json.loads((path / "training.json").read_text())
    typer.echo(f"task accuracy before: {record['accuracy_before']}")
    typer.echo(f"task accuracy after:  {record['accuracy_after']}")
    typer.echo(f"binding -> {path}")
