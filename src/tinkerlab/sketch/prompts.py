"""Prompts for SketchAgent (Vinker et al., CVPR 2025), written for this project in the same structure as the
original: a system prompt that teaches the grid and the stroke rules with single-stroke primitives, a task prompt
with one complete worked example (here a sailboat, drawn in four steps), a plan-then-answer format, and short
prompts for editing and for taking turns with a person.

The paper's ablation found the complete worked example to matter most (Top-1 0.23 with it, 0.07 without), so the
example is kept by default; `compact=True` drops the primitives for very small local models with short contexts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tinkerlab.core.errors import InputError

SYSTEM_PROMPT = """You draw simple, expressive line sketches the way a person draws with a pen: a few confident \
strokes, clear shapes, recognisable at a glance.

The canvas is a square grid of {res} by {res} cells. A cell is named x<column>y<row>. Columns run 1..{res} from \
left to right and rows run 1..{res} from bottom to top: 'x1y1' is the bottom-left cell, 'x{res}y1' the \
bottom-right, 'x1y{res}' the top-left and 'x{res}y{res}' the top-right.

A stroke is one movement of the pen. Write it as the cells the pen passes through, in order, and give every cell a \
t value that says where along the stroke it lies: 0.00 at the start, 1.00 at the end, increasing in between. The \
cells are samples on a smooth curve fitted through them, so a few well-chosen cells give a smooth line.
- One cell is a dot; two cells are a straight line.
- A curve needs its start, its end and at least two cells in between.
- To close a shape, end on the cell where it started.
- For a sharp corner, write the corner cell twice in a row with t values slightly out of order (for example 0.52 \
then 0.48); without that the curve rounds the corner.
- Draw a long or detailed outline as several strokes that meet, not as one huge stroke.
{primitives}
Start with the largest, most important part and add details after it. Think step by step."""

PRIMITIVES = """
Single strokes, as examples:
<examples>
A gentle arc, like a smile:
<points>'x12y22', 'x17y17', 'x25y15', 'x33y17', 'x38y22'</points>
<t_values>0.00, 0.25, 0.50, 0.75, 1.00</t_values>

A circle around x25y25 (closed: it ends where it starts):
<points>'x25y33', 'x31y31', 'x33y25', 'x31y19', 'x25y17', 'x19y19', 'x17y25', 'x19y31', 'x25y33'</points>
<t_values>0.00, 0.125, 0.25, 0.375, 0.50, 0.625, 0.75, 0.875, 1.00</t_values>

A wide oval as two strokes, the upper half and then the lower half:
<points>'x10y25', 'x16y30', 'x25y32', 'x34y30', 'x40y25'</points>
<t_values>0.00, 0.25, 0.50, 0.75, 1.00</t_values>
<points>'x10y25', 'x16y20', 'x25y18', 'x34y20', 'x40y25'</points>
<t_values>0.00, 0.25, 0.50, 0.75, 1.00</t_values>

A pointed peak (the top cell is repeated for a sharp corner):
<points>'x10y10', 'x16y24', 'x16y24', 'x22y10'</points>
<t_values>0.00, 0.52, 0.48, 1.00</t_values>

A triangle (every corner repeated, closed at the start):
<points>'x10y10', 'x16y22', 'x16y22', 'x22y10', 'x22y10', 'x16y10', 'x10y10'</points>
<t_values>0.00, 0.35, 0.31, 0.69, 0.65, 0.83, 1.00</t_values>

A square:
<points>'x30y10', 'x30y20', 'x30y20', 'x40y20', 'x40y20', 'x40y10', 'x40y10', 'x30y10'</points>
<t_values>0.00, 0.27, 0.23, 0.52, 0.48, 0.77, 0.73, 1.00</t_values>

A dot:
<points>'x44y44'</points>
<t_values>0.00</t_values>

A straight line:
<points>'x5y5', 'x45y5'</points>
<t_values>0.00, 1.00</t_values>
</examples>
"""

# A complete worked example, shown in the order it is drawn (four snapshots, then the whole reply).
EXAMPLE_CONCEPT = "sailboat"
EXAMPLE_THINKING = """A sailboat: a rounded hull on the water, a tall mast, a big main sail behind the mast and \
a smaller front sail, a flag on top, and waves below. The boat fills the middle of the grid: the hull between rows \
9 and 16, the mast from x27y16 up to x27y44, one sail on each side of the mast, the waves along rows 4 to 8."""
EXAMPLE_STROKES = [
    ("'x11y16', 'x27y7', 'x43y16'", "0.00, 0.50, 1.00", "hull"),
    ("'x9y16', 'x45y16'", "0.00, 1.00", "deck line"),
    ("'x27y16', 'x27y44'", "0.00, 1.00", "mast"),
    ("'x28y43', 'x41y20'", "0.00, 1.00", "main sail edge"),
    ("'x41y20', 'x28y20'", "0.00, 1.00", "main sail foot"),
    ("'x26y38', 'x16y21'", "0.00, 1.00", "front sail edge"),
    ("'x16y21', 'x26y21'", "0.00, 1.00", "front sail foot"),
    ("'x27y44', 'x33y42', 'x33y42', 'x27y40'", "0.00, 0.52, 0.48, 1.00", "flag"),
    ("'x5y6', 'x11y7', 'x17y5', 'x23y6'", "0.00, 0.33, 0.67, 1.00", "wave on the left"),
    ("'x30y6', 'x36y7', 'x42y5', 'x48y6'", "0.00, 0.33, 0.67, 1.00", "wave on the right"),
]
EXAMPLE_STEPS = [
    (0, 2, "the hull"),
    (2, 5, "the mast and the main sail"),
    (5, 8, "the front sail and the flag"),
    (8, 10, "the waves"),
]


def stroke_element(index: int, points: str, t_values: str, label: str) -> str:
    """One ``<sN>`` element as text."""
    return f"<s{index}>\n<points>{points}</points>\n<t_values>{t_values}</t_values>\n<id>{label}</id>\n</s{index}>"


def example_answer() -> str:
    """The worked example as a complete reply (plan and answer)."""
    strokes = "\n".join(stroke_element(i + 1, *s) for i, s in enumerate(EXAMPLE_STROKES))
    return (
        f"<thinking>{EXAMPLE_THINKING}</thinking>\n<answer>\n<concept>{EXAMPLE_CONCEPT}</concept>\n"
        f"<strokes>\n{strokes}\n</strokes>\n</answer>"
    )


def example_block() -> str:
    """The worked example, built up step by step and then given in full."""
    lines = [f"An example: a {EXAMPLE_CONCEPT}, drawn step by step."]
    for start, stop, what in EXAMPLE_STEPS:
        body = "\n".join(stroke_element(i + 1, *EXAMPLE_STROKES[i]) for i in range(start, stop))
        lines.append(f"Next, {what}:\n{body}")
    lines.append(f"The complete reply for the {EXAMPLE_CONCEPT}:\n{example_answer()}")
    return "<examples>\n" + "\n\n".join(lines) + "\n</examples>"


FORMAT_BLOCK = """<formatting>
Plan first inside <thinking> tags: which parts the {concept} has, in which order to draw them, and where each goes \
on the grid. Then give the sketch inside <answer> tags:
<answer>
<concept>{concept}</concept>
<strokes>
<s1>
<points>cells of the first stroke, quoted and separated by commas</points>
<t_values>one t value per cell</t_values>
<id>a short name for what this stroke is</id>
</s1>
<s2>
...
</s2>
</strokes>
</answer>
</formatting>"""

SKETCH_PROMPT = """Here is an empty {res} by {res} grid. Draw a clear, recognisable sketch of a {concept}.
{examples}
Make your own drawing of the {concept}; do not copy the example.
{formatting}"""

CONTINUE_PROMPT = """Continue the sketch from exactly where your last message stopped. Write only the next stroke as \
<s{index}>...</s{index}> with <points>, <t_values> and <id>, or write </strokes> if the {concept} is complete."""

EDIT_PROMPT = """{instruction}
The sketch so far has the strokes s1 to s{count}:
{listing}
First say in <thinking> tags where the change goes on the grid. Then answer in the same format as before, inside \
<answer> tags, with only the changes:
- new strokes are numbered from s{next} on;
- to change an existing stroke, write it again under its own number and list it as <modify>s2</modify>;
- to delete strokes, list them as <remove>s3, s5</remove>.
Be concise."""

COLLAB_PROMPT = """We are drawing a {concept} together on a {res} by {res} grid, taking turns: one stroke each. \
Strokes without an <id> were drawn by your partner; build on them, do not repeat them.
{examples}
{formatting}"""

RETRY_PROMPT = """Your reply could not be read: {error}
Answer again with the full format: <thinking>...</thinking> then <answer> with <concept> and <strokes>."""


def system_prompt(resolution: int = 50, *, compact: bool = False, prompts: PromptSet | None = None) -> str:
    """The system prompt: the grid, the stroke rules and (unless `compact`) single-stroke primitives; or the
    system prompt of a user's `PromptSet`."""
    if prompts is not None:
        return prompts.system.format(res=resolution)
    return SYSTEM_PROMPT.format(res=resolution, primitives="" if compact else PRIMITIVES)


def _examples(resolution: int, with_example: bool, prompts: PromptSet | None) -> str:
    if not with_example:
        return ""
    if prompts is not None:
        return prompts.example.format(res=resolution)
    return example_block()


def sketch_prompt(
    concept: str,
    resolution: int = 50,
    *,
    with_example: bool = True,
    prompts: PromptSet | None = None,
    examples: str | None = None,
) -> str:
    """The text-to-sketch task for `concept` (with a `PromptSet`: its task and worked example; `examples`, when
    given, replaces the worked example)."""
    template = prompts.task if prompts is not None and prompts.task else SKETCH_PROMPT
    return template.format(
        res=resolution,
        concept=concept,
        examples=examples if examples is not None else _examples(resolution, with_example, prompts),
        formatting=FORMAT_BLOCK.format(concept=concept),
    )


def collab_prompt(
    concept: str,
    resolution: int = 50,
    *,
    with_example: bool = True,
    prompts: PromptSet | None = None,
    examples: str | None = None,
) -> str:
    """The task when the agent and a person take turns (a `PromptSet` supplies the worked example)."""
    return COLLAB_PROMPT.format(
        res=resolution,
        concept=concept,
        examples=examples if examples is not None else _examples(resolution, with_example, prompts),
        formatting=FORMAT_BLOCK.format(concept=concept),
    )


def example_concepts(prompts: PromptSet | None = None) -> tuple[str, ...]:
    """The concepts the prompt shows complete drawings of (never evaluated): the built-in example's, and the
    `PromptSet`'s when one is used."""
    if prompts is None:
        return (EXAMPLE_CONCEPT,)
    return tuple(c for c in (prompts.example_concept,) if c)


def edit_prompt(instruction: str, listing: str, count: int) -> str:
    """The chat-editing request; `listing` names the existing strokes."""
    instruction = instruction.strip()
    if instruction and instruction[-1] not in ".!?":
        instruction += "."
    return EDIT_PROMPT.format(instruction=instruction, listing=listing, count=count, next=count + 1)


# --- prompts from a file ---------------------------------------------------------------------------------------

PROMPT_FILE_KEYS = {
    "name": (),
    "system": ("res",),
    "task": ("res", "concept", "examples", "formatting"),
    "example": ("res",),
    "example_concept": (),
}
"""The keys of a prompts file, each with the placeholders its text may use."""


@dataclass(frozen=True)
class PromptSet:
    """A system prompt and worked example supplied by the user (`load_prompts`), used instead of the built-in ones.

    Attributes:
        name: a label for the set (recorded with every run; default: the file's name).
        system: the system prompt; ``{res}`` is the grid size.
        task: the text-to-sketch request; ``{concept}``, ``{res}``, ``{examples}`` and ``{formatting}`` (the
            answer format) are filled in. Empty: the built-in request.
        example: the worked example inserted as ``{examples}`` (``{res}`` is filled in). Empty: no example.
        example_concept: the concept the example draws; it is left out of every evaluation.
        source: the file it was read from.
        sha256: the hash of the file's bytes.
    """

    name: str
    system: str
    task: str = ""
    example: str = ""
    example_concept: str = ""
    source: str = ""
    sha256: str = ""

    def __post_init__(self) -> None:
        for key in ("name", "system", "task", "example", "example_concept", "source", "sha256"):
            if not isinstance(getattr(self, key), str):
                raise InputError(f"PromptSet.{key} must be text, got {type(getattr(self, key)).__name__}")
        if not self.system.strip():
            raise InputError("a prompt set needs a non-empty 'system' prompt")
        for key, allowed in PROMPT_FILE_KEYS.items():
            _check_placeholders(key, getattr(self, key), allowed)


def _check_placeholders(key: str, text: str, allowed: tuple[str, ...]) -> None:
    import string

    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        message = f"prompts: {key!r} is not a valid template ({exc}); write literal braces as {{{{ and }}}}"
        raise InputError(message) from None
    unknown = sorted(fields - set(allowed))
    if unknown:
        allowed_text = ", ".join("{" + a + "}" for a in allowed) or "none"
        raise InputError(
            f"prompts: {key!r} uses the placeholder(s) {', '.join('{' + u + '}' for u in unknown)}; expected only "
            f"{allowed_text} (write literal braces as {{{{ and }}}})"
        )


def load_prompts(path: str | Path) -> PromptSet:
    """Read a prompts file: TOML with the keys ``system`` (required), ``example``, ``example_concept``, ``task``
    and ``name`` (see docs/sketch.md, "Your own prompts").

    Raises:
        InputError: the file is missing, not TOML, has unknown keys, values that are not text, or placeholders a
            key does not take.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "p.toml"
        >>> _ = path.write_text('system = "A {res} by {res} grid."\\nexample_concept = "house"\\n')
        >>> prompts = load_prompts(path)
        >>> prompts.name, system_prompt(10, prompts=prompts)
        ('p', 'A 10 by 10 grid.')
    """
    import hashlib
    import tomllib

    path = Path(path)
    if not path.is_file():
        raise InputError(f"prompts file {str(path)!r} does not exist; expected a TOML file with a 'system' key")
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"prompts file {str(path)!r} is not UTF-8 TOML: {exc}") from None
    unknown = sorted(set(data) - set(PROMPT_FILE_KEYS))
    if unknown:
        raise InputError(f"prompts file {str(path)!r} has unknown keys {unknown}; expected {sorted(PROMPT_FILE_KEYS)}")
    for key, value in data.items():
        if not isinstance(value, str):
            raise InputError(f"prompts file {str(path)!r}: {key!r} must be a string, got {type(value).__name__}")
    if "system" not in data:
        raise InputError(f"prompts file {str(path)!r} has no 'system' key (the system prompt)")
    return PromptSet(
        name=data.get("name") or path.stem,
        system=data["system"],
        task=data.get("task", ""),
        example=data.get("example", ""),
        example_concept=data.get("example_concept", "").strip().lower(),
        source=str(path),
        sha256=hashlib.sha256(raw).hexdigest(),
    )
