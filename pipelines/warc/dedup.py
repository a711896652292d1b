"""Payload-digest index kept across runs, for identical-payload-digest revisits (R18).

SQLite in WAL mode. Two tables: ``payloads`` maps a payload digest to the first capture
that archived it (the revisit target); ``urls`` maps a URL to its latest 2xx capture, so a
304 answer can name its prior capture (R19).

The writer adds entries only after the WARC holding the original has been published, so
an entry never points at a record lost in a crash.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DedupEntry", "DedupIndex"]

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS payloads (
    digest TEXT PRIMARY KEY,
    uri TEXT NOT NULL,
    date TEXT NOT NULL,
    record_id TEXT NOT NULL,
    filename TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS urls (
    uri TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    date TEXT NOT NULL,
    record_id TEXT NOT NULL,
    filename TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class DedupEntry:
    """An archived response: the target of a revisit's ``WARC-Refers-To*`` fields."""

    digest: str
    uri: str
    date: str
    record_id: str
    filename: str


class DedupIndex:
    """Digest -> original capture, persistent in one SQLite file (shared by all runs of a
    collection). Safe to share between threads; each call is its own transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def lookup(self, digest: str) -> DedupEntry | None:
        """The first archived capture with this payload digest, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT digest, uri, date, record_id, filename FROM payloads WHERE digest = ?",
                (digest,),
            ).fetchone()
        return DedupEntry(*row) if row else None

    def lookup_url(self, uri: str) -> DedupEntry | None:
        """The latest archived 2xx capture of ``uri``, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT digest, uri, date, record_id, filename FROM urls WHERE uri = ?", (uri,)
            ).fetchone()
        return DedupEntry(*row) if row else None

    def add(self, entry: DedupEntry) -> None:
        """Record an archived capture (the first one per digest stays the revisit target)."""
        self.add_many([entry])

    def add_many(self, entries: list[DedupEntry]) -> None:
        if not entries:
            return
        rows = [(e.digest, e.uri, e.date, e.record_id, e.filename) for e in entries]
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT OR IGNORE INTO payloads VALUES (?, ?, ?, ?, ?)", rows
                )
                self._db.executemany(
                    "INSERT INTO urls (digest, uri, date, record_id, filename) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT(uri) DO UPDATE SET "
                    "digest = excluded.digest, date = excluded.date, "
                    "record_id = excluded.record_id, filename = excluded.filename "
                    "WHERE excluded.date >= urls.date",
                    rows,
                )
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:  # a failed COMMIT (a full disk) keeps it open
                    self._db.execute("ROLLBACK")
                raise
        logger.debug("dedup index %s: %d entries added", self.path, len(rows))

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT COUNT(*) FROM payloads").fetchone()
        return int(count)

    def close(self) -> None:
        with self._lock:
            self._db.close()
