"""MAIA runs: describe one unit, compute exemplars, and evaluate many units, each in a resumable run directory.

- `describe_run`: one unit (of a vision model, or a synthetic neuron) explained by one method: the agent on a chat
  model, the API-free experimenter, the exemplar-only baseline, or the random-concept control; an HTML report of
  every experiment.
- `exemplars_run`: the top-k probe images with masks for units of a layer (one batched pass, cached table).
- `synthetic_run`: every synthetic neuron (or a subset) by several methods; accuracy against ground truth
  (embedding judge) and predictive evaluation.
- `evaluate_run`: predictive evaluation of units of a vision model by several methods.

Units are independent jobs mapped through `tinkerlab.core.jobs` (a local pool, or Ray); each finished unit is
saved in the run's state, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tinkerlab.core.errors import InputError

Method = Literal["agent", "experimenter", "exemplar", "random"]
METHODS: tuple[str, ...] = ("agent", "experimenter", "exemplar", "random")
"""agent: the chat model's experiments; experimenter: the API-free experimenter baseline; exemplar: the one-round
exemplar-only baseline (MILAN-like); random: a control that names a random drawable concept."""
SYSTEM = "maia"


@dataclass(frozen=True)
class ProbeConfig:
    """The probe set behind dataset exemplars.

    Args:
        images: how many probe images.
        seed: the probe set's seed (procedural scenes, crop boxes).
        folder: an image folder (ImageNet's validation set, say) instead of the offline probe set.
        quantile: a unit fires where its map exceeds this quantile of its map values.
        k: exemplars per unit.
    """

    images: int = 1000
    seed: int = 0
    folder: str | None = None
    quantile: float = 0.99
    k: int = 15

    def __post_init__(self) -> None:
        if self.images < 1:
            raise InputError(f"the probe set needs at least one image, got images={self.images}")
        if not 0 < self.quantile < 1:
            raise InputError(f"quantile must be in (0, 1), got {self.quantile}")
        if not 1 <= self.k <= self.images:
            raise InputError(f"k must be in 1..{self.images} (the probe set's size), got {self.k}")


@dataclass(frozen=True)
class ExplainConfig:
    """How units are explained.

    Args:
        methods: which methods describe each unit (`METHODS`).
        agent: the chat-model spec of the agent (used by the 'agent' method).
        describer: 'labels' (the offline stand-in describer) or a chat-model spec that takes images.
        max_rounds: the agent's experiments before it must answer.
        max_tokens: tokens per agent reply.
        n_prompts: positive and neutral prompts of the predictive evaluation.
        seed: seeds the baselines' prompts, the control and the evaluation prompts.
    """

    methods: tuple[str, ...] = ("experimenter", "exemplar")
    agent: str = "local"
    describer: str = "labels"
    max_rounds: int = 10
    max_tokens: int = 800
    n_prompts: int = 7
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods:
            raise InputError(f"methods must be some of {', '.join(METHODS)}, got {', '.join(self.methods) or 'none'}")
        if self.max_rounds < 1 or self.max_tokens < 1 or self.n_prompts < 1:
            raise InputError("max_rounds, max_tokens and n_prompts must be at least 1")


# -- building the tools of a subject -------------------------------------------------------------------------------

_MODELS: dict[tuple[str, str], Any] = {}
_CHAT: dict[str, Any] = {}


def maia_cache() -> Path:
    """The folder of cached activation and concept tables (`tinkerlab.core.paths.cache_dir('maia')`)."""
    from tinkerlab.core.paths import cache_dir

    return cache_dir("maia")


def vision_model(spec: str, device: str = "cpu") -> Any:
    """The vision model a spec names, loaded once per process."""
    from tinkerlab.vision.units import load_vision_model

    key = (spec, device)
    if key not in _MODELS:
        _MODELS[key] = load_vision_model(spec, device=device)
    return _MODELS[key]


def chat_model(spec: str, transcript: str | Path | None = None) -> Any:
    """The chat model a spec names, loaded once per process (and transcript file); a scripted model is loaded
    afresh each time, so every subject gets its replies from the start."""
    from tinkerlab.llm import load_chat_model

    if spec.startswith("scripted:"):
        return load_chat_model(spec, transcript=transcript)
    key = f"{spec}|{transcript}"
    if key not in _CHAT:
        _CHAT[key] = load_chat_model(spec, transcript=transcript)
    return _CHAT[key]


def probe_recipes(probe: ProbeConfig) -> list[dict[str, Any]]:
    from tinkerlab.maia.probe import build_probe_set

    return build_probe_set(probe.images, seed=probe.seed, folder=probe.folder)


def _describer(spec: str) -> Any:
    from tinkerlab.maia.tools import ChatDescriber, LabelDescriber

    return LabelDescriber() if spec == "labels" else ChatDescriber(chat_model(spec), name=f"chat-describer ({spec})")


def unit_tools(
    model: Any,
    layer: str,
    unit: int,
    probe: ProbeConfig,
    *,
    device: str = "cpu",
    describer: str = "labels",
    recipes: list[dict[str, Any]] | None = None,
    progress: bool = False,
) -> Any:
    """The `Tools` of a unit of `model`: its threshold and exemplars come from the probe set's cached table."""
    from tinkerlab.maia.probe import activation_table, probe_images
    from tinkerlab.maia.subjects import UnitSubject
    from tinkerlab.maia.tools import Tools

    recipes = recipes if recipes is not None else probe_recipes(probe)
    subject = UnitSubject(model, layer, unit, device=device)
    table = activation_table(
        model, layer, recipes, quantile=probe.quantile, device=device, cache=maia_cache(), progress=progress
    )
    subject.threshold = float(table.thresholds[unit])
    top = table.top(unit, probe.k)
    images = probe_images([recipes[i] for i in top])
    return Tools(subject, images, [float(table.activations[i, unit]) for i in top], describer=_describer(describer))


def synthetic_tools(
    name: str,
    probe: ProbeConfig,
    *,
    describer: str = "labels",
    recipes: list[dict[str, Any]] | None = None,
    progress: bool = False,
) -> Any:
    """The `Tools` of the synthetic neuron `name`; exemplars come from the probe set's cached concept table."""
    from tinkerlab.maia.probe import concept_table, probe_images
    from tinkerlab.maia.subjects import SyntheticSubject
    from tinkerlab.maia.synthetic import synthetic_neuron
    from tinkerlab.maia.tools import Tools

    neuron = synthetic_neuron(name)
    recipes = recipes if recipes is not None else probe_recipes(probe)
    values = concept_table(recipes, cache=maia_cache(), progress=progress).activations(neuron)
    top = [int(i) for i in np.argsort(-values, kind="stable")[: probe.k]]
    images = probe_images([recipes[i] for i in top])
    return Tools(SyntheticSubject(neuron), images, [float(values[i]) for i in top], describer=_describer(describer))


# -- explaining one subject ------------------------------------------------------------------------------------------


@dataclass
class Explanation:
    """One method's description of one subject, and its predictive score."""

    subject: str
    method: str
    description: str
    labels: list[str]
    positive: float
    neutral: float
    images_scored: int = 0
    rounds: int = 0
    finished: bool = True
    truth: str | None = None
    report: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def gap(self) -> float:
        return self.positive - self.neutral


def random_description(seed: int) -> str:
    """The control: a random concept the generator can draw, phrased like a description."""
    from tinkerlab.maia import scenes
    from tinkerlab.maia.synthetic import _noun

    return _noun(str(np.random.default_rng(seed).choice(scenes.CONCEPTS)))


def explain(
    tools: Any,
    method: str,
    config: ExplainConfig,
    *,
    layer: str = "",
    unit: Any = "",
    report_dir: str | Path | None = None,
    truth: str | None = None,
    transcript: str | Path | None = None,
) -> Explanation:
    """Describe the subject of `tools` with `method`, then score the description by predictive evaluation.

    Args:
        tools: the subject's `Tools`.
        method: one of `METHODS`.
        config: the settings.
        layer, unit: what the agent's `system` says.
        report_dir: where the agent's HTML report goes (agent only).
        truth: the ground truth (synthetic neurons), shown in the report.
        transcript: a JSONL file the agent's chat exchanges are appended to.
    """
    from tinkerlab.maia.baselines import exemplar_baseline, experimenter
    from tinkerlab.maia.evaluate import predictive_evaluation

    extra: dict[str, Any] = {}
    rounds, finished, scored, report = 0, True, 0, None
    if method == "agent":
        from tinkerlab.maia.agent import AgentConfig, run_agent, write_report

        agent = AgentConfig(max_rounds=config.max_rounds, max_tokens=config.max_tokens)
        result = run_agent(chat_model(config.agent, transcript), tools, config=agent, layer=layer, unit=unit)
        description, labels, rounds, finished = result.description, result.labels, result.rounds, result.finished
        if report_dir is not None:
            title = f"{tools.subject.name}: agent on {config.agent}"
            report = str(write_report(result, report_dir, title=title, truth=truth))
    elif method == "experimenter":
        found = experimenter(tools, seed=config.seed)
        description, labels, scored, extra = found.description, found.labels, found.images_scored, found.evidence
    elif method == "exemplar":
        found = exemplar_baseline(tools, k=len(tools.exemplar_images))
        description, labels, extra = found.description, found.labels, found.evidence
    elif method == "random":
        description = random_description(config.seed + sum(map(ord, tools.subject.name)))
        labels = [description]
    else:
        raise InputError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    score = predictive_evaluation(tools.subject, tools.generator, description, config.n_prompts, seed=config.seed + 1)
    return Explanation(
        tools.subject.name,
        method,
        description,
        labels,
        score.positive,
        score.neutral,
        scored,
        rounds,
        finished,
        truth,
        report,
        {"positive_prompts": score.positive_prompts, "neutral_prompts": score.neutral_prompts, **_jsonable(extra)},
    )


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v)))


# -- jobs ------------------------------------------------------------------------------------------------------------


def explain_job(job: dict[str, Any]) -> list[dict[str, Any]]:
    """One subject by every method of the job (a module-level function for `core.jobs`)."""
    probe = ProbeConfig(**job["probe"])
    config = ExplainConfig(**{**job["explain"], "methods": tuple(job["explain"]["methods"])})
    if job["kind"] == "synthetic":
        from tinkerlab.maia.synthetic import synthetic_neuron

        tools = synthetic_tools(job["neuron"], probe, describer=config.describer)
        truth, layer, unit = (
            synthetic_neuron(job["neuron"]).description,
            synthetic_neuron(job["neuron"]).mode,
            job["neuron"],
        )
    else:
        model = vision_model(job["model"], job["device"])
        tools = unit_tools(model, job["layer"], job["unit"], probe, device=job["device"], describer=config.describer)
        truth, layer, unit = None, job["layer"], job["unit"]
    out = []
    for method in config.methods:
        report_dir = Path(job["reports"]) / method if job.get("reports") else None
        found = explain(
            tools,
            method,
            config,
            layer=layer,
            unit=unit,
            report_dir=report_dir,
            truth=truth,
            transcript=job.get("transcript"),
        )
        out.append(asdict(found) | {"key": job["key"]})
    return out


def _map(jobs: list[dict[str, Any]], run: Any, executor: str, workers: int | None, label: str) -> list[dict]:
    """Map the jobs not yet in the run's state; save each finished one; return every record in job order."""
    from tinkerlab.core.jobs import map_jobs

    state = run.state()
    done: dict[str, list[dict]] = state.get("results", {})
    todo = [job for job in jobs if job["key"] not in done]
    if done and todo:
        run.log(f"resuming: {len(done)} of {len(jobs)} subjects done")
    failures = dict(state.get("failures", {}))
    for result in map_jobs(explain_job, todo, executor=executor, workers=workers or 1, progress=label):
        if result.ok:
            done[result.job["key"]] = result.value
            failures.pop(result.job["key"], None)
        else:
            failures[result.job["key"]] = str(result.error)
            run.log(f"{result.job['key']} failed: {result.error}")
        run.save_state({"results": done, "failures": failures})
    records = [record for job in jobs if job["key"] in done for record in done[job["key"]]]
    run.save_state({"results": done, "failures": failures, "done": not failures})
    return records


def summarise(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per method: subjects, mean positive, neutral and gap activations (and judge scores when present)."""
    rows = []
    for method in dict.fromkeys(r["method"] for r in records):
        mine = [r for r in records if r["method"] == method]
        row = {
            "method": method,
            "subjects": len(mine),
            "positive": float(np.mean([r["positive"] for r in mine])),
            "neutral": float(np.mean([r["neutral"] for r in mine])),
        }
        row["gap"] = row["positive"] - row["neutral"]
        row["gap_sem"] = float(np.std([r["positive"] - r["neutral"] for r in mine]) / max(1, len(mine)) ** 0.5)
        if all("similarity" in r for r in mine):
            row["similarity"] = float(np.mean([r["similarity"] for r in mine]))
            row["nearest_is_truth"] = float(np.mean([r["nearest_is_truth"] for r in mine]))
        rows.append(row)
    return rows


def markdown_table(rows: Sequence[dict[str, Any]], *, by_mode: dict[str, dict[str, float]] | None = None) -> str:
    """The summary as a Markdown table."""
    judged = any("similarity" in r for r in rows)
    header = ["method", "subjects", "positive", "neutral", "gap (± s.e.)"]
    if judged:
        header += ["similarity to truth", "truth is nearest"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [
            _method_name(r["method"]),
            str(r["subjects"]),
            f"{r['positive']:.3f}",
            f"{r['neutral']:.3f}",
            f"{r['gap']:.3f} ± {r['gap_sem']:.3f}",
        ]
        if judged:
            cells += [f"{r.get('similarity', float('nan')):.3f}", f"{r.get('nearest_is_truth', float('nan')):.0%}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _method_name(method: str) -> str:
    return {
        "agent": "agent",
        "experimenter": "API-free experimenter (baseline)",
        "exemplar": "exemplar-only (baseline)",
        "random": "random concept (control)",
    }.get(method, method)


# -- the runs ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DescribeConfig:
    """One subject by one method: a unit (model, layer, unit) or a synthetic neuron (`synthetic`)."""

    model: str = "efficientnet-lite0"
    layer: str = "blocks.10"
    unit: int = 0
    synthetic: str | None = None
    method: str = "experimenter"
    probe: ProbeConfig = ProbeConfig()
    explain: ExplainConfig = ExplainConfig()

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InputError(f"method must be one of {', '.join(METHODS)}, got {self.method!r}")


def describe_run(config: DescribeConfig, out: str | Path, *, device: str = "cpu", overwrite: bool = False) -> dict:
    """Describe one subject; the description, score and (agent) report go to `out`/outputs. Resumes when done.

    Returns:
        The `Explanation` as a dict.
    """
    from tinkerlab.core.runs import RunDir
    from tinkerlab.core.seeding import choose_device

    if config.synthetic is not None:
        from tinkerlab.maia.synthetic import synthetic_neuron

        synthetic_neuron(config.synthetic)  # an unknown name fails before the run folder is made
    device = choose_device(device)
    run = RunDir.open(out, system=SYSTEM, config=config, overwrite=overwrite)
    path = run.outputs / "description.json"
    if run.state().get("done") and path.exists():
        return json.loads(path.read_text())
    explain_config = ExplainConfig(**{**asdict(config.explain), "methods": (config.method,)})
    job = {
        "kind": "synthetic" if config.synthetic else "unit",
        "key": config.synthetic or f"{config.layer}/{config.unit}",
        "neuron": config.synthetic,
        "model": config.model,
        "layer": config.layer,
        "unit": config.unit,
        "device": device,
        "probe": asdict(config.probe),
        "explain": asdict(explain_config),
        "reports": str(run.outputs / "report"),
        "transcript": str(run.transcript_path),
    }
    if config.synthetic is None:  # check the layer and unit before the probe pass
        from tinkerlab.maia.subjects import UnitSubject

        UnitSubject(vision_model(config.model, device), config.layer, config.unit, device=device)
    _prepare_tables([job], config.probe, device)
    (record,) = explain_job(job)
    if config.method != "agent":
        _baseline_report(record, run.outputs / "report")
        record["report"] = str(run.outputs / "report" / "report.html")
    path.write_text(json.dumps(record, indent=2))
    run.log(f"{record['subject']} by {record['method']}: {record['description']!r}")
    run.save_state({"done": True})
    return record


def _baseline_report(record: dict[str, Any], folder: Path) -> None:
    import html

    folder.mkdir(parents=True, exist_ok=True)
    evidence = {k: v for k, v in record["extra"].items()}
    rows = [
        f"<h1>{html.escape(record['subject'])}: {html.escape(_method_name(record['method']))}</h1>",
        f"<p><b>description:</b> {html.escape(record['description'])}</p>",
        f"<p>predictive evaluation: positive {record['positive']:.3f}, neutral {record['neutral']:.3f}</p>",
        "<pre>" + html.escape(json.dumps(evidence, indent=1)) + "</pre>",
    ]
    (folder / "report.html").write_text("<!doctype html><meta charset='utf-8'>" + "\n".join(rows))


def _prepare_tables(jobs: list[dict[str, Any]], probe: ProbeConfig, device: str) -> None:
    """Compute (or find cached) the probe tables the jobs read, once, before they are mapped."""
    from tinkerlab.maia.probe import activation_tables, concept_table

    recipes = probe_recipes(probe)
    if any(j["kind"] == "synthetic" for j in jobs):
        concept_table(recipes, cache=maia_cache())
    by_model: dict[str, set[str]] = {}
    for job in jobs:
        if job["kind"] == "unit":
            by_model.setdefault(job["model"], set()).add(job["layer"])
    for spec, layers in by_model.items():
        model = vision_model(spec, device)
        activation_tables(model, sorted(layers), recipes, quantile=probe.quantile, device=device, cache=maia_cache())


@dataclass(frozen=True)
class SyntheticConfig:
    """Synthetic neurons (all when `neurons` is empty) explained by `explain.methods` and judged."""

    neurons: tuple[str, ...] = ()
    probe: ProbeConfig = ProbeConfig()
    explain: ExplainConfig = ExplainConfig(methods=("experimenter", "exemplar", "random"))
    judge: str = "embedding"


def synthetic_run(
    config: SyntheticConfig,
    out: str | Path,
    *,
    executor: str = "local",
    workers: int | None = None,
    overwrite: bool = False,
) -> list[dict[str, Any]]:
    """Explain the synthetic neurons; write records, the judge's scores and a table to `out`/outputs.

    Returns:
        The summary rows (per method), as in `results.json`.
    """
    from tinkerlab.core.runs import RunDir
    from tinkerlab.maia.evaluate import synthetic_accuracy
    from tinkerlab.maia.synthetic import SYNTHETIC_NEURONS, synthetic_neuron

    neurons = [synthetic_neuron(n) for n in config.neurons] if config.neurons else list(SYNTHETIC_NEURONS)
    if config.judge != "embedding":
        raise InputError(f"judge must be 'embedding' (the offline MiniLM judge), got {config.judge!r}")
    run = RunDir.open(out, system=SYSTEM, config=config, overwrite=overwrite)
    jobs = [
        {
            "kind": "synthetic",
            "key": n.name,
            "neuron": n.name,
            "probe": asdict(config.probe),
            "explain": asdict(config.explain),
            "reports": str(run.outputs / "reports" / n.name) if "agent" in config.explain.methods else None,
            "transcript": str(run.transcript_path),
        }
        for n in neurons
    ]
    _prepare_tables(jobs, config.probe, "cpu")
    records = _map(jobs, run, executor, workers, "synthetic neurons")
    from tinkerlab.maia.synthetic import SYNTHETIC_NEURONS as ALL

    for method in config.explain.methods:
        mine = [r for r in records if r["method"] == method]
        judged = synthetic_accuracy({r["key"]: r["description"] for r in mine}, ALL)
        by_key = {s.neuron: s for s in judged}
        for r in mine:
            r["similarity"] = by_key[r["key"]].similarity
            r["nearest_is_truth"] = by_key[r["key"]].nearest_is_truth
            r["mode"] = by_key[r["key"]].mode
    rows = summarise(records)
    modes = {
        method: {
            mode: float(np.mean([r["similarity"] for r in records if r["method"] == method and r["mode"] == mode]))
            for mode in ("mono", "or", "and")
            if any(r["mode"] == mode for r in records if r["method"] == method)
        }
        for method in config.explain.methods
    }
    _write_outputs(run, records, rows, extra={"similarity_by_mode": modes})
    return rows


@dataclass(frozen=True)
class EvaluateConfig:
    """Units of a vision model (`units` per layer, drawn with `unit_seed`, or the listed `unit_ids`)."""

    model: str = "efficientnet-lite0"
    layers: tuple[str, ...] = ("blocks.10", "blocks.14")
    units: int = 10
    unit_ids: tuple[int, ...] = ()
    unit_seed: int = 0
    probe: ProbeConfig = ProbeConfig()
    explain: ExplainConfig = ExplainConfig(methods=("experimenter", "exemplar", "random"))

    def __post_init__(self) -> None:
        if not self.layers:
            raise InputError("name at least one layer")
        if self.units < 1 and not self.unit_ids:
            raise InputError(f"units must be at least 1, got {self.units}")


def choose_units(width: int, count: int, seed: int) -> list[int]:
    """`count` distinct units of a layer of `width`, drawn with `seed` (sorted).

    Example:
        >>> choose_units(10, 3, 0) == choose_units(10, 3, 0), len(choose_units(10, 30, 0))
        (True, 10)
    """
    rng = np.random.default_rng(seed)
    return sorted(int(u) for u in rng.choice(width, size=min(count, width), replace=False))


def evaluate_run(
    config: EvaluateConfig,
    out: str | Path,
    *,
    device: str = "cpu",
    executor: str = "local",
    workers: int | None = None,
    overwrite: bool = False,
) -> list[dict[str, Any]]:
    """Predictive evaluation of units of `config.model`; records and a table go to `out`/outputs.

    Raises:
        InputError: an unknown layer (the valid ones are listed) or a unit outside a layer's width.
    """
    from tinkerlab.core.runs import RunDir
    from tinkerlab.core.seeding import choose_device
    from tinkerlab.vision.units import layer_width

    device = choose_device(device)
    model = vision_model(config.model, device)
    jobs = []
    for index, layer in enumerate(config.layers):
        width = layer_width(model, layer, device=device)
        units = list(config.unit_ids) or choose_units(width, config.units, config.unit_seed + index)
        bad = [u for u in units if not 0 <= u < width]
        if bad:
            raise InputError(f"unit must be in 0..{width - 1} (layer {layer} has {width}), got {bad[0]}")
        for unit in units:
            jobs.append(
                {
                    "kind": "unit",
                    "key": f"{layer}/{unit}",
                    "model": config.model,
                    "layer": layer,
                    "unit": unit,
                    "device": device,
                    "probe": asdict(config.probe),
                    "explain": asdict(config.explain),
                    "reports": None,
                }
            )
    run = RunDir.open(out, system=SYSTEM, config=config, overwrite=overwrite)
    for job in jobs:
        job["transcript"] = str(run.transcript_path)
        if "agent" in config.explain.methods:
            job["reports"] = str(run.outputs / "reports" / job["key"].replace("/", "_"))
    _prepare_tables(jobs, config.probe, device)
    records = _map(jobs, run, executor, workers, "units")
    rows = summarise(records)
    _write_outputs(run, records, rows)
    return rows


def _write_outputs(run: Any, records: list[dict], rows: list[dict], extra: dict | None = None) -> None:
    with (run.outputs / "records.jsonl").open("w") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")
    (run.outputs / "results.json").write_text(json.dumps({"summary": rows, **(extra or {})}, indent=2))
    (run.outputs / "table.md").write_text(markdown_table(rows))
    run.log("results written: " + "; ".join(f"{r['method']} gap {r['gap']:.3f}" for r in rows))


# -- exemplars -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExemplarsConfig:
    """Exemplars of `units` of `layer` (all units of the layer when `units` is empty)."""

    model: str = "efficientnet-lite0"
    layer: str = "blocks.10"
    units: tuple[int, ...] = ()
    probe: ProbeConfig = ProbeConfig()


def exemplar_grid(tools: Any, columns: int = 5) -> np.ndarray:
    """The subject's exemplars with their masks as one picture (H, W, 3) in [0, 1], with activations."""
    from PIL import ImageDraw

    from tinkerlab.core.images import image_grid

    activations, masked = tools.dataset_exemplars(len(tools.exemplar_images))
    tiles = []
    for value, image in zip(activations, masked, strict=True):
        tile = image.resize((112, 112))
        ImageDraw.Draw(tile).text((3, 2), f"{value:.2f}", fill=(255, 255, 0))
        tiles.append(np.asarray(tile, np.float32) / 255.0)
    return image_grid(tiles, columns=columns, pad=2)


def exemplars_run(
    config: ExemplarsConfig, out: str | Path, *, device: str = "cpu", overwrite: bool = False
) -> list[dict[str, Any]]:
    """Every unit's table over the probe set (one batched pass) and, for the chosen units, a PNG of its top-k
    masked exemplars and their activations in `exemplars.json`.
    """
    from tinkerlab.core.images import save_image
    from tinkerlab.core.runs import RunDir
    from tinkerlab.core.seeding import choose_device
    from tinkerlab.maia.probe import activation_table
    from tinkerlab.vision.units import layer_width

    device = choose_device(device)
    model = vision_model(config.model, device)
    model.resolve(config.layer)
    width = layer_width(model, config.layer, device=device)
    bad = [u for u in config.units if not 0 <= u < width]
    if bad:
        raise InputError(f"unit must be in 0..{width - 1} (layer {config.layer} has {width}), got {bad[0]}")
    run = RunDir.open(out, system=SYSTEM, config=config, overwrite=overwrite)
    recipes = probe_recipes(config.probe)
    table = activation_table(
        model, config.layer, recipes, quantile=config.probe.quantile, device=device, cache=maia_cache()
    )
    done = dict(run.state().get("units", {}))
    for unit in config.units or range(width):
        if str(unit) in done and (run.outputs / f"unit_{unit:04d}.png").exists():
            continue
        tools = unit_tools(model, config.layer, unit, config.probe, device=device, recipes=recipes)
        save_image(exemplar_grid(tools), run.outputs / f"unit_{unit:04d}.png")
        top = table.top(unit, config.probe.k)
        done[str(unit)] = {
            "unit": unit,
            "threshold": float(table.thresholds[unit]),
            "probe_indices": top,
            "activations": [float(table.activations[i, unit]) for i in top],
            "kinds": [recipes[i]["kind"] for i in top],
        }
        run.save_state({"units": done})
    records = [done[str(u)] for u in (config.units or range(width))]
    (run.outputs / "exemplars.json").write_text(json.dumps(records, indent=1))
    run.save_state({"units": done, "done": True})
    return records
