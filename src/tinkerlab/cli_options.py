"""The options every tinkerlab command shares, defined once so each name means one thing everywhere.

| option | type | meaning |
|---|---|---|
| `--model`, `-m` | SPEC | which model: a chat-model spec (`local`, `local:PATH`, `openai:MODEL`, |
|  |  | `anthropic:MODEL`, `scripted:FILE`), or the named models a command offers |
| `--out`, `-o` | PATH | where the command writes (a run directory, or the one file it writes) |
| `--overwrite` | flag | start afresh where `--out` already holds a run (the old run is moved aside) |
| `--device` | DEVICE | torch device: `cpu` (default), `cuda`, `cuda:N`, `mps` or `auto` |
| `--executor` | local or ray | how many independent jobs are mapped: a local process pool or a Ray cluster |
| `--workers` | N | processes of the local pool |
| `--seed` | N | the random seed: the same seed gives the same output |

Every command whose `--model` takes a chat-model spec also takes the connection options:

| option | type | meaning |
|---|---|---|
| `--base-url` | URL | an OpenAI-compatible server (`http://localhost:8000/v1`), or another API address |
| `--timeout` | SECONDS | one total deadline per chat request (connect, wait, body); default 300 s |
|  |  | (60 s per local generation) |
| `--retries` | N | retries after a 429, 5xx, connection error or timeout; default 4, and none after a |
|  |  | timeout against a server on this machine |
| `--api-key-env` | NAME | the variable whose key is sent to a `--base-url` server (default: no key is sent) |

Inputs are positional arguments (`tinkerlab find score RUN`); modes are choices checked when the command line is
parsed (`Literal` annotations, or a `Spec` for forms with a payload such as `agent:SPEC`). Only typer, pathlib and
typing are imported, so `tinkerlab --help` stays fast.

Example:
    >>> @app.command()  # doctest: +SKIP
    ... def train(image: str, out: Out, device: Device = "cpu", seed: Seed = 0, overwrite: Overwrite = False): ...
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from typing import Annotated, Literal, TypeVar

import typer

CHAT_MODEL_FORMS: tuple[str, ...] = ("local", "local:PATH", "openai:MODEL", "anthropic:MODEL", "scripted:FILE")
"""The chat-model specs `tinkerlab.llm.load_chat_model` reads."""

DEVICE_HELP = "Torch device: cpu, cuda, cuda:N, mps or auto (CUDA when available)."
SEED_HELP = "Random seed: the same seed gives the same output."
OVERWRITE_HELP = "Start afresh where --out already holds a run (the old run is moved aside; nothing is deleted)."
EXECUTOR_HELP = "How the jobs run: local (a process pool on this machine) or ray (a Ray cluster; the ray extra)."
WORKERS_HELP = "Processes of the local pool (default: the CPU count, at most 4; 1 runs in this process)."
OUT_HELP_PREFIX = "Where to write:"
BASE_URL_HELP = "An OpenAI-compatible server (e.g. http://localhost:8000/v1), or another address for the API."
TIMEOUT_HELP = (
    "Seconds one chat request may take in all: connect, wait and body (default 300; 60 per local generation)."
)
RETRIES_HELP = (
    "Retries after a 429, 5xx, connection error or timeout (default 4, and none after a timeout on this machine)."
)
API_KEY_ENV_HELP = "The environment variable whose key is sent to a --base-url server (default: no key is sent)."
CONNECTION_VARIABLES = {
    "base_url": "TINKERLAB_LLM_BASE_URL",
    "timeout": "TINKERLAB_LLM_TIMEOUT",
    "retries": "TINKERLAB_LLM_RETRIES",
    "api_key_env": "TINKERLAB_LLM_API_KEY_ENV",
}
"""The environment variables the connection options set for a command (`tinkerlab.llm.load_chat_model` reads
them), so models built anywhere in the command, worker processes included, follow them."""

Executor = Literal["local", "ray"]
T = TypeVar("T")


class Spec:
    """A parser for string options whose value is one of a few forms: a word (``embedding``) or a word with a
    payload (``local:PATH``, ``agent:SPEC``).

    Bad forms are refused when the command line is parsed, with the forms listed. With `check=False` the forms
    are only shown (the API that reads the value checks it and names the valid forms itself).

    Args:
        forms: the accepted forms; a form with a colon takes any non-empty payload after its prefix.
        check: refuse other values at parse time.

    Example:
        >>> Spec(("baseline", "agent:SPEC"))("agent:local")
        'agent:local'
    """

    def __init__(self, forms: tuple[str, ...], *, check: bool = True) -> None:
        if not forms:
            raise ValueError("a Spec needs at least one form")
        self.forms = tuple(forms)
        self.check = check

    @property
    def text(self) -> str:
        """The forms as shown in help and errors: 'a | b:PATH'."""
        return " | ".join(self.forms)

    def matches(self, value: str) -> bool:
        """Whether `value` has one of the forms."""
        for form in self.forms:
            prefix, colon, _ = form.partition(":")
            if not colon and value == form:
                return True
            if colon and value.startswith(prefix + ":") and value[len(prefix) + 1 :].strip():
                return True
        return False

    def __call__(self, value: str) -> str:
        text = str(value).strip()
        if self.check and not self.matches(text):
            raise typer.BadParameter(f"expected {self.text}, got {str(value)!r}")
        return text

    def __repr__(self) -> str:
        return f"Spec({self.forms!r}, check={self.check})"


class CommaList(Spec):
    """A parser for a comma-separated subset of fixed names (``numeric,strings``); returns the text as given.

    Example:
        >>> CommaList(("numeric", "strings"))("strings, numeric")
        'strings, numeric'
    """

    def matches(self, value: str) -> bool:
        names = [name.strip() for name in value.split(",") if name.strip()]
        return bool(names) and all(name in self.forms for name in names)

    def __call__(self, value: str) -> str:
        text = str(value).strip()
        if not self.matches(text):
            raise typer.BadParameter(f"expected a comma-separated subset of {', '.join(self.forms)}, got {value!r}")
        return text

    @property
    def text(self) -> str:
        return ",".join(self.forms)


class NonBlank:
    """A parser for free text that must say something (a concept, an instruction): blank text is refused.

    Example:
        >>> NonBlank("a concept to draw, e.g. 'sailboat'")("  house ")
        'house'
    """

    def __init__(self, what: str) -> None:
        self.what = what

    def __call__(self, value: str) -> str:
        text = " ".join(str(value).split())
        if not text:
            raise typer.BadParameter(f"expected {self.what}, got {str(value)!r}")
        return text


_DEVICE_FORM = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def parse_device(value: str) -> str:
    """Check the form of a device name (whether CUDA is there is checked when the device is used)."""
    text = str(value).strip().lower()
    if not _DEVICE_FORM.match(text):
        raise typer.BadParameter(f"expected cpu, cuda, cuda:N, mps or auto, got {value!r}")
    return text


def parse_base_url(value: str) -> str:
    """Check that a server address is an http(s) URL with a host."""
    from urllib.parse import urlsplit

    text = str(value).strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise typer.BadParameter(f"expected a server URL such as http://localhost:8000/v1, got {value!r}")
    return text.rstrip("/")


def parse_variable_name(value: str) -> str:
    """Check that a value names an environment variable (the name only, never a key)."""
    text = str(value).strip()
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):
        raise typer.BadParameter(f"expected the name of an environment variable such as MY_SERVER_KEY, got {value!r}")
    return text


@contextlib.contextmanager
def connection_environment(
    *,
    base_url: str | None = None,
    timeout: float | None = None,
    retries: int | None = None,
    api_key_env: str | None = None,
) -> Iterator[None]:
    """Set the connection options' environment variables for the duration of a command (restored after)."""
    values = {"base_url": base_url, "timeout": timeout, "retries": retries, "api_key_env": api_key_env}
    saved = {name: os.environ.get(name) for name in CONNECTION_VARIABLES.values()}
    try:
        for key, value in values.items():
            if value is not None:
                os.environ[CONNECTION_VARIABLES[key]] = str(value)
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


def model_help(spec: Spec) -> str:
    """The help of a --model option that accepts the forms of `spec`."""
    return f"Model: {spec.text}."


def model_option(forms: tuple[str, ...] = CHAT_MODEL_FORMS, *, check: bool | None = None) -> typer.models.OptionInfo:
    """The shared ``--model/-m`` option for the given forms.

    Chat-model specs are checked by `load_chat_model` (which lists the valid forms) unless `check` is True; other
    form sets are checked when the command line is parsed.
    """
    parser = Spec(forms, check=forms != CHAT_MODEL_FORMS if check is None else check)
    return typer.Option("--model", "-m", parser=parser, metavar="SPEC", help=model_help(parser))


def out_option(what: str) -> typer.models.OptionInfo:
    """The shared ``--out/-o`` option; `what` says what the command writes there."""
    return typer.Option("--out", "-o", metavar="PATH", help=f"{OUT_HELP_PREFIX} {what}")


Model = Annotated[str, model_option()]
"""A chat-model spec (checked, with the valid forms listed, when the model is loaded)."""
Device = Annotated[str, typer.Option("--device", parser=parse_device, metavar="DEVICE", help=DEVICE_HELP)]
Seed = Annotated[int, typer.Option("--seed", min=0, metavar="N", help=SEED_HELP)]
Overwrite = Annotated[bool, typer.Option("--overwrite", help=OVERWRITE_HELP)]
ExecutorOption = Annotated[Executor, typer.Option("--executor", help=EXECUTOR_HELP)]
Workers = Annotated[int | None, typer.Option("--workers", min=1, metavar="N", help=WORKERS_HELP)]
BaseUrl = Annotated[str | None, typer.Option("--base-url", parser=parse_base_url, metavar="URL", help=BASE_URL_HELP)]
Timeout = Annotated[float | None, typer.Option("--timeout", min=0.1, metavar="SECONDS", help=TIMEOUT_HELP)]
Retries = Annotated[int | None, typer.Option("--retries", min=0, metavar="N", help=RETRIES_HELP)]
ApiKeyEnv = Annotated[
    str | None, typer.Option("--api-key-env", parser=parse_variable_name, metavar="NAME", help=API_KEY_ENV_HELP)
]


def one_of(value: T | None, alias: T | None, *, name: str, alias_name: str) -> T:
    """The value of a positional argument that may also come from its old option spelling (a hidden alias).

    Raises:
        InputError: neither was given, or both with different values.
    """
    from tinkerlab.core.errors import InputError

    if value is not None and alias is not None and value != alias:
        raise InputError(f"got {name} {value} and {alias_name} {alias}; give {name} once, as an argument")
    if value is None and alias is None:
        raise InputError(f"missing argument {name}")
    return value if value is not None else alias  # type: ignore[return-value]


__all__ = [
    "CHAT_MODEL_FORMS",
    "CONNECTION_VARIABLES",
    "ApiKeyEnv",
    "BaseUrl",
    "Retries",
    "Timeout",
    "connection_environment",
    "parse_base_url",
    "parse_variable_name",
    "CommaList",
    "Device",
    "ExecutorOption",
    "Model",
    "NonBlank",
    "Overwrite",
    "Seed",
    "Spec",
    "Workers",
    "model_option",
    "one_of",
    "out_option",
    "parse_device",
]
