"""An on-disk response cache for chat models (SQLite), keyed by a hash of the full request.

The key covers the backend, the model (a local model by the content hash of its files), the server URL, every
message (text, and images by the SHA-256 of their encoded PNG bytes, what a server is sent, so two palette images
with the same indices and different palettes differ) and the generation parameters, so any change to the request
misses the cache. Chat models use it at temperature 0 only, where a reply is meant to be repeatable; re-running an
experiment then costs no requests. Empty, filtered and timed-out replies are never stored.

The database runs in WAL mode (readers and one writer at a time, across processes) with one connection per
process and file. A cache file that is locked for too long or damaged gives one warning, and the model runs
uncached.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from tinkerlab.llm.messages import Message, Reply, Usage

_CONNECTIONS: dict[tuple[int, str], sqlite3.Connection] = {}
_LOCK = threading.RLock()
_WARNED: set[str] = set()


def request_key(request: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON form of a request description."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def cache_record(message: Message) -> dict[str, Any]:
    """A message as it enters a cache key: text as is, images by the SHA-256 of their encoded PNG bytes."""
    from tinkerlab.core.images import image_to_png_bytes

    parts: list[Any] = []
    for part in message.parts:
        if isinstance(part, str):
            parts.append(part)
        else:
            parts.append({"png_sha256": hashlib.sha256(image_to_png_bytes(part)).hexdigest()})
    return {"role": message.role, "content": parts}


def files_digest(source: str | Path) -> str:
    """SHA-256 over the names and contents of a model's files (a folder's files, or one file), for cache keys."""
    source = Path(source)
    files = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path.relative_to(source) if source.is_dir() else path.name}\0".encode())
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def default_cache_path() -> Path:
    """`<user cache>/llm/responses.sqlite` (or below `$TINKERLAB_CACHE`)."""
    from tinkerlab.core.paths import cache_dir

    return cache_dir("llm") / "responses.sqlite"


class ResponseCache:
    """Replies stored by request key in one SQLite file; safe to share between processes.

    Args:
        path: the database file; `default_cache_path()` when None.

    Attributes:
        broken: why the cache was turned off (locked or damaged file), or None while it works.

    Example:
        >>> cache = ResponseCache(tmp_path / "r.sqlite")  # doctest: +SKIP
        >>> cache.put("k", Reply("hi")); cache.get("k").text  # doctest: +SKIP
        'hi'
    """

    def __init__(self, path: str | Path | None = None, *, busy_timeout_s: float = 5.0) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self.busy_timeout_s = busy_timeout_s
        self.broken: str | None = None
        self._safely(self._create)

    def _create(self, db: sqlite3.Connection) -> None:
        db.execute(
            "CREATE TABLE IF NOT EXISTS replies ("
            " key TEXT PRIMARY KEY, model TEXT, text TEXT, prompt_tokens INTEGER,"
            " completion_tokens INTEGER, stop_reason TEXT, created REAL)"
        )

    def _connection(self) -> sqlite3.Connection:
        """This process's connection to the file (opened once, in WAL mode)."""
        key = (os.getpid(), str(self.path.resolve()))
        with _LOCK:
            db = _CONNECTIONS.get(key)
            if db is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(
                    self.path, timeout=self.busy_timeout_s, check_same_thread=False, isolation_level=None
                )
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                _CONNECTIONS[key] = db
            return db

    def _safely(self, action, default=None):
        """Run `action(connection)`; a locked or damaged file turns the cache off with one warning."""
        if self.broken is not None:
            return default
        try:
            db = self._connection()
            with _LOCK:
                return action(db)
        except (sqlite3.OperationalError, sqlite3.DatabaseError, OSError) as exc:
            self.broken = f"{type(exc).__name__}: {exc}"
            with _LOCK:
                _CONNECTIONS.pop((os.getpid(), str(self.path.resolve())), None)
                first = str(self.path) not in _WARNED
                _WARNED.add(str(self.path))
            if first:
                warnings.warn(
                    f"the response cache {self.path} cannot be used ({self.broken}); running uncached "
                    "(delete the file to start a fresh cache)",
                    RuntimeWarning,
                    stacklevel=3,
                )
            return default

    def get(self, key: str) -> Reply | None:
        """The stored reply (marked `cached=True`), or None."""
        row = self._safely(
            lambda db: db.execute(
                "SELECT model, text, prompt_tokens, completion_tokens, stop_reason FROM replies WHERE key = ?",
                (key,),
            ).fetchone()
        )
        if row is None:
            return None
        model, text, prompt_tokens, completion_tokens, stop_reason = row
        return Reply(
            text=text,
            usage=Usage(prompt_tokens, completion_tokens),
            cached=True,
            model=model,
            stop_reason=stop_reason,
        )

    def put(self, key: str, reply: Reply) -> None:
        """Store (or replace) the reply for `key`."""
        row = (
            key,
            reply.model,
            reply.text,
            reply.usage.prompt_tokens,
            reply.usage.completion_tokens,
            reply.stop_reason,
            time.time(),
        )
        self._safely(lambda db: db.execute("INSERT OR REPLACE INTO replies VALUES (?, ?, ?, ?, ?, ?, ?)", row))

    def __len__(self) -> int:
        return int(self._safely(lambda db: db.execute("SELECT COUNT(*) FROM replies").fetchone()[0], 0))

    def clear(self) -> None:
        """Remove every stored reply."""
        self._safely(lambda db: db.execute("DELETE FROM replies"))
