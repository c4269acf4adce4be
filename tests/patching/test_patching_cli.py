"""`tinkerlab patching sites`: the site grammar of a model, read from its architecture map."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

pytest.importorskip("transformers")

from tinkerlab.patching.cli import app  # noqa: E402
from tinkerlab.patching.models import tiny_model  # noqa: E402

runner = CliRunner()


def test_sites_of_a_tiny_llama_name_every_site_with_its_module():
    result = runner.invoke(app, ["sites", "tiny:llama", "--layer", "1"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert "3 layers, 4 heads (2 key/value heads)" in lines[0]
    assert any(line.split()[:3] == ["layers.1.attn.k", "[B,", "S,"] and "self_attn.k_proj" in line for line in lines)
    assert len(lines) == 1 + 9


def test_sites_of_a_saved_model_folder(tmp_path):
    tiny_model("gpt2").save_pretrained(tmp_path / "gpt2")
    result = runner.invoke(app, ["sites", str(tmp_path / "gpt2")])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("GPT-2 (gpt2): 3 layers")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sites", "tiny:bogus"], "expected tiny:FAMILY"),
        (["sites", "tiny:llama", "--layer", "7"], "--layer must be in [0, 2]"),
    ],
)
def test_sites_errors(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code != 0
    assert message in str(result.exception)


def test_sites_of_a_folder_without_a_model(tmp_path):
    result = runner.invoke(app, ["sites", str(tmp_path)])
    assert "is not a transformers model folder" in str(result.exception)
