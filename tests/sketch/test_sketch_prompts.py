"""Prompts from a user's file (`--prompts FILE`): the format, its checks, and the runs and evaluations using it."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tinkerlab.core.errors import InputError
from tinkerlab.llm import ScriptedChatModel
from tinkerlab.sketch.agent import AgentConfig, SketchAgent
from tinkerlab.sketch.cli import app
from tinkerlab.sketch.evaluate import QUICKDRAW_50, evaluation_concepts
from tinkerlab.sketch.prompts import EXAMPLE_CONCEPT, example_concepts, load_prompts

DRAWING = (
    "<answer><concept>kite</concept><strokes><s1><points>'x10y15', 'x40y35'</points><t_values>0, 1</t_values>"
    "<id>line</id></s1><s2><points>'x20y30', 'x30y10'</points><t_values>0, 1</t_values></s2></strokes></answer>"
)
PROMPTS = '''name = "my copy"
system = """You sketch on a {res}x{res} grid."""
example = """<examples>A house: <s1><points>'x1y1', 'x9y9'</points></s1></examples>"""
example_concept = "House"
'''


def test_a_prompts_file_replaces_the_system_prompt_and_the_example(tmp_path):
    path = tmp_path / "prompts.toml"
    path.write_text(PROMPTS)
    prompts = load_prompts(path)
    assert prompts.name == "my copy" and prompts.example_concept == "house" and len(prompts.sha256) == 64
    model = ScriptedChatModel([DRAWING])
    SketchAgent(model, AgentConfig(prompts=prompts)).draw("kite")
    system, task = model.requests[0][0].text, model.requests[0][1].text
    assert system == "You sketch on a 50x50 grid."
    assert "A house:" in task and EXAMPLE_CONCEPT not in task and "kite" in task
    assert example_concepts(prompts) == ("house",) and example_concepts() == (EXAMPLE_CONCEPT,)
    assert evaluation_concepts(["house", "cat"], example_concepts(prompts)) == (["cat"], ["house"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('example = "x"', "no 'system' key"),
        ('system = "a"\nsystme = "b"', "unknown keys"),
        ("system = 3", "must be a string"),
        ('system = "grid of {size}"', "placeholder"),
        ("system = ", "not UTF-8 TOML"),
    ],
)
def test_bad_prompts_files_say_what_is_expected(tmp_path, text, message):
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        load_prompts(path)


def test_draw_records_which_prompts_ran(tmp_path):
    (tmp_path / "prompts.toml").write_text(PROMPTS)
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps([DRAWING]))
    out = tmp_path / "run"
    args = ["draw", "kite", "--model", f"scripted:{replies}", "--prompts", str(tmp_path / "prompts.toml")]
    result = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["agent"]["prompts"]["name"] == "my copy"
    assert "prompts: 'my copy'" in (out / "run.log").read_text()
    exchange = json.loads((out / "transcript.jsonl").read_text().splitlines()[0])
    assert "You sketch on a 50x50 grid." in json.dumps(exchange)
    edit = "<answer><strokes><s3><points>'x45y45', 'x46y46'</points><t_values>0, 1</t_values></s3></strokes></answer>"
    replies.write_text(json.dumps([edit]))
    result = CliRunner().invoke(app, ["edit", str(out), "add a sun", "--model", f"scripted:{replies}"])
    assert result.exit_code == 0, result.output
    edit_exchange = json.loads((out / "transcript.jsonl").read_text().splitlines()[-1])
    assert "You sketch on a 50x50 grid." in json.dumps(edit_exchange)  # the edit reuses the run's prompts
    result = CliRunner().invoke(app, ["draw", "kite", "--prompts", str(tmp_path / "missing.toml"), "--out", str(out)])
    assert result.exit_code != 0 and "does not exist" in str(result.exception)


def test_the_quickdraw_names_list():
    assert len(QUICKDRAW_50) == len(set(QUICKDRAW_50)) == 50
    assert EXAMPLE_CONCEPT not in QUICKDRAW_50
