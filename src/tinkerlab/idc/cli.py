"""`tinkerlab idc complete`: diverse completions of a hole with IDC (Alkobi, Rott Shaham and Michaeli, arXiv
2212.10280), trained on the visible part of one image with the pyramid engine.

Only typer, pathlib and typing are imported at the top, so `tinkerlab --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from tinkerlab.cli_options import Device, Overwrite, Seed, out_option
from tinkerlab.pyramid.cli import PresetOption

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.callback()
def _group() -> None:
    """IDC: diverse completion of a hole, learned from the visible part of one image."""


Threads = Annotated[int, typer.Option("--threads", min=1, help="Torch threads; 1 is fastest for these small networks.")]
Resolution = Annotated[
    Literal["input", "model"],
    typer.Option("--resolution", help="input: completions at the input's own size; model: at the model's size."),
]
Merge = Annotated[
    Literal["tight", "original"],
    typer.Option("--merge", help="tight: hole + 5 px feathered; original: IDC's wider merge (see docs/idc.md)."),
]
SrSteps = Annotated[
    int,
    typer.Option(
        "--sr-steps",
        min=0,
        help=(
            "At --resolution input: passes of the finest generator that carry the completion up (default 2; "
            "0 = plain bicubic enlargement; a large number = one pass per pyramid ratio, SinGAN's SR; docs/idc.md)."
        ),
    ),
]
PAPER_MAX_SIZE = 256  # IDC's max_size (SinGAN's is 250)


@app.command()
def complete(
    image: str = typer.Argument(..., help="Image file (8 or 16 bits), or sample:NAME for a packaged photo."),
    mask: str = typer.Argument(
        ...,
        help=(
            "Mask image of the same size (white = hole), box:TOP,BOTTOM,LEFT,RIGHT as fractions of the image, "
            "or alpha (the image's transparent pixels are the hole)."
        ),
    ),
    out: Annotated[Path, out_option("the run directory; a finished matching run is reused.")] = ...,
    n: int = typer.Option(8, "--n", min=1, help="How many completions."),
    diversity: int = typer.Option(
        5, "--diversity", min=1, max=8, help="1 (close to one completion) .. 8 (most diverse)."
    ),
    preset: PresetOption = "cpu",
    iterations: int | None = typer.Option(None, "--iterations", min=1, help="Iterations per unmasked scale."),
    max_size: int | None = typer.Option(
        None, "--max-size", min=16, help="Longer side of the model (cpu: 64, paper: 256); output keeps the input's."
    ),
    resolution: Resolution = "input",
    merge: Merge = "tight",
    sr_steps: SrSteps = 2,
    seed: Seed = 0,
    threads: Threads = 1,
    overwrite: Overwrite = False,
    device: Device = "cpu",
) -> None:
    """Complete the hole of an image with IDC: N diverse completions learned from the visible part only."""
    from dataclasses import replace

    from tinkerlab.core.seeding import torch_threads
    from tinkerlab.idc import completion as idc
    from tinkerlab.idc.config import IDCConfig, demo_idc_config
    from tinkerlab.idc.holes import photo_and_mask
    from tinkerlab.pyramid.config import preset_config

    size = max_size or (PAPER_MAX_SIZE if preset == "paper" else None)
    base = replace(preset_config(preset, iterations=iterations, max_size=size, seed=seed), device=device)
    config = replace(demo_idc_config(seed=seed) if preset == "cpu" else IDCConfig(), base=base)
    photo, hole = photo_and_mask(image, mask)
    with torch_threads(threads):
        model = idc.train(photo, hole, config, out=out, overwrite=overwrite)
        completions = model.complete(
            n, diversity=diversity, seed=seed, resolution=resolution, merge=merge, sr_steps=sr_steps
        )
    grid = _write_completions(completions, out, diversity, seed)
    shape = "x".join(str(s) for s in completions[0].shape[:2])
    typer.echo(f"masking started at scale {model.masking_start}; wrote {n} completions ({shape}) and {grid}")


@app.command()
def sample(
    run: Path = typer.Argument(..., help="A finished run of `tinkerlab idc complete`."),
    n: int = typer.Option(8, "--n", min=1, help="How many completions."),
    diversity: int = typer.Option(5, "--diversity", min=1, max=8, help="1 .. 8 (most diverse)."),
    resolution: Resolution = "input",
    merge: Merge = "tight",
    sr_steps: SrSteps = 2,
    seed: Seed = 0,
    threads: Threads = 1,
    device: Device = "cpu",
) -> None:
    """More completions from a trained IDC run, without training."""
    from tinkerlab.core.seeding import choose_device, torch_threads
    from tinkerlab.idc import completion as idc

    with torch_threads(threads):
        model = idc.load(run, device=choose_device(device))
        completions = model.complete(
            n, diversity=diversity, seed=seed, resolution=resolution, merge=merge, sr_steps=sr_steps
        )
    grid = _write_completions(completions, run, diversity, seed)
    typer.echo(f"wrote {n} completions and {grid}")


def _write_completions(completions: list, run: Path, diversity: int, seed: int) -> Path:
    from tinkerlab.core.images import image_grid, save_image

    folder = run / "outputs" / "completions"
    for index, completion in enumerate(completions):
        save_image(completion, folder / f"completion_d{diversity}_seed{seed}_{index}.png")
    columns = min(4, len(completions))
    return save_image(image_grid(completions, columns=columns), folder / f"grid_d{diversity}_seed{seed}.png")
