"""Inference speed of ASAPNet (straightforward and optimised paths) against pix2pixHD's global generator and SPADE,
all measured in this run at the same resolutions and thread counts, with peak memory.

Published widths by default (ASAPNet 82 M parameters, pix2pixHD 182 M, SPADE 92 M; 13 labels, batch 1); `--widths
slim` gives the slim-baseline case (ASAPNet 256-wide with 4 blocks against baselines at ngf 16). Ratios are of
medians; >1 means ASAPNet is faster.

    python benchmarks/asapnet_speed.py                                   # 256, 512, 1024 px; 1 and 2 threads
    python benchmarks/asapnet_speed.py --sizes 256 512 --threads 1 --widths slim
    python benchmarks/asapnet_speed.py --max-seconds 20                  # skip measurements slower than 20 s a pass
    python benchmarks/asapnet_speed.py --device cuda --sizes 256 512 1024 2048 --threads 1 --repeats 20
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--widths", choices=["published", "slim"], default="published")
    parser.add_argument("--models", nargs="+", default=["asapnet", "pix2pixhd", "spade"])
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=None,
        help="skip a model at larger sizes once one of its passes took longer than this",
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (GPU passes are synchronised)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows and the table here")
    args = parser.parse_args()

    from tinkerlab.asapnet.speed import format_rows, measure, speed_configs, speed_table

    configs = {name: config for name, config in speed_configs(widths=args.widths).items() if name in args.models}
    slow: set[str] = set()

    def skip(model: str, size: int, threads: int) -> bool:
        return model in slow

    def report(row: dict) -> None:
        print(json.dumps(row), flush=True)
        if args.max_seconds is not None and row["min_ms"] > 1000 * args.max_seconds:
            slow.add(row["model"])

    start = time.perf_counter()
    rows = measure(
        configs,
        sizes=tuple(args.sizes),
        threads=tuple(args.threads),
        repeats=args.repeats,
        warmup=args.warmup,
        skip=skip,
        report=report,
        device=args.device,
    )
    table = speed_table(rows)
    print(f"\n{args.widths} widths, {args.device}, batch 1, {args.warmup} warm-up + {args.repeats} timed passes each")
    print(format_rows(rows))
    print("\nratios of medians (>1: ASAPNet faster)")
    for entry in table:
        print(json.dumps(entry))
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    if args.json:
        args.json.write_text(
            json.dumps({"widths": args.widths, "device": args.device, "rows": rows, "table": table}, indent=2) + "\n"
        )


if __name__ == "__main__":
    from tinkerlab.core.errors import run_main

    run_main(main)
