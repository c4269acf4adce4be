"""The retrieval baseline: outlines become strokes of the language; a real retrieval when openclipart is installed."""

from __future__ import annotations

import numpy as np
import pytest

from tinkerlab.core.errors import InputError
from tinkerlab.sketch.language import parse_sketch
from tinkerlab.sketch.retrieval import RetrievalConfig, outlines_to_sketch


def test_a_square_outline_becomes_grid_strokes_with_arc_length_t():
    square = np.array([[10, 10], [110, 10], [110, 110], [10, 110], [10, 10]], dtype=float)
    sketch = outlines_to_sketch([square], "square", RetrievalConfig(max_strokes=20))
    assert 2 <= len(sketch) <= 20
    for stroke in sketch.strokes:
        assert stroke.t_values[0] == 0.0 and stroke.t_values[-1] == 1.0
        assert list(stroke.t_values) == sorted(stroke.t_values)
        assert all(5 <= c <= 46 and 5 <= r <= 46 for c, r in stroke.points)
    assert parse_sketch(sketch.to_text()) == sketch  # an ordinary sketch string
    with pytest.raises(InputError):
        outlines_to_sketch([], "nothing")


def test_the_stroke_budget_is_kept():
    rng = np.random.default_rng(0)
    outlines = [np.cumsum(rng.normal(0, 8, (60, 2)), axis=0) + 128 for _ in range(10)]
    assert len(outlines_to_sketch(outlines, "scribble", RetrievalConfig(max_strokes=7))) <= 7


@pytest.mark.slow
def test_retrieval_of_a_real_drawing():
    from tinkerlab.sketch.retrieval import retrieve

    try:
        found = retrieve("car", 0, RetrievalConfig(pool="all"))
    except Exception as exc:  # openclipart or MiniLM not installed
        pytest.skip(f"offline assets missing: {exc}")
    assert "car" in found.label and 2 <= len(found.sketch) <= 20
    assert "Baseline without a language model" in found.sketch.thinking
