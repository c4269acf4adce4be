"""The scripted model, messages, the response cache and `tinkerlab llm chat` (CliRunner)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from tinkerlab.core.errors import InputError, LLMError
from tinkerlab.llm import Message, Reply, ResponseCache, ScriptedChatModel, Usage, load_chat_model
from tinkerlab.llm.cli import app
from tinkerlab.llm.retry import RetryPolicy
from tinkerlab.llm.transcript import read_transcript


def red_square(size: int = 8) -> Image.Image:
    return Image.new("RGB", (size, size), (255, 0, 0))


def test_scripted_replies_in_order_and_records_requests():
    model = ScriptedChatModel(["first", "second"])
    a = model.complete([Message.user("one")])
    b = model.complete([Message.system("sys"), Message.user("two")])
    assert (a.text, b.text) == ("first", "second")
    assert [m.text for m in model.requests[1]] == ["sys", "two"] and model.remaining == 0
    assert a.model == "scripted" and a.stop_reason == "stop" and not a.cached
    with pytest.raises(LLMError, match="no replies left"):
        model.complete([Message.user("three")])


def test_scripted_honours_stop_and_counts_usage():
    model = ScriptedChatModel(["draw a line\nSTOP and then more words"])
    reply = model.complete([Message.user("go on now")], stop=["STOP", "never"])
    assert reply.text == "draw a line\n" and reply.stop_reason == "stop_sequence"
    assert reply.usage == Usage(3, 3) and model.total_usage == Usage(3, 3)


def test_scripted_images_need_configuring():
    with pytest.raises(LLMError, match="does not accept images"):
        ScriptedChatModel(["x"]).complete([Message.user("look", red_square())])
    model = ScriptedChatModel(["a red square"], supports_images=True)
    assert model.complete([Message.user("look", red_square())]).text == "a red square"
    assert model.requests[0][0].images[0].size == (8, 8)


@pytest.mark.parametrize(
    "content, expected",
    [
        (json.dumps(["a", "b"]), ["a", "b"]),
        ('{"reply": "a"}\n{"reply": "b"}\n', ["a", "b"]),
        (json.dumps({"replies": ["a", "b"], "supports_images": True}), ["a", "b"]),
    ],
)
def test_scripted_file_formats(tmp_path, content, expected):
    path = tmp_path / "replies.json"
    path.write_text(content)
    model = load_chat_model(f"scripted:{path}", transcript=tmp_path / "t.jsonl")
    assert [model.complete([Message.user("q")]).text for _ in expected] == expected
    assert model.name == "scripted:replies.json"
    assert len(read_transcript(tmp_path / "t.jsonl")) == len(expected)


def test_scripted_file_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_chat_model(f"scripted:{tmp_path / 'missing.json'}")
    bad = tmp_path / "bad.json"
    bad.write_text('{"replies": [1, 2]}')
    with pytest.raises(InputError, match="list of reply strings"):
        load_chat_model(f"scripted:{bad}")


def test_message_parts_text_images_and_records():
    image = red_square()
    message = Message.user("a ", image, "b")
    assert message.text == "a b" and message.images == [image] and len(message.parts) == 3
    record = message.to_record()
    assert record["content"][0] == "a " and record["content"][1]["image"]["size"] == [8, 8]
    same_pixels = Image.fromarray(np.asarray(image))
    assert Message.user(same_pixels).to_record() == Message.user(image).to_record()
    assert Message.user(red_square(9)).to_record() != Message.user(image).to_record()
    assert Message.assistant("x").to_record() == {"role": "assistant", "content": "x"}


def test_message_rejects_bad_input():
    with pytest.raises(InputError, match="role"):
        Message("robot", "hi")
    with pytest.raises(InputError, match="PIL images"):
        Message.user("text", 42)
    model = ScriptedChatModel(["x"])
    with pytest.raises(InputError, match="list of Message"):
        model.complete(Message.user("hi"))
    with pytest.raises(InputError, match="at least one message"):
        model.complete([])
    with pytest.raises(InputError, match="max_tokens"):
        model.complete([Message.user("hi")], max_tokens=0)
    with pytest.raises(InputError, match="temperature"):
        model.complete([Message.user("hi")], temperature=-1)


def test_response_cache_round_trip(tmp_path):
    cache = ResponseCache(tmp_path / "r.sqlite")
    assert cache.get("k") is None
    cache.put("k", Reply("hello", Usage(3, 4), model="m", stop_reason="length"))
    hit = ResponseCache(tmp_path / "r.sqlite").get("k")
    assert hit == Reply("hello", Usage(3, 4), cached=True, model="m", stop_reason="length")
    assert len(cache) == 1
    cache.clear()
    assert len(cache) == 0


def test_retry_delays_grow_and_are_capped():
    policy = RetryPolicy(max_retries=5, base_delay_s=1.0, max_delay_s=5.0)
    delays = [policy.delay(i) for i in range(5)]
    assert 1.0 <= delays[0] <= 1.1 and 2.0 <= delays[1] <= 2.2 and delays[4] == 5.0
    assert policy.delay(0, retry_after=3.0) == 3.0 and policy.delay(0, retry_after=99) == 5.0
    with pytest.raises(ValueError):
        RetryPolicy(max_retries=-1)


def test_cli_chat_prints_the_scripted_reply(tmp_path):
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps(["The sky is blue. END ignored"]))
    transcript = tmp_path / "t.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "chat",
            "What colour is the sky?",
            "--model",
            f"scripted:{replies}",
            "--max-tokens",
            "20",
            "--transcript",
            str(transcript),
            "--usage",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "The sky is blue. END ignored" in result.output
    (record,) = read_transcript(transcript)
    assert record["messages"] == [{"role": "user", "content": "What colour is the sky?"}]
    assert record["params"]["max_tokens"] == 20


def test_cli_chat_with_image_and_errors(tmp_path):
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps({"replies": ["red"], "supports_images": True}))
    picture = tmp_path / "red.png"
    red_square().save(picture)
    result = CliRunner().invoke(app, ["chat", "Colour?", "--model", f"scripted:{replies}", "--image", str(picture)])
    assert result.exit_code == 0 and result.output.strip() == "red"

    result = CliRunner().invoke(app, ["chat", "hi", "--model", "nonsense"])
    assert result.exit_code != 0 and isinstance(result.exception, LLMError)
    assert "openai:MODEL" in str(result.exception)
