"""`tinkerlab desiderata run / report / check / example` on the toy model saved as a model folder."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

pytest.importorskip("transformers")

from tinkerlab.core.errors import InputError  # noqa: E402
from tinkerlab.desiderata.cli import app  # noqa: E402
from tinkerlab.desiderata.toy import BINDING, planted_model, toy_items, toy_tokenizer  # noqa: E402

runner = CliRunner()


@pytest.fixture(scope="module")
def toy_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("toy-model")
    planted_model().save_pretrained(folder)
    toy_tokenizer().save_pretrained(folder)
    return folder


def _spec(tmp_path, **mask):
    desiderata = []
    for name, kind in (("value_change", "value_change"), ("operation_invariance", "invariance")):
        items = toy_items(name, 48) + toy_items(name, 16, heldout=True)
        desiderata.append({"name": name, "kind": kind, "items": items})
    spec = {"desiderata": desiderata, "mask": {"epochs": 8, "seeds": 1, "random_draws": 20, **mask}}
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_run_then_report(tmp_path, toy_folder):
    spec, out = _spec(tmp_path), tmp_path / "run"
    result = runner.invoke(app, ["run", "--spec", str(spec), "--model", str(toy_folder), "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-2])
    assert summary["selected"] == [BINDING]
    assert json.loads((out / "state.json").read_text())["done"] is True
    again = runner.invoke(app, ["run", "--spec", str(spec), "--model", str(toy_folder), "--out", str(out)])
    assert again.exit_code == 0 and "joint_seed0: reused" in again.output  # resumed from the stage files
    report = runner.invoke(app, ["report", str(out)])
    assert report.exit_code == 0, report.output
    page = (out / "report.html").read_text()
    assert "data:image/png;base64," in page and "1 of 10 components" in page and "random, same size" in page
    changed = runner.invoke(
        app, ["run", "--spec", str(_spec(tmp_path, sparsity=0.05)), "--model", str(toy_folder), "--out", str(out)]
    )
    assert changed.exit_code != 0 and "config changed" in str(changed.exception)


def test_check_and_example(tmp_path, toy_folder):
    result = runner.invoke(app, ["check", "--spec", str(_spec(tmp_path)), "--model", str(toy_folder)])
    assert result.exit_code == 0 and ": ok" in result.output
    example = runner.invoke(app, ["example"])
    assert example.exit_code == 0 and "value_change" in example.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("desiderata:\n  - name: x\n    kind: telepathy\n    items: []\n")
    result = runner.invoke(app, ["check", "--spec", str(bad), "--model", str(toy_folder)])
    assert isinstance(result.exception, InputError) and "line 2, desideratum 'x': unknown kind" in str(result.exception)


def test_report_of_an_empty_folder_says_what_to_do(tmp_path):
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert isinstance(result.exception, InputError) and "tinkerlab desiderata run" in str(result.exception)
