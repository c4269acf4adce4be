"""SandboxWorker: state across calls, restart after a timeout, clean-up, and the CLI."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tinkerlab.core.errors import SandboxError
from tinkerlab.sandbox import SandboxWorker
from tinkerlab.sandbox.cli import app
from tinkerlab.sandbox.environment import is_secret_name, sandbox_environment


def test_worker_keeps_state_between_calls() -> None:
    with SandboxWorker(timeout_s=10) as worker:
        assert worker.run("x = 40\nimport math").ok
        outcome = worker.run("x += 2\nprint(x, math.pi > 3)")
        assert outcome.stdout == "42 True\n" and outcome.ok
        failing = worker.run("y = 1 / 0")
        assert "<cell 3>" in failing.error and "ZeroDivisionError" in failing.error
        assert worker.run("print(x)").stdout == "42\n"  # an exception does not lose the state


def test_worker_survives_a_timeout_by_restarting() -> None:
    with SandboxWorker(timeout_s=1.0, setup_code="greeting = 'hello'") as worker:
        assert worker.run("x = 1\nprint(greeting)").stdout == "hello\n"
        first_pid = worker.pid
        start = time.monotonic()
        outcome = worker.run("while True:\n    pass")
        assert time.monotonic() - start < 3.5
        assert outcome.timed_out and outcome.state_lost
        assert "timed out after 1 s" in outcome.error and "state" not in outcome.stdout
        assert "restarted" in outcome.error
        assert worker.pid != first_pid
        lost = worker.run("print(x)")
        assert "NameError" in lost.error
        assert worker.run("print(greeting)").stdout == "hello\n"  # setup code ran again


def test_worker_restarts_after_the_process_dies() -> None:
    with SandboxWorker(timeout_s=10) as worker:
        outcome = worker.run("import os\nos._exit(5)")
        assert not outcome.ok and outcome.state_lost
        assert "exited with code 5" in outcome.error
        assert worker.run("print('alive')").stdout == "alive\n"


def test_worker_output_and_figures_are_per_call() -> None:
    with SandboxWorker(timeout_s=30) as worker:
        first = worker.run("import matplotlib.pyplot as plt\nplt.plot([1, 2])\nprint('one')")
        second = worker.run("print('two')")
        assert first.stdout == "one\n" and len(first.images) == 1
        assert second.stdout == "two\n" and second.images == []


def test_worker_close_kills_the_process_and_removes_the_scratch_dir() -> None:
    worker = SandboxWorker(timeout_s=10, isolation="process")  # pids printed inside the jail are its own
    with worker:
        pid = worker.pid
        scratch = worker.scratch_dir
        child = int(worker.run("import subprocess\nprint(subprocess.Popen(['sleep', '60']).pid)").stdout)
        assert scratch.is_dir()
    assert not scratch.exists()
    for process in (pid, child):
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and Path(f"/proc/{process}").exists():
            state = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()[0]
            if state in ("Z", "X"):
                break
            time.sleep(0.05)
        else:
            assert not Path(f"/proc/{process}").exists()
    with pytest.raises(SandboxError, match="closed"):
        worker.run("pass")


def test_failing_setup_code_raises() -> None:
    with (
        pytest.raises(SandboxError, match="setup code failed"),
        SandboxWorker(timeout_s=10, setup_code="import not_a_module_anywhere"),
    ):
        pass


def test_environment_is_built_from_an_allow_list(tmp_path: Path) -> None:
    parent = {"PATH": "/usr/bin", "OPENAI_API_KEY": "sk", "AWS_SECRET_ACCESS_KEY": "x", "RANDOM_VAR": "1"}
    env = sandbox_environment(tmp_path, parent=parent)
    assert env["PATH"] == "/usr/bin" and env["HOME"] == str(tmp_path)
    assert "RANDOM_VAR" not in env and not any(is_secret_name(name) for name in env)
    assert env["OMP_NUM_THREADS"] == "1"
    assert is_secret_name("GITHUB_TOKEN") and is_secret_name("db_password") and not is_secret_name("PATH")


def test_cli_runs_a_file_and_saves_images(tmp_path: Path) -> None:
    script = tmp_path / "plot.py"
    script.write_text("import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nprint('drawn')\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(script), "--timeout", "30", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "drawn" in result.output
    assert (out / "image-01.png").stat().st_size > 1000


def test_cli_reports_a_timeout(tmp_path: Path) -> None:
    script = tmp_path / "loop.py"
    script.write_text("while True:\n    pass\n")
    result = CliRunner().invoke(app, ["run", str(script), "--timeout", "0.5"])
    assert result.exit_code == 124
    assert "timed out after 0.5 s" in result.output


def test_cli_reports_a_crash(tmp_path: Path) -> None:
    script = tmp_path / "crash.py"
    script.write_text("raise ValueError('bad value')\n")
    result = CliRunner().invoke(app, ["run", str(script)])
    assert result.exit_code == 1
    assert "ValueError: bad value" in result.output


def test_sandbox_process_uses_the_same_interpreter() -> None:
    import sys

    with SandboxWorker(timeout_s=10) as worker:
        outcome = worker.run("import sys, os\nprint(sys.executable)\nprint(os.getpgid(0) == os.getpid())")
    assert outcome.stdout.split() == [sys.executable, "True"]
    assert os.getpgid(0) != worker.pid  # its own process group
