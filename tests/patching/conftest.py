"""Shared fixtures of the patching tests: every supported model family."""

from __future__ import annotations

import pytest

FAMILIES = ["llama", "gemma3", "gpt2", "gpt_neox"]


@pytest.fixture(scope="module", params=FAMILIES)
def family(request) -> str:
    """Each supported architecture family in turn (tiny random models are built per test module)."""
    return request.param
