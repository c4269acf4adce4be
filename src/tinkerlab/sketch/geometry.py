"""From grid cells to Bézier curves, as in SketchAgent (Vinker et al., CVPR 2025).

The points of a stroke are *samples on the curve* at their t-values, not control points. Control points are
recovered by least squares against the Bernstein basis evaluated at the t-values:

| points n | curve |
|---|---|
| 1 | a dot: a segment from P to P + 1e-4 (the round cap makes it a disc) |
| 2 | a straight line between the two points |
| 3 | a quadratic Bézier (exact fit) |
| 4 | a cubic Bézier (exact interpolation) |
| > 4 | a least-squares cubic; when the mean distance between the samples and the curve at their t exceeds 5 px
        and n >= 7, the stroke is split once at ``mid = n // 2`` into ``points[:mid + 1]`` and ``points[mid:]``,
        each half fitted as a cubic with its t re-normalised to [0, 1], and the right half's first control
        point snapped to the left half's last |

A t count that does not match the point count falls back to evenly spaced t.

Speed: the least-squares solution is ``pinv(A) @ B``; the pseudo-inverse depends only on the t-values, which
models repeat a lot (0.00, 0.25, ...), so it is cached per t tuple. Flattening evaluates every segment at once
with a precomputed basis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from math import comb

import numpy as np

from tinkerlab.sketch.language import RESOLUTION, Sketch, Stroke

SPLIT_ERROR_PX = 5.0
SPLIT_MIN_POINTS = 7
DOT_OFFSET = 1e-4


@dataclass(frozen=True)
class Grid:
    """The drawing grid: `resolution` cells per side of `cell_size` px, plus one label row and column.

    The canvas is ``(resolution + 1) * cell_size`` px square (612 px by default); the centre of cell
    ``x{i}y{j}`` is at ``(cell_size * i + cell_size / 2, canvas - cell_size * j - cell_size / 2)`` in SVG
    coordinates (y down), i.e. (12 i + 6, 606 - 12 j).
    """

    resolution: int = RESOLUTION
    cell_size: int = 12

    @property
    def canvas_size(self) -> int:
        return (self.resolution + 1) * self.cell_size

    def cell_center(self, column: int, row: int) -> tuple[float, float]:
        """Pixel centre (x, y) of cell ``x{column}y{row}``."""
        half = self.cell_size / 2
        return self.cell_size * column + half, self.canvas_size - self.cell_size * row - half

    def centers(self, points: Sequence[tuple[int, int]]) -> np.ndarray:
        """Pixel centres of cells, shape (n, 2)."""
        cells = np.asarray(points, dtype=np.float64).reshape(-1, 2)  # (n, 2) column,row
        half = self.cell_size / 2
        out = np.empty_like(cells)
        out[:, 0] = self.cell_size * cells[:, 0] + half
        out[:, 1] = self.canvas_size - self.cell_size * cells[:, 1] - half
        return out

    def cell_at(self, x: float, y: float) -> tuple[int, int]:
        """The cell (column, row) containing pixel (x, y), clamped to the grid."""
        column = int(x // self.cell_size)
        row = self.resolution - int(y // self.cell_size)
        return min(max(column, 1), self.resolution), min(max(row, 1), self.resolution)


DEFAULT_GRID = Grid()


def bernstein(t: np.ndarray, degree: int) -> np.ndarray:
    """Bernstein basis of `degree` at `t`, shape (len(t), degree + 1)."""
    t = np.asarray(t, dtype=np.float64)[:, None]  # (n, 1)
    k = np.arange(degree + 1)[None, :]  # (1, d+1)
    coefficients = np.array([comb(degree, i) for i in range(degree + 1)], dtype=np.float64)
    return coefficients * t**k * (1.0 - t) ** (degree - k)


@lru_cache(maxsize=8192)
def _basis_and_pinv(t_values: tuple[float, ...], degree: int) -> tuple[np.ndarray, np.ndarray]:
    """(A, pinv(A)) for these t-values; pinv(A) @ B is the minimum-norm least-squares solution (as lstsq)."""
    basis = bernstein(np.asarray(t_values), degree)  # (n, d+1)
    pinv = np.linalg.pinv(basis)  # (d+1, n)
    basis.setflags(write=False)
    pinv.setflags(write=False)
    return basis, pinv


def effective_t(n: int, t_values: Sequence[float]) -> tuple[float, ...]:
    """The t-values used for fitting: the given ones, or evenly spaced when the count does not match."""
    if len(t_values) == n:
        return tuple(float(t) for t in t_values)
    return tuple(np.linspace(0.0, 1.0, n).tolist())


def _renormalise(t: tuple[float, ...]) -> tuple[float, ...]:
    span = t[-1] - t[0]
    if span == 0:
        return tuple(np.linspace(0.0, 1.0, len(t)).tolist())
    return tuple((v - t[0]) / span for v in t)


def fit_points(points: np.ndarray, t_values: Sequence[float] = ()) -> list[np.ndarray]:
    """Fit the Bézier segment(s) of one stroke given as pixel samples.

    Args:
        points: (n, 2) pixel positions, n >= 1.
        t_values: one t per point; any other count means evenly spaced.

    Returns:
        One or two control-point arrays, each (k, 2) with k = 2 (line), 3 (quadratic) or 4 (cubic).

    Raises:
        ValueError: `points` is empty or not (n, 2).
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError(f"expected points of shape (n, 2) with n >= 1, got {points.shape}")
    n = len(points)
    if n == 1:
        return [np.stack([points[0], points[0] + DOT_OFFSET])]
    if n == 2:
        return [points.copy()]
    t = effective_t(n, t_values)
    if n == 3:
        _, pinv = _basis_and_pinv(t, 2)
        return [pinv @ points]
    basis, pinv = _basis_and_pinv(t, 3)
    control = pinv @ points  # (4, 2)
    if n >= SPLIT_MIN_POINTS:
        error = np.sqrt(((basis @ control - points) ** 2).sum(axis=1)).mean()
        if error > SPLIT_ERROR_PX:
            mid = n // 2
            left_t = _renormalise(t[: mid + 1])
            right_t = _renormalise(t[mid:])
            left = _basis_and_pinv(left_t, 3)[1] @ points[: mid + 1]
            right = _basis_and_pinv(right_t, 3)[1] @ points[mid:]
            right[0] = left[-1]
            return [left, right]
    return [control]


def fit_stroke(stroke: Stroke, grid: Grid = DEFAULT_GRID) -> list[np.ndarray]:
    """Control points of one stroke in pixels (see `fit_points`)."""
    return fit_points(grid.centers(stroke.points), stroke.t_values)


def fit_sketch(sketch: Sketch, grid: Grid = DEFAULT_GRID) -> list[list[np.ndarray]]:
    """Control points of every stroke: a list (per stroke) of one or two (k, 2) arrays."""
    return [fit_stroke(stroke, grid) for stroke in sketch.strokes]


@lru_cache(maxsize=64)
def _flatten_basis(samples: int) -> np.ndarray:
    basis = bernstein(np.linspace(0.0, 1.0, samples), 3)  # (samples, 4)
    basis.setflags(write=False)
    return basis


def to_cubic(control: np.ndarray) -> np.ndarray:
    """Degree-elevate a line (2 points) or quadratic (3 points) to the same curve as a cubic (4 points)."""
    k = len(control)
    if k == 4:
        return control
    if k == 2:
        p0, p1 = control
        return np.stack([p0, p0 + (p1 - p0) / 3.0, p0 + 2.0 * (p1 - p0) / 3.0, p1])
    if k == 3:
        p0, p1, p2 = control
        return np.stack([p0, p0 + 2.0 / 3.0 * (p1 - p0), p2 + 2.0 / 3.0 * (p1 - p2), p2])
    raise ValueError(f"expected 2, 3 or 4 control points, got {k}")


def flatten(fitted: list[list[np.ndarray]], samples: int = 32) -> list[np.ndarray]:
    """Polylines of fitted strokes: per stroke an (m, 2) array of pixel positions.

    Lines stay two points; curves are evaluated at `samples` t per segment, all segments in one product.
    """
    curves: list[np.ndarray] = []
    owners: list[int] = []
    for index, segments in enumerate(fitted):
        for control in segments:
            if len(control) > 2:
                curves.append(to_cubic(control))
                owners.append(index)
    sampled = iter(())
    if curves:
        stacked = np.stack(curves)  # (c, 4, 2)
        sampled = iter(np.einsum("sk,ckd->csd", _flatten_basis(samples), stacked))  # (c, samples, 2)
    polylines: list[np.ndarray] = []
    for segments in fitted:
        parts = []
        for control in segments:
            part = control if len(control) == 2 else next(sampled)
            if parts:
                part = part[1:]
            parts.append(part)
        polylines.append(np.concatenate(parts) if len(parts) > 1 else parts[0])
    return polylines
