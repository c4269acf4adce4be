"""The `tinkerlab` command: one Typer app; each engine and system registers its own sub-app
(`tinkerlab <package> <verb>`), shown in two groups of `--help`.

Package CLIs are plain modules `tinkerlab.<package>.cli` exposing `app`; they import heavy libraries only inside
their commands, so `tinkerlab --help` stays fast.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import typer

from tinkerlab import __version__

# Order is the order shown in --help and in the demo gallery. A package's CLI name is its package name.
ENGINES: dict[str, str] = {
    "llm": "chat models: local, OpenAI-compatible, Anthropic, scripted",
    "sandbox": "run model-written code with time and memory limits",
    "vision": "offline image models: EfficientNet-Lite0, MiniLM, the clip-art recogniser",
    "patching": "interventions on Hugging Face LMs: patching, ablation, prefix reuse, masks",
    "pyramid": "multi-scale single-image GANs (SinGAN): train and sample",
}
SYSTEMS: dict[str, str] = {
    "sketch": "SketchAgent: an LLM draws stroke by stroke",
    "codedraw": "Vision Check-up: LLMs draw with code",
    "find": "FIND: function-interpretation benchmark",
    "maia": "MAIA: an agent that explains vision neurons",
    "circuits": "entity-tracking circuits: path patching, DCM, CMAP",
    "desiderata": "desiderata-based masks that find variable-binding circuitry",
    "idc": "IDC: diverse completion of a hole, learned from one image",
    "blend": "BlendGAN: one multi-scale GAN for several images",
    "waveform": "Catch-A-Waveform: a GAN learned from one short audio clip",
    "asapnet": "ASAPNet: fast label-to-image translation",
}
PACKAGES: dict[str, str] = {**ENGINES, **SYSTEMS}
GROUP_ENGINES, GROUP_SYSTEMS = "Engines", "Systems"

app = typer.Typer(
    name="tinkerlab",
    help="Research systems for interpretability and generative vision and audio, offline by default.",
    no_args_is_help=True,
    add_completion=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"tinkerlab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool | None = typer.Option(
        None, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """tinkerlab: one install, one CLI, offline defaults."""


@app.command()
def demo(
    out: Path = typer.Option(Path("demo-output"), "--out", help="Folder for the gallery (index.html)."),
    only: list[str] | None = typer.Option(None, "--only", help="Run only these systems' demos."),
    fresh: bool = typer.Option(False, "--fresh", help="Ignore cached demo artifacts and recompute."),
) -> None:
    """Run each system's small offline demo and write a self-contained HTML gallery."""
    from tinkerlab.demo import run_gallery

    run_gallery(out, only=only, fresh=fresh)


def _register_packages() -> None:
    for name, help_text in PACKAGES.items():
        module_name = f"tinkerlab.{name}.cli"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # The system is not built yet (or not installed); anything else missing is a real error.
            if exc.name in (module_name, f"tinkerlab.{name}"):
                continue
            raise
        panel = GROUP_ENGINES if name in ENGINES else GROUP_SYSTEMS
        app.add_typer(module.app, name=name, help=help_text, rich_help_panel=panel)


_register_packages()


def main() -> None:
    """Entry point of the console script; turns tinkerlab errors into a one-line message and exit code 1."""
    from tinkerlab.core.errors import TinkerlabError

    try:
        app()
    except TinkerlabError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
