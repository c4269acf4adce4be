"""CLIP's byte-level BPE tokenizer, with the vocabulary file that the installed open-clip-torch package ships.

Text is cleaned (ftfy when installed, HTML entities unescaped, whitespace collapsed), lower-cased, split by CLIP's
pattern, byte-encoded, merged by rank, and wrapped in start/end tokens, padded or truncated to the context length.
Its ids equal open_clip's `SimpleTokenizer` on the cases in tests/vision/test_vision_clip.py.
"""

from __future__ import annotations

import functools
import gzip
import html
import importlib.util
import math
from collections.abc import Sequence
from pathlib import Path

import torch

from tinkerlab.core.errors import InputError

VOCAB_FILE = "bpe_simple_vocab_16e6.txt.gz"
INSTALL_HINT = "run `make clip` or `pip install --no-deps open-clip-torch` (it provides the configs and vocabulary)"


def open_clip_folder() -> Path:
    """The folder of the installed open_clip package, found without importing it (its import needs torchvision).

    Raises:
        InputError: open-clip-torch is not installed.
    """
    try:
        spec = importlib.util.find_spec("open_clip")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise InputError(f"expected the open-clip-torch package (CLIP configs, vocabulary), got none; {INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations)))


def open_clip_available() -> bool:
    """Whether the open-clip-torch package (configs and vocabulary) is installed."""
    try:
        open_clip_folder()
    except InputError:
        return False
    return True


@functools.cache
def _byte_symbols() -> dict[int, str]:
    """Every byte -> a printable character: printable Latin-1 bytes stand for themselves, the rest for 256 + i."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {b: chr(b) for b in keep}  # insertion order is the vocabulary order: these first, then the rest
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + len(table) - len(keep))
    return table


@functools.cache
def _vocabulary(path: str) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    """(symbol -> id, merge pair -> rank) from CLIP's gzipped merges file."""
    lines = gzip.open(path).read().decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1 : 49152 - 256 - 2 + 1]]
    symbols = list(_byte_symbols().values())
    vocab = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges]
    vocab += ["<start_of_text>", "<end_of_text>"]
    return {s: i for i, s in enumerate(vocab)}, {m: r for r, m in enumerate(merges)}  # type: ignore[misc]


class ClipTokenizer:
    """CLIP's byte-level BPE tokenizer over open_clip's vocabulary file (49408 ids).

    Text is cleaned (ftfy, when installed; HTML entities unescaped; whitespace collapsed), lower-cased, split into
    words, numbers and punctuation runs, and each piece is BPE-merged. `__call__` wraps every text in start/end
    tokens and pads with 0 (or truncates, keeping the end token) to `context_length`.

    Args:
        vocab_path: open_clip's ``bpe_simple_vocab_16e6.txt.gz`` (default: the installed package's).
        context_length: ids per text.
    """

    def __init__(self, vocab_path: str | Path | None = None, context_length: int = 77) -> None:
        import regex

        path = Path(vocab_path) if vocab_path is not None else open_clip_folder() / VOCAB_FILE
        if not path.is_file():
            raise InputError(f"expected CLIP's BPE vocabulary file, got {str(path)!r} (missing); {INSTALL_HINT}")
        self.encoder, self.ranks = _vocabulary(str(path))
        self.context_length = context_length
        self.start_id = self.encoder["<start_of_text>"]
        self.end_id = self.encoder["<end_of_text>"]
        self.pattern = regex.compile(
            r"""<start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
            regex.IGNORECASE,
        )
        self._cache: dict[str, list[str]] = {}

    @staticmethod
    def clean(text: str) -> str:
        """ftfy (if installed), HTML unescaping, whitespace collapsed, lower case."""
        try:
            import ftfy

            text = ftfy.fix_text(text)
        except ImportError:
            pass
        text = html.unescape(html.unescape(text)).strip()
        return " ".join(text.split()).lower()

    def _bpe(self, piece: str) -> list[str]:
        if piece in self._cache:
            return self._cache[piece]
        word = [*piece[:-1], piece[-1] + "</w>"]
        while len(word) > 1:
            pairs = {(a, b) for a, b in zip(word, word[1:], strict=False)}
            best = min(pairs, key=lambda pair: self.ranks.get(pair, math.inf))
            if best not in self.ranks:
                break
            merged: list[str] = []
            i = 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                    merged.append(word[i] + word[i + 1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        self._cache[piece] = word
        return word

    def encode(self, text: str) -> list[int]:
        """The BPE ids of `text`, without start/end tokens."""
        table = _byte_symbols()
        ids: list[int] = []
        for piece in self.pattern.findall(self.clean(text)):
            if piece in ("<start_of_text>", "<end_of_text>"):
                ids.append(self.encoder[piece])
                continue
            symbols = "".join(table[b] for b in piece.encode("utf-8"))
            ids.extend(self.encoder[s] for s in self._bpe(symbols))
        return ids

    def __call__(self, texts: str | Sequence[str]) -> torch.Tensor:
        """(len(texts), context_length) int64 ids: start, BPE ids, end, zeros (truncated: the last id is end)."""
        if isinstance(texts, str):
            texts = [texts]
        out = torch.zeros(len(texts), self.context_length, dtype=torch.long)
        for row, text in enumerate(texts):
            ids = [self.start_id, *self.encode(text), self.end_id][: self.context_length]
            ids[-1] = self.end_id
            out[row, : len(ids)] = torch.tensor(ids)
        return out
