"""The hints-only control and the ground-truth / vacuous references: interpreters that never call the function."""

from __future__ import annotations

import json

import pytest

from tinkerlab.core.errors import InputError
from tinkerlab.find.baselines import VACUOUS_DESCRIPTION, HintsInterpreter, TruthInterpreter, VacuousInterpreter
from tinkerlab.find.protocol import BlackBox
from tinkerlab.find.suite import BuildConfig, build_suite, load_suite


class _NoCalls(BlackBox):
    def evaluate(self, inputs):  # noqa: ANN001 - the test's tripwire
        raise AssertionError("the function was called")


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    path = build_suite(tmp_path_factory.mktemp("suite"), BuildConfig(seed=0, small=True, mlp_steps=10))
    return load_suite(path)


def test_hints_control_answers_with_the_hint_words_only(suite):
    for category in ("entities", "relations"):
        for spec in suite.functions[category]:
            answer = HintsInterpreter().interpret(spec, _NoCalls(spec, object()))
            assert answer.queries == 0 and answer.code == ""
            assert answer.answer == f"[DESCRIPTION]: {answer.description}"
            for word in spec["initial"]:
                assert word in answer.description
            assert spec["description"] not in answer.description


def test_truth_and_vacuous_references(suite):
    for specs in suite.functions.values():
        spec = specs[0]
        truth = TruthInterpreter().interpret(spec, _NoCalls(spec, object()))
        assert truth.description == spec["description"] and truth.code == spec.get("code", "")
        vacuous = VacuousInterpreter().interpret(spec, _NoCalls(spec, object()))
        assert vacuous.description == VACUOUS_DESCRIPTION and vacuous.code == ""
        assert vacuous.answer == f"[DESCRIPTION]: {VACUOUS_DESCRIPTION}"


def test_controls_run_score_and_report_with_their_labels(tmp_path):
    from tinkerlab.find.metrics import Score
    from tinkerlab.find.report import PUBLISHED_NOTE, make_report
    from tinkerlab.find.runner import RunConfig, load_interpretations, run_interpretations
    from tinkerlab.find.scoring import score_run

    suite = build_suite(tmp_path / "suite", BuildConfig(seed=0, small=True, mlp_steps=10))

    class FirstJudge:
        name = "first"

        def choose(self, category, description, item):  # noqa: ANN001, ARG002
            return 1

    runs = {}
    for name in ("hints", "truth", "vacuous"):
        config = RunConfig(interpreter=name, suite=str(suite), limit=2)
        runs[name] = run_interpretations(tmp_path / name, config, workers=1)
        scores = score_run(runs[name], evaluator=FirstJudge())
        assert all(isinstance(s, Score) for s in scores)
    hinted = load_interpretations(runs["hints"])
    assert sorted(hinted) == ["entities", "relations"]  # numeric and strings are skipped, and the log says so
    assert "hints does not apply to numeric, strings: skipped" in (runs["hints"] / "run.log").read_text()
    assert all(r["black_box_calls"] == 0 for by_id in hinted.values() for r in by_id.values())
    truth_scores = json.loads((runs["truth"] / "outputs" / "scores.json").read_text())["scores"]
    assert {s["metric"] for s in truth_scores} == {"numeric", "strings_code", "unit"}
    assert all(s["score"] == 1.0 for s in truth_scores if s["metric"] == "strings_code")
    assert sorted(load_interpretations(runs["vacuous"])) == ["entities", "relations", "strings"]

    report = make_report(list(runs.values()), tmp_path / "report")
    kinds = {row["interpreter"].split(" [")[0]: row["kind"] for row in report["rows"]}
    assert kinds["control: hint words only (uses hints)"] == "control"
    assert kinds["reference: ground-truth descriptions"] == "reference"
    assert kinds["reference: vacuous description"] == "reference"
    assert sum(kind == "published" for kind in kinds.values()) == 3
    table = (tmp_path / "report" / "report.md").read_text()
    assert PUBLISHED_NOTE in table and report["published_note"] == PUBLISHED_NOTE
    make_report([runs["truth"]], tmp_path / "bare", published=False)
    assert "not directly comparable" not in (tmp_path / "bare" / "report.md").read_text()


def test_uses_hints_marks_hint_reading_runs():
    from tinkerlab.find.report import _uses_hints

    assert _uses_hints({"interpreter": "exemplar"}, {"entities"})
    assert _uses_hints({"interpreter": "baseline"}, {"numeric", "relations"})
    assert not _uses_hints({"interpreter": "baseline"}, {"numeric", "strings"})
    assert _uses_hints({"interpreter": "agent:local", "hints": True}, {"numeric"})
    assert not _uses_hints({"interpreter": "agent:local", "hints": False}, {"entities"})
    assert not _uses_hints({"interpreter": "truth"}, {"entities"})


def test_an_interpreter_that_applies_to_none_of_the_categories_is_refused(tmp_path):
    from tinkerlab.find.runner import RunConfig, run_interpretations

    suite = build_suite(tmp_path / "suite", BuildConfig(seed=0, small=True, categories=("numeric",), mlp_steps=10))
    with pytest.raises(InputError, match="no hint words"):
        run_interpretations(tmp_path / "run", RunConfig(interpreter="hints", suite=str(suite), categories=("numeric",)))
    assert not (tmp_path / "run").exists()
    with pytest.raises(InputError, match="applies to strings, entities, relations only"):
        run_interpretations(tmp_path / "v", RunConfig(interpreter="vacuous", suite=str(suite), categories=("numeric",)))
