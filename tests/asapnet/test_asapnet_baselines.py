"""pix2pixHD's global generator and the SPADE generator: shapes and published sizes."""

from __future__ import annotations

import pytest
import torch

from tinkerlab.asapnet.baselines import Pix2PixHDGenerator, SPADEGenerator, build_generator
from tinkerlab.asapnet.config import Pix2PixHDConfig, SPADEConfig
from tinkerlab.core.errors import InputError


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_published_widths_match_the_published_sizes():
    # 182 M (pix2pixHD global, ngf 64, 9 blocks) and 92 M (SPADE, ngf 64), 13 facade labels
    assert 181e6 < count(Pix2PixHDGenerator(Pix2PixHDConfig())) < 184e6
    assert 91e6 < count(SPADEGenerator(SPADEConfig())) < 93.5e6


def test_small_baselines_map_labels_to_images():
    labels = torch.randint(0, 5, (2, 64, 64))
    for config in (Pix2PixHDConfig(num_labels=5, ngf=4, blocks=1), SPADEConfig(num_labels=5, ngf=2, spade_hidden=4)):
        generator = build_generator(config).eval()
        with torch.no_grad():
            out = generator(labels)
        assert out.shape == (2, 3, 64, 64)
        assert out.abs().max() <= 1


def test_baselines_refuse_sizes_they_cannot_take():
    with pytest.raises(InputError, match="multiples of 16"):
        Pix2PixHDGenerator(Pix2PixHDConfig(num_labels=3, ngf=2, blocks=0))(torch.zeros(1, 24, 24, dtype=torch.long))
    with pytest.raises(InputError, match="multiples of 32"):
        SPADEGenerator(SPADEConfig(num_labels=3, ngf=2, spade_hidden=2))(torch.zeros(1, 48, 48, dtype=torch.long))
