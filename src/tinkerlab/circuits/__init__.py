"""tinkerlab.circuits: entity-tracking circuits in Hugging Face LMs.

After Prakash, Rott Shaham, Haklay, Belinkov and Bau, "Fine-Tuning Enhances Existing Mechanisms: A Case Study on
Entity Tracking" (ICLR 2024), with Desiderata-based Component Masking from Davies et al. (2023), on the `patching`
engine.

Modules: `data` (entity-tracking prompts and counterfactuals), `groups` (the four head groups, `Circuit`),
`pathpatch` (four-step path patching, bootstrap intervals, selection by interval, split halves), `evaluate`
(mean-ablation faithfulness, its ceiling and diagnostics, random baseline, completeness, minimality), `cmap`
(cross-model activation patching), `models` / `finetune` (the SmolLM2 base / fine-tuned pair, or any model by path),
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
    "faithfulness_diagnostics": "tinkerlab.circuits.evaluate",
    "position_layer_sweep": "tinkerlab.circuits.evaluate",
    "query_region_group": "tinkerlab.circuits.evaluate",
    "greedy_query_region_group": "tinkerlab.circuits.evaluate",
    "head_attributions": "tinkerlab.circuits.evaluate",
    "bootstrap_intervals": "tinkerlab.circuits.pathpatch",
    "select_by_interval": "tinkerlab.circuits.pathpatch",
    "split_half_overlap": "tinkerlab.circuits.pathpatch",
    "accuracy": "tinkerlab.circuits.evaluate",
    "cmap_table": "tinkerlab.circuits.cmap",
    "load_model": "tinkerlab.circuits.models",
    "Experiment": "tinkerlab.circuits.experiment",
    "ExperimentConfig": "tinkerlab.circuits.experiment",
    "write_report": "tinkerlab.circuits.report",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
