"""Holes for IDC (Alkobi, Rott Shaham and Michaeli, arXiv 2212.10280): boxes given as fractions of the image, the
boxes used for the packaged photos, and reading the IMAGE and MASK arguments (a mask file, `box:TOP,BOTTOM,LEFT,RIGHT`
or `alpha`; 16-bit images keep their precision).
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
    """A hole mask for an image of `shape`: a mask file (white = hole; 8 or 16 bits) or `box:TOP,BOTTOM,LEFT,RIGHT`."""
    from tinkerlab.core.images import load_image

    if source.startswith("box:"):
        return box_mask(shape, parse_box(source))
    return load_image(source, mode="L")[:, :, 0]


ALPHA_MASK = "alpha"


def read_photo(source: str) -> tuple[np.ndarray, np.ndarray | None]:
    """An IMAGE argument as (HxWx3 float32 in [0, 1], its alpha as HxW float32 or None).

    `sample:NAME` is a packaged photo. 16-bit grey files (PNG or TIFF) are scaled by 65535 and keep their
    precision (`core.images.load_image`); 16-bit colour files are read at 8 bits per channel (PIL's reader); 8-bit
    ones are scaled by 255. The alpha channel is returned when it has any pixel that is not fully
    opaque, so that `MASK` = `alpha` can use the transparent pixels as the hole.

    Raises:
        InputError: the file is missing or unreadable.
    """
    from tinkerlab.core.assets import image_source
    from tinkerlab.core.images import WIDE_GREY_MODES, load_image, to_pil

    if source.startswith("sample:"):
        return image_source(source), None
    picture = to_pil(source)
    alpha = None
    if picture.mode in ("RGBA", "LA", "PA") or (picture.mode == "P" and "transparency" in picture.info):
        rgba = picture.convert("RGBA")
        alpha_channel = np.asarray(rgba, dtype=np.float32)[:, :, 3] / 255.0
        if (alpha_channel < 1.0).any():
            alpha = alpha_channel
        array = np.asarray(rgba, dtype=np.float32)[:, :, :3] / 255.0
    elif picture.mode in WIDE_GREY_MODES:
        array = load_image(picture)  # 16-bit grey at its precision (core.images)
    else:
        array = np.asarray(picture.convert("RGB"), dtype=np.float32) / 255.0
    return array.astype(np.float32), alpha


def photo_and_mask(image: str, mask: str) -> tuple[np.ndarray, np.ndarray]:
    """The IMAGE and MASK arguments of `tinkerlab idc complete` as (HxWx3 float32, HxW float32 hole mask).

    MASK is a mask file (white = hole), `box:TOP,BOTTOM,LEFT,RIGHT`, or `alpha`: the image's transparent pixels
    (alpha below 0.5) are the hole.

    Raises:
        InputError: MASK is `alpha` but the image has no transparent pixel, or the image has transparent pixels
            and MASK is something else (their colour is undefined, so they cannot be trained on).
    """
    photo, alpha = read_photo(image)
    if mask == ALPHA_MASK:
        if alpha is None:
            raise InputError(
                f"MASK 'alpha' takes the hole from transparent pixels, but {image!r} has none; "
                "give a mask file or box:TOP,BOTTOM,LEFT,RIGHT"
            )
        return photo, (alpha < 0.5).astype(np.float32)
    if alpha is not None:
        raise InputError(
            f"{image!r} has transparent pixels ({float((alpha < 1.0).mean()):.0%} of the image): expected an opaque "
            "image; pass MASK 'alpha' to complete the transparent pixels, or flatten the image first"
        )
    return photo, load_mask(mask, photo.shape[:2])
