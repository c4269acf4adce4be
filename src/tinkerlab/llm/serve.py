"""A real OpenAI-compatible server for a local model folder: `transformers serve` on 127.0.0.1, offline.

`transformers serve` ships with transformers (it needs fastapi and uvicorn) and answers `/v1/chat/completions`. This
module starts it on a free loopback port for a model folder (the embedded SmolLM2's dequantised copy, or any
transformers folder), waits until it answers, and stops it by its process id when the block ends::

    from tinkerlab.llm import load_chat_model
    from tinkerlab.llm.serve import serve_model_folder

    with serve_model_folder(folder) as server:
        model = load_chat_model(f"openai:{server.model}", base_url=server.url)

The tests use it to drive the `openai:` backend through the real SDK; `benchmarks/llm_local.py` uses it to time
the same model in process and behind the server.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tinkerlab.core.errors import LLMError, MissingDependencyError


@dataclass(frozen=True)
class ServedModel:
    """A running server: its base URL (`http://127.0.0.1:PORT/v1`), the model name to ask for, and its pid."""

    url: str
    model: str
    pid: int
    startup_seconds: float

    def peak_rss_mib(self) -> float | None:
        """The server's peak resident memory (VmHWM) so far, or None where /proc cannot tell."""
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0  # kB
        except (OSError, ValueError, IndexError):
            return None
        return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve_model_folder(
    folder: str | Path,
    *,
    threads: int | None = None,
    start_timeout_s: float = 120.0,
    log_path: str | Path | None = None,
) -> Iterator[ServedModel]:
    """Run `transformers serve FOLDER` on 127.0.0.1 for the duration of the block.

    Args:
        folder: a transformers model folder; the server is asked for it by this path.
        threads: torch threads of the server (OMP/MKL); None leaves the default.
        start_timeout_s: how long to wait for `/v1/models` to answer.
        log_path: where the server's stderr goes (default: discarded).

    Raises:
        MissingDependencyError: the `transformers` command line, fastapi or uvicorn is missing.
        LLMError: the server exited or did not answer within `start_timeout_s`.
    """
    for module in ("fastapi", "uvicorn"):
        try:
            __import__(module)
        except ImportError as exc:
            raise MissingDependencyError(module, package=module) from exc
    command = Path(sys.executable).parent / "transformers"
    if not command.exists():
        raise MissingDependencyError("transformers", extra="llm")
    port = _free_port()
    url = f"http://127.0.0.1:{port}/v1"
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    if threads is not None:
        environment.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    argv = [str(command), "serve", str(folder), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"]
    started = time.perf_counter()
    with open(log_path or os.devnull, "wb") as log:
        process = subprocess.Popen(argv, env=environment, stdout=subprocess.DEVNULL, stderr=log)
    try:
        while True:
            if process.poll() is not None:
                tail = Path(log_path).read_text(errors="replace")[-2000:] if log_path else ""
                raise LLMError(f"transformers serve exited with status {process.returncode}: {tail}".strip())
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=1):
                    break
            except OSError:
                if time.perf_counter() - started > start_timeout_s:
                    raise LLMError(
                        f"transformers serve did not answer at {url} within {start_timeout_s:.0f} s"
                    ) from None
                time.sleep(0.5)
        yield ServedModel(url, str(folder), process.pid, time.perf_counter() - started)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
