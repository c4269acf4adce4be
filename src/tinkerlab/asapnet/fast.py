"""An optimised inference path for the ASAPNet generator, equal to the straightforward one within float error.

What changes, each exact for one-hot inputs:

- the first MLP layer's label part is a row lookup: for a pixel of class c, one-hot @ W_label is row c of
  W_label, so the weights are gathered by label index and the full-resolution one-hot input is never multiplied;
- the first layer's coordinate part is the same small matrix for every tile (the coordinates are periodic with the
  tile), so it is one matrix product of the tile's coordinates with all tiles' coordinate weights;
- the MLPs run over chunks of tiles small enough for their activations to stay in cache, with two preallocated
  buffers that every layer and chunk reuse (no per-layer allocation of full-resolution activations);
- the low-resolution stream's 3x3 convolutions at the grid's resolution (16 x 16 positions, 1024 channels) run as
  one im2col matrix product each (`conv_as_matmul`), faster there than the direct convolution;
- optionally (`lr_backend="onnxruntime"`) the low-resolution stream runs in ONNX Runtime: exported once per input
  shape and weight state, it was 1.2-1.4x faster than torch's on the 2-core test machine (float32, equal within
  float error); needs `onnxruntime` and `onnx` (the `asapnet` extra installs both);
- optionally (`channels_last=True`) the low-resolution stream runs in channels-last memory layout; on the 2-core
  test machine that was slower, so it is off by default.
"""

from __future__ import annotations

import io
import warnings
import weakref
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tinkerlab.asapnet.generator import (
    ASAPNetGenerator,
    LowResStream,
    flat_params,
    from_tiles,
    one_hot_labels,
    split_params,
    tile_coordinates,
    tile_label_indices,
    tile_size,
)


def tile_chunk(tile: int, width: int, budget_bytes: int = 1 << 20) -> int:
    """Tiles per chunk so that one chunk's hidden activations (chunk * tile**2 * width floats) fit in about
    `budget_bytes` (1 MiB: they then stay in a core's L2 cache between the layers).

    Example:
        >>> tile_chunk(16, 64), tile_chunk(32, 64), tile_chunk(64, 64)
        (16, 4, 1)
    """
    return max(1, budget_bytes // (4 * tile * tile * width))


def conv_as_matmul(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """A stride-1 3x3 convolution as one matrix product: its (C_out, C_in * 9) weights times the (C_in * 9, H * W)
    patches of the padded input (im2col), the bias added by `addmm`. At the grid's resolution (16 x 16 positions,
    1024 channels) this one large product runs faster than the direct convolution.
    """
    b, _, h, w = x.shape
    mode = "reflect" if conv.padding_mode == "reflect" else "constant"
    patches = F.unfold(F.pad(x, (1, 1, 1, 1), mode=mode), 3)  # (B, C_in * 9, H * W)
    weight = conv.weight.reshape(conv.out_channels, -1)
    out = torch.stack([torch.addmm(conv.bias[:, None], weight, patch) for patch in patches])
    return out.view(b, conv.out_channels, h, w)


def _is_grid_conv(conv: nn.Module, x: torch.Tensor, max_positions: int) -> bool:
    return (
        isinstance(conv, nn.Conv2d)
        and conv.kernel_size == (3, 3)
        and conv.stride == (1, 1)
        and conv.padding == (1, 1)
        and conv.dilation == (1, 1)
        and conv.groups == 1
        and conv.bias is not None
        and x.shape[2] * x.shape[3] <= max_positions
    )


def fast_lr_stream(
    stream: LowResStream, one_hot: torch.Tensor, grid_hw: tuple[int, int], *, max_positions: int = 1024
) -> torch.Tensor:
    """`stream(one_hot, grid_hw)` with its stride-1 3x3 convolutions on at most `max_positions` positions (the
    blocks at the grid's resolution) computed by `conv_as_matmul`; the other layers run as they are."""
    x = stream.resize(one_hot, grid_hw)
    for block in stream.body:
        conv, rest = block[0], block[1:]
        x = conv_as_matmul(conv, x.contiguous()) if _is_grid_conv(conv, x, max_positions) else conv(x)
        x = rest(x)
    return stream.predict(x, grid_hw)


LRBackend = Literal["torch", "onnxruntime"]


class _ResizedStream(nn.Module):
    """The low-resolution stream after its resize: (B, L, gh * d, gw * d) one-hot -> (B, P, gh, gw) parameters."""

    def __init__(self, stream: LowResStream, grid_hw: tuple[int, int]) -> None:
        super().__init__()
        self.stream = stream
        self.grid_hw = grid_hw

    def forward(self, resized: torch.Tensor) -> torch.Tensor:
        return self.stream.predict(self.stream.body(resized), self.grid_hw)


class OnnxLowResStream:
    """A generator's low-resolution stream run by ONNX Runtime (CPU, float32).

    The stream is exported (`torch.onnx.export`, then an ONNX Runtime session with every graph optimisation) on the
    first call for each input shape, and again when the stream's weights have changed since (training steps,
    `load_state_dict`): the export snapshots them. At published widths one export takes about 10 s; its input is
    the one-hot map resized to the grid times the learned downsampling (128 x 128 for a square image at any size),
    so one export serves every square size.
    """

    def __init__(self, stream: LowResStream, *, threads: int | None = None) -> None:
        from tinkerlab.core.errors import require

        self.ort = require("onnxruntime", extra="asapnet")
        require("onnx", extra="asapnet")  # torch.onnx.export writes through it
        self.stream = stream
        self.threads = threads
        self.sessions: dict[tuple, object] = {}
        self.weights: tuple | None = None
        self.exports = 0

    def _weights_key(self) -> tuple:
        tensors = [*self.stream.parameters(), *self.stream.buffers()]
        return tuple((t.data_ptr(), t._version) for t in tensors)

    def session(self, shape: tuple[int, ...], grid_hw: tuple[int, int]):
        weights = self._weights_key()
        if weights != self.weights:  # the weights changed since the sessions were made: they are not reused
            self.sessions.clear()
            self.weights = weights
        key = (shape, grid_hw, self.threads or torch.get_num_threads())
        if key not in self.sessions:
            module = _ResizedStream(self.stream, grid_hw).eval()
            buffer = io.BytesIO()
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")  # the TorchScript-based exporter's deprecation notice
                torch.onnx.export(module, (torch.zeros(shape),), buffer, dynamo=False, opset_version=17)
            options = self.ort.SessionOptions()
            options.intra_op_num_threads = key[-1]
            options.inter_op_num_threads = 1
            options.graph_optimization_level = self.ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            session = self.ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])
            self.sessions[key] = (session, session.get_inputs()[0].name)
            self.exports += 1
        return self.sessions[key]

    def __call__(self, one_hot: torch.Tensor, grid_hw: tuple[int, int]) -> torch.Tensor:
        """`stream(one_hot, grid_hw)` for a float32 CPU one-hot map."""
        from tinkerlab.core.errors import InputError

        if one_hot.device.type != "cpu" or one_hot.dtype != torch.float32:
            raise InputError(
                f"expected a float32 model on the CPU for the ONNX Runtime stream, got {one_hot.dtype} on "
                f"{one_hot.device}; use lr_backend='torch' there"
            )
        resized = self.stream.resize(one_hot, grid_hw).contiguous()
        session, name = self.session(tuple(resized.shape), grid_hw)
        (params,) = session.run(None, {name: np.ascontiguousarray(resized.numpy())})
        return torch.from_numpy(params)


_ONNX_STREAMS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def onnx_lr_stream(generator: ASAPNetGenerator) -> OnnxLowResStream:
    """The generator's `OnnxLowResStream`, made once per generator and kept as long as the generator lives."""
    runner = _ONNX_STREAMS.get(generator)
    if runner is None:
        runner = _ONNX_STREAMS[generator] = OnnxLowResStream(generator.lr_stream)
    return runner


@torch.no_grad()
def fast_forward(
    generator: ASAPNetGenerator,
    labels: torch.Tensor,
    *,
    channels_last: bool = False,
    chunk: int | None = None,
    lr_backend: LRBackend = "torch",
) -> torch.Tensor:
    """The generator's output for (B, H, W) integer labels, computed by the optimised path (no autograd).

    The per-pixel MLPs run over chunks of tiles (`chunk` tiles at a time, by default as many as keep the hidden
    activations near 1 MiB), with two preallocated activation buffers reused by every layer and chunk. With
    `lr_backend="onnxruntime"` the low-resolution stream runs in ONNX Runtime (`OnnxLowResStream`; CPU, float32;
    the first call exports it).

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
    grid_hw = (h // tile, w // tile)
    if lr_backend == "onnxruntime":
        params = onnx_lr_stream(generator)(one_hot, grid_hw)  # (B, P, gh, gw)
    elif lr_backend == "torch":
        params = fast_lr_stream(generator.lr_stream, one_hot, grid_hw)
    else:
        from tinkerlab.core.errors import InputError

        raise InputError(f"expected lr_backend 'torch' or 'onnxruntime', got {lr_backend!r}")
    flat = flat_params(params).contiguous()  # (N, P)
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
        coords = tile_coordinates(tile, config.frequencies, device=labels.device, dtype=dtype).contiguous()
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


def prepare_fast(generator: ASAPNetGenerator, *, channels_last: bool = False) -> ASAPNetGenerator:
    """Put the generator in eval mode (and its low-resolution stream in channels-last layout) for `fast_forward`."""
    generator.eval()
    if channels_last:
        generator.lr_stream.to(memory_format=torch.channels_last)
    return generator
