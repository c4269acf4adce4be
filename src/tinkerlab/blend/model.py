"""A trained BlendGAN model and its inference modes: samples of image k, morphing, melding, structure-texture fusion,
and any per-scale identity map written in Python.

Every mode is one identity map per scale (`tinkerlab.blend.maps`) run through the engine's `Pyramid.run`. The noise
amplitude of a scale is one per training image; where the map mixes identities, each pixel gets the identity-
weighted mix of the images' amplitudes (`Pyramid.mixed_amps`), so a one-hot map reproduces training exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from tinkerlab.blend.config import BlendConfig
from tinkerlab.blend.inputs import check_identity
from tinkerlab.blend.maps import (
    IdentityMap,
    MaskMap,
    Ramp,
    fusion_map,
    mixture,
    one_hot,
    resolve_maps,
)
from tinkerlab.core.errors import InputError
from tinkerlab.core.seeding import make_generator
from tinkerlab.pyramid.scales import tensor_to_image
from tinkerlab.pyramid.trainer import Pyramid

Layout = Literal["image", "random"]


def check_count(n: int, what: str = "samples") -> None:
    """Refuse a count below 1."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InputError(f"expected at least 1 of {what}, got {n!r}")


@dataclass
class BlendModel:
    """A trained BlendGAN model: the pyramid, the K training images and the config.

    Attributes:
        pyramid: the engine's trained scales (conditioned on K identity channels).
        images: the K training images at the finest scale, HxWx3 float32 in [0, 1].
        reals: the training pyramid, (K, C, h, w) per scale.
        config: the settings.
        run_path: the run directory, when trained or loaded from one.
        note: the line saying which images were centre-cropped, or None.
    """

    pyramid: Pyramid
    images: list[np.ndarray]
    reals: list[torch.Tensor]
    config: BlendConfig
    run_path: Path | None = None
    note: str | None = None

    @property
    def num_images(self) -> int:
        return len(self.images)

    @property
    def shapes(self) -> list[tuple[int, int]]:
        return [tuple(s) for s in self.pyramid.shapes]

    def maps(self, identity: IdentityMap | Callable[[int, tuple[int, int]], Any]) -> list[torch.Tensor]:
        """An identity map evaluated and checked at every scale: (1, K, h, w) per scale, on the model's device."""
        return resolve_maps(identity, self.num_images, self.shapes, self.pyramid.device)

    # --- the one way to generate ----------------------------------------------------------------------------

    @torch.no_grad()
    def run_maps(
        self,
        maps: Sequence[torch.Tensor],
        noises: Sequence[torch.Tensor],
        gains: Sequence[float] | None = None,
    ) -> torch.Tensor:
        """Run every scale with its map and unscaled noise; the finest output (B, C, H, W) in [-1, 1].

        Args:
            maps: per scale, (1 or B, K, h, w) identity weights.
            noises: per scale, (B, C, *padded) unscaled noise.
            gains: per scale, a factor on the (mixed) noise amplitude; None keeps the trained amplitudes.
        """
        conditioning = [
            m.expand(n.shape[0], *m.shape[1:]) if m.shape[0] == 1 else m for m, n in zip(maps, noises, strict=True)
        ]
        amps = self.pyramid.mixed_amps(conditioning)  # per pixel: the identity-weighted images' amplitudes
        if gains is not None:
            amps = [amp * gain for amp, gain in zip(amps, gains, strict=True)]
        return self.pyramid.run(noises, conditioning=conditioning, amps=amps)[-1]

    def draw_noises(self, rng: torch.Generator, batch: int) -> list[torch.Tensor]:
        """Fresh unscaled noise for every scale at the training shapes, (batch, C, *padded) each."""
        return [self.pyramid.draw_noise(i, shape, rng, batch) for i, shape in enumerate(self.shapes)]

    def replayed(self, noises: list[torch.Tensor], image: int, scales: int) -> list[torch.Tensor]:
        """`noises` with the first `scales` entries replaced by image `image`'s reconstruction noise z*."""
        out = list(noises)
        for index in range(min(scales, len(out))):
            rec = self.pyramid.rec_noises[index][image : image + 1]
            out[index] = rec.expand(out[index].shape[0], *rec.shape[1:])
        return out

    def generate(
        self,
        identity: IdentityMap | Callable[[int, tuple[int, int]], Any],
        n: int = 1,
        *,
        seed: int = 0,
        replay: tuple[int, int] | None = None,
        gains: Sequence[float] | None = None,
    ) -> list[np.ndarray]:
        """`n` samples (HxWx3 float32 in [0, 1]) under any identity map.

        Args:
            identity: a map from `tinkerlab.blend.maps`, or a callable ``(scale, (h, w)) -> (K, h, w)`` array.
            n: how many samples.
            seed: the noise seed (the same seed gives the same samples).
            replay: (image k, S): the first S scales replay k's reconstruction noise z*_k instead of fresh noise,
                so they redraw image k's own layout.
            gains: per scale, a factor on the noise amplitude (None: the trained amplitudes).

        Raises:
            InputError: a bad map (identity count, size, weights), n < 1, or a bad replay.
        """
        check_count(n)
        maps = self.maps(identity)
        noises = self.draw_noises(make_generator(seed, device=str(self.pyramid.device)), n)
        if replay is not None:
            image, scales = replay
            check_identity(image, self.num_images, "replay image")
            if isinstance(scales, bool) or not isinstance(scales, int) or not 0 <= scales <= len(self.shapes):
                raise InputError(f"expected 0..{len(self.shapes)} replayed scales, got {scales!r}")
            noises = self.replayed(noises, image, scales)
        if gains is not None and len(gains) != len(self.shapes):
            raise InputError(f"expected one noise gain per scale ({len(self.shapes)}), got {len(gains)}")
        out = self.run_maps(maps, noises, gains)
        return [tensor_to_image(out[i]) for i in range(n)]

    # --- modes ----------------------------------------------------------------------------------------------

    def sample(self, image: int, n: int = 1, *, seed: int = 0) -> list[np.ndarray]:
        """`n` random samples of training image `image` (its one-hot identity everywhere).

        Raises:
            InputError: an index out of range, or n < 1.
        """
        check_identity(image, self.num_images, "image")
        return self.generate(one_hot(image, self.num_images), n, seed=seed)

    def reconstruction(self) -> list[np.ndarray]:
        """What the fixed noises z*_k reproduce, one image per training image (close to the training images)."""
        out = self.pyramid.reconstruct()[-1]
        return [tensor_to_image(out[k]) for k in range(out.shape[0])]

    @torch.no_grad()
    def morph(self, a: int, b: int, steps: int = 8, *, seed: int = 0) -> list[np.ndarray]:
        """Morph from image a to image b: `steps` frames at t = 0 .. 1 of the uniform mixture (1 - t) e_a + t e_b,
        all with the same noise.

        Raises:
            InputError: an index out of range, or fewer than 2 steps.
        """
        check_identity(a, self.num_images, "a")
        check_identity(b, self.num_images, "b")
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
            raise InputError(f"expected at least 2 morph steps, got {steps!r}")
        ts = np.linspace(0.0, 1.0, steps)
        per_t = [self.maps(mixture(a, b, float(t), self.num_images)) for t in ts]
        maps = [torch.cat([frames[i] for frames in per_t]) for i in range(len(self.shapes))]  # (steps, K, h, w)
        rng = make_generator(seed, device=str(self.pyramid.device))
        noises = [z.expand(steps, *z.shape[1:]) for z in self.draw_noises(rng, 1)]
        out = self.run_maps(maps, noises)
        return [tensor_to_image(out[i]) for i in range(steps)]

    def meld(
        self,
        a: int = 0,
        b: int = 1,
        *,
        mask: np.ndarray | None = None,
        seam: float = 0.25,
        n: int = 1,
        seed: int = 0,
    ) -> list[np.ndarray]:
        """Meld two images in one output: a left-right ramp (a left, b right, a soft seam of `seam` of the width),
        or, with `mask` (HxW in [0, 1] at the model's finest size), b where the mask is white and a where black.

        Raises:
            InputError: an index out of range, a mask of another size, or a bad seam.
        """
        if mask is None:
            identity: IdentityMap = Ramp(a, b, self.num_images, seam)
        else:
            mask = np.asarray(mask, dtype=np.float32)
            fine = self.shapes[-1]
            if tuple(mask.shape[:2]) != tuple(fine):
                raise InputError(
                    f"expected a meld map of the model's size {fine[0]}x{fine[1]} (height x width), got "
                    f"{mask.shape[0]}x{mask.shape[1]}; resize the map to the training images' size"
                )
            identity = MaskMap(mask, a, b, self.num_images)
        return self.generate(identity, n, seed=seed)

    def fuse(
        self,
        structure: int,
        texture: int,
        *,
        switch: int | None = None,
        layout: Layout = "image",
        texture_noise: float = 1.0,
        n: int = 1,
        seed: int = 0,
    ) -> list[np.ndarray]:
        """Structure-texture fusion: identity `structure` on the coarse scales (below `switch`), `texture` on the
        fine ones.

        Args:
            structure, texture: image indices.
            switch: the first scale with the texture's identity (default: the finest scale, num_scales - 1; on the
                measured texture and photo pairs it kept the structure best, see docs/blend.md).
            layout: "image" replays the structure image's reconstruction noise on the coarse scales, so the
                output keeps that image's own layout; "random" draws fresh noise there (a random layout of it).
            texture_noise: a factor on the noise amplitude of the texture scales (from `switch` on); above 1 the
                fine scales get room to draw the texture's detail instead of refining the structure's (measured in
                docs/blend.md: 3 made a 64-px brick -> grass fusion take grass's fine statistics; with a model
                trained with `cross_fraction=0.5`, both brick <-> grass directions).
            n, seed: how many outputs, and the noise seed.

        Raises:
            InputError: an index out of range, or a switch outside 1..num_scales - 1.
        """
        check_identity(structure, self.num_images, "structure")
        check_identity(texture, self.num_images, "texture")
        num_scales = len(self.shapes)
        switch = num_scales - 1 if switch is None else switch
        if isinstance(switch, bool) or not isinstance(switch, int) or not 1 <= switch <= num_scales - 1:
            raise InputError(f"expected the first texture scale (switch) in 1..{num_scales - 1}, got {switch!r}")
        if layout not in ("image", "random"):
            raise InputError(f"expected layout 'image' or 'random', got {layout!r}")
        if isinstance(texture_noise, bool) or not isinstance(texture_noise, int | float) or not texture_noise > 0:
            raise InputError(f"expected a positive texture noise factor, got {texture_noise!r}")
        replay = (structure, switch) if layout == "image" else None
        gains = [1.0 if index < switch else float(texture_noise) for index in range(num_scales)]
        return self.generate(
            fusion_map(structure, texture, self.num_images, switch), n, seed=seed, replay=replay, gains=gains
        )
