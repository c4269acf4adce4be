"""Gallery demo of `tinkerlab.maia` (MAIA, Shaham et al., ICML 2024): dataset exemplars with masks for units of
EfficientNet-Lite0, one agent experiment with a scripted chat model, and the API-free experimenter baseline on
synthetic neurons.

Everything is computed offline on the CPU: the probe set is small (240 images) so the first run stays under a
minute; the pictures, the experiment log and the table go to `ctx.cache_dir`, and a later run only reads them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

LAYER, UNITS, PROBE_IMAGES, K = "blocks.10", (18, 52, 95), 240, 8
SYNTHETIC = ("fish", "star_night", "car_house")
SCRIPTED_REPLIES = [
    "Let me look at the dataset exemplars.\n```python\nactivations, images = tools.dataset_exemplars(6)\n"
    "print(activations)\nprint(tools.describe_images(images[:3]))\ntools.display(*images[:3])\n```",
    "Stars seem to matter. Is the background important?\n```python\n"
    "prompts = ['a large yellow star on night', 'a large yellow star on grass', 'a large yellow star on sand',\n"
    "           'a large white circle on night']\n"
    "activations, masked = system.call_neuron(tools.text2image(prompts))\n"
    "for prompt, value in zip(prompts, activations):\n    print(f'{value:.2f}  {prompt}')\n"
    "tools.display(*masked)\n```",
    "Only the star on the night sky fires. An edit test:\n```python\n"
    "base = tools.text2image(['a large yellow star on night'])\n"
    "edited = tools.edit_images(base * 2, ['change the background to snow', 'replace the star with a cup'])\n"
    "print(system.call_neuron(base + edited)[0])\n```",
    "[DESCRIPTION]: stars in a night sky (a star alone, or the night sky alone, does not fire)\n"
    "[LABEL]: stars at night",
]


def _compute(folder: Path) -> None:
    import numpy as np

    from tinkerlab.core.images import save_image
    from tinkerlab.core.seeding import torch_threads
    from tinkerlab.llm import ScriptedChatModel
    from tinkerlab.maia.agent import AgentConfig, run_agent
    from tinkerlab.maia.baselines import exemplar_baseline, experimenter
    from tinkerlab.maia.probe import activation_table, build_probe_set, concept_table, probe_images
    from tinkerlab.maia.runs import exemplar_grid
    from tinkerlab.maia.subjects import SyntheticSubject, UnitSubject
    from tinkerlab.maia.synthetic import synthetic_neuron
    from tinkerlab.maia.tools import Tools
    from tinkerlab.vision.units import load_vision_model

    folder.mkdir(parents=True, exist_ok=True)
    recipes = build_probe_set(PROBE_IMAGES, seed=0)
    with torch_threads(2):
        model = load_vision_model("efficientnet-lite0")
        table = activation_table(model, LAYER, recipes, cache=folder, progress=False)
        units = []
        for unit in UNITS:
            top = table.top(unit, K)
            subject = UnitSubject(model, LAYER, unit, threshold=float(table.thresholds[unit]))
            tools = Tools(
                subject, probe_images([recipes[i] for i in top]), [float(table.activations[i, unit]) for i in top]
            )
            save_image(exemplar_grid(tools, columns=K), folder / f"unit_{unit}.png")
            kinds = [recipes[i]["kind"] for i in top]
            units.append({"unit": unit, "threshold": float(table.thresholds[unit]), "kinds": kinds})
    concepts = concept_table(recipes, cache=folder, progress=False)
    rows = []
    for name in SYNTHETIC:
        neuron = synthetic_neuron(name)
        values = concepts.activations(neuron)
        top = [int(i) for i in np.argsort(-values, kind="stable")[:K]]
        tools = Tools(
            SyntheticSubject(neuron), probe_images([recipes[i] for i in top]), [float(values[i]) for i in top]
        )
        found = experimenter(tools, seed=0)
        rows.append([name, neuron.mode, neuron.description, found.description, exemplar_baseline(tools).description])
        if name == "star_night":
            result = run_agent(ScriptedChatModel(SCRIPTED_REPLIES), tools, config=AgentConfig(max_rounds=5))
            log = []
            for index, experiment in enumerate(result.experiments):
                names = []
                for j, image in enumerate(experiment.images):
                    names.append(f"agent_{index}_{j}.png")
                    image.save(folder / names[-1])
                log.append({"reply": experiment.reply, "output": experiment.output, "images": names})
            (folder / "agent.json").write_text(json.dumps({"log": log, "description": result.description}))
    (folder / "summary.json").write_text(json.dumps({"units": units, "synthetic": rows}))


def run_demo(ctx: Any) -> None:
    from PIL import Image

    from tinkerlab.core.images import image_grid

    section = ctx.section
    section.title = "maia: explaining units of vision models by experiment"
    section.description = (
        "Dataset exemplars are computed here over an offline probe set (procedural scenes, crops of packaged "
        "photos, openclipart drawings); the bright region of each exemplar is where the unit fires above its "
        "99th-percentile threshold. The agent's experiments run in a sandboxed notebook that reaches the unit and "
        "the tools only through a narrow proxy."
    )
    folder = ctx.cached_run("maia-demo")
    if (folder / "summary.json").exists():
        ctx.reused(f"MAIA demo exemplars, experiment log and table ({folder})")
    else:
        _compute(folder)
    summary = json.loads((folder / "summary.json").read_text())
    for unit in summary["units"]:
        section.add_image(
            f"EfficientNet-Lite0 {LAYER}, unit {unit['unit']}: top {K} of {PROBE_IMAGES} probe images",
            str(folder / f"unit_{unit['unit']}.png"),
            caption=f"Activation (spatial max) in yellow; threshold {unit['threshold']:.2f}; sources: "
            + ", ".join(f"{k} x{unit['kinds'].count(k)}" for k in dict.fromkeys(unit["kinds"])),
        )
    agent = json.loads((folder / "agent.json").read_text())
    for index, step in enumerate(agent["log"]):
        section.add_code(f"Scripted agent (not a model), synthetic neuron star_night, round {index + 1}", step["reply"])
        if step["output"]:
            section.add_text(f"Observation {index + 1}", step["output"])
        if step["images"]:
            images = [Image.open(folder / name).convert("RGB").resize((112, 112)) for name in step["images"]]
            section.add_image(f"Images displayed in round {index + 1}", image_grid(images, columns=len(images)))
    section.add_table(
        "Synthetic neurons: ground truth and the two API-free baselines (same tools, no LLM)",
        ["neuron", "rule", "ground truth", "API-free experimenter", "exemplar-only baseline"],
        summary["synthetic"],
        caption="The experimenter tests candidate concepts with generated images; the exemplar-only baseline names "
        "what the described top exemplars share.",
    )
