"""IDC completions against trivial fills on packaged photos (slow: trains three models, minutes on a CPU).

The figures are in docs/internal.md. On the textures (brick, grass) the mean over 8 completions beats both the
mean-colour fill and the DIP pre-fill; on chelsea only the best of 8 does (the mean of 8 ties the mean-colour fill).
"""

from __future__ import annotations

import pytest

from tinkerlab.internal.config import demo_idc_config
from tinkerlab.internal.threads import torch_threads

pytest.importorskip("skimage", reason="the packaged photos come with scikit-image")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["brick", "grass", "chelsea"])
def test_idc_hole_is_closer_to_the_visible_patches_than_trivial_fills(name, tmp_path):
    from tinkerlab.internal.quality import evaluate

    with torch_threads(1):
        result = evaluate(name, demo_idc_config(iterations=200), tmp_path)
    assert result.idc_best < result.mean_fill
    assert result.idc_best < result.dip_fill
    if name != "chelsea":
        assert result.idc_mean < result.mean_fill
        assert result.idc_mean < result.dip_fill
    assert result.diversity[1] < result.diversity[8]
