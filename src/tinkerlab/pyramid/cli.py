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


def _inject_command(
    run: Path,
    image: str,
    mask: str,
    start_scale: int,
    seed: int,
    out: Path | None,
    device: str,
    *,
    mode: Literal["edit", "harmonise"],
    threads: int,
) -> None:
    from tinkerlab.core.assets import image_source
    from tinkerlab.core.images import load_image, save_image
    from tinkerlab.core.seeding import choose_device, torch_threads
    from tinkerlab.pyramid import singan

    with torch_threads(threads):
        model = singan.load(run, device=choose_device(device))
        picture = image_source(image)
        region = load_image(mask, mode="L")[:, :, 0]
        method = model.edit if mode == "edit" else model.harmonise
        result = method(picture, region, start_scale=start_scale, seed=seed)
    path = out or run / "outputs" / mode / f"{mode}_s{start_scale}_seed{seed}.png"
    save_image(result, path)
    typer.echo(f"wrote {path}")


StartScale = Annotated[
    int, typer.Option("--start-scale", min=1, help="The scale the image enters (1 = coarse layout redrawn most).")
]


@app.command()
def edit(
    run: Path = typer.Argument(..., help="A finished run of `tinkerlab pyramid train`."),
    image: str = typer.Argument(..., help="The edited image (a file; any size, resized to the training size)."),
    mask: str = typer.Argument(..., help="A mask file of the edited image's size, white where it was edited."),
    start_scale: StartScale = 1,
    seed: Seed = 0,
    out: Annotated[Path | None, out_option("the PNG to write (default RUN/outputs/edit/...).")] = None,
    threads: int = typer.Option(1, "--threads", min=1),
    device: Device = "cpu",
) -> None:
    """SinGAN's editing: the finer scales redraw an edited image; the edit is merged back with a soft mask."""
    _inject_command(run, image, mask, start_scale, seed, out, device, mode="edit", threads=threads)


@app.command()
def harmonise(
    run: Path = typer.Argument(..., help="A finished run of `tinkerlab pyramid train`."),
    image: str = typer.Argument(..., help="The image with a pasted object (a file; resized to the training size)."),
    mask: str = typer.Argument(..., help="A mask file of the image's size, white on the pasted object."),
    start_scale: StartScale = 1,
    seed: Seed = 0,
    out: Annotated[Path | None, out_option("the PNG to write (default RUN/outputs/harmonise/...).")] = None,
    threads: int = typer.Option(1, "--threads", min=1),
    device: Device = "cpu",
) -> None:
    """SinGAN's harmonisation: a pasted object takes on the look of the training image."""
    _inject_command(run, image, mask, start_scale, seed, out, device, mode="harmonise", threads=threads)


@app.command("super-resolve")
def super_resolve(
    run: Path = typer.Argument(..., help="A finished run of `tinkerlab pyramid train`."),
    factor: float = typer.Option(4.0, "--factor", min=1.0, help="Enlargement of the training image."),
    image: str | None = typer.Option(None, "--image", help="Enlarge this image instead of the training image."),
    seed: Seed = 0,
    out: Annotated[Path | None, out_option("the PNG to write (default RUN/outputs/super_resolution/...).")] = None,
    threads: int = typer.Option(1, "--threads", min=1),
    device: Device = "cpu",
) -> None:
    """SinGAN's super-resolution: enlarge by the pyramid's ratio in steps, the finest generator adding detail."""
    from tinkerlab.core.assets import image_source
    from tinkerlab.core.images import save_image
    from tinkerlab.core.seeding import choose_device, torch_threads
    from tinkerlab.pyramid import singan

    with torch_threads(threads):
        model = singan.load(run, device=choose_device(device))
        result = model.super_resolve(factor, image=image_source(image) if image else None, seed=seed)
    path = out or run / "outputs" / "super_resolution" / f"sr_x{factor:g}_seed{seed}.png"
    save_image(result, path)
    typer.echo(f"wrote {path} ({result.shape[0]}x{result.shape[1]})")
