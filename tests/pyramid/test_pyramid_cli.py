"""`tinkerlab pyramid train|sample` end to end on tiny settings."""

from __future__ import annotations

from typer.testing import CliRunner

from tinkerlab.core.images import load_image
from tinkerlab.pyramid.cli import app

runner = CliRunner()


def test_train_then_sample_at_another_size(tmp_path):
    run = tmp_path / "run"
    result = runner.invoke(
        app,
        [
            "train",
            "sample:brick",
            "--out",
            str(run),
            "--iterations",
            "2",
            "--max-size",
            "32",
            "--scales",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "trained 3 scales" in result.output
    assert (run / "outputs" / "scales" / "scale_2_reconstruction.png").exists()
    result = runner.invoke(app, ["sample", str(run), "--n", "2", "--size", "24x48"])
    assert result.exit_code == 0, result.output
    samples = sorted((run / "outputs" / "samples").glob("sample_24x48_*.png"))
    assert len(samples) == 2 and load_image(samples[0]).shape == (24, 48, 3)
