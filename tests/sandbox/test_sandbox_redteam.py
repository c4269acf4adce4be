"""Attacks from inside `run()` and `SandboxWorker`, in both isolation modes.

In the bubblewrap jail every attack here is contained. The process fallback contains the ones the parent can stop
on its own (environment, matplotlib config, symlinks, reader race, parent death, image memory, disk budget); the
others are reported with `pytest.xfail("not contained in process mode: ...")`, never passed silently.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import time
import uuid
import zlib
from pathlib import Path

import numpy as np
import pytest

from tinkerlab.core.errors import InputError
from tinkerlab.sandbox import SandboxWorker, run
from tinkerlab.sandbox.jail import bubblewrap_problem
from tinkerlab.sandbox.scratch import MAX_IMAGES, MAX_TOTAL_PIXELS

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["bubblewrap", "process"])
def mode(request: pytest.FixtureRequest) -> str:
    problem = bubblewrap_problem() if request.param == "bubblewrap" else None
    if problem is not None:
        # CI installs bubblewrap (make system-deps), so there the jail must run; elsewhere it may be missing.
        if os.environ.get("CI"):
            pytest.fail(f"the jail must run in CI, but bubblewrap is unusable: {problem}")
        pytest.skip(f"bubblewrap is unusable here: {problem}")
    return request.param


def _isolation(mode: str) -> str:
    return "jail" if mode == "bubblewrap" else "process"


def _contained(mode: str, contained: bool, what: str) -> None:
    """In the jail the attack must be contained; in process mode an uncontained one is an explicit xfail."""
    if mode == "bubblewrap":
        assert contained, f"not contained in the jail: {what}"
    elif not contained:
        pytest.xfail(f"not contained in process mode: {what}")


def _pids_with(marker: str) -> list[int]:
    """Host processes whose command line holds `marker`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmdline and state not in ("Z", "X"):
            found.append(int(entry))
    return found


def _wait_none_with(marker: str, seconds: float = 3.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _pids_with(marker):
            return []
        time.sleep(0.05)
    return _pids_with(marker)


def _kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _marker_sleep() -> tuple[str, str]:
    """A unique sleep duration (so the process can be found on the host) and the marker text."""
    seconds = f"30.{uuid.uuid4().int % 10**9:09d}"
    return seconds, seconds


# -- reading what the code should not see -------------------------------------------------------------------------


def test_reading_files_by_absolute_path(mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    (cache / "llm").mkdir(parents=True)
    (cache / "llm" / "responses.sqlite").write_text("cached reply")
    monkeypatch.setenv("TINKERLAB_CACHE", str(cache))
    home_files = [p for p in sorted(Path.home().iterdir()) if p.is_file()][:5]
    targets = [REPO / "pyproject.toml", REPO / "src" / "tinkerlab" / "__init__.py", cache / "llm" / "responses.sqlite"]
    targets += home_files
    code = textwrap.dedent(f"""
        import os
        for path in {[str(p) for p in targets]!r}:
            try:
                open(path, 'rb').read(10)
                print('READ', path)
            except OSError:
                pass
        print('HOME', sorted(os.listdir({str(Path.home())!r})) if os.path.isdir({str(Path.home())!r}) else [])
    """)
    outcome = run(code, timeout_s=10, isolation=_isolation(mode))
    assert outcome.ok, outcome.error
    assert outcome.isolation == mode
    read = [line for line in outcome.stdout.splitlines() if line.startswith("READ")]
    if mode == "bubblewrap":
        home = outcome.stdout.split("HOME", 1)[1]
        assert all(name not in home for name in os.listdir(Path.home()) if name != ".pyenv")
    _contained(mode, not read, f"the code read {read}")


def test_parent_environment_through_proc(mode: str) -> None:
    secret = f"sk-redteam-{uuid.uuid4().hex}"
    code = textwrap.dedent(f"""
        import os
        found = []
        for entry in os.listdir('/proc'):
            if entry.isdigit():
                try:
                    if {secret!r}.encode() in open('/proc/%s/environ' % entry, 'rb').read():
                        found.append(entry)
                except OSError:
                    pass
        print('FOUND' if found else 'CLEAN', os.getppid())
    """)
    parent = textwrap.dedent(f"""
        from tinkerlab.sandbox import run
        print(run({code!r}, timeout_s=20, isolation={_isolation(mode)!r}).stdout, end='')
    """)
    env = {**os.environ, "OPENAI_API_KEY": secret}
    done = subprocess.run([sys.executable, "-c", parent], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "FOUND" in done.stdout or "CLEAN" in done.stdout, done.stdout
    _contained(mode, "CLEAN" in done.stdout, "the parent's API key is readable in /proc/<ppid>/environ")


def test_tinkerlab_settings_never_reach_the_code(mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TINKERLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TINKERLAB_SOMETHING", "x")
    outcome = run("import os\nprint([k for k in os.environ if 'TINKERLAB' in k.upper()])", isolation=_isolation(mode))
    assert outcome.stdout == "[]\n"


# -- writing where it should not ----------------------------------------------------------------------------------


def test_writing_outside_the_scratch_folder(mode: str, tmp_path: Path) -> None:
    target = tmp_path / "planted.txt"
    code = f"try:\n    open({str(target)!r}, 'w').write('planted')\nexcept OSError as exc:\n    print(exc)\n"
    outcome = run(code, timeout_s=10, isolation=_isolation(mode))
    assert outcome.ok, outcome.error
    _contained(mode, not target.exists(), f"the code wrote {target}")


def test_rewriting_the_llm_response_cache(mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TINKERLAB_CACHE", str(tmp_path / "cache"))
    from tinkerlab.core.paths import cache_dir

    database = cache_dir("llm") / "responses.sqlite"
    database.write_bytes(b"original")
    code = textwrap.dedent(f"""
        import os
        print('ENV', os.environ.get('TINKERLAB_CACHE'))
        try:
            open({str(database)!r}, 'wb').write(b'planted reply')
        except OSError as exc:
            print(exc)
    """)
    outcome = run(code, timeout_s=10, isolation=_isolation(mode))
    assert outcome.ok, outcome.error
    assert "ENV None" in outcome.stdout  # the cache folder is not on the allow-list in either mode
    _contained(mode, database.read_bytes() == b"original", "the code rewrote the LLM cache by its path")


def test_planted_matplotlibrc_does_not_reach_later_runs(mode: str) -> None:
    from tinkerlab.core.paths import cache_dir

    shared = cache_dir("sandbox", "matplotlib")  # the folder every run once shared
    plant = textwrap.dedent(f"""
        import os
        for folder in (os.environ['MPLCONFIGDIR'], {str(shared)!r}):
            try:
                open(os.path.join(folder, 'matplotlibrc'), 'w').write('lines.linewidth: 17\\n')
            except OSError:
                pass
        print(os.environ['MPLCONFIGDIR'].startswith(os.getcwd()))
    """)
    try:
        first = run(plant, timeout_s=20, isolation=_isolation(mode))
        assert first.stdout == "True\n", first.stdout + str(first.error)
        later = run("import matplotlib\nprint(matplotlib.rcParams['lines.linewidth'])", isolation=_isolation(mode))
        assert later.ok, later.error
        assert later.stdout == "1.5\n"
    finally:
        (shared / "matplotlibrc").unlink(missing_ok=True)


def test_write_files_refuses_planted_symlinks(mode: str, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    plant = (
        f"import os\nos.symlink({str(victim)!r}, 'out.txt')\nos.symlink({str(tmp_path)!r}, 'sub')\n"
        f"os.symlink({str(secret)!r}, 'leak.txt')\nos.symlink({str(secret)!r}, 'leak.png')\n"
    )
    with SandboxWorker(timeout_s=10, isolation=_isolation(mode)) as worker:
        planted = worker.run(plant)
        assert planted.ok, planted.error
        assert "leak.txt" not in planted.files and not planted.images  # files coming back: links not followed
        with pytest.raises(InputError, match="symlink"):
            worker.run("pass", files={"out.txt": "overwritten"})
        with pytest.raises(InputError, match="symlink"):
            worker.run("pass", files={"sub/escaped.txt": "escaped"})
        swapped = worker.run("import os\nos.remove('leak.txt')\nopen('leak.txt', 'w').write('own')")
        assert swapped.files == {"leak.txt": b"own"}
    assert victim.read_text() == "untouched"
    assert not (tmp_path / "escaped.txt").exists()


def test_disk_budget_of_the_scratch_folder(mode: str) -> None:
    code = "import time\nfor i in range(200):\n    open('f%d' % i, 'wb').write(b'x' * 1_000_000)\ntime.sleep(10)\n"
    outcome = run(code, timeout_s=15, disk_mb=32, isolation=_isolation(mode))
    assert not outcome.ok and "disk budget of 32 MB" in outcome.error
    assert outcome.duration_s < 8


# -- network and processes --------------------------------------------------------------------------------------


def test_tcp_connection_to_localhost(mode: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        code = textwrap.dedent(f"""
            import socket
            try:
                socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'hello')
                print('CONNECTED')
            except OSError as exc:
                print('REFUSED', exc)
        """)
        outcome = run(code, timeout_s=10, isolation=_isolation(mode))
    assert outcome.ok, outcome.error
    _contained(mode, "REFUSED" in outcome.stdout, "the code connected to a server on 127.0.0.1")


def test_signalling_a_host_process(mode: str) -> None:
    victim = subprocess.Popen(["sleep", "30"])
    try:
        code = (
            f"import os, signal\ntry:\n    os.kill({victim.pid}, signal.SIGKILL)\n    print('SENT')\n"
            f"except OSError as exc:\n    print('DENIED', exc)\n"
        )
        outcome = run(code, timeout_s=10, isolation=_isolation(mode))
        time.sleep(0.2)
        alive = victim.poll() is None
    finally:
        victim.kill()
        victim.wait()
    assert outcome.ok, outcome.error
    _contained(mode, alive and "DENIED" in outcome.stdout, "the code killed a process of the parent's user")


def test_setsid_daemon_does_not_outlive_the_timeout(mode: str) -> None:
    seconds, marker = _marker_sleep()
    code = textwrap.dedent(f"""
        import subprocess, sys
        subprocess.Popen([sys.executable, '-c', 'import time; time.sleep({seconds})'], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while True:
            pass
    """)
    outcome = run(code, timeout_s=1.0, isolation=_isolation(mode))
    assert outcome.timed_out
    left = _wait_none_with(marker, 2.0)
    _kill(left)
    _contained(mode, not left, "a process that called setsid() escaped the group kill")


def test_killed_parent_takes_the_sandbox_with_it(mode: str) -> None:
    seconds, marker = _marker_sleep()
    parent = textwrap.dedent(f"""
        import sys, time
        from tinkerlab.sandbox import SandboxWorker
        worker = SandboxWorker(timeout_s=20, isolation={_isolation(mode)!r})
        worker.start()
        worker.run("import subprocess\\nsubprocess.Popen(['sleep', '{seconds}'])")
        print(worker.pid, flush=True)
        time.sleep(60)
    """)
    process = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        worker_pid = int(line)
        assert _pids_with(marker), "the code's child did not start"
    finally:
        process.kill()
        process.wait()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and Path(f"/proc/{worker_pid}").exists():
        state = Path(f"/proc/{worker_pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state in ("Z", "X"):
            break
        time.sleep(0.05)
    else:
        assert not Path(f"/proc/{worker_pid}").exists(), "the sandbox process outlived its parent"
    left = _wait_none_with(marker, 3.0)
    _kill(left)
    assert not left, "a process the code started outlived the parent"


# -- parent-side faults -------------------------------------------------------------------------------------------


def test_reader_threads_do_not_steal_later_output_after_a_timeout(mode: str) -> None:
    marker = f"daemon-{uuid.uuid4().hex}"
    # A process that escapes the kill (in process mode) keeps the old stdout pipe open and keeps printing.
    talker = f"import time\nfor i in range(60):\n    print({marker!r}, flush=True)\n    time.sleep(0.05)\n"
    hold = (
        f"import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', {talker!r}], start_new_session=True)\n"
        "while True:\n    pass\n"
    )
    try:
        with SandboxWorker(timeout_s=1.0, isolation=_isolation(mode)) as worker:
            assert worker.run(hold).timed_out
            outputs = [worker.run("for i in range(2000):\n    print(i)").stdout for _ in range(3)]
    finally:
        _kill(_pids_with(marker))
    assert [len(out.splitlines()) for out in outputs] == [2000, 2000, 2000]
    assert all(marker not in out for out in outputs)


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (no real pixel data)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))


def test_image_flood_is_counted_and_size_checked_before_decoding(mode: str, tmp_path: Path) -> None:
    (tmp_path / "huge.bin").write_bytes(_png_header(60000, 60000))
    code = textwrap.dedent("""
        import shutil
        import matplotlib.pyplot as plt
        from PIL import Image
        for i in range(120):
            Image.new('L', (2000, 2000)).save('blank%03d.png' % i)
        shutil.copy('huge.bin', 'huge.png')
        for i in range(40):
            plt.figure(figsize=(20, 20), dpi=100)
    """)
    parent = textwrap.dedent(f"""
        import json, re
        from pathlib import Path
        from tinkerlab.sandbox import run
        outcome = run({code!r}, timeout_s=60, isolation={_isolation(mode)!r},
                      files={{'huge.bin': Path({str(tmp_path / "huge.bin")!r})}})
        print(json.dumps({{
            'error': outcome.error,
            'sizes': [image.size for image in outcome.images],
            'stderr': outcome.stderr[-2000:],
            # VmHWM is this process's own peak: ru_maxrss would carry the forking test process's peak across exec
            'peak_mb': int(re.search(r'VmHWM:\\s+(\\d+) kB', Path('/proc/self/status').read_text()).group(1)) / 1024,
        }}))
    """)
    done = subprocess.run([sys.executable, "-c", parent], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["error"] is None
    assert len(report["sizes"]) <= MAX_IMAGES
    assert sum(w * h for w, h in report["sizes"]) <= MAX_TOTAL_PIXELS
    assert [60000, 60000] not in report["sizes"]
    assert "not returned" in report["stderr"]
    assert report["peak_mb"] < 700, f"the parent peaked at {report['peak_mb']:.0f} MB"


# -- FIND scoring ---------------------------------------------------------------------------------------------------


def test_an_interpretation_cannot_read_the_suite(mode: str, tmp_path: Path) -> None:
    from tinkerlab.find import harness, metrics, numeric

    spec = numeric.sample_numeric_function(np.random.default_rng(3), "f00003", variant="clean", family="sin")
    spec["code"] = numeric.ground_truth_code(spec)
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "numeric.json").write_text(json.dumps([spec]))
    cheat = textwrap.dedent(f"""
        import json
        _stored = {{}}
        try:
            exec(json.load(open({str(suite / "numeric.json")!r}))[0]['code'], _stored)
        except OSError:
            pass

        def f(x):
            return _stored['f'](x) if 'f' in _stored else 0.0
    """)
    config = harness.SandboxConfig(isolation=_isolation(mode), hidden_paths=(str(suite),))
    score = metrics.score_numeric([spec], {spec["id"]: cheat}, config)[0]
    _contained(mode, score.score == 0.0, "an interpretation read the ground truth from the suite file")


def test_hidden_paths_inside_a_bound_folder_are_covered(mode: str) -> None:
    if mode != "bubblewrap":
        pytest.xfail("not contained in process mode: nothing can be hidden from a plain process")
    import numpy

    hidden = Path(numpy.__file__).parent
    with SandboxWorker(timeout_s=10, isolation="jail", hidden_paths=[hidden]) as worker:
        outcome = worker.run(
            f"import os\nprint(os.listdir({str(hidden)!r}))\nimport numpy\nprint(hasattr(numpy, 'ones'))"
        )
    assert outcome.ok, outcome.error
    assert outcome.stdout == "[]\nFalse\n"  # an empty folder: numpy is only an empty namespace package here
