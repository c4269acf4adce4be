import numpy as np
import pytest

from tinkerlab.core import assets
from tinkerlab.core.audio import load_audio, save_audio
from tinkerlab.core.errors import InputError, MissingAssetError
from tinkerlab.core.images import image_grid, image_to_data_uri, load_image, save_image
from tinkerlab.core.seeding import choose_device, make_generator, seed_everything


def test_image_round_trip_is_exact_for_uint8_values(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(7, 5, 3)).astype(np.uint8)
    path = save_image(image, tmp_path / "a" / "x.png")
    loaded = load_image(path)
    assert loaded.shape == (7, 5, 3) and loaded.dtype == np.float32
    assert np.array_equal((loaded * 255).round().astype(np.uint8), image)
    assert load_image(path, mode="L").shape == (7, 5, 1)
    assert image_to_data_uri(image).startswith("data:image/png;base64,")


def test_image_errors_say_what_was_expected(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(InputError, match="HxW"):
        load_image(np.zeros((2, 2, 5)))
    (tmp_path / "bad.png").write_text("not an image")
    with pytest.raises(InputError, match="could not read"):
        load_image(tmp_path / "bad.png")


def test_image_grid_places_images_in_rows():
    grid = image_grid([np.zeros((4, 4, 3)), np.ones((2, 6, 3)), np.zeros((4, 4, 3))], columns=2, pad=1)
    assert grid.shape == (2 * 4 + 3, 2 * 6 + 3, 3)


def test_audio_round_trip_and_resample(tmp_path):
    t = np.arange(8000) / 8000
    signal = 0.5 * np.sin(2 * np.pi * 440 * t).astype(np.float32)
    path = save_audio(signal, 8000, tmp_path / "tone.wav")
    loaded, rate = load_audio(path)
    assert rate == 8000 and np.max(np.abs(loaded - signal)) < 1e-3
    resampled, rate2 = load_audio(path, sample_rate=16000)
    assert rate2 == 16000 and abs(len(resampled) - 16000) <= 1


def test_sample_images_are_real_photos():
    if "chelsea" not in assets.sample_image_names():
        pytest.skip("scikit-image is not installed, so its sample photos are unavailable")
    cat = assets.sample_image("chelsea", max_side=64)
    assert cat.shape == (43, 64, 3) and 0.05 < cat.std() < 0.5
    with pytest.raises(InputError, match="available"):
        assets.sample_image("no_such_picture")


def test_packaged_models_are_found_or_named():
    for locate in (assets.smollm2_gguf, assets.efficientnet_lite0_weights, assets.minilm_dir):
        try:
            path = locate()
        except MissingAssetError as exc:
            assert "install" in str(exc)
        else:
            assert path.exists()


def test_sample_sound_is_audio():
    if "house" not in assets.sample_sound_names():
        pytest.skip("pygame is not installed, so its sample sounds are unavailable")
    signal, rate = assets.sample_sound("house")
    assert rate == 11025 and len(signal) > rate and np.abs(signal).max() > 0.05


def test_seeding_and_generators_are_reproducible():
    import torch

    seed_everything(3)
    a = torch.rand(3)
    seed_everything(3)
    assert torch.equal(a, torch.rand(3))
    assert torch.equal(torch.rand(2, generator=make_generator(5)), torch.rand(2, generator=make_generator(5)))
    assert choose_device("cpu") == "cpu"
    with pytest.raises(ValueError, match="expected"):
        choose_device("tpu")
    with pytest.raises(ValueError):
        seed_everything(-1)
