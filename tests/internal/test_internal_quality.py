"""IDC completions beat trivial fills on packaged photos (slow: trains three models, minutes on a CPU)."""

from __future__ import annotations

import pytest

from tinkerlab.internal.config import demo_idc_config
from tinkerlab.internal.threads import torch_threads

pytest.importorskip("skimage", reason="the packaged photos come with scikit-image")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["chelsea", "coffee", "china"])
def test_idc_hole_is_closer_to_the_visible_patches_than_trivial_fills(name, tmp_path):
    from tinkerlab.internal.quality import evaluate

    with torch_threads(1):
        result = evaluate(name, demo_idc_config(iterations=200), tmp_path)
    assert result.idc_mean < result.mean_fill
    assert result.idc_mean < result.dip_fill
    assert result.diversity[1] < result.diversity[8]
