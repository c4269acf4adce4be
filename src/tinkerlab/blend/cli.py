"""`tinkerlab blend ...`: one multi-scale GAN for several images (BlendGAN, on the pyramid engine): train it, then
draw samples of one image, morph, meld and fuse images.

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
    """BlendGAN: one multi-scale GAN for several images; samples, morphing, melding, structure-texture fusion."""


Threads = Annotated[int, typer.Option("--threads", min=1, help="Torch threads; 1 is fastest for these small networks.")]
RunArgument = Annotated[Path, typer.Argument(help="A finished run of `tinkerlab blend train`.")]
Conditioning = Literal["concat", "norm"]
Layout = Literal["image", "random"]
CPU_MAX_SIZE, CPU_SCALES = 48, 4


@app.command()
def train(
    images: list[str] = typer.Argument(
        ..., help="Two or more image files, or sample:NAME for packaged photos and textures (sample:brick)."
    ),
    out: Annotated[Path, out_option("the run directory (checkpoints, inputs, per-scale pictures); resumed.")] = ...,
    preset: PresetOption = "cpu",
    iterations: int | None = typer.Option(None, "--iterations", min=1, help="Iterations per scale (cpu: 300)."),
    max_size: int | None = typer.Option(
        None, "--max-size", min=16, help=f"Longer side of the finest scale (cpu: {CPU_MAX_SIZE}, paper: 250)."
    ),
    scales: int | None = typer.Option(None, "--scales", min=1, help=f"Number of scales (cpu: {CPU_SCALES})."),
    min_size: int | None = typer.Option(
        None, "--min-size", min=12, help="Shorter side of the coarsest scale (cpu: 20, paper: 25)."
    ),
    conditioning: Conditioning = typer.Option(
        "concat",
        "--conditioning",
        help="concat: the identity map joins the first conv's input of G and D (default); norm: spatial "
        "conditional normalisation (sCBN / SPADE style). See docs/blend.md.",
    ),
    extra_width: int = typer.Option(2, "--extra-width", min=0, help="Conv channels added per image beyond the first."),
    cross_fraction: float = typer.Option(
        0.0,
        "--cross-fraction",
        min=0.0,
        max=0.99,
        help="Share of iterations in which the finest scales draw each image's texture on another image's layout "
        "(adversarial loss only); trains the model for `fuse`. 0 = off. See docs/blend.md.",
    ),
    cross_scales: int = typer.Option(1, "--cross-scales", min=1, help="How many finest scales get them."),
    no_crop: bool = typer.Option(
        False, "--no-crop", help="Refuse images of another aspect ratio instead of centre-cropping them."
    ),
    seed: Seed = 0,
    threads: Threads = 1,
    overwrite: Overwrite = False,
    device: Device = "cpu",
) -> None:
    """Train one BlendGAN model of several images (the first image sets the aspect ratio and size)."""
    from dataclasses import replace

    from tinkerlab.blend.config import BlendConfig
    from tinkerlab.blend.inputs import read_images
    from tinkerlab.blend.training import train as train_model
    from tinkerlab.core.seeding import torch_threads
    from tinkerlab.pyramid.config import preset_config

    cpu = preset == "cpu"
    base = preset_config(
        preset,
        iterations=iterations,
        max_size=max_size or (CPU_MAX_SIZE if cpu else None),
        scales=scales or (CPU_SCALES if cpu else None),
        seed=seed,
    )
    if min_size is not None:
        base = replace(base, pyramid=replace(base.pyramid, min_size=min_size))
    config = BlendConfig(
        base=replace(base, device=device),
        conditioning=conditioning,
        extra_width_per_image=extra_width,
        cross_fraction=cross_fraction,
        cross_scales=cross_scales,
    )
    arrays = read_images(images)
    names = [Path(s).name if not s.startswith("sample:") else s for s in images]
    with torch_threads(threads):
        model = train_model(arrays, config, out=out, overwrite=overwrite, crop=not no_crop, names=names)
    if model.note:
        typer.echo(model.note)
    shapes = ", ".join(f"{h}x{w}" for h, w in model.shapes)
    typer.echo(f"trained {len(model.shapes)} scales ({shapes}) on {model.num_images} images; run in {out}")


def _write(images: list, folder: Path, stem: str, columns: int | None = None) -> Path:
    """Save each image and a grid of them; returns the grid's path."""
    from tinkerlab.core.images import image_grid, save_image

    for index, image in enumerate(images):
        save_image(image, folder / f"{stem}_{index}.png")
    return save_image(image_grid(images, columns=columns or min(4, len(images)), pad=2), folder / f"{stem}_grid.png")


def _load(run: Path, device: str):
    from tinkerlab.blend.training import load
    from tinkerlab.core.seeding import choose_device

    return load(run, device=choose_device(device))


@app.command()
def sample(
    run: RunArgument,
    image: int = typer.Option(0, "--image", help="Which training image (0 = the first)."),
    n: int = typer.Option(8, "--n", min=1, help="How many samples."),
    seed: Seed = 0,
    threads: Threads = 1,
    device: Device = "cpu",
) -> None:
    """Random samples of one training image."""
    from tinkerlab.core.seeding import torch_threads

    with torch_threads(threads):
        samples = _load(run, device).sample(image, n, seed=seed)
    grid = _write(samples, run / "outputs" / "samples", f"image{image}_seed{seed}")
    typer.echo(f"wrote {n} samples of image {image} and {grid}")


@app.command()
def morph(
    run: RunArgument,
    a: int = typer.Option(0, "--a", help="The image at t = 0."),
    b: int = typer.Option(1, "--b", help="The image at t = 1."),
    steps: int = typer.Option(8, "--steps", min=2, help="Frames from t = 0 to t = 1."),
    seed: Seed = 0,
    threads: Threads = 1,
    device: Device = "cpu",
) -> None:
    """Morph from image A to image B: a uniform identity mixture swept from A to B at fixed noise."""
    from tinkerlab.core.seeding import torch_threads

    with torch_threads(threads):
        frames = _load(run, device).morph(a, b, steps, seed=seed)
    strip = _write(frames, run / "outputs" / "morph", f"a{a}_b{b}_seed{seed}", columns=steps)
    typer.echo(f"wrote {steps} frames and the strip {strip}")


@app.command()
def meld(
    run: RunArgument,
    map_path: Path | None = typer.Option(
        None,
        "--map",
        help="A grey image at the model's size (white = image B, black = image A), or a .npy (K, H, W) map "
        "of identity weights; default: a left-right ramp.",
    ),
    a: int = typer.Option(0, "--a", help="Image on the left (black in the map)."),
    b: int = typer.Option(1, "--b", help="Image on the right (white in the map)."),
    seam: float = typer.Option(
        0.25, "--seam", min=0.0, max=1.0, help="Ramp only: seam width, a fraction of the width."
    ),
    n: int = typer.Option(4, "--n", min=1, help="How many melds."),
    seed: Seed = 0,
    threads: Threads = 1,
    device: Device = "cpu",
) -> None:
    """Meld images in one output with a spatially varying identity map."""
    import numpy as np

    from tinkerlab.core.errors import InputError
    from tinkerlab.core.images import load_image
    from tinkerlab.core.seeding import torch_threads

    with torch_threads(threads):
        model = _load(run, device)
        if map_path is None:
            melds = model.meld(a, b, seam=seam, n=n, seed=seed)
        elif map_path.suffix == ".npy":
            try:
                weights = np.load(map_path)
            except (OSError, ValueError) as exc:
                raise InputError(f"{map_path} cannot be read as a .npy array ({exc})") from None
            fine = model.shapes[-1]
            expected = (model.num_images, *fine)
            if weights.ndim != 3 or tuple(weights.shape) != expected:
                raise InputError(
                    f"expected a .npy map of shape {expected} (one channel per training image, at the model's "
                    f"size), got {tuple(weights.shape)}"
                )
            melds = model.generate(lambda index, shape: _resize_map(weights, shape, fine), n, seed=seed)
        else:
            melds = model.meld(a, b, mask=load_image(map_path, mode="L")[:, :, 0], n=n, seed=seed)
    name = "ramp" if map_path is None else map_path.stem
    grid = _write(melds, run / "outputs" / "meld", f"{name}_a{a}_b{b}_seed{seed}")
    typer.echo(f"wrote {n} melds and {grid}")


def _resize_map(weights, shape: tuple[int, int], fine: tuple[int, int]):
    """A (K, H, W) map at the model's finest size, resized to one scale's shape (checked by the model)."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    array = np.asarray(weights, dtype=np.float32)
    if tuple(shape) == tuple(fine):
        return array
    tensor = F.interpolate(torch.from_numpy(array)[None], size=tuple(shape), mode="bilinear", antialias=True)
    return tensor[0].numpy()


@app.command()
def fuse(
    run: RunArgument,
    structure: int = typer.Option(0, "--structure", help="The image whose coarse structure is kept."),
    texture: int = typer.Option(1, "--texture", help="The image whose fine texture is drawn."),
    switch: int | None = typer.Option(
        None, "--switch", min=1, help="First scale with the texture (default: the finest)."
    ),
    layout: Layout = typer.Option(
        "image", "--layout", help="image: the structure image's own layout; random: a random layout of it."
    ),
    texture_noise: float = typer.Option(
        1.0, "--texture-noise", help="Factor on the noise amplitude of the texture scales (e.g. 3: more texture)."
    ),
    n: int = typer.Option(4, "--n", min=1, help="How many fusions."),
    seed: Seed = 0,
    threads: Threads = 1,
    device: Device = "cpu",
) -> None:
    """Structure-texture fusion: one image's identity on the coarse scales, another's on the fine ones."""
    from tinkerlab.core.seeding import torch_threads

    with torch_threads(threads):
        fused = _load(run, device).fuse(
            structure, texture, switch=switch, layout=layout, texture_noise=texture_noise, n=n, seed=seed
        )
    gain = "" if texture_noise == 1.0 else f"_noise{texture_noise:g}"
    grid = _write(fused, run / "outputs" / "fuse", f"s{structure}_t{texture}_{layout}{gain}_seed{seed}")
    typer.echo(f"wrote {n} fusions and {grid}")
