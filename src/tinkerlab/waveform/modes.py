"""What a trained Catch-A-Waveform model (Greshler, Rott Shaham and Michaeli, NeurIPS 2021) does, one entry point per
mode of the paper.

- `generate`: new audio of any length; every scale's noise is drawn at that length.
- `vary`: variations that keep the clip's coarse content: the clip at scale k - 1 is fed to scale k, and only
  scales k.. draw fresh noise.
- `reconstruct`: the clip rebuilt from the fixed reconstruction noise (for 'denoising' runs, the denoised clip).
- `inpaint`: for a model trained with holes, the reconstruction chain (whose noise is random inside the holes;
  fresh there with `new_noise`) fills them; known samples are copied from the clip bit for bit and the seams are
  smoothed inside the holes only: the clip's last reconstruction error before a hole (and first after it) is
  carried into the hole mirrored and faded out with a Hann ramp, so the fill starts where the clip ends.
- `extend`: bandwidth extension: a low-rate signal at one of the pyramid's rates is fed to the next scale and
  carried up; its own band is then put back in the frequency domain (a linear cross-fade over the last 400 Hz
  below its Nyquist), so only the missing high band comes from the model.

Signals in and out are float32 at the model's top rate unless said otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from tinkerlab.core.errors import InputError
from tinkerlab.core.seeding import make_generator
from tinkerlab.pyramid.trainer import Pyramid
from tinkerlab.waveform.baselines import fft_upsample, fit_length
from tinkerlab.waveform.config import WaveformConfig
from tinkerlab.waveform.signals import ClipPyramid, check_low_rate, normalise, scale_length, true_runs

CROSSFADE_HZ = 400.0
SEAM_SECONDS = 0.02


@dataclass
class WaveformModel:
    """A trained pyramid with the clip it learned from.

    Attributes:
        pyramid: the engine's generators, coarsest first.
        clip: the clip at every rate (holes zeroed for inpainting runs).
        config: the training settings.
        path: the run directory, when trained with one.
    """

    pyramid: Pyramid
    clip: ClipPyramid
    config: WaveformConfig
    path: Path | None = None

    @property
    def rates(self) -> list[int]:
        return list(self.clip.rates)

    @property
    def rate(self) -> int:
        """The top sample rate (of every output)."""
        return self.clip.rates[-1]

    def _shapes(self, seconds: float) -> list[tuple[int]]:
        return [(scale_length(seconds, r),) for r in self.rates]

    def _real(self, index: int) -> torch.Tensor:
        return torch.from_numpy(self.clip.signals[index]).view(1, 1, -1).to(self.pyramid.device)

    @torch.no_grad()
    def generate(self, seconds: float | None = None, n: int = 1, seed: int = 0) -> list[np.ndarray]:
        """`n` new signals of `seconds` (the clip's length when None).

        Raises:
            InputError: n < 1 or a non-positive length.
        """
        seconds = self.clip.seconds if seconds is None else float(seconds)
        _check_count(n)
        if not seconds > 0:
            raise InputError(f"expected a positive length in seconds, got {seconds}")
        rng = make_generator(seed, device=str(self.pyramid.device))
        shapes = self._shapes(seconds)
        out = []
        for _ in range(n):
            noises = [self.pyramid.draw_noise(i, shapes[i], rng) for i in range(self.pyramid.num_scales)]
            out.append(_to_numpy(self.pyramid.run(noises)[-1]))
        return out

    @torch.no_grad()
    def vary(self, n: int = 1, start_scale: int | None = None, seed: int = 0) -> list[np.ndarray]:
        """`n` variations of the clip that keep its content up to scale `start_scale - 1`.

        Args:
            start_scale: the first scale with fresh noise, 1..finest (default: the middle scale).

        Raises:
            InputError: n < 1 or a start scale out of range.
        """
        _check_count(n)
        count = self.pyramid.num_scales
        if count < 2:
            raise InputError("variations need a model with at least 2 scales, got 1")
        start = count // 2 if start_scale is None else int(start_scale)
        if not 1 <= start < count:
            raise InputError(f"the start scale must be in 1..{count - 1}, got {start}")
        rng = make_generator(seed, device=str(self.pyramid.device))
        shapes = self.pyramid.shapes
        out = []
        for _ in range(n):
            noises = [self.pyramid.draw_noise(i, shapes[i], rng) for i in range(count)]
            run = self.pyramid.run(noises, start_scale=start, start_image=self._real(start - 1))
            out.append(_to_numpy(run[-1]))
        return out

    def reconstruct(self) -> np.ndarray:
        """The finest reconstruction from the fixed noises."""
        return _to_numpy(self.pyramid.reconstruct()[-1])

    @torch.no_grad()
    def inpaint(self, n: int = 1, seed: int = 0, new_noise: bool = False) -> list[np.ndarray]:
        """Fill the holes the model was trained with: `n` signals whose known samples equal the clip's.

        Args:
            new_noise: draw fresh noise inside the holes (different fills); otherwise the first fill is the
                reconstruction's and later ones draw fresh noise.

        Raises:
            InputError: the model was not trained with holes.
        """
        if self.clip.known is None:
            raise InputError("this model was trained without holes: expected a run trained with --holes")
        _check_count(n)
        rng = make_generator(seed, device=str(self.pyramid.device))
        clip = self.clip.signals[-1]
        known = self.clip.known[-1]
        fills = []
        for i in range(n):
            noises = []
            for index, rec in enumerate(self.pyramid.rec_noises):
                noise = rec.clone()
                if new_noise or i > 0:
                    hole = torch.from_numpy(~self.clip.known[index]).to(noise.device).view(1, 1, -1)
                    fresh = torch.randn(noise.shape, generator=rng, device=rng.device).to(noise.device)
                    noise = torch.where(hole, fresh, noise)
                noises.append(noise)
            generated = _to_numpy(self.pyramid.run(noises)[-1])
            fills.append(stitch_holes(clip, generated, known, round(SEAM_SECONDS * self.rate)))
        return fills

    @torch.no_grad()
    def extend(self, low: np.ndarray, low_rate: int, seed: int = 0) -> np.ndarray:
        """Bandwidth extension of `low` (at `low_rate`, one of the model's rates below the top) to the top rate.

        The input is peak-normalised for the model; the output has the input's amplitude.

        Raises:
            InputError: a rate not in the pyramid, or an empty or silent signal.
        """
        index = check_low_rate(int(low_rate), self.rates)
        low = np.asarray(low, dtype=np.float32).reshape(-1)
        peak = float(np.abs(low).max()) if low.size else 0.0
        low_norm = normalise(low, "the low-rate signal")
        seconds = len(low) / low_rate
        shapes = self._shapes(seconds)
        shapes[index] = (len(low),)
        rng = make_generator(seed, device=str(self.pyramid.device))
        start = index + 1
        noises = [self.pyramid.draw_noise(i, shapes[i], rng) for i in range(self.pyramid.num_scales)]
        start_image = torch.from_numpy(low_norm).view(1, 1, -1).to(self.pyramid.device)
        generated = _to_numpy(self.pyramid.run(noises, start_scale=start, start_image=start_image)[-1])
        return merge_bands(low_norm, low_rate, generated, self.rate) * peak


def stitch_holes(clip: np.ndarray, generated: np.ndarray, known: np.ndarray, seam: int) -> np.ndarray:
    """The clip with its holes (known == False) taken from `generated`; seams smoothed inside the holes only.

    For each hole [s, e) the reconstruction error r = clip - generated just outside it is mirrored into the hole
    and faded out over `seam` samples by a half Hann window, so the fill continues the clip at both borders.
    Samples where `known` is True are copied from `clip` unchanged.
    """
    clip = np.asarray(clip, dtype=np.float32)
    generated = fit_length(generated, len(clip))
    out = np.where(known, clip, generated).astype(np.float32)
    error = (clip - generated).astype(np.float32)
    for start, end in true_runs(~known):
        width = min(seam, (end - start) // 2)
        if width < 1:
            continue
        fade = (0.5 + 0.5 * np.cos(np.pi * np.arange(width) / width)).astype(np.float32)  # 1 -> 0
        if start > 0:
            before = error[max(0, start - width) : start][::-1]
            m = len(before)
            out[start : start + m] += fade[:m] * before
        if end < len(clip):
            after = error[end : end + width][::-1]  # mirrored about the hole's end
            m = len(after)
            out[end - m : end] += fade[:m][::-1] * after
    out[known] = clip[known]
    return out


def merge_bands(
    low: np.ndarray, low_rate: int, generated: np.ndarray, rate: int, crossfade_hz: float = CROSSFADE_HZ
) -> np.ndarray:
    """The low band of `low` (FFT-interpolated to `rate`) below its Nyquist and `generated` above it, with a linear
    cross-fade over the `crossfade_hz` below the low Nyquist."""
    length = len(generated)
    base = fft_upsample(low, low_rate, rate, length)
    low_fft, high_fft = np.fft.rfft(base), np.fft.rfft(np.asarray(generated, dtype=np.float64))
    freqs = np.fft.rfftfreq(length, 1.0 / rate)
    cutoff = low_rate / 2
    width = min(crossfade_hz, cutoff / 2)
    weight = np.clip((cutoff - freqs) / width, 0.0, 1.0)  # 1 in the low band, 0 above the cutoff
    return np.fft.irfft(weight * low_fft + (1.0 - weight) * high_fft, n=length).astype(np.float32)


def _to_numpy(signal: torch.Tensor) -> np.ndarray:
    return signal.detach().reshape(-1).cpu().numpy().astype(np.float32)


def _check_count(n: int) -> None:
    if int(n) < 1:
        raise InputError(f"expected at least 1 signal, got n={n}")
