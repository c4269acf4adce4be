"""`tinkerlab idc complete` end to end on tiny settings, and its one-line errors."""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from tinkerlab.core.images import save_image
from tinkerlab.idc.cli import app

runner = CliRunner()


def test_complete_writes_n_completions_and_reuses_the_run(tmp_path):
    image = tmp_path / "photo.png"
    mask = tmp_path / "mask.png"
    rng = np.random.default_rng(0)
    save_image(rng.random((32, 32, 3)).astype(np.float32), image)
    hole = np.zeros((32, 32), np.float32)
    hole[12:18, 12:18] = 1
    save_image(hole, mask)
    run = tmp_path / "run"
    args = [
        "complete",
        str(image),
        str(mask),
        "--out",
        str(run),
        "--n",
        "3",
        "--diversity",
        "6",
        "--iterations",
        "2",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert len(list((run / "outputs" / "completions").glob("completion_d6_*.png"))) == 3
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "resumed run" in (run / "run.log").read_text()


def test_bad_mask_size_is_a_clear_error(tmp_path):
    image = tmp_path / "photo.png"
    mask = tmp_path / "mask.png"
    save_image(np.zeros((32, 32, 3), np.float32), image)
    save_image(np.ones((16, 32), np.float32), mask)
    result = runner.invoke(
        app, ["complete", str(image), str(mask), "--out", str(tmp_path / "run"), "--iterations", "1"]
    )
    assert result.exit_code != 0
    assert "expected 32x32, got 16x32" in str(result.exception)


def test_box_mask_argument(tmp_path):
    result = runner.invoke(app, ["complete", "sample:brick", "box:0.9,0.2,0,1", "--out", str(tmp_path / "run")])
    assert result.exit_code != 0
    assert "box:TOP,BOTTOM,LEFT,RIGHT" in str(result.exception)
