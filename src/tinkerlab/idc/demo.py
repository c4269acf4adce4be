"""Gallery demo of `tinkerlab.idc`: IDC completions (Alkobi, Rott Shaham and Michaeli, arXiv 2212.10280) of a
packaged photo with a hole.

The trained run and its full-size completion are cached in `ctx.cache_dir`, so a second gallery run only samples
at the model's size. The demo trains with fewer iterations than the benchmark's demo configuration (120 per scale
instead of 300) to keep the first run to a couple of CPU minutes. The model learns at 64 px; the full-size
completion is carried up to the photo's 451x300 by the finest generator (`IDCModel.complete(resolution="input")`).
"""

from __future__ import annotations

import numpy as np

IDC_IMAGE = "chelsea"
IDC_ITERATIONS, DIP_ITERATIONS = 120, 200


def outline(image: np.ndarray, hole: np.ndarray, width: int = 2) -> np.ndarray:
    """A copy of `image` with the hole's edge (the `width` px of known pixels around it) drawn in red."""
    from scipy.ndimage import binary_dilation

    edge = binary_dilation(hole, iterations=width) & ~hole
    shown = np.array(image, dtype=np.float32, copy=True)
    shown[edge] = (1.0, 0.1, 0.1)
    return shown


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
        photo = sample_image(IDC_IMAGE)
        photo_mask = box_mask(photo.shape[:2], HOLES[IDC_IMAGE])
        run = ctx.cached_run(f"idc-{IDC_IMAGE}-{IDC_ITERATIONS}")
        if ctx.run_finished(run):
            ctx.reused(f"IDC model of {IDC_IMAGE} ({run})")
        model = idc.train(
            photo,
            photo_mask,
            demo_idc_config(IDC_ITERATIONS, dip_iterations=DIP_ITERATIONS),
            out=run,
            progress=False,
        )
        completions = model.complete(4, diversity=6, seed=0, resolution="model")
        full_path = run / "outputs" / "demo_full_size_d6_seed0.npy"
        if full_path.is_file():
            full = np.load(full_path)
        else:
            full = model.complete(1, diversity=6, seed=0)[0]
            np.save(full_path, full)
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
        known = photo_mask == 0
        exact = bool(np.array_equal(full[known], photo[known]))
        factor = max(1, round(full.shape[0] / completions[0].shape[0]))
        section.add_image(
            f"IDC: {IDC_IMAGE} completed at its own size ({full.shape[1]}x{full.shape[0]}), hole outlined",
            image_grid(
                [outline(full, ~known), outline(enlarge(completions[0], factor), enlarge(model.hole, factor))],
                columns=2,
                pad=4,
            ),
            caption=(
                f"Left: the completion at the photo's size; the model's output ({completions[0].shape[1]}x"
                f"{completions[0].shape[0]}) is carried up by {idc.SR_STEPS} passes of the finest scale's generator "
                f"(SinGAN's super-resolution step), and the known pixels are the photo's "
                f"({'all equal' if exact else 'NOT all equal'} to the input). Right: the same completion at the "
                f"model's size, {factor}x enlarged. Red: the hole's edge."
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
