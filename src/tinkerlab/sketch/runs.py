"""Run directories for SketchAgent drawings (Vinker et al., CVPR 2025): draw into a folder, edit it later.

Layout::

    RUN/
      config.json        concept, model spec, mode and agent settings
      transcript.jsonl   every exchange with the chat model
      run.log
      state.json         {"current": "outputs/...", "edits": [...]} : the latest version and the edit history
      outputs/
        sketch.txt       the sketch in the language (with the model's plan)
        sketch.svg       vector output (fitted Bézier curves)
        sketch.png       raster output on white
        sketch_grid.png  on the labelled grid (what a vision model is shown)
        strokes.gif      stroke-order animation
        replies.json     the raw replies and the parse failures
        edit_01/ ...     the same files after each edit, plus instruction.txt
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tinkerlab.core.config import check_choice, check_count, check_type, config_error, config_to_dict
from tinkerlab.core.errors import InputError, ResumeError
from tinkerlab.core.runs import RunDir
from tinkerlab.sketch.agent import AgentConfig, DrawResult, EditResult, SketchAgent
from tinkerlab.sketch.language import Sketch, parse_sketch
from tinkerlab.sketch.render import render_image, save_sketch, save_stroke_animation
from tinkerlab.sketch.retrieval import RetrievalConfig

Mode = Literal["whole", "strokes"]
RETRIEVAL = "retrieval"
"""The model spec of the retrieval baseline (`tinkerlab.sketch.retrieval`): no language model."""


@dataclass(frozen=True)
class DrawConfig:
    """What `draw_run` records in config.json."""

    concept: str
    model: str = "local"
    mode: Mode = "whole"
    base_url: str | None = None
    agent: AgentConfig = field(default_factory=AgentConfig)
    variant: int = 0
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)

    def __post_init__(self) -> None:
        check_type(self, "concept", str)
        if not self.concept.strip():
            raise config_error(self, "concept", "a non-empty concept to draw", self.concept)
        check_type(self, "model", str)
        check_choice(self, "mode", ("whole", "strokes"))
        check_type(self, "base_url", str, optional=True)
        check_type(self, "agent", AgentConfig)
        check_count(self, "variant", 0)
        check_type(self, "retrieval", RetrievalConfig)


def write_sketch_files(sketch: Sketch, folder: Path, *, colors=None) -> dict[str, Path]:
    """Write sketch.txt/.svg/.png, sketch_grid.png and strokes.gif into `folder`; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "text": save_sketch(sketch, folder / "sketch.txt"),
        "svg": save_sketch(sketch, folder / "sketch.svg", colors=colors),
        "png": save_sketch(sketch, folder / "sketch.png", colors=colors),
        "gif": save_stroke_animation(sketch, folder / "strokes.gif", colors=colors),
    }
    grid_png = folder / "sketch_grid.png"
    render_image(sketch, show_grid=True, colors=colors if colors is not None else "order").save(grid_png)
    paths["grid_png"] = grid_png
    return paths


def _load_model(spec: str, base_url: str | None, transcript: Path, device: str = "cpu"):
    from tinkerlab.llm import load_chat_model

    return load_chat_model(spec, base_url=base_url, transcript=transcript, device=device)


def draw_run(
    config: DrawConfig, out: str | Path, *, model=None, overwrite: bool = False, device: str = "cpu"
) -> tuple[DrawResult, RunDir]:
    """Draw `config.concept` into the run directory `out`.

    A folder holding an unfinished drawing with the same config (e.g. after a failed attempt) is drawn into again;
    one holding a finished drawing, or a run with another config, is refused unless `overwrite`, which moves the
    old run aside (see `tinkerlab.core.runs`), so old edits and transcripts never mix with the new drawing.

    Args:
        config: what to draw, and how.
        out: the run directory.
        model: a chat model to use instead of loading `config.model` (tests pass a scripted one).
        overwrite: start afresh where `out` already holds a sketch run.
        device: where a local chat model runs ('cpu', 'cuda', 'cuda:N', 'mps', 'auto'); remote models ignore it.

    Returns:
        The drawing and its run directory.

    Raises:
        SketchSyntaxError: the model gave no readable sketch within the retries (its replies are still saved).
        ResumeError: `out` holds a finished drawing or another run, and `overwrite` is False.
        InputError: `out` is a file.

    Example:
        >>> result, run = draw_run(DrawConfig("sailboat"), "runs/sailboat")  # doctest: +SKIP
    """
    folder = Path(out)
    if not overwrite and (folder / "config.json").is_file():
        previous, recorded = RunDir.load(folder)
        if previous.system == "sketch" and recorded == config_to_dict(config) and previous.state().get("current"):
            raise ResumeError(
                f"{folder} already holds a drawing of {config.concept!r}; pass --overwrite to draw it again "
                "(the old run is moved aside) or choose another --out"
            )
    run = RunDir.open(out, system="sketch", config=config, overwrite=overwrite)
    if config.model == RETRIEVAL and model is None:
        return _draw_baseline(config, run)
    model = model if model is not None else _load_model(config.model, config.base_url, run.transcript_path, device)
    model.set_transcript(run.transcript_path)
    agent = SketchAgent(model, config.agent)
    run.log(f"drawing {config.concept!r} with {getattr(model, 'name', config.model)} ({config.mode})")
    _log_setup(agent, run)
    try:
        if config.mode == "strokes":
            result = agent.draw_stroke_by_stroke(config.concept)
        else:
            result = agent.draw(config.concept)
    except Exception as exc:
        run.log(f"failed: {exc}")
        raise
    _finish_drawing(result, run)
    return result, run


def _log_setup(agent: SketchAgent, run: RunDir) -> None:
    """Which prompts ran and whether decoding was constrained (the transcript holds the prompt texts)."""
    used = agent.config.prompts
    if used is not None:
        run.log(f"prompts: {used.name!r} from {used.source or 'Python'} (sha256 {used.sha256[:12] or '-'})")
    else:
        run.log("prompts: built-in")
    run.log(f"constrained decoding: {'on' if agent.constrained else 'off'}")


def _finish_drawing(result: DrawResult, run: RunDir) -> None:
    write_sketch_files(result.sketch, run.outputs)
    (run.outputs / "replies.json").write_text(
        json.dumps({"replies": result.replies, "failures": result.failures, "seconds": result.seconds}, indent=2)
    )
    run.save_state({"current": "outputs/sketch.txt", "edits": []})
    run.log(f"drew {len(result.sketch)} strokes in {result.seconds:.1f} s")


def _draw_baseline(config: DrawConfig, run: RunDir) -> tuple[DrawResult, RunDir]:
    """`--model retrieval`: the retrieval baseline (no language model, no transcript)."""
    from tinkerlab.sketch.retrieval import BASELINE_NAME, draw_baseline

    run.log(f"drawing {config.concept!r} with the {BASELINE_NAME}, variant {config.variant}")
    try:
        result = draw_baseline(config.concept, config.variant, config.retrieval)
    except Exception as exc:
        run.log(f"failed: {exc}")
        raise
    _finish_drawing(result, run)
    return result, run


def edit_run(
    folder: str | Path,
    instruction: str,
    *,
    model_spec: str | None = None,
    base_url: str | None = None,
    model=None,
    device: str = "cpu",
) -> tuple[EditResult, Path]:
    """Apply an editing instruction to the latest version of the sketch in run directory `folder`.

    Args:
        device: where a local chat model runs ('cpu', 'cuda', 'cuda:N', 'mps', 'auto'); remote models ignore it.

    Returns:
        The edit result and the folder the edited version was written to (``outputs/edit_NN``).

    Raises:
        InputError: `folder` is not a sketch run directory, or its config.json is damaged.
        ResumeError: its state.json is damaged.
    """
    folder = Path(folder)
    run, recorded = RunDir.load(folder, system="sketch", hint="create one with `tinkerlab sketch draw`")
    state = run.state() or {"current": "outputs/sketch.txt", "edits": []}
    current = folder / state["current"]
    sketch = parse_sketch(current.read_text(encoding="utf-8"))
    spec = model_spec or recorded.get("model", "local")
    if spec == RETRIEVAL:
        raise InputError(
            "the retrieval baseline cannot follow editing instructions; pass --model with a chat model "
            "(e.g. --model local or --model openai:MODEL)"
        )
    model = (
        model
        if model is not None
        else _load_model(spec, base_url or recorded.get("base_url"), run.transcript_path, device)
    )
    model.set_transcript(run.transcript_path)
    agent_config = AgentConfig(
        **{k: v for k, v in (recorded.get("agent") or {}).items() if k in AgentConfig.__dataclass_fields__}
    )
    agent = SketchAgent(model, agent_config)
    _log_setup(agent, run)
    result = agent.edit(sketch, instruction)
    number = len(state["edits"]) + 1
    target = run.outputs / f"edit_{number:02d}"
    write_sketch_files(result.sketch, target)
    (target / "instruction.txt").write_text(instruction.strip() + "\n", encoding="utf-8")
    (target / "replies.json").write_text(
        json.dumps({"replies": result.replies, "failures": result.failures, "changes": result.changes}, indent=2)
    )
    state["edits"].append({"instruction": instruction, "folder": f"outputs/edit_{number:02d}", **result.changes})
    state["current"] = f"outputs/edit_{number:02d}/sketch.txt"
    run.save_state(state)
    run.log(f"edit {number}: {instruction!r} -> {result.changes}")
    for note in result.sketch.warnings:
        run.log(f"edit {number}: {note}")
    return result, target


__all__ = ["DrawConfig", "draw_run", "edit_run", "write_sketch_files"]
