"""`tinkerlab maia ...` and the runs behind it: describe (scripted agent and baselines), synthetic, evaluate and
exemplars on small probe sets, resume and --overwrite, bad input as one error line, and the evaluation itself."""

from __future__ import annotations

import json
import typing

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from tinkerlab.cli import app, main
from tinkerlab.maia import cli as maia_cli
from tinkerlab.maia import runs
from tinkerlab.maia.evaluate import offline_prompts, predictive_evaluation, synthetic_accuracy
from tinkerlab.maia.subjects import SyntheticSubject
from tinkerlab.maia.synthetic import SYNTHETIC_NEURONS, synthetic_neuron
from tinkerlab.maia.tools import ProceduralGenerator
from tinkerlab.vision.units import VisionModel, imagenet_preprocess

TINY = "python:tiny_maia_net:make"
PROBE = ["--probe-images", "30"]


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("TINKERLAB_CACHE", str(tmp_path_factory.getbasetemp() / "maia-cache"))
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 6, 5, stride=4), torch.nn.ReLU(), torch.nn.Conv2d(6, 8, 3)).eval()
    monkeypatch.setitem(runs._MODELS, (TINY, "cpu"), VisionModel(net, imagenet_preprocess(64), TINY, {"late": "2"}))


def invoke(args: list[str]):
    result = CliRunner().invoke(app, ["maia", *args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def error_line(args: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(["maia", *args])
    assert exit_info.value.code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def test_cli_lists_match_the_api():
    assert maia_cli.METHODS == runs.METHODS
    assert set(typing.get_args(runs.Method)) == set(runs.METHODS)


def test_describe_with_a_scripted_agent_resumes_and_overwrites(tmp_path):
    replies = tmp_path / "replies.json"
    replies.write_text(
        json.dumps(
            [
                "```python\nacts, images = tools.dataset_exemplars(5)\nprint(acts)\n"
                "print(tools.summarize_images(images))\n```",
                "```python\nprint(system.call_neuron(tools.text2image(['a large blue star', 'a red cup']))[0])\n```",
                "[DESCRIPTION]: stars\n[LABEL]: stars",
            ]
        )
    )
    out = tmp_path / "run"
    args = ["describe", "--synthetic", "star", "--method", "agent", "--agent", f"scripted:{replies}", *PROBE]
    text = invoke([*args, "--out", str(out)])
    assert "synthetic/mono/star (agent): stars" in text
    record = json.loads((out / "outputs/description.json").read_text())
    assert record["positive"] > 0.5 > record["neutral"] and record["rounds"] == 3
    page = (out / "outputs/report/agent/report.html").read_text()
    assert "round 2" in page and "ground truth" in page
    assert (out / "transcript.jsonl").read_text().count("\n") == 3
    again = invoke([*args, "--out", str(out)])  # resumed: the same answer, the replies are not asked again
    assert again == text and "resumed run" in (out / "run.log").read_text()
    invoke([*args, "--out", str(out), "--overwrite"])
    assert list(tmp_path.glob("run.previous-*"))


def test_describe_a_unit_with_the_experimenter(tmp_path):
    out = tmp_path / "unit"
    text = invoke(["describe", "--model", TINY, "--layer", "late", "--unit", "3", "--method", "experimenter", *PROBE,
                   "--out", str(out)])  # fmt: skip
    assert "/late/3 (experimenter):" in text and "predictive evaluation: positive" in text
    record = json.loads((out / "outputs/description.json").read_text())
    assert record["images_scored"] > 100 and record["extra"]["effects"]
    assert (out / "outputs/report/report.html").exists()


def test_synthetic_run_judges_against_ground_truth_and_resumes(tmp_path, monkeypatch):
    out = tmp_path / "synthetic"
    args = ["synthetic", "--neuron", "star", "--neuron", "car_house", "--methods", "exemplar,random", *PROBE]
    text = invoke([*args, "--out", str(out)])
    assert "exemplar-only (baseline) | 2 |" in text and "random concept (control) | 2 |" in text
    records = [json.loads(line) for line in (out / "outputs/records.jsonl").read_text().splitlines()]
    assert len(records) == 4 and all(0 <= r["similarity"] <= 1.0001 for r in records)
    exemplar = {r["key"]: r for r in records if r["method"] == "exemplar"}
    assert exemplar["star"]["extra"]["counts"]["star"] >= 1 and exemplar["star"]["description"]  # counted stars
    results = json.loads((out / "outputs/results.json").read_text())
    assert {row["method"] for row in results["summary"]} == {"exemplar", "random"}
    assert set(results["similarity_by_mode"]["exemplar"]) == {"mono", "or"}

    def fail(job):
        raise AssertionError("a finished subject ran again")

    monkeypatch.setattr(runs, "explain_job", fail)
    assert invoke([*args, "--out", str(out)]) == text


@pytest.mark.slow
def test_the_experimenter_on_mono_or_and_and_neurons(tmp_path):
    out = tmp_path / "synthetic"
    invoke(["synthetic", "--neuron", "star", "--neuron", "car_house", "--neuron", "star_night",
            "--methods", "experimenter", "--probe-images", "300", "--out", str(out)])  # fmt: skip
    records = {json.loads(line)["key"]: json.loads(line) for line in (out / "outputs/records.jsonl").open()}
    assert records["star"]["description"] == "stars" and records["star"]["nearest_is_truth"]
    assert records["car_house"]["nearest_is_truth"]
    assert records["star_night"]["description"]  # AND neurons are the hard case (see docs/maia.md)


def test_evaluate_units_of_a_small_model(tmp_path):
    out = tmp_path / "evaluate"
    text = invoke(["evaluate", "--model", TINY, "--layer", "late", "--units", "2", "--methods", "exemplar,random",
                   *PROBE, "--out", str(out)])  # fmt: skip
    assert "exemplar-only (baseline) | 2 |" in text
    records = [json.loads(line) for line in (out / "outputs/records.jsonl").read_text().splitlines()]
    assert {r["key"] for r in records} == {f"late/{u}" for u in runs.choose_units(8, 2, 0)}
    assert all(len(r["extra"]["positive_prompts"]) == 7 for r in records)


def test_exemplars_pictures_and_table(tmp_path):
    out = tmp_path / "exemplars"
    text = invoke(["exemplars", "--model", TINY, "--layer", "late", "--unit", "1", "--unit", "4", "--k", "6", *PROBE,
                   "--out", str(out)])  # fmt: skip
    assert "unit 1: threshold" in text and "unit 4" in text
    assert (out / "outputs/unit_0001.png").exists() and (out / "outputs/unit_0004.png").exists()
    records = json.loads((out / "outputs/exemplars.json").read_text())
    assert [len(r["activations"]) for r in records] == [6, 6]
    assert records[0]["activations"] == sorted(records[0]["activations"], reverse=True)


def test_bad_input_is_one_error_line(tmp_path, capsys):
    out = str(tmp_path / "x")
    assert "valid layers: late" in error_line(["evaluate", "--model", TINY, "--layer", "middle", "--out", out], capsys)
    assert "layer late has 8" in error_line(["describe", "--model", TINY, "--layer", "late", "--unit", "9",
                                             "--out", out], capsys)  # fmt: skip
    assert "unknown synthetic neuron 'zebra'" in error_line(["describe", "--synthetic", "zebra", "--out", out], capsys)
    assert "comma-separated subset" in error_line(["synthetic", "--methods", "oracle", "--out", out], capsys)
    assert "efficientnet-lite0 | torchvision" in error_line(["describe", "--model", "vgg", "--out", out], capsys)
    assert "k must be in 1..30" in error_line(["exemplars", "--k", "31", *PROBE, "--out", out], capsys)


def test_predictive_evaluation_separates_the_truth_from_a_wrong_description():
    subject = SyntheticSubject(synthetic_neuron("fish"))
    right = predictive_evaluation(subject, ProceduralGenerator(), "fish")
    wrong = predictive_evaluation(subject, ProceduralGenerator(), "red houses")
    assert right.gap > 0.5 and abs(wrong.gap) < 0.2
    assert len(right.positive_prompts) == len(right.neutral_prompts) == 7
    positive, neutral = offline_prompts("circles or squares", 4)
    assert [("circle" in p, "square" in p) for p in positive] == [(True, False), (False, True)] * 2
    assert not any("circle" in p or "square" in p for p in neutral)


def test_the_embedding_judge_ranks_the_truth_first():
    words = sorted({w for n in SYNTHETIC_NEURONS for w in n.description.split()})

    def bag_of_words(texts):  # a stand-in encoder: unit word-count vectors
        vectors = np.array([[t.split().count(w) for w in words] for t in texts], np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)

    scores = synthetic_accuracy({"star": "stars", "car_house": "a ring"}, SYNTHETIC_NEURONS, bag_of_words)
    by = {s.neuron: s for s in scores}
    assert by["star"].nearest_is_truth and by["star"].similarity == pytest.approx(1.0)
    assert not by["car_house"].nearest_is_truth and by["car_house"].similarity == 0.0
