"""MAIA's subjects, masks, probe tables and each experiment tool, on tiny random models and procedural scenes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from tinkerlab.core.errors import InputError
from tinkerlab.maia import scenes
from tinkerlab.maia.probe import activation_table, activation_tables, build_probe_set, concept_table, probe_images
from tinkerlab.maia.subjects import SyntheticSubject, UnitSubject
from tinkerlab.maia.synthetic import SYNTHETIC_NEURONS, synthetic_neuron
from tinkerlab.maia.tools import LabelDescriber, ProceduralGenerator, Tools, dominant_colours, highlight_of
from tinkerlab.vision.units import (
    VisionModel,
    as_channel_maps,
    imagenet_preprocess,
    load_vision_model,
    masked_image,
    quantile_threshold,
    read_layers,
    spatial_max,
    unit_mask,
)


def tiny_net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 6, 5, stride=4), torch.nn.ReLU(), torch.nn.Conv2d(6, 8, 3, stride=2), torch.nn.ReLU()
    ).eval()


@pytest.fixture(scope="module")
def tiny() -> VisionModel:
    return VisionModel(tiny_net(), imagenet_preprocess(64), "tiny", {"early": "1", "late": "3"})


def scene(kind: str = "star", colour: str = "yellow", background: str = "night") -> Image.Image:
    return scenes.render(scenes.Scene(background, (scenes.SceneObject(kind, colour, size=0.4),)))[0]


def test_unit_activation_is_the_spatial_max_of_its_channel(tiny):
    images = [scene(), scene("car", "red", "grass")]
    subject = UnitSubject(tiny, "late", 3)
    values, masked = subject.call_neuron(images)
    with torch.no_grad():
        manual = tiny.module(tiny.preprocess(images))[:, 3]  # (b, h, w)
    assert values == [round(float(v), 2) for v in manual.amax(dim=(1, 2))]
    assert [m.size for m in masked] == [(224, 224)] * 2
    with pytest.raises(InputError, match=r"0\.\.7 \(layer late has 8\)"):
        UnitSubject(tiny, "late", 8)


def test_masks_keep_where_the_unit_fires_and_darken_the_rest(tiny):
    grid = np.zeros((4, 4), np.float32)
    grid[0, 0] = 5.0
    mask = unit_mask(grid, 1.0, (40, 40))
    assert mask.shape == (40, 40) and mask[0, 0] and not mask[-1, -1] and 0 < mask.mean() < 0.25
    image = Image.new("RGB", (40, 40), (200, 100, 40))
    image.info["scene"] = "kept"
    shown = np.asarray(masked_image(image, mask), np.float32)
    assert tuple(shown[0, 0]) == (200, 100, 40) and tuple(shown[-1, -1]) == (50, 25, 10)
    assert masked_image(image, mask).info["scene"] == "kept"
    # the subject's masks: bright exactly where its upsampled map exceeds the threshold
    subject = UnitSubject(tiny, "late", 1, threshold=0.05)
    image = scene()
    _, (masked,) = subject.call_neuron([image])
    unit_map = read_layers(tiny, [image], ["late"])["late"][0, 1].numpy()
    expected = unit_mask(unit_map, 0.05, image.size)
    dark = np.asarray(masked, np.float32).sum(-1) < np.asarray(image, np.float32).sum(-1) - 1
    assert np.array_equal(~dark[expected], np.ones(expected.sum(), bool))
    assert dark[~expected].mean() > 0.9  # darkened outside (black pixels stay black)


def test_quantile_threshold_is_per_unit():
    maps = torch.arange(2 * 2 * 10 * 10, dtype=torch.float32).view(2, 2, 10, 10)
    levels = quantile_threshold(maps, 0.5)
    assert levels.shape == (2,) and levels[1] > levels[0]
    with pytest.raises(InputError, match="quantile"):
        quantile_threshold(maps, 1.0)
    assert spatial_max(maps).tolist() == [[99.0, 199.0], [299.0, 399.0]]


def test_vit_tokens_become_a_grid():
    tokens = torch.arange(2 * 5 * 3, dtype=torch.float32).view(2, 5, 3)  # class token + 2x2 patches, 3 channels
    maps = as_channel_maps(tokens)
    assert maps.shape == (2, 3, 2, 2) and torch.equal(maps[0, :, 0, 0], tokens[0, 1])
    assert as_channel_maps(torch.zeros(2, 7)).shape == (2, 7, 1, 1)


FACTORY = """
import torch

def make():
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Conv2d(4, 9, 3))
"""


def test_a_user_model_loads_from_a_factory_and_local_weights(tmp_path, monkeypatch):
    (tmp_path / "my_vision_nets.py").write_text(FACTORY)
    monkeypatch.syspath_prepend(str(tmp_path))
    torch.manual_seed(5)
    trained = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Conv2d(4, 9, 3))
    torch.save(trained.state_dict(), tmp_path / "weights.pt")
    model = load_vision_model(f"python:my_vision_nets:make:{tmp_path / 'weights.pt'}")
    assert torch.equal(model.module[2].weight, trained[2].weight) and not model.module.training
    assert UnitSubject(model, "2", 8).width == 9
    with pytest.raises(InputError, match="does not exist"):
        load_vision_model("python:my_vision_nets:make:/no/such/file.pt")
    with pytest.raises(InputError, match="cannot import"):
        load_vision_model("python:my_vision_nets:nothing")
    with pytest.raises(InputError, match="unknown vision model"):
        load_vision_model("caffe:alexnet")
    with pytest.raises(InputError, match="ARCH:WEIGHTS"):
        load_vision_model("timm:resnet18")


def test_a_random_torchvision_model_loads(tmp_path):
    torchvision = pytest.importorskip("torchvision")
    net = torchvision.models.get_model("resnet18", weights=None, num_classes=1000)
    path = tmp_path / "resnet18.pt"
    torch.save(net.state_dict(), path)
    model = load_vision_model(f"torchvision:resnet18:{path}")
    assert UnitSubject(model, "layer3", 255).width == 256


def test_probe_table_matches_one_image_at_a_time(tiny, tmp_path):
    recipes = build_probe_set(8, seed=3)
    assert build_probe_set(8, seed=3) == recipes and {r["kind"] for r in recipes} <= {"scene", "photo", "clipart"}
    table = activation_table(tiny, "late", recipes, batch=3, threshold_images=5, cache=tmp_path, progress=False)
    assert table.activations.shape == (8, 8) and table.thresholds.shape == (8,)
    images = probe_images(recipes)
    single = np.stack([spatial_max(read_layers(tiny, [im], ["late"])["late"])[0].numpy() for im in images])
    np.testing.assert_allclose(table.activations, single, rtol=1e-4, atol=1e-5)
    maps = read_layers(tiny, images[:5], ["late"])["late"]
    np.testing.assert_allclose(table.thresholds, quantile_threshold(maps, 0.99), rtol=1e-5)
    assert table.top(2, 3) == [int(i) for i in np.argsort(-single[:, 2], kind="stable")[:3]]
    assert len(list(tmp_path.glob("*.npz"))) == 1
    both = activation_tables(tiny, ["early", "late"], recipes, cache=tmp_path, progress=False)
    np.testing.assert_array_equal(both["late"].activations, table.activations)  # read back from the cache
    assert both["early"].activations.shape == (8, 6)
    with pytest.raises(InputError, match="valid layers: early, late"):
        activation_table(tiny, "middle", recipes, progress=False)


def test_concept_table_equals_each_neurons_rule():
    recipes = build_probe_set(10, seed=1)
    table = concept_table(recipes, progress=False)
    images = probe_images(recipes)
    for neuron in (synthetic_neuron("star"), synthetic_neuron("car_house"), synthetic_neuron("star_night")):
        expected = [neuron.activation(im)[0] for im in images]
        np.testing.assert_allclose(table.activations(neuron), expected, rtol=1e-6)
    assert len({n.name for n in SYNTHETIC_NEURONS}) == len(SYNTHETIC_NEURONS) >= 50
    assert all(n.description for n in SYNTHETIC_NEURONS)
    assert {n.mode for n in SYNTHETIC_NEURONS} == {"mono", "or", "and"}


def test_synthetic_masks_follow_the_rule():
    image, masks = scenes.render(
        scenes.Scene("grass", (scenes.SceneObject("car", "red", x=0.3), scenes.SceneObject("house", "blue", x=0.7)))
    )
    value, mask = synthetic_neuron("car_house").activation(image)
    assert value > 0.5 and np.array_equal(mask, masks[0] | masks[1])  # OR: the union
    value, mask = synthetic_neuron("car").activation(image)
    assert np.array_equal(mask, masks[0])
    value, mask = synthetic_neuron("car_sand").activation(image)  # AND without sand: small noise, empty mask
    assert 0 <= value <= 0.1 and not mask.any()
    assert synthetic_neuron("car_sand").activation(image)[0] == value  # the same image gives the same noise
    with pytest.raises(InputError, match="unknown synthetic neuron"):
        synthetic_neuron("zebra")


def _tools() -> Tools:
    neuron = synthetic_neuron("star")
    exemplars = [scene(), scene("star", "red", "grass"), scene("circle", "blue", "sky")]
    values = [neuron.activation(im)[0] for im in exemplars]
    return Tools(SyntheticSubject(neuron), exemplars, values)


def test_each_tool():
    tools = _tools()
    activations, masked = tools.dataset_exemplars(2)
    assert len(masked) == 2 and activations[0] > 0.5 and scenes.scene_of(masked[0]) is not None
    assert len(tools.dataset_exemplars(99)[1]) == 3  # capped at what exists
    values, _ = tools.call_neuron(tools.text2image(["a large yellow star on night", "a large red cup on sand"]))
    assert values[0] > 0.5 and values[1] == 0.0
    tools.text2image("a purple zebra on grass")
    assert any("could not draw zebra" in note for note in tools.notes)
    (edited,) = tools.edit_images(tools.text2image(["a red star on grass"]), ["replace the star with a blue cup"])
    assert [(o.kind, o.colour) for o in scenes.scene_of(edited).objects] == [("cup", "blue")]
    tools.edit_images([Image.new("RGB", (224, 224))], ["make it red"])
    assert any("edits only generated images" in note for note in tools.notes)
    with pytest.raises(InputError, match="one instruction per image"):
        tools.edit_images([edited], [])
    text = tools.describe_images(masked[:1], ["first"])
    assert text.startswith('"first", highlighted regions:') and "star" in text
    assert "star" in tools.summarize_images(tools.dataset_exemplars(2)[1])
    empty = Tools(SyntheticSubject(synthetic_neuron("star")))
    with pytest.raises(InputError, match="no exemplars"):
        empty.dataset_exemplars()


def test_describer_reads_only_the_highlighted_region():
    image, masks = scenes.render(
        scenes.Scene(
            "sand",
            (scenes.SceneObject("fish", "orange", x=0.25), scenes.SceneObject("tree", "green", x=0.75)),
        )
    )
    describer = LabelDescriber()
    assert "fish" in describer.describe(image, masks[0]) and "tree" not in describer.describe(image, masks[0])
    shown = masked_image(image, masks[1])
    assert highlight_of(shown)[masks[1]].mean() > 0.9
    assert "tree" in describer.describe(shown, highlight_of(shown))
    photo = Image.new("RGB", (64, 64), (220, 30, 30))
    assert dominant_colours(photo)[0] == "red" and "red" in describer.describe(photo)


def test_generator_reports_what_it_could_not_draw():
    images, notes = ProceduralGenerator().text2image(["a unicorn", "two blue fish on water"])
    assert len(images) == 2 and any("unicorn" in n for n in notes) and any("only the background" in n for n in notes)
    assert [o.kind for o in scenes.scene_of(images[1]).objects] == ["fish", "fish"]
