"""Shared core: errors, seeding and device choice, run directories, jobs, image/audio I/O, offline assets.

The core imports nothing else of tinkerlab; systems import the core.
"""

from tinkerlab.core.errors import (
    InputError,
    MissingAssetError,
    MissingDependencyError,
    ResumeError,
    TinkerlabError,
)
from tinkerlab.core.jobs import JobError, JobResult, map_jobs
from tinkerlab.core.runs import RunDir

__all__ = [
    "InputError",
    "JobError",
    "JobResult",
    "MissingAssetError",
    "MissingDependencyError",
    "ResumeError",
    "RunDir",
    "TinkerlabError",
    "map_jobs",
    "seed_everything",
]


def __getattr__(name: str):
    # seed_everything needs numpy; keep `import tinkerlab.core` (and so `tinkerlab --help`) free of it.
    if name == "seed_everything":
        from tinkerlab.core.seeding import seed_everything

        return seed_everything
    raise AttributeError(f"module 'tinkerlab.core' has no attribute {name!r}")
