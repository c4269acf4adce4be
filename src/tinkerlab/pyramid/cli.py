"""`tinkerlab pyramid ...`: train a single-image GAN (SinGAN, Shaham et al., ICCV 2019) and sample it at any size.

Only typer, pathlib and typing are imported at the top, so `tinkerlab --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from tinkerlab.cli_options import Device, Overwrite, Seed, one_of, out_option

app = typer.Typer(no_args_is_help=True, add_completion=False)

PRESET_HELP = "cpu: longer side 64, 5 scales, 300 iterations (minutes on a CPU); paper: the papers' settings (hours)."
Preset = Literal["cpu", "paper"]
"""The presets of `tinkerlab.pyramid.config.preset_config` (the CLI does not import it, to stay fast)."""
PresetOption = Annotated[Preset, typer.Option("--preset", help=PRESET_HELP)]


@app.command()
def train(
    image: str = typer.Argument(..., help="Image file, or sample:NAME for a packaged photo (e.g. sample:brick)."),
    out: Annotated[
        Path, out_option("the run directory (checkpoints, every scale's images); resumed if it matches.")
    ] = ...,
    preset: PresetOption = "cpu",
    iterations: int | None = typer.Option(None, "--iterations", help="Iterations per scale (overrides the preset)."),
    max_size: int | None = typer.Option(None, "--max-size", help="Longer side of the finest scale."),
    scales: int | None = typer.Option(None, "--scales", help="Number of scales."),
    seed: Seed = 0,
    threads: int = typer.Option(1, "--threads", min=1, help="Torch threads; 1 is fastest for these small networks."),
    overwrite: Overwrite = False,
    device: Device = "cpu",
) -> None:
    """Train a SinGAN model of one image, scale by scale."""
    from dataclasses import replace

    from tinkerlab.core.assets import image_source
    from tinkerlab.core.seeding import torch_threads
    from tinkerlab.pyramid import singan
    from tinkerlab.pyramid.config import preset_config

    config = preset_config(preset, iterations=iterations, max_size=max_size, scales=scales, seed=seed)
    config = replace(config, device=device)  # type: ignore[arg-type]
    with torch_threads(threads):
        model = singan.train(image_source(image), config, out=out, overwrite=overwrite)
    shapes = ", ".join(f"{h}x{w}" for h, w in model.pyramid.shapes)
    typer.echo(f"trained {model.pyramid.num_scales} scales ({shapes}); run in {out}")


@app.command()
def sample(
    run: Path = typer.Argument(..., help="A finished run of `tinkerlab pyramid train`."),
    n: int = typer.Option(8, "--n", min=1, help="How many samples."),
    size: str | None = typer.Option(None, "--size", help="Output size HxW (default: the training size)."),
    start_scale: int = typer.Option(0, "--start-scale", min=0, help="First scale with fresh noise (0 = coarsest)."),
    seed: Seed = 0,
    out: Annotated[Path | None, out_option("a folder for the PNGs (default RUN/outputs/samples).")] = None,
    out_dir: Path | None = typer.Option(None, "--out-dir", hidden=True, help="The old spelling of --out."),
    threads: int = typer.Option(1, "--threads", min=1),
    device: Device = "cpu",
) -> None:
    """Draw random samples of any size from a trained model."""
    from tinkerlab.core.images import image_grid, save_image
    from tinkerlab.core.seeding import choose_device, torch_threads
    from tinkerlab.pyramid import singan
    from tinkerlab.pyramid.sampling import parse_size

    target = parse_size(size) if size else None
    with torch_threads(threads):
        model = singan.load(run, device=choose_device(device))
        images = model.sample(n, size=target, start_scale=start_scale, seed=seed)
    folder = run / "outputs" / "samples"
    if out is not None or out_dir is not None:
        folder = one_of(out, out_dir, name="--out", alias_name="--out-dir")
    tag = f"{images[0].shape[0]}x{images[0].shape[1]}_s{start_scale}_seed{seed}"
    for index, image in enumerate(images):
        save_image(image, folder / f"sample_{tag}_{index}.png")
    grid = save_image(image_grid(images, columns=min(4, n)), folder / f"grid_{tag}.png")
    typer.echo(f"wrote {n} samples and {grid}")
