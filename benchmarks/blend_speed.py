"""Speed of BlendGAN (one identity-conditioned pyramid GAN for K images) against K separate single-image SinGAN models.

1. For K = 2 and K = 3 packaged textures (brick, grass, gravel) at the checks' size (48 px, 4 scales, width 32 +2
   per extra image): seconds per iteration of every scale for one BlendGAN model, and for the K single-image models
   of the same base settings trained one after the other in the same run (the baseline), with their ratio and the
   parameters of both.
2. The demo configuration (two textures at 32 px, 3 scales, 60 iterations per scale): its total training time and
   the time of its checks and pictures.

    .venv/bin/python benchmarks/blend_speed.py [--iterations 20] [--quick] [--device cpu|cuda|auto] [--threads 1]

`--quick` times 4 iterations per scale and skips the demo configuration. Wall-clock on whatever the machine is
doing; the baseline is measured in the same run, so the ratio is the figure to read.
"""

from __future__ import annotations

import argparse
import resource
import time

from tinkerlab.blend.config import demo_blend_config, with_base
from tinkerlab.blend.inputs import read_images
from tinkerlab.blend.metrics import parameter_count
from tinkerlab.blend.training import train
from tinkerlab.core.seeding import choose_device, torch_threads
from tinkerlab.pyramid import singan
from tinkerlab.pyramid.trainer import ScaleReport

TEXTURES = ("brick", "grass", "gravel")


def per_iteration(reports: list[ScaleReport]) -> list[float]:
    return [r.seconds / r.iterations for r in reports]


def compare(k: int, iterations: int, device: str) -> None:
    config = with_base(demo_blend_config(iterations), device=device)
    images = read_images([f"sample:{name}" for name in TEXTURES[:k]], max_side=192)
    blend_reports: list[ScaleReport] = []
    model = train(images, config, callbacks=[lambda report, _: blend_reports.append(report)])
    single_seconds = [0.0] * len(model.shapes)
    single_parameters = 0
    for index in range(k):
        reports: list[ScaleReport] = []
        single = singan.train(
            model.images[index], config.base, callbacks=[lambda report, _, out=reports: out.append(report)]
        )
        single_parameters += parameter_count(single.pyramid.generators)
        for scale, seconds in enumerate(per_iteration(reports)):
            single_seconds[scale] += seconds
    blend_seconds = per_iteration(blend_reports)
    print(f"\n## K = {k} ({', '.join(TEXTURES[:k])}), {iterations} iterations per scale\n")
    print(f"| scale | size | BlendGAN s / iteration | {k} SinGAN models s / iteration | ratio |")
    print("|---|---|---|---|---|")
    for scale, (shape, ours, theirs) in enumerate(zip(model.shapes, blend_seconds, single_seconds, strict=True)):
        print(f"| {scale} | {shape[0]}x{shape[1]} | {ours:.3f} | {theirs:.3f} | {ours / theirs:.2f} |")
    total_ours, total_theirs = sum(blend_seconds), sum(single_seconds)
    print(f"| all | | {total_ours:.3f} | {total_theirs:.3f} | {total_ours / total_theirs:.2f} |")
    ours_parameters = parameter_count(model.pyramid.generators)
    print(
        f"\ngenerator parameters: BlendGAN {ours_parameters:,}, {k} SinGAN models {single_parameters:,} "
        f"({ours_parameters / single_parameters:.2f}x)"
    )


def demo_time(device: str) -> None:
    from tinkerlab.blend import demo

    config = with_base(demo.demo_config(), device=device)
    started = time.perf_counter()
    images = read_images([f"sample:{name}" for name in demo.PAIRS["textures"]], max_side=4 * demo.MAX_SIZE)
    model = train(images, config)
    trained = time.perf_counter() - started
    started = time.perf_counter()
    demo.figures(model)
    checked = time.perf_counter() - started
    print(
        f"\n## Demo configuration ({demo.MAX_SIZE} px, {demo.SCALES} scales, {demo.ITERATIONS} iterations, K = 2)\n\n"
        f"training {trained:.1f} s, checks and pictures {checked:.1f} s (the gallery trains two such models)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="blend: BlendGAN against K single-image models")
    parser.add_argument("--iterations", type=int, default=20, help="iterations per scale timed")
    parser.add_argument("--quick", action="store_true", help="4 iterations per scale, no demo configuration")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    device = choose_device(args.device)
    iterations = 4 if args.quick else args.iterations
    print(f"device {device}, {args.threads} torch thread(s)")
    with torch_threads(args.threads):
        for k in (2, 3):
            compare(k, iterations, device)
        if not args.quick:
            demo_time(device)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory {peak:.0f} MiB")


if __name__ == "__main__":
    from tinkerlab.core.errors import run_main

    run_main(main)
