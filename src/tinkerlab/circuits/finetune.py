"""The base / fine-tuned SmolLM2 pair: an entity-tracking warm-up, then a variable-binding + arithmetic fine-tune.

Part of `tinkerlab.circuits` (Prakash et al., "Fine-Tuning Enhances Existing Mechanisms", ICLR 2024). The paper's
fine-tunes, Goat and FLoat, are LLaMA-7B trained on synthetic arithmetic; their entity tracking improved without
entity-tracking data. At small scale:

1. `base`: SmolLM2-135M is at chance on entity tracking as shipped, so it gets a short warm-up on prompts with
   few boxes (2-4 by default), leaving headroom at the 7-box evaluation setting.
2. `finetuned`: `base` further trained on variable binding and arithmetic only ("x=3, q=7, c=2. q=" -> "7",
   "x=3, q=4, c=2. q+c=" -> "6", "Let x = fig, q = engine. Then q =" -> " engine", 5-10 variables): no
   entity-tracking prompts ("The fig is in Box X ... Box X contains the") at all. 7-box entity-tracking accuracy
   is measured on held-out prompts every `eval_every` steps, only to watch it (docs/circuits.md reports how much
   it moves between checkpoints and data seeds).

Both use AdamW, loss on the answer token only (the first token after the prompt). Models are saved to
`cache_dir("circuits", "models", name)` with a `training.json` record of the config, the loss curve and the
entity-tracking curve.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from tinkerlab.circuits.data import LABELS, OBJECTS, entity_batch, random_prompts
from tinkerlab.circuits.evaluate import accuracy
from tinkerlab.circuits.models import load_model, model_dir
from tinkerlab.core.config import check_count, check_length, check_positive, check_range, config_error, config_to_dict
from tinkerlab.core.progress import track

_VARS = "abcdefghjkmnpqrstuvwxyz"


@dataclass(frozen=True)
class WarmupConfig:
    """Entity-tracking warm-up of the original model (makes `base`)."""

    steps: int = 50
    batch_size: int = 8
    lr: float = 3e-5
    min_boxes: int = 2
    max_boxes: int = 4
    seed: int = 0

    def __post_init__(self) -> None:
        check_count(self, "steps", 1)
        check_count(self, "batch_size", 1)
        check_positive(self, "lr")
        check_count(self, "min_boxes", 1)
        check_count(self, "max_boxes", 1, min(len(OBJECTS), len(LABELS)))
        if self.max_boxes < self.min_boxes:
            raise config_error(self, "max_boxes", f"an integer >= min_boxes={self.min_boxes}", self.max_boxes)
        check_count(self, "seed")


@dataclass(frozen=True)
class FinetuneConfig:
    """Variable-binding / arithmetic fine-tune of `base` (makes `finetuned`).

    Attributes:
        steps, batch_size, lr: AdamW schedule (constant learning rate).
        n_vars: range of the number of variables per prompt (at least as many as the 7 boxes of the evaluation,
            so that the task exercises binding lookup at that length).
        arithmetic_fraction: share of digit prompts that ask for a sum ('q+c=') rather than a value ('q=').
        word_fraction: share of prompts binding words ('Let x = fig, ... Then q =') rather than digits.
        eval_every: measure 7-box entity-tracking accuracy on `eval_prompts` held-out prompts (drawn with
            `eval_seed`) every this many steps (0: never); recorded in training.json, never used for training.
        seed: data and initialisation seed.
    """

    steps: int = 150
    batch_size: int = 8
    lr: float = 1e-4
    n_vars: tuple[int, int] = (5, 10)
    arithmetic_fraction: float = 0.5
    word_fraction: float = 0.5
    eval_every: int = 50
    eval_prompts: int = 200
    eval_seed: int = 4242
    seed: int = 11

    def __post_init__(self) -> None:
        check_count(self, "steps", 1)
        check_count(self, "batch_size", 1)
        check_positive(self, "lr")
        check_length(self, "n_vars", 2)
        check_range(self, "arithmetic_fraction", 0, 1)
        check_range(self, "word_fraction", 0, 1)
        fewest = 2 if self.arithmetic_fraction > 0 else 1  # a sum names two variables
        check_count(self, "n_vars[0]", fewest)
        check_count(self, "n_vars[1]", self.n_vars[0], min(len(_VARS), len(OBJECTS)))
        check_count(self, "eval_every", 0)
        check_count(self, "eval_prompts", 1)
        check_count(self, "eval_seed")
        check_count(self, "seed")


def variable_binding_examples(
    n: int, *, n_vars: tuple[int, int] = (3, 6), arithmetic_fraction: float = 0.5, seed: int = 0
) -> list[tuple[str, str]]:
    """(prompt, answer) pairs: 'x=3, q=7, c=2. q=' -> '7' and 'x=3, q=4, c=2. q+c=' -> '6' (answers < 10)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k = rng.randint(*n_vars)
        names = rng.sample(_VARS, k)
        values = [rng.randrange(10) for _ in names]
        context = ", ".join(f"{a}={v}" for a, v in zip(names, values, strict=False)) + "."
        if rng.random() < arithmetic_fraction:
            i, j = rng.sample(range(k), 2)
            while values[i] + values[j] >= 10:
                values[j] = rng.randrange(10 - values[i])
            context = ", ".join(f"{a}={v}" for a, v in zip(names, values, strict=False)) + "."
            out.append((f"{context} {names[i]}+{names[j]}=", str(values[i] + values[j])))
        else:
            i = rng.randrange(k)
            out.append((f"{context} {names[i]}=", str(values[i])))
    return out


def word_binding_examples(n: int, *, n_vars: tuple[int, int] = (3, 7), seed: int = 0) -> list[tuple[str, str]]:
    """(prompt, ' word') pairs: 'Let x = fig, q = engine, c = radio. Then q =' -> ' engine'."""
    from tinkerlab.circuits.data import OBJECTS

    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k = rng.randint(*n_vars)
        names = rng.sample(_VARS, k)
        words = rng.sample(OBJECTS, k)
        i = rng.randrange(k)
        context = ", ".join(f"{a} = {w}" for a, w in zip(names, words, strict=False))
        out.append((f"Let {context}. Then {names[i]} =", " " + words[i]))
    return out


def entity_examples(n: int, *, min_boxes: int, max_boxes: int, seed: int) -> list[tuple[str, str]]:
    """(prompt, ' object') pairs with a random number of boxes each."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        prompt = random_prompts(1, n_boxes=rng.randint(min_boxes, max_boxes), seed=seed * 1_000_003 + i)[0]
        out.append((prompt.text(), " " + prompt.answer))
    return out


def answer_token_loss(model, tokenizer, examples: list[tuple[str, str]]) -> torch.Tensor:
    """Cross-entropy of the answer's first token after each prompt (right-padded batch)."""
    prompts = [tokenizer(p, add_special_tokens=True).input_ids for p, _ in examples]
    answers = [
        tokenizer(p + a, add_special_tokens=True).input_ids[len(ids)]
        for (p, a), ids in zip(examples, prompts, strict=False)
    ]
    length = max(len(ids) for ids in prompts)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    input_ids = torch.tensor([ids + [pad] * (length - len(ids)) for ids in prompts])  # [B, L]
    mask = torch.tensor([[1] * len(ids) + [0] * (length - len(ids)) for ids in prompts])
    logits = model(input_ids, attention_mask=mask, use_cache=False).logits  # [B, L, V]
    last = torch.tensor([len(ids) - 1 for ids in prompts])
    return torch.nn.functional.cross_entropy(logits[torch.arange(len(prompts)), last], torch.tensor(answers))


def train_on(
    model,
    tokenizer,
    examples: list[tuple[str, str]],
    *,
    steps: int,
    batch_size: int,
    lr: float,
    seed: int,
    description: str,
    every: int = 0,
    probe=None,
) -> tuple[list[float], list[tuple[int, float]]]:
    """AdamW on the answer-token loss.

    Args:
        every, probe: call probe(model) (in eval mode, no gradients) before training and every `every` steps.

    Returns:
        (loss per step, [(step, probe value), ...]).
    """
    torch.manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    losses, probes = [], []

    def measure(step: int) -> None:
        if probe is not None and every and step % every == 0:
            model.eval()
            probes.append((step, float(probe(model))))

    measure(0)
    model.requires_grad_(True)
    for step in track(range(steps), description):
        model.train()
        batch = examples[step * batch_size : (step + 1) * batch_size]
        loss = answer_token_loss(model, tokenizer, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        if step + 1 < steps:
            measure(step + 1)
    model.eval()
    model.requires_grad_(False)
    if probe is not None and every:
        probes.append((steps, float(probe(model))))
    return losses, probes


def _save(model, tokenizer, name: str, record: dict) -> Path:
    out = model_dir(name)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / "training.json").write_text(json.dumps(record, indent=2) + "\n")
    return out


def make_base(config: WarmupConfig = WarmupConfig()) -> Path:
    """Warm the original model up on entity tracking with few boxes; save it as `base`."""
    model, tokenizer = load_model("original")
    examples = entity_examples(
        config.steps * config.batch_size,
        min_boxes=config.min_boxes,
        max_boxes=config.max_boxes,
        seed=config.seed,
    )
    start = time.perf_counter()
    losses, _ = train_on(
        model,
        tokenizer,
        examples,
        steps=config.steps,
        batch_size=config.batch_size,
        lr=config.lr,
        seed=config.seed,
        description="entity-tracking warm-up",
    )
    record = {
        "from": "original",
        "task": "entity tracking warm-up",
        "config": config_to_dict(config),
        "losses": losses,
        "seconds": time.perf_counter() - start,
    }
    return _save(model, tokenizer, "base", record)


def make_finetuned(config: FinetuneConfig = FinetuneConfig()) -> Path:
    """Fine-tune `base` on variable binding and arithmetic only; save it as `finetuned`."""
    model, tokenizer = load_model("base")
    total = config.steps * config.batch_size
    n_words = int(round(config.word_fraction * total))
    examples = variable_binding_examples(
        total - n_words,
        n_vars=config.n_vars,
        arithmetic_fraction=config.arithmetic_fraction,
        seed=config.seed,
    )
    examples += word_binding_examples(n_words, n_vars=config.n_vars, seed=config.seed + 1)
    random.Random(config.seed).shuffle(examples)
    probe_batch = entity_batch(tokenizer, config.eval_prompts, n_boxes=7, seed=config.eval_seed)
    start = time.perf_counter()
    losses, curve = train_on(
        model,
        tokenizer,
        examples,
        steps=config.steps,
        batch_size=config.batch_size,
        lr=config.lr,
        seed=config.seed,
        description="variable-binding fine-tune",
        every=config.eval_every,
        probe=lambda m: accuracy(m, probe_batch),
    )
    record = {
        "from": "base",
        "task": "variable binding + arithmetic",
        "config": config_to_dict(config),
        "losses": losses,
        "entity_tracking_accuracy": curve,
        "entity_tracking_prompts": {"n": config.eval_prompts, "n_boxes": 7, "seed": config.eval_seed},
        "seconds": time.perf_counter() - start,
    }
    return _save(model, tokenizer, "finetuned", record)
