"""Image I/O and conversion. The canonical in-memory image is a float32 NumPy array, HxWxC in [0, 1]."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from tinkerlab.core.errors import InputError

ImageLike = "str | Path | Image.Image | np.ndarray"


# PIL modes of one channel wider than 8 bits: 16-bit PNG and TIFF files open as "I;16*" (some PNGs as "I")
WIDE_GREY_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")


def load_image(source: Any, *, mode: str = "RGB", max_side: int | None = None) -> np.ndarray:
    """Load an image as float32 HxWxC in [0, 1].

    16-bit grey files (PNG, TIFF) are divided by 65535 and keep their precision; a 32-bit integer image ("I")
    is divided by 65535 when any value exceeds 255, else by 255; a float image ("F") is clipped to [0, 1].
    16-bit colour files are read by PIL at 8 bits per channel (correctly scaled, 8-bit precision).

    Args:
        source: a file path, a PIL image, or an array (HxW, HxWxC; uint8, uint16 (divided by 65535) or float
            in [0, 1]).
        mode: 'RGB' (3 channels), 'L' (1 channel) or 'RGBA'.
        max_side: when given, downscale (never upscale) so the longer side is at most this.

    Raises:
        InputError: the file is missing or unreadable, or the array has the wrong shape.

    Example:
        >>> import numpy as np
        >>> load_image(np.array([[0, 65535]], dtype=np.uint16), mode="L")[0, :, 0].tolist()
        [0.0, 1.0]
    """
    if isinstance(source, np.ndarray) and source.dtype == np.uint16:
        source = source.astype(np.float32) / 65535.0
    image = to_pil(source)
    if image.mode in WIDE_GREY_MODES:
        return _load_wide_grey(image, mode, max_side)
    image = image.convert(mode)
    if max_side is not None and max(image.size) > max_side:
        scale = max_side / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS)
    array = np.asarray(image, dtype=np.float32) / 255.0
    if array.ndim == 2:
        array = array[:, :, None]
    return array


def _load_wide_grey(image: Image.Image, mode: str, max_side: int | None) -> np.ndarray:
    """A one-channel image of more than 8 bits as float32 HxWxC in [0, 1], at its precision."""
    values = image.convert("F") if image.mode != "F" else image
    if max_side is not None and max(values.size) > max_side:
        scale = max_side / max(values.size)
        size = (max(1, round(values.width * scale)), max(1, round(values.height * scale)))
        values = values.resize(size, Image.Resampling.LANCZOS)
    array = np.asarray(values, dtype=np.float64)
    if image.mode.startswith("I;16"):
        peak = 65535.0
    elif image.mode == "I":
        peak = 65535.0 if float(np.asarray(image).max(initial=0)) > 255 else 255.0
    else:
        peak = 1.0
    grey = np.clip(array / peak, 0.0, 1.0).astype(np.float32)[:, :, None]
    if mode == "L":
        return grey
    if mode == "RGB":
        return np.repeat(grey, 3, axis=2)
    if mode == "RGBA":
        return np.concatenate([np.repeat(grey, 3, axis=2), np.ones_like(grey)], axis=2)
    raise InputError(f"expected mode 'RGB', 'L' or 'RGBA' for a {image.mode} image, got {mode!r}")


def to_pil(source: Any) -> Image.Image:
    """A PIL image from a path, a PIL image or an array (float in [0, 1] or uint8)."""
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise InputError(f"image file {str(path)!r} does not exist")
        try:
            image = Image.open(path)
            image.load()
        except Exception as exc:  # PIL raises several types
            raise InputError(f"could not read {str(path)!r} as an image: {exc}") from exc
        return image
    array = np.asarray(source)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise InputError(f"expected an image array of shape HxW, HxWx1, HxWx3 or HxWx4, got {array.shape}")
    if array.dtype != np.uint8:
        array = (np.clip(array.astype(np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return Image.fromarray(array)


def save_image(image: Any, path: str | Path) -> Path:
    """Save an array or PIL image; the format follows the suffix. Parent folders are created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    to_pil(image).save(path)
    return path


def image_grid(images: list[Any], columns: int | None = None, pad: int = 4, background: float = 1.0) -> np.ndarray:
    """Tile images (arrays or PIL, any sizes) into one float32 HxWx3 array, row by row."""
    if not images:
        raise InputError("image_grid needs at least one image")
    arrays = [load_image(im) for im in images]
    columns = columns or len(arrays)
    rows = (len(arrays) + columns - 1) // columns
    cell_h = max(a.shape[0] for a in arrays)
    cell_w = max(a.shape[1] for a in arrays)
    grid = np.full(
        (rows * cell_h + (rows + 1) * pad, columns * cell_w + (columns + 1) * pad, 3), background, np.float32
    )
    for index, array in enumerate(arrays):
        r, c = divmod(index, columns)
        y = pad + r * (cell_h + pad)
        x = pad + c * (cell_w + pad)
        grid[y : y + array.shape[0], x : x + array.shape[1]] = array
    return grid


def enlarge(image: np.ndarray, factor: int = 3) -> np.ndarray:
    """Nearest-neighbour enlargement of an HxW(xC) array, so small results stay visible in a page."""
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def image_to_data_uri(image: Any, fmt: str = "PNG") -> str:
    """An image as a base64 `data:` URI, for self-contained HTML."""
    buffer = io.BytesIO()
    pil = to_pil(image)
    if fmt.upper() == "JPEG":
        pil = pil.convert("RGB")
    pil.save(buffer, format=fmt)
    mime = "image/png" if fmt.upper() == "PNG" else f"image/{fmt.lower()}"
    return f"data:{mime};base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def image_to_png_bytes(image: Any) -> bytes:
    """PNG-encoded bytes of an image."""
    buffer = io.BytesIO()
    to_pil(image).save(buffer, format="PNG")
    return buffer.getvalue()
