"""FIND report: one table in the paper's layout (Numeric, Str-code, Str-unit, Entities, Relations), per
interpreter run, beside the published numbers; JSON, CSV, Markdown and plots.

A cell whose functions are mostly failed runs (no API key, an unreachable model: see `tinkerlab.find.runner`) shows
"failed runs" instead of a score, since their zeros measure the setup and not the interpreter.

Rows have a kind: ``run`` (an interpreter), ``control`` (the hints-only control, `tinkerlab.find.baselines.
HintsInterpreter`), ``reference`` (ground-truth and vacuous descriptions) or ``published``. A run whose interpreter
read the hint words (``--hints``, the exemplar baseline, the hints control) is labelled "(uses hints)".

The published rows are the FIND scorecard (Schwettmann et al., NeurIPS 2023 D&B) as collected in the project's
reference notes, where they are marked third-party: verify them against the paper before quoting. They were
measured on the original's suite (entity and relation functions on Vicuna-13B, not available offline), so they
are not directly comparable with rows measured on a suite built here (`PUBLISHED_NOTE`, printed under the table).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from tinkerlab.core.errors import InputError
from tinkerlab.core.runs import RunDir

COLUMNS = ("Numeric", "Str-code", "Str-unit", "Entities", "Relations")
CATEGORY_COLUMNS = {
    "numeric": ("Numeric",),
    "strings": ("Str-code", "Str-unit"),
    "entities": ("Entities",),
    "relations": ("Relations",),
}

PUBLISHED: dict[str, dict[str, float | None]] = {
    "AIA, GPT-4 (published, original suite)": {
        "Numeric": 0.33,
        "Str-code": 0.23,
        "Str-unit": 0.82,
        "Entities": 0.56,
        "Relations": 0.74,
    },
    "AIA, GPT-3.5 (published, original suite)": {
        "Numeric": 0.12,
        "Str-code": 0.13,
        "Str-unit": 0.66,
        "Entities": 0.39,
        "Relations": 0.64,
    },
    "AIA + search init, GPT-4 (published, original suite; uses hints)": {
        "Numeric": None,
        "Str-code": None,
        "Str-unit": None,
        "Entities": 0.89,
        "Relations": 0.92,
    },
}
"""Published results [3rd-party summary of the paper's main table; verify before quoting]."""
PUBLISHED_NOTE = (
    "Published rows were measured on the original FIND suite (entity and relation functions on Vicuna-13B, not "
    "available offline) with the paper's evaluator; the other rows ran on a suite built here, so the two are not "
    "directly comparable."
)
KINDS = {"hints": "control", "truth": "reference", "vacuous": "reference"}
"""Interpreter -> row kind (other interpreters: ``run``)."""


def _column(score: dict[str, Any]) -> str | None:
    if score["metric"] == "numeric":
        return "Numeric"
    if score["metric"] == "strings_code":
        return "Str-code"
    if score["metric"] == "unit":
        return {"strings": "Str-unit", "entities": "Entities", "relations": "Relations"}[score["category"]]
    return None


def summarise_run(run_dir: str | Path) -> dict[str, Any]:
    """Mean score and count per column for one scored run, plus the numeric breakdown by variant."""
    run_dir = Path(run_dir)
    scores_file = run_dir / "outputs" / "scores.json"
    if not scores_file.exists():
        raise InputError(f"{run_dir} is not scored yet; run `tinkerlab find score {run_dir}` first")
    data = json.loads(scores_file.read_text())
    _, config = RunDir.load(run_dir, system="find", hint="make one with `tinkerlab find run`")
    sums: dict[str, list[float]] = {}
    for score in data["scores"]:
        column = _column(score)
        if column:
            sums.setdefault(column, []).append(float(score["score"]))
    row = {c: (sum(v) / len(v) if v else None) for c, v in sums.items()}
    counts = {c: len(v) for c, v in sums.items()}
    failed_runs = _failed_runs(run_dir)
    for column, (failed, total) in failed_runs.items():
        if column in row and 2 * failed > total:
            row[column] = None  # mostly failed runs: a score here would measure the setup
    by_variant: dict[str, list[float]] = {}
    numeric = [s for s in data["scores"] if s["metric"] == "numeric"]
    if numeric:
        from tinkerlab.find.suite import load_suite

        specs = {s["id"]: s for s in load_suite(config["suite"], categories=("numeric",)).functions["numeric"]}
        for s in numeric:
            spec = specs[s["function_id"]]
            key = spec["variant"] if spec["kind"] == "atomic" or spec["variant"] != "clean" else "clean (sum/product)"
            by_variant.setdefault(key, []).append(float(s["score"]))
    names = {
        "baseline": "baselines (fit / search / exemplar)",
        "fit": "parametric fit",
        "search": "program search",
        "exemplar": "exemplar search",
        "interp": "interpolation (memorising)",
        "hints": "control: hint words only",
        "truth": "reference: ground-truth descriptions",
        "vacuous": "reference: vacuous description",
    }
    label = names.get(config["interpreter"], config["interpreter"])
    if _uses_hints(config, {s["category"] for s in data["scores"]}):
        label += " (uses hints)"
    if data.get("evaluator"):
        label += f" [judge: {data['evaluator']}]"
    return {
        "run": str(run_dir),
        "interpreter": label,
        "kind": KINDS.get(config["interpreter"], "run"),
        "evaluator": data.get("evaluator"),
        "scores": row,
        "counts": counts,
        "numeric_by_variant": {k: {"score": sum(v) / len(v), "count": len(v)} for k, v in sorted(by_variant.items())},
        "errors": sum(1 for s in data["scores"] if s.get("error")),
        "failed_runs": {c: {"failed": f, "of": n} for c, (f, n) in failed_runs.items() if f},
    }


def _uses_hints(config: dict[str, Any], categories: set[str]) -> bool:
    """Whether the run's interpreter read the hint words: ``--hints``, or a hint-reading interpreter (the exemplar
    baseline, also inside ``baseline``, and the hints control) on entities or relations."""
    from tinkerlab.find.runner import BASELINE_FOR, USES_HINTS

    if config.get("hints") or config.get("single_round"):
        return True
    interpreter = config["interpreter"]
    hinted = {c for c in ("entities", "relations") if c in categories}
    if interpreter == "baseline":
        return any(BASELINE_FOR[c] in USES_HINTS for c in hinted)
    return interpreter in USES_HINTS and bool(hinted)


def _failed_runs(run_dir: Path) -> dict[str, tuple[int, int]]:
    """Column -> (failed runs, interpretations) from the run's interpretation records."""
    from tinkerlab.find.runner import failure_of, load_interpretations

    counts: dict[str, tuple[int, int]] = {}
    for category, records in load_interpretations(run_dir).items():
        failed = sum(1 for record in records.values() if failure_of(record))
        for column in CATEGORY_COLUMNS.get(category, ()):
            counts[column] = (failed, len(records))
    return counts


def make_report(run_dirs: list[str | Path], out: str | Path, *, published: bool = True) -> dict[str, Any]:
    """Write report.json, report.csv, report.md and plots for scored runs.

    Args:
        run_dirs: scored run folders.
        out: the report folder.
        published: add the published rows to the table.

    Returns:
        The report dict (as in report.json).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs = [summarise_run(r) for r in run_dirs]
    rows = [
        {
            "interpreter": r["interpreter"],
            "kind": r["kind"],
            **{c: r["scores"].get(c) for c in COLUMNS},
            "counts": r["counts"],
            "evaluator": r["evaluator"],
            "failed_runs": r["failed_runs"],
        }
        for r in runs
    ]
    if published:
        rows += [
            {"interpreter": name, "kind": "published", **values, "counts": {}, "evaluator": "published"}
            for name, values in PUBLISHED.items()
        ]
    report = {"columns": list(COLUMNS), "rows": rows, "runs": runs}
    if published:
        report["published_note"] = PUBLISHED_NOTE
    (out / "report.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    with open(out / "report.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["interpreter", *COLUMNS])
        for row in rows:
            writer.writerow([row["interpreter"], *(_csv_cell(row, c) for c in COLUMNS)])
    (out / "report.md").write_text(markdown_table(rows), encoding="utf-8")
    _plot(rows, runs, out)
    return report


def _csv_cell(row: dict[str, Any], column: str) -> str:
    if row[column] is not None:
        return f"{row[column]:.3f}"
    failed = row.get("failed_runs", {}).get(column)
    return f"failed runs ({failed['failed']}/{failed['of']})" if failed else ""


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The paper-layout table as Markdown (n per cell when known; "failed runs" where most runs failed).

    Control and reference rows say so in their label; with published rows, `PUBLISHED_NOTE` follows the table.
    """
    lines = ["| Interpreter | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for row in rows:
        cells = []
        for column in COLUMNS:
            value = row.get(column)
            count = row.get("counts", {}).get(column)
            failed = row.get("failed_runs", {}).get(column)
            if value is None:
                cells.append(f"failed runs ({failed['failed']}/{failed['of']})" if failed else "–")
                continue
            notes = [f"n={count}"] if count else []
            notes += [f"{failed['failed']} failed runs"] if failed else []
            cells.append(f"{value:.2f}" + (f" ({', '.join(notes)})" if notes else ""))
        lines.append(f"| {row['interpreter']} | " + " | ".join(cells) + " |")
    if any(row.get("kind") == "published" for row in rows):
        lines += ["", PUBLISHED_NOTE]
    return "\n".join(lines) + "\n"


def _plot(rows: list[dict[str, Any]], runs: list[dict[str, Any]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(10, 3.6), dpi=100)
    width = 0.8 / max(len(rows), 1)
    for index, row in enumerate(rows):
        values = [row.get(c) if row.get(c) is not None else np.nan for c in COLUMNS]
        ax.bar(np.arange(len(COLUMNS)) + index * width - 0.4 + width / 2, values, width, label=row["interpreter"])
    ax.set_xticks(np.arange(len(COLUMNS)), COLUMNS)
    ax.set_ylim(0, 1)
    ax.set_ylabel("score")
    ax.axhline(1 / 3, color="grey", lw=0.8, ls=":")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title("FIND scores (dotted: chance for unit tests)")
    fig.tight_layout()
    fig.savefig(out / "scores.png")
    plt.close(fig)
    variants = [r for r in runs if r["numeric_by_variant"]]
    if variants:
        fig, ax = plt.subplots(figsize=(7, 3.2), dpi=100)
        keys = sorted({k for r in variants for k in r["numeric_by_variant"]})
        width = 0.8 / len(variants)
        for index, r in enumerate(variants):
            values = [r["numeric_by_variant"].get(k, {}).get("score", np.nan) for k in keys]
            ax.bar(np.arange(len(keys)) + index * width - 0.4 + width / 2, values, width, label=r["interpreter"])
        ax.set_xticks(np.arange(len(keys)), keys, fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_ylabel("fraction NMSE < 0.1")
        ax.legend(fontsize=7)
        ax.set_title("Numeric functions by variant")
        fig.tight_layout()
        fig.savefig(out / "numeric_by_variant.png")
        plt.close(fig)
