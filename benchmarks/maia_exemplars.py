"""Benchmark of MAIA's dataset exemplars: every unit of a layer over a probe set in one batched pass, against the
naive baseline of one image per forward pass, measured in the same run.

Both paths build the probe images from their recipes (procedural scenes, photo crops, clip art) and keep every
unit's spatial max; the batched pass is `tinkerlab.maia.probe.activation_table` (hooks on the layer, batches of
`--batch`), the baseline runs the same model on one image at a time over the first `--single` images (its rate is
per image, so a shorter sample is enough). The two tables must agree on the images both saw. Prints images per
second of wall time and of the process's CPU time (the second is what to compare on a machine shared with other
jobs, where the wall time mostly measures waiting), the ratios, the time to the top-k of every unit, and the peak
resident memory of the process.

    OMP_NUM_THREADS=1 python benchmarks/maia_exemplars.py --images 5000 --single 200
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="efficientnet-lite0")
    parser.add_argument("--layer", default="blocks.10")
    parser.add_argument("--images", type=int, default=5000, help="probe images of the batched pass")
    parser.add_argument("--single", type=int, default=200, help="images of the one-at-a-time baseline")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--k", type=int, default=15)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    import torch

    from tinkerlab.maia.probe import activation_table, build_probe_set, probe_images
    from tinkerlab.vision.units import load_vision_model, read_layers, spatial_max

    model = load_vision_model(args.model, device=args.device)
    recipes = build_probe_set(args.images, seed=0)
    kinds = {kind: sum(r["kind"] == kind for r in recipes) for kind in ("scene", "photo", "clipart")}
    print(f"{args.model} {args.layer}; probe set of {args.images}: {kinds}; threads {torch.get_num_threads()}")
    base_rss = peak_rss_mb()

    start, cpu = time.perf_counter(), time.process_time()
    single = []
    for recipe in recipes[: args.single]:
        maps = read_layers(model, probe_images([recipe]), [args.layer], device=args.device)[args.layer]
        single.append(spatial_max(maps)[0].numpy())
    single_s, single_cpu = time.perf_counter() - start, time.process_time() - cpu
    single_rate = args.single / single_s

    start, cpu = time.perf_counter(), time.process_time()
    table = activation_table(model, args.layer, recipes, batch=args.batch, device=args.device, progress=False)
    batched_s, batched_cpu = time.perf_counter() - start, time.process_time() - cpu
    start = time.perf_counter()
    tops = np.argsort(-table.activations, axis=0, kind="stable")[: args.k]  # (k, units)
    top_s = time.perf_counter() - start
    batched_rate = args.images / batched_s

    np.testing.assert_allclose(table.activations[: args.single], np.stack(single), rtol=1e-3, atol=1e-3)
    units = table.activations.shape[1]
    print(
        f"one image at a time: {args.single} images in {single_s:.1f} s = {single_rate:.1f} images/s "
        f"({single_cpu:.1f} CPU s = {args.single / single_cpu:.1f} images per CPU second)"
    )
    print(
        f"batched pass (batch {args.batch}): {args.images} images, all {units} units, in {batched_s:.1f} s = "
        f"{batched_rate:.1f} images/s ({batched_cpu:.1f} CPU s = {args.images / batched_cpu:.1f} images per CPU "
        f"second); top-{args.k} of every unit in {top_s * 1000:.1f} ms ({tops.shape})"
    )
    cpu_ratio = (args.images / batched_cpu) / (args.single / single_cpu)
    print(
        f"ratio batched / one at a time: {batched_rate / single_rate:.2f}x of wall time, {cpu_ratio:.2f}x of CPU time "
        "(the tables agree on the shared images)"
    )
    print(f"peak resident memory: {peak_rss_mb():.0f} MB (after loading the model: {base_rss:.0f} MB)")


if __name__ == "__main__":
    from tinkerlab.core.errors import run_main

    run_main(main)
