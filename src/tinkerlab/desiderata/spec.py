"""Desiderata: named datasets of (original, alternate, target) triples with a kind, and specs that hold them.

Part of `tinkerlab.desiderata` (Davies et al., "Discovering Variable Binding Circuitry with Desiderata", 2023). A
desideratum says what patching the right components from an alternate input into the original must do:

* kind `value_change`: move the output to the target the alternate's bound value implies (the alternate is a
  minimal edit of the original, so both have the same number of tokens);
* kind `invariance`: leave the output at the original answer although the alternate differs (another variable's
  value, another operation; lengths may differ).

Other kinds join through `register_kind(DesideratumKind(...))`: a name, whether originals and alternates must have
the same length, and an optional check of each tokenised item. A `Spec` holds desiderata (given item by item, or
generated from a `BindingTask`), their weights and the mask settings; `load_spec` reads one from YAML, and every
error names the file, the line, the desideratum and the item.

YAML layout:

    task: {n_vars: 3, max_value: 9, train_ops: [add, sub, max], heldout_ops: [min]}
    desiderata:
      - name: value_change
        kind: value_change
        generate: {n: 160, heldout: 60, seed: 0}
      - name: my_pairs
        kind: invariance
        weight: 0.5
        items:
          - {original: "a=1, b=2, c=3. a+b=", alternate: "a=1, b=2, c=5. a+b=", target: "3"}
    mask: {relaxation: clamp, sparsity: 0.01, positions: final}
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from tinkerlab.core.config import check_choice, check_count, check_positive, check_range
from tinkerlab.core.errors import InputError
from tinkerlab.desiderata.tasks import DESIDERATA_KINDS, BindingTask, desideratum_items, encode

Split = Literal["train", "heldout"]


@dataclass(frozen=True)
class DesideratumKind:
    """A kind of desideratum.

    Attributes:
        name: how specs name it.
        description: one line for reports.
        equal_length: originals and alternates must have the same number of tokens.
        check: optional check(original_ids, alternate_ids, target_id) -> a problem (str) or None.
    """

    name: str
    description: str = ""
    equal_length: bool = False
    check: Callable[[list[int], list[int], int], str | None] | None = None


KINDS: dict[str, DesideratumKind] = {}


def register_kind(kind: DesideratumKind) -> DesideratumKind:
    """Make a kind available to specs (a name already used is replaced)."""
    if not kind.name or not isinstance(kind.name, str):
        raise InputError(f"a kind needs a name, got {kind.name!r}")
    KINDS[kind.name] = kind
    return kind


register_kind(
    DesideratumKind(
        "value_change",
        "patching must move the output to the target the alternate's bound value implies",
        equal_length=True,
    )
)
register_kind(
    DesideratumKind("invariance", "patching must leave the output at the original answer", equal_length=False)
)


@dataclass(frozen=True)
class Item:
    """One (original, alternate, target) triple; `split` 'heldout' items are only scored; `line` for errors."""

    original: str
    alternate: str
    target: str
    split: Split = "train"
    line: int | None = None


@dataclass(frozen=True)
class Desideratum:
    """A named dataset of items with a kind and a weight in the joint loss."""

    name: str
    kind: str
    items: tuple[Item, ...]
    weight: float = 1.0
    line: int | None = None

    def __post_init__(self) -> None:
        where = _where(None, self.line, self.name)
        if self.kind not in KINDS:
            raise InputError(f"{where}unknown kind {self.kind!r}: expected one of {', '.join(sorted(KINDS))}")
        if not self.items:
            raise InputError(f"{where}no items: give `items` or `generate`")
        if not isinstance(self.weight, int | float) or self.weight <= 0:
            raise InputError(f"{where}weight must be a positive number, got {self.weight!r}")

    def split(self, which: Split) -> list[Item]:
        return [item for item in self.items if item.split == which]


Components = Literal["heads+mlps", "heads", "mlps"]


@dataclass(frozen=True)
class MaskSettings:
    """How the mask is learned and scored.

    Attributes:
        components: which components are masked.
        positions: 'final' (the final token, as the paper) or 'all' (every position; originals and alternates must
            then have the same length).
        relaxation: 'clamp' (L1, the DCM lineage) or 'hard_concrete' (L0); 'sigmoid' also works.
        sparsity, lr, epochs, batch_size, threshold, loss: see `tinkerlab.patching.masks.JointMaskConfig`.
        validation: share of each desideratum's training items kept for choosing the best mask.
        seeds: the joint mask is learned once per seed (0..seeds-1) for the stability table; seed 0 is reported.
        random_draws: random masks of the joint mask's size scored for the baseline.
        singles: also learn one mask per desideratum alone.
    """

    components: Components = "heads+mlps"
    positions: Literal["final", "all"] = "final"
    relaxation: Literal["clamp", "sigmoid", "hard_concrete"] = "clamp"
    sparsity: float = 0.01
    lr: float = 0.1
    epochs: int = 2
    batch_size: int = 32
    threshold: float = 0.5
    loss: Literal["logit", "logprob"] = "logit"
    validation: float = 0.25
    seeds: int = 3
    random_draws: int = 20
    singles: bool = True

    def __post_init__(self) -> None:
        check_choice(self, "components", ("heads+mlps", "heads", "mlps"))
        check_choice(self, "positions", ("final", "all"))
        check_choice(self, "relaxation", ("clamp", "sigmoid", "hard_concrete"))
        check_range(self, "sparsity", 0)
        check_positive(self, "lr")
        check_count(self, "epochs", 1)
        check_count(self, "batch_size", 1)
        check_range(self, "threshold", 0, 1, lo_open=True, hi_open=True)
        check_choice(self, "loss", ("logit", "logprob"))
        check_range(self, "validation", 0, 1, lo_open=True, hi_open=True)
        check_count(self, "seeds", 1)
        check_count(self, "random_draws", 1)


@dataclass(frozen=True)
class Spec:
    """Desiderata, the task that generated some of them (if any), and the mask settings."""

    desiderata: tuple[Desideratum, ...]
    mask: MaskSettings = field(default_factory=MaskSettings)
    task: BindingTask | None = None
    source: str = "<python>"

    def __post_init__(self) -> None:
        if not self.desiderata:
            raise InputError(f"{self.source}: a spec needs at least one desideratum")
        names = [d.name for d in self.desiderata]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise InputError(f"{self.source}: desideratum names must be unique, got {', '.join(repeated)} twice")


def _where(source: str | None, line: int | None, name: str | None = None, index: int | None = None) -> str:
    parts = []
    if source:
        parts.append(source + (f" line {line}" if line else ""))
    elif line:
        parts.append(f"line {line}")
    if name is not None:
        parts.append(f"desideratum {name!r}")
    if index is not None:
        parts.append(f"item {index}")
    return ", ".join(parts) + ": " if parts else ""


# --- tokenised checks -------------------------------------------------------------------------------------------


def check_spec(spec: Spec, tokenizer, *, positions: str | None = None) -> None:
    """Check every item against a tokenizer: single-token targets, equal lengths where the kind (or patching every
    position) needs them, non-empty texts.

    Raises:
        InputError: naming the file, line, desideratum and item of the first problem.
    """
    every = (positions or spec.mask.positions) == "all"
    if spec.task is not None:
        from tinkerlab.desiderata.tasks import check_numbers

        check_numbers(tokenizer, spec.task.max_value)
    for d in spec.desiderata:
        kind = KINDS[d.kind]
        for index, item in enumerate(d.items):
            where = _where(spec.source if spec.source != "<python>" else None, item.line, d.name, index)
            if not item.original or not item.alternate:
                raise InputError(f"{where}original and alternate must be non-empty texts")
            target = encode(tokenizer, item.target, special=False)
            if len(target) != 1:
                pieces = ", ".join(repr(tokenizer.decode([t])) for t in target)
                raise InputError(
                    f"{where}target {item.target!r} is {len(target)} tokens ({pieces}); a target must be one token"
                )
            original = encode(tokenizer, item.original)
            alternate = encode(tokenizer, item.alternate)
            if (kind.equal_length or every) and len(original) != len(alternate):
                why = f"kind {d.kind!r}" if kind.equal_length else "patching every position"
                raise InputError(
                    f"{where}{why} needs originals and alternates of equal length, got {len(original)} and "
                    f"{len(alternate)} tokens ({item.original!r} / {item.alternate!r})"
                )
            if kind.check is not None:
                problem = kind.check(original, alternate, target[0])
                if problem:
                    raise InputError(f"{where}{problem}")


# --- YAML ---------------------------------------------------------------------------------------------------


def _yaml_loader():
    import yaml

    class LineLoader(yaml.SafeLoader):
        """A safe loader whose mappings remember their first line (key '__line__')."""

    def construct_mapping(loader, node, deep=False):
        mapping = yaml.SafeLoader.construct_mapping(loader, node, deep=True)
        mapping["__line__"] = node.start_mark.line + 1
        return mapping

    LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return LineLoader


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _mapping(value: Any, where: str, what: str) -> dict:
    if not isinstance(value, dict):
        raise InputError(f"{where}{what} must be a mapping, got {type(value).__name__}")
    return value


def _dataclass_from(cls, data: dict, where: str, what: str):
    names = {f.name for f in fields(cls)}
    values = _strip(data)
    unknown = sorted(set(values) - names)
    if unknown:
        raise InputError(
            f"{where}unknown {what} key(s) {', '.join(unknown)}: expected some of {', '.join(sorted(names))}"
        )
    for key, value in values.items():
        if isinstance(value, list):
            values[key] = tuple(value)
    try:
        return cls(**values)
    except InputError as error:
        raise InputError(f"{where}{error}") from None
    except TypeError as error:
        raise InputError(f"{where}bad {what}: {error}") from None


def spec_from_dict(data: Any, *, source: str = "<spec>") -> Spec:
    """A `Spec` from the plain data of a YAML file (mappings may carry '__line__')."""
    top = _mapping(data, _where(source, None), "the spec")
    known = {"task", "desiderata", "mask", "__line__"}
    unknown = sorted(set(top) - known)
    if unknown:
        raise InputError(f"{source}: unknown top-level key(s) {', '.join(unknown)}: expected task, desiderata, mask")
    task = None
    if top.get("task") is not None:
        raw = _mapping(top["task"], _where(source, None), "task")
        task = _dataclass_from(BindingTask, raw, _where(source, raw.get("__line__")), "task")
    mask = MaskSettings()
    if top.get("mask") is not None:
        raw = _mapping(top["mask"], _where(source, None), "mask")
        mask = _dataclass_from(MaskSettings, raw, _where(source, raw.get("__line__")), "mask")
    entries = top.get("desiderata")
    if not isinstance(entries, list) or not entries:
        raise InputError(f"{source}: `desiderata` must be a non-empty list")
    desiderata = []
    for number, entry in enumerate(entries):
        desiderata.append(_desideratum(entry, number, source, task))
    return Spec(tuple(desiderata), mask, task, source)


def _desideratum(entry: Any, number: int, source: str, task: BindingTask | None) -> Desideratum:
    if not isinstance(entry, dict):
        raise InputError(f"{source}: desideratum {number} must be a mapping, got {type(entry).__name__}")
    line = entry.get("__line__")
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise InputError(f"{_where(source, line)}desideratum {number} needs a `name`")
    where = _where(source, line, name)
    allowed = {"name", "kind", "weight", "items", "generate", "__line__"}
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise InputError(f"{where}unknown key(s) {', '.join(unknown)}: expected name, kind, weight, items, generate")
    kind = entry.get("kind")
    if kind not in KINDS:
        raise InputError(f"{where}unknown kind {kind!r}: expected one of {', '.join(sorted(KINDS))}")
    items: list[Item] = []
    for index, raw in enumerate(entry.get("items") or []):
        items.append(_item(raw, _where(source, getattr(raw, "get", lambda k: None)("__line__") or line, name, index)))
    if entry.get("generate") is not None:
        generate = _mapping(entry["generate"], where, "generate")
        items += _generated(generate, name, task, _where(source, generate.get("__line__"), name))
    weight = entry.get("weight", 1.0)
    try:
        return Desideratum(name, kind, tuple(items), weight, line)
    except InputError as error:
        raise InputError(f"{source}: {error}") from None


def _item(raw: Any, where: str) -> Item:
    if not isinstance(raw, dict):
        raise InputError(f"{where}an item must be a mapping with original, alternate, target; got {raw!r}")
    line = raw.get("__line__")
    missing = [k for k in ("original", "alternate", "target") if k not in raw]
    if missing:
        raise InputError(f"{where}missing {', '.join(missing)}")
    unknown = sorted(set(raw) - {"original", "alternate", "target", "split", "__line__"})
    if unknown:
        raise InputError(f"{where}unknown key(s) {', '.join(unknown)}: expected original, alternate, target, split")
    split = raw.get("split", "train")
    if split not in ("train", "heldout"):
        raise InputError(f"{where}split must be 'train' or 'heldout', got {split!r}")
    texts = [raw["original"], raw["alternate"], raw["target"]]
    if not all(isinstance(t, str | int) and not isinstance(t, bool) for t in texts):
        raise InputError(f"{where}original, alternate and target must be texts, got {texts!r}")
    return Item(str(texts[0]), str(texts[1]), str(texts[2]), split, line)


def _generated(generate: dict, name: str, task: BindingTask | None, where: str) -> list[Item]:
    if task is None:
        raise InputError(f"{where}`generate` needs a `task` section at the top of the spec")
    which = generate.get("desideratum", name)
    if which not in DESIDERATA_KINDS:
        raise InputError(
            f"{where}the task makes {', '.join(DESIDERATA_KINDS)}; got {which!r} (set generate.desideratum)"
        )
    unknown = sorted(set(generate) - {"desideratum", "n", "heldout", "seed", "__line__"})
    if unknown:
        raise InputError(f"{where}unknown generate key(s) {', '.join(unknown)}: expected desideratum, n, heldout, seed")
    n, heldout, seed = generate.get("n", 160), generate.get("heldout", 0), generate.get("seed", 0)
    for key, value in (("n", n), ("heldout", heldout), ("seed", seed)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InputError(f"{where}generate.{key} must be a non-negative integer, got {value!r}")
    line = generate.get("__line__")
    rows = desideratum_items(task, which, n, seed=seed)
    if heldout:
        rows += desideratum_items(task, which, heldout, seed=seed, heldout=True)
    return [Item(r["original"], r["alternate"], r["target"], r["split"], line) for r in rows]


def load_spec(path: str | Path) -> Spec:
    """Read a YAML spec.

    Raises:
        InputError: the file is missing or not YAML, or any part of the spec is wrong (file and line named).
    """
    import yaml

    from tinkerlab.core.paths import read_text_file

    path = Path(path)
    text = read_text_file(path, expected="a YAML desiderata spec")
    try:
        data = yaml.load(text, Loader=_yaml_loader())  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise InputError(f"{path}{line}: not valid YAML ({getattr(error, 'problem', error)})") from None
    return spec_from_dict(data, source=str(path))


EXAMPLE_SPEC = """\
# Variable binding in the final token's stream (Davies et al., 2023), at SmolLM2 scale.
# tinkerlab desiderata run --spec binding.yaml --model binding --out binding-run
task:
  n_vars: 3            # 'a=4, b=3, c=2. a+b=' : two queried variables and one distractor assignment
  max_value: 9         # every value and answer is one token (checked)
  train_ops: [add, max]  # the fine-tune answers sub at 0.30 only (docs/desiderata.md), so it is left out
  heldout_ops: [min]     # the mask never sees these; it is scored on them
desiderata:
  - name: value_change
    kind: value_change
    generate: {n: 120, heldout: 60, seed: 0}
  - name: variable_invariance
    kind: invariance
    generate: {n: 120, heldout: 60, seed: 0}
  - name: operation_invariance
    kind: invariance
    generate: {n: 120, heldout: 60, seed: 0}
mask:
  components: heads+mlps
  positions: final
  relaxation: clamp    # or hard_concrete (L0)
  sparsity: 0.01
  lr: 0.1
  epochs: 6
  threshold: 0.5
  seeds: 3
  random_draws: 20
"""
