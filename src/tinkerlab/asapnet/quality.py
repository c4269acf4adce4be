"""The quality check of ASAPNet against its two ablations and the two baselines, with one training budget.

Five generators train with identical settings (`demo_train_config`) on the same offline pairs (procedural facades by
default, or k-means-labelled photos or clip art): ASAPNet, ASAPNet without positional encoding, ASAPNet without
spatial variation (one MLP for the whole image), pix2pixHD and SPADE (slim CPU widths). On held-out pairs it
reports:

- `l1`: the mean absolute error to the real images in [0, 1];
- `l1_matched`: the same after shifting, in every image, each label region's mean colour of the output to that of
  the real image (per channel), which takes out the per-image, per-class colour offsets that the label map does not
  determine (the facade renderer's colour jitter), and leaves the errors of structure, texture and shading;
- `hf_gap`: the high-frequency energy closeness, |log(E_fake / E_real)| of the Laplacian energy of the grey image,
  averaged over images (0 = the same amount of fine detail as the real image).

Several training seeds (`--seeds 0 1 2`) train on the same data (`--data-seed`) and report the mean and the spread.

    python -m tinkerlab.asapnet.quality --steps 250 --out RUNS
    python -m tinkerlab.asapnet.quality --data photos --seeds 0 1 --out RUNS --figure quality.png
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from tinkerlab.core.errors import InputError

MODELS = ("asapnet", "asapnet-no-pe", "asapnet-no-spatial", "pix2pixhd", "spade")
METRICS = ("l1", "l1_matched", "hf_gap")


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


def colour_matched_l1(fakes: np.ndarray, reals: np.ndarray, labels: np.ndarray, num_labels: int) -> float:
    """L1 after matching, per image, label region and channel, the mean colour of the fake to that of the real.

    Args:
        fakes, reals: (N, H, W, 3) images in [0, 1].
        labels: (N, H, W) integer label maps in 0 .. num_labels - 1.

    Returns:
        mean |fake - mean_region(fake) + mean_region(real) - real| over all pixels and channels.

    Raises:
        InputError: shapes that do not match.

    Example:
        >>> real = np.zeros((1, 2, 2, 3)); labels = np.array([[[0, 0], [1, 1]]])
        >>> colour_matched_l1(real + 0.3, real, labels, 2)  # a constant colour offset costs nothing
        0.0
    """
    if fakes.shape != reals.shape or fakes.shape[:3] != labels.shape or fakes.ndim != 4:
        raise InputError(
            f"expected fakes and reals of shape (N, H, W, 3) and labels (N, H, W), got {fakes.shape}, "
            f"{reals.shape} and {labels.shape}"
        )
    total = 0.0
    for fake, real, label in zip(fakes, reals, labels, strict=True):
        flat = label.ravel()
        counts = np.maximum(np.bincount(flat, minlength=num_labels), 1)
        for channel in range(3):
            f, r = fake[..., channel].ravel(), real[..., channel].ravel()
            shift = (np.bincount(flat, r, num_labels) - np.bincount(flat, f, num_labels)) / counts  # (num_labels,)
            total += float(np.abs(f + shift[flat] - r).sum())
    return total / fakes.size


def model_config(
    name: str,
    num_labels: int,
    steps: int,
    seed: int = 0,
    dataset: str = "facades",
    size: int = 128,
    device: str = "cpu",
):
    """The `RunConfig` of one of `MODELS` at the CPU demo widths and training (on `device`)."""
    from tinkerlab.asapnet.config import make_run_config

    return make_run_config(name, num_labels, steps=steps, seed=seed, dataset=dataset, size=size, device=device)


def run_quality(
    out: str | Path,
    *,
    steps: int = 250,
    pairs: int = 56,
    held_out: int = 8,
    size: int = 128,
    seed: int = 0,
    data: str = "facades",
    data_seed: int | None = None,
    models: tuple[str, ...] = MODELS,
    progress: bool = True,
    device: str = "cpu",
) -> dict:
    """Train each of `models` on the same pairs and score them on the held-out pairs.

    Args:
        out: the folder of the run directories (one per model, resumed when they match).
        steps: the training budget of every model.
        pairs, held_out: pairs generated, and the last `held_out` of them kept for scoring.
        size: the side of the pairs and of the training crops (128 in the study).
        seed: the training seed.
        data: 'facades', 'photos' or 'clipart' (`tinkerlab.asapnet.data.offline_pairs`).
        data_seed: the seed of the data (default: `seed`).
        models: a subset of `MODELS`.
        device: where the models train and translate.

    Returns:
        {"models": {name: {"l1", "l1_matched", "hf_gap", "train_s", "params"}}, "outputs": {name: (held_out, H, W, 3)
        array}, "test": the held-out pairs, "steps", "seed", "data"}

    Raises:
        InputError: an unknown model or dataset.
    """
    from tinkerlab.asapnet.data import offline_pairs
    from tinkerlab.asapnet.training import train

    out = Path(out)
    unknown = [name for name in models if name not in MODELS]
    if unknown:
        raise InputError(f"expected models among {', '.join(MODELS)}, got {', '.join(unknown)}")
    pairs_data = offline_pairs(data, pairs, size=size, seed=seed if data_seed is None else data_seed)
    train_data, test_data = pairs_data.split(held_out)
    results, outputs = {}, {}
    for name in models:
        start = time.perf_counter()
        config = model_config(name, pairs_data.num_labels, steps, seed, dataset=data, size=size, device=device)
        model = train(train_data, config, out=out / name, progress=progress)
        elapsed = time.perf_counter() - start
        fakes = model.translate(test_data.labels)
        outputs[name] = fakes
        results[name] = {
            "l1": float(np.abs(fakes - test_data.images).mean()),
            "l1_matched": colour_matched_l1(fakes, test_data.images, test_data.labels, test_data.num_labels),
            "hf_gap": high_frequency_gap(fakes, test_data.images),
            "train_s": round(elapsed, 1),
            "params": sum(p.numel() for p in model.generator.parameters()),
        }
    return {"models": results, "outputs": outputs, "test": test_data, "steps": steps, "seed": seed, "data": data}


def summarise(per_seed: list[dict]) -> dict:
    """Mean and spread over seeds: {name: {metric: {"mean", "std", "values"}, "train_s": [...], "params"}}.

    `per_seed` holds the "models" dictionaries of `run_quality`, one per seed; std is the sample standard deviation
    (0 for one seed).
    """
    summary = {}
    for name in per_seed[0]:
        entry: dict = {"params": per_seed[0][name]["params"], "train_s": [run[name]["train_s"] for run in per_seed]}
        for metric in METRICS:
            values = [run[name][metric] for run in per_seed]
            std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
            entry[metric] = {"mean": float(np.mean(values)), "std": std, "values": values}
        summary[name] = entry
    return summary


def summary_table(summary: dict) -> str:
    """A markdown table of `summarise`'s result: mean ± spread per metric, the parameters and the training times."""
    lines = [
        "| generator | parameters | held-out L1 | L1, colours matched | high-frequency gap | train s |",
        "|---|---|---|---|---|---|",
    ]
    for name, entry in summary.items():
        cells = []
        for metric in METRICS:
            mean, std = entry[metric]["mean"], entry[metric]["std"]
            digits = 3 if metric == "hf_gap" else 4
            spread = f" ± {std:.{digits}f}" if len(entry[metric]["values"]) > 1 else ""
            cells.append(f"{mean:.{digits}f}{spread}")
        times = ", ".join(f"{t:.0f}" for t in entry["train_s"])
        lines.append(f"| {name} | {entry['params'] / 1e6:.2f} M | {' | '.join(cells)} | {times} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=250)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--data", choices=("facades", "photos", "clipart"), default="facades")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="training seeds (each a run per model)")
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--pairs", type=int, default=56)
    parser.add_argument("--held-out", type=int, default=8)
    parser.add_argument("--size", type=int, default=128, help="pairs and training crops (a multiple of 32)")
    parser.add_argument("--figure", type=Path, default=None, help="a picture of the first seed's held-out outputs")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    args = parser.parse_args()
    from tinkerlab.core.seeding import torch_threads

    reports = []
    with torch_threads(1):
        for seed in args.seeds:
            out = args.out / f"seed{seed}"
            report = run_quality(
                out,
                steps=args.steps,
                pairs=args.pairs,
                held_out=args.held_out,
                size=args.size,
                seed=seed,
                data=args.data,
                data_seed=args.data_seed,
                models=tuple(args.models),
                device=args.device,
            )
            (out / "quality.json").write_text(json.dumps(report["models"], indent=2) + "\n")
            print(f"seed {seed}:", json.dumps(report["models"], indent=2), flush=True)
            reports.append(report)
    summary = summarise([report["models"] for report in reports])
    (args.out / "quality.json").write_text(json.dumps(summary, indent=2) + "\n")
    table = summary_table(summary)
    (args.out / "quality.md").write_text(table + "\n")
    print(table)
    if args.figure:
        from tinkerlab.asapnet.data import colour_labels
        from tinkerlab.core.images import image_grid, save_image

        first = reports[0]
        test = first["test"]
        rows = []
        for i in range(min(4, len(test))):
            rows += [
                colour_labels(test.labels[i], test.num_labels),
                *(first["outputs"][m][i] for m in args.models),
                test.images[i],
            ]
        save_image(image_grid(rows, columns=len(args.models) + 2, pad=2), args.figure)


if __name__ == "__main__":
    from tinkerlab.core.errors import run_main

    run_main(main)
