"""Every agent mode, driven by scripted replies; the human-stroke mapping."""

from __future__ import annotations

import json

import numpy as np
import pytest

from llm_fake_server import start_chat_server  # tests/llm_fake_server.py
from tinkerlab.core.errors import SketchSyntaxError
from tinkerlab.llm import ScriptedChatModel
from tinkerlab.sketch.agent import AgentConfig, SketchAgent
from tinkerlab.sketch.geometry import DEFAULT_GRID
from tinkerlab.sketch.human import human_stroke
from tinkerlab.sketch.language import Sketch, Stroke, parse_edit

BOAT = """A boat: hull then mast.</thinking>
<answer>
<concept>boat</concept>
<strokes>
<s1><points>'x10y15', 'x25y8', 'x40y15'</points><t_values>0.00, 0.50, 1.00</t_values><id>hull</id></s1>
<s2><points>'x25y15', 'x25y40'</points><t_values>0.00, 1.00</t_values><id>mast</id></s2>
</strokes>
"""


def test_text_to_sketch_in_one_call(tmp_path):
    model = ScriptedChatModel([BOAT])
    transcript = tmp_path / "t.jsonl"
    result = SketchAgent(model, transcript=transcript).draw("boat")
    assert [s.label for s in result.sketch.strokes] == ["hull", "mast"]
    assert result.sketch.concept == "boat"
    assert result.sketch.thinking.startswith("A boat")
    (request,) = model.requests
    assert [m.role for m in request] == ["system", "user", "assistant"]
    assert request[-1].text == "<thinking>"  # prefilled plan
    assert "sailboat" in request[1].text and "boat" in request[1].text  # the worked example and the task
    assert "x1y1" in request[0].text
    records = [json.loads(line) for line in transcript.read_text().splitlines()]
    assert len(records) == 1


def test_unreadable_reply_is_retried_with_the_error():
    model = ScriptedChatModel(["I cannot draw.</thinking><answer>sorry</answer>", BOAT])
    result = SketchAgent(model).draw("boat")
    assert len(result.sketch) == 2
    assert len(result.failures) == 1 and "no strokes found" in result.failures[0]
    retry = model.requests[1]
    assert "could not be read" in retry[-2].text  # the error goes back, then the prefill
    assert retry[-1].role == "assistant"


def test_bounded_retries_then_a_syntax_error():
    model = ScriptedChatModel(["nothing"] * 3)
    with pytest.raises(SketchSyntaxError, match="after 3 attempts"):
        SketchAgent(model, AgentConfig(retries=2)).draw("boat")
    assert model.remaining == 0


def test_model_without_prefill_gets_no_prefill():
    model = ScriptedChatModel(["<thinking>" + BOAT], supports_prefill=False)
    result = SketchAgent(model).draw("boat")
    assert len(result.sketch) == 2
    assert model.requests[0][-1].role == "user"


PLAN = "Hull, then mast, then a sail.</thinking>\n<answer>\n<concept>boat</concept>\n<strokes>\n<s1>ignored"
S1 = "<s1>\n<points>'x10y15', 'x25y8', 'x40y15'</points>\n<t_values>0, 0.5, 1</t_values>\n<id>hull</id>\n</s1>"
S2 = "<s2><points>'x25y15', 'x25y40'</points><t_values>0, 1</t_values><id>mast</id></s2>"
S3 = "<s3><points>'x26y38', 'x36y18', 'x36y18', 'x26y18'</points><t_values>0, .52, .48, 1</t_values><id>sail</id></s3>"


def test_stroke_by_stroke_with_prefill():
    model = ScriptedChatModel([PLAN, S1, S2, S3, "</strokes>\n</answer>"])
    seen = []
    result = SketchAgent(model).draw_stroke_by_stroke("boat", on_stroke=lambda i, s: seen.append(i))
    assert [s.label for s in result.sketch.strokes] == ["hull", "mast", "sail"]
    assert seen == [1, 2, 3]
    assert result.sketch.thinking == "Hull, then mast, then a sail."
    plan_request, *stroke_requests = model.requests
    assert plan_request[-1].text == "<thinking>"
    # Each stroke call continues the assistant turn holding the plan and the strokes so far.
    third = stroke_requests[2][-1]
    assert third.role == "assistant"
    assert third.text.rstrip().endswith("</s2>")
    assert "<strokes>" in third.text and "<s1>" in third.text and "ignored" not in third.text


def test_stroke_by_stroke_stops_at_max_strokes():
    model = ScriptedChatModel([PLAN, S1, S2, S3])
    result = SketchAgent(model).draw_stroke_by_stroke("boat", max_strokes=2)
    assert len(result.sketch) == 2
    assert model.remaining == 1


def test_stroke_by_stroke_without_prefill_continues_from_the_transcript():
    model = ScriptedChatModel(
        ["<thinking>" + PLAN, "Here it is: " + S1, S2, "The boat is complete. </strokes>"],
        supports_prefill=False,
    )
    result = SketchAgent(model).draw_stroke_by_stroke("boat")
    assert [s.label for s in result.sketch.strokes] == ["hull", "mast"]
    second = model.requests[2]
    assert [m.role for m in second] == ["system", "user", "assistant", "user"]
    assert second[2].text.endswith("</s1>")
    assert "<s2>" in second[3].text


def test_stroke_by_stroke_later_failure_keeps_the_strokes():
    model = ScriptedChatModel([PLAN, S1, "<s2><points>??</points></s2>", "<s2><points>x</points>", "<s2>junk"])
    result = SketchAgent(model, AgentConfig(retries=2)).draw_stroke_by_stroke("boat")
    assert len(result.sketch) == 1
    assert len(result.failures) == 3


def edit_sketch() -> Sketch:
    return Sketch(
        (
            Stroke.from_cells(["x10y15", "x25y8", "x40y15"], label="hull"),
            Stroke.from_cells(["x25y15", "x25y40"], label="mast"),
            Stroke.from_cells(["x5y45", "x9y45"], label="bird"),
        ),
        "boat",
        "hull, mast, bird",
    )


def test_edit_adds_modifies_and_removes():
    reply = (
        "The sun goes top right; the mast gets taller; the bird goes.</thinking><answer><remove>s3</remove>"
        "<modify>s2</modify>"
        "<strokes><s2><points>'x25y15', 'x25y46'</points><t_values>0,1</t_values><id>taller mast</id></s2>"
        "<s4><points>'x45y45'</points><t_values>0</t_values><id>sun</id></s4></strokes>"
    )
    model = ScriptedChatModel([reply])
    result = SketchAgent(model).edit(edit_sketch(), "make the mast taller, remove the bird and add a sun")
    assert result.changes == {"added": [4], "modified": [2], "removed": [3], "renumbered": []}
    assert [s.label for s in result.sketch.strokes] == ["hull", "taller mast", "sun"]
    request = model.requests[0]
    assert [m.role for m in request] == ["system", "user", "assistant", "user", "assistant"]
    assert "<id>bird</id>" in request[2].text  # the current sketch is the model's own earlier answer
    assert "s3: bird" in request[3].text and "from s4 on" in request[3].text
    assert request[3].images == []  # a text-only model is not sent the canvas


def test_edit_sends_the_canvas_to_vision_models():
    reply = "ok</thinking><answer><strokes><s4><points>'x45y45'</points></s4></strokes></answer>"
    model = ScriptedChatModel([reply], supports_images=True)
    result = SketchAgent(model).edit(edit_sketch(), "add a sun")
    assert result.changes["added"] == [4]
    (image,) = model.requests[0][3].images
    assert image.size == (612, 612)
    assert model.requests[0][3].parts[0] is image  # image first, then the text


def test_paper_template_edit_adds_strokes_numbered_from_s1():
    # "Only provide the added strokes, same format": the reply numbers its new strokes from s1.
    reply = (
        "<thinking>The sun goes in the top right.</thinking><answer><strokes>"
        "<s1><points>'x44y44', 'x48y46', 'x46y48', 'x44y44'</points><t_values>0,0.3,0.6,1</t_values><id>sun</id></s1>"
        "<s2><points>'x40y40', 'x42y42'</points><t_values>0,1</t_values><id>ray</id></s2></strokes></answer>"
    )
    result = SketchAgent(ScriptedChatModel([reply])).edit(edit_sketch(), "Add a sun in the top right")
    assert [s.label for s in result.sketch.strokes] == ["hull", "mast", "bird", "sun", "ray"]
    assert result.changes == {"added": [1, 2], "modified": [], "removed": [], "renumbered": [1, 2]}
    assert any("added as new strokes s4 on" in w for w in result.sketch.warnings)


def test_colliding_numbers_modify_only_when_explicit():
    stroke = "<s2><points>'x25y15', 'x25y46'</points><t_values>0,1</t_values><id>taller mast</id></s2>"
    by_instruction = parse_edit(f"<answer><strokes>{stroke}</strokes></answer>")
    edited, changes = by_instruction.apply(edit_sketch(), instruction="redraw s2 taller")
    assert changes["modified"] == [2] and len(edited) == 3
    edited, changes = by_instruction.apply(edit_sketch(), instruction="add a flag next to s2")
    assert changes["added"] == [2] and len(edited) == 4
    by_reply = parse_edit(f"<answer><modify>s2</modify><strokes>{stroke}</strokes></answer>")
    assert by_reply.modify == (2,)
    assert by_reply.apply(edit_sketch())[1]["modified"] == [2]


def test_edit_with_only_a_removal_and_bad_removals():
    edit = parse_edit("<thinking>x</thinking><answer><remove>s1, s9</remove></answer>")
    edited, changes = edit.apply(edit_sketch())
    assert changes["removed"] == [1] and len(edited) == 2
    assert any("ignored removal" in w for w in edited.warnings)
    with pytest.raises(SketchSyntaxError, match="no strokes and no <remove>"):
        parse_edit("<answer>nothing to change</answer>")


def test_collaboration_alternates_turns():
    plan = "We draw a boat together.</thinking><answer><concept>boat</concept><strokes>"
    agent_stroke = "\n<points>'x25y15', 'x25y40'</points>\n<t_values>0, 1</t_values>\n<id>mast</id>\n</s2>"
    model = ScriptedChatModel([plan, agent_stroke])
    session = SketchAgent(model).collaborate("boat")
    xs = np.linspace(126, 486, 40)
    person = session.add_human_stroke(np.stack([xs, np.full_like(xs, 426)], 1), np.linspace(0, 1.2, 40))
    assert person.label == "" and person.points[0] == (10, 15) and person.points[-1] == (40, 15)
    stroke = session.agent_turn()
    assert stroke.label == "mast"
    assert session.authors == ["human", "agent"]
    assert session.colors[0] != session.colors[1]
    request = model.requests[1][-1]
    assert request.role == "assistant" and request.text.endswith("<s2>")  # exactly one stroke is forced
    assert "<s1>" in request.text and "<id>" not in request.text.split("<s1>")[1]  # the person's stroke has no id
    assert "together" in model.requests[0][1].text
    assert session.undo() == stroke and len(session.sketch) == 1
    session.clear("kite")
    assert session.concept == "kite" and session.prefix is None and len(session.sketch) == 0


def test_human_stroke_mapping_keeps_points_near_cell_centres():
    # A horizontal drag along row 25's centre line (y = 306) from x = 120 to 240, 1 px per sample.
    xs = np.arange(120, 241, 1.0)
    stroke = human_stroke(np.stack([xs, np.full_like(xs, 306.0)], 1), xs / 1000.0)
    columns = [c for c, r in stroke.points]
    assert all(r == 25 for c, r in stroke.points)
    assert columns == list(range(10, 20))  # column 20's centre (246) is 6 px beyond the last sample
    assert stroke.t_values[0] == 0.0 and stroke.t_values[-1] == 1.0
    assert list(stroke.t_values) == sorted(stroke.t_values)


def test_human_stroke_fallback_and_edges():
    # Samples 6-7 px from every centre: the 5 px rule keeps nothing, the 8 px fallback keeps them.
    x, y = DEFAULT_GRID.cell_center(20, 20)
    stroke = human_stroke([[x + 4.5, y + 4.5], [x + 16.5, y + 4.5]], [0, 5])
    assert stroke.points == ((20, 20), (21, 20))
    assert stroke.t_values == (0.0, 1.0)
    dot = human_stroke([[x, y], [x + 1, y]], [3, 3])
    assert dot.points == ((20, 20),) and dot.t_values == (0.0,)
    # Clamped to the canvas: (0, 611) is 24 px from x1y1's centre (dropped), (611, 0) is 7.8 px from x50y50's.
    clamped = human_stroke([[-50, 900], [700, -10]])
    assert clamped.points == ((50, 50),)
    with pytest.raises(Exception, match="one timestamp per point"):
        human_stroke([[1, 1], [2, 2]], [0])


def test_forced_strokes_with_points_prefill_for_small_models():
    model = ScriptedChatModel([PLAN, "12y30', 'x20y30' is the house wall</points>", "5y5'</points>"])
    config = AgentConfig(forced_strokes=2, prefill_points=True, max_strokes=2)
    result = SketchAgent(model, config).draw_stroke_by_stroke("house")
    assert [s.points for s in result.sketch.strokes] == [((12, 30), (20, 30)), ((5, 5),)]
    assert model.requests[1][-1].text.endswith("<s1>\n<points>'x")
    strict = ScriptedChatModel([PLAN, "12y30', 'x20y30' is the house wall</points>"])
    with pytest.raises(SketchSyntaxError, match="unexpected 'is'"):
        SketchAgent(
            strict, AgentConfig(forced_strokes=1, prefill_points=True, lenient=False, retries=0)
        ).draw_stroke_by_stroke("house")


def test_answer_prefill_skips_the_plan_for_tiny_models():
    model = ScriptedChatModel(
        [
            "12y30', 'x20y30'</points></s1><s2><points>'x5y5'</points></s2></strokes>",
            "40y40'</points><id>sun</id></s2></strokes>",
        ]
    )
    agent = SketchAgent(model, AgentConfig(prefill="answer"))
    result = agent.draw("house")
    assert [s.points for s in result.sketch.strokes] == [((12, 30), (20, 30)), ((5, 5),)]
    assert model.requests[0][-1].text.endswith("<strokes>\n<s1>\n<points>'x")
    edited = agent.edit(result.sketch, "add a sun")
    assert edited.changes["added"] == [3] and edited.sketch.strokes[-1].label == "sun"
    assert model.requests[1][-1].text.endswith("<s3>\n<points>'x")
    assert agent.plan("house").endswith("<concept>house</concept>\n<strokes>\n")
    assert len(model.requests) == 2  # planning made no call


# (server rule, backend, model name): unknown names learn from the server's 400s, known ones from the table
SERVER_MODES = [
    ("anthropic-no-prefill", "anthropic", "test-claude"),
    ("anthropic-no-prefill", "anthropic", "claude-sonnet-4-6"),
    ("anthropic-temperature", "anthropic", "claude-sonnet-4-5"),
    ("openai-reasoning", "openai", "test-gpt"),
    ("openai-reasoning", "openai", "gpt-5-mini"),
]
SCRIPTED_PLAN = "<thinking>A boat: hull then mast.</thinking>\n<answer>\n<concept>boat</concept>\n"
SCRIPTED_STROKE = "<s1><points>'x10y15', 'x25y8', 'x40y15'</points><t_values>0, 0.5, 1</t_values><id>hull</id></s1>"
SCRIPTED_EDIT = (
    "<thinking>a sun top right</thinking><answer><strokes><s3><points>'x40y40', 'x45y45'</points>"
    "<t_values>0, 1</t_values><id>sun</id></s3></strokes></answer>"
)


@pytest.fixture
def server_model(request, monkeypatch, tmp_path):
    """A chat model on the fake server in one of its refusal modes, with scripted model replies."""
    rule, backend, name = request.param
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-openai")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-anthropic")
    monkeypatch.setenv("TINKERLAB_CACHE", str(tmp_path / "cache"))
    with start_chat_server() as server:
        server.rules.add(rule)
        from tinkerlab.llm import load_chat_model

        url = server.url + ("/v1" if backend == "openai" else "")
        model = load_chat_model(f"{backend}:{name}", base_url=url, cache=False, timeout_s=10, retry_base_delay_s=0.01)
        yield server, model


@pytest.mark.parametrize("server_model", SERVER_MODES, indirect=True, ids=["-".join(m) for m in SERVER_MODES])
def test_every_mode_draws_against_the_servers_rules(server_model, tmp_path):
    server, model = server_model
    agent = SketchAgent(model, AgentConfig(retry_temperature=1.0), transcript=tmp_path / "t.jsonl")

    server.scripted = ["<thinking>" + BOAT]
    whole = agent.draw("boat")
    assert [s.label for s in whole.sketch.strokes] == ["hull", "mast"] and not whole.failures

    server.scripted = [SCRIPTED_PLAN, SCRIPTED_STROKE, "</strokes>"]
    strokes = agent.draw_stroke_by_stroke("boat", max_strokes=3)
    assert [s.label for s in strokes.sketch.strokes] == ["hull"]

    server.scripted = [SCRIPTED_EDIT]
    edited = agent.edit(whole.sketch, "add a sun in the top right")
    assert [s.label for s in edited.sketch.strokes] == ["hull", "mast", "sun"]

    refusals = [r for r in server.requests if r["path"].endswith(("/messages", "/chat/completions"))]
    for sent in refusals[-3:]:  # once switched off, a feature is never sent again
        body = sent["body"]
        if "openai-reasoning" in server.rules:
            assert "stop" not in body and "temperature" not in body and "max_tokens" not in body
        if "anthropic-no-prefill" in server.rules:
            assert body["messages"][-1]["role"] == "user"
    assert len(refusals) <= 3 + 1 + 3 + 1  # at most one refusal per feature on top of the five exchanges
