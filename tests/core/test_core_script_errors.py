"""Scripts run outside the `tinkerlab` command (`python -m ...`, `python benchmarks/...`) print a user's mistake as
one `error:` line with exit status 1, as the command does, and keep tracebacks for bugs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tinkerlab.core.errors import InputError, error_line, run_main

ROOT = Path(__file__).resolve().parents[2]


def test_error_line_joins_lines_and_drops_blank_ones():
    assert error_line("size 100 is not a multiple of 16\n\n   pad it or pick 96 ") == (
        "error: size 100 is not a multiple of 16 pad it or pick 96"
    )
    assert error_line("") == "error: failed"


def test_run_main_prints_one_line_for_tinkerlab_errors(capsys):
    def bad() -> None:
        raise InputError("expected a label map\nuse `tinkerlab asapnet data`")

    with pytest.raises(SystemExit) as info:
        run_main(bad)
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err == "error: expected a label map use `tinkerlab asapnet data`\n"


def test_run_main_passes_results_and_keeps_bugs():
    assert run_main(lambda a, b=0: a + b, 2, b=3) == 5

    def bug() -> None:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        run_main(bug)


@pytest.mark.parametrize(
    "argv",
    [
        [str(ROOT / "benchmarks" / "asapnet_speed.py"), "--device", "cuda:7", "--sizes", "32", "--models", "asapnet"],
        ["-m", "tinkerlab.asapnet.quality", "--device", "cuda:7", "--steps", "1", "--out", "{tmp}"],
    ],
    ids=["benchmark-script", "module-script"],
)
def test_scripts_print_one_error_line(argv, tmp_path):
    argv = [arg.replace("{tmp}", str(tmp_path / "out")) for arg in argv]
    done = subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 1, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr
