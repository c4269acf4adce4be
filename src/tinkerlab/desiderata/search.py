"""One desiderata run: objectives from a spec, the joint mask, single-desideratum masks, random masks, seeds.

Part of `tinkerlab.desiderata` (Davies et al., "Discovering Variable Binding Circuitry with Desiderata", 2023). Every
desideratum's items are split into training, validation and held-out parts (held-out: the items of held-out
operations, `split: heldout`; a desideratum without any holds out a quarter of its items instead). The mask is
learned by the patching engine (`tinkerlab.patching.masks.train_joint_mask`, the code DCM uses) over the heads and
MLPs at the final token (or every position), on all desiderata at once with their weights, and is then scored on
the held-out parts of each desideratum:

* the joint mask (seed 0), and its stability over `seeds` seeds (components picked per seed, Jaccard overlap);
* one mask per desideratum alone, scored on every desideratum (why the desiderata are combined);
* `random_draws` random masks of the joint mask's size (mean and 2.5-97.5 percentile interval);
* the references: nothing patched, and every component patched.

Stages are saved in the run directory as they finish (`outputs/*.json`), so an interrupted run resumes.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from tinkerlab.core.errors import InputError
from tinkerlab.desiderata.spec import Desideratum, Spec, check_spec
from tinkerlab.desiderata.tasks import encode

SYSTEM = "desiderata"


def spec_record(spec: Spec) -> dict:
    """The spec as JSON-able data (recorded in the run's config)."""
    return {
        "task": None if spec.task is None else asdict(spec.task),
        "mask": asdict(spec.mask),
        "desiderata": [
            {
                "name": d.name,
                "kind": d.kind,
                "weight": d.weight,
                "items": [[i.original, i.alternate, i.target, i.split] for i in d.items],
            }
            for d in spec.desiderata
        ],
    }


class Objectives:
    """A desideratum's engine objectives (one per token-length bucket) for its train, validation and held-out parts."""

    def __init__(self, model, tokenizer, components, d: Desideratum, settings, *, seed: int = 0) -> None:
        import torch

        from tinkerlab.patching.masks import make_objective

        self.desideratum = d
        held = [i for i, item in enumerate(d.items) if item.split == "heldout"]
        rest = [i for i, item in enumerate(d.items) if item.split == "train"]
        random.Random(f"{seed}-{d.name}").shuffle(rest)
        self.heldout_kind = "held-out items (split: heldout)"
        if not held:
            cut = max(1, len(rest) // 4)
            held, rest = rest[:cut], rest[cut:]
            self.heldout_kind = "a random quarter of the items"
        n_val = max(1, round(settings.validation * len(rest)))
        if len(rest) < 2:
            raise InputError(f"desideratum {d.name!r}: needs at least 2 training items, got {len(rest)}")
        parts = {"validation": rest[:n_val], "train": rest[n_val:], "heldout": held}
        self.sizes = {k: len(v) for k, v in parts.items()}
        buckets: dict[tuple[int, int], list[int]] = {}
        tokens = []
        for i, item in enumerate(d.items):
            ids = (encode(tokenizer, item.original), encode(tokenizer, item.alternate))
            tokens.append(ids)
            buckets.setdefault((len(ids[0]), len(ids[1])), []).append(i)
        part_of = {i: name for name, rows in parts.items() for i in rows}
        self.parts: dict[str, list] = {name: [] for name in parts}
        for (s_orig, _), rows in sorted(buckets.items()):
            original = torch.tensor([tokens[i][0] for i in rows])
            alternate = torch.tensor([tokens[i][1] for i in rows])
            targets = torch.tensor([encode(tokenizer, d.items[i].target, special=False)[0] for i in rows])
            whole = make_objective(
                model,
                components,
                original,
                alternate,
                targets,
                positions=settings.positions,
                name=f"{d.name}[{s_orig}]",
            )
            for name in parts:
                local = [k for k, i in enumerate(rows) if part_of[i] == name]
                if local:
                    piece = whole.select(torch.tensor(local))
                    piece.weight = d.weight * len(local) / max(1, self.sizes[name])
                    self.parts[name].append(piece)

    def accuracy(self, model, components, patched, part: str = "heldout") -> float:
        """Accuracy on a part with `patched` ([C] bool) fully patched (pooled over length buckets)."""
        from tinkerlab.patching.masks import objective_correct

        correct = [objective_correct(model, components, o, patched) for o in self.parts[part]]
        total = sum(int(c.numel()) for c in correct)
        return sum(int(c.sum()) for c in correct) / max(1, total)


def _interval(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    lo = ordered[int(0.025 * (len(ordered) - 1))]
    hi = ordered[int(round(0.975 * (len(ordered) - 1)))]
    return sum(values) / len(values), lo, hi


def _stage(outputs: Path | None, name: str, compute: Callable[[], dict], log) -> dict:
    path = None if outputs is None else outputs / f"{name}.json"
    if path is not None and path.is_file():
        log(f"{name}: reused {path}")
        return json.loads(path.read_text())
    result = compute()
    if path is not None:
        path.write_text(json.dumps(result, indent=1) + "\n")
    return result


def run_search(
    spec: Spec,
    model,
    tokenizer,
    *,
    outputs: Path | None = None,
    log: Callable[[str], None] = lambda message: None,
    model_name: str = "",
    progress: bool = True,
) -> dict:
    """Learn and score the masks of a spec; returns (and, with `outputs`, saves) the result.

    Args:
        spec: the desiderata and mask settings.
        model, tokenizer: a frozen causal LM of a family the patching engine maps.
        outputs: folder for the stage files and result.json (None: nothing is written).
        log: where progress lines go.
        model_name: recorded in the result.

    Raises:
        InputError: an item that does not fit the tokenizer (named with its line), or too few items.
    """
    import torch

    from tinkerlab.patching.masks import JointMaskConfig, all_components, train_joint_mask

    started = time.perf_counter()
    check_spec(spec, tokenizer)
    settings = spec.mask
    components = all_components(model, heads=settings.components != "mlps", mlps=settings.components != "heads")
    names = [c.name for c in components]
    log(f"{len(components)} components ({settings.components}) at {settings.positions} positions")
    prepared = time.perf_counter()
    objectives = {d.name: Objectives(model, tokenizer, components, d, settings) for d in spec.desiderata}
    prepare_seconds = time.perf_counter() - prepared

    def config(seed: int) -> JointMaskConfig:
        return JointMaskConfig(
            sparsity=settings.sparsity,
            lr=settings.lr,
            epochs=settings.epochs,
            batch_size=settings.batch_size,
            relaxation=settings.relaxation,
            threshold=settings.threshold,
            loss=settings.loss,
            seed=seed,
        )

    def patched_of(selected: list[str]) -> torch.Tensor:
        chosen = set(selected)
        return torch.tensor([n in chosen for n in names], dtype=torch.bool)

    def score(selected: list[str]) -> dict[str, float]:
        patched = patched_of(selected)
        return {name: o.accuracy(model, components, patched) for name, o in objectives.items()}

    def learn(which: list[str], seed: int, label: str) -> dict:
        train = [p for n in which for p in objectives[n].parts["train"]]
        validation = [p for n in which for p in objectives[n].parts["validation"]]
        result = train_joint_mask(
            model, components, train, validation, config(seed), description=label, progress=progress
        )
        out = result.to_dict()
        out.pop("components")
        out["heldout"] = score(out["selected"])
        log(
            f"{label}: {len(out['selected'])} of {len(components)} components "
            f"({', '.join(out['selected']) or 'none'}); held-out "
            + ", ".join(f"{k} {v:.2f}" for k, v in out["heldout"].items())
        )
        return out

    every = [d.name for d in spec.desiderata]
    references = _stage(
        outputs,
        "references",
        lambda: {"nothing patched": score([]), "every component patched": score(names)},
        log,
    )
    seeds = [
        _stage(outputs, f"joint_seed{s}", lambda s=s: learn(every, s, f"joint mask, seed {s}"), log)
        for s in range(settings.seeds)
    ]
    joint = seeds[0]
    singles = {}
    if settings.singles and len(every) > 1:
        for name in every:
            singles[name] = _stage(outputs, f"single_{name}", lambda n=name: learn([n], 0, f"{n} alone"), log)

    def draw_random() -> dict:
        k = len(joint["selected"])
        rng = random.Random(0)
        draws = [score(rng.sample(names, k)) for _ in range(settings.random_draws)] if k else []
        return {
            "size": k,
            "draws": draws,
            "summary": {n: _interval([d[n] for d in draws]) for n in every} if draws else {},
        }

    randoms = _stage(outputs, "random", draw_random, log)
    picked = [set(s["selected"]) for s in seeds]
    counts = {n: sum(n in p for p in picked) for n in names if any(n in p for p in picked)}
    pairs = [(a, b) for i, a in enumerate(picked) for b in picked[i + 1 :]]
    jaccard = [len(a & b) / len(a | b) if a | b else 1.0 for a, b in pairs]
    result = {
        "model": model_name,
        "components": names,
        "n_components": len(components),
        "n_heads": sum(c.head is not None for c in components),
        "n_mlps": sum(c.head is None for c in components),
        "settings": asdict(settings),
        "desiderata": {
            d.name: {
                "kind": d.kind,
                "weight": d.weight,
                "sizes": objectives[d.name].sizes,
                "heldout_from": objectives[d.name].heldout_kind,
                "example": [d.items[0].original, d.items[0].alternate, d.items[0].target],
            }
            for d in spec.desiderata
        },
        "references": references,
        "joint": joint,
        "seeds": seeds,
        "stability": {"counts": counts, "jaccard": jaccard, "seeds": settings.seeds},
        "singles": singles,
        "random": randoms,
        "prepare_seconds": prepare_seconds,
        "seconds": time.perf_counter() - started,
    }
    if outputs is not None:
        (outputs / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    return result
