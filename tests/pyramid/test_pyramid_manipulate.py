"""SinGAN's editing, harmonisation and super-resolution on a tiny trained model: the commands end to end, the merge
keeping pixels far from the region exactly, the super-resolution steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from tinkerlab.core.errors import InputError
from tinkerlab.core.images import load_image, save_image
from tinkerlab.core.seeding import make_generator, torch_threads
from tinkerlab.pyramid import singan
from tinkerlab.pyramid.cli import app
from tinkerlab.pyramid.masks import soft_merge_weights
from tinkerlab.pyramid.sampling import super_resolve, upscale_ratio

runner = CliRunner()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run = tmp_path_factory.mktemp("singan") / "run"
    with torch_threads(1):
        result = runner.invoke(
            app, ["train", "sample:brick", "--out", str(run), "--iterations", "2", "--max-size", "32", "--scales", "3"]
        )
    assert result.exit_code == 0, result.output
    return run


def test_soft_merge_weights_are_one_in_the_region_and_zero_far_away():
    mask = torch.zeros(1, 1, 80, 80)
    mask[..., 10:14, 10:14] = 1
    weights = soft_merge_weights(mask, 7, sigma=5.0, truncate=4.0)
    assert float(weights[..., 10:14, 10:14].min()) == 1.0
    assert float(weights[..., 60:, 60:].max()) == 0.0  # beyond 7 + 20 px of the region
    assert 0.0 < float(weights[..., 12, 25]) < 1.0


def test_edit_and_harmonise_commands_write_merged_images(trained, tmp_path):
    photo = load_image(trained / "input.png")
    edited = photo.copy()
    edited[4:12, 4:12] = [1.0, 0.0, 0.0]
    mask = np.zeros(photo.shape[:2], np.float32)
    mask[4:12, 4:12] = 1
    save_image(edited, tmp_path / "edited.png")
    save_image(mask, tmp_path / "mask.png")
    for command in ("edit", "harmonise"):
        out = tmp_path / f"{command}.png"
        args = [command, str(trained), str(tmp_path / "edited.png"), str(tmp_path / "mask.png"), "--start-scale", "1"]
        result = runner.invoke(app, [*args, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert load_image(out).shape == photo.shape
    model = singan.load(trained)
    harmonised = model.harmonise(edited, mask, start_scale=2, seed=1)
    far = soft_merge_weights(torch.from_numpy(mask)[None, None], 7)[0, 0].numpy() == 0
    assert far.any() and np.array_equal(harmonised[far], singan.quantise(edited)[far])
    assert not np.array_equal(harmonised[4:12, 4:12], singan.quantise(edited)[4:12, 4:12])
    with pytest.raises(InputError, match="injection scale"):
        model.edit(edited, mask, start_scale=0)
    with pytest.raises(InputError, match="empty"):
        model.edit(edited, np.zeros_like(mask), start_scale=1)


def test_super_resolve_command_and_steps(trained, tmp_path):
    out = tmp_path / "sr.png"
    result = runner.invoke(app, ["super-resolve", str(trained), "--factor", "2.5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert load_image(out).shape == (80, 80, 3)
    model = singan.load(trained)
    ratio = upscale_ratio(model.pyramid)
    calls = []
    x = model.reals[-1]
    big = super_resolve(model.pyramid, x, (80, 80), make_generator(0), anchor=lambda y: calls.append(y.shape) or y)
    assert big.shape == (1, 3, 80, 80)
    assert len(calls) == int(np.ceil(np.log(2.5) / np.log(ratio) - 1e-9)) and calls[-1][-2:] == (80, 80)
    same = super_resolve(model.pyramid, x, (80, 80), make_generator(0))
    assert torch.equal(big, same)  # seeded
    with pytest.raises(InputError, match="at least 1"):
        model.super_resolve(0.5)
