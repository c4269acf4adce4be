"""Model-free baselines that the Catch-A-Waveform checks compare against (none of them learns anything).

Bandwidth extension (a low-rate signal carried to a higher rate):
- `polyphase_upsample`: plain polyphase resampling (scipy); the high band stays empty.
- `spectral_extension`: the FFT-interpolated low band, plus a high band made by copying the low band's top
  octave of STFT frames upwards, repeatedly, with the gain of a straight line fitted to the log-magnitude over
  log-frequency of that octave (spectral replication with an extrapolated tilt, as in classic blind bandwidth
  extension).

Inpainting (samples missing in [start, end)):
- `zero_fill`: leave the hole silent.
- `crossfade_fill`: the hole-long stretch just before it, mirrored, cross-faded with a Hann ramp into the
  mirrored stretch just after it (so the fill is continuous at both borders).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinkerlab.core.audio import resample


def polyphase_upsample(signal: np.ndarray, low_rate: int, rate: int, length: int | None = None) -> np.ndarray:
    """Polyphase resampling from `low_rate` to `rate`, cut or zero-padded to `length` when given."""
    out = resample(np.asarray(signal, dtype=np.float32), low_rate, rate)
    return fit_length(out, length) if length is not None else out


def fit_length(signal: np.ndarray, length: int) -> np.ndarray:
    """Cut or zero-pad a 1-D signal to `length`."""
    signal = np.asarray(signal, dtype=np.float32)
    if len(signal) >= length:
        return signal[:length]
    return np.pad(signal, (0, length - len(signal)))


def fft_upsample(signal: np.ndarray, low_rate: int, rate: int, length: int | None = None) -> np.ndarray:
    """Band-limited (FFT) interpolation: the low band exactly as in the input, nothing above its Nyquist."""
    from scipy.signal import resample as fourier_resample

    length = length or round(len(signal) * rate / low_rate)
    return fourier_resample(np.asarray(signal, dtype=np.float64), length).astype(np.float32)


def spectral_extension(
    signal: np.ndarray, low_rate: int, rate: int, length: int | None = None, n_fft: int = 512
) -> np.ndarray:
    """Blind bandwidth extension by spectral replication with an extrapolated spectral tilt.

    Args:
        signal: the low-rate signal.
        low_rate, rate: its rate and the output rate.
        length: output samples (default: the input's duration at `rate`).
        n_fft: STFT size at the output rate.
    """
    from scipy.signal import istft, stft

    base = fft_upsample(signal, low_rate, rate, length)
    freqs, _, spec = stft(base, fs=rate, nperseg=n_fft)
    cutoff = low_rate / 2
    top = int(np.searchsorted(freqs, cutoff * 0.95))  # first bin of the empty band
    low = int(np.searchsorted(freqs, cutoff * 0.5))  # the top octave of the low band: [low, top)
    if top <= low + 1 or top >= len(freqs):
        return base
    band = spec[low:top]
    level = np.log(np.abs(band).mean(axis=1) + 1e-9)
    slope, intercept = np.polyfit(np.log(freqs[low:top]), level, 1)
    slope = min(slope, 0.0)  # a rising tilt would blow up the extrapolation
    width = top - low
    out = spec.copy()
    for k in range(top, len(freqs)):
        source = low + (k - top) % width
        gain = np.exp(slope * (np.log(freqs[k]) - np.log(freqs[source])))
        out[k] = spec[source] * gain
    _, extended = istft(out, fs=rate, nperseg=n_fft)
    return fit_length(extended.astype(np.float32), len(base))


def zero_fill(signal: np.ndarray, holes: Sequence[tuple[int, int]]) -> np.ndarray:
    """The signal with every hole [start, end) (in samples) set to 0."""
    out = np.array(signal, dtype=np.float32, copy=True)
    for start, end in holes:
        out[start:end] = 0.0
    return out


def crossfade_fill(signal: np.ndarray, holes: Sequence[tuple[int, int]]) -> np.ndarray:
    """Fill each hole [start, end) with the stretch before it faded (Hann ramp) into the stretch after it.

    Both stretches are as long as the hole (shorter near the signal's ends, then repeated) and mirrored about the
    hole's borders, so the fill starts with the sample before the hole and ends with the sample after it.
    """
    out = np.array(signal, dtype=np.float32, copy=True)
    for start, end in holes:
        length = end - start
        before = _tile(out[max(0, start - length) : start][::-1], length)  # mirrored: continuous at the start
        after = _tile(out[end : end + length], length)[::-1]  # mirrored: continuous at the end
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(length) + 0.5) / length)  # 0 -> 1
        out[start:end] = (1.0 - ramp) * before + ramp * after
    return out


def _tile(piece: np.ndarray, length: int) -> np.ndarray:
    if len(piece) == 0:
        return np.zeros(length, dtype=np.float32)
    return np.resize(piece, length).astype(np.float32)
