"""A small FIND run on a real local Ray cluster gives the same interpretations as the process pool."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from tinkerlab.find.runner import RunConfig, load_interpretations, run_interpretations
from tinkerlab.find.suite import BuildConfig, build_suite


def test_find_run_on_ray_matches_the_process_pool(tmp_path, monkeypatch, leftover_processes):
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
    while leftover_processes(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert leftover_processes(marker) == [], "the Ray cluster or the pool left processes behind"
