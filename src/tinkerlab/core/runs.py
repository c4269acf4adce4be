"""Run directories: every long job writes config, log, checkpoints and outputs to one folder, and can resume.

Layout of a run directory::

    RUN/
      config.json      the job's config (a dataclass), plus the system and tinkerlab version
      run.log          timestamped log lines
      state.json       small progress state (e.g. finished scales or items), written atomically
      checkpoints/     state dicts plus config
      outputs/         images, audio, tables the job produced
      transcript.jsonl chat exchanges, when the job talks to a chat model

Opening an existing run with the same config resumes it; a different config raises `ResumeError`
unless `overwrite=True`.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinkerlab.core.config import config_to_dict
from tinkerlab.core.errors import ResumeError


@dataclass
class RunDir:
    """A run directory. Create with `RunDir.open(path, system=..., config=...)`."""

    path: Path
    system: str
    resumed: bool = False

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        system: str,
        config: Any | None = None,
        overwrite: bool = False,
        ignore_keys: tuple[str, ...] = (),
    ) -> RunDir:
        """Create a run directory, or resume the one at `path` when its recorded config matches.

        Args:
            path: the folder (created when missing).
            system: which system writes it (e.g. 'internal'); a run of another system is refused.
            config: a dataclass (or JSON-able dict) describing the job.
            overwrite: start afresh even where a different config was recorded (outputs are kept).
            ignore_keys: config keys that may differ on resume (e.g. the number of samples to draw).

        Raises:
            ResumeError: the folder holds another system's run, or a run with a different config.
        """
        from tinkerlab import __version__

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        config_dict = config_to_dict(config) if config is not None and not isinstance(config, dict) else config
        record = {"system": system, "tinkerlab_version": __version__, "config": config_dict}
        config_file = path / "config.json"
        resumed = False
        if config_file.exists():
            previous = json.loads(config_file.read_text())
            if previous.get("system") != system:
                raise ResumeError(
                    f"{path} holds a run of system {previous.get('system')!r}, not {system!r}; choose another --out"
                )
            old = {k: v for k, v in (previous.get("config") or {}).items() if k not in ignore_keys}
            new = {k: v for k, v in (config_dict or {}).items() if k not in ignore_keys}
            if old != new and not overwrite:
                changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
                raise ResumeError(
                    f"{path} holds a run with a different config (changed: {changed}); "
                    "use another output folder, or pass overwrite to start afresh"
                )
            resumed = old == new
        (path / "checkpoints").mkdir(exist_ok=True)
        (path / "outputs").mkdir(exist_ok=True)
        if not resumed:
            config_file.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        run = cls(path=path, system=system, resumed=resumed)
        run.log("resumed run" if resumed else "started run")
        return run

    @property
    def outputs(self) -> Path:
        return self.path / "outputs"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def transcript_path(self) -> Path:
        return self.path / "transcript.jsonl"

    def config(self) -> dict[str, Any]:
        """The recorded config dict."""
        return json.loads((self.path / "config.json").read_text())["config"]

    def log(self, message: str) -> None:
        """Append a timestamped line to run.log."""
        stamp = _dt.datetime.now().isoformat(timespec="seconds")
        with open(self.path / "run.log", "a", encoding="utf-8") as handle:
            handle.write(f"{stamp} {message}\n")

    def state(self) -> dict[str, Any]:
        """The progress state saved by `save_state` ({} for a new run)."""
        state_file = self.path / "state.json"
        return json.loads(state_file.read_text()) if state_file.exists() else {}

    def save_state(self, state: dict[str, Any]) -> None:
        """Write the progress state atomically (a crash never leaves half a file)."""
        atomic_write_text(self.path / "state.json", json.dumps(state, indent=2, sort_keys=True) + "\n")


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write `text` to `path` through a temporary file and a rename."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
