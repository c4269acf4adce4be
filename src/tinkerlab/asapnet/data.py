"""Paired label-map -> image data for ASAPNet and its baselines, all offline.

- `facade_pairs`: procedural facade-like label maps (sky, wall, window, door, balcony, roof, shop, pillar),
  rendered with class textures cut from packaged scikit-image photos (brick, gravel, grass, ...), colour jitter, a
  lighting gradient and noise. Unlimited pairs at any size.
- `photo_pairs`: k-means colour label maps of random crops of packaged photos (classes ordered by brightness, so a
  class means the same brightness band in every image); the task is label map -> photo.
- `clipart_pairs`: openclipart drawings rendered twice, once normally and once with every colour replaced by the
  colour of its class (the nearest of a fixed palette), so the label map lines up with the drawing exactly.
- `folder_pairs`: real paired folders in the CMP Facades layout (`NAME.jpg` beside `NAME.png` of label indices) or
  the Cityscapes layout (`leftImg8bit/SPLIT/CITY/*_leftImg8bit.png` with `gtFine/SPLIT/CITY/*_gtFine_labelIds.png`).

Every loader returns a `PairedData`: labels (N, H, W) int64, images (N, H, W, 3) float32 in [0, 1].
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from tinkerlab.core.errors import InputError

DatasetName = Literal["facades", "photos", "clipart"]

FACADE_CLASSES = ("sky", "wall", "window", "door", "balcony", "roof", "shop", "pillar")
_FACADE_TEXTURES = {  # class -> (scikit-image photo, base colour)
    "sky": ("hubble_deep_field", (0.55, 0.70, 0.90)),
    "wall": ("brick", (0.75, 0.55, 0.45)),
    "window": ("camera", (0.20, 0.28, 0.38)),
    "door": ("grass", (0.40, 0.25, 0.15)),
    "balcony": ("gravel", (0.35, 0.35, 0.35)),
    "roof": ("gravel", (0.45, 0.20, 0.15)),
    "shop": ("text", (0.60, 0.60, 0.55)),
    "pillar": ("brick", (0.85, 0.82, 0.75)),
}
CLIPART_PALETTE = np.array(
    [
        (1.0, 1.0, 1.0),  # 0 background (transparent) and white
        (0.0, 0.0, 0.0),
        (0.5, 0.5, 0.5),
        (0.85, 0.15, 0.15),
        (0.15, 0.65, 0.2),
        (0.15, 0.3, 0.85),
        (0.95, 0.85, 0.15),
        (0.55, 0.35, 0.15),
        (0.95, 0.55, 0.1),
        (0.6, 0.25, 0.7),
    ],
    np.float32,
)


@dataclass
class PairedData:
    """Label maps and their images: labels (N, H, W) int64 in 0..num_labels-1, images (N, H, W, 3) in [0, 1]."""

    labels: np.ndarray
    images: np.ndarray
    class_names: tuple[str, ...]
    name: str

    @property
    def num_labels(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self.labels)

    def split(self, held_out: int) -> tuple[PairedData, PairedData]:
        """(train, test): the last `held_out` pairs are the test set."""
        if not 0 < held_out < len(self):
            raise InputError(f"expected 0 < held_out < {len(self)} pairs, got {held_out}")
        cut = len(self) - held_out
        train = PairedData(self.labels[:cut], self.images[:cut], self.class_names, self.name)
        return train, PairedData(self.labels[cut:], self.images[cut:], self.class_names, self.name)


def _texture(name: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random size x size grey texture crop in [0, 1] from a packaged photo (tiled when the photo is small)."""
    from tinkerlab.core.assets import sample_image

    photo = sample_image(name).mean(axis=2)
    reps = int(np.ceil(size / min(photo.shape))) + 1
    photo = np.tile(photo, (reps, reps)) if reps > 1 else photo
    top = rng.integers(0, photo.shape[0] - size + 1)
    left = rng.integers(0, photo.shape[1] - size + 1)
    crop = photo[top : top + size, left : left + size]
    return (crop - crop.mean()) / (crop.std() + 1e-6)


def facade_label_map(size: int, rng: np.random.Generator) -> np.ndarray:
    """One procedural facade layout, (size, size) int64 class indices into `FACADE_CLASSES`."""
    labels = np.full((size, size), FACADE_CLASSES.index("wall"), np.int64)
    sky = int(rng.uniform(0.05, 0.2) * size)
    roof = sky + int(rng.uniform(0.04, 0.12) * size)
    labels[:sky] = FACADE_CLASSES.index("sky")
    labels[sky:roof] = FACADE_CLASSES.index("roof")
    shop_top = size - int(rng.uniform(0.12, 0.25) * size)
    labels[shop_top:] = FACADE_CLASSES.index("shop")
    rows, cols = int(rng.integers(2, 5)), int(rng.integers(3, 6))
    cell_h, cell_w = (shop_top - roof) / rows, size / cols
    win_h, win_w = rng.uniform(0.45, 0.7) * cell_h, rng.uniform(0.35, 0.6) * cell_w
    for r in range(rows):
        for c in range(cols):
            top = int(roof + r * cell_h + (cell_h - win_h) / 2)
            left = int(c * cell_w + (cell_w - win_w) / 2)
            labels[top : top + int(win_h), left : left + int(win_w)] = FACADE_CLASSES.index("window")
            if rng.random() < 0.35:
                bottom = top + int(win_h)
                labels[bottom : bottom + max(2, int(0.12 * cell_h)), max(0, left - 2) : left + int(win_w) + 2] = (
                    FACADE_CLASSES.index("balcony")
                )
    pillar_w = max(2, size // 40)
    for c in range(cols + 1):
        left = int(c * cell_w) - pillar_w // 2
        if rng.random() < 0.5:
            labels[roof:shop_top, max(0, left) : max(0, left) + pillar_w] = FACADE_CLASSES.index("pillar")
    door_w = int(rng.uniform(0.1, 0.2) * size)
    door_left = int(rng.integers(0, size - door_w))
    labels[shop_top + (size - shop_top) // 5 :, door_left : door_left + door_w] = FACADE_CLASSES.index("door")
    return labels


def render_facade(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Render a facade label map as an (H, W, 3) image: textured classes, colour jitter, lighting and noise."""
    size = labels.shape[0]
    image = np.zeros((*labels.shape, 3), np.float32)
    for index, name in enumerate(FACADE_CLASSES):
        mask = labels == index
        if not mask.any():
            continue
        photo, colour = _FACADE_TEXTURES[name]
        colour = np.clip(np.array(colour) + rng.normal(0, 0.06, 3), 0, 1)
        texture = _texture(photo, size, rng)
        shade = colour[None, None, :] * (1 + 0.18 * texture[:, :, None])
        image[mask] = shade[mask]
    ys, xs = np.mgrid[0:size, 0:size] / size
    angle = rng.uniform(0, 2 * np.pi)
    light = 1 + 0.15 * (np.cos(angle) * xs + np.sin(angle) * ys - 0.5)
    image = image * light[:, :, None] + rng.normal(0, 0.02, image.shape)
    return np.clip(image, 0, 1).astype(np.float32)


def facade_pairs(n: int, size: int = 128, seed: int = 0) -> PairedData:
    """`n` procedural facade pairs of `size` x `size`.

    Example:
        >>> data = facade_pairs(2, size=32)
        >>> data.labels.shape, data.images.shape, data.num_labels
        ((2, 32, 32), (2, 32, 32, 3), 8)
    """
    rng = np.random.default_rng(seed)
    labels = np.stack([facade_label_map(size, rng) for _ in range(n)])
    images = np.stack([render_facade(label, rng) for label in labels])
    return PairedData(labels, images, FACADE_CLASSES, "facades")


PHOTO_NAMES = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "china", "flower", "grace_hopper")


def kmeans_labels(image: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """k-means colour label map of an (H, W, 3) image, classes renumbered by brightness (0 = darkest)."""
    from sklearn.cluster import KMeans

    pixels = image.reshape(-1, 3)
    model = KMeans(n_clusters=k, n_init=2, random_state=seed, max_iter=50).fit(pixels[:: max(1, len(pixels) // 4000)])
    order = np.argsort(model.cluster_centers_.sum(axis=1))
    rank = np.empty(k, np.int64)
    rank[order] = np.arange(k)
    return rank[model.predict(pixels)].reshape(image.shape[:2])


def photo_pairs(n: int, size: int = 128, k: int = 8, seed: int = 0, names: tuple[str, ...] = PHOTO_NAMES) -> PairedData:
    """`n` pairs of (k-means label map, photo crop) from random crops of the packaged photos."""
    from tinkerlab.core.assets import sample_image, sample_image_names

    available = [name for name in names if name in sample_image_names()]
    if not available:
        raise InputError("expected packaged sample photos (scikit-image, scikit-learn); install tinkerlab[assets]")
    rng = np.random.default_rng(seed)
    photos = [sample_image(name, max_side=2 * size + size // 2) for name in available]
    labels, images = [], []
    for i in range(n):
        photo = photos[i % len(photos)]
        top = rng.integers(0, photo.shape[0] - size + 1)
        left = rng.integers(0, photo.shape[1] - size + 1)
        crop = np.ascontiguousarray(photo[top : top + size, left : left + size])
        labels.append(kmeans_labels(crop, k, seed=i))
        images.append(crop)
    return PairedData(np.stack(labels), np.stack(images), tuple(f"band{j}" for j in range(k)), "photos")


_HEX = re.compile(r"#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b")


def _class_colour(hex_colour: str) -> int:
    text = hex_colour[1:]
    if len(text) == 3:
        text = "".join(ch * 2 for ch in text)
    rgb = np.array([int(text[i : i + 2], 16) for i in (0, 2, 4)], np.float32) / 255
    return int(np.argmin(((CLIPART_PALETTE - rgb) ** 2).sum(axis=1)))


def class_filled_svg(svg: str) -> str:
    """The drawing with every #hex colour replaced by the palette colour of its class (the nearest palette entry)."""

    def replace(match: re.Match) -> str:
        r, g, b = (int(round(255 * v)) for v in CLIPART_PALETTE[_class_colour(match.group(0))])
        return f"#{r:02x}{g:02x}{b:02x}"

    return _HEX.sub(replace, svg)


def _render_svg(svg: str, size: int) -> np.ndarray:
    import io

    from PIL import Image

    from tinkerlab.core.errors import require

    cairosvg = require("cairosvg", extra="asapnet")
    png = cairosvg.svg2png(bytestring=svg.encode("utf-8"), output_width=size, output_height=size)
    rgba = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"), np.float32) / 255
    alpha = rgba[:, :, 3:]
    return rgba[:, :, :3] * alpha + (1 - alpha), alpha[:, :, 0]


def clipart_pairs(n: int, size: int = 128, category: str = "animals", seed: int = 0) -> PairedData:
    """`n` openclipart drawings of `category`, as (class-filled label map, normal rendering) pairs.

    Drawings that fail to render or are almost empty are skipped.
    """
    from tinkerlab.core.assets import openclipart_svgs

    files = openclipart_svgs(category)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(files))
    labels, images = [], []
    for index in order:
        if len(labels) == n:
            break
        try:
            svg = files[index].read_text(encoding="utf-8", errors="replace")
            image, alpha = _render_svg(svg, size)
            filled, filled_alpha = _render_svg(class_filled_svg(svg), size)
        except Exception:  # noqa: BLE001 - some drawings use SVG features the renderer refuses
            continue
        if alpha.mean() < 0.05:
            continue
        distance = ((filled[:, :, None, :] - CLIPART_PALETTE[None, None]) ** 2).sum(axis=3)
        label = np.argmin(distance, axis=2).astype(np.int64)
        label[filled_alpha < 0.5] = 0
        labels.append(label)
        images.append(image.astype(np.float32))
    if len(labels) < n:
        raise InputError(f"expected {n} renderable drawings in openclipart/{category}, found {len(labels)}")
    names = ("background", "black", "grey", "red", "green", "blue", "yellow", "brown", "orange", "purple")
    return PairedData(np.stack(labels), np.stack(images), names, "clipart")


def offline_pairs(name: DatasetName, n: int, size: int = 128, seed: int = 0) -> PairedData:
    """One of the offline paired datasets by name: 'facades', 'photos' or 'clipart'."""
    if name == "facades":
        return facade_pairs(n, size, seed)
    if name == "photos":
        return photo_pairs(n, size, seed=seed)
    if name == "clipart":
        return clipart_pairs(n, size, seed=seed)
    raise InputError(f"expected a dataset named facades, photos or clipart, got {name!r}")


def load_label_map(path: str | Path) -> np.ndarray:
    """A label PNG (one channel whose pixel values are class indices) as (H, W) int64.

    The file is opened by `tinkerlab.core.images.to_pil`, which refuses missing and unreadable files.

    Raises:
        InputError: the file is missing or unreadable, has colour channels that differ, or is not an integer image.
    """
    from tinkerlab.core.images import to_pil

    image = to_pil(Path(path))
    if image.mode.startswith("F") or image.mode == "I;16F":
        raise InputError(f"expected an integer label image (class indices), got a floating-point image ({path})")
    array = np.asarray(image)
    if array.ndim == 3:
        if array.shape[2] == 4:
            array = array[:, :, :3]
        if not (array == array[:, :, :1]).all():
            raise InputError(
                f"expected a single-channel label image whose pixel values are class indices, got a colour image "
                f"({path}); save the label map as a grey or palette PNG (`tinkerlab asapnet data` writes them)"
            )
        array = array[:, :, 0]
    if not np.issubdtype(array.dtype, np.integer) and array.dtype != bool:
        raise InputError(f"expected an integer label image, got pixel type {array.dtype} ({path})")
    return array.astype(np.int64)


def save_label_map(labels: np.ndarray, path: str | Path) -> Path:
    """Write (H, W) class indices as a one-channel PNG (values are the indices)."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(labels.astype(np.uint8), mode="L").save(path)
    return path


def colour_labels(labels: np.ndarray, num_labels: int) -> np.ndarray:
    """(H, W) class indices as an (H, W, 3) colour picture (a fixed qualitative palette)."""
    import colorsys

    colours = np.array([colorsys.hsv_to_rgb((0.61803 * i) % 1, 0.65, 0.95) for i in range(max(1, num_labels))])
    return colours[np.clip(labels, 0, num_labels - 1)].astype(np.float32)


def _resize_pair(labels: np.ndarray, image: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image

    lab = Image.fromarray(labels.astype(np.int32)).resize((size, size), Image.Resampling.NEAREST)
    img = Image.fromarray((np.clip(image, 0, 1) * 255).astype(np.uint8)).resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(lab, np.int64), np.asarray(img, np.float32) / 255


def folder_pairs(
    root: str | Path,
    layout: Literal["cmp", "cityscapes"],
    size: int = 256,
    split: str = "train",
    limit: int | None = None,
) -> PairedData:
    """Real paired data from a folder, resized to `size` x `size`.

    Args:
        root: the folder: for 'cmp', the CMP Facades `base` folder (cmp_b0001.jpg beside cmp_b0001.png, label
            values 1..12); for 'cityscapes', the folder holding `leftImg8bit/` and `gtFine/`.
        layout: 'cmp' or 'cityscapes'.
        size: output side.
        split: the Cityscapes split (train, val, test).
        limit: read at most this many pairs.

    Raises:
        InputError: the folder is missing or holds no pairs in that layout.
    """
    from tinkerlab.core.images import load_image

    root = Path(root)
    if not root.is_dir():
        raise InputError(f"expected a folder of paired data, got {root} (no such folder)")
    pairs: list[tuple[Path, Path]] = []
    if layout == "cmp":
        for image in sorted(root.glob("*.jpg")):
            if image.with_suffix(".png").exists():
                pairs.append((image.with_suffix(".png"), image))
        num_labels, names = 13, tuple(f"cmp{j}" for j in range(13))
    elif layout == "cityscapes":
        for image in sorted((root / "leftImg8bit" / split).glob("*/*_leftImg8bit.png")):
            stem = image.name.removesuffix("_leftImg8bit.png")
            label = root / "gtFine" / split / image.parent.name / f"{stem}_gtFine_labelIds.png"
            if label.exists():
                pairs.append((label, image))
        num_labels, names = 35, tuple(f"city{j}" for j in range(35))
    else:
        raise InputError(f"expected layout 'cmp' or 'cityscapes', got {layout!r}")
    if not pairs:
        expected = (
            "NAME.jpg beside NAME.png" if layout == "cmp" else "leftImg8bit/SPLIT/CITY/*_leftImg8bit.png + gtFine"
        )
        raise InputError(f"expected paired files in the {layout} layout ({expected}) under {root}, found none")
    labels, images = [], []
    for label_path, image_path in pairs[:limit]:
        lab, img = _resize_pair(load_label_map(label_path), load_image(image_path), size)
        labels.append(np.clip(lab, 0, num_labels - 1))
        images.append(img)
    return PairedData(np.stack(labels), np.stack(images), names, f"{layout}:{root.name}")


DATA_FORMS = ("facades", "photos", "clipart", "cmp:PATH", "cityscapes:PATH")
"""The `--data` forms of `tinkerlab asapnet train`: an offline dataset by name or a real paired folder."""


def training_pairs(spec: str, n: int = 56, size: int = 128, seed: int = 0) -> PairedData:
    """Paired data named by one of `DATA_FORMS`: 'facades', 'photos' or 'clipart' (`n` generated pairs of `size`),
    or 'cmp:PATH' / 'cityscapes:PATH' (a real folder, at most `n` pairs resized to `size`).

    Example:
        >>> training_pairs("facades", n=2, size=32).labels.shape
        (2, 32, 32)
    """
    kind, colon, path = spec.partition(":")
    if not colon and kind in ("facades", "photos", "clipart"):
        return offline_pairs(kind, n, size, seed)
    if colon and kind in ("cmp", "cityscapes") and path:
        return folder_pairs(path, kind, size=size, limit=n)
    raise InputError(f"expected data {' | '.join(DATA_FORMS)}, got {spec!r}")


def write_pairs(data: PairedData, folder: str | Path) -> dict[str, Path]:
    """Write the pairs as files: `labels/NNNN.png` (class indices, the input of `tinkerlab asapnet translate`),
    `images/NNNN.png` (the real images), `colour/NNNN.png` (the label maps in colour) and `classes.txt`.

    Returns:
        the three folders by name.
    """
    from tinkerlab.core.images import save_image

    folder = Path(folder)
    folders = {name: folder / name for name in ("labels", "images", "colour")}
    for index in range(len(data)):
        save_label_map(data.labels[index], folders["labels"] / f"{index:04d}.png")
        save_image(data.images[index], folders["images"] / f"{index:04d}.png")
        save_image(colour_labels(data.labels[index], data.num_labels), folders["colour"] / f"{index:04d}.png")
    (folder / "classes.txt").write_text("".join(f"{i} {name}\n" for i, name in enumerate(data.class_names)))
    return folders
