"""Test-wide settings: offline and quiet; the architecture-family fixture of the patching and circuits tests.
Dequantised models stay in the user cache so later runs load fast."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TINKERLAB_QUIET", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


FAMILIES = ["llama", "gemma2", "gemma3", "phi3", "gpt2", "gpt_neox"]


@pytest.fixture(scope="module", params=FAMILIES)
def family(request) -> str:
    """Each architecture family of the patching engine in turn (tiny random models are built per test module)."""
    return request.param


def processes_with(marker: str) -> list[int]:
    """Live processes other than this one whose environment carries `marker` (so were started from this test)."""
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


@pytest.fixture
def leftover_processes():
    """`processes_with(marker)`: what a test started and did not stop (checks that executors clean up)."""
    return processes_with
