"""FIND runs whose setup fails (no API key, an unknown or unreachable model, a damaged suite): the functions stay
pending, the command exits 1 with one `error:` line that names the cause, a rerun resumes, and the report does
not print the zeros of failed runs as scores."""

from __future__ import annotations

import json

import pytest

from llm_fake_server import start_chat_server  # tests/llm_fake_server.py
from tinkerlab.cli import main
from tinkerlab.core.errors import LLMConnectionError, TinkerlabError
from tinkerlab.find.suite import BuildConfig, build_suite

ANSWER = "[DESCRIPTION]: zero\n[CODE]:\ndef f(x):\n    return 0.0\n"


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    folder = tmp_path_factory.mktemp("find-failures") / "suite"
    return build_suite(folder, BuildConfig(seed=1, small=True, categories=("numeric",), mlp_steps=10))


@pytest.fixture
def no_openai(monkeypatch, tmp_path):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "TINKERLAB_LLM_BASE_URL", "TINKERLAB_LLM_API_KEY_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TINKERLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)


def _main(args: list[str], capsys) -> tuple[int, list[str]]:
    try:
        main([str(a) for a in args])
    except SystemExit as exit_info:
        code = exit_info.code
    else:
        code = 0
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return code, [line for line in err.splitlines() if line.strip()]


def _done(run) -> list[str]:
    state = run / "state.json"
    return json.loads(state.read_text()).get("done", []) if state.exists() else []


def test_missing_key_leaves_functions_pending_and_a_rerun_resumes(suite, no_openai, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["find", "run", suite, "--interpreter", "agent:openai:gpt-4o", "--categories", "numeric"]
    args += ["--limit", "3", "--workers", "1", "--out", run]
    code, lines = _main(args, capsys)
    assert code == 1 and len(lines) == 1, lines
    assert lines[0].startswith("error: 3 of 3 functions failed: ") and "OPENAI_API_KEY" in lines[0], lines[0]
    assert "run the same command again" in lines[0]
    assert _done(run) == []
    record = json.loads((run / "outputs" / "interpretations" / "numeric" / "f00000.json").read_text())
    assert "OPENAI_API_KEY" in record["failure"]
    # the report does not print the failed runs' zeros as a score
    from tinkerlab.find.report import make_report
    from tinkerlab.find.scoring import score_run

    score_run(run)
    report = make_report([run], tmp_path / "report")
    assert report["rows"][0]["Numeric"] is None
    table = (tmp_path / "report" / "report.md").read_text().splitlines()
    assert "failed runs (3/3)" in table[2] and "0.00" not in table[2], table
    # the same command, now with a server that answers: the pending functions are interpreted
    with start_chat_server() as server:
        server.reply_text = ANSWER
        code, lines = _main([*args, "--base-url", server.url + "/v1"], capsys)
    assert code == 0, lines
    assert sorted(_done(run)) == ["numeric/f00000", "numeric/f00001", "numeric/f00002"]
    assert "3 to go" in (run / "run.log").read_text()
    record = json.loads((run / "outputs" / "interpretations" / "numeric" / "f00000.json").read_text())
    assert record["failure"] is None and record["description"] == "zero"
    assert record["usage"]["completion_tokens"] > 0 and record["cost_usd"] is None  # not OpenAI's host: no price


def test_a_failing_model_then_a_working_scripted_one(suite, monkeypatch, tmp_path):
    """The Python API: a model that stays unreachable leaves everything pending; the rerun does it all."""
    import tinkerlab.llm
    from tinkerlab.find import runner
    from tinkerlab.find.runner import RunConfig, load_interpretations, run_interpretations

    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps([ANSWER] * 4))
    config = RunConfig(interpreter=f"agent:scripted:{replies}", suite=str(suite), categories=("numeric",), limit=4)
    real = tinkerlab.llm.load_chat_model

    def unreachable(spec, **kwargs):
        raise LLMConnectionError("http://127.0.0.1:9/v1 did not answer after 5 attempts")

    runner._agent.cache_clear()
    monkeypatch.setattr(tinkerlab.llm, "load_chat_model", unreachable)
    with pytest.raises(TinkerlabError, match="4 of 4 functions failed: http://127.0.0.1:9/v1 did not answer"):
        run_interpretations(tmp_path / "run", config, workers=1)
    assert _done(tmp_path / "run") == []
    monkeypatch.setattr(tinkerlab.llm, "load_chat_model", real)
    run = run_interpretations(tmp_path / "run", config, workers=1)
    assert len(_done(run)) == 4
    records = load_interpretations(run)["numeric"]
    assert all(r["failure"] is None and r["description"] == "zero" for r in records.values())
    assert all(r["usage"]["prompt_tokens"] > 0 for r in records.values())


def test_failed_runs_in_a_row_stop_the_rest(suite, monkeypatch, tmp_path):
    import tinkerlab.llm
    from tinkerlab.find import runner
    from tinkerlab.find.runner import RunConfig, run_interpretations

    calls = []

    def unreachable(spec, **kwargs):
        calls.append(spec)
        raise LLMConnectionError("the server stayed unreachable")

    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps([ANSWER]))
    runner._agent.cache_clear()
    monkeypatch.setattr(tinkerlab.llm, "load_chat_model", unreachable)
    monkeypatch.setattr(runner, "STOP_AFTER_FAILURES", 2)
    config = RunConfig(interpreter=f"agent:scripted:{replies}", suite=str(suite), categories=("numeric",), limit=6)
    with pytest.raises(
        TinkerlabError, match="2 of 6 functions failed \\(the rest were not started.*with the 6 functions left"
    ):
        run_interpretations(tmp_path / "run", config, workers=1)
    assert len(calls) == 2


def test_old_records_of_failed_runs_are_interpreted_again(suite, tmp_path):
    """A run written before failures were kept pending marked them done with an `LLMError: ...` error."""
    from tinkerlab.find.runner import RunConfig, failure_of, run_interpretations

    config = RunConfig(interpreter="fit", suite=str(suite), categories=("numeric",), limit=2)
    run = run_interpretations(tmp_path / "run", config, workers=1)
    file = run / "outputs" / "interpretations" / "numeric" / "f00001.json"
    old = {**json.loads(file.read_text()), "error": "LLMError: openai:gpt-4o needs an API key"}
    del old["failure"]
    file.write_text(json.dumps(old))
    assert failure_of(old) and failure_of({"error": "no [DESCRIPTION] after 20 rounds"}) is None
    run_interpretations(run, config, workers=1)
    assert "1 functions already interpreted, 1 to go" in (run / "run.log").read_text()
    assert json.loads(file.read_text())["error"] is None


@pytest.mark.parametrize("spec", ["agent:foo:bar", "agent:openai:", "agent:scripted:no-such-replies.json"])
def test_an_unknown_chat_model_spec_fails_before_any_job(suite, no_openai, tmp_path, capsys, spec):
    run = tmp_path / "run"
    code, lines = _main(["find", "run", suite, "--interpreter", spec, "--limit", "2", "--out", run], capsys)
    assert code == 1 and len(lines) == 1 and lines[0].startswith("error: "), lines
    assert "scripted" in lines[0] or "valid forms" in lines[0], lines[0]
    assert not (run / "outputs" / "interpretations").exists() and _done(run) == []


def _scored_run(tmp_path, suite):
    from tinkerlab.find.runner import RunConfig, run_interpretations

    config = RunConfig(interpreter="fit", suite=str(suite), categories=("numeric",), limit=2)
    return run_interpretations(tmp_path / "run", config, workers=1)


@pytest.mark.parametrize("damaged", ["suite.json", "numeric.json"])
@pytest.mark.parametrize("command", ["run", "score"])
def test_a_damaged_suite_is_one_line_with_the_rebuild_command(tmp_path, capsys, damaged, command):
    folder = build_suite(tmp_path / "suite", BuildConfig(seed=1, small=True, categories=("numeric",), mlp_steps=10))
    run = _scored_run(tmp_path, folder)
    text = (folder / damaged).read_text()
    (folder / damaged).write_text(text[: len(text) // 2])
    args = ["find", "run", folder, "--interpreter", "fit", "--categories", "numeric", "--limit", "2", "--out"]
    args = [*args, tmp_path / "fresh"] if command == "run" else ["find", "score", run]
    code, lines = _main(args, capsys)
    assert code == 1 and len(lines) == 1 and lines[0].startswith("error: "), lines
    assert "tinkerlab find build --out" in lines[0], lines[0]


def test_score_takes_a_scoring_mode(suite, tmp_path, capsys, monkeypatch):
    from tinkerlab.find import scoring

    run = _scored_run(tmp_path, suite)
    seen = {}
    real = scoring.score_run

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(scoring, "score_run", spy)
    code, lines = _main(["find", "score", run], capsys)
    assert code == 0 and seen["scoring"] == "per-input", lines
    code, lines = _main(["find", "score", run, "--scoring", "original"], capsys)
    assert code == 0 and seen["scoring"] == "original", lines
    code, lines = _main(["find", "score", run, "--scoring", "bogus"], capsys)
    assert code == 1 and "per-input" in lines[0], lines
