"""The engine on 1-D signals beside 2-D ones: the masked parts (erosion, dilation, blur, masked statistics, masked
objective), noise over the unpadded shape, the conditioning-noise hook, sampling at any length."""

from __future__ import annotations

import pytest
import torch

from tinkerlab.core.seeding import torch_threads
from tinkerlab.pyramid.masks import (
    MaskedBatchNorm,
    MaskedObjective,
    box_dilate,
    dilate,
    erode_valid,
    gaussian_blur,
    gradual_weights,
)
from tinkerlab.pyramid.models import ImageDiscriminator, ImageGenerator, init_weights
from tinkerlab.pyramid.sampling import random_tensors, sample_shapes, super_resolve
from tinkerlab.pyramid.scales import resize, resize_mask
from tinkerlab.pyramid.trainer import PyramidTrainer, ScaleSpec, WassersteinObjective, make_noise

LENGTHS = [(60,), (90,)]


@pytest.fixture(autouse=True)
def one_thread():
    with torch_threads(1):
        yield


def clip(length: int = 90, seed: int = 0) -> torch.Tensor:
    """(1, 1, T): two sines and a little noise."""
    t = torch.arange(float(length))
    g = torch.Generator().manual_seed(seed)
    signal = 0.5 * torch.sin(t / 2.0) + 0.3 * torch.sin(t / 7.0) + 0.05 * torch.randn(length, generator=g)
    return signal.view(1, 1, -1)


def test_masked_parts_in_1d_match_their_2d_counterparts():
    row = torch.zeros(1, 1, 40)
    row[..., 18:22] = 1.0
    image = row.view(1, 1, 1, 40)
    assert torch.equal(dilate(row, 3)[0, 0], dilate(image, 3)[0, 0, 0])  # a row of a disk's dilation: +-3
    assert dilate(row, 3)[0, 0].nonzero().flatten().tolist() == list(range(15, 25))
    assert torch.allclose(gaussian_blur(row, 2.0)[0, 0], gaussian_blur(image, 2.0)[0, 0, 0], atol=1e-6)
    assert torch.equal(box_dilate(row, 5)[0, 0], box_dilate(image.expand(1, 1, 5, 40), 5)[0, 0, 2])
    valid = 1.0 - row
    eroded = erode_valid(valid, 3)
    assert eroded.shape == (1, 1, 38) and eroded[0, 0, 16:22].sum() == 0 and eroded[0, 0, :16].min() == 1
    band = gradual_weights(row, 2)
    assert band.shape == row.shape and float(band[..., 18:22].abs().sum()) == 0 and 0 < float(band[0, 0, 14]) < 1
    assert resize_mask(row, (20,))[0, 0, 9:11].min() == 1  # no hole is lost when shrinking
    norm = MaskedBatchNorm(4)
    x = torch.randn(2, 4, 40)
    out = norm(x, valid.expand(2, 1, 40))
    assert torch.all(out[..., 18:22] == 0)
    mask = valid.expand(2, 1, 40)
    mean = (out * mask).sum(dim=(0, 2)) / mask.sum()
    var = ((out * mask) ** 2).sum(dim=(0, 2)) / mask.sum()
    assert torch.allclose(mean, torch.zeros(4), atol=1e-5) and torch.allclose(var, torch.ones(4), atol=1e-3)


def test_1d_masked_scale_learns_nothing_from_the_hole():
    """A 1-D scale trained with the masked discriminator and objective: hole samples change no weight."""
    hole = torch.zeros(1, 1, 90)
    hole[..., 40:50] = 1.0

    def train(signal):
        gen_rng = torch.Generator().manual_seed(5)
        generator = ImageGenerator(1, 8, 3, dims=1)
        discriminator = ImageDiscriminator(1, 8, 3, masked=True, dims=1)
        init_weights(generator, gen_rng)
        init_weights(discriminator, gen_rng)
        known = signal * (1.0 - hole)  # hole samples zeroed before use, as IDC does
        spec = ScaleSpec(
            real=known,
            generator=generator,
            discriminator=discriminator,
            objective=MaskedObjective(1.0 - hole, gradual_weights(hole, 1)),
            rec_noise=make_noise(1, 1, (90,), generator.padding, gen_rng),
            noise_channels=1,
            iterations=3,
            lr=5e-4,
            d_steps=1,
            g_steps=1,
            fixed_noise_amp=1.0,
        )

        class Plan:
            num_scales = 1

            def build(self, index):
                return spec

        return PyramidTrainer(Plan(), resize=resize, channels=1, seed=0).fit()

    first = train(clip())
    other = clip().clone()
    other[..., 40:50] = 5.0
    second = train(other)
    weights = zip(first.generators[0].state_dict().items(), second.generators[0].state_dict().values(), strict=True)
    for (name, a), b in weights:
        assert torch.equal(a, b), name


class Plan1D:
    """A 2-scale 1-D plan with a large receptive field (kernel 9), noise over the unpadded length, and
    conditioning noise at scale 1."""

    def __init__(self, *, unpadded: bool = True, cond_noise: float = 0.2):
        self.reals = [resize(clip(), length) for length in LENGTHS]
        self.unpadded, self.cond_noise = unpadded, cond_noise
        self.num_scales = 2

    def build(self, index):
        rng = torch.Generator().manual_seed(index)
        generator = ImageGenerator(1, 8, 4, kernel_size=9, dims=1)
        discriminator = ImageDiscriminator(1, 8, 4, kernel_size=9, dims=1)
        init_weights(generator, rng)
        init_weights(discriminator, rng)
        return ScaleSpec(
            real=self.reals[index],
            generator=generator,
            discriminator=discriminator,
            objective=WassersteinObjective(),
            rec_noise=make_noise(1, 1, LENGTHS[index], generator.padding, rng, unpadded=self.unpadded),
            noise_channels=1,
            iterations=2,
            lr=1e-3,
            d_steps=1,
            g_steps=1,
            fixed_noise_amp=1.0 if index == 0 else None,
            noise_unpadded=self.unpadded,
            cond_noise_amp=self.cond_noise if index == 1 else 0.0,
        )


def test_1d_plan_noise_on_the_unpadded_length_and_conditioning_noise():
    pyramid = PyramidTrainer(Plan1D(), resize=resize, channels=1, seed=2).fit()
    p = pyramid.generators[0].padding
    assert p == 16  # 4 layers of kernel 9: a pad as long as a quarter of the coarsest clip
    noise = pyramid.draw_noise(0, (60,), torch.Generator().manual_seed(0))
    assert noise.shape == (1, 1, 60 + 2 * p)
    assert torch.all(noise[..., :p] == 0) and torch.all(noise[..., -p:] == 0) and bool(noise[..., p:-p].abs().min() > 0)
    assert torch.all(pyramid.rec_noises[0][..., :p] == 0)
    # the conditioning noise enters random passes, not the reconstruction
    noises = [pyramid.draw_noise(i, s, torch.Generator().manual_seed(i)) for i, s in enumerate(LENGTHS)]
    extra = [None, torch.randn(1, 1, 90, generator=torch.Generator().manual_seed(9))]
    assert not torch.equal(pyramid.run(noises)[-1], pyramid.run(noises, cond_noises=extra)[-1])
    assert torch.equal(pyramid.reconstruct()[-1], pyramid.reconstruct()[-1])
    # any length: three times the clip, shapes stretched per axis
    assert sample_shapes(pyramid, (270,)) == [(180,), (270,)]
    long, again = random_tensors(pyramid, 2, size=(270,), seed=1)
    assert long.shape == (1, 1, 270) and not torch.equal(long, again)
    assert torch.equal(long, random_tensors(pyramid, 2, size=(270,), seed=1)[0])
    assert super_resolve(pyramid, long, (400,), torch.Generator().manual_seed(0)).shape == (1, 1, 400)


def test_padded_noise_is_still_the_default():
    pyramid = PyramidTrainer(Plan1D(unpadded=False, cond_noise=0.0), resize=resize, channels=1, seed=2).fit()
    noise = pyramid.draw_noise(0, (60,), torch.Generator().manual_seed(0))
    assert bool(noise[..., :16].abs().min() > 0)
    assert pyramid.records[1].cond_noise_amp == 0.0
