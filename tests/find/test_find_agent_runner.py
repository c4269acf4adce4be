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
from tinkerlab.llm import ScriptedChatModel


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
    assert (
        "(published, original suite)" in table
        and "not directly comparable" in table
        and (tmp_path / "report" / "scores.png").exists()
    )
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


def _strings_spec():
    ops = [{"op": "upper", "params": {}}]
    return {"id": "f1", "category": "strings", "ops": ops, "code": strings.ground_truth_code({"ops": ops})}


def test_commands_with_nested_parentheses_and_quotes():
    assert extract_command("""COMMAND: PYTHON(function.py "a(b)" 'c)d')""") == """function.py "a(b)" 'c)d'"""
    assert extract_command("PYTHON(function.py (1) 2) and PYTHON(function.py ((3)))") == "function.py ((3))"
    assert extract_command("COMMAND: PYTHON(function.py don't stop)") == "function.py don't stop"
    assert extract_command("PYTHON(./temp/function.py\n1\n2)") == "./temp/function.py 1 2"
    assert extract_command("PYTHON(function.py 'never closed") is None
    box = BlackBox(_strings_spec())
    reply = box.command(extract_command("""COMMAND: PYTHON(function.py "a(b)" 'c)d')"""))
    assert reply == "Function input - output pairs: (a(b), A(B)) (c)d, C)D)"


def test_scripted_agent_sends_inputs_with_parentheses_whole():
    from tinkerlab.llm import ScriptedChatModel

    model = ScriptedChatModel(["""COMMAND: PYTHON(function.py "a(b)" 'c)d')""", "[DESCRIPTION]: upper case"])
    result = AgentInterpreter(model, AgentConfig(max_rounds=3)).interpret(_strings_spec(), BlackBox(_strings_spec()))
    assert model.requests[1][-1].text == "Response: Function input - output pairs: (a(b), A(B)) (c)d, C)D)"
    assert result.description == "upper case"


def test_markdown_is_stripped_from_the_answer_fields():
    parts = parse_answer(
        "**[DESCRIPTION]:** doubles x\n\n**[DOMAIN]:** all reals\n\n"
        "**[CODE]:**\n```python\ndef f(x):\n    return 2*x\n```"
    )
    assert parts == {"description": "doubles x", "domain": "all reals", "code": "def f(x):\n    return 2*x\n"}
    parts = parse_answer("### [DESCRIPTION]: **adds one**\n---\n### [CODE]\n```\ndef f(x):\n    return x + 1\n```")
    assert parts["description"] == "adds one" and parts["code"] == "def f(x):\n    return x + 1\n"
    assert parse_answer("**[DESCRIPTION]**: squares x (x**2)")["description"] == "squares x (x**2)"


def test_code_is_taken_from_a_fence_that_never_closes():
    cut = "[DESCRIPTION]: doubles x\n[CODE]:\n```python\ndef f(x):\n    y = 2 * x\n    return y\n"
    assert parse_answer(cut)["code"] == "def f(x):\n    y = 2 * x\n    return y\n"
    compile(parse_answer(cut)["code"], "code.py", "exec")


class _RecordingModel(ScriptedChatModel):
    """A scripted chat model that also records the max_tokens of every request."""

    def _generate(self, messages, *, temperature, max_tokens, stop):
        self.max_tokens_sent = [*getattr(self, "max_tokens_sent", []), max_tokens]
        return super()._generate(messages, temperature=temperature, max_tokens=max_tokens, stop=stop)


def test_scripted_agent_sends_max_tokens_and_records_tokens_and_cost():
    from tinkerlab.find.agent import DEFAULT_MAX_TOKENS, PRICES_PER_MTOK, estimate_cost

    assert AgentConfig().max_tokens == DEFAULT_MAX_TOKENS == 1024
    replies = ["COMMAND: PYTHON(function.py 1 2)", "[DESCRIPTION]: 2x + 1\n[CODE]:\ndef f(x):\n    return 2 * x + 1\n"]
    model = _RecordingModel(replies, name="openai:gpt-4o")
    result = AgentInterpreter(model, AgentConfig(max_tokens=77)).interpret(_linear_spec(), BlackBox(_linear_spec()))
    assert model.max_tokens_sent == [77, 77]
    usage = model.total_usage
    assert result.usage == {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens}
    assert result.usage["prompt_tokens"] > 0 and result.usage["completion_tokens"] == sum(
        len(r.split()) for r in replies
    )
    prompt_price, completion_price = PRICES_PER_MTOK["openai:gpt-4o"]
    expected = (usage.prompt_tokens * prompt_price + usage.completion_tokens * completion_price) / 1e6
    assert result.cost_usd == pytest.approx(expected)
    assert estimate_cost("openai:gpt-4o-2024-08-06", 10**6, 0) == prompt_price
    assert estimate_cost("anthropic:claude-3-5-sonnet-20241022", 0, 10**6) == 15.0
    assert estimate_cost("openai:gpt-4.1", 10, 10) is None and estimate_cost("local:SmolLM2", 10, 10) is None
    assert estimate_cost("openai:gpt-4o", 10, 10, base_url="http://127.0.0.1:8000/v1") is None
    local = AgentInterpreter(_RecordingModel(replies[1:])).interpret(_linear_spec(), BlackBox(_linear_spec()))
    assert local.cost_usd is None and local.usage["completion_tokens"] == len(replies[1].split())


def test_runner_passes_max_tokens_to_the_scripted_agent(tmp_path):
    from tinkerlab.find.runner import RunConfig, interpreter_for

    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps(["[DESCRIPTION]: x"]))
    config = RunConfig(interpreter=f"agent:scripted:{replies}", max_tokens=99)
    assert interpreter_for(config.interpreter, "numeric", config).config.max_tokens == 99
    with pytest.raises(InputError, match="max_tokens"):
        RunConfig(max_tokens=0)


def test_a_server_failure_mid_conversation_is_a_failed_run():
    from tinkerlab.core.errors import LLMConnectionError, LLMError
    from tinkerlab.llm import ScriptedChatModel

    class Unreachable(ScriptedChatModel):
        def _generate(self, messages, *, temperature, max_tokens, stop):
            if len(self.requests) >= 1:
                raise LLMConnectionError("http://127.0.0.1:9 did not answer after 5 attempts")
            return super()._generate(messages, temperature=temperature, max_tokens=max_tokens, stop=stop)

    result = AgentInterpreter(Unreachable(["COMMAND: PYTHON(function.py 1)"])).interpret(
        _linear_spec(), BlackBox(_linear_spec())
    )
    assert result.failure == "http://127.0.0.1:9 did not answer after 5 attempts"
    assert result.error.startswith("model error:") and result.usage["completion_tokens"] == 3
    # a reply the model cannot give (scripted replies used up) is the interpretation's error, not the run's
    spent = AgentInterpreter(ScriptedChatModel([])).interpret(_linear_spec(), BlackBox(_linear_spec()))
    assert spent.failure is None and spent.error.startswith("model error:")
    assert isinstance(LLMConnectionError("x"), LLMError)


def test_find_run_takes_max_tokens(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from tinkerlab.find import runner
    from tinkerlab.find.cli import app

    seen = {}
    monkeypatch.setattr(runner, "run_interpretations", lambda out, config, **kw: seen.setdefault("c", config) and out)
    result = CliRunner().invoke(app, ["run", str(tmp_path), "--interpreter", "fit", "--max-tokens", "300"])
    assert result.exit_code == 0, result.output
    assert seen["c"].max_tokens == 300
    result = CliRunner().invoke(app, ["run", "--help"])
    assert "--max-tokens" in result.output and "1024" in result.output
