"""The FIND interpreter protocol (Schwettmann et al., NeurIPS 2023 D&B): black boxes, prompts, answer parsing.

The interpreter sees a function only as a script it can run: ``PYTHON(function.py v1 v2 ...)`` answers
``Function input - output pairs: (v1, f(v1)) (v2, f(v2)) ...``. The file name reveals nothing. It answers with
``[DESCRIPTION]:`` (all categories), ``[DOMAIN]:`` (numeric, relations) and ``[CODE]:`` (numeric, strings).
Prompts below follow the structure of the original's prompts, in our own words.
"""

from __future__ import annotations

import re
import shlex
import textwrap
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

SCRIPT = "function.py"

SYSTEM_PROMPT = (
    "You are an assistant that studies a black-box function by running experiments on it.\n"
    f"You have one command: PYTHON({SCRIPT} arg1 arg2 ...), which runs the function on each argument and prints "
    "its input-output pairs.\n"
    "End every message in which you want to run the command with a line of the form\n"
    f"COMMAND: PYTHON({SCRIPT} arg1 arg2 ...)\n"
    "Run one command per message and wait for its response. When you are done, give your final answer in the "
    "requested format instead of a command."
)

_NUMERIC = (
    "Hi, your job is to interpret a function f(x) that is implemented in the {script} script. f(x) takes "
    "numerical inputs.\n"
    "All you can do is call f(x) on a value of x by running PYTHON({script} value). You can call it on several "
    "inputs at once by running PYTHON({script} value1 value2 value3 ...). You can run the function more than "
    "once on the same input.\n"
    "Test a wide range of values before writing a description. You can test values between [-128 and 128].\n"
    "The output may be noisy; find a simple description of f(x) that explains most of its behavior. f(x) may "
    "combine several operations.{mlp}\n"
    "There may be an interval inside the domain where the function behaves differently. If so, describe that "
    "interval.\n"
    "Your description of the function should have three parts.\n"
    "[DESCRIPTION]: Describe what the function is doing in language.\n"
    "[DOMAIN]: What is the domain of the function? Is there an interval where it behaves unexpectedly? What are "
    "the numeric bounds of that interval, and what happens there?\n"
    "[CODE]: Write Python code that approximates the behavior of the function."
)

_STRINGS = (
    "Hi, your job is to interpret a function f(x) that is implemented in the {script} script. f(x) takes string "
    "inputs.\n"
    "All you can do is call f(x) on an input string by running PYTHON({script} string). You can call it on "
    "several inputs at once by running PYTHON({script} string1 string2 string3 ...).\n"
    "Test a wide range of inputs before writing a description.\n"
    "Find a simple description of f(x) that explains most of its behavior. f(x) may combine several "
    "operations.\n"
    "Your description of the function should have two parts.\n"
    "[DESCRIPTION]: Describe what the function is doing in language.\n"
    "[CODE]: Write Python code that approximates the behavior of the function."
)

_ENTITIES = (
    "Hi, your job is to interpret a function f(x) that is implemented in the {script} script. Inputs to f(x) "
    "are words, and its outputs are values between 0 and 1: the closer to 1, the more the input is associated "
    "with a concept (there may be more than one concept).\n"
    "All you can do is call f(x) by running PYTHON({script} word). You can call it on several words at once by "
    "running PYTHON({script} word1 word2 word3 ...).\n"
    "Test many diverse words, including unusual and obscure ones, before writing a description.\n"
    "Your description should be in the following form.\n"
    "[DESCRIPTION]: In a few words, the concept or concepts f(x) is selective for."
)

_RELATIONS = (
    "Hi, your job is to interpret a function f(x) that is implemented in the {script} script. Inputs to f(x) "
    "are words; a rule maps each input to an output word (inputs the rule does not cover give 'undefined').\n"
    "All you can do is call f(x) by running PYTHON({script} word). You can call it on several words at once by "
    "running PYTHON({script} word1 word2 word3 ...).\n"
    "Test many diverse inputs before writing a description. There may be a part of the domain where the rule "
    "does not hold; if so, describe that part.\n"
    "Your description should have two parts.\n"
    "[DESCRIPTION]: Describe the rule f(x) applies, in language.\n"
    "[DOMAIN]: Is there a part of the domain where the rule does not hold (where f(x) says 'undefined')? "
    "Describe it."
)

HINTS = "\nWe advise you to start with the following words: {words}"

FINAL_REQUEST = (
    "You have used all your experiments. Give your final answer now, in the requested format, starting with "
    "[DESCRIPTION]:"
)
NO_COMMAND = (
    f"Your message had no command. Run an experiment with COMMAND: PYTHON({SCRIPT} ...) or give your final "
    "answer starting with [DESCRIPTION]:"
)


def task_prompt(category: str, *, mlp: bool = False, hints: list[str] | None = None) -> str:
    """The first user message for a category (numeric with the MLP note when `mlp`; hint words appended)."""
    template = {"numeric": _NUMERIC, "strings": _STRINGS, "entities": _ENTITIES, "relations": _RELATIONS}[category]
    mlp_text = " f(x) is implemented by an MLP." if mlp else ""
    text = template.format(script=SCRIPT, mlp=mlp_text)
    if hints:
        text += HINTS.format(words=" ".join(hints))
    return text


# ---------------------------------------------------------------------------------------------- black box
class BlackBox:
    """A FIND function as the interpreter sees it.

    Args:
        spec: the function spec (the black box never shows it).
        lm: the FunctionLM behind entity/relation functions (None for numeric/strings).
        seed: seeds the noise of noisy/corrupted numeric functions (a fresh draw at every call).
        max_inputs: the most inputs one command may evaluate.

    Example:
        >>> box = BlackBox(spec)  # doctest: +SKIP
        >>> box.command("function.py 1 2")  # doctest: +SKIP
        'Function input - output pairs: (1.0, 3.0) (2.0, 5.0)'
    """

    def __init__(self, spec: dict[str, Any], lm: Any = None, *, seed: int = 0, max_inputs: int = 600) -> None:
        self.spec = spec
        self.category = spec["category"]
        self.lm = lm
        self.rng = np.random.default_rng(seed)
        self.max_inputs = max_inputs
        self.calls = 0
        self.inputs_evaluated = 0
        if self.category in ("entities", "relations") and lm is None:
            raise ValueError(f"{self.category} functions need an LM (tinkerlab.find.lm.load_function_lm)")

    def evaluate(self, inputs: list[Any]) -> list[Any]:
        """Outputs for `inputs` (floats for numeric; strings for strings and relations; P("1") for entities)."""
        self.calls += 1
        self.inputs_evaluated += len(inputs)
        if self.category == "numeric":
            from tinkerlab.find.numeric import exposed_values

            values = exposed_values(self.spec, np.asarray(inputs, dtype=float), self.rng)
            return [float(v) for v in values]
        if self.category == "strings":
            from tinkerlab.find.strings import safe_apply

            return [safe_apply(self.spec, str(text)) for text in inputs]
        if self.category == "entities":
            from tinkerlab.find.entities import entity_outputs

            return entity_outputs(self.spec, [str(t) for t in inputs], self.lm)
        from tinkerlab.find.relations import relation_outputs

        return relation_outputs(self.spec, [str(t) for t in inputs], self.lm)

    def command(self, arguments: str) -> str:
        """Run ``function.py arg1 arg2 ...`` (the text inside PYTHON(...)) and format the reply."""
        try:
            parts = shlex.split(arguments)
        except ValueError:
            parts = arguments.split()
        if parts and parts[0].endswith(".py"):
            parts = parts[1:]
        if not parts:
            return "Error: no inputs given; call PYTHON(function.py value1 value2 ...)"
        if len(parts) > self.max_inputs:
            return f"Error: at most {self.max_inputs} inputs per call, got {len(parts)}"
        inputs: list[Any] = parts
        if self.category == "numeric":
            try:
                inputs = [float(p.strip(",")) for p in parts]
            except ValueError as exc:
                return f"Error: f(x) takes numbers: {exc}"
        outputs = self.evaluate(inputs)
        pairs = " ".join(f"({_fmt(i)}, {_fmt(o)})" for i, o in zip(inputs, outputs, strict=False))
        return f"Function input - output pairs: {pairs}"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if np.isfinite(value) else str(value)
    return str(value)


# ------------------------------------------------------------------------------------------------ parsing
_COMMAND_START = re.compile(r"PYTHON\(\s*(?=(?:\./)?(?:temp/)?function\.py)")


def extract_command(text: str) -> str | None:
    """The arguments inside the last ``PYTHON(function.py ...)`` of a reply (None when there is none).

    The closing parenthesis is the one that balances the opening one, outside quotes, so inputs may hold
    parentheses: ``PYTHON(function.py "a(b)" 'c)d')`` gives ``function.py "a(b)" 'c)d'``, which
    `BlackBox.command` splits into ``a(b)`` and ``c)d``. A stray quote (``don't``) falls back to balancing
    parentheses alone.
    """
    for match in reversed(list(_COMMAND_START.finditer(text))):
        end = _closing_parenthesis(text, match.end(), quotes=True)
        if end is None:
            end = _closing_parenthesis(text, match.end(), quotes=False)
        if end is not None:
            return text[match.end() : end].replace("\r", " ").replace("\n", " ").strip()
    return None


def _closing_parenthesis(text: str, start: int, *, quotes: bool) -> int | None:
    """The index of the ``)`` that closes a ``(`` just before `start`, or None when none does."""
    depth, quote = 0, ""
    for index in range(start, len(text)):
        char = text[index]
        if quote:
            if char == quote and text[index - 1] != "\\":
                quote = ""
        elif quotes and char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                return index
            depth -= 1
    return None


# A section label, with the markdown a chat model wraps it in: **[DESCRIPTION]:**, **[DOMAIN]**:, ### [CODE]:
_SECTION = re.compile(
    r"(?:^[ \t]*#+[ \t]*)?(?:[*_]{1,2})?\[(DESCRIPTION|DOMAIN|CODE)\](?:[*_]{1,2})?\s*:?(?:[*_]{1,2})?", re.I | re.M
)
_FENCE = re.compile(r"```[ \t]*(?:python|py)?[ \t]*\n(.*?)(?:```|\Z)", re.S | re.I)


@dataclass
class Interpretation:
    """An interpreter's answer about one function, and how it got there.

    Attributes:
        error: why the interpretation has no usable answer (the round limit, a model error); it scores 0.
        failure: set when the run itself failed rather than the interpreter: no API key, an unknown model, a
            server that stayed unreachable. It holds the cause; the runner leaves such a function pending, so
            the next run of the same command interprets it again.
        usage: tokens summed over the rounds, ``{"prompt_tokens": ..., "completion_tokens": ...}`` (replies
            answered from the cache add nothing); empty for interpreters without a model.
        cost_usd: an estimate of what the tokens cost at list prices (`tinkerlab.find.agent.PRICES_PER_MTOK`);
            None for models without a known price (local, scripted, unknown names).
    """

    function_id: str
    category: str
    description: str = ""
    domain: str = ""
    code: str = ""
    answer: str = ""
    rounds: int = 0
    queries: int = 0
    error: str | None = None
    failure: str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    cost_usd: float | None = None
    transcript: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_answer(text: str) -> dict[str, str]:
    """Split a final answer into description, domain and code.

    Markdown around the labels (``**[DESCRIPTION]:**``) and around the text (bold, a trailing rule) is removed.
    The code is taken from its fence; a fence that never closes (a reply cut at the token limit) still yields
    the code written so far.
    """
    sections: dict[str, str] = {"description": "", "domain": "", "code": ""}
    matches = list(_SECTION.finditer(text))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        sections[match.group(1).lower()] = text[match.end() : end]
    for key in ("description", "domain"):
        sections[key] = _strip_markdown(sections[key])
    code = sections["code"]
    fenced = _FENCE.search(code)
    if fenced:
        code = fenced.group(1)
    code = code.strip("\n").rstrip()
    code = textwrap.dedent(code).strip()
    sections["code"] = code + ("\n" if code else "")
    return sections


def _strip_markdown(text: str) -> str:
    """Text without the emphasis markers and horizontal rules around it (markdown inside is left alone)."""
    text = re.sub(r"^(?:\s*[-*_]{3,}\s*\n)+|(?:\n\s*[-*_]{3,})+\s*$", "", text.strip())
    return text.strip().strip("*_").strip()
