"""The CLIP recogniser path of `sketch evaluate --recognizer clip:ARCH:WEIGHTS`, end to end through the CLI, with a
tiny randomly initialised CLIP built from a config in open_clip's JSON format (no weights are downloaded). It checks
plumbing and shapes, not accuracy. Needs open-clip-torch for the BPE vocabulary (`make clip`)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tinkerlab.sketch.language import Sketch, Stroke
from tinkerlab.vision import clip_model as cm
from tinkerlab.vision.clip_tokenizer import open_clip_available

TINY_CLIP = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
}


@pytest.mark.skipif(not open_clip_available(), reason="open-clip-torch is not installed: run `make clip`")
def test_sketch_evaluate_with_a_tiny_clip(tmp_path):
    import torch

    from tinkerlab.sketch.cli import app
    from tinkerlab.sketch.render import save_sketch

    config = tmp_path / "tiny-clip.json"
    config.write_text(json.dumps(TINY_CLIP))
    torch.manual_seed(0)
    weights = tmp_path / "tiny.pt"
    torch.save(cm.ClipModel(cm.config_from_dict(TINY_CLIP)).state_dict(), weights)
    drawings = {
        "cat": [Stroke.from_cells(["x10y10", "x40y40"])],
        "house": [Stroke.from_cells(["x5y25", "x45y25"]), Stroke.from_cells(["x25y5", "x25y45"])],
        "tree": [Stroke.from_cells(["x25y25"])],
    }
    for concept, strokes in drawings.items():
        for i in range(2):
            save_sketch(Sketch(tuple(strokes[: i + 1]), concept), tmp_path / "sketches" / f"{concept}{i}.txt")
    concepts = ["cat", "house", "tree", "car", "sun", "kite"]
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            *sorted(str(p) for p in (tmp_path / "sketches").glob("*.txt")),
            "--concepts",
            ",".join(concepts),
            "--recognizer",
            f"clip:{config}:{weights}",
            "--out",
            str(tmp_path / "eval"),
        ],
    )
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "eval" / "results.json").read_text())["sketches"]
    assert saved["recognizer"] == f"clip:{config}"
    assert saved["count"] == 6 and saved["concepts"] == concepts
    assert {c: row["n"] for c, row in saved["per_concept"].items()} == {"cat": 2, "house": 2, "tree": 2}
    assert 0.0 <= saved["top1"] <= saved["top5"] <= 1.0
    for row in saved["per_concept"].values():
        assert 0.0 <= row["top1"] <= row["top5"] <= 1.0
    assert len(saved["predictions"]) == 6 and all(len(p["top5"]) == 5 for p in saved["predictions"])
