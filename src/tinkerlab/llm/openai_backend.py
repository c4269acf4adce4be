"""OpenAI chat completions, and any OpenAI-compatible server (vLLM, Ollama, llama.cpp server) through `base_url`.

Images go out as `image_url` parts holding PNG data URIs. The key comes from `OPENAI_API_KEY`; a server given by
`base_url` may need none (a placeholder is sent). The SDK's own retries are off: `tinkerlab.llm.retry` retries
429, 5xx, timeouts and connection errors with bounded exponential backoff.
"""

from __future__ import annotations

import os
from typing import Any

from tinkerlab.core.errors import LLMError, require
from tinkerlab.core.images import image_to_data_uri
from tinkerlab.llm.base import ChatModel, cut_at_stop
from tinkerlab.llm.messages import Message, Reply, Usage
from tinkerlab.llm.retry import RetryableError, RetryPolicy, call_with_retries

KEY_VARIABLE = "OPENAI_API_KEY"


def to_openai_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """Messages in the chat-completions wire format (text-only content as a string, else a list of parts)."""
    wire = []
    for message in messages:
        if not message.images:
            wire.append({"role": message.role, "content": message.text})
            continue
        parts: list[dict[str, Any]] = []
        for part in message.parts:
            if isinstance(part, str):
                parts.append({"type": "text", "text": part})
            else:
                parts.append({"type": "image_url", "image_url": {"url": image_to_data_uri(part, "PNG")}})
        wire.append({"role": message.role, "content": parts})
    return wire


def retry_after_seconds(headers: Any) -> float | None:
    """The `Retry-After` header as seconds, when present and numeric."""
    try:
        value = headers.get("retry-after") if headers is not None else None
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class OpenAIChatModel(ChatModel):
    """A model behind the OpenAI chat-completions API.

    Args:
        model: the model name, e.g. 'gpt-4o-mini' (or what the compatible server serves).
        base_url: an OpenAI-compatible server, e.g. 'http://localhost:8000/v1'; None for OpenAI itself.
        transcript: a JSONL file every exchange is appended to.
        cache: use the on-disk response cache at temperature 0.
        timeout_s: seconds one request may take.
        max_retries: retries after a 429, 5xx, timeout or connection error.
        retry_base_delay_s: the first backoff wait (doubles after each failure).
        supports_images: whether to send images (True: most current OpenAI models take them).

    Raises:
        LLMError: no key in `OPENAI_API_KEY` (when talking to OpenAI itself).
    """

    supports_prefill = False

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
        supports_images: bool = True,
    ) -> None:
        super().__init__(transcript=transcript, cache=cache)
        openai = require("openai", extra="llm")
        api_key = os.environ.get(KEY_VARIABLE)
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        if not api_key:
            if base_url is None:
                raise LLMError(
                    f"openai:{model} needs an API key: set the environment variable {KEY_VARIABLE} "
                    "(or pass base_url for an OpenAI-compatible server that needs none)"
                )
            api_key = "not-needed"
        self.model = model
        self.name = f"openai:{model}"
        self.supports_images = supports_images
        self.timeout_s = timeout_s
        self.policy = RetryPolicy(max_retries=max_retries, base_delay_s=retry_base_delay_s)
        self._official = base_url is None
        self._client = openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=0)
        self.base_url = str(self._client.base_url).rstrip("/")

    def _cache_identity(self) -> dict[str, Any]:
        return {"backend": "openai", "model": self.model, "base_url": self.base_url}

    def _generate(
        self, messages: list[Message], *, temperature: float, max_tokens: int, stop: list[str] | None
    ) -> Reply:
        openai = require("openai", extra="llm")
        request: dict[str, Any] = {
            "model": self.model,
            "messages": to_openai_messages(messages),
            "temperature": temperature,
        }
        # OpenAI's newer models take only max_completion_tokens; compatible servers widely take max_tokens.
        request["max_completion_tokens" if self._official else "max_tokens"] = max_tokens
        if stop:
            request["stop"] = stop
        url = f"{self.base_url}/chat/completions"

        def send():
            try:
                return self._client.chat.completions.create(**request)
            except openai.APIConnectionError as exc:  # includes timeouts
                raise RetryableError(f"{type(exc).__name__}: {exc}") from exc
            except openai.RateLimitError as exc:
                raise RetryableError(f"rate limited (429): {exc}", retry_after_seconds(exc.response.headers)) from exc
            except openai.APIStatusError as exc:
                if exc.status_code >= 500:
                    raise RetryableError(f"server error {exc.status_code}: {exc}") from exc
                hint = f"; check {KEY_VARIABLE}" if exc.status_code in (401, 403) else ""
                raise LLMError(f"{url} refused the request ({exc.status_code}): {exc}{hint}") from exc

        response = call_with_retries(send, policy=self.policy, url=url)
        if not response.choices:
            raise LLMError(f"{url} returned no choices for {self.name}")
        choice = response.choices[0]
        text, stopped = cut_at_stop(choice.message.content or "", stop)
        usage = response.usage
        return Reply(
            text=text,
            usage=Usage(int(getattr(usage, "prompt_tokens", 0) or 0), int(getattr(usage, "completion_tokens", 0) or 0)),
            cached=False,
            model=self.name,
            stop_reason="stop_sequence" if stopped else choice.finish_reason,
        )
