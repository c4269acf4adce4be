"""Partial forwards: run only part of a Hugging Face LM, starting from its cached residual stream.

Part of the `tinkerlab.patching` engine (first written for Prakash et al., "Fine-Tuning Enhances Existing
Mechanisms", ICLR 2024). Path patching and DCM change a model at one layer and one position, so most of a full
forward recomputes what a clean run already knows. Two exact shortcuts, both written against the architecture map
(`archmap.FamilyMap`), so they work on every supported family:

* `skip_layers`: inside it, a forward of the model starts at block `l` from a residual stream it is handed (blocks
  below `l` return it without computing). With the prefix reuse of `prefix.run_from`, a patch at layer `l` and
  position `p` recomputes blocks `l..` at positions `p..` only.
* `block_with_attention` / `frozen_attention_pass`: when every head's output at a position is fixed (path patching
  freezes all heads at the sender position at their clean values), the attention output of each block there is a
  known vector, so a block is its MLP and norms alone. The residual stream at that position then moves through the
  MLPs only, one row per (sender, prompt), without keys, values or attention.

Both need blocks that return the hidden states as a tensor (transformers >= 5); `skip_supported` tells.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

from tinkerlab.core.errors import InputError
from tinkerlab.patching.archmap import ArchMap, arch_map


def skip_supported() -> bool:
    """Whether this transformers version's decoder blocks return a tensor (needed by `skip_layers`)."""
    import transformers

    return int(transformers.__version__.split(".")[0]) >= 5


@contextmanager
def skip_layers(model: nn.Module, first: int, hidden: torch.Tensor) -> Iterator[None]:
    """Make forwards of `model` start at block `first` with `hidden` as the residual stream entering it.

    Blocks 0..first-2 pass their input through and block first-1 returns `hidden`, so nothing below `first` is
    computed (their keys and values are not needed when the prefix comes from a cache). The blocks' own forwards
    are restored on exit, also after an exception.

    Args:
        model: a Hugging Face causal LM with a known architecture map.
        first: the first block that runs (0 runs everything and ignores `hidden`).
        hidden: [B, S, D] residual stream entering block `first` at the positions the forward computes.

    Raises:
        InputError: `first` out of range, or a transformers version whose blocks return tuples.
    """
    amap = arch_map(model)
    if not 0 <= first < amap.n_layers:
        raise InputError(f"first block must be in [0, {amap.n_layers - 1}], got {first}")
    if first == 0:
        yield
        return
    if not skip_supported():
        raise InputError("skipping blocks needs transformers >= 5 (blocks that return a tensor); upgrade it")
    blocks = amap.layers(model)

    def passthrough(hidden_states, *args, **kwargs):
        return hidden_states

    def handover(hidden_states, *args, **kwargs):
        if hidden_states.shape != hidden.shape:
            raise InputError(
                f"the residual stream handed to block {first} has shape {tuple(hidden.shape)}, but "
                f"the forward computes {tuple(hidden_states.shape)}"
            )
        return hidden.to(hidden_states.dtype)

    patched = []
    try:
        for index in range(first):
            blocks[index].forward = handover if index == first - 1 else passthrough
            patched.append(blocks[index])
        yield
    finally:
        for block in patched:
            del block.forward  # the class's forward shows through again


def block_with_attention(
    model: nn.Module, layer: int, hidden: torch.Tensor, attn_out: torch.Tensor, amap: ArchMap | None = None
) -> torch.Tensor:
    """Block `layer` given its attention output: the residual stream after the block.

    Args:
        hidden: [..., D] residual stream entering the block.
        attn_out: [..., D] the attention module's output (after the output projection, before any post-norm).

    Returns:
        [..., D] the residual stream leaving the block (the MLP and norms recompute).
    """
    amap = amap or arch_map(model)
    mlp = amap.block_part(model, layer, "mlp")
    mlp_norm = amap.block_part(model, layer, "mlp_norm")
    if amap.residual == "parallel":
        return hidden + attn_out + mlp(mlp_norm(hidden))
    if amap.residual == "sandwich":
        mid = hidden + amap.block_part(model, layer, "post_attn_norm")(attn_out)
        return mid + amap.block_part(model, layer, "post_mlp_norm")(mlp(mlp_norm(mid)))
    mid = hidden + attn_out
    return mid + mlp(mlp_norm(mid))


def unembed(model: nn.Module, hidden: torch.Tensor, amap: ArchMap | None = None) -> torch.Tensor:
    """Logits from the last block's output: final norm, unembedding, and Gemma's logit soft-capping if set."""
    amap = amap or arch_map(model)
    logits = model.get_output_embeddings()(amap.final_norm(model)(hidden))
    cap = getattr(model.config, "final_logit_softcapping", None)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    return logits


def frozen_attention_pass(
    model: nn.Module,
    attn_out: Callable[[int], torch.Tensor],
    *,
    entering: Callable[[int], torch.Tensor],
    start_layers: torch.Tensor,
    stop: int,
    record: Sequence[str] = (),
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Run blocks at one position whose attention outputs are given (no attention is computed).

    Row r runs blocks start_layers[r]..stop-1, starting from the clean residual stream entering its first block.

    Args:
        model: a Hugging Face causal LM with a known architecture map.
        attn_out: attn_out(layer) -> [R, D] the attention output of block `layer` for every row.
        entering: entering(layer) -> [R, D] the residual stream entering block `layer` on the clean run.
        start_layers: [R] long, the first block of each row.
        stop: one past the last block to run.
        record: q/k/v sites ('layers.{l}.attn.q' ...) to record, computed from the stream entering their block
            (as the block's own projection would compute them); l <= stop. Rows that start above l record
            whatever their stream holds then: ignore them.

    Returns:
        (hidden [R, D] leaving block stop-1, {site: [R, H, Dh]} recorded projections).
    """
    from tinkerlab.patching.interventions import Intervention

    amap = arch_map(model)
    first = int(start_layers.min())
    wanted: dict[int, list[str]] = {}
    for site in record:
        layer, kind = amap.parse(site)
        if kind not in ("q", "k", "v") or layer > stop:
            raise InputError(f"can record q/k/v sites of blocks up to {stop} only, got {site!r}")
        wanted.setdefault(layer, []).append(site)
    recorded: dict[str, torch.Tensor] = {}

    def record_at(layer: int, h: torch.Tensor) -> None:
        sites = wanted.get(layer, [])
        if not sites:
            return
        x = amap.block_part(model, layer, "input_norm")(h).unsqueeze(1)  # [R, 1, D]
        modules = {id(m): m for m in (amap.module_for(model, layer, amap.parse(s)[1]) for s in sites)}
        with Intervention(model, cache=sites) as run:
            for module in modules.values():
                module(x)
        for site in sites:
            recorded[site] = run.cache[site][:, 0]

    for layer in range(min(first, stop), first):
        if layer in wanted:  # nothing runs below `first`: record from the clean stream
            record_at(layer, entering(layer))
    hidden = entering(first).clone()

    def join(layer: int) -> None:  # rows whose first block is `layer` take the clean stream entering it
        joining = start_layers == layer
        if layer > first and bool(joining.any()):
            hidden[joining] = entering(layer)[joining]

    for layer in range(first, stop):
        join(layer)
        record_at(layer, hidden)
        live = start_layers <= layer
        if bool(live.all()):
            hidden = block_with_attention(model, layer, hidden, attn_out(layer), amap)
        else:
            idx = torch.nonzero(live).squeeze(1)
            hidden[idx] = block_with_attention(model, layer, hidden[idx], attn_out(layer)[idx], amap)
    join(stop)
    record_at(stop, hidden)
    return hidden, recorded
