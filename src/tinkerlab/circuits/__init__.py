"""tinkerlab.circuits: entity-tracking circuits in Hugging Face LMs.

After Prakash, Rott Shaham, Haklay, Belinkov and Bau, "Fine-Tuning Enhances Existing Mechanisms: A Case Study on
Entity Tracking" (ICLR 2024), with Desiderata-based Component Masking from Davies et al. (2023), on the `patching`
engine.

Modules: `data` (entity-tracking prompts and counterfactuals), `groups` (the four head groups, `Circuit`),
`pathpatch` (four-step path patching, minimality), `evaluate` (mean-ablation faithfulness, random baseline,
completeness), `cmap` (cross-model activation patching), `models` / `finetune` (the SmolLM2 base / fine-tuned pair),
`experiment` (the whole pipeline, resumable), `report` (HTML with head heatmaps), `cli`.
"""

from tinkerlab.core.exports import lazy_exports

_EXPORTS = {
    "entity_batch": "tinkerlab.circuits.data",
    "EntityBatch": "tinkerlab.circuits.data",
    "GROUPS": "tinkerlab.circuits.groups",
    "GROUP_NAMES": "tinkerlab.circuits.groups",
    "Circuit": "tinkerlab.circuits.groups",
    "PathPatcher": "tinkerlab.circuits.pathpatch",
    "PathPatchConfig": "tinkerlab.circuits.pathpatch",
    "path_patch": "tinkerlab.circuits.pathpatch",
    "select_heads": "tinkerlab.circuits.pathpatch",
    "evaluate_circuit": "tinkerlab.circuits.evaluate",
    "accuracy": "tinkerlab.circuits.evaluate",
    "cmap_table": "tinkerlab.circuits.cmap",
    "load_model": "tinkerlab.circuits.models",
    "Experiment": "tinkerlab.circuits.experiment",
    "ExperimentConfig": "tinkerlab.circuits.experiment",
    "write_report": "tinkerlab.circuits.report",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
