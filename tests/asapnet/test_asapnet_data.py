"""The offline paired data: procedural facades, k-means photo labels, openclipart pairs, files and folders."""

from __future__ import annotations

import numpy as np
import pytest

from tinkerlab.asapnet.data import (
    CLIPART_PALETTE,
    FACADE_CLASSES,
    class_filled_svg,
    clipart_pairs,
    facade_pairs,
    folder_pairs,
    kmeans_labels,
    load_label_map,
    photo_pairs,
    save_label_map,
    training_pairs,
    write_pairs,
)
from tinkerlab.core.assets import OPENCLIPART_ROOT
from tinkerlab.core.errors import InputError


def test_facades_are_deterministic_layouts_whose_classes_look_different():
    data = facade_pairs(4, size=64, seed=3)
    again = facade_pairs(4, size=64, seed=3)
    assert np.array_equal(data.labels, again.labels) and np.allclose(data.images, again.images)
    assert data.labels.dtype == np.int64 and data.images.dtype == np.float32
    assert 0 <= data.images.min() and data.images.max() <= 1
    assert data.class_names == FACADE_CLASSES
    sky, wall, window = (FACADE_CLASSES.index(name) for name in ("sky", "wall", "window"))
    for labels in data.labels:  # sky on top, a wall and windows in every layout
        assert (labels[0] == sky).all()
        assert (labels == wall).any() and (labels == window).any()
    # the image follows the labels: windows are darker than walls, sky bluer than walls
    image, labels = data.images.reshape(-1, 3), data.labels.reshape(-1)
    assert image[labels == window].mean() < image[labels == wall].mean()
    assert image[labels == sky][:, 2].mean() > image[labels == wall][:, 2].mean()
    assert not np.array_equal(facade_pairs(1, size=64, seed=4).labels[0], data.labels[0])


def test_kmeans_labels_are_ordered_by_brightness():
    rng = np.random.default_rng(0)
    image = np.repeat(np.linspace(0, 1, 32, dtype=np.float32)[None, :, None], 32, axis=0).repeat(3, axis=2)
    image = np.clip(image + rng.normal(0, 0.01, image.shape), 0, 1).astype(np.float32)
    labels = kmeans_labels(image, 4)
    assert labels.shape == (32, 32) and set(np.unique(labels)) == {0, 1, 2, 3}
    means = [image[labels == k].mean() for k in range(4)]
    assert means == sorted(means)
    assert labels[:, 0].max() == 0 and labels[:, -1].min() == 3  # dark left, bright right


def test_photo_pairs_are_label_maps_of_the_crops():
    data = photo_pairs(2, size=32, k=5)
    assert data.labels.shape == (2, 32, 32) and data.images.shape == (2, 32, 32, 3)
    assert data.num_labels == 5 and data.labels.max() <= 4
    for labels, image in zip(data.labels, data.images, strict=True):
        present = [k for k in range(5) if (labels == k).any()]
        means = [image[labels == k].mean() for k in present]
        assert means == sorted(means)  # brightness bands, darkest first


def test_class_filled_svg_maps_every_colour_to_the_palette():
    svg = '<svg><rect fill="#fe0101"/><rect fill="#0f0"/></svg>'
    filled = class_filled_svg(svg)
    assert "#d92626" in filled and "#26a633" in filled  # palette red and green
    assert len(CLIPART_PALETTE) == 10


@pytest.mark.skipif(not OPENCLIPART_ROOT.exists(), reason="Debian package openclipart-svg is not installed")
def test_clipart_pairs_line_up_with_the_drawings():
    pytest.importorskip("cairosvg", reason="cairosvg (the asapnet extra) is not installed")
    data = clipart_pairs(2, size=48)
    assert data.labels.shape == (2, 48, 48) and data.num_labels == 10
    for labels, image in zip(data.labels, data.images, strict=True):
        background = labels == 0
        assert 0 < background.mean() < 1
        # transparent background renders white; the drawing itself is not all white
        assert image[background].mean() > image[~background].mean()


def test_label_files_round_trip_and_folders_are_written(tmp_path):
    data = facade_pairs(2, size=32)
    folders = write_pairs(data, tmp_path / "pairs")
    assert np.array_equal(load_label_map(folders["labels"] / "0001.png"), data.labels[1])
    assert (folders["images"] / "0000.png").is_file() and (folders["colour"] / "0000.png").is_file()
    assert (tmp_path / "pairs" / "classes.txt").read_text().splitlines()[2] == "2 window"
    with pytest.raises(InputError, match="does not exist"):
        load_label_map(tmp_path / "missing.png")
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(InputError, match="could not read"):
        load_label_map(tmp_path / "bad.png")


def test_real_folder_layouts(tmp_path):
    from PIL import Image

    labels = np.arange(64, dtype=np.uint8).reshape(8, 8) % 13
    photo = np.full((8, 8, 3), 128, np.uint8)
    cmp = tmp_path / "base"
    cmp.mkdir()
    Image.fromarray(photo).save(cmp / "cmp_b0001.jpg")
    save_label_map(labels, cmp / "cmp_b0001.png")
    Image.fromarray(photo).save(cmp / "cmp_b0002.jpg")  # no labels: ignored
    data = training_pairs(f"cmp:{cmp}", n=5, size=16)
    assert len(data) == 1 and data.num_labels == 13 and data.labels.shape == (1, 16, 16)
    assert set(np.unique(data.labels)) == set(np.unique(labels))
    city = tmp_path / "cityscapes"
    (city / "leftImg8bit" / "val" / "ulm").mkdir(parents=True)
    (city / "gtFine" / "val" / "ulm").mkdir(parents=True)
    Image.fromarray(photo).save(city / "leftImg8bit" / "val" / "ulm" / "ulm_000001_leftImg8bit.png")
    save_label_map(labels + 20, city / "gtFine" / "val" / "ulm" / "ulm_000001_gtFine_labelIds.png")
    data = folder_pairs(city, "cityscapes", size=16, split="val")
    assert data.num_labels == 35 and data.labels.max() == 32
    with pytest.raises(InputError, match="found none"):
        folder_pairs(city, "cityscapes", size=16, split="train")
    with pytest.raises(InputError, match="expected data"):
        training_pairs("somewhere")
