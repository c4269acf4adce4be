"""The chat-model interface every backend implements, with the shared parts: checks, capabilities and their
client-side fallbacks, cache, transcript, usage.

A backend subclasses `ChatModel` and implements `_generate(messages, temperature, max_tokens, stop) -> Reply`;
`complete` wraps it: it validates the request against `capabilities`, adapts it to what the model accepts (a
prefill becomes a request to continue, stop sequences the model refuses are cut on the client side, a temperature
the model cannot set is not sent), answers from the response cache at temperature 0, appends the exchange to the
JSONL transcript (with a note for every fallback) and adds the tokens to `total_usage`. When the server refuses a
feature with a 400 the backend raises `FeatureRefused`; `complete` switches that feature off for this model and
sends the request again, at most once per feature.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from tinkerlab.core.errors import InputError, LLMError
from tinkerlab.llm.cache import ResponseCache, cache_record, request_key
from tinkerlab.llm.capabilities import FEATURES, Capabilities
from tinkerlab.llm.messages import Message, Reply, Usage
from tinkerlab.llm.transcript import append_record, check_transcript_path, exchange_record

CONTINUE_REQUEST = (
    "Your answer so far is below, between the markers.\n<<<\n{partial}\n>>>\n"
    "Continue it from exactly where it stops. Write only the continuation: do not repeat any of it."
)
"""How a prefill is sent to a model that takes none: the partial answer in the user turn, and a request to continue."""
UNCACHED_STOP_REASONS = ("content_filter", "refusal", "timeout", "error")
"""Replies that are not cached: filtered, refused or cut short by a timeout (empty replies are not cached either)."""


class FeatureRefused(Exception):
    """Raised by a backend when the server refused a request for a feature the model does not support (a 400)."""

    def __init__(self, feature: str, message: str) -> None:
        super().__init__(message)
        self.feature = feature
        self.message = message


class ChatModel:
    """A chat model: `complete(messages) -> Reply`.

    Attributes:
        name: the model's name (e.g. 'openai:gpt-4o-mini', 'local:SmolLM2-135M-Instruct').
        capabilities: what the model accepts (`tinkerlab.llm.capabilities.Capabilities`); callers ask it instead
            of assuming, and it changes when the server refuses a feature.
        supports_images: `capabilities.images`.
        supports_prefill: `capabilities.prefill` (a final assistant message is continued rather than answered).
        total_usage: tokens of every exchange that sent a request (cache hits add nothing).
        notes: the fallbacks taken so far (features switched off after a server refused them).
    """

    name: str = "chat-model"

    def __init__(
        self,
        *,
        transcript: str | Path | None = None,
        cache: bool | ResponseCache = False,
        capabilities: Capabilities | None = None,
    ) -> None:
        self.capabilities = capabilities if capabilities is not None else Capabilities(prefill=False)
        self.notes: list[str] = []
        self.transcript: Path | None = check_transcript_path(transcript) if transcript is not None else None
        if cache is True:
            self.cache: ResponseCache | None = ResponseCache()
        elif cache is False or cache is None:
            self.cache = None
        else:
            self.cache = cache
        self.total_usage = Usage()
        self.requests_sent = 0

    @property
    def supports_images(self) -> bool:
        return self.capabilities.images

    @supports_images.setter
    def supports_images(self, value: bool) -> None:
        self.capabilities = replace(self.capabilities, images=bool(value))

    @property
    def supports_prefill(self) -> bool:
        return self.capabilities.prefill

    @supports_prefill.setter
    def supports_prefill(self, value: bool) -> None:
        self.capabilities = replace(self.capabilities, prefill=bool(value))

    # --- what a backend implements -------------------------------------------------------------------------

    def _generate(
        self, messages: list[Message], *, temperature: float | None, max_tokens: int, stop: list[str] | None
    ) -> Reply:
        """Send the request as given (`temperature` None: send none, the provider's default applies)."""
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
            key = request_key({**self._cache_identity(), "messages": [cache_record(m) for m in messages], **params})
            hit = self.cache.get(key)
            if hit is not None:
                self._record(messages, params, hit, time.perf_counter() - start)
                return hit
        notes: list[str] = []
        for _ in range(len(FEATURES) + 1):
            wire, partial, send_temperature, send_stop, adapted = self._adapt(messages, float(temperature), stop)
            try:
                reply = self._generate(wire, temperature=send_temperature, max_tokens=int(max_tokens), stop=send_stop)
                break
            except FeatureRefused as exc:
                notes.append(self._switch_off(exc))
        else:  # pragma: no cover - every feature can be switched off only once
            raise LLMError(f"{self.name} refused the request after every fallback: {'; '.join(notes)}")
        notes.extend(adapted)
        reply = self._finish(reply, stop, partial)
        self.requests_sent += 1
        self.total_usage = self.total_usage + reply.usage
        if key is not None and reply.text.strip() and reply.stop_reason not in UNCACHED_STOP_REASONS:
            self.cache.put(key, reply)
        self._record(messages, params, reply, time.perf_counter() - start, notes)
        return reply

    def _adapt(
        self, messages: list[Message], temperature: float, stop: list[str] | None
    ) -> tuple[list[Message], str, float | None, list[str] | None, list[str]]:
        """The request as this model takes it: (messages, prefill moved into the user turn or '', temperature to
        send, stop sequences to send, notes on what was changed)."""
        capabilities = self.capabilities
        notes: list[str] = []
        partial = ""
        wire = list(messages)
        if wire[-1].role == "assistant" and not capabilities.prefill:
            partial = wire[-1].text
            wire = continue_from_transcript(wire)
            notes.append("prefill sent as a request to continue (the model takes no prefill)")
        send_temperature = capabilities.check_temperature(temperature, self.name)
        if send_temperature is None and temperature != capabilities.default_temperature:
            notes.append(f"temperature {temperature:g} not sent (the model takes only its default)")
        send_stop = list(stop) if stop else None
        if send_stop and not capabilities.stop:
            send_stop = None
            notes.append("stop sequences cut on the client side (the model takes none)")
        elif send_stop and capabilities.max_stop is not None and len(send_stop) > capabilities.max_stop:
            send_stop = send_stop[: capabilities.max_stop]
            notes.append(f"only {capabilities.max_stop} stop sequences sent; the others cut on the client side")
        return wire, partial, send_temperature, send_stop, notes

    def _switch_off(self, refused: FeatureRefused) -> str:
        """Switch a refused feature off for this model (once), and say so; raise when there is no fallback."""
        feature = refused.feature
        before = self.capabilities
        after = before.without(feature)
        if feature == "images":
            self.capabilities = after
            raise LLMError(
                f"{self.name} does not accept images (the server said: {refused.message}); send text only or use a "
                "vision model"
            )
        if after == before:
            raise LLMError(f"{self.name} refused {feature} again after it was switched off: {refused.message}")
        self.capabilities = after
        note = f"the server refused {feature} ({refused.message}); switched off for {self.name}"
        self.notes.append(note)
        return note

    @staticmethod
    def _finish(reply: Reply, stop: list[str] | None, partial: str) -> Reply:
        """Cut the reply at the stop sequences on the client side, and drop a repeated partial answer."""
        text = reply.text
        if partial.strip() and text.lstrip().startswith(partial.strip()):
            text = text.lstrip()[len(partial.strip()) :]
        text, stopped = cut_at_stop(text, stop)
        if text == reply.text and not stopped:
            return reply
        return replace(reply, text=text, stop_reason="stop_sequence" if stopped else reply.stop_reason)

    def _record(
        self,
        messages: list[Message],
        params: dict[str, Any],
        reply: Reply,
        seconds: float,
        notes: list[str] | None = None,
    ) -> None:
        if self.transcript is not None:
            record = exchange_record(model=self.name, messages=messages, params=params, reply=reply, seconds=seconds)
            if notes:
                record["notes"] = list(notes)
            append_record(self.transcript, record)

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
                    f"{len(message.images)}); use a vision model such as openai:gpt-4.1"
                )
        if not 0.0 <= float(temperature) <= 2.0:
            raise InputError(f"temperature must be between 0 and 2, got {temperature}")
        self.capabilities.check_temperature(temperature, self.name)  # the model's own range, before sending
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


def continue_from_transcript(messages: list[Message]) -> list[Message]:
    """A conversation ending in an assistant prefill, rewritten to end with a user turn that holds the partial
    answer and asks to continue it (for models that take no prefill)."""
    partial = messages[-1].text
    rest = list(messages[:-1])
    if not partial.strip():
        return rest
    request = CONTINUE_REQUEST.format(partial=partial)
    if rest and rest[-1].role == "user":
        last = rest[-1]
        return rest[:-1] + [Message("user", [*last.parts, "\n\n" + request])]
    return rest + [Message.user(request)]
