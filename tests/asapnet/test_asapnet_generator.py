"""The ASAPNet generator: shapes, parameter bookkeeping, tiles against a naive per-pixel loop, the fast path."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from tinkerlab.asapnet.config import ASAPNetConfig, published_tile_frequencies
from tinkerlab.asapnet.fast import conv_as_matmul, fast_forward, fast_lr_stream, onnx_lr_stream
from tinkerlab.asapnet.generator import (
    ASAPNetGenerator,
    mlp_layer_sizes,
    num_mlp_params,
    one_hot_labels,
    run_tile_mlps,
    sinusoidal_coordinates,
    tile_coordinates,
    tile_features,
    to_tiles,
)
from tinkerlab.core.errors import InputError

TINY = ASAPNetConfig(
    num_labels=4,
    grid=4,
    lr_width=4,
    lr_max_width=8,
    lr_depth=1,
    learned_downsample=2,
    hr_width=5,
    hr_depth=3,
    frequencies=2,
)


def with_random_head(generator: ASAPNetGenerator, std: float = 0.05) -> ASAPNetGenerator:
    """The generator with random head weights, so that every tile gets its own MLP (a fresh head's weights are
    zero: all tiles start from the same MLP)."""
    with torch.no_grad():
        generator.lr_stream.head.weight.normal_(0, std)
    return generator


def naive_pixel_loop(features: torch.Tensor, params: torch.Tensor, config: ASAPNetConfig, tile: int) -> torch.Tensor:
    """One MLP per pixel, its parameters read from the pixel's tile, written as plain loops."""
    b, _, h, w = features.shape
    out = torch.zeros(b, 3, h, w, dtype=features.dtype)
    sizes = mlp_layer_sizes(config)
    for n in range(b):
        for y in range(h):
            for x in range(w):
                theta = params[n, :, y // tile, x // tile]
                v = features[n, :, y, x]
                offset = 0
                for index, (n_in, n_out) in enumerate(sizes):
                    weight = theta[offset : offset + n_in * n_out].reshape(n_in, n_out)
                    offset += n_in * n_out
                    bias = theta[offset : offset + n_out]
                    offset += n_out
                    v = v @ weight + bias
                    v = F.leaky_relu(v, 0.01) if index < len(sizes) - 1 else torch.tanh(v)
                out[n, :, y, x] = v
    return out


def test_tiled_mlps_equal_a_naive_per_pixel_loop():
    torch.manual_seed(0)
    tile = 4
    features = torch.randn(2, TINY.num_labels + 4 * TINY.frequencies, 8, 12, dtype=torch.float64)
    params = torch.randn(2, num_mlp_params(TINY), 2, 3, dtype=torch.float64) * 0.5
    tiled = run_tile_mlps(features, params, TINY, tile)
    assert torch.allclose(tiled, naive_pixel_loop(features, params, TINY, tile), atol=1e-5)


def test_tiles_differ_only_where_their_parameters_differ():
    # hand-made: two tiles, identical inputs, parameters differ -> outputs differ; equal parameters -> equal outputs
    features = torch.ones(1, TINY.num_labels + 4 * TINY.frequencies, 4, 8)
    params = torch.zeros(1, num_mlp_params(TINY), 1, 2)
    params[0, -3:, 0, 1] = 0.5  # the last layer's bias of the right tile
    out = run_tile_mlps(features, params, TINY, 4)
    assert torch.allclose(out[..., :4], torch.zeros(1, 3, 4, 4))
    assert torch.allclose(out[..., 4:], torch.full((1, 3, 4, 4), math.tanh(0.5)))


def test_generator_end_to_end_equals_the_naive_loop():
    torch.manual_seed(1)
    generator = with_random_head(ASAPNetGenerator(TINY)).double().eval()
    labels = torch.randint(0, TINY.num_labels, (1, 8, 8))
    with torch.no_grad():
        out = generator(labels)
        one_hot = F.one_hot(labels, TINY.num_labels).permute(0, 3, 1, 2).double()
        params, tile = generator.predict_params(one_hot)
        naive = naive_pixel_loop(generator.hr_features(one_hot, tile), params, TINY, tile)
    assert out.shape == (1, 3, 8, 8)
    assert torch.allclose(out, naive, atol=1e-5)


def test_published_parameter_bookkeeping():
    config = ASAPNetConfig(num_labels=13, frequencies=published_tile_frequencies(512))
    assert num_mlp_params(config) == 14851  # facades 512: 13 labels + 20 coordinates
    assert num_mlp_params(ASAPNetConfig(num_labels=13, frequencies=6)) == 15107  # facades 1024
    assert num_mlp_params(ASAPNetConfig(num_labels=35, frequencies=4)) == 16003  # cityscapes 512x256
    generator = ASAPNetGenerator(config)
    assert generator.lr_stream.head.out_channels == num_mlp_params(config)
    total = sum(p.numel() for p in generator.parameters())
    assert 81e6 < total < 84e6
    expected = sum(n_in * n_out + n_out for n_in, n_out in mlp_layer_sizes(config))
    assert expected == num_mlp_params(config)


def test_coordinates_are_periodic_within_the_tile_and_built_per_size():
    coords = sinusoidal_coordinates(8, 16, 8, 3)
    assert coords.shape == (12, 8, 16)
    assert torch.allclose(coords[:, :, :8], coords[:, :, 8:], atol=1e-6)
    assert torch.allclose(coords[0, 0, :4], torch.cos(2 * math.pi * torch.arange(4.0) / 8), atol=1e-6)
    generator = ASAPNetGenerator(TINY).eval()
    with torch.no_grad():  # a new size and batch after a first call
        assert generator(torch.zeros(1, 8, 8, dtype=torch.long)).shape == (1, 3, 8, 8)
        assert generator(torch.zeros(3, 16, 24, dtype=torch.long)).shape == (3, 3, 16, 24)


def test_no_spatial_variation_gives_one_mlp_for_the_image():
    config = ASAPNetConfig(**{**TINY.__dict__, "spatially_varying": False})
    generator = ASAPNetGenerator(config).eval()
    labels = torch.randint(0, 4, (1, 8, 8))
    one_hot = F.one_hot(labels, 4).permute(0, 3, 1, 2).float()
    params, _ = generator.predict_params(one_hot)
    assert torch.allclose(params, params[:, :, :1, :1].expand_as(params))


def test_every_tile_starts_from_the_same_mlp_and_learns_to_differ():
    torch.manual_seed(5)
    generator = ASAPNetGenerator(TINY)
    labels = torch.randint(0, 4, (2, 16, 16))
    one_hot = one_hot_labels(labels, 4)
    params, _ = generator.predict_params(one_hot)
    shared = generator.lr_stream.head.bias.view(1, -1, 1, 1) * generator.lr_stream.param_scale
    assert torch.allclose(params, shared.expand_as(params))  # the base MLP in every tile, for every label map
    within_tile = generator(labels).detach().unflatten(2, (4, 4)).unflatten(4, (4, 4)).std(dim=(3, 5))
    assert within_tile.mean() > 0.05  # that MLP uses its inputs (no per-tile constant colours)
    optimiser = torch.optim.Adam(generator.parameters(), lr=1e-3)
    loss = (generator(labels) - torch.rand(2, 3, 16, 16)).abs().mean()
    loss.backward()
    assert generator.lr_stream.head.weight.grad.abs().max() > 0
    optimiser.step()
    params, _ = generator.predict_params(one_hot)
    assert (params - params[:, :, :1, :1]).abs().max() > 1e-4  # the per-tile variation is learned


def test_fast_path_equals_the_straightforward_one():
    torch.manual_seed(2)
    variants = ({}, {"frequencies": 0}, {"hr_depth": 1}, {"hr_depth": 2}, {"spatially_varying": False})
    for changes in variants:
        config = ASAPNetConfig(**{**TINY.__dict__, **changes})
        generator = with_random_head(ASAPNetGenerator(config)).eval()
        labels = torch.randint(0, config.num_labels, (2, 16, 24))
        with torch.no_grad():
            plain = generator(labels)
            assert torch.allclose(fast_forward(generator, labels, channels_last=False), plain, atol=1e-5)
            assert torch.allclose(fast_forward(generator, labels, channels_last=True), plain, atol=1e-4)
            for chunk in (1, 5, 100):  # chunks that divide the 24 tiles, leave a remainder, or exceed them
                assert torch.allclose(fast_forward(generator, labels, chunk=chunk), plain, atol=1e-4)


def test_the_onnx_runtime_stream_equals_torch_and_follows_weight_changes():
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    torch.manual_seed(5)
    for changes in ({}, {"spatially_varying": False}, {"padding": "zeros"}):
        config = ASAPNetConfig(**{**TINY.__dict__, **changes})
        generator = with_random_head(ASAPNetGenerator(config)).eval()
        labels = torch.randint(0, config.num_labels, (2, 16, 24))
        with torch.inference_mode():
            plain = generator(labels)
            assert torch.allclose(fast_forward(generator, labels, lr_backend="onnxruntime"), plain, atol=1e-5)
    runner = onnx_lr_stream(generator)
    assert runner.exports == 1
    with torch.inference_mode():
        fast_forward(generator, labels, lr_backend="onnxruntime")
        assert runner.exports == 1  # the same shape and weights: the session is reused
        fast_forward(generator, labels[:, :8, :8], lr_backend="onnxruntime")  # another grid: another export
    assert runner.exports == 2
    with torch.no_grad():
        generator.lr_stream.head.bias.add_(0.1)  # an in-place change, as an optimiser step makes
        changed = fast_forward(generator, labels, lr_backend="onnxruntime")
        assert torch.allclose(changed, generator(labels), atol=1e-5) and not torch.allclose(changed, plain)
    assert runner.exports == 3
    with pytest.raises(InputError, match="lr_backend 'torch' or 'onnxruntime'"):
        fast_forward(generator, labels, lr_backend="tvm")
    with pytest.raises(InputError, match="float32 model on the CPU"):
        fast_forward(generator.double(), labels, lr_backend="onnxruntime")


def test_tiled_features_equal_the_cut_full_resolution_features():
    # tiles of 6 px (periods 6 and 3): the one-tile coordinates repeat in every tile even when the tile is no power of 2
    labels = torch.randint(0, 5, (2, 12, 18), generator=torch.Generator().manual_seed(3))
    one_hot = one_hot_labels(labels, 5)
    assert torch.equal(one_hot, F.one_hot(labels, 5).permute(0, 3, 1, 2).float()) and one_hot.is_contiguous()
    full = torch.cat([one_hot, sinusoidal_coordinates(12, 18, 6, 2).expand(2, -1, -1, -1)], dim=1)
    rows = tile_features(labels, 5, tile_coordinates(6, 2), 6)
    assert rows.shape == (2 * 2 * 3, 36, 5 + 8)
    assert torch.allclose(rows, to_tiles(full, 6), atol=1e-6)
    assert tile_features(labels, 5, tile_coordinates(6, 0), 6).shape == (12, 36, 5)


def test_grid_convolutions_as_matrix_products_equal_the_convolutions():
    torch.manual_seed(4)
    x = torch.randn(2, 6, 5, 7)
    for mode in ("reflect", "zeros"):
        conv = torch.nn.Conv2d(6, 4, 3, padding=1, padding_mode=mode)
        with torch.no_grad():
            assert torch.allclose(conv_as_matmul(conv, x), conv(x), atol=1e-5)
    generator = with_random_head(ASAPNetGenerator(TINY)).eval()
    one_hot = one_hot_labels(torch.randint(0, 4, (1, 16, 16)), 4)
    with torch.no_grad():
        for positions in (0, 1024):  # no layer rewritten, or the grid-level ones
            assert torch.allclose(
                fast_lr_stream(generator.lr_stream, one_hot, (4, 4), max_positions=positions),
                generator.lr_stream(one_hot, (4, 4)),
                atol=1e-5,
            )


def test_bad_inputs_are_clear_errors():
    generator = ASAPNetGenerator(TINY).eval()
    with pytest.raises(InputError, match="multiple of the 4-cell grid"):
        generator(torch.zeros(1, 10, 8, dtype=torch.long))
    with pytest.raises(InputError, match="multiple of the 2-px tile"):
        generator(torch.zeros(1, 8, 9, dtype=torch.long))
    with pytest.raises(InputError, match="the model has 4 classes"):
        generator(torch.full((1, 8, 8), 7, dtype=torch.long))
    with pytest.raises(InputError, match="integer labels"):
        generator(torch.zeros(1, 8, 8))
    with pytest.raises(InputError, match="power of 2"):
        ASAPNetConfig(learned_downsample=3)
