"""`tinkerlab internal ...`: train a single-image GAN (SinGAN, Shaham et al., ICCV 2019), sample it, and complete a
hole with IDC (Alkobi, Rott Shaham and Michaeli, arXiv 2212.10280).

Only typer, pathlib and typing are imported at the top, so `tinkerlab --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False)

PRESET_HELP = "cpu: longer side 64, 5 scales, 300 iterations (minutes on a CPU); paper: the papers' settings (hours)."


def _load_input(source: str):
    """An image file, or `sample:NAME` for a packaged sample photo (e.g. sample:chelsea)."""
    from tinkerlab.core.assets import sample_image
    from tinkerlab.core.images import load_image

    if source.startswith("sample:"):
        return sample_image(source.split(":", 1)[1])
    return load_image(source)


def _load_mask(source: str, shape: tuple[int, int]):
    """A mask file (white = hole) or `box:TOP,BOTTOM,LEFT,RIGHT` (fractions in [0, 1]) for an image of `shape`."""
    from tinkerlab.core.errors import InputError
    from tinkerlab.core.images import load_image
    from tinkerlab.internal.quality import box_mask

    if source.startswith("box:"):
        try:
            box = tuple(float(v) for v in source[4:].split(","))
        except ValueError:
            box = ()
        if len(box) != 4 or not all(0.0 <= v <= 1.0 for v in box) or box[0] >= box[1] or box[2] >= box[3]:
            raise InputError(f"expected box:TOP,BOTTOM,LEFT,RIGHT with fractions 0 <= top < bottom <= 1, got {source!r}")
        return box_mask(shape, box)
    return load_image(source, mode="L")[:, :, 0]


def _singan_config(preset: str, iterations, max_size, scales, seed):
    from dataclasses import replace

    from tinkerlab.core.errors import InputError
    from tinkerlab.internal.config import SinGANConfig, demo_singan_config, with_iterations

    if preset not in ("cpu", "paper"):
        raise InputError(f"expected --preset cpu or paper, got {preset!r}")
    config = demo_singan_config(seed=seed) if preset == "cpu" else SinGANConfig(seed=seed)
    if iterations is not None:
        config = with_iterations(config, iterations)
    if max_size is not None or scales is not None:
        pyramid = config.pyramid
        pyramid = replace(pyramid, max_size=max_size or pyramid.max_size, num_scales=scales or pyramid.num_scales)
        config = replace(config, pyramid=pyramid)
    return config


@app.command()
def train(
    image: str = typer.Argument(..., help="Image file, or sample:NAME for a packaged photo (e.g. sample:brick)."),
    out: Path = typer.Option(..., "--out", help="Run directory (checkpoints, images of every scale); resumed when it matches."),
    preset: str = typer.Option("cpu", "--preset", help=PRESET_HELP),
    iterations: int | None = typer.Option(None, "--iterations", help="Iterations per scale (overrides the preset)."),
    max_size: int | None = typer.Option(None, "--max-size", help="Longer side of the finest scale."),
    scales: int | None = typer.Option(None, "--scales", help="Number of scales."),
    seed: int = typer.Option(0, "--seed"),
    threads: int = typer.Option(1, "--threads", help="Torch threads; 1 is fastest for these small networks."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Start afresh where RUN holds another config."),
) -> None:
    """Train a SinGAN model of one image, scale by scale."""
    from tinkerlab.internal import singan
    from tinkerlab.core.seeding import torch_threads

    config = _singan_config(preset, iterations, max_size, scales, seed)
    with torch_threads(threads):
        model = singan.train(_load_input(image), config, out=out, overwrite=overwrite)
    shapes = ", ".join(f"{h}x{w}" for h, w in model.pyramid.shapes)
    typer.echo(f"trained {model.pyramid.num_scales} scales ({shapes}); run in {out}")


@app.command()
def sample(
    run: Path = typer.Argument(..., help="A finished run of `tinkerlab internal train`."),
    n: int = typer.Option(8, "--n", help="How many samples."),
    size: str | None = typer.Option(None, "--size", help="Output size HxW (default: the training size)."),
    start_scale: int = typer.Option(0, "--start-scale", help="First scale with fresh noise (0 = coarsest)."),
    seed: int = typer.Option(0, "--seed"),
    out_dir: Path | None = typer.Option(None, "--out-dir", help="Where to write PNGs (default RUN/outputs/samples)."),
    threads: int = typer.Option(1, "--threads"),
) -> None:
    """Draw random samples of any size from a trained model."""
    from tinkerlab.core.images import image_grid, save_image
    from tinkerlab.internal import singan
    from tinkerlab.internal.sampling import parse_size
    from tinkerlab.core.seeding import torch_threads

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


@app.command()
def complete(
    image: str = typer.Argument(..., help="Image file, or sample:NAME for a packaged photo."),
    mask: str = typer.Argument(
        ..., help="Mask image of the same size (white = hole), or box:TOP,BOTTOM,LEFT,RIGHT as fractions of the image."
    ),
    out: Path = typer.Option(..., "--out", help="Run directory; a finished matching run is reused."),
    n: int = typer.Option(8, "--n", help="How many completions."),
    diversity: int = typer.Option(5, "--diversity", min=1, max=8, help="1 (close to one completion) .. 8 (most diverse)."),
    preset: str = typer.Option("cpu", "--preset", help=PRESET_HELP),
    iterations: int | None = typer.Option(None, "--iterations", help="Iterations per unmasked scale."),
    seed: int = typer.Option(0, "--seed"),
    threads: int = typer.Option(1, "--threads"),
    overwrite: bool = typer.Option(False, "--overwrite"),
) -> None:
    """Complete the hole of an image with IDC: N diverse completions learned from the visible part only."""
    from dataclasses import replace

    from tinkerlab.core.images import image_grid, save_image
    from tinkerlab.internal import idc
    from tinkerlab.internal.config import IDCConfig, demo_idc_config
    from tinkerlab.core.seeding import torch_threads

    base = _singan_config(preset, iterations, None, None, seed)
    config = replace(demo_idc_config(seed=seed) if preset == "cpu" else IDCConfig(), base=base)
    photo = _load_input(image)
    hole = _load_mask(mask, photo.shape[:2])
    with torch_threads(threads):
        model = idc.train(photo, hole, config, out=out, overwrite=overwrite)
        completions = model.complete(n, diversity=diversity, seed=seed)
    folder = out / "outputs" / "completions"
    for index, completion in enumerate(completions):
        save_image(completion, folder / f"completion_d{diversity}_seed{seed}_{index}.png")
    grid = save_image(image_grid(completions, columns=min(4, n)), folder / f"grid_d{diversity}_seed{seed}.png")
    typer.echo(f"masking started at scale {model.masking_start}; wrote {n} completions and {grid}")
