"""`tinkerlab demo`: run every system's small offline demo and write one self-contained HTML gallery.

A system takes part by providing `tinkerlab.<system>.demo.run_demo(ctx: DemoContext) -> None`, which adds
images, audio, tables and text to `ctx.section`. Expensive artifacts go to `ctx.cache_dir` so a later run
reuses them (and says so through `ctx.reused(...)`). The gallery has no external assets: images and audio are
embedded as data URIs.
"""

from __future__ import annotations

import html
import importlib
import importlib.util
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinkerlab.core.errors import InputError
from tinkerlab.core.images import image_to_data_uri


@dataclass
class DemoItem:
    kind: str  # 'image' | 'audio' | 'table' | 'text' | 'code'
    title: str
    payload: Any
    caption: str = ""


@dataclass
class DemoSection:
    """What one system shows in the gallery."""

    system: str
    title: str = ""
    description: str = ""
    items: list[DemoItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None

    def add_image(self, title: str, image: Any, caption: str = "") -> None:
        """An image: a NumPy array (HxWxC in [0, 1] or uint8), a PIL image or a file path (PNG, GIF, SVG)."""
        self.items.append(DemoItem("image", title, image, caption))

    def add_audio(self, title: str, signal: Any, sample_rate: int, caption: str = "") -> None:
        """A mono signal played by an HTML audio player."""
        self.items.append(DemoItem("audio", title, (signal, sample_rate), caption))

    def add_table(self, title: str, header: list[str], rows: list[list[Any]], caption: str = "") -> None:
        self.items.append(DemoItem("table", title, (header, rows), caption))

    def add_text(self, title: str, text: str, caption: str = "") -> None:
        self.items.append(DemoItem("text", title, text, caption))

    def add_code(self, title: str, code: str, caption: str = "") -> None:
        self.items.append(DemoItem("code", title, code, caption))


@dataclass
class DemoContext:
    """Handed to each system's `run_demo`."""

    section: DemoSection
    cache_dir: Path
    out_dir: Path
    fresh: bool = False

    def reused(self, what: str) -> None:
        """Record that a cached artifact was reused (shown in the gallery and the summary)."""
        self.section.notes.append(f"reused cached {what}")

    def cached_run(self, name: str) -> Path:
        """The cache folder of a demo run called `name` (removed first under `--fresh`)."""
        import shutil

        path = Path(self.cache_dir) / name
        if self.fresh and path.exists():
            shutil.rmtree(path)
        return path

    @staticmethod
    def run_finished(path: Path) -> bool:
        """Whether the run directory at `path` recorded `done` in its state (so loading it trains nothing)."""
        import json

        state = Path(path) / "state.json"
        try:
            return state.exists() and bool(json.loads(state.read_text()).get("done"))
        except (OSError, ValueError):
            return False


def demo_systems() -> list[str]:
    """Engines and systems that ship a demo, in CLI order."""
    from tinkerlab.cli import PACKAGES

    found = []
    for name in PACKAGES:
        try:
            if importlib.util.find_spec(f"tinkerlab.{name}.demo") is not None:
                found.append(name)
        except ModuleNotFoundError:
            continue
    return found


def run_gallery(out: Path, *, only: list[str] | None = None, fresh: bool = False) -> Path:
    """Run the demos and write `out/index.html`; returns its path.

    Raises:
        InputError: `only` names a package without a demo (checked before anything runs).
    """

    from rich.console import Console
    from rich.table import Table

    from tinkerlab.core.paths import cache_dir

    console = Console(stderr=True)
    out = Path(out)
    systems = demo_systems()
    if only:
        unknown = sorted(set(only) - set(systems))
        if unknown:
            raise InputError(
                f"no demo for {', '.join(unknown)}; the packages with a demo are {', '.join(systems)} "
                f"(e.g. `tinkerlab demo --only {systems[0] if systems else 'sketch'}`)"
            )
        systems = [s for s in systems if s in only]
    out.mkdir(parents=True, exist_ok=True)
    sections: list[DemoSection] = []
    for name in systems:
        section = DemoSection(system=name, title=name)
        ctx = DemoContext(section=section, cache_dir=cache_dir("demo", name), out_dir=out, fresh=fresh)
        console.rule(f"demo: {name}")
        start = time.perf_counter()
        try:
            module = importlib.import_module(f"tinkerlab.{name}.demo")
            module.run_demo(ctx)
        except Exception as exc:  # one failing demo must not hide the others
            section.error = f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()}"
            console.print(f"[red]demo {name} failed: {exc}[/red]")
        section.seconds = time.perf_counter() - start
        sections.append(section)
    index = out / "index.html"
    index.write_text(render_gallery(sections), encoding="utf-8")
    table = Table(title="tinkerlab demo")
    for column in ("system", "status", "items", "seconds", "notes"):
        table.add_column(column)
    for s in sections:
        status = "[red]failed[/red]" if s.error else "[green]ok[/green]"
        table.add_row(s.system, status, str(len(s.items)), f"{s.seconds:.1f}", "; ".join(s.notes))
    Console().print(table)
    Console().print(f"gallery written to [bold]{index.resolve()}[/bold]")
    if any(s.error for s in sections):
        raise SystemExit(1)
    return index


_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:0} .sub{color:#666;margin-top:.2em}
section{border-top:2px solid #ddd;margin-top:2em;padding-top:1em}
.items{display:flex;flex-wrap:wrap;gap:1.2em}
figure{margin:0;max-width:100%} figure img{max-width:100%;border:1px solid #ccc;image-rendering:auto}
figcaption{font-size:.9em;color:#555;max-width:520px}
table{border-collapse:collapse;font-size:.9em} td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
pre{background:#f6f6f6;padding:.8em;overflow-x:auto;max-width:1000px;white-space:pre-wrap}
.note{color:#777;font-size:.85em} .error{color:#b00}
"""


def _file_data_uri(path: Path) -> str:
    import base64

    mime = {".png": "image/png", ".gif": "image/gif", ".svg": "image/svg+xml", ".jpg": "image/jpeg"}.get(
        path.suffix.lower(), "application/octet-stream"
    )
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _render_item(item: DemoItem) -> str:
    from tinkerlab.core.audio import audio_to_data_uri

    title = f"<h3>{html.escape(item.title)}</h3>" if item.title else ""
    caption = f"<figcaption>{html.escape(item.caption)}</figcaption>" if item.caption else ""
    if item.kind == "image":
        payload = item.payload
        uri = _file_data_uri(Path(payload)) if isinstance(payload, (str, Path)) else image_to_data_uri(payload)
        return f"<figure>{title}<img src='{uri}' alt='{html.escape(item.title)}'>{caption}</figure>"
    if item.kind == "audio":
        signal, rate = item.payload
        return f"<figure>{title}<audio controls src='{audio_to_data_uri(signal, rate)}'></audio>{caption}</figure>"
    if item.kind == "table":
        header, rows = item.payload
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
        return f"<figure>{title}<table><tr>{head}</tr>{body}</table>{caption}</figure>"
    if item.kind in ("text", "code"):
        return f"<figure>{title}<pre>{html.escape(str(item.payload))}</pre>{caption}</figure>"
    raise ValueError(f"unknown demo item kind {item.kind!r}")


def render_gallery(sections: list[DemoSection]) -> str:
    """The gallery as one HTML string with everything embedded."""
    from tinkerlab import __version__

    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>tinkerlab demo</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>tinkerlab demo</h1><p class='sub'>version {__version__}; every output below was computed offline "
        f"on this machine by the run that wrote this page.</p>",
    ]
    for s in sections:
        parts.append(f"<section id='{html.escape(s.system)}'><h2>{html.escape(s.title or s.system)}</h2>")
        if s.description:
            parts.append(f"<p>{html.escape(s.description)}</p>")
        parts.append(
            f"<p class='note'>{s.seconds:.1f} s"
            + (" · " + "; ".join(map(html.escape, s.notes)) if s.notes else "")
            + "</p>"
        )
        if s.error:
            parts.append(f"<pre class='error'>{html.escape(s.error)}</pre>")
        parts.append("<div class='items'>" + "".join(_render_item(i) for i in s.items) + "</div></section>")
    parts.append("</body></html>")
    return "\n".join(parts)
