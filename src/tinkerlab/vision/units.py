"""Units of torch vision models: read a layer's channel maps with forward hooks, reduce them to one number per image.

A *unit* is (model, layer, channel). `read_layers` runs a forward pass with hooks on the named modules (removed on
exit, even after an exception) and returns each layer's output as channel maps (b, c, h, w); token outputs of a
vision transformer (b, 1 + h*w, c) drop the class token and are reshaped to a square grid. `spatial_max` gives the
activation MAIA-style interpretability tools use; `quantile_threshold` and `unit_mask` give the region where a unit
fires above a per-unit level (the top-quantile rule of Network Dissection).

`load_vision_model(spec)` builds the model: ``efficientnet-lite0`` (offline, packaged ImageNet weights),
``torchvision:ARCH:WEIGHTS``, ``timm:ARCH:WEIGHTS``, ``open_clip:ARCH:WEIGHTS`` (the user's local weights; nothing
is downloaded) or ``python:MODULE:FACTORY[:WEIGHTS]`` (any factory function returning an ``nn.Module``).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from tinkerlab.core.errors import InputError

EFFICIENTNET_LAYERS = {f"blocks.{i}": f"_blocks.{i}" for i in range(16)} | {
    "stem": "_bn0",
    "head": "_bn1",
    "logits": "_fc",
}
"""Short names of EfficientNet-Lite0's layers (block outputs, the head before pooling, the class logits)."""

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class VisionModel:
    """A torch vision model with its input transform and the short names of its layers.

    Attributes:
        module: the network (in eval mode).
        preprocess: PIL images -> a float tensor (b, 3, H, W) the network takes.
        name: the spec it was built from.
        aliases: short layer names -> module names (e.g. 'blocks.6' -> '_blocks.6').
    """

    module: Any
    preprocess: Callable[[Sequence[Image.Image]], Any]
    name: str
    aliases: dict[str, str]

    def layer_names(self) -> list[str]:
        """The names `read_layers` accepts: the aliases first, then every named submodule."""
        names = list(self.aliases)
        names += [n for n, _ in self.module.named_modules() if n and n not in self.aliases.values()]
        return names

    def resolve(self, layer: str) -> str:
        """The module name of `layer` (an alias or a module name).

        Raises:
            InputError: an unknown layer; the message lists the valid ones.
        """
        if layer in self.aliases:
            return self.aliases[layer]
        modules = dict(self.module.named_modules())
        if layer and layer in modules:
            return layer
        valid = list(self.aliases) or [n for n in modules if n][:40]
        raise InputError(f"unknown layer {layer!r} of {self.name}; valid layers: {', '.join(valid)}")

    def to(self, device: str) -> VisionModel:
        self.module.to(device)
        return self


def _resize_batch(images: Sequence[Image.Image], size: int) -> np.ndarray:
    return np.stack(
        [np.asarray(im.convert("RGB").resize((size, size), Image.Resampling.BILINEAR), np.float32) for im in images]
    )  # (b, H, W, 3)


def lite_preprocess(size: int = 224) -> Callable[[Sequence[Image.Image]], Any]:
    """EfficientNet-Lite's input transform: resize, then [0, 255] -> [-1, 1]."""

    def preprocess(images: Sequence[Image.Image]):
        import torch

        pixels = torch.from_numpy(_resize_batch(images, size)).permute(0, 3, 1, 2)
        return (pixels - 127.0) / 128.0

    return preprocess


def imagenet_preprocess(size: int = 224) -> Callable[[Sequence[Image.Image]], Any]:
    """The torchvision/timm ImageNet transform: resize, [0, 1], normalise by the ImageNet mean and std."""

    def preprocess(images: Sequence[Image.Image]):
        import torch

        pixels = torch.from_numpy(_resize_batch(images, size) / 255.0).permute(0, 3, 1, 2).float()
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        return (pixels - mean) / std

    return preprocess


def _load_state(module: Any, weights: str) -> None:
    import torch

    path = Path(weights)
    if not path.is_file():
        raise InputError(f"weights file {weights!r} does not exist; pass a local state-dict file")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    module.load_state_dict(state)


def load_vision_model(spec: str = "efficientnet-lite0", *, device: str = "cpu") -> VisionModel:
    """Build the vision model a spec names, in eval mode on `device`.

    Args:
        spec: 'efficientnet-lite0' (offline), 'torchvision:ARCH:WEIGHTS', 'timm:ARCH:WEIGHTS',
            'open_clip:ARCH:WEIGHTS' (visual tower) or 'python:MODULE:FACTORY[:WEIGHTS]'.
        device: torch device.

    Raises:
        InputError: an unknown spec or a missing weights file.
        MissingDependencyError: the library the spec names is not installed.
    """
    from tinkerlab.core.errors import require

    kind, _, rest = spec.partition(":")
    if spec in ("efficientnet-lite0", "default"):
        from tinkerlab.core.assets import efficientnet_lite0_weights

        require("efficientnet_lite_pytorch", extra="vision")
        from efficientnet_lite_pytorch import EfficientNet

        with contextlib.redirect_stdout(io.StringIO()):
            net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(efficientnet_lite0_weights()))
        model = VisionModel(net, lite_preprocess(), "efficientnet-lite0", dict(EFFICIENTNET_LAYERS))
    elif kind in ("torchvision", "timm", "open_clip"):
        arch, _, weights = rest.partition(":")
        if not arch or not weights:
            raise InputError(f"expected {kind}:ARCH:WEIGHTS (a local weights file), got {spec!r}")
        preprocess = imagenet_preprocess()
        if kind == "torchvision":
            models = require("torchvision.models", package="torchvision")
            net = models.get_model(arch, weights=None)
            _load_state(net, weights)
        elif kind == "timm":
            timm = require("timm")
            net = timm.create_model(arch, pretrained=False)
            _load_state(net, weights)
        else:
            from tinkerlab.vision.clip_model import clip_config, clip_from_state, clip_preprocess, read_state_dict

            config = clip_config(arch)
            net = clip_from_state(config, read_state_dict(weights)).visual
            size, mean, std = config.vision.image_size, config.mean, config.std

            def preprocess(images: Sequence[Image.Image]) -> Any:
                return clip_preprocess(images, size, mean, std)

        model = VisionModel(net, preprocess, spec, {})
    elif kind == "python":
        parts = rest.split(":")
        if len(parts) not in (2, 3):
            raise InputError(f"expected python:MODULE:FACTORY[:WEIGHTS], got {spec!r}")
        try:
            factory = getattr(importlib.import_module(parts[0]), parts[1])
        except (ImportError, AttributeError) as exc:
            raise InputError(f"cannot import {parts[0]}.{parts[1]} for {spec!r}: {exc}") from None
        net = factory()
        if len(parts) == 3:
            _load_state(net, parts[2])
        model = VisionModel(net, imagenet_preprocess(), spec, {})
    else:
        raise InputError(
            "unknown vision model "
            f"{spec!r}; use efficientnet-lite0, torchvision:ARCH:WEIGHTS, timm:ARCH:WEIGHTS, open_clip:ARCH:WEIGHTS "
            "or python:MODULE:FACTORY[:WEIGHTS]"
        )
    model.module.eval()
    return model.to(device)


def as_channel_maps(output: Any) -> Any:
    """A layer output as channel maps (b, c, h, w).

    (b, c, h, w) is kept; (b, c) becomes (b, c, 1, 1); transformer tokens (b, n, c) drop a class token when
    n - 1 is a square and are reshaped to (b, c, √n, √n).

    Example:
        >>> import torch
        >>> as_channel_maps(torch.zeros(2, 1 + 16, 8)).shape
        torch.Size([2, 8, 4, 4])
    """
    if isinstance(output, (tuple, list)):
        output = output[0]
    if output.ndim == 4:
        return output
    if output.ndim == 2:
        return output[:, :, None, None]
    if output.ndim == 3:
        tokens = output.shape[1]
        if math.isqrt(tokens - 1) ** 2 == tokens - 1 and tokens > 1:
            output = output[:, 1:]
            tokens -= 1
        side = math.isqrt(tokens)
        if side * side != tokens:
            raise InputError(f"cannot arrange {tokens} tokens on a square grid")
        return output.transpose(1, 2).reshape(output.shape[0], output.shape[2], side, side)
    raise InputError(f"expected a layer output of 2, 3 or 4 dimensions, got shape {tuple(output.shape)}")


class _AllLayersRead(Exception):
    """Raised by a hook once every requested layer has its output, to skip the rest of the forward pass."""


@contextlib.contextmanager
def layer_hooks(model: VisionModel, layers: Sequence[str], *, stop_when_read: bool = False) -> Iterator[dict[str, Any]]:
    """Forward hooks on `layers` that store each one's output as channel maps; removed on exit.

    Args:
        model: the vision model.
        layers: layer names (aliases or submodule names).
        stop_when_read: raise `_AllLayersRead` from the hook as soon as every layer has its output, so the layers
            after the deepest one are not computed (the caller catches it; `read_layers` does).

    Yields:
        A dict filled by the next forward pass: layer name -> tensor (b, c, h, w).
    """
    modules = dict(model.module.named_modules())
    captured: dict[str, Any] = {}
    handles = []
    wanted = set(layers)
    try:
        for layer in layers:
            target = modules[model.resolve(layer)]

            def hook(_module, _inputs, output, layer=layer):
                captured[layer] = as_channel_maps(output).detach()
                if stop_when_read and wanted <= captured.keys():
                    raise _AllLayersRead

            handles.append(target.register_forward_hook(hook))
        yield captured
    finally:
        for handle in handles:
            handle.remove()


def read_layers(
    model: VisionModel,
    images: Sequence[Image.Image],
    layers: Sequence[str],
    *,
    device: str = "cpu",
    stop_early: bool = True,
):
    """One forward pass over `images`; each layer's channel maps (b, c, h, w) on the CPU, as float32 tensors.

    With `stop_early` (the default) the pass ends at the deepest requested layer: the rest of the network is not
    run. A module that the forward pass calls more than once is then read at its first call; pass
    `stop_early=False` to run the whole network and keep each layer's last output.
    """
    import torch

    with torch.inference_mode(), layer_hooks(model, layers, stop_when_read=stop_early) as captured:
        try:
            model.module(model.preprocess(images).to(device))
        except _AllLayersRead:
            pass
    return {layer: captured[layer].float().cpu() for layer in layers}


def layer_width(model: VisionModel, layer: str, *, device: str = "cpu") -> int:
    """How many units (channels) `layer` has, from one forward pass on a blank image."""
    blank = Image.new("RGB", (224, 224), (128, 128, 128))
    return int(read_layers(model, [blank], [layer], device=device)[layer].shape[1])


def spatial_max(maps: Any) -> Any:
    """(b, c, h, w) -> (b, c): each unit's largest value over its map."""
    return maps.amax(dim=(2, 3))


def quantile_threshold(maps: Any, quantile: float = 0.99) -> np.ndarray:
    """Per-unit level above which a unit counts as firing: the `quantile` of all its map values over a probe set.

    Args:
        maps: (b, c, h, w) maps of many images.
        quantile: in (0, 1); 0.99 keeps the top 1 % of positions.

    Returns:
        (c,) thresholds.
    """
    if not 0 < quantile < 1:
        raise InputError(f"quantile must be in (0, 1), got {quantile}")
    values = np.asarray(maps.transpose(0, 1).reshape(maps.shape[1], -1).float())  # (c, b*h*w)
    return np.quantile(values, quantile, axis=1).astype(np.float32)


def unit_mask(unit_map: np.ndarray, threshold: float, size: tuple[int, int]) -> np.ndarray:
    """Where a unit's map (h, w) exceeds `threshold`, upsampled (bilinear) to `size` (width, height): bool (H, W)."""
    grid = np.asarray(unit_map, np.float32)
    up = np.asarray(Image.fromarray(grid, mode="F").resize(size, Image.Resampling.BILINEAR))
    return up > threshold


def masked_image(image: Image.Image, mask: np.ndarray, outside: float = 0.25) -> Image.Image:
    """The image with everything outside `mask` darkened to `outside` of its brightness (its `info` is kept)."""
    pixels = np.asarray(image.convert("RGB"), np.float32)
    factor = np.where(mask[..., None], 1.0, outside)
    out = Image.fromarray((pixels * factor).clip(0, 255).astype(np.uint8))
    out.info.update(getattr(image, "info", {}))
    return out
