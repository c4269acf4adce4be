"""Random samples from a trained pyramid (SinGAN, Shaham et al., ICCV 2019): any size and aspect ratio, from any
start scale; super-resolution and injection of an image at a chosen scale.

A requested output size (H, W) rescales every training shape by (H / H_N, W / W_N), so the noise maps, and hence
the generated layout, stretch with it. Starting at scale k > 0 feeds the training image of scale k - 1 (resized to
the requested aspect) into scale k, so the coarse layout is kept and only finer structure varies.

`super_resolve` carries an image above the finest training size by running the finest generator again after each
enlargement by the pyramid's ratio (SinGAN's super-resolution). `inject` feeds an edited, pasted or painted image to
a chosen scale and lets the finer scales redraw its detail (SinGAN's editing and harmonisation).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch

from tinkerlab.core.errors import InputError
from tinkerlab.core.seeding import make_generator
from tinkerlab.pyramid.scales import tensor_to_image
from tinkerlab.pyramid.trainer import Pyramid, Shape


def sample_shapes(pyramid: Pyramid, size: tuple[int, int] | None = None) -> list[Shape]:
    """Per-scale shapes for an output of `size` = (H, W) at the finest scale (training shapes when None).

    Raises:
        InputError: a non-positive size.
    """
    if size is None:
        return list(pyramid.shapes)
    height, width = size
    if height < 1 or width < 1:
        raise InputError(f"expected a positive output size HxW, got {height}x{width}")
    fine_h, fine_w = pyramid.shapes[-1]
    return [(max(1, round(h * height / fine_h)), max(1, round(w * width / fine_w))) for h, w in pyramid.shapes]


def random_samples(
    pyramid: Pyramid,
    n: int,
    *,
    size: tuple[int, int] | None = None,
    start_scale: int = 0,
    reals: Sequence[torch.Tensor] | None = None,
    seed: int = 0,
) -> list[np.ndarray]:
    """`n` random samples as HxWxC float32 images in [0, 1].

    Args:
        pyramid: the trained generators.
        n: how many samples.
        size: output (H, W); the training size when None.
        start_scale: the first scale that gets fresh noise (0 = coarsest); needs `reals` when > 0.
        reals: the training pyramid (1, C, h, w) per scale, for `start_scale` > 0.
        seed: the random seed (the same seed gives the same samples).

    Raises:
        InputError: n < 1, a start scale out of range, or `start_scale` > 0 without `reals`.
    """
    if n < 1:
        raise InputError(f"expected at least 1 sample, got n={n}")
    if not 0 <= start_scale < pyramid.num_scales:
        raise InputError(f"start_scale must be in 0..{pyramid.num_scales - 1}, got {start_scale}")
    if start_scale > 0 and reals is None:
        raise InputError("sampling from start_scale > 0 needs the training pyramid (reals)")
    shapes = sample_shapes(pyramid, size)
    rng = make_generator(seed, device=str(pyramid.device))
    images = []
    for _ in range(n):
        noises = [pyramid.draw_noise(i, shapes[i], rng) for i in range(pyramid.num_scales)]
        start_image = None
        if start_scale > 0:
            start_image = pyramid.resize(reals[start_scale - 1].to(pyramid.device), shapes[start_scale - 1])
        out = pyramid.run(noises, start_scale=start_scale, start_image=start_image)[-1]
        images.append(tensor_to_image(out))
    return images


def parse_size(text: str) -> tuple[int, int]:
    """'HxW' -> (H, W).

    Raises:
        InputError: the text is not two positive integers joined by 'x'.
    """
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts) or min(int(p) for p in parts) < 1:
        raise InputError(f"expected a size like 48x64 (height x width), got {text!r}")
    return int(parts[0]), int(parts[1])


def upscale_ratio(pyramid: Pyramid) -> float:
    """The pyramid's ratio between neighbouring scales (finest over next-finest shorter side); 4/3 for one scale."""
    if pyramid.num_scales < 2:
        return 4.0 / 3.0
    return min(pyramid.shapes[-1]) / min(pyramid.shapes[-2])


@torch.no_grad()
def super_resolve(
    pyramid: Pyramid,
    image: torch.Tensor,
    shape: Shape,
    rng: torch.Generator,
    *,
    ratio: float | None = None,
    max_steps: int | None = None,
    anchor: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Carry an image up to `shape` with the finest scale's generator (SinGAN's super-resolution mode).

    The image is enlarged in steps of about `ratio` (the pyramid's own scale ratio by default, so each step is
    the change the finest generator learned to add detail for); after each enlargement the finest generator runs
    once with fresh noise of its amplitude, exactly as a further scale would.

    Args:
        pyramid: the trained generators.
        image: (B, C, h, w) in [-1, 1], usually the finest scale's output.
        shape: the output (H, W); when it is not larger than the image, the image is only resized.
        rng: the random stream of the noise.
        ratio: the enlargement per step (> 1); `upscale_ratio(pyramid)` when None.
        max_steps: at most this many steps (each then enlarges by more than `ratio`); a model not trained for
            super-resolution drifts when its finest generator runs many times.
        anchor: called on each step's output and returning it changed, e.g. to put back known pixels.

    Returns:
        (B, C, H, W).

    Raises:
        InputError: a ratio not above 1.
    """
    ratio = upscale_ratio(pyramid) if ratio is None else ratio
    if ratio <= 1.0:
        raise InputError(f"expected a super-resolution ratio above 1, got {ratio}")
    height, width = image.shape[-2:]
    factor_h, factor_w = shape[0] / height, shape[1] / width
    factor = max(factor_h, factor_w)
    if factor <= 1.0:
        return pyramid.resize(image, shape)
    steps = max(1, math.ceil(math.log(factor) / math.log(ratio) - 1e-9))
    if max_steps is not None:
        steps = max(1, min(steps, max_steps))
    index = pyramid.num_scales - 1
    generator, amplitude = pyramid.generators[index], pyramid.noise_amps[index]
    x = image
    for step in range(1, steps + 1):
        if step == steps:
            target = tuple(shape)
        else:
            target = (round(height * factor_h ** (step / steps)), round(width * factor_w ** (step / steps)))
        x = pyramid.resize(x, target)
        noise = pyramid.draw_noise(index, target, rng, batch=x.shape[0])
        x = generator(amplitude * noise, x)
        if anchor is not None:
            x = anchor(x)
    return x


@torch.no_grad()
def inject(
    pyramid: Pyramid,
    image: torch.Tensor,
    start_scale: int,
    rng: torch.Generator,
) -> torch.Tensor:
    """Run the scales from `start_scale` on an injected image (SinGAN's editing, harmonisation, paint-to-image).

    The image is resized to the shape of scale `start_scale - 1` (the coarse content the generators keep), then
    scales `start_scale`..finest add detail with fresh noise.

    Args:
        pyramid: the trained generators.
        image: (1, C, H, W) in [-1, 1], any size (resized to the training shapes).
        start_scale: 1..finest; lower keeps less of the injected layout.
        rng: the random stream of the noise.

    Returns:
        (1, C, H_N, W_N) at the finest training shape.

    Raises:
        InputError: `start_scale` outside 1..finest.
    """
    if not 1 <= start_scale < pyramid.num_scales:
        raise InputError(
            f"the injection scale must be in 1..{pyramid.num_scales - 1} (0 would ignore the image), got {start_scale}"
        )
    noises = [pyramid.draw_noise(i, pyramid.shapes[i], rng) for i in range(pyramid.num_scales)]
    start_image = pyramid.resize(image.to(pyramid.device), pyramid.shapes[start_scale - 1])
    return pyramid.run(noises, start_scale=start_scale, start_image=start_image)[-1]
