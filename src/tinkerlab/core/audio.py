"""Audio I/O: mono float32 signals in [-1, 1] with their sample rate."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np

from tinkerlab.core.errors import InputError


def load_audio(
    path: str | Path, *, sample_rate: int | None = None, max_seconds: float | None = None
) -> tuple[np.ndarray, int]:
    """Read an audio file as mono float32 in [-1, 1].

    Args:
        path: a WAV, FLAC or OGG file (anything libsndfile reads).
        sample_rate: resample to this rate when given (polyphase, scipy).
        max_seconds: keep only the first `max_seconds`.

    Returns:
        (signal of shape (n,), sample rate)
    """
    import soundfile

    path = Path(path)
    if not path.exists():
        raise InputError(f"audio file {str(path)!r} does not exist")
    try:
        signal, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:
        raise InputError(f"could not read {str(path)!r} as audio: {exc}") from exc
    signal = signal.mean(axis=1)
    if max_seconds is not None:
        signal = signal[: int(max_seconds * rate)]
    if sample_rate is not None and sample_rate != rate:
        signal = resample(signal, rate, sample_rate)
        rate = sample_rate
    return signal.astype(np.float32), int(rate)


def resample(signal: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Polyphase resampling from `rate_in` to `rate_out`."""
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(int(rate_in), int(rate_out))
    return resample_poly(signal, rate_out // g, rate_in // g).astype(np.float32)


def save_audio(signal: np.ndarray, sample_rate: int, path: str | Path) -> Path:
    """Write a mono signal as 16-bit PCM WAV (values clipped to [-1, 1])."""
    import soundfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), np.clip(np.asarray(signal, np.float32), -1, 1), int(sample_rate), subtype="PCM_16")
    return path


def audio_to_data_uri(signal: np.ndarray, sample_rate: int) -> str:
    """A WAV `data:` URI, for self-contained HTML audio players."""
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(
        buffer,
        np.clip(np.asarray(signal, np.float32), -1, 1),
        int(sample_rate),
        format="WAV",
        subtype="PCM_16",
    )
    return "data:audio/wav;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
