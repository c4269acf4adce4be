"""Drawing with code: ask a chat model for a program, render it, improve it by text-only feedback, and ask models
to recognise what a program draws.

The loop follows the original's protocol: round 0 asks for a program that draws the concept; each later round
sends the conversation so far and asks the model to improve its drawing, **without showing it the render**
(`feedback="text"`). `feedback="image"` attaches the render instead, for models that take images. Every round is
kept, failed ones included.

`skeleton=True` is constrained prompting for small models: the program's first lines (imports, a canvas) are given
and the model completes them (as an assistant prefill where the backend continues one); the kept program is the
skeleton plus the model's continuation.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tinkerlab.codedraw.render import Render, Renderer, check_language, extract_program
from tinkerlab.core.errors import InputError

FEEDBACK_MODES = ("text", "image")
SYSTEM = "You write short, self-contained programs that draw pictures. You answer with code only."

_HOW = {
    "matplotlib": (
        "a Python program that uses matplotlib to draw {concept}. Draw with patches, lines and text on a single "
        "figure; do not read files or save the figure. Give the program in one ```python block."
    ),
    "svg": (
        "an SVG document that draws {concept}, using a viewBox of 0 0 256 256 and only shapes, paths and text (no "
        "images or external links). Give the SVG in one ```svg block."
    ),
    "turtle": (
        "a Python program that uses the turtle module to draw {concept} (the canvas is about 400 by 400 around "
        "the origin). Do not ask for input. Give the program in one ```python block."
    ),
    "tikz": (
        "a TikZ picture (one tikzpicture environment, no \\documentclass) that draws {concept}. Give it in one "
        "```latex block."
    ),
}
_FENCE_TAG = {"matplotlib": "python", "svg": "svg", "turtle": "python", "tikz": "latex"}

SKELETONS = {
    "matplotlib": (
        "import matplotlib.pyplot as plt\n"
        "from matplotlib.patches import Circle, Ellipse, Polygon, Rectangle\n\n"
        "fig, ax = plt.subplots(figsize=(4, 4))\n"
        "ax.set_xlim(0, 10)\n"
        "ax.set_ylim(0, 10)\n"
        "ax.set_aspect('equal')\n"
        "ax.axis('off')\n"
        "# Draw {concept}:\n"
        "ax.add_patch("
    ),
    "svg": '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 256 256">\n  <!-- {concept} -->\n  <',
    "turtle": "import turtle\n\nt = turtle.Turtle()\nt.speed(0)\n# Draw {concept}:\nt.",
    "tikz": "\\begin{{tikzpicture}}\n% {concept}\n",
}
_SKELETON_END = {"svg": "</svg>", "tikz": "\\end{tikzpicture}"}


def prompt_digest() -> str:
    """A short digest of the prompts and skeletons: runs record it, so changed prompts never reuse old drawings."""
    import hashlib

    prompts = [improve_prompt("X", "svg", "E"), recognize_prompt("C", "svg"), recognize_prompt("C", "svg", ["a", "b"])]
    text = json.dumps([SYSTEM, _HOW, SKELETONS, prompts], sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def draw_prompt(concept: str, language: str) -> str:
    """The first request: a program in `language` that draws `concept`."""
    check_language(language)
    return "Write " + _HOW[language].format(concept=concept)


def improve_prompt(concept: str, language: str, error: str | None = None) -> str:
    """A later round's request: improve the drawing (the model does not see the picture)."""
    text = (
        f"Improve your drawing of {concept}: make it look more like {concept}, adding or correcting a few details. "
        f"Give the whole improved program in one ```{_FENCE_TAG[language]} block."
    )
    if error:
        text = f"Your program failed: {error.strip()[-600:]}\n" + text
    return text


def skeleton(concept: str, language: str) -> str:
    """The first lines of a program in `language` that a model completes (`skeleton=True`)."""
    check_language(language)
    return SKELETONS[language].replace("{concept}", concept.replace("\n", " ")).replace("{{", "{")


@dataclass
class Round:
    """One round of drawing: the request, the reply, the program, and what rendering it gave."""

    round: int
    prompt: str
    reply: str
    code: str | None
    status: str
    error: str = ""
    image: Any = None  # PIL image of the render, or None
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def record(self) -> dict[str, Any]:
        """A JSON-able record (the image left out)."""
        data = asdict(self)
        data.pop("image")
        return data


@dataclass
class Drawing:
    """A concept drawn in one language by one model, every round kept."""

    concept: str
    language: str
    model: str
    rounds: list[Round] = field(default_factory=list)

    @property
    def final(self) -> Round:
        return self.rounds[-1]

    @classmethod
    def from_record(cls, record: dict[str, Any], folder: str | Path | None = None) -> Drawing:
        """A drawing read back from its record (`drawing.json`), with the renders found in `folder`."""
        from PIL import Image

        rounds = []
        for entry in record["rounds"]:
            image = None
            path = Path(folder) / f"round_{entry['round']}.png" if folder is not None else None
            if path is not None and path.is_file():
                with Image.open(path) as opened:
                    image = opened.convert("RGB")
            rounds.append(Round(**entry, image=image))
        return cls(record["concept"], record["language"], record["model"], rounds)

    def record(self) -> dict[str, Any]:
        return {
            "concept": self.concept,
            "language": self.language,
            "model": self.model,
            "rounds": [r.record() for r in self.rounds],
        }


def _program(reply: str, language: str, start: str | None) -> str | None:
    """The program in a reply; with a skeleton, the skeleton plus the longest part of the reply's continuation that
    still parses (small models ramble into prose), closed where the language needs it."""
    if start is None:
        return extract_program(reply, language)
    if "```" in reply and not reply.lstrip().startswith("```"):
        # A continuation of the prefill closes the block the skeleton opened: the program is what comes before.
        continuation = reply.split("```", 1)[0]
        if language in ("matplotlib", "turtle") and _parsing_prefix(start, continuation).strip():
            return start + _parsing_prefix(start, continuation)
        if language == "svg" and "<" in continuation:
            return _well_formed_prefix(start, continuation, _SKELETON_END["svg"])
    fenced = extract_program(reply, language) if "```" in reply else None
    if fenced is not None and fenced.lstrip().startswith(start.strip().splitlines()[0]):
        start, body = "", fenced  # the model wrote the whole program out again
    else:
        body = fenced if fenced is not None else reply
    if language in ("matplotlib", "turtle"):
        return start + _parsing_prefix(start, body)
    end = _SKELETON_END.get(language, "")
    if language == "svg":
        return _well_formed_prefix(start, body, end)
    code = start + body
    return code if end in code else code.rstrip() + "\n" + end + "\n"


def _parsing_prefix(start: str, continuation: str) -> str:
    """The longest run of leading lines of `continuation` with which `start` + it parses as Python."""
    import ast

    lines = continuation.splitlines(keepends=True)
    kept = ""
    for end in range(1, len(lines) + 1):
        candidate = "".join(lines[:end])
        try:
            ast.parse(start + candidate)
        except SyntaxError:
            continue
        kept = candidate
    return kept


def _well_formed_prefix(start: str, continuation: str, end: str) -> str:
    """`start` + the longest prefix of `continuation` ending at a '>' that makes well-formed XML once `end` closes it
    (the whole continuation when it is well-formed as it is)."""
    import xml.etree.ElementTree as ET

    def parses(text: str) -> bool:
        try:
            ET.fromstring(text)
        except ET.ParseError:
            return False
        return True

    whole = start + continuation
    if parses(whole):
        return whole
    cuts = [i + 1 for i, c in enumerate(continuation) if c == ">"]
    for cut in reversed(cuts[-200:]):
        candidate = start + continuation[:cut] + "\n" + end + "\n"
        if parses(candidate):
            return candidate
    return start + end + "\n"


def draw(
    concept: str,
    language: str,
    model: Any,
    renderer: Renderer,
    *,
    rounds: int = 1,
    feedback: str = "text",
    skeleton_prompt: bool = False,
    show_errors: bool = False,
    temperature: float = 0.0,
    max_tokens: int = 700,
    previous: Drawing | None = None,
) -> Drawing:
    """Draw `concept` in `language` with `model`: one first attempt, then `rounds - 1` improvement rounds.

    Args:
        concept: what to draw.
        language: one of LANGUAGES.
        model: a `tinkerlab.llm.ChatModel`.
        renderer: the `Renderer` (sandboxed) that runs the programs.
        rounds: 1 draws once; each extra round asks for an improvement.
        feedback: "text" (the model never sees its render, as the original) or "image" (the render is attached;
            the model must take images).
        skeleton_prompt: give the program's first lines for the model to complete.
        show_errors: in text feedback, tell the model the error of a program that failed.
        temperature: sampling temperature (0 is greedy and cached).
        max_tokens: the longest reply.
        previous: an earlier drawing of the same concept to continue: its rounds are replayed as the conversation
            and `rounds` more are added (all improvement rounds).
    """
    from tinkerlab.llm import Message

    check_language(language)
    if not isinstance(rounds, int) or rounds < 1:
        raise InputError(f"rounds must be a whole number of at least 1, got {rounds!r}")
    if feedback not in FEEDBACK_MODES:
        raise InputError(f"feedback must be one of {', '.join(FEEDBACK_MODES)}, got {feedback!r}")
    if feedback == "image" and not model.supports_images:
        raise InputError(f"image feedback needs a model that takes images; {model.name} does not (use --feedback text)")
    drawing = Drawing(concept, language, model.name)
    messages = [Message.system(SYSTEM)]
    start = skeleton(concept, language) if skeleton_prompt else None
    first = 0
    if previous is not None:
        if previous.concept != concept or previous.language != language:
            raise InputError("the drawing to continue is of another concept or language")
        for entry in previous.rounds:
            messages.append(Message.user(entry.prompt))
            shown = entry.code if entry.code is not None else entry.reply
            messages.append(Message.assistant(f"```{_FENCE_TAG[language]}\n{shown}\n```"))
            drawing.rounds.append(entry)
        first = len(previous.rounds)
    for index in range(first, first + rounds):
        if index == 0:
            prompt = draw_prompt(concept, language)
            if start is not None:
                prompt += f" Complete this program:\n```{_FENCE_TAG[language]}\n{start}```"
        else:
            last = drawing.rounds[-1]
            error = last.error if (show_errors and not last.ok) else None
            prompt = improve_prompt(concept, language, error)
        parts: list[Any] = [prompt]
        if index > 0 and feedback == "image" and drawing.rounds[-1].image is not None:
            parts = ["This is how your last program renders.", drawing.rounds[-1].image, prompt]
        messages.append(Message.user(*parts))
        request = list(messages)
        prefill = start is not None and index == 0 and model.supports_prefill
        if prefill:
            request.append(Message.assistant(start))
        reply = model.complete(request, temperature=temperature, max_tokens=max_tokens).text
        code = _program(reply, language, start if index == 0 else None)
        result: Render = renderer.render(code, language)
        drawing.rounds.append(
            Round(index, prompt, reply, code, result.status, result.error, result.image, result.duration_s)
        )
        shown = code if code is not None else reply
        messages.append(Message.assistant(f"```{_FENCE_TAG[language]}\n{shown}\n```"))
    return drawing


# --- recognition -------------------------------------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")
_STOP = {"a", "an", "the", "of", "with", "and", "in", "on", "to", "its", "at", "by", "for", "two", "three", "five"}


def _words(text: str) -> set[str]:
    words = set()
    for word in _WORD.findall(text.lower()):
        if word in _STOP:
            continue
        if len(word) > 3 and word.endswith("es") and word[:-2] + "e" not in words:
            word = word[:-1] if word.endswith("ses") else word
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        words.add(word)
    return words


def names_concept(answer: str, concept: str) -> bool:
    """Whether an open-ended answer names the concept: every content word of the concept appears in the answer.

    >>> names_concept("It is a drawing of two cats.", "cat"), names_concept("a dog", "cat")
    (True, False)
    >>> names_concept("A red sailboat", "sailboat"), names_concept("boat", "sailboat")
    (True, False)
    """
    need = _words(concept)
    return bool(need) and need <= _words(answer)


def recognize_prompt(code: str, language: str, options: Sequence[str] | None = None) -> str:
    """Ask what a program draws: open-ended, or as a choice among lettered options."""
    tag = _FENCE_TAG.get(language, "")
    text = f"This program draws a picture:\n```{tag}\n{code.strip()}\n```\n"
    if options is None:
        return text + "What does the picture show? Answer with a short name only."
    lettered = "\n".join(f"{chr(65 + i)}) {option}" for i, option in enumerate(options))
    return text + f"Which of these does it show?\n{lettered}\nAnswer with the letter only."


def parse_choice(reply: str, options: Sequence[str]) -> int | None:
    """The option a reply picks: a leading letter ('B', 'B)', '(B)'), else the one option named; None if unclear.

    >>> parse_choice("B) cat", ["dog", "cat"]), parse_choice("It is a cat.", ["dog", "cat"]), parse_choice("?", ["a"])
    (1, 1, None)
    """
    text = reply.strip()
    match = re.match(r"^\(?([A-Za-z])\)?(?:[).:\s]|$)", text)
    if match:
        index = ord(match.group(1).upper()) - 65
        if 0 <= index < len(options):
            return index
    named = [i for i, option in enumerate(options) if names_concept(text, option)]
    return named[0] if len(named) == 1 else None


@dataclass
class Recognition:
    """One recognition item's outcome."""

    concept: str
    source: str
    answer: str
    correct: bool
    options: list[str] | None = None
    picked: int | None = None

    def record(self) -> dict[str, Any]:
        return asdict(self)


def recognize(
    code: str,
    language: str,
    concept: str,
    model: Any,
    *,
    distractors: Sequence[str] = (),
    choices: int = 0,
    seed: int = 0,
    source: str = "",
    max_tokens: int = 24,
) -> Recognition:
    """Ask `model` what `code` draws and score the answer against `concept`.

    `choices=0` is open-ended (correct when the answer names the concept); `choices=N` offers the concept among
    N - 1 distractors drawn (seeded) from `distractors`, shuffled; chance is 1/N.
    """
    from tinkerlab.llm import Message

    check_language(language)
    options = None
    if choices:
        pool = sorted({d for d in distractors if d.lower() != concept.lower()})
        if choices < 2 or len(pool) < choices - 1:
            raise InputError(
                f"a choice among {choices} needs at least {choices - 1} other concepts, got {len(pool)}; "
                "lower --choices or give more concepts"
            )
        rng = random.Random(f"{seed}:{concept}:{source}")
        options = rng.sample(pool, choices - 1) + [concept]
        rng.shuffle(options)
    prompt = recognize_prompt(code, language, options)
    reply = model.complete([Message.user(prompt)], temperature=0.0, max_tokens=max_tokens).text
    if options is None:
        return Recognition(concept, source, reply.strip(), names_concept(reply, concept))
    picked = parse_choice(reply, options)
    correct = picked is not None and options[picked] == concept
    return Recognition(concept, source, reply.strip(), correct, options, picked)
