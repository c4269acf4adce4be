"""Masks and the masked parts of the pyramid engine: training a scale on the known positions of a signal only.

Introduced by IDC (Alkobi, Rott Shaham and Michaeli, arXiv 2212.10280) on top of SinGAN (Shaham et al., ICCV 2019):
the discriminator normalises over valid positions (`MaskedBatchNorm`, `erode_valid`), D(real) is averaged over
scores whose receptive field misses the unknown region, the gradient penalty is averaged over known positions, and
the reconstruction loss is masked and gradual (weights rise from 0 at the unknown region over a blurred band). Any
plan with an unknown region (IDC's hole, a BlendGAN region, a gap in audio) builds a `MaskedObjective`.

Everything here is dimension-agnostic: masks are (B, 1, *spatial) float tensors in {0, 1} with one, two or three
spatial dimensions (audio (B, 1, T), images (B, 1, H, W)); 1 marks the unknown region unless a name says otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import reduce

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tinkerlab.pyramid.trainer import call_discriminator, gradient_penalty

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}


def spatial_rank(x: torch.Tensor) -> int:
    """The number of spatial dimensions of a (B, C, *spatial) tensor (1, 2 or 3).

    Raises:
        ValueError: a tensor without 1 to 3 spatial dimensions.
    """
    rank = x.ndim - 2
    if rank not in _CONV:
        shape = tuple(x.shape)
        raise ValueError(f"expected a (B, C, *spatial) tensor with 1 to 3 spatial dimensions, got shape {shape}")
    return rank


def erode_valid(valid: torch.Tensor, kernel_size: int, dilation: int = 1) -> torch.Tensor:
    """Validity after an unpadded conv of size k: a position stays valid only if its whole k-window was valid.

    Args:
        valid: (B, 1, *spatial) in {0, 1}.
        dilation: the conv's dilation (its window then spans dilation * (k - 1) + 1 positions).

    Returns:
        (B, 1, *(s - dilation * (k - 1))) in {0, 1}.
    """
    return 1.0 - _MAX_POOL[spatial_rank(valid)](1.0 - valid, kernel_size, stride=1, dilation=dilation)


def box_dilate(mask: torch.Tensor, size: int) -> torch.Tensor:
    """Grow a (B, 1, *spatial) {0, 1} mask by a box (segment, square, cube) of odd `size`, keeping its shape.

    A position becomes 1 when any position within `size // 2` of it (per axis) is 1, e.g. the hole grown by the
    receptive field of the scale models.
    """
    return _MAX_POOL[spatial_rank(mask)](mask, size, stride=1, padding=size // 2)


def dilate(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """Dilate a (B, 1, *spatial) {0, 1} mask by a ball of `radius` positions (a disk in 2-D, a segment in 1-D;
    0 leaves it as is)."""
    if radius <= 0:
        return mask
    rank = spatial_rank(mask)
    grid = torch.arange(-radius, radius + 1, dtype=torch.float32)
    axes = [grid.view(*[-1 if a == axis else 1 for a in range(rank)]) ** 2 for axis in range(rank)]
    ball = (reduce(torch.add, axes) <= radius**2 + 1e-6).float()[None, None].to(mask.device)
    return (_CONV[rank](mask, ball, padding=radius) > 0.5).float()


def gaussian_blur(mask: torch.Tensor, sigma: float, truncate: float = 2.0) -> torch.Tensor:
    """Separable Gaussian blur of (B, 1, *spatial), support cut at `truncate` sigmas (so far positions stay exactly
    0); the borders are replicated. The last axis is blurred first."""
    rank = spatial_rank(mask)
    radius = max(1, math.ceil(truncate * sigma))
    grid = torch.arange(-radius, radius + 1, dtype=torch.float32, device=mask.device)
    kernel = torch.exp(-(grid**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    x = mask
    for axis in reversed(range(rank)):
        pad = [0] * (2 * rank)
        pad[2 * (rank - 1 - axis)] = pad[2 * (rank - 1 - axis) + 1] = radius
        x = F.pad(x, tuple(pad), mode="replicate")
        shape = [1, 1] + [-1 if a == axis else 1 for a in range(rank)]
        x = _CONV[rank](x, kernel.view(*shape))
    return x


class MaskedBatchNorm(nn.Module):
    """Batch normalisation (batch statistics, no running averages) over the valid positions only, any spatial rank.

    Without a validity map it is plain training-mode BatchNorm. With one, the mean and variance of each channel are
    taken over the positions where `valid` is 1, and the output is zero elsewhere, so invalid positions influence
    nothing downstream.
    """

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        # x: (B, C, *spatial); valid: (B, 1, *spatial) or None
        if valid is None:
            return F.batch_norm(x, None, None, self.weight, self.bias, training=True, eps=self.eps)
        dims = (0, *range(2, x.ndim))
        view = (1, -1, *[1] * (x.ndim - 2))
        count = valid.sum().clamp_min(1.0)
        mean = (x * valid).sum(dim=dims, keepdim=True) / count  # (1, C, 1, ...)
        var = (((x - mean) * valid) ** 2).sum(dim=dims, keepdim=True) / count
        scale = self.weight.view(*view) / torch.sqrt(var + self.eps)
        return ((x - mean) * scale + self.bias.view(*view)) * valid


MaskedBatchNorm2d = MaskedBatchNorm  # the name of the 2-D-only first version


def gradual_weights(hole: torch.Tensor, index: int, sigma: float = 5.0) -> torch.Tensor:
    """The reconstruction weights of a masked scale: 0 in the hole, rising over a blurred band around it.

    1 - blur(dilate(hole, min(index, 5)), sigma), times the known-pixel map.
    """
    band = gaussian_blur(dilate(hole, min(index, 5)), sigma, truncate=3.0).clamp(0.0, 1.0)
    return (1.0 - band) * (1.0 - hole)


@dataclass(frozen=True)
class MaskedObjective:
    """WGAN-GP and reconstruction restricted to known pixels (the objective of IDC's masked scales).

    Attributes:
        known: (1 or K, 1, *spatial), 1 where the position is known.
        rec_weights: (1 or K, 1, *spatial) gradual reconstruction weights (0 in the hole).
        gp_weight, rec_weight, noise_amp_factor: as in `WassersteinObjective`.
    """

    known: torch.Tensor
    rec_weights: torch.Tensor
    gp_weight: float = 0.1
    rec_weight: float = 10.0
    noise_amp_factor: float = 0.1

    def discriminator_loss(self, discriminator, real, fake, rng, conditioning=None):
        real_scores, valid = call_discriminator(discriminator, real, self.known, conditioning)
        real_mean = real_scores.sum() / valid.sum().clamp_min(1.0)
        fake_scores, _ = call_discriminator(discriminator, fake, None, conditioning)
        penalty = gradient_penalty(discriminator, real, fake, rng, self.known, conditioning=conditioning)
        return -real_mean + fake_scores.mean() + self.gp_weight * penalty

    def generator_adversarial_loss(self, discriminator, fake, conditioning=None):
        scores, _ = call_discriminator(discriminator, fake, None, conditioning)
        return -scores.mean()

    def reconstruction_loss(self, reconstruction, real):
        # (reconstruction - real) * weights, the squared error renormalised by the weights' mass
        diff = (reconstruction - real) * self.known * self.rec_weights
        return self.rec_weight * (diff**2).sum() / (real.shape[1] * self.rec_weights.sum().clamp_min(1e-6))

    def noise_amplitude(self, upsampled_reconstruction, real):
        diff = (upsampled_reconstruction - real) * self.known
        mse = float((diff**2).sum() / (real.shape[1] * self.known.sum().clamp_min(1.0)))
        return self.noise_amp_factor * math.sqrt(mse)


def soft_merge_weights(mask: torch.Tensor, radius: int, sigma: float = 5.0, truncate: float = 4.0) -> torch.Tensor:
    """SinGAN's merge weights for editing and harmonisation: the region dilated by a disk of `radius`, blurred
    (Gaussian `sigma`, cut at `truncate` sigmas), rescaled to span [0, 1], and 1 inside the region.

    Pixels beyond radius + truncate * sigma of the region get weight exactly 0, so a merge copies them bit for bit.

    Args:
        mask: (B, 1, H, W) in {0, 1}, 1 in the edited or pasted region.
        radius: the dilation (SinGAN: 7 for harmonisation, 20 for editing).
        sigma: the blur.
        truncate: the blur's support in sigmas.

    Returns:
        (B, 1, H, W) in [0, 1].
    """
    soft = gaussian_blur(dilate(mask, radius), sigma, truncate=truncate)
    low, high = float(soft.min()), float(soft.max())
    if high > low:
        soft = (soft - low) / (high - low)
    return torch.maximum(soft.clamp(0.0, 1.0), (mask > 0.5).float())


def merge_known(known: np.ndarray, generated: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """generated * w + known * (1 - w) for HxWxC images and HxW weights; pixels with w == 0 are copied from `known`
    bit for bit."""
    w = weights[:, :, None]
    blended = generated * w + known * (1.0 - w)
    return np.where(w == 0.0, known, blended).astype(np.float32)
