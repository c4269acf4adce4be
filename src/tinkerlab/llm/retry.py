"""Bounded retries with exponential backoff for calls to chat servers.

Rate limits (429), server errors (5xx), timeouts and connection errors are retried after
`base_delay_s * 2**attempt` seconds (capped, with a little jitter). A server's `Retry-After` is honoured; one
above the cap ends the attempts at once with an error that says what the server asked for. A timeout is retried
only when `retry_timeouts` is on (the backends turn it off for servers on this machine, where a timeout means a
slow generation that a retry would only start again). After the last attempt `LLMConnectionError` names the URL
and the last error. Other errors (a bad request, a rejected key) are not retried.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tinkerlab.core.config import check_count, check_range
from tinkerlab.core.errors import LLMConnectionError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry.

    Args:
        max_retries: retries after the first attempt (so at most `max_retries + 1` attempts).
        base_delay_s: the first wait; it doubles after every failed attempt.
        max_delay_s: no single wait is longer than this.
        retry_timeouts: retry after a timeout too (not only after 429, 5xx and connection errors).
    """

    max_retries: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 20.0
    retry_timeouts: bool = True

    def __post_init__(self) -> None:
        check_count(self, "max_retries", 0)
        check_range(self, "base_delay_s", 0)
        check_range(self, "max_delay_s", 0)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (0-based)."""
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.max_delay_s)
        wait = self.base_delay_s * (2**attempt)
        return min(wait * (1.0 + 0.1 * random.random()), self.max_delay_s)


class RetryableError(Exception):
    """Raised by a backend's call to ask for another attempt; carries a short reason, an optional wait and the kind
    of failure ('timeout', 'connection', 'rate_limit' or 'server')."""

    def __init__(self, reason: str, retry_after: float | None = None, *, kind: str = "server") -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.kind = kind


def call_with_retries(
    call: Callable[[], T], *, policy: RetryPolicy, url: str, sleep: Callable[[float], None] = time.sleep
) -> T:
    """Run `call` until it returns, retrying while it raises `RetryableError`.

    Args:
        call: the request; it raises `RetryableError` for failures worth another attempt.
        policy: the retry bounds.
        url: the server address, named in the final error.
        sleep: the waiting function (tests may replace it).

    Raises:
        LLMConnectionError: every attempt failed; the message names the URL, the attempts and the last error.
    """
    last: RetryableError | None = None
    attempts = policy.max_retries + 1
    for attempt in range(attempts):
        try:
            return call()
        except RetryableError as exc:
            last = exc
            if exc.retry_after is not None and exc.retry_after > policy.max_delay_s:
                raise LLMConnectionError(
                    f"the chat server at {url} asked to wait {exc.retry_after:g} s before retrying (Retry-After), "
                    f"longer than the {policy.max_delay_s:g} s this client waits; try again later: {exc.reason}"
                ) from exc
            if exc.kind == "timeout" and not policy.retry_timeouts:
                raise LLMConnectionError(
                    f"the chat server at {url} did not answer in time ({exc.reason}); a timeout against a server on "
                    "this machine is not retried unless --retries (max_retries) is given; raise --timeout for slow "
                    "local generation"
                ) from exc
            if attempt + 1 < attempts:
                sleep(policy.delay(attempt, exc.retry_after))
    tried = attempt + 1
    raise LLMConnectionError(
        f"the chat server at {url} failed after {tried} attempt{'s' if tried != 1 else ''}: {last.reason}"
    ) from last
