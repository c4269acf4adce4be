"""`sketch draw` into a folder that already holds a drawing: refused, or --overwrite starts clean."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tinkerlab.core.errors import InputError, ResumeError, SketchSyntaxError
from tinkerlab.llm import ScriptedChatModel
from tinkerlab.sketch.agent import AgentConfig
from tinkerlab.sketch.cli import app
from tinkerlab.sketch.runs import DrawConfig, draw_run, edit_run

DOT = "<answer><strokes><s1><points>'x25y25'</points></s1></strokes></answer>"
SUN = "<answer><strokes><s2><points>'x45y45'</points><id>sun</id></s2></strokes></answer>"


def test_draw_again_is_refused_and_overwrite_starts_clean(tmp_path):
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps([DOT]))
    out = tmp_path / "run"
    draw = ["draw", "dot", "--model", f"scripted:{replies}", "--out", str(out)]
    runner = CliRunner()
    assert runner.invoke(app, draw).exit_code == 0
    edit_run(out, "add a sun", model=ScriptedChatModel([SUN]))
    assert (out / "outputs" / "edit_01").is_dir()

    again = runner.invoke(app, draw)
    assert isinstance(again.exception, ResumeError) and "already holds a drawing of 'dot'" in str(again.exception)
    other = runner.invoke(app, ["draw", "cat", *draw[2:]])
    message = str(other.exception)
    assert isinstance(other.exception, ResumeError) and "config changed: concept" in message
    assert "--overwrite" in message and "--out" in message and "\n" not in message

    fresh = runner.invoke(app, ["draw", "cat", *draw[2:], "--overwrite"])
    assert fresh.exit_code == 0, fresh.output
    assert not (out / "outputs" / "edit_01").exists()
    assert json.loads((out / "state.json").read_text()) == {"current": "outputs/sketch.txt", "edits": []}
    assert (out / "transcript.jsonl").read_text().count("\n") == 1
    assert json.loads((out / "config.json").read_text())["config"]["concept"] == "cat"
    (previous,) = tmp_path.glob("run.previous-*")
    assert (previous / "outputs" / "edit_01" / "sketch.txt").exists()


def test_an_unfinished_drawing_is_drawn_again_and_bad_folders_are_errors(tmp_path):
    config = DrawConfig(concept="dot", model="scripted", agent=AgentConfig(retries=0))
    with pytest.raises(SketchSyntaxError):
        draw_run(config, tmp_path / "run", model=ScriptedChatModel(["no sketch here"]))
    result, run = draw_run(config, tmp_path / "run", model=ScriptedChatModel([DOT]))
    assert run.resumed and len(result.sketch) == 1
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file"):
        draw_run(config, tmp_path / "file", model=ScriptedChatModel([DOT]))
    with pytest.raises(InputError, match="not a sketch run directory.*sketch draw"):
        edit_run(tmp_path / "missing", "add a sun", model=ScriptedChatModel([SUN]))
