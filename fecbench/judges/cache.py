"""VerdictCache: every validated judge verdict, kept in SQLite so no question is asked twice.

A verdict is keyed by the sha256 of the judge's identity key (backend, model, prompt version,
prompt hash), the task and the canonical JSON of the task's inputs. So scoring a run again makes
no judge call, a reference caption's events are extracted once for every model scored with the
same judge, and a changed prompt (a new hash) never reuses an old verdict.

Only validated outputs are stored: a :class:`~fecbench.judges.base.JudgeFailure` is never cached,
so the next scoring asks again. The file (default ``<cache dir>/judges.sqlite``) is in WAL mode
and may be shared by threads of one process and by several processes.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fecbench.judges.base import InvalidVerdict, JudgeIdentity, validate_output
from fecbench.paths import cache_dir

CACHE_FILE = "judges.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS verdicts (
    key TEXT PRIMARY KEY,
    judge TEXT NOT NULL,
    task TEXT NOT NULL,
    inputs TEXT NOT NULL,
    output TEXT NOT NULL,
    identity TEXT NOT NULL,
    created REAL NOT NULL
)
"""


def canonical_json(value: Any) -> str:
    """One spelling per JSON value: sorted keys, no spaces, unicode kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def verdict_key(identity: JudgeIdentity, task: str, inputs: Mapping[str, Any]) -> str:
    """The cache key of one question put to one judge."""
    text = "\n".join((identity.key, task, canonical_json(dict(inputs))))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class VerdictCache:
    """Judge verdicts on disk, safe to use from many threads at once."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    @classmethod
    def default(cls) -> VerdictCache:
        """The cache shared by every run on this machine: ``fecbench.paths.cache_dir() / "judges.sqlite"``."""
        return cls(cache_dir() / CACHE_FILE)

    def get_many(
        self, identity: JudgeIdentity, task: str, inputs: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, Any] | None]:
        """The cached verdict of each item, or None where there is none (or it no longer validates)."""
        keys = [verdict_key(identity, task, item) for item in inputs]
        found: dict[str, str] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(f"SELECT key, output FROM verdicts WHERE key IN ({marks})", chunk)
                found.update(rows.fetchall())
        results: list[dict[str, Any] | None] = []
        for key, item in zip(keys, inputs, strict=True):
            stored = found.get(key)
            try:
                results.append(None if stored is None else validate_output(task, dict(item), json.loads(stored)))
            except (InvalidVerdict, ValueError):
                results.append(None)  # stored under older rules; ask again
        return results

    def get(self, identity: JudgeIdentity, task: str, inputs: Mapping[str, Any]) -> dict[str, Any] | None:
        return self.get_many(identity, task, [inputs])[0]

    def put_many(
        self, identity: JudgeIdentity, task: str, items: Sequence[tuple[Mapping[str, Any], dict[str, Any]]]
    ) -> None:
        """Store (inputs, validated output) pairs; a later verdict for the same key replaces the earlier one."""
        now = time.time()
        judge = canonical_json(identity.as_dict())
        rows = []
        for inputs, output in items:
            if not isinstance(output, dict):
                raise TypeError(f"only validated verdicts (dicts) are cached, not {type(output).__name__}")
            key = verdict_key(identity, task, inputs)
            rows.append((key, identity.key, task, canonical_json(dict(inputs)), canonical_json(output), judge, now))
        if not rows:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def put(self, identity: JudgeIdentity, task: str, inputs: Mapping[str, Any], output: dict[str, Any]) -> None:
        self.put_many(identity, task, [(inputs, output)])

    def has_verdicts(self, identity: JudgeIdentity) -> bool:
        """Whether any verdict of this judge is stored (a judge never used here has none)."""
        with self._lock:
            row = self._db.execute("SELECT 1 FROM verdicts WHERE judge = ? LIMIT 1", (identity.key,)).fetchone()
        return row is not None

    def count(self, identity: JudgeIdentity | None = None, task: str | None = None) -> int:
        """How many verdicts are stored (for one judge, one task, or all)."""
        query, args = "SELECT COUNT(*) FROM verdicts WHERE 1=1", []
        if identity is not None:
            query, args = query + " AND judge = ?", [*args, identity.key]
        if task is not None:
            query, args = query + " AND task = ?", [*args, task]
        with self._lock:
            return int(self._db.execute(query, args).fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> VerdictCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
