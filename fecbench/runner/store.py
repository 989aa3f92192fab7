"""The run store: one SQLite database (WAL) per run folder, one row per clip.

Each clip's result is committed as soon as it exists, so a crash or a kill loses at most the
batch in flight. A finished ("ok") row is never overwritten: resuming cannot redo or duplicate
it. Failed rows are retried by the next run of the same command.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS clips (
    id TEXT PRIMARY KEY,
    idx INTEGER NOT NULL,
    video TEXT NOT NULL,
    source TEXT NOT NULL,
    reference TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'error')),
    prediction TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 1,
    seconds REAL,
    finished_at REAL NOT NULL,
    visual_tokens INTEGER
);
"""

#: Columns added after the first release, with their SQL type: a store written before gets them on open.
ADDED_COLUMNS = {"visual_tokens": "INTEGER"}


@dataclass(frozen=True)
class ClipResult:
    """What the runner learned about one clip."""

    id: str
    index: int
    video: str
    source: str
    reference: str
    status: str
    prediction: str | None = None
    error: str | None = None
    seconds: float | None = None
    attempts: int = 1
    finished_at: float = 0.0
    #: visual tokens the model read for this clip, when the adapter reports it (:class:`fecbench.adapter.Caption`)
    visual_tokens: int | None = None


class RunStore:
    """Clip results of one run, safe against kills between commits."""

    FILENAME = "store.sqlite"

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / self.FILENAME
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._add_missing_columns()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _add_missing_columns(self) -> None:
        """Bring a store written by an older fecbench up to :data:`SCHEMA` (its rows get NULL: not reported)."""
        present = {row[1] for row in self._db.execute("PRAGMA table_info(clips)")}
        for column, kind in ADDED_COLUMNS.items():
            if column not in present:
                self._db.execute(f"ALTER TABLE clips ADD COLUMN {column} {kind}")

    def finished_ids(self) -> set[str]:
        return {row[0] for row in self._db.execute("SELECT id FROM clips WHERE status = 'ok'")}

    def record(self, results: Iterable[ClipResult]) -> None:
        """Commit results in one transaction; an existing 'ok' row always wins."""
        now = time.time()
        fields = ("id", "index", "video", "source", "reference", "status", "prediction", "error", "seconds")
        rows = [(*(getattr(r, f) for f in fields), now, r.visual_tokens) for r in results]
        if not rows:
            return
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                """
                INSERT INTO clips (
                    id, idx, video, source, reference, status, prediction, error, seconds, finished_at, visual_tokens
                )
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET
                    status = excluded.status, prediction = excluded.prediction, error = excluded.error,
                    seconds = excluded.seconds, finished_at = excluded.finished_at,
                    visual_tokens = excluded.visual_tokens, attempts = attempts + 1
                WHERE clips.status != 'ok'
                """,
                rows,
            )

    def copy_in(self, results: Iterable[ClipResult]) -> None:
        """Insert results exactly as another store holds them (attempts, times), for merging shards.

        Unlike :meth:`record` this never updates: a clip already present is an error.
        """
        fields = ("id", "index", "video", "source", "reference", "status", "prediction", "error", "attempts")
        rows = [tuple(getattr(r, f) for f in (*fields, "seconds", "finished_at", "visual_tokens")) for r in results]
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT INTO clips (id, idx, video, source, reference, status, prediction, error, attempts, seconds, "
                "finished_at, visual_tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def results(self, ids: Iterable[str] | None = None) -> list[ClipResult]:
        """Stored results in annotation order, optionally restricted to ``ids``."""
        rows = self._db.execute(
            "SELECT id, idx, video, source, reference, status, prediction, error, seconds, attempts, finished_at, "
            "visual_tokens FROM clips ORDER BY idx"
        ).fetchall()
        keep = set(ids) if ids is not None else None
        return [ClipResult(*row) for row in rows if keep is None or row[0] in keep]
