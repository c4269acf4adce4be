"""Render drawing programs in the sandbox: matplotlib, SVG, turtle (an SVG shim, no Tk) and TikZ (optional).

Every program runs only through `tinkerlab.sandbox` (the bubblewrap jail where it works). The picture comes back as
a PNG of `size` x `size` pixels on white; what went wrong is kept as a status, never dropped:

| status | meaning |
|---|---|
| `ok` | the program ran and drew something |
| `no-code` | the reply held no program at all |
| `wrong-language` | the program is in another drawing language than the one asked for |
| `syntax` | the program does not parse (Python) or is not well-formed XML (SVG) |
| `error` | it raised or the renderer refused it |
| `timeout` | it ran past the time limit and was killed |
| `blank` | it ran but the canvas is (nearly) empty |

`Renderer` keeps one warm sandbox process per language (`SandboxWorker`), so a matplotlib program renders in tens of
milliseconds instead of paying an interpreter start and `import matplotlib` each time; `fresh=True` starts a new
process per program instead (the benchmark's baseline).
"""

from __future__ import annotations

import ast
import re
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from tinkerlab.core.errors import InputError

LANGUAGES = ("matplotlib", "svg", "turtle", "tikz")
STATUSES = ("ok", "no-code", "wrong-language", "syntax", "error", "timeout", "blank")
SIZE = 256
SETUP_TIMEOUT_S = 60.0
BLANK_FRACTION = 0.002
"""A render with fewer than this share of pixels away from its background colour is blank."""

_SHIM = Path(__file__).with_name("turtle_shim.py")

# Helpers defined once in each warm worker. The program runs in a fresh namespace of its own each time; the
# helpers undo what a program may have left behind (figures, rcParams, the turtle screen) before the next one.
_SETUP = {
    "matplotlib": """
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as _plt
import numpy

def _draw(size):
    _plt.close("all")
    matplotlib.rcdefaults()
    source = open("program.py", encoding="utf-8").read()
    shown = []
    real_show = _plt.show
    _plt.show = lambda *a, **k: shown.append(_plt.gcf())
    try:
        exec(compile(source, "<program>", "exec"), {"__name__": "__main__"})
    finally:
        _plt.show = real_show
    numbers = _plt.get_fignums()
    figure = _plt.figure(numbers[-1]) if numbers else (shown[-1] if shown else None)
    if figure is None:
        raise RuntimeError("the program made no matplotlib figure")
    figure.set_size_inches(size / 100, size / 100)
    figure.savefig("render.png", dpi=100, facecolor="white")
    _plt.close("all")
""",
    "svg": """
import cairosvg

def _draw(size):
    data = open("program.svg", "rb").read()
    cairosvg.svg2png(bytestring=data, write_to="render.png", output_width=size, output_height=size,
                     background_color="white")
""",
    "turtle": """
import sys
import cairosvg
import turtle_shim

def _draw(size):
    turtle_shim.reset()
    sys.modules["turtle"] = turtle_shim
    source = open("program.py", encoding="utf-8").read()
    exec(compile(source, "<program>", "exec"), {"__name__": "__main__"})
    cairosvg.svg2png(bytestring=turtle_shim.to_svg(size).encode(), write_to="render.png")
""",
    "tikz": """
import subprocess

def _draw(size):
    run = subprocess.run(["{latex}", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
                          "program.tex"], capture_output=True, text=True, timeout=60)
    if run.returncode != 0 or not __import__("os").path.exists("program.pdf"):
        tail = "\\n".join(line for line in run.stdout.splitlines() if line.startswith("!"))[:2000]
        raise RuntimeError("LaTeX failed: " + (tail or run.stdout[-2000:]))
    subprocess.run(["pdftoppm", "-png", "-singlefile", "-scale-to", str(size), "program.pdf", "render"],
                   check=True, capture_output=True, timeout=60)
""",
}

_TIKZ_DOCUMENT = "\\documentclass[tikz,border=4pt]{standalone}\n\\begin{document}\n%s\n\\end{document}\n"


@dataclass
class Render:
    """One program's outcome: the status, the picture (None unless it ran), the error text and the time taken."""

    status: str
    image: Image.Image | None = None
    error: str = ""
    duration_s: float = 0.0
    isolation: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def check_language(language: str) -> str:
    """`language` if supported, else InputError listing the supported ones."""
    if language not in LANGUAGES:
        raise InputError(f"unknown drawing language {language!r}; expected one of: {', '.join(LANGUAGES)}")
    return language


def tikz_engine() -> str | None:
    """The LaTeX program that compiles TikZ here (`pdflatex`, else `tectonic`), or None when neither is installed
    with `pdftoppm` (poppler-utils) beside it."""
    if shutil.which("pdftoppm") is None:
        return None
    for name in ("pdflatex", "tectonic"):
        if shutil.which(name):
            return name
    return None


_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)


def guess_language(code: str) -> str | None:
    """Which drawing language a program is written in, from its text (None when it looks like none of them)."""
    text = code.strip()
    if re.search(r"<svg[\s>]", text[:4000], re.I):
        return "svg"
    if "\\begin{tikzpicture}" in text or "\\tikz" in text or "\\draw" in text:
        return "tikz"
    if re.search(r"^\s*(import turtle|from turtle import)", text, re.M):
        return "turtle"
    if re.search(r"^\s*(import matplotlib|from matplotlib)", text, re.M) or "plt." in text:
        return "matplotlib"
    return None


def extract_program(reply: str, language: str) -> str | None:
    """The program in a chat reply: the fenced block in the asked language if any, else the longest fenced block,
    else the reply itself when it reads as a program. None when there is none."""
    check_language(language)
    blocks = [(tag.lower(), body.strip()) for tag, body in _FENCE.findall(reply) if body.strip()]
    tags = {
        "matplotlib": ("python", "py", "python3"),
        "turtle": ("python", "py", "python3"),
        "svg": ("svg", "xml", "html"),
        "tikz": ("latex", "tex", "tikz"),
    }[language]
    for tag, body in blocks:
        if tag in tags:
            return body
    if blocks:
        return max(blocks, key=lambda block: len(block[1]))[1]
    text = reply.strip()
    if language == "svg":
        match = re.search(r"<svg[\s>].*?</svg>", text, re.S | re.I)
        return match.group(0) if match else None
    return text if guess_language(text) is not None else None


def precheck(code: str | None, language: str) -> Render | None:
    """A Render for a program that cannot run (no code, another language, a syntax error), else None."""
    if code is None or not code.strip():
        return Render("no-code", error="the reply holds no program")
    guessed = guess_language(code)
    python_like = {"matplotlib", "turtle"}
    if guessed is not None and guessed != language:
        return Render("wrong-language", error=f"asked for {language}, the program reads as {guessed}")
    if language in python_like:
        try:
            ast.parse(code)
        except SyntaxError as exc:
            return Render("syntax", error=f"line {exc.lineno}: {exc.msg}")
    elif language == "svg":
        try:
            ET.fromstring(code)
        except ET.ParseError as exc:
            return Render("syntax", error=f"SVG is not well-formed XML: {exc}")
    return None


def is_blank(image: Image.Image, threshold: float = BLANK_FRACTION) -> bool:
    """True when fewer than `threshold` of the pixels differ visibly from the picture's most common colour."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.int16).reshape(-1, 3)
    values, counts = np.unique(pixels, axis=0, return_counts=True)
    background = values[counts.argmax()]
    differs = np.abs(pixels - background).max(axis=1) > 24
    return float(differs.mean()) < threshold


def _on_white(image: Image.Image, size: int) -> Image.Image:
    """The picture fitted into a white square of `size` pixels, transparency flattened onto white."""
    image = image.convert("RGBA")
    canvas = Image.new("RGBA", image.size, (255, 255, 255, 255))
    canvas.alpha_composite(image)
    flat = canvas.convert("RGB")
    if flat.size != (size, size):
        flat.thumbnail((size, size), Image.Resampling.LANCZOS)
        square = Image.new("RGB", (size, size), "white")
        square.paste(flat, ((size - flat.width) // 2, (size - flat.height) // 2))
        flat = square
    return flat


class Renderer:
    """Renders programs in the sandbox, one warm worker per language (or a fresh process each, `fresh=True`).

    >>> with Renderer() as renderer:                                     # doctest: +SKIP
    ...     renderer.render("import matplotlib.pyplot as plt\\nplt.plot([0, 1], [0, 1])", "matplotlib").status
    'ok'
    """

    def __init__(
        self,
        *,
        size: int = SIZE,
        timeout_s: float = 10.0,
        memory_mb: int = 1024,
        isolation: str | None = None,
        fresh: bool = False,
    ) -> None:
        if not isinstance(size, int) or not 16 <= size <= 2048:
            raise InputError(f"render size must be an integer from 16 to 2048 pixels, got {size!r}")
        self.size = size
        self.timeout_s = float(timeout_s)
        self.memory_mb = int(memory_mb)
        self.isolation = isolation
        self.fresh = fresh
        self._workers: dict[str, Any] = {}

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for worker in self._workers.values():
            worker.close()
        self._workers.clear()

    def _setup(self, language: str) -> str:
        setup = _SETUP[language]
        if language == "tikz":
            engine = tikz_engine()
            if engine is None:
                raise InputError(
                    "TikZ needs pdflatex (or tectonic) and pdftoppm; install them (Debian: texlive-pictures "
                    "poppler-utils) or choose another language"
                )
            setup = setup.replace("{latex}", engine)
        return setup

    def _files(self, code: str, language: str) -> dict[str, Any]:
        if language == "svg":
            return {"program.svg": code}
        if language == "tikz":
            document = code if "\\documentclass" in code else _TIKZ_DOCUMENT % code
            return {"program.tex": document}
        # The turtle shim is not among them: a warm worker's setup writes and imports it once; a fresh process gets
        # it with its setup (see `render`).
        return {"program.py": code}

    def _worker(self, language: str) -> Any:
        from tinkerlab.sandbox import SandboxWorker

        worker = self._workers.get(language)
        if worker is None:
            setup = self._setup(language)
            prefix = ""
            if language == "turtle":
                # The shim must be importable by the setup code, before any program's files arrive.
                prefix = f"open('turtle_shim.py', 'w').write({_SHIM.read_text(encoding='utf-8')!r})\n"
            worker = SandboxWorker(
                # The setup (imports, on a busy machine) gets more time than a program; programs get their own.
                timeout_s=max(self.timeout_s, SETUP_TIMEOUT_S),
                memory_mb=self.memory_mb,
                setup_code=prefix + setup,
                isolation=self.isolation,
            )
            self._workers[language] = worker
        return worker

    def render(self, code: str | None, language: str) -> Render:
        """Run one program and return its Render (never raises for a bad program; InputError for a bad language)."""
        check_language(language)
        refused = precheck(code, language)
        if refused is not None:
            return refused
        assert code is not None
        files = self._files(code, language)
        call = f"_draw({self.size})"
        if self.fresh:
            from tinkerlab.sandbox import run

            setup = self._setup(language)
            outcome = run(
                setup + "\n" + call,
                timeout_s=self.timeout_s,
                memory_mb=self.memory_mb,
                files=files | ({"turtle_shim.py": _SHIM} if language == "turtle" else {}),
                isolation=self.isolation,
            )
        else:
            outcome = self._worker(language).run(call, files=files, timeout_s=self.timeout_s)
        common = {"duration_s": outcome.duration_s, "isolation": outcome.isolation}
        if outcome.timed_out:
            return Render("timeout", error=outcome.error or "timed out", **common)
        if outcome.error is not None and "made no matplotlib figure" in outcome.error:
            return Render("blank", error="the program made no figure", **common)
        if outcome.error is not None:
            return Render("error", error=_short_error(outcome.error), **common)
        rendered = [image for image in outcome.images if Path(image.info.get("filename", "")).name == "render.png"]
        if not rendered:
            return Render("error", error="the program ran but no picture came back", **common)
        image = _on_white(rendered[-1], self.size)
        if is_blank(image):
            return Render("blank", image=image, error="the canvas is (nearly) empty", **common)
        return Render("ok", image=image, **common)


def _short_error(error: str, limit: int = 1500) -> str:
    """The end of a traceback (where the cause is), without the renderer's own frames."""
    lines = error.strip().splitlines()
    starts = [i for i, line in enumerate(lines) if '"<program>"' in line]
    text = "\n".join(lines[starts[0] :] if starts else lines[-3:])
    return text if len(text) <= limit else "..." + text[-limit:]
