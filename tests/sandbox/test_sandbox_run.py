"""One-shot `run`: timeouts, memory, tracebacks, environment, figures, files, spawned processes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tinkerlab.core.errors import InputError
from tinkerlab.sandbox import Outcome, run


def _process_gone(pid: int) -> bool:
    """True when `pid` no longer runs (a zombie waiting for its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def _wait_gone(pid: int, seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _process_gone(pid):
            return True
        time.sleep(0.05)
    return _process_gone(pid)


def test_prints_and_succeeds() -> None:
    outcome = run("print(6 * 7)", timeout_s=10)
    assert isinstance(outcome, Outcome)
    assert outcome.stdout == "42\n"
    assert outcome.error is None and outcome.ok and not outcome.timed_out
    assert outcome.images == [] and outcome.files == {}
    assert 0 < outcome.duration_s < 5


def test_endless_loop_is_killed_at_the_timeout() -> None:
    start = time.monotonic()
    outcome = run("print('started', flush=True)\nwhile True:\n    pass\n", timeout_s=1.0)
    elapsed = time.monotonic() - start
    assert outcome.timed_out and not outcome.ok
    assert outcome.error is not None and "timed out after 1 s" in outcome.error
    assert outcome.stdout == "started\n"  # what it printed before the kill is kept
    assert 0.9 <= outcome.duration_s < 2.0
    assert elapsed < 3.5, f"run took {elapsed:.2f} s for a 1 s timeout"


def test_huge_allocation_fails_with_a_clear_memory_error() -> None:
    outcome = run("data = bytearray(8 * 1024**3)\nprint('never')", timeout_s=10, memory_mb=512)
    assert not outcome.ok and outcome.memory_exceeded
    assert outcome.error.startswith("exceeded the memory limit of 512 MB")
    assert "MemoryError" in outcome.error and "never" not in outcome.stdout


def test_numpy_allocation_beyond_the_limit_is_a_memory_error() -> None:
    outcome = run("import numpy as np\nx = np.ones((2**31,))", timeout_s=20, memory_mb=512)
    assert outcome.memory_exceeded
    assert "exceeded the memory limit of 512 MB" in outcome.error
    assert "Unable to allocate" in outcome.error


def test_crash_returns_the_traceback_with_the_code_line_numbers() -> None:
    code = "def divide(a, b):\n    return a / b\n\nprint('before')\ndivide(1, 0)\n"
    outcome = run(code, timeout_s=10)
    assert not outcome.ok and not outcome.timed_out
    assert outcome.stdout == "before\n"
    assert 'File "<code>", line 5, in <module>' in outcome.error
    assert 'File "<code>", line 2, in divide' in outcome.error
    assert "return a / b" in outcome.error
    assert outcome.error.rstrip().endswith("ZeroDivisionError: division by zero")
    assert "bootstrap" not in outcome.error  # the sandbox's own frames are hidden


def test_syntax_error_names_the_line() -> None:
    outcome = run("x = 1\ny = (\n", timeout_s=10)
    assert 'File "<code>", line 2' in outcome.error
    assert "SyntaxError" in outcome.error


def test_api_keys_of_the_parent_are_not_visible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret")
    monkeypatch.setenv("HF_TOKEN", "hf-secret")
    monkeypatch.setenv("SOME_PASSWORD", "hunter2")
    code = (
        "import os, subprocess, sys\n"
        "print(repr(os.environ.get('OPENAI_API_KEY')))\n"
        "print(sorted(os.environ))\n"
        "print(subprocess.run(['env'], capture_output=True, text=True).stdout)\n"
    )
    outcome = run(code, timeout_s=10)
    assert outcome.ok, outcome.error
    assert outcome.stdout.startswith("None\n")
    for secret in ("sk-test-secret", "sk-ant-secret", "hf-secret", "hunter2", "API_KEY", "TOKEN", "PASSWORD"):
        assert secret not in outcome.stdout
    assert "MPLBACKEND" in outcome.stdout and "HOME" in outcome.stdout


def test_working_directory_is_a_scratch_folder_removed_afterwards() -> None:
    outcome = run("import os\nprint(os.getcwd())\nprint(os.environ['HOME'])", timeout_s=10)
    cwd, home = outcome.stdout.split()
    assert cwd == home and "tinkerlab-sandbox-" in cwd
    assert not Path(cwd).exists()


def test_matplotlib_figure_comes_back_as_an_image() -> None:
    code = (
        "import matplotlib.pyplot as plt\n"
        "fig, ax = plt.subplots(figsize=(4, 3), dpi=50)\n"
        "ax.plot([0, 1, 2], [0, 1, 4])\n"
    )
    outcome = run(code, timeout_s=30)
    assert outcome.ok, outcome.error
    assert len(outcome.images) == 1
    image = outcome.images[0]
    assert image.size == (200, 150)
    assert len(set(image.convert("L").getdata())) > 2  # a drawing, not a blank canvas


def test_show_captures_each_figure_and_saved_images_come_back() -> None:
    code = (
        "import matplotlib.pyplot as plt\n"
        "from PIL import Image\n"
        "for k in range(2):\n"
        "    plt.figure(figsize=(2, 2), dpi=40)\n"
        "    plt.plot([0, k + 1])\n"
        "    plt.show()\n"
        "Image.new('RGB', (7, 5), 'red').save('red.png')\n"
        "open('notes.txt', 'w').write('hello')\n"
    )
    outcome = run(code, timeout_s=30)
    assert outcome.ok, outcome.error
    assert [image.size for image in outcome.images] == [(80, 80), (80, 80), (7, 5)]
    assert outcome.images[2].getpixel((0, 0)) == (255, 0, 0)
    assert outcome.files == {"notes.txt": b"hello"}


def test_files_passed_in_are_readable_and_importable(tmp_path: Path) -> None:
    source = tmp_path / "table.csv"
    source.write_text("a,b\n1,2\n")
    files = {
        "data/text.txt": "some text",
        "blob.bin": b"\x00\x01\x02",
        "table.csv": source,
        "helper.py": "X = 7",
    }
    code = (
        "print(open('data/text.txt').read())\n"
        "print(list(open('blob.bin', 'rb').read()))\n"
        "print(open('table.csv').read().splitlines()[1])\n"
        "import helper\nprint(helper.X)\n"
    )
    outcome = run(code, timeout_s=10, files=files)
    assert outcome.ok, outcome.error
    assert outcome.stdout.split("\n")[:4] == ["some text", "[0, 1, 2]", "1,2", "7"]
    assert outcome.files == {}  # files passed in are not reported back as written


def test_child_processes_are_killed_at_the_timeout() -> None:
    code = (
        "import subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(child.pid, flush=True)\n"
        "while True:\n    pass\n"
    )
    outcome = run(code, timeout_s=1.5, isolation="process")  # pids printed inside the jail are its own
    assert outcome.timed_out
    pid = int(outcome.stdout.split()[0])
    assert _wait_gone(pid), f"process {pid} started by the code still runs"


def test_background_processes_are_killed_when_the_code_finishes() -> None:
    code = "import subprocess\nprint(subprocess.Popen(['sleep', '60']).pid)\n"
    outcome = run(code, timeout_s=10, isolation="process")  # pids printed inside the jail are its own
    assert outcome.ok, outcome.error
    assert _wait_gone(int(outcome.stdout.split()[0]))


def test_output_is_cut_at_the_limit_with_a_note() -> None:
    outcome = run("import sys\nsys.stdout.write('x' * 3_000_000)\nprint('tail', file=sys.stderr)", timeout_s=20)
    assert outcome.ok, outcome.error
    assert outcome.stdout.startswith("x" * 1000)
    assert len(outcome.stdout) < 1_100_000
    assert "2000000 more bytes of output were cut" in outcome.stdout
    assert outcome.stderr == "tail\n"


def test_exit_codes() -> None:
    assert run("import sys\nsys.exit(0)", timeout_s=10).ok
    failed = run("import sys\nsys.exit(3)", timeout_s=10)
    assert not failed.ok and "sys.exit(3)" in failed.error


def test_hard_crash_is_reported() -> None:
    outcome = run("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)", timeout_s=10)
    assert not outcome.ok and not outcome.timed_out
    assert "SIGSEGV" in outcome.error


def test_bad_arguments_raise_input_errors() -> None:
    with pytest.raises(InputError, match="timeout_s"):
        run("pass", timeout_s=0)
    with pytest.raises(InputError, match="memory_mb"):
        run("pass", memory_mb=10)
    with pytest.raises(InputError, match="relative paths"):
        run("pass", files={"../escape.txt": "x"})
    with pytest.raises(InputError, match="str"):
        run(b"print(1)")  # type: ignore[arg-type]
