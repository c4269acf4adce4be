"""A self-contained HTML report of a desiderata run: the component map per layer and the result tables.

Part of `tinkerlab.desiderata` (Davies et al., 2023). Reads `outputs/result.json` of a run directory (written by
`search.run_search`); the pictures are embedded as data URIs.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

from tinkerlab.core.errors import InputError


def _grid(result: dict, values: dict[str, float]):
    """[layers, heads + 1] array of per-component values (the last column is the MLP; NaN where not masked)."""
    import numpy as np

    from tinkerlab.patching.masks import Component

    parsed = [Component.parse(n) for n in result["components"]]
    layers = max(c.layer for c in parsed) + 1
    heads = max([c.head for c in parsed if c.head is not None], default=-1) + 1
    grid = np.full((layers, heads + 1), np.nan)
    for c, name in zip(parsed, result["components"], strict=True):
        grid[c.layer, heads if c.head is None else c.head] = values.get(name, 0.0)
    return grid, heads


def component_map_png(result: dict, *, dpi: int = 80) -> bytes:
    """PNG: one panel per mask (joint, seeds' agreement, each single desideratum), layers down, heads then the MLP
    across; colour = patched share 1 - m, selected components outlined."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("joint mask\n(seed 0)", result["joint"], None)]
    stability = result["stability"]
    if stability["seeds"] > 1:
        share = {n: c / stability["seeds"] for n, c in stability["counts"].items()}
        panels.append((f"picked in k of\n{stability['seeds']} seeds", None, share))
    for name, single in result["singles"].items():
        panels.append((f"{name.replace('_', ' ')}\nalone", single, None))
    names = result["components"]
    layers = None
    fig, axes = plt.subplots(1, len(panels), figsize=(1.9 * len(panels) + 0.8, 4.6), squeeze=False)
    for index, (ax, (title, mask, share)) in enumerate(zip(axes[0], panels, strict=True)):
        if mask is not None:
            values = {n: 1.0 - m for n, m in zip(names, mask["mask"], strict=True)}
            outlined = set(mask["selected"])
        else:
            values, outlined = share, set(share)
        grid, heads = _grid(result, values)
        layers = grid.shape[0]
        im = ax.imshow(grid, cmap="Reds", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
        for name in outlined:
            from tinkerlab.patching.masks import Component

            c = Component.parse(name)
            x = heads if c.head is None else c.head
            ax.add_patch(plt.Rectangle((x - 0.5, c.layer - 0.5), 1, 1, fill=False, ec="black", lw=1.2))
        ax.axvline(heads - 0.5, color="grey", lw=0.6)
        ax.set_title(title, fontsize=8)
        ax.set_xticks(list(range(heads)) + [heads])
        ax.set_xticklabels([str(h) for h in range(heads)] + ["MLP"], fontsize=5)
        ax.set_xlabel("head", fontsize=7)
        if index == 0:
            ax.set_ylabel("layer", fontsize=7)
        ax.set_yticks(list(range(0, layers, 1 if layers <= 10 else 5)))
        ax.tick_params(axis="y", labelsize=6)
    fig.subplots_adjust(top=0.84, right=0.9, wspace=0.35)
    fig.colorbar(im, cax=fig.add_axes((0.92, 0.12, 0.012, 0.7))).ax.tick_params(labelsize=6)
    fig.suptitle(f"patched share 1 - m per component ({layers} layers); outlined: selected", fontsize=9, y=0.99)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return _palette(buffer.getvalue())


def _palette(png: bytes) -> bytes:
    """The PNG reduced to a 256-colour palette (small files)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(256)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def result_rows(result: dict) -> tuple[list[str], list[list[str]]]:
    """The accuracy table: header and rows (mask, components, held-out accuracy per desideratum)."""
    names = list(result["desiderata"])
    header = ["mask", "components"] + [f"{n} (held-out)" for n in names]
    rows = []

    def row(label, count, scores):
        rows.append([label, count] + [f"{scores[n]:.2f}" for n in names])

    joint = result["joint"]
    row("joint (all desiderata)", str(len(joint["selected"])), joint["heldout"])
    for name, single in result["singles"].items():
        row(f"{name} alone", str(len(single["selected"])), single["heldout"])
    summary = result["random"].get("summary") or {}
    if summary:
        draws = len(result["random"]["draws"])
        rows.append(
            [f"random, same size ({draws} draws): mean [2.5-97.5%]", str(result["random"]["size"])]
            + [f"{summary[n][0]:.2f} [{summary[n][1]:.2f}, {summary[n][2]:.2f}]" for n in names]
        )
    refs = result["references"]
    row("nothing patched", "0", refs["nothing patched"])
    row("every component patched", str(result["n_components"]), refs["every component patched"])
    return header, rows


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def load_result(run_dir: str | Path) -> dict:
    path = Path(run_dir) / "outputs" / "result.json"
    if not path.is_file():
        raise InputError(
            f"{run_dir} holds no finished desiderata run: expected {path} (run `tinkerlab desiderata run --out "
            f"{run_dir}` first)"
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path} is damaged ({error}); run `tinkerlab desiderata run` again") from None


def write_report(run_dir: str | Path, html_path: str | Path | None = None) -> Path:
    """Write RUN/report.html (or `html_path`); returns its path."""
    result = load_result(run_dir)
    out = Path(html_path) if html_path is not None else Path(run_dir) / "report.html"
    picture = base64.b64encode(component_map_png(result)).decode()
    joint = result["joint"]
    found = (
        f"{len(joint['selected'])} of {result['n_components']} components ({result['n_heads']} heads, "
        f"{result['n_mlps']} MLPs): {', '.join(joint['selected']) or 'none'}"
    )
    header, rows = result_rows(result)
    stability = result["stability"]
    seed_rows = [
        [str(i), str(len(s["selected"])), ", ".join(s["selected"]) or "none"] for i, s in enumerate(result["seeds"])
    ]
    jaccard = stability["jaccard"]
    desiderata_rows = [
        [
            n,
            d["kind"],
            f"{d['weight']:g}",
            str(d["sizes"]["train"]),
            str(d["sizes"]["validation"]),
            f"{d['sizes']['heldout']} ({d['heldout_from']})",
            " | ".join(d["example"]),
        ]
        for n, d in result["desiderata"].items()
    ]
    settings = result["settings"]
    parts = [
        "<!doctype html><meta charset='utf-8'><title>desiderata report</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;font-size:.9em;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .5em}"
        "</style>",
        f"<h1>Desiderata masks: {html.escape(str(result['model']))}</h1>",
        f"<p><b>Components found:</b> {html.escape(found)}</p>",
        f"<p>Mask: {settings['relaxation']} relaxation, sparsity {settings['sparsity']}, Adam lr {settings['lr']}, "
        f"{settings['epochs']} epochs, threshold {settings['threshold']}, {settings['positions']} positions, "
        f"loss {settings['loss']}; best mask on the validation items.</p>",
        "<h2>Held-out accuracy with each mask patched</h2>",
        _table(header, rows),
        f"<h2>Component map per layer</h2><img alt='component map' src='data:image/png;base64,{picture}'>",
        "<h2>Stability across seeds</h2>",
        _table(["seed", "components", "selected"], seed_rows),
        f"<p>Jaccard overlap between seeds: {', '.join(f'{j:.2f}' for j in jaccard) or 'one seed only'}</p>",
        "<h2>Desiderata</h2>",
        _table(
            ["name", "kind", "weight", "train", "validation", "held-out", "example (original | alternate | target)"],
            desiderata_rows,
        ),
    ]
    out.write_text("\n".join(parts), encoding="utf-8")
    return out
