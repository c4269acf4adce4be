"""tinkerlab.circuits: entity-tracking circuits in Hugging Face LMs.

After Prakash, Rott Shaham, Haklay, Belinkov and Bau, "Fine-Tuning Enhances Existing Mechanisms: A Case Study on
Entity Tracking" (ICLR 2024), with Desiderata-based Component Masking from Davies et al. (2023).

Modules: `archmap` (canonical activation names per model family), `hooks` (caching, patching, mean ablation,
knockout, prefix reuse), `data` (entity-tracking prompts and counterfactuals), `pathpatch` (four-step path
patching, minimality), `evaluate` (mean-ablation faithfulness, random baseline, completeness), `dcm` (learned head
masks), `cmap` (cross-model activation patching), `models` / `finetune` (the SmolLM2 base / fine-tuned pair),
`report` (HTML with head heatmaps), `cli`.
"""
