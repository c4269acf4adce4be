"""16-bit images through `core.images.load_image`, the reader every package uses: divided by 65535, at their
precision (PIL's own convert would clip them to white)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tinkerlab.core.images import load_image


def grey16(tmp_path, height: int = 24, width: int = 40):
    values = np.linspace(0, 65535, height * width).reshape(height, width).astype(np.uint16)
    path = tmp_path / "grey16.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I;16")  # really a 16-bit file
    return path, values


def test_sixteen_bit_grey_png_is_divided_by_65535_in_every_mode(tmp_path):
    path, values = grey16(tmp_path)
    expected = (values / 65535.0).astype(np.float32)
    grey = load_image(path, mode="L")
    assert grey.shape == (24, 40, 1) and grey.dtype == np.float32
    assert np.allclose(grey[:, :, 0], expected, atol=1e-6)
    # 16-bit precision: neighbouring values closer than 1/255 stay distinct
    assert len(np.unique(grey)) == values.size
    rgb = load_image(path)
    assert rgb.shape == (24, 40, 3) and np.array_equal(rgb[:, :, 0], rgb[:, :, 2])
    assert np.allclose(rgb[:, :, 1], expected, atol=1e-6)
    assert 0.45 < rgb.mean() < 0.55  # not an all-white image
    rgba = load_image(path, mode="RGBA")
    assert rgba.shape == (24, 40, 4) and np.all(rgba[:, :, 3] == 1.0)


def test_sixteen_bit_grey_png_is_downscaled_at_its_precision(tmp_path):
    path, _ = grey16(tmp_path)
    small = load_image(path, max_side=20)
    assert small.shape == (12, 20, 3)
    assert 0.45 < small.mean() < 0.55
    assert np.all(np.diff(small[6, :, 0]) > 0)  # the ramp survives the resize


def test_uint16_arrays_and_wide_pil_modes_are_scaled():
    array = np.array([[0, 32768, 65535]], dtype=np.uint16)
    assert np.allclose(load_image(array, mode="L")[0, :, 0], [0.0, 0.5, 1.0], atol=1 / 255)
    as_int = Image.fromarray(np.array([[0, 1000, 65535]], dtype=np.int32), mode="I")
    assert np.allclose(load_image(as_int, mode="L")[0, :, 0], [0.0, 1000 / 65535, 1.0], atol=1e-6)
    small_int = Image.fromarray(np.array([[0, 128, 255]], dtype=np.int32), mode="I")
    assert np.allclose(load_image(small_int, mode="L")[0, :, 0], [0.0, 128 / 255, 1.0], atol=1e-6)
    as_float = Image.fromarray(np.array([[-0.5, 0.25, 2.0]], dtype=np.float32), mode="F")
    assert np.allclose(load_image(as_float, mode="L")[0, :, 0], [0.0, 0.25, 1.0])


def test_eight_bit_images_are_unchanged(tmp_path):
    values = np.arange(256, dtype=np.uint8).reshape(16, 16)
    Image.fromarray(values).save(tmp_path / "grey8.png")
    assert np.array_equal(load_image(tmp_path / "grey8.png", mode="L")[:, :, 0] * 255.0, values.astype(np.float32))


def test_sixteen_bit_colour_tiff_is_scaled_at_eight_bits(tmp_path):
    tifffile = pytest.importorskip("tifffile", reason="writing a 16-bit colour file needs tifffile")
    values = np.linspace(0, 65535, 8 * 10 * 3).reshape(8, 10, 3).astype(np.uint16)
    tifffile.imwrite(tmp_path / "rgb16.tif", values)
    image = load_image(tmp_path / "rgb16.tif")
    assert np.allclose(image, values / 65535.0, atol=1 / 255 + 1e-6)
