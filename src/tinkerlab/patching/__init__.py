"""tinkerlab.patching: interventions on Hugging Face causal LMs.

- `archmap`: one activation-name grammar (`layers.{l}.attn.head_out`, `.q`, `.k`, `.v`, `.pattern`, `mlp.out`,
  `resid_pre` ...) resolved per architecture family (`arch_map`); `register_family` checks a new map first;
- `interventions`: `Intervention`, a context manager that caches, patches (`Patch`), mean-ablates (`MeanAblation`),
  knocks out attention (`Knockout`) and applies user functions (`Edit`), and always removes its hooks;
- `prefix`: prefix reuse, `clean_run` then `run_from` recomputes only the positions and blocks an edit can change;
- `partial`: partial forwards (`skip_layers`, `frozen_attention_pass`, `unembed`);
- `masks`: learned masks over heads (`HeadMask`, `train_mask`: Desiderata-based Component Masking) and joint masks
  over heads and MLPs on several weighted objectives (`Component`, `make_objective`, `train_joint_mask`);
- `models`: `load_pretrained(folder or .gguf, device=, dtype=)`, and tiny random models of every supported family.

Used by the entity-tracking circuits study; the desiderata system builds on the same pieces.
"""

from tinkerlab.core.exports import lazy_exports

_EXPORTS = {
    "ArchMap": "tinkerlab.patching.archmap",
    "arch_map": "tinkerlab.patching.archmap",
    "register_family": "tinkerlab.patching.archmap",
    "check_family": "tinkerlab.patching.archmap",
    "FamilyMap": "tinkerlab.patching.archmap",
    "Edit": "tinkerlab.patching.interventions",
    "Intervention": "tinkerlab.patching.interventions",
    "Patch": "tinkerlab.patching.interventions",
    "MeanAblation": "tinkerlab.patching.interventions",
    "Knockout": "tinkerlab.patching.interventions",
    "Head": "tinkerlab.patching.interventions",
    "has_hooks": "tinkerlab.patching.interventions",
    "CleanRun": "tinkerlab.patching.prefix",
    "clean_run": "tinkerlab.patching.prefix",
    "run_from": "tinkerlab.patching.prefix",
    "skip_layers": "tinkerlab.patching.partial",
    "frozen_attention_pass": "tinkerlab.patching.partial",
    "unembed": "tinkerlab.patching.partial",
    "HeadMask": "tinkerlab.patching.masks",
    "DCMConfig": "tinkerlab.patching.masks",
    "DCMResult": "tinkerlab.patching.masks",
    "train_mask": "tinkerlab.patching.masks",
    "head_outputs_at": "tinkerlab.patching.masks",
    "Component": "tinkerlab.patching.masks",
    "MaskObjective": "tinkerlab.patching.masks",
    "JointMaskConfig": "tinkerlab.patching.masks",
    "JointMaskResult": "tinkerlab.patching.masks",
    "make_objective": "tinkerlab.patching.masks",
    "train_joint_mask": "tinkerlab.patching.masks",
    "tiny_model": "tinkerlab.patching.models",
    "load_pretrained": "tinkerlab.patching.models",
    "model_device": "tinkerlab.patching.models",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
