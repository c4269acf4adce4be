"""The ASAPNet generator (Rott Shaham, Gharbi, Zhang, Shechtman and Michaeli, "Spatially-Adaptive Pixelwise
Networks for Fast Image Translation", CVPR 2021).

Two streams:

- the **low-resolution stream** sees the label map resized to a fixed grid times `learned_downsample` and, with a
  few stride-2 convolutions and `lr_depth` 3x3 blocks at the grid resolution, predicts for every grid cell the
  weights and biases of one small MLP (`num_mlp_params` channels);
- the **full-resolution stream** runs, for every pixel, the MLP of its tile on the one-hot label and sinusoidal
  coordinates (periods tile, tile/2, ...), with LeakyReLU hidden layers and a tanh output.

The straightforward path (`ASAPNetGenerator.forward`, also the training path): the MLP inputs are built directly in
the tiled layout (an unfold with stride = kernel of the one-hot labels, and the coordinates of one tile, which are
the same in every tile because every period divides the tile), then each layer is one batched matrix product with
its bias over all tiles (`baddbmm`, the per-tile weights read in place) and an in-place activation. The
coordinates are built for each call from the input's tile size, so any size that is a multiple of the grid works.
`tinkerlab.asapnet.fast` holds the optimised inference path.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from tinkerlab.asapnet.config import ASAPNetConfig
from tinkerlab.core.errors import InputError


def mlp_layer_sizes(config: ASAPNetConfig) -> list[tuple[int, int]]:
    """(inputs, outputs) of each layer of the per-pixel MLP.

    Example:
        >>> mlp_layer_sizes(ASAPNetConfig(num_labels=13, frequencies=5))
        [(33, 64), (64, 64), (64, 64), (64, 64), (64, 3)]
    """
    widths = [config.num_labels + 4 * config.frequencies] + [config.hr_width] * (config.hr_depth - 1) + [3]
    return list(zip(widths[:-1], widths[1:], strict=False))


def num_mlp_params(config: ASAPNetConfig) -> int:
    """Weights plus biases of one per-pixel MLP: sum of n_in * n_out + n_out.

    Example:
        >>> num_mlp_params(ASAPNetConfig(num_labels=13, frequencies=5))
        14851
    """
    return sum(n_in * n_out + n_out for n_in, n_out in mlp_layer_sizes(config))


def mlp_param_scale(config: ASAPNetConfig) -> torch.Tensor:
    """(P,) factor applied to the predicted parameters: 1 / sqrt(n_in) on each layer's weights, 1 on biases.

    It keeps the per-pixel MLPs' activations of order one whatever their widths (a fan-in scaling, as equalised
    learning rates do), which the training here needs to stay stable with a spatially varying grid.
    """
    parts = []
    for n_in, n_out in mlp_layer_sizes(config):
        parts += [torch.full((n_in * n_out,), 1 / math.sqrt(n_in)), torch.ones(n_out)]
    return torch.cat(parts)


def base_mlp_init(config: ASAPNetConfig, generator: torch.Generator | None = None) -> torch.Tensor:
    """(P,) a He-initialised MLP in the units of the head's outputs (before `mlp_param_scale`), used as the head's
    bias: N(0, 2 / (1 + 0.01**2)) on the hidden layers' weights (LeakyReLU 0.01), N(0, 1) on the output layer's,
    zero biases. After the 1 / sqrt(n_in) scale every tile starts from the same working MLP.

    Example:
        >>> base_mlp_init(ASAPNetConfig(num_labels=13, frequencies=5)).shape
        torch.Size([14851])
    """
    sizes = mlp_layer_sizes(config)
    parts = []
    for index, (n_in, n_out) in enumerate(sizes):
        gain = 1.0 if index == len(sizes) - 1 else math.sqrt(2 / (1 + 0.01**2))
        parts += [torch.randn(n_in * n_out, generator=generator) * gain, torch.zeros(n_out)]
    return torch.cat(parts)


def tile_size(config: ASAPNetConfig, height: int, width: int) -> int:
    """The tile side for an input of `height` x `width`: height // grid.

    Raises:
        InputError: the height is not a multiple of the grid, or the width not a multiple of the tile.
    """
    if height % config.grid or height < config.grid:
        raise InputError(
            f"expected a label map whose height is a multiple of the {config.grid}-cell grid, got {height}x{width}; "
            f"crop or pad it to a multiple of {config.grid}"
        )
    tile = height // config.grid
    if width % tile:
        raise InputError(
            f"expected a width that is a multiple of the {tile}-px tile (height {height} / grid {config.grid}), "
            f"got {height}x{width}; crop or pad the width to a multiple of {tile}"
        )
    return tile


def sinusoidal_coordinates(
    height: int, width: int, tile: int, frequencies: int, *, device=None, dtype=torch.float32
) -> torch.Tensor:
    """cos/sin of x and y at periods tile, tile/2, ... (`frequencies` of them), as (4 * frequencies, H, W).

    Channel order per frequency k (period tile / 2**k): cos x, sin x, cos y, sin y.

    Example:
        >>> sinusoidal_coordinates(4, 8, 4, 2).shape
        torch.Size([8, 4, 8])
    """
    if frequencies == 0:
        return torch.zeros(0, height, width, device=device, dtype=dtype)
    # the 1-D profiles in float64 (exact phases at any size), then broadcast into the (4F, H, W) result
    xs = torch.arange(width, device=device, dtype=torch.float64)
    ys = torch.arange(height, device=device, dtype=torch.float64)
    out = torch.empty(4 * frequencies, height, width, device=device, dtype=dtype)
    for k in range(frequencies):
        omega = 2 * math.pi * (2**k) / tile
        out[4 * k] = torch.cos(omega * xs).to(dtype)
        out[4 * k + 1] = torch.sin(omega * xs).to(dtype)
        out[4 * k + 2] = torch.cos(omega * ys).to(dtype)[:, None]
        out[4 * k + 3] = torch.sin(omega * ys).to(dtype)[:, None]
    return out


def tile_coordinates(tile: int, frequencies: int, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """The sinusoidal coordinates of one tile's pixels as rows, (tile * tile, 4 * frequencies), row-major.

    Every period divides the tile (periods tile, tile/2, ...: a whole number of cycles per tile), so these rows are
    the coordinates of the pixels of every tile of an image: `sinusoidal_coordinates` cut into tiles.

    Example:
        >>> tile_coordinates(4, 2).shape
        torch.Size([16, 8])
    """
    return sinusoidal_coordinates(tile, tile, tile, frequencies, device=device, dtype=dtype).flatten(1).T


def one_hot_labels(labels: torch.Tensor, num_labels: int) -> torch.Tensor:
    """(B, H, W) integer labels as (B, num_labels, H, W) float one-hot (contiguous, channels first).

    Raises:
        InputError: a label outside 0 .. num_labels - 1.
    """
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise InputError(f"expected integer labels, got a {labels.dtype} tensor")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= num_labels):
        raise InputError(
            f"expected labels in 0..{num_labels - 1} (the model has {num_labels} classes), got values "
            f"{int(labels.min())}..{int(labels.max())}; use a model trained with more classes or remap the labels"
        )
    b, h, w = labels.shape
    out = torch.zeros(b, num_labels, h, w, device=labels.device)
    return out.scatter_(1, labels.long().unsqueeze(1), 1.0)


def _conv_block(c_in: int, c_out: int, stride: int, padding: str) -> nn.Sequential:
    mode = "reflect" if padding == "reflect" else "zeros"
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, padding_mode=mode),
        nn.InstanceNorm2d(c_out, affine=True),
        nn.ReLU(inplace=True),
    )


class LowResStream(nn.Module):
    """Label map at grid * learned_downsample -> (B, num_mlp_params, grid_h, grid_w) MLP parameters."""

    def __init__(self, config: ASAPNetConfig) -> None:
        super().__init__()
        self.config = config
        strided = int(math.log2(config.learned_downsample))
        layers = [_conv_block(config.num_labels, config.lr_width, 1, config.padding)]
        width = config.lr_width
        for index in range(strided):
            out = config.lr_max_width if index == strided - 1 else min(config.lr_max_width, config.lr_width)
            layers.append(_conv_block(width, out, 2, config.padding))
            width = out
        if strided == 0 and width != config.lr_max_width:
            layers.append(_conv_block(width, config.lr_max_width, 1, config.padding))
            width = config.lr_max_width
        for _ in range(config.lr_depth):
            layers.append(_conv_block(width, width, 1, config.padding))
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(width, num_mlp_params(config), 1)
        with torch.no_grad():
            # the head's bias is a working MLP shared by all tiles; its weights start at zero, so every tile starts
            # from that MLP and the per-tile variation around it is learned (a default-initialised head adds a
            # random per-tile perturbation of about 40 % of the MLP's weights, which Adam at 1e-4 cannot undo in a
            # few hundred steps: the output stayed a patchwork of per-tile colours)
            self.head.weight.zero_()
            self.head.bias.copy_(base_mlp_init(config))
        self.register_buffer("param_scale", mlp_param_scale(config).view(1, -1, 1, 1), persistent=False)

    def forward(self, one_hot: torch.Tensor, grid_hw: tuple[int, int]) -> torch.Tensor:
        return self.predict(self.body(self.resize(one_hot, grid_hw)), grid_hw)

    def resize(self, one_hot: torch.Tensor, grid_hw: tuple[int, int]) -> torch.Tensor:
        """(B, L, H, W) -> resized to grid * learned_downsample (antialiased bilinear; identity when equal)."""
        size = (grid_hw[0] * self.config.learned_downsample, grid_hw[1] * self.config.learned_downsample)
        if tuple(one_hot.shape[2:]) == size:
            return one_hot
        return F.interpolate(one_hot, size=size, mode="bilinear", align_corners=False, antialias=True)

    def predict(self, features: torch.Tensor, grid_hw: tuple[int, int]) -> torch.Tensor:
        """The body's (B, width, gh, gw) features -> (B, P, gh, gw) MLP parameters (one set for the whole image,
        broadcast, when not spatially varying)."""
        params = self.head(features) * self.param_scale
        if not self.config.spatially_varying:
            params = params.mean(dim=(2, 3), keepdim=True).expand(-1, -1, *grid_hw)
        return params


def split_params(params: torch.Tensor, config: ASAPNetConfig) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(N, P) flat MLP parameters -> per layer (weight (N, n_in, n_out), bias (N, 1, n_out))."""
    layers, offset = [], 0
    for n_in, n_out in mlp_layer_sizes(config):
        weight = params[:, offset : offset + n_in * n_out].reshape(-1, n_in, n_out)
        offset += n_in * n_out
        bias = params[:, offset : offset + n_out].reshape(-1, 1, n_out)
        offset += n_out
        layers.append((weight, bias))
    return layers


def to_tiles(x: torch.Tensor, tile: int) -> torch.Tensor:
    """(B, C, H, W) -> (B * gh * gw, tile * tile, C): the pixels of each tile as rows (an unfold, stride = tile)."""
    b, c, h, w = x.shape
    x = x.reshape(b, c, h // tile, tile, w // tile, tile).permute(0, 2, 4, 3, 5, 1)
    return x.reshape(b * (h // tile) * (w // tile), tile * tile, c)


def from_tiles(x: torch.Tensor, batch: int, height: int, width: int, tile: int) -> torch.Tensor:
    """Inverse of `to_tiles`: (B * gh * gw, tile * tile, C) -> (B, C, H, W)."""
    c = x.shape[-1]
    x = x.reshape(batch, height // tile, width // tile, tile, tile, c).permute(0, 5, 1, 3, 2, 4)
    return x.reshape(batch, c, height, width)


def tile_label_indices(labels: torch.Tensor, tile: int) -> torch.Tensor:
    """(B, H, W) labels -> (B * gh * gw, tile * tile): the label of each pixel of each tile (`to_tiles` of the
    label map)."""
    b, h, w = labels.shape
    x = labels.reshape(b, h // tile, tile, w // tile, tile).permute(0, 1, 3, 2, 4)
    return x.reshape(b * (h // tile) * (w // tile), tile * tile)


def tile_features(labels: torch.Tensor, num_labels: int, coords: torch.Tensor, tile: int) -> torch.Tensor:
    """The per-pixel MLP inputs cut into tiles, (N, tile * tile, num_labels + 4F): each pixel's one-hot label, then
    its coordinates. Equal to `to_tiles` of the full-resolution one-hot labels and coordinates, built directly in
    the tiled layout; the coordinates (`tile_coordinates`, the same rows in every tile) are computed once.

    Args:
        labels: (B, H, W) integer labels, already checked.
        coords: (tile * tile, 4F) from `tile_coordinates`.
    """
    index = tile_label_indices(labels.long(), tile)  # (N, T*T)
    rows = torch.empty(*index.shape, num_labels + coords.shape[1], device=labels.device, dtype=coords.dtype)
    rows[..., :num_labels].zero_().scatter_(2, index.unsqueeze(2), 1.0)
    rows[..., num_labels:] = coords
    return rows


def tile_mlps(rows: torch.Tensor, params: torch.Tensor, config: ASAPNetConfig) -> torch.Tensor:
    """Run one MLP per tile on its rows: (N, T*T, C_in) inputs, (N, P) flat parameters -> (N, T*T, 3) in [-1, 1].

    One batched matrix product with the bias per layer (`baddbmm`: the per-tile weights are read in place, never
    repeated per pixel), the activations applied in place.
    """
    layers = split_params(params, config)
    for index, (weight, bias) in enumerate(layers):
        rows = torch.baddbmm(bias, rows, weight)
        if index < len(layers) - 1:
            F.leaky_relu_(rows, 0.01)
    return rows.tanh_()


def flat_params(params: torch.Tensor) -> torch.Tensor:
    """(B, P, gh, gw) parameter grid -> (B * gh * gw, P): one row per tile, in the order of `to_tiles`."""
    return params.permute(0, 2, 3, 1).reshape(-1, params.shape[1])


def run_tile_mlps(features: torch.Tensor, params: torch.Tensor, config: ASAPNetConfig, tile: int) -> torch.Tensor:
    """The full-resolution stream: per-pixel MLPs whose parameters are constant within each tile.

    Args:
        features: (B, C_in, H, W) one-hot labels and coordinates.
        params: (B, P, H // tile, W // tile) MLP parameters per tile.

    Returns:
        (B, 3, H, W) in [-1, 1].
    """
    b, _, h, w = features.shape
    return from_tiles(tile_mlps(to_tiles(features, tile), flat_params(params), config), b, h, w, tile)


class ASAPNetGenerator(nn.Module):
    """ASAPNet: (B, H, W) integer labels -> (B, 3, H, W) image in [-1, 1].

    Example:
        >>> config = ASAPNetConfig(num_labels=3, lr_width=4, lr_max_width=8, lr_depth=1, learned_downsample=2,
        ...                        hr_width=8, hr_depth=2, frequencies=1, grid=4)
        >>> ASAPNetGenerator(config)(torch.zeros(1, 16, 16, dtype=torch.long)).shape
        torch.Size([1, 3, 16, 16])
    """

    def __init__(self, config: ASAPNetConfig) -> None:
        super().__init__()
        self.config = config
        self.lr_stream = LowResStream(config)

    def predict_params(self, one_hot: torch.Tensor) -> tuple[torch.Tensor, int]:
        """(B, L, H, W) one-hot -> ((B, P, gh, gw) MLP parameters, tile size)."""
        h, w = one_hot.shape[2:]
        tile = tile_size(self.config, h, w)
        return self.lr_stream(one_hot, (h // tile, w // tile)), tile

    def hr_features(self, one_hot: torch.Tensor, tile: int) -> torch.Tensor:
        """The per-pixel MLP inputs: one-hot labels and sinusoidal coordinates, (B, L + 4F, H, W)."""
        b, _, h, w = one_hot.shape
        coords = sinusoidal_coordinates(h, w, tile, self.config.frequencies, device=one_hot.device, dtype=one_hot.dtype)
        return torch.cat([one_hot, coords.expand(b, -1, -1, -1)], dim=1)

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        dtype = self.lr_stream.head.weight.dtype
        one_hot = one_hot_labels(labels, self.config.num_labels).to(dtype)
        params, tile = self.predict_params(one_hot)
        coords = tile_coordinates(tile, self.config.frequencies, device=labels.device, dtype=dtype)
        rows = tile_features(labels, self.config.num_labels, coords, tile)  # = to_tiles(hr_features(...))
        b, h, w = labels.shape
        return from_tiles(tile_mlps(rows, flat_params(params), self.config), b, h, w, tile)
