"""Holes for IDC (Alkobi, Rott Shaham and Michaeli, arXiv 2212.10280): boxes given as fractions of the image, the
boxes used for the packaged photos, and reading a mask argument (a file or `box:TOP,BOTTOM,LEFT,RIGHT`).
"""

from __future__ import annotations

import numpy as np

from tinkerlab.core.errors import InputError

# Hole boxes as fractions (top, bottom, left, right) of the image, placed on textured parts of these photos before
# the screening rule existed; every other image gets the centre box.
CENTRE_BOX = (0.38, 0.62, 0.38, 0.62)
HOLES: dict[str, tuple[float, float, float, float]] = {
    "chelsea": (0.30, 0.55, 0.08, 0.30),
    "coffee": (0.55, 0.80, 0.62, 0.84),
    "china": (0.62, 0.87, 0.38, 0.62),
    "brick": CENTRE_BOX,
    "grass": CENTRE_BOX,
}


def hole_box(name: str) -> tuple[float, float, float, float]:
    """The hole box (top, bottom, left, right fractions) used for a packaged image."""
    return HOLES.get(name, CENTRE_BOX)


def box_mask(shape: tuple[int, int], box: tuple[float, float, float, float]) -> np.ndarray:
    """An HxW float mask with 1 inside the fractional box (top, bottom, left, right)."""
    height, width = shape
    mask = np.zeros((height, width), np.float32)
    top, bottom, left, right = box
    mask[round(top * height) : round(bottom * height), round(left * width) : round(right * width)] = 1.0
    return mask


def parse_box(text: str) -> tuple[float, float, float, float]:
    """`box:TOP,BOTTOM,LEFT,RIGHT` (fractions in [0, 1]) as a tuple.

    Example:
        >>> parse_box("box:0.1,0.5,0.2,0.6")
        (0.1, 0.5, 0.2, 0.6)

    Raises:
        InputError: not four fractions with top < bottom and left < right.
    """
    try:
        box = tuple(float(v) for v in text.removeprefix("box:").split(","))
    except ValueError:
        box = ()
    if len(box) != 4 or not all(0.0 <= v <= 1.0 for v in box) or box[0] >= box[1] or box[2] >= box[3]:
        raise InputError(f"expected box:TOP,BOTTOM,LEFT,RIGHT with fractions 0 <= top < bottom <= 1, got {text!r}")
    return box  # type: ignore[return-value]


def load_mask(source: str, shape: tuple[int, int]) -> np.ndarray:
    """A hole mask for an image of `shape`: a mask file (white = hole) or `box:TOP,BOTTOM,LEFT,RIGHT`."""
    from tinkerlab.core.images import load_image

    if source.startswith("box:"):
        return box_mask(shape, parse_box(source))
    return load_image(source, mode="L")[:, :, 0]
