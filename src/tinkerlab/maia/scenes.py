"""Procedural scenes that know what they drew: the offline image generator, editor and concept detector of MAIA.

A `Scene` is data: a background and a list of `SceneObject`s (kind, colour, texture, position, size). `render`
draws it at 224 x 224 with PIL and returns the picture with one mask per object; the scene travels with the
picture as JSON in its PNG text (`image.info["scene"]`), so an image sent through the sandbox and back still says
what is in it.

`parse_prompt` reads a small prompt grammar ("two small red striped circles on the left on grass", "a house and a
tree in the sky") and says which words it could not draw; `edit_scene` applies instructions ("replace the circle
with a star", "make the car blue", "change the background to sand", "add a fish", "remove the tree").
`detect_concepts` scores every concept of `CONCEPTS` on a rendered image from its metadata: the ground truth that
synthetic neurons are built on.
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, PngImagePlugin

from tinkerlab.core.errors import InputError

SIZE = 224
SHAPES = ("circle", "square", "triangle", "star", "ring", "cross", "diamond", "hexagon")
THINGS = ("house", "tree", "sun", "car", "fish", "flower", "cup", "face")
KINDS = SHAPES + THINGS
COLOURS = {
    "red": (220, 30, 30),
    "green": (40, 170, 50),
    "blue": (30, 70, 220),
    "yellow": (245, 215, 30),
    "orange": (245, 140, 20),
    "purple": (140, 50, 180),
    "pink": (245, 130, 190),
    "white": (245, 245, 245),
    "black": (20, 20, 20),
    "brown": (130, 80, 40),
    "gray": (128, 128, 128),
    "cyan": (40, 200, 210),
}
TEXTURES = ("solid", "striped", "dotted", "checkered")
BACKGROUNDS = ("plain", "sky", "grass", "sand", "night", "brick", "water", "snow")
POSITIONS = {"left": (0.25, 0.5), "right": (0.75, 0.5), "top": (0.5, 0.25), "bottom": (0.5, 0.75), "center": (0.5, 0.5)}
SIZES = {"small": 0.16, "medium": 0.26, "large": 0.38}
COUNT_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "several": 3, "many": 4}
FILLER = {"the", "of", "on", "in", "at", "with", "and", "image", "picture", "photo", "background", "side", "scene"}
FILLER |= {"showing", "containing", "some", "is", "are", "there", "to", "by", "near", "next", "over", "under"}
SYNONYMS = {
    "grey": "gray",
    "striped": "striped",
    "stripes": "striped",
    "dots": "dotted",
    "spotted": "dotted",
    "checker": "checkered",
    "checkerboard": "checkered",
    "ocean": "water",
    "sea": "water",
    "beach": "sand",
    "desert": "sand",
    "lawn": "grass",
    "field": "grass",
    "space": "night",
    "dark": "night",
    "wall": "brick",
    "middle": "center",
    "centre": "center",
    "big": "large",
    "tiny": "small",
    "box": "square",
    "ball": "circle",
    "dot": "circle",
    "mug": "cup",
    "building": "house",
    "plant": "flower",
    "automobile": "car",
    "vehicle": "car",
    "donut": "ring",
    "plus": "cross",
}


@dataclass(frozen=True)
class SceneObject:
    """One drawn object: its kind, colour, texture, centre (x, y in [0, 1]) and size (a fraction of the side)."""

    kind: str
    colour: str = "red"
    texture: str = "solid"
    x: float = 0.5
    y: float = 0.5
    size: float = 0.26

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"object kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.colour not in COLOURS:
            raise InputError(f"colour must be one of {', '.join(COLOURS)}, got {self.colour!r}")
        if self.texture not in TEXTURES:
            raise InputError(f"texture must be one of {', '.join(TEXTURES)}, got {self.texture!r}")


@dataclass(frozen=True)
class Scene:
    """A background and the objects drawn on it, back to front."""

    background: str = "plain"
    objects: tuple[SceneObject, ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        if self.background not in BACKGROUNDS:
            raise InputError(f"background must be one of {', '.join(BACKGROUNDS)}, got {self.background!r}")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Scene:
        data = json.loads(text)
        return cls(data["background"], tuple(SceneObject(**o) for o in data["objects"]), int(data.get("seed", 0)))

    def describe(self) -> str:
        """A plain sentence saying what the scene holds (used as the describer's metadata)."""
        if not self.objects:
            return f"an empty {self.background} background"
        parts = []
        for o in self.objects:
            texture = "" if o.texture == "solid" else f"{o.texture} "
            parts.append(f"a {_size_word(o.size)} {o.colour} {texture}{o.kind} at the {_position_word(o)}")
        return ", ".join(parts) + f" on a {self.background} background"


def _size_word(size: float) -> str:
    return min(SIZES, key=lambda k: abs(SIZES[k] - size))


def _position_word(o: SceneObject) -> str:
    return min(POSITIONS, key=lambda k: (POSITIONS[k][0] - o.x) ** 2 + (POSITIONS[k][1] - o.y) ** 2)


# -- drawing ---------------------------------------------------------------------------------------------------


def _background(name: str, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / SIZE
    noise = rng.normal(0, 1, (SIZE, SIZE)).astype(np.float32)
    if name == "plain":
        img = np.full((SIZE, SIZE, 3), 235.0)
    elif name == "sky":
        img = np.stack([110 + 80 * yy, 160 + 60 * yy, 235 + 0 * yy], -1)
    elif name == "grass":
        img = np.stack([60 + 15 * noise, 150 + 30 * noise, 50 + 10 * noise], -1)
    elif name == "sand":
        img = np.stack([225 + 10 * noise, 195 + 10 * noise, 140 + 10 * noise], -1)
    elif name == "night":
        img = np.stack([15 + 10 * yy, 15 + 10 * yy, 45 + 20 * yy], -1)
        stars = rng.random((SIZE, SIZE)) > 0.996
        img[stars] = 250
    elif name == "brick":
        row = (yy * SIZE // 16).astype(int)
        offset = (row % 2) * 16
        mortar = ((yy * SIZE) % 16 < 2) | (((xx * SIZE + offset) % 32) < 2)
        img = np.stack([170 + 10 * noise, 70 + 8 * noise, 50 + 5 * noise], -1)
        img[mortar] = (210, 205, 195)
    elif name == "water":
        wave = np.sin(xx * 25 + np.sin(yy * 9) * 2 + yy * 40)
        img = np.stack([30 + 20 * wave, 100 + 30 * wave, 190 + 25 * wave], -1)
    else:  # snow
        img = np.stack([240 + 6 * noise, 244 + 6 * noise, 250 + 4 * noise], -1)
    return np.clip(img, 0, 255).astype(np.float32)


def _polygon(cx: float, cy: float, r: float, sides: int, rotation: float = -math.pi / 2) -> list[tuple[float, float]]:
    return [
        (cx + r * math.cos(rotation + 2 * math.pi * i / sides), cy + r * math.sin(rotation + 2 * math.pi * i / sides))
        for i in range(sides)
    ]


def _star(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    points = []
    for i in range(10):
        radius = r if i % 2 == 0 else r * 0.45
        angle = -math.pi / 2 + math.pi * i / 5
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return points


def _draw_kind(draw: ImageDraw.ImageDraw, o: SceneObject, fill: int, parts: dict[str, ImageDraw.ImageDraw]) -> None:
    """Draw the object's silhouette into `draw` (the main mask); `parts` receives fixed-colour details."""
    cx, cy, r = o.x * SIZE, o.y * SIZE, o.size * SIZE / 2
    box = [cx - r, cy - r, cx + r, cy + r]
    k = o.kind
    if k == "circle":
        draw.ellipse(box, fill=fill)
    elif k == "square":
        draw.rectangle([cx - r * 0.85, cy - r * 0.85, cx + r * 0.85, cy + r * 0.85], fill=fill)
    elif k == "triangle":
        draw.polygon(_polygon(cx, cy + r * 0.2, r * 1.1, 3), fill=fill)
    elif k == "star":
        draw.polygon(_star(cx, cy, r * 1.1), fill=fill)
    elif k == "ring":
        draw.ellipse(box, fill=fill)
        draw.ellipse([cx - r * 0.55, cy - r * 0.55, cx + r * 0.55, cy + r * 0.55], fill=0)
    elif k == "cross":
        w = r * 0.33
        draw.rectangle([cx - w, cy - r, cx + w, cy + r], fill=fill)
        draw.rectangle([cx - r, cy - w, cx + r, cy + w], fill=fill)
    elif k == "diamond":
        draw.polygon(_polygon(cx, cy, r, 4), fill=fill)
    elif k == "hexagon":
        draw.polygon(_polygon(cx, cy, r, 6, 0.0), fill=fill)
    elif k == "house":
        draw.rectangle([cx - r * 0.75, cy - r * 0.1, cx + r * 0.75, cy + r], fill=fill)
        draw.polygon([(cx - r, cy - r * 0.1), (cx + r, cy - r * 0.1), (cx, cy - r)], fill=fill)
        parts["black"].rectangle([cx - r * 0.18, cy + r * 0.45, cx + r * 0.18, cy + r], fill=255)
    elif k == "tree":
        draw.ellipse([cx - r * 0.8, cy - r, cx + r * 0.8, cy + r * 0.35], fill=fill)
        parts["brown"].rectangle([cx - r * 0.15, cy + r * 0.3, cx + r * 0.15, cy + r], fill=255)
    elif k == "sun":
        draw.ellipse([cx - r * 0.55, cy - r * 0.55, cx + r * 0.55, cy + r * 0.55], fill=fill)
        for i in range(8):
            a = 2 * math.pi * i / 8
            draw.line(
                [
                    (cx + 0.7 * r * math.cos(a), cy + 0.7 * r * math.sin(a)),
                    (cx + r * math.cos(a), cy + r * math.sin(a)),
                ],
                fill=fill,
                width=max(2, int(r / 7)),
            )
    elif k == "car":
        draw.rectangle([cx - r, cy - r * 0.2, cx + r, cy + r * 0.35], fill=fill)
        draw.rectangle([cx - r * 0.5, cy - r * 0.6, cx + r * 0.45, cy - r * 0.2], fill=fill)
        for wx in (-0.55, 0.55):
            parts["black"].ellipse(
                [cx + wx * r - r * 0.25, cy + r * 0.15, cx + wx * r + r * 0.25, cy + r * 0.65], fill=255
            )
    elif k == "fish":
        draw.ellipse([cx - r * 0.8, cy - r * 0.45, cx + r * 0.5, cy + r * 0.45], fill=fill)
        draw.polygon([(cx + r * 0.4, cy), (cx + r, cy - r * 0.45), (cx + r, cy + r * 0.45)], fill=fill)
        parts["black"].ellipse([cx - r * 0.55, cy - r * 0.15, cx - r * 0.4, cy], fill=255)
    elif k == "flower":
        for i in range(6):
            a = 2 * math.pi * i / 6
            px, py = cx + r * 0.55 * math.cos(a), cy - r * 0.2 + r * 0.55 * math.sin(a)
            draw.ellipse([px - r * 0.35, py - r * 0.35, px + r * 0.35, py + r * 0.35], fill=fill)
        parts["yellow"].ellipse([cx - r * 0.25, cy - r * 0.45, cx + r * 0.25, cy + r * 0.05], fill=255)
        parts["green"].rectangle([cx - r * 0.06, cy + r * 0.3, cx + r * 0.06, cy + r], fill=255)
    elif k == "cup":
        draw.polygon(
            [
                (cx - r * 0.6, cy - r * 0.6),
                (cx + r * 0.45, cy - r * 0.6),
                (cx + r * 0.35, cy + r * 0.7),
                (cx - r * 0.5, cy + r * 0.7),
            ],
            fill=fill,
        )
        draw.ellipse([cx + r * 0.2, cy - r * 0.35, cx + r * 0.9, cy + r * 0.35], outline=fill, width=max(2, int(r / 5)))
    elif k == "face":
        draw.ellipse(box, fill=fill)
        for ex in (-0.35, 0.35):
            parts["black"].ellipse(
                [cx + ex * r - r * 0.1, cy - r * 0.35, cx + ex * r + r * 0.1, cy - r * 0.15], fill=255
            )
        parts["black"].arc(
            [cx - r * 0.5, cy - r * 0.2, cx + r * 0.5, cy + r * 0.55], 20, 160, fill=255, width=max(2, int(r / 8))
        )


def _texture(texture: str, colour: np.ndarray) -> np.ndarray:
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    img = np.broadcast_to(colour, (SIZE, SIZE, 3)).astype(np.float32).copy()
    contrast = np.where(colour.mean() > 128, 0.45, 1.9)
    if texture == "striped":
        pattern = ((xx + yy) // 6) % 2 == 0
    elif texture == "dotted":
        pattern = ((xx % 12 - 6) ** 2 + (yy % 12 - 6) ** 2) < 8
    elif texture == "checkered":
        pattern = ((xx // 10) + (yy // 10)) % 2 == 0
    else:
        return img
    img[pattern] = np.clip(img[pattern] * contrast + (40 if contrast > 1 else 0), 0, 255)
    return img


def render(scene: Scene) -> tuple[Image.Image, list[np.ndarray]]:
    """Draw `scene`; return the picture (with `info["scene"]` set) and one bool mask (H, W) per object.

    A later object hides earlier ones where they overlap (their masks lose those pixels).

    Example:
        >>> image, masks = render(Scene("grass", (SceneObject("star", "yellow"),)))
        >>> image.size, len(masks), bool(masks[0][112, 112])
        ((224, 224), 1, True)
    """
    rng = np.random.default_rng(scene.seed)
    canvas = _background(scene.background, rng)
    masks: list[np.ndarray] = []
    for o in scene.objects:
        silhouette = Image.new("L", (SIZE, SIZE), 0)
        details = {c: Image.new("L", (SIZE, SIZE), 0) for c in ("black", "brown", "yellow", "green")}
        _draw_kind(ImageDraw.Draw(silhouette), o, 255, {c: ImageDraw.Draw(m) for c, m in details.items()})
        body = np.asarray(silhouette) > 127
        fill = _texture(o.texture, np.array(COLOURS[o.colour], np.float32))
        canvas[body] = fill[body]
        mask = body.copy()
        for colour, layer in details.items():
            part = np.asarray(layer) > 127
            canvas[part] = COLOURS[colour]
            mask |= part
        for earlier in masks:
            earlier &= ~mask
        masks.append(mask)
    image = Image.fromarray(canvas.clip(0, 255).astype(np.uint8))
    image.info["scene"] = scene.to_json()
    return image, masks


def scene_of(image: Image.Image) -> Scene | None:
    """The scene an image was rendered from, when it carries one (a procedural image), else None."""
    text = getattr(image, "info", {}).get("scene")
    if not text:
        return None
    try:
        return Scene.from_json(text)
    except (ValueError, KeyError, TypeError, InputError):
        return None


def png_info(image: Image.Image) -> PngImagePlugin.PngInfo | None:
    """PNG text that keeps the scene of `image` when it is saved (`image.save(path, pnginfo=...)`)."""
    if "scene" not in getattr(image, "info", {}):
        return None
    info = PngImagePlugin.PngInfo()
    info.add_text("scene", image.info["scene"])
    return info


def render_image(scene: Scene) -> Image.Image:
    return render(scene)[0]


@functools.lru_cache(maxsize=512)
def _masks_of(scene_json: str) -> tuple[np.ndarray, ...]:
    masks = render(Scene.from_json(scene_json))[1]
    for mask in masks:
        mask.flags.writeable = False
    return tuple(masks)


def object_masks(scene: Scene) -> list[np.ndarray]:
    """The object masks `render(scene)` gives (read-only arrays), remembered for the last 512 scenes: the
    detector and the describer ask for the masks of the same images many times."""
    return list(_masks_of(scene.to_json()))


# -- random scenes -----------------------------------------------------------------------------------------------


def random_scene(rng: np.random.Generator, *, max_objects: int = 3) -> Scene:
    """A scene with a random background and 1..max_objects objects of random kind, colour, texture, place, size."""
    count = int(rng.integers(1, max_objects + 1))
    objects = []
    for _ in range(count):
        objects.append(
            SceneObject(
                kind=str(rng.choice(KINDS)),
                colour=str(rng.choice(list(COLOURS))),
                texture=str(rng.choice(TEXTURES, p=[0.55, 0.15, 0.15, 0.15])),
                x=float(rng.uniform(0.2, 0.8)),
                y=float(rng.uniform(0.2, 0.8)),
                size=float(rng.uniform(0.14, 0.42)),
            )
        )
    return Scene(str(rng.choice(BACKGROUNDS)), tuple(objects), int(rng.integers(0, 2**31)))


# -- the prompt grammar -------------------------------------------------------------------------------------------


@dataclass
class ParsedPrompt:
    """What `parse_prompt` understood: the scene, and the words it could not draw."""

    scene: Scene
    skipped: list[str] = field(default_factory=list)


def _words(text: str) -> list[str]:
    return [SYNONYMS.get(w, w) for w in re.findall(r"[a-z]+", text.lower())]


def _singular(word: str) -> str:
    if word.endswith("es") and word[:-2] in KINDS:
        return word[:-2]
    if word.endswith("s") and word[:-1] in KINDS:
        return word[:-1]
    return word


def parse_prompt(prompt: str, *, seed: int = 0) -> ParsedPrompt:
    """Turn a prompt of the grammar into a scene.

    Grammar: phrases ``[COUNT] [SIZE] [COLOUR] [TEXTURE] KIND [on the POSITION]`` joined by "and"/",", plus an
    optional BACKGROUND anywhere (``on grass``, ``in the sky``). Words outside the vocabulary are skipped and listed.

    Example:
        >>> parsed = parse_prompt("two small blue striped circles on the left on grass, and a zebra")
        >>> [(o.kind, o.colour, o.texture) for o in parsed.scene.objects]
        [('circle', 'blue', 'striped'), ('circle', 'blue', 'striped')]
        >>> parsed.scene.background, parsed.skipped
        ('grass', ['zebra'])
    """
    if not isinstance(prompt, str) or not prompt.strip():
        raise InputError(f"a prompt must be a non-empty string, got {prompt!r}")
    rng = np.random.default_rng(seed)
    background = "plain"
    skipped: list[str] = []
    groups: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    for raw in _words(prompt):
        word = _singular(raw)
        if word in COUNT_WORDS:
            current["count"] = COUNT_WORDS[word]
        elif word in SIZES:
            current["size"] = SIZES[word]
        elif word in COLOURS:
            current["colour"] = word
        elif word in TEXTURES:
            current["texture"] = word
        elif word in POSITIONS:
            (groups[-1] if groups and "kind" not in current else current).setdefault("position", word)
        elif word in BACKGROUNDS:
            background = word
        elif word in KINDS:
            current["kind"] = word
            groups.append(current)
            current = {}
        elif word not in FILLER:
            skipped.append(raw)
    if current and "kind" not in current and groups:
        for key, value in current.items():
            groups[-1].setdefault(key, value)
    objects: list[SceneObject] = []
    for group in groups:
        count = group.get("count", 1)
        for index in range(count):
            if "position" in group and count == 1:
                x, y = POSITIONS[group["position"]]
            elif "position" in group:
                bx, by = POSITIONS[group["position"]]
                x, y = bx + rng.uniform(-0.12, 0.12), by + (index - (count - 1) / 2) * 0.18
            else:
                x, y = rng.uniform(0.25, 0.75), rng.uniform(0.25, 0.75)
            size = group.get("size", SIZES["medium"] if count == 1 else SIZES["small"])
            objects.append(
                SceneObject(
                    group["kind"],
                    group.get("colour", str(rng.choice(list(COLOURS)))),
                    group.get("texture", "solid"),
                    float(np.clip(x, 0.12, 0.88)),
                    float(np.clip(y, 0.12, 0.88)),
                    float(size),
                )
            )
    return ParsedPrompt(Scene(background, tuple(objects), seed), skipped)


def edit_scene(scene: Scene, instruction: str) -> ParsedPrompt:
    """Apply one instruction to a scene.

    Forms: "replace [the] KIND with [a] [COLOUR] KIND", "make the KIND COLOUR|TEXTURE|SIZE", "move the KIND to the
    POSITION", "change the background to BACKGROUND", "add [a] ... KIND", "remove the KIND". Anything else leaves
    the scene as it was and lists the instruction's words as skipped.

    Example:
        >>> scene = parse_prompt("a red circle on grass").scene
        >>> edited = edit_scene(scene, "replace the circle with a blue star").scene
        >>> [(o.kind, o.colour) for o in edited.objects]
        [('star', 'blue')]
    """
    words = [_singular(w) for w in _words(instruction)]
    kinds = [w for w in words if w in KINDS]
    objects = list(scene.objects)

    def targets(kind: str | None) -> list[int]:
        return [i for i, o in enumerate(objects) if kind is None or o.kind == kind]

    if words[:1] == ["replace"] and "with" in words and kinds:
        before, after = words[: words.index("with")], words[words.index("with") + 1 :]
        old = next((w for w in before if w in KINDS), None)
        new = parse_prompt(" ".join(after), seed=scene.seed).scene
        hits = targets(old)
        if not hits or not new.objects:
            return ParsedPrompt(scene, [w for w in words if w not in FILLER])
        template = new.objects[0]
        colour = template.colour if any(w in COLOURS for w in after) else objects[hits[0]].colour
        for i in hits:
            objects[i] = replace(objects[i], kind=template.kind, colour=colour, texture=template.texture)
        return ParsedPrompt(replace(scene, objects=tuple(objects)))
    if words[:1] == ["remove"] and kinds:
        return ParsedPrompt(replace(scene, objects=tuple(o for o in objects if o.kind != kinds[0])))
    if words[:1] == ["add"]:
        added = parse_prompt(" ".join(words[1:]), seed=scene.seed + 1)
        return ParsedPrompt(replace(scene, objects=tuple(objects) + added.scene.objects), added.skipped)
    if "background" in words:
        new_bg = next((w for w in words if w in BACKGROUNDS), None)
        if new_bg:
            return ParsedPrompt(replace(scene, background=new_bg))
    if words[:1] in (["make"], ["move"], ["turn"], ["color"], ["colour"]):
        hits = targets(kinds[0] if kinds else None)
        changed = False
        for i in hits:
            o = objects[i]
            for w in words[1:]:
                if w in COLOURS:
                    o, changed = replace(o, colour=w), True
                elif w in TEXTURES:
                    o, changed = replace(o, texture=w), True
                elif w in SIZES:
                    o, changed = replace(o, size=SIZES[w]), True
                elif w in POSITIONS:
                    o, changed = replace(o, x=POSITIONS[w][0], y=POSITIONS[w][1]), True
            objects[i] = o
        if changed:
            return ParsedPrompt(replace(scene, objects=tuple(objects)))
    return ParsedPrompt(scene, [w for w in words if w not in FILLER])


# -- concepts and their detector -----------------------------------------------------------------------------------

CONCEPTS: tuple[str, ...] = KINDS + tuple(COLOURS) + TEXTURES[1:] + BACKGROUNDS[1:]
"""Every concept the procedural detector scores: object kinds, colours, textures and backgrounds."""


def detect_concepts(scene: Scene, masks: list[np.ndarray], concepts: tuple[str, ...] | list[str]) -> dict:
    """Score each concept on a rendered scene, with its mask.

    An object concept (a kind, a colour, a texture) scores the mean over the matching objects of
    0.5 + 0.5 * min(1, visible area / 12 % of the picture), 0 when none is visible; a background scores 1 when it
    is the scene's. Masks are the union of the matching objects (the background's pixels for a background).

    Returns:
        concept -> (score in [0, 1], bool mask (H, W)).
    """
    out = {}
    area = SIZE * SIZE
    covered = np.zeros((SIZE, SIZE), bool)
    for m in masks:
        covered |= m
    for concept in concepts:
        if concept in BACKGROUNDS:
            present = concept == scene.background
            out[concept] = (1.0 if present else 0.0, ~covered if present else np.zeros_like(covered))
            continue
        scores, mask = [], np.zeros((SIZE, SIZE), bool)
        for o, m in zip(scene.objects, masks, strict=True):
            if concept in (o.kind, o.colour, o.texture) and m.any():
                scores.append(0.5 + 0.5 * min(1.0, m.sum() / (0.12 * area)))
                mask |= m
        out[concept] = (float(np.mean(scores)) if scores else 0.0, mask)
    return out
