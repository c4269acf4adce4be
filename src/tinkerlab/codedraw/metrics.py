"""Scores of code drawings: fidelity, diversity and failure rate, per level and per language.

- **fidelity**: the rank of the drawn concept among the level's concept list under a recogniser (the offline
  clip-art recogniser by default, CLIP with weights you supply), reported as top-1, top-5 and mean rank. A drawing
  that failed (any status but `ok`) counts as a miss at the last rank: failures are never dropped.
- **diversity**: for each concept with at least two rendered drawings, the mean pairwise cosine distance of their
  EfficientNet-Lite0 features; averaged over concepts.
- **failure rate**: the share of drawings whose status is not `ok`, with the count of each status.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from tinkerlab.core.errors import InputError


@dataclass
class Item:
    """One drawing to score: its concept, level, language, status and render (None when it failed)."""

    concept: str
    level: str
    language: str
    status: str
    image: Image.Image | None = None


@dataclass
class Cell:
    """Scores of one (level, language) group."""

    level: str
    language: str
    count: int
    failure_rate: float
    statuses: dict[str, int]
    top1: float
    top5: float
    mean_rank: float
    concepts: int
    diversity: float | None
    extra: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "language": self.language,
            "n": self.count,
            "failure rate": round(self.failure_rate, 3),
            "top-1": round(self.top1, 3),
            "top-5": round(self.top5, 3),
            "mean rank": round(self.mean_rank, 1),
            "of": self.concepts,
            "diversity": None if self.diversity is None else round(self.diversity, 3),
            "statuses": dict(self.statuses),
        }


def concept_ranks(scores: np.ndarray, truth: Sequence[int]) -> np.ndarray:
    """1-based rank of each row's true column (ties count against it).

    >>> concept_ranks(np.array([[0.1, 0.9, 0.0], [0.5, 0.5, 0.2]]), [1, 1]).tolist()
    [1, 2]
    """
    scores = np.asarray(scores, dtype=np.float64)
    true = scores[np.arange(len(truth)), list(truth)]
    return (scores >= true[:, None]).sum(axis=1)


def mean_pairwise_cosine_distance(features: np.ndarray) -> float:
    """Mean cosine distance over all pairs of rows (0 for identical rows).

    >>> round(mean_pairwise_cosine_distance(np.array([[1.0, 0.0], [0.0, 1.0]])), 3)
    1.0
    """
    features = np.asarray(features, dtype=np.float64)
    if len(features) < 2:
        raise InputError("diversity needs at least two drawings of a concept")
    unit = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    similarity = unit @ unit.T
    upper = np.triu_indices(len(unit), k=1)
    return float(np.mean(1.0 - similarity[upper]))


def score_items(
    items: Sequence[Item],
    concepts_by_level: dict[str, Sequence[str]],
    recognizer: Any,
    features: Any | None = None,
) -> list[Cell]:
    """Scores per (level, language), in the order the groups first appear.

    Args:
        items: the drawings.
        concepts_by_level: each level's concept list (the candidates the recogniser ranks among).
        recognizer: anything with `scores(images, concepts) -> (n, n_concepts)` (see `tinkerlab.vision`).
        features: a callable images -> (n, d) features for diversity (e.g. `vision.features.FeatureExtractor()`);
            None leaves diversity out.
    """
    groups: dict[tuple[str, str], list[Item]] = defaultdict(list)
    for item in items:
        if item.level not in concepts_by_level:
            raise InputError(f"level {item.level!r} has no concept list; expected one of {sorted(concepts_by_level)}")
        groups[(item.level, item.language)].append(item)
    cells = []
    for (level, language), members in groups.items():
        concepts = list(concepts_by_level[level])
        index = {c: i for i, c in enumerate(concepts)}
        missing = sorted({m.concept for m in members if m.concept not in index})
        if missing:
            raise InputError(f"concepts {missing[:3]} are not in the {level} list")
        ranks = np.full(len(members), len(concepts), dtype=np.float64)
        rendered = [i for i, m in enumerate(members) if m.status == "ok" and m.image is not None]
        if rendered:
            scores = recognizer.scores([members[i].image for i in rendered], concepts)
            ranks[rendered] = concept_ranks(scores, [index[members[i].concept] for i in rendered])
        diversity = None
        if features is not None:
            by_concept: dict[str, list[Image.Image]] = defaultdict(list)
            for i in rendered:
                by_concept[members[i].concept].append(members[i].image)
            values = [mean_pairwise_cosine_distance(features(ims)) for ims in by_concept.values() if len(ims) >= 2]
            diversity = float(np.mean(values)) if values else None
        statuses = Counter(m.status for m in members)
        cells.append(
            Cell(
                level=level,
                language=language,
                count=len(members),
                failure_rate=1.0 - statuses.get("ok", 0) / len(members),
                statuses=dict(sorted(statuses.items())),
                top1=float(np.mean(ranks <= 1)),
                top5=float(np.mean(ranks <= 5)),
                mean_rank=float(np.mean(ranks)),
                concepts=len(concepts),
                diversity=diversity,
            )
        )
    return cells


def markdown_table(cells: Sequence[Cell]) -> str:
    """The cells as a Markdown table."""
    head = "| level | language | n | failure rate | top-1 | top-5 | mean rank (of) | diversity |"
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for c in cells:
        diversity = "-" if c.diversity is None else f"{c.diversity:.3f}"
        lines.append(
            f"| {c.level} | {c.language} | {c.count} | {c.failure_rate:.2f} | {c.top1:.2f} | {c.top5:.2f} | "
            f"{c.mean_rank:.1f} ({c.concepts}) | {diversity} |"
        )
    return "\n".join(lines)
