"""Training, resuming and every mode of tinkerlab.waveform on a tiny setting (2 scales, 2 epochs)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from typer.testing import CliRunner

from tinkerlab.core.audio import load_audio, save_audio
from tinkerlab.core.errors import InputError, ResumeError
from tinkerlab.waveform import training
from tinkerlab.waveform.config import demo_waveform_config
from tinkerlab.waveform.sounds import melody

RATE = 800
TINY = demo_waveform_config(epochs=2, top_rate=RATE)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run = tmp_path_factory.mktemp("waveform") / "run"
    return training.train(melody(4.0, RATE), TINY, out=run), run


def test_train_writes_a_run_and_loads_identically(trained):
    model, run = trained
    assert model.rates == [640, 800]
    assert (run / "checkpoints" / "scale_1.pt").is_file() and (run / "clip.wav").is_file()
    again = training.load(run)
    assert np.array_equal(again.reconstruct(), model.reconstruct())
    assert np.array_equal(again.generate(2.0, seed=3)[0], model.generate(2.0, seed=3)[0])
    resumed = training.train(melody(4.0, RATE), TINY, out=run)  # a finished run trains nothing
    assert np.array_equal(resumed.reconstruct(), model.reconstruct())
    with pytest.raises(ResumeError, match="config changed: epochs"):
        training.train(melody(4.0, RATE), replace(TINY, epochs=3), out=run)


def test_same_seed_same_model():
    a = training.train(melody(4.0, RATE), replace(TINY, epochs=1))
    b = training.train(melody(4.0, RATE), replace(TINY, epochs=1))
    assert np.array_equal(a.reconstruct(), b.reconstruct())


def test_generate_vary_and_extend_lengths(trained):
    model, _ = trained
    long = model.generate(9.0, n=2, seed=0)
    assert [len(s) for s in long] == [9 * RATE, 9 * RATE] and not np.array_equal(long[0], long[1])
    assert len(model.vary(1, start_scale=1)[0]) == 4 * RATE
    with pytest.raises(InputError, match=r"start scale must be in 1\.\.1"):
        model.vary(1, start_scale=2)
    low = melody(3.0, 640, seed=2)
    extended = model.extend(low, 640)
    assert len(extended) == 3 * RATE
    with pytest.raises(InputError, match="expected one of the model's rates below its top rate"):
        model.extend(melody(3.0, 500), 500)


def test_inpainting_keeps_known_samples_bit_exact(trained):
    model, _ = trained
    with pytest.raises(InputError, match="holes need mode 'inpainting'"):
        training.train(melody(4.0, RATE), TINY, holes=[(1.0, 1.2)])
    with pytest.raises(InputError, match=r"too short for its holes: expected at least 5\.20 s at 800 Hz"):
        training.train_inpainting(model, [(2.0, 2.1)])
    truth = melody(6.0, RATE)
    inpainter = training.train(truth, replace(TINY, mode="inpainting"), holes=[(3.0, 3.1)])
    fills = inpainter.inpaint(2, seed=0)
    known = inpainter.clip.known[-1]
    clip = truth
    assert np.array_equal(fills[0][known], clip[known]) and np.array_equal(fills[1][known], clip[known])
    assert not np.array_equal(fills[0][~known], fills[1][~known])  # the second fill draws fresh noise
    with pytest.raises(InputError, match="trained without holes"):
        model.inpaint()


def test_denoise_returns_the_reconstruction():
    noisy = melody(4.0, RATE) + 0.05 * np.random.default_rng(0).standard_normal(4 * RATE).astype(np.float32)
    clean = training.denoise(noisy, replace(TINY, mode="denoising", epochs=1))
    assert clean.shape == (4 * RATE,) and np.all(np.isfinite(clean))
    with pytest.raises(InputError, match="mode 'denoising'"):
        training.denoise(noisy, TINY)


def test_cli_train_generate_extend(tmp_path):
    from tinkerlab.waveform.cli import app

    wav = save_audio(melody(4.0, RATE), RATE, tmp_path / "clip.wav")
    run = tmp_path / "run"
    runner = CliRunner()
    common = ["--epochs", "1", "--top-rate", str(RATE)]
    result = runner.invoke(app, ["train", str(wav), "--out", str(run), *common])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["generate", str(run), "--seconds", "2", "--n", "2"])
    assert result.exit_code == 0, result.output
    signal, rate = load_audio(run / "outputs" / "generated" / "2s_seed0_1.wav")
    assert rate == RATE and len(signal) == 2 * RATE
    low = save_audio(melody(3.0, 640), 640, tmp_path / "low.wav")
    result = runner.invoke(app, ["extend", str(run), str(low)])
    assert result.exit_code == 0, result.output
    odd = save_audio(melody(3.0, 700), 700, tmp_path / "odd.wav")
    result = runner.invoke(app, ["extend", str(run), str(odd)])
    assert result.exit_code != 0 and "expected one of the model's rates" in str(result.exception)
