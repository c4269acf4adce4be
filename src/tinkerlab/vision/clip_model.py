"""CLIP (Radford et al., 2021, "Learning Transferable Visual Models From Natural Language Supervision") in plain torch.

The model reads open_clip's checkpoints without open_clip's code: its parameter names are open_clip's state-dict
keys for the ViT CLIP models (``visual.conv1.weight``, ``visual.transformer.resblocks.0.attn.in_proj_weight``,
``token_embedding.weight``, ``text_projection``, ``logit_scale``, ...), so ``open_clip_pytorch_model.bin`` loads
with strict key checking. open_clip itself pulls torchvision, whose wheels pin one torch build each; here the
installed open-clip-torch package (installed with ``--no-deps``) only provides its model configs
(``model_configs/NAME.json``) and the BPE vocabulary, read as files and never imported.

This file holds, top to bottom:

- `ClipConfig` (with `ClipVisionConfig`, `ClipTextConfig`): an open_clip model config, validated;
  `clip_config(arch)` reads one by open_clip model name or from a JSON file;
- the network: `ClipModel` = `VisionTower` (a ViT) + a causal text transformer, from `ResidualBlock`s;
- `ClipTokenizer` (in `clip_tokenizer.py`): CLIP's byte-level BPE, vocabulary from the same package;
- `clip_preprocess`: the evaluation transform (bicubic resize of the shorter side, centre crop, normalise);
- `load_clip(arch, weights)`: all of it from a local checkpoint (nothing is downloaded).

Supported configs: ViT image tower and CLIP text transformer, e.g. ViT-B-32, ViT-B-16, ViT-L-14, ViT-L-14-336,
ViT-H-14, ViT-g-14, ViT-bigG-14, ViT-M/S variants and their ``-quickgelu`` names (QuickGELU, for OpenAI's weights).
Not supported: timm towers (ConvNeXt, Swin, EVA, ViTamin, SigLIP, ...), ModifiedResNet (RN50, ...), Hugging Face
text towers or tokenizers (CLIPA, worldwide, roberta, mt5, nllb), CoCa, and ``custom_text`` layouts.

Example:
    >>> model, tokenizer, config = load_clip("ViT-B-32", "open_clip_pytorch_model.bin")  # doctest: +SKIP
    >>> model.encode_text(tokenizer(["a drawing of a cat"])).shape  # doctest: +SKIP
    torch.Size([1, 512])
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from tinkerlab.core.errors import InputError
from tinkerlab.vision.clip_tokenizer import ClipTokenizer, open_clip_folder

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
SUPPORTED = (
    "supported: ViT image tower + CLIP text transformer configs (ViT-B-32, ViT-B-16, ViT-L-14, ViT-L-14-336, "
    "ViT-H-14, ViT-g-14, ViT-bigG-14, ViT-M/S-*, and their -quickgelu names); not timm towers (ConvNeXt, SigLIP, "
    "EVA, ...), ResNets, Hugging Face text towers or custom_text/CoCa models"
)
_TOP_KEYS = {"embed_dim", "vision_cfg", "text_cfg", "quick_gelu", "preprocess_cfg"}
_VISION_KEYS = {"image_size", "layers", "width", "patch_size", "head_width", "mlp_ratio", "ls_init_value"}
_TEXT_KEYS = {"context_length", "vocab_size", "width", "heads", "layers", "mlp_ratio", "ls_init_value"}


# ---------------------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class ClipVisionConfig:
    """The ViT image tower: `image_size`² pixels cut into `patch_size`² patches, `layers` blocks of `width`."""

    image_size: int = 224
    patch_size: int = 32
    width: int = 768
    layers: int = 12
    head_width: int = 64
    mlp_ratio: float = 4.0
    ls_init_value: float | None = None

    @property
    def heads(self) -> int:
        return self.width // self.head_width

    @property
    def grid(self) -> int:
        return self.image_size // self.patch_size


@dataclass(frozen=True)
class ClipTextConfig:
    """The causal text transformer over `context_length` BPE tokens."""

    context_length: int = 77
    vocab_size: int = 49408
    width: int = 512
    heads: int = 8
    layers: int = 12
    mlp_ratio: float = 4.0
    ls_init_value: float | None = None


@dataclass(frozen=True)
class ClipConfig:
    """An open_clip model config (the JSON files under open_clip/model_configs/) for a ViT CLIP.

    Attributes:
        embed_dim: size of the joint image-text embedding.
        vision: the image tower.
        text: the text tower.
        quick_gelu: QuickGELU activations (OpenAI's trained models, the ``-quickgelu`` names) instead of GELU.
        mean, std: the per-channel normalisation of the input images.
        name: the model name or config path it came from.
    """

    embed_dim: int
    vision: ClipVisionConfig = field(default_factory=ClipVisionConfig)
    text: ClipTextConfig = field(default_factory=ClipTextConfig)
    quick_gelu: bool = False
    mean: tuple[float, float, float] = OPENAI_MEAN
    std: tuple[float, float, float] = OPENAI_STD
    name: str = "clip"


def _positive_int(section: dict, key: str, where: str) -> int:
    value = section[key]
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InputError(f"expected a positive integer for {where}.{key}, got {value!r}")
    return value


def config_from_dict(raw: dict, name: str = "clip") -> ClipConfig:
    """A `ClipConfig` from an open_clip config dict (the contents of ``model_configs/NAME.json``).

    Raises:
        InputError: a config this module does not support (the message says which are), or bad values.

    Example:
        >>> cfg = config_from_dict({"embed_dim": 16, "vision_cfg": {"image_size": 32, "layers": 1, "width": 32,
        ...     "patch_size": 8, "head_width": 16}, "text_cfg": {"context_length": 16, "vocab_size": 49408,
        ...     "width": 32, "heads": 2, "layers": 1}})
        >>> cfg.vision.grid, cfg.vision.heads
        (4, 2)
    """
    if not isinstance(raw, dict) or not isinstance(raw.get("vision_cfg"), dict) or "embed_dim" not in raw:
        raise InputError(f"expected an open_clip model config with embed_dim, vision_cfg and text_cfg, got {name!r}")
    vision, text = raw["vision_cfg"], raw.get("text_cfg")
    if not isinstance(text, dict):
        raise InputError(f"expected a text_cfg object in the config of {name!r}, got {text!r}")
    extra = sorted(set(raw) - _TOP_KEYS)
    extra += [f"vision_cfg.{k}" for k in sorted(set(vision) - _VISION_KEYS)]
    extra += [f"text_cfg.{k}" for k in sorted(set(text) - _TEXT_KEYS)]
    if isinstance(vision.get("layers"), (list, tuple)):
        extra.append("vision_cfg.layers (a ResNet tower)")
    if extra:
        raise InputError(f"expected a ViT CLIP config, got {name!r} with unsupported keys {extra}; {SUPPORTED}")
    for key in ("image_size", "layers", "width", "patch_size"):
        if key not in vision:
            raise InputError(f"expected vision_cfg.{key} in the config of {name!r}, got keys {sorted(vision)}")
        _positive_int(vision, key, "vision_cfg")
    for key in ("width", "heads", "layers"):
        if key not in text:
            raise InputError(f"expected text_cfg.{key} in the config of {name!r}, got keys {sorted(text)}")
        _positive_int(text, key, "text_cfg")
    vision_cfg = ClipVisionConfig(**vision)
    text_cfg = ClipTextConfig(**text)
    if vision_cfg.image_size % vision_cfg.patch_size:
        raise InputError(
            f"expected image_size divisible by patch_size, got {vision_cfg.image_size} and {vision_cfg.patch_size}"
        )
    if vision_cfg.width % vision_cfg.head_width or text_cfg.width % text_cfg.heads:
        raise InputError(
            "expected widths divisible into heads, got vision width "
            f"{vision_cfg.width} / head_width {vision_cfg.head_width}, text width {text_cfg.width} / {text_cfg.heads}"
        )
    preprocess = raw.get("preprocess_cfg") or {}
    mean = tuple(float(v) for v in preprocess.get("mean", OPENAI_MEAN))
    std = tuple(float(v) for v in preprocess.get("std", OPENAI_STD))
    if len(mean) != 3 or len(std) != 3:
        raise InputError(f"expected 3 values for preprocess_cfg mean and std, got {mean} and {std}")
    return ClipConfig(
        embed_dim=_positive_int(raw, "embed_dim", "config"),
        vision=vision_cfg,
        text=text_cfg,
        quick_gelu=bool(raw.get("quick_gelu", False)),
        mean=mean,  # type: ignore[arg-type]
        std=std,  # type: ignore[arg-type]
        name=name,
    )


def clip_config(arch: str) -> ClipConfig:
    """The config of `arch`: a path to an open_clip config JSON, or an open_clip model name (e.g. "ViT-B-32").

    Raises:
        InputError: an unknown name (with the supported ones), an unreadable or unsupported config.
    """
    path = Path(arch)
    if arch.endswith(".json") or path.is_file():
        if not path.is_file():
            raise InputError(f"expected an open_clip config JSON file, got {arch!r} (it does not exist)")
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"expected an open_clip config JSON file, got {arch!r} ({exc})") from None
        return config_from_dict(raw, arch)
    folder = open_clip_folder() / "model_configs"
    file = folder / f"{arch}.json"
    if not file.is_file():
        names = sorted(p.stem for p in folder.glob("*.json"))
        usable = [n for n in names if _loads(folder / f"{n}.json")]
        raise InputError(f"unknown CLIP architecture {arch!r}; expected one of {', '.join(usable)} or a config JSON")
    return config_from_dict(json.loads(file.read_text(encoding="utf-8")), arch)


def _loads(file: Path) -> bool:
    try:
        config_from_dict(json.loads(file.read_text(encoding="utf-8")), file.stem)
    except InputError:
        return False
    return True


# --------------------------------------------------------------------------------------------------------- network


class QuickGELU(nn.Module):
    """x·σ(1.702x), the activation OpenAI's CLIP was trained with."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class LayerScale(nn.Module):
    """A learned per-channel scale of a residual branch (CaiT); open_clip's `ls_init_value`."""

    def __init__(self, width: int, init_value: float) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.full((width,), float(init_value)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class Attention(nn.Module):
    """Multi-head self-attention with one packed q/k/v projection (the layout of `nn.MultiheadAttention`)."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * width, width))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * width))
        self.out_proj = nn.Linear(width, width)
        nn.init.xavier_uniform_(self.in_proj_weight)

    def forward(self, x: torch.Tensor, causal: bool = False) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = F.linear(x, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1)  # 3 × (b, n, d)
        q, k, v = (t.view(b, n, self.heads, d // self.heads).transpose(1, 2) for t in (q, k, v))  # (b, h, n, d/h)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)  # (b, h, n, d/h)
        return self.out_proj(out.transpose(1, 2).reshape(b, n, d))


class ResidualBlock(nn.Module):
    """Pre-norm transformer block: x + attn(ln_1(x)), then x + mlp(ln_2(x))."""

    def __init__(self, width: int, heads: int, mlp_ratio: float, quick_gelu: bool, ls_init_value: float | None) -> None:
        super().__init__()
        hidden = int(width * mlp_ratio)
        self.ln_1 = nn.LayerNorm(width)
        self.attn = Attention(width, heads)
        self.ls_1 = LayerScale(width, ls_init_value) if ls_init_value is not None else nn.Identity()
        self.ln_2 = nn.LayerNorm(width)
        activation = QuickGELU() if quick_gelu else nn.GELU()
        layers = [("c_fc", nn.Linear(width, hidden)), ("gelu", activation), ("c_proj", nn.Linear(hidden, width))]
        self.mlp = nn.Sequential(OrderedDict(layers))
        self.ls_2 = LayerScale(width, ls_init_value) if ls_init_value is not None else nn.Identity()

    def forward(self, x: torch.Tensor, causal: bool = False) -> torch.Tensor:
        x = x + self.ls_1(self.attn(self.ln_1(x), causal=causal))
        return x + self.ls_2(self.mlp(self.ln_2(x)))


class Transformer(nn.Module):
    """A stack of `ResidualBlock`s (`resblocks`) over (b, n, width) tokens."""

    def __init__(
        self, width: int, layers: int, heads: int, mlp_ratio: float, quick_gelu: bool, ls_init_value: float | None
    ) -> None:
        super().__init__()
        self.resblocks = nn.ModuleList(
            ResidualBlock(width, heads, mlp_ratio, quick_gelu, ls_init_value) for _ in range(layers)
        )

    def forward(self, x: torch.Tensor, causal: bool = False) -> torch.Tensor:
        for block in self.resblocks:
            x = block(x, causal=causal)
        return x


class VisionTower(nn.Module):
    """ViT: patches -> [class token, patch tokens] + positions -> transformer -> class token -> projection."""

    def __init__(self, config: ClipVisionConfig, embed_dim: int, quick_gelu: bool) -> None:
        super().__init__()
        width, scale = config.width, config.width**-0.5
        self.conv1 = nn.Conv2d(3, width, kernel_size=config.patch_size, stride=config.patch_size, bias=False)
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn(config.grid**2 + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(
            width, config.layers, config.heads, config.mlp_ratio, quick_gelu, config.ls_init_value
        )
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, embed_dim))

    def tokens(self, pixels: torch.Tensor) -> torch.Tensor:
        """(b, 3, H, W) normalised pixels -> (b, 1 + grid², width) tokens after the transformer."""
        x = self.conv1(pixels).flatten(2).transpose(1, 2)  # (b, grid², width)
        cls = self.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)  # (b, 1, width)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype)
        return self.transformer(self.ln_pre(x))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """(b, 3, H, W) -> (b, embed_dim) image embeddings (not normalised)."""
        return self.ln_post(self.tokens(pixels)[:, 0]) @ self.proj


class ClipModel(nn.Module):
    """CLIP: a ViT image tower (`visual`) and a causal text transformer, embedding both in one space.

    The attribute names are open_clip's, so its state dicts load unchanged.
    """

    def __init__(self, config: ClipConfig) -> None:
        super().__init__()
        self.config = config
        text = config.text
        self.visual = VisionTower(config.vision, config.embed_dim, config.quick_gelu)
        self.transformer = Transformer(
            text.width, text.layers, text.heads, text.mlp_ratio, config.quick_gelu, text.ls_init_value
        )
        self.token_embedding = nn.Embedding(text.vocab_size, text.width)
        self.positional_embedding = nn.Parameter(torch.empty(text.context_length, text.width))
        self.ln_final = nn.LayerNorm(text.width)
        self.text_projection = nn.Parameter(torch.empty(text.width, config.embed_dim))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        self._init_text()

    def _init_text(self) -> None:
        width, layers = self.config.text.width, self.config.text.layers
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)
        for block in self.transformer.resblocks:
            nn.init.normal_(block.attn.in_proj_weight, std=width**-0.5)
            nn.init.normal_(block.attn.out_proj.weight, std=width**-0.5 * (2 * layers) ** -0.5)
            nn.init.normal_(block.mlp.c_fc.weight, std=(2 * width) ** -0.5)
            nn.init.normal_(block.mlp.c_proj.weight, std=width**-0.5 * (2 * layers) ** -0.5)
        nn.init.normal_(self.text_projection, std=width**-0.5)

    def encode_image(self, pixels: torch.Tensor, normalize: bool = False) -> torch.Tensor:
        """(b, 3, S, S) pixels from `clip_preprocess` -> (b, embed_dim)."""
        features = self.visual(pixels)
        return F.normalize(features, dim=-1) if normalize else features

    def encode_text(self, ids: torch.Tensor, normalize: bool = False) -> torch.Tensor:
        """(b, context_length) token ids from `ClipTokenizer` -> (b, embed_dim), read at each end-of-text token."""
        x = self.token_embedding(ids) + self.positional_embedding  # (b, n, width)
        x = self.ln_final(self.transformer(x, causal=True))
        x = x[torch.arange(x.shape[0], device=x.device), ids.argmax(dim=-1)]  # the end token has the largest id
        features = x @ self.text_projection
        return F.normalize(features, dim=-1) if normalize else features


# ------------------------------------------------------------------------------------------------------ preprocess


def clip_preprocess(
    images: Sequence[Image.Image], size: int, mean: Sequence[float] = OPENAI_MEAN, std: Sequence[float] = OPENAI_STD
) -> torch.Tensor:
    """CLIP's evaluation transform: RGB, bicubic resize of the shorter side to `size`, centre crop, normalise.

    Returns:
        (len(images), 3, size, size) float32.

    Example:
        >>> clip_preprocess([Image.new("RGB", (64, 48), "white")], 32).shape
        torch.Size([1, 3, 32, 32])
    """
    batch = []
    for image in images:
        image = image.convert("RGB")
        w, h = image.size
        if w <= h:
            new_w, new_h = size, int(size * h / w)
        else:
            new_w, new_h = int(size * w / h), size
        if (new_w, new_h) != (w, h):
            image = image.resize((new_w, new_h), Image.Resampling.BICUBIC)
        top, left = int(round((new_h - size) / 2.0)), int(round((new_w - size) / 2.0))
        image = image.crop((left, top, left + size, top + size))
        batch.append(np.asarray(image, dtype=np.float32) / 255.0)  # (size, size, 3)
    pixels = torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2)  # (b, 3, size, size)
    return (pixels - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


# --------------------------------------------------------------------------------------------------------- loading


def read_state_dict(weights: str | Path) -> dict[str, torch.Tensor]:
    """An open_clip checkpoint as a plain state dict: unwraps "state_dict", strips "module." prefixes, drops the
    non-tensor entries of OpenAI's files.

    Raises:
        InputError: a missing file, or one that holds no state dict.
    """
    path = Path(weights)
    if not path.is_file():
        raise InputError(f"expected a local open_clip checkpoint, got {str(path)!r} (it does not exist)")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's input error
        raise InputError(f"expected a CLIP state-dict file, got {str(path)!r} that does not load ({exc})") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not state:
        raise InputError(f"expected a CLIP state dict in {str(path)!r}, got {type(state).__name__}")
    if all(k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}
    for key in ("input_resolution", "context_length", "vocab_size"):
        state.pop(key, None)
    return state


def load_state(model: ClipModel, state: dict[str, torch.Tensor], assign: bool = False) -> None:
    """Load `state` into `model`, every key and shape checked (`assign`: take the tensors instead of copying them,
    for a model built on the meta device).

    Raises:
        InputError: missing or unexpected keys, or a shape that differs (the message names the first few).
    """
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if "logit_scale" in state and state["logit_scale"].ndim != expected["logit_scale"].ndim:
        state = {**state, "logit_scale": state["logit_scale"].reshape(expected["logit_scale"].shape)}
    wrong = [
        f"{k} {tuple(state[k].shape)} (expected {tuple(v.shape)})"
        for k, v in expected.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys ({', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''})")
        if unexpected:
            more = ", ..." if len(unexpected) > 5 else ""
            parts.append(f"{len(unexpected)} unexpected keys ({', '.join(unexpected[:5])}{more})")
        if wrong:
            parts.append(f"{len(wrong)} shapes that differ ({', '.join(wrong[:3])})")
        raise InputError(
            f"expected a checkpoint of the {model.config.name} CLIP config, got one with {'; '.join(parts)}; "
            "pass the architecture the weights were trained as"
        )
    model.load_state_dict(state, strict=True, assign=assign)


def load_clip(arch: str, weights: str | Path, device: str = "cpu") -> tuple[ClipModel, ClipTokenizer, ClipConfig]:
    """A CLIP in eval mode from an open_clip architecture (name or config JSON) and a local checkpoint.

    Raises:
        InputError: open-clip-torch is missing (for names and the vocabulary), an unsupported config, a missing or
            mismatched checkpoint.
    """
    config = clip_config(arch)
    tokenizer = ClipTokenizer(context_length=config.text.context_length)
    model = clip_from_state(config, read_state_dict(weights))
    return model.to(device), tokenizer, config


def clip_from_state(config: ClipConfig, state: dict[str, torch.Tensor]) -> ClipModel:
    """A `ClipModel` in eval mode holding the tensors of `state`, built without a random initialisation first.

    Raises:
        InputError: `state` does not fit `config` (missing or unexpected keys, other shapes).
    """
    with torch.device("meta"):
        model = ClipModel(config)
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}  # float32, as on the CPU
    load_state(model, state, assign=True)
    return model.eval()
