"""A sandboxed Python process that runs code sent to it and keeps its state between calls.

The process is the same interpreter as the parent (`sys.executable`, so numpy and torch import inside), started in
a new session (its own process group, killed as a whole), in a scratch working directory, with an allow-listed
environment (no API keys) and resource limits set by `_child/bootstrap.py`: address space (memory), file size, a
CPU-time backstop and no core dumps. Requests and replies travel over two extra pipes as length-prefixed JSON;
stdout and stderr are pipes read by two threads, cut at an output limit, and split per call by a random marker.

A call that runs past its timeout gets the whole process group killed; the worker then starts a fresh process
(running `setup_code` again) and the Outcome says the state was lost.

This is resource and environment isolation for model-written code, not a security boundary: the code runs as the
same user, can read what that user can read and can use the network.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import secrets
import select
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Self

from tinkerlab.core.errors import InputError, SandboxError
from tinkerlab.sandbox.environment import sandbox_environment
from tinkerlab.sandbox.outcome import Outcome

_HEADER = struct.Struct(">Q")
_BOOTSTRAP = Path(__file__).resolve().parent / "_child" / "bootstrap.py"

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp")
MAX_OUTPUT_BYTES = 1_000_000  # per stream and call
MAX_RETURNED_FILE_BYTES = 1_000_000  # per non-image file in Outcome.files
MAX_RETURNED_FILES_TOTAL = 8_000_000
MAX_IMAGES = 32
MAX_SCANNED_FILES = 5_000
FILE_SIZE_LIMIT_MB = 512  # RLIMIT_FSIZE: the largest file the code may write
EXTRA_TASKS = 256  # RLIMIT_NPROC headroom over the user's current processes and threads (not enforced for root)
START_TIMEOUT_S = 60.0
STREAM_GRACE_S = 2.0

FileSpec = Mapping[str, "str | bytes | Path"]


class _StreamCollector(threading.Thread):
    """Reads one output pipe to the end; splits it into per-call segments at `sentinel`; keeps at most `cap` bytes
    of each segment and counts the rest."""

    def __init__(self, pipe: io.BufferedReader, sentinel: bytes, cap: int, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self._pipe = pipe
        self._sentinel = sentinel
        self._cap = cap
        self._lock = threading.Lock()
        self._segment_done = threading.Condition(self._lock)
        self._kept = bytearray()
        self._dropped = 0
        self._segments: list[tuple[bytes, int]] = []

    def _add(self, data: bytes) -> None:
        room = self._cap - len(self._kept)
        if room > 0:
            self._kept += data[:room]
        self._dropped += max(0, len(data) - max(room, 0))

    def _close_segment(self) -> None:
        self._segments.append((bytes(self._kept), self._dropped))
        self._kept = bytearray()
        self._dropped = 0
        self._segment_done.notify_all()

    def run(self) -> None:
        keep = len(self._sentinel) - 1
        pending = b""
        fd = self._pipe.fileno()
        while True:
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                chunk = b""
            with self._lock:
                if not chunk:
                    self._add(pending)
                    return
                pending += chunk
                while (index := pending.find(self._sentinel)) >= 0:
                    self._add(pending[:index])
                    self._close_segment()
                    pending = pending[index + len(self._sentinel) :]
                if len(pending) > keep:
                    self._add(pending[: len(pending) - keep])
                    pending = pending[len(pending) - keep :]

    def take_segment(self, wait_s: float) -> tuple[bytes, int]:
        """The output of the call that just ended (waits for its end marker up to `wait_s`)."""
        with self._lock:
            self._segment_done.wait_for(lambda: bool(self._segments) or not self.is_alive(), timeout=wait_s)
            if self._segments:
                return self._segments.pop(0)
            return self._take_partial()

    def take_rest(self, wait_s: float) -> tuple[bytes, int]:
        """Everything not yet taken, after the pipe closed (or `wait_s` passed): for a killed process."""
        self.join(wait_s)
        with self._lock:
            kept, dropped = b"".join(s for s, _ in self._segments), sum(d for _, d in self._segments)
            self._segments.clear()
            rest, rest_dropped = self._take_partial()
            return kept + rest, dropped + rest_dropped

    def _take_partial(self) -> tuple[bytes, int]:
        taken = (bytes(self._kept), self._dropped)
        self._kept = bytearray()
        self._dropped = 0
        return taken


def _decode(data: bytes, dropped: int, cap: int) -> str:
    text = data.decode("utf-8", errors="replace")
    if dropped:
        text += f"\n[... {dropped} more bytes of output were cut: the limit is {cap} bytes per stream]"
    return text


def _format_seconds(seconds: float) -> str:
    return f"{seconds:g}"


def _validate_limits(timeout_s: float, memory_mb: int) -> None:
    if not isinstance(timeout_s, (int, float)) or not math.isfinite(timeout_s) or timeout_s <= 0:
        raise InputError(f"timeout_s must be a positive number of seconds, got {timeout_s!r}")
    if not isinstance(memory_mb, int) or isinstance(memory_mb, bool) or memory_mb < 64:
        raise InputError(f"memory_mb must be an integer of at least 64 (MB), got {memory_mb!r}")


def write_files(scratch_dir: Path, files: FileSpec | None) -> None:
    """Write `files` (relative path -> text, bytes, or a Path to copy) into the scratch directory.

    Raises:
        InputError: A path is absolute or leaves the directory, a value has the wrong type, or a Path is missing.
    """
    if not files:
        return
    root = Path(scratch_dir).resolve()
    for name, content in files.items():
        relative = PurePosixPath(str(name))
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise InputError(f"file names must be relative paths inside the working directory, got {name!r}")
        target = root.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            if not content.is_file():
                raise InputError(f"file {name!r}: expected an existing file to copy, got {str(content)!r}")
            shutil.copyfile(content, target)
        elif isinstance(content, bytes):
            target.write_bytes(content)
        elif isinstance(content, str):
            target.write_text(content, encoding="utf-8")
        else:
            raise InputError(f"file {name!r}: expected str (text), bytes or pathlib.Path, got {type(content).__name__}")


def _snapshot(scratch_dir: Path) -> dict[str, tuple[int, int]]:
    """relative path -> (size, mtime_ns) of the files the code can see (hidden top-level folders skipped)."""
    found: dict[str, tuple[int, int]] = {}
    root = str(scratch_dir)
    for folder, subfolders, names in os.walk(root):
        if folder == root:
            subfolders[:] = [d for d in subfolders if not d.startswith(".")]
        subfolders[:] = [d for d in subfolders if d != "__pycache__"]
        for name in names:
            path = os.path.join(folder, name)
            try:
                info = os.stat(path, follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            found[os.path.relpath(path, root).replace(os.sep, "/")] = (info.st_size, info.st_mtime_ns)
            if len(found) >= MAX_SCANNED_FILES:
                return found
    return found


def _collect_written(scratch_dir: Path, before: dict[str, tuple[int, int]]) -> tuple[list, dict[str, bytes]]:
    """Images and small files that are new or changed since `before`."""
    from PIL import Image

    images: list = []
    files: dict[str, bytes] = {}
    total = 0
    for relative, stamp in sorted(_snapshot(scratch_dir).items()):
        if before.get(relative) == stamp:
            continue
        path = scratch_dir / relative
        if relative.lower().endswith(IMAGE_SUFFIXES) and len(images) < MAX_IMAGES:
            try:
                with Image.open(path) as opened:
                    opened.load()
                    image = opened.copy()
                image.info["filename"] = relative
                images.append(image)
                continue
            except (OSError, ValueError, Image.DecompressionBombError):
                pass  # not a readable image after all: return it as a file
        size = stamp[0]
        if size <= MAX_RETURNED_FILE_BYTES and total + size <= MAX_RETURNED_FILES_TOTAL:
            try:
                files[relative] = path.read_bytes()
                total += size
            except OSError:
                continue
    return images, files


class SandboxWorker:
    """A persistent sandboxed Python process: globals and imports survive between `run` calls.

    Args:
        timeout_s: Wall-clock seconds each call may run before the process group is killed.
        memory_mb: Address-space limit of the process (RLIMIT_AS) in MB. Importing torch takes about 600 MB of
            address space; numpy and matplotlib need far less.
        setup_code: Code run after every (re)start, e.g. imports and helper definitions. If it fails, the worker
            raises `SandboxError`.

    Example:
        >>> with SandboxWorker(timeout_s=5) as worker:  # doctest: +SKIP
        ...     worker.run("x = 21")
        ...     print(worker.run("print(x * 2)").stdout)
        42

    Raises:
        InputError: A limit is not a positive number.
        SandboxError: The process could not start, or `setup_code` failed.
    """

    def __init__(self, timeout_s: float = 10.0, memory_mb: int = 1024, setup_code: str | None = None) -> None:
        _validate_limits(timeout_s, memory_mb)
        self.timeout_s = float(timeout_s)
        self.memory_mb = int(memory_mb)
        self.setup_code = setup_code
        self._process: subprocess.Popen | None = None
        self._request_fd: int | None = None
        self._reply_fd: int | None = None
        self._stdout: _StreamCollector | None = None
        self._stderr: _StreamCollector | None = None
        self._scratch: Path | None = None
        self._calls = 0
        self._closed = False
        self._finalizer: weakref.finalize | None = None
        self._cleanup: dict[str, int | str | None] = {"pid": None, "scratch": None}

    # -- lifecycle -------------------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def scratch_dir(self) -> Path:
        """The working directory of the code (created on start, removed by `close`)."""
        if self._scratch is None:
            raise SandboxError("the sandbox worker is not started; use it as a context manager or call start()")
        return self._scratch

    @property
    def pid(self) -> int | None:
        """The process id of the sandbox process, or None when it is not running."""
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Create the scratch directory and start the process (a no-op when already running)."""
        if self._closed:
            raise SandboxError("this sandbox worker was closed; create a new one")
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="tinkerlab-sandbox-"))
        if self._process is None:
            self._spawn()
            if self.setup_code:
                self._run_setup()

    def close(self) -> None:
        """Kill the process group and remove the scratch directory. Safe to call more than once."""
        self._closed = True
        self._stop_process()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None

    def _spawn(self) -> None:
        from tinkerlab.core.paths import cache_dir

        scratch = self.scratch_dir
        sentinel = f"\x00\x1ftinkerlab-sandbox-end-{secrets.token_hex(8)}\x1f\x00"
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        config = {
            "request_fd": request_read,
            "reply_fd": reply_write,
            "memory_mb": self.memory_mb,
            "file_mb": FILE_SIZE_LIMIT_MB,
            "extra_tasks": EXTRA_TASKS,
            "sentinel": sentinel,
        }
        env = sandbox_environment(scratch, matplotlib_config_dir=cache_dir("sandbox", "matplotlib"))
        try:
            process = subprocess.Popen(
                [sys.executable, "-s", "-P", "-u", str(_BOOTSTRAP), json.dumps(config)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=scratch,
                env=env,
                pass_fds=(request_read, reply_write),
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            for fd in (request_read, request_write, reply_read, reply_write):
                os.close(fd)
            raise SandboxError(f"could not start the sandbox process ({sys.executable}): {exc}") from exc
        os.close(request_read)
        os.close(reply_write)
        self._process = process
        self._request_fd, self._reply_fd = request_write, reply_read
        self._stdout = _StreamCollector(process.stdout, sentinel.encode("ascii"), MAX_OUTPUT_BYTES, "sandbox-stdout")
        self._stderr = _StreamCollector(process.stderr, sentinel.encode("ascii"), MAX_OUTPUT_BYTES, "sandbox-stderr")
        self._stdout.start()
        self._stderr.start()
        self._cleanup["pid"] = process.pid
        self._cleanup["scratch"] = str(scratch)
        if self._finalizer is None:
            self._finalizer = weakref.finalize(self, _kill_group_and_remove, self._cleanup)
        try:
            ready = self._receive(time.monotonic() + START_TIMEOUT_S)
        except (_Died, _TimedOut) as exc:
            _, err = self._stop_process()
            raise SandboxError(f"the sandbox process did not start ({exc}); its stderr:\n{err}") from None
        if ready.get("op") != "ready":
            self._stop_process()
            raise SandboxError(f"the sandbox process sent {ready!r} instead of its ready message")

    def _run_setup(self) -> None:
        outcome = self._call(self.setup_code or "", "<setup>", self.timeout_s, restart_on_failure=False)
        if not outcome.ok:
            self._stop_process()
            raise SandboxError(f"the sandbox setup code failed:\n{outcome.error}\n{outcome.stderr}".rstrip())

    def _stop_process(self) -> tuple[str, str]:
        """Kill the process group, close the pipes; returns whatever output was not yet taken."""
        process, self._process = self._process, None
        out = err = ""
        if process is None:
            return out, err
        _kill_group(process.pid)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not wait for anything
            pass
        for fd in (self._request_fd, self._reply_fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._request_fd = self._reply_fd = None
        if self._stdout is not None and self._stderr is not None:
            out = _decode(*self._stdout.take_rest(1.0), MAX_OUTPUT_BYTES)
            err = _decode(*self._stderr.take_rest(1.0), MAX_OUTPUT_BYTES)
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass
        self._stdout = self._stderr = None
        return out, err

    # -- running code ----------------------------------------------------------------------------------------

    def run(self, code: str, *, timeout_s: float | None = None, files: FileSpec | None = None) -> Outcome:
        """Run `code` in the worker's process; its globals persist for the next call.

        Args:
            code: Python source.
            timeout_s: Wall-clock limit for this call (default: the worker's `timeout_s`).
            files: Files written into the working directory first (relative path -> text, bytes or a Path).

        Returns:
            The Outcome. After a timeout or a crash the process was restarted and `outcome.state_lost` is True.

        Raises:
            InputError: `code` is not a string, or a limit or file is invalid.
            SandboxError: The worker is closed or its process could not be (re)started.
        """
        if not isinstance(code, str):
            raise InputError(f"code must be a str of Python source, got {type(code).__name__}")
        timeout = self.timeout_s if timeout_s is None else timeout_s
        _validate_limits(timeout, self.memory_mb)
        self.start()
        write_files(self.scratch_dir, files)
        self._calls += 1
        return self._call(code, f"<cell {self._calls}>", float(timeout), restart_on_failure=True)

    def _call(self, code: str, filename: str, timeout_s: float, *, restart_on_failure: bool) -> Outcome:
        before = _snapshot(self.scratch_dir)
        request = {"op": "exec", "code": code, "filename": filename, "timeout_s": timeout_s}
        start = time.monotonic()
        failure: str | None = None
        timed_out = False
        reply: dict = {}
        try:
            self._send(request)
            reply = self._receive(start + timeout_s)
        except _TimedOut:
            timed_out = True
        except _Died as exc:
            failure = str(exc)
        duration = time.monotonic() - start

        if not timed_out and failure is None:
            if self._stdout is None or self._stderr is None:  # pragma: no cover - set while the process runs
                raise SandboxError("the sandbox output readers are missing")
            stdout = _decode(*self._stdout.take_segment(STREAM_GRACE_S), MAX_OUTPUT_BYTES)
            stderr = _decode(*self._stderr.take_segment(STREAM_GRACE_S), MAX_OUTPUT_BYTES)
            images = self._figures(reply.get("figures", []))
            written_images, files = _collect_written(self.scratch_dir, before)
            return Outcome(
                stdout=stdout,
                stderr=stderr + reply.get("notes", ""),
                images=(images + written_images)[:MAX_IMAGES],
                error=reply.get("error"),
                timed_out=False,
                duration_s=duration,
                files=files,
                memory_exceeded=bool(reply.get("memory_exceeded")),
            )

        # Timed out or died: kill the whole group, keep what it printed, restart if this is a persistent worker.
        returncode = None
        if self._process is not None:
            try:  # a process that closed its reply pipe is ending: wait briefly for its exit status
                returncode = self._process.wait(timeout=0 if timed_out else STREAM_GRACE_S)
            except subprocess.TimeoutExpired:
                returncode = None
        stdout, stderr = self._stop_process()
        written_images, files = _collect_written(self.scratch_dir, before)
        if timed_out:
            error = f"timed out after {_format_seconds(timeout_s)} s (the process group was killed)"
        else:
            error = _describe_death(failure or "", returncode, self.memory_mb)
        state_lost = False
        if restart_on_failure and not self._closed:
            self._spawn()
            if self.setup_code:
                self._run_setup()
            state_lost = True
            error += "; the worker was restarted, so variables and imports from earlier calls are lost"
        return Outcome(
            stdout=stdout,
            stderr=stderr,
            images=written_images[:MAX_IMAGES],
            error=error,
            timed_out=timed_out,
            duration_s=duration,
            files=files,
            memory_exceeded=False,
            state_lost=state_lost,
        )

    @staticmethod
    def _figures(encoded: list[str]) -> list:
        if not encoded:
            return []
        from PIL import Image

        images = []
        for picture in encoded:
            with Image.open(io.BytesIO(base64.b64decode(picture))) as opened:
                opened.load()
                images.append(opened.copy())
        return images

    # -- framing ---------------------------------------------------------------------------------------------

    def _send(self, message: dict) -> None:
        if self._request_fd is None:
            raise _Died("the sandbox process is not running")
        body = json.dumps(message).encode("utf-8")
        view = memoryview(_HEADER.pack(len(body)) + body)
        try:
            while view:
                written = os.write(self._request_fd, view)
                view = view[written:]
        except (BrokenPipeError, OSError) as exc:
            raise _Died(f"the sandbox process stopped reading requests ({exc})") from None

    def _receive(self, deadline: float) -> dict:
        header = self._read_exact(_HEADER.size, deadline)
        body = self._read_exact(_HEADER.unpack(header)[0], deadline + STREAM_GRACE_S)
        return json.loads(body.decode("utf-8"))

    def _read_exact(self, size: int, deadline: float) -> bytes:
        chunks = []
        fd = self._reply_fd
        if fd is None:
            raise _Died("the sandbox process is not running")
        while size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _TimedOut()
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                raise _TimedOut()
            chunk = os.read(fd, min(size, 1 << 20))
            if not chunk:
                raise _Died("the sandbox process ended before it replied")
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)


class _TimedOut(Exception):
    pass


class _Died(Exception):
    pass


def _describe_death(reason: str, returncode: int | None, memory_mb: int) -> str:
    if returncode is None:
        return f"the sandbox process stopped responding ({reason})"
    if returncode < 0:
        number = -returncode
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        if number == signal.SIGXCPU:
            return "the sandbox process exceeded its CPU-time limit (SIGXCPU)"
        if number in (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS, signal.SIGKILL):
            return (
                f"the sandbox process was killed by {name}; native code may have exceeded the memory limit "
                f"of {memory_mb} MB"
            )
        return f"the sandbox process was killed by {name}"
    return f"the sandbox process exited with code {returncode} before the code finished"


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_group_and_remove(cleanup: dict) -> None:
    """Last-resort cleanup when a worker is garbage-collected (or the interpreter exits) without `close()`."""
    if cleanup.get("pid"):
        _kill_group(int(cleanup["pid"]))
    if cleanup.get("scratch"):
        shutil.rmtree(str(cleanup["scratch"]), ignore_errors=True)
