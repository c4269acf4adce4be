"""Gallery demo of `tinkerlab.idc`: IDC completions (Alkobi, Rott Shaham and Michaeli, arXiv 2212.10280) of a
packaged photo with a hole.

The trained run is cached in `ctx.cache_dir`, so a second gallery run only samples. The demo trains with fewer
iterations than the benchmark's demo configuration (120 per scale instead of 300) to keep the first run to a
couple of CPU minutes.
"""

from __future__ import annotations

import numpy as np

IDC_IMAGE = "chelsea"
IDC_ITERATIONS, DIP_ITERATIONS = 120, 200


def run_demo(ctx) -> None:
    from tinkerlab.core.assets import sample_image
    from tinkerlab.core.images import enlarge, image_grid
    from tinkerlab.core.seeding import torch_threads
    from tinkerlab.idc import completion as idc
    from tinkerlab.idc.config import demo_idc_config
    from tinkerlab.idc.holes import HOLES, box_mask
    from tinkerlab.pyramid.metrics import hole_patch_distance, singan_diversity

    section = ctx.section
    section.title = "idc: diverse completion of a hole, learned from one image"
    section.description = (
        "A multi-scale GAN of the pyramid engine, trained from scratch on this CPU (longer side 64 px, 5 scales). "
        "IDC learns only from the visible part of the photo and fills the hole in several different ways."
    )
    with torch_threads(1):
        image = sample_image(IDC_IMAGE, max_side=64)
        mask = box_mask(image.shape[:2], HOLES[IDC_IMAGE])
        run = ctx.cached_run(f"idc-{IDC_IMAGE}-{IDC_ITERATIONS}")
        if ctx.run_finished(run):
            ctx.reused(f"IDC model of {IDC_IMAGE} ({run})")
        model = idc.train(
            image,
            mask,
            demo_idc_config(IDC_ITERATIONS, dip_iterations=DIP_ITERATIONS),
            out=run,
            progress=False,
        )
        completions = model.complete(4, diversity=6, seed=0)
        shown = np.where(model.hole[:, :, None], 1.0, model.image).astype(np.float32)
        mean_fill = np.where(model.hole[:, :, None], model.image[~model.hole].mean(axis=0), model.image).astype(
            np.float32
        )
        section.add_image(
            f"IDC: {IDC_IMAGE} with a hole, DIP pre-fill, 4 completions",
            enlarge(image_grid([shown, model.prefill, *completions], columns=6, pad=2)),
            caption=(
                f"White: the hole ({model.hole.mean():.0%} of the {shown.shape[0]}x{shown.shape[1]} image), never seen "
                f"in training. Then the Deep-Image-Prior pre-fill used by the coarse scales, then 4 completions "
                f"(diversity 6). Masked training from scale {model.masking_start}; {IDC_ITERATIONS} iterations per "
                f"unmasked scale and {round(IDC_ITERATIONS * 1.5)} per masked one (fewer than the benchmark's 300). "
                f"Shown 3x enlarged."
            ),
        )
        scores = [hole_patch_distance(c, model.hole) for c in completions]
        section.add_table(
            "Hole-versus-visible patch distance (multi-scale patch SWD, lower = more like the visible image)",
            ["fill", "distance"],
            [
                ["mean visible colour", f"{hole_patch_distance(mean_fill, model.hole):.4f}"],
                ["DIP pre-fill alone", f"{hole_patch_distance(model.prefill, model.hole):.4f}"],
                ["IDC, mean of the 4 completions", f"{np.mean(scores):.4f}"],
                [
                    "IDC diversity in the hole (d = 6, SinGAN measure)",
                    f"{singan_diversity(completions, model.image, model.hole):.3f}",
                ],
            ],
        )
