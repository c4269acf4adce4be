"""Frozen, typed configs of the multi-scale single-sample GAN engine (SinGAN, Shaham et al., ICCV 2019).

Every derived value (sizes of the scales, width of each scale) comes from a function over these configs; nothing
is mutated while training. The defaults are the paper's settings; `demo_singan_config` returns the small CPU
setting used by the demo, the benchmark and the tests. The configs of the systems built on the engine (IDC, ...)
live with those systems and hold a `SinGANConfig` as their `base`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal

from tinkerlab.core.config import check_count, check_length, check_positive, check_range, check_type, config_error

Device = Literal["cpu", "cuda", "auto"]


@dataclass(frozen=True)
class PyramidConfig:
    """Sizes of the scales.

    Args:
        max_size: the longer side of the finest scale; larger inputs are downscaled (never upscaled).
        min_size: the shorter side of the coarsest scale.
        scale_factor: the ratio r between neighbouring scales when `num_scales` is None; it is then re-adjusted
            so that the coarsest shorter side is exactly `min_size` (the SinGAN rule).
        num_scales: when given, the number of scales is fixed and r is derived from `min_size`.
    """

    max_size: int = 250
    min_size: int = 25
    scale_factor: float = 0.75
    num_scales: int | None = None

    def __post_init__(self) -> None:
        check_count(self, "min_size", 1)
        check_count(self, "max_size", 1)
        if self.max_size < self.min_size:  # the finest scale's shorter side must reach min_size
            raise config_error(self, "max_size", f"an integer >= min_size={self.min_size}", self.max_size)
        check_range(self, "scale_factor", 0, 1, lo_open=True, hi_open=True)
        check_count(self, "num_scales", 1, optional=True)


@dataclass(frozen=True)
class ModelConfig:
    """The per-scale generator and discriminator: `num_layers` conv blocks (3x3, no padding), BatchNorm, LeakyReLU.

    The width of scale n is min(base_width * 2**(n // width_doubling_every), max_width): 32, 32, 32, 32, 64, ...
    """

    channels: int = 3
    num_layers: int = 5
    kernel_size: int = 3
    base_width: int = 32
    max_width: int = 128
    width_doubling_every: int = 4

    def __post_init__(self) -> None:
        check_count(self, "channels", 1)
        check_count(self, "num_layers", 2)  # a head and a tail
        check_count(self, "kernel_size", 1)
        if self.kernel_size % 2 == 0:  # the generator's padding keeps the image size only for odd kernels
            raise config_error(self, "kernel_size", "an odd integer", self.kernel_size)
        check_count(self, "base_width", 1)
        check_count(self, "max_width", 1)
        check_count(self, "width_doubling_every", 1)


@dataclass(frozen=True)
class TrainConfig:
    """One scale's optimisation: WGAN-GP plus reconstruction, Adam, a step decay of the learning rate.

    Args:
        iterations: iterations per scale; each makes `d_steps` discriminator and `g_steps` generator steps.
        lr: Adam learning rate of G and D.
        betas: Adam betas.
        decay_at: fraction of the iterations after which the learning rate is multiplied by `decay_gamma`.
        gp_weight: lambda of the gradient penalty.
        rec_weight: alpha of the reconstruction loss.
        noise_amp_factor: the noise amplitude of scale n is this times the RMSE between x_n and the upsampled
            reconstruction of scale n-1.
    """

    iterations: int = 2000
    d_steps: int = 3
    g_steps: int = 3
    lr: float = 5e-4
    betas: tuple[float, float] = (0.5, 0.999)
    decay_at: float = 0.8
    decay_gamma: float = 0.1
    gp_weight: float = 0.1
    rec_weight: float = 10.0
    noise_amp_factor: float = 0.1

    def __post_init__(self) -> None:
        check_count(self, "iterations", 1)
        check_count(self, "d_steps", 1)
        check_count(self, "g_steps", 1)
        check_positive(self, "lr")
        check_length(self, "betas", 2)
        check_range(self, "betas[0]", 0, 1, hi_open=True)
        check_range(self, "betas[1]", 0, 1, hi_open=True)
        check_range(self, "decay_at", 0, 1)
        check_positive(self, "decay_gamma")
        check_range(self, "gp_weight", 0)
        check_range(self, "rec_weight", 0)
        check_range(self, "noise_amp_factor", 0)


@dataclass(frozen=True)
class SinGANConfig:
    """Everything that defines a single-image GAN training run (and its run directory)."""

    pyramid: PyramidConfig = field(default_factory=PyramidConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    seed: int = 0
    device: Device = "cpu"

    def __post_init__(self) -> None:
        check_type(self, "pyramid", PyramidConfig)
        check_type(self, "model", ModelConfig)
        check_type(self, "train", TrainConfig)
        check_count(self, "seed")
        check_type(self, "device", str)
        if not (self.device in ("auto", "cpu", "cuda", "mps") or re.fullmatch(r"cuda:\d+", self.device)):
            raise config_error(self, "device", "'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'", self.device)


def scale_width(model: ModelConfig, index: int) -> int:
    """Channels of the conv blocks at scale `index` (0 = coarsest)."""
    return min(model.base_width * 2 ** (index // model.width_doubling_every), model.max_width)


def demo_singan_config(iterations: int = 300, seed: int = 0) -> SinGANConfig:
    """The CPU demo setting: longer side 64, 5 scales, width 32 everywhere."""
    return SinGANConfig(
        pyramid=PyramidConfig(max_size=64, min_size=20, num_scales=5),
        model=ModelConfig(max_width=32),
        train=TrainConfig(iterations=iterations),
        seed=seed,
    )


def with_iterations(config: SinGANConfig, iterations: int) -> SinGANConfig:
    """A copy of `config` with another number of iterations per scale."""
    return replace(config, train=replace(config.train, iterations=iterations))


Preset = Literal["cpu", "paper"]
PRESETS: tuple[str, ...] = ("cpu", "paper")


def preset_config(
    preset: Preset = "cpu",
    *,
    iterations: int | None = None,
    max_size: int | None = None,
    scales: int | None = None,
    seed: int = 0,
) -> SinGANConfig:
    """A SinGAN config from a preset ('cpu': the demo setting; 'paper': the paper's) with optional overrides.

    Raises:
        InputError: an unknown preset.
    """
    from tinkerlab.core.errors import InputError

    if preset not in PRESETS:
        raise InputError(f"expected preset cpu or paper, got {preset!r}")
    config = demo_singan_config(seed=seed) if preset == "cpu" else SinGANConfig(seed=seed)
    if iterations is not None:
        config = with_iterations(config, iterations)
    if max_size is not None or scales is not None:
        pyramid = config.pyramid
        pyramid = replace(pyramid, max_size=max_size or pyramid.max_size, num_scales=scales or pyramid.num_scales)
        config = replace(config, pyramid=pyramid)
    return config
