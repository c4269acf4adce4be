"""Joint desiderata masks on the hand-built toy model, whose binding head and result MLP are known."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")

from tinkerlab.desiderata.search import run_search
from tinkerlab.desiderata.toy import BINDING, DISTRACTOR, planted_model, toy_spec, toy_tokenizer


@pytest.fixture(scope="module")
def toy():
    return planted_model(), toy_tokenizer()


def test_the_toy_model_does_its_task(toy):
    import torch

    from tinkerlab.desiderata.toy import toy_answer, toy_prompt

    model, tokenizer = toy
    prompts = [(a, b, op) for a in range(10) for b in (0, 7) for op in range(6)]
    ids = torch.tensor([tokenizer(toy_prompt(a, b, op)).input_ids for a, b, op in prompts])
    with torch.inference_mode():
        predicted = model(ids).logits[:, -1].argmax(-1).tolist()
    assert [tokenizer.decode([p]) for p in predicted] == [toy_answer(a, op) for a, _, op in prompts]


@pytest.fixture(scope="module")
def result(toy):
    spec = toy_spec(("value_change", "operation_invariance"), seeds=2, random_draws=20, epochs=8)
    return run_search(spec, *toy, progress=False)


def test_joint_mask_finds_the_binding_head_and_nothing_else(result):
    assert result["joint"]["selected"] == [BINDING]
    assert result["joint"]["heldout"] == {"value_change": 1.0, "operation_invariance": 1.0}  # held-out operations
    assert [s["selected"] for s in result["seeds"]] == [[BINDING], [BINDING]]
    assert result["stability"]["jaccard"] == [1.0]
    assert result["n_components"] == 10 and result["n_heads"] == 8 and result["n_mlps"] == 2


def test_invariance_suppresses_the_result_mlp_that_value_change_alone_picks(result):
    alone = result["singles"]["value_change"]
    assert DISTRACTOR in alone["selected"]
    assert alone["heldout"]["operation_invariance"] < 0.5  # the result MLP carries the alternate's operation
    assert DISTRACTOR not in result["joint"]["selected"]


def test_random_masks_of_the_same_size_and_references(result):
    random = result["random"]
    assert random["size"] == 1 and len(random["draws"]) == 20
    mean, lo, hi = random["summary"]["value_change"]
    assert lo <= mean <= hi and mean < 0.5
    assert result["references"]["nothing patched"]["value_change"] == 0.0
    assert result["references"]["every component patched"]["operation_invariance"] == 0.0


@pytest.mark.parametrize(
    "settings",
    [
        {"relaxation": "hard_concrete", "epochs": 30, "lr": 0.2},
        {"positions": "all", "epochs": 8},
    ],
    ids=["hard-concrete-L0", "all-positions"],
)
def test_the_other_mask_options_find_the_binding_head(toy, settings):
    spec = toy_spec(("value_change", "operation_invariance"), seeds=1, random_draws=2, singles=False, **settings)
    out = run_search(spec, *toy, progress=False)
    assert out["joint"]["selected"] == [BINDING]


def test_weights_tip_the_balance_towards_value_change(toy):
    from dataclasses import replace

    spec = toy_spec(("value_change", "operation_invariance"), seeds=1, random_draws=2, singles=False, epochs=8)
    heavy = replace(
        spec, desiderata=(replace(spec.desiderata[0], weight=1.0), replace(spec.desiderata[1], weight=0.01))
    )
    out = run_search(heavy, *toy, progress=False)
    assert out["joint"]["heldout"]["value_change"] == 1.0
