"""Progress bars for long work (rich), quiet when output is not a terminal or TINKERLAB_QUIET is set; and a way to
silence the logs and progress bars of transformers while a model loads."""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def progress_enabled() -> bool:
    return not os.environ.get("TINKERLAB_QUIET") and sys.stderr.isatty()


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate over `items` with a rich progress bar on stderr (plain iteration when not a terminal)."""
    if not progress_enabled():
        yield from items
        return
    from rich.progress import track as rich_track

    yield from rich_track(items, description=description, total=total, transient=False)


def make_progress():
    """A `rich.progress.Progress` for several bars at once (e.g. per scale); disabled off a terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not progress_enabled(),
    )


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' warnings, info logs and progress bars (GGUF conversion included) inside the block."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    patched = None
    try:
        import transformers.modeling_gguf_pytorch_utils as gguf_utils

        original_tqdm = gguf_utils.tqdm

        def silent_tqdm(*args, **kwargs):
            kwargs["disable"] = True
            return original_tqdm(*args, **kwargs)

        gguf_utils.tqdm, patched = silent_tqdm, (gguf_utils, original_tqdm)
    except (ImportError, AttributeError):  # another transformers layout: progress may show, nothing breaks
        patched = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
        if patched is not None:
            patched[0].tqdm = patched[1]
