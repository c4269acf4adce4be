"""The timing helpers of the speed benchmark: configs, measurements, ratios."""

from __future__ import annotations

from tinkerlab.asapnet.config import ASAPNetConfig, SPADEConfig
from tinkerlab.asapnet.speed import format_rows, measure, onnx_available, peak_memory_mb, speed_configs, speed_table


def test_published_and_slim_configs():
    published, slim = speed_configs(), speed_configs(widths="slim")
    assert published["asapnet"].lr_max_width == 1024 and published["asapnet"].lr_depth == 7
    assert published["pix2pixhd"].ngf == 64 and published["spade"].ngf == 64
    assert slim["asapnet"].lr_max_width == 256 and slim["asapnet"].lr_depth == 4 and slim["spade"].ngf == 16


def test_measure_times_every_asapnet_path_and_the_baselines():
    configs = {
        "asapnet": ASAPNetConfig(num_labels=3, lr_width=4, lr_max_width=8, lr_depth=1, hr_width=8, hr_depth=2),
        "spade": SPADEConfig(num_labels=3, ngf=2, spade_hidden=4),
    }
    seen = []
    rows = measure(configs, sizes=(32,), threads=(1,), repeats=2, warmup=1, report=seen.append)
    onnx = ["asapnet-onnx"] if onnx_available() else []
    assert [row["model"] for row in rows] == ["asapnet", "asapnet-fast", *onnx, "spade"] and seen == rows
    for row in rows:
        assert 0 < row["min_ms"] <= row["median_ms"] and row["peak_mb"] >= 0 and row["params"] > 0
    (entry,) = speed_table(rows)
    assert entry["spade/asapnet"] == round(entry["spade_ms"] / entry["asapnet_ms"], 2)
    assert entry["asapnet/asapnet-fast"] > 0
    if onnx:
        assert entry["spade/asapnet-onnx"] == round(entry["spade_ms"] / entry["asapnet-onnx_ms"], 2)
    assert "asapnet-fast" in format_rows(rows)
    skipped = measure(configs, sizes=(32,), repeats=1, warmup=0, skip=lambda model, size, threads: model == "spade")
    assert "spade" not in {row["model"] for row in skipped}


def test_peak_memory_sees_a_large_allocation():
    import numpy as np

    assert peak_memory_mb(lambda: np.ones(64 * 2**20 // 8).sum()) > 30


def test_each_timed_pass_is_synchronised_and_rows_name_their_device():
    from tinkerlab.asapnet.speed import time_function

    calls = []
    fastest, median = time_function(
        lambda: calls.append("pass"), repeats=3, warmup=2, sync=lambda: calls.append("sync")
    )
    assert calls == ["pass", "sync"] * 5 and 0 <= fastest <= median
    tiny = {"asapnet": ASAPNetConfig(num_labels=3, lr_width=4, lr_max_width=8, lr_depth=1, hr_width=8, hr_depth=2)}
    assert {row["device"] for row in measure(tiny, sizes=(16,), repeats=1, warmup=0, device="cpu")} == {"cpu"}


def test_a_gpu_asked_for_where_there_is_none_is_refused():
    import pytest
    import torch

    from tinkerlab.core.errors import InputError

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    tiny = {"asapnet": ASAPNetConfig(num_labels=3, lr_width=4, lr_max_width=8, lr_depth=1, hr_width=8, hr_depth=2)}
    with pytest.raises(InputError, match="CUDA is not available"):
        measure(tiny, sizes=(16,), repeats=1, warmup=0, device="cuda")


def test_the_fast_path_is_taken_on_a_cpu_only():
    from tinkerlab.asapnet.training import fast_path_helps

    assert fast_path_helps("cpu") and not fast_path_helps("cuda") and not fast_path_helps("cuda:1")
