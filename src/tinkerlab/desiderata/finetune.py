"""A small variable-binding fine-tune of SmolLM2-135M, so that the model does the task the masks explain.

Part of `tinkerlab.desiderata` (Davies et al., "Discovering Variable Binding Circuitry with Desiderata", 2023). The
paper studies LLaMA-13B, which does these prompts out of the box; SmolLM2-135M (the packaged GGUF, dequantised by
`tinkerlab.llm`) does not, so it is trained a few hundred AdamW steps on prompts of every operation of the task
(training and held-out: the held-out operations are held out from the *mask*, not from the model), with the loss on
the answer token only. The result is cached in `cache_dir("desiderata", "models", "binding")` with a
`training.json` record (config, loss curve, task accuracy per operation before and after).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

from tinkerlab.core.config import check_count, check_positive, config_to_dict
from tinkerlab.core.paths import cache_dir
from tinkerlab.core.progress import track
from tinkerlab.desiderata.tasks import BindingTask, encode, task_examples

FINETUNED_NAME = "binding"


@dataclass(frozen=True)
class FinetuneConfig:
    """AdamW on the answer token: steps x batch_size prompts of `task` (every operation)."""

    steps: int = 150
    batch_size: int = 8
    lr: float = 1e-4
    seed: int = 0
    eval_prompts: int = 50
    eval_seed: int = 999

    def __post_init__(self) -> None:
        check_count(self, "steps", 1)
        check_count(self, "batch_size", 1)
        check_positive(self, "lr")
        check_count(self, "seed")
        check_count(self, "eval_prompts", 1)
        check_count(self, "eval_seed")


def model_dir(name: str = FINETUNED_NAME) -> Path:
    return cache_dir("desiderata", "models", name)


def is_cached(name: str = FINETUNED_NAME) -> bool:
    return (model_dir(name) / "config.json").is_file()


def _batch(tokenizer, examples: list[tuple[str, str]]):
    import torch

    prompts = [encode(tokenizer, p) for p, _ in examples]
    answers = [encode(tokenizer, a, special=False)[0] for _, a in examples]
    length = max(len(ids) for ids in prompts)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ids = torch.tensor([p + [pad] * (length - len(p)) for p in prompts])
    mask = torch.tensor([[1] * len(p) + [0] * (length - len(p)) for p in prompts])
    last = torch.tensor([len(p) - 1 for p in prompts])
    return ids, mask, last, torch.tensor(answers)


def answer_logits(model, ids, mask, last):
    """[B, V] next-token logits at each row's last prompt position (the unembedding runs on those rows only)."""
    import torch

    hidden = model.model(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state  # [B, S, D]
    return model.lm_head(hidden[torch.arange(ids.shape[0]), last])


def task_accuracy(model, tokenizer, task: BindingTask, *, n: int = 100, seed: int = 999) -> dict[str, float]:
    """Accuracy (argmax of the next token == the answer) per operation on n fresh prompts each."""
    import torch

    out = {}
    for op in task.operations:
        examples = task_examples(task, n, seed=seed, ops=(op,))
        ids, mask, last, answers = _batch(tokenizer, examples)
        with torch.inference_mode():
            logits = answer_logits(model, ids, mask, last)
        out[op] = float((logits.argmax(-1) == answers).float().mean())
    return out


def make_finetuned(
    task: BindingTask | None = None,
    config: FinetuneConfig = FinetuneConfig(),
    *,
    name: str = FINETUNED_NAME,
    log=lambda message: None,
) -> Path:
    """Fine-tune the packaged SmolLM2-135M on `task` (default `BindingTask()`); save it in `model_dir(name)`."""
    import torch

    task = BindingTask() if task is None else task
    from tinkerlab.llm.local import load_local_model

    loaded = load_local_model()
    model, tokenizer = loaded.model, loaded.tokenizer
    model.eval()
    before = task_accuracy(model, tokenizer, task, n=config.eval_prompts, seed=config.eval_seed)
    log(f"task accuracy before the fine-tune: {before}")
    examples = task_examples(task, config.steps * config.batch_size, seed=config.seed)
    random.Random(config.seed).shuffle(examples)
    torch.manual_seed(config.seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.0)
    model.requires_grad_(True)
    losses = []
    start = time.perf_counter()
    for step in track(range(config.steps), "variable-binding fine-tune"):
        model.train()
        ids, mask, last, answers = _batch(
            tokenizer, examples[step * config.batch_size : (step + 1) * config.batch_size]
        )
        logits = answer_logits(model, ids, mask, last)
        loss = torch.nn.functional.cross_entropy(logits, answers)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        if (step + 1) % 25 == 0:
            log(f"step {step + 1}: mean loss of the last 25 steps {sum(losses[-25:]) / 25:.3f}")
    seconds = time.perf_counter() - start
    model.eval()
    model.requires_grad_(False)
    after = task_accuracy(model, tokenizer, task, n=config.eval_prompts, seed=config.eval_seed)
    out = model_dir(name)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    record = {
        "from": "SmolLM2-135M-Instruct (packaged GGUF)",
        "task": config_to_dict(task),
        "config": config_to_dict(config),
        "losses": losses,
        "accuracy_before": before,
        "accuracy_after": after,
        "seconds": seconds,
    }
    (out / "training.json").write_text(json.dumps(record, indent=2) + "\n")
    return out
