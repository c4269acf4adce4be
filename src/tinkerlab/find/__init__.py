"""tinkerlab.find: FIND, a function-description benchmark for interpretability methods (Schwettmann et al., NeurIPS
2023 Datasets & Benchmarks).

- `suite`: the deterministic suite builder and loader (numeric, strings, entities, relations functions);
- `protocol`: black boxes, prompts and answer parsing of the interpreter protocol;
- `agent` / `baselines`: the LLM interpreter and interpreters that need no chat model;
- `runner`: resumable runs of interpreters over a suite, on a local pool or Ray;
- `harness`, `metrics`, `judges`, `scoring`: interpretation code in the sandbox, the original's metrics, the
  unit-test judges, and scoring a run; `report`: the paper-layout table.
"""

from tinkerlab.core.exports import lazy_exports

_EXPORTS = {
    "build_suite": "tinkerlab.find.suite",
    "load_suite": "tinkerlab.find.suite",
    "score_run": "tinkerlab.find.scoring",
    "run_interpretations": "tinkerlab.find.runner",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
