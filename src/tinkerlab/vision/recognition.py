"""Zero-shot recognition: recognisers that score images against concept names, and top-1 / top-5 accuracy.

A recogniser is anything with `scores(images, concepts) -> (n_images, n_concepts)`. Two ship:

- `ClipRecognizer`: CLIP (`tinkerlab.vision.clip_model`, open_clip checkpoints), when the user supplies weights
  (nothing is downloaded);
- `tinkerlab.vision.clipart.ClipartRecognizer`, the offline default (EfficientNet-Lite0 features mapped into
  MiniLM text space, trained on openclipart outlines).

`load_recognizer("default" | "clip:ARCH:WEIGHTS")` picks one; `evaluate_images` measures accuracy. SketchAgent's
evaluation and the Vision Check-up's recognition use both.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

from tinkerlab.core.errors import InputError

PROMPT = "a drawing of {}"


class Recognizer(Protocol):
    """Scores images against concept names (higher is more likely)."""

    name: str

    def scores(self, images: Sequence[Image.Image], concepts: Sequence[str]) -> np.ndarray:
        """(n_images, n_concepts) scores."""
        ...


@dataclass
class EvalResult:
    """Top-1 / top-5 accuracy, per concept and overall."""

    top1: float
    top5: float
    count: int
    concepts: list[str]
    per_concept: dict[str, dict[str, float]] = field(default_factory=dict)
    predictions: list[dict] = field(default_factory=list)
    recognizer: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def evaluate_images(
    images: Sequence[Image.Image], labels: Sequence[str], concepts: Sequence[str], recognizer: Recognizer
) -> EvalResult:
    """Zero-shot top-1 / top-5 accuracy of `recognizer` on `images` whose true concepts are `labels`.

    Raises:
        InputError: a label is not among `concepts`, or the lengths differ.
    """
    concepts = list(concepts)
    if len(images) != len(labels):
        raise InputError(f"expected one label per image ({len(images)}), got {len(labels)}")
    unknown = sorted(set(labels) - set(concepts))
    if unknown:
        raise InputError(f"labels {unknown} are not in the concept list ({len(concepts)} concepts)")
    if not images:
        raise InputError("nothing to evaluate: no images")
    scores = np.asarray(recognizer.scores(list(images), concepts))  # (n, k)
    order = np.argsort(-scores, axis=1)
    truth = np.array([concepts.index(label) for label in labels])
    rank = np.argmax(order == truth[:, None], axis=1)  # (n,) 0 = top-1
    per: dict[str, dict[str, float]] = {}
    for concept in sorted(set(labels)):
        mask = np.array([label == concept for label in labels])
        per[concept] = {
            "n": int(mask.sum()),
            "top1": float((rank[mask] < 1).mean()),
            "top5": float((rank[mask] < 5).mean()),
        }
    predictions = [{"label": label, "top5": [concepts[j] for j in order[i, :5]]} for i, label in enumerate(labels)]
    return EvalResult(
        float((rank < 1).mean()),
        float((rank < 5).mean()),
        len(labels),
        concepts,
        per,
        predictions,
        getattr(recognizer, "name", type(recognizer).__name__),
    )


class ClipRecognizer:
    """CLIP zero-shot recognition with weights the user supplies (nothing is downloaded).

    The model is `tinkerlab.vision.clip_model.ClipModel` (plain torch, open_clip's parameter names); the installed
    open-clip-torch package only provides the architecture configs and the BPE vocabulary. Scores are cosine
    similarities between each image and the prompt "a drawing of {concept}".

    Args:
        weights: a local open_clip checkpoint for `architecture` (e.g. open_clip_pytorch_model.bin of ViT-L-14).
        architecture: an open_clip model name, e.g. "ViT-L-14" (the paper's) or "ViT-B-32" (``-quickgelu`` names
            for OpenAI's weights), or the path of an open_clip config JSON.
        batch_size: images per forward pass.

    Raises:
        InputError: open-clip-torch is not installed, an unsupported architecture, a missing or mismatched checkpoint.
    """

    def __init__(self, weights: str | Path, architecture: str = "ViT-L-14", batch_size: int = 32) -> None:
        from tinkerlab.vision.clip_model import load_clip

        self.model, self.tokenizer, self.config = load_clip(architecture, weights)
        self.batch_size = batch_size
        self.name = f"clip:{architecture}"

    def scores(self, images: Sequence[Image.Image], concepts: Sequence[str]) -> np.ndarray:
        import torch

        from tinkerlab.vision.clip_model import clip_preprocess

        images = list(images)
        if not images:
            return np.zeros((0, len(concepts)), np.float32)
        size, mean, std = self.config.vision.image_size, self.config.mean, self.config.std
        with torch.inference_mode():
            text = self.model.encode_text(self.tokenizer([PROMPT.format(c) for c in concepts]), normalize=True)
            image = torch.cat(
                [
                    self.model.encode_image(clip_preprocess(images[i : i + self.batch_size], size, mean, std), True)
                    for i in range(0, len(images), self.batch_size)
                ]
            )  # (n, d)
            return (image @ text.T).numpy()


def load_recognizer(spec: str) -> Recognizer:
    """ "default" (the offline clip-art recogniser) or "clip:ARCH:WEIGHTS" (CLIP from a local open_clip checkpoint;
    ARCH is an open_clip model name or a config JSON path).

    Raises:
        InputError: an unknown spec.
    """
    if spec == "default":
        from tinkerlab.vision.clipart import ClipartRecognizer

        return ClipartRecognizer.load()
    if spec.startswith("clip:"):
        parts = spec.split(":", 2)
        if len(parts) != 3:
            raise InputError(f"expected clip:ARCH:WEIGHTS (e.g. clip:ViT-L-14:/models/vitl14.bin), got {spec!r}")
        return ClipRecognizer(parts[2], parts[1])
    raise InputError(f"unknown recogniser {spec!r}; use 'default' or 'clip:ARCH:WEIGHTS'")
