"""Spectrogram pictures of signals for the gallery and the docs (no audio I/O here)."""

from __future__ import annotations

import numpy as np


def spectrogram_image(
    signal: np.ndarray,
    rate: int,
    *,
    height: int = 96,
    px_per_second: float = 60.0,
    max_hz: float | None = None,
    floor_db: float = -70.0,
) -> np.ndarray:
    """A log-magnitude spectrogram as an HxWx3 float image in [0, 1] (low frequencies at the bottom, magma colours).

    Args:
        signal: the samples.
        rate: their sample rate.
        height: image rows (the frequency axis, 0 .. `max_hz`, default the Nyquist frequency).
        px_per_second: image columns per second.
        floor_db: levels below the peak minus this are black.
    """
    from matplotlib import colormaps
    from PIL import Image

    from tinkerlab.waveform.metrics import stft_power

    n_fft = 256 if rate <= 8000 else 512
    power = stft_power(np.asarray(signal, dtype=np.float64), n_fft, n_fft // 4)  # (frames, bins)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)
    if max_hz is not None:
        power = power[:, freqs <= max_hz]
    level = 10 * np.log10(power + 1e-12)
    level = np.clip((level - level.max() - floor_db) / -floor_db, 0.0, 1.0).T[::-1]  # (bins, frames), top = high
    width = max(8, round(len(signal) / rate * px_per_second))
    grey = Image.fromarray((level * 255).astype(np.uint8)).resize((width, height), Image.BILINEAR)
    return colormaps["magma"](np.asarray(grey) / 255.0)[:, :, :3].astype(np.float32)


def labelled_rows(rows: list[tuple[str, np.ndarray]], label_width: int = 150) -> np.ndarray:
    """Stack images (same height) as rows, each with its label written on a white strip to its left."""
    from PIL import Image, ImageDraw

    width = label_width + max(image.shape[1] for _, image in rows)
    strips = []
    for label, image in rows:
        canvas = Image.new("RGB", (width, image.shape[0] + 4), "white")
        canvas.paste(Image.fromarray((np.clip(image, 0, 1) * 255).astype(np.uint8)), (label_width, 2))
        ImageDraw.Draw(canvas).text((4, image.shape[0] // 2 - 6), label, fill="black")
        strips.append(np.asarray(canvas, dtype=np.float32) / 255.0)
    return np.concatenate(strips, axis=0)
