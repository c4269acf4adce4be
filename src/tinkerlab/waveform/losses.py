"""Losses and the noise-amplitude rule of Catch-A-Waveform (Greshler, Rott Shaham and Michaeli, NeurIPS 2021).

- `mss_loss`: the multi-scale spectrogram loss (adapted by the original from openai/jukebox): for each of three
  STFTs (n_fft 2048/1024/512, hop 240/120/50, Hann windows 1200/600/240) the Frobenius norm of the difference of
  the magnitude spectrograms, averaged over the three.
- `WaveformObjective`: WGAN-GP (lambda 0.01) plus alpha1 x MSE (speech, inpainting, denoising) or alpha2 x MSS
  (music) reconstruction; with a `known` map, D(real) and the penalty use only positions away from the holes and
  the MSE only known samples.
- `noise_amplitude`: 1 at the coarsest scale; at scale 1 with conditioning noise (music, inpainting) the std of
  the upsampled coarsest reconstruction; otherwise 0.01 x sqrt(max(0, E_k - E_(k-1))), the energy innovation
  between neighbouring rates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from tinkerlab.pyramid.trainer import gradient_penalty

MSS_RESOLUTIONS: tuple[tuple[int, int, int], ...] = ((2048, 240, 1200), (1024, 120, 600), (512, 50, 240))
"""(n_fft, hop, window) of the three STFTs of the multi-scale spectrogram loss."""


def magnitude(signal: torch.Tensor, n_fft: int, hop: int, window: int) -> torch.Tensor:
    """|STFT| of (B, L) signals (centred frames, reflect padding, a Hann window of `window` samples)."""
    hann = torch.hann_window(window, device=signal.device, dtype=signal.dtype)
    spec = torch.stft(signal, n_fft, hop, win_length=window, window=hann, center=True, return_complex=True)
    return spec.abs()


def mss_loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Multi-scale spectrogram loss between two (B, 1, L) or (B, L) signals (one value per batch item, averaged).

    Signals of at most 1024 samples use only the STFTs whose reflect padding fits (n_fft / 2 < L).

    Example:
        >>> x = torch.randn(1, 1, 4000)
        >>> float(mss_loss(x, x))
        0.0
    """
    a, b = a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)
    resolutions = [r for r in MSS_RESOLUTIONS if r[0] // 2 < a.shape[-1]]  # short signals: the STFTs that fit
    if not resolutions:
        raise ValueError(f"the MSS loss needs signals longer than {MSS_RESOLUTIONS[-1][0] // 2} samples")
    losses = []
    for n_fft, hop, window in resolutions:
        diff = magnitude(a, n_fft, hop, window) - magnitude(b, n_fft, hop, window)
        losses.append(diff.reshape(diff.shape[0], -1).norm(dim=1))
    return (sum(losses) / len(losses)).mean()


def innovation_amplitude(energy: float, previous_energy: float, factor: float = 0.01) -> float:
    """factor x sqrt(max(0, energy - previous_energy)).

    Example:
        >>> innovation_amplitude(0.05, 0.04)
        0.001
    """
    return factor * math.sqrt(max(0.0, energy - previous_energy))


@dataclass(frozen=True)
class WaveformObjective:
    """The losses of one scale.

    Attributes:
        gp_weight: lambda of the gradient penalty (0.01).
        mse_weight: alpha1 (time-domain MSE); 0 turns it off.
        mss_weight: alpha2 (multi-scale spectrogram loss); 0 turns it off.
        energy, previous_energy: mean energies of this scale's and the coarser scale's training signal.
        noise_amp_factor: the factor of the energy-innovation rule.
        conditioning_noise: use the std of the upsampled coarser reconstruction as the noise std (scale 1 in music
            and inpainting).
        known: (1, 1, L) in {0, 1}, 1 on known samples (inpainting), or None.
    """

    gp_weight: float = 0.01
    mse_weight: float = 0.0
    mss_weight: float = 1e-4
    energy: float = 0.0
    previous_energy: float = 0.0
    noise_amp_factor: float = 0.01
    conditioning_noise: bool = False
    known: torch.Tensor | None = None

    def discriminator_loss(self, discriminator, real, fake, rng):
        real_scores, valid = discriminator(real, self.known)
        if valid is None:
            real_mean = real_scores.mean()
        else:
            real_mean = real_scores.sum() / valid.sum().clamp_min(1.0)
        fake_scores, _ = discriminator(fake)
        penalty = gradient_penalty(discriminator, real, fake, rng, self.known)
        return -real_mean + fake_scores.mean() + self.gp_weight * penalty

    def generator_adversarial_loss(self, discriminator, fake):
        scores, _ = discriminator(fake)
        return -scores.mean()

    def reconstruction_loss(self, reconstruction, real):
        loss = reconstruction.new_zeros(())
        if self.mse_weight > 0:
            if self.known is None:
                loss = loss + self.mse_weight * torch.mean((reconstruction - real) ** 2)
            else:
                squared = ((reconstruction - real) * self.known) ** 2
                loss = loss + self.mse_weight * squared.sum() / self.known.sum().clamp_min(1.0)
        if self.mss_weight > 0:
            loss = loss + self.mss_weight * mss_loss(reconstruction, real)
        return loss

    def noise_amplitude(self, upsampled_reconstruction, real):
        if self.conditioning_noise:
            return float(upsampled_reconstruction.std())
        return innovation_amplitude(self.energy, self.previous_energy, self.noise_amp_factor)
