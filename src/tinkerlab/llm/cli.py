"""`tinkerlab llm ...`: talk to a chat model from the shell.

tinkerlab llm chat "Name three colours." --model local --max-tokens 40
tinkerlab llm chat "What is in this picture?" --model openai:gpt-4o-mini --image photo.png
"""

from __future__ import annotations

from pathlib import Path

import typer

from tinkerlab.cli_options import ApiKeyEnv, BaseUrl, Device, Model, Retries, Timeout

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Chat models: local, OpenAI-compatible, Anthropic, scripted.",
)


@app.callback()
def _group() -> None:
    """Chat models: local (embedded SmolLM2-135M-Instruct), OpenAI-compatible, Anthropic, scripted."""


@app.command()
def chat(
    prompt: str = typer.Argument(..., help="The user message."),
    model: Model = "local",
    image: list[Path] | None = typer.Option(None, "--image", help="An image to attach (repeatable)."),
    system: str | None = typer.Option(None, "--system", help="A system message."),
    base_url: BaseUrl = None,
    max_tokens: int = typer.Option(256, "--max-tokens", min=1, help="The most tokens the reply may have."),
    temperature: float = typer.Option(
        0.0,
        "--temperature",
        min=0.0,
        max=2.0,
        help="0 is greedy and cached; the model's own range is checked before sending (Anthropic: at most 1).",
    ),
    transcript: Path | None = typer.Option(None, "--transcript", help="Append the exchange to this JSONL file."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not use the response cache."),
    usage: bool = typer.Option(False, "--usage", help="Print token usage and timing to stderr."),
    device: Device = "cpu",
    timeout: Timeout = None,
    retries: Retries = None,
    api_key_env: ApiKeyEnv = None,
) -> None:
    """Send PROMPT (and any images) to a chat model and print the reply (--device applies to local models)."""
    import time

    from tinkerlab.core.images import to_pil
    from tinkerlab.llm.loader import load_chat_model
    from tinkerlab.llm.messages import Message

    start = time.perf_counter()
    images = [to_pil(path).convert("RGB") for path in image or []]  # read first: a bad file fails before a load
    chat_model = load_chat_model(
        model,
        base_url=base_url,
        transcript=transcript,
        cache=not no_cache,
        device=device,
        timeout_s=timeout,
        max_retries=retries,
        api_key_env=api_key_env,
    )
    messages = ([Message.system(system)] if system else []) + [Message.user(prompt, *images)]
    reply = chat_model.complete(messages, temperature=temperature, max_tokens=max_tokens)
    typer.echo(reply.text)
    if usage:
        seconds = time.perf_counter() - start
        typer.echo(
            f"[{reply.model}: {reply.usage.prompt_tokens} prompt + {reply.usage.completion_tokens} "
            f"completion tokens, stop: {reply.stop_reason}, {'cached, ' if reply.cached else ''}"
            f"{seconds:.1f} s]",
            err=True,
        )
        for note in chat_model.notes:
            typer.echo(f"[note: {note}]", err=True)
