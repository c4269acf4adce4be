"""The error hierarchy shared by every tinkerlab system.

Every error a user can cause or fix derives from `TinkerlabError`, so callers can catch one type.
Messages say what was expected, what was found and what to do.
"""

from __future__ import annotations


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
