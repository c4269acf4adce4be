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

`--resolution input` measures what a user gets by default: IDC trains on the photo at its own size (the model still
learns at the preset's 64 px), and every fill is scored at the photo's size (longer side capped by `--max-side`,
512 by default): the true content, the mean-colour fill, the DIP pre-fill enlarged into the hole, the model's
completion enlarged plainly (0 passes of the finest generator) and carried up by `sr_steps` passes (the default
2). The distance there samples at most `--max-patches` patches per set (`hole_patch_distance(max_patches=...)`).
The screening is the model-size one, so the evaluated images are the same.

    python -m tinkerlab.idc.quality --resolution input --out /tmp/idc-quality-full --iterations 100
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
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

FULL_SIZE_MAX_SIDE = 512  # the longest side scored at resolution "input" (retina and hubble_deep_field are larger)
FULL_SIZE_MAX_PATCHES = 4096  # patches drawn per set by the distance at resolution "input"
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


@dataclass(frozen=True)
class InputSizeResult:
    """One image scored at its own size (`evaluate_at_input_size`); distances are `hole_patch_distance`."""

    name: str
    shape: tuple[int, int]  # the photo's size, where everything below is scored
    model_shape: tuple[int, int]
    hole_fraction: float
    masking_start: int
    seconds: float
    ground_truth: float
    mean_fill: float
    dip_fill: float  # the DIP pre-fill, enlarged (bicubic) into the hole
    idc_plain: float  # mean of n: the model's completions enlarged plainly (0 generator passes)
    idc_mean: float  # mean of n: carried up with `sr_steps` passes (the default of `complete`)
    idc_best: float
    idc_model_size: float  # mean of n: the same completions scored at the model's size (all patches)
    mean_fill_model_size: float
    diversity: dict[int, float]  # at the photo's size, carried up with `sr_steps` passes (n at d = 5, n/2 else)
    sr_steps: int
    sr_compare: dict[int, float] = field(default_factory=dict)  # passes -> mean of n, the same n completions


def evaluate_at_input_size(
    name: str,
    config: IDCConfig,
    out: Path,
    n: int = 8,
    *,
    max_side: int = FULL_SIZE_MAX_SIDE,
    sr_steps: int = idc.SR_STEPS,
    max_patches: int = FULL_SIZE_MAX_PATCHES,
    sr_compare: tuple[int, ...] = (),
) -> InputSizeResult:
    """Train IDC on a packaged photo at its own size (longer side at most `max_side`) and score every fill there.

    A finished run in `out` is reused (only the scoring runs again). `sr_compare` scores the same model-size
    completions carried up with each of these numbers of generator passes as well.
    """
    photo = sample_image(name, max_side=max_side)
    mask = box_mask(photo.shape[:2], hole_box(name))
    start = time.perf_counter()
    model = idc.train(photo, mask, config, out=out / name / "run", progress=False)
    seconds = time.perf_counter() - start
    original, hole = model.original, model.original_hole
    assert original is not None and hole is not None

    def distance(image: np.ndarray) -> float:
        return hole_patch_distance(image, hole, max_patches=max_patches)

    truth = np.asarray(photo, dtype=np.float32)
    mean_filled = np.where(hole[:, :, None], original[~hole].mean(axis=0), original).astype(np.float32)
    dip = model.to_input_size([model.prefill], sr_steps=0)[0]
    small = model.complete(n, diversity=5, seed=1, resolution="model")
    plain = model.to_input_size(small, sr_steps=0)
    carried = model.to_input_size(small, seed=1, sr_steps=sr_steps)
    scores = [distance(c) for c in carried]
    diversity = {5: singan_diversity(carried, original, hole)}
    for d in (1, 8):  # half as many completions as at d = 5, to keep the carrying up affordable
        at_d = model.complete(max(2, n // 2), diversity=d, seed=2, resolution="model")
        diversity[d] = singan_diversity(model.to_input_size(at_d, seed=2, sr_steps=sr_steps), original, hole)
    compared = {
        steps: float(np.mean([distance(c) for c in model.to_input_size(small, seed=1, sr_steps=steps)]))
        for steps in sr_compare
    }
    model_mean = np.where(model.hole[:, :, None], model.image[~model.hole].mean(axis=0), model.image)
    strip = _crop_strip(hole, [truth, mean_filled, dip, plain[0], carried[0], carried[1]])
    save_image(strip, out / name / "strip_input_size.png")
    return InputSizeResult(
        name=name,
        shape=tuple(hole.shape),
        model_shape=tuple(model.hole.shape),
        hole_fraction=float(hole.mean()),
        masking_start=model.masking_start,
        seconds=seconds,
        ground_truth=distance(truth),
        mean_fill=distance(mean_filled),
        dip_fill=distance(dip),
        idc_plain=float(np.mean([distance(c) for c in plain])),
        idc_mean=float(np.mean(scores)),
        idc_best=float(np.min(scores)),
        idc_model_size=float(np.mean([hole_patch_distance(c, model.hole) for c in small])),
        mean_fill_model_size=hole_patch_distance(model_mean.astype(np.float32), model.hole),
        diversity={d: diversity[d] for d in (1, 5, 8)},
        sr_steps=sr_steps,
        sr_compare=compared,
    )


def _crop_strip(hole: np.ndarray, images: list[np.ndarray], margin: float = 0.6) -> np.ndarray:
    """The region around the hole (its box grown by `margin` of its size on each side) of each image, in a row."""
    rows, cols = np.nonzero(hole)
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    grow_h, grow_w = int((bottom - top) * margin), int((right - left) * margin)
    top, bottom = max(0, top - grow_h), min(hole.shape[0], bottom + grow_h)
    left, right = max(0, left - grow_w), min(hole.shape[1], right + grow_w)
    return image_grid([image[top:bottom, left:right] for image in images], columns=len(images), pad=2)


def input_size_table(results: list[InputSizeResult], iterations: int) -> str:
    """The results at the photos' own size as a Markdown table."""
    lines = [
        (
            "| image | photo | model | masking from scale | ground truth | mean-colour fill | DIP pre-fill (enlarged) "
            "| IDC enlarged, 0 passes | IDC, 2 passes (mean of 8) | IDC, 2 passes (best of 8) "
            f"| mean of 8 beats both fills | at the model's size: mean fill / IDC | diversity d=1 / 5 / 8 "
            f"| train s ({iterations} it.) |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        div = " / ".join(f"{r.diversity[d]:.3f}" for d in (1, 5, 8))
        wins = "yes" if r.idc_mean < min(r.mean_fill, r.dip_fill) else "no"
        lines.append(
            f"| {r.name} | {r.shape[0]}x{r.shape[1]} | {r.model_shape[0]}x{r.model_shape[1]} | {r.masking_start} "
            f"| {r.ground_truth:.4f} | {r.mean_fill:.4f} | {r.dip_fill:.4f} | {r.idc_plain:.4f} "
            f"| {r.idc_mean:.4f} | {r.idc_best:.4f} | {wins} "
            f"| {r.mean_fill_model_size:.4f} / {r.idc_model_size:.4f} | {div} | {r.seconds:.0f} |"
        )
    return "\n".join(lines)


def sr_compare_table(results: list[InputSizeResult]) -> str:
    """Hole distance at the photo's size by the number of generator passes that carried the completion up."""
    steps = sorted({k for r in results for k in r.sr_compare})
    lines = [
        "| image | ground truth | DIP pre-fill | " + " | ".join(f"IDC, {k} passes" for k in steps) + " |",
        "|---|---|---|" + "---|" * len(steps),
    ]
    for r in results:
        cells = " | ".join(f"{r.sr_compare[k]:.4f}" if k in r.sr_compare else "" for k in steps)
        lines.append(f"| {r.name} | {r.ground_truth:.4f} | {r.dip_fill:.4f} | {cells} |")
    return "\n".join(lines)


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


def main(argv: list[str] | None = None) -> list[ImageResult] | list[InputSizeResult]:
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
    parser.add_argument(
        "--resolution",
        choices=("model", "input"),
        default="model",
        help="score at the model's size (64 px) or at the photo's own size (IDC's default output)",
    )
    parser.add_argument("--max-side", type=int, default=FULL_SIZE_MAX_SIDE, help="at --resolution input")
    parser.add_argument("--max-patches", type=int, default=FULL_SIZE_MAX_PATCHES, help="at --resolution input")
    parser.add_argument("--sr-steps", type=int, default=idc.SR_STEPS, help="at --resolution input")
    parser.add_argument(
        "--sr-compare",
        type=int,
        nargs="*",
        default=[],
        help="at --resolution input: also score the completions carried up with these numbers of passes",
    )
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
        if args.resolution == "input":
            return _main_input_size(names, config, args)
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


def _main_input_size(names: list[str], config: IDCConfig, args: argparse.Namespace) -> list[InputSizeResult]:
    results = []
    for name in names:
        result = evaluate_at_input_size(
            name,
            config,
            args.out,
            max_side=args.max_side,
            sr_steps=args.sr_steps,
            max_patches=args.max_patches,
            sr_compare=tuple(args.sr_compare),
        )
        (args.out / name / "result_input_size.json").write_text(json.dumps(result.__dict__, indent=2) + "\n")
        print(
            f"{name} {result.shape}: truth {result.ground_truth:.4f}, mean fill {result.mean_fill:.4f}, "
            f"DIP {result.dip_fill:.4f}, IDC plain {result.idc_plain:.4f}, IDC {result.idc_mean:.4f} "
            f"(best {result.idc_best:.4f}), {result.seconds:.0f} s",
            flush=True,
        )
        results.append(result)
    (args.out / "quality_input_size.json").write_text(json.dumps([r.__dict__ for r in results], indent=2) + "\n")
    (args.out / "quality_input_size.md").write_text(input_size_table(results, args.iterations) + "\n")
    print(input_size_table(results, args.iterations))
    if args.sr_compare:
        print(sr_compare_table(results))
    return results


if __name__ == "__main__":
    from tinkerlab.core.errors import run_main

    run_main(main)
