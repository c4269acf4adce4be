"""Training Catch-A-Waveform (Greshler, Rott Shaham and Michaeli, NeurIPS 2021) on one clip, on the pyramid engine.

`WaveformPlan` describes each scale of the sample-rate pyramid to the engine's `PyramidTrainer`: the clip at that
rate, a 1-D generator and discriminator, the objective of the mode (`WaveformObjective`), the reconstruction noise
(random at the coarsest scale, zero above it, random inside the holes when inpainting) and the original's
optimisation: one discriminator and one generator step per epoch, Adam 1.5e-3 with betas (0.5, 0.999), the
learning rate divided by 10 after 2/3 of the epochs. Scales are initialised from the previous scale when their
widths match (with the original's widths, 16 then 96, scale 1 starts fresh and scale 2 on copies scale 1: the
original's `scale_idx > 1` rule, not its HEAD's `>= 1`, which crashes there).

Entry points: `train(clip, config, out=RUN)`, `load(RUN)`, `denoise(noisy, config, out=RUN)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from tinkerlab.core.audio import resample, save_audio
from tinkerlab.core.errors import InputError
from tinkerlab.core.runs import RunDir
from tinkerlab.core.seeding import choose_device, make_generator
from tinkerlab.pyramid.trainer import PyramidTrainer, ScaleCallback, ScaleSpec, load_pyramid
from tinkerlab.waveform.config import WaveformConfig, uses_conditioning_noise, uses_mss
from tinkerlab.waveform.losses import WaveformObjective
from tinkerlab.waveform.models import build_discriminator, build_generator
from tinkerlab.waveform.signals import (
    ClipPyramid,
    Hole,
    build_clip_pyramid,
    known_mask,
    normalise,
    read_clip,
    signal_digest,
    upsample,
)

if TYPE_CHECKING:
    from tinkerlab.waveform.modes import WaveformModel

SYSTEM = "waveform"


@dataclass
class WaveformPlan:
    """The `ScalePlan` of a clip pyramid (see the module docstring)."""

    clip: ClipPyramid
    config: WaveformConfig
    device: str = "cpu"

    @property
    def num_scales(self) -> int:
        return len(self.clip.rates)

    def build(self, index: int) -> ScaleSpec:
        config = self.config
        signal = self.clip.signals[index]
        real = torch.from_numpy(signal).view(1, 1, -1).to(self.device)
        energies = self.clip.energies()
        known = None
        if self.clip.known is not None:
            known = torch.from_numpy(self.clip.known[index].astype(np.float32)).view(1, 1, -1).to(self.device)
        objective = WaveformObjective(
            gp_weight=config.gp_weight,
            mse_weight=0.0 if uses_mss(config) else config.mse_weight,
            mss_weight=config.mss_weight if uses_mss(config) else 0.0,
            energy=energies[index],
            previous_energy=energies[index - 1] if index > 0 else 0.0,
            noise_amp_factor=config.noise_amp_factor,
            conditioning_noise=index == 1 and uses_conditioning_noise(config),
            known=known,
        )
        rng = make_generator(config.seed * 7_919 + 101 * (index + 1))
        if index == 0:
            rec_noise = torch.randn(real.shape, generator=rng)
        else:
            rec_noise = torch.zeros(real.shape)
            if known is not None:
                rec_noise = torch.randn(real.shape, generator=rng) * (1.0 - known.cpu())
        return ScaleSpec(
            real=real,
            generator=build_generator(config, index).to(self.device),
            discriminator=build_discriminator(config, index).to(self.device),
            objective=objective,
            rec_noise=rec_noise.to(self.device),
            noise_channels=1,
            iterations=config.epochs,
            lr=config.lr,
            betas=(config.beta1, 0.999),
            decay_at=max(1, round(config.epochs * config.decay_at)),
            decay_gamma=config.decay_gamma,
            d_steps=1,
            g_steps=1,
            fixed_noise_amp=1.0 if index == 0 else None,
        )


def prepare_clip(
    clip: np.ndarray | str | Path, config: WaveformConfig, rate: int | None = None, holes: Sequence[Hole] = ()
) -> np.ndarray:
    """A clip (a file, or a signal at `rate`; `config.top_rate` when None) as a peak-normalised float32 signal at
    `config.top_rate`, cut to `config.max_seconds`. With holes, their samples are zeroed before the peak is taken
    (nothing about them reaches the model); a clip already at the top rate with peak 1 outside the holes is kept
    bit for bit.

    Raises:
        InputError: an unreadable, empty or silent clip.
    """
    if isinstance(clip, (str, Path)):
        signal = read_clip(clip, config.top_rate, config.max_seconds)
    else:
        signal = np.asarray(clip, dtype=np.float32).reshape(-1)
        rate = rate or config.top_rate
        signal = signal[: int(config.max_seconds * rate)]
        if rate != config.top_rate:
            signal = resample(signal, rate, config.top_rate)
    if holes:
        signal = np.where(known_mask(len(signal), config.top_rate, holes), signal, 0.0).astype(np.float32)
    return normalise(signal)


def train(
    clip: np.ndarray | str | Path,
    config: WaveformConfig | None = None,
    *,
    rate: int | None = None,
    holes: Sequence[Hole] = (),
    out: str | Path | None = None,
    overwrite: bool = False,
    callbacks: Sequence[ScaleCallback] = (),
) -> WaveformModel:
    """Train a Catch-A-Waveform model on one clip (or resume the run in `out`).

    Args:
        clip: a sound file or a mono signal (at `rate`, default the config's top rate).
        config: the settings (paper defaults when None; `demo_waveform_config` is CPU-sized).
        rate: the signal's sample rate when `clip` is an array.
        holes: (start, end) in seconds; needs mode 'inpainting' (the samples there are never seen).
        out: a run directory (config, checkpoints, the clip at every scale); resumed when it matches.
        overwrite: start afresh in `out` (an old run is moved aside).
        callbacks: called after every scale with the engine's `ScaleReport` and the pyramid so far.

    Returns:
        The trained model.

    Raises:
        InputError: a bad clip (unreadable, silent, too short), holes without inpainting mode (or the reverse),
            holes outside the clip or overlapping.
        ResumeError: `out` holds a different run.

    Example:
        >>> from tinkerlab.waveform.config import demo_waveform_config
        >>> model = train("clip.wav", demo_waveform_config(), out="runs/clip")  # doctest: +SKIP
        >>> samples = model.generate(seconds=10, n=2)  # doctest: +SKIP
    """
    from tinkerlab.waveform.modes import WaveformModel

    config = config or WaveformConfig()
    if (config.mode == "inpainting") != bool(holes):
        if holes:
            raise InputError(f"holes need mode 'inpainting', got mode {config.mode!r}")
        raise InputError("mode 'inpainting' needs holes: expected e.g. --holes 2.0-2.5, got none")
    device = choose_device(config.device)
    signal = prepare_clip(clip, config, rate, holes)
    pyramid_of_clip = build_clip_pyramid(signal, config, holes)
    seen = pyramid_of_clip.signals[-1]  # the clip as the model sees it (holes zeroed)
    run = None
    if out is not None:
        provenance = {
            "kind": "waveform",
            "clip_sha1": signal_digest(seen),
            "holes": [list(h) for h in pyramid_of_clip.holes],
        }
        run = RunDir.open(out, system=SYSTEM, config=config, provenance=provenance, overwrite=overwrite)
        np.save(run.path / "clip.npy", seen)
        save_audio(seen, config.top_rate, run.path / "clip.wav")
        for rate_k, signal_k in zip(pyramid_of_clip.rates, pyramid_of_clip.signals, strict=True):
            save_audio(signal_k, rate_k, run.outputs / "scales" / f"real@{rate_k}Hz.wav")
        run.log("rates: " + ", ".join(str(r) for r in pyramid_of_clip.rates))
    trainer = PyramidTrainer(
        WaveformPlan(pyramid_of_clip, config, device),
        resize=upsample,
        channels=1,
        seed=config.seed,
        run=run,
        checkpoint_extra={"kind": "waveform", "rates": pyramid_of_clip.rates},
        callbacks=list(callbacks),
    )
    pyramid = trainer.fit()
    if run is not None:
        run.save_state({**run.state(), "done": True, "rates": pyramid_of_clip.rates})
    return WaveformModel(pyramid, pyramid_of_clip, config, run.path if run is not None else None)


def load(run_path: str | Path, device: str = "cpu") -> WaveformModel:
    """Rebuild a trained model from its run directory.

    Raises:
        InputError: the folder is not a finished waveform run, or its files are damaged.
    """
    from tinkerlab.waveform.modes import WaveformModel

    path = Path(run_path)
    run, config = RunDir.load(
        path,
        WaveformConfig,
        system=SYSTEM,
        provenance={"kind": "waveform"},
        hint="make one with `tinkerlab waveform train WAV --out RUN`",
    )
    if not run.state().get("done"):
        raise InputError(f"{path} is not finished; run `tinkerlab waveform train` again with the same arguments")
    clip_file = path / "clip.npy"
    if not clip_file.is_file():
        raise InputError(f"{clip_file} is missing; train the run again (--overwrite starts it afresh)")
    holes = [tuple(h) for h in run.provenance().get("holes", [])]
    clip = build_clip_pyramid(np.load(clip_file), config, holes)
    checkpoints = [run.checkpoints / f"scale_{i}.pt" for i in range(len(clip.rates))]
    pyramid = load_pyramid(
        checkpoints, lambda i: build_generator(config, i), channels=1, resize=upsample, device=choose_device(device)
    )
    return WaveformModel(pyramid, clip, config, path)


def train_inpainting(
    model: WaveformModel, holes: Sequence[Hole], *, out: str | Path | None = None, overwrite: bool = False
) -> WaveformModel:
    """Train an inpainting model on the clip of `model` with `holes` (the same settings in mode 'inpainting').

    Args:
        model: a trained model without holes; its clip is the one to fill.
        holes: (start, end) in seconds.
        out: the run directory; by default ``RUN/inpainting/<holes>`` beside the model's run.

    Raises:
        InputError: the model itself was trained with holes, or bad holes.
    """
    from dataclasses import replace

    if model.clip.known is not None:
        raise InputError("expected a run trained without holes (its clip is the one to fill), got an inpainting run")
    if out is None and model.path is not None:
        tag = "_".join(f"{a:g}-{b:g}" for a, b in sorted(holes))
        out = model.path / "inpainting" / tag
    config = replace(model.config, mode="inpainting")
    return train(model.clip.signals[-1], config, holes=holes, out=out, overwrite=overwrite)


def denoise(
    noisy: np.ndarray | str | Path,
    config: WaveformConfig | None = None,
    *,
    rate: int | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
) -> np.ndarray:
    """Denoise a recording: train a model in 'denoising' mode on it and return its reconstruction (the
    original's `--run_mode denoising` then `--reconstruct`), peak-normalised, at the config's top rate.

    Raises:
        InputError: a bad recording, or a config in another mode.
    """
    config = config or WaveformConfig(mode="denoising")
    if config.mode != "denoising":
        raise InputError(f"denoise trains in mode 'denoising', got a config in mode {config.mode!r}")
    return train(noisy, config, rate=rate, out=out, overwrite=overwrite).reconstruct()
