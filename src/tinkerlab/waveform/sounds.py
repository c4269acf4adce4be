"""Offline training material for Catch-A-Waveform: sounds synthesised in code, Debian's music-on-hold tracks, pygame's
sample sounds and espeak-ng speech (see `tinkerlab.core.assets`).

`sound_source("moh:macroform-cold_day", rate, seconds=5, offset=30)` reads any of them by name; a path reads a
file. Every source returns a peak-normalised mono float32 signal at the rate asked for.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinkerlab.core.errors import InputError, MissingAssetError
from tinkerlab.waveform.signals import normalise, read_clip

MOH_ROOT = Path("/usr/share/asterisk/moh")
SYNTH_NAMES = ("melody", "chords", "noise-bursts")


def melody(seconds: float = 5.0, rate: int = 8000, seed: int = 0, tempo: float = 120.0) -> np.ndarray:
    """A synthesised tune: harmonic notes (pentatonic, repeating 4-bar phrases) with ADSR envelopes and a bass line."""
    rng = np.random.default_rng(seed)
    scale = np.array([0, 2, 4, 7, 9, 12, 14, 16])
    beat = 60.0 / tempo / 2  # eighth notes
    phrase = rng.choice(scale, size=16)
    bass = rng.choice([0, 5, 7, -3], size=4)
    t_all = np.arange(int(seconds * rate)) / rate
    out = np.zeros_like(t_all)
    steps = int(np.ceil(seconds / beat))
    for step in range(steps):
        start = step * beat
        note = phrase[step % 16] + (12 if (step // 16) % 4 == 3 else 0)
        _add_note(out, t_all, rate, start, beat * 0.95, 220.0 * 2 ** (note / 12), 0.5, harmonics=5)
        if step % 4 == 0:
            root = bass[(step // 8) % 4]
            _add_note(out, t_all, rate, start, beat * 3.8, 110.0 * 2 ** (root / 12), 0.35, harmonics=3)
    return normalise(out.astype(np.float32))


def chords(seconds: float = 5.0, rate: int = 8000, seed: int = 0) -> np.ndarray:
    """Slow synthesised chords (three notes each, 1 s long)."""
    rng = np.random.default_rng(seed)
    t_all = np.arange(int(seconds * rate)) / rate
    out = np.zeros_like(t_all)
    for index in range(int(np.ceil(seconds))):
        root = rng.choice([0, 3, 5, 7, 10])
        for interval in (0, 4, 7):
            _add_note(out, t_all, rate, float(index), 0.98, 196.0 * 2 ** ((root + interval) / 12), 0.3, harmonics=4)
    return normalise(out.astype(np.float32))


def noise_bursts(seconds: float = 5.0, rate: int = 8000, seed: int = 0) -> np.ndarray:
    """Band-limited noise bursts at a steady rhythm (a texture with no pitch)."""
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    noise = rng.standard_normal(n)
    sos = butter(4, [300, min(2500, rate / 2 - 100)], btype="band", fs=rate, output="sos")
    noise = sosfilt(sos, noise)
    t = np.arange(n) / rate
    envelope = np.exp(-((t % 0.25) / 0.05))
    return normalise((noise * envelope).astype(np.float32))


def _add_note(out, t_all, rate, start, length, freq, amp, harmonics=4) -> None:
    first, last = int(start * rate), min(len(out), int((start + length) * rate))
    if first >= last:
        return
    t = t_all[first:last] - start
    attack, release = 0.01, min(0.08, length / 3)
    envelope = np.minimum(1.0, t / attack) * np.clip((length - t) / release, 0.0, 1.0) * np.exp(-2.0 * t)
    tone = sum((0.6**h) * np.sin(2 * np.pi * freq * (h + 1) * t) for h in range(harmonics) if freq * (h + 1) < rate / 2)
    out[first:last] += amp * envelope * tone


def moh_tracks() -> list[str]:
    """Names of the installed music-on-hold tracks (Debian `asterisk-moh-opsound-wav`), e.g. 'macroform-cold_day'."""
    if not MOH_ROOT.is_dir():
        return []
    return sorted(p.stem for p in MOH_ROOT.glob("*.wav"))


def moh_track(name: str, rate: int, seconds: float = 5.0, offset: float = 0.0) -> np.ndarray:
    """`seconds` of a music-on-hold track from `offset`, at `rate` (the tracks are 8 kHz).

    Raises:
        MissingAssetError: the package is not installed.
        InputError: an unknown track, or an offset past its end.
    """
    if not MOH_ROOT.is_dir():
        raise MissingAssetError("Debian's music-on-hold tracks", "apt-get install asterisk-moh-opsound-wav")
    path = MOH_ROOT / f"{name}.wav"
    if not path.is_file():
        raise InputError(f"unknown music-on-hold track {name!r}: expected one of {', '.join(moh_tracks())}")
    return _cut(read_clip(path, rate), rate, seconds, offset, name)


def _cut(signal: np.ndarray, rate: int, seconds: float, offset: float, name: str) -> np.ndarray:
    first = int(offset * rate)
    piece = signal[first : first + int(seconds * rate)]
    if len(piece) == 0:
        raise InputError(f"{name} is {len(signal) / rate:.1f} s long: expected an offset inside it, got {offset:g} s")
    return normalise(piece, name)


def sound_source(
    source: str, rate: int, *, seconds: float = 5.0, offset: float = 0.0, seed: int = 0, text: str | None = None
) -> np.ndarray:
    """A named offline sound or a file, peak-normalised at `rate`.

    Args:
        source: 'melody', 'chords', 'noise-bursts' (synthesised), 'moh:TRACK', 'sample:NAME' (pygame's sounds,
            e.g. 'sample:house'), 'speech' (espeak-ng reads `text`), or a path to a sound file.
        rate: the output rate.
        seconds, offset: the stretch to synthesise, or to keep at most (files and tracks) from `offset`.
        seed: for the synthesised sounds.
        text: the sentence for 'speech'.
    """
    if source == "melody":
        return melody(seconds, rate, seed)
    if source == "chords":
        return chords(seconds, rate, seed)
    if source == "noise-bursts":
        return noise_bursts(seconds, rate, seed)
    if source.startswith("moh:"):
        return moh_track(source[4:], rate, seconds, offset)
    if source == "speech" or source.startswith("sample:"):
        from tinkerlab.core.assets import sample_sound

        name = "speech" if source == "speech" else source.split(":", 1)[1]
        kwargs = {"text": text} if text else {}
        signal, _ = sample_sound(name, sample_rate=rate, **kwargs)
        return _cut(normalise(signal, source), rate, seconds, offset, source)
    return _cut(read_clip(source, rate), rate, seconds, offset, source)
