"""Gallery demo of `tinkerlab.internal`: IDC completions (Alkobi, Rott Shaham and Michaeli, arXiv 2212.10280) of a
packaged photo with a hole, and SinGAN samples (Shaham et al., ICCV 2019) of another photo at two sizes.

Trained runs are cached in `ctx.cache_dir`, so a second gallery run only samples. The demo trains with fewer
iterations than the benchmark's demo configuration (IDC 120 and SinGAN 200 per scale instead of 300) to keep the
first run to a couple of CPU minutes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

IDC_IMAGE, SINGAN_IMAGE = "chelsea", "china"
IDC_ITERATIONS, SINGAN_ITERATIONS, DIP_ITERATIONS = 120, 200, 200
UPSCALE = 3


def enlarge(image: np.ndarray, factor: int = UPSCALE) -> np.ndarray:
    """Nearest-neighbour enlargement, so 64-pixel results are visible in the gallery."""
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def _cached_run(ctx, name: str) -> Path:
    path = Path(ctx.cache_dir) / name
    if ctx.fresh and path.exists():
        shutil.rmtree(path)
    return path


def _finished(path: Path) -> bool:
    import json

    state = path / "state.json"
    return state.exists() and bool(json.loads(state.read_text()).get("done"))


def run_demo(ctx) -> None:
    from tinkerlab.core.assets import sample_image
    from tinkerlab.core.images import image_grid
    from tinkerlab.internal import idc, singan
    from tinkerlab.internal.config import demo_idc_config, demo_singan_config
    from tinkerlab.internal.metrics import hole_patch_distance, singan_diversity
    from tinkerlab.internal.pyramid import tensor_to_image
    from tinkerlab.internal.quality import HOLES, box_mask
    from tinkerlab.core.seeding import torch_threads

    section = ctx.section
    section.title = "internal: single-image GANs (SinGAN engine) and IDC diverse completion"
    section.description = (
        "One multi-scale GAN per image, trained from scratch on this CPU (longer side 64 px, 5 scales). "
        "IDC learns only from the visible part of the photo and fills the hole in several different ways; "
        "SinGAN draws new images with the training image's patch statistics at any size."
    )
    with torch_threads(1):
        image = sample_image(IDC_IMAGE, max_side=64)
        mask = box_mask(image.shape[:2], HOLES[IDC_IMAGE])
        run = _cached_run(ctx, f"idc-{IDC_IMAGE}-{IDC_ITERATIONS}")
        if _finished(run):
            ctx.reused(f"IDC model of {IDC_IMAGE} ({run})")
        model = idc.train(image, mask, demo_idc_config(IDC_ITERATIONS, dip_iterations=DIP_ITERATIONS), out=run, progress=False)
        completions = model.complete(4, diversity=6, seed=0)
        shown = np.where(model.hole[:, :, None], 1.0, model.image).astype(np.float32)
        mean_fill = np.where(model.hole[:, :, None], model.image[~model.hole].mean(axis=0), model.image).astype(np.float32)
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
                ["IDC diversity in the hole (d = 6, SinGAN measure)", f"{singan_diversity(completions, model.image, model.hole):.3f}"],
            ],
        )

        photo = sample_image(SINGAN_IMAGE, max_side=64)
        run = _cached_run(ctx, f"singan-{SINGAN_IMAGE}-{SINGAN_ITERATIONS}")
        if _finished(run):
            ctx.reused(f"SinGAN model of {SINGAN_IMAGE} ({run})")
        trained = singan.train(photo, demo_singan_config(SINGAN_ITERATIONS), out=run)
        height, width = trained.pyramid.shapes[-1]
        same = trained.sample(3, seed=0)
        wide = trained.sample(2, size=(height, 2 * width), seed=1)
    section.add_image(
        f"SinGAN: {SINGAN_IMAGE} (left) and 3 random samples at the training size",
        enlarge(image_grid([tensor_to_image(trained.reals[-1]), *same], columns=4, pad=2)),
        caption=f"{height}x{width}, {SINGAN_ITERATIONS} iterations per scale (fewer than the benchmark's 300). Shown 3x enlarged.",
    )
    section.add_image(
        f"SinGAN: 2 random samples at {height}x{2 * width} (twice as wide)",
        enlarge(image_grid(wide, columns=1, pad=2)),
        caption="The same model; the noise maps of every scale are stretched to the new aspect ratio. Shown 3x enlarged.",
    )
