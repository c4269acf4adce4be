"""Chat messages, replies and token usage: the data every chat-model backend takes and returns.

A `Message` holds a role and a content that is either a string or a list of text and PIL image parts, in order.
Each backend turns these into its own wire format (OpenAI `image_url` data-URI parts, Anthropic base64 image
blocks); the local text-only model refuses images.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

from PIL import Image

from tinkerlab.core.errors import InputError

Role = Literal["system", "user", "assistant"]
Part = str | Image.Image
ROLES: tuple[str, ...] = ("system", "user", "assistant")


@dataclass(frozen=True)
class Message:
    """One chat message.

    Args:
        role: 'system', 'user' or 'assistant'.
        content: a string, or a list of strings and PIL images (kept in order).

    Example:
        >>> Message.user("What is in this picture?", image).text  # doctest: +SKIP
        'What is in this picture?'
    """

    role: Role
    content: str | list[Part]

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise InputError(f"message role must be one of {ROLES}, got {self.role!r}")
        if isinstance(self.content, str):
            return
        if not isinstance(self.content, (list, tuple)):
            raise InputError(
                "message content must be a string or a list of strings and PIL images, "
                f"got {type(self.content).__name__}"
            )
        for part in self.content:
            if not isinstance(part, (str, Image.Image)):
                raise InputError(f"message parts must be strings or PIL images, got {type(part).__name__}")
        object.__setattr__(self, "content", list(self.content))

    @classmethod
    def system(cls, *parts: Part) -> Message:
        """A system message from text (and image) parts."""
        return cls("system", _content(parts))

    @classmethod
    def user(cls, *parts: Part) -> Message:
        """A user message from text and image parts, e.g. `Message.user("Describe", image, "briefly")`."""
        return cls("user", _content(parts))

    @classmethod
    def assistant(cls, *parts: Part) -> Message:
        """An assistant message; as the last message it is a prefill that models with `supports_prefill` continue."""
        return cls("assistant", _content(parts))

    @property
    def parts(self) -> list[Part]:
        """The content as a list of parts (a plain string becomes one part)."""
        return [self.content] if isinstance(self.content, str) else list(self.content)

    @property
    def text(self) -> str:
        """The text parts joined (images left out)."""
        return "".join(part for part in self.parts if isinstance(part, str))

    @property
    def images(self) -> list[Image.Image]:
        """The image parts, in order."""
        return [part for part in self.parts if isinstance(part, Image.Image)]

    def to_record(self) -> dict[str, Any]:
        """A JSON-able description (images as size and SHA-256 of their pixels), for transcripts and cache keys."""
        parts: list[Any] = []
        for part in self.parts:
            if isinstance(part, str):
                parts.append(part)
            else:
                parts.append({"image": {"sha256": image_digest(part), "size": list(part.size), "mode": part.mode}})
        content: Any = parts[0] if len(parts) == 1 and isinstance(parts[0], str) else parts
        return {"role": self.role, "content": content}


def _content(parts: tuple[Part, ...]) -> str | list[Part]:
    if len(parts) == 1 and isinstance(parts[0], str):
        return parts[0]
    return list(parts)


def image_digest(image: Image.Image) -> str:
    """SHA-256 of an image's mode, size and raw pixel bytes (the same pixels give the same digest)."""
    digest = hashlib.sha256()
    digest.update(f"{image.mode}:{image.width}x{image.height}:".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Usage:
    """Token counts of one exchange (or a running total)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens)


@dataclass(frozen=True)
class Reply:
    """What a chat model answered.

    Attributes:
        text: the reply text (for a prefilled assistant message: only the continuation).
        usage: tokens of this exchange (for a cached reply: those of the original exchange).
        cached: True when the reply came from the response cache and no request was sent.
        model: the model's name.
        stop_reason: 'stop' (the model ended), 'length' (max_tokens reached), 'stop_sequence', or the provider's word.
    """

    text: str
    usage: Usage = field(default_factory=Usage)
    cached: bool = False
    model: str = ""
    stop_reason: str | None = None
