"""The two baseline generators ASAPNet is timed and compared against, written for this project at their published
widths: pix2pixHD's global generator (Wang et al., "High-Resolution Image Synthesis and Semantic Manipulation with
Conditional GANs", CVPR 2018) and the SPADE generator (Park et al., "Semantic Image Synthesis with
Spatially-Adaptive Normalization", CVPR 2019).

Both take (B, H, W) integer labels and return (B, 3, H, W) images in [-1, 1], like `ASAPNetGenerator`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from tinkerlab.asapnet.config import Pix2PixHDConfig, SPADEConfig
from tinkerlab.asapnet.generator import one_hot_labels
from tinkerlab.core.errors import InputError


class ResnetBlock(nn.Module):
    """pix2pixHD's residual block: reflect-pad, 3x3 conv, instance norm, ReLU, reflect-pad, 3x3 conv, norm; + x."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(width, width, 3),
            nn.InstanceNorm2d(width),
            nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(width, width, 3),
            nn.InstanceNorm2d(width),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Pix2PixHDGenerator(nn.Module):
    """pix2pixHD's global generator: 7x7 stem, stride-2 downsamplings doubling the width, residual blocks,
    transposed-convolution upsamplings, 7x7 output convolution and tanh (instance norm throughout).

    Example:
        >>> Pix2PixHDGenerator(Pix2PixHDConfig(num_labels=3, ngf=4, downsamplings=2, blocks=1))(
        ...     torch.zeros(1, 16, 16, dtype=torch.long)).shape
        torch.Size([1, 3, 16, 16])
    """

    def __init__(self, config: Pix2PixHDConfig) -> None:
        super().__init__()
        self.config = config
        ngf = config.ngf
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(config.num_labels, ngf, 7),
            nn.InstanceNorm2d(ngf),
            nn.ReLU(inplace=True),
        ]
        for i in range(config.downsamplings):
            c = ngf * 2**i
            layers += [nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.InstanceNorm2d(2 * c), nn.ReLU(inplace=True)]
        width = ngf * 2**config.downsamplings
        layers += [ResnetBlock(width) for _ in range(config.blocks)]
        for i in range(config.downsamplings):
            c = ngf * 2 ** (config.downsamplings - i)
            layers += [
                nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1),
                nn.InstanceNorm2d(c // 2),
                nn.ReLU(inplace=True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        h, w = labels.shape[-2:]
        step = 2**self.config.downsamplings
        if h % step or w % step:
            raise InputError(f"expected a label map whose sides are multiples of {step}, got {h}x{w}")
        return self.model(one_hot_labels(labels, self.config.num_labels))


class SPADE(nn.Module):
    """Spatially-adaptive normalisation: parameter-free batch norm, then a scale and shift predicted per pixel from
    the label map (resized to x by nearest neighbour) by a small 3x3 convolutional network."""

    def __init__(self, channels: int, num_labels: int, hidden: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.shared = nn.Sequential(nn.Conv2d(num_labels, hidden, 3, padding=1), nn.ReLU(inplace=True))
        self.gamma = nn.Conv2d(hidden, channels, 3, padding=1)
        self.beta = nn.Conv2d(hidden, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        segmap = F.interpolate(segmap, size=x.shape[2:], mode="nearest")
        actv = self.shared(segmap)
        return self.norm(x) * (1 + self.gamma(actv)) + self.beta(actv)


class SPADEResBlock(nn.Module):
    """SPADE residual block: (SPADE, LeakyReLU 0.2, 3x3 conv) twice, with a learned 1x1 shortcut when the width
    changes; convolutions under spectral norm."""

    def __init__(self, fin: int, fout: int, num_labels: int, hidden: int) -> None:
        super().__init__()
        middle = min(fin, fout)
        self.conv_0 = spectral_norm(nn.Conv2d(fin, middle, 3, padding=1))
        self.conv_1 = spectral_norm(nn.Conv2d(middle, fout, 3, padding=1))
        self.norm_0 = SPADE(fin, num_labels, hidden)
        self.norm_1 = SPADE(middle, num_labels, hidden)
        self.learned_shortcut = fin != fout
        if self.learned_shortcut:
            self.conv_s = spectral_norm(nn.Conv2d(fin, fout, 1, bias=False))
            self.norm_s = SPADE(fin, num_labels, hidden)

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        shortcut = self.conv_s(self.norm_s(x, segmap)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, segmap), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, segmap), 0.2))
        return shortcut + dx


class SPADEGenerator(nn.Module):
    """The SPADE generator (no encoder): a 3x3 convolution of the label map resized to 1/2**upsamplings of the
    output, then SPADE residual blocks at 16 ngf (head and two middle), and upsampling blocks halving the width
    down to ngf; a 3x3 output convolution and tanh.

    Example:
        >>> SPADEGenerator(SPADEConfig(num_labels=3, ngf=2, spade_hidden=4))(
        ...     torch.zeros(1, 64, 64, dtype=torch.long)).shape
        torch.Size([1, 3, 64, 64])
    """

    def __init__(self, config: SPADEConfig) -> None:
        super().__init__()
        self.config = config
        nf, labels, hidden = config.ngf, config.num_labels, config.spade_hidden
        self.fc = nn.Conv2d(labels, 16 * nf, 3, padding=1)
        self.head_0 = SPADEResBlock(16 * nf, 16 * nf, labels, hidden)
        self.middle_0 = SPADEResBlock(16 * nf, 16 * nf, labels, hidden)
        self.middle_1 = SPADEResBlock(16 * nf, 16 * nf, labels, hidden)
        widths = [16 * nf // 2**i for i in range(config.upsamplings - 1)] + [nf]
        widths = [max(nf, w) for w in widths]
        self.ups = nn.ModuleList(
            SPADEResBlock(widths[i], widths[i + 1], labels, hidden) for i in range(config.upsamplings - 1)
        )
        self.conv_img = nn.Conv2d(nf, 3, 3, padding=1)

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        segmap = one_hot_labels(labels, self.config.num_labels)
        h, w = segmap.shape[2:]
        step = 2**self.config.upsamplings
        if h % step or w % step:
            raise InputError(f"expected a label map whose sides are multiples of {step}, got {h}x{w}")
        x = self.fc(F.interpolate(segmap, size=(h // step, w // step), mode="nearest"))
        x = self.head_0(x, segmap)
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = self.middle_1(self.middle_0(x, segmap), segmap)
        for block in self.ups:
            x = block(F.interpolate(x, scale_factor=2, mode="nearest"), segmap)
        return torch.tanh(self.conv_img(F.leaky_relu(x, 2e-1)))


def build_generator(config) -> nn.Module:
    """The generator for an `ASAPNetConfig`, `Pix2PixHDConfig` or `SPADEConfig`."""
    from tinkerlab.asapnet.config import ASAPNetConfig
    from tinkerlab.asapnet.generator import ASAPNetGenerator

    if isinstance(config, ASAPNetConfig):
        return ASAPNetGenerator(config)
    if isinstance(config, Pix2PixHDConfig):
        return Pix2PixHDGenerator(config)
    if isinstance(config, SPADEConfig):
        return SPADEGenerator(config)
    raise TypeError(f"expected an ASAPNetConfig, Pix2PixHDConfig or SPADEConfig, got {type(config).__name__}")
