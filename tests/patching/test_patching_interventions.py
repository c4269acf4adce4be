"""Intervention engine on tiny random models of every supported family."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("transformers")

from tinkerlab.core.errors import InputError
from tinkerlab.patching.archmap import arch_map
from tinkerlab.patching.interventions import Intervention, Knockout, MeanAblation, Patch, has_hooks
from tinkerlab.patching.models import tiny_model
from tinkerlab.patching.prefix import clean_run, run_from

SEQ = 10


@pytest.fixture(scope="module")
def model(family):
    return tiny_model(family, seed=1)


def _ids(seed: int, batch: int = 3) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(2, 64, (batch, SEQ), generator=g)


def _logits(model, ids, **kw):
    with torch.inference_mode(), Intervention(model, **kw) as run:
        out = model(ids).logits
    return out, run.cache


def test_archmap_counts_and_bad_names(model):
    amap = arch_map(model)
    assert amap.n_layers == 3 and amap.n_heads == 4
    with pytest.raises(InputError, match="closest valid names: layers.1.attn.head_out"):
        amap.parse("layers.1.attn.head_outt")
    with pytest.raises(InputError, match="unknown activation name"):
        amap.parse("layers.9.mlp.out")


def test_unknown_architecture_lists_families():
    class Fake(torch.nn.Module):
        class config:
            model_type = "mamba"

    with pytest.raises(InputError, match=r"supported: llama .*register_family"):
        arch_map(Fake())


def test_head_out_cache_matches_o_proj_decomposition(model):
    amap = arch_map(model)
    ids = _ids(0)
    sites = [f"layers.{layer}.attn.head_out" for layer in range(3)] + ["layers.1.attn.out"]
    _, cache = _logits(model, ids, cache=sites)
    heads = cache["layers.1.attn.head_out"]  # [B, S, H, Dh]
    assert heads.shape == (3, SEQ, amap.n_heads, amap.head_dim)
    w_o = amap.out_proj_weight(model, 1).view(amap.d_model, amap.n_heads, amap.head_dim)
    proj = amap.module_for(model, 1, "head_out")
    per_head = torch.einsum("bshd,mhd->bshm", heads, w_o)  # [B, S, H, D]
    total = per_head.sum(2) + (proj.bias if proj.bias is not None else 0)
    assert torch.allclose(total, cache["layers.1.attn.out"], atol=1e-5)


@pytest.mark.parametrize("kind", ["head_out", "q", "k", "v", "mlp.out", "resid_pre", "resid_post"])
def test_self_patch_changes_nothing(model, kind):
    amap = arch_map(model)
    site = f"layers.1.attn.{kind}" if kind in ("head_out", "q", "k", "v") else f"layers.1.{kind}"
    ids = _ids(1)
    clean, cache = _logits(model, ids, cache=[site])
    act = cache[site]
    rows = torch.arange(3).repeat_interleave(SEQ)
    pos = torch.arange(SEQ).repeat(3)
    heads = None
    if act.dim() == 4:
        n = act.shape[2]
        rows, pos = rows.repeat_interleave(n), pos.repeat_interleave(n)
        heads = torch.arange(n).repeat(3 * SEQ)
        values = act[rows, pos, heads]
    else:
        values = act[rows, pos]
    patched, _ = _logits(model, ids, patches=[Patch(site, rows, pos, values, heads)])
    assert torch.allclose(patched, clean, atol=1e-5)
    assert amap.n_site_heads("k") <= amap.n_heads


def test_patch_from_other_run_equals_running_with_those_activations(model):
    """Copying run B's head (layer 1, head 2, position 6) into run A equals A with that value set by hand."""
    site = "layers.1.attn.head_out"
    ids_a, ids_b = _ids(2), _ids(3)
    _, cache_b = _logits(model, ids_b, cache=[site])
    rows = torch.arange(3)
    pos = torch.full((3,), 6)
    heads = torch.full((3,), 2)
    values = cache_b[site][rows, pos, heads]
    patched, cache_p = _logits(model, ids_a, patches=[Patch(site, rows, pos, values, heads)], cache=[site])
    assert torch.equal(cache_p[site][:, 6, 2], values)

    # Reference: an independent hook that overwrites the same slice of the o_proj input.
    amap = arch_map(model)
    proj = amap.module_for(model, 1, "head_out")

    def manual(mod, args):
        x = args[0].clone().view(3, SEQ, amap.n_heads, amap.head_dim)
        x[:, 6, 2] = values
        return (x.view(3, SEQ, -1),)

    handle = proj.register_forward_pre_hook(manual)
    try:
        with torch.inference_mode():
            reference = model(ids_a).logits
    finally:
        handle.remove()
    assert torch.allclose(patched, reference, atol=1e-6)
    unpatched, _ = _logits(model, ids_a)
    assert not torch.allclose(patched[:, 6:], unpatched[:, 6:], atol=1e-6)
    assert torch.allclose(patched[:, :6], unpatched[:, :6], atol=1e-6)  # causal: nothing before 6 moves


def test_hooks_removed_after_exception(model):
    with pytest.raises(RuntimeError, match="boom"):
        with Intervention(
            model,
            cache=["layers.0.attn.head_out", "layers.2.attn.v"],
            knockouts=[Knockout([1], torch.tensor([5]), torch.tensor([2]))],
        ):
            assert has_hooks(model)
            raise RuntimeError("boom")
    assert not has_hooks(model)


def test_mean_ablation_known_cases(model):
    amap = arch_map(model)
    site = "layers.2.attn.head_out"
    ids = _ids(4)
    clean, cache = _logits(model, ids, cache=[site])
    means = cache[site].mean(0)  # [S, H, Dh]
    keep_all = torch.ones(1, SEQ, amap.n_heads, dtype=torch.bool)
    same, _ = _logits(model, ids, ablations=[MeanAblation(site, means, keep_all)])
    assert torch.allclose(same, clean, atol=1e-6)
    _, ablated = _logits(model, ids, ablations=[MeanAblation(site, means)], cache=[site])
    assert torch.allclose(ablated[site], means.expand(3, -1, -1, -1))
    # ablating with the batch's own (identical) activations as means is a no-op
    one = ids[:1].repeat(3, 1)
    _, own = _logits(model, one, cache=[site])
    clean_one, _ = _logits(model, one)
    out, _ = _logits(model, one, ablations=[MeanAblation(site, own[site][0])])
    assert torch.allclose(out, clean_one, atol=1e-5)


def test_knockout_known_cases(model):
    ids = _ids(5)
    clean, _ = _logits(model, ids)
    # Blocking a query from a key it cannot see anyway (a later position) changes nothing.
    future = Knockout(range(3), torch.tensor([3]), torch.tensor([7]))
    same, _ = _logits(model, ids, knockouts=[future])
    assert torch.allclose(same, clean, atol=1e-5)
    # Blocking position 9 from keys 1..8 in every layer equals position 9 attending only to 0 and itself:
    # it then matches a prompt where tokens 1..8 were different.
    block = Knockout(range(3), torch.full((8,), 9), torch.arange(1, 9))
    knocked, _ = _logits(model, ids, knockouts=[block])
    other = ids.clone()
    other[:, 1:9] = (other[:, 1:9] + 7) % 60 + 2
    other_knocked, _ = _logits(model, other, knockouts=[block])
    assert torch.allclose(knocked[:, 9], other_knocked[:, 9], atol=1e-4)
    assert not torch.allclose(knocked[:, 9], clean[:, 9], atol=1e-4)
    assert torch.allclose(knocked[:, :9], clean[:, :9], atol=1e-5)


def test_prefix_reuse_equals_full_recompute(model):
    amap = arch_map(model)
    ids = _ids(6)
    with torch.inference_mode():
        clean = clean_run(model, ids)
        full, _ = _logits(model, ids)
        same, _ = run_from(model, clean, start=7)
        assert torch.allclose(same, full[:, -1], atol=1e-4)
        # two heads' patches batched as two copies of the batch, starting at position 7
        site = "layers.1.attn.head_out"
        rows = torch.arange(6)
        pos = torch.full((6,), 8)
        heads = torch.tensor([0, 0, 0, 3, 3, 3])
        values = torch.randn(6, amap.head_dim, generator=torch.Generator().manual_seed(0))
        batched, _ = run_from(model, clean, start=7, repeat=2, patches=[Patch(site, rows, pos, values, heads)])
        for copy in range(2):
            sl = slice(3 * copy, 3 * copy + 3)
            p = Patch(site, torch.arange(3), pos[sl], values[sl], heads[sl])
            reference, _ = _logits(model, ids, patches=[p])
            assert torch.allclose(batched[sl], reference[:, -1], atol=1e-4)
        with pytest.raises(InputError, match="before the recomputed part"):
            run_from(model, clean, start=9, patches=[Patch(site, rows, pos, values, heads)])
