"""Registration checks of family maps, the attention-pattern site, user edit functions, and model loading."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("transformers")

from tinkerlab.core.errors import InputError
from tinkerlab.patching import archmap
from tinkerlab.patching.archmap import FamilyMap, arch_map, register_family
from tinkerlab.patching.interventions import Edit, Intervention, Patch, has_hooks
from tinkerlab.patching.models import load_pretrained, tiny_model
from tinkerlab.patching.prefix import clean_run, run_from

SEQ = 9


@pytest.fixture
def families():
    saved = dict(archmap.FAMILIES)
    yield archmap.FAMILIES
    archmap.FAMILIES.clear()
    archmap.FAMILIES.update(saved)


def _ids(seed: int, batch: int = 2) -> torch.Tensor:
    return torch.randint(2, 64, (batch, SEQ), generator=torch.Generator().manual_seed(seed))


OPT_WITH_FC1 = FamilyMap(
    "OPT (fc1 as the MLP)",
    "model.decoder.layers",
    "self_attn",
    "out_proj",
    "fc1",
    "separate",
    "q_proj",
    "k_proj",
    "v_proj",
    input_norm="self_attn_layer_norm",
    mlp_norm="final_layer_norm",
    final_norm="model.decoder.final_layer_norm",
)


def test_registration_refuses_a_map_that_caches_the_wrong_module(families):
    with pytest.raises(InputError, match=r"mlp_out \(Linear\) gives \[12, 128\], expected \[2, 6, 64\]"):
        register_family("opt", OPT_WITH_FC1)
    assert "opt" not in families


def test_registration_refuses_wrong_paths_and_wrong_parts(families):
    model = tiny_model("llama")
    with pytest.raises(InputError, match="no module for head_out"):
        register_family(
            "llama",
            FamilyMap("bad", "model.layers", "self_attn", "out", "mlp", "separate", "q_proj", "k_proj", "v_proj"),
            model=model,
        )
    gemma_as_llama = archmap.FamilyMap(
        "Gemma-2 read as Llama", "model.layers", "self_attn", "o_proj", "mlp", "separate", "q_proj", "k_proj", "v_proj"
    )
    with pytest.raises(InputError, match="block 0 rebuilt from its parts"):
        register_family("gemma2", gemma_as_llama, model=tiny_model("gemma2"))
    assert families["gemma2"] is archmap.GEMMA2


def test_registration_accepts_a_right_map(families):
    register_family("my_llama", archmap.LLAMA, model=tiny_model("llama"))
    assert families["my_llama"] is archmap.LLAMA


def test_every_packaged_family_passes_its_own_check(family):
    model = tiny_model(family)
    archmap.check_family(model, arch_map(model).family)


def test_pattern_site_equals_output_attentions(family):
    model = tiny_model(family, seed=2)
    ids = _ids(0)
    with torch.inference_mode():
        reference = model(ids).logits
        with Intervention(model, cache=["layers.0.attn.pattern", "layers.2.attn.pattern"]) as run:
            logits = model(ids).logits
        assert not has_hooks(model) and getattr(arch_map(model).attn(model, 0).config, "_tinkerlab_inner", None) is None
        implementation = model.config._attn_implementation
        model.config._attn_implementation = "eager"
        try:
            eager = model(ids, output_attentions=True).attentions
        finally:
            model.config._attn_implementation = implementation
    assert torch.allclose(logits, reference, atol=1e-5)
    for layer in (0, 2):
        pattern = run.cache[f"layers.{layer}.attn.pattern"]  # [B, S, H, S_k]
        assert pattern.shape == (2, SEQ, 4, SEQ)
        assert torch.allclose(pattern, eager[layer].transpose(1, 2), atol=1e-6)
        assert torch.allclose(pattern.sum(-1), torch.ones(2, SEQ, 4), atol=1e-5)


def test_pattern_edit_and_patch():
    model = tiny_model("llama", seed=3)
    ids = _ids(1)
    site = "layers.1.attn.pattern"

    def on_first_token(pattern):  # every query attends to position 0 only
        out = torch.zeros_like(pattern)
        out[..., 0] = 1.0
        return out

    with torch.inference_mode():
        clean = model(ids).logits
        with Intervention(model, edits=[Edit(site, on_first_token)], cache=["layers.1.attn.v", site]) as run:
            edited = model(ids).logits
    assert not torch.allclose(edited, clean, atol=1e-3)
    assert torch.equal(run.cache[site][..., 0], torch.ones(2, SEQ, 4))
    # Attending to position 0 only makes each head's output the value at position 0 (the heads' key/value head).
    with (
        torch.inference_mode(),
        Intervention(model, edits=[Edit(site, on_first_token)], cache=["layers.1.attn.head_out"]) as r2,
    ):
        model(ids)
    v0 = run.cache["layers.1.attn.v"][:, 0].repeat_interleave(2, dim=1)  # [B, H, Dh]
    assert torch.allclose(r2.cache["layers.1.attn.head_out"][:, 5], v0, atol=1e-5)
    # A pattern patch through prefix reuse: row 1 at the last position takes row 0's pattern (its keys differ, so
    # only the pattern moves); the last row of the pattern is [S_k] long.
    base = clean_run(model, ids)
    with torch.inference_mode():
        _, cache = run_from(model, base, SEQ - 1, cache=[site])
        row0 = cache[site][0, 0]  # [H, S_k]
        patch = Patch(site, torch.tensor([1] * 4), torch.tensor([SEQ - 1] * 4), row0, torch.arange(4))
        _, patched = run_from(model, base, SEQ - 1, patches=[patch], cache=[site])
    assert torch.allclose(patched[site][1, 0], row0)


def test_user_edit_function_equals_a_plain_hook(family):
    model = tiny_model(family, seed=4)
    ids = _ids(2)
    amap = arch_map(model)
    with torch.inference_mode():
        with Intervention(model, edits=[Edit("layers.1.mlp.out", lambda x: 3 * x)]):
            edited = model(ids).logits
        handle = amap.module_for(model, 1, "mlp_out").register_forward_hook(lambda m, a, out: 3 * out)
        try:
            manual = model(ids).logits
        finally:
            handle.remove()
    assert torch.allclose(edited, manual, atol=1e-5)
    with pytest.raises(InputError, match=r"must return a tensor of shape \(2, 9, 4, 8\)"):
        with torch.inference_mode(), Intervention(model, edits=[Edit("layers.0.attn.head_out", lambda x: x[:, :1])]):
            model(ids)
    assert not has_hooks(model)
    with pytest.raises(InputError, match="fn must be callable"):
        Intervention(model, edits=[Edit("layers.0.mlp.out", 3)])


def test_load_pretrained_dtype_and_refusals(tmp_path):
    tiny_model("gemma2").save_pretrained(tmp_path / "gemma2")
    model = load_pretrained(tmp_path / "gemma2", dtype="bfloat16")
    assert next(model.parameters()).dtype == torch.bfloat16 and arch_map(model).family is archmap.GEMMA2
    with pytest.raises(InputError, match="unknown dtype"):
        load_pretrained(tmp_path / "gemma2", dtype="float8")
    with pytest.raises(InputError, match="is not a transformers model folder"):
        load_pretrained(tmp_path)


def test_patches_built_elsewhere_follow_the_activation_device_and_dtype():
    """Edits carry their tensors to the activation's device and dtype (here: a bfloat16 model, float32 values)."""
    model = tiny_model("phi3", seed=5).to(torch.bfloat16)
    ids = _ids(3)
    site = "layers.1.attn.k"
    with torch.inference_mode(), Intervention(model, cache=[site]) as run:
        model(ids)
    values = run.cache[site][:, 4, 1].float()
    patch = Patch(site, torch.arange(2), torch.full((2,), 4), values, torch.full((2,), 1))
    with torch.inference_mode(), Intervention(model, patches=[patch], cache=[site]) as again:
        model(ids)
    assert again.cache[site].dtype == torch.bfloat16 and torch.equal(again.cache[site], run.cache[site])
