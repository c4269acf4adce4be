"""Masks and the masked objective of the pyramid engine: training a scale on the known pixels of an image only.

Introduced by IDC (Alkobi, Rott Shaham and Michaeli, arXiv 2212.10280) on top of SinGAN (Shaham et al., ICCV 2019):
the discriminator normalises over valid positions, D(real) is averaged over scores whose receptive field misses
the unknown region, the gradient penalty is averaged over known pixels, and the reconstruction loss is masked and
gradual (weights rise from 0 at the unknown region over a blurred band). Any plan with an unknown region (IDC's
hole, a BlendGAN region, a gap in audio) builds a `MaskedObjective` for its scales.

Masks are (B, 1, H, W) float tensors in {0, 1}; 1 marks the unknown region unless a name says otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from tinkerlab.pyramid.trainer import gradient_penalty


def dilate(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """Dilate a (B, 1, H, W) {0, 1} mask by a disk of `radius` pixels (0 leaves it as is)."""
    if radius <= 0:
        return mask
    grid = torch.arange(-radius, radius + 1, dtype=torch.float32)
    disk = ((grid[:, None] ** 2 + grid[None, :] ** 2) <= radius**2 + 1e-6).float()[None, None].to(mask.device)
    return (F.conv2d(mask, disk, padding=radius) > 0.5).float()


def gaussian_blur(mask: torch.Tensor, sigma: float, truncate: float = 2.0) -> torch.Tensor:
    """Separable Gaussian blur of (B, 1, H, W), support cut at `truncate` sigmas (so far pixels stay exactly 0)."""
    radius = max(1, math.ceil(truncate * sigma))
    grid = torch.arange(-radius, radius + 1, dtype=torch.float32, device=mask.device)
    kernel = torch.exp(-(grid**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    x = F.pad(mask, (radius, radius, 0, 0), mode="replicate")
    x = F.conv2d(x, kernel.view(1, 1, 1, -1))
    x = F.pad(x, (0, 0, radius, radius), mode="replicate")
    return F.conv2d(x, kernel.view(1, 1, -1, 1))


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
        known: (1, 1, H, W), 1 where the pixel is known.
        rec_weights: (1, 1, H, W) gradual reconstruction weights (0 in the hole).
        gp_weight, rec_weight, noise_amp_factor: as in `WassersteinObjective`.
    """

    known: torch.Tensor
    rec_weights: torch.Tensor
    gp_weight: float = 0.1
    rec_weight: float = 10.0
    noise_amp_factor: float = 0.1

    def discriminator_loss(self, discriminator, real, fake, rng):
        real_scores, valid = discriminator(real, self.known)
        real_mean = real_scores.sum() / valid.sum().clamp_min(1.0)
        fake_scores, _ = discriminator(fake)
        penalty = gradient_penalty(discriminator, real, fake, rng, self.known)
        return -real_mean + fake_scores.mean() + self.gp_weight * penalty

    def generator_adversarial_loss(self, discriminator, fake):
        scores, _ = discriminator(fake)
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
