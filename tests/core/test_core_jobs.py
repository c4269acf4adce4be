"""core.jobs: order, as-completed streaming, failures as results, progress, argument checks, in-process, Ray."""

from __future__ import annotations

import doctest
import math
import os
import sys
import time
import uuid
from typing import Any

import pytest

from tinkerlab.core import jobs as jobs_module
from tinkerlab.core.errors import InputError, MissingDependencyError, TinkerlabError
from tinkerlab.core.jobs import JobResult, map_jobs


def _job(job: dict[str, Any]) -> Any:
    """A job that can wait for a file, sleep, fail or report the process it ran in."""
    if "wait_for" in job:
        deadline = time.monotonic() + 30
        while not os.path.exists(job["wait_for"]):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{job['wait_for']} never appeared")
            time.sleep(0.01)
    time.sleep(job.get("sleep", 0))
    if "fail" in job:
        raise ValueError(job["fail"])
    if job.get("pid"):
        return os.getpid()
    return job.get("value")


def test_results_come_back_in_job_order():
    jobs = [{"sleep": 0.3, "value": "a"}, {"value": "b"}, {"sleep": 0.1, "value": "c"}]
    results = list(map_jobs(_job, jobs, workers=2, progress=False))
    assert [r.index for r in results] == [0, 1, 2] and [r.value for r in results] == ["a", "b", "c"]
    assert all(r.ok and r.job is job for r, job in zip(results, jobs, strict=True))
    assert results[0].seconds >= 0.3 and results[1].seconds < 0.3


def test_as_completed_yields_the_first_finished_job_first(tmp_path):
    flag = tmp_path / "flag"
    results = map_jobs(_job, [{"wait_for": str(flag), "value": 0}, {"value": 1}], workers=2, ordered=False)
    first = next(results)  # job 0 cannot finish before the flag exists
    assert (first.index, first.value) == (1, 1)
    flag.touch()
    second = next(results)
    assert (second.index, second.value) == (0, 0)
    assert next(results, None) is None


def test_failures_are_returned_not_raised_and_do_not_stop_the_others():
    jobs = [{"value": 1}, {"fail": "bad input 7"}, {"value": 3}]
    for workers in (1, 2):
        results = list(map_jobs(_job, jobs, workers=workers, progress=False))
        assert [r.ok for r in results] == [True, False, True] and [results[0].value, results[2].value] == [1, 3]
        error = results[1].error
        assert (error.type, error.message, str(error)) == ("ValueError", "bad input 7", "ValueError: bad input 7")
        assert error.traceback.startswith("Traceback") and "_job" in error.traceback and results[1].value is None


def test_workers_one_runs_in_process_and_a_pool_does_not():
    inside = list(map_jobs(_job, [{"pid": True}] * 2, workers=1, progress=False))
    assert [r.value for r in inside] == [os.getpid()] * 2
    pooled = list(map_jobs(_job, [{"pid": True}] * 2, workers=2, progress=False))
    assert os.getpid() not in {r.value for r in pooled}


class _RecordingProgress:
    """Stands in for rich's Progress: records the bar's label and how often it advanced."""

    made: list[_RecordingProgress] = []

    def __init__(self) -> None:
        self.labels: list[str] = []
        self.advances = 0
        _RecordingProgress.made.append(self)

    def __enter__(self) -> _RecordingProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, description: str, total: int) -> int:
        self.labels.append(f"{description}/{total}")
        return 0

    def advance(self, task: int) -> None:
        self.advances += 1


def test_progress_bar_can_be_labelled_or_turned_off(monkeypatch):
    import tinkerlab.core.progress

    monkeypatch.setattr(tinkerlab.core.progress, "make_progress", _RecordingProgress)
    _RecordingProgress.made.clear()
    assert len(list(map_jobs(abs, [-1, -2, 3], workers=1, progress=False))) == 3
    assert _RecordingProgress.made == []
    list(map_jobs(abs, [-1, -2, 3], workers=1, progress="squares"))
    list(map_jobs(abs, [-1], workers=1))
    assert [(p.labels, p.advances) for p in _RecordingProgress.made] == [(["squares/3"], 3), (["jobs/1"], 1)]


def test_bad_arguments_are_refused_when_the_map_is_made():
    with pytest.raises(InputError, match=r"executor must be one of \['local', 'ray'\], got 'dask'"):
        map_jobs(abs, [1], executor="dask")
    for workers in (0, -2, 1.5, True, "4"):
        with pytest.raises(InputError, match=r"workers must be a positive int .* got"):
            map_jobs(abs, [1], workers=workers)
    with pytest.raises(InputError, match=r"start_method must be one of \['spawn', 'forkserver', 'fork'\]"):
        map_jobs(abs, [1], start_method="thread")
    with pytest.raises(InputError, match="function must be callable, got int"):
        map_jobs(3, [1])
    with pytest.raises(InputError, match="progress must be a bool or a label"):
        map_jobs(abs, [1], progress=1)
    assert list(map_jobs(abs, [], workers=4)) == [] and list(map_jobs(abs, [], executor="ray")) == []


def test_missing_ray_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(MissingDependencyError, match=r"tinkerlab\[ray\]"):
        map_jobs(abs, [1], executor="ray")


def test_a_job_that_cannot_be_pickled_comes_back_as_a_failure():
    results = list(map_jobs(_job, [{"value": 1}, {"value": lambda: None}], workers=2, progress=False))
    assert results[0].value == 1 and not results[1].ok and "pickle" in results[1].error.message.lower()


def test_ray_address_that_nothing_answers_fails_at_once(monkeypatch):
    pytest.importorskip("ray") if not os.environ.get("CI") else __import__("ray")
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
    with pytest.raises(TinkerlabError, match=f"no Ray cluster answers at 127.0.0.1:{port}"):
        list(map_jobs(abs, [1], executor="ray", progress=False))


def test_docstring_example_runs():
    assert doctest.testmod(jobs_module).failed == 0


def _listening_hosts(pids: list[int]) -> set[str]:
    """The local addresses (hex, as /proc/net/tcp* writes them) on which these processes listen."""
    sockets = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    sockets.add(target[len("socket:[") : -1])
        except OSError:
            continue
    hosts = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as handle:
            for line in handle.readlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in sockets:  # 0A: LISTEN
                    hosts.add(fields[1].rsplit(":", 1)[0])
    return hosts


# 127.0.0.1 in /proc/net/tcp, and ::ffff:127.0.0.1 and ::1 in /proc/net/tcp6
LOOPBACK_HEX = {"0100007F", "0000000000000000FFFF00000100007F", "00000000000000000000000001000000"}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads sockets and processes from /proc")
def test_ray_returns_failures_like_the_pool_listens_on_loopback_only_and_cleans_up(monkeypatch, leftover_processes):
    ray = pytest.importorskip("ray") if not os.environ.get("CI") else __import__("ray")
    marker = f"TINKERLAB_JOBS_TEST_{uuid.uuid4().hex}"
    monkeypatch.setenv(marker, "1")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    seen: dict[str, Any] = {}
    real_shutdown = ray.shutdown

    def shutdown_after_looking(*args: Any, **kwargs: Any) -> None:
        seen["node"] = ray.nodes()[0]["NodeManagerAddress"]
        seen["processes"] = leftover_processes(marker)
        seen["hosts"] = _listening_hosts(seen["processes"])
        real_shutdown(*args, **kwargs)

    monkeypatch.setattr(ray, "shutdown", shutdown_after_looking)
    jobs = [4.0, -1.0, 9.0, 16.0]
    local = list(map_jobs(math.sqrt, jobs, workers=2, progress=False))
    remote = list(map_jobs(math.sqrt, jobs, executor="ray", workers=2, progress=False))
    assert not ray.is_initialized()

    def summary(results: list[JobResult]) -> list[tuple]:
        return [(r.index, r.value, r.error and (r.error.type, r.error.message)) for r in results]

    assert (
        summary(remote)
        == summary(local)
        == [
            (0, 2.0, None),
            (1, None, ("ValueError", "math domain error")),
            (2, 3.0, None),
            (3, 4.0, None),
        ]
    )
    assert "Traceback" in remote[1].error.traceback
    assert seen["node"] == "127.0.0.1" and len(seen["processes"]) >= 3  # gcs, raylet, workers
    assert seen["hosts"] and seen["hosts"] <= LOOPBACK_HEX, f"Ray listened on {seen['hosts'] - LOOPBACK_HEX}"
    deadline = time.monotonic() + 20
    while leftover_processes(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert leftover_processes(marker) == []
