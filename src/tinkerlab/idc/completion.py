"""IDC, internal diverse completion (Alkobi, Rott Shaham and Michaeli, arXiv 2212.10280): diverse fills of a missing
region, learned only from the visible part of one image, on the pyramid engine (`tinkerlab.pyramid`).

What changes against SinGAN, each in one place below:
- The hole pixels are set to zero before anything else, so no computation can read them.
- Coarse scales (before the masking scale, `masking_start_scale`) train as plain SinGAN on a Deep-Image-Prior
  pre-fill of the hole (`dip.py`).
- From the masking scale on, `MaskedObjective`: the discriminator normalises over valid positions only, D(real)
  is averaged over scores whose receptive field misses the hole, the gradient penalty is averaged over known
  pixels, and the reconstruction loss is masked and gradual (weights rise from 0 at the hole over a blurred band).
  These scales train with a lower learning rate and longer.
- The reconstruction noise z* is random at every scale; the noise amplitude uses known pixels only.
- `IDCModel.complete` replays z* outside the hole and draws fresh noise inside it (the diversity knob shrinks the
  region of fresh noise), then merges: known pixels outside a feathered band around the hole are copied exactly.

Entry points: `train(image, mask, config, out=RUN)`, `load(RUN)`, `complete(image, mask, n=8, diversity=5)`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from tinkerlab.core.errors import InputError
from tinkerlab.core.images import save_image
from tinkerlab.core.runs import RunDir
from tinkerlab.core.seeding import choose_device, make_generator
from tinkerlab.idc.config import IDCConfig, masked_iterations
from tinkerlab.idc.dip import dip_fill
from tinkerlab.pyramid.masks import (
    MaskedObjective,
    box_dilate,
    dilate,
    gaussian_blur,
    gradual_weights,
    merge_known,
    soft_merge_weights,
)
from tinkerlab.pyramid.models import build_discriminator, build_generator, init_weights
from tinkerlab.pyramid.sampling import super_resolve
from tinkerlab.pyramid.scales import (
    build_pyramid,
    image_to_tensor,
    receptive_field,
    resize,
    resize_mask,
    scale_shapes,
    tensor_to_image,
)
from tinkerlab.pyramid.singan import image_digest, quantise, scale_image_writer, seeded
from tinkerlab.pyramid.trainer import (
    Pyramid,
    PyramidTrainer,
    ScaleCallback,
    ScaleSpec,
    WassersteinObjective,
    draw_noise,
    load_pyramid,
    pad_spatial,
    padded_shape,
)

SYSTEM = "idc"
MIN_DIVERSITY, MAX_DIVERSITY = 1, 8
# Passes of the finest generator when carrying a completion up to the input's size (the default of `sr_steps`).
# The completion model's finest generator was never trained for super-resolution (SinGAN trains a dedicated model
# for it), and it drifts when run many times: measured on the demo's chelsea model (64 px, carried to 451x300), at
# the pyramid's ratio (11 passes) the hole saturates (std 0.40 against 0.16 for the true content); 2 passes give
# 0.20, 1 pass 0.18, a plain bicubic enlargement (0 passes) 0.16 and no new detail. See docs/idc.md.
SR_STEPS = 2


# --- where masking starts ---------------------------------------------------------------------------------------


def dilated_hole_share(hole: torch.Tensor, field: int) -> tuple[float, int]:
    """The hole dilated by the receptive field, with a half-field border cropped: (hole share, valid centres)."""
    half = field // 2
    grown = box_dilate(hole, field)
    cropped = grown[..., half : grown.shape[-2] - half, half : grown.shape[-1] - half]
    if cropped.numel() == 0:
        return 1.0, 0
    return float(cropped.mean()), int((cropped < 0.5).sum())


def masking_start_from_shares(shares: Sequence[float], centres: Sequence[int], config: IDCConfig) -> int:
    """IDC's masking-start rule on the per-scale hole shares and valid patch centres (coarsest first).

    The coarsest scale (0) qualifies only when its share is below `mask_start_share_coarsest` (25 %); every finer
    scale qualifies when its share is below `mask_start_share` (60 %) or more than `mask_start_valid_centres`
    (5000) valid centres remain. The first scale that qualifies is returned; when none does, masking starts at the
    finest scale, as in the original (which then trains every coarser scale on the pre-fill).

    Example:
        >>> masking_start_from_shares([0.50, 0.42, 0.30], [40, 300, 2000], IDCConfig())
        1
        >>> masking_start_from_shares([0.9, 0.8, 0.7], [0, 10, 100], IDCConfig())
        2
    """
    for index, (share, count) in enumerate(zip(shares, centres, strict=True)):
        if index == 0:
            if share < config.mask_start_share_coarsest:
                return 0
        elif share < config.mask_start_share or count > config.mask_start_valid_centres:
            return index
    return len(shares) - 1


def masking_start_scale(holes: Sequence[torch.Tensor], config: IDCConfig) -> int:
    """The first scale trained with the masked discriminator (IDC's rule, `masking_start_from_shares`).

    Raises:
        InputError: the hole, grown by the receptive field, leaves no valid patch centre at the finest scale, so
            the discriminator would have no real patch to learn from.
    """
    field = receptive_field(config.base.model)
    measured = [dilated_hole_share(hole, field) for hole in holes]
    share, centres = measured[-1]
    if centres == 0:
        raise InputError(
            f"the hole leaves nothing to learn from: expected some {field}x{field} patches of the finest scale to "
            f"miss the hole, got none (the grown hole covers {share:.0%}); use a smaller mask or a larger --max-size"
        )
    return masking_start_from_shares([m[0] for m in measured], [m[1] for m in measured], config)


# --- training ---------------------------------------------------------------------------------------------------


def boosted_scales(num_scales: int) -> range:
    """The scales whose reconstruction weight is raised to `boosted_rec_weight` when they are masked: the last
    max(1, int(stop_scale / 3)) scales, stop_scale = num_scales - 1 (the original's rule).

    Example:
        >>> list(boosted_scales(9)), list(boosted_scales(5))
        ([7, 8], [4])
    """
    stop_scale = num_scales - 1
    return range(stop_scale - max(1, stop_scale // 3) + 1, num_scales)


class IDCPlan:
    """The scales of an IDC model (a `ScalePlan`): plain scales on the pre-filled image, then masked scales."""

    def __init__(
        self,
        reals: Sequence[torch.Tensor],
        prefilled: Sequence[torch.Tensor],
        holes: Sequence[torch.Tensor],
        start: int,
        config: IDCConfig,
    ) -> None:
        self.reals, self.prefilled, self.holes = list(reals), list(prefilled), list(holes)
        self.start = start
        self.config = config
        self.num_scales = len(self.reals)

    def build(self, index: int) -> ScaleSpec:
        config, base = self.config, self.config.base
        model, train = base.model, base.train
        masked = index >= self.start
        boosted = masked and index in boosted_scales(self.num_scales)
        rec_weight = config.boosted_rec_weight if boosted else train.rec_weight
        device = self.reals[index].device
        init_rng = seeded(base.seed, index, 1)
        generator = build_generator(model, index)
        discriminator = build_discriminator(model, index, masked=masked)
        init_weights(generator, init_rng)
        init_weights(discriminator, init_rng)
        noise_channels = 1 if index == 0 else model.channels
        noise_shape = padded_shape(tuple(self.reals[index].shape[2:]), generator.padding)
        rec_noise = draw_noise(
            noise_channels, model.channels, noise_shape, seeded(base.seed, index, 2, device), 1, device
        )
        if masked:
            hole = self.holes[index]
            objective = MaskedObjective(
                1.0 - hole, gradual_weights(hole, index), train.gp_weight, rec_weight, train.noise_amp_factor
            )
            real, iterations, lr = self.reals[index], masked_iterations(config), config.masked_lr
        else:
            objective = WassersteinObjective(train.gp_weight, rec_weight, train.noise_amp_factor)
            real, iterations, lr = self.prefilled[index], train.iterations, train.lr
        return ScaleSpec(
            real=real,
            generator=generator.to(device),
            discriminator=discriminator.to(device),
            objective=objective,
            rec_noise=rec_noise,
            noise_channels=noise_channels,
            iterations=iterations,
            lr=lr,
            betas=train.betas,
            decay_at=round(iterations * train.decay_at) if not masked else iterations + 1,
            decay_gamma=train.decay_gamma,
            d_steps=train.d_steps,
            g_steps=train.g_steps,
            fixed_noise_amp=1.0 if index == 0 else None,
        )


def validate_mask(image: np.ndarray, mask: np.ndarray, config: IDCConfig) -> np.ndarray:
    """The hole as an HxW bool array, after checking it against the image.

    Raises:
        InputError: the mask's size differs from the image's, the mask is empty, or it covers more than
            `config.max_hole_fraction` of the image.
    """
    mask = np.asarray(mask)
    if mask.ndim == 3:
        mask = mask.max(axis=2)
    if mask.ndim != 2:
        raise InputError(f"expected a 2-D mask (HxW, white = hole), got an array of shape {mask.shape}")
    if tuple(mask.shape) != tuple(np.asarray(image).shape[:2]):
        raise InputError(
            f"the mask must have the image's size: expected {image.shape[0]}x{image.shape[1]}, "
            f"got {mask.shape[0]}x{mask.shape[1]}"
        )
    threshold = 127 if mask.dtype == np.uint8 else 0.5
    hole = mask > threshold
    if not hole.any():
        raise InputError("the mask is empty: expected some hole pixels (white, > 0.5 or > 127), got none")
    fraction = float(hole.mean())
    if fraction > config.max_hole_fraction:
        raise InputError(
            f"the mask covers almost all of the image: expected at most {config.max_hole_fraction:.0%} "
            f"missing, got {fraction:.0%}"
        )
    return hole


Resolution = Literal["input", "model"]
Merge = Literal["tight", "original"]


@dataclass
class IDCModel:
    """A trained IDC model and what completion needs: the known image, the hole per scale, the pyramid.

    `original` and `original_hole` are the input at its own size (float32, hole pixels 0); completions at
    resolution "input" are carried up to that size and keep every known pixel of it exactly.
    """

    pyramid: Pyramid
    image: np.ndarray  # HxWx3 in [0, 1] at the finest scale; hole pixels are 0
    hole: np.ndarray  # HxW bool at the finest scale
    holes: list[torch.Tensor]  # (1, 1, h, w) per scale
    prefill: np.ndarray  # the DIP pre-fill, HxWx3
    masking_start: int
    config: IDCConfig
    run_path: Path | None = None
    original: np.ndarray | None = None  # the input at its own size, HxWx3 float32, hole pixels 0
    original_hole: np.ndarray | None = None  # HxW bool at the input's size

    def complete(
        self,
        n: int = 8,
        *,
        diversity: int = 5,
        seed: int = 0,
        resolution: Resolution = "input",
        merge: Merge = "tight",
        sr_steps: int = SR_STEPS,
    ) -> list[np.ndarray]:
        """`n` diverse completions (HxWx3 float32 in [0, 1]).

        Args:
            n: how many completions.
            diversity: 1 (close to one completion) .. 8 (most diverse): fresh noise is drawn in the part of the
                hole deeper than (8 - diversity) / 8 of its inner radius, at every scale (`noise_region`);
                elsewhere the reconstruction noise is replayed.
            seed: the random seed.
            resolution: "input" (the input's size: the model's completion carried up by the finest generator,
                `super_resolve`, every known pixel equal to the input) or "model" (the finest scale's size).
            merge: how the model's output is merged with the known image at the model's size: "tight"
                (`merge_mask`: hole grown 5 px, feathered, sigma 1.5) or "original" (IDC's: the coarsest
                scale's noise region grown 7 coarse pixels, carried to the finest scale, then grown 5 px and
                blurred with sigma 5; `original_merge_mask`).
            sr_steps: at resolution "input", at most this many passes of the finest generator carry the
                completion up (each pass then enlarges by more than the pyramid's ratio); 0 enlarges the hole
                plainly (bicubic), and a number at least the steps the pyramid's ratio needs runs at that ratio
                (SinGAN's own super-resolution). Default `SR_STEPS` (2), see there.

        Raises:
            InputError: n < 1, diversity outside 1..8, sr_steps < 0, or an unknown resolution or merge.
        """
        if n < 1:
            raise InputError(f"expected at least 1 completion, got n={n}")
        check_diversity(diversity)
        if resolution not in ("input", "model"):
            raise InputError(f"expected resolution 'input' or 'model', got {resolution!r}")
        if merge not in ("tight", "original"):
            raise InputError(f"expected merge 'tight' or 'original', got {merge!r}")
        check_sr_steps(sr_steps)
        pyramid = self.pyramid
        rng = make_generator(seed, device=str(pyramid.device))
        regions, coarse_regions = [], []
        for index, hole in enumerate(self.holes):
            region = noise_region(hole, diversity)  # (1, 1, h, w): where fresh noise goes
            coarse_regions.append(region)
            p = pyramid.generators[index].padding
            regions.append(pad_spatial(region, p).to(pyramid.device))
        if merge == "tight":
            weights = merge_mask(self.hole)
        else:
            weights = original_merge_mask(self.hole, coarse_regions[0], diversity)
        full_size = resolution == "input" and self.original is not None
        outputs = []
        for _ in range(n):
            noises = []
            for index, region in enumerate(regions):
                fresh = pyramid.draw_noise(index, pyramid.shapes[index], rng)
                noises.append((1.0 - region) * pyramid.rec_noises[index] + region * fresh)
            generated = tensor_to_image(pyramid.run(noises)[-1])
            merged = merge_known(self.image, generated, weights)
            outputs.append(self._to_input_size(merged, rng, sr_steps) if full_size else merged)
        return outputs

    def to_input_size(
        self, completions: Sequence[np.ndarray], *, seed: int = 0, sr_steps: int = SR_STEPS
    ) -> list[np.ndarray]:
        """Carry completions made at resolution "model" up to the input's size, as `complete` does at resolution
        "input" (`sr_steps` passes of the finest generator, every known pixel the input's). Lets one compare
        carrying-up settings on the same model-size completions.

        Raises:
            InputError: the model has no input at its own size (a run made before it was saved), or sr_steps < 0.
        """
        check_sr_steps(sr_steps)
        if self.original is None or self.original_hole is None:
            raise InputError("this run has no input at its own size; train it again to complete at that size")
        rng = make_generator(seed, device=str(self.pyramid.device))
        return [self._to_input_size(np.asarray(c, dtype=np.float32), rng, sr_steps) for c in completions]

    def _to_input_size(self, completion: np.ndarray, rng: torch.Generator, sr_steps: int = SR_STEPS) -> np.ndarray:
        """Carry a model-size completion up to the input's size; known pixels are the input's, exactly."""
        original, hole = self.original, self.original_hole
        assert original is not None and hole is not None
        if tuple(original.shape[:2]) == tuple(completion.shape[:2]):
            return np.where(hole[:, :, None], completion, original).astype(np.float32)
        device = self.pyramid.device
        shape = tuple(original.shape[:2])
        small = image_to_tensor(completion, str(device))
        # the anchor: the input with the model's completion (plainly enlarged) in the hole, so resizing it to a
        # step's size mixes no zeros from the hole into the known pixels
        enlarged = tensor_to_image(resize(small, shape))
        if sr_steps == 0:
            return np.where(hole[:, :, None], enlarged, original).astype(np.float32)
        anchor_image = image_to_tensor(np.where(hole[:, :, None], enlarged, original), str(device))
        hole_t = torch.from_numpy(hole.astype(np.float32))[None, None].to(device)

        def put_back_known(x: torch.Tensor) -> torch.Tensor:
            step_shape = tuple(x.shape[-2:])
            step_hole = resize_mask(hole_t, step_shape)
            return step_hole * x + (1.0 - step_hole) * resize(anchor_image, step_shape)

        large = super_resolve(self.pyramid, small, shape, rng, max_steps=sr_steps, anchor=put_back_known)
        return np.where(hole[:, :, None], tensor_to_image(large), original).astype(np.float32)

    def reconstruction(self) -> np.ndarray:
        """The output of the fixed noises z* (the known region reproduced, the hole filled once)."""
        return tensor_to_image(self.pyramid.reconstruct()[-1])


def check_diversity(diversity: int) -> None:
    """Raises InputError unless `diversity` is an integer in 1..8."""
    if not isinstance(diversity, int) or not MIN_DIVERSITY <= diversity <= MAX_DIVERSITY:
        raise InputError(f"diversity must be an integer from {MIN_DIVERSITY} to {MAX_DIVERSITY}, got {diversity!r}")


def check_sr_steps(sr_steps: int) -> None:
    """Raises InputError unless `sr_steps` is an integer >= 0."""
    if not isinstance(sr_steps, int) or isinstance(sr_steps, bool) or sr_steps < 0:
        raise InputError(f"sr_steps must be an integer >= 0 (0 = plain enlargement), got {sr_steps!r}")


def noise_region(hole: torch.Tensor, diversity: int) -> torch.Tensor:
    """Where completion draws fresh noise: hole pixels farther than (8 - diversity) / 8 of the hole's inner radius
    from the nearest known pixel. diversity 8 gives the whole hole.

    The original shrinks the hole by 8 - diversity pixels at every scale, a size tuned to 256 px images; at the
    small CPU sizes that would wipe out the hole of the coarse scales, so the shrink here is relative to each
    scale's hole.

    Args:
        hole: (1, 1, h, w) in {0, 1}.
        diversity: 1..8.

    Returns:
        (1, 1, h, w) in {0, 1}.
    """
    from scipy.ndimage import distance_transform_edt

    array = hole[0, 0].detach().cpu().numpy() > 0.5
    if not array.any():
        return torch.zeros_like(hole)
    depth = distance_transform_edt(array)  # distance of each hole pixel to the nearest known pixel
    shrink = (MAX_DIVERSITY - diversity) / MAX_DIVERSITY * float(depth.max())
    region = depth > shrink
    return torch.from_numpy(region.astype(np.float32))[None, None].to(hole.device)


def merge_mask(hole: np.ndarray, grow: int = 5, sigma: float = 1.5) -> np.ndarray:
    """IDC's merge weights: the hole grown by `grow` px, feathered (truncated Gaussian), 1 in the hole; HxW float32.

    Pixels farther than `grow` + 2 sigma from the hole get weight exactly 0.
    """
    tensor = torch.from_numpy(np.asarray(hole, dtype=np.float32))[None, None]
    soft = gaussian_blur(dilate(tensor, grow), sigma, truncate=2.0)[0, 0].numpy()
    return np.where(hole, 1.0, np.clip(soft, 0.0, 1.0)).astype(np.float32)


def original_merge_mask(hole: np.ndarray, coarse_region: torch.Tensor, diversity: int) -> np.ndarray:
    """IDC's own merge weights, HxW float32 at the finest scale.

    With diversity 1 the region is the finest hole; otherwise it is the coarsest scale's noise region grown by
    7 coarse pixels and carried to the finest scale (any touched pixel counts). The region, together with the
    hole, is grown by 5 px, blurred (sigma 5, support 4 sigmas), rescaled to [0, 1] and set to 1 in the hole.
    Pixels beyond the blur's support get weight exactly 0.
    """
    tensor = torch.from_numpy(np.asarray(hole, dtype=np.float32))[None, None]
    if diversity == MIN_DIVERSITY:
        region = tensor
    else:
        grown = dilate(coarse_region.detach().cpu().float(), 7)
        region = torch.maximum(resize_mask(grown, tuple(hole.shape)), tensor)
    weights = soft_merge_weights(region, 5, sigma=5.0, truncate=4.0)[0, 0].numpy()
    return np.where(hole, 1.0, weights).astype(np.float32)


def _prepare(image: np.ndarray, mask: np.ndarray, config: IDCConfig):
    base = config.base
    array = quantise(image)
    hole_full = validate_mask(array, mask, config)
    shapes = scale_shapes(array.shape[0], array.shape[1], base.pyramid, base.model)
    fine = shapes[-1]
    if tuple(array.shape[:2]) != fine:
        array = quantise(tensor_to_image(resize(image_to_tensor(array), fine)))
        hole_fine = resize_mask(torch.from_numpy(hole_full.astype(np.float32))[None, None], fine)[0, 0].numpy() > 0.5
    else:
        hole_fine = hole_full
    if float(hole_fine.mean()) > config.max_hole_fraction:
        raise InputError(
            f"the mask covers almost all of the image: expected at most {config.max_hole_fraction:.0%} missing, "
            f"got {float(hole_fine.mean()):.0%} after resizing to {fine[0]}x{fine[1]}"
        )
    known = np.where(hole_fine[:, :, None], 0.0, array).astype(np.float32)
    return known, hole_fine, shapes


def input_at_own_size(image: np.ndarray, mask: np.ndarray, config: IDCConfig) -> tuple[np.ndarray, np.ndarray]:
    """The input at its own size as completions at resolution "input" keep it: (HxWx3 float32 with the hole
    pixels 0, HxW bool hole). Values are the input's, not rounded to 8 bits."""
    array = np.asarray(image, dtype=np.float32)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    hole = validate_mask(array, mask, config)
    return np.where(hole[:, :, None], 0.0, np.clip(array, 0.0, 1.0)).astype(np.float32), hole


def _hole_pyramid(hole: np.ndarray, shapes, device) -> list[torch.Tensor]:
    tensor = torch.from_numpy(hole.astype(np.float32))[None, None].to(device)
    return [resize_mask(tensor, shape) for shape in shapes]


def train(
    image: np.ndarray,
    mask: np.ndarray,
    config: IDCConfig | None = None,
    *,
    out: str | Path | None = None,
    overwrite: bool = False,
    callbacks: Sequence[ScaleCallback] = (),
    progress: bool = True,
) -> IDCModel:
    """Train IDC on the visible part of `image`.

    Args:
        image: HxWx3 float in [0, 1]; the hole pixels are ignored (set to 0 before any use).
        mask: HxW (or HxWxC), the hole where > 0.5 (floats) or > 127 (uint8); the image's size.
        config: the settings (paper defaults when None; `demo_idc_config` is CPU-sized).
        out: a run directory (checkpoints, images of every scale, the pre-fill); resumed when it matches.
        overwrite: start afresh in `out`: a run already there is moved aside (see `tinkerlab.core.runs`).
        callbacks: called after every scale.
        progress: show progress bars.

    Returns:
        The trained model; call `.complete(n, diversity=...)`.

    Raises:
        InputError: bad mask (size, empty, almost everything) or an image too small for the pyramid.
        ResumeError: `out` holds a different run (another config, image or mask), or damaged run files.
    """
    config = config or IDCConfig()
    base = config.base
    device = choose_device(base.device)
    known, hole, shapes = _prepare(image, mask, config)
    original, original_hole = input_at_own_size(image, mask, config)
    holes = _hole_pyramid(hole, shapes, device)
    start = masking_start_scale(holes, config)
    run = None
    if out is not None:
        provenance = {
            "kind": "idc",
            "input_sha1": image_digest(known),
            "mask_sha1": image_digest(hole.astype(np.float32)),
            "original_sha1": hashlib.sha1(original.tobytes() + original_hole.tobytes()).hexdigest()[:16],
        }
        run = RunDir.open(out, system=SYSTEM, config=config, provenance=provenance, overwrite=overwrite)
    prefill_path = run.path / "prefill.npy" if run is not None else None
    if prefill_path is not None and prefill_path.exists() and run.resumed:
        prefill = np.load(prefill_path)
    else:
        prefill = dip_fill(known, hole, config.dip, seed=base.seed, progress=progress, device=device)
        if prefill_path is not None:
            np.save(prefill_path, prefill)
    reals = build_pyramid(image_to_tensor(known, device), shapes)
    prefilled = build_pyramid(image_to_tensor(prefill, device), shapes)
    all_callbacks = list(callbacks)
    if run is not None:
        save_image(known, run.path / "input.png")
        save_image(hole.astype(np.float32), run.path / "mask.png")
        save_image(prefill, run.outputs / "prefill.png")
        np.save(run.path / "original.npy", original)
        np.save(run.path / "original_hole.npy", original_hole)
        targets = [prefilled[i] if i < start else reals[i] for i in range(len(shapes))]
        all_callbacks.insert(0, scale_image_writer(run, targets, base.seed))
        run.log(f"masking starts at scale {start} of {len(shapes)}")
    plan = IDCPlan(reals, prefilled, holes, start, config)
    trainer = PyramidTrainer(
        plan,
        resize=resize,
        channels=base.model.channels,
        seed=base.seed,
        run=run,
        checkpoint_extra={"kind": "idc", "masking_start": start},
        callbacks=all_callbacks,
    )
    pyramid = trainer.fit()
    if run is not None:
        run.save_state({**run.state(), "done": True, "masking_start": start})
    return IDCModel(
        pyramid, known, hole, holes, prefill, start, config, run.path if run else None, original, original_hole
    )


def load(run_path: str | Path, device: str = "cpu") -> IDCModel:
    """Rebuild a trained IDC model from its run directory.

    Raises:
        InputError: the folder is not a finished IDC run, or its files are damaged.
        ResumeError: its state.json is damaged.
    """
    from tinkerlab.core.images import load_image

    path = Path(run_path)
    run, config = RunDir.load(
        path, IDCConfig, system=SYSTEM, provenance={"kind": "idc"}, hint="make one with `tinkerlab idc complete`"
    )
    state = run.state()
    if not state.get("done"):
        raise InputError(f"{path} is not finished; run `tinkerlab idc complete` again with the same arguments")
    known = load_image(path / "input.png")
    hole = load_image(path / "mask.png", mode="L")[:, :, 0] > 0.5
    shapes = scale_shapes(known.shape[0], known.shape[1], config.base.pyramid, config.base.model)
    holes = _hole_pyramid(hole, shapes, device)
    checkpoints = [run.checkpoints / f"scale_{i}.pt" for i in range(len(shapes))]
    pyramid = load_pyramid(
        checkpoints,
        lambda i: build_generator(config.base.model, i),
        channels=config.base.model.channels,
        resize=resize,
        device=device,
    )
    prefill = np.load(path / "prefill.npy")
    original = original_hole = None
    if (path / "original.npy").is_file() and (path / "original_hole.npy").is_file():
        original, original_hole = np.load(path / "original.npy"), np.load(path / "original_hole.npy")
    return IDCModel(
        pyramid, known, hole, holes, prefill, int(state["masking_start"]), config, path, original, original_hole
    )


def complete(
    image: np.ndarray,
    mask: np.ndarray,
    *,
    n: int = 8,
    diversity: int = 5,
    config: IDCConfig | None = None,
    out: str | Path | None = None,
    seed: int = 0,
    resolution: Resolution = "input",
    sr_steps: int = SR_STEPS,
) -> list[np.ndarray]:
    """Train IDC on the visible part of `image` (or resume the run in `out`) and return `n` completions, at the
    input's size by default (see `IDCModel.complete`, also for `sr_steps`).

    Example:
        >>> from tinkerlab.idc.config import demo_idc_config
        >>> fills = complete(photo, hole, n=4, diversity=6, config=demo_idc_config())  # doctest: +SKIP
    """
    check_diversity(diversity)
    check_sr_steps(sr_steps)
    model = train(image, mask, config, out=out)
    return model.complete(n, diversity=diversity, seed=seed, resolution=resolution, sr_steps=sr_steps)
