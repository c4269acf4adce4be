"""The offline clip-art recogniser: names what a line drawing shows, with nothing downloaded.

Built on first use from what ships with the project: EfficientNet-Lite0 ImageNet features of line drawings, mapped
by ridge regression into the all-MiniLM-L6-v2 text space. It is trained on openclipart drawings (Debian
`openclipart-svg`) reduced to their outlines, with text from their file and folder names; any concept name can then
be scored by the cosine between the mapped image and "a drawing of {concept}". It is built once (a few minutes of
CPU) and cached in the user cache directory. Its accuracy on held-out real drawings is measured by
`clipart_benchmark` and documented in docs/vision.md: it is far weaker than CLIP.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from tinkerlab.core.config import check_count, check_range
from tinkerlab.core.errors import MissingAssetError
from tinkerlab.vision.features import FeatureExtractor
from tinkerlab.vision.recognition import PROMPT, EvalResult, evaluate_images
from tinkerlab.vision.text import TextEncoder

# Concepts that are QuickDraw categories and name at least five openclipart drawings (the held-out test set).
CLIPART_CONCEPTS = (
    "airplane",
    "apple",
    "book",
    "bus",
    "butterfly",
    "cake",
    "camera",
    "car",
    "cat",
    "clock",
    "cloud",
    "dog",
    "duck",
    "flower",
    "guitar",
    "hat",
    "house",
    "key",
    "mouse",
    "pencil",
    "penguin",
    "scissors",
    "star",
    "sun",
    "table",
    "tree",
    "truck",
)


@dataclass(frozen=True)
class ClipartConfig:
    """How the offline recogniser is built.

    Attributes:
        extra_files: random openclipart drawings added to the training set beside the concept-named ones.
        image_size: side of the images fed to EfficientNet-Lite0.
        ridge: regularisation of the image-to-text map, relative to the mean feature variance.
        seed: chooses the extra files and the train/test split.
    """

    extra_files: int = 1200
    image_size: int = 224
    ridge: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        check_count(self, "extra_files", 0)
        check_count(self, "image_size", 1)
        check_range(self, "ridge", 0)
        check_count(self, "seed")


def clipart_label(path: Path) -> str:
    """Text for an openclipart file: its name's words and its folder, e.g. 'ladybug (bugs)'."""
    words = [w for w in re.split(r"[^a-z]+", path.stem.lower()) if len(w) > 1]
    return f"{' '.join(words[:4])} ({path.parent.name.replace('_', ' ')})"


def clipart_concept(path: Path, concepts: Sequence[str]) -> str | None:
    """The concept a file is named after (the first concept word in its name), or None."""
    words = re.split(r"[^a-z]+", path.stem.lower())
    for word in words:
        if word in concepts:
            return word
    return None


def outline_image(svg: Path, size: int = 224) -> Image.Image | None:
    """An openclipart SVG rendered and reduced to dark outlines on white, like a line drawing; None if unreadable."""
    from scipy import ndimage

    from tinkerlab.core.errors import require

    cairosvg = require("cairosvg", extra="vision")
    try:
        png = cairosvg.svg2png(url=str(svg), output_width=size, output_height=size)
    except Exception:  # broken or exotic SVGs are skipped
        return None
    import io

    rgba = Image.open(io.BytesIO(png)).convert("RGBA")
    canvas = Image.new("RGBA", rgba.size, "white")
    canvas.alpha_composite(rgba)
    gray = np.asarray(canvas.convert("L"), dtype=np.float32) / 255.0  # (H, W)
    magnitude = np.hypot(ndimage.sobel(gray, axis=0), ndimage.sobel(gray, axis=1))
    edges = magnitude > 0.5
    if edges.mean() < 0.002:
        return None
    edges = ndimage.binary_dilation(edges, iterations=1)
    return Image.fromarray(np.where(edges, 0, 255).astype(np.uint8)).convert("RGB")


def fit_ridge(features: np.ndarray, targets: np.ndarray, ridge: float) -> tuple[np.ndarray, np.ndarray]:
    """(mean, W) of the ridge map from centred features (n, d) to targets (n, e): W = (XᵀX + λI)⁻¹ XᵀT."""
    mean = features.mean(axis=0)
    x = features - mean
    gram = x.T @ x  # (d, d)
    lam = ridge * np.trace(gram) / gram.shape[0]
    weights = np.linalg.solve(gram + lam * np.eye(gram.shape[0]), x.T @ targets)  # (d, e)
    return mean, weights


class ClipartRecognizer:
    """The offline default recogniser (see the module docstring). Build or load it with `ClipartRecognizer.load()`."""

    def __init__(self, mean: np.ndarray, weights: np.ndarray, config: ClipartConfig, test_split: dict) -> None:
        self.mean = mean
        self.weights = weights
        self.config = config
        self.test_split = test_split  # {"files": [...], "labels": [...]} held out from training
        self.name = "clipart-minilm (EfficientNet-Lite0 + MiniLM, trained on openclipart outlines)"
        self._features: FeatureExtractor | None = None
        self._text: TextEncoder | None = None

    @classmethod
    def load(
        cls, config: ClipartConfig = ClipartConfig(), *, cache: Path | None = None, progress: bool = True
    ) -> ClipartRecognizer:
        """Load the cached recogniser, building it first when missing (a few minutes of CPU, once).

        Raises:
            MissingAssetError: openclipart, EfficientNet-Lite0 or MiniLM is not installed.
        """
        from tinkerlab.core.paths import cache_dir

        digest = hashlib.sha1(json.dumps(asdict(config), sort_keys=True).encode()).hexdigest()[:10]
        path = (cache or cache_dir("vision", "recognizer")) / f"clipart-{digest}.npz"
        if path.exists():
            data = np.load(path, allow_pickle=False)
            split = json.loads(str(data["test_split"]))
            return cls(data["mean"], data["weights"], config, split)
        recognizer = cls.build(config, progress=progress)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.stem + ".tmp.npz")
        np.savez(
            tmp,
            mean=recognizer.mean,
            weights=recognizer.weights,
            test_split=json.dumps(recognizer.test_split),
        )
        tmp.replace(path)
        return recognizer

    @classmethod
    def build(cls, config: ClipartConfig = ClipartConfig(), *, progress: bool = True) -> ClipartRecognizer:
        """Train the image-to-text map on openclipart outlines; half of each concept's files are held out."""
        from tinkerlab.core.assets import openclipart_svgs
        from tinkerlab.core.progress import track

        files = [p for p in openclipart_svgs() if p.stat().st_size < 200_000]
        if not files:
            raise MissingAssetError("openclipart SVG drawings", "apt-get install openclipart-svg")
        rng = np.random.default_rng(config.seed)
        by_concept: dict[str, list[Path]] = {}
        for path in files:
            concept = clipart_concept(path, CLIPART_CONCEPTS)
            if concept is not None:
                by_concept.setdefault(concept, []).append(path)
        train: list[Path] = []
        test_files: list[str] = []
        test_labels: list[str] = []
        for concept, paths in sorted(by_concept.items()):
            paths = [paths[i] for i in rng.permutation(len(paths))][:40]
            half = len(paths) // 2
            train += paths[:half]
            test_files += [str(p) for p in paths[half:]]
            test_labels += [concept] * (len(paths) - half)
        named = set(train) | {Path(p) for p in test_files}
        others = [p for p in files if p not in named and clipart_concept(p, CLIPART_CONCEPTS) is None]
        train += [others[i] for i in rng.permutation(len(others))[: config.extra_files]]

        images, texts = [], []
        for path in track(train, "rendering openclipart outlines") if progress else train:
            image = outline_image(path, config.image_size)
            if image is not None:
                images.append(image)
                texts.append(PROMPT.format(clipart_label(path)))
        features = FeatureExtractor(config.image_size)(images)
        targets = TextEncoder()(texts)
        mean, weights = fit_ridge(features.astype(np.float64), targets.astype(np.float64), config.ridge)
        return cls(mean, weights, config, {"files": test_files, "labels": test_labels})

    def scores(self, images: Sequence[Image.Image], concepts: Sequence[str]) -> np.ndarray:
        if self._features is None:
            self._features = FeatureExtractor(self.config.image_size)
            self._text = TextEncoder()
        mapped = (self._features(list(images)) - self.mean) @ self.weights  # (n, 384)
        mapped /= np.linalg.norm(mapped, axis=1, keepdims=True) + 1e-9
        text = self._text([PROMPT.format(c) for c in concepts])  # (k, 384)
        return mapped @ text.T


def clipart_benchmark(recognizer: ClipartRecognizer) -> EvalResult:
    """Accuracy of the offline recogniser on its held-out openclipart drawings (outlines), over CLIPART_CONCEPTS."""
    images, labels = [], []
    for file, label in zip(recognizer.test_split["files"], recognizer.test_split["labels"], strict=False):
        image = outline_image(Path(file), recognizer.config.image_size)
        if image is not None:
            images.append(image)
            labels.append(label)
    return evaluate_images(images, labels, CLIPART_CONCEPTS, recognizer)
