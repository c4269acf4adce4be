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


class FunctionLM:
    """A causal LM answering FIND's entity and relation prompts.

    Args:
        model: a transformers causal LM (or any module called as ``model(input_ids=...)`` returning ``.logits``).
        tokenizer: has ``encode(text, add_special_tokens=False)`` and ``decode(ids)``; a chat template is used
            when it has one.
        name: identifies the model in the cache.
        cache: where outputs are cached (None: no cache).

    Example:
        >>> lm = load_function_lm("local")  # doctest: +SKIP
        >>> lm.prob_one("Return only 1 if the input is related to golf...", "putter")  # doctest: +SKIP
        0.93
    """

    def __init__(self, model: Any, tokenizer: Any, name: str, cache: OutputCache | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.cache = cache
        self.forward_passes = 0
        self._one = self._token_id("1")
        self._zero = self._token_id("0")

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

    def _logits(self, ids: list[int]):
        import torch

        with torch.no_grad():
            out = self.model(input_ids=torch.tensor([ids], dtype=torch.long))
        self.forward_passes += 1
        return out.logits[0, -1]  # (vocab,)

    def prob_one(self, instruction: str, text: str) -> float:
        """P("1") as the next token, normalised over the two answers "0" and "1".

        Args:
            instruction: the neuron's instruction (names the concept).
            text: the input word.

        Returns:
            a probability in [0, 1].
        """
        import torch

        prompt = self._prompt(instruction, text)
        key = OutputCache.key("prob_one", self.name, prompt)
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                return float(hit)
        logits = self._logits(self.tokenizer.encode(prompt, add_special_tokens=False))
        pair = torch.stack([logits[self._one], logits[self._zero]]).float()  # (2,)
        value = float(torch.softmax(pair, dim=0)[0])
        if self.cache is not None:
            self.cache.put(key, value)
        return value

    def answer(self, instruction: str, text: str, *, max_tokens: int = 8) -> str:
        """A short greedy answer (first line, stripped).

        Args:
            instruction: the rule (and few-shot examples).
            text: the input.
            max_tokens: the most tokens generated.
        """
        prompt = self._prompt(instruction, text)
        key = OutputCache.key("answer", self.name, prompt, str(max_tokens))
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                return str(hit)
        ids = list(self.tokenizer.encode(prompt, add_special_tokens=False))
        start = len(ids)
        eos = getattr(self.tokenizer, "eos_token_id", None)
        for _ in range(max_tokens):
            next_id = int(self._logits(ids).argmax())
            if eos is not None and next_id == eos:
                break
            ids.append(next_id)
            if "\n" in self.tokenizer.decode(ids[start:]).strip("\n"):
                break
        text_out = self.tokenizer.decode(ids[start:], skip_special_tokens=True).strip().split("\n")[0].strip()
        if self.cache is not None:
            self.cache.put(key, text_out)
        return text_out


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
    from tinkerlab.llm.local import load_local_model, quiet_transformers

    with quiet_transformers():
        loaded = load_local_model(source)
    name = "SmolLM2-135M-Instruct" if source is None else str(Path(source).expanduser().resolve())
    store = OutputCache(cache_dir("find", "lm") / "outputs.sqlite") if cache else None
    lm = FunctionLM(loaded.model, loaded.tokenizer, name=name, cache=store)
    _LOADED[spec] = lm
    return lm
