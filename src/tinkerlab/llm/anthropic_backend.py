"""Anthropic's messages API.

System messages become the `system` field; images go out as base64 PNG `image` blocks; a final assistant message
is a prefill that the model continues (its trailing whitespace is trimmed, as the API requires). The key comes
from `ANTHROPIC_API_KEY`. The SDK's own retries are off: `tinkerlab.llm.retry` retries 429, 5xx (529 overloaded
included), timeouts and connection errors with bounded exponential backoff.
"""

from __future__ import annotations

import base64
import os
from typing import Any

from tinkerlab.core.errors import LLMError, require
from tinkerlab.core.images import image_to_png_bytes
from tinkerlab.llm.base import ChatModel, cut_at_stop
from tinkerlab.llm.messages import Message, Reply, Usage
from tinkerlab.llm.openai_backend import retry_after_seconds
from tinkerlab.llm.retry import RetryableError, RetryPolicy, call_with_retries

KEY_VARIABLE = "ANTHROPIC_API_KEY"
STOP_REASONS = {"end_turn": "stop", "max_tokens": "length", "stop_sequence": "stop_sequence"}


def to_anthropic_request(messages: list[Message]) -> tuple[str | None, list[dict[str, Any]]]:
    """(system text or None, messages in the messages-API wire format)."""
    system = "\n\n".join(m.text for m in messages if m.role == "system") or None
    wire: list[dict[str, Any]] = []
    turns = [m for m in messages if m.role != "system"]
    for index, message in enumerate(turns):
        is_prefill = message.role == "assistant" and index == len(turns) - 1
        blocks: list[dict[str, Any]] = []
        for part in message.parts:
            if isinstance(part, str):
                if part:
                    blocks.append({"type": "text", "text": part})
            else:
                data = base64.b64encode(image_to_png_bytes(part)).decode("ascii")
                blocks.append({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}})
        if is_prefill and blocks and blocks[-1]["type"] == "text":
            blocks[-1]["text"] = blocks[-1]["text"].rstrip()
            if not blocks[-1]["text"]:
                blocks.pop()
        if blocks:
            wire.append({"role": message.role, "content": blocks})
    return system, wire


class AnthropicChatModel(ChatModel):
    """A Claude model behind Anthropic's messages API.

    Args:
        model: the model name, e.g. 'claude-sonnet-4-5'.
        base_url: another address for the API (a proxy, or a test server); None for Anthropic itself.
        transcript: a JSONL file every exchange is appended to.
        cache: use the on-disk response cache at temperature 0.
        timeout_s: seconds one request may take.
        max_retries: retries after a 429, 5xx, timeout or connection error.
        retry_base_delay_s: the first backoff wait (doubles after each failure).

    Raises:
        LLMError: no key in `ANTHROPIC_API_KEY`.
    """

    supports_images = True
    supports_prefill = True

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        transcript=None,
        cache: bool = True,
        timeout_s: float = 60.0,
        max_retries: int = 4,
        retry_base_delay_s: float = 0.5,
    ) -> None:
        super().__init__(transcript=transcript, cache=cache)
        anthropic = require("anthropic", extra="llm")
        api_key = os.environ.get(KEY_VARIABLE)
        if not api_key:
            raise LLMError(f"anthropic:{model} needs an API key: set the environment variable {KEY_VARIABLE}")
        self.model = model
        self.name = f"anthropic:{model}"
        self.timeout_s = timeout_s
        self.policy = RetryPolicy(max_retries=max_retries, base_delay_s=retry_base_delay_s)
        self._client = anthropic.Anthropic(api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=0)
        self.base_url = str(self._client.base_url).rstrip("/")

    def _cache_identity(self) -> dict[str, Any]:
        return {"backend": "anthropic", "model": self.model, "base_url": self.base_url}

    def _generate(
        self, messages: list[Message], *, temperature: float, max_tokens: int, stop: list[str] | None
    ) -> Reply:
        anthropic = require("anthropic", extra="llm")
        system, wire = to_anthropic_request(messages)
        if not wire:
            raise LLMError(f"{self.name} needs at least one user message, got only system messages")
        request: dict[str, Any] = {
            "model": self.model,
            "messages": wire,
            "max_tokens": max_tokens,
            "extra_body": {"temperature": temperature},
        }
        if system:
            request["system"] = system
        if stop:
            request["stop_sequences"] = stop
        url = f"{self.base_url}/v1/messages"

        def send():
            try:
                return self._client.messages.create(**request)
            except anthropic.APIConnectionError as exc:  # includes timeouts
                raise RetryableError(f"{type(exc).__name__}: {exc}") from exc
            except anthropic.RateLimitError as exc:
                raise RetryableError(f"rate limited (429): {exc}", retry_after_seconds(exc.response.headers)) from exc
            except anthropic.APIStatusError as exc:
                if exc.status_code >= 500:
                    raise RetryableError(f"server error {exc.status_code}: {exc}") from exc
                hint = f"; check {KEY_VARIABLE}" if exc.status_code in (401, 403) else ""
                raise LLMError(f"{url} refused the request ({exc.status_code}): {exc}{hint}") from exc

        response = call_with_retries(send, policy=self.policy, url=url)
        text = "".join(getattr(block, "text", "") for block in response.content if block.type == "text")
        text, stopped = cut_at_stop(text, stop)
        usage = response.usage
        reason = STOP_REASONS.get(response.stop_reason or "", response.stop_reason)
        return Reply(
            text=text,
            usage=Usage(int(getattr(usage, "input_tokens", 0) or 0), int(getattr(usage, "output_tokens", 0) or 0)),
            cached=False,
            model=self.name,
            stop_reason="stop_sequence" if stopped else reason,
        )
