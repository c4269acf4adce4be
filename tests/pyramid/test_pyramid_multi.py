"""The engine on K signals at once with conditioning maps: batch from the real pyramid, per-signal z* and noise
amplitudes, shape checks, conditioning through G, D, the objective, sampling and checkpoints; and the
unconditioned single-image path unchanged by the new arguments."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from tinkerlab.core.errors import InputError
from tinkerlab.core.runs import RunDir
from tinkerlab.core.seeding import torch_threads
from tinkerlab.pyramid import singan
from tinkerlab.pyramid.config import ModelConfig, PyramidConfig, SinGANConfig, TrainConfig
from tinkerlab.pyramid.models import ImageDiscriminator, ImageGenerator, init_weights
from tinkerlab.pyramid.sampling import random_tensors, super_resolve
from tinkerlab.pyramid.scales import build_pyramid, conditioning_pyramid, resize
from tinkerlab.pyramid.trainer import (
    PyramidTrainer,
    ScaleSpec,
    ShapeMismatchError,
    WassersteinObjective,
    load_pyramid,
    make_noise,
)

SHAPES = [(12, 16), (18, 24)]


@pytest.fixture(autouse=True)
def one_thread():
    with torch_threads(1):
        yield


def two_images() -> torch.Tensor:
    """(2, 3, 18, 24): vertical stripes and a checkerboard, in [-1, 1]."""
    y, x = torch.meshgrid(torch.arange(18.0), torch.arange(24.0), indexing="ij")
    stripes = torch.sin(x / 1.5).expand(3, 18, 24) * torch.tensor([0.8, 0.2, -0.5]).view(3, 1, 1)
    checks = torch.sign(torch.sin(x / 2.0) * torch.sin(y / 2.0)).expand(3, 18, 24) * 0.6
    return torch.stack([stripes, checks])


def identity_maps(k: int, shape: tuple[int, int]) -> torch.Tensor:
    """(K, K, H, W): signal k has the one-hot map e_k everywhere."""
    return torch.eye(k).view(k, k, 1, 1).expand(k, k, *shape).contiguous()


class MultiPlan:
    """A tiny conditioned plan over K images (what a multi-image system builds)."""

    def __init__(self, reals, *, conditioned: bool = True, mode: str = "concat", rec_batch: int | None = None):
        self.reals = reals
        self.k = reals[0].shape[0]
        self.conditioned, self.mode = conditioned, mode
        self.rec_batch = self.k if rec_batch is None else rec_batch
        self.num_scales = len(reals)

    def build(self, index: int) -> ScaleSpec:
        real = self.reals[index]
        cond = self.k if self.conditioned else 0
        rng = torch.Generator().manual_seed(100 + index)
        generator = ImageGenerator(3, 8, 3, cond_channels=cond, conditioning=self.mode)
        discriminator = ImageDiscriminator(3, 8, 3, cond_channels=cond, conditioning=self.mode)
        init_weights(generator, rng)
        init_weights(discriminator, rng)
        spatial = tuple(real.shape[2:])
        rec_noise = make_noise(1, 3, spatial, generator.padding, rng, self.rec_batch)
        return ScaleSpec(
            real=real,
            generator=generator,
            discriminator=discriminator,
            objective=WassersteinObjective(),
            rec_noise=rec_noise,
            noise_channels=1 if index == 0 else 3,
            iterations=3,
            lr=5e-4,
            d_steps=1,
            g_steps=1,
            fixed_noise_amp=1.0 if index == 0 else None,
            conditioning=identity_maps(self.k, spatial) if self.conditioned else None,
        )


def fit(plan, run=None):
    return PyramidTrainer(plan, resize=resize, channels=3, seed=1, run=run).fit()


def test_k_images_train_with_conditioning_and_per_image_amplitudes():
    reals = build_pyramid(two_images(), SHAPES)
    pyramid = fit(MultiPlan(reals))
    assert pyramid.num_signals == 2 and pyramid.conditioned
    assert pyramid.noise_amps[0] == 1.0
    amps = pyramid.noise_amps[1]
    assert isinstance(amps, torch.Tensor) and amps.shape == (2,) and bool((amps > 0).all())
    assert amps[0] != amps[1]  # one amplitude per image, from each image's own reconstruction error
    assert pyramid.rec_noises[0].shape[0] == 2 and not torch.equal(pyramid.rec_noises[0][0], pyramid.rec_noises[0][1])
    reconstruction = pyramid.reconstruct()[-1]
    assert reconstruction.shape == (2, 3, 18, 24)
    # samples with the training maps (batch K) and with a map chosen per sample
    assert pyramid.sample(torch.Generator().manual_seed(0))[-1].shape == (2, 3, 18, 24)
    image1 = [identity_maps(2, s)[1:2] for s in SHAPES]
    per_scale_amps = [None] + [r.noise_amp[1].item() for r in pyramid.records[1:]]
    out = pyramid.sample(torch.Generator().manual_seed(0), batch=4, conditioning=image1, amps=per_scale_amps)
    assert out[-1].shape == (4, 3, 18, 24)
    with pytest.raises(InputError, match="one noise amplitude per training signal"):
        pyramid.sample(torch.Generator().manual_seed(0), batch=4, conditioning=image1)
    with pytest.raises(InputError, match="is conditioned"):
        pyramid.sample(torch.Generator().manual_seed(0), batch=3)
    with pytest.raises(InputError, match="give maps at the sampled shapes"):
        pyramid.sample(torch.Generator().manual_seed(0), shapes=[(10, 20), (15, 30)])
    with pytest.raises(InputError, match="finest scale is conditioned"):
        super_resolve(pyramid, reconstruction, (27, 36), torch.Generator().manual_seed(0))
    larger = super_resolve(
        pyramid, reconstruction, (27, 36), torch.Generator().manual_seed(0), conditioning=identity_maps(2, (18, 24))
    )
    assert larger.shape == (2, 3, 27, 36)


def test_the_map_changes_the_output_and_a_mixed_map_samples_at_any_size():
    reals = build_pyramid(two_images(), SHAPES)
    for mode in ("concat", "norm"):
        pyramid = fit(MultiPlan(reals, mode=mode))
        noises = [pyramid.draw_noise(i, s, torch.Generator().manual_seed(i), 1) for i, s in enumerate(SHAPES)]
        amps = [1.0, 0.1]
        outs = [
            pyramid.run(noises, conditioning=[identity_maps(2, s)[k : k + 1] for s in SHAPES], amps=amps)[-1]
            for k in range(2)
        ]
        assert not torch.allclose(outs[0], outs[1]), mode
        # a left-right ramp from image 0 to image 1, resized to every scale, at another size
        ramp = torch.linspace(0, 1, 40).view(1, 1, 1, 40).expand(1, 1, 20, 40)
        meld = torch.cat([1 - ramp, ramp], dim=1)
        maps = conditioning_pyramid(meld, [(13, 26), (20, 40)])
        assert torch.allclose(maps[0].sum(dim=1), torch.ones(1, 13, 26), atol=1e-5)
        amp_maps = pyramid.mixed_amps(maps)
        assert amp_maps[0] == 1.0 and amp_maps[1].shape == (1, 1, 20 + 6, 40 + 6)
        left, right = amp_maps[1][0, 0, 10, 3], amp_maps[1][0, 0, 10, -4]
        assert torch.allclose(torch.stack([left, right]), pyramid.noise_amps[1], atol=1e-5)
        shapes = [(13, 26), (20, 40)]
        noises = [pyramid.draw_noise(i, s, torch.Generator().manual_seed(i), 1) for i, s in enumerate(shapes)]
        assert pyramid.run(noises, conditioning=maps, amps=amp_maps)[-1].shape == (1, 3, 20, 40)
        first, second = random_tensors(pyramid, 2, size=(20, 40), conditioning=meld, amps=amp_maps, seed=3)
        assert first.shape == (1, 3, 20, 40) and not torch.equal(first, second)


def test_a_k2_pyramid_with_batch1_noise_or_fake_fails_loudly():
    reals = build_pyramid(two_images(), SHAPES)
    with pytest.raises(ShapeMismatchError, match=r"z\* has shape \(1, 3"):
        fit(MultiPlan(reals, rec_batch=1))
    # SinGAN's own plan fed two images: its z* is drawn for one image
    config = SinGANConfig(
        pyramid=PyramidConfig(max_size=24, min_size=12, num_scales=2),
        model=ModelConfig(base_width=8, max_width=8, num_layers=3),
        train=TrainConfig(iterations=2),
    )
    with pytest.raises(ShapeMismatchError, match="one z\\* per real signal"):
        fit(singan.SinGANPlan(reals, config))

    class FirstOnly(nn.Module):  # a generator that ignores all but the first signal
        def __init__(self, inner):
            super().__init__()
            self.inner, self.padding = inner, inner.padding

        def forward(self, noise, previous, conditioning=None):
            return self.inner(noise, previous, conditioning=conditioning)[:1]

    plan = MultiPlan(reals)
    build = plan.build

    def build_broken(index):
        spec = build(index)
        spec.generator = FirstOnly(spec.generator)
        return spec

    plan.build = build_broken
    with pytest.raises(ShapeMismatchError, match="the fake has shape \\(1, 3, 12, 16\\), expected \\(2, 3, 12, 16\\)"):
        fit(plan)


def test_conditioned_checkpoints_round_trip(tmp_path):
    reals = build_pyramid(two_images(), SHAPES)
    config = SinGANConfig(train=TrainConfig(iterations=3))
    run = RunDir.open(tmp_path / "run", system="pyramid", config=config)
    pyramid = fit(MultiPlan(reals), run)
    paths = [run.checkpoints / f"scale_{i}.pt" for i in range(2)]
    loaded = load_pyramid(
        paths, lambda i: ImageGenerator(3, 8, 3, cond_channels=2), channels=3, resize=resize, device="cpu"
    )
    assert torch.equal(loaded.conditionings[1], pyramid.conditionings[1])
    assert torch.equal(loaded.noise_amps[1], pyramid.noise_amps[1])
    assert torch.equal(loaded.reconstruct()[-1], pyramid.reconstruct()[-1])


class Legacy(nn.Module):
    """A module with the old call signature only (no conditioning keyword)."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.padding = getattr(inner, "padding", 0)

    def forward(self, x, other=None):
        return self.inner(x, other)


def test_the_unconditioned_single_image_path_is_what_it_was():
    """K = 1 without a map: the trainer passes no new arguments (modules with the old signature train to the same
    bits), and `run` with every new argument set to None gives the same output as without them."""
    config = SinGANConfig(
        pyramid=PyramidConfig(max_size=24, min_size=12, num_scales=2),
        model=ModelConfig(base_width=8, max_width=8, num_layers=3),
        train=TrainConfig(iterations=3),
    )
    reals = build_pyramid(two_images()[:1], SHAPES)
    plan = singan.SinGANPlan(reals, config)
    plain = fit(plan)

    class LegacyPlan:
        num_scales = 2

        def build(self, index):
            spec = plan.build(index)
            spec.generator, spec.discriminator = Legacy(spec.generator), Legacy(spec.discriminator)
            return spec

    legacy = fit(LegacyPlan())
    for a, b in zip(plain.generators, legacy.generators, strict=True):
        for (name, pa), pb in zip(a.state_dict().items(), b.inner.state_dict().values(), strict=True):
            assert torch.equal(pa, pb), name
    assert plain.noise_amps == legacy.noise_amps and all(isinstance(a, float) for a in plain.noise_amps)
    noises = [plain.draw_noise(i, s, torch.Generator().manual_seed(i)) for i, s in enumerate(SHAPES)]
    bare = plain.run(copy.deepcopy(noises))[-1]
    nones = plain.run(noises, conditioning=[None, None], amps=[None, None], cond_noises=[None, None])[-1]
    assert torch.equal(bare, nones)
    rng_a, rng_b = torch.Generator().manual_seed(4), torch.Generator().manual_seed(4)
    assert torch.equal(plain.sample(rng_a)[-1], plain.sample(rng_b, batch=1)[-1])


def test_a_conditioned_k2_run_resumes_to_the_same_bits(tmp_path):
    reals = build_pyramid(two_images(), SHAPES)
    config = SinGANConfig(train=TrainConfig(iterations=3))
    full = fit(MultiPlan(reals), RunDir.open(tmp_path / "full", system="pyramid", config=config))

    def stop_after_first(report, pyramid):
        if report.index == 0:
            raise KeyboardInterrupt

    partial = RunDir.open(tmp_path / "partial", system="pyramid", config=config)
    trainer = PyramidTrainer(MultiPlan(reals), resize=resize, channels=3, seed=1, run=partial)
    trainer.callbacks.append(stop_after_first)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit()
    resumed = fit(MultiPlan(reals), RunDir.open(tmp_path / "partial", system="pyramid", config=config))
    assert torch.equal(resumed.noise_amps[1], full.noise_amps[1])
    assert torch.equal(resumed.reconstruct()[-1], full.reconstruct()[-1])
