import json
from dataclasses import dataclass, field

import pytest

from tinkerlab.core.errors import InputError, ResumeError
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


@dataclass(frozen=True)
class TrainConfig:
    iterations: int = 5


@dataclass(frozen=True)
class NestedConfig:
    train: TrainConfig = field(default_factory=TrainConfig)
    sizes: tuple[int, ...] = (8, 16)


def test_load_rebuilds_the_config_as_its_dataclass(tmp_path):
    made = RunDir.open(tmp_path / "run", system="demo", config=NestedConfig(), provenance={"kind": "toy"})
    made.save_state({"done": True})
    before = sorted(p.name for p in made.path.iterdir())
    run, config = RunDir.load(tmp_path / "run", NestedConfig, system="demo", provenance={"kind": "toy"})
    assert config == NestedConfig() and isinstance(config.sizes, tuple)
    assert run.system == "demo" and run.state() == {"done": True} and run.provenance() == {"kind": "toy"}
    assert sorted(p.name for p in run.path.iterdir()) == before  # loading writes nothing
    _, as_dict = RunDir.load(tmp_path / "run")
    assert as_dict == {"train": {"iterations": 5}, "sizes": [8, 16]}


def test_load_errors_say_what_is_expected_and_how_to_make_one(tmp_path):
    hint = "train one with `tinkerlab demo train`"
    with pytest.raises(InputError, match=r"missing is not a demo run directory: expected .*config.json \(train one"):
        RunDir.load(tmp_path / "missing", system="demo", hint=hint)
    RunDir.open(tmp_path / "run", system="demo", config=JobConfig(), provenance={"kind": "toy"})
    with pytest.raises(InputError, match="holds a run of system 'demo', not 'other'"):
        RunDir.load(tmp_path / "run", system="other", hint=hint)
    with pytest.raises(InputError, match="kind 'toy', expected 'singan'"):
        RunDir.load(tmp_path / "run", system="demo", provenance={"kind": "singan"})
    with pytest.raises(InputError, match="does not hold a NestedConfig"):
        RunDir.load(tmp_path / "run", NestedConfig, system="demo")


def test_provenance_is_kept_apart_and_a_change_is_refused_naming_it(tmp_path):
    run = RunDir.open(tmp_path / "run", system="demo", config=JobConfig(), provenance={"input_sha1": "aaa"})
    record = json.loads((run.path / "config.json").read_text())
    assert record["config"] == {"steps": 10, "samples": 4} and record["provenance"] == {"input_sha1": "aaa"}
    again = RunDir.open(tmp_path / "run", system="demo", config=JobConfig(), provenance={"input_sha1": "aaa"})
    assert again.resumed
    with pytest.raises(ResumeError, match="inputs changed: input_sha1") as refused:
        RunDir.open(tmp_path / "run", system="demo", config=JobConfig(), provenance={"input_sha1": "bbb"})
    assert "--overwrite" in str(refused.value) and "\n" not in str(refused.value)
    fresh = RunDir.open(
        tmp_path / "run", system="demo", config=JobConfig(), provenance={"input_sha1": "bbb"}, overwrite=True
    )
    assert not fresh.resumed and fresh.provenance() == {"input_sha1": "bbb"}


def test_nested_config_changes_are_named_with_dots(tmp_path):
    RunDir.open(tmp_path / "run", system="demo", config=NestedConfig())
    with pytest.raises(ResumeError, match=r"config changed: train\.iterations\)"):
        RunDir.open(tmp_path / "run", system="demo", config=NestedConfig(train=TrainConfig(iterations=6)))


def test_overwrite_moves_the_old_run_aside_and_starts_clean(tmp_path, capsys):
    old = RunDir.open(tmp_path / "run", system="demo", config=JobConfig())
    old.save_state({"done": [1, 2]})
    (old.checkpoints / "scale_0.pt").write_bytes(b"weights")
    (old.outputs / "old.png").write_bytes(b"png")
    fresh = RunDir.open(tmp_path / "run", system="demo", config=JobConfig(), overwrite=True)  # even the same config
    assert not fresh.resumed and fresh.state() == {}
    assert list(fresh.checkpoints.iterdir()) == [] and list(fresh.outputs.iterdir()) == []
    (aside,) = tmp_path.glob("run.previous-*")
    assert json.loads((aside / "state.json").read_text()) == {"done": [1, 2]}
    assert (aside / "checkpoints" / "scale_0.pt").read_bytes() == b"weights" and (
        aside / "outputs" / "old.png"
    ).exists()
    note = capsys.readouterr().err.strip()
    assert note.count("\n") == 0 and str(aside) in note
    log = (fresh.path / "run.log").read_text().splitlines()
    assert len(log) == 1 and "started run" in log[0] and str(aside) in log[0]
    RunDir.open(tmp_path / "run", system="demo", config=JobConfig(), overwrite=True)
    assert len(list(tmp_path.glob("run.previous-*"))) == 2  # a second overwrite gets its own folder
    assert RunDir.open(tmp_path / "new", system="demo", config=JobConfig(), overwrite=True).path.is_dir()
    assert not list(tmp_path.glob("new.previous-*"))  # nothing to move


def test_damaged_run_files_name_the_file_and_what_to_do(tmp_path):
    run = RunDir.open(tmp_path / "run", system="demo", config=JobConfig())
    run.save_state({"done": [1]})
    (run.path / "state.json").write_text('{"done": [1')
    with pytest.raises(ResumeError, match=r"state\.json is damaged .*pass --overwrite") as damaged:
        RunDir.open(tmp_path / "run", system="demo", config=JobConfig())
    assert "\n" not in str(damaged.value)
    with pytest.raises(ResumeError, match=r"state\.json is damaged"):
        run.state()
    (run.path / "config.json").write_text('{"system": "de')
    with pytest.raises(ResumeError, match=r"config\.json is damaged .*pass --overwrite"):
        RunDir.open(tmp_path / "run", system="demo", config=JobConfig())
    with pytest.raises(InputError, match=r"config\.json is damaged .*make one with"):
        RunDir.load(tmp_path / "run", system="demo", hint="make one with `tinkerlab demo`")
    (run.path / "config.json").write_text("[1, 2]")
    with pytest.raises(ResumeError, match="expected a JSON object"):
        RunDir.open(tmp_path / "run", system="demo", config=JobConfig())
    fresh = RunDir.open(tmp_path / "run", system="demo", config=JobConfig(), overwrite=True)
    assert fresh.state() == {} and fresh.config() == {"steps": 10, "samples": 4}
    (fresh.path / "config.json").unlink()
    fresh.save_state({"done": [1]})
    with pytest.raises(ResumeError, match="run files but no config.json"):
        RunDir.open(tmp_path / "run", system="demo", config=JobConfig())


def test_out_must_be_a_folder(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(InputError, match="is a file, not a run folder"):
        RunDir.open(tmp_path / "file.txt", system="demo", config=JobConfig())
    with pytest.raises(InputError, match="cannot create the run folder"):
        RunDir.open(tmp_path / "file.txt" / "run", system="demo", config=JobConfig())
