"""Audio clips and the sample-rate pyramid of Catch-A-Waveform (Greshler, Rott Shaham and Michaeli, NeurIPS 2021).

A clip is a mono float32 signal normalised by its peak. Its pyramid is the clip resampled (polyphase, scipy) to
each rate of `SAMPLE_RATES` from the first scale up to the clip's top rate. The first scale is the first rate
whose copy is long enough for the networks (at least `min_samples`), has mean energy >= `min_energy` (music;
the original's `min_energy_th`) or is >= 500 Hz (speech), and leaves room for the holes (inpainting).
Holes are given in seconds (``2.0-2.5,4.1-4.3``) and become sample ranges at every scale.

Everything a user can get wrong here raises `InputError` with what was expected and what was got.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from tinkerlab.core.audio import load_audio, resample
from tinkerlab.core.errors import InputError
from tinkerlab.waveform.config import SAMPLE_RATES, WaveformConfig, receptive_field

SILENCE_PEAK = 1e-4
"""A clip whose peak amplitude is below this (of full scale) is refused as silent."""

DISCRIMINATOR_OUTPUTS = 256
"""A scale must give the discriminator at least this many score positions (length >= receptive field + this)."""

Hole = tuple[float, float]


def min_samples(config: WaveformConfig) -> int:
    """The shortest signal a scale may have: the receptive field plus `DISCRIMINATOR_OUTPUTS`."""
    return receptive_field(config) + DISCRIMINATOR_OUTPUTS


def normalise(signal: np.ndarray, what: str = "the clip") -> np.ndarray:
    """`signal / max|signal|` as float32.

    Raises:
        InputError: the signal is empty, not finite, or silent (peak below `SILENCE_PEAK`).
    """
    signal = np.asarray(signal, dtype=np.float32).reshape(-1)
    if signal.size == 0:
        raise InputError(f"{what} is empty: expected audio samples, got none")
    if not np.all(np.isfinite(signal)):
        raise InputError(f"{what} holds NaN or infinite samples: expected finite audio")
    peak = float(np.abs(signal).max())
    if peak < SILENCE_PEAK:
        raise InputError(f"{what} is silent: expected a peak amplitude >= {SILENCE_PEAK:g}, got {peak:.2g}")
    return (signal / peak).astype(np.float32)


def read_clip(path: str | Path, rate: int, max_seconds: float | None = None) -> np.ndarray:
    """A sound file as a peak-normalised mono signal at `rate` (cut to `max_seconds`).

    Raises:
        InputError: a missing, unreadable, empty or silent file.
    """
    signal, _ = load_audio(path, sample_rate=rate, max_seconds=max_seconds)
    return normalise(signal, f"{str(path)!r}")


def read_signal(path: str | Path) -> tuple[np.ndarray, int]:
    """A sound file at its own rate, peak-normalised: (signal, rate).

    Raises:
        InputError: a missing, unreadable, empty or silent file.
    """
    signal, rate = load_audio(path)
    return normalise(signal, f"{str(path)!r}"), rate


def signal_digest(signal: np.ndarray) -> str:
    """A short hash of a signal's samples (run provenance)."""
    return hashlib.sha1(np.ascontiguousarray(signal, dtype=np.float32).tobytes()).hexdigest()[:16]


def rates_up_to(top_rate: int) -> list[int]:
    """The pyramid's rates from the lowest up to `top_rate`."""
    return [rate for rate in SAMPLE_RATES if rate <= top_rate]


def scale_length(seconds: float, rate: int) -> int:
    """Samples of `seconds` at `rate`."""
    return max(1, round(seconds * rate))


def energy(signal: np.ndarray, known: np.ndarray | None = None) -> float:
    """Mean squared amplitude (over the known samples when `known` is given)."""
    signal = np.asarray(signal, dtype=np.float64)
    if known is not None:
        signal = signal[known]
    return float(np.mean(signal**2)) if signal.size else 0.0


def parse_holes(text: str) -> list[Hole]:
    """'2.0-2.5,4.1-4.3' -> [(2.0, 2.5), (4.1, 4.3)] (seconds).

    Raises:
        InputError: not a comma-separated list of START-END pairs with START < END.
    """
    holes = []
    for part in str(text).split(","):
        pieces = part.strip().split("-")
        try:
            start, end = (float(p) for p in pieces)
        except ValueError:
            raise InputError(
                f"expected holes like 2.0-2.5,4.1-4.3 (start-end in seconds), got {part.strip()!r}"
            ) from None
        if not start < end:
            raise InputError(f"a hole must end after it starts: expected START < END, got {start:g}-{end:g}")
        holes.append((start, end))
    return holes


def check_holes(holes: Sequence[Hole], seconds: float) -> list[Hole]:
    """The holes sorted by start, after checking they lie inside a clip of `seconds` and do not overlap.

    Raises:
        InputError: no hole, a hole outside [0, seconds], or two holes overlapping or touching.
    """
    if not holes:
        raise InputError("inpainting needs at least one hole: expected START-END in seconds, got none")
    ordered = sorted((float(a), float(b)) for a, b in holes)
    for start, end in ordered:
        if not start < end:
            raise InputError(f"a hole must end after it starts: expected START < END, got {start:g}-{end:g}")
        if start <= 0 or end >= seconds:
            raise InputError(
                f"hole {start:g}-{end:g} s lies outside the clip: expected holes strictly inside 0-{seconds:.3f} s"
            )
    for (a0, a1), (b0, b1) in zip(ordered, ordered[1:], strict=False):
        if b0 <= a1:
            raise InputError(f"holes {a0:g}-{a1:g} and {b0:g}-{b1:g} overlap: expected separate holes")
    return ordered


def known_mask(length: int, rate: int, holes: Sequence[Hole]) -> np.ndarray:
    """Bool (length,), False inside the holes (sample int(start * rate) up to int(end * rate), excluded)."""
    known = np.ones(length, dtype=bool)
    for start, end in holes:
        known[int(start * rate) : int(end * rate)] = False
    return known


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True in a 1-D bool array (the holes of `~known`).

    Example:
        >>> true_runs(np.array([False, True, True, False, True]))
        [(1, 3), (4, 5)]
    """
    padded = np.concatenate(([False], np.asarray(mask, dtype=bool), [False]))
    changes = np.flatnonzero(padded[1:] != padded[:-1])
    return list(zip(changes[0::2].tolist(), changes[1::2].tolist(), strict=True))


@dataclass(frozen=True)
class ClipPyramid:
    """A clip at every rate of its pyramid.

    Attributes:
        rates: the sample rates, coarsest first.
        signals: the clip at each rate (float32, peak-normalised at the top rate).
        known: per rate, bool masks (False in the holes), or None without holes.
        holes: the holes in seconds.
    """

    rates: list[int]
    signals: list[np.ndarray]
    known: list[np.ndarray] | None = None
    holes: tuple[Hole, ...] = ()

    @property
    def seconds(self) -> float:
        return len(self.signals[-1]) / self.rates[-1]

    def energies(self) -> list[float]:
        """Mean energy of each scale (over known samples with holes)."""
        if self.known is None:
            return [energy(s) for s in self.signals]
        return [energy(s, k) for s, k in zip(self.signals, self.known, strict=True)]


def build_clip_pyramid(signal: np.ndarray, config: WaveformConfig, holes: Sequence[Hole] = ()) -> ClipPyramid:
    """The pyramid of a peak-normalised clip at `config.top_rate`.

    Args:
        signal: the clip at the top rate.
        config: the rates, the mode (first-scale rule) and the networks (shortest usable length).
        holes: inpainting holes in seconds; their samples are set to 0 at every scale.

    Raises:
        InputError: the clip is too short for even the top rate, or the holes leave too little audio.
    """
    top = config.top_rate
    signal = np.asarray(signal, dtype=np.float32)
    seconds = len(signal) / top
    holes = tuple(check_holes(holes, seconds)) if holes else ()
    need = min_samples(config)
    if len(signal) < need:
        raise InputError(
            f"the clip is too short for the networks: expected at least {need / top:.2f} s at {top} Hz "
            f"({need} samples: the receptive field {receptive_field(config)} + {DISCRIMINATOR_OUTPUTS}), "
            f"got {seconds:.2f} s; give a longer clip or use fewer layers"
        )
    hole_seconds = sum(end - start for start, end in holes)
    rates, signals, masks = [], [], []
    started = False
    for rate in rates_up_to(top):
        copy = signal if rate == top else resample(signal, top, rate)
        if len(copy) < need:
            continue
        if holes and (hole_seconds * rate + 2 * len(holes) * receptive_field(config)) > len(copy):
            continue  # the original's rule: the holes and their receptive field must fit in the scale
        if not started and rate != top:
            if config.mode == "speech" and rate < config.speech_min_rate:
                continue
            if config.mode != "speech" and energy(copy) < config.min_energy:
                continue
        started = True
        known = known_mask(len(copy), rate, holes) if holes else None
        if known is not None:
            copy = np.where(known, copy, 0.0).astype(np.float32)
        rates.append(rate)
        signals.append(copy.astype(np.float32))
        masks.append(known)
    if not rates:
        rf = receptive_field(config)
        need = (hole_seconds * top + 2 * len(holes) * rf) / top
        raise InputError(
            f"the clip is too short for its holes: expected at least {need:.2f} s at {top} Hz (the holes plus "
            f"{rf} samples of context on each side of each), got {seconds:.2f} s; give a longer clip or fewer holes"
        )
    return ClipPyramid(rates, signals, masks if holes else None, holes)


def check_low_rate(rate: int, rates: Sequence[int]) -> int:
    """The index of the scale of a low-rate signal for bandwidth extension.

    Raises:
        InputError: the rate is not one of the pyramid's rates below its top rate.
    """
    choices = list(rates[:-1])
    if rate not in choices:
        shown = ", ".join(str(r) for r in choices) or "none (the model has one scale)"
        raise InputError(
            f"the low-rate signal is at {rate} Hz: expected one of the model's rates below its top rate "
            f"({rates[-1]} Hz): {shown}; resample it to one of them first"
        )
    return choices.index(rate)


def upsample(signal: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Cubic interpolation of (B, C, L) to length shape[-1] (the original's ResizeRight cubic, without antialias
    since it only upsamples between scales)."""
    length = int(shape[-1])
    if signal.shape[-1] == length:
        return signal
    out = F.interpolate(signal[:, :, None, :], size=(1, length), mode="bicubic", align_corners=False)
    return out[:, :, 0, :]
