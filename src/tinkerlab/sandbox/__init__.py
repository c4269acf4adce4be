"""tinkerlab.sandbox: run model-written Python in a separate process with time and memory limits.

`run(code)` runs one piece of code in a fresh process and returns an `Outcome` (stdout, stderr, matplotlib figures
and saved images, error, timed_out). `SandboxWorker` keeps one process alive so variables persist between calls,
as agents that work over many turns need (MAIA's notebook-style experiments, for instance).

Where bubblewrap works the process runs in a jail (new user, pid, network, IPC and mount namespaces; only the
interpreter, its packages and the scratch directory visible); otherwise it falls back to a plain process with the
same limits and environment, which is not a security boundary. `Outcome.isolation` says which ran; see
docs/sandbox.md for what each mode contains.
"""

from tinkerlab.sandbox.outcome import ItemResult, Outcome
from tinkerlab.sandbox.runner import run
from tinkerlab.sandbox.worker import SandboxWorker

__all__ = ["ItemResult", "Outcome", "SandboxWorker", "run"]
