"""Frozen, typed configs of IDC, internal diverse completion (Alkobi, Rott Shaham and Michaeli, arXiv 2212.10280).

An `IDCConfig` holds the SinGAN settings of the pyramid engine as `base`, plus what changes on masked scales and
the Deep-Image-Prior pre-fill. The defaults are the paper's settings; `demo_idc_config` is the small CPU setting
used by the demo, the quality check and the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from tinkerlab.core.config import check_count, check_positive, check_range, check_type
from tinkerlab.pyramid.config import PyramidConfig, SinGANConfig, demo_singan_config


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

    def __post_init__(self) -> None:
        check_count(self, "width", 1)
        check_count(self, "depth", 1)
        check_count(self, "iterations", 1)
        check_positive(self, "lr")
        check_range(self, "input_noise_std", 0)
        check_range(self, "colour_weight", 0)


@dataclass(frozen=True)
class IDCConfig:
    """An IDC training run: the SinGAN settings plus what changes on masked scales.

    Args:
        base: the pyramid, models and unmasked-scale training.
        dip: the pre-fill network.
        masked_lr: the learning rate of the scales trained with the masked discriminator.
        masked_iterations_factor: masked scales train this many times `base.train.iterations` (3000 / 2000).
        boosted_rec_weight: alpha on the masked scales among the last max(1, int(stop_scale / 3)).
        mask_start_share_coarsest: masking starts at scale 0 when the dilated hole covers less than this there.
        mask_start_share: otherwise at the first finer scale where it covers less than this ...
        mask_start_valid_centres: ... or where more than this many valid patch centres remain; when no scale
            qualifies, masking starts at the finest scale.
        max_hole_fraction: a hole covering more of the image than this is refused (the original sets no limit;
            beyond 90 % too few known patches remain to learn from).
    """

    base: SinGANConfig = field(default_factory=lambda: SinGANConfig(pyramid=PyramidConfig(max_size=256)))
    dip: DIPConfig = field(default_factory=DIPConfig)
    masked_lr: float = 5e-5
    masked_iterations_factor: float = 1.5
    boosted_rec_weight: float = 100.0
    mask_start_share_coarsest: float = 0.25
    mask_start_share: float = 0.60
    mask_start_valid_centres: int = 5000
    max_hole_fraction: float = 0.9

    def __post_init__(self) -> None:
        check_type(self, "base", SinGANConfig)
        check_type(self, "dip", DIPConfig)
        check_positive(self, "masked_lr")
        check_positive(self, "masked_iterations_factor")
        check_range(self, "boosted_rec_weight", 0)
        check_range(self, "mask_start_share_coarsest", 0, 1)
        check_range(self, "mask_start_share", 0, 1)
        check_count(self, "mask_start_valid_centres", 0)
        check_range(self, "max_hole_fraction", 0, 1, lo_open=True)


def masked_iterations(config: IDCConfig) -> int:
    """Iterations of a scale trained with the masked discriminator."""
    return max(1, round(config.base.train.iterations * config.masked_iterations_factor))


def demo_idc_config(iterations: int = 300, seed: int = 0, dip_iterations: int = 300, max_size: int = 64) -> IDCConfig:
    """The CPU demo setting of IDC: the SinGAN demo pyramid (longer side `max_size`, 5 scales), a smaller DIP,
    masked lr 1e-4.

    The masked learning rate is raised from the paper's 5e-5 to 1e-4 because the demo trains 10x fewer
    iterations per scale.
    """
    base = demo_singan_config(iterations=iterations, seed=seed)
    if max_size != base.pyramid.max_size:
        base = replace(base, pyramid=replace(base.pyramid, max_size=max_size))
    return IDCConfig(
        base=base,
        dip=DIPConfig(width=32, depth=3, iterations=dip_iterations),
        masked_lr=1e-4,
    )
