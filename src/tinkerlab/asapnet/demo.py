"""Gallery demo of `tinkerlab.asapnet`: ASAPNet (Rott Shaham et al., CVPR 2021) and its two ablations trained on
procedural facade pairs, shown side by side on held-out label maps.

To stay within a minute on two CPU cores, the three generators train at 64 px for `DEMO_STEPS` steps each (the
quality check in docs/asapnet.md trains at 128 px for longer). The runs, the held-out picture and the scores are cached
in `ctx.cache_dir`, so a second gallery run reads them back without training, translating or importing torch.
"""

from __future__ import annotations

from dataclasses import replace

DEMO_SIZE, DEMO_STEPS, DEMO_PAIRS, DEMO_HELD_OUT = 64, 45, 28, 3
DEMO_MODELS = ("asapnet", "asapnet-no-pe", "asapnet-no-spatial")


def demo_run_config(name: str, num_labels: int, steps: int = DEMO_STEPS):
    """The demo's `RunConfig`: the CPU demo widths at 64 px (tiles of 4 px, 2 frequencies, 4x learned
    downsampling so the low-resolution stream sees the label map at its own size)."""
    from tinkerlab.asapnet.config import make_run_config

    config = make_run_config(name, num_labels, steps=steps, size=DEMO_SIZE)
    frequencies = 0 if name == "asapnet-no-pe" else 2
    return replace(config, asapnet=replace(config.asapnet, learned_downsample=4, frequencies=frequencies))


def run_demo(ctx) -> None:
    import json

    import numpy as np

    section = ctx.section
    section.title = "asapnet: fast label-to-image translation with per-tile pixelwise MLPs"
    section.description = (
        "ASAPNet predicts one small MLP per tile of a 16x16 grid from a low-resolution view of the label map, then "
        "runs those MLPs on every pixel's one-hot label and sinusoidal coordinates. Here the full model and its two "
        "ablations (no positional encoding; no spatial variation: one MLP for the whole image) train on this CPU "
        f"on procedural facade pairs ({DEMO_SIZE} px, {DEMO_STEPS} steps each, the same settings for all three)."
    )
    results = ctx.cached_run(f"asapnet-demo-results-{DEMO_SIZE}px-{DEMO_STEPS}-zero-head")
    if (results / "scores.json").exists() and (results / "grid.npy").exists():
        ctx.reused(f"held-out picture and scores ({results})")
        _show(section, np.load(results / "grid.npy"), json.loads((results / "scores.json").read_text()))
        return

    from tinkerlab.asapnet.data import colour_labels, facade_pairs
    from tinkerlab.asapnet.quality import high_frequency_gap
    from tinkerlab.asapnet.training import train
    from tinkerlab.core.images import enlarge, image_grid
    from tinkerlab.core.seeding import torch_threads

    data = facade_pairs(DEMO_PAIRS, size=DEMO_SIZE, seed=0)
    train_data, test_data = data.split(DEMO_HELD_OUT)
    outputs, rows = {}, []
    with torch_threads(1):
        for name in DEMO_MODELS:
            run = ctx.cached_run(f"asapnet-{name}-{DEMO_SIZE}px-{DEMO_STEPS}-zero-head")
            if ctx.run_finished(run):
                ctx.reused(f"{name} run ({run})")
            model = train(train_data, demo_run_config(name, data.num_labels), out=run, progress=False)
            fakes = model.translate(test_data.labels, fast=True)
            outputs[name] = fakes
            l1 = float(np.abs(fakes - test_data.images).mean())
            rows.append([name, f"{l1:.4f}", f"{high_frequency_gap(fakes, test_data.images):.3f}"])
    tiles = []
    for index in range(len(test_data)):
        tiles += [colour_labels(test_data.labels[index], data.num_labels)]
        tiles += [outputs[name][index] for name in DEMO_MODELS]
        tiles += [test_data.images[index]]
    grid = enlarge(image_grid(tiles, columns=len(DEMO_MODELS) + 2, pad=2), 2)
    results.mkdir(parents=True, exist_ok=True)
    np.save(results / "grid.npy", np.asarray(grid))
    (results / "scores.json").write_text(json.dumps(rows))
    _show(section, grid, rows)


def _show(section, grid, rows: list) -> None:
    section.add_image(
        "Held-out label maps: ASAPNet, no positional encoding, no spatial variation, real",
        grid,
        caption=(
            "Columns: label map (colours are classes), full ASAPNet, without positional encoding, without spatial "
            f"variation, the real rendering. {DEMO_STEPS} training steps is a very small budget: the figure shows "
            "the mechanics, not the paper's quality. Shown 2x enlarged."
        ),
    )
    section.add_table(
        f"Held-out scores ({DEMO_HELD_OUT} pairs; lower is better)",
        ["generator", "L1 to the real image", "high-frequency gap |log E_fake/E_real|"],
        rows,
        caption="A single small run; see docs/asapnet.md for the longer comparison with pix2pixHD and SPADE.",
    )
