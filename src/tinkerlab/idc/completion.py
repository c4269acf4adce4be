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

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from tinkerlab.core.errors import InputError
from tinkerlab.core.images import save_image
from tinkerlab.core.runs import RunDir
from tinkerlab.core.seeding import choose_device, make_generator
from tinkerlab.idc.config import IDCConfig, masked_iterations
from tinkerlab.idc.dip import dip_fill
from tinkerlab.pyramid.masks import MaskedObjective, dilate, gaussian_blur, gradual_weights
from tinkerlab.pyramid.models import build_discriminator, build_generator, init_weights
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
    padded_shape,
)

SYSTEM = "idc"
MIN_DIVERSITY, MAX_DIVERSITY = 1, 8


# --- where masking starts ---------------------------------------------------------------------------------------


def dilated_hole_share(hole: torch.Tensor, field: int) -> tuple[float, int]:
    """The hole dilated by the receptive field, with a half-field border cropped: (hole share, valid centres)."""
    half = field // 2
    grown = F.max_pool2d(hole, field, stride=1, padding=half)
    cropped = grown[..., half : grown.shape[-2] - half, half : grown.shape[-1] - half]
    if cropped.numel() == 0:
        return 1.0, 0
    return float(cropped.mean()), int((cropped < 0.5).sum())


def masking_start_scale(holes: Sequence[torch.Tensor], config: IDCConfig) -> int:
    """The first scale trained with the masked discriminator (IDC's rule).

    Masking starts at scale 0 when the receptive-field-dilated hole covers less than `mask_start_share_coarsest`
    there; otherwise at the first scale where it covers less than `mask_start_share` or leaves more than
    `mask_start_valid_centres` valid patch centres.

    Raises:
        InputError: no scale qualifies (the hole covers almost the whole image).
    """
    field = receptive_field(config.base.model)
    share, _ = dilated_hole_share(holes[0], field)
    if share < config.mask_start_share_coarsest:
        return 0
    for index, hole in enumerate(holes):
        share, centres = dilated_hole_share(hole, field)
        if share < config.mask_start_share or centres > config.mask_start_valid_centres:
            return index
    raise InputError(
        f"the hole leaves too little to learn from: expected the hole, grown by the {field}-px receptive field, to "
        f"cover less than {config.mask_start_share:.0%} of the finest scale, got {share:.0%}; use a smaller mask"
    )


# --- training ---------------------------------------------------------------------------------------------------


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
        boosted = index >= self.num_scales - max(1, self.num_scales // 3)
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


@dataclass
class IDCModel:
    """A trained IDC model and what completion needs: the known image, the hole per scale, the pyramid."""

    pyramid: Pyramid
    image: np.ndarray  # HxWx3 in [0, 1] at the finest scale; hole pixels are 0
    hole: np.ndarray  # HxW bool at the finest scale
    holes: list[torch.Tensor]  # (1, 1, h, w) per scale
    prefill: np.ndarray  # the DIP pre-fill, HxWx3
    masking_start: int
    config: IDCConfig
    run_path: Path | None = None

    def complete(self, n: int = 8, *, diversity: int = 5, seed: int = 0) -> list[np.ndarray]:
        """`n` diverse completions (HxWx3 float32 in [0, 1], the finest scale's size).

        Args:
            n: how many completions.
            diversity: 1 (close to one completion) .. 8 (most diverse): fresh noise is drawn in the part of the
                hole deeper than (8 - diversity) / 8 of its inner radius, at every scale (`noise_region`);
                elsewhere the reconstruction noise is replayed.
            seed: the random seed.

        Raises:
            InputError: n < 1 or diversity outside 1..8.
        """
        if n < 1:
            raise InputError(f"expected at least 1 completion, got n={n}")
        if not isinstance(diversity, int) or not MIN_DIVERSITY <= diversity <= MAX_DIVERSITY:
            raise InputError(f"diversity must be an integer from {MIN_DIVERSITY} to {MAX_DIVERSITY}, got {diversity!r}")
        pyramid = self.pyramid
        rng = make_generator(seed, device=str(pyramid.device))
        regions = []
        for index, hole in enumerate(self.holes):
            region = noise_region(hole, diversity)  # (1, 1, h, w): where fresh noise goes
            p = pyramid.generators[index].padding
            regions.append(F.pad(region, (p, p, p, p)).to(pyramid.device))
        merge = merge_mask(self.hole)
        outputs = []
        for _ in range(n):
            noises = []
            for index, region in enumerate(regions):
                fresh = pyramid.draw_noise(index, pyramid.shapes[index], rng)
                noises.append((1.0 - region) * pyramid.rec_noises[index] + region * fresh)
            generated = tensor_to_image(pyramid.run(noises)[-1])
            outputs.append(merge_known(self.image, generated, merge))
        return outputs

    def reconstruction(self) -> np.ndarray:
        """The output of the fixed noises z* (the known region reproduced, the hole filled once)."""
        return tensor_to_image(self.pyramid.reconstruct()[-1])


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


def merge_known(known: np.ndarray, generated: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """generated * w + known * (1 - w); pixels with w == 0 are copied from `known` bit for bit."""
    w = weights[:, :, None]
    blended = generated * w + known * (1.0 - w)
    return np.where(w == 0.0, known, blended).astype(np.float32)


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
    holes = _hole_pyramid(hole, shapes, device)
    start = masking_start_scale(holes, config)
    run = None
    if out is not None:
        provenance = {
            "kind": "idc",
            "input_sha1": image_digest(known),
            "mask_sha1": image_digest(hole.astype(np.float32)),
        }
        run = RunDir.open(out, system=SYSTEM, config=config, provenance=provenance, overwrite=overwrite)
    prefill_path = run.path / "prefill.npy" if run is not None else None
    if prefill_path is not None and prefill_path.exists() and run.resumed:
        prefill = np.load(prefill_path)
    else:
        prefill = dip_fill(known, hole, config.dip, seed=base.seed, progress=progress)
        if prefill_path is not None:
            np.save(prefill_path, prefill)
    reals = build_pyramid(image_to_tensor(known, device), shapes)
    prefilled = build_pyramid(image_to_tensor(prefill, device), shapes)
    all_callbacks = list(callbacks)
    if run is not None:
        save_image(known, run.path / "input.png")
        save_image(hole.astype(np.float32), run.path / "mask.png")
        save_image(prefill, run.outputs / "prefill.png")
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
    return IDCModel(pyramid, known, hole, holes, prefill, start, config, run.path if run else None)


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
    return IDCModel(pyramid, known, hole, holes, prefill, int(state["masking_start"]), config, path)


def complete(
    image: np.ndarray,
    mask: np.ndarray,
    *,
    n: int = 8,
    diversity: int = 5,
    config: IDCConfig | None = None,
    out: str | Path | None = None,
    seed: int = 0,
) -> list[np.ndarray]:
    """Train IDC on the visible part of `image` (or resume the run in `out`) and return `n` completions.

    Example:
        >>> from tinkerlab.idc.config import demo_idc_config
        >>> fills = complete(photo, hole, n=4, diversity=6, config=demo_idc_config())  # doctest: +SKIP
    """
    if not isinstance(diversity, int) or not MIN_DIVERSITY <= diversity <= MAX_DIVERSITY:
        raise InputError(f"diversity must be an integer from {MIN_DIVERSITY} to {MAX_DIVERSITY}, got {diversity!r}")
    model = train(image, mask, config, out=out)
    return model.complete(n, diversity=diversity, seed=seed)
