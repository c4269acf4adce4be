"""Offline audio metrics for Catch-A-Waveform (Greshler, Rott Shaham and Michaeli, NeurIPS 2021) and its checks.

Signals are 1-D float arrays; aligned metrics compare signals of (about) the same length sample by sample.

- `snr`: 10 log10(|ref|^2 / |est - ref|^2) in dB (the original's `calc_snr`).
- `lsd`: log-spectral distance, the original's `calc_lsd`: 2048-point Hann STFT frames, hop 2048, natural log of
  the power (floored at 1e-15); per frame the RMS over frequencies of the log difference, averaged over frames.
- `spectral_distance`: the multi-scale spectrogram loss relative to the reference's spectrogram norm (0 = same).
- `ltas` / `ltas_distance`: long-term average spectrum in dB (Welch) and the RMS dB difference of two of them;
  `per_second_ltas` compares each second of a signal with the clip's LTAS, next to the clip's own seconds.
- `max_normalised_xcorr` / `copy_scores`: for each window of an output, the maximum over all lags of its
  normalised cross-correlation with the training clip (1 = an exact copy, possibly scaled).
- `ndb`: an NDB-style bin test (Richardson and Weiss, 2018): k-means bins of log-band frames of the clip, then a
  two-proportion z-test per bin between the clip's and the samples' frames.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinkerlab.core.errors import InputError

LSD_FRAME = 2048


def _pair(est: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    est, ref = np.asarray(est, dtype=np.float64).reshape(-1), np.asarray(ref, dtype=np.float64).reshape(-1)
    n = min(len(est), len(ref))
    if n == 0:
        raise InputError("expected two non-empty signals, got an empty one")
    return est[:n], ref[:n]


def snr(est: np.ndarray, ref: np.ndarray) -> float:
    """Signal-to-noise ratio of `est` against `ref` in dB (the shorter length of the two).

    Example:
        >>> round(snr(np.array([1.0, 1.0]), np.array([1.0, 0.0])), 2)
        0.0
    """
    est, ref = _pair(est, ref)
    error = float(np.sum((est - ref) ** 2))
    if error == 0.0:
        return float("inf")
    return float(10 * np.log10(np.sum(ref**2) / error))


def stft_power(signal: np.ndarray, n_fft: int = LSD_FRAME, hop: int = LSD_FRAME) -> np.ndarray:
    """|STFT|^2 with centred frames (reflect padding by n_fft // 2) and a periodic Hann window: (frames, bins)."""
    signal = np.asarray(signal, dtype=np.float64).reshape(-1)
    pad = n_fft // 2
    mode = "reflect" if len(signal) > pad else "constant"
    padded = np.pad(signal, pad, mode=mode)
    frames = 1 + (len(padded) - n_fft) // hop
    if frames < 1:
        padded = np.pad(padded, (0, n_fft - len(padded)))
        frames = 1
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    index = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    return np.abs(np.fft.rfft(padded[index] * window, axis=1)) ** 2


def lsd(est: np.ndarray, ref: np.ndarray, eps: float = 1e-15, n_fft: int = LSD_FRAME) -> float:
    """Log-spectral distance (natural-log power, `n_fft`-point frames, hop `n_fft`; the original's 2048); 0 for
    identical signals.

    Raises:
        InputError: the lengths differ by more than 20 % (the original asserts the same).
    """
    a, b = np.asarray(est).reshape(-1), np.asarray(ref).reshape(-1)
    n = min(len(a), len(b))
    if n == 0 or abs(len(a) - len(b)) / n >= 0.2:
        raise InputError(f"LSD compares signals of about the same length, got {len(a)} and {len(b)} samples")
    x = np.log(np.maximum(stft_power(a[:n], n_fft, n_fft), eps))
    y = np.log(np.maximum(stft_power(b[:n], n_fft, n_fft), eps))
    return float(np.sqrt(((x - y) ** 2).mean(axis=1)).mean())


def spectral_distance(est: np.ndarray, ref: np.ndarray) -> float:
    """The multi-scale spectrogram loss of `est` against `ref`, divided by the same loss of silence against `ref`
    (0 = identical spectrograms, 1 = as far as silence)."""
    import torch

    from tinkerlab.waveform.losses import mss_loss

    est, ref = _pair(est, ref)
    a = torch.from_numpy(est.astype(np.float32))[None]
    b = torch.from_numpy(ref.astype(np.float32))[None]
    return float(mss_loss(a, b) / mss_loss(torch.zeros_like(b), b).clamp_min(1e-12))


def ltas(signal: np.ndarray, rate: int, nperseg: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Long-term average spectrum: (frequencies in Hz, power in dB), Welch with Hann windows of `nperseg`."""
    from scipy.signal import welch

    signal = np.asarray(signal, dtype=np.float64).reshape(-1)
    freqs, power = welch(signal, fs=rate, nperseg=min(nperseg, len(signal)))
    return freqs, 10 * np.log10(np.maximum(power, 1e-12))


def ltas_distance(a: np.ndarray, b: np.ndarray, rate: int, nperseg: int = 512, low_hz: float = 50.0) -> float:
    """RMS difference in dB between the LTAS of two signals, over frequencies from `low_hz` to Nyquist."""
    freqs, pa = ltas(a, rate, nperseg)
    _, pb = ltas(b, rate, nperseg)
    keep = freqs >= low_hz
    return float(np.sqrt(np.mean((pa[keep] - pb[keep]) ** 2)))


def per_second_ltas(
    signal: np.ndarray, clip: np.ndarray, rate: int, seconds: float = 1.0, nperseg: int = 512
) -> tuple[np.ndarray, np.ndarray]:
    """LTAS distance of each `seconds`-long segment to the whole clip's LTAS: (for `signal`, for the clip itself).

    The clip's own values say how much its seconds vary; a faithful sample's seconds should fall within them.
    """
    length = int(seconds * rate)
    if len(clip) < length or len(signal) < length:
        raise InputError(f"per-second LTAS needs at least {seconds:g} s of audio, got {len(signal) / rate:.2f} s")
    _, reference = ltas(clip, rate, nperseg)

    def distances(x: np.ndarray) -> np.ndarray:
        out = []
        for start in range(0, len(x) - length + 1, length):
            _, p = ltas(x[start : start + length], rate, nperseg)
            out.append(np.sqrt(np.mean((p[1:] - reference[1:]) ** 2)))
        return np.array(out)

    return distances(np.asarray(signal)), distances(np.asarray(clip))


def max_normalised_xcorr(window: np.ndarray, clip: np.ndarray) -> float:
    """max over lags of <w, c[lag:lag+n]> / (|w| |c[lag:lag+n]|), for a window `w` no longer than the clip `c`.

    Example:
        >>> c = np.sin(np.arange(400) * 0.3) + 0.1 * np.cos(np.arange(400) * 1.7)
        >>> round(max_normalised_xcorr(2.0 * c[100:200], c), 6)
        1.0
    """
    from scipy.signal import fftconvolve

    w = np.asarray(window, dtype=np.float64).reshape(-1)
    c = np.asarray(clip, dtype=np.float64).reshape(-1)
    n = len(w)
    if n == 0 or n > len(c):
        raise InputError(f"expected a window of 1..{len(c)} samples, got {n}")
    dots = fftconvolve(c, w[::-1], mode="valid")  # (len(c) - n + 1,)
    energy = np.concatenate(([0.0], np.cumsum(c**2)))
    norms = np.sqrt(np.maximum(energy[n:] - energy[:-n], 0.0)) * np.linalg.norm(w)
    valid = norms > 1e-9 * max(1.0, float(norms.max(initial=0.0)))
    if not valid.any():
        return 0.0
    return float(np.max(dots[valid] / norms[valid]))


def copy_scores(output: np.ndarray, clip: np.ndarray, rate: int, seconds: float = 1.0) -> np.ndarray:
    """`max_normalised_xcorr` of each non-overlapping `seconds` window of `output` against the whole clip."""
    length = int(seconds * rate)
    output = np.asarray(output, dtype=np.float64).reshape(-1)
    if len(output) < length:
        raise InputError(f"the copy test needs at least {seconds:g} s of output, got {len(output) / rate:.2f} s")
    starts = range(0, len(output) - length + 1, length)
    return np.array([max_normalised_xcorr(output[s : s + length], clip) for s in starts])


def band_features(signal: np.ndarray, rate: int, bands: int = 24, n_fft: int = 256) -> np.ndarray:
    """Frames of log energies in `bands` log-spaced frequency bands (60 Hz .. Nyquist): (frames, bands)."""
    power = stft_power(signal, n_fft, n_fft // 2)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)
    edges = np.geomspace(60.0, rate / 2, bands + 1)
    columns = []
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        inside = (freqs >= low) & (freqs < high)
        if not inside.any():
            inside = np.abs(freqs - (low + high) / 2) == np.abs(freqs - (low + high) / 2).min()
        columns.append(power[:, inside].mean(axis=1))
    return np.log(np.stack(columns, axis=1) + 1e-10)


def kmeans(points: np.ndarray, k: int, *, seed: int = 0, iterations: int = 50) -> np.ndarray:
    """Lloyd's k-means with k-means++ seeding: the (k, D) centres."""
    rng = np.random.default_rng(seed)
    centres = [points[rng.integers(len(points))]]
    for _ in range(1, k):
        d2 = np.min(((points[:, None, :] - np.array(centres)[None]) ** 2).sum(-1), axis=1)
        total = d2.sum()
        pick = rng.choice(len(points), p=d2 / total) if total > 0 else rng.integers(len(points))
        centres.append(points[pick])
    centres = np.array(centres)
    for _ in range(iterations):
        labels = np.argmin(((points[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
        moved = np.array([points[labels == j].mean(axis=0) if np.any(labels == j) else centres[j] for j in range(k)])
        if np.allclose(moved, centres):
            break
        centres = moved
    return centres


def ndb(
    samples: Sequence[np.ndarray], clip: np.ndarray, rate: int, *, bins: int = 20, alpha: float = 0.05, seed: int = 0
) -> tuple[int, int]:
    """Number of statistically different bins: (count, bins).

    The clip's log-band frames are clustered into `bins` k-means bins; every frame of the clip and of the samples
    is assigned to its nearest centre, and a two-proportion z-test (two-sided, level `alpha`) per bin compares the
    share of the samples' frames with the clip's. A model that matches the clip's frame distribution scores low.
    """
    from scipy.stats import norm

    reference = band_features(clip, rate)
    generated = np.concatenate([band_features(s, rate) for s in samples])
    if len(reference) < bins:
        raise InputError(f"the NDB test needs at least {bins} frames of the clip, got {len(reference)}")
    mean, std = reference.mean(axis=0), reference.std(axis=0) + 1e-6
    ref, gen = (reference - mean) / std, (generated - mean) / std
    centres = kmeans(ref, bins, seed=seed)

    def shares(x: np.ndarray) -> np.ndarray:
        labels = np.argmin(((x[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
        return np.bincount(labels, minlength=bins) / len(x)

    p1, p2 = shares(ref), shares(gen)
    n1, n2 = len(ref), len(gen)
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    se = np.sqrt(np.maximum(pooled * (1 - pooled) * (1 / n1 + 1 / n2), 1e-12))
    p_values = 2 * norm.sf(np.abs(p1 - p2) / se)
    return int(np.sum(p_values < alpha)), bins
