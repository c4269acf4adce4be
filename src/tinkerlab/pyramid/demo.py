"""Gallery demo of `tinkerlab.pyramid`: SinGAN samples (Shaham et al., ICCV 2019) of a packaged photo at two sizes.

The trained run is cached in `ctx.cache_dir`, so a second gallery run only samples. The demo trains with fewer
iterations than the benchmark's demo configuration (200 per scale instead of 300) to keep the first run to about a
CPU minute.
"""

from __future__ import annotations

SINGAN_IMAGE = "china"
SINGAN_ITERATIONS = 200


def run_demo(ctx) -> None:
    from tinkerlab.core.assets import sample_image
    from tinkerlab.core.images import enlarge, image_grid
    from tinkerlab.core.seeding import torch_threads
    from tinkerlab.pyramid import singan
    from tinkerlab.pyramid.config import demo_singan_config
    from tinkerlab.pyramid.scales import tensor_to_image

    section = ctx.section
    section.title = "pyramid: multi-scale single-image GANs (SinGAN)"
    section.description = (
        "One multi-scale GAN per image, trained from scratch on this CPU (longer side 64 px, 5 scales); "
        "SinGAN draws new images with the training image's patch statistics at any size."
    )
    with torch_threads(1):
        photo = sample_image(SINGAN_IMAGE, max_side=64)
        run = ctx.cached_run(f"singan-{SINGAN_IMAGE}-{SINGAN_ITERATIONS}")
        if ctx.run_finished(run):
            ctx.reused(f"SinGAN model of {SINGAN_IMAGE} ({run})")
        trained = singan.train(photo, demo_singan_config(SINGAN_ITERATIONS), out=run)
        height, width = trained.pyramid.shapes[-1]
        same = trained.sample(3, seed=0)
        wide = trained.sample(2, size=(height, 2 * width), seed=1)
    section.add_image(
        f"SinGAN: {SINGAN_IMAGE} (left) and 3 random samples at the training size",
        enlarge(image_grid([tensor_to_image(trained.reals[-1]), *same], columns=4, pad=2)),
        caption=(
            f"{height}x{width}, {SINGAN_ITERATIONS} iterations per scale (fewer than the benchmark's 300). "
            "Shown 3x enlarged."
        ),
    )
    section.add_image(
        f"SinGAN: 2 random samples at {height}x{2 * width} (twice as wide)",
        enlarge(image_grid(wide, columns=1, pad=2)),
        caption=(
            "The same model; the noise maps of every scale are stretched to the new aspect ratio. Shown 3x enlarged."
        ),
    )
