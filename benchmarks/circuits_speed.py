"""Speed of the tinkerlab.circuits intervention engine on SmolLM2-135M, as ratios to a plain forward.

(a) caching every per-head output (30 o_proj inputs), and patching one head, against a plain forward, all under
    torch.inference_mode(), 16 entity-tracking prompts of 53 tokens;
(b) a sweep patching each of the 270 heads in turn at the last position (16 prompts): tinkerlab (prefix reuse +
    head batching) against nnsight written as one full trace per head, against nnsight with --nnsight-batch heads
    batched as copies of the prompts in one trace (one invoke per head: its fair peer), and against plain hooks
    with a full recompute per head. The baselines run on a subset of heads (--baseline-heads) and are
    extrapolated to 270 heads (they cost the same for every head); the printed results check that all agree.
    nnsight is optional (`make bench` installs it); without it the nnsight lines say so;
(c) the full four-step path patching with --pp-prompts prompts (100 by default), against the schedule run the way
    the original code runs it (two full forwards per sender head over all prompts, no prefix reuse, no block
    skipping), timed on --pp-baseline-senders senders per step and extrapolated to every sender of that step.

Each section runs in a fresh process and prints its own peak memory (maxrss, the model included), so no
section's peak is stacked on another's; at the defaults each stays under 4 GiB.

Run: .venv/bin/python benchmarks/circuits_speed.py [--skip-pp] [--pp-prompts 100] [--baseline-heads 18]
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import subprocess
import sys
import time

import torch


def timed(fn, repeats: int) -> float:
    """Median wall time of `repeats` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--baseline-heads", type=int, default=18)
    parser.add_argument("--pp-prompts", type=int, default=100)
    parser.add_argument("--skip-pp", action="store_true")
    parser.add_argument("--skip-ab", action="store_true", help="only run (c)")
    parser.add_argument("--pp-baseline-senders", type=int, default=2)
    parser.add_argument("--skip-nnsight", action="store_true")
    parser.add_argument("--nnsight-batch", type=int, default=6, help="heads per nnsight trace in the batched peer")
    parser.add_argument("--section", choices=("a", "b", "c"), default=None, help=argparse.SUPPRESS)  # child
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: leave torch's default)")
    parser.add_argument("--plain-seconds", type=float, default=None, help=argparse.SUPPRESS)  # from the parent
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    if args.section is None:  # the parent: every section in a fresh process, so each peak memory is its own
        forward = (
            [
                "--prompts",
                str(args.prompts),
                "--repeats",
                str(args.repeats),
                "--baseline-heads",
                str(args.baseline_heads),
                "--pp-prompts",
                str(args.pp_prompts),
                "--pp-baseline-senders",
                str(args.pp_baseline_senders),
                "--nnsight-batch",
                str(args.nnsight_batch),
                "--threads",
                str(args.threads),
            ]
            + (["--skip-nnsight"] if args.skip_nnsight else [])
            + (["--skip-ab"] if args.skip_ab else [])
        )
        base = None
        sections = ([] if args.skip_ab else ["a", "b"]) + ([] if args.skip_pp else ["c"])
        for section in sections:
            extra = ["--plain-seconds", str(base)] if base is not None else []
            child = subprocess.run(
                [sys.executable, __file__, *forward, *extra, "--section", section],
                check=True,
                stdout=subprocess.PIPE,  # stderr (progress, errors) passes through
                text=True,
            )
            for line in child.stdout.splitlines():
                if line.startswith("plain-forward-seconds="):
                    base = float(line.split("=", 1)[1])
                else:
                    print(line, flush=True)
        return
    from tinkerlab.circuits.data import path_patching_pairs
    from tinkerlab.circuits.models import load_model
    from tinkerlab.patching.archmap import arch_map

    model, tokenizer = load_model("original")
    amap = arch_map(model)
    clean, corrupt = path_patching_pairs(tokenizer, args.prompts, seed=0)
    ids = clean.input_ids  # [16, 53]
    batch, seq = ids.shape
    sites = [f"layers.{layer}.attn.head_out" for layer in range(amap.n_layers)]
    if args.section == "a" or (args.section == "c" and args.skip_ab):
        print(
            f"SmolLM2-135M, {amap.n_layers} layers x {amap.n_heads} heads, {batch} prompts x {seq} tokens, "
            f"torch threads {torch.get_num_threads()}"
        )

    base = args.plain_seconds
    if args.section == "a":
        base = section_a(args, model, amap, clean, corrupt, ids, sites)
        print(f"plain-forward-seconds={base}")
    elif args.section == "b":
        section_b(args, model, amap, clean, corrupt, ids, sites, base)
    else:
        section_c(args, model, tokenizer, base)
    print(
        f"({args.section}) peak memory of this section (maxrss, model included) "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB",
        flush=True,
    )


def _corrupt_heads(model, corrupt, sites) -> dict:
    from tinkerlab.patching.interventions import Intervention

    with torch.inference_mode(), Intervention(model, cache=sites) as run:
        model(corrupt.input_ids, logits_to_keep=1)
    return run.cache


def section_a(args, model, amap, clean, corrupt, ids, sites) -> float:
    """(a) cache / patch overhead against a plain forward; returns the plain-forward time."""
    from tinkerlab.patching.interventions import Intervention, Patch

    batch, seq = ids.shape
    last = seq - 1
    corrupt_heads = _corrupt_heads(model, corrupt, sites)
    with torch.inference_mode():

        def plain():
            model(ids)

        def cache_all():
            with Intervention(model, cache=sites):
                model(ids)

        patch = Patch(
            "layers.15.attn.head_out",
            torch.arange(batch),
            torch.full((batch,), last),
            corrupt_heads["layers.15.attn.head_out"][:, last, 4],
            torch.full((batch,), 4),
        )

        def patch_one():
            with Intervention(model, patches=[patch]):
                model(ids)

        # Interleave the three measurements so that load from other processes hits them alike, and report the
        # minimum over repeats (the least-disturbed run; on a shared machine the median mostly measures the load).
        t_plain, t_cache, t_patch = [], [], []
        for _ in range(args.repeats):
            t_plain.append(timed(plain, 1))
            t_cache.append(timed(cache_all, 1))
            t_patch.append(timed(patch_one, 1))
        base = min(t_plain)
    for label, times in (
        ("plain forward                        ", t_plain),
        ("cache all 270 per-head outputs       ", t_cache),
        ("patch one head (L15H4, last position)", t_patch),
    ):
        print(
            f"(a) {label} min {min(times) * 1000:8.1f} ms  {min(times) / base:.2f}x   "
            f"(median {statistics.median(times) / statistics.median(t_plain):.2f}x of the median plain)"
        )
    return base


def section_b(args, model, amap, clean, corrupt, ids, sites, base: float) -> None:
    """(b) the 270-head sweep: tinkerlab against plain hooks and nnsight (one trace per head, and batched)."""
    from tinkerlab.circuits.models import load_model
    from tinkerlab.patching.interventions import Intervention, Patch
    from tinkerlab.patching.prefix import clean_run, run_from

    batch, seq = ids.shape
    last = seq - 1
    corrupt_heads = _corrupt_heads(model, corrupt, sites)
    heads = [(layer, head) for layer in range(amap.n_layers) for head in range(amap.n_heads)]

    subset = heads[:: max(1, len(heads) // args.baseline_heads)][: args.baseline_heads]

    def tinkerlab_sweep(chunk: int = 18) -> dict:
        """Every head's patched logits are computed; those of the baseline subset are kept for the comparison
        (all 270 x 16 x 49k would hold 850 MB)."""
        with torch.inference_mode():
            prefix = clean_run(model, ids)
            out = {}
            for first in range(0, len(heads), chunk):
                part = heads[first : first + chunk]
                n = len(part)
                copies = torch.arange(n).repeat_interleave(batch)
                prompt = torch.arange(batch).repeat(n)
                layer_of = torch.tensor([h[0] for h in part])[copies]
                head_of = torch.tensor([h[1] for h in part])[copies]
                patches = []
                for layer in sorted({h[0] for h in part}):
                    sel = torch.nonzero(layer_of == layer).squeeze(1)
                    values = corrupt_heads[sites[layer]][prompt[sel], last, head_of[sel]]
                    patches.append(Patch(sites[layer], sel, torch.full_like(sel, last), values, head_of[sel]))
                logits, _ = run_from(model, prefix, last, repeat=n, patches=patches)
                logits = logits.view(n, batch, -1)
                out.update({h: logits[i].clone() for i, h in enumerate(part) if h in subset})
            return out  # {head: [B, V]}

    start = time.perf_counter()
    ours = tinkerlab_sweep()
    t_ours = time.perf_counter() - start

    def hooks_full(head):
        layer, h = head
        p = Patch(
            sites[layer],
            torch.arange(batch),
            torch.full((batch,), last),
            corrupt_heads[sites[layer]][:, last, h],
            torch.full((batch,), h),
        )
        with torch.inference_mode(), Intervention(model, patches=[p]):
            return model(ids, logits_to_keep=1).logits[:, -1].clone()  # not a view that keeps [B, S, V] alive

    start = time.perf_counter()
    hook_logits = [hooks_full(h) for h in subset]
    t_hooks = (time.perf_counter() - start) / len(subset) * len(heads)
    err_hooks = max(float((hook_logits[i] - ours[h]).abs().max()) for i, h in enumerate(subset))
    print(
        f"(b) sweep 270 heads, tinkerlab (prefix reuse + batching) {t_ours:7.1f} s   {t_ours / base:6.1f}x plain"
        f" forward"
    )
    print(
        f"(b) sweep 270 heads, plain hooks, full recompute/head  {t_hooks:7.1f} s   {t_hooks / base:6.1f}x "
        f"(extrapolated from {len(subset)} heads; max |logit diff| vs tinkerlab {err_hooks:.1e})"
    )
    print(f"(b) speed-up over plain-hooks full recompute: {t_hooks / t_ours:.1f}x")

    if args.skip_nnsight:
        return
    try:
        from nnsight import NNsight
    except ImportError:
        print("(b) nnsight is not installed (`make bench` installs it): the nnsight peers were not run")
        return
    try:
        nn_model, _ = load_model("original")  # a separate copy: nnsight rewrites module forwards in place
        wrapped = NNsight(nn_model)
        dh = amap.head_dim

        def value_of(saved):
            return getattr(saved, "value", saved)  # older nnsight returns a proxy holding .value

        def nnsight_one(head):
            layer, h = head
            value = corrupt_heads[sites[layer]][:, last, h]
            with torch.inference_mode(), wrapped.trace(ids, logits_to_keep=1):
                wrapped.model.layers[layer].self_attn.o_proj.input[:, last, h * dh : (h + 1) * dh] = value
                logits = wrapped.output.logits[:, -1].clone().save()
            return value_of(logits)

        # The plain NNsight wrapper cannot batch several invokes ("NNsight does not support batching multiple
        # invokes"); the language-model wrapper can. It gets its own copy, as above.
        try:
            from nnsight import TransformersModel as BatchingWrapper
        except ImportError:  # nnsight before 0.8
            from nnsight import LanguageModel as BatchingWrapper
        lm_model, lm_tokenizer = load_model("original")
        batching = BatchingWrapper(lm_model, tokenizer=lm_tokenizer)

        def nnsight_batched(part):
            """One trace, one invoke per head: nnsight batches the invokes into one forward of len(part) copies."""
            saved = []
            with torch.inference_mode(), batching.trace(logits_to_keep=1) as tracer:
                for layer, h in part:
                    with tracer.invoke(ids):
                        value = corrupt_heads[sites[layer]][:, last, h]
                        batching.model.layers[layer].self_attn.o_proj.input[:, last, h * dh : (h + 1) * dh] = value
                        saved.append(batching.output.logits[:, -1].clone())
                saved = saved.save() if hasattr(saved, "save") else saved  # save the list, append raw values
            return [value_of(x) for x in value_of(saved)]

        nnsight_one(subset[0])
        start = time.perf_counter()
        nn_logits = [nnsight_one(h) for h in subset]
        t_nn = (time.perf_counter() - start) / len(subset) * len(heads)
        err_nn = max(float((nn_logits[i] - ours[h]).abs().max()) for i, h in enumerate(subset))
        print(
            f"(b) sweep 270 heads, nnsight one trace/head          {t_nn:7.1f} s   {t_nn / base:6.1f}x "
            f"(extrapolated from {len(subset)} heads; max |logit diff| vs tinkerlab {err_nn:.1e})"
        )
        size = max(1, args.nnsight_batch)
        nnsight_batched(subset[:size])
        start = time.perf_counter()
        batched = [x for first in range(0, len(subset), size) for x in nnsight_batched(subset[first : first + size])]
        t_nb = (time.perf_counter() - start) / len(subset) * len(heads)
        err_nb = max(float((batched[i] - ours[h]).abs().max()) for i, h in enumerate(subset))
        print(
            f"(b) sweep 270 heads, nnsight {size} heads/trace         {t_nb:7.1f} s   {t_nb / base:6.1f}x "
            f"(extrapolated from {len(subset)} heads; max |logit diff| vs tinkerlab {err_nb:.1e})"
        )
        print(f"(b) speed-up over nnsight: {t_nn / t_ours:.1f}x (one trace/head), {t_nb / t_ours:.1f}x (batched)")
    except Exception as exc:  # the comparison is optional; say why it was skipped
        print(f"(b) nnsight comparison failed ({type(exc).__name__}: {exc}); plain-hooks comparison above")


def original_style_seconds(model, clean, corrupt, group: str, receivers: list, senders: list) -> float:
    """Seconds per sender head of `pathpatch.reference_scores`: the schedule written as the original runs it (two
    full forwards of every prompt per sender). Mean over `senders`, after the two caching runs."""
    from tinkerlab.circuits.pathpatch import reference_scores

    reference_scores(model, clean, corrupt, group, receivers, [])  # the caching forwards, not counted
    start = time.perf_counter()
    reference_scores(model, clean, corrupt, group, receivers, senders)
    caching = time.perf_counter()
    reference_scores(model, clean, corrupt, group, receivers, [])
    return ((caching - start) - (time.perf_counter() - caching)) / len(senders)


def section_c(args, model, tokenizer, base: float | None) -> None:
    """(c) the four-step schedule on --pp-prompts prompts, and the original-style schedule extrapolated."""
    from tinkerlab.circuits.data import path_patching_pairs
    from tinkerlab.circuits.pathpatch import _RECEIVER, path_patch

    pp_clean, pp_corrupt = path_patching_pairs(tokenizer, args.pp_prompts, seed=1)
    start = time.perf_counter()
    result = path_patch(model, pp_clean, pp_corrupt, log=lambda line: print("    " + line, flush=True))
    total = time.perf_counter() - start
    print(
        f"    peak memory so far (maxrss) {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB",
        flush=True,
    )
    gc.collect()
    ratio = f"; {total / base:.0f}x a plain 16-prompt forward" if base else ""
    print(
        f"(c) four-step path patching, {args.pp_prompts} prompts: {total:.0f} s "
        f"({', '.join(f'{g} {s:.0f} s' for g, s in result.seconds.items())}){ratio}; limit 600 s",
        flush=True,
    )
    if args.pp_baseline_senders <= 0:
        return
    estimate = 0.0
    n_heads = model.config.num_attention_heads
    for group in ("VF", "PT", "PD", "SR"):
        receivers = result.circuit[_RECEIVER[group][0]] if group in _RECEIVER else []
        top = max((layer for layer, _ in receivers), default=model.config.num_hidden_layers)
        senders = [(layer, head) for layer in range(top) for head in range(n_heads)]
        probe = senders[:: max(1, len(senders) // args.pp_baseline_senders)][: args.pp_baseline_senders]
        per = original_style_seconds(model, pp_clean, pp_corrupt, group, receivers, probe)
        estimate += per * len(senders)
        print(
            f"    original-style {group}: {per:.1f} s per sender x {len(senders)} senders (timed on {len(probe)})",
            flush=True,
        )
    print(
        f"(c) the same schedule run the original way: {estimate:.0f} s (extrapolated) -> tinkerlab "
        f"{estimate / total:.1f}x faster"
    )


if __name__ == "__main__":
    from tinkerlab.core.errors import run_main

    run_main(main)
