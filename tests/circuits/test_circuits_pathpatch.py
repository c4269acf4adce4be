"""Path patching: the fast schedule (frozen-attention passes, block skipping, prefix reuse, batched senders) equals
the reference schedule of two full forwards per sender (`pathpatch.reference_scores`)."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("transformers")

from tinkerlab.circuits.data import EntityBatch
from tinkerlab.circuits.pathpatch import PathPatchConfig, PathPatcher, reference_scores, select_heads
from tinkerlab.patching.models import tiny_model

B, SEQ = 4, 12


def _batch(seed: int, prev: list[int]) -> EntityBatch:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(2, 64, (B, SEQ), generator=g)
    t = torch.tensor
    return EntityBatch(
        [None] * B,
        ids,
        torch.randint(2, 64, (B,), generator=g),
        t([SEQ - 1] * B),
        t([SEQ - 3] * B),
        t(prev),
        t([[1, 4]] * B),
        t([[2, 5]] * B),
    )


def _naive_score(model, clean, corrupt, group, sender, receivers, kind=None):
    """Full forwards, no prefix reuse: the definition of the schedule for one sender."""
    return reference_scores(model, clean, corrupt, group, receivers, [sender])[sender]


@pytest.mark.parametrize("family", ["llama", "gemma2", "gemma3", "phi3", "gpt2", "gpt_neox"])
def test_fast_schedule_equals_naive(family):
    """Frozen-attention step 1, block skipping and prefix reuse in step 2, senders batched: the same scores as full
    forwards, for every step of the schedule, including receivers in several layers (some below the sender)."""
    model = tiny_model(family, seed=3, n_layers=4)
    clean = _batch(0, [2, 2, 5, 5])
    corrupt = _batch(1, [5, 2, 2, 5])
    patcher = PathPatcher(model, clean, corrupt, PathPatchConfig(rows_per_forward=8, tokens_per_forward=40))
    vf = patcher.sweep("VF", [])
    for sender in [(0, 1), (1, 3), (3, 0)]:
        assert vf[sender].item() == pytest.approx(_naive_score(model, clean, corrupt, "VF", sender, [], None), abs=2e-4)
    receivers = [(3, 1), (1, 0), (2, 2)]
    pt = patcher.sweep("PT", receivers)
    assert pt[3].abs().sum() == 0  # layer 3 cannot reach receivers at layers <= 3
    for sender in [(0, 2), (1, 1), (2, 3)]:  # below all receivers, between them, below the top one only
        assert pt[sender].item() == pytest.approx(
            _naive_score(model, clean, corrupt, "PT", sender, receivers, "q"), abs=2e-4
        )
    pd = patcher.sweep("PD", [(2, 1), (3, 3)])
    for sender in [(0, 0), (2, 2)]:
        assert pd[sender].item() == pytest.approx(
            _naive_score(model, clean, corrupt, "PD", sender, [(2, 1), (3, 3)], "v"), abs=2e-4
        )
    sr = patcher.sweep("SR", [(2, 3)])
    assert sr[1, 1].item() == pytest.approx(_naive_score(model, clean, corrupt, "SR", (1, 1), [(2, 3)], "v"), abs=2e-4)
    assert sr[0].abs().sum() > 0


def test_select_heads_threshold_and_caps():
    scores = torch.tensor([[0.0, -0.5, -0.01], [-0.2, 0.3, -0.03]])
    assert select_heads(scores, threshold=0.02, max_heads=10) == [(0, 1), (1, 0), (1, 2)]
    assert select_heads(scores, threshold=0.02, max_heads=2) == [(0, 1), (1, 0)]
    assert select_heads(scores, threshold=5.0, max_heads=2, min_heads=1) == [(0, 1)]


def test_path_patch_checkpoints_and_resumes():
    from tinkerlab.circuits.pathpatch import PathPatchResult, path_patch

    model = tiny_model("gpt_neox", seed=4, n_layers=3)
    clean = _batch(0, [2, 5, 2, 5])
    corrupt = _batch(1, [5, 2, 5, 2])
    saved = []
    full = path_patch(model, clean, corrupt, on_group=lambda r: saved.append(r.to_dict()))
    assert [len(s["circuit"]) for s in saved] == [1, 2, 3, 4]
    assert set(full.circuit) == {"VF", "PT", "PD", "SR"}
    resumed = path_patch(model, clean, corrupt, done=PathPatchResult.from_dict(saved[1]))
    for group in ("VF", "PT", "PD", "SR"):
        assert torch.allclose(resumed.scores[group], full.scores[group], atol=1e-5)
        assert resumed.circuit[group] == full.circuit[group]
