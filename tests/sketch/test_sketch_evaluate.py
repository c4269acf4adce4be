"""Recognition accuracy bookkeeping on sketches, collecting sketches, and the evaluate command (stub recogniser)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from tinkerlab.core.errors import InputError
from tinkerlab.sketch import evaluate as ev
from tinkerlab.sketch.language import Sketch, Stroke


class InkRecognizer:
    """Scores 'dot' high for little ink and 'line' for a lot: enough to check the bookkeeping."""

    name = "ink"

    def scores(self, images, concepts):
        ink = np.array([255 - np.asarray(im.convert("L"), dtype=np.float32).mean() for im in images])  # (n,)
        small = (ink < 2.0).astype(np.float64)
        table = {"dot": 2 * small, "line": 2 * (1 - small), "other": np.ones_like(small)}
        return np.stack([table.get(c, np.full_like(ink, -1e9)) for c in concepts], axis=1)


DOT = Sketch((Stroke.from_cells(["x25y25"]),), "dot")
LINE = Sketch((Stroke.from_cells(["x2y25", "x49y25"]), Stroke.from_cells(["x25y2", "x25y49"])), "line")


def test_top1_top5_and_per_concept():
    concepts = ["dot", "line", "other"] + [f"c{i}" for i in range(5)]
    result = ev.evaluate_sketches([DOT, LINE, LINE], ["dot", "line", "other"], concepts, InkRecognizer())
    assert result.count == 3
    assert result.top1 == pytest.approx(2 / 3)
    assert result.top5 == 1.0
    assert result.per_concept["other"] == {"n": 1, "top1": 0.0, "top5": 1.0}
    assert result.predictions[0]["top5"][0] == "dot"
    assert json.loads(result.to_json())["recognizer"] == "ink"
    with pytest.raises(InputError, match="not in the concept list"):
        ev.evaluate_sketches([DOT], ["cat"], concepts, InkRecognizer())
    with pytest.raises(InputError, match="one label per image"):
        ev.evaluate_sketches([DOT], [], concepts, InkRecognizer())


def test_collect_and_cli_with_a_stub_recognizer(tmp_path, monkeypatch):
    from tinkerlab.llm import ScriptedChatModel
    from tinkerlab.sketch.cli import app
    from tinkerlab.sketch.render import save_sketch
    from tinkerlab.sketch.runs import DrawConfig, draw_run

    reply = "<answer><strokes><s1><points>'x25y25'</points></s1></strokes></answer>"
    draw_run(
        DrawConfig(concept="dot", model="scripted"),
        tmp_path / "runs" / "dot",
        model=ScriptedChatModel([reply]),
    )
    save_sketch(LINE, tmp_path / "line.txt")
    found = ev.collect_sketches([tmp_path / "runs", tmp_path / "line.txt"])
    assert [label for _, label in found] == ["dot", "line"]
    with pytest.raises(InputError, match="does not exist"):
        ev.collect_sketches([tmp_path / "missing"])

    monkeypatch.setattr(ev, "load_recognizer", lambda spec: InkRecognizer())
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            str(tmp_path / "runs"),
            str(tmp_path / "line.txt"),
            "--concepts",
            "dot,line,other",
            "--out",
            str(tmp_path / "eval"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "top-1 1.000" in result.output
    saved = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert saved["sketches"]["count"] == 2


def test_a_failed_sketch_is_a_miss(tmp_path):
    from tinkerlab.llm import ScriptedChatModel
    from tinkerlab.sketch.runs import DrawConfig, draw_run

    good = "<answer><strokes><s1><points>'x25y25'</points></s1></strokes></answer>"
    for name in ("a", "b"):
        draw_run(DrawConfig(concept="dot", model="scripted"), tmp_path / name, model=ScriptedChatModel([good]))
    failed_run = tmp_path / "c"
    from tinkerlab.core.errors import SketchSyntaxError

    with pytest.raises(SketchSyntaxError):
        draw_run(DrawConfig(concept="line", model="scripted"), failed_run, model=ScriptedChatModel(["junk"] * 3))
    (failed_run / "failed.txt").write_text("SketchSyntaxError: no readable sketch\n")
    found, failed = ev.collect_sketches([tmp_path]), ev.collect_failures([tmp_path])
    assert [label for _, label in found] == ["dot", "dot"] and failed == [
        ("line", "SketchSyntaxError: no readable sketch")
    ]
    result = ev.evaluate_sketches(
        [s for s, _ in found], ["dot", "dot"], ["dot", "line", "other"], InkRecognizer(), failed=failed
    )
    assert result.count == 3 and result.top1 == pytest.approx(2 / 3)  # a perfect recogniser, one failure
    assert result.per_concept["line"] == {"n": 1, "top1": 0.0, "top5": 0.0}
    assert result.predictions[-1]["failed"].startswith("SketchSyntaxError")


def test_the_worked_example_concept_never_takes_part():
    from tinkerlab.sketch.prompts import EXAMPLE_CONCEPT

    kept, dropped = ev.evaluation_concepts(["cat", EXAMPLE_CONCEPT, "dog"])
    assert kept == ["cat", "dog"] and dropped == [EXAMPLE_CONCEPT]
