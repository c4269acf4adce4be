"""The offline clip-art recogniser of the vision engine: the ridge map, clip-art labels, outlines; the real
recogniser is built in a slow test."""

from __future__ import annotations

import numpy as np
import pytest

from tinkerlab.vision import clipart as ev


def test_ridge_map_recovers_a_linear_relation():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 20))
    true = rng.normal(size=(20, 6))
    mean, weights = ev.fit_ridge(x, x @ true, ridge=1e-6)
    np.testing.assert_allclose((x - mean) @ weights, x @ true - (x @ true).mean(0), atol=1e-4)


def test_clipart_labels_and_concepts(tmp_path):
    path = tmp_path / "bugs" / "ladybug_tanguy_01.svg"
    assert ev.clipart_label(path) == "ladybug tanguy (bugs)"
    assert ev.clipart_concept(tmp_path / "red_apple_01.svg", ev.CLIPART_CONCEPTS) == "apple"
    assert ev.clipart_concept(tmp_path / "pineapple.svg", ev.CLIPART_CONCEPTS) is None


def test_outline_image_of_a_simple_svg(tmp_path):
    pytest.importorskip("cairosvg", reason="cairosvg renders the clip art")
    svg = tmp_path / "square.svg"
    svg.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
        '<rect x="20" y="20" width="60" height="60" fill="#3a6"/></svg>'
    )
    image = np.asarray(ev.outline_image(svg, 64).convert("L"))
    assert image.shape == (64, 64)
    assert image[32, 32] == 255 and image[32, 0] == 255  # inside and outside are white
    assert image[32, 12:15].min() == 0  # the left edge is a dark outline
    (tmp_path / "blank.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    assert ev.outline_image(tmp_path / "blank.svg", 64) is None


@pytest.mark.slow
def test_offline_recognizer_beats_chance_on_held_out_clipart(tmp_path):
    try:
        recognizer = ev.ClipartRecognizer.load(ev.ClipartConfig(extra_files=300), cache=tmp_path, progress=False)
    except Exception as exc:  # missing openclipart / weights
        pytest.skip(f"the offline recogniser cannot be built here because {exc}")
    result = ev.clipart_benchmark(recognizer)
    assert result.top5 > 5 / len(ev.CLIPART_CONCEPTS)
