from dataclasses import dataclass

import pytest

from tinkerlab.core.errors import ResumeError
from tinkerlab.core.runs import RunDir


@dataclass(frozen=True)
class JobConfig:
    steps: int = 10
    samples: int = 4


def test_new_run_writes_layout_and_resumes_with_same_config(tmp_path):
    run = RunDir.open(tmp_path / "run", system="demo", config=JobConfig())
    assert not run.resumed
    assert (run.path / "config.json").exists() and run.outputs.is_dir() and run.checkpoints.is_dir()
    run.save_state({"done": [1, 2]})
    again = RunDir.open(tmp_path / "run", system="demo", config=JobConfig())
    assert again.resumed and again.state() == {"done": [1, 2]}
    assert "resumed run" in (run.path / "run.log").read_text()


def test_resume_with_different_config_is_refused_unless_ignored_or_overwritten(tmp_path):
    RunDir.open(tmp_path / "run", system="demo", config=JobConfig())
    with pytest.raises(ResumeError, match="steps"):
        RunDir.open(tmp_path / "run", system="demo", config=JobConfig(steps=11))
    assert RunDir.open(tmp_path / "run", system="demo", config=JobConfig(samples=8), ignore_keys=("samples",)).resumed
    fresh = RunDir.open(tmp_path / "run", system="demo", config=JobConfig(steps=11), overwrite=True)
    assert not fresh.resumed and fresh.config()["steps"] == 11


def test_run_of_another_system_is_refused(tmp_path):
    RunDir.open(tmp_path / "run", system="sketch", config=JobConfig())
    with pytest.raises(ResumeError, match="sketch"):
        RunDir.open(tmp_path / "run", system="internal", config=JobConfig())
