"""The sketching language of SketchAgent (Vinker et al., "SketchAgent: Language-Driven Sequential Sketch
Generation", CVPR 2025): strokes written as cell names on a 50x50 grid, parsed from what models really emit.

A reply plans inside ``<thinking>`` and answers inside ``<answer>``::

    <answer>
    <concept>house</concept>
    <strokes>
    <s1>
    <points>'x10y10', 'x10y30', 'x10y30', 'x30y30'</points>
    <t_values>0.00, 0.55, 0.50, 1.00</t_values>
    <id>wall and roof line</id>
    </s1>
    </strokes>
    </answer>

Cells are ``x{column}y{row}`` with ``x1y1`` at the bottom left. The points of a stroke are samples on the curve at
their t-values (see `tinkerlab.sketch.geometry` for how they become Bézier curves).

`parse_sketch` is deliberately forgiving: ``<strokes>`` mentioned inside ``<thinking>``, ``&`` or ``<`` inside ids,
missing ids, stray whitespace, unquoted cells, and cells outside the grid (clamped, with a warning) are all read.
What cannot be read raises `SketchSyntaxError` with the line and column of the problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from tinkerlab.core.errors import InputError, SketchSyntaxError

RESOLUTION = 50

_CELL = re.compile(r"x\s*([-+]?\d+)\s*[,;_]?\s*y\s*([-+]?\d+)", re.IGNORECASE)
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_SEPARATORS = re.compile(r"[\s,;'\"`\[\]()]*")
_THINKING_BLOCK = re.compile(r"<\s*thinking\s*>(.*?)<\s*/\s*thinking\s*>", re.IGNORECASE | re.DOTALL)
_THINKING_OPEN = re.compile(r"<\s*thinking\s*>", re.IGNORECASE)
_ANSWER_OPEN = re.compile(r"<\s*answer\s*>", re.IGNORECASE)
_STROKES_OPEN = re.compile(r"<\s*strokes\s*>", re.IGNORECASE)
_STROKES_CLOSE = re.compile(r"<\s*/\s*strokes\s*>", re.IGNORECASE)
STROKE_OPEN = re.compile(r"<\s*s\s*(\d+)\s*>", re.IGNORECASE)
_STROKE_BOUNDARY = re.compile(r"<\s*/?\s*s\s*\d+\s*>|<\s*/\s*strokes\s*>|<\s*/\s*answer\s*>", re.IGNORECASE)
_CONCEPT = re.compile(r"<\s*concept\s*>(.*?)<\s*/\s*concept\s*>", re.IGNORECASE | re.DOTALL)


def _field_pattern(name: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    return (
        re.compile(rf"<\s*{name}\s*>", re.IGNORECASE),
        re.compile(rf"<\s*/\s*{name}\s*>", re.IGNORECASE),
    )


_POINTS = _field_pattern("points")
_TVALUES = _field_pattern(r"t[_ ]?values")
_ID = _field_pattern("id")
_ANY_FIELD_OPEN = re.compile(r"<\s*(?:points|t[_ ]?values|id)\s*>", re.IGNORECASE)


def _clean_label(label: str) -> str:
    label = re.sub(r"<\s*/\s*id\s*>", "", label, flags=re.IGNORECASE)
    return " ".join(label.split())


@dataclass(frozen=True)
class Stroke:
    """One stroke: grid cells sampled along the curve, their t-values, and a short label.

    Attributes:
        points: (column, row) cells, 1-based, row 1 at the bottom.
        t_values: one value in [0, 1] per point; any other count means "evenly spaced" when fitted.
        label: a short semantic name such as "left ear" (the ``<id>``); may be empty.
    """

    points: tuple[tuple[int, int], ...]
    t_values: tuple[float, ...] = ()
    label: str = ""

    def __post_init__(self) -> None:
        points = tuple((int(c), int(r)) for c, r in self.points)
        if not points:
            raise InputError("a stroke needs at least one point, got none")
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "t_values", tuple(float(t) for t in self.t_values))
        object.__setattr__(self, "label", _clean_label(self.label))

    @classmethod
    def from_cells(cls, cells: Sequence[str], t_values: Sequence[float] | None = None, label: str = "") -> Stroke:
        """A stroke from cell names such as ``['x1y1', 'x10y5']``; t defaults to evenly spaced.

        Raises:
            InputError: a name is not of the form ``x{column}y{row}``.
        """
        points = []
        for cell in cells:
            match = _CELL.fullmatch(cell.strip().strip("'\""))
            if match is None:
                raise InputError(f"expected a cell name like 'x12y30', got {cell!r}")
            points.append((int(match.group(1)), int(match.group(2))))
        if t_values is None:
            n = len(points)
            t_values = [0.0] if n == 1 else [round(i / (n - 1), 4) for i in range(n)]
        return cls(tuple(points), tuple(t_values), label)

    @property
    def cells(self) -> list[str]:
        """The points as cell names, e.g. ``['x1y1', 'x10y5']``."""
        return [f"x{c}y{r}" for c, r in self.points]

    def to_text(self, index: int) -> str:
        """The stroke as an ``<s{index}>`` element."""
        points = ", ".join(f"'{cell}'" for cell in self.cells)
        t_values = ", ".join(_format_t(t) for t in self.t_values)
        lines = [f"<s{index}>", f"<points>{points}</points>", f"<t_values>{t_values}</t_values>"]
        if self.label:
            lines.append(f"<id>{self.label}</id>")
        lines.append(f"</s{index}>")
        return "\n".join(lines)


def _format_t(t: float) -> str:
    short = f"{t:.2f}"
    return short if float(short) == t else repr(t)


@dataclass(frozen=True)
class Sketch:
    """A sketch: strokes in drawing order, the concept, the model's plan, and parse warnings.

    `thinking` and `warnings` do not take part in equality, so a round trip through `to_text` compares equal.
    """

    strokes: tuple[Stroke, ...] = ()
    concept: str = ""
    thinking: str = field(default="", compare=False)
    warnings: tuple[str, ...] = field(default=(), compare=False)
    resolution: int = RESOLUTION

    def __post_init__(self) -> None:
        object.__setattr__(self, "strokes", tuple(self.strokes))
        object.__setattr__(self, "concept", " ".join(self.concept.split()))
        for index, stroke in enumerate(self.strokes, start=1):
            for column, row in stroke.points:
                if not (1 <= column <= self.resolution and 1 <= row <= self.resolution):
                    raise InputError(
                        f"stroke s{index} has cell x{column}y{row} outside the grid; expected columns and rows "
                        f"in 1..{self.resolution}"
                    )

    def __len__(self) -> int:
        return len(self.strokes)

    def to_text(self, *, include_thinking: bool = False) -> str:
        """The sketch in the answer format; `parse_sketch(sketch.to_text()) == sketch`."""
        parts = []
        if include_thinking and self.thinking:
            parts.append(f"<thinking>{self.thinking}</thinking>")
        parts += ["<answer>", f"<concept>{self.concept}</concept>", "<strokes>"]
        parts.append(self.strokes_text())
        parts += ["</strokes>", "</answer>"]
        return "\n".join(p for p in parts if p)

    def strokes_text(self, start: int = 1) -> str:
        """Only the ``<sN>`` elements, numbered from `start`."""
        return "\n".join(stroke.to_text(start + i) for i, stroke in enumerate(self.strokes))

    def with_strokes(self, strokes: Iterable[Stroke]) -> Sketch:
        """A copy with these strokes (warnings cleared)."""
        return replace(self, strokes=tuple(strokes), warnings=())

    def add(self, *strokes: Stroke) -> Sketch:
        """A copy with `strokes` appended."""
        return self.with_strokes(self.strokes + tuple(strokes))

    def remove(self, indices: Iterable[int]) -> Sketch:
        """A copy without the strokes at these 1-based indices (``s1`` is index 1).

        Raises:
            InputError: an index is outside 1..len(sketch).
        """
        drop = set(indices)
        bad = sorted(i for i in drop if not 1 <= i <= len(self.strokes))
        if bad:
            raise InputError(f"stroke numbers {bad} do not exist; this sketch has s1..s{len(self.strokes)}")
        return self.with_strokes(s for i, s in enumerate(self.strokes, start=1) if i not in drop)


def _location(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a character offset."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _error(text: str, offset: int, message: str) -> SketchSyntaxError:
    line, column = _location(text, offset)
    return SketchSyntaxError(message, line, column)


def _inside(spans: list[tuple[int, int]], offset: int) -> bool:
    return any(start <= offset < end for start, end in spans)


def _field(body: str, base: int, patterns: tuple[re.Pattern[str], re.Pattern[str]]) -> tuple[str, int] | None:
    """Content and absolute offset of a field inside a stroke body; an unclosed field runs to the next field."""
    opening, closing = patterns
    found = opening.search(body)
    if found is None:
        return None
    start = found.end()
    close = closing.search(body, start)
    if patterns is _ID:
        end = close.start() if close else len(body)
    else:
        following = _ANY_FIELD_OPEN.search(body, start)
        candidates = [m.start() for m in (close, following) if m is not None]
        end = min(candidates) if candidates else len(body)
    return body[start:end], base + start


def _check_leftovers(
    text: str,
    content: str,
    base: int,
    pattern: re.Pattern[str],
    what: str,
    hint: str,
    warnings: list[str] | None = None,
) -> None:
    """Raise on text that is neither `pattern` nor a separator; with `warnings` (lenient) note it instead."""
    leftovers = pattern.sub(" ", content)
    position = 0
    for match in _SEPARATORS.finditer(leftovers):
        if match.start() != position:
            break
        position = match.end()
    if position < len(leftovers):
        bad = leftovers[position:].split()[0][:20]
        # Find the offending text in the original content to report its position.
        offset = content.find(bad) if bad in content else position
        if warnings is not None:
            warnings.append(f"ignored unexpected text {bad!r} in {what}")
            return
        raise _error(text, base + offset, f"unexpected {bad!r} in {what}; {hint}")


def _parse_stroke_body(
    text: str, body: str, base: int, name: str, resolution: int, warnings: list[str], lenient: bool = False
) -> Stroke:
    points_field = _field(body, base, _POINTS)
    if points_field is None:
        raise _error(text, base, f"stroke {name} has no <points> element")
    content, offset = points_field
    _check_leftovers(
        text,
        content,
        offset,
        _CELL,
        f"<points> of stroke {name}",
        "expected cells like 'x12y30' separated by commas",
        warnings if lenient else None,
    )
    points = []
    for match in _CELL.finditer(content):
        column, row = int(match.group(1)), int(match.group(2))
        clamped = (min(max(column, 1), resolution), min(max(row, 1), resolution))
        if clamped != (column, row):
            warnings.append(
                f"stroke {name}: cell x{column}y{row} is outside the {resolution}x{resolution} grid; "
                f"clamped to x{clamped[0]}y{clamped[1]}"
            )
        points.append(clamped)
    if not points:
        raise _error(text, offset, f"stroke {name} has an empty <points> element; expected cells like 'x12y30'")

    t_values: list[float] = []
    t_field = _field(body, base, _TVALUES)
    if t_field is None:
        warnings.append(f"stroke {name}: no <t_values>; using evenly spaced t")
    else:
        t_content, t_offset = t_field
        _check_leftovers(
            text,
            t_content,
            t_offset,
            _NUMBER,
            f"<t_values> of stroke {name}",
            "expected numbers in [0, 1]",
            warnings if lenient else None,
        )
        for match in _NUMBER.finditer(t_content):
            value = float(match.group(0))
            if not 0.0 <= value <= 1.0:
                warnings.append(f"stroke {name}: t-value {value} is outside [0, 1]; clamped")
                value = min(max(value, 0.0), 1.0)
            t_values.append(value)
        if len(t_values) != len(points):
            warnings.append(
                f"stroke {name}: {len(points)} points but {len(t_values)} t-values; evenly spaced t will be used"
            )

    id_field = _field(body, base, _ID)
    label = id_field[0] if id_field else ""
    return Stroke(tuple(points), tuple(t_values), label)


def parse_stroke(
    text: str, *, name: str = "s?", resolution: int = RESOLUTION, strict: bool = True
) -> tuple[Stroke, list[str]]:
    """Parse the inside of one stroke element (``<points>…</points><t_values>…</t_values><id>…</id>``).

    Used for stroke-by-stroke generation, where the reply stops right before ``</sN>``. With `strict=False`, text
    between the cells or numbers is ignored with a warning (only a stroke without any cell is an error).

    Returns:
        The stroke and the warnings (clamped cells, t-count mismatch).

    Raises:
        SketchSyntaxError: no readable ``<points>``.
    """
    warnings: list[str] = []
    boundary = _STROKE_BOUNDARY.search(text)
    body = text[: boundary.start()] if boundary else text
    return _parse_stroke_body(text, body, 0, name, resolution, warnings, lenient=not strict), warnings


def parse_sketch(text: str, *, resolution: int = RESOLUTION, strict: bool = True) -> Sketch:
    """Read a model's reply (or any text holding ``<sN>`` stroke elements) into a `Sketch`.

    Args:
        text: the reply.
        resolution: grid size (cells per side); cells outside are clamped with a warning.
        strict: when False, text between cells or t-values is ignored and strokes without any readable cell are
            skipped, each with a warning (an error is still raised when no stroke at all can be read).

    Returns:
        The sketch, with `thinking` and `warnings` filled in.

    Raises:
        SketchSyntaxError: no strokes were found, or a stroke cannot be read (strict mode); the message has the
            line and column.

    Example:
        >>> text = "<strokes><s1><points>'x1y1','x5y5'</points><t_values>0,1</t_values></s1></strokes>"
        >>> parse_sketch(text).strokes[0].points
        ((1, 1), (5, 5))
    """
    reading = _read(text, resolution, strict, require_strokes=True)
    return Sketch(
        tuple(s for _, s in reading.strokes),
        reading.concept,
        reading.thinking,
        tuple(reading.warnings),
        resolution,
    )


def read_sketch_file(path: str | Path, *, resolution: int = RESOLUTION, strict: bool = True) -> Sketch:
    """Read a text file holding a sketch (a model reply or a sketch.txt) with `parse_sketch`.

    Raises:
        InputError: `path` is missing, a folder, or not UTF-8 text (e.g. an image given by mistake).
        SketchSyntaxError: the text holds no readable sketch (with line and column).

    Example:
        >>> sketch = read_sketch_file("runs/sailboat/outputs/sketch.txt")  # doctest: +SKIP
    """
    from tinkerlab.core.paths import read_text_file

    text = read_text_file(path, expected="a sketch text file (UTF-8 text, e.g. sketch.txt)")
    return parse_sketch(text, resolution=resolution, strict=strict)


def _read(text: str, resolution: int, strict: bool, require_strokes: bool) -> _Reading:
    if not isinstance(text, str):
        raise TypeError(f"parse_sketch expects a str, got {type(text).__name__}")
    thinking_spans = [m.span() for m in _THINKING_BLOCK.finditer(text)]
    thinking = ""
    first_thinking = _THINKING_BLOCK.search(text)
    if first_thinking:
        thinking = first_thinking.group(1).strip()

    # Where the answer starts: after an <answer> outside closed <thinking> blocks, else the whole text.
    region_start = 0
    for match in _ANSWER_OPEN.finditer(text):
        if not _inside(thinking_spans, match.start()):
            region_start = match.end()
            break
    else:
        unclosed = _THINKING_OPEN.search(text)
        if unclosed and not thinking_spans:
            # An unclosed plan: the plan runs up to the first <strokes> that is followed by a stroke element.
            thinking = text[unclosed.end() :].split("<strokes>")[0].strip()

    # Pick the first <strokes> (outside closed thinking) that actually holds a stroke element.
    region_end = len(text)
    chosen = None
    for match in _STROKES_OPEN.finditer(text, region_start):
        if _inside(thinking_spans, match.start()):
            continue
        close = _STROKES_CLOSE.search(text, match.end())
        end = close.start() if close else len(text)
        if any(not _inside(thinking_spans, m.start()) for m in STROKE_OPEN.finditer(text, match.end(), end)):
            chosen = (match.end(), end)
            break
    if chosen is not None:
        region_start, region_end = chosen

    concept = ""
    for match in _CONCEPT.finditer(text):
        if not _inside(thinking_spans, match.start()):
            concept = match.group(1).strip()
            break

    warnings: list[str] = []
    strokes: list[tuple[int, Stroke]] = []
    openings = [
        m for m in STROKE_OPEN.finditer(text, region_start, region_end) if not _inside(thinking_spans, m.start())
    ]
    if not openings:
        if not require_strokes:
            return _Reading([], concept, thinking, warnings, thinking_spans)
        where = region_start if chosen else len(text)
        raise _error(text, where, "no strokes found; expected <strokes> holding <s1>...</s1> elements")
    for opening in openings:
        name = f"s{opening.group(1)}"
        boundary = _STROKE_BOUNDARY.search(text, opening.end(), region_end)
        body_end = boundary.start() if boundary else region_end
        body = text[opening.end() : body_end]
        try:
            stroke = _parse_stroke_body(text, body, opening.end(), name, resolution, warnings, lenient=not strict)
            strokes.append((int(opening.group(1)), stroke))
        except SketchSyntaxError as exc:
            if strict:
                raise
            warnings.append(f"skipped stroke {name}: {exc}")
    if not strokes:
        raise _error(text, openings[0].start(), "none of the strokes could be read: " + "; ".join(warnings))
    return _Reading(strokes, concept, thinking, warnings, thinking_spans)


@dataclass
class _Reading:
    strokes: list[tuple[int, Stroke]]
    concept: str
    thinking: str
    warnings: list[str]
    thinking_spans: list[tuple[int, int]]


_REMOVE = re.compile(r"<\s*remove\s*>(.*?)(?:<\s*/\s*remove\s*>|$)", re.IGNORECASE | re.DOTALL)
_MODIFY = re.compile(r"<\s*modify\s*>(.*?)(?:<\s*/\s*modify\s*>|$)", re.IGNORECASE | re.DOTALL)
_MODIFY_VERB = re.compile(
    r"\b(?:change|changes|modify|replace|move|redraw|re-draw|fix|edit|adjust|reshape|rewrite|straighten|enlarge|"
    r"shrink|resize)\b",
    re.IGNORECASE,
)
_STROKE_NAME = re.compile(r"\b(?:s|strokes?\s*)(\d+)\b", re.IGNORECASE)


def instruction_targets(instruction: str) -> set[int]:
    """Stroke numbers an instruction explicitly asks to change ("move s2", "redraw stroke 3"); empty otherwise.

    Example:
        >>> sorted(instruction_targets("make s2 and stroke 4 longer, then move s2 left"))
        [2, 4]
        >>> instruction_targets("add a sun above s2")
        set()
    """
    if not instruction or _MODIFY_VERB.search(instruction) is None:
        return set()
    return {int(n) for n in _STROKE_NAME.findall(instruction)}


@dataclass(frozen=True)
class SketchEdit:
    """The changes a chat-editing reply asks for.

    Attributes:
        strokes: (number, stroke) pairs, in the reply's order.
        remove: numbers of strokes to delete (numbers refer to the sketch before the edit).
        modify: numbers the reply declares as changed (``<modify>s2</modify>``).
        thinking: the model's plan.
        warnings: what the parser had to fix or skip.
    """

    strokes: tuple[tuple[int, Stroke], ...] = ()
    remove: tuple[int, ...] = ()
    modify: tuple[int, ...] = ()
    thinking: str = ""
    warnings: tuple[str, ...] = ()

    def apply(self, sketch: Sketch, *, instruction: str = "") -> tuple[Sketch, dict[str, list[int]]]:
        """The edited sketch and a summary {"added", "modified", "removed", "renumbered"} of stroke numbers.

        A reply stroke whose number is an existing stroke's replaces it only when the change is explicit: the
        reply lists it in ``<modify>``, or `instruction` asks to change that stroke by number ("move s2").
        Otherwise it is a new stroke appended at the end (replies that follow the paper's "only provide the added
        strokes" template often number their strokes from s1); those numbers are listed under "renumbered" and
        the choice is noted in the returned sketch's warnings. Unknown removals are ignored with a warning.
        """
        count = len(sketch.strokes)
        current = list(sketch.strokes)
        explicit = set(self.modify) | instruction_targets(instruction)
        modified, added, renumbered, notes = [], [], [], []
        for number, stroke in self.strokes:
            if 1 <= number <= count and number not in self.remove and number in explicit:
                current[number - 1] = stroke
                modified.append(number)
            else:
                if 1 <= number <= count:
                    renumbered.append(number)
                current.append(stroke)
                added.append(number)
        if renumbered:
            notes.append(
                f"reply strokes {renumbered} reuse numbers of existing strokes without <modify> or an instruction "
                f"to change them; added as new strokes s{count + 1} on"
            )
        removed = sorted({n for n in self.remove if 1 <= n <= count})
        ignored = sorted({n for n in self.remove if not 1 <= n <= count})
        if ignored:
            notes.append(f"ignored removal of strokes {ignored}: the sketch has s1..s{count}")
        kept = [stroke for i, stroke in enumerate(current, start=1) if i not in removed]
        edited = replace(sketch, strokes=tuple(kept), warnings=tuple(self.warnings) + tuple(notes))
        return edited, {"added": added, "modified": modified, "removed": removed, "renumbered": renumbered}


def parse_edit(text: str, *, resolution: int = RESOLUTION, strict: bool = False) -> SketchEdit:
    """Read a chat-editing reply: strokes, ``<remove>s3, s5</remove>`` and ``<modify>s2</modify>``.

    Raises:
        SketchSyntaxError: the reply holds neither readable strokes nor a removal.
    """
    reading = _read(text, resolution, strict, require_strokes=False)

    def numbers(pattern: re.Pattern[str]) -> tuple[int, ...]:
        found: list[int] = []
        for match in pattern.finditer(text):
            if not _inside(reading.thinking_spans, match.start()):
                found += [int(n) for n in re.findall(r"\d+", match.group(1))]
        return tuple(dict.fromkeys(found))

    remove, modify = numbers(_REMOVE), numbers(_MODIFY)
    if not reading.strokes and not remove:
        raise _error(text, len(text), "the edit holds no strokes and no <remove>; expected at least one change")
    return SketchEdit(tuple(reading.strokes), remove, modify, reading.thinking, tuple(reading.warnings))
