"""The `tinkerlab` command: one Typer app; each engine and system registers its own sub-app
(`tinkerlab <package> <verb>`), shown in two groups of `--help`.

Package CLIs are plain modules `tinkerlab.<package>.cli` exposing `app`; they import heavy libraries only inside
their commands, so `tinkerlab --help` stays fast.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated

import typer

from tinkerlab import __version__
from tinkerlab.cli_options import Spec, out_option

try:  # typer >= 0.22 carries its own copy of click
    from typer._click import exceptions as _click_exceptions
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import exceptions as _click_exceptions

# Order is the order shown in --help and in the demo gallery. A package's CLI name is its package name.
ENGINES: dict[str, str] = {
    "llm": "chat models: local, OpenAI-compatible, Anthropic, scripted",
    "sandbox": "run model-written code in a jail (bubblewrap) with time, memory and disk limits",
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


PACKAGE_NAMES = Spec(tuple(PACKAGES))


@app.command()
def demo(
    out: Annotated[Path, out_option("a folder for the gallery (index.html).")] = Path("demo-output"),
    only: list[str] | None = typer.Option(
        None, "--only", parser=PACKAGE_NAMES, metavar="NAME", help="Run only these packages' demos (repeatable)."
    ),
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


def main(args: list[str] | None = None) -> None:
    """Entry point of the console script: every error a user can cause prints as one `error:` line, exit code 1.

    Tinkerlab errors carry their own message; command-line mistakes (an unknown option, a bad choice, a missing
    argument) say what was wrong and which `--help` to read. Anything else is a bug and keeps its traceback.
    """
    from tinkerlab.core.errors import TinkerlabError

    try:
        code = app(args=args, prog_name="tinkerlab", standalone_mode=False)
    except TinkerlabError as exc:
        _fail(str(exc))
    except _click_exceptions.NoArgsIsHelpError as exc:  # the help was printed already
        raise SystemExit(exc.exit_code) from None
    except _click_exceptions.UsageError as exc:
        where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
        _fail(f"{exc.format_message().replace(': Value error, ', ': ')}{where}")
    except _click_exceptions.ClickException as exc:
        _fail(exc.format_message())
    except typer.Abort:
        _fail("aborted")
    if isinstance(code, int) and code:
        raise SystemExit(code)


def _fail(message: str) -> None:
    from tinkerlab.core.errors import error_line

    typer.secho(error_line(message), fg=typer.colors.RED, err=True)
    raise SystemExit(1) from None


if __name__ == "__main__":
    main()
