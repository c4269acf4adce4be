"""`tinkerlab asapnet data | train | translate | bench`: ASAPNet label-to-image translation (Rott Shaham, Gharbi,
Zhang, Shechtman and Michaeli, CVPR 2021) and its pix2pixHD and SPADE baselines.

Only typer, pathlib and typing are imported at the top, so `tinkerlab --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from tinkerlab.cli_options import Device, Overwrite, Seed, Spec, out_option

app = typer.Typer(no_args_is_help=True, add_completion=False)

DATA_FORMS = ("facades", "photos", "clipart", "cmp:PATH", "cityscapes:PATH")  # = asapnet.data.DATA_FORMS
Generator = Literal["asapnet", "asapnet-no-pe", "asapnet-no-spatial", "pix2pixhd", "spade"]
Widths = Literal["demo", "published"]
BenchWidths = Literal["published", "slim"]
Offline = Literal["facades", "photos", "clipart"]
Threads = Annotated[int, typer.Option("--threads", min=1, help="Torch threads (1 is the most stable on a CPU).")]


@app.callback()
def _group() -> None:
    """ASAPNet: fast label-to-image translation with per-tile pixelwise MLPs, against pix2pixHD and SPADE."""


@app.command()
def data(
    dataset: Offline = typer.Argument(..., help="facades (procedural), photos (k-means labels) or clipart."),
    out: Annotated[Path, out_option("a folder for labels/, images/, colour/ and classes.txt.")] = ...,
    n: int = typer.Option(8, "--n", min=1, help="How many pairs."),
    size: int = typer.Option(128, "--size", min=16, help="Side of the square pairs."),
    seed: Seed = 0,
) -> None:
    """Write offline paired data: label maps (class-index PNGs for `translate`), real images, colour previews."""
    from tinkerlab.asapnet.data import offline_pairs, write_pairs

    pairs = offline_pairs(dataset, n, size, seed)
    folders = write_pairs(pairs, out)
    typer.echo(f"wrote {len(pairs)} {dataset} pairs ({size}x{size}, {pairs.num_labels} classes) to {folders['labels']}")


@app.command()
def train(
    out: Annotated[Path, out_option("the run directory; a matching run resumes.")] = ...,
    dataset: str = typer.Option(
        "facades",
        "--data",
        parser=Spec(DATA_FORMS),
        metavar="DATA",
        help="Training pairs: facades, photos, clipart (offline), cmp:PATH or cityscapes:PATH (real folders).",
    ),
    generator: Generator = typer.Option("asapnet", "--generator", help="Which generator to train."),
    widths: Widths = typer.Option("demo", "--widths", help="demo: small CPU widths; published: the papers' widths."),
    steps: int = typer.Option(300, "--steps", min=1, help="Generator updates."),
    pairs: int = typer.Option(56, "--pairs", min=2, help="Pairs generated (offline data) or read (folders)."),
    size: int = typer.Option(128, "--size", min=16, help="Training size (square), a multiple of the 16-cell grid."),
    vgg_weights: Path | None = typer.Option(
        None, "--vgg-weights", help="A torchvision VGG19 state dict: adds the perceptual loss (never downloaded)."
    ),
    seed: Seed = 0,
    threads: Threads = 1,
    overwrite: Overwrite = False,
    device: Device = "cpu",
) -> None:
    """Train ASAPNet, an ablation or a baseline on paired label maps (hinge GAN, feature matching, L1, TTUR)."""
    from tinkerlab.asapnet.config import make_run_config
    from tinkerlab.asapnet.data import training_pairs
    from tinkerlab.asapnet.training import train as train_model
    from tinkerlab.core.errors import InputError
    from tinkerlab.core.seeding import torch_threads

    if vgg_weights is not None and not vgg_weights.is_file():
        raise InputError(f"expected a VGG19 state-dict file for --vgg-weights, got {vgg_weights} (no such file)")
    pairs_data = training_pairs(dataset, n=pairs, size=size, seed=seed)
    extra = {"device": device, **({"vgg_weights": str(vgg_weights)} if vgg_weights else {})}
    config = make_run_config(
        generator, pairs_data.num_labels, widths=widths, steps=steps, size=size, seed=seed, dataset=dataset, **extra
    )
    with torch_threads(threads):
        model = train_model(pairs_data, config, out=out, overwrite=overwrite)
    last = (model.history or [{}])[-1]
    losses = ", ".join(f"{k} {v:.3f}" for k, v in last.items() if k != "step")
    typer.echo(f"trained {generator} for {steps} steps on {len(pairs_data)} {pairs_data.name} pairs ({losses}); {out}")


@app.command()
def translate(
    labels: Path = typer.Argument(..., help="A label map PNG whose pixel values are class indices."),
    run: Path = typer.Option(..., "--run", help="A run of `tinkerlab asapnet train`."),
    out: Annotated[Path | None, out_option("the output PNG (default RUN/outputs/NAME.png).")] = None,
    fast: bool = typer.Option(
        True,
        "--fast/--plain",
        help="ASAPNet's optimised path or the plain one (on a GPU the plain one is always used: faster there).",
    ),
    onnx: bool = typer.Option(
        False,
        "--onnx",
        help="With --fast on a CPU, run the low-resolution stream in ONNX Runtime (exported first: seconds).",
    ),
    threads: Threads = 1,
    device: Device = "cpu",
) -> None:
    """Translate one label map into an image with a trained generator."""
    from tinkerlab.asapnet.data import load_label_map
    from tinkerlab.asapnet.training import load
    from tinkerlab.core.images import save_image
    from tinkerlab.core.seeding import torch_threads

    label_map = load_label_map(labels)
    with torch_threads(threads):
        model = load(run, device=device)
        image = model.translate(label_map, fast=fast, onnx=onnx)
    target = save_image(image, out or run / "outputs" / f"{labels.stem}.png")
    typer.echo(f"wrote {target} ({image.shape[1]}x{image.shape[0]}, {model.config.kind})")


@app.command()
def bench(
    sizes: list[int] = typer.Option([256, 512], "--size", min=16, help="Label-map sides (repeatable)."),
    threads: list[int] = typer.Option([1], "--threads", min=1, help="Torch thread counts (repeatable)."),
    widths: BenchWidths = typer.Option("published", "--widths", help="published widths or the slim-baseline case."),
    repeats: int = typer.Option(3, "--repeats", min=1, help="Timed forward passes per measurement."),
    out: Annotated[Path | None, out_option("a JSON file for the rows and ratios.")] = None,
    device: Device = "cpu",
) -> None:
    """Time ASAPNet (plain, fast and, with ONNX Runtime, fast + ONNX paths), pix2pixHD and SPADE in this process."""
    import json

    from tinkerlab.asapnet.speed import format_rows, measure, speed_configs, speed_table

    rows = measure(
        speed_configs(widths=widths),
        sizes=tuple(sizes),
        threads=tuple(threads),
        repeats=repeats,
        warmup=1,
        device=device,
    )
    table = speed_table(rows)
    typer.echo(format_rows(rows))
    for entry in table:
        typer.echo(json.dumps(entry))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"widths": widths, "device": device, "rows": rows, "table": table}, indent=2) + "\n")
        typer.echo(f"wrote {out}")
