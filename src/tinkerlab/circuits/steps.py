"""The steps of the entity-tracking pipeline (`tinkerlab.circuits.experiment`), in order, and what each one reads.

A module of its own with no heavy imports, so the CLI can check `--step` without loading torch.
"""

from __future__ import annotations

STEPS = (
    "accuracy",
    "pp_base",
    "pp_finetuned",
    "faithfulness",
    "diagnostics",
    "overlap",
    "sizes",
    "dcm",
    "dcm_finetuned",
    "semantics",
    "extra",
    "cmap",
    "completeness",
    "minimality",
)
REQUIRES: dict[str, tuple[str, ...]] = {
    "faithfulness": ("pp_base",),
    "diagnostics": ("pp_base",),
    "minimality": ("pp_base",),
    "overlap": ("pp_base", "pp_finetuned"),
    "sizes": ("pp_base",),
    "completeness": ("pp_base",),
    "dcm": ("pp_base",),
    "dcm_finetuned": ("pp_finetuned",),
    "semantics": ("dcm",),
    "extra": ("dcm",),
    "cmap": ("pp_base",),
}
"""The steps whose saved results a step reads (every step of `STEPS` comes after the steps it needs)."""
