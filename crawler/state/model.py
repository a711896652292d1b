"""What the state store holds, and the interface both backends implement."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["ArticleState", "SourceState", "StateStore"]


@dataclass
class ArticleState:
    """One archived article, keyed by its normalised canonical URL."""

    key: str
    url: str
    site: str
    first_capture: str
    last_capture: str
    published: str | None = None
    text_digest: str | None = None
    warc_file: str | None = None
    warc_offset: int | None = None
    warc_record_id: str | None = None
    status: str = "ok"
    version: int = 1
    checks: int = 0
    next_check: str | None = None  # ISO UTC; None: never re-fetched again
    aliases: tuple[str, ...] = ()  # other normalised URLs of the same article


@dataclass
class SourceState:
    """A feed or sitemap: its validators and when it last listed something new."""

    url: str
    site: str
    etag: str | None = None
    last_modified: str | None = None
    last_fetch: str | None = None
    last_new: str | None = None


class StateStore(Protocol):
    def article(self, key: str) -> ArticleState | None:
        """The article known under this normalised URL (canonical or an alias)."""
        ...

    def put_articles(self, articles: Iterable[ArticleState]) -> None:
        """Insert or replace, aliases included, in one transaction."""
        ...

    def source(self, url: str) -> SourceState | None: ...

    def put_sources(self, sources: Iterable[SourceState]) -> None: ...

    def sources(self, site: str | None = None) -> list[SourceState]: ...

    def close(self) -> None: ...
