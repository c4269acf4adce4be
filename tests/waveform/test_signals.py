"""Clips, the sample-rate pyramid and the input checks of tinkerlab.waveform."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tinkerlab.core.audio import save_audio
from tinkerlab.core.errors import InputError
from tinkerlab.waveform.config import SAMPLE_RATES, WaveformConfig, demo_waveform_config, receptive_field
from tinkerlab.waveform.signals import (
    build_clip_pyramid,
    check_holes,
    check_low_rate,
    known_mask,
    min_samples,
    normalise,
    parse_holes,
    rates_up_to,
    read_clip,
)
from tinkerlab.waveform.sounds import melody


def test_sample_rates_are_the_originals():
    assert SAMPLE_RATES == (
        320,
        400,
        500,
        640,
        800,
        1000,
        1280,
        1600,
        2000,
        2500,
        4000,
        8000,
        10000,
        12000,
        14400,
        16000,
    )
    assert rates_up_to(4000) == [320, 400, 500, 640, 800, 1000, 1280, 1600, 2000, 2500, 4000]
    assert receptive_field(WaveformConfig()) == 2041  # 9 + 8 * (2 + 4 + ... + 128)


def test_first_scale_needs_length_and_energy():
    config = demo_waveform_config(top_rate=4000)
    clip = build_clip_pyramid(melody(5.0, 4000), config)
    assert clip.rates[0] == 500  # 5 s at 400 Hz is 2000 samples, shorter than the receptive field + 256
    assert all(len(s) >= min_samples(config) for s in clip.signals)
    assert clip.rates[-1] == 4000 and len(clip.signals[-1]) == 20000


def test_quiet_low_band_is_skipped_for_music_but_not_for_speech():
    rate = 4000
    t = np.arange(8 * rate) / rate
    high = (np.sin(2 * np.pi * 1500 * t) + 0.01 * np.sin(2 * np.pi * 100 * t)).astype(np.float32)  # little below 250 Hz
    music = build_clip_pyramid(normalise(high), demo_waveform_config("music", top_rate=rate))
    speech = build_clip_pyramid(normalise(high), demo_waveform_config("speech", top_rate=rate))
    assert music.rates[0] == 4000  # every coarser copy has mean energy below 0.0025
    assert speech.rates[0] == 500  # speech starts at 500 Hz whatever the energy
    # denoising speech (the denoising check): with the energy rule off, the first rate long enough for the networks
    denoising = build_clip_pyramid(
        normalise(high), replace(demo_waveform_config("denoising", top_rate=rate), min_energy=0)
    )
    assert denoising.rates[0] == 320  # 8 s at 320 Hz is 2560 samples, enough (speech mode would start at 500)


def test_too_short_clip_is_refused_with_the_length_needed():
    with pytest.raises(InputError, match=r"too short.*expected at least 0\.57 s at 4000 Hz.*got 0\.50 s"):
        build_clip_pyramid(melody(0.5, 4000), demo_waveform_config())


def test_silent_and_unreadable_files_are_refused(tmp_path):
    silent = save_audio(np.zeros(8000, np.float32), 8000, tmp_path / "silent.wav")
    with pytest.raises(InputError, match="silent: expected a peak amplitude"):
        read_clip(silent, 4000)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not really")
    with pytest.raises(InputError, match="could not read"):
        read_clip(broken, 4000)
    with pytest.raises(InputError, match="does not exist"):
        read_clip(tmp_path / "missing.wav", 4000)


def test_holes_are_parsed_and_checked():
    assert parse_holes("2.0-2.5, 4.1-4.3") == [(2.0, 2.5), (4.1, 4.3)]
    with pytest.raises(InputError, match="expected holes like"):
        parse_holes("2.0:2.5")
    with pytest.raises(InputError, match="end after it starts"):
        parse_holes("2.5-2.0")
    with pytest.raises(InputError, match="outside the clip: expected holes strictly inside 0-5.000 s"):
        check_holes([(4.5, 5.5)], 5.0)
    with pytest.raises(InputError, match="overlap"):
        check_holes([(1.0, 2.0), (1.5, 2.5)], 5.0)
    known = known_mask(10, 2, [(1.0, 2.0)])
    assert known.tolist() == [True, True, False, False] + [True] * 6


def test_holes_are_zeroed_at_every_scale():
    config = demo_waveform_config("inpainting", top_rate=2000)
    clip = build_clip_pyramid(melody(6.0, 2000), config, [(2.0, 2.5)])
    for rate, signal, known in zip(clip.rates, clip.signals, clip.known, strict=True):
        assert not known[int(2.0 * rate) : int(2.5 * rate)].any()
        assert np.all(signal[~known] == 0)


def test_low_rate_must_be_a_pyramid_rate():
    assert check_low_rate(2000, [1000, 2000, 4000]) == 1
    with pytest.raises(InputError, match=r"at 3000 Hz: expected one of the model's rates below .*: 1000, 2000"):
        check_low_rate(3000, [1000, 2000, 4000])


def test_offline_sources():
    from tinkerlab.waveform.sounds import moh_tracks, sound_source

    for name in ("melody", "chords", "noise-bursts"):
        signal = sound_source(name, 2000, seconds=1.5)
        assert signal.shape == (3000,) and np.abs(signal).max() == pytest.approx(1.0)
    if "macroform-cold_day" in moh_tracks():
        track = sound_source("moh:macroform-cold_day", 2000, seconds=2.0, offset=30.0)
        assert track.shape == (4000,)
        with pytest.raises(InputError, match="expected an offset inside it"):
            sound_source("moh:macroform-cold_day", 2000, seconds=2.0, offset=10_000.0)
    with pytest.raises(InputError, match="does not exist"):
        sound_source("no-such-file.wav", 2000)
