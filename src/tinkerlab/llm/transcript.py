"""JSONL transcripts: every exchange with a chat model appended as one line (request, reply, usage, timing).

Images are recorded by size and the SHA-256 of their pixels, not embedded, so transcripts stay small. API keys
never appear: only the model name and the server URL are written.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

from tinkerlab.core.errors import InputError
from tinkerlab.llm.messages import Message, Reply


def check_transcript_path(path: str | Path) -> Path:
    """Check that `path` can be a transcript file (a file, or a name not taken, under no file) and return it.

    Raises:
        InputError: `path` is a folder, or one of its parents is a file.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(
            f"the transcript must be a file, but {str(path)!r} is a folder; "
            f"give a file such as {str(path / 'transcript.jsonl')!r}"
        )
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"cannot write the transcript {str(path)!r}: {str(parent)!r} is a file, not a folder")
            break
    return path


def exchange_record(
    *,
    model: str,
    messages: list[Message],
    params: dict[str, Any],
    reply: Reply,
    seconds: float,
) -> dict[str, Any]:
    """The JSON-able record of one exchange."""
    return {
        "time": _dt.datetime.now().isoformat(timespec="seconds"),
        "model": model,
        "messages": [message.to_record() for message in messages],
        "params": params,
        "reply": reply.text,
        "stop_reason": reply.stop_reason,
        "usage": {
            "prompt_tokens": reply.usage.prompt_tokens,
            "completion_tokens": reply.usage.completion_tokens,
        },
        "cached": reply.cached,
        "seconds": round(seconds, 4),
    }


def append_record(path: str | Path, record: dict[str, Any]) -> None:
    """Append one record as a JSON line (parent folders are created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def read_transcript(path: str | Path) -> list[dict[str, Any]]:
    """All records of a transcript file, in order."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
