"""Relation functions of FIND (Schwettmann et al., NeurIPS 2023 D&B).

A relation function maps an input word to an output through an LM answering a rule ("If the input is a
country, reply with only its capital city"), with 'undefined' for inputs outside the relation. 25 functions
are clean; 50 carry an exception sub-domain (e.g. "the input country is in Asia") where they answer
'undefined': 25 answer 'undefined' *inside* the sub-domain (``except``), 25 answer only inside it (``only``).

The LM is asked with a few examples from the relation's table; for inputs in the table, membership of the
sub-domain is decided by the table's tag (a small LM cannot be trusted to apply the exception), elsewhere by
the LM following the instruction.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from tinkerlab.find.relations_data import RELATIONS, Relation

ExceptionMode = Literal["none", "except", "only"]
UNDEFINED = "undefined"


HINT_ROWS = 3
"""Inputs of the relation's own table among its 8 search-initialisation words (the rest come from other
relations). The unit tests ask about the other rows, so no answer input is a hint word (the original's hints
hold 3.1% of its answer inputs, measured on `src/find-dataset/neurons_relations/data.json` against
`unit_test_data.json`)."""


def instruction(relation: Relation, mode: ExceptionMode) -> str:
    """The LM instruction: the rule, the exception clause, three examples."""
    examples = "; ".join(f"{i} -> {o}" for i, o, tagged in relation.rows if not tagged or mode == "only")
    examples = "; ".join(examples.split("; ")[:3])
    text = f"{relation.rule}. If not, reply with only 'undefined'."
    if mode == "except":
        text += f" Also reply 'undefined' if {relation.subdomain}."
    elif mode == "only":
        text += f" Reply 'undefined' unless {relation.subdomain}."
    return f"{text} Examples: {examples}."


def describe(relation: Relation, mode: ExceptionMode) -> str:
    rule = relation.rule[0].lower() + relation.rule[1:]
    text = f"The function maps inputs by the rule: {rule}; other inputs give 'undefined'."
    if mode == "except":
        text += f" Exception: it returns 'undefined' when {relation.subdomain}."
    elif mode == "only":
        text += f" Exception: it returns 'undefined' unless {relation.subdomain}."
    return text


def expected_output(relation: Relation, mode: ExceptionMode, text: str) -> str | None:
    """The intended output for an input in the relation's table (None when the input is not in it)."""
    hit = relation.lookup(text)
    if hit is None:
        return None
    output, tagged = hit
    if (mode == "except" and tagged) or (mode == "only" and not tagged):
        return UNDEFINED
    return output


def build_relation_specs(rng: np.random.Generator, count: int) -> list[dict[str, Any]]:
    """Relation specs: the first third clean, the rest with exceptions (alternating except/only).

    Args:
        rng: the random generator.
        count: number of functions (75 in the full suite).
    """
    names = sorted(RELATIONS)
    n_clean = count // 3
    order = [str(n) for n in rng.permutation(names)]
    specs = []
    for index in range(count):
        relation = RELATIONS[order[index % len(order)]]
        if index < n_clean:
            mode: ExceptionMode = "none"
        else:
            mode = "except" if (index - n_clean) % 2 == 0 else "only"
            relation = RELATIONS[order[(index - n_clean) // 2 % len(order)]]
        others = [RELATIONS[n] for n in names if n != relation.name]
        # search-initialisation words: a few of the table's inputs, the rest from other relations; the unit
        # tests ask about the other rows only, so no answer input is a hint word
        rows = [relation.rows[int(i)] for i in rng.permutation(len(relation.rows))]
        hint_rows, answer_rows = rows[:HINT_ROWS], rows[HINT_ROWS:]
        tests = []
        for item in range(10):
            inp, _, tagged = answer_rows[item % len(answer_rows)]
            truth = expected_output(relation, mode, inp)
            wrong: list[list[str]] = []
            if mode != "none" and truth == UNDEFINED:
                plain = relation.lookup(inp)[0]  # type: ignore[index]
                wrong.append([inp, plain])
            elif mode != "none":
                flip = [r for r in relation.rows if expected_output(relation, mode, r[0]) == UNDEFINED]
                if flip:
                    pick = flip[int(rng.integers(0, len(flip)))]
                    wrong.append([pick[0], pick[1]])
            while len(wrong) < 2:
                other = others[int(rng.integers(0, len(others)))]
                row = other.rows[int(rng.integers(0, len(other.rows)))]
                if relation.lookup(row[0]) is None:
                    wrong.append([row[0], row[1]])
            answer = int(rng.integers(0, 3))
            candidates = wrong[:answer] + [[inp, str(truth)]] + wrong[answer:]
            tests.append({"candidates": candidates, "answer": answer + 1})
        initial = [str(r[0]) for r in hint_rows]
        for i in rng.choice(len(others), size=8 - HINT_ROWS, replace=False):
            outside = [r for r in others[int(i)].rows if relation.lookup(r[0]) is None]
            initial.append(str(outside[int(rng.integers(0, len(outside)))][0]))
        specs.append(
            {
                "id": f"f{index:05d}",
                "category": "relations",
                "relation": relation.name,
                "mode": mode,
                "instruction": instruction(relation, mode),
                "description": describe(relation, mode),
                "subdomain": relation.subdomain if mode != "none" else None,
                "initial": [str(w) for w in rng.permutation(initial)],
                "unit_tests": tests,
            }
        )
    return specs


def relation_outputs(spec: dict[str, Any], inputs: list[str], lm: Any) -> list[str]:
    """The function's outputs on `inputs`: the LM's answer (asked in one batch), with the table deciding the
    exception."""
    relation = RELATIONS[spec["relation"]]
    mode = spec["mode"]
    outputs: list[str | None] = []
    for text in inputs:
        hit = relation.lookup(text)
        excluded = hit is not None and ((mode == "except" and hit[1]) or (mode == "only" and not hit[1]))
        outputs.append(UNDEFINED if excluded else None)
    asked = [i for i, out in enumerate(outputs) if out is None]
    if asked:
        answers = lm.answer_many(spec["instruction"], [inputs[i] for i in asked])
        for index, answer in zip(asked, answers, strict=False):
            outputs[index] = answer.strip().strip(".").strip("'\"") or UNDEFINED
    return [str(o) for o in outputs]
