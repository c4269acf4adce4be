"""Cross-Model Activation Patching (CMAP): copy a fine-tuned model's circuit-head outputs into the base model.

Part of `tinkerlab.circuits` (Prakash et al., "Fine-Tuning Enhances Existing Mechanisms", ICLR 2024, section 5).
Both models read the same prompt. The per-head outputs (the input of W_O) of the fine-tuned model's circuit heads
replace the base model's at each group's position (VF and PT at the last token, PD at the query label, SR at its
previous occurrence); the base model's own W_O then projects them. Accuracy of the patched base model, per group
and for the whole circuit, says which groups carry the fine-tune's gain. Both models must share an architecture
(same layers and heads), as a fine-tune does.
"""

from __future__ import annotations

import torch

from tinkerlab.circuits.data import EntityBatch
from tinkerlab.circuits.groups import Circuit
from tinkerlab.core.errors import InputError
from tinkerlab.patching.archmap import arch_map
from tinkerlab.patching.interventions import Intervention, Patch

Key = tuple[str, int, int]  # (group, layer, head)


def _check_shapes(base_model, donor_model) -> None:
    a, b = arch_map(base_model), arch_map(donor_model)
    if (a.n_layers, a.n_heads, a.head_dim) != (b.n_layers, b.n_heads, b.head_dim):
        raise InputError(f"CMAP needs models of one shape, got {a.n_layers}x{a.n_heads} and {b.n_layers}x{b.n_heads}")


@torch.inference_mode()
def donor_values(donor_model, batch: EntityBatch, circuit: Circuit, *, batch_size: int = 50) -> dict[Key, torch.Tensor]:
    """{(group, layer, head): [N, Dh]} the donor's per-head outputs at each group's position, one pass per chunk."""
    heads = [(group, layer, head) for group, hs in circuit.items() for layer, head in hs]
    layers = sorted({layer for _, layer, _ in heads})
    sites = [f"layers.{layer}.attn.head_out" for layer in layers]
    parts: dict[Key, list[torch.Tensor]] = {key: [] for key in heads}
    for start in range(0, len(batch), batch_size):
        sub = batch.select(torch.arange(start, min(len(batch), start + batch_size)))
        with Intervention(donor_model, cache=sites) as donor:
            donor_model(sub.input_ids, logits_to_keep=1)
        rows = torch.arange(len(sub))
        for group, layer, head in heads:
            parts[(group, layer, head)].append(
                donor.cache[f"layers.{layer}.attn.head_out"][rows, sub.group_position(group), head]
            )
    return {key: torch.cat(values) for key, values in parts.items()}


@torch.inference_mode()
def patched_accuracy(base_model, batch: EntityBatch, values: dict[Key, torch.Tensor], *, batch_size: int = 50) -> float:
    """Accuracy of `base_model` with the given per-head outputs written at their groups' positions."""
    layers = sorted({layer for _, layer, _ in values})
    correct = 0
    for start in range(0, len(batch), batch_size):
        chunk = torch.arange(start, min(len(batch), start + batch_size))
        sub = batch.select(chunk)
        n = len(sub)
        patches = []
        for layer in layers:
            mine = [(group, head) for group, l_, head in values if l_ == layer]
            rows = torch.arange(n).repeat(len(mine))  # [n * k]
            positions = torch.cat([sub.group_position(group) for group, _ in mine])
            head_ids = torch.tensor([head for _, head in mine]).repeat_interleave(n)
            patch_values = torch.cat([values[(group, layer, head)][chunk] for group, head in mine])
            patches.append(Patch(f"layers.{layer}.attn.head_out", rows, positions, patch_values, head_ids))
        with Intervention(base_model, patches=patches):
            logits = base_model(sub.input_ids, logits_to_keep=1).logits[:, -1]
        correct += int((logits.argmax(-1) == sub.answer_ids).sum())
    return correct / len(batch)


def cmap_accuracy(base_model, donor_model, batch: EntityBatch, circuit: Circuit, *, batch_size: int = 50) -> float:
    """Accuracy of `base_model` with `circuit`'s heads taken from `donor_model` at their groups' positions.

    Raises:
        InputError: the two models differ in layers or heads.
    """
    _check_shapes(base_model, donor_model)
    values = donor_values(donor_model, batch, circuit, batch_size=batch_size)
    return patched_accuracy(base_model, batch, values, batch_size=batch_size)


def cmap_table(
    base_model,
    donor_model,
    batch: EntityBatch,
    circuit: Circuit,
    *,
    batch_size: int = 50,
    mismatched: bool = False,
) -> dict:
    """CMAP accuracy for no patch, the full circuit and each group alone (the donor runs once).

    With `mismatched=True` every row is repeated as "<row>, mismatched prompts": prompt i receives the donor's
    head outputs from prompt i+1 (another context, same layout). That control tells a transfer of the donor's
    computation on *this* prompt apart from an effect of writing any donor-like activation there.
    """
    _check_shapes(base_model, donor_model)
    values = donor_values(donor_model, batch, circuit, batch_size=batch_size)
    rows = {"none": patched_accuracy(base_model, batch, {}, batch_size=batch_size)}
    variants = [("", values)]
    if mismatched:
        variants.append((", mismatched prompts", {k: v.roll(-1, dims=0) for k, v in values.items()}))
    for suffix, vals in variants:
        rows["full circuit" + suffix] = patched_accuracy(base_model, batch, vals, batch_size=batch_size)
        for group in circuit:
            rows[group + suffix] = patched_accuracy(
                base_model, batch, {k: v for k, v in vals.items() if k[0] == group}, batch_size=batch_size
            )
    return rows
