"""Cross-identity training (`BlendConfig.cross_fraction`): on some iterations of the finest scales, identity k's
generator is fed another image's coarser sample and trained by the adversarial loss under identity k only."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from tinkerlab.blend import training
from tinkerlab.blend.config import BlendConfig
from tinkerlab.core.errors import InputError
from tinkerlab.core.seeding import torch_threads
from tinkerlab.pyramid.config import ModelConfig, PyramidConfig, SinGANConfig, TrainConfig


def tiny_config(cross_fraction: float = 0.0) -> BlendConfig:
    return BlendConfig(
        base=SinGANConfig(
            pyramid=PyramidConfig(max_size=24, min_size=14, num_scales=2),
            model=ModelConfig(base_width=8, max_width=8),
            train=TrainConfig(iterations=4, d_steps=1, g_steps=1),
        ),
        cross_fraction=cross_fraction,
    )


def two_images(size: int = 24) -> list[np.ndarray]:
    stripes = np.zeros((size, size, 3), np.float32)
    stripes[:, ::4] = 1.0
    noise = np.random.default_rng(0).random((size, size, 3)).astype(np.float32) * 0.5 + 0.25
    return [stripes, noise]


def test_cross_order_spreads_the_share_and_shows_every_other_image():
    order = training.cross_order(0.25, 3)
    orders = [order(i) for i in range(8)]
    crossed = [o.tolist() for o in orders if o is not None]
    assert crossed == [[1, 2, 0], [2, 0, 1]] and orders[3] is not None and orders[0] is None
    for shifted in crossed:  # a permutation that moves every image: identity k never gets its own layout
        assert sorted(shifted) == [0, 1, 2] and all(j != k for k, j in enumerate(shifted))


def test_only_the_finest_scales_get_cross_iterations():
    reals = [torch.zeros(2, 3, 8, 8), torch.zeros(2, 3, 12, 12), torch.zeros(2, 3, 16, 16)]
    config = replace(tiny_config(0.5), cross_scales=2)
    plan = training.BlendPlan(reals, config)
    assert [plan.previous_order(i) is None for i in range(3)] == [True, False, False]
    plan = training.BlendPlan(reals, tiny_config(0.5))
    assert [plan.previous_order(i) is None for i in range(3)] == [True, True, False]
    assert training.BlendPlan(reals, tiny_config()).previous_order(2) is None


def test_cross_training_changes_the_fine_scale_only_and_keeps_reconstruction():
    with torch_threads(1):
        plain = training.train(two_images(), tiny_config())
        crossed = training.train(two_images(), tiny_config(0.5))
    coarse = [g.state_dict() for g in (plain.pyramid.generators[0], crossed.pyramid.generators[0])]
    assert all(torch.equal(coarse[0][key], coarse[1][key]) for key in coarse[0])
    fine = [g.state_dict() for g in (plain.pyramid.generators[1], crossed.pyramid.generators[1])]
    assert any(not torch.equal(fine[0][key], fine[1][key]) for key in fine[0])
    assert crossed.fuse(0, 1, n=2)[1].shape == (24, 24, 3)
    assert len(crossed.reconstruction()) == 2


def test_bad_cross_settings_are_refused():
    with pytest.raises(InputError, match=r"cross_fraction: expected a number in \[0, 1\), got 1"):
        BlendConfig(cross_fraction=1)
    with pytest.raises(InputError, match="cross_scales: expected an integer >= 1"):
        BlendConfig(cross_scales=0)
