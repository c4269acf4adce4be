"""OpenAI chat completions, and any OpenAI-compatible server (vLLM, Ollama, llama.cpp server, `transformers serve`)
through `base_url`.

Images go out as `image_url` parts holding PNG data URIs. What the request may hold (stop sequences, temperature,
the name of the max-tokens field, images) comes from `tinkerlab.llm.capabilities` for the model name; a 400 that
names a feature switches it off for the model (see `ChatModel.complete`).

Keys: OpenAI's own host gets `OPENAI_API_KEY`. A server at another address gets no key unless the caller names the
variable that holds one (`api_key_env`, `--api-key-env NAME`), so a key for OpenAI never reaches a third party.
Every request has one total deadline (`timeout_s`, connect, wait and body together) and a 10 MB size cap. The SDK's
own retries are off: `tinkerlab.llm.retry` retries 429, 5xx and connection errors with bounded exponential backoff,
and timeouts too except against a server on this machine (unless `max_retries` is given).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tinkerlab.core.errors import LLMError, require
from tinkerlab.core.images import image_to_data_uri
from tinkerlab.llm.base import ChatModel
from tinkerlab.llm.capabilities import capabilities_for
from tinkerlab.llm.http import budget_http_client, check_base_url, is_local_url, retry_after_seconds, sdk_request
from tinkerlab.llm.messages import Message, Reply, Usage
from tinkerlab.llm.retry import RetryPolicy, call_with_retries

KEY_VARIABLE = "OPENAI_API_KEY"
OPENAI_HOST = "api.openai.com"
DEFAULT_TIMEOUT_S = 300.0
"""Seconds one request may take in all (connect, wait, body) unless `timeout_s` says otherwise."""
DEFAULT_RETRIES = 4
"""Retries after a 429, 5xx, connection error (or a timeout, against a server not on this machine)."""

__all__ = ["OpenAIChatModel", "retry_after_seconds", "to_openai_messages"]


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


def is_openai_host(base_url: str | None) -> bool:
    """Whether `base_url` is OpenAI's own API (None means it is)."""
    return base_url is None or (urlsplit(base_url).hostname or "").lower() == OPENAI_HOST


def text_only_folder(model: str) -> bool:
    """Whether `model` names a transformers model folder on this machine whose config has no vision part (what
    `transformers serve` reports as the model name when it serves a folder)."""
    config = Path(model).expanduser() / "config.json"
    if not model.startswith(("/", "~", ".")) or not config.is_file():
        return False
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return not any("vision" in key for key in data)


class OpenAIChatModel(ChatModel):
    """A model behind the OpenAI chat-completions API, or an OpenAI-compatible server.

    Args:
        model: the model name, e.g. 'gpt-5-mini' (or what the compatible server serves).
        base_url: an OpenAI-compatible server, e.g. 'http://localhost:8000/v1'; None for OpenAI itself (or
            `$OPENAI_BASE_URL`).
        transcript: a JSONL file every exchange is appended to.
        cache: use the on-disk response cache at temperature 0.
        timeout_s: seconds one request may take in all (connect, wait and body together); default 300.
        max_retries: retries after a 429, 5xx, timeout or connection error; None: 4, and no retry after a timeout
            when the server is on this machine (a retry would start the slow generation again).
        retry_base_delay_s: the first backoff wait (doubles after each failure).
        supports_images: whether to send images; None: from the capability table (most OpenAI models take them).
        api_key_env: the environment variable whose key is sent; None: `OPENAI_API_KEY` for OpenAI's own host and
            no key for any other address.

    Raises:
        LLMError: no key (when talking to OpenAI itself), or `api_key_env` names an empty variable.
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
        supports_images: bool | None = None,
        api_key_env: str | None = None,
    ) -> None:
        openai = require("openai", extra="llm")
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        if base_url is not None:
            base_url = check_base_url(base_url)
        official = is_openai_host(base_url)
        capabilities = capabilities_for("openai" if official else "openai-compatible", model)
        if supports_images is not None:
            capabilities = capabilities.without("images") if not supports_images else capabilities
        elif not official and text_only_folder(model):
            capabilities = capabilities.without("images")
        super().__init__(transcript=transcript, cache=cache, capabilities=capabilities)
        variable = api_key_env or (KEY_VARIABLE if official else None)
        api_key = os.environ.get(variable) if variable else None
        if variable and not api_key:
            if official:
                raise LLMError(
                    f"openai:{model} needs an API key: set the environment variable {variable} "
                    "(or pass base_url for an OpenAI-compatible server that needs none)"
                )
            raise LLMError(f"--api-key-env names {variable}, but that environment variable is not set")
        self.key_variable = variable
        self.model = model
        self.name = f"openai:{model}"
        self.timeout_s = float(timeout_s) if timeout_s is not None else DEFAULT_TIMEOUT_S
        local = is_local_url(base_url)
        self.policy = RetryPolicy(
            max_retries=DEFAULT_RETRIES if max_retries is None else max_retries,
            base_delay_s=retry_base_delay_s,
            retry_timeouts=not local or max_retries is not None,
        )
        self._official = official
        self._client = openai.OpenAI(
            api_key=api_key or "not-needed",
            base_url=base_url,
            timeout=self.timeout_s,
            max_retries=0,
            http_client=budget_http_client(openai.DefaultHttpxClient, self.timeout_s),
        )
        self.base_url = str(self._client.base_url).rstrip("/")

    def _cache_identity(self) -> dict[str, Any]:
        return {"backend": "openai", "model": self.model, "base_url": self.base_url}

    def _generate(
        self, messages: list[Message], *, temperature: float | None, max_tokens: int, stop: list[str] | None
    ) -> Reply:
        openai = require("openai", extra="llm")
        request: dict[str, Any] = {"model": self.model, "messages": to_openai_messages(messages)}
        if temperature is not None:
            request["temperature"] = temperature
        request[self.capabilities.max_tokens_param] = max_tokens
        if stop:
            request["stop"] = stop
        url = f"{self.base_url}/chat/completions"

        def send():
            return sdk_request(
                openai,
                lambda: self._client.chat.completions.create(**request),
                url=url,
                timeout_s=self.timeout_s,
                key_variable=self.key_variable,
            )

        response = call_with_retries(send, policy=self.policy, url=url)
        if not getattr(response, "choices", None):
            raise LLMError(f"{url} returned no choices for {self.name}")
        choice = response.choices[0]
        usage = response.usage
        return Reply(
            text=choice.message.content or "",
            usage=Usage(int(getattr(usage, "prompt_tokens", 0) or 0), int(getattr(usage, "completion_tokens", 0) or 0)),
            cached=False,
            model=self.name,
            stop_reason=choice.finish_reason,
        )
