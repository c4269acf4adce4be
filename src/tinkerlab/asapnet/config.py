"""Frozen, typed configs of ASAPNet (Rott Shaham, Gharbi, Zhang, Shechtman and Michaeli, CVPR 2021), of the two
baseline generators it is compared with (pix2pixHD's global generator and SPADE) and of their training.

The defaults are the published widths; `demo_*` functions give the small CPU settings used by the demo, the quality
check and the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tinkerlab.core.config import check_choice, check_count, check_positive, check_range, check_type

ModelKind = Literal["asapnet", "pix2pixhd", "spade"]


@dataclass(frozen=True)
class ASAPNetConfig:
    """The ASAPNet generator.

    Args:
        num_labels: label classes (the one-hot input channels).
        grid: the low-resolution parameter grid has `grid` cells along the height (16 as published); the tile
            size is height // grid.
        lr_width: channels of the first convolution of the low-resolution stream.
        lr_max_width: channels of the low-resolution blocks (1024 as published).
        lr_depth: 3x3 convolution blocks at the grid resolution (7 as published).
        learned_downsample: the stride-2 convolutions downsample by this much (16: four of them); the rest of
            the way to the grid is a fixed antialiased bilinear resize.
        hr_width: hidden width of the per-pixel MLPs (64).
        hr_depth: linear layers of the per-pixel MLPs (5).
        frequencies: sinusoidal coordinate frequencies per axis (periods tile, tile/2, ...); 0 turns the
            positional encoding off (an ablation). The published model uses log2(tile): 5 at 512 px.
        spatially_varying: one MLP per tile (True, published) or one MLP for the whole image (an ablation: the
            predicted parameter grid is averaged to 1x1).
        padding: padding of the 3x3 convolutions ('reflect' as in the facades scripts, or 'zeros').
    """

    num_labels: int = 13
    grid: int = 16
    lr_width: int = 64
    lr_max_width: int = 1024
    lr_depth: int = 7
    learned_downsample: int = 16
    hr_width: int = 64
    hr_depth: int = 5
    frequencies: int = 5
    spatially_varying: bool = True
    padding: Literal["reflect", "zeros"] = "reflect"

    def __post_init__(self) -> None:
        check_count(self, "num_labels", 1)
        check_count(self, "grid", 1)
        check_count(self, "lr_width", 1)
        check_count(self, "lr_max_width", 1)
        check_count(self, "lr_depth", 0)
        check_count(self, "learned_downsample", 1)
        if self.learned_downsample & (self.learned_downsample - 1):
            from tinkerlab.core.config import config_error

            raise config_error(self, "learned_downsample", "a power of 2", self.learned_downsample)
        check_count(self, "hr_width", 1)
        check_count(self, "hr_depth", 1)
        check_count(self, "frequencies", 0)
        check_type(self, "spatially_varying", bool)
        check_choice(self, "padding", ("reflect", "zeros"))


@dataclass(frozen=True)
class Pix2PixHDConfig:
    """pix2pixHD's global generator (Wang et al., CVPR 2018): 7x7 stem, downsamplings, residual blocks,
    transposed-convolution upsamplings, instance norm (published: ngf 64, 4 downsamplings, 9 blocks)."""

    num_labels: int = 13
    ngf: int = 64
    downsamplings: int = 4
    blocks: int = 9

    def __post_init__(self) -> None:
        check_count(self, "num_labels", 1)
        check_count(self, "ngf", 1)
        check_count(self, "downsamplings", 0)
        check_count(self, "blocks", 0)


@dataclass(frozen=True)
class SPADEConfig:
    """The SPADE generator (Park et al., CVPR 2019): a 3x3 convolution of the downsampled label map at 1/32 of the
    output, then SPADE residual blocks with upsamplings (published: ngf 64, 5 upsamplings, 'normal' size,
    batch norm inside SPADE, 128 hidden channels in its label MLP, spectral norm)."""

    num_labels: int = 13
    ngf: int = 64
    upsamplings: int = 5
    spade_hidden: int = 128

    def __post_init__(self) -> None:
        check_count(self, "num_labels", 1)
        check_count(self, "ngf", 1)
        check_count(self, "upsamplings", 2)
        check_count(self, "spade_hidden", 1)


GeneratorConfig = ASAPNetConfig | Pix2PixHDConfig | SPADEConfig


@dataclass(frozen=True)
class TrainConfig:
    """Training of a generator against a multiscale PatchGAN (SPADE's framework, as ASAPNet's code uses).

    Args:
        steps: generator updates.
        batch_size: pairs per step.
        size: training crop size (square), a multiple of the generator's grid.
        lr_generator, lr_discriminator: the two time-scale learning rates (TTUR: 1e-4 and 4e-4).
        beta1, beta2: Adam betas (0, 0.9).
        num_discriminators: scales of the multiscale discriminator (2).
        discriminator_layers: strided layers of each PatchGAN (4).
        ndf: discriminator width (64).
        feature_matching_weight: lambda of the discriminator feature-matching loss (10).
        l1_weight: lambda of the L1 loss to the real image (the original's option, 100 when on; the offline
            stand-in for the VGG loss).
        vgg_weight: lambda of the VGG19 perceptual loss, used only when `vgg_weights` names a file.
        vgg_weights: a torchvision-format VGG19 state dict (never downloaded).
        checkpoint_every: steps between checkpoints.
        seed: the random seed.
        device: torch device.
    """

    steps: int = 300
    batch_size: int = 1
    size: int = 256
    lr_generator: float = 1e-4
    lr_discriminator: float = 4e-4
    beta1: float = 0.0
    beta2: float = 0.9
    num_discriminators: int = 2
    discriminator_layers: int = 4
    ndf: int = 64
    feature_matching_weight: float = 10.0
    l1_weight: float = 100.0
    vgg_weight: float = 10.0
    vgg_weights: str | None = None
    checkpoint_every: int = 100
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        check_count(self, "steps", 1)
        check_count(self, "batch_size", 1)
        check_count(self, "size", 8)
        check_positive(self, "lr_generator")
        check_positive(self, "lr_discriminator")
        check_range(self, "beta1", 0, 1, hi_open=True)
        check_range(self, "beta2", 0, 1, hi_open=True)
        check_count(self, "num_discriminators", 1)
        check_count(self, "discriminator_layers", 1)
        check_count(self, "ndf", 1)
        check_range(self, "feature_matching_weight", 0)
        check_range(self, "l1_weight", 0)
        check_range(self, "vgg_weight", 0)
        check_type(self, "vgg_weights", str, optional=True)
        check_count(self, "checkpoint_every", 1)
        check_count(self, "seed", 0)
        check_type(self, "device", str)


@dataclass(frozen=True)
class RunConfig:
    """One training run: which generator, its config (one of the three, the others left None) and the training."""

    kind: ModelKind
    asapnet: ASAPNetConfig | None = None
    pix2pixhd: Pix2PixHDConfig | None = None
    spade: SPADEConfig | None = None
    train: TrainConfig = TrainConfig()
    dataset: str = "facades"

    def __post_init__(self) -> None:
        check_choice(self, "kind", ("asapnet", "pix2pixhd", "spade"))
        check_type(self, "asapnet", ASAPNetConfig, optional=True)
        check_type(self, "pix2pixhd", Pix2PixHDConfig, optional=True)
        check_type(self, "spade", SPADEConfig, optional=True)
        check_type(self, "train", TrainConfig)
        if getattr(self, self.kind) is None:
            from tinkerlab.core.errors import InputError

            raise InputError(f"a RunConfig of kind {self.kind!r} needs its {self.kind} config, got None")

    @property
    def generator(self) -> GeneratorConfig:
        """The config of the generator this run trains."""
        return getattr(self, self.kind)


def published_tile_frequencies(size: int, grid: int = 16) -> int:
    """The published number of coordinate frequencies for a square output of `size`: log2(size // grid).

    Example:
        >>> published_tile_frequencies(512), published_tile_frequencies(1024)
        (5, 6)
    """
    tile = max(1, size // grid)
    return max(0, tile.bit_length() - 1)


def demo_generator_config(kind: ModelKind, num_labels: int, **changes) -> GeneratorConfig:
    """The small CPU widths used by the demo and the quality check (128 px crops): ASAPNet with a 128-wide,
    3-block low-resolution stream that downsamples 8x by learning (tiles of 8 px, 3 frequencies); pix2pixHD and
    SPADE at ngf 16."""
    if kind == "asapnet":
        base = dict(lr_width=32, lr_max_width=128, lr_depth=3, learned_downsample=8, frequencies=3)
        base.update(changes)
        return ASAPNetConfig(num_labels=num_labels, **base)
    if kind == "pix2pixhd":
        return Pix2PixHDConfig(num_labels=num_labels, **{"ngf": 16, "blocks": 4, **changes})
    return SPADEConfig(num_labels=num_labels, **{"ngf": 16, "spade_hidden": 32, **changes})


def demo_train_config(steps: int = 300, seed: int = 0, **changes) -> TrainConfig:
    """The small CPU training used by the demo and the quality check: 128 px, batch 2, a 2-scale discriminator of
    width 32 with 3 layers."""
    base = dict(steps=steps, batch_size=2, size=128, ndf=32, discriminator_layers=3, seed=seed, checkpoint_every=100)
    base.update(changes)
    return TrainConfig(**base)


def run_config_from_dict(data: dict) -> RunConfig:
    """Rebuild a `RunConfig` from its JSON form (the generator configs are optional fields)."""
    from tinkerlab.core.config import config_from_dict

    classes = {"asapnet": ASAPNetConfig, "pix2pixhd": Pix2PixHDConfig, "spade": SPADEConfig}
    values = dict(data)
    for name, cls in classes.items():
        if isinstance(values.get(name), dict):
            values[name] = config_from_dict(cls, values[name])
    values["train"] = config_from_dict(TrainConfig, values.get("train", {}))
    return RunConfig(**values)


GeneratorName = Literal["asapnet", "asapnet-no-pe", "asapnet-no-spatial", "pix2pixhd", "spade"]
"""The generators one can train: ASAPNet, its two ablations and the two baselines."""
GENERATOR_NAMES: tuple[str, ...] = ("asapnet", "asapnet-no-pe", "asapnet-no-spatial", "pix2pixhd", "spade")
ABLATIONS = {"asapnet-no-pe": {"frequencies": 0}, "asapnet-no-spatial": {"spatially_varying": False}}


def make_run_config(
    name: GeneratorName,
    num_labels: int,
    *,
    widths: Literal["demo", "published"] = "demo",
    steps: int = 300,
    size: int = 128,
    seed: int = 0,
    dataset: str = "facades",
    **train_changes,
) -> RunConfig:
    """The `RunConfig` of one generator: 'demo' widths and training (the small CPU settings, `demo_*`) or the
    published widths and training settings (ASAPNet 1024 x 7 with log2(tile) frequencies, baselines at ngf 64).

    Example:
        >>> make_run_config("asapnet-no-pe", 8).asapnet.frequencies
        0
        >>> make_run_config("spade", 8, widths="published", size=256).spade.ngf
        64
    """
    if name not in GENERATOR_NAMES:
        from tinkerlab.core.errors import InputError

        raise InputError(f"expected a generator in {', '.join(GENERATOR_NAMES)}, got {name!r}")
    if widths == "demo":
        train = demo_train_config(steps=steps, seed=seed, size=size, **train_changes)
    else:
        train = TrainConfig(steps=steps, seed=seed, size=size, **train_changes)
    kind = "asapnet" if name.startswith("asapnet") else name
    if kind == "asapnet":
        changes = ABLATIONS.get(name, {})
        if widths == "demo":
            generator = demo_generator_config("asapnet", num_labels, **changes)
        else:
            generator = ASAPNetConfig(num_labels=num_labels, frequencies=published_tile_frequencies(size), **changes)
    elif widths == "demo":
        generator = demo_generator_config(kind, num_labels)
    else:
        generator = (
            Pix2PixHDConfig(num_labels=num_labels) if kind == "pix2pixhd" else SPADEConfig(num_labels=num_labels)
        )
    return RunConfig(kind=kind, train=train, dataset=dataset, **{kind: generator})
