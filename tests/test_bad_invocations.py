"""Mistakes a new user makes, run through the console entry point `tinkerlab.cli.main`: each prints exactly one
`error:` line on stderr (what was expected, what came, what to do) and exits with status 1, never a traceback.

Command-line mistakes that click itself finds (an unknown option or command, a bad choice, a missing argument)
are printed by `main()` the same way, as one `error:` line with exit status 1, instead of click's usage box with
status 2: a user cannot tell the two kinds of mistake apart, so they read the same.

Every case fails before a model is loaded or trained, so the table runs in seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tinkerlab.cli import main
from tinkerlab.find.suite import SUITE_VERSION

DRAWING = (
    "<answer><concept>boat</concept><strokes>"
    "<s1><points>'x10y15', 'x25y8', 'x40y15'</points><t_values>0, 0.5, 1</t_values><id>hull</id></s1>"
    "</strokes></answer>"
)
SUITE_HEADER = {
    "format": "tinkerlab-find-suite",
    "version": SUITE_VERSION,
    "seed": 0,
    "lm": "local",
    "counts": {"numeric": 1},
}


def _replies(tmp: Path) -> Path:
    path = tmp / "replies.json"
    path.write_text(json.dumps([DRAWING, DRAWING]))
    return path


def _sketch_run(tmp: Path) -> Path:
    from tinkerlab.sketch.runs import DrawConfig, draw_run

    run = tmp / "drawing"
    draw_run(DrawConfig("boat", model=f"scripted:{_replies(tmp)}"), run)
    return run


def _files(tmp: Path) -> dict[str, str]:
    """The paths the table's command lines name ({blob}, {folder}, ...), made in `tmp`."""
    blob = tmp / "blob.bin"
    blob.write_bytes(bytes(range(256)) * 4)  # not UTF-8 text
    folder = tmp / "some-dir"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a model\n")
    script = tmp / "ok.py"
    script.write_text("print('hi')\n")
    sketch = tmp / "sketch.txt"
    sketch.write_text(DRAWING)
    cut = tmp / "cut-suite"
    cut.mkdir()
    (cut / "suite.json").write_text(json.dumps(SUITE_HEADER))
    functions = json.dumps({"functions": [{"id": "f00000", "description": "x" * 200}]})
    (cut / "numeric.json").write_text(functions[: len(functions) // 2])  # cut in half
    cut_header = tmp / "cut-header"
    cut_header.mkdir()
    header = json.dumps(SUITE_HEADER)
    (cut_header / "suite.json").write_text(header[: len(header) // 2])
    return {
        "tmp": str(tmp),
        "blob": str(blob),
        "folder": str(folder),
        "script": str(script),
        "sketch": str(sketch),
        "replies": str(_replies(tmp)),
        "cut_suite": str(cut),
        "cut_header": str(cut_header),
        "nothing": str(tmp / "nothing"),
    }


# (id, command line, a piece of the message). Placeholders name the files `_files` makes; {drawing} is a finished
# sketch run and {broken_state} one whose state.json is damaged.
CASES = [
    ("sketch-bad-preset", ["sketch", "draw", "cat", "--preset", "bogus", "--out", "{tmp}/r"], "'auto', 'full'"),
    ("sketch-render-binary", ["sketch", "render", "{blob}", "--out", "{tmp}/x.png"], "binary data"),
    ("sketch-render-folder", ["sketch", "render", "{folder}", "--out", "{tmp}/x.png"], "is a folder"),
    ("sketch-render-missing", ["sketch", "render", "{nothing}", "--out", "{tmp}/x.png"], "does not exist"),
    ("sketch-render-bad-suffix", ["sketch", "render", "{sketch}", "--out", "{tmp}/x.bogus"], ".svg, .png"),
    (
        "sketch-render-bad-colour",
        ["sketch", "render", "{sketch}", "--out", "{tmp}/x.png", "--colors", "bogus"],
        "colour",
    ),
    ("sketch-draw-blank", ["sketch", "draw", "  ", "--out", "{tmp}/r"], "a concept to draw"),
    ("sketch-edit-blank", ["sketch", "edit", "{drawing}", "  "], "an editing instruction"),
    ("sketch-edit-missing-run", ["sketch", "edit", "{nothing}", "add a sun"], "sketch draw"),
    ("sketch-draw-out-file", ["sketch", "draw", "cat", "--model", "scripted:{replies}", "--out", "{script}"], "file"),
    (
        "sketch-draw-out-drawing",
        ["sketch", "draw", "boat", "--model", "scripted:{replies}", "--out", "{drawing}"],
        "--overwrite",
    ),
    (
        "sketch-edit-broken-state",
        ["sketch", "edit", "{broken_state}", "add a sun", "--model", "scripted:{replies}"],
        "state.json",
    ),
    ("sketch-bad-recognizer", ["sketch", "evaluate", "--recognizer", "bogus"], "clip:ARCH:WEIGHTS"),
    ("circuits-unknown-step", ["circuits", "run", "--step", "nosuchstep", "--out", "{tmp}/c"], "pp_base"),
    ("circuits-step-too-early", ["circuits", "run", "--step", "overlap", "--out", "{tmp}/fresh"], "have not run"),
    (
        "circuits-path-patch-folder",
        ["circuits", "path-patch", "--model", "{folder}", "--out", "{tmp}/c"],
        "base | finetuned",
    ),
    ("circuits-data-folder", ["circuits", "data", "--model", "local:{folder}"], "config.json"),
    ("circuits-data-bad-kind", ["circuits", "data", "--kind", "bogus"], "path-patching"),
    ("circuits-report-missing", ["circuits", "report", "{nothing}"], "no circuits results"),
    ("demo-only-bogus", ["demo", "--only", "bogus", "--out", "{tmp}/g"], "sketch"),
    ("sandbox-run-binary", ["sandbox", "run", "{blob}"], "binary data"),
    ("sandbox-run-missing", ["sandbox", "run", "{nothing}"], "not a file"),
    ("sandbox-missing-data-file", ["sandbox", "run", "{script}", "--file", "{nothing}"], "existing file"),
    (
        "llm-transcript-folder",
        ["llm", "chat", "hi", "--model", "scripted:{replies}", "--transcript", "{folder}"],
        "folder",
    ),
    (
        "llm-transcript-under-file",
        ["llm", "chat", "hi", "--model", "scripted:{replies}", "--transcript", "{script}/t"],
        "is a file",
    ),
    ("llm-bad-spec", ["llm", "chat", "hi", "--model", "nonsense"], "openai:MODEL"),
    ("llm-bad-base-url", ["llm", "chat", "hi", "--model", "openai:m", "--base-url", "not-a-url"], "http://"),
    (
        "sketch-bad-base-url",
        ["sketch", "draw", "cat", "--model", "openai:m", "--base-url", "not-a-url", "--out", "{tmp}/r"],
        "not-a-url",
    ),
    ("llm-bad-timeout", ["llm", "chat", "hi", "--model", "scripted:{replies}", "--timeout", "0"], "--timeout"),
    ("llm-missing-image", ["llm", "chat", "hi", "--model", "scripted:{replies}", "--image", "{nothing}.png"], "exist"),
    ("find-cut-suite", ["find", "run", "{cut_suite}", "--out", "{tmp}/fr"], "damaged"),
    ("find-cut-suite-header", ["find", "run", "{cut_header}", "--out", "{tmp}/fr"], "damaged"),
    ("find-no-suite", ["find", "run", "{nothing}"], "find build"),
    ("find-baseline-with-model", ["find", "run", "{nothing}", "--interpreter", "fit", "--model", "local"], "agent"),
    ("find-bad-interpreter", ["find", "run", "{nothing}", "--interpreter", "bogus"], "agent:SPEC"),
    ("find-bad-readout", ["find", "build", "--out", "{tmp}/s", "--entity-readout", "bogus"], "association"),
    ("find-bad-category", ["find", "build", "--out", "{tmp}/s", "--categories", "numeric,bogus"], "numeric, strings"),
    ("find-remote-function-lm", ["find", "build", "--out", "{tmp}/s", "--lm", "openai:gpt-4o"], "local:PATH"),
    ("find-score-missing", ["find", "score", "{nothing}"], "find run"),
    ("find-score-twice", ["find", "score", "{tmp}/a", "--run", "{tmp}/b"], "once"),
    ("find-score-no-run", ["find", "score"], "RUN"),
    ("find-report-missing", ["find", "report", "{nothing}"], "find score"),
    ("pyramid-bad-device", ["pyramid", "train", "sample:brick", "--out", "{tmp}/p", "--device", "tpu"], "cuda:N"),
    ("pyramid-device-not-here", ["pyramid", "sample", "{nothing}", "--device", "cuda:7"], "cuda"),
    ("pyramid-missing-image", ["pyramid", "train", "{nothing}.png", "--out", "{tmp}/p"], "does not exist"),
    ("pyramid-no-out", ["pyramid", "train", "sample:brick"], "--out"),
    ("pyramid-sample-missing-run", ["pyramid", "sample", "{nothing}"], "pyramid train"),
    ("pyramid-sample-bad-size", ["pyramid", "sample", "{nothing}", "--size", "big"], "48x64"),
    ("pyramid-bad-preset", ["pyramid", "train", "sample:brick", "--out", "{tmp}/p", "--preset", "huge"], "paper"),
    ("idc-bad-box", ["idc", "complete", "sample:brick", "box:bad", "--out", "{tmp}/i"], "box:TOP,BOTTOM,LEFT,RIGHT"),
    ("idc-mask-not-an-image", ["idc", "complete", "sample:brick", "{blob}", "--out", "{tmp}/i"], "image"),
    ("unknown-option", ["find", "build", "--bogus"], "--bogus"),
    ("unknown-command", ["nosuch"], "nosuch"),
]


def _prepare(tmp: Path, args: list[str]) -> list[str]:
    names = _files(tmp)
    line = " ".join(args)
    if "{drawing}" in line:
        names["drawing"] = str(_sketch_run(tmp))
    if "{broken_state}" in line:
        run = _sketch_run(tmp)
        (run / "state.json").write_text('{"current": "outputs/sk')
        names["broken_state"] = str(run)
    return [arg.format(**names) for arg in args]


def _run_main(args: list[str], capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    return exit_info.value.code, capsys.readouterr().err


@pytest.mark.parametrize("args,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_user_mistake_is_one_error_line(tmp_path, monkeypatch, capsys, args, expected):
    monkeypatch.chdir(tmp_path)
    code, err = _run_main(_prepare(tmp_path, args), capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err
    assert code == 1, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert expected in lines[0], lines[0]


@pytest.mark.parametrize("args", [["find", "build", "--bogus"], ["sandbox", "run", "{blob}"]])
def test_the_console_script_prints_the_same(tmp_path, args):
    """The real entry point (`python -m tinkerlab.cli`, what the `tinkerlab` script runs) in a fresh process."""
    line = _prepare(tmp_path, args)
    done = subprocess.run(
        [sys.executable, "-m", "tinkerlab.cli", *line], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert [x for x in done.stderr.splitlines() if x.strip()] == [done.stderr.strip()]
    assert done.stderr.startswith("error: ")


def test_help_and_version_still_exit_cleanly(capsys):
    main(["--version"])
    assert "tinkerlab" in capsys.readouterr().out
    main(["find", "--help"])
    assert "build" in capsys.readouterr().out
