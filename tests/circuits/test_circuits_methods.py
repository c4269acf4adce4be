"""Circuit evaluation, DCM and CMAP on tiny models with known answers."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("transformers")

from tinkerlab.circuits.cmap import cmap_accuracy, cmap_table
from tinkerlab.circuits.data import EntityBatch
from tinkerlab.circuits.evaluate import (
    accuracy,
    circuit_accuracy,
    completeness,
    evaluate_circuit,
    head_means,
    paired_difference,
    random_circuit,
)
from tinkerlab.patching.archmap import arch_map
from tinkerlab.patching.masks import DCMConfig, HeadMask, train_mask
from tinkerlab.patching.models import tiny_model

SEQ = 12


def _batch(model, n: int, seed: int, *, answers_from_model: bool = True) -> EntityBatch:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(2, 64, (n, SEQ), generator=g)
    answers = torch.randint(2, 64, (n,), generator=g)
    if answers_from_model:
        with torch.inference_mode():
            answers = model(ids).logits[:, -1].argmax(-1)
    t = torch.tensor
    return EntityBatch(
        [None] * n,
        ids,
        answers,
        t([SEQ - 1] * n),
        t([SEQ - 3] * n),
        torch.randint(0, SEQ - 4, (n,), generator=g),
        t([[1, 4]] * n),
        t([[2, 5]] * n),
    )


def test_circuit_of_all_heads_is_fully_faithful_and_empty_circuit_is_mean_model():
    model = tiny_model("llama", seed=2)
    amap = arch_map(model)
    batch = _batch(model, 16, 0)
    means = head_means(model, _batch(model, 32, 1))
    assert accuracy(model, batch) == 1.0  # answers are the model's own predictions
    # Keeping every head at every vital position AND ablating nothing elsewhere is impossible by design, so the
    # all-heads circuit at the last position keeps the last position's heads: a 1-position-deep check.
    all_heads = [(layer, head) for layer in range(amap.n_layers) for head in range(amap.n_heads)]
    result = evaluate_circuit(model, batch, {"VF": all_heads}, means, n_random=2)
    assert result.full_accuracy == 1.0 and result.n_heads == amap.n_layers * amap.n_heads
    # With means computed from the batch itself repeated, ablation changes nothing.
    one = batch.select([0] * 8)
    self_means = head_means(model, one)
    assert circuit_accuracy(model, one, {}, self_means) == 1.0


def test_random_circuit_sizes_and_no_repeats():
    amap = arch_map(tiny_model("gpt2"))
    circuit = random_circuit(amap, {"VF": 4, "PT": 2, "PD": 3, "SR": 1}, seed=0)
    heads = [h for hs in circuit.values() for h in hs]
    assert [len(circuit[g]) for g in ("VF", "PT", "PD", "SR")] == [4, 2, 3, 1]
    assert len(set(heads)) == 10
    assert all(0 <= layer < amap.n_layers and 0 <= head < amap.n_heads for layer, head in heads)


def test_completeness_shapes():
    model = tiny_model("gpt_neox", seed=1)
    batch = _batch(model, 8, 0)
    means = head_means(model, _batch(model, 16, 2))
    out = completeness(model, batch, {"VF": [(2, 0), (2, 1)], "PD": [(0, 3)]}, means, n_random=3)
    assert set(out["per_group"]) == {"VF", "PD"}
    assert 0.0 <= out["random"]["incompleteness"][0] <= 1.0


def _planted_model(head: tuple[int, int]):
    """Only `head` writes to the residual stream: every other head's W_O columns are zero."""
    model = tiny_model("llama", seed=5, n_layers=2)
    amap = arch_map(model)
    for layer in range(amap.n_layers):
        proj = amap.module_for(model, layer, "head_out")
        w = proj.weight.view(amap.d_model, amap.n_heads, amap.head_dim)
        for h in range(amap.n_heads):
            if (layer, h) != head:
                w[:, h] = 0.0
            else:
                w[:, h] *= 50.0  # the planted head dominates the residual stream at the last position
    return model


@pytest.mark.parametrize("relaxation", ["clamp", "sigmoid"])
def test_dcm_recovers_planted_head(relaxation):
    planted = (0, 2)
    model = _planted_model(planted)
    n = 96
    g = torch.Generator().manual_seed(0)
    base = torch.randint(2, 64, (n, SEQ), generator=g)
    source = torch.randint(2, 64, (n, SEQ), generator=g)
    source[:, -1] = base[:, -1]  # same last token: the residual differs only through the planted head
    with torch.inference_mode():
        targets = model(source).logits[:, -1].argmax(-1)
        base_pred = model(base).logits[:, -1].argmax(-1)
    assert (targets != base_pred).float().mean() > 0.5
    heads = [(layer, head) for layer in range(2) for head in range(4)]
    pos = torch.full((n,), SEQ - 1)
    lr = 0.1 if relaxation == "clamp" else 0.5
    config = DCMConfig(relaxation=relaxation, epochs=3, batch_size=16, lr=lr, sparsity=0.05)
    result = train_mask(model, heads, base, pos, source, pos, targets, config)
    assert result.selected == [planted]
    assert result.test_accuracy == 1.0
    mask = HeadMask(3, relaxation)
    assert mask().shape == (3,) and bool((mask() > 0.5).all())


def test_cmap_self_and_donor():
    base_model = tiny_model("llama", seed=2)
    donor = tiny_model("llama", seed=9)
    batch = _batch(donor, 12, 3)  # answers = the donor's predictions
    amap = arch_map(base_model)
    all_heads = [(layer, head) for layer in range(amap.n_layers) for head in range(amap.n_heads)]
    # donor == base: patching changes nothing
    assert cmap_accuracy(donor, donor, batch, {"VF": all_heads}) == 1.0
    table = cmap_table(base_model, donor, batch, {"VF": all_heads[-4:], "PD": all_heads[:2]})
    assert set(table) == {"none", "full circuit", "VF", "PD"}
    # Patching every head at the last position of every layer from the donor does not make the base model the
    # donor (MLPs and earlier positions differ), so it is only a well-formed accuracy.
    assert 0.0 <= table["full circuit"] <= 1.0
    # the mismatched-prompt control adds one row per patched row; with one prompt per batch row rolled onto the
    # next, a donor patched into itself no longer reproduces itself
    controls = cmap_table(donor, donor, batch, {"VF": all_heads}, mismatched=True)
    assert set(controls) == {
        "none",
        "full circuit",
        "VF",
        "full circuit, mismatched prompts",
        "VF, mismatched prompts",
    }
    assert controls["none"] == controls["full circuit"] == 1.0
    assert controls["full circuit, mismatched prompts"] < 1.0


def test_paired_difference_known_cases():
    a = torch.tensor([1, 1, 0, 0, 1], dtype=torch.bool)
    b = torch.tensor([1, 0, 1, 1, 1], dtype=torch.bool)
    out = paired_difference(a, b)
    assert out["difference"] == pytest.approx(0.2)
    assert (out["only_a"], out["only_b"]) == (1, 2)
    assert out["p_value"] == pytest.approx(1.0)  # 2 * P(X <= 1), X ~ Bin(3, 1/2) = 2 * 4/8
    assert out["ci95"][0] <= 0.2 <= out["ci95"][1]
    better = paired_difference(torch.zeros(10, dtype=torch.bool), torch.ones(10, dtype=torch.bool))
    assert better["p_value"] == pytest.approx(2 / 1024)
    assert better["ci95"] == [1.0, 1.0]
    same = paired_difference(a, a)
    assert same["difference"] == 0 and same["p_value"] == 1.0
