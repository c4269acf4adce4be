"""Code-drawing render throughput: a warm worker pool against a fresh sandbox process per program, same run.

Renders a fixed set of small matplotlib, SVG and turtle programs (the kind models write: patches, paths, loops)
through `tinkerlab.codedraw.render.Renderer` with warm workers (one process per language, kept alive) and with
`fresh=True` (interpreter start and imports paid per program). Prints programs per second, the warm/fresh ratio
and the peak memory of this process and its sandbox children. The goal: at least 5 matplotlib programs per second
warm on a 2-core CPU.

Run: .venv/bin/python benchmarks/codedraw_render.py [--programs 40] [--fresh-programs 8] [--isolation auto]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

PROGRAMS = {
    "matplotlib": (
        "import matplotlib.pyplot as plt\nfrom matplotlib.patches import Circle, Rectangle, Polygon\n"
        "fig, ax = plt.subplots()\nax.set_xlim(0, 10)\nax.set_ylim(0, 10)\nax.axis('off')\n"
        "ax.add_patch(Rectangle((2, 1), 6, 4, color='tan'))\nax.add_patch(Polygon([(1.5, 5), (5, 8), (8.5, 5)], "
        "color='brown'))\nax.add_patch(Circle((8, 8.5), {r}, color='gold'))\n"
        "for i in range(5):\n    ax.plot([i, i + 1], [0.5, 0.8], color='green')\n"
    ),
    "svg": (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 256 256"><rect x="40" y="120" width="170" '
        'height="100" fill="tan"/><polygon points="30,120 125,40 220,120" fill="brown"/><circle cx="210" '
        'cy="40" r="{r}" fill="gold"/></svg>'
    ),
    "turtle": (
        "import turtle\nt = turtle.Turtle()\nt.speed(0)\nfor side in range(36):\n    t.forward({r} * 10)\n"
        "    t.left(170)\nt.penup()\nt.goto(-100, -100)\nt.pendown()\nt.circle(40)\n"
    ),
}


def _throughput(renderer, language: str, count: int) -> tuple[float, int]:
    ok = 0
    start = time.perf_counter()
    for index in range(count):
        result = renderer.render(PROGRAMS[language].replace("{r}", str(1 + index % 3)), language)
        ok += result.ok
    return count / (time.perf_counter() - start), ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=40, help="programs per language, warm")
    parser.add_argument("--fresh-programs", type=int, default=8, help="programs per language, fresh process each")
    parser.add_argument("--isolation", choices=["auto", "jail", "process"], default="auto")
    args = parser.parse_args()

    from tinkerlab.codedraw.render import Renderer

    print(f"code-drawing render throughput (isolation {args.isolation}); programs per second, higher is better")
    print(f"  {'language':12s} {'warm':>9s} {'fresh':>9s} {'warm/fresh':>11s}  ok")
    with Renderer(isolation=args.isolation) as warm, Renderer(isolation=args.isolation, fresh=True) as fresh:
        for language in PROGRAMS:
            warm.render(PROGRAMS[language].replace("{r}", "1"), language)  # start the worker (not timed)
            warm_rate, warm_ok = _throughput(warm, language, args.programs)
            fresh_rate, fresh_ok = _throughput(fresh, language, args.fresh_programs)
            total = args.programs + args.fresh_programs
            print(
                f"  {language:12s} {warm_rate:9.1f} {fresh_rate:9.2f} {warm_rate / fresh_rate:10.1f}x  "
                f"{warm_ok + fresh_ok}/{total}"
            )
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"  peak memory: this process {own:.0f} MB, largest sandbox child {children:.0f} MB")
    return 0


if __name__ == "__main__":
    from tinkerlab.core.errors import run_main

    sys.exit(run_main(main))
