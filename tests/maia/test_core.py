"""Fast checks of the MAIA pieces: scenes, synthetic rules, hooks against a manual forward, the agent loop."""

import pytest
import torch

from tinkerlab.core.errors import InputError
from tinkerlab.maia import scenes
from tinkerlab.maia.synthetic import SYNTHETIC_NEURONS, SyntheticNeuron
from tinkerlab.vision.units import VisionModel, imagenet_preprocess, read_layers


def test_renderer_metadata_round_trips_and_skips_unknown_words():
    parsed = scenes.parse_prompt("a red star on grass and a zebra")
    assert parsed.skipped == ["zebra"]
    image, masks = scenes.render(parsed.scene)
    assert scenes.scene_of(image) == parsed.scene and masks[0].any()


def test_synthetic_rules():
    star = scenes.render(scenes.Scene("night", (scenes.SceneObject("star", "yellow"),)))[0]
    plain = scenes.render(scenes.Scene("grass", (scenes.SceneObject("circle", "red"),)))[0]
    assert SyntheticNeuron("s", "mono", ("star",), "stars").activation(star)[0] > 0.5
    assert SyntheticNeuron("o", "or", ("star", "circle"), "x").activation(plain)[0] > 0.5
    both = SyntheticNeuron("a", "and", ("star", "night"), "x")
    assert both.activation(star)[0] > 0.5
    value, mask = both.activation(plain)
    assert 0 <= value <= 0.1 and not mask.any()
    assert len(SYNTHETIC_NEURONS) >= 50


def test_hooks_read_the_unit_of_a_manual_forward():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Conv2d(4, 5, 3)).eval()
    model = VisionModel(net, imagenet_preprocess(32), "tiny", {})
    image = scenes.render(scenes.Scene("sky", (scenes.SceneObject("car"),)))[0]
    maps = read_layers(model, [image], ["1"])["1"]
    manual = net[1](net[0](model.preprocess([image])))
    assert torch.allclose(maps, manual)
    with pytest.raises(InputError, match="valid layers"):
        model.resolve("nope")


def test_read_layers_stops_after_the_deepest_requested_layer_with_the_same_maps():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Conv2d(4, 5, 3)).eval()
    model = VisionModel(net, imagenet_preprocess(32), "tiny", {})
    image = scenes.render(scenes.Scene("sky", (scenes.SceneObject("car"),)))[0]
    calls = []
    handle = net[2].register_forward_hook(lambda *_: calls.append(1))
    early = read_layers(model, [image, image], ["0", "1"])
    assert calls == []  # the last convolution never ran
    full = read_layers(model, [image, image], ["0", "1"], stop_early=False)
    assert calls == [1]
    handle.remove()
    for layer in ("0", "1"):
        assert torch.equal(early[layer], full[layer])
