"""A person's stroke (a mouse or pen polyline with timestamps) mapped into the SketchAgent language, as the
collaborative interface of SketchAgent (Vinker et al., CVPR 2025) does:

1. each sample is clamped to the canvas and assigned the cell that contains it
   (column ``x // 12``, row ``50 - y // 12``, then clamped to 1..50);
2. a sample is kept only when it lies within 5 px of that cell's centre, so the stroke is described by the cells
   the pen crossed near their middle; when no sample is that close, 8 px is used instead;
3. consecutive repeats of a cell are dropped;
4. t is the sample's time, min-max normalised over the kept samples and rounded to 2 decimals
   (evenly spaced when all times are equal).

Human strokes carry no ``<id>`` label, which is how the agent tells them apart from its own.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinkerlab.core.errors import InputError
from tinkerlab.sketch.geometry import DEFAULT_GRID, Grid
from tinkerlab.sketch.language import Stroke

NEAR_PX = 5.0
FALLBACK_PX = 8.0


def check_samples(
    points: Sequence[Sequence[float]] | np.ndarray, times: Sequence[float] | np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Drawn samples as arrays, checked: (m, 2) finite pixel positions and (m,) finite timestamps (evenly spaced
    when `times` is None). The one check of drawn input, shared by `human_stroke` and the canvas server.

    Raises:
        InputError: no points, points that are not [x, y] pairs, a coordinate or time that is not a finite number,
            or `times` of another length.

    Example:
        >>> check_samples([[0, 0], [float("nan"), 1]])
        Traceback (most recent call last):
        ...
        tinkerlab.core.errors.InputError: expected finite pixel coordinates, got NaN or infinity
    """
    try:
        xy = np.asarray(points, dtype=np.float64) if len(points) else np.zeros((0, 2))
    except (TypeError, ValueError):
        raise InputError("expected points as a list of [x, y] pixel pairs") from None
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise InputError(f"expected points as [x, y] pixel pairs, got an array of shape {xy.shape}")
    if len(xy) == 0:
        raise InputError("a drawn stroke needs at least one point, got none")
    if not np.isfinite(xy).all():
        raise InputError("expected finite pixel coordinates, got NaN or infinity")
    if times is None:
        return xy, np.arange(len(xy), dtype=np.float64)
    try:
        stamps = np.asarray(times, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise InputError("expected times as a list of numbers (seconds)") from None
    if len(stamps) != len(xy):
        raise InputError(f"expected one timestamp per point ({len(xy)}), got {len(stamps)}")
    if not np.isfinite(stamps).all():
        raise InputError("expected finite timestamps, got NaN or infinity")
    return xy, stamps


def human_stroke(
    points: Sequence[Sequence[float]] | np.ndarray,
    times: Sequence[float] | np.ndarray | None = None,
    *,
    grid: Grid = DEFAULT_GRID,
    near_px: float = NEAR_PX,
    fallback_px: float = FALLBACK_PX,
) -> Stroke:
    """Map a drawn polyline to a `Stroke`.

    Args:
        points: (m, 2) pixel positions on the canvas (``grid.canvas_size`` px square, y down).
        times: (m,) timestamps in any unit (seconds, ms); None means evenly spaced.
        grid: the grid the canvas shows.
        near_px: keep samples within this distance of their cell's centre...
        fallback_px: ...or within this one when no sample is that close.

    Returns:
        The stroke, without a label. When even the fallback keeps nothing, the cells of the first and last samples
        are used, so every drawn stroke leaves a mark.

    Raises:
        InputError: no points, a coordinate or time that is not a finite number, or `times` of another length.
    """
    xy, stamps = check_samples(points, times)
    size = grid.canvas_size
    xy = np.clip(xy, 0, size - 1)
    columns = np.clip(xy[:, 0] // grid.cell_size, 1, grid.resolution).astype(int)
    rows = np.clip(grid.resolution - xy[:, 1] // grid.cell_size, 1, grid.resolution).astype(int)
    centres = grid.centers(np.stack([columns, rows], axis=1))
    distance = np.linalg.norm(xy - centres, axis=1)

    keep = distance <= near_px
    if not keep.any():
        keep = distance <= fallback_px
    if not keep.any():
        keep = np.zeros(len(xy), dtype=bool)
        keep[[0, -1]] = True
    cells: list[tuple[int, int]] = []
    kept_times: list[float] = []
    for column, row, stamp in zip(columns[keep], rows[keep], stamps[keep], strict=False):
        cell = (int(column), int(row))
        if cells and cells[-1] == cell:
            continue
        cells.append(cell)
        kept_times.append(float(stamp))
    t = np.asarray(kept_times)
    span = t.max() - t.min()
    if len(t) == 1:
        t_values = [0.0]
    elif span <= 0:
        t_values = np.round(np.linspace(0.0, 1.0, len(t)), 2).tolist()
    else:
        t_values = np.round((t - t.min()) / span, 2).tolist()
    return Stroke(tuple(cells), tuple(t_values), "")
