"""One training step of each generator on tiny data, resuming, loading, and the data loaders."""

from __future__ import annotations

import numpy as np
import pytest

from tinkerlab.asapnet.config import ASAPNetConfig, Pix2PixHDConfig, RunConfig, SPADEConfig, TrainConfig
from tinkerlab.asapnet.data import facade_pairs, load_label_map, save_label_map
from tinkerlab.asapnet.training import load, train
from tinkerlab.core.errors import InputError

TINY_TRAIN = TrainConfig(steps=1, batch_size=2, size=32, ndf=4, discriminator_layers=2, checkpoint_every=1)
GENERATORS = {
    "asapnet": ASAPNetConfig(
        num_labels=8,
        grid=4,
        lr_width=4,
        lr_max_width=8,
        lr_depth=1,
        learned_downsample=2,
        hr_width=8,
        hr_depth=3,
        frequencies=2,
    ),
    "pix2pixhd": Pix2PixHDConfig(num_labels=8, ngf=4, downsamplings=2, blocks=1),
    "spade": SPADEConfig(num_labels=8, ngf=2, spade_hidden=4),
}


@pytest.fixture(scope="module")
def data():
    return facade_pairs(3, size=32)


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_one_training_step_of_each_model(kind, data, tmp_path):
    config = RunConfig(kind=kind, **{kind: GENERATORS[kind]}, train=TINY_TRAIN)
    model = train(data, config, out=tmp_path / kind, progress=False)
    assert (tmp_path / kind / "checkpoints" / "last.pt").exists()
    again = load(tmp_path / kind)
    image = again.translate(data.labels[0])
    assert image.shape == (32, 32, 3) and 0 <= image.min() and image.max() <= 1
    assert np.allclose(image, model.translate(data.labels[0]), atol=1e-6)


def test_resume_continues_and_refuses_another_config(data, tmp_path):
    config = RunConfig(kind="asapnet", asapnet=GENERATORS["asapnet"], train=TINY_TRAIN)
    train(data, config, out=tmp_path / "run", progress=False)
    longer = RunConfig(
        kind="asapnet", asapnet=GENERATORS["asapnet"], train=TrainConfig(**{**TINY_TRAIN.__dict__, "steps": 2})
    )
    with pytest.raises(Exception, match="steps"):
        train(data, longer, out=tmp_path / "run", progress=False)
    train(data, longer, out=tmp_path / "run", progress=False, overwrite=True)


def test_label_maps_too_many_classes_and_non_integer_images(data, tmp_path):
    config = RunConfig(kind="asapnet", asapnet=GENERATORS["asapnet"], train=TINY_TRAIN)
    model = train(data, config, out=tmp_path / "run", progress=False)
    with pytest.raises(InputError, match="trained with 8 classes"):
        model.translate(np.full((32, 32), 9))
    with pytest.raises(InputError, match="integer label map"):
        model.translate(np.zeros((32, 32), np.float32))
    path = save_label_map(data.labels[0], tmp_path / "labels.png")
    assert np.array_equal(load_label_map(path), data.labels[0])
    from PIL import Image

    Image.fromarray(np.random.default_rng(0).integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(tmp_path / "rgb.png")
    with pytest.raises(InputError, match="single-channel label image"):
        load_label_map(tmp_path / "rgb.png")
