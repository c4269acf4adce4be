"""CLIP in plain torch (`tinkerlab.vision.clip_model`): configs in open_clip's JSON format, open_clip's state-dict
keys, shapes, strict loading, the BPE tokenizer (ids checked against open_clip 3.3.0's tokenizer), the evaluation
transform and the recogniser, all with a tiny randomly initialised model (no weights are downloaded)."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import torch
from PIL import Image

from tinkerlab.core.errors import InputError
from tinkerlab.vision import clip_model as cm
from tinkerlab.vision import clip_tokenizer as ct

TINY = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
}
needs_open_clip = pytest.mark.skipif(
    not ct.open_clip_available(), reason="open-clip-torch (configs and vocabulary) is not installed: run `make clip`"
)

# open_clip.tokenizer.SimpleTokenizer(context_length=16) on these texts (open-clip-torch 3.3.0).
OPEN_CLIP_IDS = {
    "a drawing of a cat": [49406, 320, 3610, 539, 320, 2368, 49407],
    "Hello,   World!!!": [49406, 3306, 267, 1002, 995, 49407],
    "don't you'll": [49406, 847, 713, 592, 1342, 49407],
    "café naïve": [49406, 15304, 1097, 35689, 563, 49407],
    "東京タワー": [49406, 48338, 21078, 105, 34941, 2429, 107, 30391, 49407],
    "&amp; &lt;tag&gt;": [49406, 261, 283, 3640, 285, 49407],
    "numbers 12345 3.14": [49406, 6121, 272, 273, 274, 275, 276, 274, 269, 272, 275, 49407],
    "emoji 🐱": [49406, 16327, 22979, 49407],
    "the quick brown fox jumps over the lazy dog and keeps running far away": [
        49406,
        518,
        3712,
        2866,
        3240,
        18911,
        962,
        518,
        10753,
        1929,
        537,
        6333,
        2761,
        2384,
        1520,
        49407,
    ],  # fmt: skip
    "": [49406, 49407],
}


@pytest.fixture
def tiny_config(tmp_path):
    path = tmp_path / "tiny-clip.json"
    path.write_text(json.dumps(TINY))
    return path


def tiny_model(seed: int = 0) -> cm.ClipModel:
    torch.manual_seed(seed)
    return cm.ClipModel(cm.config_from_dict(TINY, "tiny")).eval()


def test_config_json_builds_a_model_with_open_clip_keys_and_shapes(tiny_config):
    config = cm.clip_config(str(tiny_config))
    assert config.vision.heads == 2 and config.vision.grid == 4 and not config.quick_gelu
    assert config.mean == cm.OPENAI_MEAN
    model = cm.ClipModel(config).eval()
    state = model.state_dict()
    block = "visual.transformer.resblocks.1."
    expected = [
        "visual.conv1.weight",
        "visual.class_embedding",
        "visual.positional_embedding",
        "visual.ln_pre.weight",
        block + "ln_1.bias",
        block + "attn.in_proj_weight",
        block + "attn.in_proj_bias",
        block + "attn.out_proj.weight",
        block + "ln_2.weight",
        block + "mlp.c_fc.weight",
        block + "mlp.c_proj.bias",
        "visual.ln_post.weight",
        "visual.proj",
        "token_embedding.weight",
        "positional_embedding",
        "transformer.resblocks.0.attn.in_proj_weight",
        "transformer.resblocks.1.mlp.c_fc.bias",
        "ln_final.weight",
        "text_projection",
        "logit_scale",
    ]
    assert set(expected) <= set(state)
    assert len(state) == 62  # open_clip's CLIP of this config has the same 62 keys (checked against 3.3.0)
    assert state["visual.positional_embedding"].shape == (17, 32)
    assert state["positional_embedding"].shape == (16, 32)
    assert state["visual.proj"].shape == (32, 16) and state["text_projection"].shape == (32, 16)
    assert state["logit_scale"].shape == ()
    with torch.inference_mode():
        image = model.encode_image(torch.randn(3, 3, 32, 32))
        ids = torch.zeros(2, 16, dtype=torch.long)
        ids[:, 0], ids[0, 3], ids[1, 5] = 49406, 49407, 49407
        text = model.encode_text(ids, normalize=True)
    assert image.shape == (3, 16) and text.shape == (2, 16)
    assert torch.allclose(text.norm(dim=-1), torch.ones(2))


def test_text_is_read_causally_at_the_end_token():
    model = tiny_model()
    ids = torch.zeros(2, 16, dtype=torch.long)
    ids[:, :4] = torch.tensor([49406, 320, 2368, 49407])
    ids[1, 4:] = 1000  # after the end token: a causal model cannot see it
    with torch.inference_mode():
        out = model.encode_text(ids)
    torch.testing.assert_close(out[0], out[1])


def test_layer_scale_and_quick_gelu_configs():
    raw = json.loads(json.dumps(TINY))
    raw["quick_gelu"] = True
    raw["vision_cfg"]["ls_init_value"] = 0.1
    model = cm.ClipModel(cm.config_from_dict(raw))
    assert isinstance(model.visual.transformer.resblocks[0].mlp.gelu, cm.QuickGELU)
    assert "visual.transformer.resblocks.0.ls_1.gamma" in model.state_dict()
    assert "transformer.resblocks.0.ls_1.gamma" not in model.state_dict()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"vision_cfg": {"timm_model_name": "convnext_base", "image_size": 224}}, "timm_model_name"),
        ({"vision_cfg": {"layers": [3, 4, 6, 3], "width": 64, "image_size": 224, "patch_size": 1}}, "ResNet"),
        ({"custom_text": True}, "custom_text"),
        ({"text_cfg": {"hf_tokenizer_name": "bert-base-uncased"}}, "hf_tokenizer_name"),
        ({"init_logit_bias": -10}, "init_logit_bias"),
    ],
)
def test_unsupported_configs_say_what_is_supported(change, message):
    raw = json.loads(json.dumps(TINY))
    for key, value in change.items():
        if isinstance(value, dict) and key in raw:
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    with pytest.raises(InputError, match=message) as info:
        cm.config_from_dict(raw, "odd")
    assert "supported: ViT" in str(info.value)


def test_bad_config_values(tmp_path):
    bad = json.loads(json.dumps(TINY))
    bad["vision_cfg"]["patch_size"] = 5
    with pytest.raises(InputError, match="divisible by patch_size"):
        cm.config_from_dict(bad)
    bad = json.loads(json.dumps(TINY))
    bad["vision_cfg"]["head_width"] = 64  # width 32 cannot make 64-wide heads
    with pytest.raises(InputError, match="divisible into heads"):
        cm.config_from_dict(bad)
    bad = json.loads(json.dumps(TINY))
    bad["text_cfg"]["layers"] = 0
    with pytest.raises(InputError, match=r"expected a positive integer for text_cfg.layers, got 0"):
        cm.config_from_dict(bad)
    with pytest.raises(InputError, match="does not exist"):
        cm.clip_config(str(tmp_path / "missing.json"))
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(InputError, match="expected an open_clip config JSON"):
        cm.clip_config(str(tmp_path / "broken.json"))


def test_strict_loading_and_checkpoint_formats(tmp_path):
    source, target = tiny_model(0), tiny_model(1)
    state = source.state_dict()
    wrapped = tmp_path / "wrapped.pt"
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}, "epoch": 3}, wrapped)
    cm.load_state(target, cm.read_state_dict(wrapped))
    pixels = torch.randn(2, 3, 32, 32)
    with torch.inference_mode():
        torch.testing.assert_close(target.encode_image(pixels), source.encode_image(pixels))
    half = cm.clip_from_state(source.config, {k: v.half() for k, v in state.items()})  # built on meta, float32
    assert half.visual.proj.dtype == torch.float32 and half.visual.proj.device.type == "cpu"
    with torch.inference_mode():
        torch.testing.assert_close(half.encode_image(pixels), source.encode_image(pixels), atol=1e-2, rtol=1e-2)

    missing = {k: v for k, v in state.items() if k != "visual.proj"}
    with pytest.raises(InputError, match=r"1 missing keys \(visual.proj\)"):
        cm.load_state(tiny_model(), missing)
    with pytest.raises(InputError, match=r"1 unexpected keys \(logit_bias\)"):
        cm.load_state(tiny_model(), {**state, "logit_bias": torch.zeros(())})
    with pytest.raises(InputError, match=r"shapes that differ \(text_projection \(32, 8\) \(expected \(32, 16\)\)"):
        cm.load_state(tiny_model(), {**state, "text_projection": torch.zeros(32, 8)})
    with pytest.raises(InputError, match="does not exist"):
        cm.read_state_dict(tmp_path / "none.bin")
    (tmp_path / "junk.bin").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="does not load"):
        cm.read_state_dict(tmp_path / "junk.bin")


def test_a_missing_open_clip_names_the_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "open_clip" else real(name))
    with pytest.raises(InputError, match=r"make clip.*pip install --no-deps open-clip-torch"):
        cm.clip_config("ViT-B-32")
    with pytest.raises(InputError, match="make clip"):
        cm.ClipTokenizer()
    assert not ct.open_clip_available()


@needs_open_clip
def test_named_open_clip_configs():
    config = cm.clip_config("ViT-B-32")
    assert (config.embed_dim, config.vision.patch_size, config.vision.width, config.text.context_length) == (
        512,
        32,
        768,
        77,
    )
    assert cm.clip_config("ViT-L-14-quickgelu").quick_gelu and not cm.clip_config("ViT-L-14").quick_gelu
    with pytest.raises(InputError, match="timm_model_name"):
        cm.clip_config("convnext_base")
    with pytest.raises(InputError, match=r"unknown CLIP architecture 'ViT-Q-99'.*ViT-B-32") as info:
        cm.clip_config("ViT-Q-99")
    assert "convnext_base" not in str(info.value)


@needs_open_clip
def test_tokenizer_matches_open_clip_ids():
    tokenizer = cm.ClipTokenizer(context_length=16)
    batch = tokenizer(list(OPEN_CLIP_IDS))
    assert batch.shape == (len(OPEN_CLIP_IDS), 16) and batch.dtype == torch.long
    for row, ids in zip(batch.tolist(), OPEN_CLIP_IDS.values(), strict=True):
        assert row == ids + [0] * (16 - len(ids))
    assert tokenizer.encode("  A   DRAWING of a CAT ") == [320, 3610, 539, 320, 2368]  # cleaned, lower-cased
    assert tokenizer("a " * 50)[0, -1].item() == tokenizer.end_id  # truncated, ends on the end token


def test_preprocess_resizes_crops_and_normalises():
    white = Image.new("RGB", (64, 32), "white")
    pixels = cm.clip_preprocess([white, Image.new("L", (20, 40), 0)], 16)
    assert pixels.shape == (2, 3, 16, 16) and pixels.dtype == torch.float32
    expected_white = (1 - torch.tensor(cm.OPENAI_MEAN)) / torch.tensor(cm.OPENAI_STD)
    torch.testing.assert_close(pixels[0, :, 8, 8], expected_white)
    torch.testing.assert_close(pixels[1, :, 0, 0], -torch.tensor(cm.OPENAI_MEAN) / torch.tensor(cm.OPENAI_STD))
    # a left half black, right half white picture keeps the centre: its crop is half dark, half light
    half = Image.fromarray(np.concatenate([np.zeros((32, 48, 3)), np.full((32, 48, 3), 255)], 1).astype(np.uint8))
    crop = cm.clip_preprocess([half], 32)[0, 0]
    assert crop[:, :12].max() < 0 < crop[:, 20:].min()


@needs_open_clip
def test_recognizer_scores_are_cosines(tiny_config, tmp_path):
    from tinkerlab.vision.recognition import load_recognizer

    weights = tmp_path / "tiny.pt"
    torch.save(tiny_model().state_dict(), weights)
    recognizer = load_recognizer(f"clip:{tiny_config}:{weights}")
    assert recognizer.name == f"clip:{tiny_config}"
    images = [Image.new("RGB", (40, 30), c) for c in ("white", "black", "red")]
    scores = recognizer.scores(images, ["cat", "house"])
    assert scores.shape == (3, 2) and np.all(np.abs(scores) <= 1 + 1e-5)
    with pytest.raises(InputError, match="missing keys"):
        load_recognizer(f"clip:ViT-B-32:{weights}")


@needs_open_clip
def test_open_clip_visual_tower_as_a_vision_model(tiny_config, tmp_path):
    from tinkerlab.vision.units import load_vision_model, read_layers

    weights = tmp_path / "tiny.pt"
    torch.save(tiny_model().state_dict(), weights)
    model = load_vision_model(f"open_clip:{tiny_config}:{weights}")
    maps = read_layers(model, [Image.new("RGB", (32, 32), "white")], ["transformer.resblocks.1"])
    assert maps["transformer.resblocks.1"].shape == (1, 32, 4, 4)
