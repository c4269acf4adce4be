"""SVG, PNG, grid, colours and stroke-order animations."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tinkerlab.core.errors import InputError
from tinkerlab.sketch.geometry import DEFAULT_GRID
from tinkerlab.sketch.language import Sketch, Stroke, parse_sketch
from tinkerlab.sketch.render import (
    grid_image,
    render_image,
    render_png,
    save_sketch,
    sketch_svg,
    stroke_colors,
    stroke_order_frames,
)


def house() -> Sketch:
    return Sketch(
        (
            Stroke.from_cells(
                ["x10y10", "x10y30", "x10y30", "x30y30", "x30y30", "x30y10", "x30y10", "x10y10"],
                [0, 0.3, 0.25, 0.5, 0.5, 0.75, 0.75, 1],
                "walls",
            ),
            Stroke.from_cells(["x8y30", "x20y42", "x20y42", "x32y30"], [0, 0.55, 0.5, 1], "roof"),
            Stroke.from_cells(["x40y20"], [0], "dot"),
            Stroke.from_cells(["x2y2", "x49y2"], [0, 1], "ground"),
        ),
        "house",
    )


def ink(image: Image.Image, cell: tuple[int, int]) -> float:
    x, y = DEFAULT_GRID.cell_center(*cell)
    gray = np.asarray(image.convert("L"), dtype=np.float32)
    return 255.0 - gray[int(y) - 1 : int(y) + 2, int(x) - 1 : int(x) + 2].mean()


def test_png_has_ink_on_the_strokes_and_not_elsewhere():
    image = Image.open(io.BytesIO(render_png(house())))
    assert image.size == (612, 612)
    for cell in [(10, 10), (30, 30), (20, 42), (40, 20), (25, 2)]:
        assert ink(image, cell) > 150, cell
    for cell in [(45, 45), (20, 20), (40, 10)]:
        assert ink(image, cell) == 0, cell
    values = set(np.unique(np.asarray(image)).tolist())
    assert len(values) > 2, "expected anti-aliased edges"


def test_stroke_width_is_about_seven_pixels():
    sketch = Sketch((Stroke.from_cells(["x5y25", "x45y25"]),))
    column = np.asarray(render_image(sketch).convert("L"), dtype=np.float32)[:, 300]
    coverage = (255 - column).sum() / 255
    assert 6.5 < coverage < 7.5


def test_png_matches_cairosvg_of_our_svg():
    cairosvg = pytest.importorskip("cairosvg", reason="cairosvg is needed to compare against a reference rasteriser")
    ours = np.asarray(render_image(house()).convert("L"), dtype=np.float32)
    png = cairosvg.svg2png(bytestring=sketch_svg(house()).encode())
    reference = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float32)
    assert np.abs(ours - reference).mean() < 2.0
    assert ((ours < 128) != (reference < 128)).mean() < 0.006  # Pillow's 45-degree wide lines are ~4% thinner


def test_svg_structure():
    svg = sketch_svg(house(), colors=["red", "blue", "green", "black"])
    assert svg.count('<g id="s') == 4
    assert svg.count("<path ") == 5  # the 8-point rectangle splits into two cubics
    assert 'stroke="red"' in svg and 'stroke-linecap="round"' in svg and 'stroke-width="7"' in svg
    assert "<title>walls</title>" in svg
    assert " C " in svg and " L " in svg
    animated = sketch_svg(house(), animate_seconds_per_stroke=0.5, show_grid=True)
    assert "@keyframes" in animated and 'pathLength="1"' in animated and 'id="grid"' in animated


def test_colours_grid_and_errors():
    assert stroke_colors(house(), "order")[:2] == ["#1f77b4", "#d62728"]
    assert stroke_colors(house(), "navy") == ["navy"] * 4
    with pytest.raises(InputError, match="one colour per stroke"):
        stroke_colors(house(), ["red"])
    with pytest.raises(InputError, match="unknown colour"):
        stroke_colors(house(), "not-a-colour")
    coloured = np.asarray(render_image(house(), colors="order", show_grid=True))
    assert coloured.shape == (612, 612, 3)
    x, y = DEFAULT_GRID.cell_center(20, 42)
    r, g, b = coloured[int(y), int(x)]
    assert r > 150 and g < 100  # the roof is the palette's red
    grid = np.asarray(grid_image())
    assert grid.shape == (612, 612, 3) and grid.min() < 200  # lines and labels are drawn
    assert render_image(house(), size=256).size == (256, 256)


def test_stroke_order_frames_and_files(tmp_path):
    frames = stroke_order_frames(house(), steps_per_stroke=3, size=153)
    assert len(frames) == 1 + 3 * 4
    assert frames[0].size == (153, 153)
    inks = [255 - np.asarray(f.convert("L"), dtype=np.float32).mean() for f in frames]
    assert inks[0] == 0 and all(b >= a - 1e-3 for a, b in zip(inks, inks[1:], strict=False))
    for name in ["a.svg", "a.png", "a.gif", "a.txt"]:
        path = save_sketch(house(), tmp_path / name)
        assert path.stat().st_size > 100
    gif = Image.open(tmp_path / "a.gif")
    assert 1 + 3 * 4 <= gif.n_frames <= 1 + 4 * 4  # identical frames (the dot growing) are merged
    assert parse_sketch((tmp_path / "a.txt").read_text()) == house()
    with pytest.raises(InputError, match=".svg, .png"):
        save_sketch(house(), tmp_path / "a.jpg")


def test_png_encoder_round_trips_gray_and_rgb():
    from tinkerlab.sketch.render import encode_png

    for image in (
        render_image(house()),
        render_image(house(), colors="order"),
        render_image(house()).convert("LA"),
    ):
        decoded = Image.open(io.BytesIO(encode_png(image)))
        assert decoded.mode == image.mode
        assert np.array_equal(np.asarray(decoded), np.asarray(image))


def test_stroke_order_gif_of_2000_strokes_is_fast(tmp_path):
    import time

    import numpy as np

    from tinkerlab.sketch.language import Sketch, Stroke
    from tinkerlab.sketch.render import save_stroke_animation, stroke_order_frames

    rng = np.random.default_rng(0)
    strokes = tuple(Stroke(tuple(map(tuple, rng.integers(1, 51, (4, 2)))), (0, 0.3, 0.6, 1)) for _ in range(2000))
    start = time.process_time()  # CPU time: a busy shared machine does not inflate it
    save_stroke_animation(Sketch(strokes, "many"), tmp_path / "many.gif")
    assert time.process_time() - start < 6.0
    few = stroke_order_frames(Sketch(strokes[:3], "few"), size=None)
    assert len(few) == 1 + 3 * 4  # empty canvas, then four steps per stroke
    many = stroke_order_frames(Sketch(strokes, "many"), size=None, max_frames=50)
    assert len(many) <= 51
    from tinkerlab.sketch.render import render_image

    assert np.array_equal(np.asarray(many[-1]), np.asarray(render_image(Sketch(strokes, "many"))))
