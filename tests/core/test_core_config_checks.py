"""Every config dataclass checks its fields when built: defaults pass, bad values raise an expected-versus-got
`InputError` naming the config and the field; configs rebuilt from JSON still pass."""

import json
import re
from dataclasses import dataclass

import numpy as np
import pytest

from tinkerlab.circuits.experiment import ExperimentConfig
from tinkerlab.circuits.finetune import FinetuneConfig, WarmupConfig
from tinkerlab.circuits.pathpatch import PathPatchConfig
from tinkerlab.core.config import (
    check_choice,
    check_count,
    check_length,
    check_range,
    check_subset,
    check_type,
    config_from_dict,
    config_to_dict,
)
from tinkerlab.core.errors import InputError
from tinkerlab.find.agent import AgentConfig as FindAgentConfig
from tinkerlab.find.harness import SandboxConfig
from tinkerlab.find.runner import RunConfig
from tinkerlab.find.suite import BuildConfig
from tinkerlab.idc.config import DIPConfig, IDCConfig, demo_idc_config
from tinkerlab.llm.retry import RetryPolicy
from tinkerlab.patching.masks import DCMConfig
from tinkerlab.pyramid.config import (
    ModelConfig,
    PyramidConfig,
    SinGANConfig,
    TrainConfig,
    demo_singan_config,
    preset_config,
)
from tinkerlab.sketch.agent import AgentConfig as SketchAgentConfig
from tinkerlab.sketch.agent import preset_config as sketch_preset
from tinkerlab.sketch.runs import DrawConfig
from tinkerlab.vision.clipart import ClipartConfig


def draw_config(**kwargs) -> DrawConfig:
    return DrawConfig(**{"concept": "cat", **kwargs})


# (config class or factory, the config's name, {field: a bad value}); each bad value is tried on its own.
BAD_VALUES = [
    (
        PyramidConfig,
        "PyramidConfig",
        {"scale_factor": 1.5, "max_size": 0, "min_size": 2.5, "num_scales": 0},
    ),
    (
        ModelConfig,
        "ModelConfig",
        {"channels": 0, "num_layers": 1, "kernel_size": 4, "base_width": -1, "width_doubling_every": 0},
    ),
    (
        TrainConfig,
        "TrainConfig",
        {"iterations": 0, "d_steps": 0, "lr": 0.0, "betas": (0.5,), "decay_at": 1.5, "gp_weight": -1.0},
    ),
    (SinGANConfig, "SinGANConfig", {"pyramid": {"max_size": 64}, "seed": -1, "device": "gpu", "model": None}),
    (DIPConfig, "DIPConfig", {"width": 0, "depth": 0, "iterations": 2.5, "lr": -1e-3, "input_noise_std": -0.1}),
    (
        IDCConfig,
        "IDCConfig",
        {"base": PyramidConfig(), "masked_lr": 0, "mask_start_share": 1.2, "max_hole_fraction": 0.0},
    ),
    (
        DCMConfig,
        "DCMConfig",
        {"sparsity": -0.1, "lr": 0, "epochs": 0, "batch_size": 0, "relaxation": "tanh", "eval_every": 0},
    ),
    (draw_config, "DrawConfig", {"concept": " ", "mode": "lines", "model": 3, "agent": {}}),
    (
        SketchAgentConfig,
        "AgentConfig",
        {"resolution": 0, "max_tokens": 0, "temperature": 2.5, "retries": -1, "prefill": "plan", "compact": 1},
    ),
    (
        ExperimentConfig,
        "ExperimentConfig",
        {"n_boxes": 2, "n_eval": 0, "pp_threshold": -0.1, "dcm_epochs": 0, "n_completeness": 0},
    ),
    (
        PathPatchConfig,
        "PathPatchConfig",
        {"threshold": 2.0, "max_heads": (20, 10, 15), "min_heads": -1, "rows_per_forward": 0},
    ),
    (WarmupConfig, "WarmupConfig", {"steps": 0, "lr": 0.0, "min_boxes": 0, "max_boxes": 27}),
    (
        FinetuneConfig,
        "FinetuneConfig",
        {"n_vars": (5, 10, 12), "arithmetic_fraction": 1.5, "word_fraction": -0.5, "eval_every": -1},
    ),
    (ClipartConfig, "ClipartConfig", {"extra_files": -1, "image_size": 0, "ridge": -1.0, "seed": 0.5}),
    (SandboxConfig, "SandboxConfig", {"item_timeout_s": 0, "chunk_size": 0, "memory_mb": 32}),
    (
        RunConfig,
        "RunConfig",
        {"categories": ("numeric", "colours"), "limit": 0, "hints": "yes", "max_rounds": -1, "seed": -2},
    ),
    (BuildConfig, "BuildConfig", {"categories": (), "mlp_steps": 0, "entity_readout": "pmi", "small": None}),
    (FindAgentConfig, "AgentConfig", {"max_rounds": -1, "max_tokens": 0, "temperature": -0.1}),
    (RetryPolicy, "RetryPolicy", {"max_retries": -1, "base_delay_s": -0.5, "max_delay_s": float("nan")}),
]

CASES = [(make, name, field, value) for make, name, bad in BAD_VALUES for field, value in bad.items()]


@pytest.mark.parametrize("make", [make for make, _, _ in BAD_VALUES], ids=[name for _, name, _ in BAD_VALUES])
def test_defaults_pass(make):
    make()


@pytest.mark.parametrize(
    ("make", "name", "field", "value"), CASES, ids=[f"{name}.{field}={value!r}" for _, name, field, value in CASES]
)
def test_bad_value_raises_expected_versus_got(make, name, field, value):
    with pytest.raises(InputError, match=rf"^{name}\.{field}(\[\d+\])?: expected .+, got .+") as caught:
        make(**{field: value})
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("value", [1.5, -0.5, 0, 1])
def test_pyramid_scale_factor_outside_the_open_unit_interval(value):
    with pytest.raises(
        InputError, match=re.escape(f"PyramidConfig.scale_factor: expected a number in (0, 1), got {value}")
    ):
        PyramidConfig(scale_factor=value)


def test_checks_between_fields():
    with pytest.raises(InputError, match=r"PyramidConfig\.max_size: expected an integer >= min_size=25, got 20"):
        PyramidConfig(max_size=20)
    with pytest.raises(InputError, match=r"DCMConfig\.split: expected train and eval shares summing below 1"):
        DCMConfig(split=(0.5, 0.5))
    with pytest.raises(InputError, match=r"DCMConfig\.split\[1\]: expected a number in \(0, 1\), got 0.0"):
        DCMConfig(split=(0.5, 0.0))
    with pytest.raises(InputError, match=r"WarmupConfig\.max_boxes: expected an integer >= min_boxes=4, got 3"):
        WarmupConfig(min_boxes=4, max_boxes=3)
    with pytest.raises(InputError, match=r"FinetuneConfig\.n_vars\[0\]: expected an integer >= 2, got 1"):
        FinetuneConfig(n_vars=(1, 4))
    assert FinetuneConfig(n_vars=(1, 4), arithmetic_fraction=0.0).n_vars == (1, 4)
    with pytest.raises(InputError, match=r"PathPatchConfig\.min_heads: expected an integer <= min\(max_heads\)=2"):
        PathPatchConfig(max_heads=(4, 2, 4, 4), min_heads=3)
    with pytest.raises(InputError, match=r"TrainConfig\.betas\[1\]: expected a number in \[0, 1\), got 1.0"):
        TrainConfig(betas=(0.5, 1.0))
    with pytest.raises(
        InputError, match=r"RunConfig\.interpreter: expected 'baseline'.*got unknown interpreter 'magic'"
    ):
        RunConfig(interpreter="magic")


def test_values_used_by_tests_demos_and_presets_pass():
    SinGANConfig(device="cuda:1")
    SinGANConfig(device="auto")
    PyramidConfig(min_size=10)  # checked against the receptive field by scale_shapes, with the model
    preset_config("paper", iterations=5, max_size=32, scales=2)
    demo_idc_config(iterations=2, dip_iterations=1)
    sketch_preset("local", "tiny")
    sketch_preset("openai:gpt-4o", "full", temperature=2.0)
    DCMConfig(relaxation="sigmoid", epochs=3, batch_size=16, lr=0.5, sparsity=0.05)
    PathPatchConfig(rows_per_forward=8, tokens_per_forward=40)
    RunConfig(interpreter="agent:scripted:replies.json", categories=["numeric"], limit=3)  # lists as JSON gives them
    RunConfig(interpreter="fit", max_rounds=0)
    BuildConfig(seed=1, small=True, categories=("numeric", "strings"), mlp_steps=10)
    SandboxConfig(item_timeout_s=0.5)
    RetryPolicy(max_retries=0, base_delay_s=0.0)
    TrainConfig(lr=1, iterations=np.int64(3))  # an int learning rate, a NumPy count


CONFIGS = [
    PyramidConfig(),
    SinGANConfig(),
    demo_singan_config(),
    preset_config("paper"),
    IDCConfig(),
    demo_idc_config(),
    DCMConfig(),
    draw_config(agent=sketch_preset("local", "tiny")),
    SketchAgentConfig(),
    ExperimentConfig(),
    PathPatchConfig(),
    WarmupConfig(),
    FinetuneConfig(),
    ClipartConfig(),
    SandboxConfig(),
    RunConfig(suite="suite"),
    BuildConfig(),
    FindAgentConfig(),
    RetryPolicy(),
]


@pytest.mark.parametrize("config", CONFIGS, ids=[type(c).__name__ for c in CONFIGS])
def test_configs_rebuilt_from_json_pass_and_compare_equal(config):
    record = json.loads(json.dumps(config_to_dict(config)))  # tuples come back as lists
    assert config_from_dict(type(config), record) == config


def test_an_old_singan_record_still_loads():
    record = {
        "device": "cpu",
        "seed": 3,
        "pyramid": {"max_size": 64, "min_size": 20, "num_scales": 5, "scale_factor": 0.75},
        "model": {"base_width": 32, "channels": 3, "kernel_size": 3, "max_width": 32, "num_layers": 5},
        "train": {"betas": [0.5, 0.999], "iterations": 300, "lr": 0.0005, "rec_weight": 10},
    }
    config = config_from_dict(SinGANConfig, record)
    assert config.train.betas == (0.5, 0.999) and config.pyramid.num_scales == 5
    record["train"]["decay_at"] = 2
    with pytest.raises(InputError, match=r"TrainConfig\.decay_at: expected a number in \[0, 1\], got 2"):
        config_from_dict(SinGANConfig, record)


@dataclass(frozen=True)
class Toy:
    count: int = 1
    ratio: float = 0.5
    mode: str = "a"
    pair: tuple = (1, 2)
    parts: tuple = ("x",)
    flag: bool = True


def test_helpers_reject_bools_floats_and_nan_and_accept_lists():
    with pytest.raises(InputError, match=r"Toy\.count: expected an integer >= 0, got True"):
        check_count(Toy(count=True), "count")
    with pytest.raises(InputError, match=r"Toy\.count: expected None or an integer in \[1, 3\], got 2.0"):
        check_count(Toy(count=2.0), "count", 1, 3, optional=True)
    check_count(Toy(count=None), "count", 1, optional=True)
    with pytest.raises(InputError, match=r"Toy\.ratio: expected a number <= 1, got nan"):
        check_range(Toy(ratio=float("nan")), "ratio", hi=1)
    with pytest.raises(InputError, match=r"Toy\.ratio: expected a finite number, got inf"):
        check_range(Toy(ratio=float("inf")), "ratio")
    with pytest.raises(InputError, match=r"Toy\.mode: expected one of 'a', 'b', got 1"):
        check_choice(Toy(mode=1), "mode", ("a", "b"))
    check_length(Toy(pair=[1, 2]), "pair", 2)
    with pytest.raises(InputError, match=r"Toy\.pair: expected a tuple of 2 items, got '12'"):
        check_length(Toy(pair="12"), "pair", 2)
    check_subset(Toy(parts=["x", "y"]), "parts", ("x", "y"))
    with pytest.raises(InputError, match=r"Toy\.parts: expected a tuple of at least 1 of 'x', got \(\)"):
        check_subset(Toy(parts=()), "parts", ("x",))
    with pytest.raises(InputError, match=r"Toy\.flag: expected an int or float, got 'no'"):
        check_type(Toy(flag="no"), "flag", (int, float))
