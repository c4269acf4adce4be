"""Synthetic neurons with ground truth (MAIA, Shaham et al. 2024, section on synthetic neurons).

A synthetic neuron fires for concepts that a detector finds in an image, by one of three rules:

- mono: the mean of its concepts' scores (one concept in practice);
- or: the largest of its two concepts' scores; the mask is the union of theirs;
- and: the first concept's score when both concepts are present, else a small random value in [0, 0.1] and an
  empty mask.

Offline the detector is the procedural scene generator's own metadata (`scenes.detect_concepts`), so the
ground truth is exact; a user-supplied open-vocabulary detector (any callable ``detector(image, concepts) ->
{concept: (score, mask)}``) replaces it for real photos. `SYNTHETIC_NEURONS` holds 62 neurons with their
descriptions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image

from tinkerlab.core.errors import InputError
from tinkerlab.maia import scenes

Mode = Literal["mono", "or", "and"]
Detector = Callable[[Image.Image, tuple[str, ...]], dict]


@dataclass(frozen=True)
class SyntheticNeuron:
    """A neuron defined by a rule over concepts, with the description a good explanation should match."""

    name: str
    mode: Mode
    concepts: tuple[str, ...]
    description: str

    def __post_init__(self) -> None:
        if self.mode not in ("mono", "or", "and"):
            raise InputError(f"mode must be mono, or or and, got {self.mode!r}")
        if len(self.concepts) != (1 if self.mode == "mono" else 2):
            raise InputError(f"a {self.mode} neuron takes {1 if self.mode == 'mono' else 2} concepts")

    def activation(self, image: Image.Image, detector: Detector | None = None) -> tuple[float, np.ndarray]:
        """The neuron's activation on `image` and the mask of where it fires (bool, H x W of the image)."""
        found = (detector or scene_detector)(image, self.concepts)
        shape = (image.size[1], image.size[0])
        scores = [found[c][0] if c in found else 0.0 for c in self.concepts]
        masks = [found[c][1] if c in found else np.zeros(shape, bool) for c in self.concepts]
        if self.mode == "mono":
            return float(np.mean(scores)), masks[0]
        if self.mode == "or":
            return float(max(scores)), masks[0] | masks[1]
        if all(s > 0 for s in scores):
            return float(scores[0]), masks[0] | masks[1]
        return and_noise(image), np.zeros(shape, bool)


def and_noise(image: Image.Image) -> float:
    """The AND rule's small value in [0, 0.1] for an image without both concepts (fixed per image's pixels)."""
    digest = hashlib.sha1(np.asarray(image.convert("RGB")).tobytes()).digest()
    return float(np.random.default_rng(int.from_bytes(digest[:8], "big")).uniform(0, 0.1))


def scene_detector(image: Image.Image, concepts: tuple[str, ...]) -> dict:
    """Concept scores of a procedural image from its metadata; an image without a scene scores 0 everywhere."""
    scene = scenes.scene_of(image)
    shape = (image.size[1], image.size[0])
    if scene is None:
        return {c: (0.0, np.zeros(shape, bool)) for c in concepts}
    masks = scenes.object_masks(scene)
    found = scenes.detect_concepts(scene, masks, concepts)
    if shape != (scenes.SIZE, scenes.SIZE):
        found = {c: (s, np.asarray(Image.fromarray(m).resize(image.size)) > 0) for c, (s, m) in found.items()}
    return found


_PLURAL = {"cross": "crosses", "fish": "fish", "face": "faces"}


def _noun(concept: str) -> str:
    if concept in scenes.KINDS:
        return _PLURAL.get(concept, concept + "s")
    if concept in scenes.COLOURS:
        return f"{concept} objects"
    if concept in scenes.TEXTURES:
        return f"{concept} patterns"
    return f"{concept} backgrounds" if concept != "night" else "night-sky backgrounds"


_OR_PAIRS = [
    ("circle", "square"),
    ("star", "flower"),
    ("car", "house"),
    ("red", "purple"),
    ("fish", "water"),
    ("sun", "yellow"),
    ("tree", "grass"),
    ("ring", "cup"),
    ("striped", "checkered"),
    ("snow", "white"),
    ("triangle", "diamond"),
    ("face", "pink"),
]
_AND_PAIRS = [
    ("car", "sand"),
    ("star", "night"),
    ("red", "circle"),
    ("tree", "snow"),
    ("fish", "grass"),
    ("house", "sky"),
    ("blue", "striped"),
    ("flower", "brick"),
    ("cup", "dotted"),
    ("green", "square"),
    ("sun", "water"),
    ("face", "orange"),
]


def _and_description(a: str, b: str) -> str:
    if a in scenes.BACKGROUNDS and b not in scenes.BACKGROUNDS:
        a, b = b, a
    if b in scenes.BACKGROUNDS:
        return f"{_noun(a)} on {b} backgrounds" if b != "night" else f"{_noun(a)} in a night sky"
    if a in scenes.COLOURS or a in scenes.TEXTURES:
        return f"{a} {_noun(b)}"
    if b in scenes.COLOURS or b in scenes.TEXTURES:
        return f"{b} {_noun(a)}"
    return f"{_noun(a)} together with {_noun(b)}"


def _build() -> tuple[SyntheticNeuron, ...]:
    neurons = [SyntheticNeuron(c, "mono", (c,), _noun(c)) for c in scenes.CONCEPTS]
    neurons += [SyntheticNeuron(f"{a}_{b}", "or", (a, b), f"{_noun(a)} or {_noun(b)}") for a, b in _OR_PAIRS]
    neurons += [SyntheticNeuron(f"{a}_{b}", "and", (a, b), _and_description(a, b)) for a, b in _AND_PAIRS]
    return tuple(neurons)


SYNTHETIC_NEURONS: tuple[SyntheticNeuron, ...] = _build()
"""38 mono, 12 OR and 12 AND neurons over the scene generator's concepts."""


def synthetic_neuron(name: str) -> SyntheticNeuron:
    """The synthetic neuron called `name` (e.g. 'star', 'car_house', 'star_night').

    Raises:
        InputError: an unknown name; the message lists some valid ones.
    """
    for neuron in SYNTHETIC_NEURONS:
        if neuron.name == name:
            return neuron
    names = [n.name for n in SYNTHETIC_NEURONS]
    raise InputError(f"unknown synthetic neuron {name!r}; {len(names)} exist, e.g. {', '.join(names[:8])}, ...")
