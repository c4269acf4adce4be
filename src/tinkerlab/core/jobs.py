"""A map over many independent jobs described as data, on a local process pool (default) or on Ray.

The systems that run the same work over many items (every FIND function, hundreds of MAIA units, thousands of
sketches) describe each item as plain, picklable data and hand a module-level function to `map_jobs`. Results
stream back as `JobResult`s, in job order or as they finish. A job that raises comes back with its error (type,
message, traceback text) instead of stopping the map, so one bad item never costs the others.

Executors:
    ``local``  a `concurrent.futures.ProcessPoolExecutor`. Its processes are started with ``spawn`` by default:
               a forked child inherits the parent's threads' locks (torch's intra-op pool, an open SQLite
               connection) in whatever state they were, and can hang. ``spawn`` costs a fresh interpreter per
               worker (well under a second) and needs the calling script's top level to sit behind
               ``if __name__ == "__main__":``, as on macOS and Windows. A pool of one worker runs in-process.
    ``ray``    Ray tasks (``pip install 'tinkerlab[ray]'``). With ``ray_address`` (or ``RAY_ADDRESS``) the map
               connects to that cluster; otherwise it starts a local one bound to 127.0.0.1 only, with
               ``workers`` CPUs and no dashboard, and shuts it down when the map ends.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from tinkerlab.core.errors import InputError, TinkerlabError, require

JobExecutor = Literal["local", "ray"]
StartMethod = Literal["spawn", "forkserver", "fork"]
EXECUTORS = ("local", "ray")
START_METHODS = ("spawn", "forkserver", "fork")
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class JobError:
    """Why a job failed: the exception's type name, its message and the formatted traceback."""

    type: str
    message: str
    traceback: str = ""

    @classmethod
    def from_exception(cls, exc: BaseException) -> JobError:
        import traceback

        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return cls(type(exc).__name__, str(exc), text)

    def __str__(self) -> str:
        return f"{self.type}: {self.message}"


@dataclass(frozen=True)
class JobResult:
    """One job's outcome.

    Attributes:
        index: the job's position in the list given to `map_jobs`.
        job: the job itself (the caller's object, not a copy).
        value: what the function returned (None when it failed).
        error: why it failed, or None.
        seconds: wall time of the function call in its worker (0.0 when the job never ran).
    """

    index: int
    job: Any
    value: Any = None
    error: JobError | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


def check_executor(executor: str, workers: int | None = None) -> None:
    """Raise for an executor or worker count that `map_jobs` would refuse; callers use it to fail early.

    Raises:
        InputError: an unknown executor, or workers that is not a positive int.
        MissingDependencyError: executor 'ray' without ray installed.
    """
    if executor not in EXECUTORS:
        raise InputError(f"executor must be one of {list(EXECUTORS)}, got {executor!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InputError(f"workers must be a positive int (or None for the CPU count), got {workers!r}")
    if executor == "ray":
        require("ray", extra="ray")


def map_jobs(
    function: Callable[[Any], Any],
    jobs: Iterable[Any],
    *,
    executor: JobExecutor = "local",
    workers: int | None = None,
    ordered: bool = True,
    progress: str | bool = True,
    ray_address: str | None = None,
    start_method: StartMethod = "spawn",
) -> Iterator[JobResult]:
    """Call `function(job)` for every job, in parallel, and stream back one `JobResult` per job.

    Arguments are checked when `map_jobs` is called; the work (and any pool or Ray cluster) starts when the
    returned iterator is first advanced, and stops when it is exhausted or closed.

    Args:
        function: a module-level callable (picklable by reference), called as ``function(job)``.
        jobs: plain, picklable data (dicts, dataclasses, numbers); read once into a list.
        executor: 'local' (a process pool) or 'ray'.
        workers: local: pool processes; a count of 1 runs the jobs in this process, one after another.
            Ray: CPUs of a local cluster started here, and at most this many jobs in flight on any cluster.
            None: os.cpu_count() (on an existing Ray cluster: no limit of our own).
        ordered: yield results in job order (True) or as they finish (False).
        progress: show a progress bar (quiet off a terminal or with TINKERLAB_QUIET); a string is its label.
        ray_address: the Ray cluster to connect to (else the RAY_ADDRESS variable; else a local one is started).
        start_method: how local pool processes start; 'fork' is faster but unsafe once the parent holds threads.

    Returns:
        An iterator of `JobResult`s, one per job. Failed jobs carry `error` and are never raised.

    Raises:
        InputError: an unknown executor or start method, workers < 1, or a function that is not callable.
        MissingDependencyError: executor 'ray' without ray installed.
        TinkerlabError: (when iterating) no Ray cluster answers at the address given, or a local one could not be
            bound to 127.0.0.1 only.

    Example:
        >>> import math
        >>> [result.value for result in map_jobs(math.sqrt, [1, 4, 9], workers=1, progress=False)]
        [1.0, 2.0, 3.0]
        >>> failed = next(map_jobs(math.sqrt, [-1], workers=1, progress=False))
        >>> failed.ok, failed.error.type
        (False, 'ValueError')
    """
    check_executor(executor, workers)
    if not callable(function):
        raise InputError(f"function must be callable, got {type(function).__name__}")
    if start_method not in START_METHODS:
        raise InputError(f"start_method must be one of {list(START_METHODS)}, got {start_method!r}")
    if not isinstance(progress, bool | str):
        raise InputError(f"progress must be a bool or a label, got {type(progress).__name__}")
    jobs = list(jobs)
    if executor == "ray":
        completed = _ray_results(function, jobs, workers, ray_address)
    else:
        completed = _local_results(function, jobs, workers or os.cpu_count() or 1, start_method)
    return _stream(completed, len(jobs), ordered, progress)


def _run_one(function: Callable[[Any], Any], job: Any) -> tuple[Any, JobError | None, float]:
    """Call the function on one job in a worker; an exception becomes data."""
    start = time.perf_counter()
    try:
        value = function(job)
    except Exception as exc:  # noqa: BLE001 - a failing job comes back as a result
        return None, JobError.from_exception(exc), time.perf_counter() - start
    return value, None, time.perf_counter() - start


def _stream(completed: Iterator[JobResult], total: int, ordered: bool, progress: str | bool) -> Iterator[JobResult]:
    """Advance the progress bar as jobs finish; hold finished jobs back until their turn when ordered."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(contextlib.closing(completed))  # stops the pool or Ray when the caller stops early
        advance = _progress_bar(stack, total, progress)
        waiting: dict[int, JobResult] = {}
        next_index = 0
        for result in completed:
            advance()
            if not ordered:
                yield result
                continue
            waiting[result.index] = result
            while next_index in waiting:
                yield waiting.pop(next_index)
                next_index += 1


def _progress_bar(stack: contextlib.ExitStack, total: int, progress: str | bool) -> Callable[[], None]:
    if progress is False or total == 0:
        return lambda: None
    from tinkerlab.core.progress import make_progress

    bar = stack.enter_context(make_progress())
    task = bar.add_task(progress if isinstance(progress, str) else "jobs", total=total)
    return lambda: bar.advance(task)


def _local_results(
    function: Callable[[Any], Any], jobs: list[Any], workers: int, start_method: StartMethod
) -> Iterator[JobResult]:
    if workers == 1:
        for index, job in enumerate(jobs):
            yield JobResult(index, job, *_run_one(function, job))
        return
    if not jobs:
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(jobs)), mp_context=multiprocessing.get_context(start_method)
    )
    try:
        futures = {pool.submit(_run_one, function, job): index for index, job in enumerate(jobs)}
        for future in as_completed(futures):
            index = futures[future]
            try:
                result = JobResult(index, jobs[index], *future.result())
            except Exception as exc:  # noqa: BLE001 - a worker that died, or a job or value that cannot be pickled
                result = JobResult(index, jobs[index], error=JobError.from_exception(exc))
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _ray_results(
    function: Callable[[Any], Any], jobs: list[Any], workers: int | None, ray_address: str | None
) -> Iterator[JobResult]:
    if not jobs:
        return
    import ray

    address = ray_address or os.environ.get("RAY_ADDRESS") or None
    started = False
    if not ray.is_initialized():
        if address:
            _connect_ray(ray, address)
        else:
            _start_local_ray(ray, workers or os.cpu_count() or 1)
        started = True
    try:
        remote = ray.remote(_run_one)
        function_ref = ray.put(function)
        limit = workers or len(jobs)
        queued = iter(enumerate(jobs))
        in_flight: dict[Any, int] = {}
        while True:
            for index, job in queued:
                in_flight[remote.remote(function_ref, job)] = index
                if len(in_flight) >= limit:
                    break
            if not in_flight:
                return
            (ready,), _ = ray.wait(list(in_flight), num_returns=1)
            index = in_flight.pop(ready)
            try:
                result = JobResult(index, jobs[index], *ray.get(ready))
            except Exception as exc:  # noqa: BLE001 - a worker or node that died, or a job Ray could not move
                result = JobResult(index, jobs[index], error=JobError.from_exception(exc))
            yield result
    finally:
        if started:
            ray.shutdown()


def _start_local_ray(ray: Any, cpus: int) -> None:
    """Start a Ray node on this machine whose servers listen on 127.0.0.1 only, and check that they do."""
    import logging

    with _loopback_kept():
        context = ray.init(
            address="local",  # a new node, even where `ray start` left one to join
            num_cpus=cpus,
            include_dashboard=False,
            _node_ip_address=LOOPBACK,
            log_to_driver=False,
            logging_level=logging.WARNING,
        )
    node_ip = context.address_info.get("node_ip_address")
    if node_ip != LOOPBACK:
        ray.shutdown()
        raise TinkerlabError(
            f"the local Ray node came up on {node_ip}, expected {LOOPBACK} only; start a Ray cluster yourself and "
            "pass its address (ray_address or RAY_ADDRESS)"
        )


def _connect_ray(ray: Any, address: str) -> None:
    """Connect to a running cluster; a `host:port` that nothing answers on fails at once instead of retrying."""
    import logging
    import socket

    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    if host and port.isdigit() and "://" not in address:
        try:
            socket.create_connection((host, int(port)), timeout=5).close()
        except OSError as exc:
            raise TinkerlabError(
                f"no Ray cluster answers at {address} ({exc}); check ray_address or RAY_ADDRESS"
            ) from exc
    loopback = host in (LOOPBACK, "localhost", "::1")
    with _loopback_kept() if loopback else contextlib.nullcontext():
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)


@contextlib.contextmanager
def _loopback_kept() -> Iterator[None]:
    """Keep Ray from swapping 127.0.0.1 for this machine's outward address while the block runs.

    On Linux, Ray replaces a loopback node or cluster address with the outward one (so that other machines could
    join), and its servers then listen on every interface. Its own setting for macOS and Windows keeps loopback;
    it is switched on for the start or the connection only. `_start_local_ray` checks the address the node got,
    so a Ray without this setting fails loudly rather than listening more widely.
    """
    try:
        from ray._private import ray_constants
    except ImportError:  # pragma: no cover - depends on the Ray version
        yield
        return
    previous = getattr(ray_constants, "ENABLE_RAY_CLUSTER", None)
    if previous is None:  # pragma: no cover - depends on the Ray version
        yield
        return
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = previous
