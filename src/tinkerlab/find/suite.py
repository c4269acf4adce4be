"""The FIND suite: a deterministic builder and a loader that refuses suites written by another format version.

Counts follow the original benchmark (Schwettmann et al., NeurIPS 2023 D&B): 1000 numeric functions (150 MLP
approximations, 483 clean, 176 noisy, 191 interval-corrupted; 850 atomic and 150 sums/products), 1000 string
functions, 200 entity "neurons" (140 single concepts, 60 OR pairs) and 75 relations (25 clean, 50 with an
exception sub-domain). ``small=True`` writes a quick subset with the same proportions.

Layout of a suite folder::

    SUITE/
      suite.json       format name and version, seed, counts, the LM behind entities/relations
      numeric.json     {"functions": [spec, ...]}  (specs carry description, code and unit tests)
      strings.json
      entities.json
      relations.json
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tinkerlab.core.config import check_choice, check_count, check_subset, check_type
from tinkerlab.core.errors import InputError

Category = Literal["numeric", "strings", "entities", "relations"]
CATEGORIES: tuple[str, ...] = ("numeric", "strings", "entities", "relations")

SUITE_FORMAT = "tinkerlab-find-suite"
SUITE_VERSION = 2
"""Bump when specs change meaning; `load_suite` refuses other versions. Version 2: numeric parameters follow the
original's generator (``ranges``), string held-out inputs carry spaces and punctuation, no string function is
constant on its held-out inputs, and hint words overlap the entity/relation unit tests no more than the
original's do."""

FULL_COUNTS = {"numeric": 1000, "strings": 1000, "entities": 200, "relations": 75}
SMALL_COUNTS = {"numeric": 40, "strings": 40, "entities": 10, "relations": 6}


class SuiteVersionError(InputError):
    """The suite folder was written by an incompatible format version."""


@dataclass(frozen=True)
class BuildConfig:
    """What a suite is built from."""

    seed: int = 0
    small: bool = False
    lm: str = "local"
    categories: tuple[str, ...] = CATEGORIES
    mlp_steps: int = 150
    entity_readout: Literal["instruction", "association"] = "instruction"
    ranges: Literal["original", "easy"] = "original"
    """Numeric parameter ranges: ``original`` (the original's generator) or ``easy`` (slow waves, wide bumps,
    thresholds anywhere: this project's earlier ranges, kept to compare with runs on version-1 suites)."""

    def __post_init__(self) -> None:
        check_count(self, "seed")
        check_type(self, "small", bool)
        check_type(self, "lm", str)
        check_subset(self, "categories", CATEGORIES)
        check_count(self, "mlp_steps", 1)
        check_choice(self, "entity_readout", ("instruction", "association"))
        check_choice(self, "ranges", ("original", "easy"))


@dataclass
class Suite:
    """A loaded suite: its folder, header and specs per category."""

    path: Path
    header: dict[str, Any]
    functions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def get(self, category: str, function_id: str) -> dict[str, Any]:
        for spec in self.functions.get(category, []):
            if spec["id"] == function_id:
                return spec
        raise InputError(f"no function {function_id!r} in category {category!r} of suite {self.path}")

    @property
    def lm(self) -> str:
        return str(self.header.get("lm", "local"))


def _counts(small: bool) -> dict[str, int]:
    return dict(SMALL_COUNTS if small else FULL_COUNTS)


def _scaled(total: int, parts: dict[str, int]) -> dict[str, int]:
    """Split `total` in the proportions of `parts` (largest remainder)."""
    whole = sum(parts.values())
    raw = {k: total * v / whole for k, v in parts.items()}
    out = {k: int(np.floor(v)) for k, v in raw.items()}
    for key in sorted(raw, key=lambda k: raw[k] - out[k], reverse=True)[: total - sum(out.values())]:
        out[key] += 1
    return out


def build_numeric(
    rng: np.random.Generator, count: int, *, mlp_steps: int = 150, ranges: Literal["original", "easy"] = "original"
) -> list[dict[str, Any]]:
    """Numeric specs with the original variant mix (MLP first, as f00000-f00149 in the original), with parameters
    drawn from `ranges` (see `tinkerlab.find.numeric.ORIGINAL_RANGES`)."""
    from tinkerlab.find import numeric

    variants = _scaled(count, {"mlp": 150, "clean": 483, "noise": 176, "corrupt": 191})
    order = ["mlp"] * variants["mlp"]
    rest = ["clean"] * variants["clean"] + ["noise"] * variants["noise"] + ["corrupt"] * variants["corrupt"]
    order += [rest[i] for i in rng.permutation(len(rest))]
    n_composite = _scaled(count, {"atomic": 850, "composite": 150})["composite"]
    composite = np.zeros(count, dtype=bool)
    composite[rng.permutation(count)[:n_composite]] = True
    specs = [
        numeric.sample_numeric_function(
            rng,
            f"f{i:05d}",
            variant=v,  # type: ignore[arg-type]
            composite=bool(composite[i]),
            ranges=ranges,
        )
        for i, v in enumerate(order)
    ]
    numeric.fit_mlps([s for s in specs if s["variant"] == "mlp"], steps=mlp_steps, seed=int(rng.integers(2**31)))
    return specs


def build_strings(rng: np.random.Generator, count: int) -> list[dict[str, Any]]:
    """String specs, deduplicated by code, each with 10 held-out pairs and 10 three-way unit tests.

    A function that gives one output on all its held-out inputs is redrawn (the original has none such).
    """
    from tinkerlab.find import strings

    specs: list[dict[str, Any]] = []
    seen: set[str] = set()
    while len(specs) < count:
        spec = strings.sample_string_function(rng, f"f{len(specs):05d}")
        if spec["code"] in seen:
            continue
        seen.add(spec["code"])
        pairs = strings.held_out_pairs(spec, rng)
        if strings.is_constant_on(pairs):
            continue
        spec["test_pairs"] = pairs
        specs.append(spec)
    for spec in specs:
        spec["unit_tests"] = strings.unit_test_items(spec, rng, specs)
    return specs


def build_suite(out: str | Path, config: BuildConfig = BuildConfig()) -> Path:
    """Write a suite folder deterministically (same config -> byte-identical files).

    Args:
        out: the folder (created; existing suite files are overwritten).
        config: seed, size and the LM behind entities/relations.

    Returns:
        The folder.

    Raises:
        InputError: an unknown category was asked for.
    """
    unknown = sorted(set(config.categories) - set(CATEGORIES))
    if unknown:
        raise InputError(f"unknown categories {unknown}; expected a subset of {list(CATEGORIES)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    counts = _counts(config.small)
    # one independent stream per category, so building one category never shifts another
    streams = np.random.SeedSequence(config.seed).spawn(len(CATEGORIES))
    rngs = {c: np.random.default_rng(s) for c, s in zip(CATEGORIES, streams, strict=False)}
    written: dict[str, int] = {}
    for category in config.categories:
        rng = rngs[category]
        if category == "numeric":
            specs = build_numeric(rng, counts["numeric"], mlp_steps=config.mlp_steps, ranges=config.ranges)
        elif category == "strings":
            specs = build_strings(rng, counts["strings"])
        elif category == "entities":
            from tinkerlab.find import entities

            specs = entities.build_entity_specs(rng, counts["entities"], readout=config.entity_readout)
        else:
            from tinkerlab.find import relations

            specs = relations.build_relation_specs(rng, counts["relations"])
        _write_json(out / f"{category}.json", {"functions": specs})
        written[category] = len(specs)
    header = {
        "format": SUITE_FORMAT,
        "version": SUITE_VERSION,
        "seed": config.seed,
        "small": config.small,
        "lm": config.lm,
        "entity_readout": config.entity_readout,
        "ranges": config.ranges,
        "counts": written,
    }
    _write_json(out / "suite.json", header)
    return out


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, sort_keys=True, indent=1) + "\n", encoding="utf-8")


def load_suite(path: str | Path, categories: tuple[str, ...] | None = None) -> Suite:
    """Read a suite folder.

    Args:
        path: the folder written by `build_suite`.
        categories: load only these (None: all that the suite holds).

    Raises:
        InputError: no suite there, or a damaged suite file (cut short, not JSON).
        SuiteVersionError: the suite was written by another format version.
    """
    path = Path(path)
    header_file = path / "suite.json"
    if not header_file.exists():
        raise InputError(
            f"{path} is not a FIND suite (no suite.json); build one with `tinkerlab find build --out {path}`"
        )
    header = _read_json(header_file, path)
    if not isinstance(header, dict) or header.get("format") != SUITE_FORMAT:
        header = header if isinstance(header, dict) else {}
        raise SuiteVersionError(f"{header_file} has format {header.get('format')!r}, expected {SUITE_FORMAT!r}")
    if header.get("version") != SUITE_VERSION:
        small = " --small" if header.get("small") else ""
        raise SuiteVersionError(
            f"suite {path} was written by format version {header.get('version')}, but this tinkerlab reads "
            f"version {SUITE_VERSION}; rebuild it with "
            f"`tinkerlab find build --out {path} --seed {header.get('seed', 0)}{small}`"
        )
    suite = Suite(path=path, header=header)
    for category in categories or tuple(header.get("counts", {})):
        if category not in CATEGORIES:
            raise InputError(f"unknown category {category!r}; expected one of {list(CATEGORIES)}")
        file = path / f"{category}.json"
        if not file.exists():
            raise InputError(f"suite {path} has no {category} functions ({file.name} missing)")
        functions = _read_json(file, path)
        if not isinstance(functions, dict) or not isinstance(functions.get("functions"), list):
            raise InputError(
                f'{file} is not a FIND function file (expected {{"functions": [...]}}); '
                f"rebuild the suite with `tinkerlab find build --out {path} --seed {header.get('seed', 0)}`"
            )
        suite.functions[category] = functions["functions"]
    return suite


def _read_json(file: Path, suite: Path) -> Any:
    """The JSON in a suite file, or an InputError that says the suite is damaged and how to rebuild it."""
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(
            f"{file} is damaged (not valid JSON: {exc}); it was cut short or edited by hand. Rebuild the suite with "
            f"`tinkerlab find build --out {suite}` (with the seed and options it was built with)"
        ) from None
