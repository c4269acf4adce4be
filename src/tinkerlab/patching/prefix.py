"""Prefix reuse: keep a clean run's keys and values, then recompute only the positions and blocks an edit can change.

Part of the `tinkerlab.patching` engine (first written for the entity-tracking study of Prakash et al., ICLR 2024).
A patch at positions >= p cannot change anything before p (causal attention), so `CleanRun` keeps
the clean run's keys and values and `run_from(clean, start=p, repeat=k)` recomputes only positions p.. for k copies
of the batch at once (rows `i * B + b` are copy i of prompt b). Several heads' patches then go through one batched
forward: the i-th copy carries the i-th head's patch. Nor can a patch in block l change blocks below l: with the
clean run's residual stream kept (`clean_run(..., keep_resid=True)`), `run_from(..., from_layer=l)` starts the
recomputation at block l (`partial.skip_layers`). Prompts must share one length (no padding): the entity tracking
prompts have a fixed layout.

Example:
    >>> clean = clean_run(model, input_ids)  # doctest: +SKIP
    >>> logits, _ = run_from(model, clean, start=10, patches=[patch])  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from tinkerlab.core.errors import InputError
from tinkerlab.patching.archmap import arch_map
from tinkerlab.patching.interventions import Intervention


def _model_cache_kwarg(model: nn.Module) -> str:
    import inspect

    params = inspect.signature(model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


@dataclass
class CleanRun:
    """A clean forward kept for reuse: last-position logits, and every layer's keys and values.

    Attributes:
        input_ids: [B, S] the prompts.
        logits: [B, V] next-token logits at the last position.
        keys, values: per layer [B, Hkv, S, Dh] (as the model's cache stores them).
        cache: cached sites requested from the clean run (see `Intervention.cache`).
        resid: optional [L, B, S, D] residual stream entering every block (for `run_from(from_layer=...)`).
    """

    input_ids: torch.Tensor
    logits: torch.Tensor
    keys: list[torch.Tensor]
    values: list[torch.Tensor]
    cache: dict[str, torch.Tensor]
    resid: torch.Tensor | None = None

    def select(self, rows: torch.Tensor, *, with_cache: bool = True) -> CleanRun:
        """The clean run of a subset of the prompts (cached sites included unless `with_cache` is False)."""
        return CleanRun(
            self.input_ids[rows],
            self.logits[rows],
            [k[rows] for k in self.keys],
            [v[rows] for v in self.values],
            {s: c[rows] for s, c in self.cache.items()} if with_cache else {},
            None if self.resid is None else self.resid[:, rows],
        )

    @staticmethod
    def concat(runs: list[CleanRun]) -> CleanRun:
        """Join clean runs of several batches of one layout."""
        resid = None if runs[0].resid is None else torch.cat([r.resid for r in runs], dim=1)
        return CleanRun(
            torch.cat([r.input_ids for r in runs]),
            torch.cat([r.logits for r in runs]),
            [torch.cat(k) for k in zip(*[r.keys for r in runs], strict=False)],
            [torch.cat(v) for v in zip(*[r.values for r in runs], strict=False)],
            {s: torch.cat([r.cache[s] for r in runs]) for s in runs[0].cache},
            resid,
        )


def clean_run(
    model: nn.Module,
    input_ids: torch.Tensor,
    *,
    cache: Sequence[str] = (),
    cache_positions: torch.Tensor | None = None,
    batch_size: int | None = None,
    keep_resid: bool = False,
) -> CleanRun:
    """Run the prompts once, keeping logits at the last position, keys/values and the requested sites.

    Args:
        model: a Hugging Face causal LM.
        input_ids: [B, S] equal-length prompts.
        cache: sites to record (see `Intervention`).
        cache_positions: optional [P] positions to keep of each cached site.
        batch_size: run the prompts in chunks of this many and join the results.
        keep_resid: also keep the residual stream entering every block (`CleanRun.resid`, L * B * S * D floats),
            which lets `run_from` skip the blocks below a patch.

    Returns:
        A `CleanRun` for `run_from`.
    """
    if batch_size is not None and input_ids.shape[0] > batch_size:
        return CleanRun.concat(
            [
                clean_run(
                    model,
                    input_ids[i : i + batch_size],
                    cache=cache,
                    cache_positions=cache_positions,
                    keep_resid=keep_resid,
                )
                for i in range(0, input_ids.shape[0], batch_size)
            ]
        )
    if cache_positions is not None and keep_resid:
        raise InputError("keep_resid needs every position: leave cache_positions unset")
    from tinkerlab.patching.models import model_device

    input_ids = input_ids.to(model_device(model))
    n_layers = arch_map(model).n_layers
    resid_sites = [f"layers.{layer}.resid_pre" for layer in range(n_layers)] if keep_resid else []
    with Intervention(
        model, cache=list(cache) + [s for s in resid_sites if s not in cache], cache_positions=cache_positions
    ) as run:
        out = model(input_ids, use_cache=True, logits_to_keep=1)
    kv = getattr(out, "cache", None) or out.past_key_values
    keys = [layer.keys for layer in kv.layers]
    values = [layer.values for layer in kv.layers]
    resid = torch.stack([run.cache[s] for s in resid_sites]) if keep_resid else None
    kept = {s: c for s, c in run.cache.items() if s in cache}
    return CleanRun(input_ids, out.logits[:, -1], keys, values, kept, resid)


def _prefix_layer_class():
    """A cache layer that holds the clean prefix, repeated for every copy of the batch, in a buffer long enough for
    the recomputed positions: `update` writes into it instead of concatenating (one copy of the prefix, not two)."""
    from transformers.cache_utils import DynamicLayer

    class PrefixLayer(DynamicLayer):
        def __init__(self, keys: torch.Tensor, values: torch.Tensor, repeat: int, length: int) -> None:
            super().__init__()
            batch, heads, start, dim = keys.shape
            self._keys = keys.new_empty(repeat * batch, heads, length, dim)
            self._values = values.new_empty(repeat * batch, heads, length, values.shape[-1])
            self._keys.view(repeat, batch, heads, length, dim)[:, :, :, :start] = keys  # rows i * B + b
            self._values.view(repeat, batch, heads, length, -1)[:, :, :, :start] = values
            self._filled = start
            self.keys, self.values = self._keys[:, :, :start], self._values[:, :, :start]
            self.device, self.is_initialized = keys.device, True

        def update(self, key_states, value_states, *args, **kwargs):
            stop = self._filled + key_states.shape[-2]
            if stop > self._keys.shape[-2]:
                raise InputError(f"the prefix cache holds {self._keys.shape[-2]} positions, asked for {stop}")
            self._keys[:, :, self._filled : stop] = key_states
            self._values[:, :, self._filled : stop] = value_states
            self._filled = stop
            self.keys, self.values = self._keys[:, :, :stop], self._values[:, :, :stop]
            return self.keys, self.values

    return PrefixLayer


def _build_cache(
    model: nn.Module, clean: CleanRun, start: int, repeat: int, from_layer: int = 0, stop: int | None = None
):
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    prefix_layer = _prefix_layer_class()
    stop = clean.input_ids.shape[1] if stop is None else stop
    cache = DynamicCache(config=model.config)
    for layer, (k, v) in enumerate(zip(clean.keys, clean.values, strict=False)):
        k = k[:, :, :start]
        v = v[:, :, :start]
        if layer < from_layer:  # never read: the block is skipped; only its length is (for the causal mask)
            cache.update(k[:1], v[:1], layer)
        elif type(cache.layers[layer]) is DynamicLayer:
            cache.layers[layer] = prefix_layer(k, v, repeat, stop)
        else:  # sliding-window layers keep their own bookkeeping
            cache.update(k.repeat(repeat, 1, 1, 1), v.repeat(repeat, 1, 1, 1), layer)
    return cache


@contextmanager
def grouped_query_sdpa(model: nn.Module):
    """Let torch's SDPA read grouped keys/values directly (`enable_gqa`) inside the block.

    transformers' SDPA path copies every key/value head once per query head it serves whenever a mask is passed on
    the CPU (`repeat_kv`), which prefix reuse always does; torch handles the groups itself. The switch is the
    `TRANSFORMERS_SDPA_FORCE_GQA` environment variable that transformers reads at each call; it is restored on exit.
    """
    amap = arch_map(model)
    implementation = getattr(getattr(model, "config", None), "_attn_implementation", None)
    if amap.n_kv_heads == amap.n_heads or implementation != "sdpa":
        yield
        return
    old = os.environ.get("TRANSFORMERS_SDPA_FORCE_GQA")
    os.environ["TRANSFORMERS_SDPA_FORCE_GQA"] = "1"
    try:
        yield
    finally:
        if old is None:
            del os.environ["TRANSFORMERS_SDPA_FORCE_GQA"]
        else:
            os.environ["TRANSFORMERS_SDPA_FORCE_GQA"] = old


def _lowest_layer(model: nn.Module, intervention: dict) -> int | None:
    """The lowest block an intervention's edits, caches or knockouts touch (None when it touches none)."""
    amap = arch_map(model)
    layers = [amap.parse(s)[0] for s in intervention.get("cache", ())]
    layers += [amap.parse(e.site)[0] for key in ("patches", "ablations", "edits") for e in intervention.get(key, ())]
    layers += [int(layer) for k in intervention.get("knockouts", ()) for layer in k.layers]
    return min(layers) if layers else None


def run_from(
    model: nn.Module,
    clean: CleanRun,
    start: int,
    *,
    stop: int | None = None,
    repeat: int = 1,
    input_ids: torch.Tensor | None = None,
    all_logits: bool = False,
    from_layer: int = 0,
    **intervention,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Recompute positions `start..S-1` for `repeat` copies of the batch, reusing the clean keys/values before it.

    Args:
        model: the model that made `clean`.
        clean: the clean run whose prefix is reused.
        start: first recomputed position (1 <= start <= S-1); 0 means a full forward.
        stop: recompute positions start..stop-1 only (default S): enough when only activations before `stop`
            matter (the returned logits are then those at stop-1).
        repeat: number of copies of the batch; row `i * B + b` is copy i of prompt b.
        input_ids: optional [B, S] or [repeat * B, S] prompts that must equal the clean prompts before `start`.
        all_logits: return logits at every recomputed position instead of the last one.
        from_layer: first block to recompute; the blocks below keep the clean run's residual stream (needs a
            clean run made with `keep_resid=True`, and edits in blocks >= from_layer only).
        **intervention: `Intervention` arguments (cache, patches, ablations, knockouts, cache_positions); absolute
            positions, which must be >= start.

    Returns:
        (logits [R, V] or [R, S - start, V], cache dict).

    Raises:
        InputError: `start` out of range, or `from_layer` above an edit or without a kept residual stream.
    """
    ids = clean.input_ids if input_ids is None else input_ids.to(clean.input_ids.device)
    batch, seq = clean.input_ids.shape
    if not 0 <= start < seq:
        raise InputError(f"start must be in [0, {seq - 1}] for prompts of length {seq}, got {start}")
    stop = seq if stop is None else stop
    if not start < stop <= seq:
        raise InputError(f"stop must be in [{start + 1}, {seq}], got {stop}")
    if ids.shape[0] == batch and repeat > 1:
        ids = ids.repeat(repeat, 1)
    rows = ids.shape[0]
    hidden = None
    if from_layer:
        lowest = _lowest_layer(model, intervention)
        if lowest is not None and lowest < from_layer:
            raise InputError(f"an edit or cached site in block {lowest} lies below from_layer={from_layer}")
        if clean.resid is None:
            raise InputError("from_layer needs the clean run's residual stream: make it with keep_resid=True")
        hidden = clean.resid[from_layer, :, start:stop]  # [B, stop - start, D]
        if rows != batch:
            hidden = hidden.repeat(rows // batch, 1, 1)
    kwargs = {"logits_to_keep": 0 if all_logits else 1, "use_cache": start > 0}
    if start > 0:
        kwargs[_model_cache_kwarg(model)] = _build_cache(model, clean, start, repeat, from_layer, stop)
        kwargs["position_ids"] = torch.arange(start, stop, device=ids.device).unsqueeze(0).expand(rows, -1)
    from tinkerlab.patching.partial import skip_layers

    with (
        skip_layers(model, from_layer, hidden),
        grouped_query_sdpa(model),
        Intervention(model, offset=start, **intervention) as run,
    ):
        out = model(ids[:, start:stop], **kwargs)
    logits = out.logits if all_logits else out.logits[:, -1]
    return logits, run.cache
