"""A self-contained HTML report of a circuits run: head heatmaps and the paper's tables at this scale.

Part of `tinkerlab.circuits` (Prakash et al., "Fine-Tuning Enhances Existing Mechanisms", ICLR 2024). Reads the
JSON files of an experiment run directory (see `experiment.py`); pictures are embedded as data URIs.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

from tinkerlab.circuits.groups import GROUP_NAMES
from tinkerlab.core.errors import InputError


def heatmap_png(scores: dict, circuit: dict | None, title: str) -> bytes:
    """PNG of path-patching scores per group ([layers, heads] each), circuit heads outlined."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    groups = [g for g in ("VF", "PT", "PD", "SR") if g in scores]
    fig, axes = plt.subplots(1, len(groups), figsize=(2.2 * len(groups) + 0.6, 5.2), squeeze=False)
    for ax, group in zip(axes[0], groups, strict=False):
        s = np.array(scores[group])  # [layers, heads]
        bound = max(1e-6, float(np.abs(s).max()))
        im = ax.imshow(s, cmap="RdBu", vmin=-bound, vmax=bound, aspect="auto", interpolation="nearest")
        for layer, head in (circuit or {}).get(group, []):
            ax.add_patch(plt.Rectangle((head - 0.5, layer - 0.5), 1, 1, fill=False, ec="black", lw=1.2))
        ax.set_title(f"{group}: {GROUP_NAMES[group]}", fontsize=8)
        ax.set_xlabel("head", fontsize=7)
        ax.set_ylabel("layer", fontsize=7)
        ax.tick_params(labelsize=6)
        fig.colorbar(im, ax=ax, fraction=0.08, pad=0.02).ax.tick_params(labelsize=6)
    fig.suptitle(title, fontsize=9)
    return _png(fig, dpi=90)


def _png(fig, *, dpi: int) -> bytes:
    """The figure as PNG bytes; the figure is closed."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()


def sizes_png(sweep: dict, title: str) -> bytes:
    """PNG of circuit accuracy against circuit size (heads) for circuits cut at several score thresholds, with
    the full model's accuracy and same-size random circuits."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(
        (v["n_heads"], v["circuit_accuracy"], v["random_accuracy"], v["full_accuracy"], t)
        for t, v in sweep.items()
        if isinstance(v, dict)
    )
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    ax.plot([r[0] for r in rows], [r[1] for r in rows], "o-", label="circuit (rest mean-ablated)")
    ax.plot([r[0] for r in rows], [r[2] for r in rows], "s--", color="grey", label="random circuits, same sizes")
    ax.axhline(rows[0][3], color="black", lw=0.8, label="full model")
    for n, acc, _, _, threshold in rows:
        ax.annotate(f"t={threshold}", (n, acc), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xlabel("heads in the circuit")
    ax.set_ylabel("entity-tracking accuracy")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9)
    return _png(fig, dpi=100)


def cmap_png(cmap: dict, title: str) -> bytes:
    """PNG of CMAP accuracy per patched group, one bar cluster per head set, with the mismatched-prompt control
    (hatched) where present and the base and fine-tuned models' own accuracies as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    sets = [name for name, r in cmap.items() if isinstance(r, dict) and "accuracy" in r]
    if not sets:
        raise InputError("the CMAP result holds no head sets (expected {name: {'accuracy': {...}}})")
    rows = ["full circuit", *[g for g in ("VF", "PT", "PD", "SR") if g in cmap[sets[0]]["accuracy"]]]
    width = 0.8 / len(sets)
    fig, ax = plt.subplots(figsize=(8.4, 3.6))
    x = np.arange(len(rows))
    colours = plt.cm.tab10.colors
    for i, name in enumerate(sets):
        acc = cmap[name]["accuracy"]
        ax.bar(x + i * width, [acc.get(r, np.nan) for r in rows], width * 0.9, color=colours[i], label=name)
        control = [acc.get(f"{r}, mismatched prompts", np.nan) for r in rows]
        if not all(np.isnan(control)):
            ax.bar(
                x + i * width,
                control,
                width * 0.9,
                fill=False,
                hatch="///",
                edgecolor="black",
                lw=0.5,
                label="mismatched prompts (control)" if i == 0 else None,
            )
    base = cmap[sets[0]]["accuracy"].get("none")
    if base is not None:
        ax.axhline(base, color="black", lw=0.8, ls="--", label=f"base model {base:.2f}")
    if isinstance(cmap.get("finetuned model"), float):
        ax.axhline(
            cmap["finetuned model"],
            color="black",
            lw=0.8,
            label=f"fine-tuned model {cmap['finetuned model']:.2f}",
        )
    ax.set_xticks(x + width * (len(sets) - 1) / 2, rows)
    ax.set_ylabel("base-model accuracy after patching")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(title, fontsize=9)
    return _png(fig, dpi=100)


def diagnostics_png(diag: dict, title: str) -> bytes:
    """PNG of the faithfulness diagnostics as horizontal bars of accuracy: the circuit, the ceiling of its positions
    (every head there kept) and that ceiling with every head at further positions, the circuit with the other
    positions not ablated, and the circuit extended by its query-region group beside that extension's own ceiling;
    the full model as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [
        ("circuit (rest mean-ablated)", diag["circuit"], "tab:blue"),
        ("ceiling: every head at its positions", diag["ceiling"], "tab:grey"),
        *[
            (f"ceiling + every head at {'all of these' if p == 'all' else p}", a, "silver")
            for p, a in diag.get("ceiling_plus", {}).items()
        ],
    ]
    if ext := diag.get("extended"):
        groups = ", ".join(f"{g} {n}" for g, n in ext["sizes"].items() if g.startswith("QR:"))
        rows += [
            (f"circuit + query-region group ({groups})", ext["circuit"], "tab:green"),
            ("ceiling of the extended circuit's positions", ext["ceiling"], "darkseagreen"),
        ]
    rows.append(("circuit, other positions not ablated", diag["not_ablating_other_positions"], "tab:orange"))
    fig, ax = plt.subplots(figsize=(7.2, 0.32 * len(rows) + 1.1))
    y = list(range(len(rows)))[::-1]
    ax.barh(y, [r[1] for r in rows], color=[r[2] for r in rows])
    for yi, (_, value, _) in zip(y, rows, strict=True):
        ax.text(value + 0.01, yi, f"{value:.2f}", va="center", fontsize=7)
    ax.axvline(diag["full_accuracy"], color="black", lw=0.8, label=f"full model {diag['full_accuracy']:.2f}")
    ax.set_yticks(y, [r[0] for r in rows], fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_xlabel("entity-tracking accuracy")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(title, fontsize=9)
    return _png(fig, dpi=100)


def _figure(title: str, png: bytes) -> str:
    """An HTML section: a heading and the PNG embedded as a data URI."""
    uri = "data:image/png;base64," + base64.b64encode(png).decode()
    return f"<h2>{html.escape(title)}</h2><img src='{uri}' style='max-width:100%'>"


def _table(header: list[str], rows: list[list]) -> str:
    def cell(v):
        return f"{v:.2f}" if isinstance(v, float) else html.escape(str(v))

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def tables(outputs: Path) -> list[tuple[str, str]]:
    """(title, HTML table) for every finished step."""

    def load(step):
        path = outputs / f"{step}.json"
        return json.loads(path.read_text()) if path.exists() else None

    out = []
    if acc := load("accuracy"):
        out.append(
            (
                f"Entity-tracking accuracy (7 boxes, {acc.get('n', '?')} prompts)",
                _table(["model", "accuracy"], [[k, v] for k, v in acc["accuracy"].items()]),
            )
        )
        if change := acc.get("finetuned_minus_base"):
            low, high = change["ci95"]
            out.append(
                (
                    "Fine-tuned minus base, same prompts",
                    _table(
                        [
                            "difference",
                            "95% interval (bootstrap)",
                            "only base right",
                            "only fine-tuned right",
                            "p (exact McNemar)",
                        ],
                        [
                            [
                                change["difference"],
                                f"{low:+.3f} .. {high:+.3f}",
                                change["only_a"],
                                change["only_b"],
                                f"{change['p_value']:.3g}",
                            ]
                        ],
                    ),
                )
            )
    sizes = []
    for name in ("base", "finetuned"):
        if pp := load(f"pp_{name}"):
            c = pp["circuit"]
            sizes.append([name] + [len(c.get(g, [])) for g in GROUP_NAMES] + [sum(len(v) for v in c.values())])
    if sizes:
        out.append(("Circuit sizes per group", _table(["circuit", "VF", "PT", "PD", "SR", "total"], sizes)))
    if faith := load("faithfulness"):
        rows = [
            [k, v["full_accuracy"], v["circuit_accuracy"], v["faithfulness"], v["random_accuracy"]]
            for k, v in faith.items()
            if isinstance(v, dict)
        ]
        out.append(
            (
                "Faithfulness (mean ablation)",
                _table(["circuit in model", "full acc", "circuit acc", "faithfulness", "random"], rows),
            )
        )
    if diag := load("diagnostics"):
        rows = [
            ["circuit", diag["circuit"]],
            ["ceiling: every head at the circuit's positions", diag["ceiling"]],
            ["circuit, other positions not ablated", diag["not_ablating_other_positions"]],
            *[[f"ceiling + every head at {p}", a] for p, a in diag.get("ceiling_plus", {}).items()],
        ]
        if ext := diag.get("extended"):
            rows += [["circuit + query-region group", ext["circuit"]], ["its ceiling", ext["ceiling"]]]
        out.append(
            (
                f"Faithfulness diagnostics (base model, full accuracy {diag['full_accuracy']:.3f})",
                _table(["measurement", "accuracy"], rows),
            )
        )
    if overlap := load("overlap"):
        rows = [
            [g, v["base"], v["finetuned"], v["shared"], v["precision"], v["recall"]]
            for g, v in overlap.items()
            if isinstance(v, dict)
        ]
        out.append(
            (
                "Overlap of the base and fine-tuned circuits",
                _table(["group", "base heads", "fine-tuned heads", "shared", "precision", "recall"], rows),
            )
        )
        if crossed := overlap.get("any_group"):
            out.append(
                (
                    "Heads in both circuits (any group)",
                    _table(
                        ["head", "base group", "fine-tuned group"],
                        [[f"L{h['head'][0]}H{h['head'][1]}", h["base"], h["finetuned"]] for h in crossed],
                    ),
                )
            )
    if sizes_sweep := load("sizes"):
        rows = [
            [
                t,
                " / ".join(str(v["sizes"][g]) for g in GROUP_NAMES if g in v["sizes"]),
                v["n_heads"],
                v["circuit_accuracy"],
                v["faithfulness"],
                v["random_accuracy"],
            ]
            for t, v in sizes_sweep.items()
            if isinstance(v, dict)
        ]
        out.append(
            (
                "Base circuit cut at several thresholds (base model)",
                _table(["threshold", "VF / PT / PD / SR", "heads", "circuit acc", "faithfulness", "random"], rows),
            )
        )
    if dcm := load("dcm"):
        rows = [
            [g, d, len(r["selected"]), len(r["heads"]), r["test_accuracy"]]
            for g, per in dcm.items()
            if isinstance(per, dict)
            for d, r in per.items()
        ]
        out.append(
            (
                "DCM (base circuit, base model)",
                _table(["group", "desideratum", "selected", "of", "test acc"], rows),
            )
        )
    if sem := load("semantics"):
        rows = [
            [m, g, d, r["heads"], r["accuracy"], " - ".join(f"{x:.3f}" for x in r.get("ci95", []))]
            for m, per in sem.items()
            if isinstance(per, dict)
            for g, dd in per.items()
            for d, r in dd.items()
        ]
        out.append(
            (
                "Semantic patching of the DCM heads",
                _table(["model", "group", "desideratum", "heads", "accuracy", "95% interval"], rows),
            )
        )
    if extra := load("extra"):
        rows = [[m, p, a] for m, per in extra.items() if m in ("base", "finetuned") for p, a in per.items()]
        out.append(
            (
                "Additional positional desiderata (PT heads)",
                _table(["model", "perturbation", "accuracy"], rows),
            )
        )
    if cm := load("cmap"):
        rows = [[name, k, v] for name, r in cm.items() if isinstance(r, dict) for k, v in r["accuracy"].items()]
        out.append(("CMAP: fine-tuned heads into the base model", _table(["heads", "patched", "accuracy"], rows)))
    if comp := load("completeness"):
        rows = [
            [
                "random subsets",
                *[
                    f"{m:.2f}±{s:.2f}"
                    for m, s in (
                        comp["random"]["model"],
                        comp["random"]["circuit"],
                        comp["random"]["incompleteness"],
                    )
                ],
            ]
        ]
        rows += [[g, v["model"], v["circuit"], v["incompleteness"]] for g, v in comp["per_group"].items()]
        out.append(("Completeness", _table(["removed", "model", "circuit", "incompleteness"], rows)))
    return out


def write_report(run_dir: str | Path, path: str | Path) -> Path:
    """Write the HTML report of an experiment run directory.

    Raises:
        InputError: the folder holds no circuits outputs.
    """
    outputs = Path(run_dir) / "outputs"
    if not outputs.is_dir() or not any(outputs.glob("*.json")):
        raise InputError(f"{run_dir} holds no circuits results (expected {outputs}/*.json); run the pipeline first")
    parts = [
        "<!doctype html><meta charset='utf-8'><title>tinkerlab circuits report</title>",
        (
            "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse;"
            "margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}</style>"
        ),
        "<h1>Entity-tracking circuits</h1><p>After Prakash et al., ICLR 2024, on SmolLM2-135M.</p>",
    ]
    for name in ("base", "finetuned"):
        pp = outputs / f"pp_{name}.json"
        if pp.exists():
            data = json.loads(pp.read_text())
            parts.append(
                _figure(
                    f"Path patching: {name} model",
                    heatmap_png(
                        data["scores"],
                        data["circuit"],
                        f"path-patching scores, {name} model (relative change of p(answer); circuit heads boxed)",
                    ),
                )
            )
    figures = (  # (output file, heading, drawing function, figure title)
        ("sizes", "Circuit size and faithfulness", sizes_png, "base circuit cut at several thresholds, base model"),
        (
            "cmap",
            "Cross-model activation patching",
            cmap_png,
            "CMAP: fine-tuned head outputs written into the base model",
        ),
        (
            "diagnostics",
            "Faithfulness against the ceiling of the circuit's positions",
            diagnostics_png,
            "faithfulness diagnostics, base model",
        ),
    )
    for name, heading, draw, title in figures:
        result = outputs / f"{name}.json"
        if result.exists():
            parts.append(_figure(heading, draw(json.loads(result.read_text()), title)))
    for title, table in tables(outputs):
        parts.append(f"<h2>{html.escape(title)}</h2>{table}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
