"""Gallery demo of `tinkerlab.circuits`: which SmolLM2 heads carry the answer of an entity-tracking prompt.

After Prakash et al., "Fine-Tuning Enhances Existing Mechanisms" (ICLR 2024). The demo runs the first step of the
path-patching schedule (Value Fetcher senders at the last token) on a few prompts, shows the head heatmap, and
lists the accuracy of the models made by `tinkerlab circuits finetune` when they exist. Results are cached in
`ctx.cache_dir`; a second run reuses them.
"""

from __future__ import annotations

import json
import time


def _compute(n_prompts: int = 6, n_boxes: int = 5, n_accuracy: int = 40) -> dict:
    import torch

    from tinkerlab.circuits.data import entity_batch, path_patching_pairs
    from tinkerlab.circuits.evaluate import accuracy
    from tinkerlab.circuits.models import is_cached, load_model
    from tinkerlab.circuits.pathpatch import PathPatcher

    name = "base" if is_cached("base") else "original"
    model, tokenizer = load_model(name)
    clean, corrupt = path_patching_pairs(tokenizer, n_prompts, n_boxes=n_boxes, seed=0)
    start = time.perf_counter()
    patcher = PathPatcher(model, clean, corrupt)
    scores = patcher.sweep("VF", [])
    seconds = time.perf_counter() - start
    accuracies = {}
    batch = entity_batch(tokenizer, n_accuracy, n_boxes=7, seed=42)
    for model_name in ("original", "base", "finetuned"):
        if model_name == name:
            accuracies[model_name] = accuracy(model, batch)
        elif is_cached(model_name):
            accuracies[model_name] = accuracy(load_model(model_name)[0], batch)
    with torch.inference_mode():
        p_clean = patcher.p_clean.mean().item()
    return {
        "model": name,
        "scores": scores.tolist(),
        "seconds": seconds,
        "accuracy": accuracies,
        "p_clean": p_clean,
        "prompt": clean.prompts[0].text(),
        "corrupt": corrupt.prompts[0].text(),
        "n_prompts": n_prompts,
        "n_boxes": n_boxes,
        "n_accuracy": n_accuracy,
    }


def run_demo(ctx) -> None:
    """Add the VF heatmap, the top heads and the model accuracies to the gallery section."""
    from tinkerlab.circuits.report import heatmap_png

    section = ctx.section
    section.title = "Entity-tracking circuits in SmolLM2-135M"
    section.description = (
        "Path patching (Prakash et al., ICLR 2024): each of SmolLM2's 270 heads in turn gets "
        "its output from a corrupted prompt at the last token, with every other head frozen; "
        "red heads (p(answer) drops) carry the answer: the Value Fetcher step; blue heads raise it on these few "
        "prompts. All 270 heads run as a few "
        "batched forwards that recompute only the last position."
    )
    cache = ctx.cache_dir / "vf_sweep.json"
    if cache.exists() and not ctx.fresh:
        result = json.loads(cache.read_text())
        ctx.reused("path-patching sweep (vf_sweep.json)")
    else:
        result = _compute()
        cache.write_text(json.dumps(result))
    png = ctx.cache_dir / "vf_heatmap.png"
    png.write_bytes(
        heatmap_png(
            {"VF": result["scores"]},
            None,
            f"VF step, {result['model']} model, {result['n_prompts']} prompts, {result.get('n_boxes', 3)} boxes",
        )
    )
    section.add_image(
        "Relative change of p(answer) per head",
        png,
        caption=f"{result['seconds']:.1f} s for 270 heads; mean clean p(answer) {result['p_clean']:.2f}",
    )
    section.add_text("Prompt and its corruption", f"clean:   {result['prompt']}\ncorrupt: {result['corrupt']}")
    flat = [(v, layer, head) for layer, row in enumerate(result["scores"]) for head, v in enumerate(row)]
    top = sorted(flat)[:8]
    section.add_table(
        "Heads whose corruption hurts most",
        ["head", "relative change of p(answer)"],
        [[f"L{layer}H{head}", f"{v:+.3f}"] for v, layer, head in top],
    )
    if result["accuracy"]:
        section.add_table(
            f"Entity-tracking accuracy (7 boxes, {result.get('n_accuracy', 20)} prompts)",
            ["model", "accuracy"],
            [[k, f"{v:.2f}"] for k, v in result["accuracy"].items()],
            caption="base = SmolLM2 after an entity-tracking warm-up; finetuned = base further "
            "fine-tuned on variable binding (`tinkerlab circuits finetune`)",
        )
