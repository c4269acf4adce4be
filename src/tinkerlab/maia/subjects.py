"""The units MAIA explains: a channel of a torch vision model, or a synthetic neuron with ground truth.

Both answer `call_neuron(images) -> (activations, masked_images)`: the activation is the spatial max of the unit's
map (for a synthetic neuron: its rule over detected concepts), the masked image keeps where the unit fires above
its threshold bright and darkens the rest to a quarter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from tinkerlab.core.errors import InputError
from tinkerlab.maia.synthetic import Detector, SyntheticNeuron
from tinkerlab.vision.units import VisionModel, masked_image, read_layers, spatial_max, unit_mask


@dataclass
class UnitSubject:
    """Unit `unit` of `layer` in a torch vision model.

    Args:
        model: the loaded model (`tinkerlab.vision.units.load_vision_model`).
        layer: a layer name the model accepts (an alias such as 'blocks.6' or a module name).
        unit: the channel index.
        threshold: the level above which the unit counts as firing (from the probe set's quantile rule); None
            until the exemplars set it.
        device: torch device of the model.

    Raises:
        InputError: an unknown layer (the valid ones are listed) or a unit outside the layer's width.
    """

    model: VisionModel
    layer: str
    unit: int
    threshold: float | None = None
    device: str = "cpu"
    width: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        from tinkerlab.vision.units import layer_width

        self.model.resolve(self.layer)
        self.width = layer_width(self.model, self.layer, device=self.device)
        if not isinstance(self.unit, int) or not 0 <= self.unit < self.width:
            raise InputError(
                f"unit must be in 0..{self.width - 1} (layer {self.layer} has {self.width}), got {self.unit}"
            )

    @property
    def name(self) -> str:
        return f"{self.model.name}/{self.layer}/{self.unit}"

    def maps(self, images: Sequence[Image.Image], batch: int = 32) -> np.ndarray:
        """The unit's maps (n, h, w) for `images`."""
        out = []
        for start in range(0, len(images), batch):
            maps = read_layers(self.model, images[start : start + batch], [self.layer], device=self.device)[self.layer]
            out.append(maps[:, self.unit].numpy())
        return np.concatenate(out) if out else np.zeros((0, 1, 1), np.float32)

    def call_neuron(self, images: Sequence[Image.Image]) -> tuple[list[float], list[Image.Image]]:
        """Activations (spatial max, rounded to 2 decimals) and masked images, one per image."""
        if not images:
            return [], []
        maps = self.maps(list(images))  # (n, h, w)
        values = spatial_max(_as_tensor(maps[:, None]))[:, 0].tolist()
        masked = []
        for image, unit_map, value in zip(images, maps, values, strict=True):
            level = self.threshold if self.threshold is not None else 0.5 * value
            masked.append(masked_image(image, unit_mask(unit_map, level, image.size)))
        return [round(float(v), 2) for v in values], masked


def _as_tensor(array: np.ndarray) -> Any:
    import torch

    return torch.from_numpy(np.ascontiguousarray(array))


@dataclass
class SyntheticSubject:
    """A synthetic neuron as a subject (its rule over concepts the detector finds)."""

    neuron: SyntheticNeuron
    detector: Detector | None = None
    threshold: float | None = 0.0

    @property
    def name(self) -> str:
        return f"synthetic/{self.neuron.mode}/{self.neuron.name}"

    def call_neuron(self, images: Sequence[Image.Image]) -> tuple[list[float], list[Image.Image]]:
        values, masked = [], []
        for image in images:
            value, mask = self.neuron.activation(image, self.detector)
            values.append(round(value, 2))
            masked.append(masked_image(image, mask))
        return values, masked
