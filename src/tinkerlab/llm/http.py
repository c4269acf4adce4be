"""One total deadline and a size cap per HTTP request, for the SDK clients of the remote chat backends.

httpx's timeouts bound each network operation (connect, every read), so a server that trickles a byte every few
seconds, or a slow local server that takes minutes, never times out as a whole. Here the SDK's httpx client gets a
network backend whose streams read the current request's `RequestBudget` (a context variable, set around one SDK
call by `request_budget`): every connect, write and read waits at most the time left until the deadline, and the
bytes received are counted against `max_bytes`. The budget covers connect, waiting for the reply and its body
together.

    with request_budget(30.0) as budget:
        client.chat.completions.create(...)   # raises the SDK's timeout error 30 s after the start at the latest
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

MAX_RESPONSE_BYTES = 10 * 1024 * 1024
"""The largest reply (headers and body) a chat request may receive."""


@dataclass
class RequestBudget:
    """The deadline and byte cap of one request, and what happened to them."""

    seconds: float
    max_bytes: int = MAX_RESPONSE_BYTES
    deadline: float = field(init=False)
    received: int = 0
    expired: bool = False
    too_large: bool = False

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.seconds

    def wait(self, timeout: float | None, timeout_error: type[Exception] = TimeoutError) -> float:
        """The timeout of the next network operation: what is left of the deadline (raises once it has passed)."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.expired = True
            raise timeout_error(f"the request took longer than its {self.seconds:g} s deadline")
        return left if timeout is None else min(timeout, left)

    def count(self, size: int, read_error: type[Exception] = OSError) -> None:
        self.received += size
        if self.received > self.max_bytes:
            self.too_large = True
            raise read_error(f"the reply is larger than {self.max_bytes} bytes")


_current: ContextVar[RequestBudget | None] = ContextVar("tinkerlab_llm_request_budget", default=None)


@contextlib.contextmanager
def request_budget(seconds: float, max_bytes: int = MAX_RESPONSE_BYTES) -> Iterator[RequestBudget]:
    """Give the requests made inside the block one total deadline of `seconds` and a cap of `max_bytes`."""
    budget = RequestBudget(seconds, max_bytes)
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)


def _budget_backend_class(httpcore: Any) -> Any:
    """The budget-aware network backend for an httpcore module (the SDKs may bundle their own copy)."""

    class BudgetStream(httpcore.NetworkStream):
        """A network stream whose operations wait at most until the current request's deadline."""

        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            budget = _current.get()
            if budget is None:
                return self._inner.read(max_bytes, timeout)
            try:
                data = self._inner.read(max_bytes, budget.wait(timeout, httpcore.ReadTimeout))
            except httpcore.ReadTimeout:
                budget.expired = budget.expired or time.monotonic() >= budget.deadline
                raise
            budget.count(len(data), httpcore.ReadError)
            return data

        def write(self, buffer: bytes, timeout: float | None = None) -> None:
            budget = _current.get()
            self._inner.write(buffer, budget.wait(timeout, httpcore.WriteTimeout) if budget is not None else timeout)

        def close(self) -> None:
            self._inner.close()

        def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None):
            budget = _current.get()
            wait = budget.wait(timeout, httpcore.ConnectTimeout) if budget is not None else timeout
            return BudgetStream(self._inner.start_tls(ssl_context, server_hostname, wait))

        def get_extra_info(self, info: str) -> Any:
            return self._inner.get_extra_info(info)

    class BudgetBackend(httpcore.NetworkBackend):
        """httpcore's sync backend with `BudgetStream`s."""

        def __init__(self) -> None:
            self._inner = httpcore.SyncBackend()

        def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
            budget = _current.get()
            wait = budget.wait(timeout, httpcore.ConnectTimeout) if budget is not None else timeout
            return BudgetStream(self._inner.connect_tcp(host, port, wait, local_address, socket_options))

        def connect_unix_socket(self, path, timeout=None, socket_options=None):
            budget = _current.get()
            wait = budget.wait(timeout, httpcore.ConnectTimeout) if budget is not None else timeout
            return BudgetStream(self._inner.connect_unix_socket(path, wait, socket_options))

        def sleep(self, seconds: float) -> None:
            self._inner.sleep(seconds)

    return BudgetBackend


def budget_http_client(client_class: Any, timeout_s: float) -> Any:
    """An httpx client (of the SDK's default class, e.g. `openai.DefaultHttpxClient`) whose requests obey the
    current `request_budget`."""
    import importlib

    base = next(c for c in client_class.__mro__ if c.__name__ == "Client")  # httpx.Client (or a bundled copy)
    httpx = importlib.import_module(base.__module__.split(".")[0])
    transport = httpx.HTTPTransport()
    pool = getattr(transport, "_pool", None)
    if pool is not None and hasattr(pool, "_network_backend"):
        httpcore = importlib.import_module(type(pool).__module__.split(".")[0])
        pool._network_backend = _budget_backend_class(httpcore)()
    return client_class(transport=transport, timeout=httpx.Timeout(timeout_s))


def is_local_url(url: str | None) -> bool:
    """Whether `url` points at this machine (127.0.0.0/8, ::1, localhost)."""
    from urllib.parse import urlsplit

    if not url:
        return False
    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "::1", "0.0.0.0") or host.startswith("127.") or host.endswith(".localhost")


def check_base_url(url: str) -> str:
    """`url` if it is an http(s) URL with a host.

    Raises:
        InputError: anything else (e.g. 'not-a-url', 'localhost:8000' without the scheme).
    """
    from urllib.parse import urlsplit

    from tinkerlab.core.errors import InputError

    text = str(url).strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"expected a server URL such as http://localhost:8000/v1, got {url!r}")
    return text.rstrip("/")


def one_line(text: Any, limit: int = 300) -> str:
    """`text` on one line, at most `limit` characters (for error messages)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def error_fields(exc: Any) -> tuple[str, str | None]:
    """(message, param) of an SDK status error, read from its JSON body (OpenAI and Anthropic layouts)."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return str(inner.get("message") or exc), inner.get("param")
    return str(getattr(exc, "message", None) or exc), None


def sdk_request(sdk: Any, call: Any, *, url: str, timeout_s: float, key_variable: str | None) -> Any:
    """Run one SDK request under a `request_budget`, turning the SDK's errors into tinkerlab's.

    Raises:
        RetryableError: a timeout (kind 'timeout'), a connection error, a 429 (with its Retry-After) or a 5xx.
        FeatureRefused: a 400 that names a feature the model does not support.
        LLMError: any other refusal, a reply over the size cap, or a reply that is not the API's JSON.
    """
    from tinkerlab.core.errors import LLMError
    from tinkerlab.llm.base import FeatureRefused
    from tinkerlab.llm.capabilities import refused_feature
    from tinkerlab.llm.retry import RetryableError

    with request_budget(timeout_s) as budget:
        try:
            response = call()
        except sdk.APITimeoutError as exc:
            raise RetryableError(
                f"timed out: no complete reply within the {timeout_s:g} s deadline", kind="timeout"
            ) from exc
        except sdk.APIConnectionError as exc:
            if budget.too_large:
                raise LLMError(
                    f"{url} sent a reply larger than {budget.max_bytes // (1024 * 1024)} MB; refused"
                ) from exc
            if budget.expired:
                raise RetryableError(
                    f"timed out: no complete reply within the {timeout_s:g} s deadline", kind="timeout"
                ) from exc
            raise RetryableError(f"{type(exc).__name__}: {one_line(exc)}", kind="connection") from exc
        except sdk.RateLimitError as exc:
            raise RetryableError(
                f"rate limited (429): {one_line(exc)}", retry_after_seconds(exc.response.headers), kind="rate_limit"
            ) from exc
        except sdk.APIStatusError as exc:
            if exc.status_code >= 500:
                raise RetryableError(f"server error {exc.status_code}: {one_line(exc)}", kind="server") from exc
            message, param = error_fields(exc)
            feature = refused_feature(message, param) if exc.status_code == 400 else None
            if feature is not None:
                raise FeatureRefused(feature, one_line(message)) from exc
            hint = f"; check {key_variable}" if exc.status_code in (401, 403) and key_variable else ""
            raise LLMError(f"{url} refused the request ({exc.status_code}): {one_line(exc)}{hint}") from exc
        except (sdk.APIResponseValidationError, ValueError) as exc:
            raise LLMError(
                f"{url} answered with something that is not the API's JSON ({one_line(exc, 120)}); "
                "check the base URL (an OpenAI-compatible server's usually ends in /v1)"
            ) from exc
    if not hasattr(response, "model_dump"):
        raise LLMError(
            f"{url} answered with something that is not the API's JSON (starting {one_line(response, 80)!r}); "
            "check the base URL (an OpenAI-compatible server's usually ends in /v1)"
        )
    return response


def retry_after_seconds(headers: Any) -> float | None:
    """The `Retry-After` header as seconds, when present and numeric."""
    try:
        value = headers.get("retry-after") if headers is not None else None
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
