"""An on-disk response cache for chat models (SQLite), keyed by a hash of the full request.

The key covers the backend, the model, the server URL, every message (text, and images by the SHA-256 of their
pixels) and the generation parameters, so any change to the request misses the cache. Chat models use it at
temperature 0 only, where a reply is meant to be repeatable; re-running an experiment then costs no requests.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from tinkerlab.llm.messages import Reply, Usage


def request_key(request: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON form of a request description."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def default_cache_path() -> Path:
    """`<user cache>/llm/responses.sqlite` (or below `$TINKERLAB_CACHE`)."""
    from tinkerlab.core.paths import cache_dir

    return cache_dir("llm") / "responses.sqlite"


class ResponseCache:
    """Replies stored by request key in one SQLite file; safe to share between processes.

    Args:
        path: the database file; `default_cache_path()` when None.

    Example:
        >>> cache = ResponseCache(tmp_path / "r.sqlite")  # doctest: +SKIP
        >>> cache.put("k", Reply("hi")); cache.get("k").text  # doctest: +SKIP
        'hi'
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS replies ("
                " key TEXT PRIMARY KEY, model TEXT, text TEXT, prompt_tokens INTEGER,"
                " completion_tokens INTEGER, stop_reason TEXT, created REAL)"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30.0)

    def get(self, key: str) -> Reply | None:
        """The stored reply (marked `cached=True`), or None."""
        with self._connect() as db:
            row = db.execute(
                "SELECT model, text, prompt_tokens, completion_tokens, stop_reason FROM replies WHERE key = ?",
                (key,),
            ).fetchone()
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
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO replies VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    reply.model,
                    reply.text,
                    reply.usage.prompt_tokens,
                    reply.usage.completion_tokens,
                    reply.stop_reason,
                    time.time(),
                ),
            )

    def __len__(self) -> int:
        with self._connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM replies").fetchone()[0])

    def clear(self) -> None:
        """Remove every stored reply."""
        with self._connect() as db:
            db.execute("DELETE FROM replies")
