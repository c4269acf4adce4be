"""Capabilities per model and their fallbacks, deadlines, size caps, keys and the cache, against the fake server's
rules (the providers' own error bodies) through the real SDKs."""

from __future__ import annotations

import json
import sqlite3
import time
import warnings

import pytest
from PIL import Image
from typer.testing import CliRunner

from tinkerlab.core.errors import InputError, LLMConnectionError, LLMError
from tinkerlab.llm import Message, Reply, ResponseCache, load_chat_model
from tinkerlab.llm.capabilities import capabilities_for, refused_feature
from tinkerlab.llm.cli import app
from tinkerlab.llm.transcript import read_transcript

FAST = dict(retry_base_delay_s=0.01, timeout_s=5.0)


def openai_model(server, name="test-gpt", **kwargs):
    return load_chat_model(f"openai:{name}", base_url=server.url + "/v1", **{**FAST, "cache": False, **kwargs})


def anthropic_model(server, name="test-claude", **kwargs):
    return load_chat_model(f"anthropic:{name}", base_url=server.url, **{**FAST, "cache": False, **kwargs})


@pytest.mark.parametrize(
    "provider, model, prefill, stop, temperature, field, images",
    [
        ("anthropic", "claude-sonnet-4-6", False, True, (0.0, 1.0), "max_tokens", True),
        ("anthropic", "claude-opus-4-6-20260101", False, True, (0.0, 1.0), "max_tokens", True),
        ("anthropic", "claude-opus-5", False, True, (0.0, 1.0), "max_tokens", True),
        ("anthropic", "claude-sonnet-4-5", True, True, (0.0, 1.0), "max_tokens", True),
        ("anthropic", "claude-haiku-4-5", True, True, (0.0, 1.0), "max_tokens", True),
        ("openai", "gpt-5-mini", False, False, None, "max_completion_tokens", True),
        ("openai", "o4-mini", False, False, None, "max_completion_tokens", True),
        ("openai", "o1", False, False, None, "max_completion_tokens", True),
        ("openai", "gpt-4.1", False, True, (0.0, 2.0), "max_completion_tokens", True),
        ("openai-compatible", "llama3", False, True, (0.0, 2.0), "max_tokens", True),
        ("openai-compatible", "HuggingFaceTB/SmolLM2-135M-Instruct", False, True, (0.0, 2.0), "max_tokens", False),
        ("openai-compatible", "gpt-5-mini", False, False, None, "max_completion_tokens", True),
        ("local", "anything", True, True, (0.0, 2.0), "max_tokens", False),
    ],
)
def test_capability_table(provider, model, prefill, stop, temperature, field, images):
    capabilities = capabilities_for(provider, model)
    assert capabilities.prefill is prefill and capabilities.stop is stop and capabilities.images is images
    assert capabilities.temperature_range == temperature and capabilities.max_tokens_param == field


def test_refusals_are_read_from_the_providers_messages():
    from llm_fake_server import (
        ANTHROPIC_PREFILL_ERROR,
        OPENAI_MAX_TOKENS_ERROR,
        OPENAI_STOP_ERROR,
        openai_temperature_error,
    )

    assert refused_feature(ANTHROPIC_PREFILL_ERROR["error"]["message"]) == "prefill"
    for body, feature in [
        (OPENAI_STOP_ERROR, "stop"),
        (OPENAI_MAX_TOKENS_ERROR, "max_tokens_param"),
        (openai_temperature_error(0), "temperature"),
    ]:
        assert refused_feature(body["error"]["message"], body["error"]["param"]) == feature
    assert refused_feature("model not found") is None


def test_known_reasoning_model_gets_no_stop_or_temperature(chat_server, api_keys):
    chat_server.rules.add("openai-reasoning")
    chat_server.scripted = ["one, two END three"]
    path = api_keys / "t.jsonl"
    model = openai_model(chat_server, "gpt-5-mini", transcript=path)
    reply = model.complete([Message.user("count")], temperature=0.0, max_tokens=20, stop=["END"])
    assert reply.text == "one, two " and reply.stop_reason == "stop_sequence"  # cut on the client side
    (request,) = chat_server.chat_requests()
    body = request["body"]
    assert "stop" not in body and "temperature" not in body and body["max_completion_tokens"] == 20
    notes = read_transcript(path)[0]["notes"]
    assert any("client side" in n for n in notes) and any("temperature 0 not sent" in n for n in notes)


def test_unknown_model_switches_refused_features_off_once(chat_server, api_keys):
    chat_server.rules.add("openai-reasoning")
    chat_server.scripted = ["first reply STOP here", "second reply"]
    path = api_keys / "t.jsonl"
    model = openai_model(chat_server, "test-reasoner", transcript=path)
    reply = model.complete([Message.user("hi")], temperature=0.0, max_tokens=9, stop=["STOP"])
    assert reply.text == "first reply "
    # max_tokens, stop, temperature: each refused once (400), then the request goes through
    assert len(chat_server.chat_requests()) == 4
    assert not model.capabilities.stop and model.capabilities.temperature_range is None
    assert model.capabilities.max_tokens_param == "max_completion_tokens"
    notes = read_transcript(path)[0]["notes"]
    assert sum("the server refused" in n for n in notes) == 3 and len(model.notes) == 3
    assert model.complete([Message.user("again")], max_tokens=9, stop=["STOP"]).text == "second reply"
    assert len(chat_server.chat_requests()) == 5  # no more refusals: the features stay off


def test_a_feature_refused_again_is_an_error_not_a_loop(chat_server, api_keys):
    from llm_fake_server import OPENAI_STOP_ERROR

    chat_server.add(400, body=OPENAI_STOP_ERROR, times=5)
    model = openai_model(chat_server)
    with pytest.raises(LLMError, match="refused stop again"):
        model.complete([Message.user("hi")], stop=["x"])
    assert len(chat_server.chat_requests()) == 2


@pytest.mark.parametrize("name, refusals", [("test-claude", 1), ("claude-sonnet-4-6", 0)])
def test_no_prefill_models_get_the_partial_answer_in_the_user_turn(chat_server, api_keys, name, refusals):
    chat_server.rules.add("anthropic-no-prefill")
    chat_server.scripted = ["Red, green, blue"]  # the model repeats the partial answer: it is dropped
    model = anthropic_model(chat_server, name)
    reply = model.complete([Message.user("Three colours?"), Message.assistant("Red,")])
    assert reply.text == " green, blue"
    requests = chat_server.chat_requests()
    assert len(requests) == refusals + 1 and not model.capabilities.prefill
    last = requests[-1]["body"]["messages"][-1]
    assert last["role"] == "user" and "Red," in last["content"][-1]["text"]
    assert "Continue it from exactly where it stops" in last["content"][-1]["text"]


def test_temperature_above_the_models_range_is_refused_before_sending(chat_server, api_keys, monkeypatch):
    chat_server.rules.add("anthropic-temperature")
    model = anthropic_model(chat_server)
    with pytest.raises(InputError, match="between 0 and 1 for anthropic:test-claude"):
        model.complete([Message.user("hi")], temperature=1.5)
    assert chat_server.chat_requests() == []
    assert model.complete([Message.user("hi")], temperature=1.0).text == chat_server.reply_text
    monkeypatch.setenv("ANTHROPIC_BASE_URL", chat_server.url)
    result = CliRunner().invoke(app, ["chat", "hi", "--model", "anthropic:claude-sonnet-4-6", "--temperature", "1.5"])
    assert result.exit_code != 0 and "between 0 and 1" in str(result.exception)
    assert len(chat_server.chat_requests()) == 1


def test_one_deadline_per_request_not_per_read(chat_server, api_keys):
    chat_server.add(trickle_s=0.5)  # a byte every half second: no single read waits long
    model = openai_model(chat_server, timeout_s=1.5, max_retries=0)
    start = time.perf_counter()
    with pytest.raises(LLMConnectionError, match="1.5 s deadline"):
        model.complete([Message.user("hi")])
    assert time.perf_counter() - start < 2.5


def test_no_retry_after_a_timeout_against_a_local_server_by_default(chat_server, api_keys):
    chat_server.add(delay_s=1.0, times=3)
    model = load_chat_model("openai:test-gpt", base_url=chat_server.url + "/v1", timeout_s=0.3, cache=False)
    with pytest.raises(LLMConnectionError, match="not retried unless --retries"):
        model.complete([Message.user("hi")])
    assert len(chat_server.chat_requests()) == 1


def test_retry_after_above_the_cap_says_what_the_server_asked(chat_server, api_keys):
    chat_server.add(429, headers={"retry-after": "120"}, times=3)
    model = openai_model(chat_server)
    with pytest.raises(LLMConnectionError, match="asked to wait 120 s"):
        model.complete([Message.user("hi")])
    assert len(chat_server.chat_requests()) == 1


def test_a_reply_over_the_size_cap_is_an_error(chat_server, api_keys):
    chat_server.add(raw=b'{"x": "' + b"a" * (11 * 1024 * 1024) + b'"}')
    with pytest.raises(LLMError, match="larger than 10 MB") as info:
        openai_model(chat_server).complete([Message.user("hi")])
    assert not isinstance(info.value, LLMConnectionError) and len(chat_server.chat_requests()) == 1


@pytest.mark.parametrize(
    "raw, content_type",
    [(b"<html><body>Welcome to nginx!</body></html>", "text/html"), (b'{"choices": [', "application/json")],
    ids=["html-page", "malformed-json"],
)
def test_a_reply_that_is_not_the_apis_json_is_one_line_naming_the_url(chat_server, api_keys, raw, content_type):
    chat_server.add(raw=raw, content_type=content_type)
    with pytest.raises(LLMError) as info:
        openai_model(chat_server).complete([Message.user("hi")])
    message = str(info.value)
    assert "\n" not in message and f"{chat_server.url}/v1/chat/completions" in message and "base URL" in message


def test_bad_base_url_fails_at_once():
    with pytest.raises(InputError, match="http://localhost:8000/v1"):
        load_chat_model("openai:x", base_url="not-a-url")


def test_openai_key_goes_only_where_it_is_named(chat_server, api_keys, monkeypatch):
    chat_server.rules.add("key-check")
    chat_server.expected_key = "sk-local-server"
    monkeypatch.setenv("MY_SERVER_KEY", "sk-local-server")
    with pytest.raises(LLMError, match="401"):
        openai_model(chat_server).complete([Message.user("hi")])
    sent = chat_server.chat_requests()[0]["headers"]["authorization"]
    assert "sk-test-openai" not in sent  # the OpenAI key never reaches another host
    model = openai_model(chat_server, api_key_env="MY_SERVER_KEY")
    assert model.complete([Message.user("hi")]).text == chat_server.reply_text
    monkeypatch.setenv("OPENAI_BASE_URL", chat_server.url + "/v1")
    result = CliRunner().invoke(app, ["chat", "hi", "--model", "openai:m", "--api-key-env", "MY_SERVER_KEY"])
    assert result.exit_code == 0, result.output
    with pytest.raises(LLMError, match="NOT_SET_ANYWHERE"):
        openai_model(chat_server, api_key_env="NOT_SET_ANYWHERE")


def palette_image(colour: tuple[int, int, int]) -> Image.Image:
    image = Image.new("P", (4, 4), 0)
    image.putpalette([*colour] + [0] * 765)
    return image


def test_cache_keys_images_by_their_encoded_bytes(chat_server, api_keys):
    red, blue = palette_image((255, 0, 0)), palette_image((0, 0, 255))
    assert red.tobytes() == blue.tobytes()  # the same indices, different palettes
    model = openai_model(chat_server, cache=True)
    model.complete([Message.user("colour?", red)])
    assert not model.complete([Message.user("colour?", blue)]).cached
    assert model.complete([Message.user("colour?", red)]).cached
    assert len(chat_server.chat_requests()) == 2


def test_empty_and_filtered_replies_are_not_cached(chat_server, api_keys):
    chat_server.scripted = ["", "   ", "a real reply"]
    model = openai_model(chat_server, cache=True)
    texts = [model.complete([Message.user("same")]).text for _ in range(4)]
    assert texts == ["", "   ", "a real reply", "a real reply"] and len(chat_server.chat_requests()) == 3


def test_a_corrupt_cache_file_warns_once_and_runs_uncached(chat_server, api_keys):
    from tinkerlab.llm.openai_backend import OpenAIChatModel

    path = api_keys / "corrupt.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cache = ResponseCache(path)
        model = OpenAIChatModel("m", base_url=chat_server.url + "/v1", cache=cache, **FAST)
        for _ in range(3):
            assert model.complete([Message.user("hi")]).cached is False
    assert len([w for w in caught if "running uncached" in str(w.message)]) == 1
    assert cache.broken and len(chat_server.chat_requests()) == 3


def test_a_locked_cache_file_warns_once_and_runs_uncached(api_keys):
    path = api_keys / "locked.sqlite"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cache = ResponseCache(path, busy_timeout_s=0.1)
            cache.put("k", Reply("hi"))
            assert cache.get("k") is None
        assert len([w for w in caught if "running uncached" in str(w.message)]) == 1
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_cache_runs_in_wal_mode_with_one_connection_per_process(tmp_path):
    first, second = ResponseCache(tmp_path / "r.sqlite"), ResponseCache(tmp_path / "r.sqlite")
    assert first._connection() is second._connection()
    assert first._connection().execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_local_models_are_keyed_by_their_files_content(tmp_path):
    from tinkerlab.llm.cache import files_digest

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"a": 1}))
    before = files_digest(folder)
    moved = tmp_path / "elsewhere"
    folder.rename(moved)
    assert files_digest(moved) == before  # another path, the same files: the same key
    (moved / "config.json").write_text(json.dumps({"a": 2}))
    assert files_digest(moved) != before
