"""The paper's pipeline on the base / fine-tuned pair, step by step, with every step saved and resumable.

Part of `tinkerlab.circuits` (Prakash et al., "Fine-Tuning Enhances Existing Mechanisms", ICLR 2024). Steps, each
written to `RUN/outputs/<step>.json` and skipped when that file exists (so an interrupted run resumes):

| step          | what                                                                         | paper  |
|---------------|------------------------------------------------------------------------------|--------|
| accuracy      | entity-tracking accuracy of original, base and fine-tuned models (7 boxes)   | Tab. 1 |
| pp_base       | four-step path patching on the base model -> base circuit                    | Fig. 2 |
| pp_finetuned  | the same on the fine-tuned model -> fine-tuned circuit                        | Tab. 2 |
| faithfulness  | base circuit in both models, fine-tuned circuit in the fine-tuned model,     | Tab. 1 |
|               | random circuits of equal group sizes                                          |        |
| diagnostics   | the ceiling of the circuit's positions, no ablation elsewhere, position x    | -      |
|               | layer sweep, the query-region group and the extended circuit                  |        |
| overlap       | heads shared by the base and fine-tuned circuits, per group, against the      | Tab. 2 |
|               | split-half self-overlap (noise floor); the fine-tuned model scored on the     |        |
|               | base circuit's paths: rank correlation of the maps, size-matched overlap      |        |
| sizes         | faithfulness of base circuits cut at several score thresholds (size sweep)    | -      |
| completeness  | incompleteness of the base circuit in the base model                          | App.   |
| minimality    | pairwise minimality on a candidate pool twice the circuit's caps             | App.   |
| dcm           | DCM per group and desideratum, base circuit, base model                       | Tab. 3 |
| dcm_finetuned | DCM of the fine-tuned circuit in the fine-tuned model (CMAP head subsets)     | Sec. 5 |
| semantics     | the base circuit's DCM heads patched in each model (semantic patching)        | Tab. 3 |
| extra         | the positional PT heads on the additional (perturbed) positional desiderata   | Tab. 4 |
| cmap          | fine-tuned circuit heads patched into the base model, per group               | Fig. 4 |
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from tinkerlab.circuits.data import LABELS, OBJECTS
from tinkerlab.circuits.steps import REQUIRES, STEPS
from tinkerlab.core.config import check_choice, check_count, check_range
from tinkerlab.core.errors import InputError
from tinkerlab.core.runs import RunDir, atomic_write_text

SWEEP_PAIRS = 20  # pairs of the diagnostics step's position x layer sweep


@dataclass(frozen=True)
class ExperimentConfig:
    """Sizes of every step (the paper's: 300 path-patching prompts, 500 for evaluation and the mean-ablation
    reference, 2000 DCM pairs, of which 600 are used here to bound time and memory), and the path-patching
    threshold (a head joins its group when it lowers p(answer) by at least this fraction; the `sizes` step shows
    faithfulness at other thresholds). `pp_selection` is 'threshold' (the mean score, as the paper) or 'interval'
    (the head's whole bootstrap interval over prompts beyond the threshold, `n_boot` resamples).

    `model` and `finetuned_model` name the pair (the cached SmolLM2 pair by default) or give any causal LM of a
    family the patching engine maps, as a transformers folder or a GGUF file; `dtype` is the weights' dtype. The
    device is not part of the config (`Experiment(device=...)`): it does not change what a step computes."""

    model: str = "base"
    finetuned_model: str = "finetuned"
    dtype: str = "float32"
    n_boxes: int = 7
    n_accuracy: int = 500
    n_path_patching: int = 300
    pp_threshold: float = 0.01
    pp_selection: str = "threshold"
    n_boot: int = 1000
    n_eval: int = 300
    n_means: int = 500
    n_dcm: int = 600
    n_random: int = 10
    dcm_sparsity: float = 0.01
    dcm_epochs: int = 2
    n_completeness: int = 10
    seed: int = 0

    def __post_init__(self) -> None:
        check_choice(self, "dtype", ("float32", "bfloat16", "float16"))
        check_count(self, "n_boxes", 3, min(len(OBJECTS), len(LABELS)))  # the desiderata need three boxes
        for name in ("n_accuracy", "n_path_patching", "n_eval", "n_means", "n_dcm", "n_random", "n_completeness"):
            check_count(self, name, 1)
        check_range(self, "pp_threshold", 0, 1)
        check_choice(self, "pp_selection", ("threshold", "interval"))
        check_count(self, "n_boot", 10)
        check_range(self, "dcm_sparsity", 0)
        check_count(self, "dcm_epochs", 1)
        check_count(self, "seed")


SIZE_THRESHOLDS = (0.04, 0.02, 0.01, 0.005)
ADDED_KEYS = ("model", "finetuned_model", "dtype", "pp_selection", "n_boot")
"""Settings runs made before they existed lack; such a run resumes while they keep their default values."""


def _keys_new_to(out: str | Path, config: ExperimentConfig) -> tuple[str, ...]:
    """The `ADDED_KEYS` that the run in `out` does not record and that `config` leaves at their defaults."""
    record = Path(out) / "config.json"
    try:
        saved = json.loads(record.read_text(encoding="utf-8")).get("config") or {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        return ()
    defaults = ExperimentConfig()
    return tuple(k for k in ADDED_KEYS if k not in saved and getattr(config, k) == getattr(defaults, k))


class Experiment:
    """Holds the models and the prompt sets; `run(step)` computes a step once and saves it."""

    def __init__(
        self, out: str | Path, config: ExperimentConfig = ExperimentConfig(), log=print, *, device: str = "cpu"
    ) -> None:
        self.run_dir = RunDir.open(out, system="circuits", config=config, ignore_keys=_keys_new_to(out, config))
        self.config = config
        self.device = device
        self._log = log
        self._models: dict = {}
        self._means: dict = {}
        self._pairs: dict = {}

    def log(self, line: str) -> None:
        self.run_dir.log(line)
        if self._log:
            self._log(line)

    def model(self, name: str):
        from tinkerlab.circuits.models import load_model

        if name not in self._models:
            spec = {"base": self.config.model, "finetuned": self.config.finetuned_model}.get(name, name)
            self._models[name] = load_model(spec, device=self.device, dtype=self.config.dtype)
        return self._models[name]

    @property
    def tokenizer(self):
        return self.model("base")[1]

    def result(self, step: str) -> dict | None:
        path = self.run_dir.outputs / f"{step}.json"
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{path} is damaged ({exc}); delete it to compute step {step} again") from None

    def _save(self, step: str, data: dict) -> dict:
        atomic_write_text(self.run_dir.outputs / f"{step}.json", json.dumps(data, indent=1) + "\n")
        return data

    def eval_batch(self):
        from tinkerlab.circuits.data import entity_batch

        return entity_batch(
            self.tokenizer, self.config.n_eval, n_boxes=self.config.n_boxes, seed=self.config.seed + 500
        )

    def means(self, name: str) -> torch.Tensor:
        from tinkerlab.circuits.data import mean_ablation_prompts
        from tinkerlab.circuits.evaluate import head_means

        if name not in self._means:
            ref = mean_ablation_prompts(
                self.tokenizer, self.config.n_means, n_boxes=self.config.n_boxes, seed=self.config.seed
            )
            self._means[name] = head_means(self.model(name)[0], ref)
        return self._means[name]

    def circuit(self, name: str) -> dict:
        data = self.result(f"pp_{name}")
        if data is None:
            raise InputError(
                f"step pp_{name} has not run in {self.run_dir.path}; run it first with "
                f"`tinkerlab circuits run --out {self.run_dir.path} --step pp_{name}`"
            )
        return {g: [tuple(h) for h in hs] for g, hs in data["circuit"].items()}

    def run(self, step: str, *, force: bool = False) -> dict:
        """Compute one step (or load it when saved), returning its JSON-able result.

        Raises:
            InputError: an unknown step, or a step whose prerequisite steps (`REQUIRES`) have not run yet; both
                are checked before any model is loaded.
        """
        if step not in STEPS:
            raise InputError(f"unknown step {step!r}; expected one of {', '.join(STEPS)}")
        missing = [need for need in REQUIRES.get(step, ()) if self.result(need) is None]
        if missing and (force or self.result(step) is None):
            steps = " ".join(f"--step {need}" for need in missing)
            raise InputError(
                f"step {step} needs the results of {', '.join(missing)}, which have not run in {self.run_dir.path}; "
                f"run `tinkerlab circuits run --out {self.run_dir.path} {steps}` first "
                "(or `tinkerlab circuits run` for the whole pipeline)"
            )
        if not force and (done := self.result(step)) is not None:
            self.log(f"{step}: reused saved result")
            return done
        start = time.perf_counter()
        data = getattr(self, f"_step_{step}")()
        data["step_seconds"] = time.perf_counter() - start  # not "seconds": path patching keeps its per-group times
        self.log(f"{step}: done in {data['step_seconds']:.0f} s")
        return self._save(step, data)

    # --- steps --------------------------------------------------------------------------------------------------
    def _step_accuracy(self) -> dict:
        from tinkerlab.circuits.data import entity_batch
        from tinkerlab.circuits.evaluate import correct_mask, paired_difference
        from tinkerlab.circuits.models import model_dir

        # Prompts of their own seed: neither the fine-tune's monitoring prompts nor any set a recipe was chosen on.
        batch = entity_batch(
            self.tokenizer, self.config.n_accuracy, n_boxes=self.config.n_boxes, seed=self.config.seed + 2000
        )
        out, masks = {}, {}
        for name in ("original", "base", "finetuned"):
            masks[name] = correct_mask(self.model(name)[0], batch)
            out[name] = float(masks[name].float().mean())
            self.log(f"accuracy {name}: {out[name]:.3f}")
        change = paired_difference(masks["base"], masks["finetuned"])
        self.log(f"fine-tuned minus base: {change}")
        record = model_dir("finetuned") / "training.json"
        during = json.loads(record.read_text()).get("entity_tracking_accuracy") if record.exists() else None
        return {"accuracy": out, "n": len(batch), "finetuned_minus_base": change, "during_finetune": during}

    def _path_patch(self, name: str) -> dict:
        from tinkerlab.circuits.data import path_patching_pairs
        from tinkerlab.circuits.pathpatch import PathPatchConfig, PathPatchResult, path_patch

        clean, corrupt = path_patching_pairs(
            self.tokenizer, self.config.n_path_patching, n_boxes=self.config.n_boxes, seed=self.config.seed
        )
        partial = self.result(f"pp_{name}.partial")
        done = PathPatchResult.from_dict(partial) if partial else None
        config = PathPatchConfig(
            threshold=self.config.pp_threshold,
            selection=self.config.pp_selection,  # type: ignore[arg-type]
            n_boot=self.config.n_boot,
            seed=self.config.seed,
        )
        result = path_patch(
            self.model(name)[0],
            clean,
            corrupt,
            config,
            log=self.log,
            done=done,
            on_group=lambda r: self._save(f"pp_{name}.partial", r.to_dict()),
        )
        return result.to_dict()

    def _step_pp_base(self) -> dict:
        return self._path_patch("base")

    def _step_pp_finetuned(self) -> dict:
        return self._path_patch("finetuned")

    def _step_faithfulness(self) -> dict:
        from dataclasses import asdict

        from tinkerlab.circuits.evaluate import evaluate_circuit

        batch = self.eval_batch()
        out = {}
        for circuit_name, model_name in (("base", "base"), ("base", "finetuned"), ("finetuned", "finetuned")):
            if circuit_name == "finetuned" and self.result("pp_finetuned") is None:
                continue
            result = evaluate_circuit(
                self.model(model_name)[0],
                batch,
                self.circuit(circuit_name),
                self.means(model_name),
                n_random=self.config.n_random,
            )
            out[f"{circuit_name} circuit in {model_name}"] = asdict(result)
            self.log(f"faithfulness {circuit_name} circuit in {model_name}: {asdict(result)}")
        return out

    def _step_diagnostics(self) -> dict:
        from tinkerlab.circuits.data import entity_batch, path_patching_pairs
        from tinkerlab.circuits.evaluate import (
            faithfulness_diagnostics,
            greedy_query_region_group,
            position_layer_sweep,
        )

        model = self.model("base")[0]
        n = min(self.config.n_path_patching, 100)
        # The sweep covers the query region (the four positions before the last, and the last), where the
        # query-region group is chosen, on at most SWEEP_PAIRS pairs: every position of a 53-token prompt on 100
        # pairs would take hours on a CPU (each position re-runs the prompt from there once per layer and pair);
        # `evaluate.position_layer_sweep` sweeps any positions.
        pairs = min(n, SWEEP_PAIRS)
        clean, corrupt = path_patching_pairs(
            self.tokenizer, pairs, n_boxes=self.config.n_boxes, seed=self.config.seed + 7
        )
        last = int(clean.last[0])
        sweep = position_layer_sweep(model, clean, corrupt, positions=range(max(1, last - 4), last + 1))
        self.log(f"diagnostics: position x layer sweep of the query region on {pairs} pairs done")
        # The query-region group is chosen on selection prompts of their own seed, never on the evaluation prompts.
        evaluation = self.eval_batch()
        selection = entity_batch(self.tokenizer, n, n_boxes=self.config.n_boxes, seed=self.config.seed + 900)
        seen = {p.text for p in evaluation.prompts}
        selection = selection.select([i for i, p in enumerate(selection.prompts) if p.text not in seen])
        means = self.means("base")
        group, curve = greedy_query_region_group(
            model, selection, self.circuit("base"), means, sweep, threshold=self.config.pp_threshold
        )
        self.log(f"diagnostics: query-region group {group}, selection curve {curve}")
        result = faithfulness_diagnostics(model, evaluation, self.circuit("base"), means, extension=group)
        self.log(f"diagnostics: {result}")
        return {
            **result,
            "sweep": sweep.tolist(),
            "sweep_tokens": self.tokenizer.convert_ids_to_tokens(clean.input_ids[0].tolist()),
            "last": last,
            "query_region_group": {g: [list(h) for h in hs] for g, hs in group.items()},
            "query_region_selection": {"prompts": len(selection), "seed": self.config.seed + 900, "curve": curve},
        }

    def _step_minimality(self) -> dict:
        from tinkerlab.circuits.evaluate import circuit_accuracy, minimality
        from tinkerlab.circuits.pathpatch import PathPatchConfig, PathPatchResult, select_heads

        saved = PathPatchResult.from_dict(self.result("pp_base"))
        caps = PathPatchConfig().max_heads
        pool = {
            g: select_heads(saved.scores[g], threshold=self.config.pp_threshold / 2, max_heads=2 * caps[i])
            for i, g in enumerate(saved.scores)
        }
        if "PT" in pool:
            pool["VF"] = [h for h in pool.get("VF", []) if h not in set(pool["PT"])]
        model = self.model("base")[0]
        batch = self.eval_batch().select(range(min(100, self.config.n_eval)))  # the original uses 100 samples
        means = self.means("base")
        tests = minimality(model, batch, pool, means, seed=self.config.seed)
        minimal = {g: [tuple(t["head"]) for t in rows if t["kept"]] for g, rows in tests.items()}
        full = self.eval_batch()
        out = {
            "pool_sizes": {g: len(h) for g, h in pool.items()},
            "minimal_sizes": {g: len(h) for g, h in minimal.items()},
            "minimal": {g: [list(h) for h in hs] for g, hs in minimal.items()},
            "tests": tests,
            "pool_accuracy": circuit_accuracy(model, full, pool, means),
            "minimal_accuracy": circuit_accuracy(model, full, minimal, means),
            "circuit_accuracy": circuit_accuracy(model, full, self.circuit("base"), means),
        }
        self.log(f"minimality: {out['minimal_sizes']} of {out['pool_sizes']}, accuracy {out['minimal_accuracy']:.3f}")
        return out

    def _step_overlap(self) -> dict:
        """Per group: shared heads, precision (of the base circuit's heads) and recall (of the fine-tuned's), as in
        the paper; and the heads both circuits hold in any group, with the groups they hold them in."""
        base, finetuned = self.circuit("base"), self.circuit("finetuned")
        out: dict = {}
        for group in base:
            a, b = set(base[group]), set(finetuned.get(group, []))
            shared = len(a & b)
            out[group] = {
                "base": len(a),
                "finetuned": len(b),
                "shared": shared,
                "precision": shared / len(a) if a else float("nan"),
                "recall": shared / len(b) if b else float("nan"),
            }
        from tinkerlab.circuits.data import path_patching_pairs
        from tinkerlab.circuits.pathpatch import rank_correlation, scores_with_receivers

        base_pp, ft_pp = self.result("pp_base"), self.result("pp_finetuned")
        # The fine-tuned model scored on the base circuit's paths (the paper's comparison): same prompts, same
        # receivers, so the two score maps differ only by the model.
        clean, corrupt = path_patching_pairs(
            self.tokenizer, self.config.n_path_patching, n_boxes=self.config.n_boxes, seed=self.config.seed
        )
        on_base_paths = scores_with_receivers(self.model("finetuned")[0], clean, corrupt, base)
        for group in base:
            base_scores = torch.tensor(base_pp["scores"][group])
            out[group]["split_half_base"] = base_pp.get("split_half", {}).get(group)
            out[group]["split_half_finetuned"] = ft_pp.get("split_half", {}).get(group)
            out[group]["rank_correlation"] = rank_correlation(base_scores, on_base_paths[group])
            k = len(base[group])  # size-matched: the fine-tuned model's top-k heads on the base circuit's paths
            top = {
                (int(i) // base_scores.shape[1], int(i) % base_scores.shape[1])
                for i in torch.argsort(on_base_paths[group].flatten())[:k]
            }
            out[group]["size_matched_shared"] = len(top & set(base[group])) / k if k else float("nan")
        in_base = {head: group for group, heads in base.items() for head in heads}
        in_finetuned = {head: group for group, heads in finetuned.items() for head in heads}
        out["any_group"] = [
            {"head": list(head), "base": in_base[head], "finetuned": in_finetuned[head]}
            for head in sorted(set(in_base) & set(in_finetuned))
        ]
        return out

    def _step_sizes(self) -> dict:
        from dataclasses import asdict

        from tinkerlab.circuits.evaluate import evaluate_circuit
        from tinkerlab.circuits.pathpatch import PathPatchResult, select_heads

        scores = PathPatchResult.from_dict(self.result("pp_base")).scores
        model = self.model("base")[0]
        batch = self.eval_batch()
        out = {}
        for threshold in SIZE_THRESHOLDS:
            circuit = {g: select_heads(scores[g], threshold=threshold, max_heads=40) for g in scores}
            result = evaluate_circuit(model, batch, circuit, self.means("base"), n_random=3)
            out[str(threshold)] = {"sizes": {g: len(h) for g, h in circuit.items()}, **asdict(result)}
            self.log(f"sizes: threshold {threshold}: {out[str(threshold)]}")
        return out

    def _step_completeness(self) -> dict:
        from tinkerlab.circuits.evaluate import completeness

        batch = self.eval_batch()
        return completeness(
            self.model("base")[0],
            batch,
            self.circuit("base"),
            self.means("base"),
            n_random=self.config.n_completeness,
        )

    def _dcm_data(self, desideratum: str, group: str, *, heldout: bool = False):
        """The DCM pairs of a desideratum (`heldout`: fresh pairs of another seed, never trained on)."""
        from tinkerlab.circuits.data import desideratum_pairs

        key = (desideratum, heldout)
        if key not in self._pairs:  # built once: every group and both models read the same pairs
            self._pairs[key] = desideratum_pairs(
                self.tokenizer,
                self.config.n_dcm,
                desideratum,
                n_boxes=self.config.n_boxes,
                seed=self.config.seed + (4031 if heldout else 31),
            )
        base, source, targets = self._pairs[key]
        return (
            base.input_ids,
            base.group_position(group),
            source.input_ids,
            source.group_position(group),
            targets,
        )

    @staticmethod
    def _source_values(source_heads: dict, group: str, heads: list) -> torch.Tensor:
        """[N, n_heads, Dh] the source outputs of `heads` at `group`'s position (from `_dcm_cache`)."""
        return torch.stack([source_heads[group][layer, :, head] for layer, head in heads], dim=1).clone()

    def _dcm_cache(self, model_name: str, desideratum: str, *, heldout: bool = False) -> tuple:
        """Base clean runs, and every source head's output at each group's position, shared by every group
        (positional and object_value pairs are the same prompts). Returns (clean run, {group: [L, N, H, Dh]})."""
        from tinkerlab.circuits.groups import GROUPS
        from tinkerlab.patching.masks import base_runs, head_outputs_at

        key = (model_name, "box_label_value" if desideratum == "box_label_value" else "positional", heldout)
        cache = self.__dict__.setdefault("_dcm_caches", {})
        if key not in cache:
            cache.clear()  # keep one set in memory
            model = self.model(model_name)[0]
            base_ids, _, source_ids, _, _ = self._dcm_data(desideratum, "VF", heldout=heldout)
            positions = {group: self._dcm_data(desideratum, group, heldout=heldout)[3] for group in GROUPS}
            cache[key] = (base_runs(model, base_ids), head_outputs_at(model, source_ids, positions))
        return cache[key]

    def _dcm(self, circuit_name: str, model_name: str) -> dict:
        from tinkerlab.circuits.data import DESIDERATA
        from tinkerlab.patching.masks import DCMConfig, train_mask

        model = self.model(model_name)[0]
        config = DCMConfig(sparsity=self.config.dcm_sparsity, epochs=self.config.dcm_epochs, seed=self.config.seed)
        circuit = self.circuit(circuit_name)
        out: dict = {group: {} for group in circuit}
        for desideratum in DESIDERATA:  # desideratum-major: the cached runs change only when the prompts do
            for group, heads in circuit.items():
                data = self._dcm_data(desideratum, group)
                clean, source_heads = self._dcm_cache(model_name, desideratum)
                result = train_mask(
                    model,
                    heads,
                    *data,
                    config,
                    description=f"DCM {group} {desideratum}",
                    clean=clean,
                    values=self._source_values(source_heads, group, heads),
                )
                out[group][desideratum] = result.to_dict()
                self.log(
                    f"DCM {circuit_name}/{model_name} {group} {desideratum}: {len(result.selected)} of "
                    f"{len(heads)} heads, test accuracy {result.test_accuracy:.2f}"
                )
        return out

    def _step_dcm(self) -> dict:
        return self._dcm("base", "base")

    def _step_dcm_finetuned(self) -> dict:
        return self._dcm("finetuned", "finetuned")

    def _step_semantics(self) -> dict:
        """The base circuit's DCM heads patched in each model, on fresh held-out pairs (not the DCM training
        pairs), with a 95% bootstrap interval over the pairs."""
        from tinkerlab.circuits.data import DESIDERATA
        from tinkerlab.circuits.pathpatch import bootstrap_intervals
        from tinkerlab.patching.masks import masked_correct

        dcm = self.result("dcm")
        out: dict = {"pairs": "held out (a seed the DCM masks never saw)"}
        for model_name in ("base", "finetuned"):
            model = self.model(model_name)[0]
            out[model_name] = {}
            for desideratum in DESIDERATA:
                clean, source_heads = self._dcm_cache(model_name, desideratum, heldout=True)
                for group, per in dcm.items():
                    if not isinstance(per, dict):
                        continue
                    heads = [tuple(h) for h in per[desideratum]["selected"]]
                    _, base_pos, _, _, targets = self._dcm_data(desideratum, group, heldout=True)
                    acc, interval = 0.0, [0.0, 0.0]
                    if heads:
                        values = self._source_values(source_heads, group, heads)
                        correct = masked_correct(
                            model,
                            clean,
                            base_pos,
                            values,
                            heads,
                            torch.ones(len(heads), dtype=torch.bool),
                            targets,
                        ).float()
                        acc = float(correct.mean())
                        interval = bootstrap_intervals(correct.view(1, 1, -1), seed=self.config.seed)[:, 0, 0].tolist()
                    out[model_name].setdefault(group, {})[desideratum] = {
                        "heads": len(heads),
                        "accuracy": acc,
                        "ci95": interval,
                    }
            self.log(f"semantics {model_name}: {out[model_name]}")
        return out

    def _step_extra(self) -> dict:
        from tinkerlab.circuits.data import PERTURBATIONS, perturbed_positional_pairs
        from tinkerlab.patching.masks import patch_accuracy

        heads = [tuple(h) for h in self.result("dcm")["PT"]["positional"]["selected"]]
        out: dict = {"heads": [list(h) for h in heads]}
        for model_name in ("base", "finetuned"):
            model = self.model(model_name)[0]
            out[model_name] = {}
            for perturbation in PERTURBATIONS:
                base, source, targets = perturbed_positional_pairs(
                    self.tokenizer, 100, perturbation, n_boxes=self.config.n_boxes, seed=self.config.seed + 77
                )
                out[model_name][perturbation] = patch_accuracy(
                    model, heads, base.input_ids, base.last, source.input_ids, source.last, targets
                )
            self.log(f"extra desiderata {model_name}: {out[model_name]}")
        return out

    def _step_cmap(self) -> dict:
        from tinkerlab.circuits.cmap import cmap_table

        batch = self.eval_batch()
        base_model, ft_model = self.model("base")[0], self.model("finetuned")[0]
        out: dict = {}
        circuits = {"base circuit": self.circuit("base")}
        if self.result("pp_finetuned") is not None:
            ft = self.circuit("finetuned")
            circuits["finetuned circuit"] = ft
            dcm_ft = self.result("dcm_finetuned")
            if dcm_ft is not None:  # the paper's subsets: VF object_value, PT and PD positional, all of SR
                pick = {"VF": "object_value", "PT": "positional", "PD": "positional"}
                circuits["finetuned DCM subsets"] = {
                    g: ([tuple(h) for h in dcm_ft[g][pick[g]]["selected"]] if g in pick else hs) for g, hs in ft.items()
                }
        for name, circuit in circuits.items():
            out[name] = {
                "sizes": {g: len(h) for g, h in circuit.items()},
                "accuracy": cmap_table(base_model, ft_model, batch, circuit, mismatched=True),
            }
            self.log(f"CMAP with {name}: {out[name]}")
        from tinkerlab.circuits.evaluate import accuracy

        out["finetuned model"] = accuracy(ft_model, batch)
        return out


def run_experiment(
    out: str | Path,
    config: ExperimentConfig = ExperimentConfig(),
    *,
    steps: tuple[str, ...] = STEPS,
    log=print,
) -> dict:
    """Run (or resume) the listed steps; returns {step: result}."""
    experiment = Experiment(out, config, log=log)
    return {step: experiment.run(step) for step in steps}
