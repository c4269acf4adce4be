"""One-shot sandboxed execution: a fresh process per call, removed with its scratch directory afterwards."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from tinkerlab.core.errors import InputError
from tinkerlab.sandbox.outcome import Outcome
from tinkerlab.sandbox.worker import DISK_MB, SandboxWorker, _validate_limits, write_files


def run(
    code: str,
    *,
    timeout_s: float = 10.0,
    memory_mb: int = 1024,
    files: Mapping[str, str | bytes | Path] | None = None,
    isolation: str | None = None,
    disk_mb: int = DISK_MB,
) -> Outcome:
    """Run Python `code` in a new sandboxed process and return what happened.

    The process uses the same interpreter (numpy, torch and matplotlib import inside), works in a scratch
    directory that is deleted afterwards, sees an environment without API keys, and is limited to `memory_mb` of
    address space. When `timeout_s` passes, its whole process group (anything it started too) is killed. Where
    bubblewrap works the process runs in a jail that sees only the interpreter, its packages and the scratch
    directory, with no network; `outcome.isolation` says which mode ran.

    Args:
        code: Python source, run as the `__main__` module.
        timeout_s: Wall-clock seconds before the code is killed.
        memory_mb: Address-space limit in MB (RLIMIT_AS). Importing torch takes about 600 MB of it.
        files: Written into the working directory before the code runs: relative path -> text (str), bytes, or a
            `Path` whose file is copied.
        isolation: "auto", "jail" (fail without bubblewrap), "process" (the fallback), or None to read
            `$TINKERLAB_SANDBOX` (unset: auto).
        disk_mb: Disk budget of the scratch directory.

    Returns:
        An `Outcome`: stdout, stderr, images (figures and saved pictures), error (None on success), timed_out,
        ok, duration_s, files (new small non-image files) and isolation ("bubblewrap" or "process").

    Raises:
        InputError: `code` is not a str, a limit is not positive, or a file name or value is invalid.
        SandboxError: The sandbox process itself could not start, or the jail was required but is unusable.

    Example:
        >>> outcome = run("print(6 * 7)", timeout_s=5)
        >>> outcome.ok, outcome.stdout
        (True, '42\\n')
    """
    if not isinstance(code, str):
        raise InputError(f"code must be a str of Python source, got {type(code).__name__}")
    _validate_limits(timeout_s, memory_mb)
    with SandboxWorker(timeout_s=timeout_s, memory_mb=memory_mb, isolation=isolation, disk_mb=disk_mb) as worker:
        write_files(worker.scratch_dir, files)
        # No restart after a timeout: the process is discarded anyway. Tracebacks name the code "<code>".
        return worker._call(code, "<code>", float(timeout_s), restart_on_failure=False)
