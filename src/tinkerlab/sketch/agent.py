"""SketchAgent (Vinker et al., "SketchAgent: Language-Driven Sequential Sketch Generation", CVPR 2025): a chat
model draws through the sketching language, on any `tinkerlab.llm` chat model.

Four modes, each an entry point:

- `SketchAgent.draw(concept)`: text-to-sketch in one call (stop sequence ``</answer>``).
- `SketchAgent.draw_stroke_by_stroke(concept)`: a planning call (stop ``<strokes>``), then one stroke per call
  (stop ``</sN>``). Models that can continue a prefilled assistant turn get the sketch so far as that prefill, as
  in the original; others get it as their previous turn plus a short "continue with the next stroke" request.
  Which one a model gets comes from its `capabilities` (Claude 4.6 and later, and OpenAI's models, take no
  prefill); temperatures are fitted into the model's range (a model that takes only its default gets that).
- `SketchAgent.edit(sketch, instruction)`: chat editing that adds, removes (``<remove>s3</remove>``) and modifies
  (a stroke written again under its number) strokes; vision-capable models are shown the rendered canvas.
- `SketchAgent.collaborate(concept)`: a `Collaboration` where a person and the agent take turns, one stroke each
  (the person's strokes are mapped with `tinkerlab.sketch.human.human_stroke`).

Replies that cannot be read are retried a bounded number of times, with the parse error sent back to the model;
every exchange goes to the chat model's JSONL transcript (`transcript=` or `model.set_transcript`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tinkerlab.core.config import check_choice, check_count, check_range, check_type
from tinkerlab.core.errors import InputError, SketchSyntaxError
from tinkerlab.sketch import prompts
from tinkerlab.sketch.geometry import Grid
from tinkerlab.sketch.human import human_stroke
from tinkerlab.sketch.language import STROKE_OPEN, Sketch, Stroke, parse_edit, parse_sketch, parse_stroke
from tinkerlab.sketch.render import AGENT_COLOR, HUMAN_COLOR, render_image

Author = Literal["agent", "human"]


@dataclass(frozen=True)
class AgentConfig:
    """How the agent talks to the model.

    Attributes:
        resolution: grid cells per side.
        max_tokens: reply budget for a whole sketch or an edit.
        stroke_max_tokens: reply budget for one stroke (stroke-by-stroke and collaboration).
        plan_max_tokens: reply budget for the plan of stroke-by-stroke drawing.
        temperature: sampling temperature of first attempts (0: greedy and cached).
        retry_temperature: temperature of retries after an unreadable reply.
        retries: extra attempts after an unreadable reply.
        max_strokes: most strokes in stroke-by-stroke drawing.
        send_image: show the rendered canvas when editing: "auto" (when the model accepts images), "never".
        with_example: include the worked example (the paper's most important prompt part).
        compact: leave the single-stroke primitives out of the system prompt (for tiny local models).
        lenient: ignore stray text between cells and skip unreadable strokes, with warnings, instead of rejecting
            the whole reply.
        prefill: how replies of models that continue a prefilled turn start: "thinking" opens the plan;
            "answer" skips the plan and opens the first new stroke's ``<points>'x`` (for tiny local models, which
            otherwise copy the prompt); "none" prefills nothing.
        forced_strokes: in stroke-by-stroke drawing, open the first this-many stroke elements in the prefill so the
            model must draw them (helps small local models that would otherwise wander off the format).
        prefill_points: when a stroke element is opened in the prefill, also open its ``<points>'x`` so the model
            continues with cell numbers (for small local models).
        constrained: constrained decoding inside ``<strokes>`` (`tinkerlab.sketch.constrained`) for models that
            take a logits processor (local transformers models); remote models are never constrained.
        retrieved_example: show a drawing of the concept itself, retrieved from openclipart and traced by the
            retrieval baseline (`tinkerlab.sketch.retrieval`), as the worked example: "heldout" (drawings the
            offline recogniser never trained on) or "all"; "none" keeps the usual example. A model that copies
            it scores like the baseline, so results with it measure copying as much as drawing.
        prompts: a user's system prompt and worked example (`tinkerlab.sketch.prompts.load_prompts`) instead of
            the built-in ones; recorded in full in every run's config.
    """

    resolution: int = 50
    max_tokens: int = 3000
    stroke_max_tokens: int = 300
    plan_max_tokens: int = 600
    temperature: float = 0.0
    retry_temperature: float = 0.7
    retries: int = 2
    max_strokes: int = 20
    send_image: Literal["auto", "never"] = "auto"
    with_example: bool = True
    compact: bool = False
    lenient: bool = True
    prefill: Literal["thinking", "answer", "none"] = "thinking"
    forced_strokes: int = 0
    prefill_points: bool = False
    constrained: bool = True
    retrieved_example: Literal["none", "heldout", "all"] = "none"
    prompts: prompts.PromptSet | None = None

    def __post_init__(self) -> None:
        if isinstance(self.prompts, dict):  # read back from a run's config.json
            object.__setattr__(self, "prompts", prompts.PromptSet(**self.prompts))
        check_type(self, "prompts", prompts.PromptSet, optional=True)
        check_count(self, "resolution", 1)
        for name in ("max_tokens", "stroke_max_tokens", "plan_max_tokens"):
            check_count(self, name, 1)
        check_range(self, "temperature", 0, 2)  # fitted into each model's own range when sent
        check_range(self, "retry_temperature", 0, 2)
        check_count(self, "retries", 0)
        check_count(self, "max_strokes", 1)
        check_choice(self, "send_image", ("auto", "never"))
        for name in ("with_example", "compact", "lenient", "prefill_points", "constrained"):
            check_type(self, name, bool)
        check_choice(self, "prefill", ("thinking", "answer", "none"))
        check_count(self, "forced_strokes", 0)
        check_choice(self, "retrieved_example", ("none", "heldout", "all"))


def preset_config(model_spec: str, preset: Literal["auto", "full", "tiny"] = "auto", **overrides) -> AgentConfig:
    """Agent settings for a model: "full" is the paper's setup; "tiny" suits the embedded 135M local model (short
    prompt without the worked example, no plan, replies prefilled up to the first cells, small budgets); "auto"
    picks "tiny" for the spec "local" and "full" otherwise. `overrides` replace single fields.
    """
    if preset not in ("auto", "full", "tiny"):
        raise InputError(f"expected preset 'auto', 'full' or 'tiny', got {preset!r}")
    tiny = preset == "tiny" or (preset == "auto" and model_spec == "local")
    base = (
        AgentConfig(
            max_tokens=160,
            stroke_max_tokens=60,
            plan_max_tokens=24,
            retries=1,
            max_strokes=3,
            compact=True,
            with_example=False,
            prefill="answer",
            forced_strokes=3,
            prefill_points=True,
        )
        if tiny
        else AgentConfig()
    )
    from dataclasses import replace

    return replace(base, **overrides)


@dataclass
class DrawResult:
    """A finished drawing.

    Attributes:
        sketch: the sketch (with the model's plan in `sketch.thinking`).
        replies: every raw reply, in order (failed attempts included).
        failures: the parse errors of failed attempts.
        seconds: wall time.
    """

    sketch: Sketch
    replies: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class EditResult:
    """An applied edit: the new sketch and the stroke numbers (before the edit) that were added, modified, removed."""

    sketch: Sketch
    changes: dict[str, list[int]]
    replies: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0


class SketchAgent:
    """Draws with a chat model through the sketching language.

    Args:
        model: any `tinkerlab.llm.ChatModel` (e.g. `load_chat_model("local")` or a `ScriptedChatModel`).
        config: prompt and retry settings.
        transcript: a JSONL file for every exchange (sets the model's transcript).

    Example:
        >>> from tinkerlab.llm import ScriptedChatModel
        >>> reply = "<answer><strokes><s1><points>'x1y1','x9y9'</points><t_values>0,1</t_values></s1></strokes>"
        >>> SketchAgent(ScriptedChatModel([reply])).draw("line").sketch.strokes[0].points
        ((1, 1), (9, 9))
    """

    def __init__(self, model, config: AgentConfig = AgentConfig(), *, transcript: str | Path | None = None) -> None:
        self.model = model
        self.config = config
        if transcript is not None:
            model.set_transcript(transcript)
        self.grid = Grid(resolution=config.resolution)
        self._examples: dict[str, str] = {}

    # --- prompts ---------------------------------------------------------------------------------------------

    def _system(self):
        from tinkerlab.llm import Message

        return Message.system(
            prompts.system_prompt(self.config.resolution, compact=self.config.compact, prompts=self.config.prompts)
        )

    def _task(self, concept: str, *, collaborative: bool = False):
        from tinkerlab.llm import Message

        build = prompts.collab_prompt if collaborative else prompts.sketch_prompt
        examples = self._retrieved_example(concept) if self.config.retrieved_example != "none" else None
        return Message.user(
            build(
                concept,
                self.config.resolution,
                with_example=self.config.with_example,
                prompts=self.config.prompts,
                examples=examples,
            )
        )

    def _retrieved_example(self, concept: str) -> str:
        from tinkerlab.sketch.retrieval import RetrievalConfig, example_text

        if concept not in self._examples:
            pool = self.config.retrieved_example
            strokes = example_text(concept, RetrievalConfig(pool=pool), max_strokes=6)  # type: ignore[arg-type]
            self._examples[concept] = (
                f"<examples>\nAn example: a {concept} traced from clip art:\n{strokes}\n</examples>"
            )
        return self._examples[concept]

    @property
    def prefill(self) -> bool:
        """Whether the model continues a prefilled assistant turn (asked of its capabilities, never assumed)."""
        capabilities = getattr(self.model, "capabilities", None)
        return bool(
            capabilities.prefill if capabilities is not None else getattr(self.model, "supports_prefill", False)
        )

    @property
    def constrained(self) -> bool:
        """Whether replies that hold strokes are decoded under the stroke grammar (local models, unless switched
        off in the config)."""
        return self.config.constrained and callable(getattr(self.model, "set_logits_processor", None))

    def _complete(
        self, messages, *, temperature: float, max_tokens: int, stop: list[str], strokes: bool = False
    ) -> str:
        capabilities = getattr(self.model, "capabilities", None)
        fitted = capabilities.fit_temperature(temperature) if capabilities is not None else None
        temperature = temperature if fitted is None else fitted
        if not (strokes and self.constrained):
            return self.model.complete(messages, temperature=temperature, max_tokens=max_tokens, stop=stop).text
        from tinkerlab.sketch.constrained import CONSTRAINT_NAME, stroke_constraint

        self.model.set_logits_processor(stroke_constraint(self.config.resolution), name=CONSTRAINT_NAME)
        try:
            return self.model.complete(messages, temperature=temperature, max_tokens=max_tokens, stop=stop).text
        finally:
            self.model.set_logits_processor(None)

    # --- text-to-sketch --------------------------------------------------------------------------------------

    def draw(self, concept: str) -> DrawResult:
        """Draw `concept` in one call.

        Raises:
            SketchSyntaxError: no attempt gave a readable sketch (the last parse error).
            LLMError: the model failed.
        """
        concept = _check_concept(concept)
        start = time.perf_counter()
        messages = [self._system(), self._task(concept)]
        result = DrawResult(Sketch())

        def read(text: str) -> Sketch:
            sketch = parse_sketch(text, resolution=self.config.resolution, strict=not self.config.lenient)
            return (
                sketch
                if sketch.concept
                else Sketch(sketch.strokes, concept, sketch.thinking, sketch.warnings, sketch.resolution)
            )

        answer = f"<answer>\n<concept>{concept}</concept>\n<strokes>\n<s1>\n<points>'x"
        result.sketch = self._ask(messages, read, result.replies, result.failures, answer)
        result.seconds = time.perf_counter() - start
        return result

    def _ask(
        self,
        messages: list,
        read: Callable[[str], object],
        replies: list[str],
        failures: list[str],
        answer_prefill: str = "",
    ):
        """Ask for a full answer (plan + <answer>), retrying with the parse error on unreadable replies.

        `answer_prefill` is the reply start used when `config.prefill` is "answer".
        """
        from tinkerlab.llm import Message

        prefill = ""
        if self.prefill:
            prefill = {"thinking": "<thinking>", "answer": answer_prefill, "none": ""}[self.config.prefill]
        for attempt in range(self.config.retries + 1):
            temperature = self.config.temperature if attempt == 0 else self.config.retry_temperature
            request = messages + ([Message.assistant(prefill)] if prefill else [])
            text = prefill + self._complete(
                request, temperature=temperature, max_tokens=self.config.max_tokens, stop=["</answer>"], strokes=True
            )
            if "<answer>" in text and "</answer>" not in text:
                text += "\n</answer>"
            replies.append(text)
            try:
                return read(text)
            except SketchSyntaxError as exc:
                failures.append(str(exc))
                messages = messages + [
                    Message.assistant(text),
                    Message.user(prompts.RETRY_PROMPT.format(error=exc)),
                ]
        raise SketchSyntaxError(
            f"no readable sketch after {self.config.retries + 1} attempts; last error: {failures[-1]}", 1, 1
        )

    # --- stroke by stroke ------------------------------------------------------------------------------------

    def plan(self, concept: str, *, collaborative: bool = False) -> str:
        """The reply prefix before the strokes: the plan in <thinking> and the opening of <answer>.

        One call with the stop sequence ``<strokes>`` (none when `config.prefill` is "answer"); the result always
        ends with ``<strokes>\\n``.
        """
        from tinkerlab.llm import Message

        if self.config.prefill == "answer" and self.prefill:
            return _close_plan("", concept)  # planning skipped (tiny models copy the prompt instead)
        messages = [self._system(), self._task(concept, collaborative=collaborative)]
        prefill = "<thinking>" if self.config.prefill == "thinking" and self.prefill else ""
        request = messages + ([Message.assistant(prefill)] if prefill else [])
        text = prefill + self._complete(
            request,
            temperature=self.config.temperature,
            max_tokens=self.config.plan_max_tokens,
            stop=["<strokes>"],
        )
        return _close_plan(text, concept)

    def next_stroke(
        self,
        concept: str,
        prefix: str,
        strokes: Sequence[Stroke],
        *,
        collaborative: bool = False,
        must_draw: bool = False,
        replies: list[str] | None = None,
        failures: list[str] | None = None,
    ) -> Stroke | None:
        """Ask for stroke number ``len(strokes) + 1``.

        Args:
            prefix: the plan from `plan` (ends with ``<strokes>``).
            strokes: the strokes so far (a person's strokes have no label).
            must_draw: open the stroke element in the prefill, so the model cannot end the sketch (collaboration).

        Returns:
            The stroke, or None when the model ended the sketch (only when not `must_draw`).

        Raises:
            SketchSyntaxError: no readable stroke after the bounded retries.
        """
        from tinkerlab.llm import Message

        replies = replies if replies is not None else []
        failures = failures if failures is not None else []
        index = len(strokes) + 1
        so_far = prefix + "".join(s.to_text(i) + "\n" for i, s in enumerate(strokes, start=1))
        base = [self._system(), self._task(concept, collaborative=collaborative)]
        prefill_capable = self.prefill
        opened = must_draw and prefill_capable
        points_prefill = "\n<points>'x" if opened and self.config.prefill_points else ""
        if prefill_capable:
            messages = base + [Message.assistant(so_far + (f"<s{index}>{points_prefill}" if opened else ""))]
        else:
            messages = base + [
                Message.assistant(so_far.rstrip()),
                Message.user(prompts.CONTINUE_PROMPT.format(index=index, concept=concept)),
            ]
        stop = [f"</s{index}>", "</strokes>", "</answer>"]
        for attempt in range(self.config.retries + 1):
            temperature = self.config.temperature if attempt == 0 else self.config.retry_temperature
            text = self._complete(
                messages, temperature=temperature, max_tokens=self.config.stroke_max_tokens, stop=stop, strokes=True
            )
            replies.append(text)
            body = points_prefill + text
            if not opened:
                opening = STROKE_OPEN.search(text)
                if opening is None:
                    if not must_draw:
                        return None
                    failures.append(f"no <s{index}> element in the reply")
                    continue
                body = text[opening.end() :]
            try:
                stroke, _ = parse_stroke(
                    body, name=f"s{index}", resolution=self.config.resolution, strict=not self.config.lenient
                )
                return stroke
            except SketchSyntaxError as exc:
                failures.append(str(exc))
        raise SketchSyntaxError(
            f"no readable stroke s{index} after {self.config.retries + 1} attempts; last error: {failures[-1]}",
            1,
            1,
        )

    def draw_stroke_by_stroke(
        self,
        concept: str,
        *,
        max_strokes: int | None = None,
        on_stroke: Callable[[int, Stroke], None] | None = None,
    ) -> DrawResult:
        """Draw `concept` one stroke per call until the model closes ``</strokes>`` or `max_strokes` is reached.

        Args:
            on_stroke: called with (number, stroke) after each stroke (e.g. to update a display).

        Raises:
            SketchSyntaxError: the first stroke could not be read after the retries (a later failure ends the
                drawing with what was drawn, noted in `failures`).
        """
        concept = _check_concept(concept)
        start = time.perf_counter()
        limit = max_strokes or self.config.max_strokes
        result = DrawResult(Sketch(concept=concept))
        prefix = self.plan(concept)
        result.replies.append(prefix)
        strokes: list[Stroke] = []
        while len(strokes) < limit:
            try:
                stroke = self.next_stroke(
                    concept,
                    prefix,
                    strokes,
                    replies=result.replies,
                    failures=result.failures,
                    must_draw=len(strokes) < self.config.forced_strokes,
                )
            except SketchSyntaxError:
                if not strokes:
                    raise
                break
            if stroke is None:
                break
            strokes.append(stroke)
            if on_stroke is not None:
                on_stroke(len(strokes), stroke)
        if not strokes:
            raise SketchSyntaxError("the model ended the sketch without drawing a stroke", 1, 1)
        thinking = _thinking_of(prefix)
        result.sketch = Sketch(tuple(strokes), concept, thinking, tuple(result.failures), self.config.resolution)
        result.seconds = time.perf_counter() - start
        return result

    # --- chat editing ----------------------------------------------------------------------------------------

    def edit(self, sketch: Sketch, instruction: str) -> EditResult:
        """Change `sketch` as `instruction` says (add, remove or modify strokes).

        The conversation is the task, the current sketch as the model's own answer, and the edit request (with the
        rendered canvas on the grid first, for models that accept images).

        Raises:
            SketchSyntaxError: no readable edit after the bounded retries.
        """
        from tinkerlab.llm import Message

        if not instruction or not instruction.strip():
            raise InputError("expected an editing instruction such as 'add a sun in the top right', got nothing")
        start = time.perf_counter()
        concept = sketch.concept or "sketch"
        listing = (
            "\n".join(
                f"s{i}: {s.label or 'unnamed'} (from {s.cells[0]} to {s.cells[-1]})"
                for i, s in enumerate(sketch.strokes, 1)
            )
            or "(none)"
        )
        text = prompts.edit_prompt(instruction, listing, len(sketch.strokes))
        parts: list = []
        capabilities = getattr(self.model, "capabilities", None)
        images = capabilities.images if capabilities is not None else getattr(self.model, "supports_images", False)
        if self.config.send_image == "auto" and images and sketch.strokes:
            parts.append(render_image(sketch, grid=self.grid, show_grid=True).convert("RGB"))
        parts.append(text)
        messages = [
            self._system(),
            self._task(concept),
            Message.assistant(sketch.to_text(include_thinking=True)),
            Message.user(*parts),
        ]
        replies: list[str] = []
        failures: list[str] = []
        answer = f"<answer>\n<strokes>\n<s{len(sketch.strokes) + 1}>\n<points>'x"
        edit = self._ask(
            messages,
            lambda reply: parse_edit(reply, resolution=self.config.resolution, strict=not self.config.lenient),
            replies,
            failures,
            answer,
        )
        edited, changes = edit.apply(sketch, instruction=instruction)
        return EditResult(edited, changes, replies, failures, time.perf_counter() - start)

    # --- collaboration ---------------------------------------------------------------------------------------

    def collaborate(self, concept: str) -> Collaboration:
        """A turn-taking session with a person (see `Collaboration`)."""
        return Collaboration(self, _check_concept(concept))


class Collaboration:
    """A person and the agent draw one concept together, one stroke each in turn.

    The agent plans once (on its first turn), then each turn continues the shared sketch with exactly one stroke.

    Example:
        >>> session = agent.collaborate("sailboat")                        # doctest: +SKIP
        >>> session.add_human_stroke([[100, 300], [300, 300]], [0.0, 0.4])  # doctest: +SKIP
        >>> session.agent_turn()                                            # doctest: +SKIP
    """

    def __init__(self, agent: SketchAgent, concept: str) -> None:
        self.agent = agent
        self.concept = concept
        self.strokes: list[Stroke] = []
        self.authors: list[Author] = []
        self.prefix: str | None = None
        self.replies: list[str] = []
        self.failures: list[str] = []
        self.mode: Literal["collab", "solo-agent"] = "collab"

    @property
    def sketch(self) -> Sketch:
        return Sketch(
            tuple(self.strokes),
            self.concept,
            _thinking_of(self.prefix or ""),
            (),
            self.agent.config.resolution,
        )

    @property
    def colors(self) -> list[str]:
        """Agent strokes pink, the person's green (as in the original interface)."""
        return [AGENT_COLOR if a == "agent" else HUMAN_COLOR for a in self.authors]

    def add_human_stroke(self, points, times=None) -> Stroke:
        """Add a person's stroke given as canvas pixels (y down) and timestamps; returns it in the language."""
        stroke = human_stroke(points, times, grid=self.agent.grid)
        self.strokes.append(stroke)
        self.authors.append("human")
        return stroke

    def agent_turn(self) -> Stroke:
        """The agent adds exactly one stroke.

        Raises:
            SketchSyntaxError: no readable stroke after the bounded retries (the sketch is unchanged).
        """
        stroke = self._agent_stroke(must_draw=True)
        if stroke is None:  # must_draw never ends the sketch; kept for type checkers
            raise SketchSyntaxError("the model ended the sketch instead of drawing a stroke", 1, 1)
        return stroke

    def agent_solo(self, max_strokes: int | None = None) -> list[Stroke]:
        """The agent draws alone, one stroke per call, until it ends the sketch or `max_strokes` (default
        `config.max_strokes`) strokes are on the canvas; returns the strokes it added.

        Raises:
            SketchSyntaxError: its first stroke could not be read (later failures end the drawing).
        """
        limit = max_strokes or self.agent.config.max_strokes
        added: list[Stroke] = []
        while len(self.strokes) < limit:
            try:
                stroke = self._agent_stroke(must_draw=not added and not self.strokes)
            except SketchSyntaxError:
                if not added:
                    raise
                break
            if stroke is None:
                break
            added.append(stroke)
        return added

    def _agent_stroke(self, *, must_draw: bool) -> Stroke | None:
        if self.prefix is None:
            self.prefix = self.agent.plan(self.concept, collaborative=True)
            self.replies.append(self.prefix)
        stroke = self.agent.next_stroke(
            self.concept,
            self.prefix,
            self.strokes,
            collaborative=True,
            must_draw=must_draw,
            replies=self.replies,
            failures=self.failures,
        )
        if stroke is None:
            return None
        if not stroke.label:
            stroke = Stroke(stroke.points, stroke.t_values, f"stroke {len(self.strokes) + 1}")
        self.strokes.append(stroke)
        self.authors.append("agent")
        return stroke

    def undo(self) -> Stroke | None:
        """Remove the last stroke (whoever drew it); None when the canvas is empty."""
        if not self.strokes:
            return None
        self.authors.pop()
        return self.strokes.pop()

    def clear(self, concept: str | None = None) -> None:
        """Empty the canvas; a new concept also forgets the plan."""
        self.strokes.clear()
        self.authors.clear()
        if concept is not None and concept.strip() and concept.strip() != self.concept:
            self.concept = _check_concept(concept)
            self.prefix = None


def _check_concept(concept: str) -> str:
    if not isinstance(concept, str) or not concept.strip():
        raise InputError(f"expected a concept to draw such as 'sailboat', got {concept!r}")
    return " ".join(concept.split())


def _close_plan(text: str, concept: str) -> str:
    """Make a plan reply end in ``<answer><concept>…</concept><strokes>`` whatever the model wrote."""
    text = text.rstrip()
    if "<thinking>" in text and "</thinking>" not in text:
        text += "\n</thinking>"
    if "<answer>" not in text:
        text += "\n<answer>"
    if "<concept>" not in text.split("<answer>")[-1]:
        text += f"\n<concept>{concept}</concept>"
    return text + "\n<strokes>\n"


def _thinking_of(prefix: str) -> str:
    if "<thinking>" not in prefix:
        return ""
    return prefix.split("<thinking>", 1)[1].split("</thinking>", 1)[0].strip()


__all__ = ["AgentConfig", "Collaboration", "DrawResult", "EditResult", "SketchAgent"]
