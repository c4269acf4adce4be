"""FIND scoring: ground-truth code scores 1, wrong code 0, crashing or looping code 0 with the reason."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinkerlab.find import harness, judges, metrics, numeric, strings


def _clean(family, seed=0, **overrides):
    spec = numeric.sample_numeric_function(np.random.default_rng(seed), f"f{seed:05d}", variant="clean", family=family)
    spec["terms"][0]["params"].update(overrides)
    spec["code"] = numeric.ground_truth_code(spec)
    return spec


def test_nmse_matches_the_formula_and_skips_non_finite_ground_truth():
    gt = np.array([1.0, 2.0, np.nan, np.inf, -2.0])
    pred = np.array([1.0, 1.0, 5.0, 5.0, -2.0])
    assert metrics.nmse(gt, pred) == pytest.approx(1.0 / 9.0)
    assert metrics.nmse(gt, np.array([1.0, 2.0, 0.0, 0.0, np.nan])) == math.inf


def test_numeric_ground_truth_code_scores_one_and_wrong_code_zero():
    specs = [
        _clean("linear", 1, m=3.0, b=-2.0),
        _clean("sin", 2),
        _clean("polynomial", 3),
        _clean("logarithm", 4),
    ]
    truth = {s["id"]: s["code"] for s in specs}
    scores = metrics.score_numeric(specs, truth)
    assert [s.score for s in scores] == [1.0, 1.0, 1.0, 1.0]
    assert all(s.value is not None and s.value < 1e-12 for s in scores)
    wrong = {
        specs[0]["id"]: "def f(x):\n    return -3.0 * x + 2.0\n",  # the mirror image of 3x - 2
        specs[1]["id"]: "def f(x):\n    return 0.0\n",  # NMSE exactly 1
        specs[2]["id"]: "import math\ndef f(x):\n    return math.exp(x / 10)\n",
        specs[3]["id"]: "def g(x):\n    return x\n",
    }
    scores = metrics.score_numeric(specs, wrong)
    assert [s.score for s in scores] == [0.0, 0.0, 0.0, 0.0]
    assert scores[1].value == pytest.approx(1.0)


def test_nearly_right_code_passes_the_threshold():
    spec = _clean("linear", 5, m=2.0, b=1.0)
    scores = metrics.score_numeric([spec], {spec["id"]: "def f(x):\n    return 2.05 * x + 1.0\n"})
    assert scores[0].score == 1.0 and 0 < scores[0].value < 0.1


def test_code_that_crashes_loops_or_has_no_function_scores_zero_with_the_reason():
    specs = [_clean("linear", i) for i in range(5)]
    codes = {
        specs[0]["id"]: "def f(x):\n    while True:\n        pass\n",
        specs[1]["id"]: "def f(x):\n    raise RuntimeError('boom')\n",
        specs[2]["id"]: "def f(x) return x\n",
        specs[3]["id"]: "x = 3\n",
        specs[4]["id"]: specs[4]["code"],
    }
    scores = metrics.score_numeric(specs, codes, harness.SandboxConfig(item_timeout_s=0.5))
    assert [s.score for s in scores] == [0.0, 0.0, 0.0, 0.0, 1.0]
    assert "timed out" in scores[0].error
    assert "RuntimeError: boom" in scores[1].error
    assert "SyntaxError" in scores[2].error
    assert "no function" in scores[3].error
    assert scores[4].error is None


def test_a_process_killing_interpretation_only_fails_itself():
    specs = [_clean("linear", i) for i in range(3)]
    codes = {s["id"]: s["code"] for s in specs}
    codes[specs[1]["id"]] = "import os\ndef f(x):\n    os._exit(3)\n"
    scores = metrics.score_numeric(specs, codes)
    assert [s.score for s in scores] == [1.0, 0.0, 1.0]
    assert "sandbox failure" in scores[1].error


def test_missing_code_scores_zero():
    spec = _clean("linear", 9)
    assert metrics.score_numeric([spec], {})[0].error == "no code"


def test_strings_exact_match_fraction():
    rng = np.random.default_rng(0)
    spec = strings.sample_string_function(rng, "f00000", composite=False)
    spec["ops"] = [{"op": "upper", "params": {}}]
    spec["code"] = strings.ground_truth_code(spec)
    spec["test_pairs"] = [["abc", "ABC"], ["x1", "X1"], ["Hi", "HI"], ["ok", "OK"]]
    assert metrics.score_strings_code([spec], {"f00000": spec["code"]})[0].score == 1.0
    assert metrics.score_strings_code([spec], {"f00000": "def f(x):\n    return x.lower()\n"})[0].score == 0.0
    half = "def f(x):\n    return x.upper() if len(x) == 2 else x\n"
    assert metrics.score_strings_code([spec], {"f00000": half})[0].score == 0.75
    returns_int = "def f(x):\n    return 1\n"
    assert metrics.score_strings_code([spec], {"f00000": returns_int})[0].score == 0.0


def test_unit_tests_use_the_description_before_code_and_parse_answers():
    from tinkerlab.llm import ScriptedChatModel

    spec = {
        "id": "f00000",
        "unit_tests": [
            {"candidates": ["putter", "apple", "violin"], "answer": 1},
            {"candidates": ["apple", "birdie", "violin"], "answer": 2},
            {"candidates": ["apple", "violin", "fairway"], "answer": 3},
        ],
    }
    evaluator = ScriptedChatModel([" 1", " 2", " 1"])
    answer = "[DESCRIPTION]: words about golf\n[CODE]: secret code"
    scores = metrics.score_unit_tests("entities", [spec], {"f00000": answer}, evaluator)
    assert scores[0].score == pytest.approx(2 / 3)
    prompt = next(m for m in evaluator.requests[0] if m.role == "user").text
    assert "words about golf" in prompt and "secret code" not in prompt
    assert "Example 2: input = apple" in prompt
    assert metrics.parse_answer("[ANSWER]: 3") == 3 and metrics.parse_answer("I think 2.") == 2
    assert metrics.score_unit_tests("entities", [spec], {}, evaluator)[0].error == "no description"


def test_unit_tests_accept_a_judge_with_choose():
    class FirstJudge:
        name = "first"

        def choose(self, category, description, item):
            return 1

    spec = {
        "id": "f00000",
        "unit_tests": [
            {"candidates": [["a", "A"], ["b", "b"], ["c", "c"]], "answer": 1},
            {"candidates": [["a", "a"], ["b", "B"], ["c", "c"]], "answer": 2},
        ],
    }
    scores = metrics.score_unit_tests("strings", [spec], {"f00000": "[DESCRIPTION]: upper case"}, FirstJudge())
    assert scores[0].score == 0.5 and scores[0].details["picks"] == [1, 1]


@pytest.mark.slow
def test_embedding_judge_prefers_the_related_word():
    judge = judges.EmbeddingJudge()
    item = {"candidates": ["tractor", "golfer", "violin"], "answer": 2}
    assert judge.choose("entities", "The function responds to inputs related to golf.", item) == 2


def test_an_interpretation_ignoring_sigalrm_does_not_stretch_the_next_items_limit():
    import time

    specs = [_clean("linear", i) for i in range(3)]
    codes = {s["id"]: s["code"] for s in specs}
    codes[specs[0]["id"]] = (
        "import signal, time\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
        "def f(x):\n    time.sleep(30)\n    return x\n"
    )
    codes[specs[1]["id"]] = "def f(x):\n    while True:\n        pass\n"
    start = time.monotonic()
    scores = metrics.score_numeric(specs, codes, harness.SandboxConfig(item_timeout_s=0.5))
    elapsed = time.monotonic() - start
    assert [s.score for s in scores] == [0.0, 0.0, 1.0]
    assert "timed out after 0.5 s" in scores[0].error and "timed out after 0.5 s" in scores[1].error
    assert elapsed < 10, f"two 0.5 s items took {elapsed:.1f} s"


def test_output_over_one_megabyte_is_that_items_error_not_a_crash():
    pairs = [("a", "A"), ("b", "B")]
    specs = [{"id": f"s{i}", "test_pairs": pairs} for i in range(3)]
    codes = {
        "s0": "def f(x):\n    return x.upper()\n",
        "s1": "def f(x):\n    return 'y' * 2_000_000\n",  # a result over 1 MB
        "s2": "def f(x):\n    print('z' * 2_000_000)\n    return x.upper()\n",  # prints over 1 MB
    }
    scores = metrics.score_strings_code(specs, codes)
    assert [s.score for s in scores] == [1.0, 0.0, 0.0]
    assert "output over the limit" in scores[1].error and "output over the limit" in scores[2].error


def test_only_code_inputs_and_kind_reach_the_sandbox():
    code = (
        "import gc\ndef f(x):\n"
        "    return float(any(isinstance(o, dict) and 'ground_truth' in o for o in gc.get_objects()))\n"
    )
    item = {"key": "k1", "code": code, "inputs": [1.0], "kind": "numeric", "ground_truth": [42.0]}
    run = harness.run_codes([item])["k1"]
    assert run.error is None and run.outputs == [0.0]  # no item in the sandbox holds anything but code and inputs


def test_exact_answers_with_math_log_and_sqrt_score_one():
    root = next(_clean("root", i) for i in range(20, 60) if "np.sqrt(" in _clean("root", i)["code"])
    specs = [_clean("logarithm", 11), root]
    codes = {
        s["id"]: "import math\n" + s["code"].replace("np.log(", "math.log(").replace("np.sqrt(", "math.sqrt(")
        for s in specs
    }
    assert all("math." in c for c in codes.values())
    scores = metrics.score_numeric(specs, codes)
    assert all(s.error is None for s in scores), [s.error for s in scores]
    assert [s.score for s in scores] == [1.0, 1.0]


def test_strings_right_on_four_raising_on_the_fifth_scores_point_eight():
    pairs = [["ab", "AB"], ["cd", "CD"], ["ef", "EF"], ["gh", "GH"], ["boom", "BOOM"]]
    code = "def f(x):\n    if x == 'boom':\n        raise ValueError(x)\n    return x.upper()\n"
    score = metrics.score_strings_code([{"id": "s", "test_pairs": pairs}], {"s": code})[0]
    assert score.score == pytest.approx(0.8) and "ValueError: boom" in score.details["first_error"]


def test_embedding_judge_batches_a_functions_items_with_the_same_picks():
    judge = judges.EmbeddingJudge()
    items = [
        {"candidates": ["piano", "carrot", "volcano"], "answer": 1},
        {"candidates": ["guitar", "tractor", "lettuce"], "answer": 1},
    ]
    pairs = [{"candidates": [["France", "Paris"], ["apple", "red"], ["dog", "bark"]], "answer": 1}]
    assert judge.choose_many("entities", "musical instruments", items) == [
        judges.EmbeddingJudge().choose("entities", "musical instruments", item) for item in items
    ]
    assert judge.choose_many("relations", "maps a country to its capital", pairs) == [1]
