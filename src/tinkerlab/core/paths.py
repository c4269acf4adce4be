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
