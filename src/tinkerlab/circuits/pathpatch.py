"""Path patching with the four-step sender/receiver schedule of the entity-tracking circuit, and minimality.

Part of `tinkerlab.circuits` (Prakash et al., "Fine-Tuning Enhances Existing Mechanisms", ICLR 2024, section 3;
path patching after Wang et al., ICLR 2023). For every sender head:

1. *Sender patch and freeze.* Run the clean prompt with the sender's output (input of W_O) replaced by its value
   on the corrupt prompt at the sender position, and every other head at that position frozen at its clean value;
   MLPs recompute. Record the receivers' q (q-composition) or v (v-composition) at the receiver position.
2. *Receiver patch.* Rerun the clean prompt with only those receiver q/v values overwritten.
3. *Score* = mean over prompts of (p_patched(answer) - p_clean(answer)) / p_clean(answer); the most negative
   scores matter most.

| step | sender position                 | receivers                  | composition |
|------|---------------------------------|----------------------------|-------------|
| VF   | last token                      | none (direct to logits)    | -           |
| PT   | last token                      | VF heads at the last token | q           |
| PD   | query label (last - 2)          | PT heads at last - 2       | v           |
| SR   | previous query-label occurrence | PD heads at that position  | v           |

Speed, all exact: receivers sit at the sender position, and step 1 freezes every head there, so step 1 is one
position moving through MLPs only (`partial.frozen_attention_pass`), from the sender's block to the last
receiver's. Step 2 recomputes positions s..last from the lowest receiver block above the sender, with the clean
run's keys, values and residual stream below (`run_from(from_layer=...)`). Many senders run in one batched
forward (one copy of the batch per sender). Heads in layers at or above the last receiver layer cannot reach a
receiver and are skipped (score 0). With grouped-query attention, a v patch writes the key/value head that the
receiving query head reads, which is shared with the other query heads of its group.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import torch

from tinkerlab.circuits.data import EntityBatch
from tinkerlab.circuits.groups import GROUPS
from tinkerlab.core.config import check_choice, check_count, check_length, check_range, config_error
from tinkerlab.core.errors import InputError
from tinkerlab.core.progress import track
from tinkerlab.patching.archmap import arch_map
from tinkerlab.patching.interventions import Head, Patch
from tinkerlab.patching.partial import frozen_attention_pass, unembed
from tinkerlab.patching.prefix import CleanRun, clean_run, run_from

_RECEIVER = {"PT": ("VF", "q"), "PD": ("PT", "v"), "SR": ("PD", "v")}


@dataclass(frozen=True)
class PathPatchConfig:
    """Settings of the four-step schedule.

    Attributes:
        threshold: a head joins its group when its score is <= -threshold (relative drop of p(answer)).
        max_heads: at most this many heads per group (the most negative scores).
        min_heads: at least this many heads per group.
        rows_per_forward: at most this many rows (sender x prompt) per batched forward.
        tokens_per_forward: at most this many recomputed positions (rows x positions) per batched forward.
        cache_bytes_per_forward: at most this many bytes of clean keys/values copied for one batched forward of
            step 2 (each row holds its own copy of the prefix in the blocks it recomputes); bounds peak memory.
        selection: 'threshold' (a head's mean score <= -threshold, as the paper) or 'interval' (the upper end of
            its bootstrap interval over prompts <= -threshold: selected only when above the noise).
        n_boot: bootstrap resamples of the prompts for the per-head intervals (0: no intervals).
        level: the intervals' coverage.
        remove_vf_pt_overlap: drop heads selected as PT from VF (the original code does).
        positions: the sender position of each group (VF, PT, PD, SR): 'last', 'query_label', 'prev_label' or
            'last-K'; the receivers of a step sit at its sender position.
        seed: the bootstrap's seed.
    """

    threshold: float = 0.02
    max_heads: tuple[int, int, int, int] = (20, 10, 15, 10)
    min_heads: int = 1
    rows_per_forward: int = 1200
    tokens_per_forward: int = 8000
    cache_bytes_per_forward: int = 512 * 2**20
    selection: Literal["threshold", "interval"] = "threshold"
    n_boot: int = 1000
    level: float = 0.95
    remove_vf_pt_overlap: bool = True
    positions: tuple[str, str, str, str] = ("last", "last", "query_label", "prev_label")
    seed: int = 0

    def __post_init__(self) -> None:
        check_range(self, "threshold", 0, 1)  # a relative drop of p(answer)
        check_length(self, "max_heads", len(GROUPS))  # one per group: VF, PT, PD, SR
        for index in range(len(GROUPS)):
            check_count(self, f"max_heads[{index}]", 1)
        check_count(self, "min_heads", 0)
        if self.min_heads > min(self.max_heads):
            raise config_error(self, "min_heads", f"an integer <= min(max_heads)={min(self.max_heads)}", self.min_heads)
        check_count(self, "rows_per_forward", 1)
        check_count(self, "tokens_per_forward", 1)
        check_count(self, "cache_bytes_per_forward", 1)
        check_choice(self, "selection", ("threshold", "interval"))
        check_count(self, "n_boot", 0)
        if self.selection == "interval" and self.n_boot < 10:
            raise config_error(self, "n_boot", "at least 10 resamples for selection='interval'", self.n_boot)
        check_range(self, "level", 0.5, 1)
        check_length(self, "positions", len(GROUPS))
        for index, name in enumerate(self.positions):
            if name not in ("last", "query_label", "prev_label") and not (
                name.startswith("last-") and name[5:].isdigit()
            ):
                raise config_error(self, f"positions[{index}]", "last, query_label, prev_label or last-K", name)
        check_count(self, "seed", 0)


@dataclass
class PathPatchResult:
    """Scores [n_layers, n_heads] per group, the selected circuit, timings, and (with `n_boot`) per-head bootstrap
    intervals [2, n_layers, n_heads] and each group's split-half self-overlap (`split_half_overlap`)."""

    scores: dict[str, torch.Tensor]
    circuit: dict[str, list[Head]]
    seconds: dict[str, float] = field(default_factory=dict)
    intervals: dict[str, torch.Tensor] = field(default_factory=dict)
    split_half: dict[str, dict] = field(default_factory=dict)
    removed_overlap: list[Head] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "scores": {g: s.tolist() for g, s in self.scores.items()},
            "circuit": {g: [list(h) for h in hs] for g, hs in self.circuit.items()},
            "seconds": self.seconds,
            "intervals": {g: s.tolist() for g, s in self.intervals.items()},
            "split_half": self.split_half,
            "removed_overlap": [list(h) for h in self.removed_overlap],
        }

    @classmethod
    def from_dict(cls, data: dict) -> PathPatchResult:
        return cls(
            {g: torch.tensor(s) for g, s in data["scores"].items()},
            {g: [tuple(h) for h in hs] for g, hs in data["circuit"].items()},
            data.get("seconds", {}),
            {g: torch.tensor(s) for g, s in data.get("intervals", {}).items()},
            data.get("split_half", {}),
            [tuple(h) for h in data.get("removed_overlap", [])],
        )


def select_heads(scores: torch.Tensor, *, threshold: float, max_heads: int, min_heads: int = 1) -> list[Head]:
    """Heads with score <= -threshold, most negative first, between min_heads and max_heads of them."""
    flat = scores.flatten()
    order = torch.argsort(flat)
    n = int((flat <= -threshold).sum())
    n = max(min_heads, min(max_heads, n))
    n_heads = scores.shape[1]
    return [(int(i) // n_heads, int(i) % n_heads) for i in order[:n]]


def bootstrap_intervals(
    per_prompt: torch.Tensor, *, n_boot: int = 1000, level: float = 0.95, seed: int = 0
) -> torch.Tensor:
    """[2, L, H] percentile bootstrap interval of each head's mean score, resampling prompts.

    Args:
        per_prompt: [L, H, N] scores per prompt.
    """
    n = per_prompt.shape[-1]
    g = torch.Generator().manual_seed(seed)
    flat = per_prompt.reshape(-1, n).double()  # [L * H, N]
    means = torch.empty(n_boot, flat.shape[0], dtype=torch.float64)
    for start in range(0, n_boot, 100):
        idx = torch.randint(0, n, (min(100, n_boot - start), n), generator=g)  # [b, N]
        means[start : start + idx.shape[0]] = flat[:, idx].mean(-1).t()
    tail = (1 - level) / 2
    bounds = torch.quantile(means, torch.tensor([tail, 1 - tail], dtype=torch.float64), dim=0)  # [2, L * H]
    return bounds.float().view(2, *per_prompt.shape[:2])


def select_by_interval(
    scores: torch.Tensor, intervals: torch.Tensor, *, threshold: float, max_heads: int, min_heads: int = 1
) -> list[Head]:
    """Heads whose whole interval lies at or below -threshold (upper end <= -threshold), most negative mean
    first, between min_heads and max_heads of them (min_heads fills up by mean score when too few qualify)."""
    flat, upper = scores.flatten(), intervals[1].flatten()
    order = torch.argsort(flat)
    n_heads = scores.shape[1]
    chosen = [int(i) for i in order if upper[i] <= -threshold][:max_heads]
    for i in order.tolist():
        if len(chosen) >= min_heads:
            break
        if i not in chosen:
            chosen.append(i)
    chosen.sort(key=lambda i: float(flat[i]))
    return [(i // n_heads, i % n_heads) for i in chosen]


def split_half_overlap(
    per_prompt: torch.Tensor, *, threshold: float, max_heads: int, min_heads: int = 1, n_splits: int = 20, seed: int = 0
) -> dict:
    """The selection's noise floor: split the prompts in random halves, select on each half, compare.

    Args:
        per_prompt: [L, H, N] scores per prompt (for fixed receivers).

    Returns:
        {'shared': mean fraction of one half's heads also selected by the other (precision, as the paper's
        overlap), 'jaccard': mean |A & B| / |A | B|, 'sizes': mean head count per half, 'rank_correlation': mean
        Spearman correlation of the two halves' score maps, 'n_splits'}.
    """
    n = per_prompt.shape[-1]
    g = torch.Generator().manual_seed(seed)
    shared, jaccard, sizes, rho = [], [], [], []
    for _ in range(n_splits):
        order = torch.randperm(n, generator=g)
        halves = [per_prompt[..., order[: n // 2]].mean(-1), per_prompt[..., order[n // 2 :]].mean(-1)]
        a, b = (set(select_heads(h, threshold=threshold, max_heads=max_heads, min_heads=min_heads)) for h in halves)
        shared.append(len(a & b) / len(a) if a else float("nan"))
        jaccard.append(len(a & b) / len(a | b) if a | b else float("nan"))
        sizes.append((len(a) + len(b)) / 2)
        rho.append(rank_correlation(halves[0], halves[1]))
    t = torch.tensor

    def mean(values):
        v = t(values, dtype=torch.float64)
        v = v[~v.isnan()]
        return float(v.mean()) if v.numel() else float("nan")

    return {
        "shared": mean(shared),
        "jaccard": mean(jaccard),
        "sizes": mean(sizes),
        "rank_correlation": mean(rho),
        "n_splits": n_splits,
    }


def rank_correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    """Spearman correlation of two score maps (ties by order; nan when one is constant)."""
    ra = a.flatten().argsort().argsort().double()
    rb = b.flatten().argsort().argsort().double()
    if float(a.flatten().std()) == 0 or float(b.flatten().std()) == 0:
        return float("nan")
    return float(torch.corrcoef(torch.stack([ra, rb]))[0, 1])


def _answer_prob(logits: torch.Tensor, answers: torch.Tensor) -> torch.Tensor:
    """[R] softmax probability of the answer token, answers tiled over copies of the batch."""
    reps = logits.shape[0] // answers.shape[0]
    return logits.softmax(-1).gather(1, answers.repeat(reps).unsqueeze(1)).squeeze(1)


class PathPatcher:
    """Runs the schedule on one model and one set of clean/corrupt prompts (grouped by sender position).

    Step 1 never computes attention: every head at the sender position is frozen (the sender at its corrupt value,
    the others at their clean values), so each block's attention output there is known and the residual stream
    moves through the MLPs only (`partial.frozen_attention_pass`), from the sender's block up to the last receiver.
    Step 2 recomputes positions from the receiver position on, from the lowest receiver block above the senders
    (`run_from(from_layer=...)`); receivers at or below a sender's block see no change and are not patched for it.
    """

    def __init__(self, model, clean: EntityBatch, corrupt: EntityBatch, config: PathPatchConfig = PathPatchConfig()):
        if clean.input_ids.shape != corrupt.input_ids.shape:
            raise InputError(
                f"clean and corrupt prompts must share one shape, got {tuple(clean.input_ids.shape)} "
                f"and {tuple(corrupt.input_ids.shape)}"
            )
        from tinkerlab.patching.models import model_device

        self.device = device = model_device(model)
        clean, corrupt = clean.to(device), corrupt.to(device)
        self.model, self.clean, self.corrupt, self.config = model, clean, corrupt, config
        self.amap = arch_map(model)
        sites = [f"layers.{layer}.attn.head_out" for layer in range(self.amap.n_layers)]
        # Per-head outputs are read only at the groups' (sender) positions: keep those, [L, B, P, H, Dh], filled
        # chunk by chunk (for 100 prompts of SmolLM2: 2 x 55 MB instead of 2 x 366 MB plus join copies).
        kept = sorted({int(p) for batch in (clean, corrupt) for name in config.positions for p in batch.position(name)})
        self._slot = torch.full((clean.input_ids.shape[1],), -1, dtype=torch.long, device=device)
        self._slot[kept] = torch.arange(len(kept), device=device)
        n, amap = len(clean), self.amap
        self.clean_heads = torch.empty(
            amap.n_layers,
            n,
            len(kept),
            amap.n_heads,
            amap.head_dim,
            dtype=next(model.parameters()).dtype,
            device=device,
        )
        self.corrupt_heads = torch.empty_like(self.clean_heads)
        parts = []
        with torch.inference_mode():
            for start in range(0, n, 50):
                rows = slice(start, min(n, start + 50))
                part = clean_run(model, clean.input_ids[rows], cache=sites, keep_resid=True)
                for layer, site in enumerate(sites):
                    self.clean_heads[layer, rows] = part.cache.pop(site)[:, kept]
                parts.append(part)
                other = clean_run(
                    model, corrupt.input_ids[rows], cache=sites, cache_positions=torch.tensor(kept, device=device)
                )
                for layer, site in enumerate(sites):
                    self.corrupt_heads[layer, rows] = other.cache.pop(site)
                del other
            self.clean_run: CleanRun = parts[0] if len(parts) == 1 else CleanRun.concat(parts)
        del parts
        self.p_clean = _answer_prob(self.clean_run.logits, clean.answer_ids)  # [B]

    def position(self, batch: EntityBatch, group: str) -> torch.Tensor:
        """[N] the sender position of `group` in `batch` (`PathPatchConfig.positions`)."""
        return batch.position(self.config.positions[GROUPS.index(group)])

    @torch.inference_mode()
    def sweep(self, group: str, receivers: list[Head]) -> torch.Tensor:
        """Scores [n_layers, n_heads] of every sender head for one step of the schedule."""
        return self.sweep_per_prompt(group, receivers).mean(-1)

    @torch.inference_mode()
    def sweep_per_prompt(self, group: str, receivers: list[Head]) -> torch.Tensor:
        """Scores [n_layers, n_heads, N] of every sender head on every prompt for one step of the schedule."""
        amap = self.amap
        n_layers, n_heads = amap.n_layers, amap.n_heads
        if group == "VF":
            receiver_kind, max_layer = None, n_layers
        else:
            receiver_kind = _RECEIVER[group][1]
            if not receivers:
                return torch.zeros(n_layers, n_heads, len(self.clean))
            max_layer = max(layer for layer, _ in receivers)
        senders = [(layer, head) for layer in range(max_layer) for head in range(n_heads)]
        # Senders whose step 2 starts at the same block (the lowest receiver block above them) share forwards.
        receiver_layers = sorted({layer for layer, _ in receivers})
        classes: dict[int, list[Head]] = {}
        for sender in senders:
            start = sender[0] if receiver_kind is None else min(r for r in receiver_layers if r > sender[0])
            classes.setdefault(start, []).append(sender)
        scores = torch.zeros(n_layers, n_heads, len(self.clean))
        position = self.position(self.clean, group)  # [B] sender position per prompt
        corrupt_position = self.position(self.corrupt, group)
        seq = self.clean.input_ids.shape[1]
        groups = sorted(set(position.tolist()))
        work = []
        for pos in groups:
            rows = torch.nonzero(position == pos).squeeze(1)
            b = rows.shape[0]
            recomputed = 1 if receiver_kind is None else seq - pos
            chunk = max(1, min(self.config.rows_per_forward // b, self.config.tokens_per_forward // (b * recomputed)))
            if receiver_kind is None:  # step 1 only (no keys/values copied): any senders can share a forward
                parts = [(chunk, senders)]
            else:  # a class starting at block l copies the prefix's keys/values of blocks l.. for every row
                kv_row = 2 * amap.n_kv_heads * amap.head_dim * seq * self.clean_heads.element_size()
                parts = [
                    (
                        max(
                            1,
                            min(
                                chunk,
                                self.config.cache_bytes_per_forward // (b * kv_row * (n_layers - start)),
                            ),
                        ),
                        part,
                    )
                    for start, part in classes.items()
                ]
            work += [
                (pos, rows, part[first : first + size]) for size, part in parts for first in range(0, len(part), size)
            ]
        for pos, rows, chunk_senders in track(work, f"path patching {group}"):
            effect = self._sender_chunk(
                chunk_senders, rows, pos, corrupt_position[rows], receivers, receiver_kind
            )  # [n, b]
            rows_cpu = rows.cpu()
            for (layer, head), values in zip(chunk_senders, effect.float().cpu(), strict=False):
                scores[layer, head, rows_cpu] = values
        return scores

    def _attention_outputs(self, rows: torch.Tensor, pos: int) -> torch.Tensor:
        """[L, b, D] clean attention outputs (after W_O) at one position for the prompts `rows`."""
        heads = self.clean_heads[:, rows, self._slot[pos]]  # [L, b, H, Dh]
        return torch.stack(
            [
                self.amap.module_for(self.model, layer, "head_out")(heads[layer].flatten(1))
                for layer in range(self.amap.n_layers)
            ]
        )

    def _sender_chunk(
        self,
        senders: list[Head],
        rows: torch.Tensor,
        pos: int,
        corrupt_pos: torch.Tensor,
        receivers: list[Head],
        receiver_kind: str | None,
    ) -> torch.Tensor:
        amap, model = self.amap, self.model
        b, n, device = rows.shape[0], len(senders), self.device
        copies = torch.arange(n, device=device).repeat_interleave(b)  # [n * b] sender index of each row
        prompt = torch.arange(b, device=device).repeat(n)  # [n * b] prompt index within the sub-batch
        sender_layers = torch.tensor([s[0] for s in senders], device=device)[copies]
        sender_heads = torch.tensor([s[1] for s in senders], device=device)[copies]
        clean_attn = self._attention_outputs(rows, pos)  # [L, b, D]
        corrupt_values = self.corrupt_heads[sender_layers, rows[prompt], self._slot[corrupt_pos[prompt]], sender_heads]

        # Step 1: every head at `pos` frozen (clean), the sender patched (corrupt); attention outputs are known.
        def attn_out(layer: int) -> torch.Tensor:
            out = clean_attn[layer, prompt]  # [R, D]
            here = torch.nonzero(sender_layers == layer).squeeze(1)
            if here.numel():
                heads = self.clean_heads[layer, rows[prompt[here]], self._slot[pos]].clone()  # [r, H, Dh]
                heads[torch.arange(here.numel(), device=device), sender_heads[here]] = corrupt_values[here]
                out = out.clone()
                out[here] = amap.module_for(model, layer, "head_out")(heads.flatten(1))
            return out

        def entering(layer: int) -> torch.Tensor:
            return self.clean_run.resid[layer, rows[prompt], pos]  # [R, D]

        answers = self.clean.answer_ids[rows]
        p_clean = self.p_clean[rows]
        if receiver_kind is None:
            hidden, _ = frozen_attention_pass(
                model, attn_out, entering=entering, start_layers=sender_layers, stop=amap.n_layers
            )
            p_patched = torch.cat(
                [_answer_prob(unembed(model, part, amap), answers) for part in hidden.split(b * max(1, 1024 // b))]
            )
            return (p_patched.view(n, b) - p_clean) / p_clean
        receiver_layers = sorted({layer for layer, _ in receivers})
        sites = [f"layers.{layer}.attn.{receiver_kind}" for layer in receiver_layers]
        _, recorded = frozen_attention_pass(
            model,
            attn_out,
            entering=entering,
            start_layers=sender_layers,
            stop=max(receiver_layers),
            record=sites,
        )
        # Step 2: rerun clean with only the receivers' q (or the v of their key/value heads) overwritten, for the
        # rows whose sender sits below the receiver (the others recorded an unchanged value).
        lowest_sender = int(sender_layers.min())
        receiver_patches = []
        for layer in receiver_layers:
            if layer <= lowest_sender:
                continue
            heads = sorted(
                {h if receiver_kind == "q" else int(amap.kv_head_of(h)) for l_, h in receivers if l_ == layer}
            )
            reached = torch.nonzero(sender_layers < layer).squeeze(1)  # [r]
            heads_t = torch.tensor(heads, device=device).repeat(reached.numel())
            rows_t = reached.repeat_interleave(len(heads))
            values = recorded[f"layers.{layer}.attn.{receiver_kind}"][rows_t, heads_t]
            receiver_patches.append(
                Patch(
                    f"layers.{layer}.attn.{receiver_kind}",
                    rows_t,
                    torch.full_like(rows_t, pos),
                    values,
                    heads_t,
                )
            )
        if not receiver_patches:
            return torch.zeros(n, b, device=device)
        from_layer = min(amap.parse(p.site)[0] for p in receiver_patches)
        sub = self.clean_run.select(rows, with_cache=False)
        logits, _ = run_from(model, sub, pos, repeat=n, patches=receiver_patches, from_layer=from_layer)
        p_patched = _answer_prob(logits, answers).view(n, b)
        return (p_patched - p_clean) / p_clean  # [n, b]


@torch.inference_mode()
def reference_scores(
    model, clean: EntityBatch, corrupt: EntityBatch, group: str, receivers: list[Head], senders: list[Head]
) -> dict[Head, float]:
    """The schedule's definition, run the way the original code runs it: per sender, one full forward of every
    prompt with all heads at the sender position frozen at their clean values and the sender at its corrupt value
    (recording the receivers' q or v), then, for PT/PD/SR, one full forward with those receiver inputs written
    back. No prefix reuse, no block skipping, no batching of senders: slow, for checking `PathPatcher` and for
    timing it against.

    Returns:
        {sender: score} with the same score as `PathPatcher.sweep`.
    """
    from tinkerlab.patching.interventions import Intervention, MeanAblation

    amap = arch_map(model)
    sites = [f"layers.{layer}.attn.head_out" for layer in range(amap.n_layers)]
    n, seq = clean.input_ids.shape
    rows = torch.arange(n)
    with Intervention(model, cache=sites) as clean_cache:
        logits = model(clean.input_ids, logits_to_keep=1).logits[:, -1]
    with Intervention(model, cache=sites) as corrupt_cache:
        model(corrupt.input_ids, logits_to_keep=1)
    p_clean = _answer_prob(logits, clean.answer_ids)
    pos, corrupt_pos = clean.group_position(group), corrupt.group_position(group)
    kind = _RECEIVER[group][1] if group in _RECEIVER else None
    keep = torch.ones(n, seq, amap.n_heads, dtype=torch.bool)
    keep[rows, pos] = False
    freeze = [MeanAblation(site, clean_cache.cache[site], keep) for site in sites]  # per-row clean values
    out = {}
    for layer_s, head_s in senders:
        value = corrupt_cache.cache[sites[layer_s]][rows, corrupt_pos, head_s]
        patch = Patch(sites[layer_s], rows, pos, value, torch.full((n,), head_s))
        receiver_sites = sorted({f"layers.{layer}.attn.{kind}" for layer, _ in receivers}) if kind else []
        with Intervention(model, ablations=freeze, patches=[patch], cache=receiver_sites) as step1:
            logits = model(clean.input_ids, logits_to_keep=1).logits[:, -1]
        if kind:
            patches = []
            for layer, head in receivers:
                h = head if kind == "q" else int(amap.kv_head_of(head))
                site = f"layers.{layer}.attn.{kind}"
                patches.append(Patch(site, rows, pos, step1.cache[site][rows, pos, h], torch.full((n,), h)))
            with Intervention(model, patches=patches):
                logits = model(clean.input_ids, logits_to_keep=1).logits[:, -1]
        out[(layer_s, head_s)] = float(((_answer_prob(logits, clean.answer_ids) - p_clean) / p_clean).mean())
    return out


def scores_with_receivers(
    model,
    clean: EntityBatch,
    corrupt: EntityBatch,
    circuit: dict[str, list[Head]],
    config: PathPatchConfig = PathPatchConfig(),
) -> dict[str, torch.Tensor]:
    """Every group's scores [L, H] on `model` with the receivers taken from a given circuit (VF needs none), so two
    models' score maps are compared on the same paths (the paper scores the fine-tuned model with the base
    circuit's receivers)."""
    patcher = PathPatcher(model, clean, corrupt, config)
    return {
        group: patcher.sweep(group, circuit.get(_RECEIVER[group][0], []) if group in _RECEIVER else [])
        for group in GROUPS
    }


def path_patch(
    model,
    clean: EntityBatch,
    corrupt: EntityBatch,
    config: PathPatchConfig = PathPatchConfig(),
    *,
    groups: tuple[str, ...] = GROUPS,
    log=None,
    done: PathPatchResult | None = None,
    on_group=None,
) -> PathPatchResult:
    """Run the four-step schedule and select each group's heads.

    Args:
        model: a Hugging Face causal LM with a known architecture map.
        clean, corrupt: prompts from `data.path_patching_pairs`.
        config: selection thresholds and batching.
        groups: a prefix of ('VF', 'PT', 'PD', 'SR').
        log: optional callable receiving one progress line per finished group.
        done: a partial result (from `on_group`) whose groups are reused instead of recomputed.
        on_group: optional callable receiving the partial `PathPatchResult` after each group (a checkpoint).

    Returns:
        A `PathPatchResult` with scores per group, the circuit {group: [(layer, head), ...]}, and with
        `config.n_boot` the per-head bootstrap intervals and split-half self-overlaps. With
        `config.remove_vf_pt_overlap`, heads selected as PT leave VF after the PT step (PT's receivers are the VF
        heads as selected before the removal, as in the original).
    """
    patcher = PathPatcher(model, clean, corrupt, config)
    result = PathPatchResult({}, {}, {})
    if done is not None:
        result = PathPatchResult.from_dict(done.to_dict())
    for index, group in enumerate(groups):
        if group in result.circuit:
            continue
        start = time.perf_counter()
        receivers = result.circuit.get(_RECEIVER[group][0], []) if group in _RECEIVER else []
        per_prompt = patcher.sweep_per_prompt(group, receivers)  # [L, H, N]
        scores = per_prompt.mean(-1)
        result.scores[group] = scores
        limits = dict(threshold=config.threshold, max_heads=config.max_heads[index], min_heads=config.min_heads)
        if config.n_boot:
            result.intervals[group] = bootstrap_intervals(
                per_prompt, n_boot=config.n_boot, level=config.level, seed=config.seed + index
            )
            result.split_half[group] = split_half_overlap(per_prompt, seed=config.seed + index, **limits)
        if config.selection == "interval":
            result.circuit[group] = select_by_interval(scores, result.intervals[group], **limits)
        else:
            result.circuit[group] = select_heads(scores, **limits)
        if group == "PT" and config.remove_vf_pt_overlap and "VF" in result.circuit:
            both = [h for h in result.circuit["VF"] if h in set(result.circuit["PT"])]
            result.circuit["VF"] = [h for h in result.circuit["VF"] if h not in both]
            result.removed_overlap = both
        result.seconds[group] = time.perf_counter() - start
        if log:
            noise = result.split_half.get(group, {}).get("shared")
            floor = f"; split-half self-overlap {noise:.2f}" if noise is not None else ""
            log(
                f"{group}: {len(result.circuit[group])} heads in {result.seconds[group]:.1f} s{floor}: "
                f"{result.circuit[group]}"
            )
            if group == "PT" and result.removed_overlap:
                log(f"VF: dropped {result.removed_overlap}, also selected as PT")
        if on_group:
            on_group(PathPatchResult.from_dict(result.to_dict()))
    return result
