"""The quality check of ASAPNet against its two ablations and the two baselines, with one training budget.

Five generators train with identical settings (`demo_train_config`) on the same procedural facade pairs: ASAPNet,
ASAPNet without positional encoding, ASAPNet without spatial variation (one MLP for the whole image), pix2pixHD and
SPADE (slim CPU widths). On held-out pairs it reports the L1 to the real images and the high-frequency energy
closeness: |log(E_fake / E_real)| of the Laplacian energy of the grey image, averaged over images (0 = the same
amount of fine detail as the real image).

    python -m tinkerlab.asapnet.quality --steps 250 --out RUNS
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

MODELS = ("asapnet", "asapnet-no-pe", "asapnet-no-spatial", "pix2pixhd", "spade")


def laplacian_energy(image: np.ndarray) -> float:
    """Mean squared 4-neighbour Laplacian of the grey image, (H, W, 3) in [0, 1]."""
    grey = image.mean(axis=2)
    lap = 4 * grey[1:-1, 1:-1] - grey[:-2, 1:-1] - grey[2:, 1:-1] - grey[1:-1, :-2] - grey[1:-1, 2:]
    return float((lap**2).mean())


def high_frequency_gap(fakes: np.ndarray, reals: np.ndarray) -> float:
    """Mean over images of |log(E_fake / E_real)| of the Laplacian energy (0 = as much fine detail as the real)."""
    gaps = [
        abs(np.log((laplacian_energy(f) + 1e-8) / (laplacian_energy(r) + 1e-8)))
        for f, r in zip(fakes, reals, strict=True)
    ]
    return float(np.mean(gaps))


def model_config(name: str, num_labels: int, steps: int, seed: int = 0):
    """The `RunConfig` of one of `MODELS` at the CPU demo widths and training."""
    from tinkerlab.asapnet.config import make_run_config

    return make_run_config(name, num_labels, steps=steps, seed=seed)


def run_quality(
    out: Path,
    *,
    steps: int = 250,
    pairs: int = 56,
    held_out: int = 8,
    seed: int = 0,
    models: tuple[str, ...] = MODELS,
    progress: bool = True,
) -> dict:
    """Train each of `models` on the same facade pairs and score them on the held-out pairs.

    Returns:
        {"models": {name: {"l1", "hf_gap", "train_s", "params"}}, "outputs": {name: (held_out, H, W, 3) array}, ...}
    """
    from tinkerlab.asapnet.data import facade_pairs
    from tinkerlab.asapnet.training import train

    data = facade_pairs(pairs, size=128, seed=seed)
    train_data, test_data = data.split(held_out)
    results, outputs = {}, {}
    for name in models:
        start = time.perf_counter()
        model = train(train_data, model_config(name, data.num_labels, steps, seed), out=out / name, progress=progress)
        elapsed = time.perf_counter() - start
        fakes = model.translate(test_data.labels)
        outputs[name] = fakes
        results[name] = {
            "l1": float(np.abs(fakes - test_data.images).mean()),
            "hf_gap": high_frequency_gap(fakes, test_data.images),
            "train_s": round(elapsed, 1),
            "params": sum(p.numel() for p in model.generator.parameters()),
        }
    return {"models": results, "outputs": outputs, "test": test_data, "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=250)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--figure", type=Path, default=None)
    args = parser.parse_args()
    from tinkerlab.core.seeding import torch_threads

    with torch_threads(1):
        report = run_quality(args.out, steps=args.steps)
    print(json.dumps(report["models"], indent=2))
    (args.out / "quality.json").write_text(json.dumps(report["models"], indent=2) + "\n")
    if args.figure:
        from tinkerlab.asapnet.data import colour_labels
        from tinkerlab.core.images import image_grid, save_image

        test = report["test"]
        rows = []
        for i in range(min(4, len(test))):
            rows += [
                colour_labels(test.labels[i], test.num_labels),
                *(report["outputs"][m][i] for m in MODELS),
                test.images[i],
            ]
        save_image(image_grid(rows, columns=len(MODELS) + 2, pad=2), args.figure)


if __name__ == "__main__":
    main()
