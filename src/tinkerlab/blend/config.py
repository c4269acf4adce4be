"""Frozen, typed configs of BlendGAN: one multi-scale GAN that learns the internal patch distributions of several
images at once, conditioned on a spatially varying image-identity map.

A `BlendConfig` holds the SinGAN settings of the pyramid engine as `base`, plus how the identity map enters the
networks and how much wider the networks get per extra image. The number of images is not a setting: it is what
the run is made of (its provenance). `demo_blend_config` is the small CPU setting of the demo, the checks and the
benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from tinkerlab.core.config import check_choice, check_count, check_range, check_type
from tinkerlab.pyramid.config import ModelConfig, PyramidConfig, SinGANConfig, TrainConfig, scale_width

Conditioning = Literal["concat", "norm"]
CONDITIONINGS: tuple[str, ...] = ("concat", "norm")


@dataclass(frozen=True)
class BlendConfig:
    """A BlendGAN training run on K images.

    Args:
        base: the pyramid, the per-scale networks and their training (SinGAN's settings; `base.model.channels`
            are the image channels, the identity channels come on top).
        conditioning: how the K-channel identity map enters G and D. "concat" (default): the map is
            concatenated to the input of the first conv of G (with noise + upsampled previous image) and of D.
            "norm": spatial conditional normalisation, every BatchNorm of G and D gets a per-pixel scale and
            shift that are linear in the identity map (sCBN of neural-collage; SPADE with a 1x1 modulation).
        extra_width_per_image: conv channels added to every scale's width for each image beyond the first
            (the width grows mildly with K, so one model holds K distributions at about one model's size).
        cross_fraction: the share of iterations, on the `cross_scales` finest scales, in which identity k's
            generator is fed the upsampled coarser sample of another image j (a cyclic shift of the batch) and
            trained by the adversarial loss under identity k only (no reconstruction target exists for the
            pair). It teaches the fine scales to draw image k's texture on another image's layout, which
            structure-texture fusion asks of them; 0 (default) trains every scale on its own image's layout only.
        cross_scales: how many of the finest scales get cross-identity iterations (when `cross_fraction` > 0);
            fusion should switch to the texture identity at one of them.
    """

    base: SinGANConfig = field(default_factory=SinGANConfig)
    conditioning: Conditioning = "concat"
    extra_width_per_image: int = 2
    cross_fraction: float = 0.0
    cross_scales: int = 1

    def __post_init__(self) -> None:
        check_type(self, "base", SinGANConfig)
        check_choice(self, "conditioning", CONDITIONINGS)
        check_count(self, "extra_width_per_image", 0)
        check_range(self, "cross_fraction", 0, 1, hi_open=True)
        check_count(self, "cross_scales", 1)


def blend_width(config: BlendConfig, index: int, num_images: int) -> int:
    """Conv channels of scale `index` for a model of `num_images` images.

    Example:
        >>> blend_width(BlendConfig(), 0, 3)
        36
    """
    return scale_width(config.base.model, index) + config.extra_width_per_image * (num_images - 1)


def demo_blend_config(
    iterations: int = 300,
    *,
    max_size: int = 48,
    num_scales: int = 4,
    min_size: int = 20,
    conditioning: Conditioning = "concat",
    cross_fraction: float = 0.0,
    cross_scales: int = 1,
    seed: int = 0,
) -> BlendConfig:
    """The CPU setting: longer side `max_size`, `num_scales` scales, width 32 everywhere (+2 per extra image)."""
    base = SinGANConfig(
        pyramid=PyramidConfig(max_size=max_size, min_size=min_size, num_scales=num_scales),
        model=ModelConfig(max_width=32),
        train=TrainConfig(iterations=iterations),
        seed=seed,
    )
    return BlendConfig(base=base, conditioning=conditioning, cross_fraction=cross_fraction, cross_scales=cross_scales)


def with_base(config: BlendConfig, **changes) -> BlendConfig:
    """A copy of `config` whose `base` has `changes` (e.g. ``device="cuda"``)."""
    return replace(config, base=replace(config.base, **changes))
