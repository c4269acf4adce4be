"""`tinkerlab vision ...`: zero-shot recognition of pictures with the offline recogniser or user-supplied CLIP.

    tinkerlab vision recognize drawing.png photo.jpg --concepts cat,dog,house
    tinkerlab vision check          # the offline recogniser on its held-out openclipart drawings

Only typer, pathlib and typing are imported at the top, so `tinkerlab --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tinkerlab.cli_options import Spec

app = typer.Typer(no_args_is_help=True, add_completion=False)

RECOGNIZER_HELP = (
    "default (the offline clip-art recogniser, built once in the user cache: a few CPU minutes) or "
    "clip:ARCH:WEIGHTS (a local open_clip checkpoint, e.g. clip:ViT-L-14:/models/vitl14.bin; configs and vocabulary "
    "from `make clip`)."
)
Recognizer = Annotated[
    str,
    typer.Option("--recognizer", parser=Spec(("default", "clip:ARCH:WEIGHTS")), metavar="SPEC", help=RECOGNIZER_HELP),
]


@app.callback()
def _group() -> None:
    """Offline image models: EfficientNet-Lite0 features, MiniLM text embeddings, zero-shot recognition."""


@app.command()
def recognize(
    images: Annotated[list[Path], typer.Argument(metavar="IMAGE...", help="Image files (PNG, JPEG, ...).")],
    concepts: Annotated[
        str | None,
        typer.Option("--concepts", help="Comma-separated names to score (default: the 27 built-in concepts)."),
    ] = None,
    recognizer: Recognizer = "default",
    top: Annotated[int, typer.Option("--top", min=1, help="How many of the best concepts to print per image.")] = 5,
) -> None:
    """Score each image against concept names and print the best ones, highest first."""
    import numpy as np

    from tinkerlab.core.errors import InputError
    from tinkerlab.core.images import to_pil
    from tinkerlab.vision.clipart import CLIPART_CONCEPTS
    from tinkerlab.vision.recognition import load_recognizer

    names = [c.strip() for c in concepts.split(",") if c.strip()] if concepts is not None else list(CLIPART_CONCEPTS)
    if not names:
        raise InputError(f"expected comma-separated concept names after --concepts, got {concepts!r}")
    for path in images:
        if not path.is_file():
            raise InputError(f"{str(path)!r} is not an image file")
    pictures = [to_pil(path).convert("RGB") for path in images]
    scorer = load_recognizer(recognizer)
    scores = np.asarray(scorer.scores(pictures, names))  # (n_images, n_concepts)
    for path, row in zip(images, scores, strict=True):
        best = np.argsort(-row)[: min(top, len(names))]
        typer.echo(f"{path}: " + ", ".join(f"{names[j]} {row[j]:.3f}" for j in best))


@app.command()
def check() -> None:
    """Top-1 / top-5 accuracy of the offline recogniser on its held-out openclipart drawings."""
    from tinkerlab.vision.clipart import ClipartRecognizer, clipart_benchmark

    result = clipart_benchmark(ClipartRecognizer.load())
    chance = 1 / len(result.concepts)
    typer.echo(
        f"{result.count} held-out openclipart drawings, {len(result.concepts)} concepts: top-1 {result.top1:.3f}, "
        f"top-5 {result.top5:.3f} (chance {chance:.3f}, {min(5, len(result.concepts)) * chance:.3f})"
    )
