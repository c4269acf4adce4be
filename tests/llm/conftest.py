"""A small chat server on 127.0.0.1 that speaks the OpenAI chat-completions and Anthropic messages wire formats.

Tests drive it through the real `openai` and `anthropic` SDKs. It records every request (path, headers, JSON
body) and answers from a plan of (status, body, headers, delay) entries, falling back to a normal reply.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Planned:
    status: int = 200
    body: dict[str, Any] | None = None  # None: the normal reply for the path
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class ChatServer:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    plan: list[Planned] = field(default_factory=list)
    reply_text: str = "Hello from the test server."
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(
        self,
        status: int = 200,
        *,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        delay_s: float = 0.0,
        times: int = 1,
    ) -> None:
        """Plan the next answer(s): a status, an optional body and headers, a delay before answering."""
        with self.lock:
            self.plan.extend(Planned(status, body, dict(headers or {}), delay_s) for _ in range(times))

    def next_planned(self) -> Planned:
        with self.lock:
            return self.plan.pop(0) if self.plan else Planned()

    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith(("/chat/completions", "/messages"))]


def openai_body(server: ChatServer, request: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{len(server.requests)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "test"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": server.reply_text},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }


def anthropic_body(server: ChatServer, request: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"msg_{len(server.requests)}",
        "type": "message",
        "role": "assistant",
        "model": request.get("model", "test"),
        "content": [{"type": "text", "text": server.reply_text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 13, "output_tokens": 5},
    }


def make_handler(server: ChatServer):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else {}
            with server.lock:
                server.requests.append(
                    {
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                    }
                )
            planned = server.next_planned()
            if planned.delay_s:
                time.sleep(planned.delay_s)
            if planned.body is not None:
                answer = planned.body
            elif planned.status >= 400:
                answer = {"error": {"type": "server_error", "message": f"planned failure {planned.status}"}}
            elif self.path.endswith("/chat/completions"):
                answer = openai_body(server, body)
            elif self.path.endswith("/messages"):
                answer = anthropic_body(server, body)
            else:
                planned, answer = Planned(status=404), {"error": {"message": f"no route {self.path}"}}
            data = json.dumps(answer).encode()
            try:
                self.send_response(planned.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for key, value in planned.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
                pass

    return Handler


@pytest.fixture
def chat_server():
    """A running two-format chat server; `.url` is its root (OpenAI base_url is `url + '/v1'`)."""
    server = ChatServer(url="")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(server))
    httpd.daemon_threads = True
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()


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
