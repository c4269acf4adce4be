"""The two applications of MAIA on a classifier with a planted spurious cue.

The data are procedural scenes holding one object whose kind is the class (two kinds); in training the background
agrees with the class most of the time (one background per class, `train_agree` of the images), so a small CNN
can learn the background instead of the shape. A cue-flipped test split puts every object on the other class's
background.

- `spurious_run`: the describer (the API-free experimenter by default, or the chat agent) explains every channel
  of the classifier's hidden layer; channels whose description names a cue background are zeroed; balanced
  accuracy on the cue-flipped split before and after, against zeroing as many random channels (several draws).
  Also measured: the channels a targeted cue test flags (`cue_effects`), and each removal with the linear head
  refitted on the biased training data.
- `misclassified_run`: the describer reads the images of a held-out split the classifier gets wrong and right,
  names the concepts (single, or pairs drawn together) most over-represented among the errors (or a chat model
  reads the described images and names them), and turns them into a rule that flags inputs; on a fresh split,
  the flags' precision against the base error rate, and their recall, against random flags at the same rate.

Everything is trained and measured offline on the CPU, in a few minutes at the defaults.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from tinkerlab.core.errors import InputError
from tinkerlab.maia import scenes

SYSTEM = "maia"


@dataclass(frozen=True)
class CueData:
    """The planted-cue data and the classifier trained on it.

    Args:
        classes: the two object kinds that are the classes.
        cues: the background that goes with each class in training.
        train: training images; train_agree: the share of them whose background agrees with the class.
        test: images per test split (cue-flipped, and cue-agreeing for reference).
        probe: procedural probe images for the hidden channels' exemplars.
        size: the classifier's input side (scenes are drawn at 224 and shrunk).
        hidden: channels of the hidden layer (the units the describer explains).
        epochs: training epochs (Adam, batch 32).
        seed: seeds the data, the training and the controls.
    """

    classes: tuple[str, str] = ("circle", "triangle")
    cues: tuple[str, str] = ("grass", "sand")
    train: int = 1000
    train_agree: float = 0.95
    test: int = 300
    probe: int = 300
    size: int = 64
    hidden: int = 32
    epochs: int = 30
    seed: int = 0

    def __post_init__(self) -> None:
        for kind in self.classes:
            if kind not in scenes.KINDS:
                raise InputError(f"classes must be object kinds ({', '.join(scenes.KINDS)}), got {kind!r}")
        for cue in self.cues:
            if cue not in scenes.BACKGROUNDS:
                raise InputError(f"cues must be backgrounds ({', '.join(scenes.BACKGROUNDS)}), got {cue!r}")
        if len(set(self.classes)) != 2 or len(set(self.cues)) != 2:
            raise InputError("give two different classes and two different cue backgrounds")
        if not 0.0 <= self.train_agree <= 1.0:
            raise InputError(f"train_agree must be in [0, 1], got {self.train_agree}")
        if min(self.train, self.test, self.probe, self.size, self.hidden, self.epochs) < 1 or self.size < 16:
            raise InputError("train, test, probe, hidden and epochs must be at least 1, and size at least 16")


def cue_scenes(n: int, agree: float, data: CueData, seed: int) -> tuple[list[scenes.Scene], np.ndarray, np.ndarray]:
    """`n` one-object scenes with balanced labels; a scene's background is its class's cue with probability `agree`,
    the other class's cue otherwise. Returns the scenes, labels and whether each background agrees.

    Example:
        >>> s, y, a = cue_scenes(4, 1.0, CueData(), seed=0)
        >>> [scene.background for scene in s] == [CueData().cues[int(c)] for c in y]
        True
    """
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    rng.shuffle(labels)
    agrees = rng.random(n) < agree
    colours = list(scenes.COLOURS)
    out = []
    for label, agreeing in zip(labels, agrees, strict=True):
        background = data.cues[int(label) if agreeing else 1 - int(label)]
        obj = scenes.SceneObject(
            kind=data.classes[int(label)],
            colour=str(rng.choice(colours)),
            x=float(rng.uniform(0.3, 0.7)),
            y=float(rng.uniform(0.3, 0.7)),
            size=float(rng.uniform(0.22, 0.4)),
        )
        out.append(scenes.Scene(background, (obj,), int(rng.integers(0, 2**31))))
    return out, labels.astype(np.int64), agrees


def _pixels(images: Sequence[Image.Image], size: int) -> Any:
    import torch

    arrays = [
        np.asarray(im.convert("RGB").resize((size, size), Image.Resampling.BILINEAR), np.float32) for im in images
    ]
    batch = np.stack(arrays).transpose(0, 3, 1, 2) / 255.0 - 0.5
    return torch.from_numpy(np.ascontiguousarray(batch, np.float32))


def make_classifier(hidden: int) -> Any:
    """A small CNN: three stride-2 convolutions (the last one, `hidden` channels wide, is the explained layer),
    global average pooling and a linear head. `forward(x, keep)` multiplies the hidden channels by `keep`."""
    import torch
    from torch import nn

    class CueNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(
                nn.Conv2d(3, 16, 3, stride=2, padding=1),
                nn.ReLU(),
                nn.Conv2d(16, 32, 3, stride=2, padding=1),
                nn.ReLU(),
            )
            self.hidden = nn.Sequential(nn.Conv2d(32, hidden, 3, stride=2, padding=1), nn.ReLU())
            self.head = nn.Linear(hidden, 2)

        def maps(self, x: torch.Tensor) -> torch.Tensor:
            return self.hidden(self.stem(x))

        def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
            h = self.maps(x)
            if keep is not None:
                h = h * keep[None, :, None, None]
            return self.head(h.mean(dim=(2, 3)))

    return CueNet()


def train_classifier(data: CueData, device: str = "cpu", *, progress: bool = True) -> Any:
    """Train the classifier on `data`'s biased training split (deterministic for a seed)."""
    import torch

    from tinkerlab.core.progress import track
    from tinkerlab.core.seeding import seed_everything

    seed_everything(data.seed)
    train_scenes, labels, _ = cue_scenes(data.train, data.train_agree, data, seed=data.seed)
    x = _pixels([scenes.render_image(s) for s in train_scenes], data.size)
    y = torch.from_numpy(labels)
    net = make_classifier(data.hidden).to(device)
    optimiser = torch.optim.Adam(net.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(data.seed)
    epochs = track(range(data.epochs), "training the cue classifier") if progress else range(data.epochs)
    for _ in epochs:
        order = torch.randperm(len(y), generator=generator)
        for start in range(0, len(y), 32):
            idx = order[start : start + 32]
            loss = torch.nn.functional.cross_entropy(net(x[idx].to(device)), y[idx].to(device))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return net.eval()


def predict(net: Any, images: Sequence[Image.Image], size: int, keep: np.ndarray | None = None) -> np.ndarray:
    """Predicted classes, with the hidden channels multiplied by `keep` (1 keeps, 0 removes)."""
    import torch

    device = next(net.parameters()).device
    mask = None if keep is None else torch.as_tensor(keep, dtype=torch.float32, device=device)
    out = []
    with torch.no_grad():
        for start in range(0, len(images), 64):
            out.append(net(_pixels(images[start : start + 64], size).to(device), mask).argmax(1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def balanced_accuracy(labels: np.ndarray, predictions: np.ndarray) -> float:
    """The mean over classes of the share of that class predicted right.

    Example:
        >>> balanced_accuracy(np.array([0, 0, 0, 1]), np.array([0, 0, 1, 1]))
        0.8333333333333333
    """
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    recalls = [float(np.mean(predictions[labels == c] == c)) for c in np.unique(labels)]
    return float(np.mean(recalls)) if recalls else float("nan")


@dataclass
class HiddenUnit:
    """Channel `unit` of the classifier's hidden layer as a MAIA subject (`call_neuron` as for vision units)."""

    net: Any
    unit: int
    size: int
    threshold: float | None = None

    @property
    def name(self) -> str:
        return f"cue-classifier/hidden/{self.unit}"

    def maps(self, images: Sequence[Image.Image]) -> np.ndarray:
        return hidden_maps(self.net, images, self.size)[:, self.unit]

    def call_neuron(self, images: Sequence[Image.Image]) -> tuple[list[float], list[Image.Image]]:
        from tinkerlab.vision.units import masked_image, unit_mask

        images = list(images)
        if not images:
            return [], []
        maps = self.maps(images)
        values = maps.reshape(len(images), -1).max(1)
        masked = []
        for image, unit_map, value in zip(images, maps, values, strict=True):
            level = self.threshold if self.threshold is not None else 0.5 * float(value)
            masked.append(masked_image(image, unit_mask(unit_map, level, image.size)))
        return [round(float(v), 2) for v in values], masked


def hidden_maps(net: Any, images: Sequence[Image.Image], size: int) -> np.ndarray:
    """The hidden layer's maps (n, channels, h, w)."""
    import torch

    device = next(net.parameters()).device
    out = []
    with torch.no_grad():
        for start in range(0, len(images), 64):
            out.append(net.maps(_pixels(images[start : start + 64], size).to(device)).cpu().numpy())
    return np.concatenate(out)


def hidden_tools(net: Any, data: CueData, *, describer: str = "labels", k: int = 15) -> list[Any]:
    """One `Tools` per hidden channel; exemplars are the top-k of `data.probe` random procedural scenes."""
    from tinkerlab.maia.runs import _describer
    from tinkerlab.maia.tools import Tools

    rng = np.random.default_rng(data.seed + 7)
    probe = [scenes.render_image(scenes.random_scene(rng)) for _ in range(data.probe)]
    values = hidden_maps(net, probe, data.size)
    peaks = values.reshape(len(probe), data.hidden, -1).max(2)
    thresholds = np.quantile(values.transpose(1, 0, 2, 3).reshape(data.hidden, -1), 0.99, axis=1)
    tools = []
    k = min(k, len(probe))
    for unit in range(data.hidden):
        top = [int(i) for i in np.argsort(-peaks[:, unit], kind="stable")[:k]]
        subject = HiddenUnit(net, unit, data.size, threshold=float(thresholds[unit]))
        tools.append(
            Tools(
                subject, [probe[i] for i in top], [float(peaks[i, unit]) for i in top], describer=_describer(describer)
            )
        )
    return tools


def describe_unit(tools: Any, method: str, *, agent: str = "local", seed: int = 0, max_rounds: int = 10) -> dict:
    """A hidden channel's description by the experimenter (`method='experimenter'`) or the chat agent ('agent')."""
    from tinkerlab.maia.baselines import concept_words, experimenter

    if method == "experimenter":
        found = experimenter(tools, seed=seed)
        description, scored = found.description, found.images_scored
    elif method == "agent":
        from tinkerlab.maia.agent import AgentConfig, run_agent
        from tinkerlab.maia.runs import chat_model

        result = run_agent(chat_model(agent), tools, config=AgentConfig(max_rounds=max_rounds), layer="hidden")
        description, scored = result.description, 0
    else:
        raise InputError(f"method must be experimenter or agent, got {method!r}")
    return {
        "unit": tools.subject.unit,
        "description": description,
        "concepts": concept_words(description),
        "scored": scored,
    }


def cue_effects(tools: Any, cues: Sequence[str], *, exclude: Sequence[str] = (), n: int = 8, seed: int = 0) -> dict:
    """A targeted experiment: the same objects drawn on each cue background and on neutral backgrounds; the mean
    activation on each cue minus the neutral mean, as a share of the unit's top-5 exemplar activation.

    Returns:
        {cue: effect share} and the images it scored under 'images'.
    """
    rng = np.random.default_rng(seed)
    kinds = [k for k in scenes.KINDS if k not in exclude]
    neutral = [b for b in scenes.BACKGROUNDS[1:] if b not in cues]
    objects = [f"a large {rng.choice(list(scenes.COLOURS))} {rng.choice(kinds)}" for _ in range(n)]

    def mean(prompts: list[str]) -> float:
        return float(np.mean(tools.call_neuron(tools.text2image(prompts))[0]))

    base = mean([f"{o} on {rng.choice(neutral)}" for o in objects])
    level = max(float(np.mean(tools.exemplar_activations[:5])) if tools.exemplar_activations else 0.0, 1e-6)
    out: dict[str, Any] = {cue: (mean([f"{o} on {cue}" for o in objects]) - base) / level for cue in cues}
    out["images"] = n * (len(cues) + 1)
    return out


# -- (a) spurious features ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpuriousConfig:
    """`spurious_run`'s settings: the data, who describes (`experimenter` or `agent` on `agent`), the random
    draws of the control, and the share of its exemplar activation a cue must move a unit by in the cue test."""

    data: CueData = CueData()
    method: str = "experimenter"
    agent: str = "local"
    describer: str = "labels"
    draws: int = 10
    effect: float = 0.25

    def __post_init__(self) -> None:
        if self.method not in ("experimenter", "agent"):
            raise InputError(f"method must be experimenter or agent, got {self.method!r}")
        if self.draws < 1:
            raise InputError(f"draws must be at least 1, got {self.draws}")


def pooled_features(net: Any, images: Sequence[Image.Image], size: int) -> np.ndarray:
    """The hidden layer's channels, averaged over space (n, channels): what the linear head reads."""
    return hidden_maps(net, images, size).mean(axis=(2, 3))


def refit_head(features: np.ndarray, labels: np.ndarray, keep: np.ndarray, *, steps: int = 300, seed: int = 0) -> Any:
    """An unregularised logistic-regression head on the kept channels of `features` (full-batch Adam); returns a
    function from features to predicted classes."""
    import torch

    torch.manual_seed(seed)
    x = torch.from_numpy(features * keep[None, :]).float()
    mean, scale = x.mean(0), x.std(0) + 1e-6
    y = torch.from_numpy(np.asarray(labels))
    head = torch.nn.Linear(x.shape[1], 2)
    optimiser = torch.optim.Adam(head.parameters(), lr=0.05)
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(head((x - mean) / scale), y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

    def classify(f: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            z = (torch.from_numpy(f * keep[None, :]).float() - mean) / scale
            return head(z).argmax(1).numpy()

    return classify


def _splits(data: CueData) -> dict[str, tuple[list[Image.Image], np.ndarray]]:
    out = {}
    for name, agree, offset in (("cue-flipped", 0.0, 1), ("cue-agreeing", data.train_agree, 2)):
        split, labels, _ = cue_scenes(data.test, agree, data, seed=data.seed + 1000 * offset)
        out[name] = ([scenes.render_image(s) for s in split], labels)
    return out


def _classifier(run: Any, data: CueData, device: str) -> Any:
    import torch

    path = run.checkpoints / "classifier.pt"
    if path.exists():
        net = make_classifier(data.hidden)
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return net.to(device).eval()
    net = train_classifier(data, device)
    torch.save(net.state_dict(), path)
    return net


def spurious_run(config: SpuriousConfig, out: str | Path, *, device: str = "cpu", overwrite: bool = False) -> dict:
    """Train, describe every hidden channel, remove the cue channels and random ones; see the module docstring.

    Returns:
        The result record (also `out`/outputs/spurious.json): the removed units, their descriptions, and balanced
        accuracy rows.
    """
    from tinkerlab.core.progress import track
    from tinkerlab.core.runs import RunDir
    from tinkerlab.core.seeding import choose_device

    device = choose_device(device)
    run = RunDir.open(out, system=SYSTEM, config=config, overwrite=overwrite)
    path = run.outputs / "spurious.json"
    if run.state().get("done") and path.exists():
        return json.loads(path.read_text())
    data = config.data
    net = _classifier(run, data, device)
    state = run.state()
    described: dict[str, dict] = dict(state.get("described", {}))
    for tools in track(hidden_tools(net, data, describer=config.describer), "describing hidden units"):
        key = str(tools.subject.unit)
        if key not in described:
            described[key] = describe_unit(tools, config.method, agent=config.agent, seed=data.seed)
            described[key]["cue_effects"] = cue_effects(tools, data.cues, exclude=data.classes, seed=data.seed)
            run.save_state({"described": described})
    cue_units = sorted(int(u) for u, d in described.items() if set(d["concepts"]) & set(data.cues))
    tested_units = sorted(
        int(u) for u, d in described.items() if max(abs(d["cue_effects"][c]) for c in data.cues) > config.effect
    )
    splits = _splits(data)
    rng = np.random.default_rng(data.seed + 99)

    features = {name: pooled_features(net, images, data.size) for name, (images, _) in splits.items()}
    train_scenes, train_labels, _ = cue_scenes(data.train, data.train_agree, data, seed=data.seed)
    train_features = pooled_features(net, [scenes.render_image(s) for s in train_scenes], data.size)

    def scores(keep: np.ndarray | None) -> dict[str, float]:
        out = {
            name: balanced_accuracy(y, predict(net, images, data.size, keep)) for name, (images, y) in splits.items()
        }
        classify = refit_head(
            train_features, train_labels, np.ones(data.hidden) if keep is None else keep, seed=data.seed
        )
        for name, (_, y) in splits.items():
            out[f"{name}, head refit"] = balanced_accuracy(y, classify(features[name]))
        return out

    before = scores(None)
    rows = [{"removed": "none", "units": 0, **{k: [v, 0.0] for k, v in before.items()}}]
    random_draws: dict[str, list[dict[str, float]]] = {}
    selections = ((f"described as the cue ({config.method})", cue_units), ("cue test (experimenter)", tested_units))
    for label, units in selections:
        keep = np.ones(data.hidden, np.float32)
        keep[units] = 0.0
        rows.append({"removed": label, "units": len(units), **{k: [v, 0.0] for k, v in scores(keep).items()}})
        if not units or str(len(units)) in random_draws:
            continue
        draws = []
        for _ in range(config.draws):
            keep_random = np.ones(data.hidden, np.float32)
            keep_random[rng.choice(data.hidden, size=len(units), replace=False)] = 0.0
            draws.append(scores(keep_random))
        random_draws[str(len(units))] = draws
        rows.append(
            {
                "removed": f"random ({config.draws} draws)",
                "units": len(units),
                **{k: [float(np.mean([d[k] for d in draws])), float(np.std([d[k] for d in draws]))] for k in before},
            }
        )
    after = rows[1]
    record = {
        "config": asdict(config),
        "cue_units": cue_units,
        "tested_units": tested_units,
        "descriptions": {int(u): d["description"] for u, d in described.items()},
        "cue_effects": {int(u): d["cue_effects"] for u, d in described.items()},
        "rows": rows,
        "random_draws": random_draws,
    }
    path.write_text(json.dumps(record, indent=2))
    (run.outputs / "spurious.md").write_text(spurious_table(record) + "\n")
    run.log(
        f"cue units {cue_units}; flipped balanced accuracy {before['cue-flipped']:.3f} -> {after['cue-flipped'][0]:.3f}"
    )
    run.save_state({"described": described, "done": True})
    return record


def spurious_table(record: dict) -> str:
    """The balanced-accuracy rows as a markdown table (mean +- s.d. over the random draws)."""
    keys = ("cue-flipped", "cue-agreeing", "cue-flipped, head refit", "cue-agreeing, head refit")
    lines = ["| units removed | count | " + " | ".join(f"balanced acc., {k}" for k in keys) + " |", "|---" * 6 + "|"]
    for row in record["rows"]:
        random = row["removed"].startswith("random")
        cells = [f"{row[k][0]:.3f}" + (f" +- {row[k][1]:.3f}" if random else "") for k in keys]
        lines.append(f"| {row['removed']} | {row['units']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# -- (b) misclassification ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MisclassifiedConfig:
    """`misclassified_run`'s settings: the data and classifier, the two mixed splits (half the backgrounds agree),
    the most rules the failure mode may join, the least errors a rule must cover on the naming split, the random
    draws of the control; with `agent` (a chat-model spec) the chat model names the rules instead of the
    concept counts."""

    data: CueData = CueData()
    describer: str = "labels"
    agent: str | None = None
    split: int = 400
    max_rules: int = 2
    min_support: int = 3
    draws: int = 20

    def __post_init__(self) -> None:
        if self.split < 2 or self.max_rules < 1 or self.min_support < 1 or self.draws < 1:
            raise InputError("split must be at least 2; max_rules, min_support and draws at least 1")


def image_concepts(describer: Any, images: Sequence[Image.Image]) -> list[set[str]]:
    """The generator concepts the describer names in each whole image."""
    from tinkerlab.maia.baselines import concept_words

    return [set(concept_words(describer.describe(im, None))) for im in images]


def _flags(concepts: Sequence[set[str]], rules: Sequence[tuple[str, ...]]) -> np.ndarray:
    return np.array([any(set(rule) <= c for rule in rules) for c in concepts], bool)


def _f1(flags: np.ndarray, errors: np.ndarray) -> float:
    hits = int((flags & errors).sum())
    return 0.0 if hits == 0 else 2 * hits / (int(flags.sum()) + int(errors.sum()))


def name_failure_mode(
    concepts: Sequence[set[str]], errors: np.ndarray, *, max_rules: int = 2, min_support: int = 3
) -> list[tuple[str, ...]]:
    """Concepts (alone, or pairs seen together) over-represented among `errors`, joined greedily while the F1 of the
    flags on this split grows.

    Example:
        >>> c = [{"circle", "sand"}, {"circle", "grass"}, {"triangle", "sand"}, {"circle", "sand"}]
        >>> name_failure_mode(c, np.array([True, False, False, True]), min_support=2)
        [('circle', 'sand')]
    """
    errors = np.asarray(errors, bool)
    candidates: set[tuple[str, ...]] = set()
    for c, wrong in zip(concepts, errors, strict=True):
        if wrong:
            items = sorted(c)
            candidates |= {(a,) for a in items} | {(a, b) for i, a in enumerate(items) for b in items[i + 1 :]}
    base = float(errors.mean()) if len(errors) else 0.0
    scored = []
    for rule in candidates:
        flags = _flags(concepts, [rule])
        if int((flags & errors).sum()) >= min_support and float(errors[flags].mean()) > base:
            scored.append(rule)
    rules: list[tuple[str, ...]] = []
    best = 0.0
    for _ in range(max_rules):
        options = [(_f1(_flags(concepts, [*rules, r]), errors), r) for r in scored if r not in rules]
        if not options:
            break
        f1, rule = max(options, key=lambda o: (o[0], -len(o[1]), o[1]))
        if f1 <= best:
            break
        rules.append(rule)
        best = f1
    return rules


def agent_failure_mode(
    model: Any,
    descriptions: Sequence[str],
    errors: np.ndarray,
    *,
    shown: int = 30,
    max_rules: int = 2,
    seed: int = 0,
    transcript: Any = None,
) -> tuple[list[tuple[str, ...]], str]:
    """A chat model reads the describer's text for up to `shown` misclassified and as many correct images and
    names the failure mode as rules of one or two drawable concepts (`[RULE]: circle, sand`, one per line).

    Returns:
        The rules (concepts the generator vocabulary knows; unknown words are dropped) and the model's reply.
    """
    from tinkerlab.llm.messages import Message
    from tinkerlab.maia.baselines import concept_words

    rng = np.random.default_rng(seed)
    errors = np.asarray(errors, bool)
    wrong = rng.permutation(np.flatnonzero(errors))[:shown]
    right = rng.permutation(np.flatnonzero(~errors))[:shown]
    listing = "\n".join(
        [f"misclassified: {descriptions[i]}" for i in wrong] + [f"correct: {descriptions[i]}" for i in right]
    )
    prompt = (
        "Each line below is an image description, marked by whether an image classifier got that image right. "
        f"Name what the misclassified images share that the correct ones do not, as up to {max_rules} rules of one "
        "or two concepts each, one per line, in the form\n[RULE]: concept, concept\n"
        f"Use only these words: {', '.join(scenes.CONCEPTS)}.\n\n{listing}"
    )
    reply = model.complete([Message.user(prompt)], max_tokens=200).text
    rules = []
    for line in reply.splitlines():
        if "[RULE]" in line.upper():
            concepts = tuple(dict.fromkeys(concept_words(line.split(":", 1)[-1])))[:2]
            if concepts and concepts not in rules:
                rules.append(concepts)
    return rules[:max_rules], reply


def _rule_text(rule: tuple[str, ...]) -> str:
    from tinkerlab.maia.synthetic import _and_description, _noun

    return _noun(rule[0]) if len(rule) == 1 else _and_description(*rule)


def misclassified_run(
    config: MisclassifiedConfig, out: str | Path, *, device: str = "cpu", overwrite: bool = False
) -> dict:
    """Train the classifier, name its failure mode on one mixed split, flag inputs of a fresh one; see the module
    docstring. Returns the record (also `out`/outputs/misclassified.json)."""
    from tinkerlab.core.runs import RunDir
    from tinkerlab.core.seeding import choose_device
    from tinkerlab.maia.runs import _describer

    device = choose_device(device)
    run = RunDir.open(out, system=SYSTEM, config=config, overwrite=overwrite)
    path = run.outputs / "misclassified.json"
    if run.state().get("done") and path.exists():
        return json.loads(path.read_text())
    data = config.data
    net = _classifier(run, data, device)
    describer = _describer(config.describer)
    parts = {}
    for name, offset in (("naming", 3), ("evaluation", 4)):
        split, labels, _ = cue_scenes(config.split, 0.5, data, seed=data.seed + 1000 * offset)
        images = [scenes.render_image(s) for s in split]
        errors = predict(net, images, data.size) != labels
        texts = [describer.describe(im, None) for im in images]
        parts[name] = (image_concepts(describer, images), errors, texts)
    reply = None
    if config.agent is None:
        rules = name_failure_mode(*parts["naming"][:2], max_rules=config.max_rules, min_support=config.min_support)
    else:
        from tinkerlab.maia.runs import chat_model

        model = chat_model(config.agent, run.transcript_path)
        rules, reply = agent_failure_mode(model, parts["naming"][2], parts["naming"][1], max_rules=config.max_rules)
    concepts, errors, _ = parts["evaluation"]
    flags = _flags(concepts, rules)
    hits = int((flags & errors).sum())
    rng = np.random.default_rng(data.seed + 77)
    random_precision = []
    for _ in range(config.draws):
        chosen = rng.choice(len(errors), size=int(flags.sum()), replace=False)
        random_precision.append(float(errors[chosen].mean()) if len(chosen) else float("nan"))
    record = {
        "config": asdict(config),
        "failure_mode": " or ".join(_rule_text(r) for r in rules) or "(none found)",
        "rules": [list(r) for r in rules],
        "named_by": config.agent or "concept counts",
        "agent_reply": reply,
        "images": len(errors),
        "errors": int(errors.sum()),
        "base_error_rate": float(errors.mean()),
        "flagged": int(flags.sum()),
        "precision": hits / int(flags.sum()) if flags.any() else float("nan"),
        "recall": hits / int(errors.sum()) if errors.any() else float("nan"),
        "random_precision": [float(np.nanmean(random_precision)), float(np.nanstd(random_precision))],
        "naming_base_error_rate": float(parts["naming"][1].mean()),
    }
    path.write_text(json.dumps(record, indent=2))
    (run.outputs / "misclassified.md").write_text(misclassified_table(record) + "\n")
    run.log(
        f"failure mode {record['failure_mode']!r}: precision {record['precision']:.3f}, recall {record['recall']:.3f}"
    )
    run.save_state({"done": True})
    return record


def misclassified_table(record: dict) -> str:
    """The flags against the base error rate and random flags, as a markdown table."""
    mean, sd = record["random_precision"]
    return "\n".join(
        [
            "| flags | flagged | precision | recall |",
            "|---|---|---|---|",
            f"| none (base error rate) | {record['images']} | {record['base_error_rate']:.3f} | 1.000 |",
            f"| rule ({record.get('named_by', 'concept counts')}): {record['failure_mode']} | {record['flagged']} | "
            f"{record['precision']:.3f} | "
            f"{record['recall']:.3f} |",
            f"| random, same count ({record['config']['draws']} draws) | {record['flagged']} | {mean:.3f} +- {sd:.3f} "
            f"| - |",
        ]
    )
