"""IDC completions against trivial fills on packaged photos.

The image set is chosen by a rule (`quality.screen`: the ground truth of the hole scores at least 25 % below the
mean-colour fill, i.e. the metric can rank fills there); the screening itself is fast. The evaluation trains one
model per image (slow: minutes each on a CPU). The figures are in docs/idc.md.
"""

from __future__ import annotations

import pytest

from tinkerlab.core.seeding import torch_threads
from tinkerlab.idc.config import demo_idc_config

pytest.importorskip("skimage", reason="the packaged photos come with scikit-image")

# Every packaged image that passes the screening rule with its hole (measured; see docs/idc.md).
SCREENED = {"brick", "chelsea", "coins", "grass", "gravel", "hubble_deep_field", "logo"}
# Measured with 100 iterations per unmasked scale (150 per masked one; docs/idc.md): on these the mean of 8
# completions beats both trivial fills and diversity grows from d = 1 to d = 8. The others are strict expected
# failures, so a change that makes them pass is noticed.
ITERATIONS = 100
MEAN_WINS = {"brick", "coins", "grass", "gravel", "logo"}
LOSSES = {
    "chelsea": "the mean of 8 scores 0.0565 against 0.0537 for the mean-colour fill on the cat's eye",
    "hubble_deep_field": "beats both fills (0.0183), but diversity falls from d = 1 (0.955) to d = 8 (0.772)",
}


def test_screening_rule_selects_the_images_where_the_metric_ranks_fills():
    from tinkerlab.core.assets import sample_image_names
    from tinkerlab.idc.quality import screen_all

    with torch_threads(1):
        screenings = screen_all(demo_idc_config(iterations=200))
    chosen = {s.name for s in screenings if s.discriminates}
    assert chosen == SCREENED & set(sample_image_names())
    for s in screenings:
        assert s.discriminates == (s.ground_truth <= 0.75 * s.mean_fill)


@pytest.mark.slow
@pytest.mark.timeout(3600)  # one training per image: minutes on a quiet CPU, far more on a shared one
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, raises=AssertionError, reason=LOSSES[name]))
        if name in LOSSES
        else name
        for name in sorted(SCREENED)
    ],
)
def test_idc_hole_is_closer_to_the_visible_patches_than_trivial_fills(name, tmp_path):
    from tinkerlab.idc.quality import evaluate

    assert SCREENED == MEAN_WINS | set(LOSSES)
    with torch_threads(1):
        result = evaluate(name, demo_idc_config(iterations=ITERATIONS), tmp_path)
    assert result.idc_mean < result.mean_fill
    assert result.idc_mean < result.dip_fill
    assert result.diversity[1] < result.diversity[8]


def test_quality_at_the_photos_own_size_scores_every_fill_there(tmp_path):
    from tinkerlab.idc.config import DIPConfig, IDCConfig
    from tinkerlab.idc.quality import evaluate_at_input_size, input_size_table, sr_compare_table
    from tinkerlab.pyramid.config import ModelConfig, PyramidConfig, SinGANConfig, TrainConfig

    config = IDCConfig(
        base=SinGANConfig(
            pyramid=PyramidConfig(max_size=40, min_size=16, num_scales=3),
            model=ModelConfig(base_width=8, max_width=8),
            train=TrainConfig(iterations=2),
        ),
        dip=DIPConfig(width=8, depth=2, iterations=3),
    )
    with torch_threads(1):
        result = evaluate_at_input_size("chelsea", config, tmp_path, n=2, max_side=96, sr_compare=(0, 2))
    assert result.shape == (64, 96) and result.model_shape == (27, 40)
    assert (tmp_path / "chelsea" / "strip_input_size.png").is_file()
    # the comparison carries the same completions up: its 0 and 2 passes are the table's plain and default columns
    assert result.sr_compare == {0: result.idc_plain, 2: result.idc_mean}
    assert result.idc_best <= result.idc_mean
    assert result.ground_truth < result.mean_fill  # the true content is closer to the visible patches than a flat fill
    assert "| chelsea | 64x96 | 27x40 |" in input_size_table([result], 2)
    assert "IDC, 2 passes" in sr_compare_table([result])
