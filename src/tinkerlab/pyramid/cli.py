"""`tinkerlab pyramid ...`: train a single-image GAN (SinGAN, Shaham et al., ICCV 2019) and sample it at any size.

Only typer, pathlib and typing are imported at the top, so `tinkerlab --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False)

PRESET_HELP = "cpu: longer side 64, 5 scales, 300 iterations (minutes on a CPU); paper: the papers' settings (hours)."


@app.command()
def train(
    image: str = typer.Argument(..., help="Image file, or sample:NAME for a packaged photo (e.g. sample:brick)."),
    out: Path = typer.Option(
        ..., "--out", help="Run directory (checkpoints, images of every scale); resumed when it matches."
    ),
    preset: str = typer.Option("cpu", "--preset", help=PRESET_HELP),
    iterations: int | None = typer.Option(None, "--iterations", help="Iterations per scale (overrides the preset)."),
    max_size: int | None = typer.Option(None, "--max-size", help="Longer side of the finest scale."),
    scales: int | None = typer.Option(None, "--scales", help="Number of scales."),
    seed: int = typer.Option(0, "--seed"),
    threads: int = typer.Option(1, "--threads", help="Torch threads; 1 is fastest for these small networks."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Start afresh where RUN holds another config."),
) -> None:
    """Train a SinGAN model of one image, scale by scale."""
    from tinkerlab.core.assets import image_source
    from tinkerlab.core.seeding import torch_threads
    from tinkerlab.pyramid import singan
    from tinkerlab.pyramid.config import preset_config

    config = preset_config(preset, iterations=iterations, max_size=max_size, scales=scales, seed=seed)
    with torch_threads(threads):
        model = singan.train(image_source(image), config, out=out, overwrite=overwrite)
    shapes = ", ".join(f"{h}x{w}" for h, w in model.pyramid.shapes)
    typer.echo(f"trained {model.pyramid.num_scales} scales ({shapes}); run in {out}")


@app.command()
def sample(
    run: Path = typer.Argument(..., help="A finished run of `tinkerlab pyramid train`."),
    n: int = typer.Option(8, "--n", help="How many samples."),
    size: str | None = typer.Option(None, "--size", help="Output size HxW (default: the training size)."),
    start_scale: int = typer.Option(0, "--start-scale", help="First scale with fresh noise (0 = coarsest)."),
    seed: int = typer.Option(0, "--seed"),
    out_dir: Path | None = typer.Option(None, "--out-dir", help="Where to write PNGs (default RUN/outputs/samples)."),
    threads: int = typer.Option(1, "--threads"),
) -> None:
    """Draw random samples of any size from a trained model."""
    from tinkerlab.core.images import image_grid, save_image
    from tinkerlab.core.seeding import torch_threads
    from tinkerlab.pyramid import singan
    from tinkerlab.pyramid.sampling import parse_size

    target = parse_size(size) if size else None
    with torch_threads(threads):
        model = singan.load(run)
        images = model.sample(n, size=target, start_scale=start_scale, seed=seed)
    folder = out_dir or run / "outputs" / "samples"
    tag = f"{images[0].shape[0]}x{images[0].shape[1]}_s{start_scale}_seed{seed}"
    for index, image in enumerate(images):
        save_image(image, folder / f"sample_{tag}_{index}.png")
    grid = save_image(image_grid(images, columns=min(4, n)), folder / f"grid_{tag}.png")
    typer.echo(f"wrote {n} samples and {grid}")
