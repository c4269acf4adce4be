"""Gallery section for FIND (Schwettmann et al., NeurIPS 2023 D&B): a few numeric functions (clean, noisy,
interval-corrupted, MLP-approximated) plotted against the parametric-fit baseline's interpretation, scored in
the sandbox exactly as the benchmark does; and string functions recovered by program search.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

_DEMO_FUNCTIONS = (  # (family, variant, composite, seed)
    ("sin", "clean", False, 3),
    ("polynomial", "noise", False, 5),
    ("gaussian", "corrupt", False, 11),
    ("step", "mlp", False, 2),
    ("", "clean", True, 8),
)


def demo_numeric_specs() -> list[dict[str, Any]]:
    """Five fixed numeric functions covering the variants (deterministic)."""
    from tinkerlab.find import numeric

    specs = []
    for index, (family, variant, composite, seed) in enumerate(_DEMO_FUNCTIONS):
        rng = np.random.default_rng(seed)
        spec = numeric.sample_numeric_function(
            rng,
            f"f{index:05d}",
            variant=variant,
            composite=composite,  # type: ignore[arg-type]
            family=family or None,
        )
        specs.append(spec)
    numeric.fit_mlps([s for s in specs if s["variant"] == "mlp"], steps=100)
    return specs


def plot_interpretation(spec: dict[str, Any], code: str, score: Any, path: str | Path) -> Path:
    """Plot the black box's outputs, the clean function and an interpretation's code on [-128, 128]."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tinkerlab.find import numeric

    x = numeric.scoring_inputs()
    exposed = numeric.ground_truth_values(spec)
    clean = numeric.clean_values(spec, x)
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # noqa: S102 - the baseline's own code, already scored in the sandbox
    with np.errstate(all="ignore"):
        pred = np.array([float(namespace["f"](float(v))) for v in x])
    fig, ax = plt.subplots(figsize=(5.2, 3.2), dpi=90)
    ax.plot(x, exposed, ".", ms=3, color="#999999", label=f"black box ({spec['variant']})")
    if spec["variant"] != "clean":
        ax.plot(x, clean, lw=1, color="#1f77b4", alpha=0.7, label="clean function")
    ax.plot(x, pred, lw=1.6, color="#d62728", label="fit baseline")
    if spec.get("corruption"):
        c = spec["corruption"]
        low = c["a"] if c["type"] != "interval_smaller" else -128
        high = c.get("b", 128) if c["type"] != "interval_larger" else 128
        if c["type"] == "interval_smaller":
            high = c["a"]
        ax.axvspan(low, high, color="orange", alpha=0.15, label="corrupted interval")
    finite = exposed[np.isfinite(exposed)]
    if finite.size:
        pad = 0.1 * (finite.max() - finite.min() + 1e-9)
        ax.set_ylim(finite.min() - pad, finite.max() + pad)
    nmse = "n/a" if score.value is None else f"{score.value:.3g}"
    ax.set_title(f"{spec['id']}: NMSE {nmse} -> {'success' if score.score else 'fail'}", fontsize=9)
    ax.legend(fontsize=6, loc="best")
    ax.set_xlabel("x")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def run_demo(ctx: Any) -> None:
    """Fill the FIND gallery section (about 10-20 s on a 2-core CPU)."""
    from tinkerlab.find import metrics, strings
    from tinkerlab.find.baselines import NumericFitInterpreter, StringSearchInterpreter
    from tinkerlab.find.protocol import BlackBox

    section = ctx.section
    section.title = "FIND: function interpretation"
    section.description = (
        "Black-box functions with ground truth. The parametric-fit baseline queries each numeric function on "
        "[-128, 128] and writes a description and code; the code runs in the sandbox and succeeds when "
        "NMSE < 0.1 on x = i + 0.5. Program search recovers string functions from probe inputs."
    )
    specs = demo_numeric_specs()
    fit = NumericFitInterpreter()
    results = [fit.interpret(s, BlackBox(s, seed=1)) for s in specs]
    scores = metrics.score_numeric(specs, {r.function_id: r.code for r in results})
    rows = []
    for spec, result, score in zip(specs, results, scores, strict=False):
        path = plot_interpretation(spec, result.code, score, Path(ctx.out_dir) / f"find_{spec['id']}.png")
        section.add_image(f"{spec['id']} ({spec['variant']})", str(path), caption=f"truth: {spec['description'][:160]}")
        rows.append(
            [
                spec["id"],
                spec["variant"],
                spec["description"][:90],
                result.description[:90],
                "-" if score.value is None else f"{score.value:.3g}",
                int(score.score),
            ]
        )
    section.add_table(
        "Numeric: ground truth vs the fit baseline",
        ["id", "variant", "ground truth", "interpretation", "NMSE", "success"],
        rows,
    )
    rng = np.random.default_rng(4)
    string_specs = [strings.sample_string_function(rng, f"f{i:05d}") for i in range(5)]
    search = StringSearchInterpreter(time_budget_s=2.0)
    string_rows = []
    for spec in string_specs:
        result = search.interpret(spec, BlackBox(spec))
        example = strings.sample_input(rng)
        string_rows.append(
            [spec["description"][:80], result.description[:80], example, strings.safe_apply(spec, example)]
        )
    section.add_table("Strings: program search", ["ground truth", "recovered", "example input", "output"], string_rows)
    section.add_code("The fit baseline's code for the corrupted function", results[2].code)
