"""Where tinkerlab keeps things on disk: the user cache directory (never the repository)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """The user cache directory (or `$TINKERLAB_CACHE`), joined with `parts` and created.

    Example:
        >>> cache_dir("models", "smollm2")  # doctest: +SKIP
        PosixPath('/home/me/.cache/tinkerlab/models/smollm2')
    """
    root = os.environ.get("TINKERLAB_CACHE")
    if root:
        base = Path(root).expanduser()
    else:
        from platformdirs import user_cache_dir

        base = Path(user_cache_dir("tinkerlab", appauthor=False))
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def read_text_file(path: str | Path, *, expected: str, hint: str = "") -> str:
    """The UTF-8 text of a file the user named, or one `InputError` saying what was expected.

    Args:
        path: the file.
        expected: what the file should be, e.g. "a Python source file (UTF-8 text)".
        hint: appended to the binary-data message, e.g. "; pass the .py file".

    Raises:
        InputError: `path` does not exist, is a folder, or is not UTF-8 text.
    """
    from tinkerlab.core.errors import InputError

    path = Path(path)
    if not path.exists():
        raise InputError(f"expected {expected}, got {str(path)!r}, which does not exist (not a file)")
    if not path.is_file():
        raise InputError(f"expected {expected}, got {str(path)!r}, which is a folder (not a file)")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"expected {expected}, got {str(path)!r}, which holds binary data (byte {exc.start} is not UTF-8){hint}"
        ) from None
