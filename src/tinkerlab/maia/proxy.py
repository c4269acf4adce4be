"""The narrow proxy between the agent's code (in the sandbox) and the unit and tools (in this process).

The sandboxed code gets two stub objects, `system` and `tools`. Each call writes a JSON request into the hidden
folder ``.maia/rpc`` of the sandbox's scratch directory and waits for the answer; images travel as PNG files in
``.maia/io`` (a procedural image keeps its scene in the PNG text). A `ToolServer` thread in the parent answers
while a cell runs: it accepts only the methods listed in `METHODS`, reads images only from ``.maia/io`` (no
symlinks), and calls the real `Tools`. So the code never holds the model, its weights or any path outside the
scratch folder, and a tool that fails comes back to the code as a `RuntimeError`.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from PIL import Image

from tinkerlab.maia.scenes import png_info

RPC_DIR = ".maia/rpc"
IO_DIR = ".maia/io"
METHODS = (
    "call_neuron",
    "dataset_exemplars",
    "text2image",
    "edit_images",
    "describe_images",
    "summarize_images",
    "display",
)
MAX_IMAGES_PER_CALL = 64
UNREADABLE_GRACE_S = 2.0  # how long a request file may stay half-written before it is answered with the error

CHILD_SETUP = r'''
import json as _json, os as _os, time as _time, uuid as _uuid
from PIL import Image
from PIL import PngImagePlugin as _PngImagePlugin
_os.makedirs(".maia/rpc", exist_ok=True)
_os.makedirs(".maia/io", exist_ok=True)

def _maia_encode(value):
    if isinstance(value, Image.Image):
        name = ".maia/io/in-" + _uuid.uuid4().hex + ".png"
        info = None
        if "scene" in value.info:
            info = _PngImagePlugin.PngInfo()
            info.add_text("scene", value.info["scene"])
        value.convert("RGB").save(name, pnginfo=info)
        return {"__image__": name}
    if isinstance(value, (list, tuple)):
        return [_maia_encode(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)

def _maia_decode(value):
    if isinstance(value, dict) and "__image__" in value:
        image = Image.open(value["__image__"])
        image.load()
        return image
    if isinstance(value, list):
        return [_maia_decode(v) for v in value]
    return value

def _maia_call(method, *args):
    key = _uuid.uuid4().hex
    tmp = ".maia/rpc/" + key + ".tmp"
    with open(tmp, "w") as handle:
        handle.write(_json.dumps({"method": method, "args": _maia_encode(list(args))}))
    _os.replace(tmp, ".maia/rpc/req-" + key + ".json")
    answer = ".maia/rpc/resp-" + key + ".json"
    while not _os.path.exists(answer):
        _time.sleep(0.005)
    with open(answer) as handle:
        reply = _json.loads(handle.read())
    _os.remove(answer)
    if reply.get("error"):
        raise RuntimeError(reply["error"])
    return _maia_decode(reply["value"])

class System:
    """The unit under study. call_neuron(images) -> (activations, masked images)."""
    def __init__(self, layer, unit, name):
        self.layer, self.unit, self.name = layer, unit, name
    def call_neuron(self, images):
        activations, masked = _maia_call("call_neuron", list(images))
        return activations, masked
    def __repr__(self):
        return "System(" + self.name + ")"

class Tools:
    """Experiment tools; see the API description."""
    def dataset_exemplars(self, k=15):
        activations, images = _maia_call("dataset_exemplars", k)
        return activations, images
    def text2image(self, prompts):
        return _maia_call("text2image", [prompts] if isinstance(prompts, str) else list(prompts))
    def edit_images(self, images, instructions):
        return _maia_call("edit_images", list(images), list(instructions))
    def describe_images(self, images, titles=None):
        return _maia_call("describe_images", list(images), None if titles is None else [str(t) for t in titles])
    def summarize_images(self, images):
        return _maia_call("summarize_images", list(images))
    def display(self, *items):
        flat = []
        for item in items:
            if isinstance(item, (list, tuple)) and any(isinstance(i, Image.Image) for i in item):
                flat.extend(item)
            else:
                flat.append(item if isinstance(item, Image.Image) else str(item))
        _maia_call("display", flat)

tools = Tools()
'''


def system_binding(layer: str, unit: Any, name: str) -> str:
    """Code that binds `system` in the sandbox (run after the setup, and again after a restart)."""
    return f"system = System({layer!r}, {unit!r}, {name!r})\n"


class ToolServer:
    """Answers the sandbox's tool calls while a cell runs (a context manager around one `worker.run`).

    Args:
        tools: the real `Tools`.
        scratch: the sandbox worker's scratch directory.

    Attributes:
        displayed: what `display` sent during this cell, in order (strings and PIL images).
        calls: the names of the methods called.
    """

    def __init__(self, tools: Any, scratch: Path) -> None:
        self.tools = tools
        self.scratch = Path(scratch)
        self.displayed: list[Any] = []
        self.calls: list[str] = []
        self._stop = threading.Event()
        self._unreadable: dict[str, float] = {}  # request key -> when it was first found unreadable
        self._thread = threading.Thread(target=self._serve, name="maia-tools", daemon=True)
        (self.scratch / RPC_DIR).mkdir(parents=True, exist_ok=True)
        (self.scratch / IO_DIR).mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> ToolServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(5.0)

    def _serve(self) -> None:
        rpc = self.scratch / RPC_DIR
        while not self._stop.is_set():
            try:
                requests = sorted(p for p in rpc.glob("req-*.json") if not p.is_symlink())
            except OSError:
                requests = []
            answered = [self._answer(request) for request in requests]
            if not any(answered):
                time.sleep(0.005)

    def _answer(self, request: Path) -> bool:
        """Answer one request; False when it is still being written (it is tried again on the next pass)."""
        key = request.name[len("req-") : -len(".json")]
        try:
            try:
                message = json.loads(request.read_text())
            except json.JSONDecodeError:
                # A request written in place (not renamed into it, as the proxy's own client does) can be read
                # half-written: wait for the writer, and answer with the parse error only if it stays broken.
                first = self._unreadable.setdefault(key, time.monotonic())
                if time.monotonic() - first < UNREADABLE_GRACE_S:
                    return False
                raise
            self._unreadable.pop(key, None)
            request.unlink()
            reply = {"value": self._encode(self._dispatch(message)), "error": None}
        except Exception as exc:  # noqa: BLE001 - every tool failure goes back to the code as an error
            reply = {"value": None, "error": f"{type(exc).__name__}: {exc}"}
            self._unreadable.pop(key, None)
            request.unlink(missing_ok=True)
        tmp = request.parent / f"{key}.answer.tmp"
        tmp.write_text(json.dumps(reply))
        os.replace(tmp, request.parent / f"resp-{key}.json")
        return True

    def _dispatch(self, message: dict) -> Any:
        method = message.get("method")
        if method not in METHODS:
            raise PermissionError(f"{method!r} is not a tool; the tools are {', '.join(METHODS)}")
        args = [self._decode(a) for a in message.get("args", [])]
        self.calls.append(method)
        if method == "display":
            self.displayed.extend(args[0] if args else [])
            return None
        if method == "call_neuron":
            return list(self.tools.call_neuron(*args))
        if method == "dataset_exemplars":
            return list(self.tools.dataset_exemplars(*args))
        return getattr(self.tools, method)(*args)

    def _decode(self, value: Any) -> Any:
        if isinstance(value, dict) and "__image__" in value:
            return self._read_image(str(value["__image__"]))
        if isinstance(value, list):
            if sum(isinstance(v, dict) for v in value) > MAX_IMAGES_PER_CALL:
                raise ValueError(f"at most {MAX_IMAGES_PER_CALL} images per call")
            return [self._decode(v) for v in value]
        return value

    def _read_image(self, name: str) -> Image.Image:
        folder = (self.scratch / IO_DIR).resolve()
        path = self.scratch / name
        if path.is_symlink() or path.resolve().parent != folder or not path.name.startswith("in-"):
            raise PermissionError(f"images are read only from {IO_DIR}, got {name!r}")
        image = Image.open(path)
        image.load()
        path.unlink(missing_ok=True)
        return image

    def _encode(self, value: Any) -> Any:
        if isinstance(value, Image.Image):
            name = f"{IO_DIR}/out-{uuid.uuid4().hex}.png"
            value.convert("RGB").save(self.scratch / name, pnginfo=png_info(value))
            return {"__image__": name}
        if isinstance(value, (list, tuple)):
            return [self._encode(v) for v in value]
        if hasattr(value, "item"):
            return value.item()
        return value
