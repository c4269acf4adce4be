"""Circuit evaluation by per-position mean ablation: accuracy, faithfulness, random baseline, completeness.

Part of `tinkerlab.circuits` (Prakash et al., "Fine-Tuning Enhances Existing Mechanisms", ICLR 2024, section 3).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from tinkerlab.circuits.data import EntityBatch
from tinkerlab.circuits.groups import Circuit
from tinkerlab.core.errors import InputError
from tinkerlab.patching.archmap import arch_map
from tinkerlab.patching.interventions import Intervention, MeanAblation


@torch.inference_mode()
def correct_mask(model, batch: EntityBatch, *, batch_size: int = 50) -> torch.Tensor:
    """[N] bool: whether the argmax next token at the last position is the correct object, per prompt."""
    out = []
    for start in range(0, len(batch), batch_size):
        ids = batch.input_ids[start : start + batch_size]
        logits = model(ids, logits_to_keep=1).logits[:, -1]  # [b, V]
        out.append(logits.argmax(-1) == batch.answer_ids[start : start + batch_size])
    return torch.cat(out)


def accuracy(model, batch: EntityBatch, *, batch_size: int = 50) -> float:
    """Fraction of prompts whose argmax next token at the last position is the correct object."""
    return float(correct_mask(model, batch, batch_size=batch_size).float().mean())


def paired_difference(a: torch.Tensor, b: torch.Tensor, *, n_boot: int = 2000, seed: int = 0) -> dict:
    """Compare two models' per-prompt correctness on the same prompts.

    Args:
        a, b: [N] bool correctness of model A and model B.

    Returns:
        {'difference': acc(b) - acc(a), 'ci95': bootstrap interval over prompts, 'only_a', 'only_b' (discordant
        prompts), 'p_value': two-sided exact McNemar (binomial) test}.
    """
    from math import comb

    a, b = a.float(), b.float()
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, a.shape[0], (n_boot, a.shape[0]), generator=g)
    boots = (b[idx] - a[idx]).mean(1)
    only_a, only_b = int(((a == 1) & (b == 0)).sum()), int(((a == 0) & (b == 1)).sum())
    n = only_a + only_b
    tail = sum(comb(n, k) for k in range(min(only_a, only_b) + 1)) / 2**n if n else 1.0
    return {
        "difference": float((b - a).mean()),
        "ci95": [float(boots.quantile(0.025)), float(boots.quantile(0.975))],
        "only_a": only_a,
        "only_b": only_b,
        "p_value": min(1.0, 2 * tail),
    }


# --- mean-ablation circuit evaluation -------------------------------------------------------------------------


@torch.inference_mode()
def head_means(model, reference: EntityBatch, *, batch_size: int = 50) -> torch.Tensor:
    """[L, S, H, Dh] per-position mean of every head's output over the reference prompts."""
    amap = arch_map(model)
    sites = [f"layers.{layer}.attn.head_out" for layer in range(amap.n_layers)]
    total = None
    for start in range(0, len(reference), batch_size):
        with Intervention(model, cache=sites) as run:
            model(reference.input_ids[start : start + batch_size], logits_to_keep=1)
        part = torch.stack([run.cache[s].sum(0) for s in sites])  # [L, S, H, Dh]
        total = part if total is None else total + part
    return total / len(reference)


def keep_mask(amap, batch: EntityBatch, circuit: Circuit) -> torch.Tensor:
    """[L, B, S, H] bool: True where a circuit head stays clean (VF/PT at the last token, PD at the query label,
    SR at the previous occurrence of the query label); everything else is mean-ablated."""
    n, seq = batch.input_ids.shape
    keep = torch.zeros(amap.n_layers, n, seq, amap.n_heads, dtype=torch.bool)
    rows = torch.arange(n)
    for group, heads in circuit.items():
        position = batch.group_position(group)
        for layer, head in heads:
            keep[layer, rows, position, head] = True
    return keep


@torch.inference_mode()
def circuit_accuracy(
    model, batch: EntityBatch, circuit: Circuit, means: torch.Tensor, *, batch_size: int = 50
) -> float:
    """Accuracy with every head mean-ablated except the circuit's heads at their positions."""
    amap = arch_map(model)
    if means.shape[1] != batch.input_ids.shape[1]:
        raise InputError(f"means cover {means.shape[1]} positions but prompts have {batch.input_ids.shape[1]}")
    keep = keep_mask(amap, batch, circuit)
    correct = 0
    for start in range(0, len(batch), batch_size):
        stop = start + batch_size
        ablations = [
            MeanAblation(f"layers.{layer}.attn.head_out", means[layer], keep[layer, start:stop])
            for layer in range(amap.n_layers)
        ]
        with Intervention(model, ablations=ablations):
            logits = model(batch.input_ids[start:stop], logits_to_keep=1).logits[:, -1]
        correct += int((logits.argmax(-1) == batch.answer_ids[start:stop]).sum())
    return correct / len(batch)


@torch.inference_mode()
def ablated_model_accuracy(
    model, batch: EntityBatch, removed: list[tuple[int, int]], means: torch.Tensor, *, batch_size: int = 50
) -> float:
    """Accuracy of the full model with the `removed` heads mean-ablated at every position."""
    amap = arch_map(model)
    keep = torch.ones(amap.n_layers, 1, batch.input_ids.shape[1], amap.n_heads, dtype=torch.bool)
    for layer, head in removed:
        keep[layer, :, :, head] = False
    correct = 0
    for start in range(0, len(batch), batch_size):
        stop = start + batch_size
        ablations = [
            MeanAblation(f"layers.{layer}.attn.head_out", means[layer], keep[layer])
            for layer in range(amap.n_layers)
            if not bool(keep[layer].all())
        ]
        with Intervention(model, ablations=ablations):
            logits = model(batch.input_ids[start:stop], logits_to_keep=1).logits[:, -1]
        correct += int((logits.argmax(-1) == batch.answer_ids[start:stop]).sum())
    return correct / len(batch)


def random_circuit(amap, sizes: dict[str, int], *, seed: int) -> Circuit:
    """A circuit with the given number of heads per group, drawn uniformly without repeats."""
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(amap.n_layers * amap.n_heads, generator=g).tolist()
    circuit, at = {}, 0
    for group, size in sizes.items():
        circuit[group] = [(i // amap.n_heads, i % amap.n_heads) for i in order[at : at + size]]
        at += size
    return circuit


@dataclass(frozen=True)
class CircuitEvaluation:
    """Full-model accuracy, circuit accuracy, faithfulness and the random-circuit baseline (mean and std)."""

    full_accuracy: float
    circuit_accuracy: float
    faithfulness: float
    random_accuracy: float
    random_std: float
    n_heads: int


def evaluate_circuit(
    model,
    batch: EntityBatch,
    circuit: Circuit,
    means: torch.Tensor,
    *,
    n_random: int = 10,
    seed: int = 0,
    batch_size: int = 50,
) -> CircuitEvaluation:
    """Faithfulness = circuit accuracy / full-model accuracy, with `n_random` same-size random circuits."""
    full = accuracy(model, batch, batch_size=batch_size)
    circ = circuit_accuracy(model, batch, circuit, means, batch_size=batch_size)
    sizes = {g: len(h) for g, h in circuit.items()}
    amap = arch_map(model)
    randoms = torch.tensor(
        [
            circuit_accuracy(model, batch, random_circuit(amap, sizes, seed=seed + i), means, batch_size=batch_size)
            for i in range(n_random)
        ]
    )
    return CircuitEvaluation(
        full,
        circ,
        circ / full if full > 0 else float("nan"),
        float(randoms.mean()),
        float(randoms.std()) if n_random > 1 else 0.0,
        sum(sizes.values()),
    )


def completeness(
    model,
    batch: EntityBatch,
    circuit: Circuit,
    means: torch.Tensor,
    *,
    n_random: int = 20,
    p_drop: float = 0.5,
    seed: int = 0,
    batch_size: int = 50,
) -> dict:
    """Incompleteness |F(C minus K) - F(M minus K)| for random subsets K (each circuit head dropped with
    p_drop) and for each whole group K (IOI-style, Wang et al. 2023).

    Returns:
        {'random': {'model', 'circuit', 'incompleteness'} as (mean, std) pairs, 'per_group': {group: {...}}}.
    """
    g = torch.Generator().manual_seed(seed)
    heads = [(group, h) for group, hs in circuit.items() for h in hs]

    def one(removed: set) -> tuple[float, float]:
        reduced = {group: [h for h in hs if (group, h) not in removed] for group, hs in circuit.items()}
        f_c = circuit_accuracy(model, batch, reduced, means, batch_size=batch_size)
        f_m = ablated_model_accuracy(model, batch, [h for _, h in removed], means, batch_size=batch_size)
        return f_c, f_m

    rows = []
    for _ in range(n_random):
        drop = torch.rand(len(heads), generator=g) < p_drop
        rows.append(one({heads[i] for i in range(len(heads)) if drop[i]}))
    t = torch.tensor(rows)  # [n, 2]
    gap = (t[:, 0] - t[:, 1]).abs()
    out = {
        "random": {
            "circuit": (float(t[:, 0].mean()), float(t[:, 0].std())),
            "model": (float(t[:, 1].mean()), float(t[:, 1].std())),
            "incompleteness": (float(gap.mean()), float(gap.std())),
        },
        "per_group": {},
    }
    for group, hs in circuit.items():
        f_c, f_m = one({(group, h) for h in hs})
        out["per_group"][group] = {"circuit": f_c, "model": f_m, "incompleteness": abs(f_c - f_m)}
    return out


def minimality(
    model,
    batch: EntityBatch,
    circuit: Circuit,
    means: torch.Tensor,
    *,
    fraction: float = 0.3,
    threshold: float = 0.01,
    seed: int = 0,
    batch_size: int = 50,
) -> dict[str, list[dict]]:
    """Minimality test per head (IOI-style, simplified): remove a random `fraction` of the head's group-mates, then
    compare accuracy before and after also removing the head; keep it if before/after - 1 >= threshold.

    The original ranks group-mates by pairwise interaction (2 * k^2 evaluations); here they are drawn at random,
    which costs 2 evaluations per head. Returns per group a list of {head, before, after, kept}.
    """
    g = torch.Generator().manual_seed(seed)
    out: dict[str, list[dict]] = {}
    for group, hs in circuit.items():
        out[group] = []
        for head in hs:
            mates = [h for h in hs if h != head]
            k = int(round(fraction * len(mates)))
            idx = torch.randperm(len(mates), generator=g)[:k].tolist()
            removed = {mates[i] for i in idx}
            before_c = {gr: [h for h in hh if not (gr == group and h in removed)] for gr, hh in circuit.items()}
            after_c = {gr: [h for h in hh if gr != group or h != head] for gr, hh in before_c.items()}
            before = circuit_accuracy(model, batch, before_c, means, batch_size=batch_size)
            after = circuit_accuracy(model, batch, after_c, means, batch_size=batch_size)
            ratio = before / after - 1 if after > 0 else float("inf")
            out[group].append({"head": list(head), "before": before, "after": after, "kept": ratio >= threshold})
    return out
