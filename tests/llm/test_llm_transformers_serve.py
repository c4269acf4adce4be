"""The `openai:` backend against a real OpenAI-compatible server: `transformers serve` on 127.0.0.1, serving the
embedded SmolLM2-135M-Instruct from its dequantised folder in the user cache, offline (HF_HUB_OFFLINE=1).

It drives the real `openai` SDK: a chat, stop sequences, max tokens, the clear error for an image sent to this
text-only model, one SketchAgent drawing and one FIND agent round end to end.
"""

from __future__ import annotations

import pytest
from PIL import Image

from tinkerlab.core.errors import LLMError, MissingAssetError, SketchSyntaxError
from tinkerlab.llm import Message, load_chat_model
from tinkerlab.llm.transcript import read_transcript

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served_model():
    """(base URL, model name) of a `transformers serve` process on 127.0.0.1 serving the embedded model's folder."""
    pytest.importorskip("fastapi", reason="transformers serve needs fastapi and uvicorn")
    pytest.importorskip("uvicorn", reason="transformers serve needs fastapi and uvicorn")
    from tinkerlab.llm.serve import serve_model_folder

    try:
        from tinkerlab.llm.local import load_local_model

        folder = load_local_model().cache_path  # dequantises into the user cache on the first run
    except MissingAssetError as exc:
        pytest.skip(f"the embedded model is not installed: {exc}")
    with serve_model_folder(folder) as server:
        yield server.url, server.model


@pytest.fixture
def served(served_model, monkeypatch, tmp_path):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("TINKERLAB_CACHE", str(tmp_path / "cache"))
    url, name = served_model
    return load_chat_model(f"openai:{name}", base_url=url, cache=False, timeout_s=120, transcript=tmp_path / "t.jsonl")


def test_chat_stop_and_max_tokens(served):
    reply = served.complete([Message.user("What is the capital of France?")], max_tokens=16)
    assert "Paris" in reply.text and 1 <= reply.usage.completion_tokens <= 16
    counted = served.complete([Message.user("Count from one to ten in words, comma separated.")], max_tokens=5)
    assert counted.stop_reason == "length" and counted.usage.completion_tokens == 5
    stopped = served.complete([Message.user("Count from one to ten in digits: 1, 2, 3, ...")], stop=["4"])
    assert "4" not in stopped.text and stopped.text.strip()


def test_an_image_for_the_text_only_model_is_a_clear_error(served):
    assert not served.capabilities.images  # the served folder's config has no vision part
    with pytest.raises(LLMError, match="does not accept images"):
        served.complete([Message.user("What is this?", Image.new("RGB", (8, 8), (255, 0, 0)))])


def test_one_sketch_drawing_end_to_end(served, tmp_path):
    from tinkerlab.sketch.agent import SketchAgent, preset_config

    agent = SketchAgent(served, preset_config("openai:smollm2", "tiny"))
    try:
        result = agent.draw("house")
        assert len(result.sketch.strokes) >= 1
    except SketchSyntaxError:  # a 135M model may not manage the format; the loop itself must still finish
        pass
    records = read_transcript(tmp_path / "t.jsonl")
    assert records and all(r["reply"] is not None for r in records)
    assert all(r["messages"][-1]["role"] == "user" for r in records)  # no prefill sent to an OpenAI server


def test_one_find_agent_round_end_to_end(served):
    import numpy as np

    from tinkerlab.find import numeric
    from tinkerlab.find.agent import AgentConfig, AgentInterpreter
    from tinkerlab.find.protocol import BlackBox

    spec = numeric.sample_numeric_function(np.random.default_rng(0), "f00000", variant="clean", family="linear")
    result = AgentInterpreter(served, AgentConfig(max_rounds=1, max_tokens=48)).interpret(spec, BlackBox(spec))
    assert result.rounds >= 1 and not (result.error or "").startswith("model error")
    assert result.transcript[-1]["role"] in ("assistant", "user")
