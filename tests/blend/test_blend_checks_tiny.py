"""The "must show" checks on a model trained for a few seconds on two tiny, very different images: stripes and a
smooth low-contrast field. Real training, real assertions; the measured figures on packaged textures are in
docs/blend.md (`python -m tinkerlab.blend.checks`)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from tinkerlab.blend import training
from tinkerlab.blend.checks import blend_parameters, single_model_parameters
from tinkerlab.blend.config import BlendConfig
from tinkerlab.blend.metrics import (
    fusion_report,
    identity_accuracy,
    meld_locality,
    morph_trend,
    patch_distances,
    rmse,
)
from tinkerlab.core.seeding import torch_threads
from tinkerlab.pyramid.config import ModelConfig, PyramidConfig, SinGANConfig, TrainConfig

SIZE = 32


def images() -> list[np.ndarray]:
    stripes = np.zeros((SIZE, SIZE, 3), np.float32)
    for start in range(0, SIZE, 8):
        stripes[:, start : start + 4] = 1.0
    field = gaussian_filter(np.random.default_rng(0).normal(size=(SIZE, SIZE)), 2)
    smooth = 0.5 + 0.15 * field / np.abs(field).max()
    return [stripes, np.repeat(smooth[:, :, None], 3, axis=2).astype(np.float32)]


@pytest.fixture(scope="module")
def model():
    config = BlendConfig(
        base=SinGANConfig(
            pyramid=PyramidConfig(max_size=SIZE, min_size=16, num_scales=2),
            model=ModelConfig(base_width=16, max_width=16),
            train=TrainConfig(iterations=40, d_steps=2, g_steps=2),
        )
    )
    with torch_threads(1):
        return training.train(images(), config)


def test_samples_of_identity_k_are_nearest_to_image_k(model):
    groups = [model.sample(k, 10, seed=k) for k in range(2)]
    assert identity_accuracy(groups, model.images).accuracy == (1.0, 1.0)


def test_each_image_is_reconstructed(model):
    errors = [rmse(r, x) for r, x in zip(model.reconstruction(), model.images, strict=True)]
    assert max(errors) < 0.15, errors


def test_morph_moves_from_a_to_b(model):
    t = np.linspace(0, 1, 6)
    frames = [model.morph(0, 1, 6, seed=s) for s in range(3)]
    distances = np.array([[patch_distances(f, model.images) for f in strip] for strip in frames])  # (3, 6, 2)
    trend = morph_trend(t, distances[:, :, 0], distances[:, :, 1])
    assert trend.rho_a > 0.8 and trend.rho_b < -0.8 and trend.to_a[-1] > trend.to_a[0], trend


def test_meld_is_local(model):
    reports = [meld_locality(m, *model.images) for m in model.meld(0, 1, n=3)]
    assert all(r.local for r in reports), reports


def test_fusion_keeps_the_structure_images_low_frequencies(model):
    fused = model.fuse(0, 1, switch=1, n=2)
    reports = [fusion_report(f, *model.images) for f in fused]
    assert all(r.keeps_structure for r in reports), reports


def test_one_model_is_about_one_single_image_model(model):
    ours, single = blend_parameters(model), single_model_parameters(model)
    ratio = sum(ours.values()) / sum(single.values())
    assert 1.0 < ratio < 1.3, ratio  # two single-image models would be 2.0
