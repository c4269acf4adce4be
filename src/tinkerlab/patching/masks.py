"""Desiderata-based Component Masking (DCM): learn which heads of a group carry a desideratum's variable.

Part of the `tinkerlab.patching` engine: DCM after Davies et al., "Discovering Variable Binding Circuitry with
Desiderata" (2023), as used by Prakash et al. (ICLR 2024, section 4). For one head group and one desideratum, each
head gets a mask value m in [0, 1]; on the base prompt, at the group's position, head h's output becomes

    m_h * base_h + (1 - m_h) * source_h

(source activations come from the source prompt at its own group position). The loss pulls the patched model
towards the desideratum's target and pays for every patched head:

    loss = -mean(logit[target]) + sparsity * sum_h (1 - m_h)

Relaxation (`HeadMask.relaxation`):
* 'clamp' (the original): m is a free parameter initialised at 1 and clamped to [0, 1] after every step;
* 'sigmoid': m = sigmoid(theta / temperature), theta initialised at 2 * temperature (m = 0.88); it moves in
  logit space, so it wants a larger learning rate than the clamp (e.g. 0.5).
After training, heads whose rounded mask is 0 are "selected" (patched). The mask kept is the one with the best
accuracy of the rounded mask on the eval split (ties: more selected heads), as in the original; test accuracy is
reported.

Speed: the model is frozen and patches sit at position >= p, so only positions p.. are recomputed (with the base
prompt's clean keys and values before p), and gradients flow through those positions only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from tinkerlab.core.config import check_choice, check_count, check_length, check_positive, check_range, config_error
from tinkerlab.core.errors import InputError
from tinkerlab.core.progress import track
from tinkerlab.patching.interventions import Head, Intervention, Patch
from tinkerlab.patching.prefix import CleanRun, clean_run, run_from

Relaxation = Literal["clamp", "sigmoid"]


class HeadMask(nn.Module):
    """A learned mask over a list of heads: `forward()` gives m in [0, 1] per head (1 = keep the base value).

    Args:
        n_heads: number of heads masked.
        relaxation: 'clamp' (a free parameter clamped to [0, 1], the original DCM) or 'sigmoid'.
        temperature: sigmoid temperature.
    """

    def __init__(self, n_heads: int, relaxation: Relaxation = "clamp", temperature: float = 1.0) -> None:
        super().__init__()
        if relaxation not in ("clamp", "sigmoid"):
            raise InputError(f"relaxation must be 'clamp' or 'sigmoid', got {relaxation!r}")
        self.relaxation = relaxation
        self.temperature = temperature
        init = torch.ones(n_heads) if relaxation == "clamp" else torch.full((n_heads,), 2.0 * temperature)
        self.logits = nn.Parameter(init)

    def forward(self) -> torch.Tensor:
        if self.relaxation == "clamp":
            return self.logits
        return torch.sigmoid(self.logits / self.temperature)

    @torch.no_grad()
    def project(self) -> None:
        """Keep the clamp relaxation inside [0, 1] (call after each optimiser step)."""
        if self.relaxation == "clamp":
            self.logits.clamp_(0.0, 1.0)

    @torch.no_grad()
    def selected(self) -> torch.Tensor:
        """[n] bool: heads whose rounded mask is 0 (patched from the source)."""
        return self().round() == 0


@dataclass(frozen=True)
class DCMConfig:
    """Hyperparameters (defaults: the original's lambda 0.01, Adam lr 0.1, 2 epochs, batch 32)."""

    sparsity: float = 0.01
    lr: float = 0.1
    epochs: int = 2
    batch_size: int = 32
    relaxation: Relaxation = "clamp"
    eval_every: int = 4
    split: tuple[float, float] = (0.5, 0.25)
    seed: int = 0

    def __post_init__(self) -> None:
        check_range(self, "sparsity", 0)
        check_positive(self, "lr")
        check_count(self, "epochs", 1)
        check_count(self, "batch_size", 1)
        check_choice(self, "relaxation", ("clamp", "sigmoid"))
        check_count(self, "eval_every", 1)
        check_length(self, "split", 2)  # (train, eval) shares; the rest is the test split
        check_range(self, "split[0]", 0, 1, lo_open=True, hi_open=True)
        check_range(self, "split[1]", 0, 1, lo_open=True, hi_open=True)
        if self.split[0] + self.split[1] >= 1:
            raise config_error(self, "split", "train and eval shares summing below 1", tuple(self.split))
        check_count(self, "seed")


@dataclass
class DCMResult:
    """The kept mask, the selected heads and the accuracies of the rounded mask."""

    heads: list[Head]
    mask: list[float]
    selected: list[Head]
    eval_accuracy: float
    test_accuracy: float
    losses: list[float]

    def to_dict(self) -> dict:
        return {
            "heads": [list(h) for h in self.heads],
            "mask": self.mask,
            "selected": [list(h) for h in self.selected],
            "eval_accuracy": self.eval_accuracy,
            "test_accuracy": self.test_accuracy,
            "losses": self.losses,
        }


def source_head_values(
    model, source_ids: torch.Tensor, source_pos: torch.Tensor, heads: list[Head], *, batch_size: int = 50
) -> torch.Tensor:
    """[N, n_heads, Dh] outputs of `heads` on the source prompts at each prompt's position."""
    every = head_outputs_at(model, source_ids, {"source": source_pos}, batch_size=batch_size)["source"]
    return torch.stack([every[layer, :, head] for layer, head in heads], dim=1)


@torch.inference_mode()
def head_outputs_at(
    model, input_ids: torch.Tensor, positions: dict[str, torch.Tensor], *, batch_size: int = 50
) -> dict[str, torch.Tensor]:
    """Every head's output at named per-prompt positions, without keeping whole runs.

    Args:
        input_ids: [N, S] prompts.
        positions: {name: [N] position per prompt} (e.g. one entry per head group).

    Returns:
        {name: [L, N, H, Dh]} (memory L * N * H * Dh per name instead of L * N * S * H * Dh).
    """
    from tinkerlab.patching.archmap import arch_map

    sites = [f"layers.{layer}.attn.head_out" for layer in range(arch_map(model).n_layers)]
    parts: dict[str, list[torch.Tensor]] = {name: [] for name in positions}
    for start in range(0, input_ids.shape[0], batch_size):
        stop = min(input_ids.shape[0], start + batch_size)
        with Intervention(model, cache=sites) as run:
            model(input_ids[start:stop], logits_to_keep=1)
        rows = torch.arange(stop - start)
        for name, pos in positions.items():
            parts[name].append(torch.stack([run.cache[s][rows, pos[start:stop]] for s in sites]))  # [L, b, H, Dh]
    return {name: torch.cat(chunks, dim=1) for name, chunks in parts.items()}


def _patches(heads: list[Head], strength: torch.Tensor, positions: torch.Tensor, values: torch.Tensor) -> list[Patch]:
    """One Patch per layer: every row, every masked head of that layer, at the row's position.

    strength: [n_heads] in [0, 1] (1 = fully patched); positions: [B]; values: [B, n_heads, Dh].
    """
    batch = positions.shape[0]
    patches = []
    for layer in sorted({layer for layer, _ in heads}):
        idx = [i for i, (l_, _) in enumerate(heads) if l_ == layer]
        idx_t = torch.tensor(idx)
        rows = torch.arange(batch).repeat_interleave(len(idx))  # [B * k]
        which = idx_t.repeat(batch)  # [B * k] index into heads
        head_ids = torch.tensor([heads[i][1] for i in idx]).repeat(batch)
        patches.append(
            Patch(
                f"layers.{layer}.attn.head_out",
                rows,
                positions[rows],
                values[rows, which],
                head_ids,
                strength[which],
            )
        )
    return patches


def base_runs(model, base_ids: torch.Tensor, *, batch_size: int = 50) -> CleanRun:
    """Clean runs of the base prompts (keys/values reused by every DCM step); made without autograd history."""
    with torch.no_grad():
        return clean_run(model, base_ids, batch_size=batch_size)


def _forward(model, clean: CleanRun, base_pos, values, heads, strength) -> torch.Tensor:
    """Last-position logits [B, V] of the base prompts with the patches, recomputing only positions >= min(pos)."""
    logits, _ = run_from(model, clean, int(base_pos.min()), patches=_patches(heads, strength, base_pos, values))
    return logits


@torch.no_grad()
def masked_correct(
    model, clean: CleanRun, base_pos, values, heads, patched: torch.Tensor, targets, *, batch_size: int = 50
) -> torch.Tensor:
    """[N] bool per pair: argmax == target with the heads in `patched` ([n] bool) fully patched from the source."""
    out = []
    n = base_pos.shape[0]
    for start in range(0, n, batch_size):
        rows = torch.arange(start, min(n, start + batch_size))
        logits = _forward(model, clean.select(rows), base_pos[rows], values[rows], heads, patched.float())
        out.append((logits.argmax(-1) == targets[rows].to(logits.device)).cpu())
    return torch.cat(out)


def masked_accuracy(
    model, clean: CleanRun, base_pos, values, heads, patched: torch.Tensor, targets, *, batch_size: int = 50
) -> float:
    """Accuracy (argmax == target) with the heads in `patched` ([n] bool) fully patched from the source."""
    return float(
        masked_correct(model, clean, base_pos, values, heads, patched, targets, batch_size=batch_size).float().mean()
    )


def train_mask(
    model,
    heads: list[Head],
    base_ids: torch.Tensor,
    base_pos: torch.Tensor,
    source_ids: torch.Tensor,
    source_pos: torch.Tensor,
    targets: torch.Tensor,
    config: DCMConfig = DCMConfig(),
    *,
    description: str = "DCM",
    clean: CleanRun | None = None,
    values: torch.Tensor | None = None,
) -> DCMResult:
    """Learn a mask over `heads` so that patching the masked-out heads from source into base gives `targets`.

    Args:
        model: a frozen Hugging Face causal LM.
        heads: the candidate heads (one group of a circuit).
        base_ids, source_ids: [N, S] prompts; base_pos, source_pos: [N] the group's position in each prompt.
        targets: [N] the desideratum's target token.
        config: hyperparameters.
        clean: optional precomputed `base_runs(model, base_ids)` (shared between groups and desiderata).
        values: optional precomputed `source_head_values(...)` [N, n_heads, Dh].

    Returns:
        A `DCMResult`.

    Raises:
        InputError: no heads, or mismatched sizes.
    """
    n = base_ids.shape[0]
    if not heads:
        raise InputError("DCM needs at least one candidate head")
    if not (source_ids.shape[0] == n == targets.shape[0] == base_pos.shape[0] == source_pos.shape[0]):
        raise InputError("base, source, positions and targets must share their first size")
    if values is None:
        values = source_head_values(model, source_ids, source_pos, heads)  # [N, n_heads, Dh]
    if clean is None:
        clean = base_runs(model, base_ids)
    n_train, n_eval = int(config.split[0] * n), int(config.split[1] * n)
    train = torch.arange(0, n_train)
    evaluation = torch.arange(n_train, n_train + n_eval)
    test = torch.arange(n_train + n_eval, n)
    mask = HeadMask(len(heads), config.relaxation)
    optimizer = torch.optim.Adam(mask.parameters(), lr=config.lr)
    g = torch.Generator().manual_seed(config.seed)
    best: tuple[float, int, torch.Tensor] | None = None
    losses: list[float] = []
    step = 0
    for epoch in range(config.epochs):
        order = torch.randperm(n_train, generator=g)
        for first in track(range(0, n_train, config.batch_size), f"{description} epoch {epoch + 1}"):
            idx = train[order[first : first + config.batch_size]]
            m = mask()
            logits = _forward(model, clean.select(idx), base_pos[idx], values[idx], heads, 1 - m)
            loss = -logits.gather(1, targets[idx].unsqueeze(1)).mean() + config.sparsity * (1 - m).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            mask.project()
            losses.append(float(loss.detach()))
            step += 1
            if step % config.eval_every == 0 or first + config.batch_size >= n_train:
                selected = mask.selected()
                acc = masked_accuracy(
                    model,
                    clean.select(evaluation),
                    base_pos[evaluation],
                    values[evaluation],
                    heads,
                    selected,
                    targets[evaluation],
                )
                key = (acc, int(selected.sum()))
                if best is None or key > best[:2]:
                    best = (acc, int(selected.sum()), mask().detach().clone())
    assert best is not None  # at least one evaluation ran (internal invariant, not user input)
    kept = best[2]
    selected = kept.round() == 0
    test_acc = masked_accuracy(model, clean.select(test), base_pos[test], values[test], heads, selected, targets[test])
    return DCMResult(
        heads,
        kept.tolist(),
        [h for h, s in zip(heads, selected.tolist(), strict=False) if s],
        best[0],
        test_acc,
        losses,
    )


def patch_accuracy(model, heads: list[Head], base_ids, base_pos, source_ids, source_pos, targets) -> float:
    """Semantic activation patching: accuracy (argmax == target) with all `heads` patched from source into base."""
    if not heads:
        return 0.0
    values = source_head_values(model, source_ids, source_pos, heads)
    return masked_accuracy(
        model,
        base_runs(model, base_ids),
        base_pos,
        values,
        heads,
        torch.ones(len(heads), dtype=torch.bool),
        targets,
    )
