"""Running the collaborative canvas: uvicorn on 127.0.0.1 with a free port, in the foreground or a thread.

Both entry points set the app's accepted Host headers to the bound address, and binding anything but loopback
prints a warning: the canvas has no authentication, and every request can spend the model behind it.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any


@dataclass
class RunningServer:
    """A server started by `start_in_thread`; `stop()` shuts it down."""

    url: str
    server: Any
    thread: threading.Thread

    def stop(self, timeout_s: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout_s)


def bind_free_port(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening-ready socket on `host`; port 0 lets the OS pick a free one (no race with other servers)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def _server(app, sock: socket.socket):
    from tinkerlab.core.errors import require

    uvicorn = require("uvicorn", extra="sketch")
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    return uvicorn.Server(config)


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def exposure_warning(host: str) -> str | None:
    """The warning printed when `host` is not a loopback address (None for loopback)."""
    if host in LOOPBACK:
        return None
    return (
        f"warning: listening on {host} lets every machine that can reach this one use the canvas and the model "
        "behind it (no authentication; replies can spend API credits); use the default 127.0.0.1 unless you "
        "mean that"
    )


def _check_hosts(app, host: str, port: int) -> None:
    from tinkerlab.sketch.web.app import HostCheck, allowed_hosts

    if isinstance(app, HostCheck) and app.allowed is None:
        app.allowed = allowed_hosts(host, port)


def start_in_thread(app, host: str = "127.0.0.1", port: int = 0, timeout_s: float = 20.0) -> RunningServer:
    """Serve `app` from a daemon thread; returns once it accepts connections.

    Raises:
        RuntimeError: the server did not start within `timeout_s`.
    """
    sock = bind_free_port(host, port)
    _check_hosts(app, host, sock.getsockname()[1])
    server = _server(app, sock)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the sketch server did not start within {timeout_s} s")
        time.sleep(0.02)
    bound_host, bound_port = sock.getsockname()[:2]
    return RunningServer(f"http://{host}:{bound_port}/", server, thread)


def serve_forever(app, host: str = "127.0.0.1", port: int = 0, announce=print) -> None:
    """Serve `app` in the foreground until Ctrl-C; announces the URL (with the port the OS chose)."""
    warning = exposure_warning(host)
    if warning:
        import sys

        print(warning, file=sys.stderr)
    sock = bind_free_port(host, port)
    _check_hosts(app, host, sock.getsockname()[1])
    server = _server(app, sock)
    announce(f"sketch canvas on http://{host}:{sock.getsockname()[1]}/  (Ctrl-C to stop)")
    server.run(sockets=[sock])
