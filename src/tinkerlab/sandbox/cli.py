"""`tinkerlab sandbox run FILE`: run a Python file in the sandbox and print what happened."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tinkerlab.cli_options import out_option

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.callback()
def _sandbox() -> None:
    """Run model-written Python with time and memory limits, in a scratch directory, without API keys (in a
    bubblewrap jail where available)."""


@app.command("run")
def run_command(
    file: Annotated[Path, typer.Argument(help="The Python file to run ('-' reads the code from stdin).")],
    timeout: Annotated[float, typer.Option("--timeout", help="Wall-clock seconds before the code is killed.")] = 10.0,
    memory_mb: Annotated[
        int, typer.Option("--memory-mb", help="Address-space limit in MB (importing torch takes ~600).")
    ] = 1024,
    out: Annotated[Path | None, out_option("a folder for the images and files the code returns.")] = None,
    data: Annotated[
        list[Path] | None,
        typer.Option("--file", help="A file copied into the working directory first (repeatable)."),
    ] = None,
    isolation: Annotated[
        str | None,
        typer.Option(
            "--isolation",
            help="auto (bubblewrap jail where it works), jail (required) or process (fallback); "
            "default: $TINKERLAB_SANDBOX, else auto.",
        ),
    ] = None,
) -> None:
    """Run FILE in the sandbox: print its stdout, stderr and error; save images (and files) into --out."""
    from tinkerlab.core.paths import read_text_file
    from tinkerlab.sandbox.runner import run

    if str(file) == "-":
        code = sys.stdin.read()
    else:
        code = read_text_file(file, expected="a Python source file (UTF-8 text)", hint="; pass the .py file")
    files = {path.name: path for path in data or []}
    outcome = run(code, timeout_s=timeout, memory_mb=memory_mb, files=files, isolation=isolation)
    if outcome.stdout:
        typer.echo(outcome.stdout, nl=not outcome.stdout.endswith("\n"))
    if outcome.stderr:
        typer.echo(outcome.stderr, err=True, nl=not outcome.stderr.endswith("\n"))
    if out is not None and (outcome.images or outcome.files):
        out.mkdir(parents=True, exist_ok=True)
        for index, image in enumerate(outcome.images, start=1):
            image.save(out / f"image-{index:02d}.png")
        for name, content in outcome.files.items():
            target = out / "files" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        typer.echo(f"saved {len(outcome.images)} image(s) and {len(outcome.files)} file(s) to {out}", err=True)
    elif outcome.images:
        typer.echo(f"{len(outcome.images)} image(s) returned (use --out DIR to save them)", err=True)
    if outcome.error:
        typer.secho(f"error: {outcome.error}", fg=typer.colors.RED, err=True)
    status = "ok" if outcome.ok else "failed"
    typer.echo(f"[{status} in {outcome.duration_s:.2f} s, isolation: {outcome.isolation}]", err=True)
    if not outcome.ok:
        raise typer.Exit(124 if outcome.timed_out else 1)
