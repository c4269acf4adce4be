"""Speed of the single-image GAN engine (SinGAN design) on the demo configuration, against the original's step.

1. Trains the demo configuration (longer side 64, 5 scales, width 32, 300 iterations per scale, 3 D + 3 G steps)
   with `PyramidTrainer` and reports seconds per iteration per scale and the total.
2. At every scale, times the engine's step and the same step written the original's way (the coarser random chain
   recomputed in each D step, every fake built with autograd, the discriminator's gradients computed during G
   steps, separate backward passes; with the fake recomputed in every G step, the fix the original needs on
   current PyTorch) on the same weights, alternating blocks of iterations, and prints the ratio.
3. Times the engine's step at the finest scale with 2 torch threads against 1.

    .venv/bin/python benchmarks/pyramid_speed.py [--iterations 300] [--probe 15] [--image chelsea]

The numbers are wall-clock on whatever the machine is doing; the comparisons are measured in the same run.
"""

from __future__ import annotations

import argparse
import copy
import resource
import time

import torch

from tinkerlab.core.assets import sample_image
from tinkerlab.core.seeding import torch_threads
from tinkerlab.pyramid import singan
from tinkerlab.pyramid.config import demo_singan_config
from tinkerlab.pyramid.scales import build_pyramid, image_to_tensor, resize
from tinkerlab.pyramid.trainer import (
    Pyramid,
    PyramidTrainer,
    ScaleReport,
    draw_noise,
    gradient_penalty,
    padded_shape,
)


def original_way_iterations(spec, pyramid: Pyramid, index: int, noise_amp: float, iterations: int, rng) -> None:
    """`iterations` steps of scale `index` written as the original code does them (with the in-place fix)."""
    generator, discriminator = spec.generator.train(), spec.discriminator.train()
    generator.requires_grad_(True)
    discriminator.requires_grad_(True)
    real = spec.real
    spatial = tuple(real.shape[2:])
    opt_g = torch.optim.Adam(generator.parameters(), lr=spec.lr, betas=spec.betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=spec.lr, betas=spec.betas)
    rec_previous = resize(pyramid.reconstruct()[-1], spatial) if index else torch.zeros_like(real)
    rec_input = noise_amp * spec.rec_noise
    pad = padded_shape(spatial, generator.padding)
    for _ in range(iterations):
        noise = noise_amp * draw_noise(spec.noise_channels, 3, pad, rng)
        for _ in range(spec.d_steps):
            opt_d.zero_grad()
            (-discriminator(real)[0].mean()).backward(retain_graph=True)
            if index:  # a fresh random chain of all coarser scales in every D step
                noises = [pyramid.draw_noise(i, pyramid.shapes[i], rng) for i in range(index)]
                previous = resize(pyramid.run(noises)[-1], spatial)
            else:
                previous = torch.zeros_like(real)
            fake = generator(noise, previous)  # built with autograd, then detached
            discriminator(fake.detach())[0].mean().backward(retain_graph=True)
            (0.1 * gradient_penalty(discriminator, real, fake.detach(), rng)).backward()
            opt_d.step()
        for _ in range(spec.g_steps):
            opt_g.zero_grad()
            fake = generator(noise, previous)
            (-discriminator(fake)[0].mean()).backward(retain_graph=True)
            (10.0 * torch.mean((generator(rec_input, rec_previous) - real) ** 2)).backward(retain_graph=True)
            opt_g.step()


def engine_iterations(trainer: PyramidTrainer, spec, pyramid: Pyramid, index: int, iterations: int) -> None:
    """`iterations` steps of scale `index` with the engine's step."""
    spec.iterations = iterations
    trainer._train_scale(index, spec, pyramid, lambda: None)


def prefix(pyramid: Pyramid, index: int) -> Pyramid:
    """The first `index` scales of a trained pyramid."""
    return pyramid.prefix(index)


def main() -> None:
    parser = argparse.ArgumentParser(description="pyramid: engine speed on the demo configuration")
    parser.add_argument("--iterations", type=int, default=300, help="iterations per scale of the full training")
    parser.add_argument("--probe", type=int, default=15, help="iterations per timed block in the comparison")
    parser.add_argument("--image", default="chelsea")
    args = parser.parse_args()

    config = demo_singan_config(iterations=args.iterations)
    image = sample_image(args.image, max_side=64)
    print(
        f"image {args.image} {image.shape[0]}x{image.shape[1]}, torch {torch.__version__}, 1 thread; "
        "the 2-core machine was shared with other jobs while this ran"
    )

    reports: list[ScaleReport] = []
    with torch_threads(1):
        start = time.perf_counter()
        model = singan.train(image, config, callbacks=[lambda report, pyramid: reports.append(report)])
        total = time.perf_counter() - start
    shapes = model.pyramid.shapes
    print(f"\n1. full training, {args.iterations} iterations per scale (3 D + 3 G steps each)")
    print("scale  shape   s/iteration  seconds")
    for report, shape in zip(reports, shapes, strict=False):
        print(
            f"{report.index:5d}  {shape[0]}x{shape[1]:<4d} "
            f"{report.seconds / report.iterations:11.4f}  {report.seconds:7.1f}"
        )
    print(f"total  {total:.1f} s ({total / 60:.2f} min), {total / args.iterations:.3f} s per iteration over all scales")

    print(f"\n2. engine step vs the original's step, same weights, 2 alternating blocks of {args.probe} iterations")
    print("scale  engine s/it  original s/it  speed-up")
    plan = singan.SinGANPlan(build_pyramid(image_to_tensor(singan.prepare_image(image, config)[0]), shapes), config)
    trainer = PyramidTrainer(plan, resize=resize, channels=3, seed=1)
    engine_total = original_total = 0.0
    with torch_threads(1):
        for index in range(len(shapes)):
            coarser = prefix(model.pyramid, index)
            base_spec = plan.build(index)
            base_spec.generator.load_state_dict(model.pyramid.generators[index].state_dict())
            times = {"engine": 0.0, "original": 0.0}
            for _ in range(2):
                spec = copy.deepcopy(base_spec)
                tick = time.perf_counter()
                engine_iterations(trainer, spec, coarser, index, args.probe)
                times["engine"] += time.perf_counter() - tick
                spec = copy.deepcopy(base_spec)
                tick = time.perf_counter()
                original_way_iterations(
                    spec,
                    coarser,
                    index,
                    model.pyramid.noise_amps[index],
                    args.probe,
                    torch.Generator().manual_seed(index),
                )
                times["original"] += time.perf_counter() - tick
            engine, original = times["engine"] / (2 * args.probe), times["original"] / (2 * args.probe)
            engine_total += engine
            original_total += original
            print(f"{index:5d}  {engine:11.4f}  {original:13.4f}  {original / engine:7.2f}x")
    print(
        f"all    {engine_total:11.4f}  {original_total:13.4f}  {original_total / engine_total:7.2f}x "
        f"(per iteration over all scales)"
    )

    print("\n3. threads, engine step at the finest scale")
    index = len(shapes) - 1
    coarser = prefix(model.pyramid, index)
    results = {}
    for threads in (1, 2):
        with torch_threads(threads):
            spec = plan.build(index)
            tick = time.perf_counter()
            engine_iterations(trainer, spec, coarser, index, 5)
            results[threads] = (time.perf_counter() - tick) / 5
    print(f"1 thread {results[1]:.4f} s/it, 2 threads {results[2]:.4f} s/it, ratio 2/1 = {results[2] / results[1]:.2f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory (maxrss) {peak:.0f} MiB")


if __name__ == "__main__":
    from tinkerlab.core.errors import run_main

    run_main(main)
