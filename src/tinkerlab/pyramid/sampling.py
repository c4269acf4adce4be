"""Random samples from a trained pyramid (SinGAN, Shaham et al., ICCV 2019): any size and aspect ratio, from any
start scale.

A requested output size (H, W) rescales every training shape by (H / H_N, W / W_N), so the noise maps, and hence
the generated layout, stretch with it. Starting at scale k > 0 feeds the training image of scale k - 1 (resized to
the requested aspect) into scale k, so the coarse layout is kept and only finer structure varies.
"""

from __future__ import annotations

from collections.abc import Sequence

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
