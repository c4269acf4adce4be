"""`tinkerlab blend train|sample|morph|meld|fuse` end to end on tiny settings, and their one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from tinkerlab.blend.cli import app
from tinkerlab.core.errors import InputError
from tinkerlab.core.images import save_image

runner = CliRunner()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("blend_cli")
    rng = np.random.default_rng(0)
    first, second = folder / "a.png", folder / "b.png"
    save_image(rng.random((24, 32, 3)).astype(np.float32), first)
    stripes = np.zeros((30, 30, 3), np.float32)
    stripes[:, ::3] = 1.0
    save_image(stripes, second)
    out = folder / "run"
    args = ["train", str(first), str(second), "--out", str(out), "--iterations", "1", "--max-size", "24"]
    result = runner.invoke(app, [*args, "--scales", "2", "--min-size", "14"])
    assert result.exit_code == 0, result.output
    assert "centre-cropped to a.png's aspect ratio (24x32): b.png 30x30 -> 22x30" in result.output
    return folder, out


def test_train_then_every_mode_writes_pictures(run):
    folder, out = run
    for args, pattern in [
        (["sample", str(out), "--image", "1", "--n", "2"], "samples/image1_seed0_grid.png"),
        (["morph", str(out), "--a", "0", "--b", "1", "--steps", "3"], "morph/a0_b1_seed0_grid.png"),
        (["meld", str(out), "--n", "1"], "meld/ramp_a0_b1_seed0_grid.png"),
        (["fuse", str(out), "--structure", "1", "--texture", "0", "--n", "1"], "fuse/s1_t0_image_seed0_grid.png"),
    ]:
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert (out / "outputs" / pattern).is_file(), pattern
    mask = np.zeros((18, 24), np.float32)
    mask[:, 12:] = 1.0
    save_image(mask, folder / "mask.png")
    result = runner.invoke(app, ["meld", str(out), "--map", str(folder / "mask.png"), "--n", "1"])
    assert result.exit_code == 0, result.output
    weights = np.stack([1 - mask, mask])
    np.save(folder / "map.npy", weights)
    assert runner.invoke(app, ["meld", str(out), "--map", str(folder / "map.npy"), "--n", "1"]).exit_code == 0


def test_bad_inputs_are_one_line_errors(run):
    folder, out = run
    result = runner.invoke(app, ["sample", str(out), "--image", "2"])
    assert isinstance(result.exception, InputError) and "expected an image index in 0..1" in str(result.exception)
    save_image(np.zeros((10, 10), np.float32), folder / "small.png")
    result = runner.invoke(app, ["meld", str(out), "--map", str(folder / "small.png")])
    assert "expected a meld map of the model's size 18x24 (height x width), got 10x10" in str(result.exception)
    np.save(folder / "three.npy", np.full((3, 18, 24), 1 / 3, np.float32))
    result = runner.invoke(app, ["meld", str(out), "--map", str(folder / "three.npy")])
    assert "expected a .npy map of shape (2, 18, 24)" in str(result.exception)
    result = runner.invoke(app, ["train", str(folder / "a.png"), "--out", str(folder / "one")])
    assert "expected at least 2 images, got 1" in str(result.exception)
    result = runner.invoke(
        app, ["train", str(folder / "a.png"), str(folder / "b.png"), "--out", str(folder / "nc"), "--no-crop"]
    )
    assert "expected width/height 1.333 (24x32), got 1.000 for b.png (30x30)" in str(result.exception)
