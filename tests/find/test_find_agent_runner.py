"""FIND protocol, LLM agent (with a scripted chat model), runner (resume, pool), report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from llm_fake_server import start_chat_server  # tests/llm_fake_server.py
from tinkerlab.core.errors import InputError, MissingDependencyError
from tinkerlab.find import numeric, strings
from tinkerlab.find.agent import AgentConfig, AgentInterpreter
from tinkerlab.find.protocol import BlackBox, extract_command, parse_answer, task_prompt
from tinkerlab.find.suite import BuildConfig, build_suite


def _linear_spec():
    spec = numeric.sample_numeric_function(np.random.default_rng(0), "f00000", variant="clean", family="linear")
    spec["terms"][0]["params"] = {"m": 2.0, "b": 1.0}
    spec["code"] = numeric.ground_truth_code(spec)
    return spec


def test_black_box_answers_pairs_like_the_original_script():
    box = BlackBox(_linear_spec())
    assert box.command("function.py 1 2.5") == "Function input - output pairs: (1, 3) (2.5, 6)"
    assert box.command("./temp/function.py -3").endswith("(-3, -5)")
    assert box.command("function.py abc").startswith("Error: f(x) takes numbers")
    assert box.command("function.py").startswith("Error: no inputs")
    sbox = BlackBox(
        {
            "id": "f1",
            "category": "strings",
            "ops": [{"op": "upper", "params": {}}],
            "code": strings.ground_truth_code({"ops": [{"op": "upper", "params": {}}]}),
        }
    )
    assert sbox.command("function.py hello 'a b'") == "Function input - output pairs: (hello, HELLO) (a b, A B)"
    with pytest.raises(ValueError, match="need an LM"):
        BlackBox({"id": "f0", "category": "entities"})


def test_prompts_and_parsing():
    assert "[-128 and 128]" in task_prompt("numeric") and "[DOMAIN]" in task_prompt("numeric")
    assert "implemented by an MLP" in task_prompt("numeric", mlp=True)
    assert "[CODE]" in task_prompt("strings") and "[CODE]" not in task_prompt("entities")
    assert "start with the following words: golf tee" in task_prompt("entities", hints=["golf", "tee"])
    assert extract_command("Let me test.\nCOMMAND: PYTHON(function.py 1 2 3)") == "function.py 1 2 3"
    assert extract_command("no command here") is None
    parts = parse_answer(
        "[DESCRIPTION]: doubles x\n[DOMAIN]: all reals\n[CODE]:\n```python\ndef f(x):\n    return 2*x\n```"
    )
    assert parts == {"description": "doubles x", "domain": "all reals", "code": "def f(x):\n    return 2*x\n"}


def test_agent_runs_commands_then_answers_and_records_the_transcript():
    from tinkerlab.llm import ScriptedChatModel

    model = ScriptedChatModel(
        [
            "I will test some values.\nCOMMAND: PYTHON(function.py 0 1 2)",
            "Thinking without a command.",
            "[DESCRIPTION]: f(x) = 2x + 1\n[DOMAIN]: no odd interval\n[CODE]:\ndef f(x):\n    return 2 * x + 1\n",
        ]
    )
    agent = AgentInterpreter(model, AgentConfig(max_rounds=5))
    result = agent.interpret(_linear_spec(), BlackBox(_linear_spec()))
    assert result.error is None and result.rounds == 3 and result.queries == 1
    assert result.description == "f(x) = 2x + 1" and "return 2 * x + 1" in result.code
    sent = [m.text for m in model.requests[1]]
    assert sent[-1] == "Response: Function input - output pairs: (0, 1) (1, 3) (2, 5)"
    assert "no command" in model.requests[2][-1].text
    assert [t["role"] for t in result.transcript][:2] == ["system", "user"]


def test_agent_round_limit_is_recorded():
    from tinkerlab.llm import ScriptedChatModel

    model = ScriptedChatModel(["COMMAND: PYTHON(function.py 1)"] * 3)
    result = AgentInterpreter(model, AgentConfig(max_rounds=2)).interpret(_linear_spec(), BlackBox(_linear_spec()))
    assert result.error.startswith("no [DESCRIPTION] after 2 rounds")
    assert "final answer" in model.requests[-1][-1].text


def test_runner_with_scripted_agent_resumes_and_scores(tmp_path):
    from tinkerlab.find.report import make_report
    from tinkerlab.find.runner import RunConfig, load_interpretations, run_interpretations
    from tinkerlab.find.scoring import score_run

    suite = build_suite(
        tmp_path / "suite", BuildConfig(seed=1, small=True, categories=("numeric", "strings"), mlp_steps=10)
    )
    replies = tmp_path / "replies.json"
    answer = "[DESCRIPTION]: zero\n[CODE]:\ndef f(x):\n    return 0.0\n"
    replies.write_text(json.dumps([answer] * 3))
    config = RunConfig(interpreter=f"agent:scripted:{replies}", suite=str(suite), categories=("numeric",), limit=3)
    run = run_interpretations(tmp_path / "run", config, workers=1)
    records = load_interpretations(run)["numeric"]
    assert sorted(records) == ["f00000", "f00001", "f00002"]
    assert records["f00000"]["transcript"][-1]["content"].startswith("[DESCRIPTION]")
    again = run_interpretations(tmp_path / "run", config, workers=1)
    assert "0 to go" in (again / "run.log").read_text()
    scores = score_run(run)
    assert [s.score for s in scores] == [0.0, 0.0, 0.0] and all(s.value is not None for s in scores)
    # a baseline run in a process pool, then the report in the paper's layout
    base = run_interpretations(
        tmp_path / "base",
        RunConfig(interpreter="baseline", suite=str(suite), categories=("numeric", "strings"), limit=4),
        workers=2,
    )
    score_run(base)
    report = make_report([run, base], tmp_path / "report")
    table = (tmp_path / "report" / "report.md").read_text()
    assert table.splitlines()[0] == "| Interpreter | Numeric | Str-code | Str-unit | Entities | Relations |"
    assert "(published)" in table and (tmp_path / "report" / "scores.png").exists()
    assert report["rows"][1]["Str-code"] > 0.5


def test_runner_rejects_bad_specs_and_missing_ray(tmp_path):
    from tinkerlab.find.runner import RunConfig, run_interpretations

    suite = build_suite(tmp_path / "suite", BuildConfig(seed=1, small=True, categories=("strings",)))
    with pytest.raises(InputError, match="unknown interpreter"):
        run_interpretations(tmp_path / "r", RunConfig(interpreter="magic", suite=str(suite)))
    try:
        import ray  # noqa: F401
    except ImportError:
        with pytest.raises(MissingDependencyError, match="tinkerlab\\[ray\\]"):
            run_interpretations(tmp_path / "r", RunConfig(suite=str(suite), categories=("strings",)), executor="ray")


@pytest.mark.parametrize(
    "rule, backend, name",
    [
        ("anthropic-no-prefill", "anthropic", "claude-sonnet-4-6"),
        ("anthropic-temperature", "anthropic", "test-claude"),
        ("openai-reasoning", "openai", "test-gpt"),
        ("openai-reasoning", "openai", "o4-mini"),
    ],
)
def test_agent_runs_against_the_servers_rules(monkeypatch, tmp_path, rule, backend, name):
    from tinkerlab.llm import load_chat_model

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-openai")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-anthropic")
    monkeypatch.setenv("TINKERLAB_CACHE", str(tmp_path / "cache"))
    with start_chat_server() as server:
        server.rules.add(rule)
        server.scripted = [  # scripted model replies
            "COMMAND: PYTHON(function.py 0 1 2)",
            "[DESCRIPTION]: f(x) = 2x + 1\n[CODE]:\ndef f(x):\n    return 2 * x + 1\n",
        ]
        url = server.url + ("/v1" if backend == "openai" else "")
        model = load_chat_model(f"{backend}:{name}", base_url=url, cache=False, timeout_s=10, retry_base_delay_s=0.01)
        agent = AgentInterpreter(model, AgentConfig(max_rounds=3, temperature=1.5))
        result = agent.interpret(_linear_spec(), BlackBox(_linear_spec()))
    assert result.error is None and result.queries == 1 and result.description == "f(x) = 2x + 1"
    assert all(r["body"]["messages"][-1]["role"] == "user" for r in server.chat_requests())
    last = server.chat_requests()[-1]["body"]
    if backend == "anthropic":
        assert last["temperature"] == 1.0  # fitted into Anthropic's 0-1
    else:
        assert "temperature" not in last and "stop" not in last and "max_completion_tokens" in last
