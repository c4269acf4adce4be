"""tinkerlab.desiderata: find the components that perform a subtask from declared causal attributes.

After Davies, Nadeau, Prakash, Rott Shaham and Bau, "Discovering Variable Binding Circuitry with Desiderata" (ICML
2023 workshop, arXiv 2307.03637), on the `patching` engine. A desideratum is a named dataset of (original,
alternate, target) triples with a kind (value change, invariance, or one a user registers); one sparse mask over
attention heads and MLPs is learned so that patching the masked components from the alternate into the original
satisfies every desideratum at once.

Modules: `spec` (desiderata, kinds, YAML specs with errors naming item and line), `tasks` (variable-binding
arithmetic prompts and their desiderata), `finetune` (the SmolLM2 variable-binding fine-tune), `search` (objectives,
joint and single masks, random masks, seeds: one run), `report` (HTML with the component map per layer), `cli`.
"""

from tinkerlab.core.exports import lazy_exports

_EXPORTS = {
    "Desideratum": "tinkerlab.desiderata.spec",
    "DesideratumKind": "tinkerlab.desiderata.spec",
    "Item": "tinkerlab.desiderata.spec",
    "MaskSettings": "tinkerlab.desiderata.spec",
    "Spec": "tinkerlab.desiderata.spec",
    "load_spec": "tinkerlab.desiderata.spec",
    "register_kind": "tinkerlab.desiderata.spec",
    "BindingTask": "tinkerlab.desiderata.tasks",
    "desideratum_items": "tinkerlab.desiderata.tasks",
    "run_search": "tinkerlab.desiderata.search",
    "write_report": "tinkerlab.desiderata.report",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
