"""Anthropic's messages API.

System messages become the `system` field; images go out as base64 PNG `image` blocks; a final assistant message
is a prefill that the model continues (its trailing whitespace is trimmed, as the API requires) for models that
take one. Claude models from the 4.6 generation on refuse a prefill, and every model refuses a temperature above 1:
`tinkerlab.llm.capabilities` knows, and `ChatModel.complete` sends the partial answer in the user turn instead
(also after a 400 from a model the table does not know). The key comes from `ANTHROPIC_API_KEY`. Every request has
one total deadline and a 10 MB size cap. The SDK's own retries are off: `tinkerlab.llm.retry` retries 429, 5xx
(529 overloaded included), timeouts and connection errors with bounded exponential backoff.
"""

from __future__ import annotations

import base64
import os
from typing import Any

from tinkerlab.core.errors import LLMError, require
from tinkerlab.core.images import image_to_png_bytes
from tinkerlab.llm.base import ChatModel
from tinkerlab.llm.capabilities import capabilities_for
from tinkerlab.llm.http import budget_http_client, check_base_url, is_local_url, sdk_request
from tinkerlab.llm.messages import Message, Reply, Usage
from tinkerlab.llm.openai_backend import DEFAULT_RETRIES, DEFAULT_TIMEOUT_S
from tinkerlab.llm.retry import RetryPolicy, call_with_retries

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
        model: the model name, e.g. 'claude-sonnet-4-6'.
        base_url: another address for the API (a proxy, or a test server); None for Anthropic itself.
        transcript: a JSONL file every exchange is appended to.
        cache: use the on-disk response cache at temperature 0.
        timeout_s: seconds one request may take in all (connect, wait and body together); default 300.
        max_retries: retries after a 429, 5xx, timeout or connection error; None: 4 (no retry after a timeout
            against a server on this machine).
        retry_base_delay_s: the first backoff wait (doubles after each failure).
        api_key_env: the environment variable holding the key (default `ANTHROPIC_API_KEY`).

    Raises:
        LLMError: no key in `ANTHROPIC_API_KEY` (or the variable `api_key_env` names).
        InputError: `base_url` is not an http(s) URL.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        transcript=None,
        cache: bool = True,
        timeout_s: float | None = None,
        max_retries: int | None = None,
        retry_base_delay_s: float = 0.5,
        api_key_env: str | None = None,
    ) -> None:
        super().__init__(transcript=transcript, cache=cache, capabilities=capabilities_for("anthropic", model))
        anthropic = require("anthropic", extra="llm")
        if base_url is not None:
            base_url = check_base_url(base_url)
        variable = api_key_env or KEY_VARIABLE
        api_key = os.environ.get(variable)
        if not api_key:
            raise LLMError(f"anthropic:{model} needs an API key: set the environment variable {variable}")
        self.key_variable = variable
        self.model = model
        self.name = f"anthropic:{model}"
        self.timeout_s = float(timeout_s) if timeout_s is not None else DEFAULT_TIMEOUT_S
        self.policy = RetryPolicy(
            max_retries=DEFAULT_RETRIES if max_retries is None else max_retries,
            base_delay_s=retry_base_delay_s,
            retry_timeouts=not is_local_url(base_url) or max_retries is not None,
        )
        self._client = anthropic.Anthropic(
            api_key=api_key,
            base_url=base_url,
            timeout=self.timeout_s,
            max_retries=0,
            http_client=budget_http_client(anthropic.DefaultHttpxClient, self.timeout_s),
        )
        self.base_url = str(self._client.base_url).rstrip("/")

    def _cache_identity(self) -> dict[str, Any]:
        return {"backend": "anthropic", "model": self.model, "base_url": self.base_url}

    def _generate(
        self, messages: list[Message], *, temperature: float | None, max_tokens: int, stop: list[str] | None
    ) -> Reply:
        anthropic = require("anthropic", extra="llm")
        system, wire = to_anthropic_request(messages)
        if not wire:
            raise LLMError(f"{self.name} needs at least one user message, got only system messages")
        request: dict[str, Any] = {
            "model": self.model,
            "messages": wire,
            "max_tokens": max_tokens,
        }
        if temperature is not None:
            request["extra_body"] = {"temperature": temperature}
        if system:
            request["system"] = system
        if stop:
            request["stop_sequences"] = stop
        url = f"{self.base_url}/v1/messages"

        def send():
            return sdk_request(
                anthropic,
                lambda: self._client.messages.create(**request),
                url=url,
                timeout_s=self.timeout_s,
                key_variable=self.key_variable,
            )

        response = call_with_retries(send, policy=self.policy, url=url)
        text = "".join(getattr(block, "text", "") for block in response.content if block.type == "text")
        usage = response.usage
        reason = STOP_REASONS.get(response.stop_reason or "", response.stop_reason)
        return Reply(
            text=text,
            usage=Usage(int(getattr(usage, "input_tokens", 0) or 0), int(getattr(usage, "output_tokens", 0) or 0)),
            cached=False,
            model=self.name,
            stop_reason=reason,
        )
