"""BlendGAN training and inference on tiny images: shapes, identities, determinism, resume, load, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tinkerlab.blend import training
from tinkerlab.blend.config import BlendConfig
from tinkerlab.blend.maps import Ramp, fusion_map, one_hot
from tinkerlab.core.errors import InputError, ResumeError
from tinkerlab.core.seeding import torch_threads
from tinkerlab.pyramid.config import ModelConfig, PyramidConfig, SinGANConfig, TrainConfig


@pytest.fixture(autouse=True)
def one_thread():
    with torch_threads(1):
        yield


def tiny_config(conditioning: str = "concat", iterations: int = 2, seed: int = 0) -> BlendConfig:
    return BlendConfig(
        base=SinGANConfig(
            pyramid=PyramidConfig(max_size=24, min_size=14, num_scales=2),
            model=ModelConfig(base_width=8, max_width=8),
            train=TrainConfig(iterations=iterations, d_steps=1, g_steps=1),
            seed=seed,
        ),
        conditioning=conditioning,
    )


def two_images(size: int = 24) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    stripes = np.zeros((size, size, 3), np.float32)
    stripes[:, ::4] = 1.0
    return [stripes, rng.random((size, size, 3)).astype(np.float32) * 0.5 + 0.25]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    with torch_threads(1):
        run = tmp_path_factory.mktemp("blend") / "run"
        return training.train(two_images(), tiny_config(), out=run), run


def test_one_model_trains_on_k_images_with_identity_conditioning(trained):
    model, run = trained
    assert model.num_images == 2 and model.shapes == [(14, 14), (24, 24)]
    record = model.pyramid.records[1]
    assert record.conditioning.shape == (2, 2, 24, 24) and record.rec_noise.shape[0] == 2
    assert isinstance(record.noise_amp, torch.Tensor) and record.noise_amp.shape == (2,)
    assert record.generator.cond_channels == 2 and record.generator.in_channels == 3 + 2
    assert (run / "input_0.png").is_file() and (run / "input_1.png").is_file()
    assert (run / "outputs" / "scales" / "scale_1.png").is_file()
    assert len(model.reconstruction()) == 2 and model.reconstruction()[0].shape == (24, 24, 3)


def test_every_mode_gives_images_of_the_model_size_and_is_seeded(trained):
    model, _ = trained
    samples = model.sample(1, 3, seed=4)
    assert len(samples) == 3 and samples[0].shape == (24, 24, 3)
    assert np.array_equal(samples[0], model.sample(1, 3, seed=4)[0])
    assert not np.array_equal(samples[0], model.sample(0, 3, seed=4)[0])
    frames = model.morph(0, 1, 4, seed=1)
    assert len(frames) == 4 and np.allclose(frames[0], model.generate(one_hot(0, 2), 1, seed=1)[0], atol=1e-5)
    assert model.meld(0, 1, n=2)[1].shape == (24, 24, 3)
    assert np.allclose(model.meld(0, 1, seed=3)[0], model.generate(Ramp(0, 1, 2), seed=3)[0], atol=1e-5)
    mask = np.zeros((24, 24), np.float32)
    mask[:12] = 1.0
    assert model.meld(0, 1, mask=mask)[0].shape == (24, 24, 3)
    assert model.fuse(0, 1)[0].shape == (24, 24, 3) and model.fuse(1, 0, layout="random", n=2)[1].shape == (24, 24, 3)


def test_fusion_with_the_structure_everywhere_replays_its_reconstruction(trained):
    model, _ = trained
    replayed = model.generate(one_hot(0, 2), 1, replay=(0, 2))[0]
    assert np.allclose(replayed, model.reconstruction()[0], atol=1e-5)


def test_fusion_texture_noise_scales_only_the_texture_scales(trained):
    model, _ = trained
    plain = model.fuse(0, 1, seed=4)[0]
    assert np.array_equal(model.fuse(0, 1, seed=4, texture_noise=1.0)[0], plain)
    louder = model.fuse(0, 1, seed=4, texture_noise=3.0)[0]
    assert np.abs(louder - plain).max() > 1e-6  # the tiny model uses its noise little, but it does change
    # the same gains by hand: the coarse scale unchanged, the fine one times 3
    by_hand = model.generate(fusion_map(0, 1, 2, 1), 1, seed=4, replay=(0, 1), gains=[1.0, 3.0])[0]
    assert np.array_equal(by_hand, louder)


def test_bad_identity_maps_and_indices_are_refused(trained):
    model, _ = trained
    with pytest.raises(InputError, match=r"--image|image: expected an image index in 0..1 .*got 2"):
        model.sample(2)
    with pytest.raises(InputError, match="expected 2 identity channels"):
        model.generate(one_hot(0, 3))
    with pytest.raises(InputError, match="expected a meld map of the model's size 24x24"):
        model.meld(mask=np.zeros((20, 24), np.float32))
    with pytest.raises(InputError, match="switch"):
        model.fuse(0, 1, switch=2)
    with pytest.raises(InputError, match="positive texture noise factor"):
        model.fuse(0, 1, texture_noise=0)
    with pytest.raises(InputError, match="at least 2 morph steps"):
        model.morph(0, 1, 1)


def test_load_resume_and_another_config(trained, tmp_path):
    model, run = trained
    loaded = training.load(run)
    assert np.array_equal(loaded.sample(0, 2, seed=5)[1], model.sample(0, 2, seed=5)[1])
    again = training.train(two_images(), tiny_config(), out=run)
    assert "resumed run" in (run / "run.log").read_text()
    assert np.array_equal(again.sample(1, 1)[0], model.sample(1, 1)[0])
    with pytest.raises(ResumeError, match="conditioning"):
        training.train(two_images(), tiny_config("norm"), out=run)
    with pytest.raises(InputError, match="is not a blend run directory"):
        training.load(tmp_path)


def test_norm_conditioning_trains_and_is_deterministic():
    first = training.train(two_images(), tiny_config("norm", iterations=1))
    second = training.train(two_images(), tiny_config("norm", iterations=1))
    assert first.pyramid.records[0].generator.cond_mode == "norm"
    assert np.array_equal(first.sample(0, 1)[0], second.sample(0, 1)[0])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (--device cuda)")
def test_cuda_training_and_sampling(tmp_path):
    config = tiny_config()
    config = BlendConfig(base=SinGANConfig(**{**config.base.__dict__, "device": "cuda"}))
    model = training.train(two_images(), config, out=tmp_path / "run")
    assert model.pyramid.device.type == "cuda" and model.sample(1, 2)[0].shape == (24, 24, 3)
    loaded = training.load(tmp_path / "run", device="cpu")
    assert loaded.morph(0, 1, 3)[2].shape == (24, 24, 3)


def test_an_interrupted_run_resumes_to_the_same_model(tmp_path):
    class Stop(Exception):
        pass

    def stop_after_first(report, pyramid):
        if report.index == 0 and not report.resumed:
            raise Stop

    run = tmp_path / "run"
    with pytest.raises(Stop):
        training.train(two_images(), tiny_config(), out=run, callbacks=[stop_after_first])
    resumed = training.train(two_images(), tiny_config(), out=run)
    assert "scale 0 loaded from checkpoint" in (run / "run.log").read_text()
    straight = training.train(two_images(), tiny_config())
    assert np.allclose(resumed.sample(0, 2, seed=3)[1], straight.sample(0, 2, seed=3)[1], atol=1e-6)
