"""The pyramid training loop of multi-scale single-sample GANs (SinGAN, Shaham et al., ICCV 2019).

`PyramidTrainer` trains one generator and one discriminator per scale, coarsest first, with WGAN-GP plus a
reconstruction loss. It knows nothing about images, holes or audio: each scale is described by a `ScaleSpec`
(the target, the two networks, the objective, the reconstruction noise, the optimisation budget) that a
`ScalePlan` builds, and the trained result is a `Pyramid` of `ScaleRecord`s that samples by running the scales in
turn. SinGAN (`singan.py`) and IDC (`tinkerlab.idc.completion`) are two plans; a 1-D audio model or a multi-image
model is another plan with its own networks, objective and `resize`.

What a plan can ask for, beyond SinGAN's single image:
- K training signals at once: `real` is (K, C, *spatial); every noise draw then has batch K, the reconstruction
  noise z* holds one map per signal, and the noise amplitude is one per signal (a (K,) tensor). The trainer checks
  that the fake, the reconstruction and z* have the real's shape and raises `ShapeMismatchError` otherwise.
- A conditioning map per scale (`ScaleSpec.conditioning`, (K, M, *spatial), e.g. a K-channel identity map): it is
  passed to the generator (`G(noise, previous, conditioning=c)`), the discriminator (`D(x, valid,
  conditioning=c)`), the gradient penalty and the objective, and is stored in the checkpoints; `Pyramid.run` and
  `Pyramid.sample` take other maps. Without one, networks and objectives are called exactly as before.
- Noise drawn over the unpadded shape and zero-padded for the network (`noise_unpadded`, for audio, whose
  receptive-field pad is far larger than a noise border should be).
- Noise added to the upsampled previous scale in random passes (`cond_noise_amp`, Catch-A-Waveform's
  conditioning noise).
- A reordered batch of random coarser passes in some iterations (`previous_order`): signal k's generator is then
  shown signal j's coarser layout and trained by the adversarial loss under k's conditioning only (BlendGAN's
  cross-identity training for structure-texture fusion).
- Any number of spatial dimensions (1-D audio, 2-D images): nothing here assumes a rank.

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
import torch.nn.functional as F
from torch import nn

from tinkerlab.core.errors import InputError, ResumeError, TinkerlabError
from tinkerlab.core.progress import make_progress
from tinkerlab.core.runs import RunDir

Shape = tuple[int, ...]
Resize = Callable[[torch.Tensor, Shape], torch.Tensor]
Amplitude = float | torch.Tensor  # one std for every signal, or a (K,) tensor, one per training signal


class ShapeMismatchError(TinkerlabError, ValueError):
    """A plan's tensors do not agree (e.g. a fake of batch 1 against K real signals); a bug in the plan."""


class ScaleObjective(Protocol):
    """The losses of one scale. Tensors are (B, C, *spatial).

    `conditioning` is passed (as a keyword) only when the scale has a conditioning map, so objectives written
    without it keep working on unconditioned plans.
    """

    def discriminator_loss(
        self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor, rng: torch.Generator, **kwargs: Any
    ) -> torch.Tensor:
        """WGAN critic loss including the gradient penalty (to minimise)."""
        ...

    def generator_adversarial_loss(self, discriminator: nn.Module, fake: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """The generator's adversarial loss (to minimise)."""
        ...

    def reconstruction_loss(self, reconstruction: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """The weighted reconstruction loss (to minimise)."""
        ...

    def noise_amplitude(self, upsampled_reconstruction: torch.Tensor, real: torch.Tensor) -> float:
        """The noise std of this scale, from how far the coarser reconstruction is from the target."""
        ...


def call_generator(
    generator: nn.Module, noise: torch.Tensor, previous: torch.Tensor, conditioning: torch.Tensor | None = None
) -> torch.Tensor:
    """G(noise, previous), with `conditioning=` only when a map is given (unconditioned modules need not take it)."""
    if conditioning is None:
        return generator(noise, previous)
    return generator(noise, previous, conditioning=conditioning)


def call_discriminator(
    discriminator: nn.Module,
    x: torch.Tensor,
    valid: torch.Tensor | None = None,
    conditioning: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """D(x, valid) -> (scores, validity), with `conditioning=` only when a map is given."""
    if conditioning is None:
        return discriminator(x, valid)
    return discriminator(x, valid, conditioning=conditioning)


def gradient_penalty(
    discriminator: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    rng: torch.Generator,
    valid: torch.Tensor | None = None,
    *,
    conditioning: torch.Tensor | None = None,
) -> torch.Tensor:
    """WGAN-GP term: mean over positions of (||dD/dx|| - 1)^2 at a random interpolation of real and fake.

    The norm is taken over channels at each position (as SinGAN does). One mixing weight for a batch of 1 (SinGAN),
    one per signal for a batch of K. With `valid` (B, 1, *spatial), the discriminator sees the validity map and the
    mean runs over valid positions only; `conditioning` is passed on to the discriminator.
    """
    if real.shape[0] == 1:
        alpha = torch.rand((), generator=rng, device=rng.device).to(real.device)
    else:
        shape = (real.shape[0], *[1] * (real.ndim - 1))
        alpha = torch.rand(shape, generator=rng, device=rng.device).to(real.device)
    mixed = (alpha * real + (1.0 - alpha) * fake).requires_grad_(True)
    scores, _ = call_discriminator(discriminator, mixed, valid, conditioning)
    (grads,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    per_pixel = (grads.norm(2, dim=1, keepdim=True) - 1.0) ** 2  # (B, 1, *spatial)
    if valid is None:
        return per_pixel.mean()
    return (per_pixel * valid).sum() / valid.sum().clamp_min(1.0)


@dataclass(frozen=True)
class WassersteinObjective:
    """SinGAN's objective: WGAN-GP (lambda `gp_weight`) plus `rec_weight` x MSE reconstruction (over all signals)."""

    gp_weight: float = 0.1
    rec_weight: float = 10.0
    noise_amp_factor: float = 0.1

    def discriminator_loss(self, discriminator, real, fake, rng, conditioning=None):
        real_scores, _ = call_discriminator(discriminator, real, None, conditioning)
        fake_scores, _ = call_discriminator(discriminator, fake, None, conditioning)
        penalty = gradient_penalty(discriminator, real, fake, rng, conditioning=conditioning)
        return -real_scores.mean() + fake_scores.mean() + self.gp_weight * penalty

    def generator_adversarial_loss(self, discriminator, fake, conditioning=None):
        scores, _ = call_discriminator(discriminator, fake, None, conditioning)
        return -scores.mean()

    def reconstruction_loss(self, reconstruction, real):
        return self.rec_weight * torch.mean((reconstruction - real) ** 2)

    def noise_amplitude(self, upsampled_reconstruction, real):
        return self.noise_amp_factor * math.sqrt(float(torch.mean((upsampled_reconstruction - real) ** 2)))


@dataclass
class ScaleSpec:
    """What the loop trains at one scale.

    Attributes:
        real: the targets (K, C, *spatial), K >= 1 signals of one shape; every noise draw has batch K.
        generator: a fresh generator; called as G(noise, previous) with noise `generator.padding` larger per side
            (and `conditioning=` when the scale has a map).
        discriminator: a fresh discriminator; returns (scores, validity); called as D(x, valid) (and
            `conditioning=`).
        objective: the losses.
        rec_noise: the fixed reconstruction noise z* (K, C, *padded spatial), unscaled, one map per signal.
        noise_channels: channels of the random noise; 1 means one channel repeated over C (SinGAN's coarsest).
        iterations: optimisation iterations.
        lr: Adam learning rate of G and D.
        betas: Adam betas.
        decay_at: iteration after which the learning rate is multiplied by `decay_gamma`.
        decay_gamma: the decay factor.
        d_steps, g_steps: discriminator and generator steps per iteration.
        fixed_noise_amp: use this noise amplitude instead of the objective's (the coarsest scale: 1); a float or a
            (K,) tensor.
        conditioning: the conditioning map of each training signal (K, M, *spatial), or None.
        noise_unpadded: draw random noise over the unpadded shape and zero-pad it to the network's input (make
            `rec_noise` the same way, e.g. with `make_noise`); False draws it over the padded shape (SinGAN).
        cond_noise_amp: std of Gaussian noise added to the upsampled previous scale in random passes (training and
            sampling; not in the reconstruction); 0 adds none.
        previous_order: called with the iteration; returns None, or an index tensor (K,) that reorders the batch
            of the random upsampled previous, so that signal k's fake is made from signal order[k]'s coarser pass
            (and judged against signal k's real and conditioning; the reconstruction is unchanged). None (the
            default) never reorders.
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
    fixed_noise_amp: Amplitude | None = None
    conditioning: torch.Tensor | None = None
    noise_unpadded: bool = False
    cond_noise_amp: float = 0.0
    previous_order: Callable[[int], torch.Tensor | None] | None = None


class ScalePlan(Protocol):
    """Builds the `ScaleSpec` of every scale; `build` must be deterministic for resume to work."""

    num_scales: int

    def build(self, index: int) -> ScaleSpec: ...


def padded_shape(spatial: Shape, padding: int) -> Shape:
    """The noise map's spatial shape for a signal of shape `spatial`."""
    return tuple(s + 2 * padding for s in spatial)


def pad_spatial(x: torch.Tensor, padding: int, mode: str = "constant") -> torch.Tensor:
    """Pad every spatial dimension of (B, C, *spatial) by `padding` on both sides (zeros, or `mode` of F.pad)."""
    if padding == 0:
        return x
    return F.pad(x, (padding,) * (2 * (x.ndim - 2)), mode=mode)


def amplitude_factor(amp: Amplitude, batch: int, rank: int) -> Amplitude:
    """A noise amplitude ready to multiply (batch, C, *spatial) noise: a float, or a (K,) tensor as (K, 1, ...).

    Raises:
        InputError: per-signal amplitudes for a batch of another size (pass `amps=` to `Pyramid.run`).
    """
    if not isinstance(amp, torch.Tensor) or amp.ndim != 1:
        return amp
    if amp.shape[0] != batch:
        raise InputError(
            f"this scale has one noise amplitude per training signal ({amp.shape[0]}), but the batch has {batch}; "
            "pass amps= (a float, or a tensor that broadcasts over the noise) for other batches"
        )
    return amp.view(batch, *[1] * (rank + 1))


def mixed_amplitude(amps: Amplitude, weights: torch.Tensor, padding: int) -> Amplitude:
    """Per-position amplitudes from per-signal ones and a soft map: sum_k weights[:, k] * amps[k], padded.

    Args:
        amps: (K,) per-signal amplitudes of a scale (a float is returned as it is).
        weights: (B, K, *spatial), e.g. an identity map (channels sum to 1).
        padding: the generator's padding (the map is padded by replicating its borders).

    Returns:
        (B, 1, *padded spatial), to pass as that scale's entry of `amps=` in `Pyramid.run`.
    """
    if not isinstance(amps, torch.Tensor) or amps.ndim == 0:
        return amps
    view = (1, -1, *[1] * (weights.ndim - 2))
    mixed = (weights * amps.to(weights.device).view(*view)).sum(dim=1, keepdim=True)
    return pad_spatial(mixed, padding, mode="replicate")


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


def make_noise(
    noise_channels: int,
    channels: int,
    spatial: Shape,
    padding: int,
    rng: torch.Generator,
    batch: int = 1,
    device: Any = "cpu",
    *,
    unpadded: bool = False,
) -> torch.Tensor:
    """The unscaled noise input of a generator with `padding` for a signal of shape `spatial`: (batch, C, *padded).

    Drawn over the padded shape (SinGAN), or with `unpadded` over `spatial` and zero-padded (audio).
    """
    if not unpadded:
        return draw_noise(noise_channels, channels, padded_shape(spatial, padding), rng, batch, device)
    return pad_spatial(draw_noise(noise_channels, channels, spatial, rng, batch, device), padding)


def format_amplitude(amp: Amplitude) -> str:
    """'0.1234', or '[0.1234, 0.2345]' for per-signal amplitudes."""
    if isinstance(amp, torch.Tensor) and amp.ndim > 0:
        return "[" + ", ".join(f"{float(a):.4f}" for a in amp.flatten()) + "]"
    return f"{float(amp):.4f}"


@dataclass
class ScaleRecord:
    """One trained scale of a `Pyramid`.

    Attributes:
        generator: in eval mode.
        noise_amp: the noise std (a float, or a (K,) tensor, one per training signal).
        rec_noise: z* (unscaled), (K, C, *padded training shape).
        noise_channels: channels of the random noise (1 = repeated over the signal channels).
        shape: the training shape (spatial).
        conditioning: the training signals' conditioning map (K, M, *shape), or None.
        noise_unpadded: random noise is drawn over the unpadded shape and zero-padded.
        cond_noise_amp: std of the noise added to the upsampled previous scale in random passes.
    """

    generator: nn.Module
    noise_amp: Amplitude
    rec_noise: torch.Tensor
    noise_channels: int
    shape: Shape
    conditioning: torch.Tensor | None = None
    noise_unpadded: bool = False
    cond_noise_amp: float = 0.0


@dataclass
class Pyramid:
    """A trained (or partly trained) stack of scales that samples coarse to fine.

    Attributes:
        records: one `ScaleRecord` per scale, coarsest first.
        channels: signal channels.
        resize: resizes (B, C, *spatial) to a spatial shape (upsampling between scales).

    `generators`, `noise_amps`, `rec_noises`, `noise_channels`, `shapes` and `conditionings` are per-scale lists
    read from the records.
    """

    records: list[ScaleRecord]
    channels: int
    resize: Resize

    @property
    def num_scales(self) -> int:
        return len(self.records)

    @property
    def device(self) -> torch.device:
        return self.records[0].rec_noise.device

    @property
    def num_signals(self) -> int:
        """K, the number of training signals (images, clips)."""
        return int(self.records[0].rec_noise.shape[0])

    @property
    def generators(self) -> list[nn.Module]:
        return [r.generator for r in self.records]

    @property
    def noise_amps(self) -> list[Amplitude]:
        return [r.noise_amp for r in self.records]

    @property
    def rec_noises(self) -> list[torch.Tensor]:
        return [r.rec_noise for r in self.records]

    @property
    def noise_channels(self) -> list[int]:
        return [r.noise_channels for r in self.records]

    @property
    def shapes(self) -> list[Shape]:
        return [r.shape for r in self.records]

    @property
    def conditionings(self) -> list[torch.Tensor | None]:
        return [r.conditioning for r in self.records]

    @property
    def conditioned(self) -> bool:
        """Whether any scale was trained with a conditioning map (then every run needs maps)."""
        return any(r.conditioning is not None for r in self.records)

    def prefix(self, count: int) -> Pyramid:
        """The first `count` scales."""
        return Pyramid(self.records[:count], self.channels, self.resize)

    def draw_noise(self, index: int, spatial: Shape, rng: torch.Generator, batch: int = 1) -> torch.Tensor:
        """Unscaled random noise for scale `index` at signal shape `spatial`: (batch, C, *padded)."""
        record = self.records[index]
        return make_noise(
            record.noise_channels,
            self.channels,
            tuple(spatial),
            record.generator.padding,
            rng,
            batch,
            self.device,
            unpadded=record.noise_unpadded,
        )

    def draw_cond_noise(self, index: int, spatial: Shape, rng: torch.Generator, batch: int = 1) -> torch.Tensor | None:
        """Unscaled noise for the upsampled previous of scale `index` (batch, C, *spatial); None when it has none."""
        if self.records[index].cond_noise_amp <= 0:
            return None
        return torch.randn((batch, self.channels, *spatial), generator=rng, device=rng.device).to(self.device)

    def amplitude(self, index: int, batch: int) -> Amplitude:
        """The noise amplitude of scale `index` for a batch: a float, or per-signal as (K, 1, ...) when batch is K.

        Raises:
            InputError: per-signal amplitudes and a batch of another size.
        """
        record = self.records[index]
        return amplitude_factor(record.noise_amp, batch, len(record.shape))

    def mixed_amps(self, weights: Sequence[torch.Tensor | None]) -> list[Amplitude | None]:
        """`amps=` for `run` from per-scale soft maps over the K signals (B, K, *spatial) (`mixed_amplitude`);
        None entries keep the trained amplitude."""
        return [
            None if w is None else mixed_amplitude(r.noise_amp, w.to(self.device), r.generator.padding)
            for r, w in zip(self.records, weights, strict=False)
        ]

    def conditioning_for(self, index: int, batch: int, given: torch.Tensor | None = None) -> torch.Tensor | None:
        """The map scale `index` runs with: `given` (a batch of 1 is expanded), else the training map.

        Raises:
            InputError: a conditioned scale without a map for this batch, or a map with the wrong batch.
        """
        conditioning = self.records[index].conditioning if given is None else given
        if conditioning is None:
            return None
        if conditioning.shape[0] == 1 and batch > 1:
            conditioning = conditioning.expand(batch, *conditioning.shape[1:])
        if conditioning.shape[0] != batch:
            source = "the training map" if given is None else "the given map"
            raise InputError(
                f"scale {index} is conditioned: expected a map with batch 1 or {batch}, {source} has batch "
                f"{conditioning.shape[0]}; pass conditioning= with one map per sample"
            )
        return conditioning.to(self.device)

    @torch.no_grad()
    def run(
        self,
        noises: Sequence[torch.Tensor | None],
        *,
        start_scale: int = 0,
        start_image: torch.Tensor | None = None,
        stop_scale: int | None = None,
        conditioning: Sequence[torch.Tensor | None] | None = None,
        amps: Sequence[Amplitude | None] | None = None,
        cond_noises: Sequence[torch.Tensor | None] | None = None,
    ) -> list[torch.Tensor]:
        """Run the generators from `start_scale` to `stop_scale` (inclusive; default the finest).

        Args:
            noises: unscaled noise per scale index (entries below `start_scale` are ignored); each (B, C, *padded).
            start_scale: the first scale to run.
            start_image: the signal fed to `start_scale` (before upsampling); zeros at the coarsest by default.
            stop_scale: the last scale to run.
            conditioning: per scale index, a map (B or 1, M, *that scale's spatial shape) or None for the training
                map; None for all training maps. Unconditioned scales ignore it.
            amps: per scale index, an amplitude overriding the trained one (a float, or a tensor broadcasting over
                that scale's noise, e.g. from `mixed_amplitude`), or None.
            cond_noises: per scale index, unscaled noise (B, C, *spatial) added, times the scale's
                `cond_noise_amp`, to the upsampled previous; None adds none (the reconstruction).

        Returns:
            The outputs of scales start_scale..stop_scale, each (B, C, *spatial).
        """
        stop = self.num_scales - 1 if stop_scale is None else stop_scale
        outputs: list[torch.Tensor] = []
        previous = start_image
        for index in range(start_scale, stop + 1):
            record = self.records[index]
            noise = noises[index]
            padding = record.generator.padding
            spatial = tuple(s - 2 * padding for s in noise.shape[2:])
            batch = noise.shape[0]
            if previous is None:
                previous = torch.zeros((batch, self.channels, *spatial), device=noise.device)
            else:
                previous = self.resize(previous, spatial)
            extra = cond_noises[index] if cond_noises is not None else None
            if extra is not None and record.cond_noise_amp > 0:
                previous = previous + record.cond_noise_amp * extra
            amp = amps[index] if amps is not None and amps[index] is not None else self.amplitude(index, batch)
            given = conditioning[index] if conditioning is not None else None
            condition = self.conditioning_for(index, batch, given)
            if condition is not None and tuple(condition.shape[2:]) != spatial:
                raise InputError(
                    f"scale {index} runs at {'x'.join(map(str, spatial))}, but its conditioning map is "
                    f"{'x'.join(map(str, condition.shape[2:]))}; give maps at the sampled shapes "
                    "(tinkerlab.pyramid.scales.conditioning_pyramid)"
                )
            previous = call_generator(record.generator, amp * noise, previous, condition)
            outputs.append(previous)
        return outputs

    def reconstruct(self, stop_scale: int | None = None) -> list[torch.Tensor]:
        """The reconstruction chain driven by the fixed noises z* (all K signals), coarsest to `stop_scale`."""
        return self.run(self.rec_noises, stop_scale=stop_scale)

    def sample(
        self,
        rng: torch.Generator,
        *,
        batch: int | None = None,
        stop_scale: int | None = None,
        shapes: Sequence[Shape] | None = None,
        conditioning: Sequence[torch.Tensor | None] | None = None,
        amps: Sequence[Amplitude | None] | None = None,
    ) -> list[torch.Tensor]:
        """Random samples at every scale (from the coarsest), at the training shapes or at `shapes`.

        `batch` defaults to the number of training signals K (with their training maps, one sample each);
        `conditioning` and `amps` are as in `run`. The noise of every scale is drawn first, then the
        conditioning noise of the scales that have it.
        """
        shapes = list(shapes or self.shapes)
        batch = self.num_signals if batch is None else batch
        stop = self.num_scales - 1 if stop_scale is None else stop_scale
        noises = [self.draw_noise(i, shapes[i], rng, batch) for i in range(stop + 1)]
        cond_noises = [self.draw_cond_noise(i, shapes[i], rng, batch) for i in range(stop + 1)]
        return self.run(noises, stop_scale=stop, conditioning=conditioning, amps=amps, cond_noises=cond_noises)


@dataclass(frozen=True)
class ScaleReport:
    """What a callback hears when a scale ends."""

    index: int
    seconds: float
    iterations: int
    noise_amp: Amplitude
    losses: dict[str, float] = field(default_factory=dict)
    resumed: bool = False


ScaleCallback = Callable[[ScaleReport, Pyramid], None]


def check_shape(name: str, tensor: torch.Tensor, expected: Sequence[int], index: int, advice: str) -> None:
    """Raise `ShapeMismatchError` unless `tensor.shape == expected`."""
    if tuple(tensor.shape) != tuple(expected):
        raise ShapeMismatchError(
            f"scale {index}: {name} has shape {tuple(tensor.shape)}, expected {tuple(expected)}; {advice}"
        )


class PyramidTrainer:
    """Trains the scales of a `ScalePlan` in turn, with checkpoints and resume through a `RunDir`.

    Args:
        plan: builds each scale's spec.
        resize: resizes (B, C, *spatial) tensors (used to upsample between scales).
        channels: signal channels.
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
        pyramid = Pyramid([], self.channels, self.resize)
        previous_spec: ScaleSpec | None = None
        with make_progress() as progress:
            for index in range(self.plan.num_scales):
                spec = self.plan.build(index)
                self.check_spec(index, spec)
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
                pyramid.records.append(
                    ScaleRecord(
                        spec.generator,
                        noise_amp,
                        spec.rec_noise,
                        spec.noise_channels,
                        tuple(spec.real.shape[2:]),
                        spec.conditioning,
                        spec.noise_unpadded,
                        spec.cond_noise_amp,
                    )
                )
                if not report.resumed:
                    self._save_scale(index, spec, noise_amp, report)
                for callback in self.callbacks:
                    callback(report, pyramid)
                previous_spec = spec
        return pyramid

    def check_spec(self, index: int, spec: ScaleSpec) -> None:
        """Check that a spec's tensors agree with its K real signals.

        Raises:
            ShapeMismatchError: z* or the conditioning map has another batch or shape than the real signals.
        """
        real = spec.real
        batch, spatial = real.shape[0], tuple(real.shape[2:])
        padded = padded_shape(spatial, spec.generator.padding)
        check_shape(
            "the reconstruction noise z*",
            spec.rec_noise,
            (batch, self.channels, *padded),
            index,
            f"draw one z* per real signal ({batch}) at the padded shape",
        )
        if spec.conditioning is not None:
            expected = (batch, spec.conditioning.shape[1], *spatial)
            check_shape("the conditioning map", spec.conditioning, expected, index, "give one map per real signal")

    def _train_scale(
        self, index: int, spec: ScaleSpec, pyramid: Pyramid, advance: Callable[[], None]
    ) -> tuple[Amplitude, dict[str, float]]:
        device = spec.real.device
        rng = self.scale_rng(index, device)
        real = spec.real
        batch, spatial = real.shape[0], tuple(real.shape[2:])
        condition = spec.conditioning
        generator, discriminator, objective = (
            spec.generator.train(),
            spec.discriminator.train(),
            spec.objective,
        )
        d_kwargs = {} if condition is None else {"conditioning": condition}
        generator.requires_grad_(True)
        discriminator.requires_grad_(True)
        if index == 0:
            rec_previous = torch.zeros_like(real)
        else:
            rec_previous = self.resize(pyramid.reconstruct()[-1], spatial)
        check_shape("the upsampled reconstruction", rec_previous, real.shape, index, "the coarser scales' batch")
        noise_amp = spec.fixed_noise_amp
        if noise_amp is None:
            if batch == 1:
                noise_amp = objective.noise_amplitude(rec_previous, real)
            else:  # one amplitude per signal
                amps = [objective.noise_amplitude(rec_previous[k : k + 1], real[k : k + 1]) for k in range(batch)]
                noise_amp = torch.tensor(amps, dtype=real.dtype, device=device)
        amp = amplitude_factor(noise_amp, batch, len(spatial))
        rec_input = amp * spec.rec_noise
        opt_g = torch.optim.Adam(generator.parameters(), lr=spec.lr, betas=spec.betas)
        opt_d = torch.optim.Adam(discriminator.parameters(), lr=spec.lr, betas=spec.betas)
        sched_g = torch.optim.lr_scheduler.MultiStepLR(opt_g, milestones=[spec.decay_at], gamma=spec.decay_gamma)
        sched_d = torch.optim.lr_scheduler.MultiStepLR(opt_d, milestones=[spec.decay_at], gamma=spec.decay_gamma)
        padding = generator.padding
        losses: dict[str, float] = {}
        advice = "the generator must return one output per real signal, at the real's shape"
        for iteration in range(spec.iterations):
            noise = amp * make_noise(
                spec.noise_channels, self.channels, spatial, padding, rng, batch, device, unpadded=spec.noise_unpadded
            )
            with torch.no_grad():
                previous = self._random_previous(index, pyramid, spatial, rng, real)
                if spec.cond_noise_amp > 0:
                    extra = torch.randn(previous.shape, generator=rng, device=rng.device).to(device)
                    previous = previous + spec.cond_noise_amp * extra
                order = spec.previous_order(iteration) if spec.previous_order is not None else None
                if order is not None:
                    previous = previous[order.to(previous.device)]
            fake = call_generator(generator, noise, previous, condition)  # with autograd, reused below
            if iteration == 0:
                check_shape("the fake", fake, real.shape, index, advice)
            discriminator.requires_grad_(True)
            for _ in range(spec.d_steps):
                opt_d.zero_grad(set_to_none=True)
                loss_d = objective.discriminator_loss(discriminator, real, fake.detach(), rng, **d_kwargs)
                loss_d.backward()
                opt_d.step()
            discriminator.requires_grad_(False)
            for step in range(spec.g_steps):
                opt_g.zero_grad(set_to_none=True)
                if step > 0:  # G changed in place: a fresh fake avoids the original's in-place autograd error
                    fake = call_generator(generator, noise, previous, condition)
                loss_adv = objective.generator_adversarial_loss(discriminator, fake, **d_kwargs)
                reconstruction = call_generator(generator, rec_input, rec_previous, condition)
                if iteration == 0 and step == 0:
                    check_shape("the reconstruction", reconstruction, real.shape, index, advice)
                loss_rec = objective.reconstruction_loss(reconstruction, real)
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
        """A random pass of the coarser scales (one per real signal, with the training maps), upsampled."""
        if index == 0:
            return torch.zeros_like(real)
        chain = pyramid.sample(rng, batch=real.shape[0], stop_scale=index - 1)
        return self.resize(chain[-1], spatial)

    def _checkpoint_path(self, index: int) -> Path:
        assert self.run is not None
        return self.run.checkpoints / f"scale_{index}.pt"

    def _save_scale(self, index: int, spec: ScaleSpec, noise_amp: Amplitude, report: ScaleReport) -> None:
        if self.run is None:
            return
        amp = noise_amp.detach().cpu() if isinstance(noise_amp, torch.Tensor) else noise_amp
        torch.save(
            {
                "index": index,
                "generator": spec.generator.state_dict(),
                "discriminator": spec.discriminator.state_dict(),
                "noise_amp": amp,
                "rec_noise": spec.rec_noise.cpu(),
                "noise_channels": spec.noise_channels,
                "shape": list(spec.real.shape[2:]),
                "conditioning": None if spec.conditioning is None else spec.conditioning.cpu(),
                "noise_unpadded": spec.noise_unpadded,
                "cond_noise_amp": spec.cond_noise_amp,
                "extra": self.checkpoint_extra,
            },
            self._checkpoint_path(index),
        )
        self.run.save_state({"finished_scales": index + 1, "num_scales": self.plan.num_scales})
        self.run.log(f"scale {index} finished in {report.seconds:.1f} s, noise_amp={format_amplitude(noise_amp)}")

    def _load_scale(self, index: int, spec: ScaleSpec) -> Amplitude:
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
        return checkpoint_amplitude(state["noise_amp"], spec.real.device)


def checkpoint_amplitude(value: Any, device: Any) -> Amplitude:
    """A stored noise amplitude: a float, or a per-signal tensor on `device`."""
    if isinstance(value, torch.Tensor) and value.ndim > 0:
        return value.to(device)
    return float(value)


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
        channels: signal channels.
        resize: the resize of the domain.
        device: where to put the pyramid.

    Raises:
        InputError: a checkpoint is missing, unreadable or does not fit its generator.
    """
    pyramid = Pyramid([], channels, resize)
    advice = "train the run again (--overwrite starts it afresh)"
    for index, path in enumerate(checkpoints):
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path} is missing; {advice}")
        state = read_checkpoint(path, device, error=InputError, advice=advice)
        generator = build_generator(index).to(device)
        load_weights(generator, state["generator"], path, error=InputError, advice=advice)
        conditioning = state.get("conditioning")
        pyramid.records.append(
            ScaleRecord(
                generator.eval().requires_grad_(False),
                checkpoint_amplitude(state["noise_amp"], device),
                state["rec_noise"].to(device),
                int(state["noise_channels"]),
                tuple(state["shape"]),
                None if conditioning is None else conditioning.to(device),
                bool(state.get("noise_unpadded", False)),
                float(state.get("cond_noise_amp", 0.0)),
            )
        )
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
