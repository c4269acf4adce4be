"""The quality check's metrics, the summary over seeds and one tiny run of it."""

from __future__ import annotations

import numpy as np
import pytest

from tinkerlab.asapnet.quality import (
    colour_matched_l1,
    high_frequency_gap,
    run_quality,
    summarise,
    summary_table,
)
from tinkerlab.core.errors import InputError


def test_colour_matched_l1_ignores_per_region_colour_offsets_but_not_structure():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, (2, 16, 16))
    real = rng.uniform(0.2, 0.8, (2, 16, 16, 3))
    offsets = rng.normal(0, 0.1, (2, 3, 3))  # per image, class and channel
    shifted = real + np.stack([offsets[i][labels[i]] for i in range(2)])
    assert colour_matched_l1(shifted, real, labels, 3) == pytest.approx(0.0, abs=1e-12)
    assert np.abs(shifted - real).mean() > 0.03
    # a zero-mean error inside every region is left as it is
    noise = rng.choice([-0.05, 0.05], real.shape)
    for i in range(2):
        for c in range(3):
            noise[i][labels[i] == c] -= noise[i][labels[i] == c].mean(axis=0)
    assert colour_matched_l1(real + noise, real, labels, 3) == pytest.approx(np.abs(noise).mean())


def test_colour_matched_l1_refuses_mismatched_shapes():
    with pytest.raises(InputError, match="expected fakes and reals"):
        colour_matched_l1(np.zeros((1, 4, 4, 3)), np.zeros((1, 4, 4, 3)), np.zeros((1, 4, 5), int), 2)


def test_high_frequency_gap_is_zero_for_equal_images_and_grows_with_blur():
    rng = np.random.default_rng(1)
    real = rng.uniform(0, 1, (2, 16, 16, 3))
    assert high_frequency_gap(real, real) == pytest.approx(0.0, abs=1e-6)
    flat = np.full_like(real, 0.5) + 1e-3 * real
    assert high_frequency_gap(flat, real) > 5


def test_summarise_gives_mean_and_sample_spread_over_seeds():
    runs = [
        {"a": {"l1": 0.1, "l1_matched": 0.05, "hf_gap": 0.2, "train_s": 3.0, "params": 10}},
        {"a": {"l1": 0.3, "l1_matched": 0.07, "hf_gap": 0.4, "train_s": 4.0, "params": 10}},
    ]
    summary = summarise(runs)
    assert summary["a"]["l1"]["mean"] == pytest.approx(0.2)
    assert summary["a"]["l1"]["std"] == pytest.approx(np.std([0.1, 0.3], ddof=1))
    assert summary["a"]["train_s"] == [3.0, 4.0]
    assert "0.2000 ± 0.1414" in summary_table(summary)
    assert summarise(runs[:1])["a"]["hf_gap"]["std"] == 0.0


def test_one_step_quality_run_scores_every_model(tmp_path):
    models = ("asapnet", "asapnet-no-spatial", "spade")
    report = run_quality(tmp_path, steps=1, pairs=3, held_out=1, size=32, models=models, progress=False)
    assert set(report["models"]) == set(models)
    for scores in report["models"].values():
        assert 0 < scores["l1_matched"] <= 1 and 0 < scores["l1"] <= 1 and scores["hf_gap"] >= 0
    assert report["outputs"]["asapnet"].shape == (1, 32, 32, 3)
    with pytest.raises(InputError, match="expected models among"):
        run_quality(tmp_path, steps=1, pairs=3, held_out=1, models=("unet",), progress=False)
