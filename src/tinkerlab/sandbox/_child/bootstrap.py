"""The child side of the tinkerlab sandbox: applies resource limits, then runs code sent by the parent.

Started by `tinkerlab.sandbox.worker.SandboxWorker` as `python -s -P -u bootstrap.py CONFIG_JSON` in a new session,
with stdout and stderr on pipes the parent reads, and two more pipes (passed by file descriptor) for requests and
replies. Messages on those pipes are frames: an 8-byte big-endian length, then UTF-8 JSON.

Only the standard library is imported here, so start-up stays fast; matplotlib is touched after a call only when
the code itself imported pyplot (checked in `sys.modules`).
"""

from __future__ import annotations

import base64
import builtins
import json
import linecache
import os
import resource
import signal
import struct
import sys
import traceback
import types

_HEADER = struct.Struct(">Q")
_PR_SET_PDEATHSIG = 1
_MEMORY_MARKERS = ("can't allocate memory", "cannot allocate memory", "std::bad_alloc", "out of memory")
_BACKEND_MODULE = "_tinkerlab_sandbox_mpl"


def _read_exact(fd: int, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> dict | None:
    """The next message from the parent, or None when the parent closed the pipe."""
    header = _read_exact(fd, _HEADER.size)
    if header is None:
        return None
    body = _read_exact(fd, _HEADER.unpack(header)[0])
    return None if body is None else json.loads(body.decode("utf-8"))


def write_frame(fd: int, message: dict) -> None:
    """Send one message to the parent."""
    body = json.dumps(message).encode("utf-8")
    view = memoryview(_HEADER.pack(len(body)) + body)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _count_user_tasks(uid: int) -> int:
    """How many processes and threads this user runs now (what RLIMIT_NPROC counts)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as handle:
                status = handle.read()
        except OSError:
            continue
        owner = threads = None
        for line in status.splitlines():
            if line.startswith("Uid:"):
                owner = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
        if owner == uid:
            total += threads or 1
    return total


def _set_limit(kind: int, value: int) -> None:
    _, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(kind, (value, value))


def apply_limits(config: dict) -> None:
    """Address space (memory), file size, no core dumps, and a cap on new processes and threads."""
    _set_limit(resource.RLIMIT_AS, int(config["memory_mb"]) * 2**20)
    _set_limit(resource.RLIMIT_FSIZE, int(config["file_mb"]) * 2**20)
    _set_limit(resource.RLIMIT_CORE, 0)
    # A write past the file-size limit raises OSError(EFBIG) instead of killing the process.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    extra_tasks = int(config.get("extra_tasks") or 0)
    if extra_tasks and os.geteuid() != 0:  # root is exempt from RLIMIT_NPROC anyway
        try:
            _set_limit(resource.RLIMIT_NPROC, _count_user_tasks(os.getuid()) + extra_tasks)
        except (OSError, ValueError):
            pass


def _arm_cpu_backstop(timeout_s: float) -> None:
    """Let this call use at most about `timeout_s` of CPU per core (plus slack) before SIGXCPU ends it.

    The parent enforces the wall-clock timeout; this only matters if the parent cannot (it died or hung).
    """
    used = sum(os.times()[:2])
    budget = used + max(timeout_s, 1.0) * (os.cpu_count() or 1) + 10.0
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = int(budget) + 1
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _disarm_cpu_backstop() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))


def _user_traceback(exc: BaseException, filename: str) -> str:
    """The traceback from the first frame of the user's code on (the bootstrap's frames are dropped)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb)).rstrip("\n")


def _is_memory_error(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    message = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(marker in message for marker in _MEMORY_MARKERS)


def collect_figures() -> tuple[list[str], str]:
    """PNG pictures (base64) of figures shown with plt.show() and figures still open, within the picture budget;
    then closes them all."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    backend = sys.modules.get(_BACKEND_MODULE)
    if pyplot is None and backend is None:
        return [], ""
    if backend is None:  # the code chose another backend: the budget and PNG helper live in ours all the same
        import importlib

        backend = importlib.import_module(_BACKEND_MODULE)
    notes = ""
    if pyplot is not None:
        for number in pyplot.get_fignums():
            try:
                backend.capture(pyplot.figure(number))
            except Exception as exc:  # noqa: BLE001 - a broken figure must not hide the rest of the outcome
                notes += f"[sandbox] figure {number} could not be rendered: {type(exc).__name__}: {exc}\n"
        pyplot.close("all")
    pictures, skipped = backend.take_shown()
    if skipped:
        notes += (
            f"[sandbox] {skipped} figure(s) not returned: over the budget of {backend.MAX_PICTURES} pictures or "
            f"{backend.MAX_TOTAL_PIXELS} pixels per call\n"
        )
    return [base64.b64encode(picture).decode("ascii") for picture in pictures], notes


def execute(request: dict, namespace: dict, memory_mb: int) -> dict:
    """Run one piece of code in `namespace`; report the error (if any) and the figures it left."""
    code = request["code"]
    filename = request["filename"]
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    error = None
    memory_exceeded = False
    _arm_cpu_backstop(float(request["timeout_s"]))
    try:
        compiled = compile(code, filename, "exec")
        exec(compiled, namespace)  # noqa: S102 - running the code is this file's purpose
    except SystemExit as exc:
        if exc.code not in (None, 0):
            error = f"the code called sys.exit({exc.code!r})"
    except BaseException as exc:  # noqa: BLE001 - the code's failure is data for the parent
        if _is_memory_error(exc):
            memory_exceeded = True
            try:
                details = _user_traceback(exc, filename)
            except MemoryError:
                details = f"{type(exc).__name__}"
            error = f"exceeded the memory limit of {memory_mb} MB\n{details}"
        else:
            error = _user_traceback(exc, filename)
        del exc
    finally:
        _disarm_cpu_backstop()
    try:
        figures, notes = collect_figures()
    except Exception as exc:  # noqa: BLE001 - report, then still send the reply
        figures, notes = [], f"[sandbox] figures could not be collected: {type(exc).__name__}: {exc}\n"
    return {
        "op": "done",
        "error": error,
        "memory_exceeded": memory_exceeded,
        "figures": figures,
        "notes": notes,
    }


class _BoundedSink:
    """A text stream that keeps nothing and counts what was written (an item's prints in `run_items`)."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, text: str) -> int:
        self.size += len(text)
        return len(text)

    def flush(self) -> None:
        pass


def run_items(request: dict, namespace: dict, reply_fd: int) -> None:
    """Call `namespace[request["function"]](item)` on every item, one frame before and one after each.

    The parent enforces each item's wall clock from the `item_start` frame on (killing this process when an item
    overruns), so nothing here relies on signals the code could ignore. A result (JSON) or the prints of one item
    larger than `max_record_bytes` become that item's error.
    """
    import contextlib

    handler = namespace.get(request["function"])
    cap = int(request["max_record_bytes"])
    first = int(request.get("first", 0))
    timeout_s = float(request["item_timeout_s"])
    for index, item in enumerate(request["items"], start=first):
        write_frame(reply_fd, {"op": "item_start", "index": index})
        sink = _BoundedSink()
        record: dict = {"op": "item_done", "index": index, "value": None, "error": None}
        _arm_cpu_backstop(timeout_s)
        try:
            if handler is None:
                raise NameError(f"the batch function {request['function']!r} is not defined")
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                record["value"] = handler(item)
        except BaseException as exc:  # noqa: BLE001 - the item's failure is data for the parent
            record["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
            del exc
        finally:
            _disarm_cpu_backstop()
        try:
            body = json.dumps(record).encode("utf-8")
        except (TypeError, ValueError) as exc:
            body = json.dumps({**record, "value": None, "error": f"the result is not JSON: {exc}"[:300]}).encode()
        if len(body) > cap or sink.size > cap:
            what = f"its result is {len(body)} bytes" if len(body) > cap else f"it printed {sink.size} characters"
            message = f"output over the limit of {cap} bytes per item ({what})"
            body = json.dumps({**record, "value": None, "error": message}).encode("utf-8")
        _write_body(reply_fd, body)
    write_frame(reply_fd, {"op": "items_done"})


def _write_body(fd: int, body: bytes) -> None:
    view = memoryview(_HEADER.pack(len(body)) + body)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _die_with_parent(parent_pid: int | None) -> None:
    """Ask the kernel to SIGKILL this process when the parent dies (prctl PR_SET_PDEATHSIG); exit if it already did."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(0)


def _start_watchdog(lifeline_fd: int, keep: tuple[int, ...]) -> None:
    """Fork a small process in this process group that kills the whole group when the parent goes away.

    The parent holds the only write end of `lifeline_fd`; when it dies, the read here ends and the group
    (processes the code starts included, unless they left it) is killed with SIGKILL.
    """
    if os.fork() != 0:
        os.close(lifeline_fd)
        return
    try:
        for fd in (0, 1, 2, *keep):
            try:
                os.close(fd)
            except OSError:
                pass
        while True:
            try:
                if not os.read(lifeline_fd, 1):
                    break
            except InterruptedError:
                continue
            except OSError:
                break
        os.killpg(0, signal.SIGKILL)
    finally:
        os._exit(0)


def _end_streams(sentinel: bytes) -> None:
    """Flush the code's output and mark the end of this call on stdout and stderr."""
    for stream, fd in ((sys.__stdout__, 1), (sys.__stderr__, 2)):
        try:
            if stream is not None:
                stream.flush()
            os.write(fd, sentinel)
        except (OSError, ValueError):
            pass


def main() -> None:
    config = json.loads(sys.argv[1])
    request_fd, reply_fd = int(config["request_fd"]), int(config["reply_fd"])
    sentinel = config["sentinel"].encode("ascii")
    memory_mb = int(config["memory_mb"])
    # The scratch directory is importable (files passed in can be modules); our matplotlib backend too.
    sys.path.insert(0, os.getcwd())
    sys.path.append(os.path.dirname(os.path.abspath(__file__)))
    sys.argv = ["<sandbox>"]
    # The code runs as the __main__ module, so `if __name__ == "__main__":` blocks and pickling work.
    user_main = types.ModuleType("__main__")
    user_main.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = user_main
    _die_with_parent(config.get("parent_pid"))
    if os.getpgid(0) != os.getpid():  # in the jail bwrap's own process leads the session: lead our own group
        os.setsid()
    if config.get("lifeline_fd") is not None:
        _start_watchdog(int(config["lifeline_fd"]), (request_fd, reply_fd))
    apply_limits(config)
    write_frame(reply_fd, {"op": "ready", "pid": os.getpid()})
    while True:
        request = read_frame(request_fd)
        if request is None or request.get("op") == "exit":
            break
        if request.get("op") == "items":
            run_items(request, user_main.__dict__, reply_fd)
            _end_streams(sentinel)
            continue
        reply = execute(request, user_main.__dict__, memory_mb)
        _end_streams(sentinel)
        write_frame(reply_fd, reply)


if __name__ == "__main__":
    main()
