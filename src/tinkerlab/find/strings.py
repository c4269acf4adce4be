"""String functions of FIND (Schwettmann et al., NeurIPS 2023 Datasets & Benchmarks).

Each primitive operation is written once, as Python source with parameter slots; the same source is both the
ground truth code shown in reports and (compiled once) the function the black box runs, so they cannot drift.
A function is one primitive or the composition ``op1(op2(x))`` of two.

Example:
    >>> import numpy as np
    >>> spec = sample_string_function(np.random.default_rng(0), "f00000")
    >>> isinstance(string_function(spec)("hello"), str)
    True
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Primitive:
    """One string operation: source of ``def op(s)`` with ``{name}`` parameter slots, and a description."""

    name: str
    source: str
    description: str
    params: tuple[str, ...] = ()


_NUMBER_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen"
).split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()

HELPERS = f"""
_SMALL = {_NUMBER_WORDS!r}
_TENS = {_TENS!r}


def number_word(n):
    if n < 20:
        return _SMALL[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens - 2] + ("" if ones == 0 else "-" + _SMALL[ones])
    return str(n)


def shift_letter(c, k):
    if "a" <= c <= "z":
        return chr((ord(c) - 97 + k) % 26 + 97)
    if "A" <= c <= "Z":
        return chr((ord(c) - 65 + k) % 26 + 65)
    return c
"""
"""Helper functions every primitive may call (they are part of the ground-truth code)."""

VOWELS = "aeiouAEIOU"

# (name, body of `def op(s):` with {param} slots, description with {param} slots, parameter names)
_TABLE: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("upper", "return s.upper()", "converts the string to upper case", ()),
    ("lower", "return s.lower()", "converts the string to lower case", ()),
    ("capitalize", "return s.capitalize()", "capitalises the first letter and lower-cases the rest", ()),
    ("swapcase", "return s.swapcase()", "swaps upper and lower case", ()),
    ("reverse", "return s[::-1]", "reverses the string", ()),
    ("reverse_first_k", "return s[:{k}][::-1] + s[{k}:]", "reverses the first {k} characters", ("k",)),
    (
        "reverse_last_k",
        "return s[:-{k}] + s[-{k}:][::-1] if len(s) > {k} else s[::-1]",
        "reverses the last {k} characters",
        ("k",),
    ),
    ("remove_vowels", "return ''.join(c for c in s if c not in 'aeiouAEIOU')", "removes all vowels", ()),
    ("keep_vowels", "return ''.join(c for c in s if c in 'aeiouAEIOU')", "keeps only the vowels", ()),
    (
        "replace_vowels",
        "return ''.join({c!r} if c in 'aeiouAEIOU' else c for c in s)",
        "replaces every vowel with {c!r}",
        ("c",),
    ),
    (
        "double_vowels",
        "return ''.join(c * 2 if c in 'aeiouAEIOU' else c for c in s)",
        "doubles every vowel",
        (),
    ),
    ("keep_digits", "return ''.join(c for c in s if c.isdigit())", "keeps only the digits", ()),
    ("remove_digits", "return ''.join(c for c in s if not c.isdigit())", "removes all digits", ()),
    ("keep_upper", "return ''.join(c for c in s if c.isupper())", "keeps only the upper-case letters", ()),
    ("keep_letters", "return ''.join(c for c in s if c.isalpha())", "keeps only the letters", ()),
    ("count_chars", "return number_word(len(s))", "returns the number of characters as an English word", ()),
    (
        "count_vowels",
        "return number_word(sum(c in 'aeiouAEIOU' for c in s))",
        "returns the number of vowels as an English word",
        (),
    ),
    (
        "count_consonants",
        "return number_word(sum(c.isalpha() and c not in 'aeiouAEIOU' for c in s))",
        "returns the number of consonants as an English word",
        (),
    ),
    (
        "count_digits",
        "return number_word(sum(c.isdigit() for c in s))",
        "returns the number of digits as an English word",
        (),
    ),
    (
        "count_upper",
        "return number_word(sum(c.isupper() for c in s))",
        "returns the number of upper-case letters as an English word",
        (),
    ),
    (
        "count_char",
        "return number_word(s.lower().count({c!r}))",
        "returns how many times {c!r} occurs (ignoring case) as an English word",
        ("c",),
    ),
    ("append", "return s + {word!r}", "appends {word!r} at the end", ("word",)),
    ("prepend", "return {word!r} + s", "puts {word!r} in front", ("word",)),
    (
        "insert_middle",
        "return s[:len(s) // 2] + {word!r} + s[len(s) // 2:]",
        "inserts {word!r} in the middle",
        ("word",),
    ),
    ("repeat_twice", "return s + s", "repeats the string twice", ()),
    ("double_chars", "return ''.join(c * 2 for c in s)", "doubles every character", ()),
    (
        "caesar",
        "return ''.join(shift_letter(c, {k}) for c in s)",
        "shifts every letter {k} places forward in the alphabet (wrapping around)",
        ("k",),
    ),
    (
        "caesar_keyed",
        "return ''.join(shift_letter(c, ord(s[{i} % len(s)].lower()) % 26) for c in s) if s else s",
        "shifts every letter forward by (character code of the character at index {i}) mod 26",
        ("i",),
    ),
    (
        "swap_ends",
        "return s[-1] + s[1:-1] + s[0] if len(s) > 1 else s",
        "swaps the first and last characters",
        (),
    ),
    (
        "swap_pairs",
        "return ''.join(s[i:i + 2][::-1] for i in range(0, len(s), 2))",
        "swaps each pair of adjacent characters",
        (),
    ),
    (
        "rotate_left",
        "return s[{k} % len(s):] + s[:{k} % len(s)] if s else s",
        "rotates the string {k} places to the left",
        ("k",),
    ),
    (
        "rotate_right",
        "return s[-({k} % len(s)):] + s[:-({k} % len(s))] if s and {k} % len(s) else s",
        "rotates the string {k} places to the right",
        ("k",),
    ),
    ("drop_first", "return s[{k}:]", "drops the first {k} characters", ("k",)),
    ("drop_last", "return s[:-{k}]", "drops the last {k} characters", ("k",)),
    ("keep_first", "return s[:{k}]", "keeps the first {k} characters", ("k",)),
    ("keep_last", "return s[-{k}:]", "keeps the last {k} characters", ("k",)),
    (
        "char_at",
        "return s[{i}] if len(s) > {i} else ''",
        "returns the character at index {i} (empty if too short)",
        ("i",),
    ),
    ("even_chars", "return s[::2]", "keeps the characters at even positions (0, 2, 4, ...)", ()),
    ("odd_chars", "return s[1::2]", "keeps the characters at odd positions (1, 3, 5, ...)", ()),
    ("sort_chars", "return ''.join(sorted(s))", "sorts the characters (by character code)", ()),
    (
        "sort_chars_desc",
        "return ''.join(sorted(s, reverse=True))",
        "sorts the characters in descending order",
        (),
    ),
    (
        "dedupe",
        "return ''.join(dict.fromkeys(s))",
        "removes repeated characters, keeping first occurrences",
        (),
    ),
    (
        "squeeze",
        "return ''.join(c for i, c in enumerate(s) if i == 0 or s[i - 1] != c)",
        "collapses runs of the same character into one",
        (),
    ),
    ("replace_char", "return s.replace({a!r}, {b!r})", "replaces every {a!r} with {b!r}", ("a", "b")),
    (
        "remove_char",
        "return s.replace({c!r}, '').replace({c!r}.upper(), '')",
        "removes every {c!r} (either case)",
        ("c",),
    ),
    ("interleave", "return {c!r}.join(s)", "puts {c!r} between every two characters", ("c",)),
    (
        "alternate_case",
        "return ''.join(c.upper() if i % 2 == 0 else c.lower() for i, c in enumerate(s))",
        "makes even positions upper case and odd positions lower case",
        (),
    ),
    ("upper_first_k", "return s[:{k}].upper() + s[{k}:]", "upper-cases the first {k} characters", ("k",)),
    ("upper_last", "return s[:-1] + s[-1:].upper()", "upper-cases the last character", ()),
    (
        "next_vowel",
        "return s.translate(str.maketrans('aeiouAEIOU', 'eiouaEIOUA'))",
        "replaces each vowel with the next vowel (a->e, e->i, i->o, o->u, u->a)",
        (),
    ),
    (
        "atbash",
        "return ''.join(chr(219 - ord(c)) if 'a' <= c <= 'z' else chr(155 - ord(c)) if 'A' <= c <= 'Z' else c "
        "for c in s)",
        "maps each letter to its mirror in the alphabet (a<->z, b<->y, ...)",
        (),
    ),
    (
        "letter_positions",
        "return '-'.join(str(ord(c.lower()) - 96) for c in s if c.isalpha())",
        "lists the alphabet positions of the letters, joined by '-'",
        (),
    ),
    ("mirror", "return s + s[::-1]", "appends the reversed string to the string", ()),
    (
        "is_palindrome",
        "return 'yes' if s.lower() == s.lower()[::-1] else 'no'",
        "returns 'yes' if the string is a palindrome (ignoring case), else 'no'",
        (),
    ),
    (
        "length_parity",
        "return 'even' if len(s) % 2 == 0 else 'odd'",
        "returns 'even' or 'odd' according to the length",
        (),
    ),
    ("first_char_repeat", "return s[:1] * {k}", "repeats the first character {k} times", ("k",)),
    (
        "wrap",
        "return {left!r} + s + {right!r}",
        "wraps the string in {left!r} and {right!r}",
        ("left", "right"),
    ),
    ("duplicate_last", "return s + s[-1:]", "repeats the last character once more", ()),
    (
        "mask_digits",
        "return ''.join('#' if c.isdigit() else c for c in s)",
        "replaces every digit with '#'",
        (),
    ),
    (
        "shift_digits",
        "return ''.join(str((int(c) + {k}) % 10) if c.isdigit() else c for c in s)",
        "adds {k} to every digit (mod 10)",
        ("k",),
    ),
    ("middle_char", "return s[len(s) // 2] if s else ''", "returns the middle character", ()),
    ("first_to_end", "return s[1:] + s[:1]", "moves the first character to the end", ()),
    ("last_to_front", "return s[-1:] + s[:-1]", "moves the last character to the front", ()),
    (
        "char_map",
        "return s.translate(str.maketrans({src!r}, {dst!r}))",
        "maps the letters {src!r} to {dst!r} respectively",
        ("src", "dst"),
    ),
    (
        "swapcase_vowels",
        "return ''.join(c.swapcase() if c in 'aeiouAEIOU' else c for c in s)",
        "swaps the case of the vowels only",
        (),
    ),
    (
        "ascii_sum",
        "return str(sum(ord(c) for c in s) % {m})",
        "returns the sum of the character codes modulo {m}, as digits",
        ("m",),
    ),
    (
        "vowel_positions",
        "return ''.join(str(i) for i, c in enumerate(s) if c in 'aeiouAEIOU')",
        "lists the (0-based) positions of vowels, concatenated",
        (),
    ),
]

PRIMITIVES: dict[str, Primitive] = {
    name: Primitive(name, body, description, params) for name, body, description, params in _TABLE
}
"""The primitive string operations (more than 60)."""

_WORDS = (
    "apple river stone garden window planet silver orange tiger forest candle music winter summer yellow "
    "doctor rocket butter castle dragon pencil mirror island jungle market ocean pirate rabbit shadow "
    "thunder violin wizard zebra anchor bridge cookie desert engine falcon guitar harbor kettle lemon "
    "meadow needle orbit parrot quartz saddle tunnel umbrella velvet walnut yogurt banana camera dolphin "
    "eagle feather glacier hammer igloo jacket kitten ladder monkey napkin office puzzle queen radio "
    "sunset tomato unicorn valley wagon xylophone yacht zipper cloud bottle marble copper"
).split()


def sample_param(rng: np.random.Generator, name: str) -> Any:
    """Sample one primitive parameter by its slot name."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    if name == "k":
        return int(rng.integers(1, 6))
    if name == "i":
        return int(rng.integers(0, 4))
    if name == "m":
        return int(rng.choice([7, 10, 13, 26, 100]))
    if name in ("c", "a", "b"):
        return str(rng.choice(list("aeiourstlnmxyz")))
    if name == "word":
        return str(rng.choice(_WORDS))[: int(rng.integers(2, 6))]
    if name == "left":
        return str(rng.choice(["(", "[", "<", "{", "*", "_"]))
    if name == "right":
        return str(rng.choice([")", "]", ">", "}", "*", "_"]))
    if name == "src":
        return "".join(rng.choice(list(letters), size=4, replace=False))
    if name == "dst":
        return "".join(rng.choice(list(letters), size=4, replace=False))
    raise ValueError(f"unknown string parameter {name!r}")


def sample_op(rng: np.random.Generator, name: str | None = None) -> dict[str, Any]:
    """Sample one primitive with its parameters: ``{"op": name, "params": {...}}``."""
    name = name or str(rng.choice(sorted(PRIMITIVES)))
    params = {p: sample_param(rng, p) for p in PRIMITIVES[name].params}
    if name == "replace_char":
        while params["b"] == params["a"]:
            params["b"] = sample_param(rng, "b")
    return {"op": name, "params": params}


def op_source(op: dict[str, Any], function_name: str = "op") -> str:
    """The Python source of one parametrised primitive as ``def <function_name>(s):``."""
    primitive = PRIMITIVES[op["op"]]
    body = primitive.source.format(**op["params"])
    return f"def {function_name}(s):\n    {body}\n"


def op_description(op: dict[str, Any]) -> str:
    return PRIMITIVES[op["op"]].description.format(**op["params"])


def ground_truth_code(spec: dict[str, Any]) -> str:
    """Complete Python source defining ``f(x)`` for a string spec (helpers included)."""
    ops = spec["ops"]  # applied in order: ops[0] first
    parts = [HELPERS.strip() + "\n"]
    for index, op in enumerate(ops):
        parts.append(op_source(op, f"op{index + 1}"))
    call = "x"
    for index in range(len(ops)):
        call = f"op{index + 1}({call})"
    parts.append(f"def f(x):\n    return {call}\n")
    return "\n\n".join(parts)


def describe(spec: dict[str, Any]) -> str:
    ops = spec["ops"]
    if len(ops) == 1:
        return f"The function {op_description(ops[0])}."
    return f"The function first {op_description(ops[0])}, then {op_description(ops[1])}."


@functools.lru_cache(maxsize=4096)
def _compile(code: str) -> Callable[[str], str]:
    namespace: dict[str, Any] = {}
    exec(compile(code, "<find-string-function>", "exec"), namespace)  # noqa: S102 - our own generated code
    return namespace["f"]


def string_function(spec: dict[str, Any]) -> Callable[[str], str]:
    """The callable behind a string spec (compiled once from its ground-truth code)."""
    return _compile(spec["code"])


def safe_apply(spec: dict[str, Any], text: str) -> str:
    """Apply a string function, turning an exception into the text 'error' (as the black box would print)."""
    try:
        return str(string_function(spec)(text))
    except Exception:  # noqa: BLE001 - any failure of the function is a visible output
        return "error"


PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[]^_{|}~"
"""Punctuation that held-out inputs may carry (ASCII, as in the original's held-out inputs)."""

INPUT_SHARES = {"space": 0.203, "space_and_punctuation": 0.051, "punctuation": 0.086}
"""How often a held-out input has spaces only, both, or punctuation only. Measured on the original's 10,000
held-out inputs (`src/evaluate_interpretations/utils/eval_data_strings.json`, the correct candidate of each item):
25.4% contain a space, 13.7% punctuation, 34.0% either, so 5.1% both."""


def _token(rng: np.random.Generator) -> str:
    """A word, a capitalised word, a word with digits, a mixed-case fragment or a random alphanumeric string."""
    kind = int(rng.integers(0, 5))
    word = str(rng.choice(_WORDS))
    if kind == 0:
        return word
    if kind == 1:
        return word.capitalize()
    if kind == 2:
        return word + str(int(rng.integers(0, 1000)))
    if kind == 3:
        return word.upper()[: int(rng.integers(2, len(word) + 1))] + word[::-1][:3]
    alphabet = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    return "".join(rng.choice(alphabet, size=int(rng.integers(3, 10))))


def _phrase(rng: np.random.Generator) -> str:
    """Two to four words joined by spaces, sometimes with a leading, trailing or doubled space."""
    words = [str(w) for w in rng.choice(_WORDS, size=int(rng.integers(2, 5)))]
    if rng.random() < 0.3:
        words[0] = words[0].capitalize()
    text = " ".join(words)
    pad = rng.random()
    if pad < 0.1:
        return " " + text
    if pad < 0.2:
        return text + " "
    if pad < 0.25:
        return text.replace(" ", "  ", 1)
    return text


def _punctuate(rng: np.random.Generator, text: str) -> str:
    """Add one to three punctuation marks before, after or inside `text`."""
    marks = "".join(rng.choice(list(PUNCTUATION), size=int(rng.integers(1, 4))))
    where = int(rng.integers(0, 3))
    if where == 0:
        return marks + text
    if where == 1 or len(text) < 2:
        return text + marks
    cut = int(rng.integers(1, len(text)))
    return text[:cut] + marks + text[cut:]


def sample_input(rng: np.random.Generator) -> str:
    """A test input. Spaces and punctuation come in the original's proportions (`INPUT_SHARES`); the rest are
    single alphanumeric tokens."""
    draw = rng.random()
    spaced = INPUT_SHARES["space"]
    both = spaced + INPUT_SHARES["space_and_punctuation"]
    punctuated = both + INPUT_SHARES["punctuation"]
    if draw < spaced:
        return _phrase(rng)
    if draw < both:
        return _punctuate(rng, _phrase(rng))
    if draw < punctuated:
        return _punctuate(rng, _token(rng))
    return _token(rng)


def sample_string_function(
    rng: np.random.Generator, function_id: str, *, composite: bool | None = None, ratio: float = 0.3
) -> dict[str, Any]:
    """Sample a string function spec (one primitive, or a composition of two: about 70% by default).

    Args:
        rng: the random generator.
        function_id: e.g. 'f00007'.
        composite: force a composition (True) or a primitive (False); None draws with `ratio`.
        ratio: probability of a single primitive when `composite` is None.

    Returns:
        The spec dict with ``ops``, ``description`` and ``code``.
    """
    if composite is None:
        composite = bool(rng.random() > ratio)
    ops = [sample_op(rng)]
    if composite:
        second = sample_op(rng)
        while second["op"] == ops[0]["op"]:
            second = sample_op(rng)
        ops.append(second)
    spec: dict[str, Any] = {"id": function_id, "category": "strings", "ops": ops}
    spec["description"] = describe(spec)
    spec["code"] = ground_truth_code(spec)
    return spec


def held_out_pairs(spec: dict[str, Any], rng: np.random.Generator, count: int = 10) -> list[list[str]]:
    """`count` held-out exact-match pairs ``[input, output]`` on distinct inputs."""
    pairs: list[list[str]] = []
    seen: set[str] = set()
    tries = 0
    while len(pairs) < count and tries < 200:
        tries += 1
        text = sample_input(rng)
        if text in seen:
            continue
        seen.add(text)
        pairs.append([text, safe_apply(spec, text)])
    return pairs


def is_constant_on(pairs: list[list[str]]) -> bool:
    """Whether a function gives one output on all the given pairs (the suite redraws such functions)."""
    return len({out for _, out in pairs}) < 2


def unit_test_items(
    spec: dict[str, Any], rng: np.random.Generator, others: list[dict[str, Any]], count: int = 10
) -> list[dict[str, Any]]:
    """Three-way language unit tests: ``{"candidates": [[in, out] x 3], "answer": k}`` with exactly one correct
    execution of f (answer is 1-based); wrong candidates are outputs of `others` on the same input."""
    items: list[dict[str, Any]] = []
    tries = 0
    while len(items) < count and tries < 400:
        tries += 1
        inputs = [sample_input(rng) for _ in range(3)]
        answer = int(rng.integers(0, 3))
        candidates = []
        for slot, text in enumerate(inputs):
            truth = safe_apply(spec, text)
            if slot == answer:
                candidates.append([text, truth])
                continue
            wrong = None
            for other_index in rng.permutation(len(others))[:20]:
                out = safe_apply(others[int(other_index)], text)
                if out != truth:
                    wrong = out
                    break
            if wrong is None:
                break
            candidates.append([text, wrong])
        if len(candidates) == 3:
            items.append({"candidates": candidates, "answer": answer + 1})
    return items


def make_unit_tests(
    spec: dict[str, Any], rng: np.random.Generator, others: list[dict[str, Any]], count: int = 10
) -> tuple[list[list[str]], list[dict[str, Any]]]:
    """Held-out exact-match pairs and three-way language unit tests for a string function.

    Args:
        spec: the function.
        rng: the random generator.
        others: other string functions whose outputs serve as wrong candidates.
        count: number of pairs and of three-way items.

    Returns:
        (pairs, items): see `held_out_pairs` and `unit_test_items`.
    """
    return held_out_pairs(spec, rng, count), unit_test_items(spec, rng, others, count)
