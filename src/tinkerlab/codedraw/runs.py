"""Run directories of Vision Check-up: one drawing with its rounds, a dataset of drawings, recognition, a report.

Everything is written as it is made and runs resume: a dataset item whose record exists is not drawn again, and a
recognition item already answered is not asked again. `overwrite=True` moves an earlier run aside.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tinkerlab.codedraw.concepts import resolve_concepts
from tinkerlab.codedraw.render import LANGUAGES, check_language
from tinkerlab.core.errors import InputError
from tinkerlab.core.runs import RunDir, atomic_write_text

SYSTEM = "codedraw"
EXTENSIONS = {"matplotlib": "py", "turtle": "py", "svg": "svg", "tikz": "tex"}


@dataclass
class DrawConfig:
    """One concept drawn in one language, with `rounds - 1` rounds of text-only improvement."""

    concept: str
    language: str = "matplotlib"
    model: str = "local"
    base_url: str | None = None
    rounds: int = 3
    feedback: str = "text"
    skeleton: bool = False
    show_errors: bool = False
    temperature: float = 0.0
    max_tokens: int = 600
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        check_language(self.language)
        if not isinstance(self.rounds, int) or not 1 <= self.rounds <= 50:
            raise InputError(f"rounds must be a whole number from 1 to 50, got {self.rounds!r}")
        if not self.concept.strip():
            raise InputError("the concept is empty; expected what to draw, e.g. 'a red car'")


def _plain(config: Any) -> dict[str, Any]:
    """A config as the JSON it is recorded as (tuples become lists), so a resumed run compares equal."""
    return json.loads(json.dumps(asdict(config)))


def _model(spec: str, base_url: str | None, device: str, transcript: Path | None = None) -> Any:
    from tinkerlab.llm import load_chat_model

    return load_chat_model(spec, base_url=base_url, device=device, transcript=transcript)


def save_drawing(drawing: Any, folder: Path) -> list[Path]:
    """Write each round's program and render (round_0.py, round_0.png, ...), drawing.json and rounds.png."""
    from tinkerlab.core.images import image_grid, save_image

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for entry in drawing.rounds:
        code_path = folder / f"round_{entry.round}.{EXTENSIONS[drawing.language]}"
        atomic_write_text(code_path, entry.code if entry.code is not None else entry.reply)
        written.append(code_path)
        if entry.image is not None:
            entry.image.save(folder / f"round_{entry.round}.png")
    atomic_write_text(folder / "drawing.json", json.dumps(drawing.record(), indent=1))
    strip = [_tile(entry) for entry in drawing.rounds]
    save_image(image_grid(strip, columns=len(strip)), folder / "rounds.png")
    written.append(folder / "rounds.png")
    return written


def _tile(entry: Any) -> Any:
    """A round's render, or a grey tile naming its failure."""
    import numpy as np
    from PIL import Image, ImageDraw

    if entry.image is not None and entry.status in ("ok", "blank"):
        image = entry.image.convert("RGB").resize((192, 192))
    else:
        image = Image.new("RGB", (192, 192), (225, 225, 225))
    canvas = ImageDraw.Draw(image)
    canvas.text((6, 4), f"round {entry.round}: {entry.status}", fill=(160, 0, 0) if entry.status != "ok" else (0, 0, 0))
    return np.asarray(image, dtype=np.float32) / 255.0


def draw_run(
    config: DrawConfig, out: str | Path, *, overwrite: bool = False, device: str = "cpu"
) -> tuple[Any, RunDir]:
    """Draw and improve one concept into a run directory; a finished run with the same config is reloaded."""
    from tinkerlab.codedraw.draw import draw, prompt_digest
    from tinkerlab.codedraw.render import Renderer

    run = RunDir.open(
        out, system=SYSTEM, config=_plain(config), provenance={"prompts": prompt_digest()}, overwrite=overwrite
    )
    finished = run.outputs / "drawing.json"
    if run.resumed and finished.is_file():
        return json.loads(finished.read_text(encoding="utf-8")), run
    model = _model(config.model, config.base_url, device, run.transcript_path)
    with Renderer(timeout_s=config.timeout_s) as renderer:
        drawing = draw(
            config.concept,
            config.language,
            model,
            renderer,
            rounds=config.rounds,
            feedback=config.feedback,
            skeleton_prompt=config.skeleton,
            show_errors=config.show_errors,
            temperature=config.temperature,
            max_tokens=config.max_tokens,
        )
    save_drawing(drawing, run.outputs)
    run.save_state({"done": True})
    return drawing.record(), run


def improve_run(
    folder: str | Path, rounds: int, *, model: str | None = None, base_url: str | None = None, device: str = "cpu"
) -> dict[str, Any]:
    """Add `rounds` text-feedback rounds to a drawing made by `draw_run` (its own model unless `model` is given)."""
    from tinkerlab.codedraw.draw import Drawing, draw
    from tinkerlab.codedraw.render import Renderer

    run, config = RunDir.load(folder, system=SYSTEM, hint="make one with `tinkerlab codedraw draw`")
    record_path = run.outputs / "drawing.json"
    if "concept" not in config or not record_path.is_file():
        raise InputError(f"{folder} holds no finished drawing; make one with `tinkerlab codedraw draw`")
    if not isinstance(rounds, int) or rounds < 1:
        raise InputError(f"rounds must be a whole number of at least 1, got {rounds!r}")
    previous = Drawing.from_record(json.loads(record_path.read_text(encoding="utf-8")), run.outputs)
    chat = _model(model or config["model"], base_url or config.get("base_url"), device, run.transcript_path)
    with Renderer(timeout_s=config.get("timeout_s", 10.0)) as renderer:
        drawing = draw(
            config["concept"],
            config["language"],
            chat,
            renderer,
            rounds=rounds,
            feedback=config.get("feedback", "text"),
            show_errors=config.get("show_errors", False),
            temperature=config.get("temperature", 0.0),
            max_tokens=config.get("max_tokens", 600),
            previous=previous,
        )
    save_drawing(drawing, run.outputs)
    run.log(f"added {rounds} improvement rounds")
    return drawing.record()


# --- datasets ------------------------------------------------------------------------------------------------------


@dataclass
class DatasetConfig:
    """Drawings of every concept of the chosen levels, in the chosen languages, `samples` each."""

    concepts: str = "all"
    languages: tuple[str, ...] = ("matplotlib",)
    model: str = "local"
    base_url: str | None = None
    samples: int = 1
    rounds: int = 1
    skeleton: bool = False
    temperature: float = 0.0
    max_tokens: int = 600
    limit: int | None = None
    seed: int = 0
    timeout_s: float = 10.0
    concept_lists: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.languages = tuple(check_language(language) for language in self.languages)
        if not self.languages:
            raise InputError(f"no drawing language given; expected some of: {', '.join(LANGUAGES)}")
        if not isinstance(self.samples, int) or self.samples < 1:
            raise InputError(f"samples must be a whole number of at least 1, got {self.samples!r}")
        if self.samples > 1 and self.temperature == 0:
            raise InputError("several samples per concept need --temperature above 0 (at 0 they are all the same)")
        if not self.concept_lists:
            self.concept_lists = resolve_concepts(self.concepts)


def dataset_items(config: DatasetConfig) -> list[dict[str, Any]]:
    """The jobs of a dataset: one per (level, concept, language, sample), with a stable id."""
    items = []
    for level, concepts in config.concept_lists.items():
        chosen = concepts[: config.limit] if config.limit else concepts
        for index, concept in enumerate(chosen):
            for language in config.languages:
                for sample in range(config.samples):
                    items.append(
                        {
                            "id": f"{level}-{index:03d}-{language}-{sample}",
                            "level": level,
                            "concept": concept,
                            "language": language,
                            "sample": sample,
                        }
                    )
    return items


_WORKER_STATE: dict[str, Any] = {}


def _dataset_job(job: dict[str, Any]) -> dict[str, Any]:
    """Draw one dataset item (module level, so a process pool can run it); the model and renderer stay warm."""
    from tinkerlab.codedraw.draw import draw
    from tinkerlab.codedraw.render import Renderer
    from tinkerlab.core.seeding import seed_everything

    config = job["config"]
    key = json.dumps([config["model"], config["base_url"], job["device"]])
    if _WORKER_STATE.get("key") != key:
        _WORKER_STATE.update(
            key=key,
            model=_model(config["model"], config["base_url"], job["device"]),
            renderer=Renderer(timeout_s=config["timeout_s"]),
        )
    item = job["item"]
    seed_everything(config["seed"] * 100_003 + sum(item["id"].encode()) + 7919 * item["sample"])
    drawing = draw(
        item["concept"],
        item["language"],
        _WORKER_STATE["model"],
        _WORKER_STATE["renderer"],
        rounds=config["rounds"],
        skeleton_prompt=config["skeleton"],
        temperature=config["temperature"],
        max_tokens=config["max_tokens"],
    )
    folder = Path(job["folder"])
    save_drawing(drawing, folder)
    record = {**item, "status": drawing.final.status, "rounds": len(drawing.rounds)}
    atomic_write_text(folder / "item.json", json.dumps(record, indent=1))
    return record


def dataset_run(
    config: DatasetConfig,
    out: str | Path,
    *,
    overwrite: bool = False,
    device: str = "cpu",
    executor: str = "local",
    workers: int | None = 1,
    progress: bool = True,
) -> tuple[list[dict[str, Any]], RunDir]:
    """Draw every item not yet drawn (through `core.jobs`: a local pool or Ray) and return all item records."""
    from tinkerlab.codedraw.draw import prompt_digest
    from tinkerlab.core.jobs import map_jobs

    run = RunDir.open(
        out,
        system=SYSTEM,
        config=_plain(config),
        provenance={"prompts": prompt_digest()},
        overwrite=overwrite,
        ignore_keys=("limit",),
    )
    items = dataset_items(config)
    pending = []
    for item in items:
        folder = run.outputs / "items" / item["id"]
        if not (folder / "item.json").is_file():
            pending.append({"item": item, "config": asdict(config), "device": device, "folder": str(folder)})
    if pending:
        run.log(f"drawing {len(pending)} of {len(items)} items")
        label = "drawing" if progress else False
        for result in map_jobs(_dataset_job, pending, executor=executor, workers=workers, progress=label):
            if not result.ok:
                run.log(f"item failed to run: {result.error}")
    records = list(read_items(run.path))
    run.save_state({"items": len(items), "drawn": len(records)})
    return records, run


def read_items(folder: str | Path) -> Iterator[dict[str, Any]]:
    """The item records of a dataset run (each with its folder under `path`)."""
    root = Path(folder) / "outputs" / "items"
    if not root.is_dir():
        raise InputError(f"{folder} holds no codedraw dataset (no outputs/items); make one with `codedraw dataset`")
    for item_file in sorted(root.glob("*/item.json")):
        record = json.loads(item_file.read_text(encoding="utf-8"))
        record["path"] = str(item_file.parent)
        yield record


def final_render(record: dict[str, Any]) -> Any:
    """The final round's render of a dataset item (a PIL image), or None when it failed."""
    from PIL import Image

    path = Path(record["path"]) / f"round_{record['rounds'] - 1}.png"
    if record["status"] != "ok" or not path.is_file():
        return None
    with Image.open(path) as image:
        return image.convert("RGB")


def final_code(record: dict[str, Any]) -> str:
    path = Path(record["path"]) / f"round_{record['rounds'] - 1}.{EXTENSIONS[record['language']]}"
    return path.read_text(encoding="utf-8")


# --- recognition from code -----------------------------------------------------------------------------------------


def clipart_items(limit: int, max_chars: int, seed: int = 0) -> list[dict[str, Any]]:
    """Human-made code drawings: openclipart SVG files whose name gives a concept of the clip-art concept list,
    reduced to their drawing (metadata, comments and long decimals removed) and kept when at most `max_chars`."""
    import random

    from tinkerlab.core.assets import openclipart_svgs
    from tinkerlab.vision.clipart import CLIPART_CONCEPTS, clipart_concept

    files = [path for path in openclipart_svgs() if path.stat().st_size < 400_000]
    random.Random(seed).shuffle(files)
    per_concept: dict[str, int] = {}
    items = []
    for path in files:
        concept = clipart_concept(path, CLIPART_CONCEPTS)
        if concept is None or per_concept.get(concept, 0) >= max(1, limit // len(CLIPART_CONCEPTS) + 1):
            continue
        code = simplify_svg(path.read_text(encoding="utf-8", errors="replace"))
        if code is None or len(code) > max_chars or not draws_vectors(code):
            continue
        per_concept[concept] = per_concept.get(concept, 0) + 1
        items.append({"concept": concept, "language": "svg", "code": code, "source": f"openclipart:{path.name}"})
        if len(items) >= limit:
            break
    return items


def simplify_svg(text: str) -> str | None:
    """An SVG with what does not draw removed (metadata, comments, editor namespaces), identifiers renamed to
    neutral ones (they often name the drawing) and numbers rounded to one decimal; None when it does not parse.

    >>> simplify_svg('<svg xmlns="http://www.w3.org/2000/svg"><!-- x --><metadata>m</metadata>'
    ...              '<circle cx="10.123456" cy="5" r="2"/></svg>')
    '<svg xmlns="http://www.w3.org/2000/svg"><circle cx="10.1" cy="5" r="2" /></svg>'
    """
    import re
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(text.encode("utf-8"))
    except ET.ParseError:
        return None
    svg_ns = "{http://www.w3.org/2000/svg}"
    keep_ns = (svg_ns, "{http://www.w3.org/1999/xlink}")

    def local(tag: Any) -> str | None:
        """An element's SVG name ('path'), or None for another vocabulary (editor data, RDF)."""
        if not isinstance(tag, str):
            return None
        if tag.startswith(svg_ns):
            return tag[len(svg_ns) :]
        return None if tag.startswith("{") else tag  # a file without the SVG namespace

    def clean(element: Any) -> None:
        for child in list(element):
            name = local(child.tag)
            if name is None or name in ("metadata", "title", "desc"):
                element.remove(child)
                continue
            clean(child)
        for name in list(element.attrib):
            if name.startswith("{") and not name.startswith(keep_ns):
                del element.attrib[name]

    clean(root)
    # Identifiers often name the drawing ('Apple', 'CameraIcon'): renamed to neutral ones, references followed.
    renamed = {}
    for element in root.iter():
        if "id" in element.attrib:
            renamed[element.attrib["id"]] = f"i{len(renamed) + 1}"
    reference = re.compile(r"#([^\s()\"';,]+)")
    for element in root.iter():
        for name, value in list(element.attrib.items()):
            if name == "id":
                element.attrib[name] = renamed[value]
            elif "#" in value:
                element.attrib[name] = reference.sub(lambda m: "#" + renamed.get(m.group(1), m.group(1)), value)
    ET.register_namespace("", "http://www.w3.org/2000/svg")
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    result = ET.tostring(root, encoding="unicode")
    return re.sub(r"(\d+\.\d)\d+", r"\1", result)


_SHAPES = ("<path", "<rect", "<circle", "<ellipse", "<line", "<polyline", "<polygon")


def draws_vectors(svg: str) -> bool:
    """Whether an SVG draws with vector shapes and embeds no raster picture (a code drawing, not a photo)."""
    return "<image" not in svg and any(shape in svg for shape in _SHAPES)


@dataclass
class RecognizeConfig:
    """Recognition from code of a dataset's programs (`source` a dataset run) or of openclipart SVG code."""

    source: str = "openclipart"
    model: str = "local"
    base_url: str | None = None
    choices: int = 0
    limit: int = 40
    max_chars: int = 3000
    seed: int = 0


def recognize_run(
    config: RecognizeConfig, out: str | Path, *, overwrite: bool = False, device: str = "cpu", progress: bool = True
) -> tuple[dict[str, Any], RunDir]:
    """Ask the model what each program draws; answers are appended to recognition.jsonl as they come (resumable).

    Returns the summary (accuracy, count, chance) and the run.
    """
    from tinkerlab.codedraw.draw import prompt_digest, recognize
    from tinkerlab.core.progress import track

    run = RunDir.open(
        out, system=SYSTEM, config=_plain(config), provenance={"prompts": prompt_digest()}, overwrite=overwrite
    )
    if config.source == "openclipart":
        from tinkerlab.vision.clipart import CLIPART_CONCEPTS

        items = clipart_items(config.limit, config.max_chars, config.seed)
        pool: Sequence[str] = CLIPART_CONCEPTS
    else:
        records = [r for r in read_items(config.source) if r["status"] == "ok"][: config.limit]
        items = [
            {"concept": r["concept"], "language": r["language"], "code": final_code(r), "source": r["id"]}
            for r in records
        ]
        pool = sorted({r["concept"] for r in records})
    if not items:
        raise InputError(f"no programs to recognise in {config.source}; expected drawn items or openclipart files")
    answers_path = run.outputs / "recognition.jsonl"
    done = {}
    if answers_path.is_file():
        for line in answers_path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                entry = json.loads(line)
                done[entry["source"]] = entry
    todo = [item for item in items if item["source"] not in done]
    model = _model(config.model, config.base_url, device, run.transcript_path) if todo else None
    with answers_path.open("a", encoding="utf-8") as sink:
        for item in track(todo, "recognising") if progress else todo:
            result = recognize(
                item["code"],
                item["language"],
                item["concept"],
                model,
                distractors=pool,
                choices=config.choices,
                seed=config.seed,
                source=item["source"],
            )
            entry = result.record()
            done[item["source"]] = entry
            sink.write(json.dumps(entry) + "\n")
            sink.flush()
    entries = [done[item["source"]] for item in items]
    summary = {
        "source": config.source,
        "model": config.model,
        "mode": f"choice of {config.choices}" if config.choices else "open-ended",
        "count": len(entries),
        "accuracy": sum(e["correct"] for e in entries) / len(entries),
        "chance": (1.0 / config.choices) if config.choices else None,
        "answered": sum(e["picked"] is not None for e in entries) if config.choices else None,
    }
    if config.choices:
        # A model that always picks one position scores the share of items whose answer sits there: the baseline
        # a choice accuracy must beat on these very items.
        positions = [e["options"].index(e["concept"]) for e in entries]
        picks = [e["picked"] for e in entries if e["picked"] is not None]
        summary["picked_positions"] = {chr(65 + i): picks.count(i) for i in range(config.choices)}
        summary["best_fixed_position_baseline"] = max(positions.count(i) for i in range(config.choices)) / len(entries)
    atomic_write_text(run.outputs / "summary.json", json.dumps(summary, indent=1))
    return summary, run


# --- self-supervised learning on the renders -----------------------------------------------------------------------


@dataclass
class PretrainConfig:
    """One SSL pretraining: `count` images of `source`, trained with `ssl` (an SSLConfig as a dict)."""

    source: str = "procedural"
    count: int = 512
    ssl: dict[str, Any] = field(default_factory=dict)


def pretraining_images(source: str, count: int, size: int, seed: int = 0) -> Any:
    """`count` pretraining images: 'procedural', 'openclipart' or 'renders:RUN' (a dataset run's ok renders,
    repeated in order when there are fewer)."""
    import numpy as np

    from tinkerlab.codedraw import ssl

    if source == "procedural":
        return ssl.procedural_images(count, size, seed)
    if source == "openclipart":
        return ssl.clipart_images(count, size, seed=seed)[0]
    if source.startswith("renders:"):
        records = [r for r in read_items(source.split(":", 1)[1]) if r["status"] == "ok"]
        if not records:
            raise InputError(f"{source}: the dataset has no rendered drawings to train on")
        images = [np.asarray(final_render(r).resize((size, size))) for r in records]
        return np.stack([images[i % len(images)] for i in range(count)])
    raise InputError(f"unknown pretraining source {source!r}; expected procedural, openclipart or renders:RUN")


def pretrain_run(
    config: PretrainConfig, out: str | Path, *, overwrite: bool = False, device: str = "cpu", progress: bool = True
) -> tuple[list[float], RunDir]:
    """Pretrain an encoder and save it (encoder.pt) with its losses; a finished run is reused."""
    import torch

    from tinkerlab.codedraw import ssl

    settings = ssl.SSLConfig(**config.ssl)
    run = RunDir.open(out, system=SYSTEM, config=_plain(config), overwrite=overwrite)
    weights = run.outputs / "encoder.pt"
    if run.resumed and weights.is_file():
        return run.state().get("losses", []), run
    images = pretraining_images(config.source, config.count, settings.image_size, settings.seed)
    encoder, losses = ssl.train_ssl(images, settings, device=device, progress=progress)
    torch.save(encoder.state_dict(), weights)
    run.save_state({"losses": losses, "images": int(len(images))})
    return losses, run


def load_encoder(folder: str | Path) -> tuple[Any, Any]:
    """The encoder of a `pretrain_run` (and its SSLConfig)."""
    import torch

    from tinkerlab.codedraw import ssl

    run, config = RunDir.load(folder, system=SYSTEM, hint="make one with `tinkerlab codedraw train-ssl`")
    weights = run.outputs / "encoder.pt"
    if "ssl" not in config or not weights.is_file():
        raise InputError(f"{folder} holds no trained encoder; make one with `tinkerlab codedraw train-ssl`")
    settings = ssl.SSLConfig(**config["ssl"])
    encoder = ssl.build_encoder(settings.width)
    encoder.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return encoder.eval(), settings
