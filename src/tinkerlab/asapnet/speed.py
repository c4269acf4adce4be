"""Inference timing of ASAPNet (straightforward and optimised paths) against pix2pixHD's global generator and SPADE,
measured in the same process at the same resolution and thread count.

Each measurement builds the generator (random weights: the speed does not depend on training; eval mode, under
`torch.inference_mode`, every model with the same thread count and the same NCHW one-hot input), runs `warmup`
forward passes (at least one: the first is where the peak resident memory added by a forward pass is sampled,
every 2 ms from /proc/self/statm, 0 where that file does not exist), then `repeats` timed ones, and reports the
minimum and the median in milliseconds. On a CUDA device (`device="cuda"`) every pass ends with
`torch.cuda.synchronize()` and the peak is the GPU memory the first pass allocated above what was allocated before it
(`torch.cuda.max_memory_allocated`); the thread count then only sets the host's threads. `speed_table` turns the
measurements into ratios against ASAPNet's straightforward path.

Example:
    >>> from tinkerlab.asapnet.config import ASAPNetConfig
    >>> tiny = {"asapnet": ASAPNetConfig(num_labels=3, grid=4, lr_width=4, lr_max_width=8, lr_depth=1,
    ...                                  learned_downsample=2, hr_width=8, hr_depth=2, frequencies=1)}
    >>> rows = measure(tiny, sizes=(16,), threads=(1,), repeats=1, warmup=0)
    >>> sorted(rows[0])
    ['device', 'median_ms', 'min_ms', 'model', 'params', 'peak_mb', 'size', 'threads']
"""

from __future__ import annotations

import functools
import os
import statistics
import threading
import time
from collections.abc import Callable
from typing import Literal

from tinkerlab.asapnet.config import ASAPNetConfig, GeneratorConfig, Pix2PixHDConfig, SPADEConfig

Widths = Literal["published", "slim"]


def speed_configs(num_labels: int = 13, widths: Widths = "published") -> dict[str, GeneratorConfig]:
    """The generators timed: 'published' (ASAPNet 1024 x 7, pix2pixHD and SPADE at ngf 64) or 'slim' (ASAPNet
    256-wide with 4 blocks, pix2pixHD and SPADE at ngf 16), as in the reference CPU timings.

    Example:
        >>> sorted(speed_configs())
        ['asapnet', 'pix2pixhd', 'spade']
    """
    if widths == "published":
        return {
            "asapnet": ASAPNetConfig(num_labels=num_labels),
            "pix2pixhd": Pix2PixHDConfig(num_labels=num_labels),
            "spade": SPADEConfig(num_labels=num_labels),
        }
    if widths == "slim":
        return {
            "asapnet": ASAPNetConfig(num_labels=num_labels, lr_max_width=256, lr_depth=4),
            "pix2pixhd": Pix2PixHDConfig(num_labels=num_labels, ngf=16),
            "spade": SPADEConfig(num_labels=num_labels, ngf=16),
        }
    from tinkerlab.core.errors import InputError

    raise InputError(f"expected widths 'published' or 'slim', got {widths!r}")


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def peak_memory_mb(function: Callable[[], object]) -> float:
    """Peak resident memory (MiB) that `function()` adds above what the process held before it ran."""
    before = _rss_bytes()
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            time.sleep(0.002)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    try:
        function()
    finally:
        done.set()
        watcher.join()
    peak[0] = max(peak[0], _rss_bytes())
    return max(0.0, (peak[0] - before) / 2**20)


def gpu_peak_memory_mb(function: Callable[[], object]) -> float:
    """Peak CUDA memory (MiB) that `function()` allocates above what was allocated before it ran."""
    import torch

    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    function()
    torch.cuda.synchronize()
    return max(0.0, (torch.cuda.max_memory_allocated() - before) / 2**20)


def time_function(
    function: Callable[[], object], *, repeats: int = 3, warmup: int = 1, sync: Callable[[], None] | None = None
) -> tuple[float, float]:
    """(minimum, median) wall time in ms of `repeats` calls of `function()` after `warmup` untimed ones; `sync` (e.g.
    `torch.cuda.synchronize`) runs after every call, inside the timed span, so that queued device work counts."""
    for _ in range(warmup):
        function()
        if sync is not None:
            sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        if sync is not None:
            sync()
        times.append(1000 * (time.perf_counter() - start))
    return min(times), statistics.median(times)


def onnx_available() -> bool:
    """Whether ONNX Runtime and the exporter's `onnx` are installed (the 'asapnet-onnx' path needs both)."""
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))


def _forwards(name: str, config: GeneratorConfig, device: str = "cpu"):
    """(generator, [(label, callable(labels))]) for one generator: ASAPNet gives its paths on one network (plain,
    fast, and on a CPU with ONNX Runtime installed, fast with the low-resolution stream in ONNX Runtime)."""
    from tinkerlab.asapnet.baselines import build_generator
    from tinkerlab.asapnet.fast import fast_forward

    generator = build_generator(config).to(device).eval()
    if name != "asapnet":
        return generator, [(name, generator)]
    paths = [
        ("asapnet", generator),
        ("asapnet-fast", lambda labels: fast_forward(generator, labels, channels_last=False)),
    ]
    if device == "cpu" and onnx_available():
        paths.append(("asapnet-onnx", lambda labels: fast_forward(generator, labels, lr_backend="onnxruntime")))
    return generator, paths


def measure(
    configs: dict[str, GeneratorConfig],
    *,
    sizes: tuple[int, ...] = (256, 512, 1024),
    threads: tuple[int, ...] = (1,),
    repeats: int = 3,
    warmup: int = 1,
    skip: Callable[[str, int, int], bool] | None = None,
    report: Callable[[dict], None] | None = None,
    device: str = "cpu",
) -> list[dict]:
    """Time every generator of `configs` at every size and thread count.

    Args:
        configs: name -> generator config ('asapnet' is timed on each path: 'asapnet', 'asapnet-fast' and, on a
            CPU with ONNX Runtime, 'asapnet-onnx', whose export runs once before its first timed or sampled pass).
        sizes: square label maps of these sides, batch 1.
        threads: torch intra-op thread counts.
        repeats, warmup: timed and untimed forward passes per measurement.
        skip: `skip(model, size, threads)` True leaves that measurement out (too slow on this machine).
        report: called with each row as soon as it is measured.
        device: 'cpu', 'cuda', 'cuda:N' or 'auto' (`tinkerlab.core.seeding.choose_device`).

    Returns:
        rows {model, size, threads, min_ms, median_ms, peak_mb, params, device}.
    """
    import torch

    from tinkerlab.core.seeding import choose_device, torch_threads

    device = choose_device(device)
    cuda = device.startswith("cuda")
    sync = torch.cuda.synchronize if cuda else None
    memory = gpu_peak_memory_mb if cuda else peak_memory_mb

    torch.set_flush_denormal(True)
    rows = []
    for name, config in configs.items():
        torch.manual_seed(0)
        generator, paths = _forwards(name, config, device)
        params = sum(p.numel() for p in generator.parameters())
        for size in sizes:
            labels = torch.randint(0, config.num_labels, (1, size, size), generator=torch.Generator().manual_seed(size))
            labels = labels.to(device)
            for count in threads:
                for label, forward in paths:
                    if skip is not None and skip(label, size, count):
                        continue
                    with torch_threads(count), torch.inference_mode():
                        run = functools.partial(forward, labels)
                        if label == "asapnet-onnx":
                            run()  # the export (once per shape and thread count) is not a forward pass
                        peak = memory(run)  # the first warm-up pass
                        fastest, median = time_function(run, repeats=repeats, warmup=max(0, warmup - 1), sync=sync)
                    row = {
                        "model": label,
                        "size": size,
                        "threads": count,
                        "min_ms": round(fastest, 1),
                        "median_ms": round(median, 1),
                        "peak_mb": round(peak, 1),
                        "params": params,
                        "device": device,
                    }
                    rows.append(row)
                    if report is not None:
                        report(row)
        del generator, paths
    return rows


def speed_table(rows: list[dict]) -> list[dict]:
    """One row per (size, threads): each model's median and min, and its median's ratio to ASAPNet's
    straightforward path (>1: ASAPNet is faster) and, for 'asapnet-fast' and 'asapnet-onnx', the straightforward
    path's ratio to them and the baselines' ratios to them.

    Example:
        >>> speed_table([{"model": "asapnet", "size": 8, "threads": 1, "median_ms": 2.0, "min_ms": 2.0},
        ...              {"model": "pix2pixhd", "size": 8, "threads": 1, "median_ms": 8.0, "min_ms": 7.0}])
        [{'size': 8, 'threads': 1, 'asapnet_ms': 2.0, 'pix2pixhd_ms': 8.0, 'pix2pixhd/asapnet': 4.0}]
    """
    table: dict[tuple[int, int], dict] = {}
    for row in rows:
        key = (row["size"], row["threads"])
        table.setdefault(key, {"size": key[0], "threads": key[1]})[f"{row['model']}_ms"] = row["median_ms"]
    for entry in table.values():
        base = entry.get("asapnet_ms")
        if not base:
            continue
        for model in ("pix2pixhd", "spade"):
            if f"{model}_ms" in entry:
                entry[f"{model}/asapnet"] = round(entry[f"{model}_ms"] / base, 2)
        for path in ("asapnet-fast", "asapnet-onnx"):
            if entry.get(f"{path}_ms"):
                entry[f"asapnet/{path}"] = round(base / entry[f"{path}_ms"], 2)
                for model in ("pix2pixhd", "spade"):
                    if f"{model}_ms" in entry:
                        entry[f"{model}/{path}"] = round(entry[f"{model}_ms"] / entry[f"{path}_ms"], 2)
    return [table[key] for key in sorted(table)]


def format_rows(rows: list[dict]) -> str:
    """The raw measurements as an aligned text table."""
    lines = [f"{'model':<14}{'size':>6}{'thr':>5}{'min ms':>11}{'median ms':>11}{'peak MiB':>10}{'params':>12}"]
    for row in rows:
        lines.append(
            f"{row['model']:<14}{row['size']:>6}{row['threads']:>5}{row['min_ms']:>11.1f}{row['median_ms']:>11.1f}"
            f"{row['peak_mb']:>10.1f}{row['params']:>12,}"
        )
    return "\n".join(lines)
