"""Entity and relation functions on an LM: mechanics on a tiny random model; one slow check on SmolLM2."""

from __future__ import annotations

import numpy as np
import pytest

from tinkerlab.core.errors import InputError
from tinkerlab.find import entities, relations
from tinkerlab.find.lm import FunctionLM, OutputCache, load_function_lm
from tinkerlab.find.protocol import BlackBox

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


class CharTokenizer:
    """One token per byte; enough for mechanics tests."""

    eos_token_id = 0
    chat_template = None

    def encode(self, text, add_special_tokens=False):
        return [min(ord(c), 127) for c in text]

    def decode(self, ids, skip_special_tokens=False):
        return "".join(chr(i) for i in ids if i > 0)


@pytest.fixture(scope="module")
def tiny_lm():
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=128,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=2048,
    )
    model = transformers.LlamaForCausalLM(config).eval()
    return model, CharTokenizer()


def test_prob_one_is_a_cached_probability(tiny_lm, tmp_path):
    model, tokenizer = tiny_lm
    lm = FunctionLM(model, tokenizer, name="tiny", cache=OutputCache(tmp_path / "c.sqlite"))
    spec = entities.build_entity_specs(np.random.default_rng(0), 3)[0]
    values = entities.entity_outputs(spec, ["golf", "apple"], lm)
    assert all(0.0 <= v <= 1.0 for v in values)
    assert lm.forward_passes == 1 and lm.prompts_run == 2  # one left-padded batch
    again = FunctionLM(model, tokenizer, name="tiny", cache=OutputCache(tmp_path / "c.sqlite"))
    assert entities.entity_outputs(spec, ["golf", "apple"], again) == values
    assert again.forward_passes == 0  # served from the on-disk cache
    box = BlackBox(spec, lm)
    assert box.command("function.py golf").startswith("Function input - output pairs: (golf, 0.")


def test_batches_match_one_prompt_at_a_time(tiny_lm):
    model, tokenizer = tiny_lm
    threads_before = torch.get_num_threads()
    words = ["golf", "an apple", "x", "tractors and ploughs"]  # different lengths: left padding matters
    batched = FunctionLM(model, tokenizer, name="tiny", cache=None, batch_size=8)
    single = FunctionLM(model, tokenizer, name="tiny", cache=None, batch_size=1)
    instruction = entities.instruction(["golf"])
    np.testing.assert_allclose(
        batched.prob_one_many(instruction, words), single.prob_one_many(instruction, words), atol=1e-5
    )
    assert batched.forward_passes == 1 and single.forward_passes == 4
    assert batched.answer_many("Reply.", words, max_tokens=4) == single.answer_many("Reply.", words, max_tokens=4)
    assert torch.get_num_threads() == threads_before  # the scoped thread setting was restored


def test_relation_exceptions_answer_undefined_without_the_lm(tiny_lm, tmp_path):
    model, tokenizer = tiny_lm
    lm = FunctionLM(model, tokenizer, name="tiny", cache=None)
    specs = relations.build_relation_specs(np.random.default_rng(0), 75)
    spec = next(s for s in specs if s["relation"] == "country_capital" and s["mode"] == "except")
    assert relations.relation_outputs(spec, ["Japan", "China"], lm) == ["undefined", "undefined"]
    assert lm.forward_passes == 0
    out = relations.relation_outputs(spec, ["France"], lm)
    assert isinstance(out[0], str) and out[0] and lm.forward_passes >= 1
    only = next(s for s in specs if s["relation"] == "country_capital" and s["mode"] == "only")
    assert relations.relation_outputs(only, ["France"], lm) == ["undefined"]


def test_unit_tests_of_lm_functions_have_one_right_answer():
    for spec in relations.build_relation_specs(np.random.default_rng(3), 75):
        rel = relations.RELATIONS[spec["relation"]]
        for item in spec["unit_tests"]:
            right = item["candidates"][item["answer"] - 1]
            assert relations.expected_output(rel, spec["mode"], right[0]) == right[1]
            for index, (inp, out) in enumerate(item["candidates"], start=1):
                if index != item["answer"]:
                    assert relations.expected_output(rel, spec["mode"], inp) != out
    for spec in entities.build_entity_specs(np.random.default_rng(3), 200):
        related = {w for c in spec["concepts"] for w in entities.CONCEPTS[c]}
        for item in spec["unit_tests"]:
            flags = [w in related for w in item["candidates"]]
            assert flags[item["answer"] - 1] and sum(flags) == 1


def test_only_local_models_back_the_functions():
    with pytest.raises(InputError, match="local:PATH"):
        load_function_lm("openai:gpt-4o")


@pytest.mark.slow
def test_smollm2_neuron_runs_two_forward_passes():
    lm = load_function_lm("local", cache=False)
    values = lm.prob_one_many(entities.instruction(["golf"]), ["putter", "tractor"])
    assert all(0.0 <= v <= 1.0 for v in values) and lm.forward_passes == 1
    answers = lm.answer_many("Reply with only the capital city of the input country.", ["France", "Japan"])
    assert len(answers) == 2 and all(isinstance(a, str) for a in answers)


def test_logprob_judge_is_a_valid_position_debiased_choice(tiny_lm):
    from types import SimpleNamespace

    from tinkerlab.find.judges import LogprobJudge
    from tinkerlab.find.metrics import score_unit_tests

    model, tokenizer = tiny_lm
    chat = SimpleNamespace(model=model, tokenizer=tokenizer, name="tiny")
    judge = LogprobJudge(chat, debias=True, batch_size=4)
    item = {"candidates": ["golf", "apple", "river"], "answer": 1}
    rotated = {"candidates": ["apple", "river", "golf"], "answer": 3}
    scores = judge.choice_logprobs("entities", "Responds to golf.", [item, rotated])  # (2, 3)
    assert scores.shape == (2, 3) and np.all(scores <= 0)
    # averaged over the three rotations, a candidate's score does not depend on where it is listed
    np.testing.assert_allclose(scores[0], scores[1][[2, 0, 1]], atol=1e-4)
    assert judge.lm.forward_passes == 2  # six prompts in batches of four
    spec = {"id": "f0", "unit_tests": [item, rotated]}
    result = score_unit_tests("entities", [spec], {"f0": "[DESCRIPTION]: Responds to golf."}, judge)[0]
    assert result.details["picks"] == judge.choose_many("entities", "Responds to golf.", [item, rotated])
    assert result.score in (0.0, 0.5, 1.0)
    with pytest.raises(InputError, match="local chat model"):
        LogprobJudge(SimpleNamespace(name="openai:gpt-4o"))


@pytest.mark.slow
def test_smollm2_logprob_judge_answers_every_item():
    from tinkerlab.find.judges import LogprobJudge
    from tinkerlab.llm import load_chat_model

    judge = LogprobJudge(load_chat_model("local"))
    items = [{"candidates": ["tractor", "putter", "violin"], "answer": 2}]
    scores = judge.choice_logprobs("entities", "The function responds to inputs related to golf.", items)
    assert scores.shape == (1, 3) and np.isfinite(scores).all()
    assert judge.choose_many("entities", "The function responds to inputs related to golf.", items)[0] in (
        1,
        2,
        3,
    )


def test_association_readout_is_recorded_and_bounded(tiny_lm, tmp_path):
    model, tokenizer = tiny_lm
    lm = FunctionLM(model, tokenizer, name="tiny", cache=OutputCache(tmp_path / "c.sqlite"))
    plain = entities.build_entity_specs(np.random.default_rng(0), 3)
    assoc = entities.build_entity_specs(np.random.default_rng(0), 3, readout="association")
    assert "readout" not in plain[0] and assoc[0]["readout"] == "association"
    assert [s["unit_tests"] for s in plain] == [s["unit_tests"] for s in assoc]  # same functions otherwise
    values = entities.entity_outputs(assoc[0], ["golf", "an apple"], lm)
    assert all(0.0 < v < 1.0 for v in values)
    # batched continuation log-probabilities equal the one-at-a-time ones
    single = FunctionLM(model, tokenizer, name="tiny", cache=None, batch_size=1)
    prefixes = [entities.association_prefix("golf"), entities.association_prefix(None)]
    np.testing.assert_allclose(
        lm.continuation_logprob_many(prefixes, ["putter", "an old tractor"]),
        single.continuation_logprob_many(prefixes, ["putter", "an old tractor"]),
        atol=1e-4,
    )
    with pytest.raises(InputError, match="readout"):
        entities.build_entity_specs(np.random.default_rng(0), 3, readout="vibes")


def test_last_logits_computes_only_the_last_position_and_agrees(tiny_lm):
    model, tokenizer = tiny_lm
    prompts = ["golf", "tractors and ploughs"]
    fast = FunctionLM(model, tokenizer, name="tiny", cache=None)
    assert fast._logits_to_keep  # transformers causal LMs take logits_to_keep
    full = FunctionLM(model, tokenizer, name="tiny", cache=None)
    full._logits_to_keep = False  # the whole (B, T, vocab) projection, as before
    torch.testing.assert_close(fast.last_logits(prompts), full.last_logits(prompts), atol=1e-5, rtol=1e-5)
