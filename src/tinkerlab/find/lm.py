"""The language model behind FIND's entity and relation functions, with an on-disk cache of its outputs.

FIND (Schwettmann et al., NeurIPS 2023 D&B) builds its "neurons" from Vicuna-13B: an entity function returns
P("1") for "is this input related to {concept}", read from next-token probabilities; a relation function is
the model's short answer to a rule. Here any transformers causal LM plays that part; the default is the
embedded SmolLM2-135M-Instruct (``local``) and ``local:PATH`` picks another model folder or GGUF file.

Outputs are cached in SQLite under the user cache (keyed by the model name and the exact prompt), so the same
query never runs the model twice, across processes too.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from tinkerlab.core.errors import InputError
from tinkerlab.core.seeding import torch_threads


class OutputCache:
    """A tiny SQLite key-value store for LM outputs (safe to share between processes)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS outputs (key TEXT PRIMARY KEY, value TEXT)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    @staticmethod
    def key(*parts: str) -> str:
        return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()

    def get(self, key: str) -> Any | None:
        with self._lock, self._connect() as db:
            row = db.execute("SELECT value FROM outputs WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key: str, value: Any) -> None:
        with self._lock, self._connect() as db:
            db.execute("INSERT OR REPLACE INTO outputs (key, value) VALUES (?, ?)", (key, json.dumps(value)))


def _takes_logits_to_keep(model: Any) -> bool:
    """Whether the model's forward takes ``logits_to_keep`` (transformers causal LMs do): then only the last
    position's logits are computed, which skips the vocabulary projection at every other position."""
    import inspect

    try:
        return "logits_to_keep" in inspect.signature(model.forward).parameters
    except (TypeError, ValueError, AttributeError):
        return False


class FunctionLM:
    """A causal LM answering FIND's entity and relation prompts.

    Prompts are run in batches with left padding (one forward pass per batch for `prob_one_many`, and
    KV-cached greedy generation with ``model.generate`` for `answer_many`), under `torch.inference_mode`.

    Args:
        model: a transformers causal LM (called with ``input_ids``, ``attention_mask`` and ``position_ids``,
            returning ``.logits``; ``generate`` is used for answers when it exists).
        tokenizer: has ``encode(text, add_special_tokens=False)`` and ``decode(ids)``; a chat template is used
            when it has one.
        name: identifies the model in the cache.
        cache: where outputs are cached (None: no cache).
        batch_size: prompts per forward pass.
        threads: torch threads while the model runs (restored afterwards); None leaves torch's setting.

    Attributes:
        forward_passes: batched forward passes run so far (a generation counts one per new token).
        prompts_run: prompts that missed the cache and went through the model.

    Example:
        >>> lm = load_function_lm("local")  # doctest: +SKIP
        >>> lm.prob_one_many(entities.instruction(["golf"]), ["putter", "tractor"])  # doctest: +SKIP
        [0.97, 0.12]
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        name: str,
        cache: OutputCache | None = None,
        *,
        batch_size: int = 16,
        threads: int | None = 1,
    ) -> None:
        if batch_size < 1:
            raise InputError(f"batch_size must be at least 1, got {batch_size}")
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.cache = cache
        self.batch_size = batch_size
        self.threads = threads
        self.forward_passes = 0
        self.prompts_run = 0
        self._one = self._token_id("1")
        self._zero = self._token_id("0")
        pad = getattr(tokenizer, "pad_token_id", None)
        if pad is None:
            pad = getattr(tokenizer, "eos_token_id", None)
        self._pad = int(pad) if pad is not None else 0
        self._logits_to_keep = _takes_logits_to_keep(model)

    def _token_id(self, text: str) -> int:
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        if not ids:
            raise InputError(f"the tokenizer of {self.name} has no token for {text!r}")
        return int(ids[-1])

    def _prompt(self, instruction: str, text: str) -> str:
        user = f"{instruction}\nInput: {text}"
        template = getattr(self.tokenizer, "chat_template", None)
        if template:
            return self.tokenizer.apply_chat_template(
                [{"role": "user", "content": user}], add_generation_prompt=True, tokenize=False
            )
        return f"{user}\nAnswer:"

    def _batch(self, prompts: list[str]):
        """Left-padded ``input_ids``, ``attention_mask`` and ``position_ids``, each (B, T)."""
        import torch

        encoded = [list(self.tokenizer.encode(p, add_special_tokens=False)) for p in prompts]
        width = max(len(ids) for ids in encoded)
        input_ids = torch.full((len(encoded), width), self._pad, dtype=torch.long)  # (B, T)
        mask = torch.zeros((len(encoded), width), dtype=torch.long)  # (B, T)
        for row, ids in enumerate(encoded):
            input_ids[row, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
            mask[row, width - len(ids) :] = 1
        positions = (mask.cumsum(dim=1) - 1).clamp(min=0)  # (B, T): real tokens start at 0
        return input_ids, mask, positions

    def last_logits(self, prompts: list[str]):
        """Next-token logits after each prompt, from one left-padded forward pass.

        Returns:
            a float tensor (len(prompts), vocab).
        """
        import torch

        input_ids, mask, positions = self._batch(prompts)
        extra = {"logits_to_keep": 1} if self._logits_to_keep else {}
        with torch_threads(self.threads), torch.inference_mode():
            out = self.model(input_ids=input_ids, attention_mask=mask, position_ids=positions, **extra)
        self.forward_passes += 1
        return out.logits[:, -1].float()  # (B, vocab): left padding puts every prompt's end in the last column

    def _cached(self, keys: list[str]) -> dict[int, Any]:
        if self.cache is None:
            return {}
        hits = {}
        for index, key in enumerate(keys):
            value = self.cache.get(key)
            if value is not None:
                hits[index] = value
        return hits

    def prob_one_many(self, instruction: str, texts: list[str]) -> list[float]:
        """P("1") as the next token for each input, normalised over the two answers "0" and "1".

        Args:
            instruction: the neuron's instruction (names the concept).
            texts: the input words.

        Returns:
            one probability in [0, 1] per input.
        """
        import torch

        prompts = [self._prompt(instruction, t) for t in texts]
        keys = [OutputCache.key("prob_one", self.name, p) for p in prompts]
        values: dict[int, Any] = self._cached(keys)
        missing = [i for i in range(len(prompts)) if i not in values]
        for start in range(0, len(missing), self.batch_size):
            chunk = missing[start : start + self.batch_size]
            logits = self.last_logits([prompts[i] for i in chunk])  # (B, vocab)
            pair = torch.stack([logits[:, self._one], logits[:, self._zero]], dim=1)  # (B, 2)
            probs = torch.softmax(pair, dim=1)[:, 0]  # (B,)
            self.prompts_run += len(chunk)
            for index, value in zip(chunk, probs.tolist(), strict=False):
                values[index] = float(value)
                if self.cache is not None:
                    self.cache.put(keys[index], float(value))
        return [float(values[i]) for i in range(len(prompts))]

    def continuation_logprob_many(self, prefixes: list[str], texts: list[str]) -> list[float]:
        """log P(" " + text | prefix) summed over the text's tokens, for each (prefix, text) pair (plain text,
        no chat template); batched with left padding and cached.

        Args:
            prefixes: the contexts.
            texts: the continuations, one per prefix.

        Returns:
            one log-probability (<= 0) per pair.
        """
        import torch

        if len(prefixes) != len(texts):
            raise InputError(f"expected as many prefixes as texts, got {len(prefixes)} and {len(texts)}")
        keys = [OutputCache.key("continuation", self.name, p, t) for p, t in zip(prefixes, texts, strict=False)]
        values: dict[int, Any] = self._cached(keys)
        missing = [i for i in range(len(keys)) if i not in values]
        for start in range(0, len(missing), self.batch_size):
            chunk = missing[start : start + self.batch_size]
            heads = [list(self.tokenizer.encode(prefixes[i], add_special_tokens=False)) for i in chunk]
            tails = [list(self.tokenizer.encode(" " + texts[i], add_special_tokens=False)) for i in chunk]
            width = max(len(h) + len(t) for h, t in zip(heads, tails, strict=False))
            input_ids = torch.full((len(chunk), width), self._pad, dtype=torch.long)  # (B, T)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)  # (B, T)
            for row, (head, tail) in enumerate(zip(heads, tails, strict=False)):
                ids = head + tail
                input_ids[row, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
                mask[row, width - len(ids) :] = 1
            positions = (mask.cumsum(dim=1) - 1).clamp(min=0)  # (B, T)
            with torch_threads(self.threads), torch.inference_mode():
                logits = self.model(input_ids=input_ids, attention_mask=mask, position_ids=positions).logits
            self.forward_passes += 1
            self.prompts_run += len(chunk)
            logp = torch.log_softmax(logits.float(), dim=-1)  # (B, T, vocab)
            for row, (index, tail) in enumerate(zip(chunk, tails, strict=False)):
                # the token at column c is predicted by the logits at column c - 1
                cols = range(width - len(tail), width)
                value = float(sum(logp[row, c - 1, input_ids[row, c]] for c in cols))
                values[index] = value
                if self.cache is not None:
                    self.cache.put(keys[index], value)
        return [float(values[i]) for i in range(len(keys))]

    def _generate(self, prompts: list[str], max_tokens: int) -> list[list[int]]:
        """Greedy continuations (token ids) of a batch of prompts, KV-cached."""
        import torch

        input_ids, mask, positions = self._batch(prompts)
        eos = getattr(self.tokenizer, "eos_token_id", None)
        with torch_threads(self.threads), torch.inference_mode():
            if hasattr(self.model, "generate"):
                out = self.model.generate(
                    input_ids=input_ids,
                    attention_mask=mask,
                    max_new_tokens=max_tokens,
                    do_sample=False,
                    use_cache=True,
                    pad_token_id=self._pad,
                    eos_token_id=eos,
                    temperature=None,
                    top_p=None,
                    top_k=None,
                )  # (B, T + new)
                self.forward_passes += out.shape[1] - input_ids.shape[1]
                new = out[:, input_ids.shape[1] :].tolist()
            else:  # a plain module: greedy steps with its past key values
                new = [[] for _ in prompts]
                past = None
                step_ids, step_pos = input_ids, positions
                for _ in range(max_tokens):
                    result = self.model(
                        input_ids=step_ids,
                        attention_mask=mask,
                        position_ids=step_pos,
                        past_key_values=past,
                        use_cache=True,
                    )
                    self.forward_passes += 1
                    past = result.past_key_values
                    next_ids = result.logits[:, -1].argmax(dim=-1)  # (B,)
                    for row, token in enumerate(next_ids.tolist()):
                        new[row].append(token)
                    step_ids = next_ids[:, None]  # (B, 1)
                    step_pos = step_pos[:, -1:] + 1  # (B, 1)
                    mask = torch.cat([mask, torch.ones_like(step_ids)], dim=1)  # (B, T + k)
        return [ids[: ids.index(eos)] if eos is not None and eos in ids else ids for ids in new]

    def answer_many(self, instruction: str, texts: list[str], *, max_tokens: int = 8) -> list[str]:
        """Short greedy answers (first line, stripped), one per input, generated in batches.

        Args:
            instruction: the rule (and few-shot examples).
            texts: the inputs.
            max_tokens: the most tokens generated per answer.
        """
        prompts = [self._prompt(instruction, t) for t in texts]
        keys = [OutputCache.key("answer", self.name, p, str(max_tokens)) for p in prompts]
        values: dict[int, Any] = self._cached(keys)
        missing = [i for i in range(len(prompts)) if i not in values]
        for start in range(0, len(missing), self.batch_size):
            chunk = missing[start : start + self.batch_size]
            generated = self._generate([prompts[i] for i in chunk], max_tokens)
            self.prompts_run += len(chunk)
            for index, ids in zip(chunk, generated, strict=False):
                text = self.tokenizer.decode(ids, skip_special_tokens=True).strip().split("\n")[0].strip()
                values[index] = text
                if self.cache is not None:
                    self.cache.put(keys[index], text)
        return [str(values[i]) for i in range(len(prompts))]

    def answer(self, instruction: str, text: str, *, max_tokens: int = 8) -> str:
        """A short greedy answer for one input (see `answer_many`)."""
        return self.answer_many(instruction, [text], max_tokens=max_tokens)[0]


_LOADED: dict[str, FunctionLM] = {}


def load_function_lm(spec: str = "local", *, cache: bool = True) -> FunctionLM:
    """Load (once per process) the LM named by `spec`: 'local' or 'local:PATH'.

    Raises:
        InputError: another kind of spec.
        MissingAssetError / MissingDependencyError: the model or transformers is not installed.
    """
    if spec in _LOADED:
        return _LOADED[spec]
    if spec == "local":
        source = None
    elif spec.startswith("local:"):
        source = spec.split(":", 1)[1]
    else:
        raise InputError(
            f"the LM behind entity/relation functions must be 'local' or 'local:PATH' (a transformers folder "
            f"or a .gguf file), got {spec!r}"
        )
    from tinkerlab.core.paths import cache_dir
    from tinkerlab.core.progress import quiet_transformers
    from tinkerlab.llm.local import load_local_model

    with quiet_transformers():
        loaded = load_local_model(source)
    name = "SmolLM2-135M-Instruct" if source is None else str(Path(source).expanduser().resolve())
    store = OutputCache(cache_dir("find", "lm") / "outputs.sqlite") if cache else None
    lm = FunctionLM(loaded.model, loaded.tokenizer, name=name, cache=store)
    _LOADED[spec] = lm
    return lm
