"""The probe set and dataset exemplars: which images drive a unit most, computed here, offline.

The probe set is a list of recipes (plain data), so it is rebuilt exactly from its seed instead of stored:
procedural scenes, crops of the packaged sample photos, and rasterised openclipart drawings; or the images of a
folder the user names (ImageNet's validation set, say). `activation_table` runs the model once over the whole set
in batches, with hooks on one layer, and keeps every unit's spatial max (n_images, n_units) plus a per-unit
threshold (the `quantile` of the unit's map values over the first `threshold_images` images); it is cached per
model, layer and probe set. `exemplars` returns the top-k images with their masks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from tinkerlab.core.errors import InputError
from tinkerlab.maia import scenes

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def build_probe_set(n: int = 2000, *, seed: int = 0, folder: str | Path | None = None) -> list[dict[str, Any]]:
    """Recipes for `n` probe images: about 60 % procedural scenes, 25 % photo crops, 15 % clip art.

    With `folder`, the images of that folder (recursively, sorted; the first `n`) instead.

    Raises:
        InputError: n < 1, or `folder` holds no images.
    """
    if n < 1:
        raise InputError(f"the probe set needs at least one image, got n={n}")
    if folder is not None:
        files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not files:
            raise InputError(f"no images ({', '.join(IMAGE_SUFFIXES)}) under {folder}; pass a folder of pictures")
        return [{"kind": "file", "path": str(p)} for p in files[:n]]
    from tinkerlab.core.assets import sample_image_names

    rng = np.random.default_rng(seed)
    photos = sample_image_names()
    try:
        from tinkerlab.core.assets import openclipart_svgs

        clipart = [str(p) for p in openclipart_svgs()]
    except Exception:  # noqa: BLE001 - clip art is optional: without it the share goes to scenes
        clipart = []
    recipes: list[dict[str, Any]] = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.25 and photos:
            recipes.append({"kind": "photo", "name": str(rng.choice(photos)), "box": [float(v) for v in _box(rng)]})
        elif roll < 0.40 and clipart:
            recipes.append({"kind": "clipart", "path": str(clipart[int(rng.integers(len(clipart)))])})
        else:
            recipes.append({"kind": "scene", "seed": int(rng.integers(0, 2**31))})
    return recipes


def _box(rng: np.random.Generator) -> tuple[float, float, float, float]:
    side = rng.uniform(0.35, 1.0)
    x, y = rng.uniform(0, 1 - side), rng.uniform(0, 1 - side)
    return x, y, x + side, y + side


_PHOTO_CACHE: dict[str, np.ndarray] = {}


def probe_image(recipe: dict[str, Any]) -> Image.Image:
    """The 224 x 224 RGB image a recipe describes (a scene keeps its metadata in `info['scene']`)."""
    kind = recipe["kind"]
    if kind == "scene":
        return scenes.render(scenes.random_scene(np.random.default_rng(recipe["seed"])))[0]
    if kind == "photo":
        from tinkerlab.core.assets import sample_image

        name = recipe["name"]
        if name not in _PHOTO_CACHE:
            _PHOTO_CACHE[name] = sample_image(name, max_side=512)
        pixels = _PHOTO_CACHE[name]
        image = Image.fromarray((pixels * 255).astype(np.uint8) if pixels.dtype != np.uint8 else pixels).convert("RGB")
        w, h = image.size
        x0, y0, x1, y1 = recipe["box"]
        return image.crop((int(x0 * w), int(y0 * h), int(x1 * w), int(y1 * h))).resize((224, 224))
    if kind == "clipart":
        import io

        import cairosvg

        try:
            png = cairosvg.svg2png(url=recipe["path"], output_width=224, output_height=224, background_color="white")
            return Image.open(io.BytesIO(png)).convert("RGB").resize((224, 224))
        except Exception:  # noqa: BLE001 - a drawing cairosvg cannot read becomes a blank page
            return Image.new("RGB", (224, 224), "white")
    if kind == "file":
        return Image.open(recipe["path"]).convert("RGB").resize((224, 224))
    raise InputError(f"unknown probe recipe kind {kind!r}")


def probe_images(recipes: Sequence[dict[str, Any]]) -> list[Image.Image]:
    return [probe_image(r) for r in recipes]


def probe_digest(recipes: Sequence[dict[str, Any]]) -> str:
    return hashlib.sha1(json.dumps(list(recipes), sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class ActivationTable:
    """Every unit's spatial max over the probe set, and its firing threshold.

    Attributes:
        activations: (n_images, n_units) float32.
        thresholds: (n_units,) float32.
        recipes: the probe set.
        layer: the layer name.
    """

    activations: np.ndarray
    thresholds: np.ndarray
    recipes: list[dict[str, Any]]
    layer: str

    def top(self, unit: int, k: int = 15) -> list[int]:
        """Indices of the k probe images with the highest activation of `unit`, highest first."""
        if not 0 <= unit < self.activations.shape[1]:
            raise InputError(f"unit must be in 0..{self.activations.shape[1] - 1}, got {unit}")
        order = np.argsort(-self.activations[:, unit], kind="stable")
        return [int(i) for i in order[:k]]


def activation_table(
    model: Any,
    layer: str,
    recipes: Sequence[dict[str, Any]],
    *,
    batch: int = 64,
    quantile: float = 0.99,
    threshold_images: int = 500,
    device: str = "cpu",
    cache: str | Path | None = None,
    progress: bool = True,
) -> ActivationTable:
    """Run `model` once over the probe set (batched) and keep all units' spatial max of `layer`.

    Args:
        model: a `VisionModel`.
        layer: the layer.
        recipes: the probe set (`build_probe_set`).
        batch: images per forward pass.
        quantile: the threshold rule: a unit fires where its map is above this quantile of its map values.
        threshold_images: how many probe images the quantile is taken over (all maps of a big set do not fit).
        device: torch device.
        cache: a folder for the table (`<model>-<layer>-<probe digest>.npz`); reused when present.
        progress: show a progress bar.
    """
    return activation_tables(
        model,
        [layer],
        recipes,
        batch=batch,
        quantile=quantile,
        threshold_images=threshold_images,
        device=device,
        cache=cache,
        progress=progress,
    )[layer]


def _table_path(cache: str | Path, model: Any, layer: str, recipes: Sequence[dict[str, Any]], quantile: float) -> Path:
    safe = f"{model.name}-{layer}".replace("/", "_").replace(":", "_")
    return Path(cache) / f"{safe}-{probe_digest(recipes)}-q{quantile}.npz"


def activation_tables(
    model: Any,
    layers: Sequence[str],
    recipes: Sequence[dict[str, Any]],
    *,
    batch: int = 64,
    quantile: float = 0.99,
    threshold_images: int = 500,
    device: str = "cpu",
    cache: str | Path | None = None,
    progress: bool = True,
) -> dict[str, ActivationTable]:
    """`activation_table` for several layers of one model in one pass over the probe set (hooks on all of them).

    Layers whose table is in `cache` are read from it; the others share one batched pass.
    """
    import torch

    from tinkerlab.core.progress import track
    from tinkerlab.vision.units import quantile_threshold, read_layers, spatial_max

    recipes = list(recipes)
    if not recipes:
        raise InputError("the probe set is empty; build one with build_probe_set(n)")
    tables: dict[str, ActivationTable] = {}
    for layer in layers:
        model.resolve(layer)
        if cache is not None and _table_path(cache, model, layer, recipes, quantile).exists():
            data = np.load(_table_path(cache, model, layer, recipes, quantile))
            tables[layer] = ActivationTable(data["activations"], data["thresholds"], recipes, layer)
    missing = [layer for layer in layers if layer not in tables]
    if not missing:
        return tables
    values: dict[str, list[np.ndarray]] = {layer: [] for layer in missing}
    kept_maps: dict[str, list[Any]] = {layer: [] for layer in missing}
    kept = 0

    def _add_batch(maps: dict[str, Any], size: int) -> None:  # layer -> (b, c, h, w)
        nonlocal kept
        room = max(0, threshold_images - kept)
        for layer in missing:
            values[layer].append(spatial_max(maps[layer]).numpy())
            if room:
                kept_maps[layer].append(maps[layer][:room])
        kept += min(room, size)

    starts = range(0, len(recipes), batch)
    # The next batch's images are drawn in a thread while the model runs on this one (PIL, cairo and the
    # model's kernels release the interpreter lock, so the two overlap on a machine with a spare core).
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(probe_images, recipes[0:batch])
        for start in track(starts, "probe set", total=len(starts)) if progress else starts:
            images = pending.result()
            if start + batch < len(recipes):
                pending = pool.submit(probe_images, recipes[start + batch : start + 2 * batch])
            _add_batch(read_layers(model, images, missing, device=device), len(images))
    for layer in missing:
        thresholds = quantile_threshold(torch.cat(kept_maps[layer]), quantile)
        table = ActivationTable(np.concatenate(values[layer]).astype(np.float32), thresholds, recipes, layer)
        tables[layer] = table
        if cache is not None:
            path = _table_path(cache, model, layer, recipes, quantile)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, activations=table.activations, thresholds=table.thresholds)
            tmp.replace(path)
    return {layer: tables[layer] for layer in layers}


@dataclass
class ConceptTable:
    """The procedural detector's score of every concept on every probe image, for synthetic neurons.

    Attributes:
        scores: (n_images, n_concepts) float32, `scenes.detect_concepts` scores (0 for images without a scene).
        noise: (n_images,) the AND rule's small random value of each image (the same one `activation` draws).
        concepts: the column names (`scenes.CONCEPTS`).
    """

    scores: np.ndarray
    noise: np.ndarray
    concepts: tuple[str, ...]

    def activations(self, neuron: Any) -> np.ndarray:
        """A synthetic neuron's activation on every probe image (n,), by its rule; equal to `neuron.activation`."""
        columns = self.scores[:, [self.concepts.index(c) for c in neuron.concepts]]  # (n, 1 or 2)
        if neuron.mode == "mono":
            return columns.mean(axis=1)
        if neuron.mode == "or":
            return columns.max(axis=1)
        both = (columns > 0).all(axis=1)
        return np.where(both, columns[:, 0], self.noise).astype(np.float32)


def concept_table(
    recipes: Sequence[dict[str, Any]], *, cache: str | Path | None = None, progress: bool = True
) -> ConceptTable:
    """Render the probe set once and score every concept on it (cached by the probe set's digest)."""
    from tinkerlab.core.progress import track
    from tinkerlab.maia.synthetic import and_noise

    recipes = list(recipes)
    path = Path(cache) / f"concepts-{probe_digest(recipes)}.npz" if cache is not None else None
    if path is not None and path.exists():
        data = np.load(path)
        return ConceptTable(data["scores"], data["noise"], scenes.CONCEPTS)
    scores = np.zeros((len(recipes), len(scenes.CONCEPTS)), np.float32)
    noise = np.zeros(len(recipes), np.float32)
    for index in track(range(len(recipes)), "concepts", total=len(recipes)) if progress else range(len(recipes)):
        image = probe_image(recipes[index])
        noise[index] = and_noise(image)
        scene = scenes.scene_of(image)
        if scene is None:
            continue
        found = scenes.detect_concepts(scene, scenes.render(scene)[1], scenes.CONCEPTS)
        scores[index] = [found[c][0] for c in scenes.CONCEPTS]
    table = ConceptTable(scores, noise, scenes.CONCEPTS)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, scores=scores, noise=noise)
        tmp.replace(path)
    return table


def synthetic_table(neuron: Any, recipes: Sequence[dict[str, Any]], detector: Any = None) -> np.ndarray:
    """A synthetic neuron's activation on every probe image, (n,)."""
    return np.array([neuron.activation(probe_image(r), detector)[0] for r in recipes], np.float32)
