"""`tinkerlab pyramid train` into a folder that already holds a run: resume, refusal, --overwrite, damaged files."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from tinkerlab.core.errors import InputError, ResumeError
from tinkerlab.core.images import load_image, save_image
from tinkerlab.pyramid import singan
from tinkerlab.pyramid.cli import app
from tinkerlab.pyramid.scales import tensor_to_image

runner = CliRunner()
TINY = ["--max-size", "24", "--scales", "2"]


def assert_red(image: np.ndarray) -> None:
    red, green, blue = image.reshape(-1, 3).mean(axis=0)
    assert red > 0.7 and green < 0.3 and blue < 0.3, (red, green, blue)


def test_overwrite_trains_a_new_model_of_the_new_image(tmp_path):
    red = np.zeros((24, 24, 3), np.float32)
    red[..., 0] = 1.0
    save_image(red, tmp_path / "red.png")
    run = tmp_path / "R"
    args = [*TINY, "--iterations", "10"]
    first = runner.invoke(app, ["train", "sample:brick", "--out", str(run), *args])
    assert first.exit_code == 0, first.output

    refused = runner.invoke(app, ["train", str(tmp_path / "red.png"), "--out", str(run), *args])
    assert isinstance(refused.exception, ResumeError)
    message = str(refused.exception)
    assert "inputs changed: input_sha1" in message and "config changed" not in message and "\n" not in message

    second = runner.invoke(app, ["train", str(tmp_path / "red.png"), "--out", str(run), *args, "--overwrite"])
    assert second.exit_code == 0, second.output
    log = (run / "run.log").read_text()
    assert log.splitlines()[0].endswith(f"moved to {next(tmp_path.glob('R.previous-*'))}")
    assert "scale 0 iteration 0:" in log and "resumed run" not in log and "loaded from checkpoint" not in log
    assert_red(load_image(run / "input.png"))
    assert_red(load_image(run / "outputs" / "scales" / "scale_0_real.png"))

    model = singan.load(run)
    for real in model.reals:
        assert_red(tensor_to_image(real))
    for sample in model.sample(3, seed=0) + model.sample(2, size=(30, 40), seed=1):
        assert_red(sample)
    (previous,) = tmp_path.glob("R.previous-*")
    assert not np.allclose(load_image(previous / "input.png"), load_image(run / "input.png"))


def test_damaged_state_and_checkpoints_are_one_line_errors(tmp_path):
    run = tmp_path / "R"
    args = ["train", "sample:brick", "--out", str(run), *TINY, "--iterations", "1"]
    assert runner.invoke(app, args).exit_code == 0
    state = (run / "state.json").read_text()

    (run / "state.json").write_text(state[: len(state) // 2])
    result = runner.invoke(app, args)
    assert isinstance(result.exception, ResumeError)
    assert "state.json is damaged" in str(result.exception) and "--overwrite" in str(result.exception)

    (run / "state.json").write_text(json.dumps({"finished_scales": 2, "num_scales": 2}))
    checkpoint = run / "checkpoints" / "scale_1.pt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:200])
    result = runner.invoke(app, args)
    assert isinstance(result.exception, ResumeError)
    assert "scale_1.pt cannot be read" in str(result.exception) and "\n" not in str(result.exception)

    (run / "state.json").write_text(json.dumps({"finished_scales": 2, "num_scales": 2, "done": True}))
    result = runner.invoke(app, ["sample", str(run), "--n", "1"])
    assert isinstance(result.exception, InputError) and "scale_1.pt cannot be read" in str(result.exception)

    assert runner.invoke(app, [*args, "--overwrite"]).exit_code == 0
    assert singan.load(run).pyramid.num_scales == 2


def test_out_that_is_a_file_and_a_folder_that_is_not_a_run(tmp_path):
    (tmp_path / "file").write_text("x")
    result = runner.invoke(app, ["train", "sample:brick", "--out", str(tmp_path / "file"), *TINY])
    assert isinstance(result.exception, InputError) and "is a file" in str(result.exception)
    result = runner.invoke(app, ["sample", str(tmp_path / "nothing")])
    assert isinstance(result.exception, InputError)
    assert "expected" in str(result.exception) and "tinkerlab pyramid train" in str(result.exception)
