"""`tinkerlab codedraw ...`: Vision Check-up (Sharma, Rott Shaham et al., CVPR 2024) from the shell.

tinkerlab codedraw draw "a red car" --lang matplotlib --model local --rounds 3 --out runs/car
tinkerlab codedraw improve runs/car --rounds 2
tinkerlab codedraw recognize openclipart --choices 5 --out runs/clipart-recog
tinkerlab codedraw dataset --concepts shapes --lang matplotlib,svg --out runs/shapes
tinkerlab codedraw report runs/shapes
tinkerlab codedraw train-ssl --source renders:runs/shapes --out runs/ssl-renders
tinkerlab codedraw probe runs/ssl-renders runs/ssl-procedural --probe digits
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tinkerlab.cli_options import (
    ApiKeyEnv,
    BaseUrl,
    CommaList,
    Device,
    ExecutorOption,
    Model,
    NonBlank,
    Overwrite,
    Retries,
    Seed,
    Spec,
    Timeout,
    Workers,
    connection_environment,
    model_option,
    out_option,
)

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Vision Check-up: chat models draw with code, improve from text feedback and recognise code drawings.",
)

LANGUAGES = ("matplotlib", "svg", "turtle", "tikz")
"""`tinkerlab.codedraw.render.LANGUAGES` (not imported here, so `--help` stays fast)."""
Language = Annotated[
    str,
    typer.Option(
        "--lang",
        parser=Spec(LANGUAGES),
        metavar="LANG",
        help="Drawing language: matplotlib, svg, turtle or tikz (needs pdflatex and pdftoppm).",
    ),
]
SkeletonOption = Annotated[
    bool,
    typer.Option(
        "--skeleton/--no-skeleton",
        help="Give the program's first lines for the model to complete (constrained prompting for small models).",
    ),
]


@app.callback()
def _group() -> None:
    """Vision Check-up: chat models draw with code, improve from text feedback and recognise code drawings."""


@app.command()
def draw(
    concept: str = typer.Argument(..., parser=NonBlank("a concept to draw, e.g. 'a red car'"), help="What to draw."),
    language: Language = "matplotlib",
    model: Model = "local",
    out: Annotated[Path, out_option("the run directory: each round's program and render, rounds.png.")] = ...,
    rounds: int = typer.Option(1, "--rounds", min=1, max=50, help="1 draws once; each extra round asks to improve."),
    feedback: str = typer.Option(
        "text", "--feedback", parser=Spec(("text", "image")), help="text (the model never sees its render) or image."
    ),
    skeleton: SkeletonOption = False,
    show_errors: bool = typer.Option(False, "--show-errors", help="Tell the model why a program failed."),
    temperature: float = typer.Option(0.0, "--temperature", min=0.0, max=2.0, help="0 is greedy and cached."),
    max_tokens: int = typer.Option(600, "--max-tokens", min=16, help="Longest reply."),
    base_url: BaseUrl = None,
    overwrite: Overwrite = False,
    device: Device = "cpu",
    timeout: Timeout = None,
    retries: Retries = None,
    api_key_env: ApiKeyEnv = None,
) -> None:
    """Ask a chat model for a program that draws CONCEPT, render it in the sandbox, and improve it by rounds."""
    from tinkerlab.codedraw.runs import DrawConfig, draw_run

    config = DrawConfig(
        concept=concept,
        language=language,
        model=model,
        base_url=base_url,
        rounds=rounds,
        feedback=feedback,
        skeleton=skeleton,
        show_errors=show_errors,
        temperature=temperature,
        max_tokens=max_tokens,
    )
    with connection_environment(timeout=timeout, retries=retries, api_key_env=api_key_env):
        record, run = draw_run(config, out, overwrite=overwrite, device=device)
    _print_rounds(record)
    typer.echo(f"wrote {run.outputs} (round_N programs and renders, rounds.png)")


def _print_rounds(record: dict) -> None:
    for entry in record["rounds"]:
        detail = f": {entry['error'].splitlines()[-1][:100]}" if entry["status"] != "ok" and entry["error"] else ""
        typer.echo(f"round {entry['round']}: {entry['status']}{detail}")


@app.command()
def improve(
    folder: Path = typer.Argument(..., help="A run directory made by `codedraw draw`."),
    rounds: int = typer.Option(1, "--rounds", min=1, max=50, help="How many improvement rounds to add."),
    model: Annotated[str | None, model_option()] = None,
    base_url: BaseUrl = None,
    device: Device = "cpu",
    timeout: Timeout = None,
    retries: Retries = None,
    api_key_env: ApiKeyEnv = None,
) -> None:
    """Add text-feedback rounds ("improve your drawing") to an existing drawing; every round is kept."""
    from tinkerlab.codedraw.runs import improve_run

    with connection_environment(timeout=timeout, retries=retries, api_key_env=api_key_env):
        record = improve_run(folder, rounds, model=model, base_url=base_url, device=device)
    _print_rounds(record)


@app.command()
def recognize(
    source: str = typer.Argument(
        "openclipart",
        help="openclipart (human-made SVG code), a `codedraw dataset` run folder, or one program file.",
    ),
    model: Model = "local",
    out: Annotated[Path | None, out_option("the run directory for the answers (not for a single file).")] = None,
    choices: int = typer.Option(0, "--choices", min=0, max=26, help="0: open-ended; N: a choice among N labels."),
    concept: str | None = typer.Option(None, "--concept", help="For one program file: the true concept."),
    lang: str | None = typer.Option(
        None, "--lang", parser=Spec(LANGUAGES), help="For one program file: its language (default: guessed)."
    ),
    limit: int = typer.Option(40, "--limit", min=1, help="Most programs to ask about."),
    max_chars: int = typer.Option(3000, "--max-chars", min=200, help="Longest SVG code kept from openclipart."),
    seed: Seed = 0,
    base_url: BaseUrl = None,
    overwrite: Overwrite = False,
    device: Device = "cpu",
    timeout: Timeout = None,
    retries: Retries = None,
    api_key_env: ApiKeyEnv = None,
) -> None:
    """Ask a chat model what a program draws, from its code alone, and score the answers."""
    from tinkerlab.core.errors import InputError

    path = Path(source)
    with connection_environment(timeout=timeout, retries=retries, api_key_env=api_key_env):
        if path.is_file():
            from tinkerlab.codedraw.draw import recognize as ask
            from tinkerlab.codedraw.render import guess_language
            from tinkerlab.llm import load_chat_model

            code = path.read_text(encoding="utf-8", errors="replace")
            language = lang or guess_language(code)
            if language is None:
                raise InputError(f"cannot tell the language of {path}; pass --lang ({', '.join(LANGUAGES)})")
            chat = load_chat_model(model, base_url=base_url, device=device)
            result = ask(code, language, concept or "", chat) if concept else None
            if result is None:
                from tinkerlab.codedraw.draw import recognize_prompt
                from tinkerlab.llm import Message

                typer.echo(chat.complete([Message.user(recognize_prompt(code, language))], max_tokens=24).text.strip())
                return
            typer.echo(f"{result.answer}  ({'correct' if result.correct else 'wrong'}: {concept})")
            return
        if out is None:
            raise InputError("recognising a set of programs needs --out (where the answers are kept)")
        from tinkerlab.codedraw.runs import RecognizeConfig, recognize_run

        config = RecognizeConfig(
            source=source if source == "openclipart" else str(path),
            model=model,
            base_url=base_url,
            choices=choices,
            limit=limit,
            max_chars=max_chars,
            seed=seed,
        )
        summary, run = recognize_run(config, out, overwrite=overwrite, device=device)
    chance = f" (chance {summary['chance']:.2f})" if summary["chance"] else ""
    typer.echo(f"{summary['mode']}: {summary['accuracy']:.2f} correct of {summary['count']}{chance}")
    if config.choices:
        picks = ", ".join(f"{k} {v}" for k, v in summary["picked_positions"].items())
        typer.echo(
            f"answers by position: {picks}; always answering the best single position would score "
            f"{summary['best_fixed_position_baseline']:.2f} on these items"
        )
    typer.echo(f"wrote {run.outputs / 'recognition.jsonl'} and summary.json")


@app.command()
def dataset(
    out: Annotated[Path, out_option("the dataset run: one folder per item with programs, renders and records.")],
    concepts: str = typer.Option("all", "--concepts", help="shapes, objects, scenes, all, a list, or a file."),
    language: str = typer.Option(
        "matplotlib", "--lang", parser=CommaList(LANGUAGES), metavar="LIST", help="Comma-separated languages."
    ),
    model: Model = "local",
    samples: int = typer.Option(1, "--samples", min=1, help="Drawings per concept and language."),
    rounds: int = typer.Option(1, "--rounds", min=1, max=20, help="Rounds per drawing (the last is scored)."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N concepts of each level."),
    skeleton: SkeletonOption = False,
    temperature: float = typer.Option(0.0, "--temperature", min=0.0, max=2.0, help="Above 0 for --samples > 1."),
    max_tokens: int = typer.Option(600, "--max-tokens", min=16, help="Longest reply."),
    seed: Seed = 0,
    executor: ExecutorOption = "local",
    workers: Workers = 1,
    base_url: BaseUrl = None,
    overwrite: Overwrite = False,
    device: Device = "cpu",
    timeout: Timeout = None,
    retries: Retries = None,
    api_key_env: ApiKeyEnv = None,
) -> None:
    """Draw every concept of the chosen levels (resumable: drawn items are kept and skipped on a rerun)."""
    from collections import Counter

    from tinkerlab.codedraw.runs import DatasetConfig, dataset_run

    config = DatasetConfig(
        concepts=concepts,
        languages=tuple(language.split(",")),
        model=model,
        base_url=base_url,
        samples=samples,
        rounds=rounds,
        skeleton=skeleton,
        temperature=temperature,
        max_tokens=max_tokens,
        limit=limit,
        seed=seed,
    )
    with connection_environment(timeout=timeout, retries=retries, api_key_env=api_key_env):
        records, run = dataset_run(config, out, overwrite=overwrite, device=device, executor=executor, workers=workers)
    counts = Counter(r["status"] for r in records)
    typer.echo(f"{len(records)} items: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    typer.echo(f"wrote {run.outputs / 'items'}; score it with `tinkerlab codedraw report {out}`")


@app.command()
def report(
    folder: Path = typer.Argument(..., help="A `codedraw dataset` run."),
    recognizer: str = typer.Option(
        "default",
        "--recognizer",
        parser=Spec(("default", "clip:ARCH:WEIGHTS")),
        metavar="SPEC",
        help="default (the offline clip-art recogniser) or clip:ARCH:WEIGHTS (CLIP with weights you supply).",
    ),
    diversity: bool = typer.Option(True, "--diversity/--no-diversity", help="EfficientNet-Lite0 diversity."),
) -> None:
    """Fidelity, diversity and failure tables per level and language, a failure chart and a gallery."""
    from tinkerlab.codedraw.report import report as make_report

    result = make_report(folder, recognizer=recognizer, diversity=diversity)
    typer.echo(result["table"])
    typer.echo(f"wrote {folder / 'outputs'} (report.md, report.json, failures.png, gallery.png)")


@app.command("train-ssl")
def train_ssl(
    out: Annotated[Path, out_option("the run directory for the encoder (encoder.pt) and its losses.")],
    source: str = typer.Option(
        "procedural", "--source", help="procedural, openclipart, or renders:RUN (a `codedraw dataset` run)."
    ),
    count: int = typer.Option(512, "--count", min=8, help="Pretraining images (the budget; keep it equal)."),
    method: str = typer.Option("moco", "--method", parser=Spec(("moco", "simclr")), help="moco (MoCo-v2) or simclr."),
    epochs: int = typer.Option(10, "--epochs", min=1, help="Passes over the images."),
    batch_size: int = typer.Option(64, "--batch-size", min=4, help="Images per step (divides the queue, 2048)."),
    width: int = typer.Option(32, "--width", min=4, help="Channels of the ResNet's first stage."),
    image_size: int = typer.Option(64, "--image-size", min=16, help="Pixels per side."),
    seed: Seed = 0,
    overwrite: Overwrite = False,
    device: Device = "cpu",
) -> None:
    """Self-supervised pretraining (MoCo-v2 or SimCLR) of a small ResNet on code renders or a baseline set."""
    from tinkerlab.codedraw.runs import PretrainConfig, pretrain_run
    from tinkerlab.codedraw.ssl import SSLConfig
    from tinkerlab.core.seeding import choose_device

    settings = SSLConfig(
        method=method, epochs=epochs, batch_size=batch_size, width=width, image_size=image_size, seed=seed
    )
    config = PretrainConfig(source=source, count=count, ssl=settings.__dict__)
    losses, run = pretrain_run(config, out, overwrite=overwrite, device=choose_device(device))
    shown = ", ".join(f"{v:.3f}" for v in losses[:3]) + (" ... " + f"{losses[-1]:.3f}" if len(losses) > 3 else "")
    typer.echo(f"loss per epoch: {shown}")
    typer.echo(f"wrote {run.outputs / 'encoder.pt'}")


@app.command()
def probe(
    encoders: list[Path] = typer.Argument(None, help="`codedraw train-ssl` runs to compare (random init is added)."),
    probe_set: str = typer.Option("digits", "--probe", help="digits, openclipart (held-out categories) or FOLDER."),
    per_class: int = typer.Option(12, "--per-class", min=2, help="Images per class for openclipart or FOLDER."),
    seed: Seed = 0,
    out: Annotated[Path | None, out_option("a JSON file for the table (optional).")] = None,
) -> None:
    """Linear-probe accuracy of frozen encoders, beside a randomly initialised network of the same shape."""
    from tinkerlab.codedraw import ssl
    from tinkerlab.codedraw.runs import load_encoder

    rows = []
    sizes = set()
    loaded = []
    for folder in encoders or []:
        encoder, settings = load_encoder(folder)
        loaded.append((str(folder), encoder, settings))
        sizes.add(settings.image_size)
    size = sizes.pop() if len(sizes) == 1 else 64
    train_x, train_y, test_x, test_y = ssl.probe_set(probe_set, size, per_class, seed)
    base = loaded[0][2] if loaded else ssl.SSLConfig(seed=seed)
    loaded.append(("random init (baseline)", ssl.random_encoder(base), base))
    for name, encoder, settings in loaded:
        accuracy = ssl.linear_probe(encoder, (train_x, train_y), (test_x, test_y), settings.image_size)
        rows.append({"encoder": name, "probe": probe_set, "accuracy": accuracy, "classes": len(set(train_y))})
        typer.echo(f"{accuracy:.3f}  {name}")
    chance = 1.0 / len(set(train_y))
    typer.echo(f"(chance {chance:.3f}; {len(train_y)} train / {len(test_y)} test images)")
    if out is not None:
        out.write_text(json.dumps(rows, indent=1), encoding="utf-8")
