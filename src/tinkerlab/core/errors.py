"""The error hierarchy shared by every tinkerlab system.

Every error a user can cause or fix derives from `TinkerlabError`, so callers can catch one type.
Messages say what was expected, what was found and what to do.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


class TinkerlabError(Exception):
    """Base class of all tinkerlab errors."""


class InputError(TinkerlabError, ValueError):
    """Bad user input (a file, an image shape, an argument): says what was expected and what came."""


class MissingDependencyError(TinkerlabError, ImportError):
    """An optional Python dependency is missing; names the extra (or package) that provides it."""

    def __init__(self, module: str, extra: str | None = None, package: str | None = None) -> None:
        self.module = module
        self.extra = extra
        install = f"pip install 'tinkerlab[{extra}]'" if extra else f"pip install {package or module}"
        super().__init__(f"The optional dependency '{module}' is not installed. Install it with: {install}")


class MissingAssetError(TinkerlabError, FileNotFoundError):
    """A packaged model or data file is missing; names the package (pip or apt) that ships it."""

    def __init__(self, what: str, install_hint: str) -> None:
        self.what = what
        self.install_hint = install_hint
        super().__init__(f"{what} was not found. Install it with: {install_hint}")


class ResumeError(TinkerlabError):
    """A run directory cannot be resumed (its config differs, or it was written by another version)."""


class SketchSyntaxError(TinkerlabError, ValueError):
    """A sketch string cannot be read; carries the line and column of the problem (1-based)."""

    def __init__(self, message: str, line: int, column: int) -> None:
        self.line = line
        self.column = column
        super().__init__(f"{message} (line {line}, column {column})")


class LLMError(TinkerlabError):
    """A chat model failed: bad spec, missing key, unreachable server, or an unusable reply."""


class LLMConnectionError(LLMError, ConnectionError):
    """The chat server could not be reached or kept failing after the bounded retries."""


class SandboxError(TinkerlabError):
    """The sandbox itself failed (not the code it ran: that failure is reported in the Outcome)."""


def error_line(message: str) -> str:
    """One `error: ...` line for a message: its lines joined by spaces, blank ones dropped.

    Example:
        >>> error_line("bad size\\n  use a multiple of 16")
        'error: bad size use a multiple of 16'
    """
    first, *rest = str(message).strip().splitlines() or ["failed"]
    return "error: " + " ".join([first.strip(), *(part.strip() for part in rest if part.strip())])


def run_main(main: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a script's `main` so that a `TinkerlabError` prints as one `error:` line and exits with code 1.

    The `tinkerlab` command does this for its subcommands; scripts run as `python -m ...` or `python benchmarks/...`
    call `run_main(main)` under `if __name__ == "__main__":`. Other exceptions are bugs and keep their traceback.
    """
    try:
        return main(*args, **kwargs)
    except TinkerlabError as exc:
        print(error_line(str(exc)), file=sys.stderr)
        raise SystemExit(1) from None


def require(module: str, extra: str | None = None, package: str | None = None):
    """Import an optional dependency or raise `MissingDependencyError` naming what to install.

    Example:
        >>> np = require("numpy")
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(module, extra=extra, package=package) from exc
