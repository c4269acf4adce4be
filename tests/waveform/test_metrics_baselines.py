"""Metrics and model-free baselines of tinkerlab.waveform on hand-made signals."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tinkerlab.core.errors import InputError
from tinkerlab.waveform.baselines import crossfade_fill, polyphase_upsample, spectral_extension, zero_fill
from tinkerlab.waveform.metrics import (
    copy_scores,
    lsd,
    ltas_distance,
    max_normalised_xcorr,
    ndb,
    per_second_ltas,
    snr,
    spectral_distance,
    stft_power,
)
from tinkerlab.waveform.modes import merge_bands, stitch_holes
from tinkerlab.waveform.sounds import melody

RATE = 2000


def test_snr_known_values():
    ref = np.array([1.0, -1.0, 1.0, -1.0])
    assert snr(ref * 1.1, ref) == pytest.approx(20.0)  # error 10 % of the amplitude
    assert snr(ref, ref) == float("inf")


def test_lsd_frames_match_torch_stft():
    x = np.random.default_rng(0).standard_normal(5000)
    spec = torch.stft(
        torch.from_numpy(x), 2048, 2048, window=torch.hann_window(2048, dtype=torch.float64), return_complex=True
    )
    assert np.allclose(stft_power(x), spec.abs().numpy().T ** 2)
    assert lsd(x, x) == 0.0
    assert lsd(x, 0.5 * x) == pytest.approx(math.sqrt((2 * math.log(2)) ** 2))  # power ratio 4 everywhere
    with pytest.raises(InputError, match="about the same length"):
        lsd(x, x[:1000])


def test_spectral_and_ltas_distances():
    clip = melody(3.0, RATE)
    assert spectral_distance(clip, clip) == 0.0
    assert spectral_distance(np.zeros_like(clip), clip) == pytest.approx(1.0)
    assert ltas_distance(clip, clip, RATE) == 0.0
    noise = np.random.default_rng(0).standard_normal(len(clip)).astype(np.float32)
    assert ltas_distance(noise, clip, RATE) > 5.0
    own, clip_own = per_second_ltas(clip, clip, RATE)
    assert len(own) == 3 and np.array_equal(own, clip_own)


def test_copy_test_positive_control_and_novel_signal():
    clip = melody(4.0, RATE)
    c = np.sin(np.arange(400) * 0.3) + 0.1 * np.cos(np.arange(400) * 1.7)
    assert max_normalised_xcorr(-0.5 * c[10:110], c) < 1.0  # a flipped sign is not a copy
    assert np.allclose(copy_scores(clip[RATE // 2 : RATE // 2 + 2 * RATE], clip, RATE), 1.0)
    other = melody(2.0, RATE, seed=5)
    assert copy_scores(other, clip, RATE).max() < 0.9


def test_ndb_counts_few_bins_for_the_same_source_and_many_for_noise():
    clip = melody(6.0, RATE)
    same, bins = ndb([clip], clip, RATE)
    assert same == 0 and bins == 20
    noise = np.random.default_rng(1).standard_normal(len(clip)).astype(np.float32)
    different, _ = ndb([noise], clip, RATE)
    assert different >= 10


def test_inpainting_baselines():
    x = np.arange(20, dtype=np.float32)
    assert zero_fill(x, [(5, 8)])[5:8].tolist() == [0, 0, 0]
    filled = crossfade_fill(x, [(8, 12)])
    assert np.array_equal(filled[:8], x[:8]) and np.array_equal(filled[12:], x[12:])
    assert filled[8] == pytest.approx(x[7], abs=0.5) and filled[11] == pytest.approx(x[12], abs=0.5)


def test_stitch_keeps_known_samples_bit_exact_and_joins_the_borders():
    rng = np.random.default_rng(0)
    clip = rng.standard_normal(1000).astype(np.float32)
    known = np.ones(1000, dtype=bool)
    known[400:600] = False
    generated = clip + 0.3  # a fill that is offset from the clip everywhere
    out = stitch_holes(np.where(known, clip, 0.0), generated, known, seam=40)
    assert np.array_equal(out[known], clip[known])
    assert abs(out[400] - (clip[399] + (generated[400] - generated[399]))) < 1e-5  # continues the clip
    assert np.allclose(out[450:550], generated[450:550])  # the middle is the model's


def test_bandwidth_baselines_and_band_merge():
    rate, low_rate = 4000, 1000
    full = melody(3.0, rate)
    low = polyphase_upsample(full, rate, low_rate)
    assert len(low) == 3 * low_rate
    up = polyphase_upsample(low, low_rate, rate, len(full))
    extended = spectral_extension(low, low_rate, rate, len(full))
    freqs = np.fft.rfftfreq(len(full), 1 / rate)
    high = freqs > 700

    def high_energy(x):
        return float(np.sum(np.abs(np.fft.rfft(x))[high] ** 2))

    assert high_energy(extended) > 10 * high_energy(up)  # the baseline fills the empty band
    merged = merge_bands(low, low_rate, np.zeros(len(full), np.float32), rate)
    assert high_energy(merged) < 1e-3 * high_energy(full)
    below = freqs < 100
    assert np.allclose(np.fft.rfft(merged)[below], np.fft.rfft(up)[below], atol=5.0)
