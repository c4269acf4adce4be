"""Gallery demo of `tinkerlab.desiderata`: joint desiderata masks on a planted toy model and on SmolLM2.

After Davies et al., "Discovering Variable Binding Circuitry with Desiderata" (2023). Two small runs:

1. the hand-built toy model (`toy.py`), whose binding head and result MLP are known: the joint mask (value change +
   operation invariance) finds the head alone; value change alone also takes the result MLP;
2. SmolLM2-135M on a small variable-binding spec (value change + operation invariance, 48 + 24 items each; the
   joint mask and 20 random masks, no single-desideratum masks): the variable-binding fine-tune when `tinkerlab
   desiderata finetune` has made it (reused from the user cache), else the packaged model as shipped.

Results are cached in `ctx.cache_dir`; a second run only redraws the pictures.
"""

from __future__ import annotations

import json

DEMO_N, DEMO_HELDOUT = 48, 24


def _smollm2_spec():
    from tinkerlab.desiderata.spec import Desideratum, Item, MaskSettings, Spec
    from tinkerlab.desiderata.tasks import DESIDERATA_KINDS, BindingTask, desideratum_items

    task = BindingTask()
    desiderata = []
    for name in ("value_change", "operation_invariance"):
        rows = desideratum_items(task, name, DEMO_N) + desideratum_items(task, name, DEMO_HELDOUT, heldout=True)
        desiderata.append(
            Desideratum(
                name,
                DESIDERATA_KINDS[name],
                tuple(Item(r["original"], r["alternate"], r["target"], r["split"]) for r in rows),
            )
        )
    return Spec(tuple(desiderata), MaskSettings(epochs=6, seeds=1, random_draws=20, singles=False), task, "demo")


def _run(ctx, name: str, make) -> tuple[dict, bool]:
    """(result, reused) of a cached demo run."""
    folder = ctx.cached_run(name)
    path = folder / "outputs" / "result.json"
    if path.is_file():
        ctx.reused(f"{name} masks ({path.parent})")
        return json.loads(path.read_text()), True
    (folder / "outputs").mkdir(parents=True, exist_ok=True)
    return make(folder / "outputs"), False


def run_demo(ctx) -> None:
    """Add the toy and SmolLM2 component maps and accuracy tables to the gallery section."""
    from tinkerlab.core.seeding import torch_threads
    from tinkerlab.desiderata.report import component_map_png, result_rows
    from tinkerlab.desiderata.search import run_search

    section = ctx.section
    section.title = "Desiderata masks: variable-binding components from declared causal attributes"
    section.description = (
        "One sparse mask over attention heads and MLPs at the final token (Davies et al., 2023) is learned so that "
        "patching the masked components from an alternate prompt satisfies every desideratum at once: value change "
        "(the answer follows the alternate's bound value) and operation invariance (the answer keeps the original's "
        "operation). Clamp relaxation with L1, lambda 0.01, Adam lr 0.1, threshold 0.5, best mask on validation; "
        "accuracies are on held-out operations."
    )
    with torch_threads(1):

        def toy_run(outputs):
            from tinkerlab.desiderata.toy import planted_model, toy_spec, toy_tokenizer

            spec = toy_spec(("value_change", "operation_invariance"), seeds=2, random_draws=20, epochs=8)
            return run_search(spec, planted_model(), toy_tokenizer(), outputs=outputs, model_name="toy", progress=False)

        toy, reused = _run(ctx, "toy", toy_run)
        toy_png = ctx.cache_dir / "toy_component_map.png"
        if not (reused and toy_png.is_file()):
            toy_png.write_bytes(component_map_png(toy, dpi=70))
        section.add_image(
            "Toy model with a planted binding head (L0H0) and a result MLP (L1 MLP)",
            toy_png,
            caption="The joint mask takes L0H0 alone; value change alone also takes the result MLP, which "
            "operation invariance rules out (it carries the alternate's operation).",
        )
        header, rows = result_rows(toy)
        section.add_table("Toy model: held-out accuracy with each mask patched", header, rows)

        def smollm2_run(outputs):
            from tinkerlab.desiderata.finetune import is_cached
            from tinkerlab.desiderata.models import load_model

            name = "binding" if is_cached() else "smollm2"
            if name == "binding":
                ctx.reused("variable-binding SmolLM2 fine-tune (tinkerlab desiderata finetune)")
            model, tokenizer = load_model(name)
            return run_search(_smollm2_spec(), model, tokenizer, outputs=outputs, model_name=name, progress=False)

        result, reused = _run(ctx, "smollm2", smollm2_run)
    joint = result["joint"]
    png = ctx.cache_dir / "smollm2_component_map.png"
    if not (reused and png.is_file()):
        png.write_bytes(component_map_png(result, dpi=70))
    section.add_image(
        f"SmolLM2-135M ({result['model']}): component map of the joint mask",
        png,
        caption=f"{len(joint['selected'])} of {result['n_components']} components ({result['n_heads']} heads, "
        f"{result['n_mlps']} MLPs): {', '.join(joint['selected']) or 'none'}. "
        + (
            "Model: the variable-binding fine-tune."
            if result["model"] == "binding"
            else "Model: SmolLM2 as shipped (run `tinkerlab desiderata finetune` for the fine-tune)."
        ),
    )
    header, rows = result_rows(result)
    section.add_table(
        f"SmolLM2: held-out accuracy ({DEMO_HELDOUT} items per desideratum, held-out operation min)", header, rows
    )
