"""The two applications on tiny sizes: the planted-cue data, the classifier's hidden units as subjects, unit removal,
the failure-mode rule, and that the reported numbers are recomputed from real predictions."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from tinkerlab.cli import app, main
from tinkerlab.maia import applications as ap
from tinkerlab.maia import scenes

TINY = ap.CueData(train=40, test=16, probe=20, hidden=4, epochs=2, size=32)


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("TINKERLAB_CACHE", str(tmp_path_factory.getbasetemp() / "maia-cache"))


def invoke(args: list[str]) -> str:
    result = CliRunner().invoke(app, ["maia", *args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


TINY_ARGS = ["--train-images", "40", "--hidden", "4", "--epochs", "2"]


def test_cue_scenes_plant_the_cue():
    data = ap.CueData()
    train, labels, agrees = ap.cue_scenes(400, 0.9, data, seed=1)
    assert abs(labels.mean() - 0.5) < 0.01
    assert 0.85 < agrees.mean() < 0.95
    for scene, label, agree in zip(train, labels, agrees, strict=True):
        (obj,) = scene.objects
        assert obj.kind == data.classes[label]
        assert (scene.background == data.cues[label]) == agree
    flipped, labels, agrees = ap.cue_scenes(50, 0.0, data, seed=2)
    assert not agrees.any()
    assert all(s.background == data.cues[1 - y] for s, y in zip(flipped, labels, strict=True))


def test_balanced_accuracy_is_the_mean_recall():
    y = np.array([0, 0, 0, 0, 1, 1])
    p = np.array([0, 0, 0, 1, 0, 0])
    assert ap.balanced_accuracy(y, p) == pytest.approx((3 / 4 + 0 / 2) / 2)


def test_hidden_unit_reads_its_channel_and_removal_zeroes_it():
    torch.manual_seed(0)
    net = ap.make_classifier(4).eval()
    images = [scenes.render_image(s) for s in ap.cue_scenes(3, 1.0, TINY, seed=0)[0]]
    x = ap._pixels(images, 32)
    with torch.no_grad():
        maps = net.maps(x)
        manual = maps[:, 2].amax(dim=(1, 2)).numpy()
        zeroed = maps.clone()
        zeroed[:, 1] = 0
        manual_logits = net.head(zeroed.mean(dim=(2, 3))).argmax(1).numpy()
    values, masked = ap.HiddenUnit(net, 2, 32).call_neuron(images)
    assert np.allclose(values, np.round(manual, 2))
    assert len(masked) == 3 and masked[0].size == images[0].size
    keep = np.array([1, 0, 1, 1], np.float32)
    assert (ap.predict(net, images, 32, keep) == manual_logits).all()


def test_name_failure_mode_finds_the_planted_pair():
    rng = np.random.default_rng(0)
    concepts, errors = [], []
    for _ in range(200):
        kind, background = rng.choice(["circle", "triangle"]), rng.choice(["grass", "sand"])
        concepts.append({str(kind), str(background), "red"})
        errors.append((kind, background) == ("circle", "sand") and rng.random() < 0.9)
    rules = ap.name_failure_mode(concepts, np.array(errors), min_support=3)
    assert rules[0] == ("circle", "sand")


def test_spurious_run_numbers_come_from_predictions(tmp_path):
    out = tmp_path / "sp"
    text = invoke(
        ["spurious", *TINY_ARGS, "--test-images", "16", "--probe-images", "20", "--draws", "2"] + ["--out", str(out)]
    )
    assert "balanced acc., cue-flipped" in text
    record = json.loads((out / "outputs" / "spurious.json").read_text())
    assert len(record["descriptions"]) == 4
    for unit in record["cue_units"]:
        assert any(cue in record["descriptions"][str(unit)] for cue in ("grass", "sand"))
    net = ap.make_classifier(4)
    net.load_state_dict(torch.load(out / "checkpoints" / "classifier.pt", weights_only=True))
    net.eval()
    data = ap.CueData(**{**record["config"]["data"], "classes": ("circle", "triangle"), "cues": ("grass", "sand")})
    splits = ap._splits(data)
    none, removed = record["rows"][0], record["rows"][1]
    for name, (images, labels) in splits.items():
        assert none[name][0] == pytest.approx(ap.balanced_accuracy(labels, ap.predict(net, images, data.size)))
        keep = np.ones(4, np.float32)
        keep[record["cue_units"]] = 0
        assert removed[name][0] == pytest.approx(ap.balanced_accuracy(labels, ap.predict(net, images, data.size, keep)))
    for row in record["rows"]:
        if row["removed"].startswith("random"):
            draws = record["random_draws"][str(row["units"])]
            assert len(draws) == 2
            assert row["cue-flipped"][0] == pytest.approx(np.mean([d["cue-flipped"] for d in draws]))
    tested = [u for u, e in record["cue_effects"].items() if max(abs(e["grass"]), abs(e["sand"])) > 0.25]
    assert sorted(map(int, tested)) == record["tested_units"]
    again = invoke(
        ["spurious", *TINY_ARGS, "--test-images", "16", "--probe-images", "20", "--draws", "2"] + ["--out", str(out)]
    )
    assert again == text  # resumed from the finished run


def test_misclassified_run_numbers_come_from_predictions(tmp_path):
    out = tmp_path / "mc"
    text = invoke(["misclassified", *TINY_ARGS, "--split-images", "40", "--draws", "3", "--out", str(out)])
    assert "base error rate" in text
    record = json.loads((out / "outputs" / "misclassified.json").read_text())
    net = ap.make_classifier(4)
    net.load_state_dict(torch.load(out / "checkpoints" / "classifier.pt", weights_only=True))
    net.eval()
    data = ap.CueData(train=40, hidden=4, epochs=2, test=1, probe=1)
    split, labels, _ = ap.cue_scenes(40, 0.5, data, seed=data.seed + 4000)
    images = [scenes.render_image(s) for s in split]
    errors = ap.predict(net, images, data.size) != labels
    assert record["base_error_rate"] == pytest.approx(errors.mean())
    from tinkerlab.maia.tools import LabelDescriber

    flags = ap._flags(ap.image_concepts(LabelDescriber(), images), [tuple(r) for r in record["rules"]])
    assert record["flagged"] == int(flags.sum())
    if flags.any():
        assert record["precision"] == pytest.approx(errors[flags].mean())
    if errors.any():
        assert record["recall"] == pytest.approx((flags & errors).sum() / errors.sum())


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["spurious", "--classes", "circle"], "two comma-separated"),
        (["misclassified", "--cues", "grass,mud"], "backgrounds"),
    ],
)
def test_bad_input_is_one_error_line(args, expected, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["maia", *args, "--out", str(tmp_path / "run")])
    assert exit_info.value.code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], lines


def test_spurious_with_a_scripted_agent(tmp_path):
    replies = tmp_path / "replies.json"
    replies.write_text(
        json.dumps(
            [
                "```python\nprint(system.call_neuron(tools.text2image(['a red cup on sand', 'a cup on grass']))[0])"
                "\n```",
                "[DESCRIPTION]: sand backgrounds\n[LABEL]: sand backgrounds",
            ]
        )
    )
    out = tmp_path / "sp"
    args = ["spurious", "--train-images", "20", "--hidden", "2", "--epochs", "1", "--test-images", "8"]
    text = invoke([*args, "--probe-images", "10", "--draws", "2", "--agent", f"scripted:{replies}", "--out", str(out)])
    record = json.loads((out / "outputs" / "spurious.json").read_text())
    assert record["descriptions"] == {"0": "sand backgrounds", "1": "sand backgrounds"}
    assert record["cue_units"] == [0, 1] and "described as the cue (agent)" in text
    removed = record["rows"][1]
    assert removed["units"] == 2 and removed["cue-flipped"][0] == pytest.approx(0.5)  # no hidden unit left: one class


def test_misclassified_with_a_scripted_chat_model(tmp_path):
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps(["The errors: [RULE]: circles, sand\n[RULE]: triangle and grass and snow\nthanks"]))
    out = tmp_path / "mc"
    args = ["misclassified", *TINY_ARGS, "--split-images", "30", "--draws", "2"]
    text = invoke([*args, "--agent", f"scripted:{replies}", "--out", str(out)])
    record = json.loads((out / "outputs" / "misclassified.json").read_text())
    assert record["rules"] == [["circle", "sand"], ["triangle", "grass"]]
    assert record["named_by"] == f"scripted:{replies}" and "[RULE]" in record["agent_reply"]
    assert "circles on sand backgrounds or triangles on grass backgrounds" in text
    assert "misclassified:" in (out / "transcript.jsonl").read_text()  # the model saw the described errors
