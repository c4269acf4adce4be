"""Constrained decoding for local models drawing in the sketching language of SketchAgent (Vinker et al., CVPR 2025).

Small local models wander off the language: they quote the prompt, write prose between cells, or stop mid-stroke.
Inside ``<strokes>`` this module lets a transformers model write only what the language allows, in its canonical
form, so every reply parses::

    <s1>
    <points>'x12y22', 'x17y17'</points>
    <t_values>0.00, 1.00</t_values>
    <id>left ear</id>
    </s1>
    </strokes>
    </answer>

- cells ``'x{column}y{row}'`` with both numbers in 1..resolution, `min_cells` to `max_cells` per stroke (the
  language also allows one-cell dots; by default the grammar asks for lines, since tiny models otherwise answer
  with a dot in the corner);
- exactly one t-value per cell, each ``0``, ``1``, ``0.d``..``0.ddd`` or ``1.0``..``1.000``;
- an optional ``<id>`` of letters and spaces (at most `max_label` characters);
- stroke numbers that count up by one from the first;
- after ``</strokes>``, only ``</answer>`` and the end of the reply.

Before ``<strokes>`` (a plan inside ``<thinking>``) the model writes freely. The reply budget is respected: when
the tokens left are just enough to finish the shortest valid ending from where the reply is, only that ending can be
written, so a reply cut by `max_tokens` still parses. Edits under constraint can only add strokes (the paper's
template), since ``<remove>`` and ``<modify>`` fall outside the grammar.

The grammar is a character-level state machine (`StrokeGrammar`); `StrokeLogitsProcessor` walks a trie of the
tokenizer's vocabulary alongside it to find the tokens allowed at each step. `stroke_constraint(resolution)`
returns the factory that `tinkerlab.llm.LocalChatModel.set_logits_processor` takes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tinkerlab.core.errors import InputError

__all__ = ["StrokeGrammar", "StrokeLogitsProcessor", "stroke_constraint", "CONSTRAINT_NAME"]

CONSTRAINT_NAME = "sketch-strokes-v2"
"""Names the grammar in response-cache keys, so constrained and free replies are never mixed up."""

_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ ")
_DIGITS = "0123456789"
_OPEN = "<strokes>"

State = tuple
"""A grammar state: a tuple whose first item names the phase (hashable, so allowed-token sets can be cached)."""


@dataclass(frozen=True)
class StrokeGrammar:
    """The canonical stroke language as a character-level state machine.

    Attributes:
        resolution: grid cells per side (cell numbers run 1..resolution).
        min_cells: fewest cells in one stroke.
        max_cells: most cells in one stroke.
        max_label: most characters in an ``<id>``.

    Example:
        >>> grammar = StrokeGrammar(resolution=50)
        >>> state = grammar.feed(grammar.start(), "<strokes>\\n<s1>\\n<points>'x3y4', 'x5y5'</points>\\n<t_values>0, 1")
        >>> grammar.closing(state)
        '</t_values>\\n</s1>\\n</strokes>\\n</answer>'
        >>> grammar.feed(state, "x") is None
        True
    """

    resolution: int = 50
    min_cells: int = 2
    max_cells: int = 16
    max_label: int = 32

    def __post_init__(self) -> None:
        for name in ("resolution", "min_cells", "max_cells", "max_label"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise InputError(f"StrokeGrammar.{name} must be a positive integer, got {value!r}")
        if self.min_cells > self.max_cells:
            raise InputError(f"StrokeGrammar.min_cells ({self.min_cells}) exceeds max_cells ({self.max_cells})")

    # --- states --------------------------------------------------------------------------------------------

    def start(self) -> State:
        """Before ``<strokes>``: free text, watching for the opening tag."""
        return ("outside", "", False)

    def body(self, next_stroke: int | None = None) -> State:
        """Right after ``<strokes>`` (or after a complete stroke, when `next_stroke` is its successor's number)."""
        return ("between", next_stroke, 0)

    def finished(self, state: State | None) -> bool:
        """Whether the reply may end here (after ``</answer>``, or outside the strokes)."""
        return state is not None and state[0] in ("end", "outside")

    def constrained(self, state: State | None) -> bool:
        """Whether `state` lies inside the strokes (where the grammar applies)."""
        return state is not None and state[0] != "outside"

    def feed(self, state: State | None, text: str) -> State | None:
        """The state after `text`, or None when `text` leaves the language."""
        for ch in text:
            if state is None:
                return None
            state = self.step(state, ch)
        return state

    def resume(self, prefill: str) -> State | None:
        """The state after an assistant prefill (the text the reply continues), or None when it cannot be followed.

        Complete strokes already in the prefill are skipped rather than re-read, so strokes written by a person
        (no ``<id>``, any t-values) may precede the reply.
        """
        state = self.feed(self.start(), prefill)
        if state is not None:
            return state
        opened = prefill.rfind(_OPEN)
        if opened < 0:
            return None
        rest = prefill[opened + len(_OPEN) :]
        closes = list(re.finditer(r"</s(\d+)>", rest))
        if not closes:
            return None
        last = closes[-1]
        return self.feed(self.body(int(last.group(1)) + 1), rest[last.end() :])

    # --- one character -------------------------------------------------------------------------------------

    def step(self, state: State, ch: str) -> State | None:  # noqa: C901 - one branch per phase reads best
        """The state after one character, or None."""
        phase = state[0]
        if phase == "outside":
            tail = (state[1] + ch)[-len("</thinking>") :]
            if tail.endswith(_OPEN):
                return self.body(None)
            thinking = state[2] or tail.endswith("<thinking>")
            return ("outside", tail, thinking and not tail.endswith("</thinking>"))
        if phase == "lit":
            rest, after = state[1], state[2]
            if ch != rest[0]:
                return None
            return ("lit", rest[1:], after) if len(rest) > 1 else after
        if phase == "between":
            _, number, newlines = state
            if ch == "\n" and newlines == 0:
                return ("between", number, 1)
            if ch == "<":
                return ("lt", number)
            return None
        if phase == "lt":
            number = state[1]
            if ch == "/" and number is not None:  # at least one stroke before </strokes>
                return ("lit", "strokes>\n</answer>", ("end",))
            if ch != "s":
                return None
            if number is None:
                return ("snum", "")
            return ("lit", f"{number}>\n<points>'x", ("num", "x", "", number, 0))
        if phase == "snum":
            digits = state[1]
            if ch in _DIGITS and not (ch == "0" and not digits) and len(digits) < 3:
                return ("snum", digits + ch)
            if ch == ">" and digits:
                return ("lit", "\n<points>'x", ("num", "x", "", int(digits), 0))
            return None
        if phase == "num":
            _, axis, digits, number, cells = state
            if ch in _DIGITS and not (ch == "0" and not digits) and int(digits + ch) <= self.resolution:
                return ("num", axis, digits + ch, number, cells)
            if not digits:
                return None
            if axis == "x" and ch == "y":
                return ("num", "y", "", number, cells)
            if axis == "y" and ch == "'":
                return ("cell", number, cells + 1)
            return None
        if phase == "cell":
            _, number, cells = state
            if ch == "," and cells < self.max_cells:
                return ("lit", " 'x", ("num", "x", "", number, cells))
            if ch == "<" and cells >= self.min_cells:
                return ("lit", "/points>\n<t_values>", ("t", "", number, cells, 0))
            return None
        if phase == "t":
            _, text, number, cells, done = state
            if _t_prefix(text + ch):
                return ("t", text + ch, number, cells, done)
            if not _t_complete(text):
                return None
            if done + 1 < cells and ch == ",":
                return ("lit", " ", ("t", "", number, cells, done + 1))
            if done + 1 == cells and ch == "<":
                return ("lit", "/t_values>\n<", ("idopen", number))
            return None
        if phase == "idopen":  # the <id> may be left out
            number = state[1]
            if ch == "i":
                return ("lit", "d>", ("label", "", number))
            if ch == "/":
                return ("lit", f"s{number}>", ("between", number + 1, 0))
            return None
        if phase == "label":
            _, text, number = state
            if ch in _LETTERS and len(text) < self.max_label and (text or ch != " "):
                return ("label", text + ch, number)
            if ch == "<":
                return ("lit", f"/id>\n</s{number}>", ("between", number + 1, 0))
            return None
        if phase == "end":
            return None
        raise ValueError(f"unknown grammar state {state!r}")  # pragma: no cover - states are made here only

    # --- the shortest valid ending -------------------------------------------------------------------------

    def closing(self, state: State) -> str:
        """The shortest text that ends a valid reply from `state` ('' outside the strokes or at the end)."""
        phase = state[0]
        if phase in ("outside", "end"):
            return ""
        if phase == "lit":
            return state[1] + self.closing(state[2])
        if phase == "between":
            return "</strokes>\n</answer>" if state[1] is not None else "<s" + self.closing(("snum", ""))
        if phase == "lt":
            return "/strokes>\n</answer>" if state[1] is not None else "s" + self.closing(("snum", ""))
        if phase == "snum":
            digits = state[1] or "1"
            return ("" if state[1] else "1") + ">\n<points>'x" + self.closing(("num", "x", "", int(digits), 0))
        if phase == "num":
            _, axis, digits, number, cells = state
            rest = ("" if digits else "1") + ("y1'" if axis == "x" else "'")
            return rest + self.closing(("cell", number, cells + 1))
        if phase == "cell":
            _, number, cells = state
            if cells < self.min_cells:
                return ", 'x" + self.closing(("num", "x", "", number, cells))
            return "</points>\n<t_values>" + self.closing(("t", "", number, cells, 0))
        if phase == "t":
            _, text, number, cells, done = state
            head = "" if _t_complete(text) else "0"  # "", "0." and "1." all need one more digit
            remaining = cells - done - 1
            return head + ", 0" * remaining + "</t_values>\n<" + self.closing(("idopen", number))
        if phase == "idopen":
            return f"/s{state[1]}>" + "\n</strokes>\n</answer>"
        if phase == "label":
            return f"</id>\n</s{state[2]}>" + "\n</strokes>\n</answer>"
        raise ValueError(f"unknown grammar state {state!r}")  # pragma: no cover


def _t_prefix(text: str) -> bool:
    """Whether `text` can still grow into a t-value (0, 1, 0.d{1,3}, 1.0{1,3})."""
    return bool(re.fullmatch(r"0(\.\d{0,3})?|1(\.0{0,3})?", text))


def _t_complete(text: str) -> bool:
    return bool(re.fullmatch(r"0(\.\d{1,3})?|1(\.0{1,3})?", text))


# --- the vocabulary ----------------------------------------------------------------------------------------------


class _Vocabulary:
    """The tokenizer's ASCII tokens as strings and as a character trie (built once per tokenizer)."""

    def __init__(self, tokenizer: Any) -> None:
        self.size = len(tokenizer)
        special = set(getattr(tokenizer, "all_special_ids", []) or [])
        self.strings: dict[int, str] = {}
        self.trie: dict = {}
        self.label_ids: list[list[int]] = []  # label_ids[n]: tokens of n letters/spaces
        ids = [[token_id] for token_id in range(self.size)]
        batch = getattr(tokenizer, "batch_decode", None)  # one call into a fast tokenizer's Rust code
        texts = batch(ids) if callable(batch) else [tokenizer.decode(i) for i in ids]
        for token_id, text in enumerate(texts):
            if token_id in special:
                continue
            if not text or not text.isascii() or not all(c.isprintable() or c == "\n" for c in text):
                continue
            self.strings[token_id] = text
            node = self.trie
            for ch in text:
                node = node.setdefault(ch, {})
            node.setdefault("", []).append(token_id)
            if set(text) <= _LETTERS:
                while len(self.label_ids) <= len(text):
                    self.label_ids.append([])
                self.label_ids[len(text)].append(token_id)
        eos = getattr(tokenizer, "eos_token_id", None)
        self.eos_ids = [eos] if isinstance(eos, int) else list(eos or [])
        self._holding: dict[str, list[int]] = {}

    def ending_with(self, ch: str) -> list[int]:
        """Tokens that hold the character `ch` (the only ones that can complete a stop string ending in it)."""
        if ch not in self._holding:
            self._holding[ch] = [t for t, text in self.strings.items() if ch in text]
        return self._holding[ch]


_VOCABULARIES: dict[int, _Vocabulary] = {}


def _vocabulary(tokenizer: Any) -> _Vocabulary:
    key = id(tokenizer)
    if key not in _VOCABULARIES:
        _VOCABULARIES[key] = _Vocabulary(tokenizer)
    return _VOCABULARIES[key]


class StrokeLogitsProcessor:
    """A transformers logits processor that keeps a reply inside the stroke language (see the module docstring).

    Args:
        tokenizer: the model's tokenizer.
        grammar: the grammar.
        prefill: the assistant text the reply continues (decides where in the grammar the reply starts).
        prompt_length: tokens of the prompt (generated tokens follow them in `input_ids`).
        max_new_tokens: the reply budget, kept so the reply can always be finished in time.
        stop: stop strings of the generation: the shortest ending only has to reach the first of them.
        max_time: the seconds after which the generation is cut (None: no limit); after 70% of them only the
            shortest ending may be written, so a reply cut by the time limit parses too.

    Attributes:
        states: the grammar state of each row after the tokens seen so far (None: the row left the grammar, which
            only happens when the prefill itself cannot be followed; such rows are not constrained).
    """

    def __init__(
        self,
        tokenizer: Any,
        grammar: StrokeGrammar,
        *,
        prefill: str,
        prompt_length: int,
        max_new_tokens: int,
        stop: list[str] | tuple[str, ...] = (),
        max_time: float | None = None,
    ) -> None:
        self.vocabulary = _vocabulary(tokenizer)
        self.grammar = grammar
        self.prompt_length = prompt_length
        self.max_new_tokens = max_new_tokens
        self.stop = tuple(s for s in stop if s)
        self.deadline = time.perf_counter() + 0.7 * max_time if max_time else None
        self.start = grammar.resume(prefill)
        self.states: list[State | None] = []
        self.seen: list[int] = []
        self.texts: list[str] = []  # the latest free text of each row (before the strokes)
        self._cache: dict[State, list[int]] = {}
        widest = "x" + "9" * len(str(grammar.resolution))
        self._longest_jump = len(grammar.closing(("lt", 999))) + grammar.min_cells * len(f"'{widest}{widest}', 1, ")

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        rows = input_ids.shape[0]
        if not self.states:
            self.states = [self.start] * rows
            self.seen = [self.prompt_length] * rows
            self.texts = [""] * rows
        for row in range(rows):
            state = self.states[row]
            for token_id in input_ids[row, self.seen[row] :].tolist():
                if state is None:
                    break
                if state[0] == "outside":
                    self.texts[row] = (self.texts[row] + self.vocabulary.strings.get(token_id, ""))[-64:]
                state = self._advance(state, token_id)
            self.seen[row] = int(input_ids.shape[1])
            left = self.max_new_tokens - (self.seen[row] - self.prompt_length)
            if self.deadline is not None and time.perf_counter() > self.deadline:
                left = 0  # time is nearly up: finish the reply the shortest way
            if state is not None and state[0] == "outside":
                if left > len(self._opening(state)) + self._closing_length(self.grammar.body(None)) + 2:
                    self.states[row] = state
                    self._keep_going(row, scores, self.texts[row])
                    continue
                state = ("lit", self._opening(state), self.grammar.body(None))  # the budget is nearly spent
            self.states[row] = state
            if state is None:
                continue
            allowed = self.allowed(state, left)
            mask = torch.ones(scores.shape[-1], dtype=torch.bool, device=scores.device)
            mask[[i for i in allowed if i < scores.shape[-1]]] = False
            scores[row, mask] = float("-inf")
        return scores

    def _keep_going(self, row: int, scores: Any, text: str) -> None:
        """Before the strokes the model writes freely, but may neither end the reply nor write a stop string."""
        for token_id in self.vocabulary.eos_ids:
            if token_id < scores.shape[-1]:
                scores[row, token_id] = float("-inf")
        for stop in self.stop:
            for token_id in self.vocabulary.ending_with(stop[-1]):
                if stop in text[-len(stop) :] + self.vocabulary.strings[token_id] and token_id < scores.shape[-1]:
                    scores[row, token_id] = float("-inf")

    @staticmethod
    def _opening(state: State) -> str:
        """What opens the strokes from free text: a plan still open inside <thinking> is closed first."""
        return ("\n</thinking>" if state[2] else "") + "\n<strokes>"

    def _advance(self, state: State, token_id: int) -> State | None:
        text = self.vocabulary.strings.get(token_id)
        if text is None:
            return state if state[0] == "outside" else None
        return self.grammar.feed(state, text)

    def allowed(self, state: State, left: int) -> list[int]:
        """Token ids that keep the reply valid from `state` with `left` tokens to go (the end token when done)."""
        if state[0] == "end":
            return list(self.vocabulary.eos_ids)
        # One token can lengthen the shortest ending by a whole stroke, so each token is checked against the budget
        # once the budget comes within reach of the longest such jump.
        tight = left <= self._closing_length(state) + self._longest_jump
        if tight:
            return self._tight(state, left)
        if state not in self._cache:
            self._cache[state] = self._walk(state)
        return self._cache[state]

    def _walk(self, state: State) -> list[int]:
        """Every token whose characters the grammar accepts from `state` (a walk over the vocabulary trie)."""
        allowed: list[int] = []
        grammar = self.grammar
        if state[0] == "label":  # letters: the trie below them is most of the vocabulary, so take it whole
            room = grammar.max_label - len(state[1])
            for length in range(1, min(room, len(self.vocabulary.label_ids) - 1) + 1):
                allowed.extend(
                    t for t in self.vocabulary.label_ids[length] if state[1] or self.vocabulary.strings[t][0] != " "
                )
            children = [("<", self.vocabulary.trie.get("<", {}))]
        else:
            children = list(self.vocabulary.trie.items())
        stack = [(node, grammar.step(state, ch)) for ch, node in children if ch]
        while stack:
            node, current = stack.pop()
            if current is None:
                continue
            allowed.extend(node.get("", []))
            for ch, child in node.items():
                if ch:
                    stack.append((child, grammar.step(current, ch)))
        return allowed

    def _tight(self, state: State, left: int) -> list[int]:
        """Tokens after which the shortest ending still fits in the budget."""
        if state[0] == "label":  # letters leave the ending as it is: all of them fit, or only the ending does
            room = self._closing_length(state) <= left - 1
            return self._walk(state) if room else self._walk_literal(self.grammar.closing(state))
        keep = []
        for token_id in self._walk(state):
            after = self.grammar.feed(state, self.vocabulary.strings[token_id])
            if after is not None and self._closing_length(after) <= left - 1:
                keep.append(token_id)
        return keep or self._walk_literal(self.grammar.closing(state))

    def _closing_length(self, state: State) -> int:
        """Characters of the shortest ending, up to the end of the first stop string in it."""
        closing = self.grammar.closing(state)
        ends = [closing.find(s) + len(s) for s in self.stop if s in closing]
        return min(ends) if ends else len(closing)

    def _walk_literal(self, text: str) -> list[int]:
        """Tokens that are a non-empty prefix of `text`."""
        allowed, node = [], self.vocabulary.trie
        for ch in text:
            node = node.get(ch)
            if node is None:
                break
            allowed.extend(node.get("", []))
        return allowed


def stroke_constraint(resolution: int = 50, **grammar_options: int) -> Callable[..., StrokeLogitsProcessor]:
    """The factory `LocalChatModel.set_logits_processor` takes: one `StrokeLogitsProcessor` per generation.

    Example:
        >>> factory = stroke_constraint(50)
        >>> model.set_logits_processor(factory, name=CONSTRAINT_NAME)  # doctest: +SKIP
    """
    grammar = StrokeGrammar(resolution=resolution, **grammar_options)

    def factory(
        *,
        tokenizer: Any,
        prefill: str,
        prompt_length: int,
        max_new_tokens: int,
        stop: list[str] | None = None,
        max_time: float | None = None,
    ) -> StrokeLogitsProcessor:
        return StrokeLogitsProcessor(
            tokenizer,
            grammar,
            prefill=prefill,
            prompt_length=prompt_length,
            max_new_tokens=max_new_tokens,
            stop=tuple(stop or ()),
            max_time=max_time,
        )

    return factory
