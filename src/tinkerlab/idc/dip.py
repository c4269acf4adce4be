"""Deep-Image-Prior pre-fill of a hole (Ulyanov, Vedaldi and Lempitsky, CVPR 2018), as IDC uses it (Alkobi,
Rott Shaham and Michaeli, arXiv 2212.10280) to fill the hole of the coarse scales before masking starts.

A small encoder-decoder with skip connections maps a fixed noise image to the picture. It is fitted to the
visible pixels only (MSE), plus a colour term that pulls every hole pixel toward its nearest visible RGB colour;
the network's bias toward smooth, self-similar images fills the hole. Hole pixels of the input are never read.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tinkerlab.core.progress import track
from tinkerlab.idc.config import DIPConfig


class _Down(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride=2, padding=1, padding_mode="reflect"),
            nn.BatchNorm2d(cout),
            nn.LeakyReLU(0.2),
            nn.Conv2d(cout, cout, 3, padding=1, padding_mode="reflect"),
            nn.BatchNorm2d(cout),
            nn.LeakyReLU(0.2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class _Up(nn.Module):
    def __init__(self, cin: int, skip: int, cout: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(cin + skip),
            nn.Conv2d(cin + skip, cout, 3, padding=1, padding_mode="reflect"),
            nn.BatchNorm2d(cout),
            nn.LeakyReLU(0.2),
            nn.Conv2d(cout, cout, 1),
            nn.BatchNorm2d(cout),
            nn.LeakyReLU(0.2),
        )

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[2:], mode="bilinear", align_corners=False)
        return self.body(torch.cat([x, skip], dim=1))


class SkipNetwork(nn.Module):
    """The DIP encoder-decoder: `depth` levels of `width` channels, 4-channel skip connections, sigmoid output."""

    def __init__(self, in_channels: int = 32, width: int = 64, depth: int = 4, out_channels: int = 3) -> None:
        super().__init__()
        self.downs = nn.ModuleList([_Down(in_channels if i == 0 else width, width) for i in range(depth)])
        self.skips = nn.ModuleList(
            [
                nn.Sequential(nn.Conv2d(in_channels if i == 0 else width, 4, 1), nn.BatchNorm2d(4), nn.LeakyReLU(0.2))
                for i in range(depth)
            ]
        )
        self.ups = nn.ModuleList([_Up(width, 4, width) for _ in range(depth)])
        self.head = nn.Conv2d(width, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (1, in_channels, H, W) -> (1, out_channels, H, W) in (0, 1)
        skips = []
        for down, skip in zip(self.downs, self.skips, strict=False):
            skips.append(skip(x))
            x = down(x)
        for up, skip in zip(reversed(self.ups), reversed(skips), strict=False):
            x = up(x, skip)
        return torch.sigmoid(self.head(x))


def nearest_colour_loss(colours: torch.Tensor, palette: torch.Tensor) -> torch.Tensor:
    """Mean squared distance of each colour (N, 3) to its nearest colour in `palette` (K, 3)."""
    if colours.shape[0] == 0:
        return colours.sum()
    return torch.cdist(colours, palette).min(dim=1).values.pow(2).mean()


def dip_fill(
    image: np.ndarray,
    hole: np.ndarray,
    config: DIPConfig | None = None,
    *,
    seed: int = 0,
    progress: bool = True,
    device: str = "cpu",
) -> np.ndarray:
    """Fill the hole of `image` with a Deep Image Prior fitted to the visible pixels.

    Args:
        image: HxWx3 float in [0, 1]; its hole pixels are never read.
        hole: HxW bool or {0, 1}, True in the hole.
        config: the network and optimisation settings.
        seed: seeds the network's initialisation, its input and the colour palette.
        progress: show a progress bar.
        device: where the network runs ("cpu", "cuda", ...). The random draws are made on the CPU, so the
            network starts from the same weights and input on every device.

    Returns:
        HxWx3 float32: the visible pixels unchanged, the hole filled by the network.
    """
    config = config or DIPConfig()
    hole_b = np.asarray(hole).astype(bool)
    known = np.where(hole_b[:, :, None], 0.0, np.asarray(image, dtype=np.float32)).astype(np.float32)
    target = torch.from_numpy(known.transpose(2, 0, 1).copy())[None]  # (1, 3, H, W)
    visible = torch.from_numpy((~hole_b).astype(np.float32))[None, None]  # (1, 1, H, W)
    rng = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        network = SkipNetwork(32, config.width, config.depth, 3)
    net_input = torch.rand((1, 32, *known.shape[:2]), generator=rng) * 0.1
    visible_colours = target[0].permute(1, 2, 0)[~torch.from_numpy(hole_b)]  # (V, 3)
    pick = torch.randperm(visible_colours.shape[0], generator=rng)[:1024]
    palette = visible_colours[pick]
    hole_t = torch.from_numpy(hole_b)
    network = network.to(device)
    target, visible, net_input = target.to(device), visible.to(device), net_input.to(device)
    palette, hole_t = palette.to(device), hole_t.to(device)
    optimiser = torch.optim.Adam(network.parameters(), lr=config.lr)
    steps = range(config.iterations)
    for _ in track(steps, "DIP pre-fill", total=config.iterations) if progress else steps:
        optimiser.zero_grad(set_to_none=True)
        noisy = net_input + config.input_noise_std * torch.randn(net_input.shape, generator=rng).to(device)
        out = network(noisy)
        fit = (((out - target) * visible) ** 2).sum() / (3.0 * visible.sum())
        colours = out[0].permute(1, 2, 0)[hole_t]  # (N_hole, 3)
        loss = fit + config.colour_weight * nearest_colour_loss(colours, palette)
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        out = network(net_input)[0].permute(1, 2, 0).cpu().numpy()
    return np.where(hole_b[:, :, None], out, known).astype(np.float32)
