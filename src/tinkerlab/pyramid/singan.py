"""SinGAN (Shaham, Dekel and Michaeli, ICCV 2019): a generative model of one image, trained scale by scale.

`train(image, config, out=RUN)` trains the image plan on `PyramidTrainer`, writing checkpoints and the images of
every scale to the run; `load(RUN)` rebuilds the trained model; `TrainedModel.sample(...)` draws random samples at
any size; `TrainedModel.edit`, `.harmonise` and `.super_resolve` are SinGAN's editing, harmonisation and
super-resolution modes. The coarsest scale gets one-channel noise of amplitude 1 and a random z*; finer scales have
z* = 0.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tinkerlab.core.config import config_to_dict
from tinkerlab.core.errors import InputError
from tinkerlab.core.images import save_image
from tinkerlab.core.runs import RunDir
from tinkerlab.core.seeding import choose_device
from tinkerlab.pyramid.config import SinGANConfig
from tinkerlab.pyramid.models import build_discriminator, build_generator, init_weights
from tinkerlab.pyramid.sampling import inject, random_samples, super_resolve
from tinkerlab.pyramid.scales import (
    build_pyramid,
    image_to_tensor,
    resize,
    resize_mask,
    scale_shapes,
    tensor_to_image,
)
from tinkerlab.pyramid.trainer import (
    Pyramid,
    PyramidTrainer,
    ScaleCallback,
    ScaleReport,
    ScaleSpec,
    WassersteinObjective,
    draw_noise,
    load_pyramid,
    padded_shape,
)

SYSTEM = "pyramid"


def seeded(seed: int, index: int, purpose: int, device: Any = "cpu") -> torch.Generator:
    """A random stream for (run seed, scale, purpose), independent of everything drawn before."""
    generator = torch.Generator(device=device)
    generator.manual_seed(seed * 1_000_003 + 104_729 * (index + 1) + purpose)
    return generator


def quantise(image: np.ndarray) -> np.ndarray:
    """Round an HxWxC [0, 1] image to 8 bits, so a run trains on exactly what its saved input.png holds."""
    array = np.asarray(image, dtype=np.float32)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3):
        raise InputError(f"expected an HxWx3 (or HxW) image, got an array of shape {array.shape}")
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    return np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.float32) / 255.0


def prepare_image(image: np.ndarray, config: SinGANConfig) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The image downscaled to the finest scale (8-bit values) and the shapes of all scales.

    Raises:
        InputError: the image is not HxWx3 or too small for the pyramid.
    """
    array = quantise(image)
    shapes = scale_shapes(array.shape[0], array.shape[1], config.pyramid, config.model)
    fine = shapes[-1]
    if tuple(array.shape[:2]) != fine:
        tensor = resize(image_to_tensor(array), fine)
        array = quantise(tensor_to_image(tensor))
    return array, shapes


class SinGANPlan:
    """The scales of a SinGAN model of one image (a `ScalePlan`)."""

    def __init__(self, reals: Sequence[torch.Tensor], config: SinGANConfig) -> None:
        self.reals = list(reals)
        self.config = config
        self.num_scales = len(self.reals)

    def build(self, index: int) -> ScaleSpec:
        config, model, train = self.config, self.config.model, self.config.train
        real = self.reals[index]
        device = real.device
        init_rng = seeded(config.seed, index, 1)
        generator = build_generator(model, index)
        discriminator = build_discriminator(model, index)
        init_weights(generator, init_rng)
        init_weights(discriminator, init_rng)
        noise_shape = padded_shape(tuple(real.shape[2:]), generator.padding)
        if index == 0:
            rec_noise = draw_noise(1, model.channels, noise_shape, seeded(config.seed, index, 2, device), 1, device)
        else:
            rec_noise = torch.zeros((1, model.channels, *noise_shape), device=device)
        return ScaleSpec(
            real=real,
            generator=generator.to(device),
            discriminator=discriminator.to(device),
            objective=WassersteinObjective(train.gp_weight, train.rec_weight, train.noise_amp_factor),
            rec_noise=rec_noise,
            noise_channels=1 if index == 0 else model.channels,
            iterations=train.iterations,
            lr=train.lr,
            betas=train.betas,
            decay_at=round(train.iterations * train.decay_at),
            decay_gamma=train.decay_gamma,
            d_steps=train.d_steps,
            g_steps=train.g_steps,
            fixed_noise_amp=1.0 if index == 0 else None,
        )


@dataclass
class TrainedModel:
    """A trained single-image model: the generators, the training pyramid and the config."""

    pyramid: Pyramid
    reals: list[torch.Tensor]
    config: SinGANConfig
    run_path: Path | None = None

    def sample(
        self, n: int = 1, *, size: tuple[int, int] | None = None, start_scale: int = 0, seed: int = 0
    ) -> list[np.ndarray]:
        """`n` random samples (HxWx3 float32 in [0, 1]) at `size` (H, W), the training size by default."""
        return random_samples(self.pyramid, n, size=size, start_scale=start_scale, reals=self.reals, seed=seed)

    def reconstruction(self) -> np.ndarray:
        """The image the fixed noises z* reproduce (close to the training image)."""
        return tensor_to_image(self.pyramid.reconstruct()[-1])

    def edit(self, image: np.ndarray, mask: np.ndarray, *, start_scale: int, seed: int = 0) -> np.ndarray:
        """SinGAN's editing: inject an edited copy of the training image at `start_scale`, merge its region back.

        The edited image (any size; resized to the finest training shape) is fed to scale `start_scale`, the finer
        scales redraw it, and the result replaces the edited image inside the mask dilated by 20 px and blurred
        (sigma 5); elsewhere the edited image is kept exactly.

        Args:
            image: HxWx3 in [0, 1], the edited image.
            mask: HxW, > 0.5 where the image was edited.
            start_scale: 1..finest; the scale the edited image enters.
            seed: the noise seed.

        Returns:
            HxWx3 float32 at the finest training size.

        Raises:
            InputError: a mask of another size, an empty mask, or a start scale out of range.
        """
        return self._inject_and_merge(image, mask, start_scale, seed, radius=20)

    def harmonise(self, image: np.ndarray, mask: np.ndarray, *, start_scale: int, seed: int = 0) -> np.ndarray:
        """SinGAN's harmonisation: an object pasted into the image takes on the image's look.

        As `edit`, with the pasted object's mask dilated by 7 px (SinGAN's harmonisation setting).
        """
        return self._inject_and_merge(image, mask, start_scale, seed, radius=7)

    def super_resolve(self, factor: float, *, image: np.ndarray | None = None, seed: int = 0) -> np.ndarray:
        """SinGAN's super-resolution: enlarge `image` (the training image by default) by `factor`.

        Each step enlarges by the pyramid's scale ratio and runs the finest generator once
        (`tinkerlab.pyramid.sampling.super_resolve`).

        Raises:
            InputError: a factor below 1.
        """
        from tinkerlab.core.seeding import make_generator

        if not factor >= 1.0:
            raise InputError(f"expected a super-resolution factor of at least 1, got {factor}")
        source = self.reals[-1] if image is None else image_to_tensor(quantise(image), str(self.pyramid.device))
        height, width = source.shape[-2:]
        shape = (max(1, round(height * factor)), max(1, round(width * factor)))
        rng = make_generator(seed, device=str(self.pyramid.device))
        return tensor_to_image(super_resolve(self.pyramid, source.to(self.pyramid.device), shape, rng))

    def _inject_and_merge(
        self, image: np.ndarray, mask: np.ndarray, start_scale: int, seed: int, *, radius: int
    ) -> np.ndarray:
        from tinkerlab.core.seeding import make_generator
        from tinkerlab.pyramid.masks import merge_known, soft_merge_weights

        array = quantise(image)
        region = np.asarray(mask, dtype=np.float32)
        if region.ndim == 3:
            region = region.max(axis=2)
        if region.shape != array.shape[:2]:
            raise InputError(
                f"the mask must have the image's size: expected {array.shape[0]}x{array.shape[1]}, "
                f"got {'x'.join(str(s) for s in region.shape)}"
            )
        if not (region > 0.5).any():
            raise InputError("the mask is empty: expected some pixels > 0.5 marking the edited or pasted region")
        device = self.pyramid.device
        fine = self.pyramid.shapes[-1]
        edited = resize(image_to_tensor(array, str(device)), fine)
        rng = make_generator(seed, device=str(device))
        generated = inject(self.pyramid, edited, start_scale, rng)
        region_t = resize_mask(torch.from_numpy((region > 0.5).astype(np.float32))[None, None], fine).to(device)
        weights = soft_merge_weights(region_t, radius)
        return merge_known(tensor_to_image(edited), tensor_to_image(generated), weights[0, 0].cpu().numpy())


def scale_image_writer(run: RunDir, reals: Sequence[torch.Tensor], seed: int, name: str = "scales") -> ScaleCallback:
    """A callback that writes, for each finished scale, its training image, reconstruction and one sample."""

    def write(report: ScaleReport, pyramid: Pyramid) -> None:
        folder = run.outputs / name
        index = report.index
        save_image(tensor_to_image(reals[index]), folder / f"scale_{index}_real.png")
        save_image(tensor_to_image(pyramid.reconstruct()[-1]), folder / f"scale_{index}_reconstruction.png")
        rng = seeded(seed, index, 3, pyramid.device)
        save_image(tensor_to_image(pyramid.sample(rng)[-1]), folder / f"scale_{index}_sample.png")

    return write


def image_digest(image: np.ndarray) -> str:
    """A short hash of an image's 8-bit values (recorded in the run's provenance, so another image is not resumed)."""
    return hashlib.sha1(np.round(np.asarray(image) * 255).astype(np.uint8).tobytes()).hexdigest()[:16]


def train(
    image: np.ndarray,
    config: SinGANConfig | None = None,
    *,
    out: str | Path | None = None,
    overwrite: bool = False,
    callbacks: Sequence[ScaleCallback] = (),
) -> TrainedModel:
    """Train a SinGAN model of one image.

    Args:
        image: HxWx3 float in [0, 1] (downscaled to `config.pyramid.max_size`).
        config: the settings (paper defaults when None; see `demo_singan_config` for a CPU-sized one).
        out: a run directory for checkpoints, logs and the images of every scale; an unfinished run with the same
            config and image is resumed. None trains in memory.
        overwrite: start afresh in `out`: a run already there is moved aside (see `tinkerlab.core.runs`).
        callbacks: called after every scale.

    Returns:
        The trained model.

    Raises:
        InputError: the image is not HxWx3 or is too small for the pyramid.
        ResumeError: `out` holds a different run (another config or image), or damaged run files.

    Example:
        >>> from tinkerlab.pyramid.config import demo_singan_config
        >>> model = train(sample_image("brick"), demo_singan_config(iterations=50))  # doctest: +SKIP
        >>> samples = model.sample(4, size=(64, 128))  # doctest: +SKIP
    """
    config = config or SinGANConfig()
    device = choose_device(config.device)
    array, shapes = prepare_image(image, config)
    full = image_to_tensor(array, device)
    reals = build_pyramid(full, shapes)
    run = None
    all_callbacks = list(callbacks)
    if out is not None:
        provenance = {"kind": "singan", "input_sha1": image_digest(array)}
        run = RunDir.open(out, system=SYSTEM, config=config, provenance=provenance, overwrite=overwrite)
        save_image(array, run.path / "input.png")
        all_callbacks.insert(0, scale_image_writer(run, reals, config.seed))
    plan = SinGANPlan(reals, config)
    trainer = PyramidTrainer(
        plan,
        resize=resize,
        channels=config.model.channels,
        seed=config.seed,
        run=run,
        checkpoint_extra={"kind": "singan", "config": config_to_dict(config)},
        callbacks=all_callbacks,
    )
    pyramid = trainer.fit()
    if run is not None:
        run.save_state({**run.state(), "done": True})
    return TrainedModel(pyramid, reals, config, run.path if run else None)


def load(run_path: str | Path, device: str = "cpu") -> TrainedModel:
    """Rebuild a trained SinGAN model from its run directory.

    Raises:
        InputError: the folder is not a finished SinGAN run, or its files are damaged.
        ResumeError: its state.json is damaged.
    """
    from tinkerlab.core.images import load_image

    path = Path(run_path)
    run, config = RunDir.load(
        path,
        SinGANConfig,
        system=SYSTEM,
        provenance={"kind": "singan"},
        hint="train one with `tinkerlab pyramid train`",
    )
    state = run.state()
    if not state.get("done"):
        raise InputError(
            f"{path} is not finished ({state.get('finished_scales', 0)} scales of {state.get('num_scales', '?')}); "
            "run `tinkerlab pyramid train` again with the same arguments to resume it"
        )
    array = load_image(path / "input.png")
    _, shapes = prepare_image(array, config)
    reals = build_pyramid(image_to_tensor(array, device), shapes)
    checkpoints = [run.checkpoints / f"scale_{i}.pt" for i in range(len(shapes))]
    pyramid = load_pyramid(
        checkpoints,
        lambda i: build_generator(config.model, i),
        channels=config.model.channels,
        resize=resize,
        device=device,
    )
    return TrainedModel(pyramid, reals, config, path)
