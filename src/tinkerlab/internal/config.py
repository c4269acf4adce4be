"""Frozen, typed configs of the multi-scale single-sample GAN engine (SinGAN, Shaham et al., ICCV 2019) and of IDC
(internal diverse completion, Alkobi, Rott Shaham and Michaeli, arXiv 2212.10280).

Every derived value (sizes of the scales, width of each scale, iterations of a masked scale) comes from a function
over these configs; nothing is mutated while training. The defaults are the papers' settings; `demo_*` functions
return the small CPU settings used by the demo, the benchmark and the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

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


@dataclass(frozen=True)
class SinGANConfig:
    """Everything that defines a single-image GAN training run (and its run directory)."""

    pyramid: PyramidConfig = field(default_factory=PyramidConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    seed: int = 0
    device: Device = "cpu"


@dataclass(frozen=True)
class DIPConfig:
    """The Deep-Image-Prior pre-fill of the hole (Ulyanov et al., 2018) used for the scales before masking starts.

    Args:
        width: channels per level of the skip network.
        depth: levels of the encoder-decoder (each halves the size).
        iterations: Adam iterations.
        lr: Adam learning rate.
        input_noise_std: std of the noise added to the fixed input at every iteration (regularisation).
        colour_weight: weight of the loss that pulls hole colours toward their nearest visible colour.
    """

    width: int = 64
    depth: int = 4
    iterations: int = 1000
    lr: float = 1e-3
    input_noise_std: float = 0.03
    colour_weight: float = 0.05


@dataclass(frozen=True)
class IDCConfig:
    """An IDC training run: the SinGAN settings plus what changes on masked scales.

    Args:
        base: the pyramid, models and unmasked-scale training.
        dip: the pre-fill network.
        masked_lr: the learning rate of the scales trained with the masked discriminator.
        masked_iterations_factor: masked scales train this many times `base.train.iterations` (3000 / 2000).
        boosted_rec_weight: alpha on the last max(1, num_scales // 3) scales.
        mask_start_share_coarsest: masking starts at scale 0 when the dilated hole covers less than this there.
        mask_start_share: otherwise at the first scale where it covers less than this ...
        mask_start_valid_centres: ... or where more than this many valid patch centres remain.
        max_hole_fraction: a hole covering more of the image than this is refused.
    """

    base: SinGANConfig = field(default_factory=lambda: SinGANConfig(pyramid=PyramidConfig(max_size=256)))
    dip: DIPConfig = field(default_factory=DIPConfig)
    masked_lr: float = 5e-5
    masked_iterations_factor: float = 1.5
    boosted_rec_weight: float = 100.0
    mask_start_share_coarsest: float = 0.25
    mask_start_share: float = 0.60
    mask_start_valid_centres: int = 5000
    max_hole_fraction: float = 0.6


def scale_width(model: ModelConfig, index: int) -> int:
    """Channels of the conv blocks at scale `index` (0 = coarsest)."""
    return min(model.base_width * 2 ** (index // model.width_doubling_every), model.max_width)


def masked_iterations(config: IDCConfig) -> int:
    """Iterations of a scale trained with the masked discriminator."""
    return max(1, round(config.base.train.iterations * config.masked_iterations_factor))


def demo_singan_config(iterations: int = 300, seed: int = 0) -> SinGANConfig:
    """The CPU demo setting: longer side 64, 5 scales, width 32 everywhere."""
    return SinGANConfig(
        pyramid=PyramidConfig(max_size=64, min_size=20, num_scales=5),
        model=ModelConfig(max_width=32),
        train=TrainConfig(iterations=iterations),
        seed=seed,
    )


def demo_idc_config(iterations: int = 300, seed: int = 0, dip_iterations: int = 300) -> IDCConfig:
    """The CPU demo setting of IDC: the SinGAN demo pyramid, a smaller DIP, masked lr 1e-4.

    The masked learning rate is raised from the paper's 5e-5 to 1e-4 because the demo trains 10x fewer
    iterations per scale.
    """
    return IDCConfig(
        base=demo_singan_config(iterations=iterations, seed=seed),
        dip=DIPConfig(width=32, depth=3, iterations=dip_iterations),
        masked_lr=1e-4,
    )


def with_iterations(config: SinGANConfig, iterations: int) -> SinGANConfig:
    """A copy of `config` with another number of iterations per scale."""
    return replace(config, train=replace(config.train, iterations=iterations))
