"""Descriptions without a chat model: the API-free experimenter and the exemplar-only baseline.

- `exemplar_baseline` (MILAN-like, one round): describe the highlighted regions of the top exemplars and name the
  concepts most of them share.
- `experimenter` uses the same tools as the agent, as a fixed procedure: exemplars -> describer labels ->
  candidate concepts (plus a screen of every concept the generator can draw) -> targeted procedural tests of each
  candidate against neutral images -> when no single concept explains the exemplars' activation, tests of pairs
  of the exemplars' shared concepts drawn together (AND) -> tests of the best two alone and together (OR, AND) ->
  the description the tests support best.

Both speak the procedural generator's vocabulary, so they can only name concepts it can draw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinkerlab.maia import scenes
from tinkerlab.maia.synthetic import _and_description, _noun
from tinkerlab.maia.tools import Tools, highlight_of

COLOUR_LIST = list(scenes.COLOURS)


@dataclass
class BaselineResult:
    """A description, its label, and the evidence it rests on."""

    description: str
    labels: list[str]
    evidence: dict = field(default_factory=dict)
    images_scored: int = 0


def concept_words(text: str) -> list[str]:
    """The generator concepts a text names, in order (plurals and synonyms folded)."""
    words = [scenes._singular(w) for w in scenes._words(text)]
    return [w for w in words if w in scenes.CONCEPTS]


def _exemplar_counts(tools: Tools, k: int) -> dict[str, int]:
    _, masked = tools.dataset_exemplars(k)
    counts: dict[str, int] = {}
    for image in masked:
        for concept in dict.fromkeys(concept_words(tools.describer.describe(image, highlight_of(image)))):
            counts[concept] = counts.get(concept, 0) + 1
    return counts


def exemplar_baseline(tools: Tools, k: int = 15) -> BaselineResult:
    """The one-round baseline: the concepts shared by most described exemplars."""
    counts = _exemplar_counts(tools, k)
    ranked = sorted(counts, key=lambda c: -counts[c])
    if not ranked:
        return BaselineResult("no concept the describer can name", [], {"counts": counts})
    best = [c for c in ranked[:2] if counts[c] >= max(2, 0.5 * counts[ranked[0]])]
    description = " or ".join(_noun(c) for c in best)
    return BaselineResult(description, [_noun(c) for c in best], {"counts": counts})


def _prompt_with(concept: str, rng: np.random.Generator, also: str | None = None) -> str:
    kind = str(rng.choice(scenes.KINDS))
    colour = str(rng.choice(COLOUR_LIST))
    texture = ""
    background = str(rng.choice(scenes.BACKGROUNDS[1:]))
    for c in (concept, also):
        if c is None:
            continue
        if c in scenes.KINDS:
            kind = c
        elif c in scenes.COLOURS:
            colour = c
        elif c in scenes.TEXTURES:
            texture = c
        elif c in scenes.BACKGROUNDS:
            background = c
    if also is not None and also in scenes.KINDS and concept in scenes.KINDS:
        return f"a {colour} {concept} on the left and a {also} on the right on {background}"
    return f"a large {colour} {texture} {kind} on {background}".replace("  ", " ")


def _prompt_without(excluded: set[str], rng: np.random.Generator) -> str:
    kinds = [k for k in scenes.KINDS if k not in excluded]
    colours = [c for c in COLOUR_LIST if c not in excluded]
    backgrounds = [b for b in scenes.BACKGROUNDS[1:] if b not in excluded]
    return f"a large {rng.choice(colours)} {rng.choice(kinds)} on {rng.choice(backgrounds)}"


def _category(concept: str) -> str:
    for name, group in (("kind", scenes.KINDS), ("colour", scenes.COLOURS), ("texture", scenes.TEXTURES)):
        if concept in group:
            return name
    return "background"


def _conjunction(
    tools: Tools, counts: dict[str, int], effects: dict[str, float], score: Any, rng: np.random.Generator, tests: int
) -> tuple[tuple[str, str], dict[str, float]] | None:
    """When no single concept comes near the exemplars' activation, test pairs of the concepts most exemplars
    show, drawn together; a pair that fires far above either concept alone is a conjunction (AND)."""
    level = float(np.mean(tools.exemplar_activations[:5])) if tools.exemplar_activations else 0.0
    best_single = max(effects.values())
    if best_single >= 0.5 * level:
        return None
    shared = sorted(counts, key=lambda c: -counts[c])[:4]
    pairs = [
        (a, b)
        for i, a in enumerate(shared)
        for b in shared[i + 1 :]
        if _category(a) != _category(b) or _category(a) == "kind"
    ]
    if not pairs:
        return None
    neither = score([_prompt_without(set(shared), rng) for _ in range(tests)])
    gains = {f"{a}+{b}": score([_prompt_with(a, rng, also=b) for _ in range(tests)]) - neither for a, b in pairs}
    top = max(gains, key=lambda key: gains[key])
    a, b = top.split("+")
    if gains[top] > 0.3 and gains[top] > 1.5 * max(effects.get(a, 0.0), effects.get(b, 0.0), 0.0):
        return (a, b), gains
    return None


def experimenter(tools: Tools, *, k: int = 15, tests: int = 6, candidates: int = 4, seed: int = 0) -> BaselineResult:
    """The API-free experimenter (see the module docstring); every image it scores goes through `call_neuron`."""
    rng = np.random.default_rng(seed)
    scored = 0

    def score(prompts: list[str]) -> float:
        nonlocal scored
        images = tools.text2image(prompts)
        scored += len(images)
        return float(np.mean(tools.call_neuron(images)[0]))

    counts = _exemplar_counts(tools, k)
    from_exemplars = sorted(counts, key=lambda c: -counts[c])[:candidates]
    screen = {c: score([_prompt_with(c, rng) for _ in range(2)]) for c in scenes.CONCEPTS}
    from_screen = sorted(screen, key=lambda c: -screen[c])[:candidates]
    pool = list(dict.fromkeys(from_exemplars + from_screen))
    effects = {}
    for concept in pool:
        positive = score([_prompt_with(concept, rng) for _ in range(tests)])
        neutral = score([_prompt_without({concept}, rng) for _ in range(tests)])
        effects[concept] = positive - neutral
    ranked = sorted(effects, key=lambda c: -effects[c])
    best = ranked[0]
    evidence = {"exemplar_counts": counts, "screen": screen, "effects": effects}
    conjunction = _conjunction(tools, counts, effects, score, rng, tests)
    if conjunction is not None:
        (a, b), evidence["conjunctions"] = conjunction
        description = _and_description(a, b)
        return BaselineResult(description, [description], evidence, scored)
    if len(ranked) < 2:
        return BaselineResult(_noun(best), [_noun(best)], evidence, scored)
    second = ranked[1]
    both = {best, second}
    alone_a = score([_prompt_with(best, rng) for _ in range(tests)])
    alone_b = score([_prompt_with(second, rng) for _ in range(tests)])
    together = score([_prompt_with(best, rng, also=second) for _ in range(tests)])
    neither = score([_prompt_without(both, rng) for _ in range(tests)])
    evidence |= {"pair": [best, second], "alone": [alone_a, alone_b], "together": together, "neither": neither}
    top = max(alone_a, alone_b, together)
    span = max(top - neither, 1e-6)
    if together - neither > 0.3 and max(alone_a, alone_b) - neither < 0.5 * (together - neither):
        description = _and_description(best, second)
        labels = [description]
    elif min(alone_a, alone_b) - neither > 0.6 * span and effects[second] > 0.5 * effects[best]:
        description = f"{_noun(best)} or {_noun(second)}"
        labels = [_noun(best), _noun(second)]
    else:
        description = _noun(best)
        labels = [description]
    return BaselineResult(description, labels, evidence, scored)
