"""BlendGAN's inputs (image count, aspect ratio, crop), identity maps and their checks: no training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tinkerlab.blend.config import BlendConfig, blend_width, demo_blend_config
from tinkerlab.blend.inputs import centre_crop_box, check_identity, match_aspect, prepare_images
from tinkerlab.blend.maps import (
    FunctionMap,
    MaskMap,
    PerScale,
    Ramp,
    fusion_map,
    mixture,
    one_hot,
    resolve_maps,
)
from tinkerlab.core.errors import InputError

SHAPES = [(6, 8), (12, 16)]


def test_config_validates_itself():
    with pytest.raises(InputError, match="conditioning: expected one of 'concat', 'norm', got 'film'"):
        BlendConfig(conditioning="film")
    with pytest.raises(InputError, match="extra_width_per_image: expected an integer >= 0"):
        BlendConfig(extra_width_per_image=-1)
    config = demo_blend_config(10)
    assert blend_width(config, 0, 2) == 34 and blend_width(config, 3, 3) == 36


def test_fewer_than_two_images_are_refused():
    with pytest.raises(InputError, match="expected at least 2 images, got 1"):
        prepare_images([np.zeros((32, 32, 3), np.float32)], demo_blend_config().base)


def test_identity_index_out_of_range_says_expected_and_got():
    with pytest.raises(InputError, match=r"expected an image index in 0..2 \(the model has 3 images\), got 3"):
        check_identity(3, 3)
    with pytest.raises(InputError, match="got -1"):
        one_hot(-1, 2)
    with pytest.raises(InputError, match="b: expected an image index in 0..1"):
        mixture(0, 5, 0.5, 2)


def test_other_aspect_ratios_are_centre_cropped_in_one_line_or_refused():
    wide = np.zeros((40, 60, 3), np.float32)
    square = np.zeros((50, 50, 3), np.float32)
    square[:, 12:38] = 1.0  # the centre 26 columns are kept... and more
    assert centre_crop_box(50, 50, 60 / 40) == (8, 41, 0, 50)
    images, note = match_aspect([wide, square, wide])
    assert images[1].shape[:2] == (33, 50) and images[2] is not None
    assert note is not None and "\n" not in note and "image 2 50x50 -> 33x50" in note and "image 3" not in note
    with pytest.raises(InputError, match=r"expected width/height 1.500 \(40x60\), got 1.000 for image 2"):
        match_aspect([wide, square], crop=False)
    assert match_aspect([wide, np.zeros((20, 30, 3))], crop=False)[1] is None


def test_prepare_images_gives_one_pyramid():
    config = demo_blend_config(1, max_size=32, num_scales=3, min_size=16).base
    rng = np.random.default_rng(0)
    images, shapes, note = prepare_images(
        [rng.random((64, 48, 3)), rng.random((30, 30)), rng.random((96, 72, 3))], config
    )
    assert shapes[-1] == (32, 24) and note is not None and "image 2" in note and "image 3" not in note
    assert all(image.shape == (32, 24, 3) for image in images)
    assert all(np.allclose(image * 255, np.round(image * 255), atol=1e-4) for image in images)


def test_one_hot_mixture_and_ramp_maps():
    (coarse, fine) = resolve_maps(one_hot(1, 3), 3, SHAPES)
    assert coarse.shape == (1, 3, 6, 8) and torch.all(fine[0, 1] == 1) and torch.all(fine[0, [0, 2]] == 0)
    half = resolve_maps(mixture(0, 2, 0.25, 3), 3, SHAPES)[1]
    assert torch.allclose(half[0, :, 3, 3], torch.tensor([0.75, 0.0, 0.25]))
    ramp = resolve_maps(Ramp(0, 1, 2, seam=0.5), 2, SHAPES)[1][0, 1, 0]
    assert ramp[0] == 0 and ramp[-1] == 1 and torch.all(ramp[1:] >= ramp[:-1])
    assert 0 < ramp[7] < 1 and 0 < ramp[8] < 1
    hard = resolve_maps(Ramp(0, 1, 2, seam=0.0), 2, SHAPES)[1][0, 1, 0]
    assert hard.tolist() == [0.0] * 8 + [1.0] * 8


def test_mask_map_is_resized_per_scale_and_checked():
    mask = np.zeros((12, 16), np.float32)
    mask[:, 8:] = 1.0
    coarse, fine = resolve_maps(MaskMap(mask, 1, 0, 2), 2, SHAPES)
    assert torch.equal(fine[0, 0], torch.from_numpy(mask)) and coarse.shape == (1, 2, 6, 8)
    assert torch.allclose(coarse.sum(dim=1), torch.ones(1, 6, 8))
    with pytest.raises(InputError, match=r"expected mask values in \[0, 1\]"):
        MaskMap(mask * 2, 0, 1, 2)


def test_per_scale_fusion_and_user_maps():
    coarse, fine = resolve_maps(fusion_map(0, 1, 2, switch=1), 2, SHAPES)
    assert torch.all(coarse[0, 0] == 1) and torch.all(fine[0, 1] == 1)
    with pytest.raises(InputError, match="switch"):
        PerScale(one_hot(0, 2), one_hot(1, 2), 0)

    def top_bottom(index, shape):
        out = np.zeros((2, *shape), np.float32)
        out[0, : shape[0] // 2] = 1
        out[1, shape[0] // 2 :] = 1
        return out

    maps = resolve_maps(top_bottom, 2, SHAPES)
    assert maps[1][0, 0, 0, 0] == 1 and maps[1][0, 1, -1, 0] == 1
    assert isinstance(FunctionMap(top_bottom)(0, (2, 2)), np.ndarray)


def test_maps_with_the_wrong_identity_count_or_size_are_refused():
    with pytest.raises(InputError, match="expected 3 identity channels .* got 2"):
        resolve_maps(Ramp(0, 1, 2), 3, SHAPES)
    with pytest.raises(InputError, match="identity map of scale 0: expected size 6x8, got 5x8"):
        resolve_maps(lambda i, s: np.full((2, 5, 8), 0.5, np.float32), 2, SHAPES)
    with pytest.raises(InputError, match="sum to 1"):
        resolve_maps(lambda i, s: np.ones((2, *s), np.float32), 2, SHAPES)
    with pytest.raises(InputError, match=">= 0"):
        resolve_maps(lambda i, s: np.stack([np.full(s, 2.0), np.full(s, -1.0)]), 2, SHAPES)
    with pytest.raises(InputError, match="expected an identity map"):
        resolve_maps(3, 2, SHAPES)
