"""The pyramid engine and SinGAN on tiny images: shapes, determinism, resume, any-size sampling, bad input."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from tinkerlab.core.errors import InputError
from tinkerlab.core.seeding import torch_threads
from tinkerlab.pyramid import singan
from tinkerlab.pyramid.config import ModelConfig, PyramidConfig, SinGANConfig, TrainConfig
from tinkerlab.pyramid.models import ImageDiscriminator, ImageGenerator
from tinkerlab.pyramid.sampling import parse_size
from tinkerlab.pyramid.scales import scale_shapes


@pytest.fixture(autouse=True)
def one_thread():
    with torch_threads(1):
        yield


def tiny_config(iterations: int = 4, seed: int = 0) -> SinGANConfig:
    return SinGANConfig(
        pyramid=PyramidConfig(max_size=32, min_size=16, num_scales=3),
        model=ModelConfig(base_width=8, max_width=8),
        train=TrainConfig(iterations=iterations),
        seed=seed,
    )


def tiny_image(height: int = 24, width: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    _, x = np.mgrid[0:height, 0:width]
    stripes = 0.5 + 0.4 * np.sin(x / 2.0)[:, :, None] * np.array([1.0, 0.5, -0.5])
    return np.clip(stripes + 0.05 * rng.standard_normal((height, width, 3)), 0, 1).astype(np.float32)


def test_scale_shapes_follow_the_singan_rule():
    shapes = scale_shapes(188, 250, PyramidConfig())
    assert shapes[-1] == (188, 250)
    assert min(shapes[0]) == 25
    assert len(shapes) == 9  # the reference: a 250x188 image gives 9 scales
    fixed = scale_shapes(48, 64, PyramidConfig(max_size=64, min_size=20, num_scales=5))
    assert len(fixed) == 5 and fixed[0][0] == 20 and fixed[-1] == (48, 64)


def test_image_too_small_is_refused_with_the_expected_size():
    with pytest.raises(InputError, match="at least min_size=25"):
        scale_shapes(20, 40, PyramidConfig())
    with pytest.raises(InputError, match="receptive field"):
        scale_shapes(64, 64, PyramidConfig(min_size=10))
    with pytest.raises(InputError, match="too small"):
        singan.train(tiny_image(12, 12), tiny_config())


def test_generator_keeps_size_and_is_residual_and_discriminator_masks():
    generator = ImageGenerator(3, 8)
    previous = torch.zeros(1, 3, 20, 30)
    out = generator(torch.zeros(1, 3, 30, 40), previous)
    assert out.shape == (1, 3, 20, 30)
    discriminator = ImageDiscriminator(3, 8, masked=True)
    valid = torch.ones(1, 1, 20, 30)
    valid[:, :, 8:12, 10:14] = 0
    scores, score_valid = discriminator(torch.randn(1, 3, 20, 30), valid)
    assert scores.shape == (1, 1, 10, 20) == score_valid.shape
    assert float(score_valid.sum()) < 200  # positions whose receptive field meets the hole are invalid
    assert torch.all(scores[score_valid == 0] == 0)


def test_training_runs_in_seconds_and_is_deterministic(tmp_path):
    image = tiny_image()
    start = time.perf_counter()
    model = singan.train(image, tiny_config(), out=tmp_path / "run")
    assert time.perf_counter() - start < 30
    again = singan.train(image, tiny_config())
    for a, b in zip(model.pyramid.generators, again.pyramid.generators, strict=False):
        for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=False):
            assert torch.equal(pa, pb), name
    samples = model.sample(2, seed=3)
    assert samples[0].shape == (24, 32, 3) and samples[0].dtype == np.float32
    assert not np.array_equal(samples[0], samples[1])
    assert np.array_equal(samples[0], again.sample(2, seed=3)[0])
    assert model.pyramid.noise_amps[0] == 1.0 and all(a > 0 for a in model.pyramid.noise_amps)
    for index in range(3):
        assert (tmp_path / "run" / "outputs" / "scales" / f"scale_{index}_sample.png").exists()
        assert (tmp_path / "run" / "checkpoints" / f"scale_{index}.pt").exists()


def test_any_size_and_start_scale_and_reload(tmp_path):
    model = singan.train(tiny_image(), tiny_config(), out=tmp_path / "run")
    wide = model.sample(1, size=(20, 60), seed=1)[0]
    assert wide.shape == (20, 60, 3)
    fine_only = model.sample(1, start_scale=2, seed=1)[0]
    assert fine_only.shape == (24, 32, 3)
    loaded = singan.load(tmp_path / "run")
    assert np.array_equal(loaded.sample(1, seed=5)[0], model.sample(1, seed=5)[0])
    with pytest.raises(InputError, match="start_scale"):
        model.sample(1, start_scale=7)


def test_resume_continues_from_the_last_finished_scale(tmp_path):
    image = tiny_image()
    full = singan.train(image, tiny_config(), out=tmp_path / "full")
    run = tmp_path / "partial"
    calls = []

    def stop_after_first(report, pyramid):
        calls.append(report.index)
        if report.index == 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        singan.train(image, tiny_config(), out=run, callbacks=[stop_after_first])
    resumed = []
    model = singan.train(image, tiny_config(), out=run, callbacks=[lambda r, p: resumed.append(r.resumed)])
    assert resumed == [True, False, False]
    assert np.array_equal(model.sample(1, seed=2)[0], full.sample(1, seed=2)[0])


def test_parse_size():
    assert parse_size("48x64") == (48, 64)
    with pytest.raises(InputError, match="48x64"):
        parse_size("48by64")
