"""Benchmark: parse + fit + render a 20-stroke SketchAgent sketch to PNG bytes.

Compares, in the same run and on the same sketches:

- tinkerlab: `parse_sketch`, least squares through cached pseudo-inverses of the Bernstein basis, curves
  flattened in NumPy, thick round-capped polylines drawn by Pillow at 2x and box-filtered down, PNG level 1;
- baseline: the straightforward pipeline of the original code: the same parser, per-stroke `numpy.linalg.lstsq`
  on a basis built point by point, an SVG document, and CairoSVG to PNG.

Two tinkerlab figures are reported: "warm" reuses the pseudo-inverse cache across sketches with the same t-values
(what happens with real model output, where t patterns repeat), "cold" clears that cache before every sketch.

    .venv/bin/python benchmarks/sketch_render.py [--sketches 40] [--repeats 5]
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import time

import numpy as np


def make_sketch_text(rng: np.random.Generator, strokes: int = 20) -> str:
    """A reply with `strokes` strokes of 1..9 points and 2-decimal t-values, like model output."""
    parts = ["<thinking>benchmark</thinking>\n<answer>\n<concept>benchmark</concept>\n<strokes>"]
    for index in range(1, strokes + 1):
        n = int(rng.choice([1, 2, 2, 3, 4, 4, 5, 5, 6, 7, 8, 9]))
        centre = rng.integers(8, 43, size=2)
        walk = np.cumsum(rng.integers(-4, 5, size=(n, 2)), axis=0) + centre
        cells = np.clip(walk, 1, 50)
        t = np.sort(np.round(rng.uniform(0, 1, n), 2)) if n > 2 else np.linspace(0, 1, n)
        if n > 1:
            t[0], t[-1] = 0.0, 1.0
        points = ", ".join(f"'x{c}y{r}'" for c, r in cells)
        t_values = ", ".join(f"{v:.2f}" for v in t)
        parts.append(
            f"<s{index}>\n<points>{points}</points>\n<t_values>{t_values}</t_values>\n"
            f"<id>part {index}</id>\n</s{index}>"
        )
    parts.append("</strokes>\n</answer>")
    return "\n".join(parts)


def baseline_png(text: str) -> bytes:
    """Parse, fit each stroke with numpy.linalg.lstsq, write SVG, rasterise with CairoSVG."""
    import cairosvg

    from tinkerlab.sketch.language import parse_sketch

    sketch = parse_sketch(text)
    groups = []
    for index, stroke in enumerate(sketch.strokes, start=1):
        points = np.array([[12 * c + 6, 606 - 12 * r] for c, r in stroke.points], dtype=np.float64)
        n = len(points)
        t = np.array(stroke.t_values) if len(stroke.t_values) == n else np.linspace(0, 1, n)
        segments = baseline_fit(points, t)
        paths = []
        for control in segments:
            command = {2: "L", 3: "Q", 4: "C"}[len(control)]
            coords = " ".join(f"{x:.2f} {y:.2f}" for x, y in control[1:])
            paths.append(f'<path d="M {control[0][0]:.2f} {control[0][1]:.2f} {command} {coords}"/>')
        groups.append(
            f'<g id="s{index}" stroke="black" stroke-width="7" fill="none" stroke-linecap="round">'
            + "".join(paths)
            + "</g>"
        )
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="612" height="612"><rect width="612" height="612" '
        'fill="white"/>' + "".join(groups) + "</svg>"
    )
    return cairosvg.svg2png(bytestring=svg.encode())


def _basis(t: np.ndarray, degree: int) -> np.ndarray:
    A = np.zeros((len(t), degree + 1))
    for i, v in enumerate(t):
        if degree == 2:
            A[i] = [(1 - v) ** 2, 2 * (1 - v) * v, v**2]
        else:
            A[i] = [(1 - v) ** 3, 3 * (1 - v) ** 2 * v, 3 * (1 - v) * v**2, v**3]
    return A


def baseline_fit(points: np.ndarray, t: np.ndarray) -> list[np.ndarray]:
    n = len(points)
    if n == 1:
        return [np.array([points[0], points[0] + 1e-4])]
    if n == 2:
        return [points]
    if n == 3:
        return [np.linalg.lstsq(_basis(t, 2), points, rcond=None)[0]]
    control = np.linalg.lstsq(_basis(t, 3), points, rcond=None)[0]
    if n >= 7:
        error = np.mean(
            [np.linalg.norm(_basis(np.array([v]), 3)[0] @ control - p) for v, p in zip(t, points, strict=False)]
        )
        if error > 5:
            mid = n // 2
            lt, rt = t[: mid + 1], t[mid:]
            lt = (lt - lt[0]) / (lt[-1] - lt[0]) if lt[-1] != lt[0] else np.linspace(0, 1, len(lt))
            rt = (rt - rt[0]) / (rt[-1] - rt[0]) if rt[-1] != rt[0] else np.linspace(0, 1, len(rt))
            left = np.linalg.lstsq(_basis(lt, 3), points[: mid + 1], rcond=None)[0]
            right = np.linalg.lstsq(_basis(rt, 3), points[mid:], rcond=None)[0]
            right[0] = left[-1]
            return [left, right]
    return [control]


def fast_png(text: str) -> bytes:
    from tinkerlab.sketch.language import parse_sketch
    from tinkerlab.sketch.render import render_png

    return render_png(parse_sketch(text))


def time_per_sketch(function, texts: list[str], repeats: int, before=None) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds per sketch (CPU time is less disturbed by other processes on a shared CPU)."""
    wall, cpu = [], []
    for _ in range(repeats):
        for text in texts:
            if before is not None:
                before()
            start, start_cpu = time.perf_counter(), time.thread_time()
            function(text)
            wall.append(time.perf_counter() - start)
            cpu.append(time.thread_time() - start_cpu)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sketches", type=int, default=40, help="different 20-stroke sketches")
    parser.add_argument("--repeats", type=int, default=5, help="passes over all sketches")
    args = parser.parse_args()

    import io

    from PIL import Image

    from tinkerlab.sketch import geometry

    rng = np.random.default_rng(0)
    texts = [make_sketch_text(rng) for _ in range(args.sketches)]
    # Warm up imports and caches of both pipelines, and check that they draw the same picture.
    a = np.asarray(Image.open(io.BytesIO(fast_png(texts[0]))).convert("L"), dtype=np.float32)
    b = np.asarray(Image.open(io.BytesIO(baseline_png(texts[0]))).convert("L"), dtype=np.float32)
    difference = float(np.abs(a - b).mean())

    baseline = time_per_sketch(baseline_png, texts, max(1, args.repeats // 2))
    cold = time_per_sketch(fast_png, texts, args.repeats, before=geometry._basis_and_pinv.cache_clear)
    warm = time_per_sketch(fast_png, texts, args.repeats)

    def ms(values: tuple[list[float], list[float]]) -> str:
        wall, cpu = values
        return (
            f"median {1000 * statistics.median(wall):6.2f} ms  p90 {1000 * np.percentile(wall, 90):6.2f} ms  "
            f"(CPU {1000 * statistics.median(cpu):6.2f} ms)"
        )

    base = statistics.median(baseline[0])
    print(
        f"sketch_render: parse + fit + render of a 20-stroke sketch to a 612x612 PNG "
        f"({args.sketches} sketches; {platform.processor() or platform.machine()}, shared CPU)"
    )
    print(f"  baseline (lstsq + CairoSVG)   {ms(baseline)}")
    print(f"  tinkerlab, cold pinv cache    {ms(cold)}   {base / statistics.median(cold[0]):5.1f}x faster")
    print(f"  tinkerlab, warm pinv cache    {ms(warm)}   {base / statistics.median(warm[0]):5.1f}x faster")
    print(f"  mean |difference| between the two PNGs: {difference:.2f} grey levels of 255")
    target = 10.0
    verdict = "meets" if 1000 * statistics.median(cold[0]) <= target else "misses"
    print(f"  target: median <= {target:.0f} ms per sketch (cold cache) -> {verdict}")
    print(f"  peak memory (maxrss): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    from tinkerlab.core.errors import run_main

    run_main(main)
