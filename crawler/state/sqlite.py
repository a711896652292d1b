"""The embedded state store: one SQLite file (WAL), beside the output by default.

Queries are built from the dataclass field names (module constants, never input); every
value is bound as a parameter.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import astuple, fields
from pathlib import Path

from crawler.state.model import ArticleState, SourceState

__all__ = ["SQLiteState"]

_ARTICLE_COLUMNS = [f.name for f in fields(ArticleState) if f.name != "aliases"]
_SOURCE_COLUMNS = [f.name for f in fields(SourceState)]

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS articles ({", ".join(
    c + (" TEXT PRIMARY KEY" if c == "key" else "") for c in _ARTICLE_COLUMNS)});
CREATE TABLE IF NOT EXISTS aliases (alias TEXT PRIMARY KEY, key TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources ({", ".join(
    c + (" TEXT PRIMARY KEY" if c == "url" else "") for c in _SOURCE_COLUMNS)});
"""


class SQLiteState:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def article(self, key: str) -> ArticleState | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {', '.join(_ARTICLE_COLUMNS)} FROM articles WHERE key = "  # noqa: S608
                "COALESCE((SELECT key FROM aliases WHERE alias = ?), ?)", (key, key)
            ).fetchone()
        return ArticleState(*row) if row else None

    def put_articles(self, articles: Iterable[ArticleState]) -> None:
        marks = ", ".join("?" for _ in _ARTICLE_COLUMNS)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for article in articles:
                    values = astuple(article)[: len(_ARTICLE_COLUMNS)]
                    self._db.execute(f"INSERT OR REPLACE INTO articles VALUES ({marks})",  # noqa: S608
                                     values)
                    for alias in article.aliases:
                        if alias != article.key:
                            self._db.execute("INSERT OR REPLACE INTO aliases VALUES (?, ?)",
                                             (alias, article.key))
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:  # a failed COMMIT (a full disk) may end it
                    self._db.execute("ROLLBACK")
                raise

    def source(self, url: str) -> SourceState | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {', '.join(_SOURCE_COLUMNS)} FROM sources WHERE url = ?",  # noqa: S608
                (url,)
            ).fetchone()
        return SourceState(*row) if row else None

    def put_sources(self, sources: Iterable[SourceState]) -> None:
        marks = ", ".join("?" for _ in _SOURCE_COLUMNS)
        with self._lock:
            self._db.executemany(f"INSERT OR REPLACE INTO sources VALUES ({marks})",  # noqa: S608
                                 [astuple(s) for s in sources])

    def sources(self, site: str | None = None) -> list[SourceState]:
        query = f"SELECT {', '.join(_SOURCE_COLUMNS)} FROM sources"  # noqa: S608
        with self._lock:
            rows = (self._db.execute(query + " WHERE site = ?", (site,)) if site
                    else self._db.execute(query)).fetchall()
        return [SourceState(*row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
