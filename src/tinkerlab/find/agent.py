"""The automated interpretability agent (AIA) of FIND (Schwettmann et al., NeurIPS 2023 D&B), on any chat model.

The loop: system prompt with the one command; the task prompt; then, each round, the model either runs
``COMMAND: PYTHON(function.py ...)`` (answered with ``Response: <pairs>``) or gives its final answer starting
with ``[DESCRIPTION]``. After `max_rounds` rounds it is asked once for its final answer; without one the
interpretation records the round limit as its error. ``single_round`` is the non-interactive setting with
search-initialisation hints (the "MILAN-like" baseline of the paper).

The agent asks the model's `capabilities` what it takes: its temperature is fitted into the model's range (a model
that takes only its default, such as OpenAI's reasoning models, gets that), and the conversation always ends with a
user turn, so it needs no prefill.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class AgentConfig:
    """How the agent runs."""

    max_rounds: int = 20
    hints: bool = False
    single_round: bool = False
    max_tokens: int = 512
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
        try:
            for round_index in range(limit + 1):
                if round_index == limit:
                    messages.append(Message.user(FINAL_REQUEST))
                reply = self.model.complete(messages, temperature=temperature, max_tokens=self.config.max_tokens).text
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
        result.transcript = [{"role": m.role, "content": m.text} for m in messages]
        if final is None:
            result.error = result.error or f"no [DESCRIPTION] after {limit} rounds and a final request"
            return result
        parts = parse_answer(final)
        result.answer = final[final.upper().index("[DESCRIPTION]") :]
        result.description, result.domain, result.code = parts["description"], parts["domain"], parts["code"]
        return result
