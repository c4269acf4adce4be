"""The 1-D networks of Catch-A-Waveform (Greshler, Rott Shaham and Michaeli, NeurIPS 2021).

Both networks stack weight-normalised dilated 1-D convolutions (kernel 9, dilations 1, 2, ..., 128), each block
Conv-BatchNorm-LeakyReLU(0.2), without padding inside the network.

- `WaveGenerator`: G(z, x_prev) = x_prev + pre_emphasis(out(tanh(f) * sigmoid(g))), where the head reads
  z + x_prev zero-padded by the receptive-field half-width, the tail is a dilated conv, f and g are two k9 convs
  of the tail's output (a gated unit), `out` a 1x1 conv to one channel and the pre-emphasis filter
  y[t] = x[t] - 0.97 x[t - 1] tilts the output towards high frequencies. The noise has the signal's length.
- `WaveDiscriminator`: the same stack, a dilated tail conv to one channel and the pre-emphasis filter. With a
  validity map (inpainting) the normalisation statistics use only positions whose receptive field so far holds no
  hole sample, and the other scores are zero: IDC's masked discriminator in one dimension, built from the
  engine's `MaskedBatchNorm` and `erode_valid` (`tinkerlab.pyramid.masks`).

The original initialises its convs with N(0, 0.02), but on weight-normalised convs that write is overwritten by
the weight-norm hook at the first forward, so its effective initialisation is PyTorch's default; these modules
keep PyTorch's default (drawn under a seed by `seeded`) and BatchNorm weights N(1, 0.02). No I/O here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from tinkerlab.pyramid.masks import MaskedBatchNorm, erode_valid
from tinkerlab.waveform.config import WaveformConfig, dilations, scale_channels

PRE_EMPHASIS = 0.97


def pre_emphasis(x: torch.Tensor, coefficient: float = PRE_EMPHASIS) -> torch.Tensor:
    """y[0] = x[0], y[t] = x[t] - coefficient * x[t - 1] along the last axis of (B, C, L).

    Example:
        >>> [round(v, 4) for v in pre_emphasis(torch.tensor([[[1.0, 1.0, 2.0]]])).flatten().tolist()]
        [1.0, 0.03, 1.03]
    """
    return torch.cat((x[..., :1], x[..., 1:] - coefficient * x[..., :-1]), dim=-1)


def norm_conv(in_channels: int, out_channels: int, kernel_size: int, dilation: int = 1, padding: int = 0) -> nn.Module:
    """A weight-normalised Conv1d."""
    return weight_norm(nn.Conv1d(in_channels, out_channels, kernel_size, dilation=dilation, padding=padding))


class WaveBlock(nn.Module):
    """Dilated conv (no padding) -> BatchNorm -> LeakyReLU(0.2); `masked` norms over valid positions."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int, masked: bool = False):
        super().__init__()
        self.kernel_size, self.dilation = kernel_size, dilation
        self.conv = norm_conv(in_channels, out_channels, kernel_size, dilation)
        self.norm: nn.Module = MaskedBatchNorm(out_channels) if masked else nn.BatchNorm1d(out_channels)

    def forward(self, x: torch.Tensor, valid: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        x = self.conv(x)
        if valid is not None:
            valid = erode_valid(valid, self.kernel_size, self.dilation)
            x = self.norm(x, valid)
        else:
            x = self.norm(x)
        return F.leaky_relu(x, 0.2), valid


def _stack(width: int, kernel_size: int, rates: list[int], masked: bool) -> nn.ModuleList:
    blocks = [WaveBlock(1, width, kernel_size, rates[0], masked)]
    blocks += [WaveBlock(width, width, kernel_size, d, masked) for d in rates[1:-1]]
    return nn.ModuleList(blocks)


class WaveGenerator(nn.Module):
    """The residual, gated generator of one scale.

    Args:
        width: conv channels.
        kernel_size: conv kernel (9).
        rates: the dilation of each conv layer (head, body blocks, tail).

    `padding` is 0: the noise has the signal's length; the network pads z + x_prev itself.
    """

    padding = 0

    def __init__(self, width: int = 16, kernel_size: int = 9, rates: list[int] | None = None) -> None:
        super().__init__()
        rates = list(rates or [2**i for i in range(8)])
        self.pad = (kernel_size - 1) * sum(rates) // 2
        self.blocks = _stack(width, kernel_size, rates, masked=False)
        self.tail = norm_conv(width, width, kernel_size, rates[-1])
        self.filter = norm_conv(width, width, kernel_size, padding=kernel_size // 2)
        self.gate = norm_conv(width, width, kernel_size, padding=kernel_size // 2)
        self.out = norm_conv(width, 1, 1)

    def forward(self, noise: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
        # noise, previous: (B, 1, L) -> (B, 1, L)
        x = F.pad(noise + previous, (self.pad, self.pad))
        for block in self.blocks:
            x, _ = block(x)
        x = self.tail(x)
        x = torch.tanh(self.filter(x)) * torch.sigmoid(self.gate(x))
        return pre_emphasis(self.out(x)) + previous


class WaveDiscriminator(nn.Module):
    """The discriminator of one scale: a score per position whose receptive field lies inside the signal.

    Args:
        width: conv channels.
        kernel_size: conv kernel (9).
        rates: the dilation of each conv layer.
    """

    def __init__(self, width: int = 16, kernel_size: int = 9, rates: list[int] | None = None) -> None:
        super().__init__()
        rates = list(rates or [2**i for i in range(8)])
        self.kernel_size, self.tail_dilation = kernel_size, rates[-1]
        self.blocks = _stack(width, kernel_size, rates, masked=True)
        self.tail = norm_conv(width, 1, kernel_size, rates[-1])

    def forward(self, x: torch.Tensor, valid: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Scores (B, 1, L - receptive field + 1) and their validity (same shape) or None.

        Args:
            x: (B, 1, L) signals.
            valid: (B, 1, L) in {0, 1}, 1 on known samples; None treats every sample as known.
        """
        for block in self.blocks:
            x, valid = block(x, valid)
        scores = pre_emphasis(self.tail(x))
        if valid is not None:
            valid = erode_valid(valid, self.kernel_size, self.tail_dilation)
            valid = torch.cat((valid[..., :1], valid[..., 1:] * valid[..., :-1]), dim=-1)  # pre-emphasis reads t-1
            scores = scores * valid
        return scores, valid


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Draw module initialisations from `seed` without touching the global random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _init_norms(module: nn.Module) -> None:
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, (nn.BatchNorm1d, MaskedBatchNorm)):
                sub.weight.normal_(1.0, 0.02)
                sub.bias.zero_()


def build_generator(config: WaveformConfig, index: int, seed: int | None = None) -> WaveGenerator:
    """The generator of scale `index` (seeded from the config's seed and the index)."""
    seed = config.seed * 1_000_003 + 17 * (index + 1) if seed is None else seed
    with seeded(seed):
        generator = WaveGenerator(scale_channels(config, index), config.kernel_size, dilations(config))
        _init_norms(generator)
    return generator


def build_discriminator(config: WaveformConfig, index: int, seed: int | None = None) -> WaveDiscriminator:
    """The discriminator of scale `index`."""
    seed = config.seed * 1_000_003 + 17 * (index + 1) + 5 if seed is None else seed
    with seeded(seed):
        discriminator = WaveDiscriminator(scale_channels(config, index), config.kernel_size, dilations(config))
        _init_norms(discriminator)
    return discriminator


def parameter_count(module: nn.Module) -> int:
    """Trainable parameters of a module."""
    return sum(p.numel() for p in module.parameters())


GeneratorFactory = Callable[[int], WaveGenerator]
