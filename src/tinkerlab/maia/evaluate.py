"""Evaluation of unit descriptions: predictive evaluation, and accuracy on synthetic neurons.

- `predictive_evaluation` (the original's protocol): from a description, write n positive prompts (images the
  unit should fire for) and n neutral ones (unrelated content), generate the images, and report the unit's mean
  activation on each set and their gap. Offline the prompt writer maps the description onto the generator's
  concepts (`offline_prompts`); a chat model can write them instead (`chat_prompts`).
- `synthetic_accuracy`: an embedding judge (MiniLM) compares each description with its neuron's ground truth:
  the cosine similarity, and whether the true description is the nearest among all synthetic neurons' ones.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinkerlab.maia.baselines import _prompt_with, _prompt_without, concept_words


@dataclass
class PredictiveScore:
    """Mean activation on images made from a description (positive) and on unrelated ones (neutral)."""

    positive: float
    neutral: float
    positive_prompts: list[str]
    neutral_prompts: list[str]

    @property
    def gap(self) -> float:
        return self.positive - self.neutral


def offline_prompts(description: str, n: int = 7, *, seed: int = 0) -> tuple[list[str], list[str]]:
    """n positive and n neutral prompts in the generator's grammar, from the concepts a description names.

    Concepts joined by "or" alternate over the positive prompts; otherwise all named concepts go in each one. A
    description that names none gives random scenes for both sets (so its gap is about zero).
    """
    rng = np.random.default_rng(seed)
    named = list(dict.fromkeys(concept_words(description)))
    if not named:
        positive = [_prompt_without(set(), rng) for _ in range(n)]
        return positive, [_prompt_without(set(), rng) for _ in range(n)]
    alternatives = [concept_words(part) for part in re.split(r"\bor\b", description.lower())]
    alternatives = [a for a in alternatives if a] or [named]
    positive = []
    for index in range(n):
        group = alternatives[index % len(alternatives)]
        positive.append(_prompt_with(group[0], rng, also=group[1] if len(group) > 1 else None))
    return positive, [_prompt_without(set(named), rng) for _ in range(n)]


def chat_prompts(model: Any, description: str, n: int = 7) -> tuple[list[str], list[str]]:
    """n positive and n neutral prompts written by a chat model (one per line, two lists)."""
    from tinkerlab.llm.messages import Message

    def ask(kind: str) -> list[str]:
        text = model.complete(
            [
                Message.user(
                    f"A vision unit is described as: {description}\nWrite {n} short image prompts, one per "
                    f"line, for images that {kind}. Only the prompts."
                )
            ],
            max_tokens=400,
        ).text
        lines = [re.sub(r"^[\s\d.)*-]+", "", line).strip() for line in text.splitlines()]
        return [line for line in lines if line][:n]

    return ask("should make the unit fire strongly"), ask("show content unrelated to that description")


def predictive_evaluation(
    subject: Any, generator: Any, description: str, n: int = 7, *, seed: int = 0, prompt_model: Any = None
) -> PredictiveScore:
    """Score a description of `subject` by the activations of images generated from it."""
    if prompt_model is not None:
        positive, neutral = chat_prompts(prompt_model, description, n)
    else:
        positive, neutral = offline_prompts(description, n, seed=seed)
    pos_images, _ = generator.text2image(positive)
    neu_images, _ = generator.text2image(neutral)
    pos = subject.call_neuron(pos_images)[0]
    neu = subject.call_neuron(neu_images)[0]
    return PredictiveScore(float(np.mean(pos)), float(np.mean(neu)), positive, neutral)


@dataclass
class SyntheticScore:
    """The embedding judge's verdict on one description of a synthetic neuron."""

    neuron: str
    mode: str
    truth: str
    description: str
    similarity: float
    nearest_is_truth: bool


def synthetic_accuracy(
    descriptions: dict[str, str], neurons: Sequence[Any], encoder: Any = None
) -> list[SyntheticScore]:
    """Judge `descriptions` (neuron name -> text) against the ground truth of `neurons`.

    Args:
        descriptions: the descriptions to judge.
        neurons: all synthetic neurons (their descriptions are the candidates the nearest-truth test ranks).
        encoder: a text encoder (texts -> unit vectors); default MiniLM (`tinkerlab.vision.TextEncoder`).
    """
    if encoder is None:
        from tinkerlab.vision.text import TextEncoder

        encoder = TextEncoder()
    truths = [n.description for n in neurons]
    names = [n.name for n in neurons]
    truth_vectors = np.asarray(encoder(truths))
    judged = [n for n in neurons if n.name in descriptions]
    vectors = np.asarray(encoder([descriptions[n.name] or "nothing" for n in judged]))
    out = []
    for neuron, vector in zip(judged, vectors, strict=True):
        sims = truth_vectors @ vector
        own = names.index(neuron.name)
        out.append(
            SyntheticScore(
                neuron.name,
                neuron.mode,
                neuron.description,
                descriptions[neuron.name],
                float(sims[own]),
                bool(np.argmax(sims) == own),
            )
        )
    return out
