"""Gallery demo of `tinkerlab.codedraw` (Vision Check-up): the embedded local model draws with code across feedback
rounds, and names human-made SVG code (openclipart) from the code alone.

The drawing run and the recognition answers are cached in `ctx.cache_dir` (and the chat replies in the response
cache), so a second gallery run only reads them back.
"""

from __future__ import annotations

import json

DEMO_CONCEPTS = (("a house", "matplotlib"),)
ROUNDS, MAX_TOKENS = 2, 120
RECOGNITION_ITEMS, CHOICES, MAX_CHARS = 4, 4, 2500


def run_demo(ctx) -> None:
    import numpy as np

    from tinkerlab.codedraw.render import Renderer
    from tinkerlab.codedraw.runs import DrawConfig, RecognizeConfig, draw_run, recognize_run
    from tinkerlab.core.images import image_grid

    section = ctx.section
    section.title = "codedraw: language models draw with code (Vision Check-up)"
    section.description = (
        "The embedded SmolLM2-135M writes programs that draw a concept; each program runs in the sandbox and is "
        "rendered at 256 px. Later rounds only say 'improve your drawing' (the model never sees its render). Then the "
        "model is shown the SVG code of human-made openclipart drawings and picks what they show."
    )
    tiles, rows = [], []
    for concept, language in DEMO_CONCEPTS:
        out = ctx.cached_run(f"draw-{language}-{concept.replace(' ', '-')}-{ROUNDS}-{MAX_TOKENS}")
        reused = ctx.run_finished(out)
        config = DrawConfig(concept=concept, language=language, rounds=ROUNDS, skeleton=True, max_tokens=MAX_TOKENS)
        record, run = draw_run(config, out)
        if reused:
            ctx.reused(f"drawing of {concept} ({language})")
        strip = run.outputs / "rounds.png"
        from PIL import Image

        with Image.open(strip) as image:
            tiles.append(np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0)
        for entry in record["rounds"]:
            rows.append([concept, language, entry["round"], entry["status"], (entry["error"] or "")[-90:]])
    section.add_image(
        "SmolLM2-135M drawing with code, round by round (skeleton prompting)",
        image_grid(tiles, columns=1, pad=6),
        caption=(
            f"{ROUNDS} rounds per concept, at most {MAX_TOKENS} tokens a reply; the program's first lines (imports "
            "and a canvas) are given and the model completes them. Grey tiles are programs that failed; their "
            "status is kept, never dropped. A 135M model mostly fails: this shows the harness, not a good drawer."
        ),
    )
    section.add_table("Every round's status", ["concept", "language", "round", "status", "error"], rows)
    out = ctx.cached_run(f"recognize-openclipart-{RECOGNITION_ITEMS}-{CHOICES}")
    done = (out / "outputs" / "summary.json").is_file()
    summary, run = recognize_run(
        RecognizeConfig(choices=CHOICES, limit=RECOGNITION_ITEMS, max_chars=MAX_CHARS), out, progress=False
    )
    if done:
        ctx.reused("openclipart recognition answers")
    entries = [
        json.loads(line) for line in (run.outputs / "recognition.jsonl").read_text().splitlines() if line.strip()
    ]
    pictures = sorted((run.outputs / "pictures").glob("*.png"))
    if not pictures:
        from tinkerlab.codedraw.runs import clipart_items

        (run.outputs / "pictures").mkdir(exist_ok=True)
        with Renderer() as renderer:
            for index, item in enumerate(clipart_items(RECOGNITION_ITEMS, MAX_CHARS)):
                image = renderer.render(item["code"], "svg").image
                if image is not None:
                    image.save(run.outputs / "pictures" / f"{index:02d}.png")
        pictures = sorted((run.outputs / "pictures").glob("*.png"))
    from PIL import Image

    shown = []
    for path in pictures:
        with Image.open(path) as image:
            shown.append(np.asarray(image.convert("RGB").resize((160, 160)), dtype=np.float32) / 255.0)
    if shown:
        section.add_image(
            "The openclipart drawings whose code the model read (rendered here, never shown to the model)",
            image_grid(shown, columns=len(shown), pad=4),
        )
    section.add_table(
        f"Recognition of human-made SVG code (openclipart), a choice of {CHOICES}",
        ["drawing", "true concept", "options", "answer", "correct"],
        [[e["source"], e["concept"], ", ".join(e["options"]), e["answer"][:30], e["correct"]] for e in entries],
        caption=(
            f"{summary['accuracy']:.2f} correct of {summary['count']} (chance {1 / CHOICES:.2f}; always "
            f"answering the best single position would score {summary['best_fixed_position_baseline']:.2f} "
            "on these items, and small models mostly answer 'A'). The SVG is "
            "reduced to its drawing (metadata removed, numbers rounded) and shown as text only."
        ),
    )
