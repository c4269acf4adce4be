"""Quality check of IDC completions (Alkobi, Rott Shaham and Michaeli, arXiv 2212.10280) on packaged photos.

For each image a rectangular hole is cut, IDC is trained on the visible part only, and the hole-versus-visible
patch distance (`metrics.hole_patch_distance`) of its completions is compared with two trivial fills: the mean
visible colour and the Deep-Image-Prior pre-fill alone. The diversity inside the hole is reported per knob value.

    python -m tinkerlab.idc.quality --out /tmp/idc-quality --iterations 100

The metric only tells fills apart where the hole's true content shares the visible region's patch statistics
(on coffee and china the ground truth scores within 1-3 % of the mean-colour fill; on camera or clock it scores
worse than it). So the image set is chosen by a rule, not by hand: `screen` cuts the hole (`hole_box`: the boxes
of `HOLES`, fixed before any screening, else the centre box) in every packaged image, and every image whose ground
truth scores at least `DISCRIMINATION` (25 %) below the mean-colour fill is evaluated, wins and losses alike.
Screening needs no training; it takes seconds.

Writes `quality.json`, `quality.md` (a table) and, per image, a strip of pictures.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinkerlab.core.assets import sample_image, sample_image_names
from tinkerlab.core.images import image_grid, save_image
from tinkerlab.core.seeding import torch_threads
from tinkerlab.idc import completion as idc
from tinkerlab.idc.config import IDCConfig, demo_idc_config
from tinkerlab.idc.holes import box_mask, hole_box
from tinkerlab.pyramid.metrics import hole_patch_distance, singan_diversity
from tinkerlab.pyramid.scales import image_to_tensor, resize, tensor_to_image
from tinkerlab.pyramid.singan import quantise

DISCRIMINATION = 0.25  # evaluate an image when its ground truth scores at least this much below the mean-colour fill


@dataclass(frozen=True)
class Screening:
    """Whether the hole metric can rank fills on one image: the ground truth against the mean-colour fill."""

    name: str
    shape: tuple[int, int]
    ground_truth: float
    mean_fill: float

    @property
    def ratio(self) -> float:
        """Ground truth over mean-colour fill (lower = the metric separates real content from a flat fill)."""
        return self.ground_truth / self.mean_fill

    @property
    def discriminates(self) -> bool:
        """The rule for the evaluated set: ground truth at least `DISCRIMINATION` below the mean-colour fill."""
        return self.ratio <= 1.0 - DISCRIMINATION


def _cut(name: str, config: IDCConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(original at the model's size, known image with the hole zeroed, hole, mean-colour fill) of a packaged photo."""
    image = sample_image(name, max_side=config.base.pyramid.max_size)
    mask = box_mask(image.shape[:2], hole_box(name))
    known, hole, shapes = idc._prepare(image, mask, config)
    original = quantise(image)
    if tuple(original.shape[:2]) != tuple(known.shape[:2]):
        original = quantise(tensor_to_image(resize(image_to_tensor(original), shapes[-1])))
    mean_colour = known[~hole].mean(axis=0)
    mean_filled = np.where(hole[:, :, None], mean_colour, known).astype(np.float32)
    return original, known, hole, mean_filled


def screen(name: str, config: IDCConfig) -> Screening:
    """Score the true hole content and the mean-colour fill of one packaged photo (no training)."""
    original, known, hole, mean_filled = _cut(name, config)
    return Screening(
        name,
        tuple(known.shape[:2]),
        hole_patch_distance(original, hole),
        hole_patch_distance(mean_filled, hole),
    )


def screen_all(config: IDCConfig, names: list[str] | None = None) -> list[Screening]:
    """`screen` every packaged photo (those whose package is installed), in `sample_image_names` order."""
    return [screen(name, config) for name in (names or sample_image_names())]


@dataclass(frozen=True)
class ImageResult:
    name: str
    shape: tuple[int, int]
    hole_fraction: float
    masking_start: int
    seconds: float
    ground_truth: float
    mean_fill: float
    dip_fill: float
    idc_mean: float
    idc_best: float
    diversity: dict[int, float]


def evaluate(name: str, config: IDCConfig, out: Path, n: int = 8) -> ImageResult:
    """Train IDC on one packaged photo with a hole and measure its completions against the trivial fills."""
    image = sample_image(name, max_side=config.base.pyramid.max_size)
    mask = box_mask(image.shape[:2], hole_box(name))
    start = time.perf_counter()
    model = idc.train(image, mask, config, out=out / name / "run", progress=False)
    seconds = time.perf_counter() - start
    original, known, hole, mean_filled = _cut(name, config)
    if not (np.array_equal(hole, model.hole) and np.array_equal(known, model.image)):
        raise RuntimeError(f"{name}: the screened hole differs from the trained model's hole")
    completions = model.complete(n, diversity=5, seed=1, resolution="model")
    idc_scores = [hole_patch_distance(c, hole) for c in completions]
    diversity = {
        d: singan_diversity(model.complete(n, diversity=d, seed=2, resolution="model"), known, hole)
        for d in (1, 3, 5, 8)
    }
    shown = np.where(hole[:, :, None], 1.0, known).astype(np.float32)
    strip = image_grid([original, shown, mean_filled, model.prefill, *completions[:4]], columns=8, pad=2)
    save_image(strip, out / name / "strip.png")
    return ImageResult(
        name=name,
        shape=tuple(known.shape[:2]),
        hole_fraction=float(hole.mean()),
        masking_start=model.masking_start,
        seconds=seconds,
        ground_truth=hole_patch_distance(original, hole),
        mean_fill=hole_patch_distance(mean_filled, hole),
        dip_fill=hole_patch_distance(model.prefill, hole),
        idc_mean=float(np.mean(idc_scores)),
        idc_best=float(np.min(idc_scores)),
        diversity=diversity,
    )


def table(results: list[ImageResult], iterations: int) -> str:
    """The results as a Markdown table."""
    lines = [
        (
            "| image | size | hole | masking from scale | ground truth | mean-colour fill | DIP pre-fill "
            f"| IDC (mean of 8) | IDC (best of 8) | diversity d=1 / 3 / 5 / 8 | train s ({iterations} it.) |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        div = " / ".join(f"{r.diversity[d]:.3f}" for d in (1, 3, 5, 8))
        lines.append(
            f"| {r.name} | {r.shape[0]}x{r.shape[1]} | {r.hole_fraction:.0%} | {r.masking_start} "
            f"| {r.ground_truth:.4f} "
            f"| {r.mean_fill:.4f} "
            f"| {r.dip_fill:.4f} | {r.idc_mean:.4f} | {r.idc_best:.4f} | {div} | {r.seconds:.0f} |"
        )
    return "\n".join(lines)


def screening_table(screenings: list[Screening]) -> str:
    """The screening of every image as a Markdown table."""
    lines = [
        "| image | size | ground truth | mean-colour fill | ratio | evaluated |",
        "|---|---|---|---|---|---|",
    ]
    for s in screenings:
        lines.append(
            f"| {s.name} | {s.shape[0]}x{s.shape[1]} | {s.ground_truth:.4f} | {s.mean_fill:.4f} | {s.ratio:.2f} "
            f"| {'yes' if s.discriminates else 'no'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[ImageResult]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/idc-quality"))
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument(
        "--images",
        nargs="+",
        default=None,
        help="evaluate these images; by default every packaged image that passes the screening rule",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dip-iterations", type=int, default=300)
    args = parser.parse_args(argv)
    config = demo_idc_config(iterations=args.iterations, dip_iterations=args.dip_iterations)
    results = []
    args.out.mkdir(parents=True, exist_ok=True)
    with torch_threads(args.threads):
        names = args.images
        if names is None:
            screenings = screen_all(config)
            (args.out / "screening.md").write_text(screening_table(screenings) + "\n")
            print(screening_table(screenings), flush=True)
            names = [s.name for s in screenings if s.discriminates]
        for name in names:
            result = evaluate(name, config, args.out)
            print(
                f"{name}: mean fill {result.mean_fill:.4f}, DIP {result.dip_fill:.4f}, IDC {result.idc_mean:.4f} "
                f"(best {result.idc_best:.4f}), {result.seconds:.0f} s",
                flush=True,
            )
            results.append(result)
    (args.out / "quality.json").write_text(json.dumps([r.__dict__ for r in results], indent=2) + "\n")
    (args.out / "quality.md").write_text(table(results, args.iterations) + "\n")
    print(table(results, args.iterations))
    return results


if __name__ == "__main__":
    main()
