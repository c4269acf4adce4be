"""A small FIND run on a real local Ray cluster gives the same interpretations as the process pool."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from tinkerlab.find.runner import RunConfig, load_interpretations, run_interpretations
from tinkerlab.find.suite import BuildConfig, build_suite


def _processes_with(marker: str) -> list[int]:
    """Live processes other than this one whose environment carries the marker (so were started from here)."""
    found = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                environment = handle.read()
            with open(f"/proc/{entry}/stat", "rb") as handle:
                state = handle.read().rsplit(b")", 1)[1].split()[0]
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                # multiprocessing's resource tracker serves this process until it exits, not one pool
                tracker = b"multiprocessing.resource_tracker" in handle.read()
        except OSError:
            continue
        if marker.encode() in environment and state != b"Z" and not tracker:
            found.append(int(entry))
    return found


def test_find_run_on_ray_matches_the_process_pool(tmp_path, monkeypatch):
    # make test installs ray (the `all` extra); a checkout without it skips, CI must not
    ray = __import__("ray") if os.environ.get("CI") else pytest.importorskip("ray")
    marker = f"TINKERLAB_FIND_RAY_TEST_{uuid.uuid4().hex}"
    monkeypatch.setenv(marker, "1")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    suite = build_suite(
        tmp_path / "suite", BuildConfig(seed=3, small=True, categories=("numeric", "strings"), mlp_steps=10)
    )
    config = RunConfig(interpreter="baseline", suite=str(suite), categories=("numeric", "strings"), limit=3)

    pool_run = run_interpretations(tmp_path / "pool", config, workers=2)
    ray_run = run_interpretations(tmp_path / "ray", config, executor="ray", workers=2)

    assert not ray.is_initialized()
    pool, on_ray = load_interpretations(pool_run), load_interpretations(ray_run)
    assert {c: sorted(r) for c, r in on_ray.items()} == {c: [f"f{i:05d}" for i in range(3)] for c in on_ray}
    assert sorted(on_ray) == ["numeric", "strings"] and on_ray == pool
    assert all(record["error"] is None for records in on_ray.values() for record in records.values())
    assert "6 to go (ray)" in (ray_run / "run.log").read_text()
    again = run_interpretations(tmp_path / "ray", config, executor="ray", workers=2)  # resumes: nothing to start
    assert "0 to go (ray)" in (again / "run.log").read_text()
    deadline = time.monotonic() + 20
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_with(marker) == [], "the Ray cluster or the pool left processes behind"
