"""Test-wide settings: offline and quiet; the architecture-family fixture of the patching and circuits tests.
Dequantised models stay in the user cache so later runs load fast."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TINKERLAB_QUIET", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


FAMILIES = ["llama", "gemma3", "gpt2", "gpt_neox"]


@pytest.fixture(scope="module", params=FAMILIES)
def family(request) -> str:
    """Each architecture family of the patching engine in turn (tiny random models are built per test module)."""
    return request.param
