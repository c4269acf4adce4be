"""BlendGAN training: one multi-scale GAN for K images, a plan on the pyramid engine (`tinkerlab.pyramid`).

What changes against SinGAN, each in one place below:
- Every scale trains on a batch of the K images (`real` is (K, C, h, w)); the engine draws one noise map per image,
  keeps one fixed reconstruction noise z*_k per image (random at the coarsest scale, zero above, as in SinGAN),
  computes one noise amplitude per image and averages the reconstruction loss over the images.
- Each image comes with its identity map, the constant one-hot map e_k (K channels), which conditions the
  generator and the discriminator of every scale (`BlendConfig.conditioning`: concatenation or spatial
  conditional normalisation). So D learns the patch statistics of each image given its identity, and G learns to
  produce them when told which image a pixel should look like.
- The networks are the engine's `ImageGenerator` and `ImageDiscriminator` with K conditioning channels and a width
  that grows by `extra_width_per_image` per image beyond the first: one model, about one SinGAN's size.
- Optionally (`BlendConfig.cross_fraction`), a share of the finest scales' iterations feed identity k the coarser
  sample of another image (`cross_order`, the engine's `previous_order`), trained by the adversarial loss only:
  the fine scales learn to draw image k's texture on another layout, which structure-texture fusion needs.

Entry points: `train(images, config, out=RUN)` and `load(RUN)`, both returning a `BlendModel` (`model.py`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from tinkerlab.blend.config import BlendConfig, blend_width
from tinkerlab.blend.inputs import check_image_count, prepare_images
from tinkerlab.blend.model import BlendModel
from tinkerlab.core.config import config_to_dict
from tinkerlab.core.errors import InputError
from tinkerlab.core.images import image_grid, save_image
from tinkerlab.core.runs import RunDir
from tinkerlab.core.seeding import choose_device
from tinkerlab.pyramid.models import ImageDiscriminator, ImageGenerator, init_weights
from tinkerlab.pyramid.scales import build_pyramid, image_to_tensor, resize, tensor_to_image
from tinkerlab.pyramid.singan import image_digest, seeded
from tinkerlab.pyramid.trainer import (
    Pyramid,
    PyramidTrainer,
    ScaleCallback,
    ScaleReport,
    ScaleSpec,
    WassersteinObjective,
    load_pyramid,
    make_noise,
    padded_shape,
)

SYSTEM = "blend"
HINT = "train one with `tinkerlab blend train IMG1 IMG2 ... --out RUN`"


def identity_maps(num_images: int, shape: tuple[int, int], device: str | torch.device = "cpu") -> torch.Tensor:
    """The training maps of one scale: image k gets the constant one-hot map e_k, (K, K, h, w)."""
    eye = torch.eye(num_images, device=device)
    return eye[:, :, None, None].expand(num_images, num_images, *shape).contiguous()


def build_generator(config: BlendConfig, index: int, num_images: int) -> ImageGenerator:
    """The identity-conditioned generator of scale `index` for `num_images` images."""
    model = config.base.model
    return ImageGenerator(
        model.channels,
        blend_width(config, index, num_images),
        model.num_layers,
        model.kernel_size,
        cond_channels=num_images,
        conditioning=config.conditioning,
    )


def build_discriminator(config: BlendConfig, index: int, num_images: int) -> ImageDiscriminator:
    """The identity-conditioned patch discriminator of scale `index`."""
    model = config.base.model
    return ImageDiscriminator(
        model.channels,
        blend_width(config, index, num_images),
        model.num_layers,
        model.kernel_size,
        cond_channels=num_images,
        conditioning=config.conditioning,
    )


def cross_order(fraction: float, num_images: int) -> Callable[[int], torch.Tensor | None]:
    """Which iterations show identity k another image's layout, and whose (the engine's `previous_order`).

    Iteration i is a cross iteration when floor((i + 1) * fraction) > floor(i * fraction), so `fraction` of the
    iterations are, evenly spread; the n-th of them shifts the batch by 1 + n mod (K - 1): identity k is fed the
    coarser sample of image (k + shift) mod K, every other image in turn.

    Example:
        >>> order = cross_order(0.5, 3)
        >>> [None if order(i) is None else order(i).tolist() for i in range(4)]
        [None, [1, 2, 0], None, [2, 0, 1]]
    """

    def order(iteration: int) -> torch.Tensor | None:
        count = math.floor(iteration * fraction)
        if math.floor((iteration + 1) * fraction) == count:
            return None
        shift = 1 + count % (num_images - 1)
        return (torch.arange(num_images) + shift) % num_images

    return order


class BlendPlan:
    """The scales of a BlendGAN model (a `ScalePlan`): each scale trains on the K images with their identities."""

    def __init__(self, reals: Sequence[torch.Tensor], config: BlendConfig) -> None:
        self.reals = list(reals)  # (K, C, h, w) per scale
        self.config = config
        self.num_scales = len(self.reals)
        self.num_images = int(self.reals[0].shape[0])

    def build(self, index: int) -> ScaleSpec:
        base, model, train = self.config.base, self.config.base.model, self.config.base.train
        real = self.reals[index]
        device = real.device
        spatial = tuple(real.shape[2:])
        init_rng = seeded(base.seed, index, 1)
        generator = build_generator(self.config, index, self.num_images)
        discriminator = build_discriminator(self.config, index, self.num_images)
        init_weights(generator, init_rng)
        init_weights(discriminator, init_rng)
        noise_channels = 1 if index == 0 else model.channels
        if index == 0:
            rec_noise = make_noise(
                1,
                model.channels,
                spatial,
                generator.padding,
                seeded(base.seed, index, 2, device),
                self.num_images,
                device,
            )
        else:
            rec_noise = torch.zeros((self.num_images, model.channels, *padded_shape(spatial, generator.padding)))
        return ScaleSpec(
            real=real,
            generator=generator.to(device),
            discriminator=discriminator.to(device),
            objective=WassersteinObjective(train.gp_weight, train.rec_weight, train.noise_amp_factor),
            rec_noise=rec_noise.to(device),
            noise_channels=noise_channels,
            iterations=train.iterations,
            lr=train.lr,
            betas=train.betas,
            decay_at=round(train.iterations * train.decay_at),
            decay_gamma=train.decay_gamma,
            d_steps=train.d_steps,
            g_steps=train.g_steps,
            fixed_noise_amp=1.0 if index == 0 else None,
            conditioning=identity_maps(self.num_images, spatial, device),
            previous_order=self.previous_order(index),
        )

    def previous_order(self, index: int) -> Callable[[int], torch.Tensor | None] | None:
        """Cross-identity iterations on the `cross_scales` finest scales (never on the coarsest, which has no
        coarser layout); None elsewhere and when `cross_fraction` is 0."""
        fraction, scales = self.config.cross_fraction, self.config.cross_scales
        if fraction <= 0 or index == 0 or index < self.num_scales - scales:
            return None
        return cross_order(fraction, self.num_images)


def scale_writer(run: RunDir, reals: Sequence[torch.Tensor], seed: int) -> ScaleCallback:
    """A callback that writes, for each finished scale, a grid: the K images, their reconstructions, one sample each."""

    def write(report: ScaleReport, pyramid: Pyramid) -> None:
        index = report.index
        rng = seeded(seed, index, 3, pyramid.device)
        rows = [reals[index], pyramid.reconstruct()[-1], pyramid.sample(rng)[-1]]
        tiles = [tensor_to_image(row[k]) for row in rows for k in range(row.shape[0])]
        save_image(
            image_grid(tiles, columns=reals[index].shape[0], pad=1), run.outputs / "scales" / f"scale_{index}.png"
        )

    return write


def train(
    images: Sequence[np.ndarray],
    config: BlendConfig | None = None,
    *,
    out: str | Path | None = None,
    overwrite: bool = False,
    crop: bool = True,
    names: Sequence[str] | None = None,
    callbacks: Sequence[ScaleCallback] = (),
) -> BlendModel:
    """Train one BlendGAN model of K >= 2 images.

    Args:
        images: HxWx3 float arrays in [0, 1]; all are brought to the first one's aspect ratio (centre crop) and
            finest shape.
        config: the settings (paper-sized SinGAN base when None; `demo_blend_config` is CPU-sized).
        out: a run directory for checkpoints, logs, the inputs and per-scale pictures; an unfinished run with the
            same config and images is resumed. None trains in memory.
        overwrite: start afresh in `out` (a run already there is moved aside).
        crop: centre-crop images of another aspect ratio (False refuses them).
        names: how to name the images in messages (e.g. their file names).
        callbacks: called after every scale.

    Returns:
        The trained model; `model.note` says what was cropped, if anything.

    Raises:
        InputError: fewer than two images, a bad image, another aspect ratio with `crop=False`, images too small.
        ResumeError: `out` holds a different run, or damaged run files.

    Example:
        >>> from tinkerlab.blend.config import demo_blend_config
        >>> textures = [sample_image(name) for name in ("brick", "grass")]  # doctest: +SKIP
        >>> model = train(textures, demo_blend_config(200), out="runs/brick-grass")  # doctest: +SKIP
        >>> frames = model.morph(0, 1, steps=8)  # doctest: +SKIP
    """
    config = config or BlendConfig()
    check_image_count(len(images))
    device = choose_device(config.base.device)
    arrays, shapes, note = prepare_images(images, config.base, crop=crop, names=names)
    batch = torch.cat([image_to_tensor(a, device) for a in arrays])  # (K, C, H, W)
    reals = build_pyramid(batch, shapes)
    run = None
    all_callbacks = list(callbacks)
    if out is not None:
        provenance = {
            "kind": "blend",
            "num_images": len(arrays),
            "inputs_sha1": [image_digest(a) for a in arrays],
        }
        run = RunDir.open(out, system=SYSTEM, config=config, provenance=provenance, overwrite=overwrite)
        if note:
            run.log(note)
        for k, array in enumerate(arrays):
            save_image(array, run.path / f"input_{k}.png")
        all_callbacks.insert(0, scale_writer(run, reals, config.base.seed))
    trainer = PyramidTrainer(
        BlendPlan(reals, config),
        resize=resize,
        channels=config.base.model.channels,
        seed=config.base.seed,
        run=run,
        checkpoint_extra={"kind": "blend", "num_images": len(arrays), "config": config_to_dict(config)},
        callbacks=all_callbacks,
    )
    pyramid = trainer.fit()
    if run is not None:
        run.save_state({**run.state(), "done": True})
    return BlendModel(pyramid, arrays, reals, config, run.path if run else None, note)


def load(run_path: str | Path, device: str = "cpu") -> BlendModel:
    """Rebuild a trained BlendGAN model from its run directory.

    Raises:
        InputError: the folder is not a finished BlendGAN run, or its files are damaged.
    """
    from tinkerlab.core.images import load_image

    path = Path(run_path)
    run, config = RunDir.load(path, BlendConfig, system=SYSTEM, provenance={"kind": "blend"}, hint=HINT)
    state = run.state()
    if not state.get("done"):
        raise InputError(
            f"{path} is not finished ({state.get('finished_scales', 0)} scales of {state.get('num_scales', '?')}); "
            "run `tinkerlab blend train` again with the same arguments to resume it"
        )
    num_images = int(run.provenance().get("num_images", 0))
    inputs = [path / f"input_{k}.png" for k in range(num_images)]
    missing = [p.name for p in inputs if not p.is_file()]
    if num_images < 2 or missing:
        raise InputError(f"{path} is damaged: expected input_0.png .. input_{num_images - 1}.png, missing {missing}")
    arrays = [load_image(p) for p in inputs]
    _, shapes, _ = prepare_images(arrays, config.base)
    batch = torch.cat([image_to_tensor(a, device) for a in arrays])
    reals = build_pyramid(batch, shapes)
    checkpoints = [run.checkpoints / f"scale_{i}.pt" for i in range(len(shapes))]
    pyramid = load_pyramid(
        checkpoints,
        lambda i: build_generator(config, i, num_images),
        channels=config.base.model.channels,
        resize=resize,
        device=device,
    )
    return BlendModel(pyramid, arrays, reals, config, path)
