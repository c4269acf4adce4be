"""The head groups of the entity-tracking circuit (Prakash et al., "Fine-Tuning Enhances Existing Mechanisms", ICLR
2024) and the `Circuit` type every step of the study passes around.

Value Fetchers (VF) move the answer's value to the last position; Position Transmitters (PT) hand them the
positional information of the queried box; Position Detectors (PD) compute it; Structure Readers (SR) read the
prompt's layout.
"""

from __future__ import annotations

from tinkerlab.patching.interventions import Head

GROUPS: tuple[str, ...] = ("VF", "PT", "PD", "SR")
GROUP_NAMES: dict[str, str] = {
    "VF": "Value Fetcher",
    "PT": "Position Transmitter",
    "PD": "Position Detector",
    "SR": "Structure Reader",
}
Circuit = dict[str, list[Head]]
"""Heads per group, e.g. {"VF": [(12, 3), (14, 0)], "PT": [...], ...}."""
