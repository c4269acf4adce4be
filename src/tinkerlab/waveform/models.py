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
keep PyTorch's default (drawn under a seed by `seeded`) and BatchNorm weights N(1, 0.02).

Speed: the convolutions run through `dilated_conv`, the same convolution with an input gradient computed as a
forward conv (oneDNN's backward-data pass is several times slower than its forward at these shapes on the CPU),
and the gated unit's two convs run as one; `plain_convolutions()` switches back to PyTorch's own backward (the
tests check both give the same gradients). No I/O here.
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


_FAST = [True]


@contextmanager
def plain_convolutions() -> Iterator[None]:
    """Run the networks' convolutions through PyTorch's own backward (the reference for `dilated_conv`)."""
    _FAST[0] = False
    try:
        yield
    finally:
        _FAST[0] = True


class _DilatedConv(torch.autograd.Function):
    """An unpadded dilated conv1d whose input gradient is itself a forward conv1d (with the kernel flipped and its
    in/out channels swapped, over the zero-padded output gradient). The same convolution as F.conv1d, but on the
    CPU oneDNN's forward is several times faster than its backward-data pass at these shapes (16 channels, 10^4
    samples, dilations up to 128); the input gradient is again a `_DilatedConv`, so the gradient penalty's double
    backward uses it too. The weight gradient is PyTorch's."""

    @staticmethod
    def forward(ctx, x, weight, bias, dilation):
        ctx.save_for_backward(x, weight)
        ctx.dilation, ctx.has_bias = dilation, bias is not None
        return F.conv1d(x, weight, bias, dilation=dilation)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        dilation = ctx.dilation
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            reach = dilation * (weight.shape[-1] - 1)
            grad_x = dilated_conv(F.pad(grad, (reach, reach)), weight.flip(-1).transpose(0, 1), None, dilation)
        if ctx.needs_input_grad[1]:
            grad_w = torch.ops.aten.convolution_backward(
                grad, x, weight, None, [1], [0], [dilation], False, [0], 1, [False, True, False]
            )[1]
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_b = grad.sum(dim=(0, 2))
        return grad_x, grad_w, grad_b, None


def dilated_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, dilation: int = 1):
    """F.conv1d(x, weight, bias, dilation=dilation) without padding, with the faster backward of `_DilatedConv`
    (F.conv1d itself inside `plain_convolutions()`).

    Example:
        >>> x, w = torch.randn(1, 2, 30, requires_grad=True), torch.randn(3, 2, 9)
        >>> bool(torch.allclose(dilated_conv(x, w, dilation=2), F.conv1d(x, w, dilation=2)))
        True
    """
    if not _FAST[0]:
        return F.conv1d(x, weight, bias, dilation=dilation)
    return _DilatedConv.apply(x, weight, bias, dilation)


def apply_conv(conv: nn.Conv1d, x: torch.Tensor) -> torch.Tensor:
    """A (weight-normalised) Conv1d of these networks applied through `dilated_conv`."""
    if conv.padding[0]:
        x = F.pad(x, (conv.padding[0],) * 2)
    return dilated_conv(x, conv.weight, conv.bias, conv.dilation[0])


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
        x = apply_conv(self.conv, x)
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
        x = apply_conv(self.tail, x)
        # the two convs of the gated unit run as one conv of 2 x width outputs (weight norm is per output channel)
        weight = torch.cat((self.filter.weight, self.gate.weight))
        both = dilated_conv(
            F.pad(x, (self.filter.padding[0],) * 2), weight, torch.cat((self.filter.bias, self.gate.bias))
        )
        f, g = both.chunk(2, dim=1)
        x = torch.tanh(f) * torch.sigmoid(g)
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
        scores = pre_emphasis(apply_conv(self.tail, x))
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
