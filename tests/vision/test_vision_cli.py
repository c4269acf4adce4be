"""`tinkerlab vision recognize` with a stand-in recogniser (the real one is built in a slow test), and its errors."""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from tinkerlab.core.images import save_image
from tinkerlab.vision import recognition
from tinkerlab.vision.cli import app


class InkRecognizer:
    """A stand-in scorer: 'dark' scores the ink of an image, 'light' its paper."""

    name = "ink"

    def scores(self, images, concepts):
        ink = np.array([1.0 - np.asarray(im.convert("L"), dtype=np.float32).mean() / 255.0 for im in images])
        table = {"dark": ink, "light": 1.0 - ink}
        return np.stack([table.get(c, np.zeros_like(ink)) for c in concepts], axis=1)


def test_recognize_prints_the_best_concepts_first(tmp_path, monkeypatch):
    monkeypatch.setattr(recognition, "load_recognizer", lambda spec: InkRecognizer())
    save_image(np.zeros((8, 8, 3), np.float32), tmp_path / "black.png")
    save_image(np.ones((8, 8, 3), np.float32), tmp_path / "white.png")
    result = CliRunner().invoke(
        app, ["recognize", str(tmp_path / "black.png"), str(tmp_path / "white.png"), "--concepts", "light,dark,x"]
    )
    assert result.exit_code == 0, result.output
    black, white = result.output.strip().splitlines()
    assert black.split(": ")[1].startswith("dark 1.000")
    assert white.split(": ")[1].startswith("light 1.000")


def test_recognize_refuses_a_missing_image_before_loading_anything(tmp_path, monkeypatch):
    def fail(spec):
        raise AssertionError("the recogniser must not load")

    monkeypatch.setattr(recognition, "load_recognizer", fail)
    result = CliRunner().invoke(app, ["recognize", str(tmp_path / "missing.png")])
    assert result.exit_code != 0
    assert "is not an image file" in str(result.exception)
