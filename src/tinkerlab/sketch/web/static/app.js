// The collaborative canvas: the person draws with the pointer, the server maps the stroke into the sketching
// language and the agent answers with one stroke. Everything the page shows comes from the server's state.
"use strict";

const canvas = document.getElementById("canvas");
const ctx = canvas.getContext("2d");
const statusLine = document.getElementById("status");
const conceptInput = document.getElementById("concept");
const autoAgent = document.getElementById("auto-agent");
const HUMAN = "#2b8a3e";
const STROKE_WIDTH = 7;

let state = null;      // the server's state: {sid, concept, canvas, strokes: [...], text}
let current = null;    // the stroke being drawn: {points: [[x, y]], times: [s]}
let startTime = 0;
let busy = false;

function setStatus(text, isError = false) {
  statusLine.textContent = text;
  statusLine.classList.toggle("error", isError);
}

function setBusy(value) {
  busy = value;
  document.body.dataset.busy = value ? "1" : "0";
  for (const id of ["agent-turn", "agent-solo", "undo", "clear", "new-concept"]) {
    document.getElementById(id).disabled = value;
  }
}

async function call(path, body) {
  const response = await fetch(path, {
    method: body === undefined ? "GET" : "POST",
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({ detail: response.statusText }));
  if (!response.ok) {
    throw new Error(data.detail || `request failed (${response.status})`);
  }
  return data;
}

function drawAxes(size) {
  // Column numbers along the bottom row and row numbers down the left column, every fifth cell (and cell 1).
  const cell = size / 51;
  ctx.fillStyle = "#777777";
  ctx.font = `${Math.round(cell * 0.75)}px sans-serif`;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  for (let i = 1; i <= 50; i++) {
    if (i !== 1 && i % 5 !== 0) continue;
    ctx.fillText(String(i), cell * i + cell / 2, size - cell / 2);
    ctx.fillText(String(i), cell / 2, size - cell - cell * (i - 1) - cell / 2);
  }
}

function drawGrid(size) {
  const cell = size / 51;
  drawAxes(size);
  ctx.lineWidth = 1;
  for (let i = 0; i <= 50; i++) {
    ctx.strokeStyle = i % 5 === 0 ? "#d4d4d4" : "#efefef";
    const x = cell * (i + 1);
    ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x, size - cell); ctx.stroke();
    const y = size - cell - cell * i;
    ctx.beginPath(); ctx.moveTo(cell, y); ctx.lineTo(size, y); ctx.stroke();
  }
}

function drawPolyline(points, color) {
  if (!points.length) return;
  ctx.strokeStyle = color;
  ctx.fillStyle = color;
  ctx.lineWidth = STROKE_WIDTH;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  if (points.length === 1) {
    ctx.beginPath(); ctx.arc(points[0][0], points[0][1], STROKE_WIDTH / 2, 0, 2 * Math.PI); ctx.fill();
    return;
  }
  ctx.beginPath();
  ctx.moveTo(points[0][0], points[0][1]);
  for (const [x, y] of points.slice(1)) ctx.lineTo(x, y);
  ctx.stroke();
}

function redraw() {
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  drawGrid(canvas.width);
  if (state) {
    for (const stroke of state.strokes) drawPolyline(stroke.polyline, stroke.color);
  }
  if (current) drawPolyline(current.points, HUMAN);
}

function showState(next) {
  state = next;
  window.sketchState = next;
  conceptInput.value = next.concept;
  const list = document.getElementById("stroke-list");
  list.replaceChildren(...next.strokes.map((stroke, i) => {
    const item = document.createElement("li");
    item.dataset.author = stroke.author;
    const who = stroke.author === "agent" ? "agent" : "you";
    item.textContent = `s${i + 1} (${who}): ${stroke.label || "unnamed"}, ${stroke.cells.length} cells`;
    return item;
  }));
  document.getElementById("sketch-text").textContent = next.text;
  const url = new URL(window.location.href);
  if (next.saved && url.searchParams.get("sid") !== next.sid) {
    url.searchParams.set("sid", next.sid);  // reload or bookmark this address to reopen the saved session
    window.history.replaceState(null, "", url);
  }
  document.getElementById("download-svg").href = `/api/sketch.svg?sid=${next.sid}`;
  document.getElementById("download-png").href = `/api/sketch.png?sid=${next.sid}`;
  redraw();
}

function canvasPoint(event) {
  const rect = canvas.getBoundingClientRect();
  return [
    (event.clientX - rect.left) * (canvas.width / rect.width),
    (event.clientY - rect.top) * (canvas.height / rect.height),
  ];
}

async function run(action, pending) {
  setBusy(true);
  if (pending) setStatus(pending);
  try {
    showState(await action());
    setStatus(`Your turn: ${state.strokes.length} strokes so far.`);
  } catch (error) {
    setStatus(error.message, true);
  } finally {
    setBusy(false);
  }
}

async function agentTurn() {
  await run(() => call("/api/agent", { sid: state.sid }), "The agent is drawing…");
}

canvas.addEventListener("pointerdown", (event) => {
  if (busy || !state || event.button !== 0) return;
  canvas.setPointerCapture(event.pointerId);
  startTime = performance.now();
  current = { points: [canvasPoint(event)], times: [0] };
  redraw();
});

canvas.addEventListener("pointermove", (event) => {
  if (!current) return;
  current.points.push(canvasPoint(event));
  current.times.push((performance.now() - startTime) / 1000);
  redraw();
});

async function finishStroke(event) {
  if (!current) return;
  const stroke = current;
  current = null;
  if (event) {
    stroke.points.push(canvasPoint(event));
    stroke.times.push((performance.now() - startTime) / 1000);
  }
  await run(() => call("/api/stroke", { sid: state.sid, points: stroke.points, times: stroke.times }),
            "Reading your stroke…");
  if (autoAgent.checked && !statusLine.classList.contains("error")) await agentTurn();
}

canvas.addEventListener("pointerup", finishStroke);
canvas.addEventListener("pointercancel", () => { current = null; redraw(); });

document.getElementById("agent-turn").addEventListener("click", agentTurn);
document.getElementById("agent-solo").addEventListener("click",
  () => run(() => call("/api/agent", { sid: state.sid, solo: true }), "The agent draws alone…"));
document.getElementById("undo").addEventListener("click",
  () => run(() => call("/api/undo", { sid: state.sid })));
document.getElementById("clear").addEventListener("click",
  () => run(() => call("/api/clear", { sid: state.sid })));
const agentStarts = document.getElementById("agent-starts");
document.getElementById("concept-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (agentStarts.checked) {
    run(() => call("/api/session", { concept: conceptInput.value, agent_starts: true }), "The agent starts…");
  } else {
    run(() => call("/api/clear", { sid: state.sid, concept: conceptInput.value }));
  }
});

redraw();
// The server knows the starting concept (`serve --concept`); a saved session reopens from ?sid= in the address.
const savedSid = new URL(window.location.href).searchParams.get("sid");
run(() => call("/api/session", savedSid ? { sid: savedSid } : {}), "Starting…");
