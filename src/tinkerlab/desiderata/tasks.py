"""Variable-binding arithmetic tasks and the desiderata datasets drawn from them.

Part of `tinkerlab.desiderata` (Davies, Nadeau, Prakash, Rott Shaham and Bau, "Discovering Variable Binding Circuitry
with Desiderata", 2023). A prompt assigns values to variables and asks for an operation of two of them:

    'a=4, b=3, c=2. a+b='  -> '7'     (every value and answer lies in 0..max_value, numbers the tokenizer
                                        writes as one token each: `check_numbers`)

Variants: several variables (`n_vars`), distractor assignments (the variables not asked about), reassignment
('a=4, b=1, a=2. a+b=' -> '3': the later value counts, with `reassign` > 0). Operations are split into training and
held-out ones; a mask is learned on prompts of the training operations and scored on the held-out ones.

The three desiderata (each item is an (original, alternate, target) triple, see `spec.py`):
* `value_change`: the alternate gives one of the two queried variables another value; target = the operation on the
  new value (the alternate's own answer): patching the binding components must carry the new value over;
* `variable_invariance`: the alternate changes a variable that is not asked about; target = the original answer;
* `operation_invariance`: the alternate asks for another operation on the same assignments; target = the original
  answer: the components carry values, not the operation nor its result.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from tinkerlab.core.config import check_count, config_error
from tinkerlab.core.errors import InputError

VARIABLE_NAMES = "abcdefghjkmnpqrstuvwxyz"

OPERATIONS: dict[str, tuple[str, Callable[[int, int], int]]] = {
    "add": ("{x}+{y}=", lambda x, y: x + y),
    "sub": ("{x}-{y}=", lambda x, y: x - y),
    "max": ("max({x},{y})=", max),
    "min": ("min({x},{y})=", min),
    "mul": ("{x}*{y}=", lambda x, y: x * y),
    "first": ("{x}=", lambda x, y: x),
}
"""Operation name -> (query template, function). 'first' asks for one variable's value."""

DESIDERATA_KINDS = {
    "value_change": "value_change",
    "variable_invariance": "invariance",
    "operation_invariance": "invariance",
}
"""The task's desiderata and the kind each has."""


@dataclass(frozen=True)
class BindingTask:
    """A variable-binding arithmetic task.

    Attributes:
        n_vars: variables assigned per prompt (2 queried, the rest distractors; at least 3 for the
            variable-invariance desideratum).
        max_value: values and answers lie in 0..max_value (each must be one token: `check_numbers`).
        train_ops: operations of the prompts the mask is trained on.
        heldout_ops: operations only scored.
        reassign: share of prompts where one queried variable is assigned twice (the later value counts).
    """

    n_vars: int = 3
    max_value: int = 9
    train_ops: tuple[str, ...] = ("add", "sub", "max")
    heldout_ops: tuple[str, ...] = ("min",)
    reassign: float = 0.0
    names: str = field(default=VARIABLE_NAMES, repr=False)

    def __post_init__(self) -> None:
        check_count(self, "n_vars", 2, len(self.names))
        check_count(self, "max_value", 1)
        for name in ("train_ops", "heldout_ops"):
            ops = getattr(self, name)
            unknown = [op for op in ops if op not in OPERATIONS]
            if unknown:
                raise config_error(self, name, f"operations among {', '.join(OPERATIONS)}", unknown)
        if not self.train_ops:
            raise config_error(self, "train_ops", "at least one operation", self.train_ops)
        overlap = set(self.train_ops) & set(self.heldout_ops)
        if overlap:
            raise config_error(self, "heldout_ops", "operations not among train_ops", sorted(overlap))
        if not 0 <= self.reassign <= 1:
            raise config_error(self, "reassign", "a share in [0, 1]", self.reassign)

    @property
    def operations(self) -> tuple[str, ...]:
        return tuple(self.train_ops) + tuple(self.heldout_ops)


@dataclass(frozen=True)
class BindingPrompt:
    """One prompt: assignments in order (name, value), the queried pair and the operation."""

    assignments: tuple[tuple[str, int], ...]
    x: str
    y: str
    op: str

    def values(self) -> dict[str, int]:
        """The value of each variable (the last assignment counts)."""
        return dict(self.assignments)

    def text(self) -> str:
        template = OPERATIONS[self.op][0]
        context = ", ".join(f"{name}={value}" for name, value in self.assignments)
        return f"{context}. {template.format(x=self.x, y=self.y)}"

    def answer(self) -> int:
        values = self.values()
        return OPERATIONS[self.op][1](values[self.x], values[self.y])

    def with_value(self, name: str, value: int) -> BindingPrompt:
        """The prompt with the last assignment of `name` changed to `value`."""
        last = max(i for i, (n, _) in enumerate(self.assignments) if n == name)
        new = list(self.assignments)
        new[last] = (name, value)
        return BindingPrompt(tuple(new), self.x, self.y, self.op)

    def with_op(self, op: str) -> BindingPrompt:
        return BindingPrompt(self.assignments, self.x, self.y, op)


def _in_range(task: BindingTask, prompt: BindingPrompt) -> bool:
    return 0 <= prompt.answer() <= task.max_value


def random_prompt(task: BindingTask, rng: random.Random, ops: tuple[str, ...]) -> BindingPrompt:
    """A prompt of one of `ops` whose answer lies in 0..max_value."""
    while True:
        names = rng.sample(task.names, task.n_vars)
        assignments = [(n, rng.randint(0, task.max_value)) for n in names]
        x, y = rng.sample(names, 2)
        if rng.random() < task.reassign:
            assignments.append((rng.choice((x, y)), rng.randint(0, task.max_value)))
        prompt = BindingPrompt(tuple(assignments), x, y, rng.choice(ops))
        if _in_range(task, prompt):
            return prompt


def task_examples(task: BindingTask, n: int, *, seed: int = 0, ops: tuple[str, ...] | None = None) -> list:
    """n (prompt text, answer text) pairs over `ops` (default: every operation of the task)."""
    rng = random.Random(seed)
    chosen = tuple(ops or task.operations)
    return [(p.text(), str(p.answer())) for p in (random_prompt(task, rng, chosen) for _ in range(n))]


def _alternate(task: BindingTask, prompt: BindingPrompt, desideratum: str, rng: random.Random, ops) -> BindingPrompt:
    """An alternate of `prompt` for a desideratum (None when none is possible)."""
    values = prompt.values()
    for _ in range(200):
        if desideratum == "value_change":
            name = rng.choice((prompt.x, prompt.y)) if prompt.op != "first" else prompt.x
            new = rng.randint(0, task.max_value)
            alternate = prompt.with_value(name, new)
            if new != values[name] and _in_range(task, alternate) and alternate.answer() != prompt.answer():
                return alternate
        elif desideratum == "variable_invariance":
            others = [n for n in values if n not in (prompt.x, prompt.y)]
            if not others:
                raise InputError(
                    f"variable_invariance needs a variable that is not asked about: n_vars >= 3, got {task.n_vars}"
                )
            name = rng.choice(others)
            new = rng.randint(0, task.max_value)
            if new != values[name]:
                return prompt.with_value(name, new)
        elif desideratum == "operation_invariance":
            choices = [op for op in ops if op != prompt.op]
            if not choices:
                raise InputError("operation_invariance needs at least two operations")
            alternate = prompt.with_op(rng.choice(choices))
            if _in_range(task, alternate) and alternate.answer() != prompt.answer():
                return alternate
        else:
            raise InputError(
                f"unknown binding desideratum {desideratum!r}: expected one of {', '.join(DESIDERATA_KINDS)}"
            )
    return None


def desideratum_items(
    task: BindingTask, desideratum: str, n: int, *, seed: int = 0, heldout: bool = False
) -> list[dict]:
    """n items {original, alternate, target, split} of one desideratum.

    Args:
        task: the task.
        desideratum: 'value_change', 'variable_invariance' or 'operation_invariance'.
        n: number of items.
        seed: data seed.
        heldout: originals use the held-out operations (split 'heldout'); else the training ones (split 'train').
            Operation-invariance alternates of held-out items use any other operation of the task.

    Raises:
        InputError: an unknown desideratum, held-out items without held-out operations, or a task that cannot
            make the alternate.
    """
    if desideratum not in DESIDERATA_KINDS:
        raise InputError(f"unknown binding desideratum {desideratum!r}: expected one of {', '.join(DESIDERATA_KINDS)}")
    ops = tuple(task.heldout_ops if heldout else task.train_ops)
    if not ops:
        raise InputError("held-out items need held-out operations (task.heldout_ops is empty)")
    alt_ops = tuple(task.operations if heldout else task.train_ops)
    rng = random.Random(f"{seed}-{desideratum}-{heldout}")
    items = []
    while len(items) < n:
        prompt = random_prompt(task, rng, ops)
        alternate = _alternate(task, prompt, desideratum, rng, alt_ops)
        if alternate is None:
            continue
        target = alternate.answer() if desideratum == "value_change" else prompt.answer()
        items.append(
            {
                "original": prompt.text(),
                "alternate": alternate.text(),
                "target": str(target),
                "split": "heldout" if heldout else "train",
            }
        )
    return items


def encode(tokenizer, text: str, *, special: bool = True) -> list[int]:
    """Token ids of `text` (with the tokenizer's special tokens, e.g. BOS, when `special`)."""
    return list(tokenizer(text, add_special_tokens=special).input_ids)


def check_numbers(tokenizer, max_value: int) -> None:
    """Check that 0..max_value are each one token, alone and after '=' (as answers follow the prompt).

    Raises:
        InputError: naming the numbers that are not, and the largest max_value that works.
    """
    bad = []
    for value in range(max_value + 1):
        alone = encode(tokenizer, str(value), special=False)
        prefix = encode(tokenizer, "a=", special=False)
        joined = encode(tokenizer, f"a={value}", special=False)
        if len(alone) != 1 or joined != prefix + alone:
            bad.append(value)
    if bad:
        fits = next((v - 1 for v in range(max_value + 1) if v in bad), max_value)
        raise InputError(
            f"numbers must be single tokens in this tokenizer: {', '.join(map(str, bad[:10]))} are not; "
            f"use max_value <= {max(fits, 0)}"
        )
