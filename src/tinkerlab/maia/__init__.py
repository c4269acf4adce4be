"""tinkerlab.maia: MAIA (Shaham et al., ICML 2024), an agent that explains units of vision models by experiment.

- `subjects`: units of torch vision models (hooks, spatial max, threshold masks) and synthetic neurons;
- `scenes`: the procedural scene generator, its prompt grammar, editor and concept detector;
- `synthetic`: synthetic neurons with ground truth (mono, OR, AND);
- `probe`: the probe set, the cached activation table, dataset exemplars;
- `tools`: the experiment tools and their backends; `proxy`: how sandboxed code reaches them;
- `agent`: the loop; `baselines`: the API-free experimenter and the exemplar-only baseline;
- `evaluate`: predictive evaluation and accuracy on synthetic neurons;
- `runs`: resumable run folders for describe, exemplars, synthetic and evaluate (the CLI's commands).
"""

from tinkerlab.core.exports import lazy_exports

_EXPORTS = {
    "UnitSubject": "tinkerlab.maia.subjects",
    "SyntheticSubject": "tinkerlab.maia.subjects",
    "SyntheticNeuron": "tinkerlab.maia.synthetic",
    "SYNTHETIC_NEURONS": "tinkerlab.maia.synthetic",
    "synthetic_neuron": "tinkerlab.maia.synthetic",
    "Scene": "tinkerlab.maia.scenes",
    "SceneObject": "tinkerlab.maia.scenes",
    "render": "tinkerlab.maia.scenes",
    "parse_prompt": "tinkerlab.maia.scenes",
    "Tools": "tinkerlab.maia.tools",
    "ProceduralGenerator": "tinkerlab.maia.tools",
    "LabelDescriber": "tinkerlab.maia.tools",
    "AgentConfig": "tinkerlab.maia.agent",
    "run_agent": "tinkerlab.maia.agent",
    "build_probe_set": "tinkerlab.maia.probe",
    "activation_table": "tinkerlab.maia.probe",
    "ProbeConfig": "tinkerlab.maia.runs",
    "ExplainConfig": "tinkerlab.maia.runs",
    "describe_run": "tinkerlab.maia.runs",
    "exemplars_run": "tinkerlab.maia.runs",
    "synthetic_run": "tinkerlab.maia.runs",
    "evaluate_run": "tinkerlab.maia.runs",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
