"""The MAIA agent loop: a chat model writes experiments as Python, the sandbox runs them, results come back.

Four seams: the chat model (any `tinkerlab.llm` spec), the tools (`Tools`, in the parent), the executor (a
persistent `SandboxWorker` with `system` and `tools` bound through `proxy`), and the loop here. Each reply's
fenced Python blocks run in order in one namespace that persists between turns; printed output, errors and what
`tools.display` sent (text and images) become the next user message. The loop stops at a reply with
[DESCRIPTION]; after `max_rounds` it asks for the final answer. An error, a timeout or a crash of the code comes
back as an observation.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from tinkerlab.core.errors import InputError
from tinkerlab.maia.proxy import CHILD_SETUP, ToolServer, system_binding

API_TEXT = """You study one unit of a vision model. You run experiments by writing Python in a ```python block;
every block you write runs in a persistent notebook where two objects are ready:

system.call_neuron(images) -> (activations, masked_images)
    images: a list of PIL images. activations: one float per image, the unit's largest response anywhere in the
    image. masked_images: the same images with the region where the unit fires kept bright, the rest darkened.
tools.dataset_exemplars(k=15) -> (activations, masked_images)
    The k probe-set images that drive the unit most, highest first, masked the same way.
tools.text2image(prompts) -> list of PIL images, one per prompt.
    The generator draws simple scenes: objects (circle, square, triangle, star, ring, cross, diamond, hexagon,
    house, tree, sun, car, fish, flower, cup, face) with a colour (red, green, blue, yellow, orange, purple, pink,
    white, black, brown, gray, cyan), a texture (striped, dotted, checkered), a size (small, large), a count (two,
    three) and a place (left, right, top, bottom), on a background (sky, grass, sand, night, brick, water, snow).
    Example prompt: "two small red striped stars on the left on grass". Words it cannot draw are reported.
tools.edit_images(images, instructions) -> list of edited images (generated images only).
    Instructions: "replace the star with a circle", "make the car blue", "change the background to snow",
    "add a yellow sun", "remove the tree".
tools.describe_images(images, titles=None) -> str: a short description of the bright region of each image.
tools.summarize_images(images) -> str: what the bright regions have in common.
tools.display(*items): show text, numbers and images to yourself in the next message.

Use print or tools.display to see results. numpy is available; the model object and files are not."""

TASK_TEXT = """Your task: find out what makes the unit fire, and describe it.
Start with tools.dataset_exemplars(), form hypotheses, and test them with images you generate and edit.
Keep each reply to one experiment in one ```python block, then wait for the results.
When you are confident, answer without code, in this form:
[DESCRIPTION]: what the unit responds to, specific and complete (join several concepts with OR)
[LABEL]: a short label (or [LABEL 1]: ..., [LABEL 2]: ... for several concepts)"""

FINAL_TEXT = """You have run out of experiments. Give your final answer now, without code:
[DESCRIPTION]: ...
[LABEL]: ..."""

_CODE = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)


@dataclass(frozen=True)
class AgentConfig:
    """Settings of the agent loop.

    Args:
        max_rounds: experiments before the final answer is asked for (the original: 25).
        cell_timeout_s: wall clock per experiment cell.
        max_tokens: per reply.
        temperature: sampling temperature (0: greedy, cached).
        max_images: images sent back per observation.
    """

    max_rounds: int = 10
    cell_timeout_s: float = 60.0
    max_tokens: int = 800
    temperature: float = 0.0
    max_images: int = 16

    def __post_init__(self) -> None:
        if self.max_rounds < 1:
            raise InputError(f"max_rounds must be at least 1, got {self.max_rounds}")
        if self.cell_timeout_s <= 0:
            raise InputError(f"cell_timeout_s must be positive, got {self.cell_timeout_s}")


@dataclass
class Experiment:
    """One round: the reply, the code that ran, and what came back."""

    round: int
    reply: str
    code: str = ""
    output: str = ""
    images: list[Any] = field(default_factory=list)
    image_captions: list[str] = field(default_factory=list)


@dataclass
class AgentResult:
    """The agent's answer and its experiments."""

    description: str
    labels: list[str]
    experiments: list[Experiment]
    rounds: int
    finished: bool

    def to_record(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "labels": self.labels,
            "rounds": self.rounds,
            "finished": self.finished,
            "experiments": [
                {k: v for k, v in asdict(e).items() if k != "images"} | {"n_images": len(e.images)}
                for e in self.experiments
            ],
        }


def extract_code(reply: str) -> list[str]:
    """The fenced Python blocks of a reply, in order.

    Example:
        >>> extract_code("look:\\n```python\\nprint(1)\\n```\\nand\\n```\\nx = 2\\n```")
        ['print(1)\\n', 'x = 2\\n']
    """
    return [block for block in _CODE.findall(reply) if block.strip()]


def parse_answer(reply: str) -> tuple[str, list[str]]:
    """[DESCRIPTION] and [LABEL] / [LABEL n] fields of a reply (markdown bold stripped).

    Example:
        >>> parse_answer("[DESCRIPTION]: red circles OR stars\\n[LABEL 1]: red circles\\n[LABEL 2]: stars")
        ('red circles OR stars', ['red circles', 'stars'])
    """
    text = reply.replace("**", "")
    found = re.search(r"\[DESCRIPTION\]:?\s*(.*?)(?=\n\s*\[LABEL|\Z)", text, re.DOTALL)
    description = found.group(1).strip() if found else ""
    labels = [m.strip() for m in re.findall(r"\[LABEL(?:\s*\d+)?\]:?\s*(.+)", text)]
    return description, labels


def _observation(outcome: Any, server: ToolServer, notes: list[str], max_images: int) -> tuple[str, list[Any]]:
    parts = []
    if outcome.stdout.strip():
        parts.append("Output:\n" + outcome.stdout.strip()[:6000])
    if outcome.error:
        parts.append("Error:\n" + outcome.error.strip()[-3000:])
    if outcome.state_lost:
        parts.append("The notebook was restarted: variables from earlier experiments are gone.")
    if notes:
        parts.append("Tool notes:\n" + "\n".join(notes[-10:]))
    shown: list[Any] = []
    texts = []
    for item in server.displayed:
        if isinstance(item, Image.Image):
            if len(shown) < max_images:
                shown.append(item)
                texts.append(f"[image {len(shown)}]")
        else:
            texts.append(str(item))
    if texts:
        parts.append("Displayed:\n" + "\n".join(texts)[:6000])
    if len(server.displayed) > len(shown) + len(texts) - len(shown):
        pass
    return ("\n\n".join(parts) or "(the code ran and printed nothing; use print or tools.display)"), shown


def run_agent(
    model: Any,
    tools: Any,
    *,
    config: AgentConfig = AgentConfig(),
    layer: str = "",
    unit: Any = "",
    isolation: str | None = None,
) -> AgentResult:
    """Let `model` explain the subject of `tools` by experiment.

    Args:
        model: a `tinkerlab.llm` chat model.
        tools: the `Tools` of the subject.
        config: the loop's settings.
        layer, unit: what `system.layer` and `system.unit` say in the sandbox.
        isolation: the sandbox mode (None: `$TINKERLAB_SANDBOX`, default auto).

    Returns:
        The `AgentResult`; `finished` is False when the model gave no [DESCRIPTION] even after the final prompt.
    """
    from tinkerlab.llm.messages import Message
    from tinkerlab.sandbox import SandboxWorker

    images_ok = bool(getattr(model, "supports_images", False))
    history = [Message.system(API_TEXT), Message.user(TASK_TEXT)]
    experiments: list[Experiment] = []
    setup = CHILD_SETUP + system_binding(layer, unit, getattr(tools.subject, "name", "unit"))
    with SandboxWorker(
        timeout_s=config.cell_timeout_s, memory_mb=1024, setup_code=setup, isolation=isolation
    ) as worker:
        for round_index in range(config.max_rounds + 1):
            if round_index == config.max_rounds:
                history.append(Message.user(FINAL_TEXT))
            reply = model.complete(history, temperature=config.temperature, max_tokens=config.max_tokens).text
            history.append(Message.assistant(reply))
            experiment = Experiment(round_index + 1, reply)
            experiments.append(experiment)
            if "[DESCRIPTION]" in reply.replace("**", ""):
                description, labels = parse_answer(reply)
                return AgentResult(description, labels, experiments, round_index + 1, True)
            if round_index == config.max_rounds:
                break
            blocks = extract_code(reply)
            if not blocks:
                experiment.output = "No code was found. Write one experiment in a ```python block, or give the answer."
                history.append(Message.user(experiment.output))
                continue
            experiment.code = "\n".join(blocks)
            tools.notes.clear()
            with ToolServer(tools, worker.scratch_dir) as server:
                outcome = worker.run(experiment.code, timeout_s=config.cell_timeout_s)
            text, shown = _observation(outcome, server, list(tools.notes), config.max_images)
            experiment.output, experiment.images = text, shown
            parts: list[Any] = [text]
            if shown and images_ok:
                parts += shown
            elif shown:
                parts.append(f"({len(shown)} image(s) not shown: this model reads text only)")
            history.append(Message.user(*parts))
    return AgentResult("", [], experiments, len(experiments), False)


def write_report(result: AgentResult, folder: str | Path, *, title: str, truth: str | None = None) -> Path:
    """An HTML page of every experiment (reply, code, output, images), and the images as PNG files."""
    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rows = [f"<h1>{html.escape(title)}</h1>"]
    if truth:
        rows.append(f"<p><b>ground truth:</b> {html.escape(truth)}</p>")
    rows.append(
        f"<p><b>description:</b> {html.escape(result.description or '(none)')}<br>"
        f"<b>labels:</b> {html.escape('; '.join(result.labels))}</p>"
    )
    for e in result.experiments:
        rows.append(f"<h2>round {e.round}</h2><pre class='reply'>{html.escape(e.reply)}</pre>")
        if e.output:
            rows.append(f"<pre class='output'>{html.escape(e.output)}</pre>")
        for index, image in enumerate(e.images):
            name = f"images/r{e.round:02d}_{index:02d}.png"
            image.save(folder / name)
            rows.append(f"<img src='{name}' width='160'>")
    page = (
        "<!doctype html><meta charset='utf-8'><title>MAIA experiments</title><style>body{font-family:sans-serif;"
        "max-width:1100px;margin:auto}pre{white-space:pre-wrap;background:#f4f4f4;padding:6px}"
        ".output{background:#eef6ee}</style>" + "\n".join(rows)
    )
    path = folder / "report.html"
    path.write_text(page)
    (folder / "result.json").write_text(json.dumps(result.to_record(), indent=2))
    return path
