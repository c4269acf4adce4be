"""A retrieval baseline for SketchAgent (Vinker et al., CVPR 2025): an offline drawer with no language model.

`--model retrieval` finds the openclipart drawing whose file and folder names are closest to the concept (MiniLM
sentence embeddings, `tinkerlab.vision.text`), traces the outlines of its render, simplifies them (Ramer-Douglas-
Peucker in grid cells) and cuts them into at most `max_strokes` strokes of the sketching language, with t-values
from arc length. The result is an ordinary sketch string. It is a baseline, not SketchAgent: it shows what a
drawer that copies clip art scores under the same evaluation, and it gives small local models a retrieved
in-context example (`AgentConfig.retrieved_example`).

Pools: "all" searches every installed openclipart drawing; "heldout" only the drawings the offline recogniser
(`tinkerlab.vision.clipart.ClipartRecognizer`) holds out from its training, so an evaluation of this baseline by
that recogniser never shows it a drawing it was trained on.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from tinkerlab.core.config import check_choice, check_count, check_range
from tinkerlab.core.errors import InputError, MissingAssetError
from tinkerlab.sketch.language import Sketch, Stroke

BASELINE_NAME = "retrieval baseline (openclipart outlines, no language model)"
Pool = Literal["all", "heldout"]


@dataclass(frozen=True)
class RetrievalConfig:
    """How the retrieval baseline draws.

    Attributes:
        pool: "all" openclipart drawings, or only those "heldout" from the offline recogniser's training.
        max_strokes: most strokes of a sketch.
        points_per_stroke: most cells per stroke (a stroke with more is cut; pieces share their end cells).
        tolerance: simplification tolerance in grid cells.
        image_size: render side, in pixels, of the drawing that is traced.
        margin: cells left free on each side of the grid.
    """

    pool: Pool = "all"
    max_strokes: int = 20
    points_per_stroke: int = 4
    tolerance: float = 1.2
    image_size: int = 256
    margin: int = 4

    def __post_init__(self) -> None:
        check_choice(self, "pool", ("all", "heldout"))
        check_count(self, "max_strokes", 1)
        check_count(self, "points_per_stroke", 2)
        check_range(self, "tolerance", 0)
        check_count(self, "image_size", 32)
        check_count(self, "margin", 0)


@dataclass
class Retrieved:
    """A retrieved drawing and the sketch traced from it."""

    sketch: Sketch
    file: Path
    label: str
    similarity: float
    rank: int


def pool_files(pool: Pool = "all") -> list[Path]:
    """The openclipart files the baseline may retrieve from (sorted).

    Raises:
        MissingAssetError: openclipart is not installed.
    """
    from tinkerlab.core.assets import openclipart_svgs

    files = sorted({p for p in openclipart_svgs() if p.stat().st_size < 200_000})
    if not files:
        raise MissingAssetError("openclipart SVG drawings", "apt-get install openclipart-svg")
    if pool == "heldout":
        from tinkerlab.vision.clipart import ClipartRecognizer

        held = {Path(p) for p in ClipartRecognizer.load().test_split["files"]}
        files = [p for p in files if p in held]
    return files


class _Index:
    """MiniLM embeddings of the pool's labels, cached in the user cache directory."""

    def __init__(self, pool: Pool) -> None:
        from tinkerlab.core.paths import cache_dir
        from tinkerlab.vision.clipart import clipart_label
        from tinkerlab.vision.text import TextEncoder

        self.files = pool_files(pool)
        self.labels = [clipart_label(p) for p in self.files]
        digest = hashlib.sha1(json.dumps([str(p) for p in self.files]).encode()).hexdigest()[:12]
        path = cache_dir("sketch", "retrieval") / f"labels-{pool}-{digest}.npy"
        self.encoder = TextEncoder()
        if path.exists():
            self.vectors = np.load(path)
        else:
            self.vectors = np.concatenate(
                [self.encoder(self.labels[i : i + 256]) for i in range(0, len(self.labels), 256)]
            )  # (files, 384), unit rows
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, self.vectors)

    def ranked(self, concept: str) -> list[tuple[int, float]]:
        query = self.encoder([concept])[0]  # (384,)
        similarity = self.vectors @ query
        order = np.argsort(-similarity, kind="stable")
        return [(int(i), float(similarity[i])) for i in order]


_INDEXES: dict[str, _Index] = {}


def _index(pool: Pool) -> _Index:
    if pool not in _INDEXES:
        _INDEXES[pool] = _Index(pool)
    return _INDEXES[pool]


def trace_outlines(svg: Path, image_size: int = 256) -> list[np.ndarray]:
    """Outlines of a drawing's render as (m, 2) arrays of (x, y) pixels, y down, longest first; [] if unreadable.

    The outlines are the borders of its silhouette and of its dark regions (lines and dark fills).
    """
    from skimage import measure

    from tinkerlab.core.errors import require

    cairosvg = require("cairosvg", extra="vision")
    from PIL import Image

    try:
        png = cairosvg.svg2png(url=str(svg), output_width=image_size, output_height=image_size)
    except Exception:  # broken or exotic SVGs are skipped
        return []
    rgba = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"), dtype=np.float32) / 255.0  # (H, W, 4)
    alpha = rgba[..., 3]
    luminance = (rgba[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)) * alpha + (1 - alpha)
    silhouette = np.pad(alpha > 0.5, 1)
    dark = np.pad(luminance < 0.45, 1)
    contours = []
    for mask in (silhouette, dark):
        if mask.mean() < 0.001:
            continue
        for contour in measure.find_contours(mask.astype(np.float32), 0.5):
            contours.append(contour[:, ::-1] - 1.0)  # (row, col) -> (x, y)
    return sorted(contours, key=lambda c: -_length(c))


def _length(polyline: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(polyline, axis=0), axis=1).sum()) if len(polyline) > 1 else 0.0


def outlines_to_sketch(
    outlines: list[np.ndarray], concept: str, config: RetrievalConfig = RetrievalConfig(), *, resolution: int = 50
) -> Sketch:
    """Simplify pixel outlines into at most `config.max_strokes` strokes on the grid (largest outlines first).

    Raises:
        InputError: nothing is left after simplification.
    """
    from skimage.measure import approximate_polygon

    points = [p for p in outlines if len(p) >= 2]
    if not points:
        raise InputError("expected at least one outline to trace, got none")
    stacked = np.concatenate(points)
    low, high = stacked.min(axis=0), stacked.max(axis=0)
    span = float(max(high - low).max()) or 1.0
    usable = resolution - 1 - 2 * config.margin
    scale = usable / span
    offset = config.margin + 1 + (usable - (high - low) * scale) / 2  # centre the drawing

    def to_cells(polyline: np.ndarray) -> np.ndarray:
        cells = (polyline - low) * scale + offset  # (m, 2) columns and rows from the top
        cells[:, 1] = resolution + 1 - cells[:, 1]  # rows count from the bottom
        return cells

    strokes: list[Stroke] = []
    covered: set[tuple[int, int]] = set()
    for outline in points:
        simple = approximate_polygon(to_cells(outline), tolerance=config.tolerance)
        cells = np.clip(np.rint(simple), 1, resolution).astype(int)
        keep = [0] + [i for i in range(1, len(cells)) if (cells[i] != cells[i - 1]).any()]
        cells, simple = cells[keep], simple[keep]
        if len(cells) < 2 or _length(simple) < 3.0:
            continue
        around = {(c + dc, r + dr) for c, r in cells.tolist() for dc in (-1, 0, 1) for dr in (-1, 0, 1)}
        if covered and np.mean([tuple(c) in covered for c in cells.tolist()]) > 0.7:
            continue  # the other side of a line already traced
        covered |= around
        for piece in _pieces(cells, config.points_per_stroke):
            strokes.append(_stroke(piece, f"outline {len(strokes) + 1}"))
            if len(strokes) == config.max_strokes:
                break
        if len(strokes) == config.max_strokes:
            break
    if not strokes:
        raise InputError("the drawing's outlines are too small to trace onto the grid")
    return Sketch(tuple(strokes), concept, resolution=resolution)


def _pieces(cells: np.ndarray, most: int, corner_degrees: float = 55.0) -> list[np.ndarray]:
    """Cut a polyline of cells at its sharp corners, then into pieces of at most `most` cells sharing ends.

    A fitted curve rounds what lies between its cells, so a piece never runs through a sharp corner.
    """
    steps = np.diff(cells, axis=0).astype(float)  # (m-1, 2)
    steps /= np.linalg.norm(steps, axis=1, keepdims=True) + 1e-9
    turn = (steps[1:] * steps[:-1]).sum(axis=1)  # (m-2,) cosine of the turn at each inner cell
    corners = [0] + [i + 1 for i in np.flatnonzero(turn < np.cos(np.deg2rad(corner_degrees)))] + [len(cells) - 1]
    pieces = []
    for begin, end in zip(corners[:-1], corners[1:], strict=False):
        for start in range(begin, end, most - 1):
            piece = cells[start : min(start + most, end + 1)]
            if len(piece) >= 2:
                pieces.append(piece)
    return pieces


def _stroke(cells: np.ndarray, label: str) -> Stroke:
    """A stroke through `cells` with t-values from arc length (0 at the start, 1 at the end)."""
    lengths = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(cells, axis=0), axis=1))])
    t = lengths / lengths[-1] if lengths[-1] > 0 else np.linspace(0, 1, len(cells))
    t = np.round(t, 2)
    t[0], t[-1] = 0.0, 1.0
    return Stroke(tuple(map(tuple, cells.tolist())), tuple(float(v) for v in t), label)


def retrieve(concept: str, variant: int = 0, config: RetrievalConfig = RetrievalConfig()) -> Retrieved:
    """The `variant`-th best drawing for `concept` that traces into strokes (0 is the best match).

    Raises:
        InputError: an empty concept, or no drawing of the pool could be traced.
        MissingAssetError: openclipart or MiniLM is not installed.
    """
    if not concept or not concept.strip():
        raise InputError("expected a concept to retrieve a drawing for, got nothing")
    if variant < 0:
        raise InputError(f"expected a variant of 0 or more, got {variant}")
    index = _index(config.pool)
    found = 0
    for rank, (i, similarity) in enumerate(index.ranked(concept.strip())[: variant + 40]):
        outlines = trace_outlines(index.files[i], config.image_size)
        if not outlines:
            continue
        try:
            sketch = outlines_to_sketch(outlines, concept.strip(), config)
        except InputError:
            continue
        if len(sketch) < 2:
            continue
        if found == variant:
            thinking = (
                f"Baseline without a language model: retrieved the openclipart drawing {index.labels[i]!r} "
                f"(MiniLM similarity {similarity:.2f}, rank {rank + 1} of {len(index.files)} in the "
                f"{config.pool!r} pool), traced its outlines and simplified them into {len(sketch)} strokes."
            )
            return Retrieved(
                Sketch(sketch.strokes, sketch.concept, thinking, (), sketch.resolution),
                index.files[i],
                index.labels[i],
                similarity,
                rank,
            )
        found += 1
    raise InputError(f"no drawing in the {config.pool!r} openclipart pool could be traced for {concept!r}")


def draw_baseline(concept: str, variant: int = 0, config: RetrievalConfig = RetrievalConfig()):
    """The retrieval baseline as a `tinkerlab.sketch.agent.DrawResult` (its one reply is the sketch string)."""
    from tinkerlab.sketch.agent import DrawResult

    start = time.perf_counter()
    found = retrieve(concept, variant, config)
    text = found.sketch.to_text(include_thinking=True)
    return DrawResult(found.sketch, [text], [], time.perf_counter() - start)


def example_text(concept: str, config: RetrievalConfig = RetrievalConfig(), *, max_strokes: int = 8) -> str:
    """A retrieved drawing of `concept` as a worked example for the prompt (at most `max_strokes` strokes)."""
    from dataclasses import replace

    found = retrieve(concept, 0, replace(config, max_strokes=max_strokes))
    return found.sketch.to_text()


__all__ = [
    "BASELINE_NAME",
    "RetrievalConfig",
    "Retrieved",
    "draw_baseline",
    "example_text",
    "outlines_to_sketch",
    "pool_files",
    "retrieve",
    "trace_outlines",
]
