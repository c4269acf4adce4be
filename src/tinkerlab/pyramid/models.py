"""Per-scale models of the multi-scale single-sample GANs (SinGAN, Shaham et al., ICCV 2019), with the masked
discriminator of IDC (Alkobi, Rott Shaham and Michaeli, arXiv 2212.10280) and optional conditioning maps.

Both networks are `num_layers` conv blocks (k x k, stride 1, no padding) with BatchNorm and LeakyReLU(0.2), over
1, 2 or 3 spatial dimensions (`dims`: audio, images, volumes). The generator is residual:
G(z, x_prev) = x_prev + tail(head(z + pad(x_prev))), where the noise map z is already `padding` positions larger
than the signal on every side, so the output has the signal's size. The discriminator maps a signal to a
patch-score map and optionally takes a validity map: then its normalisation statistics use only positions whose
receptive field so far contains no hole position, and every other position is set to zero (IDC).

With `cond_channels` M > 0 both take a conditioning map (B, M, *spatial) at the signal's shape (e.g. a K-channel
image-identity map), either concatenated to the first conv's input (`conditioning="concat"`) or as a spatial
conditional normalisation (`conditioning="norm"`, SPADE / sCBN style: after each BatchNorm, x * (1 + gamma(c)) +
beta(c) with gamma and beta 1x1 convs of the map cropped to that layer's size). So the generator's input has
`in_channels` = channels (+ M) and its output `out_channels` = channels; the discriminator's input `in_channels`
and its output `out_channels` (1) score channels. These modules do no I/O.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from tinkerlab.pyramid.config import ModelConfig, scale_width
from tinkerlab.pyramid.masks import MaskedBatchNorm, MaskedBatchNorm2d, erode_valid
from tinkerlab.pyramid.trainer import pad_spatial

__all__ = [
    "ConvBlock",
    "ImageDiscriminator",
    "ImageGenerator",
    "MaskedBatchNorm",
    "MaskedBatchNorm2d",
    "SpatialModulation",
    "build_discriminator",
    "build_generator",
    "center_crop",
    "erode_valid",
    "init_weights",
]

Conditioning = Literal["concat", "norm"]
CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
BATCH_NORM = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}


def center_crop(x: torch.Tensor, spatial: tuple[int, ...]) -> torch.Tensor:
    """The centre of (B, C, *larger) at the spatial shape `spatial` (as unpadded convs shrink a signal)."""
    slices = [slice(None), slice(None)]
    for size, target in zip(x.shape[2:], spatial, strict=True):
        start = (size - target) // 2
        slices.append(slice(start, start + target))
    return x[tuple(slices)]


class SpatialModulation(nn.Module):
    """Spatial conditional normalisation (SPADE / sCBN style): x * (1 + gamma(c)) + beta(c), per position.

    gamma and beta are 1x1 convs of the conditioning map, which is centre-cropped to x's shape.
    """

    def __init__(self, cond_channels: int, channels: int, dims: int = 2) -> None:
        super().__init__()
        self.gamma = CONV[dims](cond_channels, channels, 1)
        self.beta = CONV[dims](cond_channels, channels, 1)

    def forward(self, x: torch.Tensor, conditioning: torch.Tensor) -> torch.Tensor:
        c = center_crop(conditioning, tuple(x.shape[2:]))
        return x * (1.0 + self.gamma(c)) + self.beta(c)


class ConvBlock(nn.Module):
    """Conv (k, no padding) -> BatchNorm (-> spatial modulation) -> LeakyReLU(0.2)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        masked_norm: bool = False,
        *,
        dims: int = 2,
        cond_channels: int = 0,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.conv = CONV[dims](in_channels, out_channels, kernel_size)
        self.norm: nn.Module = MaskedBatchNorm(out_channels) if masked_norm else BATCH_NORM[dims](out_channels)
        self.modulation = SpatialModulation(cond_channels, out_channels, dims) if cond_channels else None

    def forward(
        self, x: torch.Tensor, valid: torch.Tensor | None = None, conditioning: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        x = self.conv(x)
        if valid is not None:
            valid = erode_valid(valid, self.kernel_size)
        x = self.norm(x, valid) if isinstance(self.norm, MaskedBatchNorm) else self.norm(x)
        if self.modulation is not None and conditioning is not None:
            x = self.modulation(x, conditioning)
            if valid is not None:
                x = x * valid
        return F.leaky_relu(x, 0.2), valid


def _check_conditioning(module: nn.Module, conditioning: torch.Tensor | None) -> None:
    if module.cond_channels and conditioning is None:
        raise ValueError(
            f"{type(module).__name__} is conditioned on {module.cond_channels} channels: pass conditioning="
            "(B, M, *spatial)"
        )
    if conditioning is not None and conditioning.shape[1] != module.cond_channels:
        raise ValueError(
            f"{type(module).__name__} expects a conditioning map of {module.cond_channels} channels, got "
            f"{conditioning.shape[1]}"
        )


class ImageGenerator(nn.Module):
    """The residual generator of one scale (any spatial rank, optionally conditioned).

    Args:
        channels: signal channels (of the noise, the previous scale and the output).
        width: channels of the conv blocks.
        num_layers: conv layers (head, num_layers - 2 body blocks, tail).
        kernel_size: conv kernel size.
        cond_channels: channels M of the conditioning map (0: unconditioned).
        conditioning: "concat" (the map joins the head's input) or "norm" (spatial conditional normalisation).
        dims: spatial dimensions (1 audio, 2 images, 3 volumes).
    """

    def __init__(
        self,
        channels: int = 3,
        width: int = 32,
        num_layers: int = 5,
        kernel_size: int = 3,
        *,
        cond_channels: int = 0,
        conditioning: Conditioning = "concat",
        dims: int = 2,
    ) -> None:
        super().__init__()
        if conditioning not in ("concat", "norm"):
            raise ValueError(f"expected conditioning 'concat' or 'norm', got {conditioning!r}")
        self.padding = (kernel_size - 1) * num_layers // 2
        self.channels = self.out_channels = channels
        self.cond_channels, self.cond_mode, self.dims = cond_channels, conditioning, dims
        self.in_channels = channels + (cond_channels if conditioning == "concat" else 0)
        norm_channels = cond_channels if conditioning == "norm" else 0
        blocks = [ConvBlock(self.in_channels, width, kernel_size, dims=dims, cond_channels=norm_channels)]
        blocks += [
            ConvBlock(width, width, kernel_size, dims=dims, cond_channels=norm_channels) for _ in range(num_layers - 2)
        ]
        self.blocks = nn.ModuleList(blocks)
        self.tail = CONV[dims](width, channels, kernel_size)

    def forward(
        self, noise: torch.Tensor, previous: torch.Tensor, conditioning: torch.Tensor | None = None
    ) -> torch.Tensor:
        # noise: (B, C, *(s + 2p)); previous: (B, C, *s); conditioning: (B, M, *s) -> (B, C, *s)
        _check_conditioning(self, conditioning)
        p = self.padding
        x = noise + pad_spatial(previous, p)
        block_map = None
        if conditioning is not None:
            padded = pad_spatial(conditioning, p, mode="replicate")
            if self.cond_mode == "concat":
                x = torch.cat([x, padded], dim=1)
            else:
                block_map = padded
        for block in self.blocks:
            x, _ = block(x, conditioning=block_map)
        return torch.tanh(self.tail(x)) + previous


class ImageDiscriminator(nn.Module):
    """The patch discriminator of one scale; with `masked=True` it accepts a validity map (IDC).

    Args:
        channels: signal channels.
        width: channels of the conv blocks.
        num_layers: conv layers (num_layers - 1 blocks and a tail).
        kernel_size: conv kernel size.
        masked: use normalisation over valid positions (needed to pass `valid`).
        cond_channels: channels M of the conditioning map (0: unconditioned).
        conditioning: "concat" or "norm", as in `ImageGenerator`.
        dims: spatial dimensions.
        out_channels: score channels of the tail (1).
    """

    def __init__(
        self,
        channels: int = 3,
        width: int = 32,
        num_layers: int = 5,
        kernel_size: int = 3,
        masked: bool = False,
        *,
        cond_channels: int = 0,
        conditioning: Conditioning = "concat",
        dims: int = 2,
        out_channels: int = 1,
    ) -> None:
        super().__init__()
        if conditioning not in ("concat", "norm"):
            raise ValueError(f"expected conditioning 'concat' or 'norm', got {conditioning!r}")
        self.kernel_size = kernel_size
        self.masked = masked
        self.channels, self.out_channels = channels, out_channels
        self.cond_channels, self.cond_mode, self.dims = cond_channels, conditioning, dims
        self.in_channels = channels + (cond_channels if conditioning == "concat" else 0)
        norm_channels = cond_channels if conditioning == "norm" else 0
        blocks = [ConvBlock(self.in_channels, width, kernel_size, True, dims=dims, cond_channels=norm_channels)]
        blocks += [
            ConvBlock(width, width, kernel_size, True, dims=dims, cond_channels=norm_channels)
            for _ in range(num_layers - 2)
        ]
        self.blocks = nn.ModuleList(blocks)
        self.tail = CONV[dims](width, out_channels, kernel_size)

    def forward(
        self, x: torch.Tensor, valid: torch.Tensor | None = None, conditioning: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Score map and its validity.

        Args:
            x: (B, C, *spatial) signals.
            valid: (B, 1, *spatial) in {0, 1}, 1 where the position is known; None treats every position as known.
            conditioning: (B, M, *spatial) when the discriminator is conditioned.

        Returns:
            scores (B, out_channels, *(s - 2p)) and the validity of each score (B, 1, ...) or None.
        """
        _check_conditioning(self, conditioning)
        block_map = None
        if conditioning is not None:
            if self.cond_mode == "concat":
                x = torch.cat([x, conditioning], dim=1)
            else:
                block_map = conditioning
        for block in self.blocks:
            x, valid = block(x, valid, block_map)
        scores = self.tail(x)
        if valid is not None:
            valid = erode_valid(valid, self.kernel_size)
            scores = scores * valid
        return scores, valid


def build_generator(model: ModelConfig, index: int, **options) -> ImageGenerator:
    """The generator of scale `index` (its width from `scale_width`); `options` go to `ImageGenerator`
    (`cond_channels`, `conditioning`, `dims`)."""
    return ImageGenerator(model.channels, scale_width(model, index), model.num_layers, model.kernel_size, **options)


def build_discriminator(model: ModelConfig, index: int, masked: bool = False, **options) -> ImageDiscriminator:
    """The discriminator of scale `index`; `masked` for IDC's masked scales; `options` as in `build_generator`."""
    return ImageDiscriminator(
        model.channels, scale_width(model, index), model.num_layers, model.kernel_size, masked, **options
    )


def init_weights(module: nn.Module, generator: torch.Generator) -> None:
    """SinGAN's initialisation, seeded: conv weights N(0, 0.02), norm weights N(1, 0.02), all biases 0."""
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, tuple(CONV.values())):
                sub.weight.normal_(0.0, 0.02, generator=generator)
                if sub.bias is not None:
                    sub.bias.zero_()
            elif isinstance(sub, (*BATCH_NORM.values(), MaskedBatchNorm)):
                sub.weight.normal_(1.0, 0.02, generator=generator)
                sub.bias.zero_()
