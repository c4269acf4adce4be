"""Judges of FIND's language unit tests that need no generating chat model (Schwettmann et al., NeurIPS 2023 D&B).

- `EmbeddingJudge`: an offline proxy (MiniLM sentence similarity), not the paper's metric;
- `LogprobJudge`: a local LM that compares the three options' log-probabilities, position-debiased.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinkerlab.core.errors import InputError
from tinkerlab.find.metrics import UNIT_TEST_SYSTEM_PROMPT, unit_test_prompt


class EmbeddingJudge:
    """An offline stand-in for the evaluator LM: picks the candidate whose text is most similar to the
    description under the all-MiniLM-L6-v2 sentence encoder (mean-pooled, cosine).

    This is *not* the paper's metric (an LM judge); it gives a cheap, deterministic proxy where no capable chat
    model is at hand, and results made with it are labelled ``embedding-judge``.
    """

    name = "embedding-judge"

    def __init__(self) -> None:
        from tinkerlab.vision.text import TextEncoder

        self.encoder = TextEncoder(max_length=128)
        self._cache: dict[str, np.ndarray] = {}

    def embed_cached(self, texts: list[str]) -> np.ndarray:
        """Embeddings of `texts`, each text encoded once per judge."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            for text, vector in zip(missing, self.embed(missing), strict=False):
                self._cache[text] = vector
        return np.stack([self._cache[t] for t in texts])

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.encoder(texts)

    def choose(self, category: str, description: str, item: dict[str, Any]) -> int:
        """1-based index of the candidate closest to the description."""
        return self.choose_many(category, description, [item])[0]

    def choose_many(self, category: str, description: str, items: list[dict[str, Any]]) -> list[int]:
        """`choose` for each item; the description and every item's candidates are encoded in one batch."""
        texts = [self._candidates(category, item) for item in items]
        vectors = self.embed_cached([description] + [t for candidates in texts for t in candidates])
        picks, start = [], 1
        for candidates in texts:
            block = vectors[start : start + len(candidates)]
            picks.append(int(np.argmax(block @ vectors[0])) + 1)
            start += len(candidates)
        return picks

    @staticmethod
    def _candidates(category: str, item: dict[str, Any]) -> list[str]:
        if category == "entities":
            return [str(c) for c in item["candidates"]]
        return [f"{i} -> {o}" for i, o in item["candidates"]]


class LogprobJudge:
    """An LM judge of the three-way unit tests that reads log-probabilities instead of generating.

    The judge sees the same prompt as a generating evaluator (`UNIT_TEST_SYSTEM_PROMPT` and `unit_test_prompt`, in
    the chat template) with the
    reply prefilled as ``[ANSWER]: `` and picks the index token ("1", "2" or "3") with the highest next-token
    log-probability: one forward pass per item, deterministic, and always a valid answer. With ``debias`` each
    item is also asked with its candidates rotated (three orders), and a candidate's score is the sum of its
    log-probabilities (normalised over the three index tokens) at the positions it was shown in, which cancels
    the strong preference small models have for one position.

    Args:
        chat_model: a local chat model (``tinkerlab.llm.load_chat_model("local")`` or ``local:PATH``), whose
            ``model`` and ``tokenizer`` are used.
        debias: average over the three rotations of the candidates (three forward passes per item).
        batch_size: prompts per forward pass.
        threads: torch threads while judging (restored afterwards; None leaves torch's setting).

    Raises:
        InputError: the chat model exposes no local ``model`` and ``tokenizer`` (a remote API model).
    """

    def __init__(self, chat_model: Any, *, debias: bool = True, batch_size: int = 8, threads: int | None = 1) -> None:
        from tinkerlab.find.lm import FunctionLM

        model = getattr(chat_model, "model", None)
        tokenizer = getattr(chat_model, "tokenizer", None)
        if model is None or tokenizer is None:
            raise InputError(
                f"the log-probability judge needs a local chat model (local or local:PATH), got "
                f"{getattr(chat_model, 'name', type(chat_model).__name__)!r}"
            )
        self.debias = debias
        self.name = f"logprob{'-debiased' if debias else ''}:{getattr(chat_model, 'name', 'local')}"
        self.lm = FunctionLM(model, tokenizer, name=self.name, cache=None, batch_size=batch_size, threads=threads)
        self._choices = [self.lm._token_id(str(k)) for k in (1, 2, 3)]

    def _prompt(self, category: str, description: str, item: dict[str, Any]) -> str:
        text = unit_test_prompt(category, description, item)
        tokenizer = self.lm.tokenizer
        if getattr(tokenizer, "chat_template", None):
            messages = [{"role": "system", "content": UNIT_TEST_SYSTEM_PROMPT}, {"role": "user", "content": text}]
            text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        else:
            text = f"{UNIT_TEST_SYSTEM_PROMPT}\n\n{text}\n"
        return text + "[ANSWER]: "

    def choice_logprobs(self, category: str, description: str, items: list[dict[str, Any]]) -> np.ndarray:
        """Log-probabilities of the three candidates of each item, normalised over them.

        Returns:
            an array (len(items), 3), columns in the items' own candidate order.
        """
        import torch

        shifts = (0, 1, 2) if self.debias else (0,)
        prompts, where = [], []
        for row, item in enumerate(items):
            for shift in shifts:
                order = [(k + shift) % 3 for k in range(3)]  # shown position -> original candidate
                shown = dict(item, candidates=[item["candidates"][k] for k in order])
                prompts.append(self._prompt(category, description, shown))
                where.append((row, order))
        totals = np.zeros((len(items), 3))
        for start in range(0, len(prompts), self.lm.batch_size):
            logits = self.lm.last_logits(prompts[start : start + self.lm.batch_size])  # (B, vocab)
            logp = torch.log_softmax(logits[:, self._choices], dim=1).numpy()  # (B, 3)
            for offset, values in enumerate(logp):
                row, order = where[start + offset]
                for position, original in enumerate(order):
                    totals[row, original] += values[position]
        return totals / len(shifts)

    def choose_many(self, category: str, description: str, items: list[dict[str, Any]]) -> list[int]:
        """1-based index of the picked candidate for each item."""
        return [int(k) + 1 for k in self.choice_logprobs(category, description, items).argmax(axis=1)]

    def choose(self, category: str, description: str, item: dict[str, Any]) -> int:
        return self.choose_many(category, description, [item])[0]
