"""Gallery section for SketchAgent (Vinker et al., CVPR 2025): the embedded local model draws (under constrained
decoding) and edits a sketch, beside the retrieval baseline's drawing of the same concept.

The local model (SmolLM2-135M-Instruct) is tiny; what it draws is shown as it is. Its replies are cached by the chat
model's response cache (temperature 0), so a second run reuses them in a fraction of a second.
"""

from __future__ import annotations

import time

CONCEPT = "house"
EDIT = "add a sun in the top right corner"


def run_demo(ctx) -> None:
    from tinkerlab.core.errors import SketchSyntaxError
    from tinkerlab.llm import load_chat_model
    from tinkerlab.sketch.agent import SketchAgent, preset_config
    from tinkerlab.sketch.language import parse_sketch
    from tinkerlab.sketch.prompts import example_answer
    from tinkerlab.sketch.render import render_image, render_png, save_stroke_animation

    section = ctx.section
    section.title = "sketch: SketchAgent (an LLM draws stroke by stroke)"
    section.description = (
        "A chat model writes strokes as cells of a 50x50 grid with t-values; least-squares Bézier fitting turns "
        "them into curves. Here the offline model is the embedded SmolLM2-135M-Instruct, far too small for the "
        "task: the pictures show honestly what it produces. Use --model openai:... or anthropic:... for real "
        "sketches."
    )
    out = ctx.out_dir / "sketch"
    out.mkdir(parents=True, exist_ok=True)

    example = parse_sketch(example_answer())
    section.add_image(
        "The prompt's worked example (hand-written, not model output)",
        render_image(example, show_grid=True, colors="order", size=400),
        "The sailboat the prompt teaches the format with, rendered by the same pipeline (10 strokes).",
    )

    # The tiny model copies the prompt when asked to plan, so its reply starts at the first stroke's cells, and
    # the prompt is kept short (no worked example) so each call stays well under a minute on a shared CPU.
    config = preset_config("local", "tiny")
    model = load_chat_model("local", cache=not ctx.fresh, transcript=ctx.cache_dir / "transcript.jsonl")
    agent = SketchAgent(model, config)
    start = time.perf_counter()
    try:
        drawn = agent.draw(CONCEPT)
    except SketchSyntaxError as exc:
        section.add_text(
            "The local model's sketch",
            f"No readable sketch after {config.retries + 1} attempts: {exc}",
            "Shown as it happened: the model's replies could not be read as strokes.",
        )
        return
    seconds = time.perf_counter() - start
    sketch = drawn.sketch
    notes = "; ".join(sketch.warnings) or "none"
    section.add_image(
        f"SmolLM2-135M draws a {CONCEPT!r}",
        render_image(sketch, show_grid=True, colors="order", size=400),
        f"{len(sketch)} strokes in {seconds:.1f} s, decoded under the stroke grammar "
        f"(constrained decoding: {'on' if agent.constrained else 'off'}). Parser notes: {notes}. Every reply parses, "
        "but a model this small does not draw the concept.",
    )
    animation = save_stroke_animation(sketch, out / "local_strokes.gif", show_grid=True, colors="order")
    section.add_image("Its stroke order", animation, "Each stroke drawn in turn (GIF).")
    section.add_code("The model's reply, as read", drawn.replies[-1][:1500])

    start = time.perf_counter()
    try:
        edited = agent.edit(sketch, EDIT)
    except SketchSyntaxError as exc:
        section.add_text(f"Edit: {EDIT!r}", f"No readable edit: {exc}")
    else:
        changes = ", ".join(f"{k} {v}" for k, v in edited.changes.items() if v) or "no change"
        section.add_image(
            f"Edit: {EDIT!r}",
            render_image(edited.sketch, show_grid=True, colors="order", size=400),
            f"{changes} in {time.perf_counter() - start:.1f} s (stroke numbers before the edit).",
        )
    if model.requests_sent == 0:
        ctx.reused("local-model replies (response cache)")

    from tinkerlab.sketch.retrieval import BASELINE_NAME, RetrievalConfig, retrieve

    start = time.perf_counter()
    try:
        found = retrieve(CONCEPT, 0, RetrievalConfig(pool="heldout"))
    except Exception as exc:  # the openclipart package is optional for the demo
        section.add_text(f"The {BASELINE_NAME}", f"Not available here: {exc}")
    else:
        section.add_image(
            f"Baseline, not a model: the {BASELINE_NAME} draws a {CONCEPT!r}",
            render_image(found.sketch, show_grid=True, colors="order", size=400),
            f"{len(found.sketch)} strokes in {time.perf_counter() - start:.1f} s. No language model: it retrieves the "
            "openclipart drawing whose name is nearest the concept (MiniLM), traces its outlines and writes them "
            "as strokes of the same language. Shown beside the local model's sketch for comparison.",
        )

    timings = []
    for _ in range(20):
        tick = time.perf_counter()
        render_png(parse_sketch(example_answer()))
        timings.append(1000 * (time.perf_counter() - tick))
    timings.sort()
    section.add_table(
        "Parse + fit + render to PNG (the 10-stroke example)",
        ["median ms", "fastest ms"],
        [[f"{timings[len(timings) // 2]:.2f}", f"{timings[0]:.2f}"]],
        "Measured in this run; benchmarks/sketch_render.py compares against lstsq + CairoSVG.",
    )
