"""The collaborative canvas of SketchAgent (Vinker et al., CVPR 2025) as a local FastAPI app.

A person draws with the mouse; each finished stroke is mapped into the sketching language
(`tinkerlab.sketch.human.human_stroke`) and, in turn, the agent answers with one stroke. The page has a concept
box, undo, clear, and SVG/PNG downloads; every asset is served from this package (no CDN). Unlike the original
Flask app it binds 127.0.0.1 by default and runs without debug mode.

Routes (JSON unless noted; `sid` names a drawing session created by the page):

| route | does |
|---|---|
| GET `/` | the page |
| POST `/api/session` {concept} | a new session |
| GET `/api/state?sid=` | the strokes, each with its author, cells, t-values, colour and fitted polyline |
| POST `/api/stroke` {sid, points, times} | add the person's stroke (canvas pixels, 612 px square, y down) |
| POST `/api/agent` {sid} | the agent draws one stroke |
| POST `/api/undo` {sid}, POST `/api/clear` {sid, concept} | undo the last stroke, start over |
| GET `/api/sketch.svg?sid=`, `/api/sketch.png?sid=` | downloads |
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

STATIC = Path(__file__).parent / "static"
MAX_SESSIONS = 64


def create_app(agent_factory: Callable[[], Any], *, default_concept: str = "sailboat"):
    """Build the FastAPI app.

    Args:
        agent_factory: returns the `SketchAgent` to draw with (called once, on first use).
        default_concept: the concept a new page starts with.

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
    sessions: dict[str, Any] = {}
    locks: dict[str, threading.Lock] = {}
    agent_holder: dict[str, Any] = {}
    registry_lock = threading.Lock()

    def agent():
        with registry_lock:
            if "agent" not in agent_holder:
                agent_holder["agent"] = agent_factory()
            return agent_holder["agent"]

    def session(sid: str):
        if sid not in sessions:
            raise HTTPException(status_code=404, detail=f"unknown session {sid!r}; reload the page")
        return sessions[sid], locks[sid]

    def state(sid: str) -> dict[str, Any]:
        collab = sessions[sid]
        sketch = collab.sketch
        polylines = flatten(fit_sketch(sketch, collab.agent.grid)) if sketch.strokes else []
        colors = collab.colors
        return {
            "sid": sid,
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
        concept = str(payload.get("concept") or default_concept)
        sid = uuid.uuid4().hex[:12]
        with registry_lock:
            if len(sessions) >= MAX_SESSIONS:
                oldest = next(iter(sessions))
                sessions.pop(oldest)
                locks.pop(oldest)
        try:
            collab = agent().collaborate(concept)
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        sessions[sid] = collab
        locks[sid] = threading.Lock()
        return state(sid)

    @app.get("/api/state")
    def get_state(sid: str):
        session(sid)
        return state(sid)

    @app.post("/api/stroke")
    def add_stroke(payload: dict = Body(...)):
        collab, lock = session(str(payload.get("sid")))
        points = payload.get("points") or []
        times = payload.get("times")
        with lock:
            try:
                collab.add_human_stroke(points, times)
            except (InputError, ValueError, TypeError) as exc:
                raise HTTPException(status_code=422, detail=f"could not read the stroke: {exc}") from exc
        return state(payload["sid"])

    @app.post("/api/agent")
    def agent_turn(payload: dict = Body(...)):
        sid = str(payload.get("sid"))
        collab, lock = session(sid)
        with lock:
            try:
                collab.agent_turn()
            except (SketchSyntaxError, LLMError) as exc:
                return JSONResponse(status_code=502, content={"detail": f"the agent could not draw: {exc}"})
        return state(sid)

    @app.post("/api/undo")
    def undo(payload: dict = Body(...)):
        sid = str(payload.get("sid"))
        collab, lock = session(sid)
        with lock:
            collab.undo()
        return state(sid)

    @app.post("/api/clear")
    def clear(payload: dict = Body(...)):
        sid = str(payload.get("sid"))
        collab, lock = session(sid)
        with lock:
            try:
                collab.clear(payload.get("concept"))
            except ValueError as exc:
                raise HTTPException(status_code=422, detail=str(exc)) from exc
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

    return app


def _filename(concept: str) -> str:
    cleaned = "".join(ch if ch.isalnum() else "_" for ch in concept).strip("_")
    return cleaned or "sketch"
