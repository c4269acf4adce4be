"""The environment variables sandboxed code sees: built from an allow-list, never copied wholesale.

Nothing whose name looks like a credential (KEY, TOKEN, SECRET, PASSWORD, ...) is passed on, even when it is on
the allow-list or the caller adds it, so API keys of the parent process never reach model-written code. Nothing of
tinkerlab's own (`TINKERLAB_*`: the user cache with its LLM responses, the sandbox setting) is passed on either.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

# Passed on from the parent when set: locale, time zone, and where offline models and caches live.
PASS_THROUGH = (
    "PATH",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "HF_HOME",
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "TORCH_HOME",
)

SECRET_PATTERN = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|COOKIE|SESSION|AUTH", re.IGNORECASE)
OWN_PREFIX = "TINKERLAB_"

MATPLOTLIB_BACKEND = "module://_tinkerlab_sandbox_mpl"


def is_secret_name(name: str) -> bool:
    """True when an environment variable's name looks like it holds a credential."""
    return SECRET_PATTERN.search(name) is not None


def sandbox_environment(
    scratch_dir: Path,
    *,
    threads: int = 1,
    matplotlib_config_dir: Path | None = None,
    parent: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a sandbox process.

    Args:
        scratch_dir: The working directory; it is also HOME, and `.tmp` inside it is TMPDIR.
        threads: Threads allowed to OpenMP/BLAS/MKL/numexpr pools (1 keeps the process small and predictable).
        matplotlib_config_dir: The worker's own matplotlib config folder (inside its scratch, so nothing planted
            there reaches another worker).
        parent: The environment to take allow-listed values from (default: `os.environ`).

    Returns:
        A new dict: allow-listed parent values, then the sandbox's own settings; no credential-like names.
    """
    parent = os.environ if parent is None else parent
    env = {name: parent[name] for name in PASS_THROUGH if name in parent}
    env.setdefault("PATH", os.defpath)
    env.setdefault("LANG", "C.UTF-8")
    tmp = Path(scratch_dir) / ".tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    env.update(
        {
            "HOME": str(scratch_dir),
            "TMPDIR": str(tmp),
            "PYTHONHASHSEED": "0",
            "PYTHONIOENCODING": "utf-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "MPLBACKEND": MATPLOTLIB_BACKEND,
            "OMP_NUM_THREADS": str(threads),
            "OPENBLAS_NUM_THREADS": str(threads),
            "MKL_NUM_THREADS": str(threads),
            "NUMEXPR_NUM_THREADS": str(threads),
            "VECLIB_MAXIMUM_THREADS": str(threads),
            # Few malloc arenas: each arena reserves address space, which counts against RLIMIT_AS.
            "MALLOC_ARENA_MAX": "2",
        }
    )
    if matplotlib_config_dir is not None:
        env["MPLCONFIGDIR"] = str(matplotlib_config_dir)
    return {
        name: value
        for name, value in env.items()
        if not is_secret_name(name) and not name.upper().startswith(OWN_PREFIX)
    }
