"""Gallery demo of `tinkerlab.blend`: one BlendGAN model of two packaged textures and one of two packaged photos, with
a morph strip, a meld and a structure-texture fusion of each, and the checks measured on them.

Both runs, their pictures and their figures are cached in `ctx.cache_dir`, so a second gallery run only reads
files (torch is not even imported then). To fit the first run in about a CPU minute the demo trains at 32 px,
3 scales and 40 iterations of 2 D and 2 G steps per scale, far less than the measured checks of docs/blend.md (48 px,
4 scales, 200 iterations of 3 + 3 steps).
"""

from __future__ import annotations

import json

import numpy as np

PAIRS = {"textures": ("brick", "grass"), "photos": ("chelsea", "coffee")}
ITERATIONS, STEPS, MAX_SIZE, SCALES, MIN_SIZE = 40, 2, 32, 3, 16
SAMPLES = 5


def demo_config():
    """The demo's setting: 32 px, 3 scales, 40 iterations of 2 D and 2 G steps per scale."""
    from dataclasses import replace

    from tinkerlab.blend.config import demo_blend_config, with_base

    config = demo_blend_config(ITERATIONS, max_size=MAX_SIZE, num_scales=SCALES, min_size=MIN_SIZE)
    return with_base(config, train=replace(config.base.train, d_steps=STEPS, g_steps=STEPS))


def figures(model) -> tuple[dict, dict]:
    """The pictures and the checks of one demo model (a cheaper `tinkerlab.blend.checks.measure`)."""
    from tinkerlab.blend.metrics import (
        fusion_report,
        hard_stitch,
        identity_accuracy,
        meld_locality,
        morph_trend,
        parameter_count,
        patch_distances,
        rmse,
        seam_energy_ratio,
    )
    from tinkerlab.pyramid.models import build_generator

    a, b = model.images
    groups = [model.sample(k, SAMPLES, seed=100 + k) for k in range(2)]
    identity = identity_accuracy(groups, model.images)
    frames = model.morph(0, 1, 6, seed=0)
    distances = np.array([patch_distances(f, [a, b]) for f in frames])
    trend = morph_trend(np.linspace(0, 1, 6), distances[None, :, 0], distances[None, :, 1])
    melds = model.meld(0, 1, n=2, seed=7)
    meld = meld_locality(melds[0], a, b)
    stitch = hard_stitch(groups[0][0], groups[1][0])
    fused = [model.fuse(0, 1, seed=11)[0], model.fuse(1, 0, seed=11)[0]]
    fusion = fusion_report(fused[0], a, b, references=(groups[0], groups[1]))  # fine: against the samples
    single = parameter_count(build_generator(model.config.base.model, i) for i in range(len(model.shapes)))
    numbers = {
        "identity": identity.accuracy,
        "rmse": [rmse(r, x) for r, x in zip(model.reconstruction(), model.images, strict=True)],
        "rho": [trend.rho_a, trend.rho_b],
        "meld": [meld.left_to_a, meld.left_to_b, meld.right_to_a, meld.right_to_b, meld.seam_ratio],
        "stitch_seam": seam_energy_ratio(stitch),
        "fusion": [
            fusion.low_corr_structure,
            fusion.low_corr_texture,
            fusion.fine_to_structure,
            fusion.fine_to_texture,
        ],
        "parameters": [parameter_count(model.pyramid.generators), single],
    }
    pictures = {"frames": frames, "melds": melds, "fused": fused}
    return pictures, numbers


def run_demo(ctx) -> None:
    from tinkerlab.core.images import enlarge, image_grid

    section = ctx.section
    section.title = "blend: one multi-scale GAN for several images (BlendGAN)"
    section.description = (
        "One pyramid GAN learns two images at once, told which image each pixel should look like by an identity "
        f"map; trained from scratch on this CPU ({MAX_SIZE} px, {SCALES} scales, {ITERATIONS} iterations of {STEPS} + "
        f"{STEPS} steps per scale)."
    )
    rows = []
    for kind, names in PAIRS.items():
        run = ctx.cached_run(f"blend-{'-'.join(names)}-{ITERATIONS}x{STEPS}")
        cache = run / "outputs" / "demo-v2.npz"  # v2: fusion fine statistics against the samples
        if ctx.run_finished(run) and cache.is_file():
            ctx.reused(f"BlendGAN model of {' and '.join(names)} ({run})")
            stored = np.load(cache)
            pictures = {key: list(stored[key]) for key in ("frames", "melds", "fused")}
            numbers = json.loads((run / "outputs" / "demo-v2.json").read_text())
            images = [stored["image_a"], stored["image_b"]]
        else:
            from tinkerlab.blend.inputs import read_images
            from tinkerlab.blend.training import train
            from tinkerlab.core.seeding import torch_threads

            with torch_threads(1):
                sources = [f"sample:{n}" for n in names]
                model = train(read_images(sources, max_side=4 * MAX_SIZE), demo_config(), out=run)
                pictures, numbers = figures(model)
            images = model.images
            np.savez_compressed(cache, image_a=images[0], image_b=images[1], **pictures)
            (run / "outputs" / "demo-v2.json").write_text(json.dumps(numbers))
        a, b = names
        section.add_image(
            f"blend: morph {a} -> {b} (uniform identity mixture t = 0 .. 1, one noise)",
            enlarge(image_grid([images[0], *pictures["frames"], images[1]], columns=8, pad=2)),
            caption="First and last: the training images. Frames: t = 0, 0.2, .., 1. Shown 3x enlarged.",
        )
        section.add_image(
            f"blend: meld {a} | {b} (left-right identity ramp, soft seam) and fusions",
            enlarge(image_grid([*pictures["melds"], *pictures["fused"]], columns=4, pad=2)),
            caption=(
                f"Two melds ({a} on the left, {b} on the right), then the structure of {a} with the texture of "
                f"{b} (identity {a} on the coarse scales, {b} on the fine ones) and the reverse. 3x enlarged."
            ),
        )
        ident, rho, meld, fusion = numbers["identity"], numbers["rho"], numbers["meld"], numbers["fusion"]
        rows += [
            [kind, f"nearest image is its own ({SAMPLES} samples each)", f"{ident[0]:.0%} / {ident[1]:.0%}"],
            [kind, "reconstruction RMSE per image", " / ".join(f"{v:.3f}" for v in numbers["rmse"])],
            [kind, "morph: rank corr. of t with distance to A / to B", f"{rho[0]:+.2f} / {rho[1]:+.2f}"],
            [
                kind,
                "meld: left to A, B | right to A, B",
                f"{meld[0]:.3f}, {meld[1]:.3f} | {meld[2]:.3f}, {meld[3]:.3f}",
            ],
            [
                kind,
                "seam gradient energy / elsewhere (hard stitch)",
                f"{meld[4]:.2f} ({numbers['stitch_seam']:.2f})",
            ],
            [kind, "fusion: low-pass corr. with A / B", f"{fusion[0]:.2f} / {fusion[1]:.2f}"],
            [kind, "fusion: fine patch distance to samples of A / B", f"{fusion[2]:.3f} / {fusion[3]:.3f}"],
            [
                kind,
                "generator parameters: BlendGAN vs one SinGAN",
                f"{numbers['parameters'][0]:,} vs {numbers['parameters'][1]:,}",
            ],
        ]
    section.add_table(
        "BlendGAN checks on the demo models (patch distance: multi-scale patch SWD, lower = closer)",
        ["images", "check", "value"],
        rows,
        caption="Demo-sized models; the measured checks at 48 px and 200 iterations are in docs/blend.md.",
    )
