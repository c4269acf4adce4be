"""The MSS loss, pre-emphasis, the noise rule and the 1-D networks, checked against values of the original code."""

from __future__ import annotations

import math

import pytest
import torch

from tinkerlab.waveform.config import WaveformConfig, demo_waveform_config
from tinkerlab.waveform.losses import WaveformObjective, innovation_amplitude, mss_loss
from tinkerlab.waveform.models import (
    WaveDiscriminator,
    build_discriminator,
    build_generator,
    dilated_conv,
    parameter_count,
    plain_convolutions,
    pre_emphasis,
)


def test_mss_loss_matches_the_original():
    # the value of the original utils/mss_loss.py (run beside this code) on the same hand-made signals
    t = torch.arange(4000, dtype=torch.float32)
    a = torch.sin(2 * math.pi * t * 0.01).view(1, 1, -1)
    b = (torch.sin(2 * math.pi * t * 0.013) * 0.5 + 0.1 * torch.cos(2 * math.pi * t * 0.2)).view(1, 1, -1)
    assert float(mss_loss(a, b)) == pytest.approx(1366.0145263671875, rel=1e-5)
    assert float(mss_loss(a, a)) == 0.0
    assert float(mss_loss(a, 0.5 * a)) == pytest.approx(0.5 * float(mss_loss(a, torch.zeros_like(a))), rel=1e-5)


def test_pre_emphasis_matches_the_original():
    x = torch.tensor([[[0.5, -0.25, 1.0, 2.0, 0.0]]])
    expected = [0.5, -0.7350000143051147, 1.2425000667572021, 1.0299999713897705, -1.940000057220459]
    assert pre_emphasis(x).flatten().tolist() == pytest.approx(expected, abs=1e-7)


def test_noise_amplitude_rule():
    assert innovation_amplitude(0.05, 0.04) == pytest.approx(0.001)
    assert innovation_amplitude(0.03, 0.04) == 0.0  # no innovation: no noise
    previous = torch.tensor([[[1.0, -1.0, 1.0, -1.0]]])
    cond = WaveformObjective(conditioning_noise=True)
    assert cond.noise_amplitude(previous, previous) == pytest.approx(float(previous.std()))
    energy = WaveformObjective(energy=0.29, previous_energy=0.25)
    assert energy.noise_amplitude(previous, previous) == pytest.approx(0.002)


def test_network_sizes_match_the_paper():
    demo = demo_waveform_config()
    assert parameter_count(build_generator(demo, 0)) == 21442  # h = 16: about 21 k
    assert 0.74e6 < parameter_count(build_generator(WaveformConfig(), 1)) < 0.76e6  # h = 96: about 0.75 M
    x = torch.randn(1, 1, 3000)
    assert build_generator(demo, 0)(x, x).shape == (1, 1, 3000)  # the noise has the signal's length
    assert build_discriminator(demo, 0)(x)[0].shape == (1, 1, 3000 - 2041 + 1)


def test_generator_is_residual_and_seeded():
    demo = demo_waveform_config()
    a, b = build_generator(demo, 2), build_generator(demo, 2)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    with torch.no_grad():
        a.out.parametrizations.weight.original0.zero_()  # the weight-norm gain
        a.out.bias.zero_()
    previous = torch.randn(1, 1, 2500)
    assert torch.allclose(a(torch.randn(1, 1, 2500), previous), previous)


def test_masked_discriminator_ignores_the_hole():
    torch.manual_seed(0)
    disc = WaveDiscriminator(width=4, kernel_size=3, rates=[1, 2, 4])
    x = torch.randn(1, 1, 200)
    valid = torch.ones(1, 1, 200)
    valid[..., 90:110] = 0
    scores, score_valid = disc(x, valid)
    changed = x.clone()
    changed[..., 90:110] = 100.0  # what lies in the hole must not matter
    scores2, _ = disc(changed, valid)
    assert torch.equal(scores, scores2)
    assert 0 < score_valid.sum() < score_valid.numel()
    assert torch.all(scores[score_valid == 0] == 0)


def test_engine_erosion_with_dilation():
    from tinkerlab.pyramid.masks import erode_valid

    valid = torch.ones(1, 1, 20)
    valid[..., 10] = 0
    out = erode_valid(valid, 3, dilation=4)  # taps t, t + 4, t + 8
    assert out.shape == (1, 1, 12)
    assert [i for i in range(12) if out[0, 0, i] == 0] == [2, 6, 10]


def test_dilated_conv_gradients_equal_pytorch_conv():
    x = torch.randn(2, 3, 60, dtype=torch.double, requires_grad=True)
    w = torch.randn(4, 3, 9, dtype=torch.double, requires_grad=True)
    b = torch.randn(4, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *a: dilated_conv(*a, dilation=4), (x, w, b))
    assert torch.autograd.gradgradcheck(lambda *a: dilated_conv(*a, dilation=4), (x, w, b))


def test_training_step_equals_the_plain_convolutions():
    # one discriminator loss (gradient penalty included) and one generator loss, in float64: the faster backward
    # gives PyTorch's own gradients to rounding
    config = demo_waveform_config()
    generator = build_generator(config, 1).double()
    discriminator = build_discriminator(config, 1).double()
    objective = WaveformObjective(mse_weight=10.0, mss_weight=1e-4)
    real = torch.randn(1, 1, 2400, dtype=torch.double)
    noise = 0.01 * torch.randn(1, 1, 2400, dtype=torch.double)

    def gradients() -> torch.Tensor:
        fake = generator(noise, real)
        loss_d = objective.discriminator_loss(discriminator, real, fake.detach(), torch.Generator().manual_seed(0))
        loss_g = objective.generator_adversarial_loss(discriminator, fake)
        loss_g = loss_g + objective.reconstruction_loss(generator(torch.zeros_like(real), real), real)
        grads = torch.autograd.grad(loss_d, list(discriminator.parameters()))
        grads += torch.autograd.grad(loss_g, list(generator.parameters()))
        return torch.cat([g.flatten() for g in grads])

    fast = gradients()
    with plain_convolutions():
        plain = gradients()
    assert float((fast - plain).norm() / plain.norm()) < 1e-10
