"""Shared core: errors, seeding and device choice, run directories, image/audio I/O, offline assets.

The core imports nothing else of tinkerlab; systems import the core.
"""

from tinkerlab.core.errors import (
    InputError,
    MissingAssetError,
    MissingDependencyError,
    ResumeError,
    TinkerlabError,
)
from tinkerlab.core.runs import RunDir
from tinkerlab.core.seeding import seed_everything

__all__ = [
    "InputError",
    "MissingAssetError",
    "MissingDependencyError",
    "ResumeError",
    "RunDir",
    "TinkerlabError",
    "seed_everything",
]
