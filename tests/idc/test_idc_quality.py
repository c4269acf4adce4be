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
# Measured with 200 iterations: on these the mean of 8 completions beats both trivial fills. On the others it
# loses to one of them (chelsea, hubble_deep_field, logo: the mean-colour fill; coins: the DIP pre-fill); they are
# strict expected failures, so a change that makes them pass is noticed.
MEAN_WINS = {"brick", "grass", "gravel"}
LOSSES = {
    "chelsea": "the mean of 8 ties the mean-colour fill (0.0546 vs 0.0537) on the cat's eye",
    "coins": "the DIP pre-fill scores 0.0265, the mean of 8 completions 0.0291",
    "hubble_deep_field": "the mean of 8 scores 0.0295 against 0.0256 for the mean-colour fill (dark sky)",
    "logo": "the mean of 8 scores 0.1267 against 0.1096 for the mean-colour fill",
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
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=LOSSES[name])) if name in LOSSES else name
        for name in sorted(SCREENED)
    ],
)
def test_idc_hole_is_closer_to_the_visible_patches_than_trivial_fills(name, tmp_path):
    from tinkerlab.idc.quality import evaluate

    assert SCREENED == MEAN_WINS | set(LOSSES)
    with torch_threads(1):
        result = evaluate(name, demo_idc_config(iterations=200), tmp_path)
    assert result.idc_mean < result.mean_fill
    assert result.idc_mean < result.dip_fill
    assert result.diversity[1] < result.diversity[8]
