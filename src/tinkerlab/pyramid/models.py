"""Per-scale image models of the multi-scale single-sample GANs (SinGAN, Shaham et al., ICCV 2019), with the masked
discriminator of IDC (Alkobi, Rott Shaham and Michaeli, arXiv 2212.10280).

Both networks are `num_layers` conv blocks (3x3, stride 1, no padding) with BatchNorm and LeakyReLU(0.2).
The generator is residual: G(z, x_prev) = x_prev + tail(head(z + pad(x_prev))), where the noise map z is already
`padding` pixels larger than the image on every side, so the output has the image's size. The discriminator maps
an image to a patch-score map and optionally takes a validity map: then its normalisation statistics use only
positions whose receptive field so far contains no hole pixel, and every other position is set to zero (IDC).
These modules do no I/O.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tinkerlab.pyramid.config import ModelConfig, scale_width


def erode_valid(valid: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """Validity after an unpadded k x k conv: a position stays valid only if its whole k x k window was valid.

    Args:
        valid: (B, 1, H, W) in {0, 1}.

    Returns:
        (B, 1, H - k + 1, W - k + 1) in {0, 1}.
    """
    return 1.0 - F.max_pool2d(1.0 - valid, kernel_size, stride=1)


class MaskedBatchNorm2d(nn.Module):
    """Batch normalisation (batch statistics, no running averages) over the valid positions only.

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
        # x: (B, C, H, W); valid: (B, 1, H, W) or None
        if valid is None:
            return F.batch_norm(x, None, None, self.weight, self.bias, training=True, eps=self.eps)
        count = valid.sum().clamp_min(1.0)
        mean = (x * valid).sum(dim=(0, 2, 3), keepdim=True) / count  # (1, C, 1, 1)
        var = (((x - mean) * valid) ** 2).sum(dim=(0, 2, 3), keepdim=True) / count
        scale = self.weight.view(1, -1, 1, 1) / torch.sqrt(var + self.eps)
        return ((x - mean) * scale + self.bias.view(1, -1, 1, 1)) * valid


class ConvBlock(nn.Module):
    """Conv (k x k, no padding) -> BatchNorm -> LeakyReLU(0.2)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, masked_norm: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)
        self.norm: nn.Module = MaskedBatchNorm2d(out_channels) if masked_norm else nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor, valid: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        x = self.conv(x)
        if valid is not None:
            valid = erode_valid(valid, self.kernel_size)
        x = self.norm(x, valid) if isinstance(self.norm, MaskedBatchNorm2d) else self.norm(x)
        return F.leaky_relu(x, 0.2), valid


class ImageGenerator(nn.Module):
    """The residual generator of one scale.

    Args:
        channels: image channels.
        width: channels of the conv blocks.
        num_layers: conv layers (head, num_layers - 2 body blocks, tail).
        kernel_size: conv kernel size.
    """

    def __init__(self, channels: int = 3, width: int = 32, num_layers: int = 5, kernel_size: int = 3) -> None:
        super().__init__()
        self.padding = (kernel_size - 1) * num_layers // 2
        blocks = [ConvBlock(channels, width, kernel_size)]
        blocks += [ConvBlock(width, width, kernel_size) for _ in range(num_layers - 2)]
        self.blocks = nn.ModuleList(blocks)
        self.tail = nn.Conv2d(width, channels, kernel_size)

    def forward(self, noise: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
        # noise: (B, C, H + 2p, W + 2p); previous: (B, C, H, W) -> (B, C, H, W)
        p = self.padding
        x = noise + F.pad(previous, (p, p, p, p))
        for block in self.blocks:
            x, _ = block(x)
        return torch.tanh(self.tail(x)) + previous


class ImageDiscriminator(nn.Module):
    """The patch discriminator of one scale; with `masked=True` it accepts a validity map (IDC).

    Args:
        channels: image channels.
        width: channels of the conv blocks.
        num_layers: conv layers (num_layers - 1 blocks and a 1-channel tail).
        kernel_size: conv kernel size.
        masked: use normalisation over valid positions (needed to pass `valid`).
    """

    def __init__(
        self,
        channels: int = 3,
        width: int = 32,
        num_layers: int = 5,
        kernel_size: int = 3,
        masked: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.masked = masked
        blocks = [ConvBlock(channels, width, kernel_size, masked_norm=True)]
        blocks += [ConvBlock(width, width, kernel_size, masked_norm=True) for _ in range(num_layers - 2)]
        self.blocks = nn.ModuleList(blocks)
        self.tail = nn.Conv2d(width, 1, kernel_size)

    def forward(self, x: torch.Tensor, valid: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Score map and its validity.

        Args:
            x: (B, C, H, W) images.
            valid: (B, 1, H, W) in {0, 1}, 1 where the pixel is known; None treats every pixel as known.

        Returns:
            scores (B, 1, H - 2p, W - 2p) and the validity of each score (same shape) or None.
        """
        for block in self.blocks:
            x, valid = block(x, valid)
        scores = self.tail(x)
        if valid is not None:
            valid = erode_valid(valid, self.kernel_size)
            scores = scores * valid
        return scores, valid


def build_generator(model: ModelConfig, index: int) -> ImageGenerator:
    """The generator of scale `index` (its width from `scale_width`)."""
    return ImageGenerator(model.channels, scale_width(model, index), model.num_layers, model.kernel_size)


def build_discriminator(model: ModelConfig, index: int, masked: bool = False) -> ImageDiscriminator:
    """The discriminator of scale `index`; `masked` for IDC's masked scales."""
    return ImageDiscriminator(model.channels, scale_width(model, index), model.num_layers, model.kernel_size, masked)


def init_weights(module: nn.Module, generator: torch.Generator) -> None:
    """SinGAN's initialisation, seeded: conv weights N(0, 0.02), norm weights N(1, 0.02), all biases 0."""
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, nn.Conv2d):
                sub.weight.normal_(0.0, 0.02, generator=generator)
                if sub.bias is not None:
                    sub.bias.zero_()
            elif isinstance(sub, (nn.BatchNorm2d, MaskedBatchNorm2d)):
                sub.weight.normal_(1.0, 0.02, generator=generator)
                sub.bias.zero_()
