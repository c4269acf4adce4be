"""What a chat model accepts, per provider and model name: prefill, stop sequences, temperature, images.

Providers differ, and so do their models: Claude models from the 4.6 generation on refuse a conversation that ends
with an assistant turn (no prefill); OpenAI's reasoning models (the `gpt-5` family, `o1`, `o3`, `o4-mini`, ...)
refuse `stop`, take only their default temperature and want `max_completion_tokens`; Anthropic refuses a
temperature above 1. `capabilities_for(provider, model)` starts from the provider's defaults and applies the rules
of `RULES` whose pattern matches the model name (every matching rule, in order). An unknown model gets the
provider's defaults; when the server then refuses a feature (a 400 that names it), the chat model switches that
feature off for itself once and falls back on the client side (see `tinkerlab.llm.base.ChatModel.complete`).

| provider | prefill | stop (most) | temperature | max-tokens field | images |
|---|---|---|---|---|---|
| `openai` (OpenAI's own host) | no | yes (4) | 0-2 | `max_completion_tokens` | yes |
| `openai-compatible` (`--base-url`) | no | yes | 0-2 | `max_tokens` | yes |
| `anthropic` | yes | yes | 0-1 | `max_tokens` | yes |
| `local` (in process) | yes | yes | 0-2 | - | no |
| `scripted` | yes | yes | 0-2 | - | as configured |

Rules (patterns are regular expressions searched in the model name; `openai` rules apply to compatible servers too):

| provider | pattern | change |
|---|---|---|
| openai | `gpt-5` (not `-chat`), `o1`, `o3`, `o4`, ... | no stop, default temperature only, `max_completion_tokens` |
| anthropic | `claude-(opus|sonnet|haiku)-4-6` and later | no prefill |
| openai | `smollm`, `gpt2` | no images (text-only models some servers serve) |
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from tinkerlab.core.errors import InputError

Feature = Literal["prefill", "stop", "temperature", "max_tokens_param", "images"]
FEATURES: tuple[str, ...] = ("prefill", "stop", "temperature", "max_tokens_param", "images")


@dataclass(frozen=True)
class Capabilities:
    """What one chat model accepts.

    Attributes:
        prefill: a final assistant message is continued (otherwise the partial answer goes into the user turn with
            a request to continue it).
        stop: stop sequences are sent (otherwise the reply is cut on the client side).
        max_stop: the most stop sequences the server takes (the rest are cut on the client side); None: no limit.
        temperature_range: (lowest, highest) temperature the model takes; None: only the provider's default
            (then no temperature is sent).
        default_temperature: the provider's default temperature.
        max_tokens_param: the request field of the reply budget ('max_tokens' or 'max_completion_tokens').
        images: messages may carry images.
    """

    prefill: bool = True
    stop: bool = True
    max_stop: int | None = None
    temperature_range: tuple[float, float] | None = (0.0, 2.0)
    default_temperature: float = 1.0
    max_tokens_param: str = "max_tokens"
    images: bool = False

    def check_temperature(self, temperature: float | None, name: str) -> float | None:
        """The temperature to send for a requested one: None when the model takes only its default.

        Raises:
            InputError: the temperature is outside the model's range.
        """
        if temperature is None or self.temperature_range is None:
            return None
        low, high = self.temperature_range
        if not low <= float(temperature) <= high:
            raise InputError(f"temperature must be between {low:g} and {high:g} for {name}, got {temperature}")
        return float(temperature)

    def fit_temperature(self, temperature: float) -> float | None:
        """The nearest temperature the model takes (None: its default); agents use this for their settings."""
        if self.temperature_range is None:
            return None
        low, high = self.temperature_range
        return min(max(float(temperature), low), high)

    def without(self, feature: str) -> Capabilities:
        """These capabilities with `feature` switched off (the fallback after a server refused it)."""
        if feature == "temperature":
            return replace(self, temperature_range=None)
        if feature == "max_tokens_param":
            return replace(self, max_tokens_param="max_completion_tokens")
        if feature in ("prefill", "stop", "images"):
            return replace(self, **{feature: False})
        raise ValueError(f"unknown feature {feature!r}; expected one of {FEATURES}")

    def to_record(self) -> dict[str, Any]:
        """A JSON-able description (for transcripts and `--usage`)."""
        return {
            "prefill": self.prefill,
            "stop": self.stop,
            "max_stop": self.max_stop,
            "temperature_range": list(self.temperature_range) if self.temperature_range else None,
            "max_tokens_param": self.max_tokens_param,
            "images": self.images,
        }


@dataclass(frozen=True)
class Rule:
    """Changes to a provider's defaults for model names matching `pattern` (a regex, searched, case-insensitive)."""

    provider: str
    pattern: str
    changes: dict[str, Any] = field(default_factory=dict)

    def matches(self, provider: str, model: str) -> bool:
        family = "openai" if provider == "openai-compatible" else provider
        return family == self.provider and re.search(self.pattern, model, re.IGNORECASE) is not None


PROVIDER_DEFAULTS: dict[str, Capabilities] = {
    "openai": Capabilities(prefill=False, max_stop=4, max_tokens_param="max_completion_tokens", images=True),
    "openai-compatible": Capabilities(prefill=False, images=True),
    "anthropic": Capabilities(prefill=True, temperature_range=(0.0, 1.0), images=True),
    "local": Capabilities(prefill=True, images=False),
    "scripted": Capabilities(prefill=True, images=False),
}

_REASONING = {"stop": False, "temperature_range": None, "max_tokens_param": "max_completion_tokens"}
RULES: tuple[Rule, ...] = (
    Rule("openai", r"(^|/)(gpt-5(?![\w.]*-chat)|o[1-9])([\w.:-]*)$", _REASONING),
    Rule("anthropic", r"^claude-(opus|sonnet|haiku)-(4-([6-9]|\d\d)|[5-9]|\d\d)(\b|-|$)", {"prefill": False}),
    Rule("openai", r"smollm|(^|/)gpt2", {"images": False}),
)


def capabilities_for(provider: str, model: str) -> Capabilities:
    """The capabilities of `model` at `provider` ('openai', 'openai-compatible', 'anthropic', 'local', 'scripted').

    Example:
        >>> capabilities_for("anthropic", "claude-sonnet-4-6").prefill
        False
        >>> capabilities_for("openai", "o4-mini").stop
        False
    """
    if provider not in PROVIDER_DEFAULTS:
        raise ValueError(f"unknown provider {provider!r}; expected one of {sorted(PROVIDER_DEFAULTS)}")
    capabilities = PROVIDER_DEFAULTS[provider]
    for rule in RULES:
        if rule.matches(provider, model):
            capabilities = replace(capabilities, **rule.changes)
    return capabilities


def refused_feature(message: str, param: str | None = None) -> str | None:
    """The feature a 400 reply refuses, read from its error message (and OpenAI's `param`), or None.

    Example:
        >>> refused_feature("This model does not support assistant message prefill.")
        'prefill'
    """
    text = (message or "").lower()
    param = (param or "").lower()
    if "prefill" in text or "must end with a user message" in text:
        return "prefill"
    if "max_completion_tokens" in text and "max_tokens" in text.replace("max_completion_tokens", ""):
        return "max_tokens_param"
    if param in ("stop", "stop_sequences") or "'stop'" in text or "stop_sequences" in text:
        return "stop"
    if param == "temperature" or "temperature" in text:
        return "temperature"
    if param.startswith("messages") and "image" in text or re.search(r"\bimages?\b|image_url|vision", text):
        return "images"
    return None


__all__ = ["FEATURES", "PROVIDER_DEFAULTS", "RULES", "Capabilities", "Rule", "capabilities_for", "refused_feature"]
