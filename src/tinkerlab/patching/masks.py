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
  logit space, so it wants a larger learning rate than the clamp (e.g. 0.5);
* 'hard_concrete': the patched share 1 - m is a hard-concrete gate (Louizos et al., 2018) sampled during training
  and deterministic in eval mode; the penalty is then the expected number of open gates (L0) instead of L1.
After training, heads whose rounded mask is 0 are "selected" (patched). The mask kept is the one with the best
accuracy of the rounded mask on the eval split (ties: more selected heads), as in the original; test accuracy is
reported.

Joint masks (`train_joint_mask`): one mask over any mix of heads and MLPs (`Component`), trained on several
weighted objectives at once (`MaskObjective`: originals, patch positions, the alternates' values, targets), with the
patch at the final token or at every position; `train_mask` (DCM) is the case of one objective over heads.

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

Relaxation = Literal["clamp", "sigmoid", "hard_concrete"]
RELAXATIONS: tuple[str, ...] = ("clamp", "sigmoid", "hard_concrete")
MaskLoss = Literal["logit", "logprob"]
# hard-concrete stretch and temperature (Louizos, Welling and Kingma, "Learning Sparse Neural Networks through L0
# Regularization", 2018: beta = 2/3, gamma = -0.1, zeta = 1.1)
_HC_BETA, _HC_GAMMA, _HC_ZETA = 2.0 / 3.0, -0.1, 1.1


class HeadMask(nn.Module):
    """A learned mask over a list of components (heads, or heads and MLPs): `forward()` gives m in [0, 1] per
    component (1 = keep the original's value, 0 = patch the alternate's).

    Args:
        n_heads: number of components masked.
        relaxation: 'clamp' (a free parameter clamped to [0, 1], the original DCM), 'sigmoid', or
            'hard_concrete' (a stochastic gate on 1 - m in training mode, its deterministic value in eval mode).
        temperature: sigmoid temperature.
        init: hard-concrete only: initial log-alpha of the gates (-2: about 4% patched at the start).
    """

    def __init__(
        self, n_heads: int, relaxation: Relaxation = "clamp", temperature: float = 1.0, init: float = -2.0
    ) -> None:
        super().__init__()
        if relaxation not in RELAXATIONS:
            raise InputError(f"relaxation must be one of {', '.join(RELAXATIONS)}, got {relaxation!r}")
        self.relaxation = relaxation
        self.temperature = temperature
        if relaxation == "clamp":
            start = torch.ones(n_heads)
        elif relaxation == "sigmoid":
            start = torch.full((n_heads,), 2.0 * temperature)
        else:
            start = torch.full((n_heads,), float(init))
        self.logits = nn.Parameter(start)

    def forward(self) -> torch.Tensor:
        if self.relaxation == "clamp":
            return self.logits
        if self.relaxation == "sigmoid":
            return torch.sigmoid(self.logits / self.temperature)
        if self.training:
            u = torch.rand_like(self.logits).clamp(1e-6, 1 - 1e-6)
            s = torch.sigmoid((torch.log(u) - torch.log1p(-u) + self.logits) / _HC_BETA)
        else:
            s = torch.sigmoid(self.logits)
        gate = (s * (_HC_ZETA - _HC_GAMMA) + _HC_GAMMA).clamp(0.0, 1.0)  # share patched
        return 1.0 - gate

    def penalty(self) -> torch.Tensor:
        """The sparsity term: sum(1 - m) (L1 of the patched share), or for hard-concrete the expected number of
        open gates (L0)."""
        if self.relaxation == "hard_concrete":
            return torch.sigmoid(self.logits - _HC_BETA * torch.log(torch.tensor(-_HC_GAMMA / _HC_ZETA))).sum()
        return (1 - self()).sum()

    @torch.no_grad()
    def project(self) -> None:
        """Keep the clamp relaxation inside [0, 1] (call after each optimiser step)."""
        if self.relaxation == "clamp":
            self.logits.clamp_(0.0, 1.0)

    @torch.no_grad()
    def selected(self, threshold: float | None = None) -> torch.Tensor:
        """[n] bool: components patched from the alternate: rounded mask 0 (the original DCM, threshold None), or
        patched share 1 - m above `threshold`; hard-concrete gates use their deterministic value."""
        was = self.training
        self.eval()
        m = self()
        self.train(was)
        if threshold is None:
            return m.round() == 0
        return (1 - m) > threshold


ComponentMask = HeadMask
"""The same module under the name the joint masks use (a mask over heads and MLPs)."""


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
        check_choice(self, "relaxation", RELAXATIONS)
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
    components = [Component(layer, head) for layer, head in heads]
    return component_patches(
        components, strength, positions.unsqueeze(1), [values[:, i : i + 1] for i in range(len(heads))]
    )


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

    One objective of `train_joint_mask` over heads, split into train / eval / test (the original DCM).

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
    components = [Component(layer, head) for layer, head in heads]
    whole = MaskObjective(
        "dcm", clean, base_pos.unsqueeze(1), [values[:, i : i + 1] for i in range(len(heads))], targets
    )
    joint = JointMaskConfig(
        sparsity=config.sparsity,
        lr=config.lr,
        epochs=config.epochs,
        batch_size=config.batch_size,
        relaxation=config.relaxation,
        threshold=None,
        eval_every=config.eval_every,
        ties="more",
        seed=config.seed,
    )
    result = train_joint_mask(
        model,
        components,
        [whole.select(torch.arange(0, n_train))],
        [whole.select(torch.arange(n_train, n_train + n_eval))],
        joint,
        description=description,
    )
    patched = torch.tensor([c in result.selected for c in components], dtype=torch.bool)
    test = whole.select(torch.arange(n_train + n_eval, n))
    test_acc = float(objective_correct(model, components, test, patched).float().mean())
    return DCMResult(
        heads,
        result.mask,
        [(c.layer, c.head) for c in result.selected],
        result.validation_accuracy,
        test_acc,
        result.losses,
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


# --- joint masks over heads and MLPs, several weighted objectives -------------------------------------------------


@dataclass(frozen=True)
class Component:
    """A maskable component: head `head` of block `layer`'s attention, or (head None) block `layer`'s MLP."""

    layer: int
    head: int | None = None

    @property
    def site(self) -> str:
        """The canonical site the component's output lives at."""
        return f"layers.{self.layer}.attn.head_out" if self.head is not None else f"layers.{self.layer}.mlp.out"

    @property
    def name(self) -> str:
        """'L3H4' for a head, 'L3 MLP' for an MLP."""
        return f"L{self.layer}H{self.head}" if self.head is not None else f"L{self.layer} MLP"

    @staticmethod
    def parse(text: str) -> Component:
        """The component named 'L3H4' or 'L3 MLP' (also 'L3MLP', 'L3.mlp').

        >>> Component.parse("L3H4"), Component.parse("L2 MLP").name
        (Component(layer=3, head=4), 'L2 MLP')
        """
        import re

        match = re.fullmatch(r"L(\d+)(?:H(\d+)|[ .]?(?:MLP|mlp))", text.strip())
        if match is None:
            raise InputError(f"a component name like 'L3H4' or 'L3 MLP', got {text!r}")
        return Component(int(match[1]), None if match[2] is None else int(match[2]))


def all_components(model, *, heads: bool = True, mlps: bool = True, layers: list[int] | None = None) -> list[Component]:
    """Every head and/or MLP of the model (layer-major, the MLP after the layer's heads)."""
    from tinkerlab.patching.archmap import arch_map

    amap = arch_map(model)
    out = []
    for layer in layers if layers is not None else range(amap.n_layers):
        if heads:
            out += [Component(layer, h) for h in range(amap.n_heads)]
        if mlps:
            out.append(Component(layer))
    return out


@torch.inference_mode()
def component_values(
    model, input_ids: torch.Tensor, positions: torch.Tensor, components: list[Component], *, batch_size: int = 50
) -> list[torch.Tensor]:
    """Each component's output on the prompts at per-prompt positions.

    Args:
        input_ids: [N, S] prompts of one length.
        positions: [N, P] positions per prompt.
        components: heads and MLPs.

    Returns:
        Per component a [N, P, d] tensor (d = head size for heads, d_model for MLPs), on the CPU.
    """
    from tinkerlab.patching.models import model_device

    sites = sorted({c.site for c in components})
    parts: dict[str, list[torch.Tensor]] = {site: [] for site in sites}
    device = model_device(model)
    for start in range(0, input_ids.shape[0], batch_size):
        stop = min(input_ids.shape[0], start + batch_size)
        with Intervention(model, cache=sites) as run:
            model(input_ids[start:stop].to(device), logits_to_keep=1)
        rows = torch.arange(stop - start).unsqueeze(1)  # [b, 1]
        pos = positions[start:stop]  # [b, P]
        for site in sites:
            parts[site].append(run.cache[site][rows.to(device), pos.to(device)].cpu())  # [b, P, (H,) d]
    full = {site: torch.cat(chunks) for site, chunks in parts.items()}
    return [full[c.site][:, :, c.head] if c.head is not None else full[c.site] for c in components]


def component_patches(
    components: list[Component], strength: torch.Tensor, positions: torch.Tensor, values: list[torch.Tensor]
) -> list[Patch]:
    """Patches that blend every component towards its alternate value at the given positions.

    Args:
        components: the masked components.
        strength: [C] in [0, 1] (1 = fully patched).
        positions: [B, P] absolute positions per row.
        values: per component [B, P, d].

    Returns:
        One `Patch` per site (a layer's heads share one).
    """
    batch, per_row = positions.shape
    rows_bp = torch.arange(batch).repeat_interleave(per_row)  # [B * P]
    pos_bp = positions.reshape(-1)
    by_site: dict[str, list[int]] = {}
    for i, c in enumerate(components):
        by_site.setdefault(c.site, []).append(i)
    patches = []
    for site, idx in by_site.items():
        if components[idx[0]].head is None:
            i = idx[0]
            value = values[i].reshape(batch * per_row, -1)
            patches.append(Patch(site, rows_bp, pos_bp, value, None, strength[i].expand(batch * per_row)))
            continue
        k = len(idx)
        which = torch.tensor(idx).repeat(batch * per_row)  # [B * P * k]
        head_ids = torch.tensor([components[i].head for i in idx]).repeat(batch * per_row)
        stacked = torch.stack([values[i] for i in idx], dim=2)  # [B, P, k, Dh]
        patches.append(
            Patch(
                site,
                rows_bp.repeat_interleave(k),
                pos_bp.repeat_interleave(k),
                stacked.reshape(batch * per_row * k, -1),
                head_ids,
                strength[which],
            )
        )
    return patches


@dataclass
class MaskObjective:
    """One dataset a joint mask must satisfy: originals, where to patch them, the alternates' values, targets.

    Attributes:
        name: shown in results.
        clean: the originals' clean run ([N, S] prompts of one length).
        positions: [N, P] positions of the originals to patch (P = 1: the final token; P = S: every position).
        values: per component [N, P, d] the alternates' outputs at the matching positions.
        targets: [N] target token per item.
        weight: the objective's share of the loss (and of the validation score).
    """

    name: str
    clean: CleanRun
    positions: torch.Tensor
    values: list[torch.Tensor]
    targets: torch.Tensor
    weight: float = 1.0

    def __len__(self) -> int:
        return int(self.targets.shape[0])

    def select(self, rows: torch.Tensor) -> MaskObjective:
        """The objective restricted to some items."""
        return MaskObjective(
            self.name,
            self.clean.select(rows),
            self.positions[rows],
            [v[rows] for v in self.values],
            self.targets[rows],
            self.weight,
        )


def make_objective(
    model,
    components: list[Component],
    original_ids: torch.Tensor,
    alternate_ids: torch.Tensor,
    targets: torch.Tensor,
    *,
    positions: Literal["final", "all"] = "final",
    weight: float = 1.0,
    name: str = "objective",
    batch_size: int = 50,
) -> MaskObjective:
    """Build a `MaskObjective`: the originals' clean run and the alternates' component outputs.

    Args:
        original_ids: [N, S] originals (one length); alternate_ids: [N, S'] alternates (one length).
        targets: [N] target tokens.
        positions: 'final' patches the final token (alternate's final token into the original's); 'all' patches
            every position (S' must equal S).

    Raises:
        InputError: mismatched sizes, or lengths that differ with positions='all'.
    """
    n, seq = original_ids.shape
    if alternate_ids.shape[0] != n or targets.shape[0] != n:
        raise InputError(f"{name}: originals, alternates and targets must share their first size")
    if positions == "all":
        if alternate_ids.shape[1] != seq:
            raise InputError(
                f"{name}: patching every position needs alternates as long as the originals ({seq} tokens), got "
                f"{alternate_ids.shape[1]}"
            )
        where = torch.arange(seq).expand(n, seq)
        alt_where = where
    elif positions == "final":
        where = torch.full((n, 1), seq - 1)
        alt_where = torch.full((n, 1), alternate_ids.shape[1] - 1)
    else:
        raise InputError(f"positions must be 'final' or 'all', got {positions!r}")
    values = component_values(model, alternate_ids, alt_where, components, batch_size=batch_size)
    return MaskObjective(name, base_runs(model, original_ids, batch_size=batch_size), where, values, targets, weight)


def _objective_logits(model, components, objective: MaskObjective, strength: torch.Tensor) -> torch.Tensor:
    """Final-position logits [B, V] of the originals with every component blended by `strength` [C]."""
    start = int(objective.positions.min())
    patches = component_patches(components, strength, objective.positions, objective.values)
    logits, _ = run_from(model, objective.clean, start, patches=patches)
    return logits


@torch.no_grad()
def objective_correct(
    model, components: list[Component], objective: MaskObjective, patched: torch.Tensor, *, batch_size: int = 50
) -> torch.Tensor:
    """[N] bool per item: argmax == target with the components in `patched` ([C] bool) fully patched."""
    out = []
    for first in range(0, len(objective), batch_size):
        part = objective.select(torch.arange(first, min(len(objective), first + batch_size)))
        logits = _objective_logits(model, components, part, patched.float())
        out.append((logits.argmax(-1) == part.targets.to(logits.device)).cpu())
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.bool)


def weighted_accuracy(
    model, components: list[Component], objectives: list[MaskObjective], patched: torch.Tensor
) -> tuple[float, dict[str, float]]:
    """(weighted mean accuracy, accuracy per objective name) with `patched` components fully patched."""
    per = {o.name: float(objective_correct(model, components, o, patched).float().mean()) for o in objectives}
    total = sum(o.weight for o in objectives)
    return sum(o.weight * per[o.name] for o in objectives) / total, per


@dataclass(frozen=True)
class JointMaskConfig:
    """Hyperparameters of `train_joint_mask` (defaults: the DCM lineage's lambda 0.01, Adam lr 0.1, batch 32).

    Attributes:
        sparsity: lambda of the penalty (L1 of the patched share; expected L0 for hard-concrete).
        lr: Adam learning rate on the mask parameters.
        epochs: passes over the largest objective; every step takes one batch of every objective.
        batch_size: items per objective per step.
        relaxation: 'clamp' (with L1), 'sigmoid', or 'hard_concrete' (with L0).
        threshold: a component is patched when its patched share 1 - m exceeds it (None: rounded mask 0).
        eval_every: score the thresholded mask on the validation objectives every this many steps (and at the end
            of each epoch); the best one is kept.
        loss: 'logit' (-mean target logit, the DCM lineage) or 'logprob' (-mean target log-probability).
        ties: between masks of equal validation score keep the one with 'fewer' or 'more' components.
        seed: batch order and hard-concrete noise.
    """

    sparsity: float = 0.01
    lr: float = 0.1
    epochs: int = 2
    batch_size: int = 32
    relaxation: Relaxation = "clamp"
    threshold: float | None = 0.5
    eval_every: int = 4
    loss: MaskLoss = "logit"
    ties: Literal["fewer", "more"] = "fewer"
    seed: int = 0

    def __post_init__(self) -> None:
        check_range(self, "sparsity", 0)
        check_positive(self, "lr")
        check_count(self, "epochs", 1)
        check_count(self, "batch_size", 1)
        check_choice(self, "relaxation", RELAXATIONS)
        if self.threshold is not None:
            check_range(self, "threshold", 0, 1, lo_open=True, hi_open=True)
        check_count(self, "eval_every", 1)
        check_choice(self, "loss", ("logit", "logprob"))
        check_choice(self, "ties", ("fewer", "more"))
        check_count(self, "seed")


@dataclass
class JointMaskResult:
    """The kept mask (value m per component, 1 = keep), the patched components and the validation scores."""

    components: list[Component]
    mask: list[float]
    selected: list[Component]
    validation_accuracy: float
    validation_by_objective: dict[str, float]
    losses: list[float]
    steps: int
    seconds: float

    def to_dict(self) -> dict:
        return {
            "components": [c.name for c in self.components],
            "mask": self.mask,
            "selected": [c.name for c in self.selected],
            "validation_accuracy": self.validation_accuracy,
            "validation_by_objective": self.validation_by_objective,
            "losses": self.losses,
            "steps": self.steps,
            "seconds": self.seconds,
        }


def train_joint_mask(
    model,
    components: list[Component],
    train: list[MaskObjective],
    validation: list[MaskObjective],
    config: JointMaskConfig = JointMaskConfig(),
    *,
    description: str = "mask",
    progress: bool = True,
) -> JointMaskResult:
    """Learn one mask over `components` so that patching the selected ones satisfies every objective at once.

    Loss per step: sum_i w_i * loss_i / sum_i w_i + sparsity * penalty, with loss_i the objective's -target logit
    (or -log-probability) on a batch of its items; the mask is thresholded at every evaluation and the one with
    the best weighted validation accuracy is kept.

    Args:
        model: a frozen Hugging Face causal LM.
        components: the candidate heads and MLPs.
        train, validation: objectives (validation ones are matched to nothing: their weights weigh the score).
        config: hyperparameters.
        progress: show a progress bar.

    Returns:
        A `JointMaskResult`.

    Raises:
        InputError: no components, no objectives, or an empty objective.
    """
    import math
    import time

    if not components:
        raise InputError("a mask needs at least one candidate component")
    if not train or not validation:
        raise InputError("a mask needs at least one training and one validation objective")
    for objective in [*train, *validation]:
        if len(objective) == 0:
            raise InputError(f"objective {objective.name!r} has no items")
        if len(objective.values) != len(components):
            raise InputError(f"objective {objective.name!r} has values for {len(objective.values)} components")
    started = time.perf_counter()
    mask = HeadMask(len(components), config.relaxation)
    optimizer = torch.optim.Adam(mask.parameters(), lr=config.lr)
    g = torch.Generator().manual_seed(config.seed)
    total_weight = sum(o.weight for o in train)
    steps_per_epoch = max(math.ceil(len(o) / config.batch_size) for o in train)
    best: tuple[tuple[float, int], float, dict, torch.Tensor] | None = None
    losses: list[float] = []
    step = 0
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        for epoch in range(config.epochs):
            orders = [torch.randperm(len(o), generator=g) for o in train]
            steps = range(steps_per_epoch)
            for inner in track(steps, f"{description} epoch {epoch + 1}") if progress else steps:
                mask.train()
                m = mask()
                loss = 0.0
                for objective, order in zip(train, orders, strict=True):
                    first = (inner * config.batch_size) % len(objective)
                    part = objective.select(order[first : first + config.batch_size])
                    logits = _objective_logits(model, components, part, 1 - m)
                    if config.loss == "logprob":
                        logits = torch.log_softmax(logits.float(), dim=-1)
                    term = -logits.gather(1, part.targets.to(logits.device).unsqueeze(1)).mean()
                    loss = loss + objective.weight * term.cpu() / total_weight
                loss = loss + config.sparsity * mask.penalty()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                mask.project()
                losses.append(float(loss.detach()))
                step += 1
                if step % config.eval_every == 0 or inner == steps_per_epoch - 1:
                    patched = mask.selected(config.threshold)
                    score, per = weighted_accuracy(model, components, validation, patched)
                    count = int(patched.sum())
                    key = (score, count if config.ties == "more" else -count)
                    if best is None or key > best[0]:
                        mask.eval()
                        best = (key, score, per, mask().detach().clone())
    assert best is not None  # at least one evaluation ran (internal invariant, not user input)
    kept = best[3]
    if config.threshold is None:
        chosen = kept.round() == 0
    else:
        chosen = (1 - kept) > config.threshold
    return JointMaskResult(
        components,
        kept.tolist(),
        [c for c, s in zip(components, chosen.tolist(), strict=True) if s],
        best[1],
        best[2],
        losses,
        step,
        time.perf_counter() - started,
    )
