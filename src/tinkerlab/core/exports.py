"""Lazy package exports: a package lists its public names, and each loads its module on first use.

A package `__init__` that imported its modules eagerly would load torch on `import tinkerlab.pyramid` (and on
`tinkerlab --help`). Instead::

    from tinkerlab.core.exports import lazy_exports

    _EXPORTS = {"PyramidTrainer": "tinkerlab.pyramid.trainer", ...}
    __all__ = sorted(_EXPORTS)
    __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """`__getattr__` and `__dir__` for `package`, whose names in `exports` (name -> module) load when first used.

    Example:
        >>> getattr_, dir_ = lazy_exports("tinkerlab.core", {"InputError": "tinkerlab.core.errors"})
        >>> getattr_("InputError").__name__
        'InputError'
        >>> "InputError" in dir_()
        True
    """

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        setattr(sys.modules[package], name, value)  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
