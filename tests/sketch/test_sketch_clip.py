"""The CLIP recogniser path of `sketch evaluate --recognizer clip:ARCH:WEIGHTS`, end to end, with a tiny randomly
initialised CLIP built from an open_clip config (no weights are downloaded). It checks plumbing and shapes, not
accuracy. Needs the `clip` extra (open-clip-torch with a torchvision that matches the installed torch)."""

from __future__ import annotations

import json

import pytest

from tinkerlab.sketch.language import parse_sketch

TINY_CLIP = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 16, "heads": 2, "layers": 1},
}
SKETCH = "<strokes><s1><points>'x10y10', 'x40y40'</points><t_values>0, 1</t_values></s1></strokes>"


def test_tiny_clip_scores_sketches_through_the_evaluation(tmp_path):
    open_clip = pytest.importorskip("open_clip", reason="open-clip-torch is not installed (extra 'clip')")
    torch = pytest.importorskip("torch")
    from tinkerlab.sketch.evaluate import evaluate_sketches, load_recognizer, sketch_image

    config = tmp_path / "tinkerlab-tiny-clip.json"
    config.write_text(json.dumps(TINY_CLIP))
    open_clip.add_model_config(config)
    torch.manual_seed(0)
    model = open_clip.create_model("tinkerlab-tiny-clip")
    weights = tmp_path / "tiny.pt"
    torch.save(model.state_dict(), weights)

    recognizer = load_recognizer(f"clip:tinkerlab-tiny-clip:{weights}")
    sketches = [parse_sketch(SKETCH)] * 3
    concepts = ["cat", "house", "tree", "car", "sun", "kite"]
    scores = recognizer.scores([sketch_image(s) for s in sketches], concepts)
    assert scores.shape == (3, 6)
    result = evaluate_sketches(sketches, ["cat", "house", "tree"], concepts, recognizer, failed=[("sun", "no reply")])
    assert result.count == 4 and result.recognizer == "clip:tinkerlab-tiny-clip"
    assert 0.0 <= result.top1 <= result.top5 <= 0.75
