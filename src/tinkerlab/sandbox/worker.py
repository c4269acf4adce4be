"""A sandboxed Python process that runs code sent to it and keeps its state between calls.

The process is the same interpreter as the parent (`sys.executable`, so numpy and torch import inside). Where
bubblewrap works it runs in a jail (`jail.py`: new user, pid, network, IPC and mount namespaces, read-only system and
venv, the scratch folder as the only writable bind); otherwise as a plain process (the fallback). Either way it
starts in a new session (its own process group, killed as a whole), in a scratch working directory, with an
allow-listed environment (no API keys, nothing of tinkerlab's), dies with its parent (`PR_SET_PDEATHSIG`), and has
resource limits set by `_child/bootstrap.py`: address space (memory), file size, a CPU-time backstop and no core
dumps; the parent also watches a disk budget for the scratch folder. Requests and replies travel over two extra
pipes as length-prefixed JSON (with a size cap); stdout and stderr are pipes read by two threads that own their
descriptors, cut at an output limit, and split per call by a random marker.

A call that runs past its timeout gets the whole process group (in the jail: the whole pid namespace) killed; the
worker then starts a fresh process (running `setup_code` again) and the Outcome says the state was lost.
`run_items` calls one function on many items with a per-item wall clock enforced by the parent.

See docs/sandbox.md for what each mode contains and what the fallback does not.
"""

from __future__ import annotations

import base64
import json
import math
import os
import secrets
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

from tinkerlab.core.errors import InputError, SandboxError
from tinkerlab.sandbox.environment import sandbox_environment
from tinkerlab.sandbox.jail import Isolation, jail_command, resolve_isolation
from tinkerlab.sandbox.outcome import ItemResult, Outcome
from tinkerlab.sandbox.scratch import (
    MAX_IMAGES,
    FileSpec,
    ImageBudget,
    collect_written,
    disk_usage,
    snapshot,
    write_files,
)

_HEADER = struct.Struct(">Q")
_BOOTSTRAP = Path(__file__).resolve().parent / "_child" / "bootstrap.py"

MAX_OUTPUT_BYTES = 1_000_000  # per stream and call
MAX_REPLY_BYTES = 64_000_000  # one reply frame (figures as PNG included)
MAX_RECORD_BYTES = 1_000_000  # one item's result in run_items
FILE_SIZE_LIMIT_MB = 512  # RLIMIT_FSIZE: the largest file the code may write
DISK_MB = 1024  # the scratch folder's disk budget
DISK_CHECK_S = 0.25  # how often the parent measures the scratch folder during a call
EXTRA_TASKS = 256  # RLIMIT_NPROC headroom over the user's current processes and threads (not enforced for root)
START_TIMEOUT_S = 60.0
STREAM_GRACE_S = 2.0
MATPLOTLIB_DIR = ".matplotlib"  # the worker's own matplotlib config folder, inside its scratch

__all__ = ["SandboxWorker", "write_files"]


class _StreamCollector(threading.Thread):
    """Reads one output pipe to the end; splits it into per-call segments at `sentinel`; keeps at most `cap` bytes
    of each segment and counts the rest.

    The thread owns its descriptor: only it closes it, when the pipe ends or `stop()` is called, so a descriptor
    number reused by a later process can never be read by an old thread (a process that escaped the kill may hold
    the pipe open long after).
    """

    def __init__(self, fd: int, sentinel: bytes, cap: int, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self._fd = fd
        self._stop_read, self._stop_write = os.pipe()
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
        try:
            while True:
                ready, _, _ = select.select([self._fd, self._stop_read], [], [])
                if self._stop_read in ready:
                    chunk = b""
                else:
                    try:
                        chunk = os.read(self._fd, 1 << 16)
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
        finally:
            with self._lock:
                self._segment_done.notify_all()
            os.close(self._fd)
            os.close(self._stop_read)

    def stop(self) -> None:
        """Make the thread stop reading (and close its descriptor) even if the pipe is still open somewhere."""
        try:
            os.write(self._stop_write, b"x")
            os.close(self._stop_write)
        except OSError:
            pass

    def take_segment(self, wait_s: float) -> tuple[bytes, int]:
        """The output of the call that just ended (waits for its end marker up to `wait_s`)."""
        with self._lock:
            self._segment_done.wait_for(lambda: bool(self._segments) or not self.is_alive(), timeout=wait_s)
            if self._segments:
                return self._segments.pop(0)
            return self._take_partial()

    def take_rest(self, wait_s: float) -> tuple[bytes, int]:
        """Everything not yet taken, after the pipe closed (or `wait_s` passed): for a killed process. The
        thread is stopped either way."""
        self.join(wait_s)
        self.stop()
        self.join(1.0)
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


class SandboxWorker:
    """A persistent sandboxed Python process: globals and imports survive between `run` calls.

    Args:
        timeout_s: Wall-clock seconds each call may run before the process group is killed.
        memory_mb: Address-space limit of the process (RLIMIT_AS) in MB. Importing torch takes about 600 MB of
            address space; numpy and matplotlib need far less.
        setup_code: Code run after every (re)start, e.g. imports and helper definitions. If it fails, the worker
            raises `SandboxError`.
        isolation: "auto" (the bubblewrap jail where it works, else the process fallback with a warning), "jail"
            (fail without the jail), "process" (the fallback), or None to read `$TINKERLAB_SANDBOX` (default auto).
        disk_mb: Disk budget of the scratch folder; a call that fills more is killed.
        hidden_paths: Folders the code must not see even if they lie inside a folder the jail binds (a FIND suite,
            say); in the fallback mode nothing can be hidden.

    Example:
        >>> with SandboxWorker(timeout_s=5) as worker:  # doctest: +SKIP
        ...     worker.run("x = 21")
        ...     print(worker.run("print(x * 2)").stdout)
        42

    Raises:
        InputError: A limit is not a positive number, or `isolation` is not a mode.
        SandboxError: The process could not start, `setup_code` failed, or the jail was required but is unusable.
    """

    def __init__(
        self,
        timeout_s: float = 10.0,
        memory_mb: int = 1024,
        setup_code: str | None = None,
        *,
        isolation: str | None = None,
        disk_mb: int = DISK_MB,
        hidden_paths: Sequence[str | Path] = (),
    ) -> None:
        _validate_limits(timeout_s, memory_mb)
        if not isinstance(disk_mb, int) or isinstance(disk_mb, bool) or disk_mb < 1:
            raise InputError(f"disk_mb must be a positive integer (MB), got {disk_mb!r}")
        self.timeout_s = float(timeout_s)
        self.memory_mb = int(memory_mb)
        self.disk_mb = disk_mb
        self.setup_code = setup_code
        self.isolation: Isolation = resolve_isolation(isolation)
        self.hidden_paths = tuple(Path(p) for p in hidden_paths)
        self._process: subprocess.Popen | None = None
        self._request_fd: int | None = None
        self._reply_fd: int | None = None
        self._lifeline_fd: int | None = None
        self._stdout: _StreamCollector | None = None
        self._stderr: _StreamCollector | None = None
        self._scratch: Path | None = None
        self._calls = 0
        self._closed = False
        self._disk_exceeded = False
        self._next_disk_check = 0.0
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
        """The process id of the sandbox process (in the jail: of bwrap, outside), or None when it is not running."""
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Create the scratch directory and start the process (a no-op when already running)."""
        if self._closed:
            raise SandboxError("this sandbox worker was closed; create a new one")
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="tinkerlab-sandbox-"))
            _seed_matplotlib_dir(self._scratch / MATPLOTLIB_DIR)
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
        scratch = self.scratch_dir
        sentinel = f"\x00\x1ftinkerlab-sandbox-end-{secrets.token_hex(8)}\x1f\x00"
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        passed = [request_read, reply_write]
        lifeline_read = lifeline_write = None
        jailed = self.isolation == "bubblewrap"
        if not jailed:  # the jail dies with its parent by itself (bwrap --die-with-parent, pid namespace)
            lifeline_read, lifeline_write = os.pipe()
            os.set_inheritable(lifeline_write, False)
            passed.append(lifeline_read)
        config = {
            "request_fd": request_read,
            "reply_fd": reply_write,
            "lifeline_fd": lifeline_read,
            "parent_pid": None if jailed else os.getpid(),
            "memory_mb": self.memory_mb,
            "file_mb": min(FILE_SIZE_LIMIT_MB, self.disk_mb),
            "extra_tasks": EXTRA_TASKS,
            "sentinel": sentinel,
        }
        env = sandbox_environment(scratch, matplotlib_config_dir=scratch / MATPLOTLIB_DIR)
        argv = [sys.executable, "-s", "-P", "-u", str(_BOOTSTRAP), json.dumps(config)]
        if jailed:
            argv = jail_command(argv, scratch=scratch, hidden=self.hidden_paths)
        try:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=scratch,
                env=env,
                pass_fds=tuple(passed),
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            for fd in (request_read, request_write, reply_read, reply_write, lifeline_read, lifeline_write):
                if fd is not None:
                    os.close(fd)
            raise SandboxError(f"could not start the sandbox process ({argv[0]}): {exc}") from exc
        for fd in passed:
            os.close(fd)
        self._process = process
        self._request_fd, self._reply_fd, self._lifeline_fd = request_write, reply_read, lifeline_write
        # The reader threads get their own descriptors; the Popen file objects are closed right away.
        out_fd, err_fd = os.dup(process.stdout.fileno()), os.dup(process.stderr.fileno())
        process.stdout.close()
        process.stderr.close()
        marker = sentinel.encode("ascii")
        self._stdout = _StreamCollector(out_fd, marker, MAX_OUTPUT_BYTES, "sandbox-stdout")
        self._stderr = _StreamCollector(err_fd, marker, MAX_OUTPUT_BYTES, "sandbox-stderr")
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
        for fd in (self._request_fd, self._reply_fd, self._lifeline_fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._request_fd = self._reply_fd = self._lifeline_fd = None
        if self._stdout is not None and self._stderr is not None:
            out = _decode(*self._stdout.take_rest(1.0), MAX_OUTPUT_BYTES)
            err = _decode(*self._stderr.take_rest(1.0), MAX_OUTPUT_BYTES)
        self._stdout = self._stderr = None
        self._cleanup["pid"] = None
        return out, err

    def _restart(self) -> None:
        if self._disk_exceeded and self._scratch is not None:  # start again from an empty folder
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch.mkdir(mode=0o700)
            _seed_matplotlib_dir(self._scratch / MATPLOTLIB_DIR)
            self._disk_exceeded = False
        self._spawn()
        if self.setup_code:
            self._run_setup()

    # -- running code ----------------------------------------------------------------------------------------

    def run(self, code: str, *, timeout_s: float | None = None, files: FileSpec | None = None) -> Outcome:
        """Run `code` in the worker's process; its globals persist for the next call.

        Args:
            code: Python source.
            timeout_s: Wall-clock limit for this call (default: the worker's `timeout_s`).
            files: Files written into the working directory first (relative path -> text, bytes or a Path); a
                path through a symlink is refused.

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
        before = snapshot(self.scratch_dir)
        request = {"op": "exec", "code": code, "filename": filename, "timeout_s": timeout_s}
        start = time.monotonic()
        failure: str | None = None
        timed_out = False
        reply: dict = {}
        try:
            self._send(request)
            reply = self._receive(start + timeout_s)
            self._check_disk(force=True)
        except _TimedOut:
            timed_out = True
        except _Died as exc:
            failure = str(exc)
        duration = time.monotonic() - start
        budget = ImageBudget()

        if not timed_out and failure is None:
            if self._stdout is None or self._stderr is None:  # pragma: no cover - set while the process runs
                raise SandboxError("the sandbox output readers are missing")
            stdout = _decode(*self._stdout.take_segment(STREAM_GRACE_S), MAX_OUTPUT_BYTES)
            stderr = _decode(*self._stderr.take_segment(STREAM_GRACE_S), MAX_OUTPUT_BYTES)
            for index, picture in enumerate(reply.get("figures", [])[:MAX_IMAGES]):
                budget.add(_b64decode(picture), f"figure {index + 1}")
            files = collect_written(self.scratch_dir, before, budget)
            return Outcome(
                stdout=stdout,
                stderr=stderr + reply.get("notes", "") + budget.note(),
                images=budget.images,
                error=reply.get("error"),
                timed_out=False,
                duration_s=duration,
                files=files,
                memory_exceeded=bool(reply.get("memory_exceeded")),
                isolation=self.isolation,
            )

        # Timed out or died: kill the whole group, keep what it printed, restart if this is a persistent worker.
        returncode = None
        if self._process is not None:
            try:  # a process that closed its reply pipe is ending: wait briefly for its exit status
                returncode = self._process.wait(timeout=0 if timed_out else STREAM_GRACE_S)
            except subprocess.TimeoutExpired:
                returncode = None
        stdout, stderr = self._stop_process()
        files = {} if self._disk_exceeded else collect_written(self.scratch_dir, before, budget)
        if self._disk_exceeded:
            error = f"exceeded the disk budget of {self.disk_mb} MB in its working directory (the process was killed)"
        elif timed_out:
            error = f"timed out after {_format_seconds(timeout_s)} s (the process group was killed)"
        else:
            error = _describe_death(failure or "", self._exit_status(returncode), self.memory_mb)
        state_lost = False
        if restart_on_failure and not self._closed:
            self._restart()
            state_lost = True
            error += "; the worker was restarted, so variables and imports from earlier calls are lost"
        return Outcome(
            stdout=stdout,
            stderr=stderr + budget.note(),
            images=budget.images,
            error=error,
            timed_out=timed_out and not self._disk_exceeded,
            duration_s=duration,
            files=files,
            memory_exceeded=False,
            state_lost=state_lost,
            isolation=self.isolation,
        )

    def run_items(
        self,
        function: str,
        items: Sequence[Any],
        *,
        item_timeout_s: float,
        max_record_bytes: int = MAX_RECORD_BYTES,
    ) -> list[ItemResult]:
        """Call `function` (defined by `setup_code` or an earlier call) on every item, each with its own wall clock.

        The parent enforces the limits: an item that runs past `item_timeout_s` gets the process killed and is
        recorded as timed out; one that crashes the process is recorded with how it died; one whose result (as
        JSON) or prints exceed `max_record_bytes` is recorded as an error. The worker then restarts (running
        `setup_code` again) and the batch goes on with the next item.

        Args:
            function: Name of a function in the worker's globals, called as `function(item)`; it returns JSON data.
            items: JSON-serialisable items.
            item_timeout_s: Wall-clock seconds per item.
            max_record_bytes: The largest result (JSON) or printed output of one item.

        Returns:
            One `ItemResult` per item, in order.

        Raises:
            InputError: A limit is invalid or the items are not JSON.
            SandboxError: The worker is closed or its process could not be (re)started.
        """
        _validate_limits(item_timeout_s, self.memory_mb)
        items = list(items)
        results: list[ItemResult | None] = [None] * len(items)
        position = 0
        while position < len(items):
            self.start()
            if self._process is None:  # pragma: no cover - start() either spawns or raises
                raise SandboxError("the sandbox process is not running")
            request = {
                "op": "items",
                "function": function,
                "items": items[position:],
                "first": position,
                "item_timeout_s": float(item_timeout_s),
                "max_record_bytes": int(max_record_bytes),
            }
            try:
                self._send(request)
            except TypeError as exc:
                raise InputError(f"items must be JSON data: {exc}") from None
            except _Died:
                pass  # noticed below, at the first read
            current: int | None = None
            deadline = time.monotonic() + item_timeout_s + STREAM_GRACE_S
            try:
                while True:
                    frame = self._receive(deadline, max_bytes=max_record_bytes + 4096)
                    op, index = frame.get("op"), frame.get("index")
                    if op == "item_start" and current is None and index == position:
                        current = position
                        deadline = time.monotonic() + item_timeout_s
                    elif op == "item_done" and current is not None and index == current:
                        error = frame.get("error")
                        results[current] = ItemResult(value=frame.get("value"), error=error)
                        position, current = position + 1, None
                        deadline = time.monotonic() + STREAM_GRACE_S
                    elif op == "items_done" and current is None and position == len(items):
                        break
                    else:
                        raise _Died(f"the sandbox process sent an unexpected message ({str(op)[:40]!r})")
            except _TimedOut:
                if self._disk_exceeded:
                    message, timed_out = f"exceeded the disk budget of {self.disk_mb} MB", False
                elif current is None:
                    message, timed_out = "the sandbox process stopped responding between items", False
                else:
                    message, timed_out = f"timed out after {_format_seconds(item_timeout_s)} s", True
                results[position] = ItemResult(error=message, timed_out=timed_out)
                position += 1
                self._stop_process()
                self._restart_if_open(position < len(items))
                continue
            except _Died as exc:
                returncode = None
                if self._process is not None:
                    try:
                        returncode = self._process.wait(timeout=STREAM_GRACE_S)
                    except subprocess.TimeoutExpired:
                        returncode = None
                results[position] = ItemResult(
                    error=_describe_death(str(exc), self._exit_status(returncode), self.memory_mb)
                )
                position += 1
                self._stop_process()
                self._restart_if_open(position < len(items))
                continue
            if self._stdout is not None and self._stderr is not None:  # the batch's own output is not kept
                self._stdout.take_segment(STREAM_GRACE_S)
                self._stderr.take_segment(STREAM_GRACE_S)
        return [r if r is not None else ItemResult(error="not run") for r in results]

    def _exit_status(self, returncode: int | None) -> int | None:
        """The code's exit status as Popen reports it (bwrap passes a death by signal N on as 128 + N)."""
        if self.isolation == "bubblewrap" and returncode is not None and 128 < returncode < 128 + 65:
            return -(returncode - 128)
        return returncode

    def _restart_if_open(self, more: bool) -> None:
        if more and not self._closed:
            self._restart()

    # -- limits while waiting ----------------------------------------------------------------------------------

    def _check_disk(self, *, force: bool = False) -> None:
        """Raise _TimedOut (after marking the disk budget exceeded) when the scratch folder is over its budget."""
        now = time.monotonic()
        if not force and now < self._next_disk_check:
            return
        self._next_disk_check = now + DISK_CHECK_S
        budget = self.disk_mb * 2**20
        if self._scratch is not None and disk_usage(self._scratch, budget) > budget:
            self._disk_exceeded = True
            raise _TimedOut()

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

    def _receive(self, deadline: float, max_bytes: int = MAX_REPLY_BYTES) -> dict:
        header = self._read_exact(_HEADER.size, deadline)
        size = _HEADER.unpack(header)[0]
        if size > max_bytes:
            raise _Died(f"the sandbox process sent a reply of {size} bytes, over the limit of {max_bytes}")
        body = self._read_exact(size, deadline + STREAM_GRACE_S)
        try:
            message = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise _Died(f"the sandbox process sent a damaged reply ({exc})") from None
        if not isinstance(message, dict):
            raise _Died("the sandbox process sent a damaged reply (not an object)")
        return message

    def _read_exact(self, size: int, deadline: float) -> bytes:
        chunks = []
        fd = self._reply_fd
        if fd is None:
            raise _Died("the sandbox process is not running")
        while size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _TimedOut()
            ready, _, _ = select.select([fd], [], [], min(remaining, DISK_CHECK_S))
            if not ready:
                self._check_disk()
                continue
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


def _b64decode(text: object) -> bytes:
    try:
        return base64.b64decode(str(text), validate=True)
    except ValueError:
        return b""


def _seed_matplotlib_dir(folder: Path) -> None:
    """Create the worker's own matplotlib config folder, with a copy of the font list built once by trusted code
    (so each worker does not spend ~0.6 s rebuilding it, and nothing one worker plants reaches another)."""
    folder.mkdir(mode=0o700, exist_ok=True)
    template = _font_list_template()
    if template is not None:
        write_files(folder, {template.name: template.read_bytes()})


_font_lock = threading.Lock()


def _font_list_template() -> Path | None:
    """matplotlib's font list, built once per user by a sandbox process that runs no model code."""
    import importlib.util

    from tinkerlab.core.paths import cache_dir

    with _font_lock:
        folder = cache_dir("sandbox", "matplotlib-fonts")
        found = sorted(folder.glob("fontlist-v*.json"))
        if found:
            return found[-1]
        if importlib.util.find_spec("matplotlib") is None:
            return None
        with tempfile.TemporaryDirectory(prefix="tinkerlab-sandbox-fonts-") as tmp:
            config = Path(tmp) / "mpl"
            config.mkdir()
            env = sandbox_environment(Path(tmp), matplotlib_config_dir=config)
            try:
                subprocess.run(
                    [sys.executable, "-s", "-P", "-c", "import matplotlib.font_manager"],
                    cwd=tmp,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    timeout=120,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired):
                return None
            built = sorted(config.glob("fontlist-v*.json"))
            if not built:
                return None
            target = folder / built[-1].name
            partial = folder / f".{built[-1].name}.{os.getpid()}"
            shutil.copyfile(built[-1], partial)
            os.replace(partial, target)
            return target


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
