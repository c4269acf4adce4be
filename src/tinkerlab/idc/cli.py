"""`tinkerlab idc complete`: diverse completions of a hole with IDC (Alkobi, Rott Shaham and Michaeli, arXiv
2212.10280), trained on the visible part of one image with the pyramid engine.

Only typer, pathlib and typing are imported at the top, so `tinkerlab --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tinkerlab.cli_options import Device, Overwrite, Seed, out_option
from tinkerlab.pyramid.cli import PresetOption

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.callback()
def _group() -> None:
    """IDC: diverse completion of a hole, learned from the visible part of one image."""


@app.command()
def complete(
    image: str = typer.Argument(..., help="Image file, or sample:NAME for a packaged photo."),
    mask: str = typer.Argument(
        ...,
        help="Mask image of the same size (white = hole), or box:TOP,BOTTOM,LEFT,RIGHT as fractions of the image.",
    ),
    out: Annotated[Path, out_option("the run directory; a finished matching run is reused.")] = ...,
    n: int = typer.Option(8, "--n", min=1, help="How many completions."),
    diversity: int = typer.Option(
        5, "--diversity", min=1, max=8, help="1 (close to one completion) .. 8 (most diverse)."
    ),
    preset: PresetOption = "cpu",
    iterations: int | None = typer.Option(None, "--iterations", min=1, help="Iterations per unmasked scale."),
    seed: Seed = 0,
    threads: int = typer.Option(1, "--threads", min=1, help="Torch threads; 1 is fastest for these small networks."),
    overwrite: Overwrite = False,
    device: Device = "cpu",
) -> None:
    """Complete the hole of an image with IDC: N diverse completions learned from the visible part only."""
    from dataclasses import replace

    from tinkerlab.core.assets import image_source
    from tinkerlab.core.images import image_grid, save_image
    from tinkerlab.core.seeding import torch_threads
    from tinkerlab.idc import completion as idc
    from tinkerlab.idc.config import IDCConfig, demo_idc_config
    from tinkerlab.idc.holes import load_mask
    from tinkerlab.pyramid.config import preset_config

    base = replace(preset_config(preset, iterations=iterations, seed=seed), device=device)
    config = replace(demo_idc_config(seed=seed) if preset == "cpu" else IDCConfig(), base=base)
    photo = image_source(image)
    hole = load_mask(mask, photo.shape[:2])
    with torch_threads(threads):
        model = idc.train(photo, hole, config, out=out, overwrite=overwrite)
        completions = model.complete(n, diversity=diversity, seed=seed)
    folder = out / "outputs" / "completions"
    for index, completion in enumerate(completions):
        save_image(completion, folder / f"completion_d{diversity}_seed{seed}_{index}.png")
    grid = save_image(image_grid(completions, columns=min(4, n)), folder / f"grid_d{diversity}_seed{seed}.png")
    typer.echo(f"masking started at scale {model.masking_start}; wrote {n} completions and {grid}")
