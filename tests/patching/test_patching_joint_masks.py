"""Joint masks over heads and MLPs: components, blended patches, objectives and the hard-concrete relaxation."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("transformers")

from tinkerlab.core.errors import InputError
from tinkerlab.patching.interventions import Intervention, Patch
from tinkerlab.patching.masks import (
    Component,
    HeadMask,
    JointMaskConfig,
    all_components,
    component_values,
    make_objective,
    objective_correct,
    train_joint_mask,
)
from tinkerlab.patching.models import tiny_model


def test_component_names_round_trip():
    for c in (Component(3, 4), Component(0), Component(12, 0)):
        assert Component.parse(c.name) == c
    assert Component.parse("L2.mlp") == Component(2)
    with pytest.raises(InputError, match="'L3H4' or 'L3 MLP'"):
        Component.parse("layer 3")


def test_blended_patches_match_activation_patching_and_the_identity():
    model = tiny_model("llama", seed=3)
    components = all_components(model)
    assert len(components) == 3 * 5 and components[4] == Component(0)
    g = torch.Generator().manual_seed(0)
    original, alternate = torch.randint(2, 64, (6, 7), generator=g), torch.randint(2, 64, (6, 9), generator=g)
    objective = make_objective(model, components, original, alternate, torch.zeros(6, dtype=torch.long))
    from tinkerlab.patching.masks import _objective_logits

    with torch.no_grad():
        clean = model(original).logits[:, -1]
        none = _objective_logits(model, components, objective, torch.zeros(len(components)))
        assert torch.allclose(none, clean, atol=1e-5)
        # fully patching the layer-1 MLP and head L2H3 equals writing the alternates' activations at the last token
        strength = torch.zeros(len(components))
        strength[components.index(Component(1))] = 1.0
        strength[components.index(Component(2, 3))] = 1.0
        patched = _objective_logits(model, components, objective, strength)
        mlp, head = component_values(model, alternate, torch.full((6, 1), 8), [Component(1), Component(2, 3)])
        rows, last = torch.arange(6), torch.full((6,), 6)
        edits = [
            Patch("layers.1.mlp.out", rows, last, mlp[:, 0]),
            Patch("layers.2.attn.head_out", rows, last, head[:, 0], torch.full((6,), 3)),
        ]
        with Intervention(model, patches=edits):
            expected = model(original).logits[:, -1]
    assert torch.allclose(patched, expected, atol=1e-5)
    assert not torch.allclose(patched, clean, atol=1e-3)


def test_every_position_needs_equal_lengths_and_checks_sizes():
    model = tiny_model("llama")
    components = all_components(model, heads=False)
    with pytest.raises(InputError, match="as long as the originals"):
        make_objective(
            model,
            components,
            torch.ones(2, 5, dtype=torch.long),
            torch.ones(2, 6, dtype=torch.long),
            torch.zeros(2, dtype=torch.long),
            positions="all",
        )
    with pytest.raises(InputError, match="share their first size"):
        make_objective(
            model,
            components,
            torch.ones(2, 5, dtype=torch.long),
            torch.ones(3, 5, dtype=torch.long),
            torch.zeros(2, dtype=torch.long),
        )


def test_hard_concrete_gates():
    mask = HeadMask(4, "hard_concrete")
    mask.eval()
    first, second = mask(), mask()
    assert torch.equal(first, second) and bool((first > 0.9).all())  # closed gates: keep the original
    mask.train()
    torch.manual_seed(0)
    samples = torch.stack([mask() for _ in range(200)])
    assert bool(((samples >= 0) & (samples <= 1)).all()) and bool((samples < 1).any())
    low = mask.penalty()
    with torch.no_grad():
        mask.logits.fill_(3.0)
    assert mask.penalty() > low and bool(mask.selected(0.5).all())
    with pytest.raises(InputError, match="relaxation must be one of"):
        HeadMask(2, "soft")


def test_a_joint_mask_picks_the_one_mlp_that_moves_the_output():
    model = tiny_model("llama", seed=5)
    with torch.no_grad():  # only block 2's MLP reaches the output strongly
        for layer in range(3):
            model.model.layers[layer].mlp.down_proj.weight.mul_(0.0 if layer != 2 else 40.0)
            model.model.layers[layer].self_attn.o_proj.weight.mul_(0.0)
    components = all_components(model)
    g = torch.Generator().manual_seed(1)
    original = torch.randint(2, 64, (64, 6), generator=g)
    alternate = torch.randint(2, 64, (64, 6), generator=g)
    with torch.inference_mode():
        targets = model(alternate).logits[:, -1].argmax(-1)
    objective = make_objective(model, components, original, alternate, targets)
    train, validation = objective.select(torch.arange(48)), objective.select(torch.arange(48, 64))
    result = train_joint_mask(
        model, components, [train], [validation], JointMaskConfig(epochs=6, batch_size=16), progress=False
    )
    assert result.selected == [Component(2)]
    patched = torch.tensor([c == Component(2) for c in components])
    accuracy = float(objective_correct(model, components, validation, patched).float().mean())
    nothing = float(objective_correct(model, components, validation, torch.zeros_like(patched)).float().mean())
    # the final token's own embedding still differs, so the MLP carries most answers, not all
    assert accuracy == result.validation_accuracy and accuracy > nothing + 0.3
