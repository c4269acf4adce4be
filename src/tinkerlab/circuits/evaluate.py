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
from tinkerlab.patching.interventions import Edit, Intervention, MeanAblation, Patch
from tinkerlab.patching.models import model_device


@torch.inference_mode()
def correct_mask(model, batch: EntityBatch, *, batch_size: int = 50) -> torch.Tensor:
    """[N] bool: whether the argmax next token at the last position is the correct object, per prompt."""
    batch = batch.to(model_device(model))
    out = []
    for start in range(0, len(batch), batch_size):
        ids = batch.input_ids[start : start + batch_size]
        logits = model(ids, logits_to_keep=1).logits[:, -1]  # [b, V]
        out.append(logits.argmax(-1) == batch.answer_ids[start : start + batch_size])
    return torch.cat(out).cpu()


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
    reference = reference.to(model_device(model))
    sites = [f"layers.{layer}.attn.head_out" for layer in range(amap.n_layers)]
    total = None
    for start in range(0, len(reference), batch_size):
        with Intervention(model, cache=sites) as run:
            model(reference.input_ids[start : start + batch_size], logits_to_keep=1)
        part = torch.stack([run.cache[s].sum(0) for s in sites])  # [L, S, H, Dh]
        total = part if total is None else total + part
    return total / len(reference)


def keep_mask(amap, batch: EntityBatch, circuit: Circuit, *, ablate_non_vital_pos: bool = True) -> torch.Tensor:
    """[L, B, S, H] bool: True where a head is not mean-ablated.

    The circuit's heads stay clean at their group's position (VF/PT at the last token, PD at the query label, SR at
    the previous occurrence of the query label, a 'NAME:POSITION' group at that position). With
    `ablate_non_vital_pos` (the default, as the paper evaluates) every other head is mean-ablated everywhere;
    without it (the original code's `ablate_non_vital_pos=False`) only the positions the circuit uses are ablated
    and every head at the other positions stays clean, which measures what the circuit loses through heads at
    positions it does not name."""
    n, seq = batch.input_ids.shape
    keep = torch.zeros(amap.n_layers, n, seq, amap.n_heads, dtype=torch.bool)
    rows = torch.arange(n)
    vital = torch.zeros(n, seq, dtype=torch.bool)
    for group, heads in circuit.items():
        position = batch.group_position(group).cpu()
        vital[rows, position] = True
        for layer, head in heads:
            keep[layer, rows, position, head] = True
    if not ablate_non_vital_pos:
        keep |= (~vital)[None, :, :, None]
    return keep


@torch.inference_mode()
def circuit_accuracy(
    model,
    batch: EntityBatch,
    circuit: Circuit,
    means: torch.Tensor,
    *,
    batch_size: int = 50,
    ablate_non_vital_pos: bool = True,
) -> float:
    """Accuracy with every head mean-ablated except the circuit's heads at their positions (see `keep_mask` for
    `ablate_non_vital_pos`)."""
    amap = arch_map(model)
    batch = batch.to(model_device(model))
    if means.shape[1] != batch.input_ids.shape[1]:
        raise InputError(f"means cover {means.shape[1]} positions but prompts have {batch.input_ids.shape[1]}")
    keep = keep_mask(amap, batch, circuit, ablate_non_vital_pos=ablate_non_vital_pos)
    correct = 0
    for start in range(0, len(batch), batch_size):
        stop = start + batch_size
        ablations = [
            MeanAblation(f"layers.{layer}.attn.head_out", means[layer], keep[layer, start:stop])
            for layer in range(amap.n_layers)
            if not bool(keep[layer, start:stop].all())
        ]
        with Intervention(model, ablations=ablations):
            logits = model(batch.input_ids[start:stop], logits_to_keep=1).logits[:, -1]
        correct += int((logits.argmax(-1) == batch.answer_ids[start:stop]).sum())
    return correct / len(batch)


def ceiling_circuit(amap, groups) -> Circuit:
    """Every head at the positions of `groups` (the best any choice of heads at those positions can do under mean
    ablation: the ceiling of a circuit that uses them)."""
    everything = [(layer, head) for layer in range(amap.n_layers) for head in range(amap.n_heads)]
    return {group: list(everything) for group in groups}


@torch.inference_mode()
def ablated_model_accuracy(
    model, batch: EntityBatch, removed: list[tuple[int, int]], means: torch.Tensor, *, batch_size: int = 50
) -> float:
    """Accuracy of the full model with the `removed` heads mean-ablated at every position."""
    amap = arch_map(model)
    batch = batch.to(model_device(model))
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


def faithfulness_diagnostics(
    model,
    batch: EntityBatch,
    circuit: Circuit,
    means: torch.Tensor,
    *,
    extra_positions: tuple[str, ...] = ("last-1", "last-3", "last-4"),
    extension: Circuit | None = None,
    batch_size: int = 50,
) -> dict:
    """Why a circuit falls short: faithfulness against the ceiling of its own positions, and without ablating
    the positions it does not use.

    Args:
        circuit: the circuit (groups VF/PT/PD/SR, or 'NAME:POSITION' groups).
        extra_positions: positions whose heads are added, one at a time and all together, to the ceiling
            ('last-1' is ' contains', 'last-3' ' Box', 'last-4' the full stop before the query).
        extension: extra groups (e.g. a query-region group from `greedy_query_region_group`, chosen on other
            prompts, or from `query_region_group`) reported as an extended circuit beside the ceiling of its own
            positions.

    Returns:
        {'full_accuracy', 'circuit', 'faithfulness', 'ceiling' (all heads at the circuit's positions),
        'faithfulness_of_ceiling' (circuit / ceiling), 'not_ablating_other_positions' (`ablate_non_vital_pos=False`),
        'ceiling_plus': {position or 'all': accuracy}, and with an extension 'extended': {'circuit', 'ceiling',
        'faithfulness', 'of_ceiling'}}; accuracies are fractions of prompts, faithfulness = accuracy / full.
    """
    amap = arch_map(model)
    full = accuracy(model, batch, batch_size=batch_size)

    def acc(c: Circuit, **kwargs) -> float:
        return circuit_accuracy(model, batch, c, means, batch_size=batch_size, **kwargs)

    def ratio(a: float, b: float) -> float:
        return a / b if b > 0 else float("nan")

    own = acc(circuit)
    ceiling = acc(ceiling_circuit(amap, circuit))
    plus = {}
    for position in extra_positions:
        plus[position] = acc(ceiling_circuit(amap, [*circuit, f"all:{position}"]))
    if len(extra_positions) > 1:
        plus["all"] = acc(ceiling_circuit(amap, [*circuit, *(f"all:{p}" for p in extra_positions)]))
    out = {
        "full_accuracy": full,
        "circuit": own,
        "faithfulness": ratio(own, full),
        "ceiling": ceiling,
        "faithfulness_ceiling": ratio(ceiling, full),
        "of_ceiling": ratio(own, ceiling),
        "not_ablating_other_positions": acc(circuit, ablate_non_vital_pos=False),
        "ceiling_plus": plus,
    }
    if extension:
        extended = {**circuit, **extension}
        ext, ext_ceiling = acc(extended), acc(ceiling_circuit(amap, extended))
        out["extended"] = {
            "sizes": {g: len(h) for g, h in extended.items()},
            "circuit": ext,
            "ceiling": ext_ceiling,
            "faithfulness": ratio(ext, full),
            "of_ceiling": ratio(ext, ext_ceiling),
        }
    return out


@torch.inference_mode()
def position_layer_sweep(
    model, clean: EntityBatch, corrupt: EntityBatch, *, site: str = "attn.out", positions=None, batch_size: int = 50
) -> torch.Tensor:
    """Where the answer flows: patch one (position, layer) of the clean run with the corrupt run's activation.

    Args:
        clean, corrupt: prompts of one layout (`data.path_patching_pairs`).
        site: the site patched, 'attn.out' (the attention block's output) or 'resid_pre' (the residual stream).
        positions: positions to sweep (default every position).

    Returns:
        [S, L] mean relative change of p(answer) over the prompts (0 for positions not swept); the most negative
        cells carry the answer's information.
    """
    from tinkerlab.patching.prefix import clean_run, run_from

    amap = arch_map(model)
    device = model_device(model)
    clean, corrupt = clean.to(device), corrupt.to(device)
    n, seq = clean.input_ids.shape
    n_layers = amap.n_layers
    sites = [f"layers.{layer}.{site}" for layer in range(n_layers)]
    positions = list(range(1, seq)) if positions is None else [int(p) for p in positions]
    effect = torch.zeros(seq, n_layers)
    for start in range(0, n, batch_size):
        rows = slice(start, min(n, start + batch_size))
        base = clean_run(model, clean.input_ids[rows])
        source = clean_run(model, corrupt.input_ids[rows], cache=sites)
        b = base.input_ids.shape[0]
        answers = clean.answer_ids[rows]
        p_clean = base.logits.softmax(-1).gather(1, answers.unsqueeze(1)).squeeze(1)  # [b]
        for position in positions:
            copy_rows = torch.arange(b, device=device)
            patches = [
                Patch(
                    sites[layer],
                    layer * b + copy_rows,
                    torch.full((b,), position, device=device),
                    source.cache[sites[layer]][:, position],
                )
                for layer in range(n_layers)
            ]
            logits, _ = run_from(model, base, position, repeat=n_layers, patches=patches)
            p = logits.softmax(-1).gather(1, answers.repeat(n_layers).unsqueeze(1)).view(n_layers, b)
            effect[position] += ((p - p_clean) / p_clean).sum(1).cpu()
    return effect / n


def located_positions(sweep: torch.Tensor, last: int, region: tuple[str, ...], threshold: float) -> list[str]:
    """The positions of `region` ('last-K' names) whose strongest cell of the [S, L] `sweep` lowers p(answer) by at
    least `threshold`, in `region`'s order.

    Example:
        >>> sweep = torch.zeros(6, 2); sweep[3, 1] = -0.2
        >>> located_positions(sweep, 5, ("last-3", "last-2", "last-1"), 0.01)
        ['last-2']
    """
    return [name for name in region if float(sweep[last - int(name.split("-")[1])].min()) <= -threshold]


def query_region_group(
    model,
    clean: EntityBatch,
    corrupt: EntityBatch,
    sweep: torch.Tensor,
    *,
    region: tuple[str, ...] = ("last-4", "last-3", "last-1"),
    threshold: float = 0.01,
    max_heads: int = 20,
    batch_size: int = 50,
) -> tuple[Circuit, dict]:
    """A query-region group located by the sweep: at each query-region position whose strongest cell of `sweep`
    lowers p(answer) by at least `threshold`, the heads whose own patch (clean run, that head's output replaced
    by its corrupt value) lowers it by at least `threshold`, at most `max_heads` per position.

    Returns:
        ({'QR:last-K': heads}, {position: [L, H] per-head scores}) for the located positions.
    """
    from tinkerlab.circuits.pathpatch import select_heads

    last = int(clean.last[0])
    group: Circuit = {}
    scores: dict = {}
    for name in located_positions(sweep, last, region, threshold):
        position = last - int(name.split("-")[1])
        head_scores = head_patch_scores(model, clean, corrupt, position, batch_size=batch_size)
        scores[name] = head_scores
        heads = select_heads(head_scores, threshold=threshold, max_heads=max_heads, min_heads=0)
        if heads:
            group[f"QR:{name}"] = heads
    return group, scores


@torch.inference_mode()
def head_patch_scores(model, clean: EntityBatch, corrupt: EntityBatch, position: int, *, batch_size: int = 50):
    """[L, H] mean relative change of p(answer) when one head's output at `position` takes its corrupt value
    (activation patching, one head at a time, every other head free)."""
    from tinkerlab.patching.prefix import clean_run, run_from

    amap = arch_map(model)
    device = model_device(model)
    clean, corrupt = clean.to(device), corrupt.to(device)
    n = clean.input_ids.shape[0]
    n_layers, n_heads = amap.n_layers, amap.n_heads
    sites = [f"layers.{layer}.attn.head_out" for layer in range(n_layers)]
    scores = torch.zeros(n_layers, n_heads)
    for start in range(0, n, batch_size):
        rows = slice(start, min(n, start + batch_size))
        base = clean_run(model, clean.input_ids[rows])
        source = clean_run(model, corrupt.input_ids[rows], cache=sites, cache_positions=torch.tensor([position]))
        b = base.input_ids.shape[0]
        answers = clean.answer_ids[rows]
        p_clean = base.logits.softmax(-1).gather(1, answers.unsqueeze(1)).squeeze(1)
        copy_rows = torch.arange(b, device=device)
        for layer in range(n_layers):
            patches = [
                Patch(
                    sites[layer],
                    head * b + copy_rows,
                    torch.full((b,), position, device=device),
                    source.cache[sites[layer]][:, 0, head],
                    torch.full((b,), head, device=device),
                )
                for head in range(n_heads)
            ]
            logits, _ = run_from(model, base, position, repeat=n_heads, patches=patches)
            p = logits.softmax(-1).gather(1, answers.repeat(n_heads).unsqueeze(1)).view(n_heads, b)
            scores[layer] += ((p - p_clean) / p_clean).sum(1).cpu()
    return scores / n


def head_attributions(
    model,
    batch: EntityBatch,
    circuit: Circuit,
    means: torch.Tensor,
    positions: tuple[str, ...],
    *,
    batch_size: int = 50,
) -> torch.Tensor:
    """First-order estimate of what each head adds to a mean-ablated circuit at each of `positions`.

    Every head's output is written as mean + s * (clean - mean), with s = 1 for the circuit's heads at their
    positions and 0 elsewhere (the `circuit_accuracy` run); the gradient of log p(answer) with respect to s at a
    head and position is the gain in log p(answer) expected from keeping that head clean there (attribution
    patching, one forward and one backward per batch for every head at every position).

    Args:
        positions: named positions ('last-1', 'query_label', ...) to score.

    Returns:
        [P, L, H] mean attribution over the prompts, one [L, H] map per position (heads already kept there score
        what removing them would cost).
    """
    amap = arch_map(model)
    device = model_device(model)
    batch = batch.to(device)
    if means.shape[1] != batch.input_ids.shape[1]:
        raise InputError(f"expected means over {batch.input_ids.shape[1]} positions, got {means.shape[1]}")
    if not positions:
        raise InputError("expected at least one position to score, got none")
    keep = keep_mask(amap, batch, circuit).float()  # [L, N, S, H]
    where = torch.stack([batch.position(p) for p in positions]).cpu()  # [P, N]
    total = torch.zeros(len(positions), amap.n_layers, amap.n_heads)
    for start in range(0, len(batch), batch_size):
        stop = min(len(batch), start + batch_size)
        strength = [keep[layer, start:stop].clone().to(device).requires_grad_(True) for layer in range(amap.n_layers)]

        def mix(layer: int, s: torch.Tensor):
            mean = means[layer].to(device).unsqueeze(0)  # [1, S, H, Dh]
            return lambda x: mean + s.unsqueeze(-1).to(x.dtype) * (x - mean)

        edits = [Edit(f"layers.{layer}.attn.head_out", mix(layer, strength[layer])) for layer in range(amap.n_layers)]
        with torch.enable_grad(), Intervention(model, edits=edits):
            logits = model(batch.input_ids[start:stop], logits_to_keep=1).logits[:, -1].float()
            answers = batch.answer_ids[start:stop]
            logits.log_softmax(-1).gather(1, answers.unsqueeze(1)).sum().backward()
        grad = torch.stack([s.grad.cpu() for s in strength])  # [L, b, S, H]
        rows = torch.arange(stop - start)
        for i in range(len(positions)):
            total[i] += grad[:, rows, where[i, start:stop]].sum(1)  # [L, H]
    return total / len(batch)


def greedy_query_region_group(
    model,
    selection: EntityBatch,
    circuit: Circuit,
    means: torch.Tensor,
    sweep: torch.Tensor,
    *,
    region: tuple[str, ...] = ("last-4", "last-3", "last-2", "last-1"),
    threshold: float = 0.01,
    target: float = 0.85,
    step: int = 6,
    max_heads: int = 48,
    batch_size: int = 50,
) -> tuple[Circuit, list[dict]]:
    """A query-region group chosen for what it adds to the mean-ablated circuit, on selection prompts.

    The positions are those of `region` whose strongest cell of `sweep` lowers p(answer) by at least `threshold`
    (as `query_region_group`). Each round scores every head at those positions by `head_attributions` under the
    circuit extended so far, adds the `step` best not yet in it, and measures the extended circuit's accuracy on
    `selection`; it stops once that accuracy reaches `target` of the ceiling of the circuit's and the located
    positions (every head there kept), or at `max_heads`. Select on prompts disjoint from those the result is
    evaluated on: the stopping rule reads their accuracy. The ceiling is a reference, not a bound: under mean
    ablation a chosen subset of heads can beat keeping every head at the same positions (on SmolLM2 it does).

    Args:
        selection: prompts the heads are chosen on (e.g. `entity_batch` with a seed the evaluation does not use).
        sweep: [S, L] from `position_layer_sweep` on prompts of the same layout.

    Returns:
        ({'QR:last-K': heads} for the positions that received heads, in order of addition; the selection
        curve: per round {'heads', 'accuracy', 'ceiling', 'of_ceiling'} on `selection`).
    """
    if step < 1 or max_heads < 1:
        raise InputError(f"expected step and max_heads >= 1, got {step} and {max_heads}")
    if not 0 < target <= 1:
        raise InputError(f"expected a target in (0, 1], got {target}")
    amap = arch_map(model)
    located = located_positions(sweep, int(selection.last[0]), region, threshold)
    groups = {f"QR:{name}": [] for name in located}
    if not located:
        return {}, []

    def acc(c: Circuit) -> float:
        return circuit_accuracy(model, selection, c, means, batch_size=batch_size)

    ceiling = acc(ceiling_circuit(amap, [*circuit, *groups]))
    curve = []
    while True:
        extended = {**circuit, **{g: hs for g, hs in groups.items() if hs}}
        ext = acc(extended)
        n_added = sum(len(hs) for hs in groups.values())
        of_ceiling = ext / ceiling if ceiling > 0 else float("nan")
        curve.append({"heads": n_added, "accuracy": ext, "ceiling": ceiling, "of_ceiling": of_ceiling})
        if of_ceiling >= target or n_added >= max_heads:
            break
        scores = head_attributions(model, selection, extended, means, tuple(located), batch_size=batch_size)
        kept = keep_mask(amap, selection, extended)  # [L, N, S, H]
        rows = torch.arange(len(selection))
        for i, name in enumerate(located):
            scores[i][kept[:, rows, selection.position(name).cpu()].all(1)] = -float("inf")  # already kept there
        order = scores.flatten().argsort(descending=True)[: min(step, max_heads - n_added)]
        for index in order.tolist():
            i, rest = divmod(index, amap.n_layers * amap.n_heads)
            groups[f"QR:{located[i]}"].append(divmod(rest, amap.n_heads))
    return {g: hs for g, hs in groups.items() if hs}, curve


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
    ranking: str = "pairwise",
    seed: int = 0,
    batch_size: int = 50,
) -> dict[str, list[dict]]:
    """Minimality test per head (IOI-style, as the original's `minimality.py`): remove a `fraction` of the head's
    group-mates, then compare accuracy before and after also removing the head; keep it if
    before / after - 1 >= threshold.

    Args:
        ranking: 'pairwise' (the original: the group-mates removed first are those interacting most with the
            head, interaction(v, k) = acc(without k) - acc(without v and k), from all pairwise removals, k^2 / 2
            evaluations per group) or 'random' (group-mates drawn at random, 2 evaluations per head).

    Returns:
        Per group a list of {head, before, after, kept}.
    """
    if ranking not in ("pairwise", "random"):
        raise InputError(f"ranking must be 'pairwise' or 'random', got {ranking!r}")
    g = torch.Generator().manual_seed(seed)
    cache: dict[frozenset, float] = {}

    def without(group: str, removed: set) -> float:
        key = frozenset((group, h) for h in removed)
        if key not in cache:
            reduced = {gr: [h for h in hh if not (gr == group and h in removed)] for gr, hh in circuit.items()}
            cache[key] = circuit_accuracy(model, batch, reduced, means, batch_size=batch_size)
        return cache[key]

    out: dict[str, list[dict]] = {}
    for group, hs in circuit.items():
        out[group] = []
        for head in hs:
            mates = [h for h in hs if h != head]
            k = int(round(fraction * len(mates)))
            if ranking == "pairwise":
                interaction = [without(group, {m}) - without(group, {m, head}) for m in mates]
                order = sorted(range(len(mates)), key=lambda i: -interaction[i])[:k]
            else:
                order = torch.randperm(len(mates), generator=g)[:k].tolist()
            removed = {mates[i] for i in order}
            before = without(group, removed)
            after = without(group, removed | {head})
            ratio = before / after - 1 if after > 0 else float("inf")
            out[group].append({"head": list(head), "before": before, "after": after, "kept": ratio >= threshold})
    return out
