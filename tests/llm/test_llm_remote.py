"""OpenAI and Anthropic backends through the real SDKs against the test server in conftest.py."""

from __future__ import annotations

import base64
import io
import json
import time

import numpy as np
import pytest
from PIL import Image

from tinkerlab.core.errors import LLMConnectionError, LLMError
from tinkerlab.llm import Message, ResponseCache, load_chat_model
from tinkerlab.llm.transcript import read_transcript

FAST = dict(retry_base_delay_s=0.01, timeout_s=5.0)


def gradient_image(width: int = 24, height: int = 16, offset: int = 0) -> Image.Image:
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([(x * 10 + offset) % 256, (y * 15) % 256, ((x + y) * 7) % 256], axis=2).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def decode_png_base64(data: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))


def openai_model(server, **kwargs):
    return load_chat_model("openai:test-gpt", base_url=server.url + "/v1", **{**FAST, **kwargs})


def anthropic_model(server, **kwargs):
    return load_chat_model("anthropic:test-claude", base_url=server.url, **{**FAST, **kwargs})


def test_openai_request_carries_text_images_and_parameters(chat_server, api_keys):
    image = gradient_image()
    model = openai_model(chat_server, cache=False, api_key_env="OPENAI_API_KEY")  # a custom URL gets a named key only
    messages = [Message.system("Be brief."), Message.user("What is this?", image, "Answer in one word.")]
    reply = model.complete(messages, temperature=0.0, max_tokens=33, stop=["\n\n"])

    assert reply.text == chat_server.reply_text
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (11, 7)
    assert reply.model == "openai:test-gpt" and reply.cached is False and reply.stop_reason == "stop"
    (request,) = chat_server.chat_requests()
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == "Bearer sk-test-openai"
    body = request["body"]
    assert body["model"] == "test-gpt" and body["max_tokens"] == 33 and body["stop"] == ["\n\n"]
    assert body["temperature"] == 0.0
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    parts = body["messages"][1]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url", "text"]
    assert parts[0]["text"] == "What is this?" and parts[2]["text"] == "Answer in one word."
    uri = parts[1]["image_url"]["url"]
    assert uri.startswith("data:image/png;base64,")
    np.testing.assert_array_equal(decode_png_base64(uri.split(",", 1)[1]), np.asarray(image))
    assert model.total_usage.total_tokens == 18


def test_anthropic_request_uses_system_field_image_blocks_and_prefill(chat_server, api_keys):
    image = gradient_image(offset=40)
    model = anthropic_model(chat_server, cache=False)
    messages = [Message.system("Be brief."), Message.user(image, "Describe it."), Message.assistant("It is ")]
    reply = model.complete(messages, temperature=0.3, max_tokens=21, stop=["END"])

    assert reply.text == chat_server.reply_text and reply.stop_reason == "stop"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (13, 5)
    (request,) = chat_server.chat_requests()
    assert request["path"] == "/v1/messages"
    headers = request["headers"]  # SDK versions differ: x-api-key, or a bearer authorization header
    assert "sk-test-anthropic" in (
        headers.get("x-api-key", ""),
        headers.get("authorization", "").removeprefix("Bearer "),
    )
    body = request["body"]
    assert body["system"] == "Be brief." and body["max_tokens"] == 21 and body["stop_sequences"] == ["END"]
    assert body["temperature"] == 0.3 and body["model"] == "test-claude"
    user, prefill = body["messages"]
    assert user["role"] == "user" and [b["type"] for b in user["content"]] == ["image", "text"]
    source = user["content"][0]["source"]
    assert source["type"] == "base64" and source["media_type"] == "image/png"
    np.testing.assert_array_equal(decode_png_base64(source["data"]), np.asarray(image))
    assert prefill == {
        "role": "assistant",
        "content": [{"type": "text", "text": "It is"}],
    }  # trailing space trimmed
    assert model.supports_prefill and model.supports_images


@pytest.mark.parametrize("make_model", [openai_model, anthropic_model], ids=["openai", "anthropic"])
def test_server_error_then_success_is_retried(chat_server, api_keys, make_model):
    chat_server.add(500)
    chat_server.add(503)
    model = make_model(chat_server, cache=False)
    reply = model.complete([Message.user("hi")])
    assert reply.text == chat_server.reply_text
    assert len(chat_server.chat_requests()) == 3


def test_rate_limit_is_retried_honouring_retry_after(chat_server, api_keys):
    chat_server.add(429, headers={"retry-after": "0"})
    model = openai_model(chat_server, cache=False)
    assert model.complete([Message.user("hi")]).text == chat_server.reply_text
    assert len(chat_server.chat_requests()) == 2


def test_persistent_server_error_fails_after_bounded_retries_with_url(chat_server, api_keys):
    chat_server.add(500, times=10)
    model = anthropic_model(chat_server, cache=False, max_retries=2)
    with pytest.raises(LLMConnectionError) as info:
        model.complete([Message.user("hi")])
    assert f"{chat_server.url}/v1/messages" in str(info.value) and "3 attempts" in str(info.value)
    assert len(chat_server.chat_requests()) == 3


def test_client_error_is_not_retried(chat_server, api_keys):
    chat_server.add(400, body={"error": {"message": "bad model", "type": "invalid_request"}})
    model = openai_model(chat_server, cache=False)
    with pytest.raises(LLMError, match="400") as info:
        model.complete([Message.user("hi")])
    assert not isinstance(info.value, LLMConnectionError)
    assert len(chat_server.chat_requests()) == 1


def test_timeout_is_retried_then_reported(chat_server, api_keys):
    chat_server.add(delay_s=1.0, times=2)
    model = openai_model(chat_server, cache=False, max_retries=1, timeout_s=0.2)
    with pytest.raises(LLMConnectionError, match="timed out|Timeout"):
        model.complete([Message.user("hi")])
    assert len(chat_server.chat_requests()) == 2


def test_cache_hit_sends_no_request(chat_server, api_keys):
    model = openai_model(chat_server)
    messages = [Message.user("Same question", gradient_image())]
    first = model.complete(messages, max_tokens=10)
    second = model.complete(messages, max_tokens=10)
    assert len(chat_server.chat_requests()) == 1
    assert first.cached is False and second.cached is True and second.text == first.text
    assert second.usage == first.usage and model.total_usage == first.usage  # cache hits cost nothing

    # A fresh model object reads the same on-disk cache.
    again = openai_model(chat_server).complete(messages, max_tokens=10)
    assert again.cached and len(chat_server.chat_requests()) == 1
    # Any change to the request misses: other pixels, other parameters, another model.
    model.complete([Message.user("Same question", gradient_image(offset=1))], max_tokens=10)
    model.complete(messages, max_tokens=11)
    anthropic_model(chat_server).complete(messages, max_tokens=10)
    assert len(chat_server.chat_requests()) == 4
    assert len(ResponseCache()) == 4


def test_cache_is_not_used_above_temperature_zero(chat_server, api_keys):
    model = openai_model(chat_server)
    for _ in range(2):
        assert model.complete([Message.user("Sample")], temperature=0.7).cached is False
    assert len(chat_server.chat_requests()) == 2


def test_transcript_lines_are_written(chat_server, api_keys):
    path = api_keys / "run" / "transcript.jsonl"
    model = anthropic_model(chat_server, transcript=path)
    image = gradient_image()
    model.complete([Message.user("First", image)], max_tokens=10)
    model.complete([Message.user("First", image)], max_tokens=10)  # cached, still recorded
    records = read_transcript(path)
    assert len(records) == 2
    assert records[0]["model"] == "anthropic:test-claude" and records[0]["reply"] == chat_server.reply_text
    assert records[0]["messages"][0]["content"][0] == "First"
    assert records[0]["messages"][0]["content"][1]["image"]["size"] == [24, 16]
    assert records[0]["params"] == {"temperature": 0.0, "max_tokens": 10, "stop": []}
    assert records[0]["usage"] == {"prompt_tokens": 13, "completion_tokens": 5}
    assert [r["cached"] for r in records] == [False, True]
    assert "sk-test" not in path.read_text()  # keys never reach the transcript

    model.set_transcript(api_keys / "other.jsonl")
    model.complete([Message.user("Second")], max_tokens=10)
    assert len(read_transcript(path)) == 2 and len(read_transcript(api_keys / "other.jsonl")) == 1


@pytest.mark.parametrize(
    "spec, variable",
    [("openai:gpt-4o-mini", "OPENAI_API_KEY"), ("anthropic:claude-sonnet-4-5", "ANTHROPIC_API_KEY")],
)
def test_missing_key_names_the_variable(monkeypatch, api_keys, spec, variable):
    monkeypatch.delenv(variable)
    with pytest.raises(LLMError, match=variable):
        load_chat_model(spec)


def test_openai_compatible_server_needs_no_key(chat_server, api_keys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    model = openai_model(chat_server, cache=False)
    assert model.complete([Message.user("hi")]).text == chat_server.reply_text


@pytest.mark.parametrize("spec", ["gpt-4", "openai:", "huggingface:gpt2", "", "scripted:"])
def test_unknown_spec_lists_valid_forms(spec):
    with pytest.raises(LLMError) as info:
        load_chat_model(spec)
    for form in ("local", "local:PATH", "openai:MODEL", "anthropic:MODEL", "scripted:FILE"):
        assert form in str(info.value)


@pytest.mark.parametrize("make_model", [openai_model, anthropic_model], ids=["openai", "anthropic"])
def test_unreachable_server_fails_fast_with_url(closed_port_url, api_keys, make_model):
    class Unreachable:
        url = closed_port_url

    model = make_model(Unreachable, cache=False, max_retries=2)
    start = time.perf_counter()
    with pytest.raises(LLMConnectionError) as info:
        model.complete([Message.user("hi")])
    assert closed_port_url in str(info.value) and "3 attempts" in str(info.value)
    assert time.perf_counter() - start < 10


def test_records_of_requests_are_json(chat_server, api_keys):
    model = openai_model(chat_server, cache=False)
    model.complete([Message.user("a"), Message.assistant("b"), Message.user("c")])
    body = chat_server.chat_requests()[0]["body"]
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert json.dumps(body)  # the wire body is plain JSON
