"""Speed of IDC (Alkobi, Rott Shaham and Michaeli, arXiv 2212.10280) on the CPU demo configuration and the paper preset.

1. Trains the demo's configuration (chelsea at 451x300 in, a 64-px model, 5 scales, the demo's 120 iterations per
   unmasked scale and 180 per masked one, a 200-iteration DIP) and reports seconds per iteration per scale, the DIP
   time, the total, and the time of one completion at the model's size and at the photo's own size.
2. The paper preset (IDC's 256-px model, widths up to 128, the paper's DIP): a few iterations of every scale,
   seconds per iteration per scale (the finest scale's among them), and the time the paper's iteration counts
   (2000 per unmasked scale, 3000 per masked one, a 1000-iteration DIP) would take at that speed.

    .venv/bin/python benchmarks/idc_speed.py [--device cpu|cuda|auto] [--paper-iterations 2] [--skip-demo]

The numbers are wall-clock on whatever the machine is doing; the baseline for the paper extrapolation is the
measured step of the same run.
"""

from __future__ import annotations

import argparse
import resource
import time
from dataclasses import replace

from tinkerlab.core.assets import sample_image
from tinkerlab.core.seeding import choose_device, torch_threads
from tinkerlab.idc import completion as idc
from tinkerlab.idc.config import IDCConfig, demo_idc_config, masked_iterations
from tinkerlab.idc.demo import DIP_ITERATIONS, IDC_ITERATIONS
from tinkerlab.idc.dip import dip_fill
from tinkerlab.idc.holes import HOLES, box_mask
from tinkerlab.pyramid.config import PyramidConfig, SinGANConfig
from tinkerlab.pyramid.trainer import ScaleReport


def timed_training(photo, mask, config: IDCConfig) -> tuple[idc.IDCModel, list[ScaleReport], float, float]:
    """Train and return (model, the scale reports, DIP seconds, total seconds)."""
    reports: list[ScaleReport] = []
    started = time.perf_counter()
    known, hole, _ = idc._prepare(photo, mask, config)
    dip_started = time.perf_counter()
    dip_fill(known, hole, config.dip, seed=config.base.seed, progress=False, device=choose_device(config.base.device))
    dip_seconds = time.perf_counter() - dip_started
    model = idc.train(photo, mask, config, callbacks=[lambda report, _: reports.append(report)], progress=False)
    total = time.perf_counter() - started - dip_seconds  # the DIP ran twice: once timed alone, once in train
    return model, reports, dip_seconds, total


def print_scales(model: idc.IDCModel, reports: list[ScaleReport]) -> None:
    print("| scale | size | width | masked | iterations | s / iteration |")
    print("|---|---|---|---|---|---|")
    for report, shape in zip(reports, model.pyramid.shapes, strict=True):
        width = model.pyramid.generators[report.index].tail.in_channels
        masked = "yes" if report.index >= model.masking_start else "no"
        print(
            f"| {report.index} | {shape[0]}x{shape[1]} | {width} | {masked} | {report.iterations} "
            f"| {report.seconds / report.iterations:.3f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description="idc: speed of the demo configuration and the paper preset")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--paper-iterations", type=int, default=2, help="iterations per scale timed at paper size")
    parser.add_argument("--skip-demo", action="store_true")
    args = parser.parse_args()
    device = choose_device(args.device)
    photo = sample_image("chelsea")
    mask = box_mask(photo.shape[:2], HOLES["chelsea"])
    print(f"device {device}, {args.threads} torch thread(s), chelsea {photo.shape[1]}x{photo.shape[0]}")
    with torch_threads(args.threads):
        if not args.skip_demo:
            config = demo_idc_config(IDC_ITERATIONS, dip_iterations=DIP_ITERATIONS)
            config = replace(config, base=replace(config.base, device=device))
            model, reports, dip_seconds, total = timed_training(photo, mask, config)
            print(f"\n## CPU demo configuration (masking from scale {model.masking_start})\n")
            print_scales(model, reports)
            started = time.perf_counter()
            model.complete(1, resolution="model")
            small = time.perf_counter() - started
            started = time.perf_counter()
            model.complete(1, resolution="input")
            large = time.perf_counter() - started
            print(f"\nDIP {DIP_ITERATIONS} iterations: {dip_seconds:.1f} s; training with the DIP: {total:.1f} s")
            print(f"one completion at the model's size: {small:.2f} s; at the photo's 451x300: {large:.2f} s")

        paper = IDCConfig()
        paper = replace(
            paper,
            base=replace(
                paper.base,
                device=device,
                pyramid=PyramidConfig(max_size=256),
                train=replace(paper.base.train, iterations=args.paper_iterations),
            ),
            masked_iterations_factor=1.0,
        )
        assert isinstance(paper.base, SinGANConfig)
        timed_dip = replace(paper, dip=replace(paper.dip, iterations=3))
        model, reports, dip_seconds, _ = timed_training(photo, mask, timed_dip)
        print(f"\n## Paper preset, {args.paper_iterations} iterations per scale (masking from {model.masking_start})\n")
        print_scales(model, reports)
        full = IDCConfig()
        estimate = 0.0
        for report in reports:
            count = masked_iterations(full) if report.index >= model.masking_start else full.base.train.iterations
            estimate += count * report.seconds / report.iterations
        dip_estimate = dip_seconds / 3 * full.dip.iterations
        finest = reports[-1]
        print(f"\nfinest scale: {finest.seconds / finest.iterations:.2f} s per iteration")
        print(
            f"the paper's iteration counts at this speed: {estimate / 3600:.1f} h of training "
            f"+ {dip_estimate / 60:.1f} min of DIP ({dip_seconds / 3:.2f} s per DIP iteration)"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak:.0f} MiB")


if __name__ == "__main__":
    from tinkerlab.core.errors import run_main

    run_main(main)
