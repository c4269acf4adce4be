"""Zero-shot recognition of sketches, the evaluation protocol of SketchAgent (Vinker et al., CVPR 2025).

The paper drew 50 QuickDraw categories x 10 sketches and reported CLIP ViT-L/14 zero-shot top-1 / top-5 accuracy
over the 50 labels (Claude 3.5 Sonnet: 0.23 / 0.43; human QuickDraw sketches: 0.27 / 0.49). This module renders the
sketches, collects them from run directories, draws new ones, and scores them with any recogniser of the `vision`
engine (`tinkerlab.vision.recognition`): CLIP with user-supplied weights, or the offline clip-art recogniser.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from tinkerlab.core.errors import InputError
from tinkerlab.sketch.language import Sketch
from tinkerlab.sketch.render import render_image
from tinkerlab.vision.recognition import EvalResult, Recognizer, evaluate_images, load_recognizer

__all__ = [
    "QUICKDRAW_50",
    "sketch_image",
    "evaluate_sketches",
    "with_failures",
    "collect_sketches",
    "collect_failures",
    "generate_sketches",
    "load_recognizer",
    "evaluation_concepts",
]


QUICKDRAW_50 = (
    # the 27 concepts of the offline recogniser (tinkerlab.vision.clipart.CLIPART_CONCEPTS) ...
    "airplane", "apple", "book", "bus", "butterfly", "cake", "camera", "car", "cat", "clock", "cloud", "dog", "duck",
    "flower", "guitar", "hat", "house", "key", "mouse", "pencil", "penguin", "scissors", "star", "sun", "table",
    "tree", "truck",
    # ... and 23 more QuickDraw categories, with the collaboration study's concepts (sailboat aside) and the
    # categories the paper names among its confusions (shark, fish, octopus, spider, snake, squiggle)
    "bicycle", "bird", "chair", "coffee cup", "cow", "crab", "elephant", "eyeglasses", "fish", "giraffe", "hammer",
    "horse", "ladder", "lighthouse", "mushroom", "octopus", "rabbit", "shark", "snake", "spider", "squiggle",
    "teapot", "umbrella",
)  # fmt: skip
"""50 QuickDraw category names (names only, no drawings) for `sketch evaluate --concept-set quickdraw50`, e.g.
with CLIP weights. The paper's own list of 50 is in its appendix, which was not available; this list is this
project's choice and leaves out the worked example's concept (sailboat)."""


def sketch_image(sketch: Sketch, size: int = 224) -> Image.Image:
    """A sketch as the recognisers see it: black strokes on white, RGB, `size` px square."""
    return render_image(sketch, size=size).convert("RGB")


def evaluate_sketches(
    sketches: Sequence[Sketch],
    labels: Sequence[str],
    concepts: Sequence[str],
    recognizer: Recognizer,
    *,
    failed: Sequence[tuple[str, str]] = (),
) -> EvalResult:
    """`evaluate_images` on rendered sketches, with every failed generation counted as a miss.

    Args:
        failed: (concept, reason) of each requested sketch that was never drawn; each one counts in `count`, in its
            concept's `n` and in the denominators of top-1 and top-5, and is listed in `predictions` with its reason.

    Raises:
        InputError: a label is not among `concepts`, the lengths differ, or there is nothing at all to evaluate.
    """
    concepts = list(concepts)
    unknown = sorted({label for label, _ in failed} - set(concepts))
    if unknown:
        raise InputError(f"labels {unknown} are not in the concept list ({len(concepts)} concepts)")
    if not sketches:
        if not failed:
            raise InputError("nothing to evaluate: no sketches")
        drawn = EvalResult(0.0, 0.0, 0, concepts, {}, [], getattr(recognizer, "name", type(recognizer).__name__))
    else:
        drawn = evaluate_images([sketch_image(s) for s in sketches], labels, concepts, recognizer)
    return with_failures(drawn, failed)


def with_failures(result: EvalResult, failed: Sequence[tuple[str, str]]) -> EvalResult:
    """`result` with the failed sketches added as misses (top-1 and top-5 over drawn + failed)."""
    if not failed:
        return result
    total = result.count + len(failed)
    per = {concept: dict(row) for concept, row in result.per_concept.items()}
    for concept, _ in failed:
        row = per.setdefault(concept, {"n": 0, "top1": 0.0, "top5": 0.0})
        hits1, hits5 = row["top1"] * row["n"], row["top5"] * row["n"]
        row["n"] = int(row["n"]) + 1
        row["top1"], row["top5"] = hits1 / row["n"], hits5 / row["n"]
    predictions = list(result.predictions) + [
        {"label": concept, "top5": [], "failed": reason} for concept, reason in failed
    ]
    return EvalResult(
        result.top1 * result.count / total,
        result.top5 * result.count / total,
        total,
        result.concepts,
        dict(sorted(per.items())),
        predictions,
        result.recognizer,
    )


# --- collecting and generating sketches ----------------------------------------------------------------------


def collect_sketches(paths: Sequence[str | Path]) -> list[tuple[Sketch, str]]:
    """Sketches and their true concepts from run directories (found recursively) and sketch text files.

    A run directory's concept is the one it was drawn for (config.json); a text file's is its ``<concept>``.

    Raises:
        InputError: a path does not exist, or a text file names no concept.
    """
    from tinkerlab.sketch.language import parse_sketch

    found: list[tuple[Sketch, str]] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InputError(f"{str(path)!r} does not exist")
        if path.is_file():
            sketch = parse_sketch(path.read_text(encoding="utf-8"), strict=False)
            if not sketch.concept:
                raise InputError(f"{path} has no <concept>; evaluate run directories or files that name it")
            found.append((sketch, sketch.concept.lower()))
            continue
        for config in sorted(path.rglob("config.json")):
            record = json.loads(config.read_text())
            if record.get("system") != "sketch":
                continue
            run = config.parent
            text_file = run / "outputs" / "sketch.txt"  # the drawing itself, not later edits
            if not text_file.exists():
                continue
            sketch = parse_sketch(text_file.read_text(encoding="utf-8"), strict=False)
            found.append((sketch, str(record["config"]["concept"]).lower()))
    return found


def collect_failures(paths: Sequence[str | Path]) -> list[tuple[str, str]]:
    """(concept, reason) of every sketch run directory under `paths` that holds no drawing (a failed generation).

    A failed sketch is a miss: `evaluate_sketches(..., failed=collect_failures(paths))` counts it.
    """
    failed: list[tuple[str, str]] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            continue
        for config in sorted(path.rglob("config.json")):
            record = json.loads(config.read_text())
            run = config.parent
            if record.get("system") != "sketch" or (run / "outputs" / "sketch.txt").exists():
                continue
            note = run / "failed.txt"
            reason = note.read_text(encoding="utf-8").strip() if note.exists() else "no sketch was drawn"
            failed.append((str(record["config"]["concept"]).lower(), reason))
    return failed


def evaluation_concepts(concepts: Sequence[str], excluded: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """The concept list without the built-in prompt's worked-example concept (and `excluded`, e.g. the example
    concept of a user's prompts file), and what was dropped.

    Results on the concept the prompt shows a complete drawing of measure copying, not drawing, so it never
    takes part in an evaluation.
    """
    from tinkerlab.sketch.prompts import EXAMPLE_CONCEPT

    drop = {EXAMPLE_CONCEPT, *(c.lower() for c in excluded)}
    kept = [c for c in dict.fromkeys(concepts) if c not in drop]
    return kept, [c for c in dict.fromkeys(concepts) if c in drop]


def generate_sketches(
    concepts: Sequence[str],
    model_spec: str,
    per_concept: int,
    out: str | Path,
    *,
    agent_config=None,
    base_url: str | None = None,
    temperature: float = 0.7,
    retrieval=None,
) -> list[Path]:
    """Draw every concept `per_concept` times into ``out/<concept>/<i>`` run directories (existing ones are kept,
    so an interrupted generation resumes). Returns the run directories.

    The first sketch of a concept is drawn at the agent's temperature (0 by default, cached); further ones at
    `temperature` for variety. With `model_spec` "retrieval" (the baseline) sketch i of a concept traces the i-th
    best matching drawing of `retrieval.pool` (a `RetrievalConfig`).
    """
    from dataclasses import replace

    from tinkerlab.core.progress import track
    from tinkerlab.llm import load_chat_model
    from tinkerlab.sketch.agent import AgentConfig
    from tinkerlab.sketch.runs import RETRIEVAL, DrawConfig, draw_run

    base = agent_config or AgentConfig()
    model = None if model_spec == RETRIEVAL else load_chat_model(model_spec, base_url=base_url)
    runs = []
    jobs = [(c, i) for c in concepts for i in range(per_concept)]
    for concept, index in track(jobs, "drawing sketches"):
        folder = Path(out) / re.sub(r"[^a-z0-9]+", "_", concept.lower()).strip("_") / f"{index:02d}"
        runs.append(folder)
        if (folder / "outputs" / "sketch.txt").exists():
            continue
        config = DrawConfig(
            concept=concept,
            model=model_spec,
            base_url=base_url,
            agent=base if index == 0 else replace(base, temperature=temperature),
            variant=index,
            **({"retrieval": retrieval} if retrieval is not None else {}),
        )
        try:
            draw_run(config, folder, model=model)
        except Exception as exc:  # an undrawable concept counts as a miss, not a crash
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "failed.txt").write_text(f"{type(exc).__name__}: {exc}\n")
    return runs
