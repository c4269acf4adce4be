"""Entity "neurons" of FIND (Schwettmann et al., NeurIPS 2023 D&B).

An entity function maps a word to P("1") under the instruction 'Return only "1" if that input is related to
{concept}. Return only "0" otherwise.', read from an LM's next-token probabilities (see `tinkerlab.find.lm`).
140 functions use one concept; 60 use the OR of two ("lakes or journalism").

Each spec also holds 10 search-initialisation words (the original's ``initial.json``: two related words per
concept, the rest unrelated) and 10 three-way unit tests: "which input will the function be most selective
for?", with one related word that is not a hint and two unrelated ones.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from tinkerlab.find.concepts import CONCEPTS

Readout = Literal["instruction", "association"]

ASSOCIATION_OFFSET = 0.7
"""Subtracted from the association score before the sigmoid: the midpoint between the mean score of related
(3.7) and unrelated (-2.3) words on 8 concepts of the bank under SmolLM2-135M."""


HINT_WORDS_PER_CONCEPT = 2
"""Related words per concept among the 10 search-initialisation words. The unit tests' answers are drawn from
the other related words, so no answer is a hint word (the original's hints hold 17.2% of its answers, measured
on `src/find-dataset/neurons_entities/data.json` against `unit_test_data.json`)."""


def instruction(concepts: list[str]) -> str:
    """The neuron's instruction for one concept or the OR of two."""
    concept = " or ".join(concepts)
    return f'Return only "1" if that input is related to {concept}. Return only "0" otherwise.'


def describe(concepts: list[str]) -> str:
    if len(concepts) == 1:
        return f"The function responds to inputs related to {concepts[0]}."
    return f"The function responds to inputs related to {concepts[0]} or to {concepts[1]}."


def _related(concepts: list[str]) -> list[str]:
    return [w for c in concepts for w in CONCEPTS[c]]


def _unrelated_pool(concepts: list[str]) -> list[str]:
    related = {w.lower() for w in _related(concepts)}
    return sorted({w for c, words in CONCEPTS.items() if c not in concepts for w in words if w.lower() not in related})


def build_entity_specs(rng: np.random.Generator, count: int, readout: Readout = "instruction") -> list[dict[str, Any]]:
    """Entity specs: the first 70% single concepts (140 of 200), the rest OR pairs.

    Args:
        rng: the random generator.
        count: number of functions (200 in the full suite).
        readout: 'instruction' (the original: P("1") under the instruction) or 'association' (see
            `entity_outputs`); recorded in the spec when not the original.
    """
    if readout not in ("instruction", "association"):
        from tinkerlab.core.errors import InputError

        raise InputError(f"entity readout must be 'instruction' or 'association', got {readout!r}")
    names = sorted(CONCEPTS)
    n_single = int(round(count * 0.7))
    singles = [str(c) for c in rng.permutation(names)[:n_single]]
    specs = []
    for index in range(count):
        if index < n_single:
            concepts = [singles[index]]
        else:
            pair = rng.choice(len(names), size=2, replace=False)
            concepts = [names[int(pair[0])], names[int(pair[1])]]
        pool = _unrelated_pool(concepts)
        hint_pos = [
            str(w) for c in concepts for w in rng.choice(CONCEPTS[c], size=HINT_WORDS_PER_CONCEPT, replace=False)
        ]
        hint_neg = [str(w) for w in rng.choice(pool, size=10 - len(hint_pos), replace=False)]
        initial = [str(w) for w in rng.permutation(hint_pos + hint_neg)]
        # the unit tests' answers are the related words that are not hints, each used before any repeats
        answers = [str(w) for w in rng.permutation([w for w in _related(concepts) if w not in hint_pos])]
        tests = []
        for item in range(10):
            answer = int(rng.integers(0, 3))
            others = [str(w) for w in rng.choice(pool, size=2, replace=False)]
            candidates = others[:answer] + [answers[item % len(answers)]] + others[answer:]
            tests.append({"candidates": candidates, "answer": answer + 1})
        spec = {
            "id": f"f{index:05d}",
            "category": "entities",
            "concepts": concepts,
            "instruction": instruction(concepts),
            "description": describe(concepts),
            "initial": initial,
            "unit_tests": tests,
        }
        if readout != "instruction":
            spec["readout"] = readout
        specs.append(spec)
    return specs


def association_prefix(concept: str | None) -> str:
    """The plain-text context of the association readout (None: the concept-free reference)."""
    return "Here is a word:" if concept is None else f"Here is a word related to {concept}:"


def entity_outputs(spec: dict[str, Any], inputs: list[str], lm: Any) -> list[float]:
    """The neuron's outputs on `inputs` (cached by the LM).

    With the original readout ('instruction'), P("1") under the instruction, normalised over "0" and "1".
    With 'association', sigmoid(max over the concepts of log P(word | "Here is a word related to {concept}:")
    - log P(word | "Here is a word:") - `ASSOCIATION_OFFSET`): how much naming the concept raises the word's
    probability (pointwise mutual information), which a small LM measures far more reliably than it follows
    the yes/no instruction.
    """
    inputs = [str(t) for t in inputs]
    if spec.get("readout", "instruction") == "instruction":
        return [round(v, 4) for v in lm.prob_one_many(spec["instruction"], inputs)]
    base = np.array(lm.continuation_logprob_many([association_prefix(None)] * len(inputs), inputs))
    scores = np.full(len(inputs), -np.inf)
    for concept in spec["concepts"]:
        given = np.array(lm.continuation_logprob_many([association_prefix(concept)] * len(inputs), inputs))
        scores = np.maximum(scores, given - base)
    return [round(1.0 / (1.0 + math.exp(-(float(v) - ASSOCIATION_OFFSET))), 4) for v in scores]
