"""`tinkerlab asapnet data | train | translate | bench`: a tiny run end to end, resume, --overwrite, error lines."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from tinkerlab.cli import main

TINY = ["--steps", "1", "--pairs", "3", "--size", "32"]


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("asapnet-cli")
    main(["asapnet", "train", "-o", str(folder / "run"), *TINY])
    main(["asapnet", "data", "facades", "-o", str(folder / "data"), "--n", "2", "--size", "32"])
    return folder


def test_data_train_translate(trained, capsys):
    from tinkerlab.asapnet.data import load_label_map
    from tinkerlab.core.images import load_image

    labels = trained / "data" / "labels" / "0000.png"
    assert load_label_map(labels).shape == (32, 32)
    code, out, _ = run_cli(["asapnet", "translate", str(labels), "--run", str(trained / "run")], capsys)
    assert code == 0 and "wrote" in out
    fast = load_image(trained / "run" / "outputs" / "0000.png")
    target = trained / "plain.png"
    run_cli(["asapnet", "translate", str(labels), "--run", str(trained / "run"), "--plain", "-o", str(target)], capsys)
    assert fast.shape == (32, 32, 3)
    assert np.abs(load_image(target) - fast).max() <= 1 / 255 + 1e-6  # the two paths agree (8-bit rounding)
    if importlib.util.find_spec("onnxruntime") and importlib.util.find_spec("onnx"):
        target = trained / "onnx.png"
        run_cli(
            ["asapnet", "translate", str(labels), "--run", str(trained / "run"), "--onnx", "-o", str(target)], capsys
        )
        assert np.abs(load_image(target) - fast).max() <= 1 / 255 + 1e-6


def test_train_resumes_refuses_another_config_and_overwrites(trained, capsys):
    run = str(trained / "run")
    code, out, _ = run_cli(["asapnet", "train", "-o", run, *TINY], capsys)
    assert code == 0 and "trained asapnet" in out  # finished: reused
    code, _, err = run_cli(["asapnet", "train", "-o", run, "--steps", "2", "--pairs", "3", "--size", "32"], capsys)
    assert code == 1 and err.startswith("error:") and "train.steps" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(["asapnet", "train", "-o", run, *TINY, "--overwrite"], capsys)
    assert code == 0 and list(trained.glob("run.previous-*"))


@pytest.mark.parametrize(
    "args,expected",
    [
        (["translate", "{data}/colour/0000.png", "--run", "{run}"], "single-channel label image"),
        (["translate", "{data}/missing.png", "--run", "{run}"], "does not exist"),
        (["translate", "{data}/labels/0000.png", "--run", "{data}"], "run"),
        (["translate", "{big}", "--run", "{run}"], "trained with 8 classes"),
        (["translate", "{odd}", "--run", "{run}"], "multiple of the 16-cell grid"),
        (["train", "-o", "{tmp}/x", "--data", "nowhere"], "expected facades | photos"),
        (["train", "-o", "{tmp}/x", "--data", "cmp:{tmp}/none"], "no such folder"),
        (["train", "-o", "{tmp}/x", *TINY, "--vgg-weights", "{tmp}/vgg.pth"], "VGG19 state-dict"),
    ],
)
def test_bad_input_is_one_error_line(trained, tmp_path, capsys, args, expected):
    from tinkerlab.asapnet.data import save_label_map

    save_label_map(np.full((32, 32), 12), tmp_path / "big.png")
    save_label_map(np.zeros((40, 40), np.int64), tmp_path / "odd.png")
    names = {
        "data": trained / "data",
        "run": trained / "run",
        "big": tmp_path / "big.png",
        "odd": tmp_path / "odd.png",
        "tmp": tmp_path,
    }
    code, _, err = run_cli(["asapnet", *(a.format(**names) for a in args)], capsys)
    assert code == 1 and err.startswith("error:") and len(err.strip().splitlines()) == 1
    assert expected in err


def test_bench_command_writes_ratios(tmp_path, capsys, monkeypatch):
    from tinkerlab.asapnet import speed
    from tinkerlab.asapnet.config import ASAPNetConfig, Pix2PixHDConfig

    tiny = {
        "asapnet": ASAPNetConfig(num_labels=3, lr_width=4, lr_max_width=8, lr_depth=1, hr_width=8, hr_depth=2),
        "pix2pixhd": Pix2PixHDConfig(num_labels=3, ngf=2, blocks=1),
    }
    monkeypatch.setattr(speed, "speed_configs", lambda widths: tiny)
    target = tmp_path / "bench.json"
    code, out, _ = run_cli(["asapnet", "bench", "--size", "32", "--repeats", "1", "-o", str(target)], capsys)
    assert code == 0 and "pix2pixhd/asapnet" in out
    report = json.loads(target.read_text())
    onnx = {"asapnet-onnx"} if speed.onnx_available() else set()
    assert {row["model"] for row in report["rows"]} == {"asapnet", "asapnet-fast", "pix2pixhd", *onnx}
    assert report["table"][0]["pix2pixhd/asapnet"] > 0


def test_cli_choices_match_the_api():
    import typing

    from tinkerlab.asapnet import cli
    from tinkerlab.asapnet.config import GENERATOR_NAMES, GeneratorName
    from tinkerlab.asapnet.data import DATA_FORMS

    assert cli.DATA_FORMS == DATA_FORMS
    assert typing.get_args(cli.Generator) == GENERATOR_NAMES == typing.get_args(GeneratorName)
