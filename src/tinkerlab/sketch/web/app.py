"""The collaborative canvas of SketchAgent (Vinker et al., CVPR 2025) as a local FastAPI app.

A person draws with the mouse; each finished stroke is mapped into the sketching language
(`tinkerlab.sketch.human.human_stroke`) and, in turn, the agent answers with one stroke. The page has a concept
box, undo, clear, and SVG/PNG downloads; every asset is served from this package (no CDN). Unlike the original
Flask app it binds 127.0.0.1 by default and runs without debug mode, checks the Host header against the address it
is bound to (so a DNS-rebinding page cannot reach it), bounds the body size, the concept length and the stroke
count, and rejects coordinates that are not finite numbers (422 with the reason).

With `save_dir`, every session is saved in ``save_dir/<sid>/``: ``session.json`` (concept, mode and every stroke
with its author), ``exchanges.jsonl`` (every agent turn: its replies, parse failures and the stroke drawn) and
``turns/turn_NNN.png`` (the canvas after each change). A session evicted from memory, or from an earlier server,
reopens from there by its id (``/?sid=...``).

Routes (JSON unless noted; `sid` names a drawing session created by the page):

| route | does |
|---|---|
| GET `/` | the page |
| POST `/api/session` {concept, agent_starts, sid} | a new session (the agent draws first with agent_starts), or
  the saved session `sid` reopened |
| GET `/api/state?sid=` | the strokes, each with its author, cells, t-values, colour and fitted polyline |
| POST `/api/stroke` {sid, points, times} | add the person's stroke (canvas pixels, 612 px square, y down) |
| POST `/api/agent` {sid, solo} | the agent draws one stroke; with solo, it draws alone until it ends the sketch |
| POST `/api/undo` {sid}, POST `/api/clear` {sid, concept} | undo the last stroke, start over |
| GET `/api/sketch.svg?sid=`, `/api/sketch.png?sid=` | downloads |
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

STATIC = Path(__file__).parent / "static"
MAX_SESSIONS = 64
"""Sessions kept in memory; older ones are reopened from `save_dir` when asked for."""
MAX_BODY_BYTES = 1_000_000
MAX_CONCEPT_CHARS = 80
MAX_STROKES = 200
MAX_POINTS = 5000
_SID = re.compile(r"[0-9a-f]{12}")


class BodyLimit:
    """ASGI middleware: requests with a body over `limit` bytes get 413 before the app reads them."""

    def __init__(self, app, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await _reply(send, 413, f"request body over {self.limit} bytes; send one stroke at a time")
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        try:
            return await self.app(scope, counted, send)
        except _TooLarge:
            return await _reply(send, 413, f"request body over {self.limit} bytes; send one stroke at a time")


class HostCheck:
    """ASGI middleware: only requests whose Host header names an allowed address (None: every host) pass."""

    def __init__(self, app, allowed: set[str] | None) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and self.allowed is not None:
            host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1").lower()
            if host not in self.allowed:
                return await _reply(send, 400, f"unexpected Host header {host!r}; open the address the server printed")
        return await self.app(scope, receive, send)


class _TooLarge(Exception):
    pass


async def _reply(send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def allowed_hosts(host: str, port: int) -> set[str]:
    """Host header values that name a server bound to `host`:`port` (loopback also answers to its other names)."""
    names = {host.lower()}
    if host in ("127.0.0.1", "localhost", "::1"):
        names |= {"127.0.0.1", "localhost", "[::1]"}
    names = {f"[{n}]" if ":" in n and not n.startswith("[") else n for n in names}
    return {f"{n}:{port}" for n in names} | ({*names} if port == 80 else set())


def check_points(points: Any, times: Any) -> None:
    """Raise InputError unless `points` is a list of at most MAX_POINTS finite [x, y] pairs and `times` (if given)
    one finite number per point."""
    from tinkerlab.core.errors import InputError

    if not isinstance(points, list) or not points:
        raise InputError("expected points as a non-empty list of [x, y] pixel pairs")
    if len(points) > MAX_POINTS:
        raise InputError(f"expected at most {MAX_POINTS} points in one stroke, got {len(points)}")
    for point in points:
        if not (isinstance(point, list | tuple) and len(point) == 2):
            raise InputError(f"expected each point as [x, y], got {str(point)[:40]}")
        if any(isinstance(value, bool) or not isinstance(value, int | float) for value in point):
            raise InputError(f"expected pixel coordinates as numbers, got {str(point)[:40]}")
    if times is not None:
        if not isinstance(times, list) or any(isinstance(v, bool) or not isinstance(v, int | float) for v in times):
            raise InputError("expected times as a list of numbers (seconds), one per point")
    from tinkerlab.sketch.human import check_samples

    check_samples(points, times)  # finite coordinates and times, one time per point


def check_concept(concept: Any) -> str:
    from tinkerlab.core.errors import InputError

    if not isinstance(concept, str) or not concept.strip():
        raise InputError("expected a concept to draw, such as 'cat'")
    if len(concept) > MAX_CONCEPT_CHARS:
        raise InputError(f"expected a concept of at most {MAX_CONCEPT_CHARS} characters, got {len(concept)}")
    return concept


def create_app(
    agent_factory: Callable[[], Any],
    *,
    default_concept: str = "cat",
    save_dir: str | Path | None = None,
    hosts: Iterable[str] | None = None,
):
    """Build the FastAPI app (wrapped in the Host and body-size checks).

    Args:
        agent_factory: returns the `SketchAgent` to draw with (called once, on first use).
        default_concept: the concept a new page starts with.
        save_dir: where sessions are saved and reopened from (None: memory only).
        hosts: the Host header values to accept (see `allowed_hosts`); None accepts any, and the servers of
            `tinkerlab.sketch.web.server` set them to the bound address.

    Raises:
        MissingDependencyError: fastapi is not installed (extra 'sketch').
    """
    from tinkerlab.core.errors import require

    fastapi = require("fastapi", extra="sketch")
    from fastapi import Body, HTTPException
    from fastapi.responses import FileResponse, JSONResponse, Response

    from tinkerlab.core.errors import InputError, LLMError, SketchSyntaxError
    from tinkerlab.sketch.geometry import fit_sketch, flatten
    from tinkerlab.sketch.render import encode_png, render_image, sketch_svg

    app = fastapi.FastAPI(title="tinkerlab sketch", docs_url=None, redoc_url=None, openapi_url=None)
    root = Path(save_dir) if save_dir is not None else None
    sessions: dict[str, Any] = {}
    locks: dict[str, threading.Lock] = {}
    agent_holder: dict[str, Any] = {}
    registry_lock = threading.Lock()

    def agent():
        with registry_lock:
            if "agent" not in agent_holder:
                agent_holder["agent"] = agent_factory()
            return agent_holder["agent"]

    def invalid(exc: Exception):
        return HTTPException(status_code=422, detail=str(exc))

    def remember(sid: str, collab) -> None:
        with registry_lock:
            while len(sessions) >= MAX_SESSIONS:
                oldest = next(iter(sessions))
                sessions.pop(oldest)
                locks.pop(oldest)
            sessions[sid] = collab
            locks[sid] = threading.Lock()

    def reopen(sid: str) -> bool:
        """Load a saved session into memory; False when there is none."""
        if root is None or not _SID.fullmatch(sid) or not (root / sid / "session.json").is_file():
            return False
        from tinkerlab.sketch.language import Stroke

        record = json.loads((root / sid / "session.json").read_text(encoding="utf-8"))
        collab = agent().collaborate(record["concept"])
        for item in record["strokes"]:
            collab.strokes.append(Stroke.from_cells(item["cells"], item["t_values"], item.get("label", "")))
            collab.authors.append(item["author"])
        collab.mode = record.get("mode", "collab")
        remember(sid, collab)
        return True

    def session(sid: str):
        if sid not in sessions and not reopen(sid):
            raise HTTPException(status_code=404, detail=f"unknown session {sid!r}; reload the page")
        return sessions[sid], locks[sid]

    def save(sid: str, event: dict | None = None) -> None:
        """Write the session's strokes, append the agent exchange `event`, and a PNG of the canvas."""
        if root is None:
            return
        collab = sessions[sid]
        folder = root / sid
        (folder / "turns").mkdir(parents=True, exist_ok=True)
        record = {
            "sid": sid,
            "concept": collab.concept,
            "mode": getattr(collab, "mode", "collab"),
            "strokes": [
                {"author": a, "cells": s.cells, "t_values": list(s.t_values), "label": s.label}
                for s, a in zip(collab.strokes, collab.authors, strict=True)
            ],
        }
        tmp = folder / "session.json.tmp"
        tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
        tmp.replace(folder / "session.json")
        turn = len(list((folder / "turns").glob("turn_*.png"))) + 1
        render_image(collab.sketch, colors=collab.colors or None, show_grid=True).save(
            folder / "turns" / f"turn_{turn:03d}.png"
        )
        if event is not None:
            with open(folder / "exchanges.jsonl", "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"turn": turn, "time": time.time(), **event}) + "\n")

    def agent_event(collab, before_replies: int, before_failures: int, strokes: list, seconds: float) -> dict:
        return {
            "replies": collab.replies[before_replies:],
            "failures": collab.failures[before_failures:],
            "strokes": [s.to_text(collab.strokes.index(s) + 1) for s in strokes if s in collab.strokes],
            "seconds": round(seconds, 3),
        }

    def state(sid: str) -> dict[str, Any]:
        collab = sessions[sid]
        sketch = collab.sketch
        polylines = flatten(fit_sketch(sketch, collab.agent.grid)) if sketch.strokes else []
        colors = collab.colors
        return {
            "sid": sid,
            "saved": root is not None,
            "mode": getattr(collab, "mode", "collab"),
            "concept": collab.concept,
            "canvas": collab.agent.grid.canvas_size,
            "strokes": [
                {
                    "author": author,
                    "label": stroke.label,
                    "cells": stroke.cells,
                    "t_values": list(stroke.t_values),
                    "color": color,
                    "polyline": [[round(x, 2), round(y, 2)] for x, y in polyline.tolist()],
                }
                for stroke, author, color, polyline in zip(
                    sketch.strokes, collab.authors, colors, polylines, strict=False
                )
            ],
            "text": sketch.to_text(),
        }

    @app.get("/")
    def index():
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/static/{name}")
    def static(name: str):
        path = STATIC / name
        if "/" in name or not path.is_file():
            raise HTTPException(status_code=404, detail="no such file")
        media = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}.get(path.suffix, "text/plain")
        return FileResponse(path, media_type=media)

    @app.post("/api/session")
    def new_session(payload: dict = Body(default={})):
        wanted = payload.get("sid")
        if isinstance(wanted, str) and wanted:
            session(wanted)
            return state(wanted)
        try:
            concept = check_concept(payload.get("concept") or default_concept)
            collab = agent().collaborate(concept)
        except ValueError as exc:
            raise invalid(exc) from exc
        collab.mode = "collab"
        sid = uuid.uuid4().hex[:12]
        remember(sid, collab)
        save(sid)
        if payload.get("agent_starts"):
            return agent_turn({"sid": sid})
        return state(sid)

    @app.get("/api/state")
    def get_state(sid: str):
        session(sid)
        return state(sid)

    @app.post("/api/stroke")
    def add_stroke(payload: dict = Body(...)):
        sid = str(payload.get("sid"))
        collab, lock = session(sid)
        points = payload.get("points")
        times = payload.get("times")
        with lock:
            try:
                check_points(points, times)
                if len(collab.strokes) >= MAX_STROKES:
                    raise InputError(f"this sketch already has {MAX_STROKES} strokes, the most a session holds")
                collab.add_human_stroke(points, times)
            except (InputError, ValueError, TypeError) as exc:
                raise HTTPException(status_code=422, detail=f"could not read the stroke: {exc}") from exc
            save(sid)
        return state(sid)

    @app.post("/api/agent")
    def agent_turn(payload: dict = Body(...)):
        sid = str(payload.get("sid"))
        collab, lock = session(sid)
        solo = bool(payload.get("solo"))
        with lock:
            if len(collab.strokes) >= MAX_STROKES:
                raise HTTPException(status_code=422, detail=f"this sketch already has {MAX_STROKES} strokes")
            replies, failures = len(collab.replies), len(collab.failures)
            start = time.perf_counter()
            try:
                if solo:
                    collab.mode = "solo-agent"
                    limit = min(MAX_STROKES, len(collab.strokes) + collab.agent.config.max_strokes)
                    drawn = collab.agent_solo(limit)
                else:
                    drawn = [collab.agent_turn()]
            except (SketchSyntaxError, LLMError) as exc:
                if root is not None:
                    with open(root / sid / "exchanges.jsonl", "a", encoding="utf-8") as handle:
                        event = agent_event(collab, replies, failures, [], time.perf_counter() - start)
                        handle.write(json.dumps({"error": str(exc), **event}) + "\n")
                return JSONResponse(status_code=502, content={"detail": f"the agent could not draw: {exc}"})
            save(sid, agent_event(collab, replies, failures, drawn, time.perf_counter() - start))
        return state(sid)

    @app.post("/api/undo")
    def undo(payload: dict = Body(...)):
        sid = str(payload.get("sid"))
        collab, lock = session(sid)
        with lock:
            collab.undo()
            save(sid)
        return state(sid)

    @app.post("/api/clear")
    def clear(payload: dict = Body(...)):
        sid = str(payload.get("sid"))
        collab, lock = session(sid)
        with lock:
            try:
                concept = payload.get("concept")
                collab.clear(check_concept(concept) if concept is not None else None)
            except ValueError as exc:
                raise invalid(exc) from exc
            save(sid)
        return state(sid)

    @app.get("/api/sketch.svg")
    def download_svg(sid: str):
        collab, _ = session(sid)
        svg = sketch_svg(collab.sketch, colors=collab.colors or None)
        return Response(
            svg,
            media_type="image/svg+xml",
            headers={"Content-Disposition": f'attachment; filename="{_filename(collab.concept)}.svg"'},
        )

    @app.get("/api/sketch.png")
    def download_png(sid: str):
        collab, _ = session(sid)
        png = encode_png(render_image(collab.sketch, colors=collab.colors or None))
        return Response(
            png,
            media_type="image/png",
            headers={"Content-Disposition": f'attachment; filename="{_filename(collab.concept)}.png"'},
        )

    checked = HostCheck(BodyLimit(app), set(hosts) if hosts is not None else None)
    checked.fastapi = app
    return checked


def _filename(concept: str) -> str:
    cleaned = "".join(ch if ch.isalnum() else "_" for ch in concept).strip("_")
    return cleaned or "sketch"
