"""The measured checks of a trained BlendGAN model (`python -m tinkerlab.blend.checks`): identity fidelity, per-image
reconstruction, morph monotonicity, meld locality and seam energy, structure-texture fusion and parameter count,
with the pictures of docs/blend.md.

Baselines are measured beside the model: a hard stitch (left half of a sample of A pasted beside the right half of
a sample of B) for the seam, a plain sample of the texture image for fusion, and K separate single-image SinGAN
models of the same widths for the parameter count.

Example:
    python -m tinkerlab.blend.checks --images brick grass gravel --out runs/blend-checks --iterations 200
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

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
from tinkerlab.blend.model import BlendModel


def single_model_parameters(model: BlendModel) -> dict[str, int]:
    """Parameters of one single-image SinGAN model with the same base widths (G and D of every scale)."""
    from tinkerlab.pyramid.models import build_discriminator, build_generator

    base = model.config.base.model
    scales = range(len(model.shapes))
    return {
        "generators": parameter_count(build_generator(base, i) for i in scales),
        "discriminators": parameter_count(build_discriminator(base, i) for i in scales),
    }


def blend_parameters(model: BlendModel) -> dict[str, int]:
    """Parameters of the BlendGAN model (G and D of every scale)."""
    from tinkerlab.blend.training import build_discriminator

    k = model.num_images
    scales = range(len(model.shapes))
    return {
        "generators": parameter_count(model.pyramid.generators),
        "discriminators": parameter_count(build_discriminator(model.config, i, k) for i in scales),
    }


def measure(
    model: BlendModel,
    *,
    samples: int = 20,
    morph_steps: int = 8,
    morph_seeds: int = 5,
    melds: int = 5,
    fusions: int = 5,
    a: int = 0,
    b: int = 1,
) -> dict:
    """Every check on a trained model; a JSON-able dict."""
    images = model.images
    k = model.num_images
    report: dict = {"num_images": k, "shapes": [list(s) for s in model.shapes]}

    groups = [model.sample(i, samples, seed=100 + i) for i in range(k)]
    identity = identity_accuracy(groups, images)
    report["identity"] = {**asdict(identity), "overall": identity.overall}

    reconstructions = model.reconstruction()
    coarse = model.pyramid.reconstruct(stop_scale=0)[-1]
    coarse_real = model.reals[0]
    report["reconstruction_rmse"] = [rmse(reconstructions[i], images[i]) for i in range(k)]
    report["reconstruction_rmse_coarsest"] = [
        float(((coarse[i] - coarse_real[i]) / 2).pow(2).mean().sqrt()) for i in range(k)
    ]

    t = list(np.linspace(0.0, 1.0, morph_steps))
    to_a, to_b, strips = [], [], []
    for seed in range(morph_seeds):
        frames = model.morph(a, b, morph_steps, seed=seed)
        distances = np.array([patch_distances(f, [images[a], images[b]]) for f in frames])  # (steps, 2)
        to_a.append(distances[:, 0])
        to_b.append(distances[:, 1])
        strips.append(frames)
    trend = morph_trend(t, np.array(to_a), np.array(to_b))
    report["morph"] = {**asdict(trend), "monotone": trend.monotone}

    melds_out = model.meld(a, b, n=melds, seed=7)
    meld_reports = [meld_locality(m, images[a], images[b]) for m in melds_out]
    stitches = [
        hard_stitch(x, y) for x, y in zip(model.sample(a, melds, seed=8), model.sample(b, melds, seed=9), strict=True)
    ]
    report["meld"] = {
        "local_share": float(np.mean([r.local for r in meld_reports])),
        "left_to_a": float(np.mean([r.left_to_a for r in meld_reports])),
        "left_to_b": float(np.mean([r.left_to_b for r in meld_reports])),
        "right_to_a": float(np.mean([r.right_to_a for r in meld_reports])),
        "right_to_b": float(np.mean([r.right_to_b for r in meld_reports])),
        "seam_ratio": float(np.mean([r.seam_ratio for r in meld_reports])),
        "seam_ratio_hard_stitch": float(np.mean([seam_energy_ratio(s) for s in stitches])),
        "seam_ratio_samples_a": float(np.mean([seam_energy_ratio(s) for s in model.sample(a, melds, seed=10)])),
    }

    fused = model.fuse(a, b, n=fusions, seed=11)
    boosted = model.fuse(a, b, n=fusions, seed=11, texture_noise=3.0)
    # fine statistics against the model's own samples of A and of B (see `fusion_report`), and the real images
    references = (model.sample(a, fusions, seed=40), model.sample(b, fusions, seed=41))
    plain_a, plain_b = model.sample(a, fusions, seed=12), model.sample(b, fusions, seed=12)

    def summary(outputs: list, refs=None) -> dict:
        reports = [fusion_report(f, images[a], images[b], references=refs) for f in outputs]
        keys = ("low_corr_structure", "low_corr_texture", "fine_to_structure", "fine_to_texture")
        return {key: float(np.mean([getattr(r, key) for r in reports])) for key in keys}

    report["fusion"] = {
        "switch": len(model.shapes) - 1,
        "vs_samples": {
            "fusion": summary(fused, references),
            "fusion_texture_noise_3": summary(boosted, references),
            "plain_samples_a": summary(plain_a, references),
            "plain_samples_b": summary(plain_b, references),
        },
        "vs_real_images": {
            "fusion": summary(fused),
            "fusion_texture_noise_3": summary(boosted),
            "plain_samples_a": summary(plain_a),
            "plain_samples_b": summary(plain_b),
            "reconstruction_a": summary([reconstructions[a]]),
        },
    }
    blend, single = blend_parameters(model), single_model_parameters(model)
    report["parameters"] = {
        "blend": blend,
        "single_model": single,
        "k_single_models": {key: value * k for key, value in single.items()},
        "ratio_to_one_single": (blend["generators"] + blend["discriminators"])
        / (single["generators"] + single["discriminators"]),
    }
    report["pictures"] = {"morph": strips[0], "meld": melds_out, "fusion": fused, "samples": groups}
    return report


def save_pictures(report: dict, model: BlendModel, folder: Path, *, a: int = 0, b: int = 1) -> list[Path]:
    """The morph strip, the meld and the fusion pictures (3x enlarged, PNG with a palette)."""
    from PIL import Image

    from tinkerlab.core.images import enlarge, image_grid, to_pil

    pictures = report["pictures"]
    folder.mkdir(parents=True, exist_ok=True)
    sets = {
        "morph": [model.images[a], *pictures["morph"], model.images[b]],
        "meld": [model.images[a], *pictures["meld"][:3], model.images[b]],
        "fusion": [model.images[a], model.images[b], *pictures["fusion"][:3]],
        "samples": [x for i in range(model.num_images) for x in [model.images[i], *pictures["samples"][i][:5]]],
    }
    columns = {"morph": len(sets["morph"]), "meld": 5, "fusion": 5, "samples": 6}
    paths = []
    for name, tiles in sets.items():
        grid = enlarge(image_grid(tiles, columns=columns[name], pad=2), 2)
        path = folder / f"{name}.png"
        to_pil(grid).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
        paths.append(path)
    return paths


def main(argv: Sequence[str] | None = None) -> None:
    from tinkerlab.blend.config import demo_blend_config
    from tinkerlab.blend.inputs import read_images
    from tinkerlab.blend.training import train
    from tinkerlab.core.seeding import torch_threads

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", nargs="+", default=["brick", "grass", "gravel"], help="packaged image names")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--max-size", type=int, default=48)
    parser.add_argument("--scales", type=int, default=4)
    parser.add_argument("--conditioning", choices=("concat", "norm"), default="concat")
    parser.add_argument("--cross-fraction", type=float, default=0.0, help="share of cross-identity iterations")
    parser.add_argument("--cross-scales", type=int, default=1, help="finest scales with cross-identity iterations")
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args(argv)
    config = demo_blend_config(
        args.iterations,
        max_size=args.max_size,
        num_scales=args.scales,
        conditioning=args.conditioning,
        cross_fraction=args.cross_fraction,
        cross_scales=args.cross_scales,
    )
    with torch_threads(1):
        images = read_images([f"sample:{name}" for name in args.images], max_side=4 * args.max_size)
        start = time.perf_counter()
        model = train(images, config, out=args.out / "run", names=args.images)
        seconds = time.perf_counter() - start
        if model.note:
            print(model.note)
        start = time.perf_counter()
        report = measure(model, samples=args.samples)
        report["train_seconds"] = seconds
        report["measure_seconds"] = time.perf_counter() - start
        report["images"] = args.images
        report["config"] = {
            "iterations": args.iterations,
            "max_size": args.max_size,
            "scales": args.scales,
            "conditioning": args.conditioning,
            "cross_fraction": args.cross_fraction,
            "cross_scales": args.cross_scales,
        }
        save_pictures(report, model, args.out / "pictures")
    report.pop("pictures")
    (args.out / "report.json").write_text(json.dumps(report, indent=1, default=float))
    print(json.dumps(report, indent=1, default=float))


if __name__ == "__main__":
    from tinkerlab.core.errors import run_main

    run_main(main)
