"""What running code in the sandbox produced: output, pictures, files, and how it ended."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # PIL is imported only when pictures come back
    from PIL import Image


@dataclass(frozen=True)
class Outcome:
    """The result of one piece of sandboxed code.

    Attributes:
        stdout: Everything the code (and processes it started) printed to standard output; cut at the output limit
            with a note saying how much was dropped.
        stderr: The same for standard error (warnings, subprocess errors). The traceback is in `error`, not here.
        images: Matplotlib figures shown or left open, then image files (png/jpg/gif/bmp/webp) the code wrote or
            changed in its working directory, as PIL images.
        error: None when the code ran to the end. Otherwise the traceback (line numbers refer to the code),
            "exceeded the memory limit of N MB ...", "timed out after N s ..." or how the process died.
        timed_out: True when the wall-clock timeout ended the code.
        duration_s: Wall-clock seconds the code ran (start-up of the process not included).
        files: New or changed non-image files the code wrote (relative POSIX path -> bytes), small ones only.
        memory_exceeded: True when the code failed to allocate memory under the limit.
        state_lost: True when a `SandboxWorker` had to restart its process (after a timeout or a crash), so
            variables and imports from earlier calls are gone.
        isolation: Which mode ran the code: "bubblewrap" (the jail) or "process" (the fallback).
    """

    stdout: str = ""
    stderr: str = ""
    images: list[Image.Image] = field(default_factory=list)
    error: str | None = None
    timed_out: bool = False
    duration_s: float = 0.0
    files: dict[str, bytes] = field(default_factory=dict)
    memory_exceeded: bool = False
    state_lost: bool = False
    isolation: str = "process"

    @property
    def ok(self) -> bool:
        """True when the code ran to the end without an error."""
        return self.error is None and not self.timed_out

    def summary(self, max_chars: int = 2000) -> str:
        """A short text for a chat model or a log: output, then the error, each cut to `max_chars`."""
        parts = []
        if self.stdout:
            parts.append("stdout:\n" + _cut(self.stdout, max_chars))
        if self.stderr:
            parts.append("stderr:\n" + _cut(self.stderr, max_chars))
        if self.error:
            parts.append("error:\n" + _cut(self.error, max_chars))
        if self.images:
            parts.append(f"{len(self.images)} image(s) returned")
        return "\n".join(parts) if parts else "(no output)"


@dataclass(frozen=True)
class ItemResult:
    """One item of `SandboxWorker.run_items`: the function's JSON result, or why there is none.

    Attributes:
        value: What the function returned (decoded JSON); None on an error.
        error: None on success; else "Type: message", "timed out after N s", "output over the limit ...", or how
            the sandbox process died while running this item.
        timed_out: True when the parent killed the process because this item ran past its wall clock.
    """

    value: object = None
    error: str | None = None
    timed_out: bool = False


def _cut(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    return text[:max_chars] + f"\n[... {len(text) - max_chars} more characters]"
