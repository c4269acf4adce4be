"""IDC at the input's own size, the finest-scale fallback of the masking rule, 16-bit and alpha inputs, the
original merge, and the device: tiny models that train in seconds."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from tinkerlab.core.assets import sample_image
from tinkerlab.core.errors import InputError
from tinkerlab.core.seeding import torch_threads
from tinkerlab.idc import completion as idc
from tinkerlab.idc.cli import app
from tinkerlab.idc.config import DIPConfig, IDCConfig
from tinkerlab.idc.holes import box_mask, photo_and_mask, read_photo
from tinkerlab.pyramid.config import ModelConfig, PyramidConfig, SinGANConfig, TrainConfig
from tinkerlab.pyramid.scales import image_to_tensor, resize, tensor_to_image

runner = CliRunner()
CUDA = torch.cuda.is_available()


@pytest.fixture(autouse=True)
def one_thread():
    with torch_threads(1):
        yield


def tiny_config(device: str = "cpu", max_size: int = 40) -> IDCConfig:
    return IDCConfig(
        base=SinGANConfig(
            pyramid=PyramidConfig(max_size=max_size, min_size=16, num_scales=3),
            model=ModelConfig(base_width=8, max_width=8),
            train=TrainConfig(iterations=3),
            device=device,
        ),
        dip=DIPConfig(width=8, depth=2, iterations=5),
        masked_lr=1e-4,
    )


def test_completion_of_a_451x300_photo_has_its_size_and_its_known_pixels(tmp_path):
    photo = sample_image("chelsea")
    assert photo.shape == (300, 451, 3)
    mask = box_mask(photo.shape[:2], (0.30, 0.55, 0.08, 0.30))
    model = idc.train(photo, mask, tiny_config(), out=tmp_path / "run", progress=False)
    assert model.image.shape == (27, 40, 3)
    known = mask == 0
    completions = model.complete(2, diversity=6, seed=3)
    for completion in completions:
        assert completion.shape == (300, 451, 3)
        assert np.array_equal(completion[known], photo[known])
        assert float(np.abs(completion[~known]).sum()) > 0  # the hole is filled, not left at 0
    assert not np.array_equal(completions[0][~known], completions[1][~known])
    small = model.complete(1, diversity=6, seed=3, resolution="model")[0]
    assert small.shape == (27, 40, 3)
    loaded = idc.load(tmp_path / "run")
    assert np.array_equal(loaded.complete(1, diversity=6, seed=3)[0], completions[0])


def test_the_original_merge_is_wider_and_keeps_far_pixels():
    hole = np.zeros((60, 60), bool)
    hole[26:32, 26:32] = True
    coarse = torch.zeros(1, 1, 20, 20)
    coarse[..., 9:11, 9:11] = 1
    tight = idc.merge_mask(hole)
    original = idc.original_merge_mask(hole, coarse, diversity=5)
    assert (original[hole] == 1).all() and (original >= 0).all() and (original <= 1).all()
    assert (original > 0).sum() > (tight > 0).sum()
    assert np.array_equal(
        idc.original_merge_mask(hole, coarse, diversity=1) > 0,
        idc.original_merge_mask(hole, torch.zeros_like(coarse), diversity=1) > 0,
    )
    corner = np.zeros((200, 200), bool)
    corner[10:14, 10:14] = True
    assert idc.original_merge_mask(corner, torch.zeros(1, 1, 50, 50), diversity=1)[150:, 150:].max() == 0


def test_a_25_percent_centred_box_is_completed_from_the_finest_scale():
    photo = sample_image("brick", max_side=64)
    mask = box_mask(photo.shape[:2], (0.25, 0.75, 0.25, 0.75))
    model = idc.train(photo, mask, tiny_config(max_size=64), progress=False)
    assert model.masking_start == 2  # no scale qualifies: the original's fallback, the finest scale
    completion = model.complete(1, seed=0)[0]
    assert completion.shape == photo.shape
    assert np.array_equal(completion[mask == 0], photo[mask == 0])


def test_cli_completes_the_centred_box_at_the_input_size(tmp_path):
    photo = tmp_path / "photo.png"
    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((48, 72, 3)) * 255).astype(np.uint8)).save(photo)
    args = ["complete", str(photo), "box:0.25,0.75,0.25,0.75", "--out", str(tmp_path / "run"), "--n", "1"]
    result = runner.invoke(app, [*args, "--iterations", "1"])
    assert result.exit_code == 0, result.output
    assert "masking started at scale 4" in result.output and "(48x72)" in result.output


def test_sixteen_bit_grey_png_is_scaled_by_65535(tmp_path):
    values = np.linspace(0, 65535, 32 * 40).reshape(32, 40).astype(np.uint16)
    path = tmp_path / "grey16.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I")
    photo, alpha = read_photo(str(path))
    assert alpha is None and photo.shape == (32, 40, 3)
    assert np.allclose(photo[:, :, 1], values / 65535.0, atol=1e-6)
    assert 0.45 < photo.mean() < 0.55  # not an all-white image
    mask = np.zeros((32, 40), np.uint16)
    mask[10:16, 10:16] = 65535
    Image.fromarray(mask).save(tmp_path / "mask16.png")
    image, hole = photo_and_mask(str(path), str(tmp_path / "mask16.png"))
    assert hole.sum() == 36
    model = idc.train(image, hole, tiny_config(), progress=False)
    assert 0.4 < float(model.image[~model.hole].mean()) < 0.6
    completion = model.complete(1)[0]
    assert np.array_equal(completion[hole == 0], photo[hole == 0])  # 16-bit values kept, not rounded to 8 bits


def test_alpha_is_the_mask_when_asked_and_refused_otherwise(tmp_path):
    rgba = np.full((32, 40, 4), 200, np.uint8)
    rgba[8:14, 8:14, 3] = 0
    path = tmp_path / "cutout.png"
    Image.fromarray(rgba, "RGBA").save(path)
    photo, hole = photo_and_mask(str(path), "alpha")
    assert hole.sum() == 36 and photo.shape == (32, 40, 3)
    with pytest.raises(InputError, match="transparent pixels"):
        photo_and_mask(str(path), "box:0.1,0.2,0.1,0.2")
    opaque = tmp_path / "opaque.png"
    Image.fromarray(np.full((32, 40, 3), 90, np.uint8)).save(opaque)
    with pytest.raises(InputError, match="has none"):
        photo_and_mask(str(opaque), "alpha")


@pytest.mark.skipif(CUDA, reason="checks the error where CUDA is missing")
def test_device_cuda_without_cuda_is_one_clear_error(tmp_path):
    args = ["complete", "sample:brick", "box:0.4,0.6,0.4,0.6", "--out", str(tmp_path / "run"), "--device", "cuda"]
    result = runner.invoke(app, args)
    assert result.exit_code != 0
    assert isinstance(result.exception, InputError) and "CUDA is not available" in str(result.exception)


@pytest.mark.skipif(not CUDA, reason="needs a CUDA device (none here)")
def test_cpu_and_cuda_agree(tmp_path):
    photo = sample_image("brick", max_side=40)
    mask = box_mask(photo.shape[:2], (0.40, 0.60, 0.40, 0.60))
    cpu = idc.train(photo, mask, tiny_config("cpu"), out=tmp_path / "cpu", progress=False)
    gpu = idc.train(photo, mask, tiny_config("cuda"), out=tmp_path / "cuda", progress=False)
    # the DIP draws its randomness on the CPU, so the pre-fill agrees up to float differences
    assert np.abs(cpu.prefill - gpu.prefill).max() < 1e-3
    # the same trained weights and the same noises give the same completion on both devices
    moved = idc.load(tmp_path / "cpu", device="cuda")
    torch.manual_seed(0)
    noises = [
        torch.randn(1, 3, *(s + 2 * g.padding for s in shape))
        for g, shape in zip(cpu.pyramid.generators, cpu.pyramid.shapes, strict=True)
    ]
    on_cpu = cpu.pyramid.run(noises)[-1]
    on_gpu = moved.pyramid.run([n.cuda() for n in noises])[-1].cpu()
    assert torch.allclose(on_cpu, on_gpu, atol=1e-4)
    assert gpu.complete(1)[0].shape == photo.shape


def test_sr_steps_choose_how_the_completion_is_carried_up(tmp_path):
    photo = sample_image("chelsea", max_side=160)
    mask = box_mask(photo.shape[:2], (0.30, 0.55, 0.08, 0.30))
    model = idc.train(photo, mask, tiny_config(), progress=False)
    known = mask == 0
    small = model.complete(2, diversity=6, seed=4, resolution="model")
    plain = model.to_input_size(small, sr_steps=0)
    enlarged = tensor_to_image(resize(image_to_tensor(small[0]), photo.shape[:2]))  # plain bicubic
    assert np.allclose(plain[0][~known], enlarged[~known], atol=1e-6)
    assert np.array_equal(plain[0][known], photo[known])
    carried = {steps: model.to_input_size(small, seed=4, sr_steps=steps) for steps in (1, 2, 50)}
    for steps, images in carried.items():
        for image in images:
            assert image.shape == photo.shape and np.array_equal(image[known], photo[known])
        assert not np.allclose(images[0][~known], plain[0][~known]), steps  # the generator added something
    assert not np.allclose(carried[1][0][~known], carried[2][0][~known])
    # complete(resolution="input") is the model-size completion carried up with the same option
    direct = model.complete(1, diversity=6, seed=4, sr_steps=0)[0]
    assert np.array_equal(direct, plain[0])
    with pytest.raises(InputError, match="sr_steps must be an integer >= 0"):
        model.complete(1, sr_steps=-1)


def test_cli_takes_sr_steps(tmp_path):
    photo = tmp_path / "photo.png"
    Image.fromarray((sample_image("chelsea", max_side=72) * 255).astype(np.uint8)).save(photo)
    out = tmp_path / "run"
    args = ["complete", str(photo), "box:0.3,0.55,0.1,0.3", "--out", str(out), "--n", "1", "--iterations", "1"]
    result = runner.invoke(app, [*args, "--sr-steps", "0", "--max-size", "40"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["sample", str(out), "--n", "1", "--sr-steps", "-1"])
    assert result.exit_code != 0 and "--sr-steps" in result.output
