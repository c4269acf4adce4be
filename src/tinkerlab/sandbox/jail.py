"""Which isolation a sandbox process gets, and the bubblewrap command line of the jail.

Two modes:

- ``"bubblewrap"``: the interpreter runs under `bwrap` in new user, pid, network, IPC, UTS and mount namespaces. Only
  the interpreter, its libraries (`/usr`), the base Python, the virtual environment and the sandbox's own child files
  are bound, read-only, at their usual paths; the scratch folder is the one writable bind, `/tmp` and `/dev/shm` are
  size-capped tmpfs, `/proc` belongs to the new pid namespace, no capabilities are kept and the jail dies with its
  parent. The home directory, the project tree, the user cache and everything else are simply absent.
- ``"process"``: today's fallback, a separate process with resource limits and a clean environment (see
  docs/sandbox.md for what it does not contain).

`resolve_isolation` picks the mode: an explicit argument, else the `TINKERLAB_SANDBOX` environment variable
(``jail`` requires the jail and fails without it, ``process`` forces the fallback, ``auto`` or unset uses the jail
when it works). Whether bubblewrap works is probed once per process (user namespaces are blocked in some
containers); falling back says so once, as a warning.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import sysconfig
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from tinkerlab.core.errors import InputError, SandboxError

Isolation = Literal["bubblewrap", "process"]
IsolationRequest = Literal["auto", "jail", "process"]

ENVIRONMENT_VARIABLE = "TINKERLAB_SANDBOX"
TMPFS_MB = 256  # /tmp and /dev/shm inside the jail (each)
_CHILD_DIR = Path(__file__).resolve().parent / "_child"
# Files of /etc the interpreter and its libraries read; the rest of /etc (passwd, hosts, ...) stays out.
_ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime", "fonts", "mime.types")
_warned = False


class SandboxFallbackWarning(UserWarning):
    """Bubblewrap is not usable here, so sandboxed code runs as a plain process (see docs/sandbox.md)."""


def resolve_isolation(requested: str | None = None) -> Isolation:
    """The mode a new sandbox process gets.

    Args:
        requested: ``"auto"``, ``"jail"`` (or ``"bubblewrap"``), ``"process"``, or None to read
            ``$TINKERLAB_SANDBOX`` (unset or empty means auto).

    Returns:
        ``"bubblewrap"`` or ``"process"``.

    Raises:
        InputError: `requested` (or the environment variable) is not one of the modes.
        SandboxError: The jail was required but bubblewrap does not work here.
    """
    source = "isolation"
    if requested is None:
        requested = os.environ.get(ENVIRONMENT_VARIABLE, "") or "auto"
        source = f"${ENVIRONMENT_VARIABLE}"
    value = str(requested).strip().lower()
    if value in ("", "1", "auto"):
        value = "auto"
    if value not in ("auto", "jail", "bubblewrap", "process"):
        raise InputError(f"{source} must be 'auto', 'jail' or 'process', got {requested!r}")
    if value == "process":
        return "process"
    problem = bubblewrap_problem()
    if problem is None:
        return "bubblewrap"
    if value in ("jail", "bubblewrap"):
        raise SandboxError(
            f"the sandbox jail was required ({source}={requested!r}) but bubblewrap is unusable: {problem}"
        )
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(
            f"sandboxed code runs as a plain process, not in a bubblewrap jail ({problem}); it can read the "
            "user's files and use the network (see docs/sandbox.md). Install bubblewrap (`make system-deps`) "
            f"or set {ENVIRONMENT_VARIABLE}=process to silence this.",
            SandboxFallbackWarning,
            stacklevel=3,
        )
    return "process"


@functools.cache
def bubblewrap_problem() -> str | None:
    """None when the jail works on this machine, else why not (probed once per process)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "`bwrap` is not installed"
    command = jail_command([sys.executable, "-S", "-c", "pass"], scratch=None)
    try:
        done = subprocess.run(command, capture_output=True, timeout=30, stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`bwrap` did not run ({exc})"
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
        return f"`bwrap` failed: {reason[-1] if reason else f'exit code {done.returncode}'}"
    return None


def read_only_roots() -> list[str]:
    """Folders bound read-only into the jail: system libraries, the interpreter, the base Python, the venv."""
    roots = ["/usr"]
    interpreter = Path(sys.executable)
    candidates = [
        sys.base_prefix,
        sys.prefix,
        sys.exec_prefix,
        str(interpreter.resolve().parent.parent),
        sysconfig.get_paths()["stdlib"],
        sysconfig.get_paths()["purelib"],
        sysconfig.get_paths()["platlib"],
        str(_CHILD_DIR),
    ]
    for candidate in candidates:
        path = os.path.realpath(candidate)
        if os.path.isdir(path) and not any(_inside(path, root) for root in roots):
            roots = [root for root in roots if not _inside(root, path)] + [path]
    return roots


def jail_command(
    argv: Sequence[str],
    *,
    scratch: Path | None,
    tmpfs_mb: int = TMPFS_MB,
    hidden: Sequence[Path] = (),
) -> list[str]:
    """`bwrap ... argv`: run `argv` in the jail with `scratch` as the only writable bind (same path inside).

    Args:
        argv: The command to run inside (its program must live under one of `read_only_roots()`).
        scratch: The working directory, bound read-write at its own path; None for no scratch (the probe).
        tmpfs_mb: Size cap of `/tmp` and `/dev/shm` inside.
        hidden: Paths covered by an empty read-only tmpfs if they lie inside a bound folder (e.g. a FIND suite).
    """
    size = str(int(tmpfs_mb) * 2**20)
    command = [shutil.which("bwrap") or "bwrap", "--unshare-all", "--die-with-parent", "--new-session"]
    command += ["--cap-drop", "ALL", "--hostname", "sandbox"]
    # The fresh /proc, /dev and tmpfs mounts come first, so a bound root below /tmp (a venv in a checkout under
    # /tmp, say) is mounted on top of the tmpfs instead of being hidden by it.
    command += ["--proc", "/proc", "--dev", "/dev", "--size", size, "--tmpfs", "/dev/shm"]
    command += ["--size", size, "--tmpfs", "/tmp"]
    roots = read_only_roots()
    for root in roots:
        command += ["--ro-bind", root, root]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        host = Path("/") / name
        if host.is_symlink():
            command += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir() and not any(_inside(str(host), root) for root in roots):
            command += ["--ro-bind", str(host), str(host)]
    for name in _ETC_FILES:
        if os.path.exists(f"/etc/{name}"):
            command += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    for path in hidden:
        real = os.path.realpath(path)
        if os.path.isdir(real) and any(_inside(real, root) for root in roots):
            command += ["--perms", "0555", "--tmpfs", real]
    if scratch is not None:
        command += ["--bind", str(scratch), str(scratch), "--chdir", str(scratch)]
    # The jail's own root (where bwrap made the mount points) is read-only too: no unbudgeted writable place.
    command += ["--remount-ro", "/", "--", *argv]
    return command


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")
