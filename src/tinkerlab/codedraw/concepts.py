"""Concept lists at three levels of complexity: shapes, objects and scenes (data files, one concept per line).

>>> levels = load_levels()
>>> [len(levels[level]) >= need for level, need in (("shapes", 50), ("objects", 100), ("scenes", 50))]
[True, True, True]
>>> parse_concepts("circle\\n# a comment\\n\\nsquare\\n")
['circle', 'square']
"""

from __future__ import annotations

from pathlib import Path

from tinkerlab.core.errors import InputError

LEVELS = ("shapes", "objects", "scenes")
DATA = Path(__file__).with_name("data")
MAX_CONCEPT_CHARS = 200


def parse_concepts(text: str, source: str = "<text>") -> list[str]:
    """Concepts from text: one per line; blank lines and lines starting with '#' are skipped.

    Raises:
        InputError: a line is too long or holds a control character (naming the line), a concept repeats, or the
            text holds no concept.
    """
    concepts: list[str] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if len(line) > MAX_CONCEPT_CHARS:
            raise InputError(
                f"{source}, line {number}: a concept of {len(line)} characters; expected at most "
                f"{MAX_CONCEPT_CHARS} (one short concept per line)"
            )
        if any(ord(c) < 32 for c in line):
            raise InputError(f"{source}, line {number}: a control character; expected plain text, one per line")
        key = line.lower()
        if key in seen:
            raise InputError(f"{source}, line {number}: {line!r} repeats line {seen[key]}; list each concept once")
        seen[key] = number
        concepts.append(line)
    if not concepts:
        raise InputError(f"{source}: no concepts; expected one concept per line ('#' starts a comment)")
    return concepts


def load_concepts(path: str | Path) -> list[str]:
    """Concepts from a text file (see `parse_concepts`); InputError when it is missing or not UTF-8 text."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"concept file {path} not found; expected a text file with one concept per line") from None
    except (UnicodeDecodeError, IsADirectoryError):
        raise InputError(f"concept file {path} is not UTF-8 text; expected one concept per line") from None
    return parse_concepts(text, str(path))


def load_levels() -> dict[str, list[str]]:
    """The built-in concept lists, by level."""
    return {level: load_concepts(DATA / f"{level}.txt") for level in LEVELS}


def resolve_concepts(spec: str) -> dict[str, list[str]]:
    """Concept lists from a spec: a level name, 'all', a comma-separated list of levels, or a file (level 'custom').

    >>> sorted(resolve_concepts("shapes,scenes"))
    ['scenes', 'shapes']
    """
    levels = load_levels()
    if spec == "all":
        return levels
    names = [name.strip() for name in spec.split(",") if name.strip()]
    if names and all(name in levels for name in names):
        return {name: levels[name] for name in names}
    if Path(spec).is_file():
        return {"custom": load_concepts(spec)}
    raise InputError(f"unknown concepts {spec!r}; expected a level ({', '.join(LEVELS)}), 'all', or a concept file")
