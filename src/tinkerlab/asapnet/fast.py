"""An optimised inference path for the ASAPNet generator, equal to the straightforward one within float error.

What changes, each exact for one-hot inputs:

- the first MLP layer's label part is a row lookup: for a pixel of class c, one-hot @ W_label is row c of
  W_label, so the weights are gathered by label index and the full-resolution one-hot input is never multiplied;
- the first layer's coordinate part is the same small matrix for every tile (the coordinates are periodic with the
  tile), so it is one matrix product of the tile's coordinates with all tiles' coordinate weights;
- the MLP activations are updated in place and the hidden layers run as batched matrix products;
- the low-resolution stream runs in channels-last memory layout (`channels_last=True`), which oneDNN convolutions
  prefer on many CPUs (the benchmark reports whether it helps here).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tinkerlab.asapnet.generator import (
    ASAPNetGenerator,
    from_tiles,
    one_hot_labels,
    sinusoidal_coordinates,
    split_params,
    tile_size,
)


def tile_label_indices(labels: torch.Tensor, tile: int) -> torch.Tensor:
    """(B, H, W) labels -> (B * gh * gw, tile * tile) label of each pixel of each tile."""
    b, h, w = labels.shape
    x = labels.reshape(b, h // tile, tile, w // tile, tile).permute(0, 1, 3, 2, 4)
    return x.reshape(b * (h // tile) * (w // tile), tile * tile)


@torch.no_grad()
def fast_forward(generator: ASAPNetGenerator, labels: torch.Tensor, *, channels_last: bool = True) -> torch.Tensor:
    """The generator's output for (B, H, W) integer labels, computed by the optimised path (no autograd).

    Returns:
        (B, 3, H, W) in [-1, 1], equal to `generator(labels)` within 1e-4.
    """
    config = generator.config
    b, h, w = labels.shape
    tile = tile_size(config, h, w)
    dtype = generator.lr_stream.head.weight.dtype
    one_hot = one_hot_labels(labels, config.num_labels).to(dtype)
    if channels_last:
        one_hot = one_hot.contiguous(memory_format=torch.channels_last)
    params = generator.lr_stream(one_hot, (h // tile, w // tile))  # (B, P, gh, gw)
    flat = params.permute(0, 2, 3, 1).reshape(-1, params.shape[1]).contiguous()  # (N, P)
    layers = split_params(flat, config)
    weight, bias = layers[0]  # (N, L + Cc, width), (N, 1, width)
    n, _, width = weight.shape
    index = tile_label_indices(labels.long(), tile)  # (N, T*T)
    label_weight = weight[:, : config.num_labels, :]
    rows = torch.gather(label_weight, 1, index[:, :, None].expand(-1, -1, width))  # (N, T*T, width)
    rows += bias
    if config.frequencies:
        coords = sinusoidal_coordinates(tile, tile, tile, config.frequencies, device=labels.device, dtype=dtype)
        coords = coords.reshape(coords.shape[0], tile * tile).T.contiguous()  # (T*T, Cc)
        coord_weight = weight[:, config.num_labels :, :].permute(1, 0, 2).reshape(coords.shape[1], n * width)
        rows += (coords @ coord_weight).reshape(tile * tile, n, width).transpose(0, 1)
    for layer_index, (weight, bias) in enumerate(layers):
        if layer_index:
            rows = torch.baddbmm(bias, rows, weight)
        if layer_index < len(layers) - 1:
            F.leaky_relu_(rows, 0.01)
        else:
            rows.tanh_()
    return from_tiles(rows, b, h, w, tile)


def prepare_fast(generator: ASAPNetGenerator, *, channels_last: bool = True) -> ASAPNetGenerator:
    """Put the generator in eval mode (and its low-resolution stream in channels-last layout) for `fast_forward`."""
    generator.eval()
    if channels_last:
        generator.lr_stream.to(memory_format=torch.channels_last)
    return generator
