"""The MAIA agent loop end to end with scripted chat models that write real experiment code, and the sandbox
boundary: the code reaches the unit and the tools only through the proxy, never the model object or host files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tinkerlab.llm import ScriptedChatModel
from tinkerlab.maia import scenes
from tinkerlab.maia.agent import FINAL_TEXT, AgentConfig, extract_code, parse_answer, run_agent, write_report
from tinkerlab.maia.proxy import METHODS, ToolServer
from tinkerlab.maia.subjects import SyntheticSubject
from tinkerlab.maia.synthetic import synthetic_neuron
from tinkerlab.maia.tools import Tools
from tinkerlab.sandbox.jail import bubblewrap_problem


def code(text: str) -> str:
    return f"Next experiment.\n```python\n{text.strip()}\n```"


def star_tools() -> Tools:
    neuron = synthetic_neuron("star_night")
    exemplars = [
        scenes.render(scenes.Scene("night", (scenes.SceneObject("star", "yellow", size=0.4),), seed=s))[0]
        for s in range(3)
    ] + [scenes.render(scenes.Scene("grass", (scenes.SceneObject("star", "red"),)))[0]]
    return Tools(SyntheticSubject(neuron), exemplars, [neuron.activation(im)[0] for im in exemplars])


EXPERIMENTS = [
    code(
        """
activations, images = tools.dataset_exemplars(4)
print("exemplars", activations)
print(tools.describe_images(images[:1], ["top"]))
tools.display("first exemplar", images[0])
"""
    ),
    code(
        """
prompts = ["a large yellow star on night", "a large yellow star on grass", "a large red cup on night"]
acts, masked = system.call_neuron(tools.text2image(prompts))
results = dict(zip(prompts, acts))
print(results)
"""
    ),
    code(
        """
base = tools.text2image(["a large yellow star on night"])
edited = tools.edit_images(base * 2, ["change the background to grass", "replace the star with a cup"])
print("after edits", system.call_neuron(edited)[0], "kept", len(results))
print(tools.summarize_images(system.call_neuron(base + edited)[1]))
"""
    ),
    "I think I know.\n[DESCRIPTION]: **stars in a night sky**\n[LABEL]: night stars",
]


def test_agent_runs_real_experiments_then_answers(tmp_path):
    model = ScriptedChatModel(list(EXPERIMENTS), supports_images=True)
    result = run_agent(model, star_tools(), config=AgentConfig(max_rounds=6, cell_timeout_s=30))
    assert result.finished and result.rounds == 4
    assert result.description == "stars in a night sky" and result.labels == ["night stars"]
    first, second, third, _ = result.experiments
    assert "exemplars [0.78, 0.78, 0.78" in first.output and '"top", highlighted regions: a yellow star' in first.output
    assert "first exemplar" in first.output and len(first.images) == 1
    values = json.loads(second.output.split("Output:\n")[1].replace("'", '"'))
    night, grass, cup = values.values()
    assert night > 0.5 and grass < 0.11 and cup < 0.11  # the AND rule, measured through the proxy
    assert "after edits [0.0" in third.output and "kept 3" in third.output  # state persists between rounds
    # every observation went back to the model, images included (it takes images)
    sent = model.requests[-1]
    assert any(m.images for m in sent if m.role == "user")
    report = write_report(result, tmp_path / "report", title="star_night", truth="stars in a night sky")
    page = report.read_text()
    assert "round 3" in page and "images/r01_00.png" in page and (tmp_path / "report/images/r01_00.png").exists()
    assert json.loads((tmp_path / "report/result.json").read_text())["description"] == "stars in a night sky"


def test_errors_loops_and_missing_code_come_back_as_observations():
    replies = [
        "Let me think about it first.",
        code("x = 41\nraise ValueError('bad idea')"),
        code("print(x + 1)\nwhile True:\n    pass"),
        code("print('after restart', 'x' in globals(), system.call_neuron([])[0])"),
        code("tools.edit_images([], ['one instruction'])"),
        "[DESCRIPTION]: stars at night\n[LABEL 1]: stars\n[LABEL 2]: night",
    ]
    model = ScriptedChatModel(replies)
    result = run_agent(model, star_tools(), config=AgentConfig(max_rounds=8, cell_timeout_s=3))
    outputs = [e.output for e in result.experiments]
    assert "No code was found" in outputs[0]
    assert "ValueError: bad idea" in outputs[1]
    assert "42" in outputs[2] and ("timed out" in outputs[2].lower() or "time" in outputs[2].lower())
    assert "restarted" in outputs[2] or "restarted" in outputs[3]
    assert "after restart False []" in outputs[3]  # the notebook restarted, `system` was bound again
    assert "RuntimeError: InputError: edit_images takes one instruction per image" in outputs[4]
    assert result.finished and result.labels == ["stars", "night"]


def test_after_the_round_limit_the_final_answer_is_asked_for():
    replies = [code("print(1)"), code("print(2)"), "[DESCRIPTION]: stars\n[LABEL]: stars"]
    model = ScriptedChatModel(replies)
    result = run_agent(model, star_tools(), config=AgentConfig(max_rounds=2, cell_timeout_s=10))
    assert result.finished and result.rounds == 3 and result.description == "stars"
    assert model.requests[-1][-1].text == FINAL_TEXT
    silent = ScriptedChatModel([code("print(1)"), "still no answer"])
    unfinished = run_agent(silent, star_tools(), config=AgentConfig(max_rounds=1, cell_timeout_s=10))
    assert not unfinished.finished and unfinished.description == ""


PROBES = r"""
import gc, os, sys
found = [type(o).__name__ for o in gc.get_objects() if type(o).__name__ in ("SyntheticSubject", "UnitSubject",
         "SyntheticNeuron", "VisionModel", "Module", "ToolServer")]
print("objects:", found)
print("torch loaded:", "torch" in sys.modules, "tinkerlab loaded:", any(m.startswith("tinkerlab") for m in sys.modules))
print("tools attributes:", sorted(a for a in vars(tools)), "subject" in dir(tools))
for method in ("subject", "__init__", "_dispatch", "log"):
    try:
        _maia_call(method)
    except RuntimeError as exc:
        print("refused", method, str(exc).split(":")[0])
os.symlink("/etc/hostname", ".maia/io/in-link.png")
import json, time
for index, name in enumerate((".maia/io/in-link.png", "../outside.png", "/etc/hostname")):
    # a hand-written request, as hostile code would send it, naming an image outside .maia/io
    with open(".maia/rpc/req-x%d.json" % index, "w") as handle:
        handle.write(json.dumps({"method": "call_neuron", "args": [[{"__image__": name}]]}))
    while not os.path.exists(".maia/rpc/resp-x%d.json" % index):
        time.sleep(0.01)
    print("image refused", name, json.load(open(".maia/rpc/resp-x%d.json" % index))["error"].split(":")[0])
"""


def test_the_code_reaches_only_the_tools_through_the_proxy():
    model = ScriptedChatModel([code(PROBES), "[DESCRIPTION]: x\n[LABEL]: x"])
    result = run_agent(model, star_tools(), config=AgentConfig(max_rounds=3, cell_timeout_s=30))
    out = result.experiments[0].output
    assert "objects: []" in out
    assert "torch loaded: False tinkerlab loaded: False" in out
    assert "tools attributes: [] False" in out
    for method in ("subject", "__init__", "_dispatch", "log"):
        assert f"refused {method} PermissionError" in out
    for name in (".maia/io/in-link.png", "../outside.png", "/etc/hostname"):
        assert f"image refused {name} PermissionError" in out
    assert set(METHODS) == {
        "call_neuron",
        "dataset_exemplars",
        "text2image",
        "edit_images",
        "describe_images",
        "summarize_images",
        "display",
    }


@pytest.mark.skipif(bubblewrap_problem() is not None, reason="the bubblewrap jail is not usable here")
def test_in_the_jail_host_files_are_out_of_reach():
    here = Path(__file__).resolve()
    probe = code(
        f"""
for path in ({str(here)!r}, {str(here.parents[2] / "README.md")!r}):
    try:
        open(path).read()
        print("reached", path)
    except OSError as exc:
        print("blocked", type(exc).__name__)
import os
print("scratch", sorted(os.listdir(".")))
"""
    )
    model = ScriptedChatModel(["```python\nimport os\n```", probe, "[DESCRIPTION]: x\n[LABEL]: x"])
    result = run_agent(model, star_tools(), config=AgentConfig(max_rounds=3, cell_timeout_s=30), isolation="jail")
    out = result.experiments[1].output
    assert "reached" not in out and out.count("blocked") == 2
    assert "scratch ['.maia'" in out


def test_tool_server_answers_only_listed_methods(tmp_path):
    tools = star_tools()
    with ToolServer(tools, tmp_path) as server:
        assert server._dispatch({"method": "dataset_exemplars", "args": [2]})[0][0] > 0.5
        with pytest.raises(PermissionError, match="not a tool"):
            server._dispatch({"method": "subject", "args": []})
    assert server.calls == ["dataset_exemplars"]


def test_reply_parsing():
    assert extract_code("```py\na = 1\n```\ntext\n```python\nb = 2") == ["a = 1\n", "b = 2"]
    assert parse_answer("**[DESCRIPTION]:** red things\n**[LABEL]:** red") == ("red things", ["red"])
    assert parse_answer("nothing here") == ("", [])


def test_a_request_written_in_place_is_answered_once_complete_and_a_broken_one_with_the_parse_error(
    tmp_path, monkeypatch
):
    import json
    import time

    from tinkerlab.maia import proxy

    monkeypatch.setattr(proxy, "UNREADABLE_GRACE_S", 0.3)
    rpc = tmp_path / proxy.RPC_DIR

    def answer(key: str) -> dict:
        path = rpc / f"resp-{key}.json"
        deadline = time.monotonic() + 10
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return json.loads(path.read_text())

    with proxy.ToolServer(object(), tmp_path):
        (rpc / "req-half.json").write_text('{"method": "nope", "ar')  # the writer is not done yet
        time.sleep(0.1)
        assert not (rpc / "resp-half.json").exists()
        (rpc / "req-half.json").write_text('{"method": "nope", "args": []}')
        assert answer("half")["error"].startswith("PermissionError")  # parsed and dispatched, not a parse error
        (rpc / "req-broken.json").write_text("{not json")
        assert answer("broken")["error"].startswith("JSONDecodeError")
