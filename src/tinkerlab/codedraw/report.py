"""The report of a dataset run: fidelity, diversity and failure tables per level and language, a failure chart
and a gallery of renders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tinkerlab.codedraw.concepts import LEVELS
from tinkerlab.codedraw.metrics import Item, markdown_table, score_items
from tinkerlab.codedraw.render import LANGUAGES
from tinkerlab.codedraw.runs import final_render, read_items
from tinkerlab.core.errors import InputError
from tinkerlab.core.runs import RunDir, atomic_write_text


def report(
    folder: str | Path,
    *,
    recognizer: str = "default",
    diversity: bool = True,
    gallery_columns: int = 8,
) -> dict[str, Any]:
    """Score a dataset run and write report.md, report.json, failures.png and gallery.png into its outputs.

    Returns the report as a dict (`cells`: one row per level and language; `table`: Markdown).
    """
    from tinkerlab.vision.recognition import load_recognizer

    run, config = RunDir.load(folder, system="codedraw", hint="make one with `tinkerlab codedraw dataset`")
    if "concept_lists" not in config:
        raise InputError(f"{folder} is not a codedraw dataset run; make one with `tinkerlab codedraw dataset`")
    records = list(read_items(folder))
    if not records:
        raise InputError(f"{folder} holds no drawn items yet; run `codedraw dataset` first")
    concept_lists = config["concept_lists"]
    items = [
        Item(r["concept"], r["level"], r["language"], r["status"], final_render(r) if r["status"] == "ok" else None)
        for r in records
    ]
    features = None
    if diversity:
        from tinkerlab.vision.features import FeatureExtractor

        features = FeatureExtractor()
    scorer = load_recognizer(recognizer)
    levels = {level: i for i, level in enumerate(LEVELS)}
    languages = {language: i for i, language in enumerate(LANGUAGES)}
    cells = sorted(
        score_items(items, concept_lists, scorer, features),
        key=lambda c: (levels.get(c.level, len(levels)), languages.get(c.language, len(languages))),
    )
    table = markdown_table(cells)
    result = {
        "model": config["model"],
        "recognizer": getattr(scorer, "name", recognizer),
        "items": len(records),
        "cells": [c.row() for c in cells],
        "table": table,
    }
    out = run.outputs
    atomic_write_text(out / "report.json", json.dumps(result, indent=1))
    atomic_write_text(
        out / "report.md",
        f"# Code drawings by {result['model']}\n\nRecogniser: {result['recognizer']}. Failures count as misses "
        f"at the last rank.\n\n{table}\n",
    )
    _failure_chart(cells, out / "failures.png")
    _gallery(records, items, out / "gallery.png", gallery_columns)
    return result


def _failure_chart(cells: list[Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    statuses = sorted({s for c in cells for s in c.statuses})
    labels = [f"{c.level}\n{c.language}" for c in cells]
    fig, ax = plt.subplots(figsize=(max(4, 1.3 * len(cells)), 3.2))
    bottom = [0.0] * len(cells)
    for status in statuses:
        shares = [c.statuses.get(status, 0) / c.count for c in cells]
        ax.bar(labels, shares, bottom=bottom, label=status)
        bottom = [b + s for b, s in zip(bottom, shares, strict=True)]
    ax.set_ylabel("share of drawings")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1, 1))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _gallery(records: list[dict], items: list[Item], path: Path, columns: int, limit: int = 32) -> None:
    import numpy as np
    from PIL import Image, ImageDraw

    from tinkerlab.core.images import image_grid, save_image

    tiles = []
    for record, item in list(zip(records, items, strict=True))[:limit]:
        tile = (item.image or Image.new("RGB", (256, 256), (225, 225, 225))).convert("RGB").resize((160, 160))
        canvas = ImageDraw.Draw(tile)
        canvas.text((4, 2), record["concept"][:26], fill=(0, 0, 160))
        if item.status != "ok":
            canvas.text((4, 146), item.status, fill=(170, 0, 0))
        tiles.append(np.asarray(tile, dtype=np.float32) / 255.0)
    save_image(image_grid(tiles, columns=min(columns, len(tiles))), path)
