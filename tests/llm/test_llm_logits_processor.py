"""The constrained-decoding hook of local models: `LocalChatModel.set_logits_processor`.

A tiny randomly initialised Llama with the embedded model's tokenizer stands in for a real model: the test checks
that the processor is built per generation with the prefill, budget and stop strings, that it decides the reply,
and that constrained replies get their own response-cache key.
"""

from __future__ import annotations

import pytest

from tinkerlab.core.errors import InputError, MissingAssetError
from tinkerlab.llm import Message


@pytest.fixture(scope="module")
def tiny_model_folder(tmp_path_factory):
    transformers = pytest.importorskip("transformers", reason="transformers (the llm extra) is needed")
    try:
        from tinkerlab.llm.local import load_local_model

        tokenizer = load_local_model().tokenizer
    except MissingAssetError as exc:
        pytest.skip(f"the embedded model (for its tokenizer) is not installed: {exc}")
    config = transformers.LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        eos_token_id=tokenizer.eos_token_id,
    )
    transformers.set_seed(0)
    folder = tmp_path_factory.mktemp("tiny-llama")
    transformers.LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


class OnlyToken:
    """A processor that allows one token (and records how it was made)."""

    made: list[dict] = []

    def __init__(self, token_id: int, **context) -> None:
        self.token_id = token_id
        OnlyToken.made.append(context)

    def __call__(self, input_ids, scores):
        keep = scores[:, self.token_id].clone()
        scores[:] = float("-inf")
        scores[:, self.token_id] = keep
        return scores


def test_logits_processor_decides_the_reply_and_its_cache_key(tiny_model_folder, tmp_path):
    from tinkerlab.llm.cache import ResponseCache
    from tinkerlab.llm.local import LocalChatModel

    model = LocalChatModel(tiny_model_folder, cache=False)
    model.cache = ResponseCache(tmp_path / "cache")
    seven = model.tokenizer("7", add_special_tokens=False)["input_ids"][0]
    messages = [Message.user("Count."), Message.assistant("1, 2,")]
    free = model.complete(messages, max_tokens=5)
    model.set_logits_processor(lambda **context: OnlyToken(seven, **context), name="only-7")
    constrained = model.complete(messages, max_tokens=5, stop=["</x>"])
    assert constrained.text == "77777" and not constrained.cached
    assert OnlyToken.made[-1]["prefill"] == "1, 2," and OnlyToken.made[-1]["max_new_tokens"] == 5
    assert OnlyToken.made[-1]["stop"] == ["</x>"] and OnlyToken.made[-1]["prompt_length"] > 3
    assert model.complete(messages, max_tokens=5, stop=["</x>"]).cached  # the same constraint: a cache hit
    model.set_logits_processor(None)
    again = model.complete(messages, max_tokens=5)
    assert again.cached and again.text == free.text  # the free reply kept its own key
    with pytest.raises(InputError, match="needs a name"):
        model.set_logits_processor(lambda **context: None)
