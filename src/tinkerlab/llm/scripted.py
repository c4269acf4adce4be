"""A scripted chat model: fixed replies in order, for testing the loop mechanics of agents without a real model.

`scripted:FILE` loads the replies from a JSON list of strings, a JSON object
`{"replies": [...], "supports_images": true}`, or JSONL lines of `{"reply": "..."}`.
"""

from __future__ import annotations

import json
from pathlib import Path

from tinkerlab.core.errors import InputError, LLMError
from tinkerlab.llm.base import ChatModel, cut_at_stop
from tinkerlab.llm.messages import Message, Reply, Usage


class ScriptedChatModel(ChatModel):
    """Returns `replies` one after another and records what it was sent.

    Args:
        replies: the replies, in order.
        supports_images: accept messages with images (they are recorded, not looked at).
        supports_prefill: report that a final assistant message is continued.
        name: the model's name.
        transcript: a JSONL file every exchange is appended to.

    Attributes:
        requests: the message lists of every call, in order.

    Example:
        >>> model = ScriptedChatModel(["Hello.", "Bye."])
        >>> model.complete([Message.user("Hi")]).text
        'Hello.'
    """

    def __init__(
        self,
        replies: list[str],
        *,
        supports_images: bool = False,
        supports_prefill: bool = True,
        name: str = "scripted",
        transcript: str | Path | None = None,
    ) -> None:
        from tinkerlab.llm.capabilities import capabilities_for

        # ordered replies: caching would repeat them
        super().__init__(transcript=transcript, cache=False, capabilities=capabilities_for("scripted", name))
        if isinstance(replies, str) or not all(isinstance(r, str) for r in replies):
            raise InputError(f"replies must be a list of strings, got {replies!r:.80}")
        self.replies = list(replies)
        self.supports_images = supports_images
        self.supports_prefill = supports_prefill
        self.name = name
        self.requests: list[list[Message]] = []
        self._next = 0

    @property
    def remaining(self) -> int:
        """How many replies are left."""
        return len(self.replies) - self._next

    def _generate(
        self, messages: list[Message], *, temperature: float | None, max_tokens: int, stop: list[str] | None
    ) -> Reply:
        self.requests.append(list(messages))
        if self._next >= len(self.replies):
            raise LLMError(
                f"{self.name} has no replies left: all {len(self.replies)} were used (request {len(self.requests)})"
            )
        text = self.replies[self._next]
        self._next += 1
        text, stopped = cut_at_stop(text, stop)
        prompt_tokens = sum(len(m.text.split()) for m in messages)
        return Reply(
            text=text,
            usage=Usage(prompt_tokens, len(text.split())),
            cached=False,
            model=self.name,
            stop_reason="stop_sequence" if stopped else "stop",
        )

    @classmethod
    def from_file(cls, path: str | Path, **kwargs) -> ScriptedChatModel:
        """Load the replies from a JSON list, a JSON object with "replies", or JSONL lines of {"reply": ...}.

        Raises:
            InputError: the file is missing or holds something else.
        """
        path = Path(path)
        if not path.is_file():
            raise InputError(f"scripted replies file {str(path)!r} does not exist")
        text = path.read_text(encoding="utf-8")
        options: dict = {}
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            try:
                data = [json.loads(line)["reply"] for line in text.splitlines() if line.strip()]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise InputError(
                    f'{path} must hold a JSON list of strings or JSONL lines of {{"reply": "..."}}: {exc}'
                ) from exc
        if isinstance(data, dict):
            options = {k: data[k] for k in ("supports_images", "supports_prefill") if k in data}
            data = data.get("replies")
        if not isinstance(data, list) or not all(isinstance(r, str) for r in data):
            raise InputError(f"{path} must hold a list of reply strings, got {type(data).__name__}")
        return cls(data, name=f"scripted:{path.name}", **{**options, **kwargs})
