"""Offline metrics: known values and orderings on synthetic images."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tinkerlab.core.errors import InputError, MissingAssetError
from tinkerlab.pyramid import metrics


def stripes(height: int = 32, width: int = 40, phase: float = 0.0) -> np.ndarray:
    _, x = np.mgrid[0:height, 0:width]
    value = 0.5 + 0.4 * np.sin(x / 1.5 + phase)
    return np.repeat(value[:, :, None], 3, axis=2).astype(np.float32)


def test_patch_swd_is_zero_for_the_same_image_and_orders_by_similarity():
    image = stripes()
    assert metrics.patch_swd(image, image) == pytest.approx(0.0, abs=1e-6)
    shifted = stripes(phase=0.7)
    noise = np.random.default_rng(0).random(image.shape).astype(np.float32)
    assert metrics.patch_swd(image, shifted) < metrics.patch_swd(image, noise)


def test_hole_patch_distance_prefers_texture_to_a_flat_fill():
    image = stripes()
    hole = np.zeros(image.shape[:2], bool)
    hole[10:22, 12:26] = True
    flat = np.where(hole[:, :, None], image[~hole].mean(axis=0), image).astype(np.float32)
    assert metrics.hole_patch_distance(image, hole) < metrics.hole_patch_distance(flat, hole)
    with pytest.raises(InputError, match="patches in the hole"):
        metrics.hole_patch_distance(image, np.zeros_like(hole))


def test_hole_patch_distance_with_a_patch_sample_is_close_and_repeatable():
    image = stripes(96, 120)
    image = (image + 0.05 * np.random.default_rng(3).random(image.shape)).astype(np.float32)
    hole = np.zeros(image.shape[:2], bool)
    hole[30:60, 40:80] = True
    flat = np.where(hole[:, :, None], image[~hole].mean(axis=0), image).astype(np.float32)
    full = metrics.hole_patch_distance(image, hole)
    assert metrics.hole_patch_distance(image, hole, max_patches=10**6) == full  # no sample drawn: unchanged
    sampled = metrics.hole_patch_distance(image, hole, max_patches=500)
    assert sampled == metrics.hole_patch_distance(image, hole, max_patches=500)
    assert sampled != full and abs(sampled - full) < 0.3 * full
    assert sampled < metrics.hole_patch_distance(flat, hole, max_patches=500)


def test_diversity_and_copy_detection():
    image = stripes()
    assert metrics.singan_diversity([image, image], image) == 0.0
    rng = np.random.default_rng(1)
    noisy = [np.clip(image + 0.1 * rng.standard_normal(image.shape), 0, 1).astype(np.float32) for _ in range(4)]
    assert metrics.singan_diversity(noisy, image) > 0.0
    texture = rng.random((24, 24, 3)).astype(np.float32)
    assert metrics.copy_fraction(texture, texture) == 1.0
    flipped = texture[:, ::-1].copy()
    assert metrics.copy_fraction(flipped, texture) < 0.2
    assert metrics.nearest_patch_distance(texture, texture) == pytest.approx(0.0, abs=1e-3)
    with pytest.raises(InputError, match="at least 2 samples"):
        metrics.singan_diversity([image], image)


def test_sifid_needs_a_user_supplied_extractor():
    image = stripes()
    with pytest.raises(MissingAssetError, match="Inception"):
        metrics.sifid(image, image)
    conv = torch.nn.Conv2d(3, 4, 3)
    torch.nn.init.normal_(conv.weight, generator=torch.Generator().manual_seed(0))
    assert metrics.sifid(image, image, features=conv) == pytest.approx(0.0, abs=1e-4)
    noise = np.random.default_rng(2).random(image.shape).astype(np.float32)
    assert metrics.sifid(image, noise, features=conv) > 0.01
