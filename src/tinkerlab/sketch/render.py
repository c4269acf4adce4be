"""Rendering SketchAgent sketches (Vinker et al., CVPR 2025): SVG, PNG, the labelled grid, colours, and
stroke-order animations (GIF and animated SVG).

The SVG keeps the fitted Bézier curves (``M … C …`` paths, stroke width 7, round caps), as the original did.
The PNG path does not go through an SVG rasteriser: the curves are flattened to polylines in NumPy and drawn as
thick round-jointed lines with round end caps by Pillow at 2x, then box-filtered down (anti-aliasing). That is
several times faster than CairoSVG (see ``benchmarks/sketch_render.py``) and looks the same at this scale.
"""

from __future__ import annotations

import html
import io
import struct
import zlib
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageColor, ImageDraw, ImageFont

from tinkerlab.core.errors import InputError
from tinkerlab.sketch.geometry import DEFAULT_GRID, Grid, fit_sketch, flatten
from tinkerlab.sketch.language import Sketch

STROKE_WIDTH = 7.0
Colors = str | Sequence[str] | None

# A qualitative palette for colouring strokes by drawing order (readable on white and on the grid).
ORDER_PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
)
AGENT_COLOR = "#d6336c"
HUMAN_COLOR = "#2b8a3e"


def stroke_colors(sketch: Sketch, colors: Colors) -> list[str]:
    """One colour per stroke.

    Args:
        colors: None (all black), a single colour (any CSS/PIL colour), "order" (a palette by drawing order) or a
            sequence with one colour per stroke.

    Raises:
        InputError: a sequence of the wrong length, or a colour PIL cannot read.
    """
    n = len(sketch.strokes)
    if colors is None:
        result = ["black"] * n
    elif isinstance(colors, str):
        result = [ORDER_PALETTE[i % len(ORDER_PALETTE)] for i in range(n)] if colors == "order" else [colors] * n
    else:
        result = list(colors)
        if len(result) != n:
            raise InputError(f"expected one colour per stroke ({n}), got {len(result)}")
    for color in set(result):
        try:
            ImageColor.getrgb(color)
        except ValueError as exc:
            raise InputError(f"unknown colour {color!r}; use a CSS name or '#rrggbb'") from exc
    return result


# --- SVG ------------------------------------------------------------------------------------------------------


def _path_data(control: np.ndarray) -> str:
    command = {2: "L", 3: "Q", 4: "C"}[len(control)]
    head = f"M {control[0, 0]:.2f} {control[0, 1]:.2f} {command}"
    return head + "".join(f" {x:.2f} {y:.2f}" for x, y in control[1:])


def _grid_svg(grid: Grid) -> str:
    size, cell = grid.canvas_size, grid.cell_size
    lines = []
    for i in range(grid.resolution + 1):
        position = cell * (i + 1)
        color = "#c8c8c8" if i % 5 == 0 else "#e8e8e8"
        lines.append(f'<line x1="{position}" y1="0" x2="{position}" y2="{size - cell}" stroke="{color}"/>')
        y = size - cell - cell * i
        lines.append(f'<line x1="{cell}" y1="{y}" x2="{size}" y2="{y}" stroke="{color}"/>')
    labels = []
    for i in range(1, grid.resolution + 1):
        x, y = grid.cell_center(i, i)
        labels.append(f'<text x="{x}" y="{size - cell / 2 + 2.5}">{i}</text>')
        labels.append(f'<text x="{cell / 2}" y="{y + 2.5}">{i}</text>')
    return (
        '<g id="grid" stroke-width="0.6">' + "".join(lines) + "</g>"
        '<g id="labels" font-family="sans-serif" font-size="6.5" fill="#777" text-anchor="middle">'
        + "".join(labels)
        + "</g>"
    )


def sketch_svg(
    sketch: Sketch,
    *,
    grid: Grid = DEFAULT_GRID,
    stroke_width: float = STROKE_WIDTH,
    colors: Colors = None,
    background: str | None = "white",
    show_grid: bool = False,
    animate_seconds_per_stroke: float | None = None,
) -> str:
    """The sketch as an SVG document: one ``<g id="sN">`` per stroke holding its 1–2 Bézier paths.

    Args:
        colors: see `stroke_colors`.
        background: a fill colour, or None for transparent.
        show_grid: draw the labelled cell grid underneath.
        animate_seconds_per_stroke: when given, the strokes draw themselves in order (CSS animation).
    """
    size = grid.canvas_size
    palette = stroke_colors(sketch, colors)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 {size} {size}">']
    if animate_seconds_per_stroke is not None:
        parts.append(
            "<style>path{stroke-dasharray:1;stroke-dashoffset:1;"
            f"animation:draw {animate_seconds_per_stroke:.3f}s linear forwards}}"
            "@keyframes draw{to{stroke-dashoffset:0}}</style>"
        )
    if background:
        parts.append(f'<rect width="{size}" height="{size}" fill="{html.escape(background)}"/>')
    if show_grid:
        parts.append(_grid_svg(grid))
    for index, (stroke, segments) in enumerate(zip(sketch.strokes, fit_sketch(sketch, grid), strict=False), start=1):
        parts.append(
            f'<g id="s{index}" stroke="{html.escape(palette[index - 1])}" stroke-width="{stroke_width:g}" '
            'fill="none" stroke-linecap="round" stroke-linejoin="round">'
        )
        if stroke.label:
            parts.append(f"<title>{html.escape(stroke.label)}</title>")
        for k, control in enumerate(segments):
            extra = ""
            if animate_seconds_per_stroke is not None:
                delay = (index - 1 + k / len(segments)) * animate_seconds_per_stroke
                extra = (
                    f' pathLength="1" style="animation-delay:{delay:.3f}s;animation-duration:'
                    f'{animate_seconds_per_stroke / len(segments):.3f}s"'
                )
            parts.append(f'<path d="{_path_data(control)}"{extra}/>')
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)


# --- raster ---------------------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _grid_image_cached(resolution: int, cell_size: int) -> Image.Image:
    grid = Grid(resolution, cell_size)
    size, cell = grid.canvas_size, cell_size
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    for i in range(resolution + 1):
        color = (200, 200, 200) if i % 5 == 0 else (232, 232, 232)
        x = cell * (i + 1)
        draw.line([(x, 0), (x, size - cell)], fill=color, width=1)
        y = size - cell - cell * i
        draw.line([(cell, y), (size, y)], fill=color, width=1)
    font = ImageFont.load_default(size=max(6, int(cell * 0.6)))
    for i in range(1, resolution + 1):
        x, y = grid.cell_center(i, i)
        draw.text((x, size - cell / 2), str(i), fill=(110, 110, 110), font=font, anchor="mm")
        draw.text((cell / 2, y), str(i), fill=(110, 110, 110), font=font, anchor="mm")
    return image


def grid_image(grid: Grid = DEFAULT_GRID) -> Image.Image:
    """The labelled cell grid (RGB, canvas size): light lines, every fifth darker, numbers on the axes."""
    return _grid_image_cached(grid.resolution, grid.cell_size).copy()


# Round joins are drawn only where a polyline turns by more than this; elsewhere the segments of a flattened
# curve meet at nearly straight angles and butt joins are invisible. Drawing a disc at every vertex (Pillow's
# joint="curve") costs about ten times more.
_JOIN_COS = float(np.cos(np.deg2rad(12.0)))


def _draw_polyline(draw: ImageDraw.ImageDraw, points: np.ndarray, fill, width: int) -> None:
    radius = width / 2.0
    coordinates = points.tolist()
    if len(coordinates) > 1:
        draw.line([tuple(p) for p in coordinates], fill=fill, width=width)
    corners = [0, len(points) - 1]
    if len(points) > 2:
        steps = np.diff(points, axis=0)  # (m-1, 2)
        lengths = np.linalg.norm(steps, axis=1)
        moving = lengths > 1e-9
        if moving.sum() > 1:
            directions = steps[moving] / lengths[moving, None]
            vertex = np.flatnonzero(moving)[1:]  # the vertex where each later moving segment starts
            turn = (directions[1:] * directions[:-1]).sum(axis=1)
            corners += vertex[turn < _JOIN_COS].tolist()
    for index in corners:
        x, y = coordinates[index]
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill)


def draw_polylines(
    polylines: Sequence[np.ndarray],
    colors: Sequence[str] | None,
    *,
    canvas_size: int,
    stroke_width: float = STROKE_WIDTH,
    supersample: int = 2,
    background: Image.Image | None = None,
) -> Image.Image:
    """Draw thick round-capped polylines (pixel coordinates) onto white or onto `background`.

    Grayscale ('L') when every colour is black and there is no background, else RGB.
    """
    black = colors is None or all(c == "black" for c in colors)
    mode = "L" if black and background is None else "RGB"
    scale = max(1, int(supersample))
    image = Image.new(mode, (canvas_size * scale, canvas_size * scale), 255 if mode == "L" else (255, 255, 255))
    draw = ImageDraw.Draw(image)
    width = max(1, int(round(stroke_width * scale)))
    for index, polyline in enumerate(polylines):
        fill = 0 if mode == "L" else ImageColor.getrgb(colors[index] if colors else "black")
        _draw_polyline(draw, polyline * scale - 0.5, fill, width)
    if scale > 1:
        image = image.reduce(scale)
    if background is not None:
        image = ImageChops.multiply(background.convert("RGB"), image)
    return image


def render_image(
    sketch: Sketch,
    *,
    grid: Grid = DEFAULT_GRID,
    stroke_width: float = STROKE_WIDTH,
    colors: Colors = None,
    show_grid: bool = False,
    size: int | None = None,
    supersample: int = 2,
    samples_per_segment: int = 32,
) -> Image.Image:
    """The sketch as a PIL image (canvas size unless `size` is given).

    Args:
        colors: see `stroke_colors`.
        show_grid: draw on the labelled grid (what a vision model is shown).
        size: output side in pixels (resampled from the canvas size).
        supersample: drawing scale before box-filtering down; 1 turns anti-aliasing off.
    """
    polylines = flatten(fit_sketch(sketch, grid), samples_per_segment)
    palette = stroke_colors(sketch, colors) if colors is not None else None
    image = draw_polylines(
        polylines,
        palette,
        canvas_size=grid.canvas_size,
        stroke_width=stroke_width,
        supersample=supersample,
        background=grid_image(grid) if show_grid else None,
    )
    if size is not None and size != grid.canvas_size:
        image = image.resize((size, size), Image.Resampling.LANCZOS)
    return image


def encode_png(image: Image.Image) -> bytes:
    """PNG bytes of a grayscale or RGB image.

    Rows are stored unfiltered and deflated with run-length matching (zlib's Z_RLE): for line drawings on a flat
    background this is about 4x faster than Pillow's encoder and the file is smaller. Other modes go through Pillow.
    """
    color_type = {"L": 0, "RGB": 2}.get(image.mode)
    if color_type is None:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()
    pixels = np.asarray(image)  # (h, w) or (h, w, 3) uint8
    height, width = pixels.shape[:2]
    rows = np.zeros((height, 1 + pixels[0].size), dtype=np.uint8)  # filter byte 0 ("none") + the row
    rows[:, 1:] = pixels.reshape(height, -1)
    deflate = zlib.compressobj(6, zlib.DEFLATED, 15, 8, zlib.Z_RLE)
    data = deflate.compress(rows.tobytes()) + deflate.flush()

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def render_png(sketch: Sketch, **options) -> bytes:
    """PNG bytes of `render_image(sketch, **options)`."""
    return encode_png(render_image(sketch, **options))


def save_sketch(sketch: Sketch, path: str | Path, **options) -> Path:
    """Write the sketch as .svg, .png, .gif (stroke-order animation) or .txt (the language), by suffix.

    Raises:
        InputError: an unsupported suffix.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".svg":
        path.write_text(sketch_svg(sketch, **options), encoding="utf-8")
    elif suffix == ".png":
        path.write_bytes(render_png(sketch, **options))
    elif suffix == ".gif":
        save_stroke_animation(sketch, path, **options)
    elif suffix == ".txt":
        path.write_text(sketch.to_text(include_thinking=True) + "\n", encoding="utf-8")
    else:
        raise InputError(f"expected an output file ending in .svg, .png, .gif or .txt, got {path.name!r}")
    return path


# --- stroke-order animation -----------------------------------------------------------------------------------


def stroke_order_frames(
    sketch: Sketch,
    *,
    grid: Grid = DEFAULT_GRID,
    steps_per_stroke: int = 4,
    colors: Colors = None,
    show_grid: bool = False,
    size: int | None = 306,
    stroke_width: float = STROKE_WIDTH,
    max_frames: int = 240,
) -> list[Image.Image]:
    """Frames that draw the strokes one after another, each in `steps_per_stroke` growing steps.

    The first frame is the empty canvas; the last is the finished sketch. Finished strokes are drawn once onto a
    running canvas and each frame copies it, so the work grows linearly with the number of strokes. When
    strokes x steps would exceed `max_frames`, strokes are drawn whole, several per frame, so a long sketch gives
    at most about `max_frames` frames.
    """
    if max_frames < 2:
        raise InputError(f"expected max_frames of at least 2, got {max_frames}")
    polylines = flatten(fit_sketch(sketch, grid))
    palette = stroke_colors(sketch, colors) if colors is not None else None
    background = grid_image(grid) if show_grid else None
    canvas = _Canvas(grid.canvas_size, palette, background, stroke_width)
    frames = [canvas.frame(size)]
    if len(polylines) * steps_per_stroke <= max_frames:
        for index, polyline in enumerate(polylines):
            for step in range(1, steps_per_stroke):
                frames.append(canvas.frame(size, index, _truncate(polyline, step / steps_per_stroke)))
            canvas.add(index, polyline)
            frames.append(canvas.frame(size))
        return frames
    per_frame = -(-len(polylines) // (max_frames - 1))  # ceil: strokes added between two frames
    for first in range(0, len(polylines), per_frame):
        for index in range(first, min(first + per_frame, len(polylines))):
            canvas.add(index, polylines[index])
        frames.append(canvas.frame(size))
    return frames


class _Canvas:
    """A supersampled drawing that finished strokes are added to once; `frame` snapshots it (plus a partial one)."""

    def __init__(self, canvas_size: int, palette, background, stroke_width: float, supersample: int = 2) -> None:
        black = palette is None or all(c == "black" for c in palette)
        self.mode = "L" if black and background is None else "RGB"
        self.scale = supersample
        self.canvas_size = canvas_size
        self.palette = palette
        self.background = background.convert("RGB") if background is not None else None
        self.width = max(1, int(round(stroke_width * supersample)))
        white = 255 if self.mode == "L" else (255, 255, 255)
        self.image = Image.new(self.mode, (canvas_size * supersample,) * 2, white)

    def _fill(self, index: int):
        return 0 if self.mode == "L" else ImageColor.getrgb(self.palette[index] if self.palette else "black")

    def add(self, index: int, polyline: np.ndarray) -> None:
        _draw_polyline(ImageDraw.Draw(self.image), polyline * self.scale - 0.5, self._fill(index), self.width)

    def frame(self, size: int | None, index: int = 0, partial: np.ndarray | None = None) -> Image.Image:
        image = self.image
        if partial is not None:
            image = image.copy()
            _draw_polyline(ImageDraw.Draw(image), partial * self.scale - 0.5, self._fill(index), self.width)
        image = image.reduce(self.scale)
        if self.background is not None:
            image = ImageChops.multiply(self.background, image.convert("RGB"))
        if size is not None and size != self.canvas_size:
            image = image.resize((size, size), Image.Resampling.BILINEAR)
        return image


def _truncate(polyline: np.ndarray, fraction: float) -> np.ndarray:
    """The first `fraction` of a polyline by arc length (interpolating the last point)."""
    if fraction >= 1.0 or len(polyline) < 2:
        return polyline
    lengths = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(polyline, axis=0), axis=1))])  # (m,)
    target = fraction * lengths[-1]
    k = int(np.searchsorted(lengths, target, side="right"))
    if k >= len(polyline):
        return polyline
    span = lengths[k] - lengths[k - 1]
    w = 0.0 if span == 0 else (target - lengths[k - 1]) / span
    end = polyline[k - 1] + w * (polyline[k] - polyline[k - 1])
    return np.concatenate([polyline[:k], end[None, :]])


def save_stroke_animation(
    sketch: Sketch,
    path: str | Path,
    *,
    frame_ms: int = 120,
    hold_ms: int = 1500,
    **options,
) -> Path:
    """Write the stroke-order animation as a looping GIF (`options` go to `stroke_order_frames`)."""
    frames = stroke_order_frames(sketch, **options)
    durations = [frame_ms] * (len(frames) - 1) + [hold_ms]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=durations, loop=0, optimize=True)
    return path
