"""FIND scoring under both rules, pinned to values the original evaluation scripts gave on the same inputs.

The original's numbers were obtained by running its `mse_indicator.py`, `string_indicator.py` and the description
cut of `collect_interpretations.py` / `unit_testing.py` on these hand-made cases; they are written here as numbers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinkerlab.core.errors import InputError
from tinkerlab.find import metrics, numeric

X = numeric.scoring_inputs()
with np.errstate(invalid="ignore", divide="ignore"):
    LOG = np.where(X > 0, np.log(np.abs(X)), np.nan)
    SQRT = np.where(X >= 0, np.sqrt(np.abs(X)), np.nan)

# name: (ground truth at the 256 points, answer code, original (score, NMSE), per-input (score, NMSE))
NUMERIC = {
    "log": (LOG, "import math\ndef f(x):\n    return math.log(x)\n", (1, 0.0), (1, 0.0)),
    "sqrt": (SQRT, "import math\ndef f(x):\n    return math.sqrt(x)\n", (1, 0.0), (1, 0.0)),
    "raises_at_one_point": (
        X,
        "def f(x):\n    if x == 3.5:\n        raise ValueError('no')\n    return x\n",
        (0, None),
        (1, 8.762016479743648e-06),
    ),
    "zero_ground_truth": (0 * X, "def f(x):\n    return 0.0\n", (0, None), (1, 0.0)),
    "nan_at_one_point": (X, "def f(x):\n    return float('nan') if x == 3.5 else x\n", (0, math.nan), (1, 8.762e-06)),
    "close": (X, "def f(x):\n    return 1.05 * x\n", (1, 0.0025000000000000044), (1, 0.0025)),
    "nested_def": (X, "def f(x):\n    def helper(y):\n        return y\n    return helper(x)\n", (0, None), (1, 0.0)),
    "zero_answer": (X**2, "def f(x):\n    return 0.0\n", (0, 1.0), (0, 1.0)),
    "log_plus_offset": (
        LOG,
        "import math\ndef f(x):\n    return math.log(x) + 0.001\n",
        (1, 6.318602963478374e-08),
        None,
    ),
}


@pytest.fixture
def fixed_ground_truth(monkeypatch):
    def use(values):
        monkeypatch.setattr(numeric, "ground_truth_values", lambda spec: np.asarray(values, dtype=float))

    return use


def _check(score, expected):
    want_score, want_value = expected
    assert score.score == want_score
    if want_value is None:
        assert score.value is None
    elif math.isnan(want_value):
        assert score.value is not None and math.isnan(score.value)
    else:
        assert score.value == pytest.approx(want_value, rel=1e-3, abs=1e-12)


@pytest.mark.parametrize("name", list(NUMERIC))
def test_numeric_rules_match_the_original_values(name, fixed_ground_truth):
    gt, code, original, per_input = NUMERIC[name]
    fixed_ground_truth(gt)
    _check(metrics.score_numeric([{"id": name}], {name: code}, scoring="original")[0], original)
    if per_input is not None:
        _check(metrics.score_numeric([{"id": name}], {name: code}, scoring="per-input")[0], per_input)


def test_a_per_input_miss_counts_as_a_zero_prediction(fixed_ground_truth):
    fixed_ground_truth(X)
    code = "def f(x):\n    if x > 0:\n        raise ValueError('half')\n    return x\n"
    score = metrics.score_numeric([{"id": "h"}], {"h": code})[0]
    assert score.value == pytest.approx(0.5) and score.score == 0.0  # the missing half weighs sum(gt^2) / 2
    assert score.details["missed_points"] == 128 and "ValueError: half" in score.details["first_error"]
    assert score.error is None


UP = "def f(x):\n    if x == 'boom':\n        raise ValueError(x)\n    return x.upper()\n"
# name: (pairs, code, original score, per-input score)
STRINGS = {
    "right_on_4_raises_on_5th": (
        [["ab", "AB"], ["cd", "CD"], ["ef", "EF"], ["gh", "GH"], ["boom", "BOOM"]],
        UP,
        0.8,
        0.8,
    ),
    "raises_on_3rd_of_5": ([["ab", "AB"], ["cd", "CD"], ["boom", "BOOM"], ["gh", "GH"], ["ij", "IJ"]], UP, 2 / 3, 0.8),
    "quote_in_input": ([["ab", "AB"], ["it's", "IT'S"], ["cd", "CD"]], UP, 0.5, 1.0),
    "backslash_in_input": ([["a\\tb", "A\tB"], ["cd", "CD"]], UP, 1.0, 0.5),
    "half_wrong": ([["ab", "AB"], ["cd", "cd"], ["ef", "EF"], ["gh", "x"]], UP, 0.5, 0.5),
    "raises_first": ([["ab", "AB"], ["cd", "CD"]], "def f(x):\n    raise RuntimeError('x')\n", 0.0, 0.0),
}


@pytest.mark.parametrize("name", list(STRINGS))
def test_string_rules_match_the_original_values(name):
    pairs, code, original, per_input = STRINGS[name]
    spec = {"id": name, "test_pairs": pairs}
    assert metrics.score_strings_code([spec], {name: code}, scoring="original")[0].score == pytest.approx(original)
    assert metrics.score_strings_code([spec], {name: code}, scoring="per-input")[0].score == pytest.approx(per_input)


def test_a_raising_input_is_a_miss_for_that_input_only():
    pairs = [[w, w.upper()] for w in ("ab", "cd", "ef", "gh", "boom", "ij", "kl", "mn", "op", "qr")]
    score = metrics.score_strings_code([{"id": "s", "test_pairs": pairs}], {"s": UP})[0]
    assert score.score == pytest.approx(0.9) and score.details["raised"] == 1 and score.error is None
    original = metrics.score_strings_code([{"id": "s", "test_pairs": pairs}], {"s": UP}, scoring="original")[0]
    assert original.score == pytest.approx(0.8)  # 4 right, then the raise ends the count: 4 / 5


DESCRIPTIONS = [  # (answer, the original's cut, ours)
    ("[DESCRIPTION]: adds two\n[DOMAIN]: (2, 5)\n[CODE]: def f(x): return x+2", "adds two\n", "adds two"),
    (
        "Thinking...\n**[DESCRIPTION]:** adds two\n**[DOMAIN]:** none\n[CODE]:\n```python\ndef f(x): return x+2\n```",
        "Thinking...\n**[DESCRIPTION]:** adds two\n**[DOMAIN]:** none\n",
        "adds two",
    ),
    (
        "[DESCRIPTION]: maps a country to its capital\n[DOMAIN]: countries in Asia",
        "maps a country to its capital\n",
        "maps a country to its capital",
    ),
    ("no tags at all [CODE]: def f(x): ...", "no tags at all ", "no tags at all"),
    ("[DESCRIPTION]:words\n[CODE]:def f(x): pass", "[DESCRIPTION]:words\n", "words"),
]


@pytest.mark.parametrize(("answer", "original", "ours"), DESCRIPTIONS)
def test_the_judge_reads_the_description_only(answer, original, ours):
    assert metrics.description_for_evaluation(answer, "original") == original
    assert metrics.description_for_evaluation(answer) == ours
    assert "**" not in metrics.description_for_evaluation(answer) and "DOMAIN" not in ours


def test_unit_tests_get_a_system_prompt_and_the_original_substring_rule():
    from tinkerlab.llm import ScriptedChatModel

    spec = {"id": "f0", "unit_tests": [{"candidates": ["putter", "apple", "violin"], "answer": 1}] * 2}
    answer = {"f0": "[DESCRIPTION]: golf\n[DOMAIN]: secret domain"}
    evaluator = ScriptedChatModel(["[ANSWER]: 2, not 1", "[ANSWER]: 1"])
    original = metrics.score_unit_tests("entities", [spec], answer, evaluator, scoring="original")[0]
    assert original.score == 1.0  # '1' appears in '[ANSWER]: 2, not 1'
    messages = evaluator.requests[0]
    assert messages[0].role == "system" and messages[0].text == metrics.UNIT_TEST_SYSTEM_PROMPT
    assert "secret domain" not in messages[1].text and "golf" in messages[1].text
    evaluator = ScriptedChatModel(["[ANSWER]: 2, not 1", "[ANSWER]: 1"])
    assert metrics.score_unit_tests("entities", [spec], answer, evaluator)[0].score == 0.5  # the [ANSWER] index


def test_an_unknown_rule_is_refused():
    with pytest.raises(InputError, match="per-input"):
        metrics.score_strings_code([], {}, scoring="strict")
