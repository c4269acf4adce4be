"""`tinkerlab sketch ...`: SketchAgent (Vinker et al., CVPR 2025) from the shell.

tinkerlab sketch draw "sailboat" --model local --out runs/sailboat
tinkerlab sketch edit runs/sailboat "add a sun in the top right corner"
tinkerlab sketch render sketch.txt --out sketch.png --grid
tinkerlab sketch serve
tinkerlab sketch evaluate runs/ --concepts concepts.txt
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from tinkerlab.cli_options import (
    ApiKeyEnv,
    BaseUrl,
    Device,
    Model,
    NonBlank,
    Overwrite,
    Retries,
    Spec,
    Timeout,
    connection_environment,
    model_option,
    out_option,
)

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="SketchAgent: a chat model draws stroke by stroke on a 50x50 grid.",
)

Preset = Literal["auto", "full", "tiny"]
"""The presets of `tinkerlab.sketch.agent.preset_config` (not imported here, so `--help` stays fast)."""
Mode = Literal["whole", "strokes"]
ConceptSet = Literal["clipart27", "quickdraw50"]
"""`tinkerlab.sketch.runs.Mode`."""
PRESET_HELP = "full (the paper's prompt), tiny (for the embedded 135M model) or auto (tiny for --model local)."
PresetOption = Annotated[Preset, typer.Option("--preset", help=PRESET_HELP)]
PromptsOption = Annotated[
    Path | None,
    typer.Option(
        "--prompts",
        help="A TOML file with your own system prompt and worked example (keys: system, example, example_concept, "
        "task, name; see docs/sketch.md).",
    ),
]
ConstrainedOption = Annotated[
    bool,
    typer.Option(
        "--constrained/--no-constrained",
        help="Local models: decode under the stroke grammar so every reply parses (remote models: ignored).",
    ),
]


RetrievedExample = Literal["none", "heldout", "all"]
RetrievedExampleOption = Annotated[
    RetrievedExample,
    typer.Option(
        "--retrieved-example",
        help="Show a clip-art drawing of the concept itself, traced by the retrieval baseline, as the worked "
        "example: heldout (drawings the offline recogniser never saw), all, or none.",
    ),
]


def _agent_options(prompts_file: Path | None, constrained: bool, retrieved_example: str = "none") -> dict:
    """AgentConfig fields from --prompts, --constrained and --retrieved-example."""
    options: dict = {"constrained": constrained, "retrieved_example": retrieved_example}
    if prompts_file is not None:
        from tinkerlab.sketch.prompts import load_prompts

        options["prompts"] = load_prompts(prompts_file)
    return options


RECOGNIZERS = Spec(("default", "clip:ARCH:WEIGHTS"))


@app.callback()
def _group() -> None:
    """SketchAgent: a chat model draws stroke by stroke on a 50x50 grid."""


@app.command()
def draw(
    concept: str = typer.Argument(
        ..., parser=NonBlank("a concept to draw, e.g. 'sailboat'"), help="What to draw, e.g. 'sailboat'."
    ),
    model: Model = "local",
    out: Annotated[Path, out_option("the run directory for the sketch, its pictures and transcript.")] = ...,
    mode: Mode = typer.Option("whole", "--mode", help="whole: one call; strokes: one stroke per call."),
    base_url: BaseUrl = None,
    preset: PresetOption = "auto",
    max_tokens: int | None = typer.Option(
        None,
        "--max-tokens",
        min=1,
        help="Reply budget of the drawing call (default 3000, 160 with the tiny preset).",
    ),
    max_strokes: int | None = typer.Option(None, "--max-strokes", min=1, help="Most strokes in --mode strokes."),
    temperature: float = typer.Option(0.0, "--temperature", min=0.0, max=2.0, help="0 is greedy and cached."),
    reply_retries: int | None = typer.Option(
        None, "--reply-retries", min=0, help="Extra attempts after an unreadable reply."
    ),
    prompts_file: PromptsOption = None,
    constrained: ConstrainedOption = True,
    retrieved_example: RetrievedExampleOption = "none",
    overwrite: Overwrite = False,
    device: Device = "cpu",
    timeout: Timeout = None,
    retries: Retries = None,
    api_key_env: ApiKeyEnv = None,
) -> None:
    """Ask a chat model to sketch CONCEPT; writes sketch.txt/.svg/.png, a grid view and a stroke-order GIF.

    A folder that already holds this drawing is refused unless --overwrite; --device applies to local models.
    """
    from tinkerlab.sketch.agent import preset_config
    from tinkerlab.sketch.runs import DrawConfig, draw_run

    overrides = {"max_tokens": max_tokens, "max_strokes": max_strokes, "retries": reply_retries}
    agent = preset_config(
        model,
        preset,
        temperature=temperature,  # type: ignore[arg-type]
        **{k: v for k, v in overrides.items() if v is not None},
        **_agent_options(prompts_file, constrained, retrieved_example),
    )
    config = DrawConfig(concept=concept, model=model, mode=mode, base_url=base_url, agent=agent)  # type: ignore[arg-type]
    with connection_environment(timeout=timeout, retries=retries, api_key_env=api_key_env):
        result, run = draw_run(config, out, overwrite=overwrite, device=device)
    for warning in result.sketch.warnings:
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    typer.echo(
        f"{len(result.sketch)} strokes in {result.seconds:.1f} s ({len(result.failures)} unreadable replies retried)"
    )
    typer.echo(f"wrote {run.outputs / 'sketch.png'} (and .svg, .txt, sketch_grid.png, strokes.gif)")
    problem = not_a_sketch(result.sketch)
    if problem:
        typer.secho(
            f"note: this is not a sketch of {concept} ({problem}); the model is too small or failed - try "
            "`--model retrieval` (a baseline) or a remote model",
            fg=typer.colors.YELLOW,
            err=True,
        )


def not_a_sketch(sketch) -> str | None:
    """Why a result is not a drawing (fewer than 2 strokes, or every cell on the grid's border); None if it may be."""
    if len(sketch.strokes) < 2:
        return f"{len(sketch.strokes)} stroke"
    res = sketch.resolution
    if all(c in (1, res) or r in (1, res) for s in sketch.strokes for c, r in s.points):
        return "every point lies on the border of the grid"
    return None


@app.command()
def edit(
    folder: Path = typer.Argument(..., help="A run directory made by `sketch draw`."),
    instruction: str = typer.Argument(
        ...,
        parser=NonBlank("an editing instruction, e.g. 'add a sun in the top right'"),
        help="What to change, e.g. 'add a sun in the top right'.",
    ),
    model: Annotated[str | None, model_option()] = None,
    base_url: BaseUrl = None,
    device: Device = "cpu",
    timeout: Timeout = None,
    retries: Retries = None,
    api_key_env: ApiKeyEnv = None,
) -> None:
    """Edit the latest version of a drawing by instruction: strokes are added, removed or modified.

    The model is the drawing's own unless --model names another.
    """
    from tinkerlab.sketch.runs import edit_run

    with connection_environment(timeout=timeout, retries=retries, api_key_env=api_key_env):
        result, target = edit_run(folder, instruction, model_spec=model, base_url=base_url, device=device)
    changes = ", ".join(f"{k} {v}" for k, v in result.changes.items() if v) or "no change"
    typer.echo(f"{changes}; now {len(result.sketch)} strokes")
    typer.echo(f"wrote {target / 'sketch.png'}")


@app.command()
def render(
    file: Path = typer.Argument(..., help="A text file holding a sketch (a model reply or sketch.txt)."),
    out: Annotated[Path, out_option("the output file: .png, .svg, .gif (stroke order) or .txt.")] = ...,
    grid: bool = typer.Option(False, "--grid", help="Draw on the labelled grid."),
    colors: str | None = typer.Option(None, "--colors", help="'order' (by drawing order) or one colour."),
    size: int | None = typer.Option(None, "--size", min=16, help="Output side in pixels (PNG)."),
    animate: float | None = typer.Option(
        None, "--animate", min=0.01, help="SVG only: seconds per stroke of a stroke-order animation (CSS)."
    ),
) -> None:
    """Render a sketch written in the language to PNG, SVG, GIF or canonical text."""
    from tinkerlab.sketch.language import read_sketch_file
    from tinkerlab.sketch.render import save_sketch

    sketch = read_sketch_file(file)
    for warning in sketch.warnings:
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    options: dict = {"colors": colors}
    suffix = out.suffix.lower()
    if suffix in (".png", ".svg", ".gif"):
        options["show_grid"] = grid
    if suffix == ".png" and size:
        options["size"] = size
    if suffix == ".svg" and animate:
        options["animate_seconds_per_stroke"] = animate
    if suffix == ".txt":
        options = {}
    save_sketch(sketch, out, **options)
    typer.echo(f"wrote {out} ({len(sketch)} strokes)")


@app.command()
def serve(
    model: Model = "local",
    base_url: BaseUrl = None,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (local only by default)."),
    port: int = typer.Option(0, "--port", min=0, max=65535, help="Port; 0 picks a free one (printed)."),
    concept: str = typer.Option("cat", "--concept", help="The concept the page starts with."),
    save_dir: Annotated[
        Path | None, out_option("a folder where each session is saved (strokes, exchanges, a PNG per turn).")
    ] = Path("runs/canvas"),
    transcript: Path | None = typer.Option(None, "--transcript", help="Append every exchange to this JSONL."),
    stroke_max_tokens: int | None = typer.Option(
        None, "--stroke-max-tokens", min=16, help="Reply budget per stroke (default 300; 60 with tiny)."
    ),
    preset: PresetOption = "auto",
    prompts_file: PromptsOption = None,
    constrained: ConstrainedOption = True,
    device: Device = "cpu",
    timeout: Timeout = None,
    retries: Retries = None,
    api_key_env: ApiKeyEnv = None,
) -> None:
    """Open a page where you and the agent take turns drawing, one stroke each."""
    from tinkerlab.sketch.agent import SketchAgent, preset_config
    from tinkerlab.sketch.web.app import create_app
    from tinkerlab.sketch.web.server import serve_forever

    if transcript is not None:  # checked now, not at the first stroke
        from tinkerlab.llm.transcript import check_transcript_path

        check_transcript_path(transcript)
    agent_options = _agent_options(prompts_file, constrained)  # checked now too

    def make_agent():
        from tinkerlab.llm import load_chat_model

        chat_model = load_chat_model(
            model,
            base_url=base_url,
            transcript=transcript,
            device=device,
            timeout_s=timeout,
            max_retries=retries,
            api_key_env=api_key_env,
        )
        overrides = {"stroke_max_tokens": stroke_max_tokens} if stroke_max_tokens else {}
        overrides.update(agent_options)
        return SketchAgent(chat_model, preset_config(model, preset, **overrides))  # type: ignore[arg-type]

    app_ = create_app(make_agent, default_concept=concept, save_dir=save_dir)
    serve_forever(app_, host=host, port=port, announce=typer.echo)


@app.command()
def evaluate(
    sketches: list[Path] | None = typer.Argument(
        None,
        help="Run directories (searched recursively) or sketch text files; their concepts are the true labels.",
    ),
    concepts: str | None = typer.Option(
        None,
        "--concepts",
        help="Comma-separated concept list (the label set); default: --concept-set.",
    ),
    concepts_file: Path | None = typer.Option(None, "--concepts-file", help="One concept per line."),
    concept_set: ConceptSet = typer.Option(
        "clipart27",
        "--concept-set",
        help="The label set without --concepts: clipart27 (the offline recogniser's) or quickdraw50 (50 QuickDraw "
        "names, for CLIP).",
    ),
    recognizer: str = typer.Option(
        "default",
        "--recognizer",
        parser=RECOGNIZERS,
        metavar="SPEC",
        help="default (offline, built once) or clip:ARCH:WEIGHTS (ARCH: an open_clip model name or config JSON; "
        "WEIGHTS: a local open_clip checkpoint; configs and vocabulary from `make clip`).",
    ),
    generate: bool = typer.Option(False, "--generate", help="First draw every concept with --model into --out."),
    model: Model = "local",
    base_url: BaseUrl = None,
    timeout: Timeout = None,
    retries: Retries = None,
    api_key_env: ApiKeyEnv = None,
    per_concept: int = typer.Option(10, "--per-concept", min=1, help="Sketches per concept with --generate."),
    preset: PresetOption = "auto",
    prompts_file: PromptsOption = None,
    constrained: ConstrainedOption = True,
    retrieved_example: RetrievedExampleOption = "none",
    out: Annotated[Path | None, out_option("a folder for the generated sketches and results.json.")] = None,
    pool: str = typer.Option(
        "heldout",
        "--pool",
        help="--model retrieval only: 'heldout' (drawings the default recogniser never trained on) or 'all'.",
    ),
    clipart_check: bool = typer.Option(
        False,
        "--clipart-check",
        help="Also measure the recogniser on held-out openclipart drawings (default recogniser only).",
    ),
) -> None:
    """Zero-shot top-1/top-5 recognition of sketches over a concept list, as in the paper's evaluation."""
    from tinkerlab.core.errors import InputError
    from tinkerlab.sketch import evaluate as ev
    from tinkerlab.vision.clipart import CLIPART_CONCEPTS, ClipartRecognizer, clipart_benchmark

    labels_list = list(CLIPART_CONCEPTS) if concept_set == "clipart27" else list(ev.QUICKDRAW_50)
    if concepts_file is not None:
        if not concepts_file.is_file():
            raise InputError(f"concepts file {str(concepts_file)!r} does not exist")
        try:
            lines = concepts_file.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            raise InputError(f"expected a text file with one concept per line, got {str(concepts_file)!r}") from None
        labels_list = [line.strip().lower() for line in lines if line.strip()]
    elif concepts:
        labels_list = [c.strip().lower() for c in concepts.split(",") if c.strip()]
    agent_options = _agent_options(prompts_file, constrained, retrieved_example)
    from tinkerlab.sketch.prompts import example_concepts

    labels_list, dropped = ev.evaluation_concepts(labels_list, example_concepts(agent_options.get("prompts")))
    for name in dropped:
        typer.secho(
            f"note: {name!r} is the prompt's worked example; left out of the evaluation",
            fg=typer.colors.YELLOW,
            err=True,
        )
    paths = list(sketches or [])
    if generate:
        from tinkerlab.sketch.agent import preset_config

        if out is None:
            raise typer.BadParameter("--generate needs --out for the sketches", param_hint="--out")
        with connection_environment(base_url=base_url, timeout=timeout, retries=retries, api_key_env=api_key_env):
            from tinkerlab.sketch.retrieval import RetrievalConfig

            ev.generate_sketches(
                labels_list,
                model,
                per_concept,
                out,
                agent_config=preset_config(model, preset, **agent_options),  # type: ignore[arg-type]
                retrieval=RetrievalConfig(pool=pool),  # type: ignore[arg-type]
            )
        paths.append(out)
    if not paths and not clipart_check:
        raise InputError("nothing to evaluate: give sketch folders or files, --generate, or --clipart-check")
    scorer = ev.load_recognizer(recognizer)
    results = {}
    if clipart_check:
        if not isinstance(scorer, ClipartRecognizer):
            raise InputError("--clipart-check measures the default recogniser; drop --recognizer")
        check = clipart_benchmark(scorer)
        results["clipart_check"] = json.loads(check.to_json())
        typer.echo(
            f"recogniser on {check.count} held-out openclipart drawings, {len(check.concepts)} concepts: "
            f"top-1 {check.top1:.3f}, top-5 {check.top5:.3f} (chance {1 / len(check.concepts):.3f}, "
            f"{min(5, len(check.concepts)) / len(check.concepts):.3f})"
        )
    if paths:
        found = ev.collect_sketches(paths)
        failed = ev.collect_failures(paths)
        if not found and not failed:
            raise InputError("no sketches found in the given paths")
        sketches_found = [s for s, _ in found]
        labels = [label for _, label in found]
        for label in sorted((set(labels) | {c for c, _ in failed}) - set(labels_list)):
            labels_list.append(label)
            typer.secho(f"note: {label!r} is not in the concept list; added", fg=typer.colors.YELLOW, err=True)
        result = ev.evaluate_sketches(sketches_found, labels, labels_list, scorer, failed=failed)
        results["sketches"] = json.loads(result.to_json())
        typer.echo(f"{result.count} sketches, {len(labels_list)} concepts, recogniser {result.recognizer}:")
        chance = 1 / len(labels_list)
        typer.echo(
            f"  top-1 {result.top1:.3f}  top-5 {result.top5:.3f}  (chance {chance:.3f}, "
            f"{min(5, len(labels_list)) * chance:.3f}; {len(failed)} failed sketches counted as misses)"
        )
        for concept_, reason in failed:
            typer.echo(f"  failed: {concept_}: {reason[:120]}")
        for concept, row in result.per_concept.items():
            typer.echo(f"  {concept:>14}: n={row['n']:<3} top-1 {row['top1']:.2f}  top-5 {row['top5']:.2f}")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(results, indent=2))
        typer.echo(f"wrote {out / 'results.json'}")
