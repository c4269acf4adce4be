"""Image-identity maps of BlendGAN: which training image each pixel of each scale should look like.

An identity map of a scale is a (1, K, h, w) tensor whose K channels are non-negative and sum to 1 at every pixel
(a point of the simplex per pixel). Training uses the constant one-hot map of each image; inference uses any map:

- `one_hot(k, K)`: samples of image k;
- `mixture(a, b, t, K)`: the uniform mixture (1 - t) e_a + t e_b (morphing as t goes from 0 to 1);
- `Ramp(a, b, K, seam)`: a left-right ramp, a on the left and b on the right, with a soft seam (melding);
- `MaskMap(mask, a, b, K)`: b where the mask is white, a where it is black, soft in between (melding);
- `PerScale(coarse, fine, switch)`: one map on the scales below `switch`, another from it on (structure from
  one image, texture from another);
- `FunctionMap(fn)`: any per-scale map a user writes: ``fn(scale_index, (h, w)) -> (K, h, w)`` array.

`resolve_maps` evaluates a map on every scale's shape and checks it (number of identities, size, simplex). All
maps are plain values: they hold no tensors and do no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F

from tinkerlab.blend.inputs import check_identity
from tinkerlab.core.errors import InputError

Shape = tuple[int, int]
SIMPLEX_TOLERANCE = 1e-3


class IdentityMap(Protocol):
    """A per-scale identity map: called with (scale index, (h, w)), returns (1, K, h, w) or (K, h, w)."""

    def __call__(self, index: int, shape: Shape) -> Any: ...


@dataclass(frozen=True)
class Uniform:
    """The same identity weights at every pixel of every scale."""

    weights: tuple[float, ...]

    def __call__(self, index: int, shape: Shape) -> torch.Tensor:
        return torch.tensor(self.weights, dtype=torch.float32).view(1, -1, 1, 1).expand(1, -1, *shape).contiguous()


def one_hot(k: int, num_images: int) -> Uniform:
    """The map of image `k` alone (what training uses for image k).

    Raises:
        InputError: `k` outside 0..num_images - 1.

    Example:
        >>> one_hot(1, 3).weights
        (0.0, 1.0, 0.0)
    """
    check_identity(k, num_images)
    return Uniform(tuple(1.0 if i == k else 0.0 for i in range(num_images)))


def mixture(a: int, b: int, t: float, num_images: int) -> Uniform:
    """The uniform mixture (1 - t) e_a + t e_b: image a at t = 0, image b at t = 1.

    Raises:
        InputError: an index out of range, or t outside [0, 1].

    Example:
        >>> mixture(0, 1, 0.25, 2).weights
        (0.75, 0.25)
    """
    check_identity(a, num_images, "a")
    check_identity(b, num_images, "b")
    if not (isinstance(t, (int, float)) and 0.0 <= t <= 1.0):
        raise InputError(f"expected a mixture weight t in [0, 1], got {t!r}")
    weights = [0.0] * num_images
    weights[a] += 1.0 - t
    weights[b] += t
    return Uniform(tuple(weights))


def smoothstep(x: np.ndarray) -> np.ndarray:
    """3x^2 - 2x^3 on [0, 1], 0 below and 1 above (a ramp with zero slope at both ends)."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def pair_map(weight_b: np.ndarray | torch.Tensor, a: int, b: int, num_images: int) -> torch.Tensor:
    """(1, K, h, w) with (1 - weight_b) on channel a and weight_b on channel b, from an (h, w) weight in [0, 1]."""
    weight = torch.as_tensor(np.asarray(weight_b, dtype=np.float32))
    out = torch.zeros((1, num_images, *weight.shape), dtype=torch.float32)
    out[0, a] += 1.0 - weight
    out[0, b] += weight
    return out


@dataclass(frozen=True)
class Ramp:
    """A left-right meld: image a on the left, image b on the right, a soft seam in between.

    Args:
        a, b: the identities of the left and right sides.
        num_images: K.
        seam: the width of the seam as a fraction of the image width (0 is a hard cut).
        centre: where the seam's middle is, as a fraction of the width.
    """

    a: int
    b: int
    num_images: int
    seam: float = 0.25
    centre: float = 0.5

    def __post_init__(self) -> None:
        check_identity(self.a, self.num_images, "a")
        check_identity(self.b, self.num_images, "b")
        if not 0.0 <= self.seam <= 1.0:
            raise InputError(f"expected a seam width in [0, 1] (a fraction of the width), got {self.seam!r}")
        if not 0.0 < self.centre < 1.0:
            raise InputError(f"expected a seam centre in (0, 1) (a fraction of the width), got {self.centre!r}")

    def weight_b(self, width: int) -> np.ndarray:
        """The weight of b in each of `width` columns (pixel centres at (x + 0.5) / width)."""
        x = (np.arange(width) + 0.5) / width
        if self.seam == 0:
            return (x >= self.centre).astype(np.float32)
        return smoothstep((x - (self.centre - self.seam / 2)) / self.seam).astype(np.float32)

    def __call__(self, index: int, shape: Shape) -> torch.Tensor:
        height, width = shape
        return pair_map(np.tile(self.weight_b(width), (height, 1)), self.a, self.b, self.num_images)


@dataclass(frozen=True, eq=False)
class MaskMap:
    """A meld from a mask image: b where the mask is 1 (white), a where it is 0, its grey values as weights.

    The mask (HxW in [0, 1], at the model's finest size) is resized to every scale (bilinear, antialiased).
    """

    mask: np.ndarray
    a: int
    b: int
    num_images: int

    def __post_init__(self) -> None:
        check_identity(self.a, self.num_images, "a")
        check_identity(self.b, self.num_images, "b")
        mask = np.asarray(self.mask, dtype=np.float32)
        if mask.ndim == 3:
            mask = mask.mean(axis=2)
        if mask.ndim != 2:
            raise InputError(f"expected an HxW mask (white = image b), got an array of shape {mask.shape}")
        if not np.isfinite(mask).all() or mask.min() < 0.0 or mask.max() > 1.0:
            raise InputError(f"expected mask values in [0, 1], got {mask.min():.3g}..{mask.max():.3g}")
        object.__setattr__(self, "mask", mask)

    def __call__(self, index: int, shape: Shape) -> torch.Tensor:
        tensor = torch.from_numpy(self.mask)[None, None]
        if tuple(tensor.shape[-2:]) != tuple(shape):
            shrinking = shape[0] < tensor.shape[-2] or shape[1] < tensor.shape[-1]
            tensor = F.interpolate(tensor, size=tuple(shape), mode="bilinear", align_corners=False, antialias=shrinking)
        return pair_map(tensor[0, 0].clamp(0.0, 1.0), self.a, self.b, self.num_images)


@dataclass(frozen=True)
class PerScale:
    """`coarse` on scales 0..switch - 1 and `fine` on scales switch.. (e.g. structure of a, texture of b)."""

    coarse: IdentityMap
    fine: IdentityMap
    switch: int

    def __post_init__(self) -> None:
        if isinstance(self.switch, bool) or not isinstance(self.switch, int) or self.switch < 1:
            raise InputError(f"expected the first fine scale (switch) to be an integer >= 1, got {self.switch!r}")

    def __call__(self, index: int, shape: Shape) -> Any:
        return (self.coarse if index < self.switch else self.fine)(index, shape)


def fusion_map(structure: int, texture: int, num_images: int, switch: int) -> PerScale:
    """Structure-texture fusion: identity `structure` on scales below `switch`, `texture` from it on."""
    return PerScale(one_hot(structure, num_images), one_hot(texture, num_images), switch)


@dataclass(frozen=True)
class FunctionMap:
    """A map written in Python: ``function(scale_index, (h, w))`` returns a (K, h, w) or (1, K, h, w) array."""

    function: Callable[[int, Shape], Any]

    def __call__(self, index: int, shape: Shape) -> Any:
        return self.function(index, shape)


def as_identity_map(value: IdentityMap | Callable[[int, Shape], Any]) -> IdentityMap:
    """A map as given, or a plain callable wrapped as a `FunctionMap`."""
    if isinstance(value, (Uniform, Ramp, MaskMap, PerScale, FunctionMap)):
        return value
    if callable(value):
        return FunctionMap(value)
    raise InputError(f"expected an identity map (a callable (scale, (h, w)) -> (K, h, w)), got {type(value).__name__}")


def check_map(value: Any, num_images: int, shape: Shape, index: int) -> torch.Tensor:
    """One scale's map as a (1, K, h, w) float32 tensor, after checking it.

    Raises:
        InputError: not an array, the wrong number of identity channels or the wrong size, non-finite or negative
            weights, or weights that do not sum to 1 at some pixel.
    """
    where = f"identity map of scale {index}"
    try:
        array = np.asarray(value.detach().cpu() if torch.is_tensor(value) else value, dtype=np.float32)
        tensor = torch.from_numpy(np.ascontiguousarray(array))
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where}: expected a (K, h, w) array, got {type(value).__name__} ({exc})") from None
    if tensor.ndim == 3:
        tensor = tensor[None]
    if tensor.ndim != 4 or tensor.shape[0] != 1:
        raise InputError(f"{where}: expected a (K, h, w) or (1, K, h, w) array, got shape {tuple(tensor.shape)}")
    if tensor.shape[1] != num_images:
        raise InputError(
            f"{where}: expected {num_images} identity channels (one per training image), got {tensor.shape[1]}"
        )
    if tuple(tensor.shape[2:]) != tuple(shape):
        raise InputError(f"{where}: expected size {shape[0]}x{shape[1]}, got {tensor.shape[2]}x{tensor.shape[3]}")
    if not torch.isfinite(tensor).all() or float(tensor.min()) < -SIMPLEX_TOLERANCE:
        raise InputError(f"{where}: expected finite weights >= 0, got a minimum of {float(tensor.min()):.3g}")
    sums = tensor.sum(dim=1)
    worst = float((sums - 1.0).abs().max())
    if worst > SIMPLEX_TOLERANCE:
        raise InputError(
            f"{where}: expected the identity weights to sum to 1 at every pixel, got sums from "
            f"{float(sums.min()):.3g} to {float(sums.max()):.3g}"
        )
    return tensor.clamp_min(0.0)


def resolve_maps(
    identity: IdentityMap | Callable[[int, Shape], Any],
    num_images: int,
    shapes: Sequence[Shape],
    device: Any = "cpu",
) -> list[torch.Tensor]:
    """Evaluate a map on every scale's shape: a (1, K, h, w) tensor per scale, coarsest first, on `device`.

    Raises:
        InputError: see `check_map`.

    Example:
        >>> [tuple(m.shape) for m in resolve_maps(Ramp(0, 1, 2), 2, [(4, 6), (8, 12)])]
        [(1, 2, 4, 6), (1, 2, 8, 12)]
    """
    identity = as_identity_map(identity)
    return [check_map(identity(i, tuple(s)), num_images, tuple(s), i).to(device) for i, s in enumerate(shapes)]
