"""Denoising in tinkerlab.waveform: the cpu preset's alpha1, the check's oracle Wiener filter and decomposition,
the check itself and the CLI option on a tiny setting."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from tinkerlab.core.audio import save_audio
from tinkerlab.core.errors import InputError, MissingAssetError
from tinkerlab.waveform.checks import decompose, denoising_check, oracle_wiener
from tinkerlab.waveform.config import CPU_DENOISING_MSE_WEIGHT, WaveformConfig, demo_waveform_config
from tinkerlab.waveform.metrics import snr
from tinkerlab.waveform.sounds import melody


def test_cpu_preset_weights_the_denoising_mse_and_nothing_else():
    assert demo_waveform_config("denoising").mse_weight == CPU_DENOISING_MSE_WEIGHT == 30.0
    assert demo_waveform_config("speech").mse_weight == demo_waveform_config("inpainting").mse_weight == 10.0
    assert WaveformConfig(mode="denoising").mse_weight == 10.0  # the paper preset keeps the original's alpha1


def test_oracle_wiener_bounds_a_filter_and_keeps_a_clean_signal():
    rng = np.random.default_rng(0)
    clean = melody(2.0, 2000)
    noise = 0.1 * rng.standard_normal(len(clean)).astype(np.float32)
    assert snr(oracle_wiener(clean + noise, clean), clean) > snr(clean + noise, clean) + 3
    np.testing.assert_allclose(oracle_wiener(clean, clean), clean, atol=1e-5)
    with pytest.raises(InputError, match="expected a noisy and a clean signal of one length"):
        oracle_wiener(clean[:-1], clean)


def test_decompose_recovers_the_parts():
    rng = np.random.default_rng(1)
    clean, noise, other = (rng.standard_normal(4000) for _ in range(3))
    parts = decompose(0.8 * clean + 0.25 * noise + 0.1 * other, clean, noise)
    assert parts["a"] == pytest.approx(0.8, abs=0.01) and parts["b"] == pytest.approx(0.25, abs=0.01)
    assert parts["rest"] == pytest.approx(0.01, rel=0.1)


def test_denoising_check_on_a_tiny_setting():
    config = demo_waveform_config(epochs=1, top_rate=640, channels=4)
    try:
        result = denoising_check(config, None, mse_weight=50.0)
    except MissingAssetError:
        pytest.skip("espeak-ng is not installed")
    assert result["rates"] == [500, 640] and result["mse_weight"] == 50.0
    assert result["snr_in"] == pytest.approx(10.0, abs=1e-3)
    assert result["snr_wiener"] > result["snr_in"]
    assert set(result["parts"]) == {"a", "b", "rest"} and np.all(np.isfinite(result["signals"]["denoised"]))


def test_cli_denoise_takes_the_mse_weight(tmp_path):
    from tinkerlab.waveform.cli import app

    noisy = melody(4.0, 800) + 0.05 * np.random.default_rng(0).standard_normal(3200).astype(np.float32)
    wav = save_audio(noisy / np.abs(noisy).max(), 800, tmp_path / "noisy.wav")
    run = tmp_path / "run"
    args = ["denoise", str(wav), "--out", str(run), "--epochs", "1", "--top-rate", "800", "--mse-weight", "50"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (run / "outputs" / "denoised.wav").is_file()
    assert json.loads((run / "config.json").read_text())["config"]["mse_weight"] == 50.0
