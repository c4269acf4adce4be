"""Speed of Catch-A-Waveform (Greshler, Rott Shaham and Michaeli, NeurIPS 2021) on the CPU demo configuration.

1. Trains the demo configuration: a 5 s clip (a music-on-hold track when Debian's `asterisk-moh-opsound-wav` is
   installed, else the synthesised melody), scales from the first by energy up to 4 kHz, 16 channels at every
   scale, 150 epochs per scale; prints seconds per epoch per scale, the total against the 6-minute target, and the
   peak resident memory.
2. The baseline beside it: epochs of the finest scale at the demo width and at the paper's width (96 channels)
   on the same clip, timed outside the trainer, and their ratio.

    .venv/bin/python benchmarks/audio_speed.py [--epochs 150] [--out RUN] [--device cpu] [--threads 1] [--plain-convs]

Wall-clock numbers on whatever the machine is doing: say how loaded it was when quoting them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import time
from dataclasses import replace

from tinkerlab.core.seeding import torch_threads
from tinkerlab.pyramid.trainer import ScaleReport
from tinkerlab.waveform import training
from tinkerlab.waveform.config import WaveformConfig, demo_waveform_config
from tinkerlab.waveform.models import plain_convolutions
from tinkerlab.waveform.sounds import moh_tracks, sound_source

TARGET_SECONDS = 6 * 60
BENCH_TRACK = "macroform-cold_day"


def bench_clip(rate: int, seconds: float = 5.0):
    """The benchmark's clip and its name."""
    if BENCH_TRACK in moh_tracks():
        return sound_source(f"moh:{BENCH_TRACK}", rate, seconds=seconds, offset=30.0), f"moh:{BENCH_TRACK} 30-35 s"
    return sound_source("melody", rate, seconds=seconds), "synthesised melody"


def main() -> None:
    parser = argparse.ArgumentParser(description="waveform: speed of the demo configuration")
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--out", default=None, help="keep the run here (default: train in memory)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the table says which)")
    parser.add_argument(
        "--plain-convs",
        action="store_true",
        help="PyTorch's own conv backward (the reference) instead of the faster one",
    )
    parser.add_argument("--paper-epochs", type=int, default=2, help="epochs timed for the paper-width baseline")
    args = parser.parse_args()

    config = replace(demo_waveform_config(epochs=args.epochs), device=args.device)
    clip, name = bench_clip(config.top_rate)
    reports: list[ScaleReport] = []
    cpu_marks = [time.process_time()]  # CPU seconds of this process: what a quiet machine would take, about
    load = os.getloadavg()[0]

    def record(report: ScaleReport, _pyramid) -> None:
        reports.append(report)
        cpu_marks.append(time.process_time())

    convs = plain_convolutions() if args.plain_convs else contextlib.nullcontext()
    with torch_threads(args.threads), convs:
        started = time.perf_counter()
        model = training.train(clip, config, out=args.out, callbacks=[record])
        total = time.perf_counter() - started
        cpu_total = cpu_marks[-1] - cpu_marks[0]
        rates = ", ".join(str(r) for r in model.rates)
        print(f"clip: {name}, {len(clip) / config.top_rate:.1f} s; rates {rates} Hz")
        kind = "plain" if args.plain_convs else "fast-backward"
        print(
            f"threads {args.threads}, {kind} convolutions; load average {load:.1f} at start, "
            f"{os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} CPUs\n"
        )
        print("| scale | rate (Hz) | samples | channels | epochs | s / epoch (wall) | CPU s / epoch |")
        print("|---|---|---|---|---|---|---|")
        for k, (report, rate, signal) in enumerate(zip(reports, model.rates, model.clip.signals, strict=True)):
            epochs = max(1, report.iterations)
            width = model.pyramid.generators[report.index].tail.in_channels
            cpu = (cpu_marks[k + 1] - cpu_marks[k]) / epochs
            print(
                f"| {report.index} | {rate} | {len(signal)} | {width} | {report.iterations} "
                f"| {report.seconds / epochs:.3f} | {cpu:.3f} |"
            )
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"\ntotal {total:.0f} s wall = {total / 60:.1f} min, {cpu_total:.0f} CPU s = {cpu_total / 60:.1f} min "
            f"(target {TARGET_SECONDS / 60:.0f} min: ratios {total / TARGET_SECONDS:.2f} wall, "
            f"{cpu_total / TARGET_SECONDS:.2f} CPU); peak resident memory {peak_mb:.0f} MB"
        )

        demo_epoch = epoch_seconds(config, model.clip.signals[-1], args.paper_epochs)
        paper = replace(WaveformConfig(top_rate=config.top_rate), device=args.device)
        paper_epoch = epoch_seconds(paper, model.clip.signals[-1], args.paper_epochs)
        print(
            f"\nbaseline beside it: one epoch of the finest scale ({model.rates[-1]} Hz) at the paper's width "
            f"(96 channels) takes {paper_epoch:.2f} s, {paper_epoch / demo_epoch:.1f}x the demo width's "
            f"{demo_epoch:.2f} s (mean of {args.paper_epochs} epochs, outside the trainer)"
        )


def epoch_seconds(config: WaveformConfig, signal, epochs: int) -> float:
    """Seconds of one epoch (one discriminator and one generator step) of a scale above the coarsest."""
    import torch

    from tinkerlab.waveform.losses import WaveformObjective
    from tinkerlab.waveform.models import build_discriminator, build_generator

    generator, discriminator = build_generator(config, 1), build_discriminator(config, 1)
    objective = WaveformObjective(gp_weight=config.gp_weight, mss_weight=config.mss_weight)
    opt_g = torch.optim.Adam(generator.parameters(), lr=config.lr, betas=(config.beta1, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=config.lr, betas=(config.beta1, 0.999))
    real = torch.from_numpy(signal).view(1, 1, -1)
    rng = torch.Generator().manual_seed(0)
    started = time.perf_counter()
    for _ in range(epochs):
        fake = generator(0.01 * torch.randn(real.shape, generator=rng), real)
        opt_d.zero_grad()
        objective.discriminator_loss(discriminator, real, fake.detach(), rng).backward()
        opt_d.step()
        opt_g.zero_grad()
        loss = objective.generator_adversarial_loss(discriminator, fake)
        loss = loss + objective.reconstruction_loss(generator(torch.zeros_like(real), real), real)
        loss.backward()
        opt_g.step()
    return (time.perf_counter() - started) / epochs


if __name__ == "__main__":
    from tinkerlab.core.errors import run_main

    run_main(main)
