"""The automated interpretability agent (AIA) of FIND (Schwettmann et al., NeurIPS 2023 D&B), on any chat model.

The loop: system prompt with the one command; the task prompt; then, each round, the model either runs
``COMMAND: PYTHON(function.py ...)`` (answered with ``Response: <pairs>``) or gives its final answer starting
with ``[DESCRIPTION]``. After `max_rounds` rounds it is asked once for its final answer; without one the
interpretation records the round limit as its error. ``single_round`` is the non-interactive setting with
search-initialisation hints (the "MILAN-like" baseline of the paper).

Every reply's token counts are summed into the interpretation's `usage`, with an estimated cost (`estimate_cost`, list
prices of a few known models: an estimate, not a bill). A failure of the model's server itself (unreachable after the
retries, a refused key, an unknown model name) is recorded as the interpretation's `failure`, so the runner leaves the
function pending instead of scoring it 0.

The agent asks the model's `capabilities` what it takes: its temperature is fitted into the model's range (a model
that takes only its default, such as OpenAI's reasoning models, gets that), and the conversation always ends with a
user turn, so it needs no prefill.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tinkerlab.core.config import check_count, check_range, check_type
from tinkerlab.find.protocol import (
    FINAL_REQUEST,
    NO_COMMAND,
    SYSTEM_PROMPT,
    BlackBox,
    Interpretation,
    extract_command,
    parse_answer,
    task_prompt,
)

DEFAULT_MAX_TOKENS = 1024
"""Tokens one reply may take: room for a description, a domain and a fenced function (512 cut code mid-fence)."""

PRICES_PER_MTOK: dict[str, tuple[float, float]] = {
    "openai:gpt-4o": (2.50, 10.00),
    "openai:gpt-4o-mini": (0.15, 0.60),
    "openai:gpt-4-turbo": (10.00, 30.00),
    "openai:gpt-4": (30.00, 60.00),
    "openai:gpt-3.5-turbo": (0.50, 1.50),
    "anthropic:claude-3-5-sonnet": (3.00, 15.00),
    "anthropic:claude-3-5-haiku": (0.80, 4.00),
    "anthropic:claude-sonnet-4": (3.00, 15.00),
}
"""US dollars per million (prompt, completion) tokens: public list prices of a few models, as an estimate only.

Prices change and batch or cached-prompt discounts are ignored; a model not listed here (local, scripted, any other
name) gets no estimate. A dated snapshot (``gpt-4o-2024-08-06``, ``claude-3-5-sonnet-20241022``) takes its model's
price.
"""

_OFFICIAL_HOSTS = {"openai": "api.openai.com", "anthropic": "api.anthropic.com"}


def estimate_cost(
    model_name: str, prompt_tokens: int, completion_tokens: int, base_url: str | None = None
) -> float | None:
    """Estimated US dollars for the tokens at `PRICES_PER_MTOK`, or None for a model without a known price.

    Args:
        model_name: the chat model's name, e.g. ``openai:gpt-4o``.
        prompt_tokens: tokens sent.
        completion_tokens: tokens generated.
        base_url: the server the model was reached at; a name served elsewhere than the vendor's own API (a local
            OpenAI-compatible server) has no price.

    Example:
        >>> estimate_cost("openai:gpt-4o-2024-08-06", 1_000_000, 0)
        2.5
        >>> estimate_cost("local:SmolLM2-135M-Instruct", 1000, 1000) is None
        True
    """
    backend = model_name.partition(":")[0]
    if base_url is not None and backend in _OFFICIAL_HOSTS and _OFFICIAL_HOSTS[backend] not in base_url:
        return None
    for name, (prompt_price, completion_price) in PRICES_PER_MTOK.items():
        if re.fullmatch(re.escape(name) + r"(?:-\d{4}-\d{2}-\d{2}|-\d{8}|-latest)?", model_name):
            return round((prompt_tokens * prompt_price + completion_tokens * completion_price) / 1e6, 6)
    return None


def is_infrastructure_failure(exc: Exception) -> bool:
    """Whether a model error is the run's fault (server unreachable, key refused, model unknown), not the reply's."""
    from tinkerlab.core.errors import LLMConnectionError

    if isinstance(exc, LLMConnectionError):
        return True
    return re.search(r"refused the request \((?:401|403|404)\)", str(exc)) is not None


@dataclass(frozen=True)
class AgentConfig:
    """How the agent runs.

    Attributes:
        max_rounds: experiments before the agent is asked for its answer (0: ask at once).
        hints: give the search-initialisation words.
        single_round: the non-interactive setting (one round).
        max_tokens: tokens one reply may take (`DEFAULT_MAX_TOKENS`).
        temperature: sampling temperature, fitted into the model's range.
    """

    max_rounds: int = 20
    hints: bool = False
    single_round: bool = False
    max_tokens: int = DEFAULT_MAX_TOKENS
    temperature: float = 0.0

    def __post_init__(self) -> None:
        check_count(self, "max_rounds", 0)  # 0: ask for the final answer at once
        check_type(self, "hints", bool)
        check_type(self, "single_round", bool)
        check_count(self, "max_tokens", 1)
        check_range(self, "temperature", 0, 2)  # fitted into each model's own range when sent


class AgentInterpreter:
    """Interprets FIND functions with a chat model.

    Args:
        model: a `tinkerlab.llm.ChatModel`.
        config: rounds, hints, reply length.

    Example:
        >>> from tinkerlab.llm import ScriptedChatModel
        >>> agent = AgentInterpreter(ScriptedChatModel(["[DESCRIPTION]: adds one [CODE]: def f(x): return x+1"]))
    """

    def __init__(self, model: Any, config: AgentConfig = AgentConfig()) -> None:
        self.model = model
        self.config = config
        self.name = f"agent:{getattr(model, 'name', 'model')}"

    def interpret(self, spec: dict[str, Any], box: BlackBox) -> Interpretation:
        """Run the loop on one function (errors from the model are recorded, not raised)."""
        from tinkerlab.core.errors import LLMError
        from tinkerlab.llm import Message

        category = spec["category"]
        hints = spec.get("initial") if (self.config.hints or self.config.single_round) else None
        prompt = task_prompt(category, mlp=spec.get("variant") == "mlp", hints=hints)
        messages = [Message.system(SYSTEM_PROMPT), Message.user(prompt)]
        result = Interpretation(function_id=spec["id"], category=category)
        limit = 1 if self.config.single_round else self.config.max_rounds
        capabilities = getattr(self.model, "capabilities", None)
        fitted = capabilities.fit_temperature(self.config.temperature) if capabilities is not None else None
        temperature = self.config.temperature if fitted is None else fitted
        final: str | None = None
        prompt_tokens = completion_tokens = 0
        try:
            for round_index in range(limit + 1):
                if round_index == limit:
                    messages.append(Message.user(FINAL_REQUEST))
                answer = self.model.complete(messages, temperature=temperature, max_tokens=self.config.max_tokens)
                if not answer.cached:
                    prompt_tokens += answer.usage.prompt_tokens
                    completion_tokens += answer.usage.completion_tokens
                reply = answer.text
                messages.append(Message.assistant(reply))
                result.rounds = round_index + 1
                if "[DESCRIPTION]" in reply.upper():
                    final = reply
                    break
                if round_index == limit:
                    break
                command = extract_command(reply)
                if command is None:
                    messages.append(Message.user(NO_COMMAND))
                    continue
                result.queries += 1
                messages.append(Message.user(f"Response: {box.command(command)}"))
        except LLMError as exc:
            result.error = f"model error: {exc}"
            if is_infrastructure_failure(exc):
                result.failure = str(exc)
        result.usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}
        name = str(getattr(self.model, "name", ""))
        result.cost_usd = estimate_cost(name, prompt_tokens, completion_tokens, getattr(self.model, "base_url", None))
        result.transcript = [{"role": m.role, "content": m.text} for m in messages]
        if final is None:
            result.error = result.error or f"no [DESCRIPTION] after {limit} rounds and a final request"
            return result
        parts = parse_answer(final)
        result.answer = final[final.upper().index("[DESCRIPTION]") :]
        result.description, result.domain, result.code = parts["description"], parts["domain"], parts["code"]
        return result
