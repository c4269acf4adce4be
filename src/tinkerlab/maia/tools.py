"""The tools an experiment calls, run in the parent process: exemplars, image generation and editing,
description of images, and `display`.

`Tools` holds the subject and the backends; the agent's code reaches it only through the sandbox proxy
(`tinkerlab.maia.proxy`), never directly. Backends are pluggable:

- generators: `ProceduralGenerator` (offline: parses the scene grammar and says what it could not draw) or
  `DiffusersGenerator` (a diffusers text-to-image / instruct-pix2pix pipeline from local weights the user names);
- describers: `LabelDescriber` (offline stand-in: the procedural metadata when an image has it, dominant colours,
  brightness and edge density otherwise; not a vision-language model) or `ChatDescriber` (any chat model that takes
  images, in its own conversation that never sees the agent's hypotheses).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from PIL import Image

from tinkerlab.core.errors import InputError
from tinkerlab.maia import scenes


class Generator(Protocol):
    name: str

    def text2image(self, prompts: Sequence[str]) -> tuple[list[Image.Image], list[str]]:
        """One image per prompt, and notes (what could not be drawn)."""
        ...

    def edit(self, images: Sequence[Image.Image], instructions: Sequence[str]) -> tuple[list[Image.Image], list[str]]:
        """One edited image per (image, instruction), and notes."""
        ...


@dataclass
class ProceduralGenerator:
    """The offline generator: the procedural renderer behind the scene grammar of `scenes.parse_prompt`."""

    seed: int = 0
    name: str = "procedural"

    def text2image(self, prompts: Sequence[str]) -> tuple[list[Image.Image], list[str]]:
        images, notes = [], []
        for index, prompt in enumerate(prompts):
            parsed = scenes.parse_prompt(prompt, seed=self.seed + index)
            if parsed.skipped:
                notes.append(f"text2image({prompt!r}): could not draw {', '.join(parsed.skipped)} (skipped)")
            if not parsed.scene.objects:
                notes.append(f"text2image({prompt!r}): no drawable object; the image is only the background")
            images.append(scenes.render(parsed.scene)[0])
        return images, notes

    def edit(self, images: Sequence[Image.Image], instructions: Sequence[str]) -> tuple[list[Image.Image], list[str]]:
        out, notes = [], []
        for image, instruction in zip(images, instructions, strict=True):
            scene = scenes.scene_of(image)
            if scene is None:
                notes.append(f"edit_images({instruction!r}): the procedural editor edits only generated images")
                out.append(image)
                continue
            parsed = scenes.edit_scene(scene, instruction)
            if parsed.skipped:
                notes.append(f"edit_images({instruction!r}): not applied or partly applied: {' '.join(parsed.skipped)}")
            out.append(scenes.render(parsed.scene)[0])
        return out, notes


@dataclass
class DiffusersGenerator:
    """diffusers pipelines from local folders (nothing is downloaded): text-to-image and instruct-pix2pix."""

    text2image_path: str
    edit_path: str | None = None
    device: str = "cpu"
    steps: int = 25
    name: str = "diffusers"
    _pipes: dict = field(default_factory=dict, repr=False)

    def _pipe(self, kind: str) -> Any:
        from tinkerlab.core.errors import require

        diffusers = require("diffusers", package="diffusers")
        if kind not in self._pipes:
            if kind == "t2i":
                pipe = diffusers.AutoPipelineForText2Image.from_pretrained(self.text2image_path, local_files_only=True)
            else:
                if not self.edit_path:
                    raise InputError("no edit pipeline: pass edit_path (an instruct-pix2pix folder)")
                pipe = diffusers.StableDiffusionInstructPix2PixPipeline.from_pretrained(
                    self.edit_path, local_files_only=True
                )
            self._pipes[kind] = pipe.to(self.device)
        return self._pipes[kind]

    def text2image(self, prompts: Sequence[str]) -> tuple[list[Image.Image], list[str]]:
        pipe = self._pipe("t2i")
        return [pipe(p, num_inference_steps=self.steps).images[0] for p in prompts], []

    def edit(self, images: Sequence[Image.Image], instructions: Sequence[str]) -> tuple[list[Image.Image], list[str]]:
        pipe = self._pipe("edit")
        return [
            pipe(i, image=im, num_inference_steps=self.steps).images[0]
            for im, i in zip(images, instructions, strict=True)
        ], []


_NAMED = {name: np.array(rgb, np.float32) for name, rgb in scenes.COLOURS.items()}


def dominant_colours(image: Image.Image, mask: np.ndarray | None = None, top: int = 2) -> list[str]:
    """The named colours covering most of the (masked) pixels, most first."""
    pixels = np.asarray(image.convert("RGB"), np.float32).reshape(-1, 3)
    if mask is not None and mask.any():
        pixels = pixels[mask.reshape(-1)]
    names = list(_NAMED)
    palette = np.stack([_NAMED[n] for n in names])
    nearest = np.argmin(((pixels[:, None] - palette[None]) ** 2).sum(-1), axis=1)
    counts = np.bincount(nearest, minlength=len(names))
    return [names[i] for i in np.argsort(-counts)[:top] if counts[i] > 0]


@dataclass
class LabelDescriber:
    """The offline describer, a stand-in for a vision-language model: it reads only the highlighted region.

    For a procedural image it names the objects whose pixels lie mostly inside the bright region (and the
    background when the region is mostly background); otherwise dominant colours and texture.
    """

    name: str = "label-describer (stand-in)"

    def describe(self, image: Image.Image, highlight: np.ndarray | None = None) -> str:
        scene = scenes.scene_of(image)
        if highlight is None:
            highlight = np.ones((image.size[1], image.size[0]), bool)
        if scene is not None:
            masks = scenes.object_masks(scene)
            inside = [
                o
                for o, m in zip(scene.objects, masks, strict=True)
                if m.any() and (m & highlight).sum() > 0.4 * m.sum()
            ]
            covered = np.zeros_like(highlight)
            for m in masks:
                covered |= m
            parts = [f"a {o.colour}{'' if o.texture == 'solid' else ' ' + o.texture} {o.kind}" for o in inside]
            if (highlight & ~covered).sum() > 0.5 * highlight.sum():
                parts.append(f"{scene.background} background")
            return ", ".join(parts) if parts else "no clear object"
        colours = dominant_colours(image, highlight)
        grey = np.asarray(image.convert("L"), np.float32)
        edges = np.abs(np.diff(grey, axis=1)).mean()
        texture = "busy, detailed texture" if edges > 18 else "smooth surfaces"
        return f"{' and '.join(colours)} region with {texture}"


@dataclass
class ChatDescriber:
    """A vision chat model describing highlighted regions in a fresh conversation per call (blind to hypotheses)."""

    model: Any
    name: str = "chat-describer"

    def describe(self, image: Image.Image, highlight: np.ndarray | None = None) -> str:
        from tinkerlab.llm.messages import Message

        reply = self.model.complete(
            [
                Message.user(
                    "Darkened parts of this picture are to be ignored. In a few words, what is shown in the bright "
                    "region? Answer only with the words.",
                    image,
                )
            ],
            max_tokens=60,
        )
        return reply.text.strip()


def highlight_of(image: Image.Image) -> np.ndarray:
    """The bright region of a masked image (the parts not darkened to a quarter)."""
    grey = np.asarray(image.convert("L"), np.float32)
    if grey.max() <= 0:
        return np.ones_like(grey, bool)
    return grey > 0.3 * np.percentile(grey, 99)


@dataclass
class Tools:
    """The experiment tools around one subject.

    Args:
        subject: a `UnitSubject` or `SyntheticSubject`.
        exemplar_images: the subject's top probe images, highest first (set from the probe set's table).
        exemplar_activations: their activations.
        generator: text-to-image and edit backend.
        describer: region describer.
    """

    subject: Any
    exemplar_images: list[Image.Image] = field(default_factory=list)
    exemplar_activations: list[float] = field(default_factory=list)
    generator: Any = field(default_factory=ProceduralGenerator)
    describer: Any = field(default_factory=LabelDescriber)
    log: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def dataset_exemplars(self, k: int = 15) -> tuple[list[float], list[Image.Image]]:
        """The k probe images that drive the unit most (activations, masked images)."""
        if not self.exemplar_images:
            raise InputError("no exemplars were computed for this subject")
        k = max(1, min(int(k), len(self.exemplar_images)))
        _, masked = self.subject.call_neuron(self.exemplar_images[:k])
        return [round(a, 2) for a in self.exemplar_activations[:k]], masked

    def call_neuron(self, images: Sequence[Image.Image]) -> tuple[list[float], list[Image.Image]]:
        return self.subject.call_neuron(list(images))

    def text2image(self, prompts: Sequence[str]) -> list[Image.Image]:
        if isinstance(prompts, str):
            prompts = [prompts]
        images, notes = self.generator.text2image(list(prompts))
        self.notes += notes
        return images

    def edit_images(self, images: Sequence[Image.Image], instructions: Sequence[str]) -> list[Image.Image]:
        if len(images) != len(instructions):
            raise InputError(
                f"edit_images takes one instruction per image: {len(images)} images, {len(instructions)} instructions"
            )
        edited, notes = self.generator.edit(list(images), list(instructions))
        self.notes += notes
        return edited

    def describe_images(self, images: Sequence[Image.Image], titles: Sequence[str] | None = None) -> str:
        titles = list(titles) if titles else [f"image {i}" for i in range(len(images))]
        lines = [
            f'"{t}", highlighted regions: {self.describer.describe(im, highlight_of(im))}'
            for t, im in zip(titles, images, strict=False)
        ]
        return "\n".join(lines)

    def summarize_images(self, images: Sequence[Image.Image]) -> str:
        descriptions = [self.describer.describe(im, highlight_of(im)) for im in images]
        words: dict[str, int] = {}
        for text in descriptions:
            for word in dict.fromkeys(text.replace(",", " ").split()):
                if word not in ("a", "an", "and", "with", "no", "clear", "object", "region"):
                    words[word] = words.get(word, 0) + 1
        common = [w for w, c in sorted(words.items(), key=lambda kv: -kv[1]) if c >= max(2, len(images) // 3)]
        return f"common: {', '.join(common[:6]) if common else 'nothing shared by most images'}"
