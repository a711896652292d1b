"""Read an archive as data: catalog, articles, captures; read-only (``Archive``).

Researchers get read access to a directory or a bucket prefix; nothing here writes to
the archive except :func:`pipelines.reader.catalog.compact` (an operator's command) and
the crawl's own run manifest (:class:`pipelines.reader.catalog.CatalogingStore`).
"""

from __future__ import annotations

from pipelines.reader.archive import (
    ARTICLE_FIELDS,
    Archive,
    Article,
    ArticleFilter,
    Capture,
    CaptureNotFound,
    parse_when,
)
from pipelines.reader.catalog import Catalog, CatalogingStore, FileEntry, RunInfo, compact
from pipelines.reader.source import LocalSource, NotFound, S3Source, Source, open_source

__all__ = [
    "ARTICLE_FIELDS",
    "Archive",
    "Article",
    "ArticleFilter",
    "Capture",
    "CaptureNotFound",
    "Catalog",
    "CatalogingStore",
    "FileEntry",
    "LocalSource",
    "NotFound",
    "RunInfo",
    "S3Source",
    "Source",
    "compact",
    "open_source",
    "parse_when",
]
