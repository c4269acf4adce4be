"""The pyramid training loop of multi-scale single-sample GANs (SinGAN, Shaham et al., ICCV 2019).

`PyramidTrainer` trains one generator and one discriminator per scale, coarsest first, with WGAN-GP plus a
reconstruction loss. It knows nothing about images, holes or audio: each scale is described by a `ScaleSpec`
(the target, the two networks, the objective, the reconstruction noise, the optimisation budget) that a
`ScalePlan` builds, and the trained result is a `Pyramid` of generators that samples by running the scales in
turn. SinGAN (`singan.py`) and IDC (`tinkerlab.idc.completion`) are two plans; a 1-D audio model or a multi-image
model is another plan with its own networks, objective and `resize`.

The step differs from the original code in two ways:
- It recomputes the fake inside the generator loop after every optimiser step, so it does not raise the in-place
  autograd error of PyTorch >= 1.5 (the original reused a fake computed with weights that were since updated).
- It reuses work: the coarser scales' random chain and the fake are computed once per iteration and shared by the
  `d_steps` discriminator steps and the first generator step (the original recomputed the coarser chain, with
  fresh coarse noise, in every discriminator step), and the frozen coarser generators run without autograd.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from tinkerlab.core.errors import InputError, ResumeError, TinkerlabError
from tinkerlab.core.progress import make_progress
from tinkerlab.core.runs import RunDir

Shape = tuple[int, ...]
Resize = Callable[[torch.Tensor, Shape], torch.Tensor]


class ScaleObjective(Protocol):
    """The losses of one scale. Tensors are (B, C, *spatial)."""

    def discriminator_loss(
        self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor, rng: torch.Generator
    ) -> torch.Tensor:
        """WGAN critic loss including the gradient penalty (to minimise)."""
        ...

    def generator_adversarial_loss(self, discriminator: nn.Module, fake: torch.Tensor) -> torch.Tensor:
        """The generator's adversarial loss (to minimise)."""
        ...

    def reconstruction_loss(self, reconstruction: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """The weighted reconstruction loss (to minimise)."""
        ...

    def noise_amplitude(self, upsampled_reconstruction: torch.Tensor, real: torch.Tensor) -> float:
        """The noise std of this scale, from how far the coarser reconstruction is from the target."""
        ...


def gradient_penalty(
    discriminator: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    rng: torch.Generator,
    valid: torch.Tensor | None = None,
) -> torch.Tensor:
    """WGAN-GP term: mean over pixels of (||dD/dx|| - 1)^2 at one random interpolation of real and fake.

    The norm is taken over channels at each pixel (as SinGAN does). With `valid` (B, 1, *spatial), the
    discriminator sees the validity map and the mean runs over valid pixels only.
    """
    alpha = torch.rand((), generator=rng, device=rng.device).to(real.device)
    mixed = (alpha * real + (1.0 - alpha) * fake).requires_grad_(True)
    scores, _ = discriminator(mixed, valid)
    (grads,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    per_pixel = (grads.norm(2, dim=1, keepdim=True) - 1.0) ** 2  # (B, 1, *spatial)
    if valid is None:
        return per_pixel.mean()
    return (per_pixel * valid).sum() / valid.sum().clamp_min(1.0)


@dataclass(frozen=True)
class WassersteinObjective:
    """SinGAN's objective: WGAN-GP (lambda `gp_weight`) plus `rec_weight` x MSE reconstruction."""

    gp_weight: float = 0.1
    rec_weight: float = 10.0
    noise_amp_factor: float = 0.1

    def discriminator_loss(self, discriminator, real, fake, rng):
        real_scores, _ = discriminator(real)
        fake_scores, _ = discriminator(fake)
        penalty = gradient_penalty(discriminator, real, fake, rng)
        return -real_scores.mean() + fake_scores.mean() + self.gp_weight * penalty

    def generator_adversarial_loss(self, discriminator, fake):
        scores, _ = discriminator(fake)
        return -scores.mean()

    def reconstruction_loss(self, reconstruction, real):
        return self.rec_weight * torch.mean((reconstruction - real) ** 2)

    def noise_amplitude(self, upsampled_reconstruction, real):
        return self.noise_amp_factor * math.sqrt(float(torch.mean((upsampled_reconstruction - real) ** 2)))


@dataclass
class ScaleSpec:
    """What the loop trains at one scale.

    Attributes:
        real: the target (1, C, *spatial).
        generator: a fresh generator; called as G(noise, previous) with noise `generator.padding` larger per side.
        discriminator: a fresh discriminator; returns (scores, validity).
        objective: the losses.
        rec_noise: the fixed reconstruction noise z* (1, C, *padded spatial), unscaled.
        noise_channels: channels of the random noise; 1 means one channel repeated over C (SinGAN's coarsest).
        iterations: optimisation iterations.
        lr: Adam learning rate of G and D.
        betas: Adam betas.
        decay_at: iteration after which the learning rate is multiplied by `decay_gamma`.
        decay_gamma: the decay factor.
        d_steps, g_steps: discriminator and generator steps per iteration.
        fixed_noise_amp: use this noise amplitude instead of the objective's (the coarsest scale: 1).
    """

    real: torch.Tensor
    generator: nn.Module
    discriminator: nn.Module
    objective: ScaleObjective
    rec_noise: torch.Tensor
    noise_channels: int
    iterations: int
    lr: float
    betas: tuple[float, float] = (0.5, 0.999)
    decay_at: int = 1600
    decay_gamma: float = 0.1
    d_steps: int = 3
    g_steps: int = 3
    fixed_noise_amp: float | None = None


class ScalePlan(Protocol):
    """Builds the `ScaleSpec` of every scale; `build` must be deterministic for resume to work."""

    num_scales: int

    def build(self, index: int) -> ScaleSpec: ...


def padded_shape(spatial: Shape, padding: int) -> Shape:
    """The noise map's spatial shape for an image of shape `spatial`."""
    return tuple(s + 2 * padding for s in spatial)


@dataclass
class Pyramid:
    """A trained (or partly trained) stack of generators that samples coarse to fine.

    Attributes:
        generators: one per scale, in eval mode.
        noise_amps: the noise std of each scale.
        rec_noises: z* of each scale (unscaled), at the padded training shapes.
        noise_channels: channels of each scale's random noise (1 = repeated over the image channels).
        shapes: the training shape of each scale.
        channels: image channels.
        resize: resizes (B, C, *spatial) to a spatial shape (upsampling between scales).
    """

    generators: list[nn.Module]
    noise_amps: list[float]
    rec_noises: list[torch.Tensor]
    noise_channels: list[int]
    shapes: list[Shape]
    channels: int
    resize: Resize

    @property
    def num_scales(self) -> int:
        return len(self.generators)

    @property
    def device(self) -> torch.device:
        return self.rec_noises[0].device

    def draw_noise(self, index: int, spatial: Shape, rng: torch.Generator, batch: int = 1) -> torch.Tensor:
        """Unscaled random noise for scale `index` at image shape `spatial`: (batch, C, *padded)."""
        return draw_noise(
            self.noise_channels[index],
            self.channels,
            padded_shape(spatial, self.generators[index].padding),
            rng,
            batch,
            self.device,
        )

    @torch.no_grad()
    def run(
        self,
        noises: Sequence[torch.Tensor],
        *,
        start_scale: int = 0,
        start_image: torch.Tensor | None = None,
        stop_scale: int | None = None,
    ) -> list[torch.Tensor]:
        """Run the generators from `start_scale` to `stop_scale` (inclusive; default the finest).

        Args:
            noises: unscaled noise per scale index (entries below `start_scale` are ignored); each (B, C, *padded).
            start_scale: the first scale to run.
            start_image: the image fed to `start_scale` (before upsampling); zeros at the coarsest by default.
            stop_scale: the last scale to run.

        Returns:
            The outputs of scales start_scale..stop_scale, each (B, C, *spatial).
        """
        stop = self.num_scales - 1 if stop_scale is None else stop_scale
        outputs: list[torch.Tensor] = []
        previous = start_image
        for index in range(start_scale, stop + 1):
            noise = noises[index]
            padding = self.generators[index].padding
            spatial = tuple(s - 2 * padding for s in noise.shape[2:])
            if previous is None:
                previous = torch.zeros((noise.shape[0], self.channels, *spatial), device=noise.device)
            else:
                previous = self.resize(previous, spatial)
            previous = self.generators[index](self.noise_amps[index] * noise, previous)
            outputs.append(previous)
        return outputs

    def reconstruct(self, stop_scale: int | None = None) -> list[torch.Tensor]:
        """The reconstruction chain driven by the fixed noises z*, coarsest to `stop_scale`."""
        return self.run(self.rec_noises, stop_scale=stop_scale)

    def sample(
        self,
        rng: torch.Generator,
        *,
        batch: int = 1,
        stop_scale: int | None = None,
        shapes: Sequence[Shape] | None = None,
    ) -> list[torch.Tensor]:
        """Random samples at every scale (from the coarsest), at the training shapes or at `shapes`."""
        shapes = list(shapes or self.shapes)
        stop = self.num_scales - 1 if stop_scale is None else stop_scale
        noises = [self.draw_noise(i, shapes[i], rng, batch) for i in range(stop + 1)]
        return self.run(noises, stop_scale=stop)


def draw_noise(
    noise_channels: int,
    channels: int,
    spatial: Shape,
    rng: torch.Generator,
    batch: int = 1,
    device: Any = "cpu",
) -> torch.Tensor:
    """Standard normal noise (batch, channels, *spatial); with `noise_channels` 1, one map repeated over channels."""
    noise = torch.randn((batch, noise_channels, *spatial), generator=rng, device=rng.device).to(device)
    if noise_channels == 1 and channels > 1:
        noise = noise.expand(batch, channels, *spatial).contiguous()
    return noise


@dataclass(frozen=True)
class ScaleReport:
    """What a callback hears when a scale ends."""

    index: int
    seconds: float
    iterations: int
    noise_amp: float
    losses: dict[str, float] = field(default_factory=dict)
    resumed: bool = False


ScaleCallback = Callable[[ScaleReport, Pyramid], None]


class PyramidTrainer:
    """Trains the scales of a `ScalePlan` in turn, with checkpoints and resume through a `RunDir`.

    Args:
        plan: builds each scale's spec.
        resize: resizes (B, C, *spatial) tensors (used to upsample between scales).
        channels: image (or signal) channels.
        seed: seeds every random draw of the loop (per scale, so a resumed run continues identically).
        run: where to write checkpoints (`checkpoints/scale_N.pt`), `state.json` and `run.log`; None trains in memory.
        checkpoint_extra: JSON-able data stored beside the state dicts in every checkpoint (e.g. the config).
        callbacks: called after each scale (e.g. to write the scale's images).
        log_every: write the losses to run.log every this many iterations.
    """

    def __init__(
        self,
        plan: ScalePlan,
        *,
        resize: Resize,
        channels: int,
        seed: int = 0,
        run: RunDir | None = None,
        checkpoint_extra: dict[str, Any] | None = None,
        callbacks: Sequence[ScaleCallback] = (),
        log_every: int = 100,
    ) -> None:
        self.plan = plan
        self.resize = resize
        self.channels = channels
        self.seed = seed
        self.run = run
        self.checkpoint_extra = checkpoint_extra or {}
        self.callbacks = list(callbacks)
        self.log_every = log_every

    def scale_rng(self, index: int, device: Any) -> torch.Generator:
        """The random stream of scale `index` (noise draws and gradient-penalty mixing)."""
        generator = torch.Generator(device=device)
        generator.manual_seed(self.seed * 1_000_003 + 7919 * (index + 1))
        return generator

    def fit(self) -> Pyramid:
        """Train every scale not yet finished in the run, and return the pyramid."""
        import time

        finished = int(self.run.state().get("finished_scales", 0)) if self.run is not None else 0
        pyramid: Pyramid | None = None
        previous_spec: ScaleSpec | None = None
        with make_progress() as progress:
            for index in range(self.plan.num_scales):
                spec = self.plan.build(index)
                if pyramid is None:
                    pyramid = Pyramid([], [], [], [], [], self.channels, self.resize)
                start = time.perf_counter()
                if index < finished:
                    noise_amp = self._load_scale(index, spec)
                    report = ScaleReport(index, 0.0, 0, noise_amp, resumed=True)
                else:
                    if previous_spec is not None:
                        copy_if_compatible(previous_spec.generator, spec.generator)
                        copy_if_compatible(previous_spec.discriminator, spec.discriminator)
                    shape = "x".join(str(s) for s in spec.real.shape[2:])
                    task = progress.add_task(
                        f"scale {index + 1}/{self.plan.num_scales} ({shape})", total=spec.iterations
                    )
                    noise_amp, losses = self._train_scale(
                        index, spec, pyramid, lambda task=task: progress.advance(task)
                    )
                    report = ScaleReport(index, time.perf_counter() - start, spec.iterations, noise_amp, losses)
                spec.generator.eval().requires_grad_(False)
                spec.discriminator.requires_grad_(False)
                pyramid.generators.append(spec.generator)
                pyramid.noise_amps.append(noise_amp)
                pyramid.rec_noises.append(spec.rec_noise)
                pyramid.noise_channels.append(spec.noise_channels)
                pyramid.shapes.append(tuple(spec.real.shape[2:]))
                if not report.resumed:
                    self._save_scale(index, spec, noise_amp, report)
                for callback in self.callbacks:
                    callback(report, pyramid)
                previous_spec = spec
        assert pyramid is not None
        return pyramid

    def _train_scale(
        self, index: int, spec: ScaleSpec, pyramid: Pyramid, advance: Callable[[], None]
    ) -> tuple[float, dict[str, float]]:
        device = spec.real.device
        rng = self.scale_rng(index, device)
        real = spec.real
        spatial = tuple(real.shape[2:])
        generator, discriminator, objective = (
            spec.generator.train(),
            spec.discriminator.train(),
            spec.objective,
        )
        generator.requires_grad_(True)
        discriminator.requires_grad_(True)
        if index == 0:
            rec_previous = torch.zeros_like(real)
        else:
            rec_previous = self.resize(pyramid.reconstruct()[-1], spatial)
        noise_amp = spec.fixed_noise_amp
        if noise_amp is None:
            noise_amp = objective.noise_amplitude(rec_previous, real)
        rec_input = noise_amp * spec.rec_noise
        opt_g = torch.optim.Adam(generator.parameters(), lr=spec.lr, betas=spec.betas)
        opt_d = torch.optim.Adam(discriminator.parameters(), lr=spec.lr, betas=spec.betas)
        sched_g = torch.optim.lr_scheduler.MultiStepLR(opt_g, milestones=[spec.decay_at], gamma=spec.decay_gamma)
        sched_d = torch.optim.lr_scheduler.MultiStepLR(opt_d, milestones=[spec.decay_at], gamma=spec.decay_gamma)
        noise_pad = padded_shape(spatial, generator.padding)
        losses: dict[str, float] = {}
        for iteration in range(spec.iterations):
            noise = noise_amp * draw_noise(spec.noise_channels, self.channels, noise_pad, rng, 1, device)
            with torch.no_grad():
                previous = self._random_previous(index, pyramid, spatial, rng, real)
            fake = generator(noise, previous)  # (1, C, *spatial), with autograd, reused below
            discriminator.requires_grad_(True)
            for _ in range(spec.d_steps):
                opt_d.zero_grad(set_to_none=True)
                loss_d = objective.discriminator_loss(discriminator, real, fake.detach(), rng)
                loss_d.backward()
                opt_d.step()
            discriminator.requires_grad_(False)
            for step in range(spec.g_steps):
                opt_g.zero_grad(set_to_none=True)
                if step > 0:  # G changed in place: a fresh fake avoids the original's in-place autograd error
                    fake = generator(noise, previous)
                loss_adv = objective.generator_adversarial_loss(discriminator, fake)
                loss_rec = objective.reconstruction_loss(generator(rec_input, rec_previous), real)
                (loss_adv + loss_rec).backward()
                opt_g.step()
            sched_g.step()
            sched_d.step()
            advance()
            if iteration % self.log_every == 0 or iteration == spec.iterations - 1:
                losses = {"d": loss_d.item(), "g_adv": loss_adv.item(), "rec": loss_rec.item()}
                if self.run is not None:
                    self.run.log(
                        f"scale {index} iteration {iteration}: " + " ".join(f"{k}={v:.4f}" for k, v in losses.items())
                    )
        return noise_amp, losses

    def _random_previous(
        self, index: int, pyramid: Pyramid, spatial: Shape, rng: torch.Generator, real: torch.Tensor
    ) -> torch.Tensor:
        if index == 0:
            return torch.zeros_like(real)
        noises = [pyramid.draw_noise(i, pyramid.shapes[i], rng) for i in range(index)]
        return self.resize(pyramid.run(noises)[-1], spatial)

    def _checkpoint_path(self, index: int) -> Path:
        assert self.run is not None
        return self.run.checkpoints / f"scale_{index}.pt"

    def _save_scale(self, index: int, spec: ScaleSpec, noise_amp: float, report: ScaleReport) -> None:
        if self.run is None:
            return
        torch.save(
            {
                "index": index,
                "generator": spec.generator.state_dict(),
                "discriminator": spec.discriminator.state_dict(),
                "noise_amp": noise_amp,
                "rec_noise": spec.rec_noise.cpu(),
                "noise_channels": spec.noise_channels,
                "shape": list(spec.real.shape[2:]),
                "extra": self.checkpoint_extra,
            },
            self._checkpoint_path(index),
        )
        self.run.save_state({"finished_scales": index + 1, "num_scales": self.plan.num_scales})
        self.run.log(f"scale {index} finished in {report.seconds:.1f} s, noise_amp={noise_amp:.4f}")

    def _load_scale(self, index: int, spec: ScaleSpec) -> float:
        path = self._checkpoint_path(index)
        advice = "pass --overwrite to start the run again (the old run is moved aside)"
        if not path.exists():
            raise ResumeError(f"{self.run.path} says scale {index} finished, but {path.name} is missing; {advice}")
        state = read_checkpoint(path, spec.real.device, error=ResumeError, advice=advice, keys=("discriminator",))
        if list(state["shape"]) != list(spec.real.shape[2:]):
            raise ResumeError(
                f"checkpoint of scale {index} has shape {state['shape']}, expected {list(spec.real.shape[2:])}; "
                + advice
            )
        load_weights(spec.generator, state["generator"], path, error=ResumeError, advice=advice)
        load_weights(spec.discriminator, state["discriminator"], path, error=ResumeError, advice=advice)
        spec.rec_noise = state["rec_noise"].to(spec.real.device)
        self.run.log(f"scale {index} loaded from checkpoint")
        return float(state["noise_amp"])


def copy_if_compatible(source: nn.Module, target: nn.Module) -> bool:
    """Initialise `target` from `source` when their state dicts have the same keys and shapes."""
    src, dst = source.state_dict(), target.state_dict()
    if src.keys() != dst.keys() or any(src[k].shape != dst[k].shape for k in src):
        return False
    target.load_state_dict(src)
    return True


def load_pyramid(
    checkpoints: Sequence[Path | str],
    build_generator: Callable[[int], nn.Module],
    *,
    channels: int,
    resize: Resize,
    device: Any = "cpu",
) -> Pyramid:
    """Rebuild a `Pyramid` from per-scale checkpoints written by `PyramidTrainer`.

    Args:
        checkpoints: the `scale_N.pt` files, coarsest first.
        build_generator: makes an untrained generator for a scale index.
        channels: image channels.
        resize: the resize of the domain.
        device: where to put the pyramid.

    Raises:
        InputError: a checkpoint is missing, unreadable or does not fit its generator.
    """
    pyramid = Pyramid([], [], [], [], [], channels, resize)
    advice = "train the run again (--overwrite starts it afresh)"
    for index, path in enumerate(checkpoints):
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path} is missing; {advice}")
        state = read_checkpoint(path, device, error=InputError, advice=advice)
        generator = build_generator(index).to(device)
        load_weights(generator, state["generator"], path, error=InputError, advice=advice)
        pyramid.generators.append(generator.eval().requires_grad_(False))
        pyramid.noise_amps.append(float(state["noise_amp"]))
        pyramid.rec_noises.append(state["rec_noise"].to(device))
        pyramid.noise_channels.append(int(state["noise_channels"]))
        pyramid.shapes.append(tuple(state["shape"]))
    return pyramid


CHECKPOINT_KEYS = ("generator", "noise_amp", "rec_noise", "noise_channels", "shape")


def read_checkpoint(
    path: Path,
    device: Any,
    *,
    error: type[TinkerlabError] = ResumeError,
    advice: str = "pass --overwrite to start the run again",
    keys: Sequence[str] = (),
) -> dict[str, Any]:
    """The dict in a checkpoint written by `PyramidTrainer`; a damaged one raises `error` naming it and `advice`.

    Args:
        path: a ``scale_N.pt`` file.
        device: where to map its tensors.
        error: the error type to raise (`ResumeError` while resuming, `InputError` while loading a model).
        advice: what the user can do, ending the message.
        keys: entries needed beyond the generator, noise and shape (e.g. "discriminator" to resume training).
    """
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # a truncated or foreign file: torch raises RuntimeError, EOFError, UnpicklingError...
        raise error(
            f"{path} cannot be read as a checkpoint (truncated, or not written by tinkerlab: "
            f"{type(exc).__name__}); {advice}"
        ) from None
    missing = [k for k in (*CHECKPOINT_KEYS, *keys) if not isinstance(state, dict) or k not in state]
    if missing:
        raise error(f"{path} is not a pyramid checkpoint (no {', '.join(missing)}); {advice}")
    return state


def load_weights(
    module: nn.Module, weights: dict[str, torch.Tensor], path: Path, *, error: type[TinkerlabError], advice: str
) -> None:
    """`module.load_state_dict(weights)`; weights that do not fit raise `error` naming the checkpoint `path`."""
    try:
        module.load_state_dict(weights)
    except (RuntimeError, TypeError, AttributeError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        if len(reason) > 160:
            reason = reason[:157] + "..."
        raise error(f"{path} does not fit the model ({reason}); {advice}") from None
