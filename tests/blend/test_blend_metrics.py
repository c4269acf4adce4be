"""The BlendGAN checks on synthetic images whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from tinkerlab.blend.metrics import (
    column_energy,
    fusion_report,
    hard_stitch,
    identity_accuracy,
    meld_locality,
    morph_trend,
    rmse,
    seam_energy_ratio,
)
from tinkerlab.core.errors import InputError


def stripes(seed: int, size: int = 32) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.arange(size)[None, :] + rng.integers(0, 4)
    image = 0.5 + 0.4 * np.sign(np.sin(x * np.pi / 2)) * np.ones((size, 1))
    return np.repeat(image[:, :, None], 3, axis=2).astype(np.float32) + rng.normal(0, 0.01, (size, size, 3))


def blobs(seed: int, size: int = 32) -> np.ndarray:
    rng = np.random.default_rng(100 + seed)
    field = gaussian_filter(rng.normal(size=(size, size)), 3)
    field = 0.5 + 0.4 * field / np.abs(field).max()
    return np.repeat(field[:, :, None], 3, axis=2).astype(np.float32)


def test_nearest_image_test_tells_two_textures_apart():
    images = [stripes(0), blobs(0)]
    report = identity_accuracy([[stripes(s) for s in range(1, 4)], [blobs(s) for s in range(1, 4)]], images)
    assert report.accuracy == (1.0, 1.0) and report.overall == 1.0 and report.counts == (3, 3)
    assert report.mean_distances[0][0] < report.mean_distances[0][1]
    confused = identity_accuracy([[blobs(1)], [blobs(2)]], images)
    assert confused.accuracy == (0.0, 1.0) and confused.overall == 0.5
    with pytest.raises(InputError, match="one group of samples per image"):
        identity_accuracy([[blobs(1)]], images)


def test_rmse_and_its_shape_check():
    assert rmse(np.zeros((4, 4, 3)), np.full((4, 4, 3), 0.5)) == pytest.approx(0.5)
    with pytest.raises(InputError, match="same-size"):
        rmse(np.zeros((4, 4, 3)), np.zeros((4, 5, 3)))


def test_morph_trend_counts_reversals_beyond_noise():
    t = np.linspace(0, 1, 5)
    rising = np.stack([t + 0.01 * s for s in range(3)])
    trend = morph_trend(t, rising, 1 - rising)
    assert trend.rho_a == pytest.approx(1.0) and trend.rho_b == pytest.approx(-1.0) and trend.monotone
    bumpy = rising.copy()
    bumpy[:, 2] = 0.0  # a large dip at t = 0.5
    assert morph_trend(t, bumpy, 1 - rising).reversals == 1
    with pytest.raises(InputError, match="distances"):
        morph_trend(t, rising[:, :3], rising[:, :3])


def test_meld_locality_and_seam_energy():
    a, b = stripes(0, 48), blobs(0, 48)
    stitched = hard_stitch(a, b)
    report = meld_locality(stitched, a, b)
    assert report.local and report.left_to_a < report.left_to_b
    swapped = meld_locality(hard_stitch(b, a), a, b)
    assert not swapped.local
    assert column_energy(a).shape == (48,)
    noise = np.random.default_rng(0).random((48, 48, 3)).astype(np.float32)
    assert 0.8 < seam_energy_ratio(noise) < 1.25
    dark_light = hard_stitch(
        np.full((48, 48, 3), 0.2, np.float32) + 0.02 * noise, np.full((48, 48, 3), 0.8) + 0.02 * noise
    )
    assert seam_energy_ratio(dark_light) > 5
    with pytest.raises(InputError, match="at least 8 columns"):
        meld_locality(stitched[:, :12], a, b)


def test_fusion_report_sees_structure_and_texture():
    rng = np.random.default_rng(1)
    structure = np.repeat(gaussian_filter(rng.random((48, 48)), 6)[:, :, None], 3, axis=2)
    structure = (structure - structure.min()) / np.ptp(structure) * 0.6 + 0.2
    texture = stripes(0, 48)
    fused = np.clip(structure + (texture - gaussian_filter(texture, (1.5, 1.5, 0))), 0, 1)
    report = fusion_report(fused, structure, texture)
    assert report.keeps_structure and report.takes_texture and report.low_corr_structure > 0.9
    assert not fusion_report(structure, structure, texture).takes_texture
    # against reference samples of A and B: a smoothed texture sample is still B's, the structure is still A's
    soft_texture = gaussian_filter(texture, (0.5, 0.5, 0))
    against_samples = fusion_report(fused, structure, texture, references=([structure], [soft_texture, texture]))
    assert against_samples.takes_texture and against_samples.fine_to_texture < report.fine_to_structure
    with pytest.raises(InputError, match="reference sample"):
        fusion_report(fused, structure, texture, references=([], [texture]))
