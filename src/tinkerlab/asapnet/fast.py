"""An optimised inference path for the ASAPNet generator, equal to the straightforward one within float error.

What changes, each exact for one-hot inputs:

- the first MLP layer's label part is a row lookup: for a pixel of class c, one-hot @ W_label is row c of
  W_label, so the weights are gathered by label index and the full-resolution one-hot input is never multiplied;
- the first layer's coordinate part is the same small matrix for every tile (the coordinates are periodic with the
  tile), so it is one matrix product of the tile's coordinates with all tiles' coordinate weights;
- the MLPs run over chunks of tiles small enough for their activations to stay in cache, with two preallocated
  buffers that every layer and chunk reuse (no per-layer allocation of full-resolution activations);
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


def tile_chunk(tile: int, width: int, budget_bytes: int = 1 << 20) -> int:
    """Tiles per chunk so that one chunk's hidden activations (chunk * tile**2 * width floats) fit in about
    `budget_bytes` (1 MiB: they then stay in a core's L2 cache between the layers).

    Example:
        >>> tile_chunk(16, 64), tile_chunk(32, 64), tile_chunk(64, 64)
        (16, 4, 1)
    """
    return max(1, budget_bytes // (4 * tile * tile * width))


@torch.no_grad()
def fast_forward(
    generator: ASAPNetGenerator,
    labels: torch.Tensor,
    *,
    channels_last: bool = True,
    chunk: int | None = None,
) -> torch.Tensor:
    """The generator's output for (B, H, W) integer labels, computed by the optimised path (no autograd).

    The per-pixel MLPs run over chunks of tiles (`chunk` tiles at a time, by default as many as keep the hidden
    activations near 1 MiB), with two preallocated activation buffers reused by every layer and chunk.

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
    first_weight, first_bias = layers[0]  # (N, L + Cc, width), (N, 1, width)
    n, _, width = first_weight.shape
    pixels = tile * tile
    # first layer, label part: one-hot @ W is the row of W of the pixel's class (an embedding lookup into the
    # (N * L, width) table of every tile's label rows)
    label_table = first_weight[:, : config.num_labels, :].reshape(n * config.num_labels, width)
    offsets = torch.arange(n, device=labels.device)[:, None] * config.num_labels
    index = tile_label_indices(labels.long(), tile) + offsets  # (N, T*T) rows of label_table
    # first layer, coordinate part: the coordinates repeat in every tile, so (T*T, Cc) @ (Cc, chunk * width)
    coords = None
    if config.frequencies:
        coords = sinusoidal_coordinates(tile, tile, tile, config.frequencies, device=labels.device, dtype=dtype)
        coords = coords.reshape(coords.shape[0], pixels).T.contiguous()  # (T*T, Cc)
    coord_weight = first_weight[:, config.num_labels :, :]  # (N, Cc, width)
    step = chunk or tile_chunk(tile, width)
    out = torch.empty(n, pixels, 3, dtype=dtype, device=labels.device)
    buffers = [torch.empty(step, pixels, width, dtype=dtype, device=labels.device) for _ in range(2)]
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        rows, spare = buffers[0][: hi - lo], buffers[1][: hi - lo]
        torch.index_select(label_table, 0, index[lo:hi].reshape(-1), out=rows.view(-1, width))
        rows += first_bias[lo:hi]
        if coords is not None:
            cw = coord_weight[lo:hi].permute(1, 0, 2).reshape(coords.shape[1], (hi - lo) * width)
            rows += (coords @ cw).view(pixels, hi - lo, width).transpose(0, 1)
        if len(layers) == 1:  # a one-layer MLP: the first layer is the output layer
            out[lo:hi] = rows
            continue
        F.leaky_relu_(rows, 0.01)
        for weight, bias in layers[1:-1]:
            torch.baddbmm(bias[lo:hi], rows, weight[lo:hi], out=spare)
            F.leaky_relu_(spare, 0.01)
            rows, spare = spare, rows
        weight, bias = layers[-1]
        torch.baddbmm(bias[lo:hi], rows, weight[lo:hi], out=out[lo:hi])
    out.tanh_()
    return from_tiles(out, b, h, w, tile)


def prepare_fast(generator: ASAPNetGenerator, *, channels_last: bool = True) -> ASAPNetGenerator:
    """Put the generator in eval mode (and its low-resolution stream in channels-last layout) for `fast_forward`."""
    generator.eval()
    if channels_last:
        generator.lr_stream.to(memory_format=torch.channels_last)
    return generator
