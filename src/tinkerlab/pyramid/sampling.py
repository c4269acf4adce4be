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
from tinkerlab.pyramid.scales import resize_conditioning, tensor_to_image
from tinkerlab.pyramid.trainer import Amplitude, Pyramid, Shape, call_generator


def sample_shapes(pyramid: Pyramid, size: Sequence[int] | None = None) -> list[Shape]:
    """Per-scale shapes for an output of `size` at the finest scale (training shapes when None).

    `size` has one entry per spatial dimension: (H, W) for images, (T,) for audio; every scale's training shape
    is stretched by size / finest per axis.

    Raises:
        InputError: a non-positive size, or one with another number of dimensions than the pyramid's.
    """
    if size is None:
        return list(pyramid.shapes)
    size = tuple(int(s) for s in size)
    fine = pyramid.shapes[-1]
    if len(size) != len(fine):
        raise InputError(
            f"expected an output size with {len(fine)} dimension(s) like the training shape "
            f"{'x'.join(str(s) for s in fine)}, got {'x'.join(str(s) for s in size)}"
        )
    if min(size) < 1:
        if len(size) == 2:
            raise InputError(f"expected a positive output size HxW, got {size[0]}x{size[1]}")
        raise InputError(f"expected a positive output size, got {'x'.join(str(s) for s in size)}")
    return [
        tuple(max(1, round(s * t / f)) for s, t, f in zip(shape, size, fine, strict=True)) for shape in pyramid.shapes
    ]


ConditioningArg = torch.Tensor | Sequence[torch.Tensor | None] | None


def conditioning_per_scale(
    pyramid: Pyramid, conditioning: ConditioningArg, shapes: Sequence[Shape]
) -> list[torch.Tensor | None] | None:
    """Conditioning maps for every scale: a sequence is used as is (one entry per scale, None = the training map);
    one tensor (B, M, *spatial) is resized to every scale's shape (`resize_conditioning`)."""
    if conditioning is None or not isinstance(conditioning, torch.Tensor):
        return None if conditioning is None else list(conditioning)
    return [resize_conditioning(conditioning.to(pyramid.device), shape) for shape in shapes]


def random_tensors(
    pyramid: Pyramid,
    n: int,
    *,
    size: Sequence[int] | None = None,
    start_scale: int = 0,
    reals: Sequence[torch.Tensor] | None = None,
    seed: int = 0,
    conditioning: ConditioningArg = None,
    batch: int = 1,
    amps: Sequence[Amplitude | None] | None = None,
) -> list[torch.Tensor]:
    """`n` random draws of `batch` samples each, as tensors (batch, C, *spatial) at the finest scale.

    Args:
        pyramid: the trained generators (any spatial rank).
        n: how many draws.
        size: the output's spatial size (one entry per dimension); the training shape when None.
        start_scale: the first scale that gets fresh noise (0 = coarsest); needs `reals` when > 0.
        reals: the training pyramid (1 or batch, C, *spatial) per scale, for `start_scale` > 0.
        seed: the random seed (the same seed gives the same samples).
        conditioning: for a conditioned pyramid, one map (batch or 1, M, *size), resized to every scale, or one
            map per scale at that scale's sample shape (entries None: the training map, only at training shapes).
        batch: samples per draw (a pyramid with per-signal amplitudes needs batch K or `amps`, see `Pyramid.run`).
        amps: per scale, an amplitude overriding the trained one (as in `Pyramid.run`, at the sample shapes).

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
    maps = conditioning_per_scale(pyramid, conditioning, shapes)
    rng = make_generator(seed, device=str(pyramid.device))
    outputs = []
    for _ in range(n):
        noises = [pyramid.draw_noise(i, shapes[i], rng, batch) for i in range(pyramid.num_scales)]
        cond_noises = [pyramid.draw_cond_noise(i, shapes[i], rng, batch) for i in range(pyramid.num_scales)]
        start_image = None
        if start_scale > 0:
            start_image = pyramid.resize(reals[start_scale - 1].to(pyramid.device), shapes[start_scale - 1])
        out = pyramid.run(
            noises,
            start_scale=start_scale,
            start_image=start_image,
            conditioning=maps,
            amps=amps,
            cond_noises=cond_noises,
        )[-1]
        outputs.append(out)
    return outputs


def random_samples(
    pyramid: Pyramid,
    n: int,
    *,
    size: tuple[int, int] | None = None,
    start_scale: int = 0,
    reals: Sequence[torch.Tensor] | None = None,
    seed: int = 0,
    conditioning: ConditioningArg = None,
) -> list[np.ndarray]:
    """`n` random samples as HxWxC float32 images in [0, 1] (an image pyramid; `random_tensors` for any rank).

    Args:
        pyramid: the trained generators.
        n: how many samples.
        size: output (H, W); the training size when None.
        start_scale: the first scale that gets fresh noise (0 = coarsest); needs `reals` when > 0.
        reals: the training pyramid (1, C, h, w) per scale, for `start_scale` > 0.
        seed: the random seed (the same seed gives the same samples).
        conditioning: as in `random_tensors`.

    Raises:
        InputError: n < 1, a start scale out of range, or `start_scale` > 0 without `reals`.
    """
    tensors = random_tensors(
        pyramid, n, size=size, start_scale=start_scale, reals=reals, seed=seed, conditioning=conditioning
    )
    return [tensor_to_image(out) for out in tensors]


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
    conditioning: torch.Tensor | None = None,
) -> torch.Tensor:
    """Carry an image up to `shape` with the finest scale's generator (SinGAN's super-resolution mode).

    The image is enlarged in steps of about `ratio` (the pyramid's own scale ratio by default, so each step is
    the change the finest generator learned to add detail for); after each enlargement the finest generator runs
    once with fresh noise of its amplitude, exactly as a further scale would.

    Args:
        pyramid: the trained generators.
        image: (B, C, *spatial) in [-1, 1] (any rank), usually the finest scale's output.
        shape: the output's spatial shape; when it is not larger than the image, the image is only resized.
        rng: the random stream of the noise.
        ratio: the enlargement per step (> 1); `upscale_ratio(pyramid)` when None.
        max_steps: at most this many steps (each then enlarges by more than `ratio`); a model not trained for
            super-resolution drifts when its finest generator runs many times.
        anchor: called on each step's output and returning it changed, e.g. to put back known pixels.
        conditioning: for a conditioned finest scale, a map (B or 1, M, *any shape) resized to every step.

    Returns:
        (B, C, *shape).

    Raises:
        InputError: a ratio not above 1.
    """
    ratio = upscale_ratio(pyramid) if ratio is None else ratio
    if ratio <= 1.0:
        raise InputError(f"expected a super-resolution ratio above 1, got {ratio}")
    sizes = tuple(image.shape[2:])
    factors = [t / s for t, s in zip(shape, sizes, strict=True)]
    factor = max(factors)
    if factor <= 1.0:
        return pyramid.resize(image, shape)
    steps = max(1, math.ceil(math.log(factor) / math.log(ratio) - 1e-9))
    if max_steps is not None:
        steps = max(1, min(steps, max_steps))
    index = pyramid.num_scales - 1
    if pyramid.records[index].conditioning is not None and conditioning is None:
        raise InputError("the finest scale is conditioned: pass conditioning= (a map, resized to every step)")
    generator = pyramid.generators[index]
    amplitude = pyramid.amplitude(index, image.shape[0])
    x = image
    for step in range(1, steps + 1):
        if step == steps:
            target = tuple(shape)
        else:
            target = tuple(round(s * f ** (step / steps)) for s, f in zip(sizes, factors, strict=True))
        x = pyramid.resize(x, target)
        noise = pyramid.draw_noise(index, target, rng, batch=x.shape[0])
        condition = None
        if conditioning is not None:
            condition = pyramid.conditioning_for(index, x.shape[0], resize_conditioning(conditioning, target))
        x = call_generator(generator, amplitude * noise, x, condition)
        if anchor is not None:
            x = anchor(x)
    return x


@torch.no_grad()
def inject(
    pyramid: Pyramid,
    image: torch.Tensor,
    start_scale: int,
    rng: torch.Generator,
    *,
    conditioning: ConditioningArg = None,
) -> torch.Tensor:
    """Run the scales from `start_scale` on an injected image (SinGAN's editing, harmonisation, paint-to-image).

    The image is resized to the shape of scale `start_scale - 1` (the coarse content the generators keep), then
    scales `start_scale`..finest add detail with fresh noise.

    Args:
        pyramid: the trained generators.
        image: (1, C, *spatial) in [-1, 1], any size (resized to the training shapes).
        start_scale: 1..finest; lower keeps less of the injected layout.
        rng: the random stream of the noise.
        conditioning: for a conditioned pyramid, as in `random_tensors` (at the training shapes).

    Returns:
        (1, C, *finest training shape).

    Raises:
        InputError: `start_scale` outside 1..finest.
    """
    if not 1 <= start_scale < pyramid.num_scales:
        raise InputError(
            f"the injection scale must be in 1..{pyramid.num_scales - 1} (0 would ignore the image), got {start_scale}"
        )
    batch = image.shape[0]
    noises = [pyramid.draw_noise(i, pyramid.shapes[i], rng, batch) for i in range(pyramid.num_scales)]
    cond_noises = [pyramid.draw_cond_noise(i, pyramid.shapes[i], rng, batch) for i in range(pyramid.num_scales)]
    start_image = pyramid.resize(image.to(pyramid.device), pyramid.shapes[start_scale - 1])
    maps = conditioning_per_scale(pyramid, conditioning, pyramid.shapes)
    return pyramid.run(
        noises, start_scale=start_scale, start_image=start_image, conditioning=maps, cond_noises=cond_noises
    )[-1]
