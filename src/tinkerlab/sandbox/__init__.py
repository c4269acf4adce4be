"""tinkerlab.sandbox: run model-written Python in a separate process with time and memory limits.

`run(code)` runs one piece of code in a fresh process and returns an `Outcome` (stdout, stderr, matplotlib figures
and saved images, error, timed_out). `SandboxWorker` keeps one process alive so variables persist between calls,
as agents that work over many turns need (MAIA's notebook-style experiments, for instance).

The isolation is about resources and the environment (memory, time, a scratch directory, no API keys), not a
security boundary: see docs/sandbox.md.
"""

from tinkerlab.sandbox.outcome import Outcome
from tinkerlab.sandbox.runner import run
from tinkerlab.sandbox.worker import SandboxWorker

__all__ = ["Outcome", "SandboxWorker", "run"]
