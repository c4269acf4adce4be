"""Fixtures of the chat-model tests: the two-format fake chat server (`tests/llm_fake_server.py`), a closed
port, keys."""

from __future__ import annotations

import socket

import pytest

from llm_fake_server import ChatServer, start_chat_server

__all__ = ["ChatServer"]


@pytest.fixture
def chat_server():
    """A running two-format chat server; `.url` is its root (OpenAI base_url is `url + '/v1'`)."""
    with start_chat_server() as server:
        yield server


@pytest.fixture
def closed_port_url() -> str:
    """An address on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def api_keys(monkeypatch, tmp_path):
    """Test keys in the environment, no base-URL overrides, and a private response cache."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-openai")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-anthropic")
    for name in ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TINKERLAB_CACHE", str(tmp_path / "cache"))
    return tmp_path
