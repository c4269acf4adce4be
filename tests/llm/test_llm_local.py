"""The embedded SmolLM2-135M-Instruct: a real reply, prefill, stop strings, and the dequantised-model cache.

The first run on a machine dequantises the packaged GGUF (about 20 s) into the user cache; later runs load the
saved copy in well under a second.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tinkerlab.core.errors import InputError, LLMError, MissingAssetError
from tinkerlab.llm import Message, load_chat_model


@pytest.fixture(scope="module")
def local_model():
    try:
        from tinkerlab.core.assets import smollm2_gguf

        smollm2_gguf()
    except MissingAssetError as exc:
        pytest.skip(f"the embedded model is not installed: {exc}")
    pytest.importorskip("transformers", reason="transformers (the llm extra) is needed for the local model")
    return load_chat_model("local", cache=False)


def test_embedded_model_answers(local_model, tmp_path):
    local_model.set_transcript(tmp_path / "t.jsonl")
    reply = local_model.complete([Message.user("What is the capital of France?")], max_tokens=16)
    assert reply.text.strip() and "Paris" in reply.text
    assert reply.model == "local:SmolLM2-135M-Instruct" and not reply.cached
    assert reply.usage.prompt_tokens > 5 and 1 <= reply.usage.completion_tokens <= 16
    assert reply.stop_reason in ("stop", "length")
    assert local_model.total_usage.completion_tokens >= reply.usage.completion_tokens
    record = json.loads((tmp_path / "t.jsonl").read_text().splitlines()[0])
    assert record["reply"] == reply.text
    assert not local_model.supports_images and local_model.supports_prefill


def test_embedded_model_prefill_stop_and_length(local_model):
    prompt = local_model.prompt_text([Message.user("Count to five."), Message.assistant("1, 2,")])
    assert prompt.endswith("<|im_start|>assistant\n1, 2,")
    reply = local_model.complete(
        [Message.user("Count to five."), Message.assistant("1, 2,")], max_tokens=12, stop=[","]
    )
    assert reply.stop_reason == "stop_sequence" and "," not in reply.text and reply.text.strip() == "3"
    reply = local_model.complete([Message.user("Write a long story about a dragon.")], max_tokens=3)
    assert reply.stop_reason == "length" and reply.usage.completion_tokens == 3


def test_embedded_model_is_loaded_from_the_dequantised_cache(local_model):
    again = load_chat_model("local", cache=False)
    assert again.loaded.from_cache and again.loaded.cache_path is not None
    assert again.loaded.load_seconds < 10
    assert (again.loaded.cache_path / "model.safetensors").exists()


def test_embedded_model_refuses_images_and_bad_paths(local_model, tmp_path):
    from PIL import Image

    with pytest.raises(LLMError, match="does not accept images"):
        local_model.complete([Message.user("look", Image.new("RGB", (4, 4)))])
    with pytest.raises(InputError, match="does not exist"):
        load_chat_model(f"local:{tmp_path / 'nothing'}")
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(InputError, match="gguf"):
        load_chat_model(f"local:{tmp_path / 'weights.bin'}")


def test_local_folder_spec_and_cli(local_model, tmp_path):
    folder = local_model.loaded.cache_path  # a plain transformers folder
    model = load_chat_model(f"local:{folder}", cache=False)
    assert model.name == f"local:{folder.name}" and not model.loaded.from_cache
    from tinkerlab.llm.cli import app

    result = CliRunner().invoke(
        app,
        ["chat", "What is 2+2? Answer with a number.", "--model", "local", "--max-tokens", "4", "--no-cache"],
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip()
