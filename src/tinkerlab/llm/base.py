"""The chat-model interface every backend implements, with the shared parts: checks, cache, transcript, usage.

A backend subclasses `ChatModel` and implements `_generate(messages, temperature, max_tokens, stop) -> Reply`;
`complete` wraps it: it validates the request, answers from the response cache at temperature 0, appends the
exchange to the JSONL transcript and adds the tokens to `total_usage`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tinkerlab.core.errors import InputError, LLMError
from tinkerlab.llm.cache import ResponseCache, request_key
from tinkerlab.llm.messages import Message, Reply, Usage
from tinkerlab.llm.transcript import append_record, check_transcript_path, exchange_record


class ChatModel:
    """A chat model: `complete(messages) -> Reply`.

    Attributes:
        name: the model's name (e.g. 'openai:gpt-4o-mini', 'local:SmolLM2-135M-Instruct').
        supports_images: whether messages may carry images.
        supports_prefill: whether a final assistant message is continued rather than answered.
        total_usage: tokens of every exchange that sent a request (cache hits add nothing).
    """

    name: str = "chat-model"
    supports_images: bool = False
    supports_prefill: bool = False

    def __init__(
        self,
        *,
        transcript: str | Path | None = None,
        cache: bool | ResponseCache = False,
    ) -> None:
        self.transcript: Path | None = check_transcript_path(transcript) if transcript is not None else None
        if cache is True:
            self.cache: ResponseCache | None = ResponseCache()
        elif cache is False or cache is None:
            self.cache = None
        else:
            self.cache = cache
        self.total_usage = Usage()
        self.requests_sent = 0

    # --- what a backend implements -------------------------------------------------------------------------

    def _generate(
        self, messages: list[Message], *, temperature: float, max_tokens: int, stop: list[str] | None
    ) -> Reply:
        raise NotImplementedError

    def _cache_identity(self) -> dict[str, Any]:
        """What, beside the messages and parameters, makes a request unique (backend, model, server)."""
        return {"model": self.name}

    # --- the shared part -------------------------------------------------------------------------------------

    def set_transcript(self, path: str | Path | None) -> None:
        """Append every later exchange to this JSONL file (None stops writing a transcript)."""
        self.transcript = check_transcript_path(path) if path is not None else None

    def complete(
        self,
        messages: Sequence[Message],
        *,
        temperature: float = 0.0,
        max_tokens: int = 512,
        stop: list[str] | None = None,
    ) -> Reply:
        """Send the conversation and return the reply.

        Args:
            messages: the conversation; a final assistant message is a prefill (see `supports_prefill`).
            temperature: 0 for greedy, repeatable replies (these are cached); higher samples.
            max_tokens: the most tokens the reply may have.
            stop: strings that end the reply; the reply is cut before the first one.

        Returns:
            The `Reply` (text, usage, cached flag, model name, stop reason).

        Raises:
            InputError: empty or malformed messages, bad parameters.
            LLMError: the model cannot take the request (e.g. images for a text-only model) or failed.
            LLMConnectionError: the server stayed unreachable after the bounded retries.
        """
        messages = self._check(messages, temperature=temperature, max_tokens=max_tokens, stop=stop)
        params = {"temperature": float(temperature), "max_tokens": int(max_tokens), "stop": list(stop or [])}
        key = None
        start = time.perf_counter()
        if self.cache is not None and temperature == 0:
            key = request_key({**self._cache_identity(), "messages": [m.to_record() for m in messages], **params})
            hit = self.cache.get(key)
            if hit is not None:
                self._record(messages, params, hit, time.perf_counter() - start)
                return hit
        reply = self._generate(
            messages,
            temperature=float(temperature),
            max_tokens=int(max_tokens),
            stop=list(stop) if stop else None,
        )
        self.requests_sent += 1
        self.total_usage = self.total_usage + reply.usage
        if key is not None:
            self.cache.put(key, reply)
        self._record(messages, params, reply, time.perf_counter() - start)
        return reply

    def _record(self, messages: list[Message], params: dict[str, Any], reply: Reply, seconds: float) -> None:
        if self.transcript is not None:
            append_record(
                self.transcript,
                exchange_record(model=self.name, messages=messages, params=params, reply=reply, seconds=seconds),
            )

    def _check(
        self, messages: Sequence[Message], *, temperature: float, max_tokens: int, stop: list[str] | None
    ) -> list[Message]:
        if isinstance(messages, (Message, str)):
            raise InputError("complete() takes a list of Message objects, e.g. [Message.user('Hello')]")
        messages = list(messages)
        if not messages:
            raise InputError("complete() needs at least one message, got an empty list")
        for index, message in enumerate(messages):
            if not isinstance(message, Message):
                raise InputError(f"messages[{index}] must be a Message, got {type(message).__name__}")
            if message.images and not self.supports_images:
                raise LLMError(
                    f"{self.name} does not accept images (messages[{index}] has "
                    f"{len(message.images)}); use a vision model such as openai:gpt-4o-mini"
                )
        if not 0.0 <= float(temperature) <= 2.0:
            raise InputError(f"temperature must be between 0 and 2, got {temperature}")
        if int(max_tokens) < 1:
            raise InputError(f"max_tokens must be at least 1, got {max_tokens}")
        if stop is not None and (isinstance(stop, str) or not all(isinstance(s, str) and s for s in stop)):
            raise InputError(f"stop must be a list of non-empty strings, got {stop!r}")
        return messages

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def cut_at_stop(text: str, stop: list[str] | None) -> tuple[str, bool]:
    """Cut `text` before the earliest stop string; returns (text, whether a stop string was found)."""
    if not stop:
        return text, False
    positions = [text.find(s) for s in stop if s in text]
    if not positions:
        return text, False
    return text[: min(positions)], True
