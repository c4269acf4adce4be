"""The collaborative canvas: the HTTP API, and the page in real headless Chromium driven by Playwright."""

from __future__ import annotations

import io
import json
import shutil
import urllib.request

import pytest
from PIL import Image

from tinkerlab.llm import ScriptedChatModel
from tinkerlab.sketch.agent import SketchAgent

PLAN = "A sailboat: I add the mast.</thinking><answer><concept>sailboat</concept><strokes>"
MAST = "\n<points>'x25y15', 'x25y45'</points>\n<t_values>0.00, 1.00</t_values>\n<id>mast</id>\n"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if shutil.os.path.exists("/usr/bin/chromium") else None)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture()
def server():
    pytest.importorskip("fastapi", reason="fastapi is needed for the canvas (extra 'sketch')")
    pytest.importorskip("uvicorn", reason="uvicorn is needed for the canvas (extra 'sketch')")
    from tinkerlab.sketch.web.app import create_app
    from tinkerlab.sketch.web.server import start_in_thread

    model = ScriptedChatModel([PLAN, MAST, MAST])
    running = start_in_thread(create_app(lambda: SketchAgent(model)), host="127.0.0.1")
    running.model = model
    yield running
    running.stop()


def post(url: str, payload: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        return json.loads(response.read())


def test_api_round(server):
    base = server.url
    assert base.startswith("http://127.0.0.1:")
    state = post(base + "api/session", {"concept": "sailboat"})
    sid = state["sid"]
    state = post(
        base + "api/stroke",
        {"sid": sid, "points": [[126, 426], [306, 426], [486, 426]], "times": [0, 0.2, 0.4]},
    )
    assert state["strokes"][0]["author"] == "human" and state["strokes"][0]["cells"][0] == "x10y15"
    state = post(base + "api/agent", {"sid": sid})
    assert [s["author"] for s in state["strokes"]] == ["human", "agent"]
    assert state["strokes"][1]["label"] == "mast"
    with urllib.request.urlopen(base + f"api/sketch.png?sid={sid}", timeout=20) as response:
        assert Image.open(io.BytesIO(response.read())).size == (612, 612)
    with urllib.request.urlopen(base + f"api/sketch.svg?sid={sid}", timeout=20) as response:
        assert response.read().count(b"<path") == 2
    assert len(post(base + "api/undo", {"sid": sid})["strokes"]) == 1
    assert post(base + "api/clear", {"sid": sid, "concept": "kite"})["concept"] == "kite"
    with urllib.request.urlopen(base + "static/app.js", timeout=20) as response:
        assert b"pointerdown" in response.read()


@pytest.mark.browser
def test_page_in_headless_chromium(server):
    if CHROMIUM is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is needed (pip install playwright)")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(server.url)
            page.wait_for_function("window.sketchState && window.sketchState.sid")
            box = page.locator("#canvas").bounding_box()
            scale = box["width"] / 612
            # Drag a horizontal line along row 15 (y = 426 on the 612 px canvas), from column 10 to column 40.
            y = box["y"] + 426 * scale
            page.mouse.move(box["x"] + 126 * scale, y)
            page.mouse.down()
            for step in range(1, 31):
                page.mouse.move(box["x"] + (126 + 12 * step) * scale, y)
            page.mouse.up()
            page.wait_for_function("window.sketchState.strokes.length === 2", timeout=20000)
            items = page.locator("#stroke-list li")
            assert items.count() == 2
            assert items.nth(0).get_attribute("data-author") == "human"
            assert items.nth(1).get_attribute("data-author") == "agent"
            assert "mast" in items.nth(1).inner_text()
            # Both strokes are on the canvas: the person's green line and the agent's pink mast.
            pixel = (
                "([x, y]) => Array.from(document.getElementById('canvas').getContext('2d')"
                ".getImageData(x, y, 1, 1).data.slice(0, 3))"
            )
            human = page.evaluate(pixel, [200, 426])
            agent = page.evaluate(pixel, [306, 250])
            empty = page.evaluate(pixel, [500, 100])
            assert human[1] > human[0] + 40, human  # green
            assert agent[0] > agent[1] + 80, agent  # pink
            assert min(empty) > 200, empty
            state = page.evaluate("window.sketchState")
            assert state["strokes"][0]["cells"][0] == "x10y15" and state["strokes"][0]["cells"][-1] == "x40y15"
            page.click("#undo")
            page.wait_for_function("window.sketchState.strokes.length === 1")
        finally:
            browser.close()
    sent = server.model.requests[1][-1].text
    assert "<s1>" in sent and sent.endswith("<s2>")


def post_status(url: str, payload, headers: dict | None = None) -> tuple[int, dict]:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_bad_requests_get_a_reason_and_the_session_survives(server):
    base = server.url
    sid = post(base + "api/session", {"concept": "kite"})["sid"]
    code, body = post_status(base + "api/stroke", {"sid": sid, "points": [[100, float("nan")], [200, 200]]})
    assert code == 422 and "finite" in body["detail"]
    code, body = post_status(base + "api/stroke", {"sid": sid, "points": [[100, 300], [300, 300]]})
    assert code == 200 and len(body["strokes"]) == 1
    assert post_status(base + "api/stroke", {"sid": sid, "points": [[1, 2]] * 6000})[0] == 422
    code, body = post_status(base + "api/session", {"concept": "k" * 500})
    assert code == 422 and "at most 80" in body["detail"]
    code, body = post_status(base + "api/session", {}, headers={"Host": "attacker.example:80"})
    assert code == 400 and "Host" in body["detail"]
    assert post(base + "api/session", {"sid": sid})["sid"] == sid


def test_saved_session_reopens_in_a_new_server(tmp_path):
    pytest.importorskip("fastapi", reason="fastapi is needed for the canvas (extra 'sketch')")
    pytest.importorskip("uvicorn", reason="uvicorn is needed for the canvas (extra 'sketch')")
    from tinkerlab.sketch.web.app import create_app
    from tinkerlab.sketch.web.server import exposure_warning, start_in_thread

    model = ScriptedChatModel([PLAN, MAST, MAST])
    first = start_in_thread(create_app(lambda: SketchAgent(model), save_dir=tmp_path), host="127.0.0.1")
    try:
        state = post(first.url + "api/session", {"concept": "sailboat", "agent_starts": True})
        sid = state["sid"]
        assert [s["author"] for s in state["strokes"]] == ["agent"]
        post(first.url + "api/stroke", {"sid": sid, "points": [[126, 426], [486, 426]], "times": [0, 0.3]})
    finally:
        first.stop()
    folder = tmp_path / sid
    record = json.loads((folder / "session.json").read_text())
    assert [s["author"] for s in record["strokes"]] == ["agent", "human"]
    assert len(list((folder / "turns").glob("turn_*.png"))) == 3  # empty canvas, agent stroke, person's stroke
    (exchange,) = [json.loads(line) for line in (folder / "exchanges.jsonl").read_text().splitlines()]
    assert "A sailboat" in exchange["replies"][0] and "<s1>" in exchange["strokes"][0]
    second = start_in_thread(create_app(lambda: SketchAgent(ScriptedChatModel([])), save_dir=tmp_path))
    try:
        reopened = post(second.url + "api/session", {"sid": sid})
        assert [s["author"] for s in reopened["strokes"]] == ["agent", "human"]
        assert reopened["strokes"][0]["label"] == "mast"
    finally:
        second.stop()
    assert exposure_warning("127.0.0.1") is None and "no authentication" in exposure_warning("0.0.0.0")


def test_solo_agent_draws_until_it_ends(tmp_path):
    pytest.importorskip("fastapi", reason="fastapi is needed for the canvas (extra 'sketch')")
    from tinkerlab.sketch.web.app import create_app
    from tinkerlab.sketch.web.server import start_in_thread

    done = "\n</strokes>\n</answer>"
    model = ScriptedChatModel([PLAN, MAST, "<s2>" + MAST, done])
    running = start_in_thread(create_app(lambda: SketchAgent(model), save_dir=tmp_path))
    try:
        sid = post(running.url + "api/session", {"concept": "boat"})["sid"]
        state = post(running.url + "api/agent", {"sid": sid, "solo": True})
        assert [s["author"] for s in state["strokes"]] == ["agent", "agent"] and state["mode"] == "solo-agent"
    finally:
        running.stop()


def post_refused(url: str, data: bytes) -> tuple[int, dict]:
    """POST `data` and read the reply even if the server answers and closes before the body is all sent (a server
    that refuses an oversized body from its Content-Length may; the client then sees a broken pipe)."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.putrequest("POST", parts.path)
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(len(data)))
        conn.endheaders()
        try:
            conn.send(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the reply is already waiting in the socket
        reply = conn.getresponse()
        return reply.status, json.loads(reply.read() or b"{}")
    finally:
        conn.close()


def test_oversized_body_gets_413_and_the_server_keeps_serving(server):
    base = server.url
    sid = post(base + "api/session", {"concept": "kite"})["sid"]
    big = json.dumps({"sid": sid, "points": [[100.0, 200.0]] * 80_000}).encode()  # about 1.3 MB
    assert len(big) > 1_000_000
    code, body = post_refused(base + "api/stroke", big)
    assert code == 413 and "bytes" in body["detail"]
    code, body = post_status(base + "api/stroke", {"sid": sid, "points": [[100, 300], [300, 300]]})
    assert code == 200 and len(body["strokes"]) == 1


@pytest.mark.browser
def test_canvas_buttons_agent_starts_solo_and_reopen_in_headless_chromium(tmp_path):
    if CHROMIUM is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is needed (pip install playwright)")
    pytest.importorskip("fastapi", reason="fastapi is needed for the canvas (extra 'sketch')")
    from tinkerlab.sketch.web.app import create_app
    from tinkerlab.sketch.web.server import start_in_thread

    model = ScriptedChatModel([PLAN, MAST, "<s2>" + MAST, "\n</strokes>\n</answer>"])
    running = start_in_thread(create_app(lambda: SketchAgent(model), save_dir=tmp_path), host="127.0.0.1")
    try:
        with playwright_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1200, "height": 900})
                page.goto(running.url)
                page.wait_for_function("window.sketchState && window.sketchState.sid")
                # Axis numbers: the bottom label row holds dark text under column 25.
                dark = (
                    "() => { const d = document.getElementById('canvas').getContext('2d')"
                    ".getImageData(300, 600, 24, 12).data; let n = 0;"
                    " for (let i = 0; i < d.length; i += 4) if (d[i] < 160) n++; return n; }"
                )
                assert page.evaluate(dark) > 0
                # "the agent starts": a new session whose first stroke is the agent's.
                page.check("#agent-starts")
                page.fill("#concept", "boat")
                page.click("#new-concept")
                page.wait_for_function("window.sketchState.strokes.length === 1", timeout=20000)
                state = page.evaluate("window.sketchState")
                assert state["concept"] == "boat" and state["strokes"][0]["author"] == "agent"
                # "Agent draws alone": strokes until the model closes the sketch.
                page.click("#agent-solo")
                page.wait_for_function("window.sketchState.strokes.length === 2", timeout=20000)
                page.wait_for_function("document.body.dataset.busy === '0'")
                sid = page.evaluate("window.sketchState.sid")
                assert f"sid={sid}" in page.url
                # The saved session reopens from its address.
                page.goto(running.url + f"?sid={sid}")
                page.wait_for_function("window.sketchState && window.sketchState.strokes.length === 2")
                assert [s["author"] for s in page.evaluate("window.sketchState.strokes")] == ["agent", "agent"]
            finally:
                browser.close()
    finally:
        running.stop()
    assert (tmp_path / sid / "session.json").is_file()
