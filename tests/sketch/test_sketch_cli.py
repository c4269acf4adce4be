"""The CLI commands draw, edit and render, with scripted replies."""

from __future__ import annotations

import json

from PIL import Image
from typer.testing import CliRunner

from tinkerlab.sketch.cli import app

DRAWING = (
    "<thinking>hull and mast</thinking><answer><concept>boat</concept><strokes>"
    "<s1><points>'x10y15', 'x25y8', 'x40y15'</points><t_values>0, 0.5, 1</t_values><id>hull</id></s1>"
    "<s2><points>'x25y15', 'x25y40'</points><t_values>0, 1</t_values><id>mast</id></s2></strokes></answer>"
)
EDIT = (
    "<thinking>a sun top right</thinking><answer><strokes>"
    "<s3><points>'x45y45'</points><t_values>0</t_values><id>sun</id></s3></strokes></answer>"
)


def test_draw_edit_render(tmp_path):
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps([DRAWING]))
    runner = CliRunner()
    out = tmp_path / "run"
    result = runner.invoke(app, ["draw", "boat", "--model", f"scripted:{replies}", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 strokes" in result.output
    for name in ["sketch.txt", "sketch.svg", "sketch.png", "sketch_grid.png", "strokes.gif", "replies.json"]:
        assert (out / "outputs" / name).exists(), name
    assert (out / "transcript.jsonl").read_text().count("\n") == 1
    assert Image.open(out / "outputs" / "sketch.png").size == (612, 612)

    replies.write_text(json.dumps([EDIT]))
    result = runner.invoke(app, ["edit", str(out), "add a sun", "--model", f"scripted:{replies}"])
    assert result.exit_code == 0, result.output
    assert "added [3]" in result.output
    state = json.loads((out / "state.json").read_text())
    assert state["current"] == "outputs/edit_01/sketch.txt"
    assert (out / "outputs" / "edit_01" / "instruction.txt").read_text().strip() == "add a sun"
    assert "sun" in (out / "outputs" / "edit_01" / "sketch.txt").read_text()

    target = tmp_path / "again.png"
    result = runner.invoke(
        app,
        [
            "render",
            str(out / "outputs" / "edit_01" / "sketch.txt"),
            "--out",
            str(target),
            "--grid",
            "--colors",
            "order",
            "--size",
            "300",
        ],
    )
    assert result.exit_code == 0, result.output
    assert Image.open(target).size == (300, 300)


def test_render_reports_unreadable_files(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("<strokes>\n<s1><points>'x1y1', oops</points></s1></strokes>")
    result = CliRunner().invoke(app, ["render", str(bad), "--out", str(tmp_path / "x.png")])
    assert result.exit_code != 0
    assert "line 2" in str(result.exception)


def test_render_animated_svg(tmp_path):
    source = tmp_path / "s.txt"
    source.write_text(DRAWING)
    result = CliRunner().invoke(app, ["render", str(source), "--out", str(tmp_path / "s.svg"), "--animate", "0.5"])
    assert result.exit_code == 0, result.output
    assert "@keyframes" in (tmp_path / "s.svg").read_text()


def test_draw_says_when_the_result_is_not_a_sketch(tmp_path):
    border = (
        "<answer><strokes><s1><points>'x1y1', 'x50y1'</points><t_values>0, 1</t_values></s1>"
        "<s2><points>'x1y50', 'x1y1'</points><t_values>0, 1</t_values></s2></strokes></answer>"
    )
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps([border]))
    args = ["draw", "bicycle", "--model", f"scripted:{replies}", "--out", str(tmp_path / "r")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "this is not a sketch of bicycle" in result.output and "--model retrieval" in result.output
    assert "border" in result.output
