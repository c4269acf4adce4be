"""Run directories: every long job writes config, log, checkpoints and outputs to one folder, and can resume.

Layout of a run directory::

    RUN/
      config.json      {"system", "tinkerlab_version", "config", "provenance"}: the job's config (a dataclass's
                       own fields) and, apart from it, its provenance (what it was made from, e.g. the hash of
                       the input image), written atomically
      run.log          timestamped log lines
      state.json       small progress state (e.g. finished scales or items), written atomically
      checkpoints/     state dicts plus config
      outputs/         images, audio, tables the job produced
      transcript.jsonl chat exchanges, when the job talks to a chat model

`RunDir.open` creates a run, or resumes the one in the folder when its config and provenance match; another
config or provenance raises `ResumeError` naming the changed keys, unless `overwrite=True`. Overwriting starts
clean: the old run is moved aside, whole, to the sibling folder ``RUN.previous-YYYYmmdd-HHMMSS`` (nothing is
deleted), and a one-line note says so on stderr and in the new run's log. `RunDir.load` reopens a finished run
to read it, with its config rebuilt as its dataclass. A damaged config.json or state.json raises a
`TinkerlabError` naming the file and what to do, never a traceback.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, overload

from tinkerlab.core.config import config_from_dict, config_to_dict
from tinkerlab.core.errors import InputError, ResumeError, TinkerlabError

T = TypeVar("T")

START_AGAIN = "pass --overwrite to start the run again (the old run is moved aside)"


@dataclass
class RunDir:
    """A run directory. Create with `RunDir.open(path, system=..., config=...)`; read with `RunDir.load(path)`."""

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
        provenance: dict[str, Any] | None = None,
        overwrite: bool = False,
        ignore_keys: tuple[str, ...] = (),
    ) -> RunDir:
        """Create a run directory, or resume the one at `path` when its recorded config and provenance match.

        Args:
            path: the folder (created when missing).
            system: which system writes it (e.g. 'internal'); a run of another system is refused.
            config: a dataclass (or JSON-able dict) describing the job.
            provenance: JSON-able facts about what the run is made from that are not settings (e.g.
                ``{"kind": "singan", "input_sha1": ...}``); recorded beside the config, compared like it on resume.
            overwrite: start afresh: a run already in `path` (a folder with config.json or state.json) is moved
                aside to ``PATH.previous-<timestamp>``; a folder that holds no run keeps its files.
            ignore_keys: config (or provenance) keys that may differ on resume (e.g. the number of samples to draw).

        Returns:
            The run; `resumed` says whether an earlier run with the same config was found.

        Raises:
            InputError: `path` is a file, or the folder cannot be created.
            ResumeError: the folder holds another system's run; or a run with a different config or provenance,
                or damaged run files, and `overwrite` is False.

        Example:
            >>> import tempfile
            >>> folder = Path(tempfile.mkdtemp()) / "run"
            >>> run = RunDir.open(folder, system="demo", config={"steps": 10}, provenance={"input_sha1": "3f2a"})
            >>> run.save_state({"finished_steps": 4})
            >>> again = RunDir.open(folder, system="demo", config={"steps": 10}, provenance={"input_sha1": "3f2a"})
            >>> again.resumed, again.state()
            (True, {'finished_steps': 4})
        """
        from tinkerlab import __version__

        path = Path(path)
        _make_folder(path)
        config_dict = config_to_dict(config) if config is not None and not isinstance(config, dict) else config
        provenance = dict(provenance or {})
        record = {
            "system": system,
            "tinkerlab_version": __version__,
            "config": config_dict,
            "provenance": provenance,
        }
        config_file = path / "config.json"
        resumed = False
        moved_to: Path | None = None
        if config_file.exists() or (path / "state.json").exists():
            try:
                previous = _read_record(path)
            except ResumeError:
                if not overwrite:
                    raise
                previous = None
            if previous is not None and previous.get("system") != system:
                raise ResumeError(
                    f"{path} holds a run of system {previous.get('system')!r}, not {system!r}; choose another --out"
                )
            if previous is not None and not overwrite:
                changes = []
                for label, old, new in (
                    ("config", previous.get("config"), config_dict),
                    ("inputs", previous.get("provenance"), provenance),
                ):
                    keys = _changed_keys(old or {}, new or {}, ignore_keys)
                    if keys:
                        changes.append(f"{label} changed: {', '.join(keys)}")
                if changes:
                    raise ResumeError(
                        f"{path} holds a different run ({'; '.join(changes)}); choose another --out, "
                        "or pass --overwrite to start afresh (the old run is moved aside)"
                    )
                resumed = True
                _read_json(path / "state.json", default={})  # a damaged state fails now, not halfway through
            if overwrite:
                moved_to = move_aside(path)
        (path / "checkpoints").mkdir(exist_ok=True)
        (path / "outputs").mkdir(exist_ok=True)
        if not resumed:
            atomic_write_text(config_file, json.dumps(record, indent=2, sort_keys=True) + "\n")
        run = cls(path=path, system=system, resumed=resumed)
        if moved_to is not None:
            note = f"started run; the previous run in {path} was moved to {moved_to}"
            print(f"note: {note}", file=sys.stderr)
            run.log(note)
        else:
            run.log("resumed run" if resumed else "started run")
        return run

    @overload
    @classmethod
    def load(
        cls,
        path: str | Path,
        config_class: None = None,
        *,
        system: str | None = None,
        provenance: dict[str, Any] | None = None,
        hint: str | None = None,
    ) -> tuple[RunDir, dict[str, Any]]: ...

    @overload
    @classmethod
    def load(
        cls,
        path: str | Path,
        config_class: type[T],
        *,
        system: str | None = None,
        provenance: dict[str, Any] | None = None,
        hint: str | None = None,
    ) -> tuple[RunDir, T]: ...

    @classmethod
    def load(
        cls,
        path: str | Path,
        config_class: type[Any] | None = None,
        *,
        system: str | None = None,
        provenance: dict[str, Any] | None = None,
        hint: str | None = None,
    ) -> tuple[RunDir, Any]:
        """Reopen an existing run to read it: writes nothing, creates nothing.

        Whether the run is finished is the caller's to check (in `run.state()`); the returned run can still log
        and save state where the caller continues it (as sketch edits do).

        Args:
            path: the run folder.
            config_class: the config dataclass to rebuild the recorded config as (None: the plain dict).
            system: the system the run must come from (None: any).
            provenance: values the recorded provenance must hold, e.g. ``{"kind": "singan"}``.
            hint: how to make such a run, ending the error messages, e.g. "train one with `tinkerlab pyramid train`".

        Returns:
            ``(run, config)``: the run, and its config as `config_class` (or a dict).

        Raises:
            InputError: no such folder or no config.json in it, a run of another system or provenance, a damaged
                config.json, or a config that does not fit `config_class`.

        Example:
            >>> import tempfile
            >>> folder = Path(tempfile.mkdtemp()) / "run"
            >>> RunDir.open(folder, system="demo", config={"steps": 10}, provenance={"kind": "toy"}).save_state({})
            >>> run, config = RunDir.load(folder, system="demo", provenance={"kind": "toy"}, hint="make one with ...")
            >>> config
            {'steps': 10}

            With a config dataclass, e.g. ``RunDir.load(path, SinGANConfig, system="pyramid")``, `config` is a
            `SinGANConfig`.
        """
        path = Path(path)
        config_file = path / "config.json"
        what = f"a {system} run directory" if system else "a run directory"
        tail = f" ({hint})" if hint else ""
        if not config_file.is_file():
            raise InputError(f"{path} is not {what}: expected {config_file}{tail}")
        advice = f"{hint} (pass --overwrite to replace this run)" if hint else START_AGAIN
        record = _read_record(path, error=InputError, advice=advice)
        if system is not None and record.get("system") != system:
            raise InputError(f"{path} holds a run of system {record.get('system')!r}, not {system!r}{tail}")
        recorded_provenance = record.get("provenance") or {}
        for key, value in (provenance or {}).items():
            if recorded_provenance.get(key) != value:
                raise InputError(
                    f"{path} holds a run with {key} {recorded_provenance.get(key)!r}, expected {value!r}{tail}"
                )
        config = record.get("config") or {}
        if config_class is not None:
            try:
                config = config_from_dict(config_class, config)
            except (TypeError, ValueError) as exc:
                raise InputError(
                    f"{config_file} does not hold a {config_class.__name__} ({exc}); it may come from another "
                    f"tinkerlab version: {START_AGAIN}"
                ) from None
        return cls(path=path, system=str(record.get("system")), resumed=False), config

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
        return _read_record(self.path).get("config") or {}

    def provenance(self) -> dict[str, Any]:
        """The recorded provenance dict ({} when none was given)."""
        return _read_record(self.path).get("provenance") or {}

    def log(self, message: str) -> None:
        """Append a timestamped line to run.log."""
        stamp = _dt.datetime.now().isoformat(timespec="seconds")
        with open(self.path / "run.log", "a", encoding="utf-8") as handle:
            handle.write(f"{stamp} {message}\n")

    def state(self) -> dict[str, Any]:
        """The progress state saved by `save_state` ({} for a new run).

        Raises:
            ResumeError: state.json is damaged.
        """
        return _read_json(self.path / "state.json", default={})

    def save_state(self, state: dict[str, Any]) -> None:
        """Write the progress state atomically (a crash never leaves half a file)."""
        atomic_write_text(self.path / "state.json", json.dumps(state, indent=2, sort_keys=True) + "\n")


def move_aside(path: str | Path) -> Path | None:
    """Move the contents of folder `path` into a new sibling ``NAME.previous-YYYYmmdd-HHMMSS``; `path` stays, empty.

    Returns:
        The sibling folder, or None when `path` was empty (nothing to move).
    """
    path = Path(path)
    children = sorted(path.iterdir())
    if not children:
        return None
    folder = path.resolve()
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    target = folder.with_name(f"{folder.name}.previous-{stamp}")
    number = 1
    while target.exists():
        number += 1
        target = folder.with_name(f"{folder.name}.previous-{stamp}-{number}")
    target.mkdir()
    for child in children:
        os.replace(child, target / child.name)
    return target


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write `text` to `path` through a temporary file and a rename."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _make_folder(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise InputError(f"{path} is a file, not a run folder; choose another --out")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the run folder {path}: {exc.strerror or exc}; choose another --out") from None


def _changed_keys(
    old: dict[str, Any], new: dict[str, Any], ignore_keys: tuple[str, ...], prefix: str = ""
) -> list[str]:
    """The keys whose values differ, nested ones dotted (``train.iterations``); `ignore_keys` are left out."""
    changed = []
    for key in sorted(set(old) | set(new)):
        name = prefix + key
        if name in ignore_keys or old.get(key) == new.get(key):
            continue
        if isinstance(old.get(key), dict) and isinstance(new.get(key), dict):
            changed += _changed_keys(old[key], new[key], ignore_keys, prefix=name + ".")
        else:
            changed.append(name)
    return changed


def _read_json(
    file: Path, *, default: Any = None, error: type[TinkerlabError] = ResumeError, advice: str = START_AGAIN
) -> Any:
    """The JSON object in `file` (`default` when it does not exist); a damaged file raises `error` naming it."""
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return default
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{file} cannot be read ({getattr(exc, 'strerror', None) or exc}); {advice}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(
            f"{file} is damaged (not JSON: {exc.msg}, line {exc.lineno} column {exc.colno}); {advice}"
        ) from None
    if not isinstance(data, dict):
        raise error(f"{file} is damaged (expected a JSON object, got {type(data).__name__}); {advice}")
    return data


def _read_record(path: Path, *, error: type[TinkerlabError] = ResumeError, advice: str = START_AGAIN) -> dict[str, Any]:
    """The record in ``path/config.json``; missing or damaged raises `error` naming the file and `advice`."""
    config_file = path / "config.json"
    record = _read_json(config_file, error=error, advice=advice)
    if record is None:
        raise error(f"{path} holds run files but no config.json; {advice}")
    if "system" not in record or not isinstance(record.get("config"), dict | None):
        raise error(f"{config_file} is damaged (expected the keys 'system' and 'config'); {advice}")
    return record
