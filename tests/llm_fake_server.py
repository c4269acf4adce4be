"""A small chat server on 127.0.0.1 that speaks the OpenAI chat-completions and Anthropic messages wire formats.

Tests drive it through the real `openai` and `anthropic` SDKs. It records every request (path, headers, JSON
body) and answers from a plan of (status, body, headers, delay) entries, then from its scripted replies (in
order), falling back to a fixed reply. Its `rules` make it refuse what today's real APIs refuse, with the
providers' own error bodies:

- ``anthropic-no-prefill``: a conversation that ends with an assistant turn (Claude 4.6 and later);
- ``anthropic-temperature``: a temperature above 1 (every Claude model);
- ``openai-reasoning``: `stop`, a temperature other than 1, and `max_tokens` (the gpt-5 family and o-series);
- ``key-check``: a request whose Authorization header is not ``Bearer <expected_key>`` (401).

`start_chat_server()` runs one (a context manager); tests outside tests/llm load this file by path.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

RULES = ("anthropic-no-prefill", "anthropic-temperature", "openai-reasoning", "key-check")

ANTHROPIC_PREFILL_ERROR = {
    "type": "error",
    "error": {
        "type": "invalid_request_error",
        "message": "This model does not support assistant message prefill. "
        "The conversation must end with a user message.",
    },
}
ANTHROPIC_TEMPERATURE_ERROR = {
    "type": "error",
    "error": {"type": "invalid_request_error", "message": "temperature: range: 0..1"},
}


def openai_error(message: str, param: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}


OPENAI_STOP_ERROR = openai_error(
    "Unsupported parameter: 'stop' is not supported with this model.", "stop", "unsupported_parameter"
)
OPENAI_MAX_TOKENS_ERROR = openai_error(
    "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
    "max_tokens",
    "unsupported_parameter",
)


def openai_temperature_error(value: Any) -> dict[str, Any]:
    return openai_error(
        f"Unsupported value: 'temperature' does not support {value} with this model. Only the default (1) value "
        "is supported.",
        "temperature",
        "unsupported_value",
    )


@dataclass
class Planned:
    status: int = 200
    body: dict[str, Any] | None = None  # None: the normal reply for the path
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    raw: bytes | None = None  # sent as is (with `content_type`) instead of a JSON body
    content_type: str = "application/json"
    trickle_s: float = 0.0  # send the body one byte every this many seconds


@dataclass
class ChatServer:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    plan: list[Planned] = field(default_factory=list)
    reply_text: str = "Hello from the test server."
    lock: threading.Lock = field(default_factory=threading.Lock)
    rules: set[str] = field(default_factory=set)
    scripted: list[str] = field(default_factory=list)  # scripted model replies, used in order
    expected_key: str | None = None

    def add(
        self,
        status: int = 200,
        *,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        delay_s: float = 0.0,
        times: int = 1,
        raw: bytes | None = None,
        content_type: str = "application/json",
        trickle_s: float = 0.0,
    ) -> None:
        """Plan the next answer(s): a status, an optional body and headers, a delay before answering."""
        with self.lock:
            self.plan.extend(
                Planned(status, body, dict(headers or {}), delay_s, raw, content_type, trickle_s) for _ in range(times)
            )

    def next_text(self) -> str:
        with self.lock:
            return self.scripted.pop(0) if self.scripted else self.reply_text

    def refusal(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        """What the rules refuse in this request (status and the provider's error body), or None."""
        if "key-check" in self.rules and headers.get("authorization") != f"Bearer {self.expected_key}":
            return 401, openai_error("Incorrect API key provided.", "", "invalid_api_key")
        if path.endswith("/messages"):
            turns = body.get("messages") or []
            if "anthropic-no-prefill" in self.rules and turns and turns[-1].get("role") == "assistant":
                return 400, ANTHROPIC_PREFILL_ERROR
            if "anthropic-temperature" in self.rules and float(body.get("temperature", 0)) > 1:
                return 400, ANTHROPIC_TEMPERATURE_ERROR
        if path.endswith("/chat/completions") and "openai-reasoning" in self.rules:
            if "max_tokens" in body:
                return 400, OPENAI_MAX_TOKENS_ERROR
            if "stop" in body:
                return 400, OPENAI_STOP_ERROR
            if "temperature" in body and body["temperature"] != 1:
                return 400, openai_temperature_error(body["temperature"])
        return None

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
                "message": {"role": "assistant", "content": server.next_text()},
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
        "content": [{"type": "text", "text": server.next_text()}],
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
            refused = server.refusal(self.path, server.requests[-1]["headers"], body)
            if refused is not None and planned.status == 200 and planned.body is None and planned.raw is None:
                planned, answer = Planned(status=refused[0]), refused[1]
            elif planned.raw is not None:
                answer = None
            elif planned.body is not None:
                answer = planned.body
            elif planned.status >= 400:
                answer = {"error": {"type": "server_error", "message": f"planned failure {planned.status}"}}
            elif self.path.endswith("/chat/completions"):
                answer = openai_body(server, body)
            elif self.path.endswith("/messages"):
                answer = anthropic_body(server, body)
            else:
                planned, answer = Planned(status=404), {"error": {"message": f"no route {self.path}"}}
            data = planned.raw if planned.raw is not None else json.dumps(answer).encode()
            try:
                self.send_response(planned.status)
                self.send_header("content-type", planned.content_type)
                self.send_header("content-length", str(len(data)))
                for key, value in planned.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                if planned.trickle_s:
                    for index in range(min(len(data), 200)):  # bounded: at most 200 bytes, one at a time
                        self.wfile.write(data[index : index + 1])
                        self.wfile.flush()
                        time.sleep(planned.trickle_s)
                else:
                    self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
                pass

    return Handler


@contextlib.contextmanager
def start_chat_server() -> Iterator[ChatServer]:
    """A running two-format chat server on 127.0.0.1; `.url` is its root (OpenAI base_url is `url + '/v1'`)."""
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
