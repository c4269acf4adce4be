"""Partial forwards (block skipping, frozen-attention passes) equal full forwards on every supported family."""

from __future__ import annotations

import os

import pytest
import torch

pytest.importorskip("transformers")

from tinkerlab.core.errors import InputError
from tinkerlab.patching.archmap import arch_map
from tinkerlab.patching.interventions import Intervention, MeanAblation, Patch, has_hooks
from tinkerlab.patching.models import tiny_model
from tinkerlab.patching.partial import frozen_attention_pass, skip_layers, unembed
from tinkerlab.patching.prefix import clean_run, grouped_query_sdpa, run_from

SEQ = 10


@pytest.fixture(scope="module")
def model(family):
    return tiny_model(family, seed=2, n_layers=4)


def _ids(seed: int, batch: int = 3) -> torch.Tensor:
    return torch.randint(2, 64, (batch, SEQ), generator=torch.Generator().manual_seed(seed))


@torch.inference_mode()
def test_run_from_a_later_block_equals_full_recompute(model):
    amap = arch_map(model)
    ids = _ids(0)
    clean = clean_run(model, ids, keep_resid=True)
    assert clean.resid.shape == (4, 3, SEQ, amap.d_model)
    site = "layers.2.attn.head_out"
    values = torch.randn(6, amap.head_dim, generator=torch.Generator().manual_seed(1))
    patch = Patch(site, torch.arange(6), torch.full((6,), 7), values, torch.tensor([0, 0, 0, 3, 3, 3]))
    full, _ = run_from(model, clean, 5, repeat=2, patches=[patch])
    skipped, _ = run_from(model, clean, 5, repeat=2, patches=[patch], from_layer=2)
    assert torch.allclose(full, skipped, atol=1e-5)
    assert not torch.allclose(full[:3], clean.logits, atol=1e-4)  # the patch did something
    unpatched, _ = run_from(model, clean, 5, from_layer=3)
    assert torch.allclose(unpatched, clean.logits, atol=1e-5)
    # the handed-over stream is really used: a different one changes the result
    other = clean_run(model, _ids(9), keep_resid=True)
    clean.resid = other.resid
    moved, _ = run_from(model, clean, 5, from_layer=3)
    assert not torch.allclose(moved, unpatched, atol=1e-4)


@torch.inference_mode()
def test_run_from_refuses_edits_below_the_first_block(model):
    clean = clean_run(model, _ids(0), keep_resid=True)
    patch = Patch(
        "layers.1.attn.head_out",
        torch.arange(3),
        torch.full((3,), 7),
        torch.zeros(3, arch_map(model).head_dim),
        torch.zeros(3, dtype=torch.long),
    )
    with pytest.raises(InputError, match="below from_layer=2"):
        run_from(model, clean, 5, patches=[patch], from_layer=2)
    with pytest.raises(InputError, match="keep_resid=True"):
        run_from(model, clean_run(model, _ids(0)), 5, from_layer=2)
    assert not has_hooks(model)


def test_skip_layers_restores_blocks_after_an_exception(model):
    amap = arch_map(model)
    blocks = amap.layers(model)
    with pytest.raises(RuntimeError, match="boom"), skip_layers(model, 3, torch.zeros(1, SEQ, amap.d_model)):
        assert "forward" in vars(blocks[0])
        raise RuntimeError("boom")
    assert all("forward" not in vars(block) for block in blocks)


@torch.inference_mode()
def test_frozen_attention_pass_equals_a_forward_with_every_head_frozen(model):
    """All heads at position `pos` fixed (one of them to another run's value): the residual stream there moves through
    the MLPs only, and the pass reproduces the model's own logits and q/v projections."""
    amap = arch_map(model)
    ids, other = _ids(1), _ids(2)
    pos, n = 6, amap.n_layers
    heads = [f"layers.{layer}.attn.head_out" for layer in range(n)]
    resid = [f"layers.{layer}.resid_pre" for layer in range(n)]
    with Intervention(model, cache=heads + resid) as run:
        model(ids)
    with Intervention(model, cache=heads) as donor:
        model(other)
    sender, head = 1, 2
    frozen = run.cache[heads[sender]][:, pos].clone()
    frozen[:, head] = donor.cache[heads[sender]][:, pos, head]
    ablations = []
    for layer in range(n):  # every head at `pos` fixed; the sender's one head takes the donor's value
        values = run.cache[heads[layer]].clone()
        if layer == sender:
            values[:, pos] = frozen
        keep = torch.ones(1, SEQ, amap.n_heads, dtype=torch.bool)
        keep[:, pos] = False
        ablations.append(MeanAblation(heads[layer], values, keep))
    record = ["layers.3.attn.q", "layers.2.attn.v"]
    with Intervention(model, ablations=ablations, cache=record) as reference:
        expected = model(ids).logits[:, pos]

    def attn_out(layer: int) -> torch.Tensor:
        values = frozen if layer == sender else run.cache[heads[layer]][:, pos]
        return amap.module_for(model, layer, "head_out")(values.flatten(1))

    hidden, recorded = frozen_attention_pass(
        model,
        attn_out,
        entering=lambda layer: run.cache[resid[layer]][:, pos],
        start_layers=torch.full((3,), sender),
        stop=n,
        record=record,
    )
    assert torch.allclose(unembed(model, hidden), expected, atol=1e-4)
    for site in record:
        assert torch.allclose(recorded[site], reference.cache[site][:, pos], atol=1e-5)
    # rows may start at different blocks: a row starting at block 3 keeps the clean stream below it
    _, mixed = frozen_attention_pass(
        model,
        attn_out,
        entering=lambda layer: run.cache[resid[layer]][:, pos],
        start_layers=torch.tensor([sender, 3, sender]),
        stop=3,
        record=["layers.3.attn.q"],
    )
    clean_q = Intervention(model, cache=["layers.3.attn.q"])
    with clean_q:
        model(ids)
    assert torch.allclose(mixed["layers.3.attn.q"][1], clean_q.cache["layers.3.attn.q"][1, pos], atol=1e-5)
    assert torch.allclose(mixed["layers.3.attn.q"][0], recorded["layers.3.attn.q"][0], atol=1e-5)


def test_grouped_query_switch_is_scoped():
    model = tiny_model("llama", seed=0)
    before = os.environ.get("TRANSFORMERS_SDPA_FORCE_GQA")
    with grouped_query_sdpa(model):
        assert os.environ.get("TRANSFORMERS_SDPA_FORCE_GQA") == "1"
    assert os.environ.get("TRANSFORMERS_SDPA_FORCE_GQA") == before
