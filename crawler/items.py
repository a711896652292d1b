"""Items: a fetched page on its way to extraction, and the article written out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ARTICLE_FIELDS", "Article", "FetchedPage", "Image"]


@dataclass
class FetchedPage:
    """An article page as fetched; the extraction pipeline turns it into an ``Article``."""

    url: str
    html: str
    status: int
    fetched_at: str
    site: str
    source: str
    requested_url: str
    listed_date: str | None = None
    warc_ref: Any = None  # pipelines.warc.CaptureRef of the response, when WARC is on
    depth: int = 0


@dataclass
class Image:
    src: str
    caption: str | None = None
    credit: str | None = None


@dataclass
class Article:
    """One article: the JSON Lines record (fields in this order; schema in README.md)."""

    url: str
    canonical_url: str | None = None
    site: str | None = None
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    published: str | None = None
    modified: str | None = None
    language: str | None = None
    site_name: str | None = None
    description: str | None = None
    categories: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    text: str = ""
    word_count: int = 0
    images: list[Image] = field(default_factory=list)
    is_accessible_for_free: bool | None = None
    fetched_at: str | None = None
    status: int | None = None
    source: str | None = None
    version: int = 1
    previous: str | None = None
    warc_file: str | None = None
    warc_offset: int | None = None
    warc_length: int | None = None
    warc_record_id: str | None = None
    language_detected: str | None = None  # from the text (py3langid); ``language`` is declared
    author_organisations: list[str] = field(default_factory=list)  # JSON-LD Organization authors

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict  # noqa: PLC0415

        return asdict(self)


ARTICLE_FIELDS = tuple(Article.__dataclass_fields__)
