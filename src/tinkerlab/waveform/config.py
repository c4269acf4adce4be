"""Frozen, typed configs of Catch-A-Waveform (Greshler, Rott Shaham and Michaeli, NeurIPS 2021).

The defaults are the paper's code settings (`params.py` and `train_main.py` of the original): sample rates up to
16 kHz, kernel 9 with dilations 1..128, 16 channels at the coarsest scale and 96 above it, WGAN-GP with lambda
0.01, Adam 1.5e-3, 2000 epochs per scale. `demo_waveform_config` is the small CPU setting of the demo, the
benchmark and the tests. Derived values (the scales of a clip, the losses of a mode) come from functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

from tinkerlab.core.config import (
    check_choice,
    check_count,
    check_positive,
    check_range,
    check_type,
    config_error,
)

Mode = Literal["music", "speech", "inpainting", "denoising"]
MODES: tuple[str, ...] = ("music", "speech", "inpainting", "denoising")

SAMPLE_RATES: tuple[int, ...] = (
    320,
    400,
    500,
    640,
    800,
    1000,
    1280,
    1600,
    2000,
    2500,
    4000,
    8000,
    10000,
    12000,
    14400,
    16000,
)
"""The original's sample-rate pyramid (Hz); a clip uses the rates from its first scale up to its top rate."""

CPU_DENOISING_MSE_WEIGHT = 30.0
"""alpha1 of the `cpu` preset in denoising mode (the original's is 10). At 16 channels and 100 epochs per scale the
adversarial term outweighs a 10 x MSE on these quiet signals (mean energy 0.0015 to 0.013 at 500 .. 2000 Hz), and
the reconstruction fills with texture that is neither the speech nor the noise; see docs/waveform.md (Denoising)."""


@dataclass(frozen=True)
class WaveformConfig:
    """A Catch-A-Waveform training run.

    Args:
        mode: music (multi-scale spectrogram reconstruction, conditioning noise at scale 1), speech (time-domain
            MSE, scales from 500 Hz), inpainting (MSE on known samples, masked discriminator) or denoising (MSE,
            the output is the reconstruction).
        top_rate: the finest scale's sample rate (the clip is resampled to it).
        max_seconds: longer clips are cut to this length (the original's 25 s).
        channels: conv channels at the coarsest scale.
        growth: channels above the coarsest scale are `channels * growth` (the original's 6; 1 keeps them equal).
        kernel_size: conv kernel (9).
        num_layers: conv layers per network; dilations 1, 2, 4, ..., 2**(num_layers - 1).
        epochs: epochs per scale; one discriminator and one generator step each.
        lr: Adam learning rate of G and D.
        beta1: Adam's first beta (the second is 0.999).
        decay_at: fraction of the epochs after which the learning rate is multiplied by `decay_gamma`.
        decay_gamma: the decay factor.
        gp_weight: lambda of the gradient penalty.
        mse_weight: alpha1, the time-domain MSE weight (speech, inpainting, denoising).
        mss_weight: alpha2, the multi-scale spectrogram loss weight (music).
        noise_amp_factor: the noise std of a finer scale is this times sqrt(max(0, E_k - E_(k-1))).
        min_energy: for music, leading scales whose mean energy is below this are skipped.
        speech_min_rate: for speech, the first scale is the first rate at or above this.
        seed: seeds weights, noises and the gradient penalty.
        device: torch device.
    """

    mode: Mode = "music"
    top_rate: int = 16000
    max_seconds: float = 25.0
    channels: int = 16
    growth: float = 6.0
    kernel_size: int = 9
    num_layers: int = 8
    epochs: int = 2000
    lr: float = 1.5e-3
    beta1: float = 0.5
    decay_at: float = 2.0 / 3.0
    decay_gamma: float = 0.1
    gp_weight: float = 0.01
    mse_weight: float = 10.0
    mss_weight: float = 1e-4
    noise_amp_factor: float = 0.01
    min_energy: float = 0.0025
    speech_min_rate: int = 500
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        check_choice(self, "mode", MODES)
        check_choice(self, "top_rate", SAMPLE_RATES)
        check_positive(self, "max_seconds")
        check_count(self, "channels", 1)
        check_range(self, "growth", 1.0)
        check_count(self, "kernel_size", 1)
        if self.kernel_size % 2 == 0:
            raise config_error(self, "kernel_size", "an odd integer", self.kernel_size)
        check_count(self, "num_layers", 3)
        check_count(self, "epochs", 1)
        check_positive(self, "lr")
        check_range(self, "beta1", 0, 1, hi_open=True)
        check_range(self, "decay_at", 0, 1)
        check_positive(self, "decay_gamma")
        check_range(self, "gp_weight", 0)
        check_range(self, "mse_weight", 0)
        check_range(self, "mss_weight", 0)
        check_range(self, "noise_amp_factor", 0)
        check_range(self, "min_energy", 0)
        check_count(self, "speech_min_rate", 1)
        check_count(self, "seed")
        check_type(self, "device", str)
        if not (self.device in ("auto", "cpu", "cuda", "mps") or re.fullmatch(r"cuda:\d+", self.device)):
            raise config_error(self, "device", "'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'", self.device)


def dilations(config: WaveformConfig) -> list[int]:
    """The dilation of each conv layer: 1, 2, 4, ..., 2**(num_layers - 1)."""
    return [2**i for i in range(config.num_layers)]


def receptive_field(config: WaveformConfig) -> int:
    """Samples seen by one output of the generator or discriminator: k + (k - 1) * (sum of dilations - 1)."""
    return 1 + (config.kernel_size - 1) * sum(dilations(config))


def scale_channels(config: WaveformConfig, index: int) -> int:
    """Conv channels of scale `index` (0 = coarsest)."""
    return config.channels if index == 0 else round(config.channels * config.growth)


def uses_mss(config: WaveformConfig) -> bool:
    """Music reconstructs with the multi-scale spectrogram loss; the other modes with the time-domain MSE."""
    return config.mode == "music"


def uses_conditioning_noise(config: WaveformConfig) -> bool:
    """Scale 1's noise std is the std of the coarsest reconstruction (music and inpainting, as in the original)."""
    return config.mode in ("music", "inpainting")


def demo_waveform_config(
    mode: Mode = "music", *, epochs: int = 150, top_rate: int = 4000, channels: int = 16, seed: int = 0
) -> WaveformConfig:
    """The CPU setting: top rate 4 kHz, 16 channels at every scale, 150 epochs per scale; in denoising mode alpha1
    is `CPU_DENOISING_MSE_WEIGHT` (30) instead of the original's 10."""
    mse_weight = CPU_DENOISING_MSE_WEIGHT if mode == "denoising" else WaveformConfig.mse_weight
    return WaveformConfig(
        mode=mode, top_rate=top_rate, channels=channels, growth=1.0, epochs=epochs, seed=seed, mse_weight=mse_weight
    )


def with_mode(config: WaveformConfig, mode: Mode) -> WaveformConfig:
    """A copy of `config` in another mode."""
    return replace(config, mode=mode)
