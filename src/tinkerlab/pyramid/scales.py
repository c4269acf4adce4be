"""The image pyramid of the multi-scale single-sample GANs (SinGAN, Shaham et al., ICCV 2019): sizes of the scales,
resizing (of images, 1-D signals, masks and conditioning maps), and conversion between images (HxWxC float32 in
[0, 1]) and tensors (1xCxHxW in [-1, 1]).

Scale 0 is the coarsest. Downscaling uses antialiased bicubic interpolation; upsampling between scales plain bicubic.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from tinkerlab.core.errors import InputError
from tinkerlab.pyramid.config import ModelConfig, PyramidConfig

Shape = tuple[int, ...]


def receptive_field(model: ModelConfig) -> int:
    """Receptive field (pixels per side) of the per-scale generator and discriminator: 11 for 5 layers of 3x3."""
    return (model.kernel_size - 1) * model.num_layers + 1


def finest_shape(height: int, width: int, config: PyramidConfig) -> tuple[int, int]:
    """The finest scale's (height, width): the input downscaled so the longer side is at most `max_size`."""
    factor = min(config.max_size / max(height, width), 1.0)
    return max(1, round(height * factor)), max(1, round(width * factor))


def scale_shapes(
    height: int, width: int, config: PyramidConfig, model: ModelConfig | None = None
) -> list[tuple[int, int]]:
    """Shapes (height, width) of every scale, coarsest first.

    Args:
        height, width: the input image's size.
        config: the pyramid settings.
        model: the per-scale model; the coarsest scale must be larger than its receptive field.

    Returns:
        A list of (height, width), coarsest first; the last one is `finest_shape(height, width, config)`.

    Raises:
        InputError: the image (after the `max_size` downscale) is smaller than `min_size`, or `min_size` is not
            larger than the receptive field.
    """
    model = model or ModelConfig()
    field = receptive_field(model)
    if config.min_size <= field:
        raise InputError(
            f"min_size must be larger than the receptive field of the scale models ({field} px), got {config.min_size}"
        )
    fine_h, fine_w = finest_shape(height, width, config)
    short = min(fine_h, fine_w)
    if short < config.min_size:
        raise InputError(
            f"image too small for the pyramid: expected the shorter side to be at least min_size={config.min_size} px "
            f"after downscaling to max_size={config.max_size}, got {fine_h}x{fine_w} (from {height}x{width})"
        )
    if config.num_scales is not None:
        if config.num_scales < 1:
            raise InputError(f"num_scales must be at least 1, got {config.num_scales}")
        count = config.num_scales
    elif short == config.min_size:
        count = 1
    else:
        count = math.ceil(math.log(config.min_size / short) / math.log(config.scale_factor)) + 1
    if count == 1:
        return [(fine_h, fine_w)]
    ratio = (config.min_size / short) ** (1.0 / (count - 1))
    if ratio >= 0.99:
        raise InputError(
            f"image too small for {count} scales: its shorter side is {short} px and the coarsest must be "
            f"{config.min_size} px; use fewer scales or a smaller min_size"
        )
    shapes = []
    for index in range(count):
        factor = ratio ** (count - 1 - index)
        shapes.append((round(fine_h * factor), round(fine_w * factor)))
    shapes[-1] = (fine_h, fine_w)
    return shapes


_LINEAR = {1: "linear", 2: "bilinear", 3: "trilinear"}


def resize(x: torch.Tensor, shape: Shape) -> torch.Tensor:
    """Resize a batch (B, C, *spatial) to `shape`: images (B, C, H, W) bicubic, antialiased when shrinking;
    1-D and 3-D signals linearly (a system with its own resampling, e.g. audio, passes its own `resize`)."""
    if tuple(x.shape[2:]) == tuple(shape):
        return x
    if x.ndim != 4:
        return F.interpolate(x, size=tuple(shape), mode=_LINEAR[x.ndim - 2], align_corners=False)
    shrinking = shape[0] < x.shape[-2] or shape[1] < x.shape[-1]
    return F.interpolate(x, size=tuple(shape), mode="bicubic", align_corners=False, antialias=shrinking)


def resize_mask(mask: torch.Tensor, shape: Shape) -> torch.Tensor:
    """Resize a hole mask (B, 1, *spatial) in {0, 1}: any output position touched by a hole position becomes hole.

    (Bi)linear, antialiased in 2-D when shrinking: the weights are non-negative, so "touched" means a non-zero
    interpolated value. In 1-D and 3-D a shrink first grows the mask by the shrink factor, so no hole is lost.
    """
    if tuple(mask.shape[2:]) == tuple(shape):
        return (mask > 0.5).float()
    rank = mask.ndim - 2
    if rank != 2:
        grow = max(math.ceil(s / t) for s, t in zip(mask.shape[2:], shape, strict=True))
        source = mask.float()
        if grow > 1:
            pool = {1: F.max_pool1d, 3: F.max_pool3d}[rank]
            source = pool(source, 2 * grow + 1, stride=1, padding=grow)
        soft = F.interpolate(source, size=tuple(shape), mode=_LINEAR[rank], align_corners=False)
        return (soft > 1e-6).float()
    shrinking = shape[0] < mask.shape[-2] or shape[1] < mask.shape[-1]
    soft = F.interpolate(mask.float(), size=tuple(shape), mode="bilinear", align_corners=False, antialias=shrinking)
    return (soft > 1e-6).float()


def resize_conditioning(conditioning: torch.Tensor, shape: Shape) -> torch.Tensor:
    """Resize a conditioning map (B, M, *spatial) to `shape` with convex weights ((bi/tri)linear, antialiased in
    2-D when shrinking), so maps whose channels sum to 1 at every position (identity maps) still do."""
    if tuple(conditioning.shape[2:]) == tuple(shape):
        return conditioning
    rank = conditioning.ndim - 2
    shrinking = any(t < s for s, t in zip(conditioning.shape[2:], shape, strict=True))
    return F.interpolate(
        conditioning, size=tuple(shape), mode=_LINEAR[rank], align_corners=False, antialias=shrinking and rank == 2
    )


def conditioning_pyramid(conditioning: torch.Tensor, shapes: list[Shape]) -> list[torch.Tensor]:
    """One conditioning map (B, M, *spatial) resized to every scale shape, coarsest first."""
    return [resize_conditioning(conditioning, tuple(shape)) for shape in shapes]


def build_pyramid(image: torch.Tensor, shapes: list[tuple[int, ...]]) -> list[torch.Tensor]:
    """The image (K, C, H, W) (or any (K, C, *spatial) signal) resized to every scale shape, coarsest first, each
    resized from the original."""
    return [resize(image, shape) for shape in shapes]


def image_to_tensor(image: np.ndarray, device: str = "cpu") -> torch.Tensor:
    """HxWxC float in [0, 1] -> (1, C, H, W) float32 in [-1, 1]."""
    array = np.asarray(image, dtype=np.float32)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3:
        raise InputError(f"expected an HxWxC image, got an array of shape {array.shape}")
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))[None].to(device) * 2.0 - 1.0


def tensor_to_image(x: torch.Tensor) -> np.ndarray:
    """(1, C, H, W) or (C, H, W) in [-1, 1] -> HxWxC float32 in [0, 1] (clipped)."""
    if x.ndim == 4:
        x = x[0]
    array = ((x.detach().float().cpu().clamp(-1.0, 1.0) + 1.0) / 2.0).numpy().transpose(1, 2, 0)
    return np.ascontiguousarray(array, dtype=np.float32)
