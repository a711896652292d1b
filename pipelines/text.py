"""Write articles out: gzipped JSON Lines per site, optionally one ``.txt`` per article.

Layout under the output directory (``ARCHIVE_STORE``)::

    articles/<site>/<YYYY>/<MM>/<DD>/articles-<ts>-<serial>-<token>.jsonl.gz
    text/<site>/<YYYY>/<MM>/<DD>/<slug>-<urlhash>.txt      (with ARTICLES_TEXT_FILES)
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from scrapy.exceptions import DropItem, NotConfigured

from crawler.items import Article
from pipelines.jsonl import RotatingJsonlWriter, publish_file
from pipelines.paths import dated_dir, text_file_name

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["ArticleWriterPipeline"]

logger = logging.getLogger(__name__)


class StorageError(OSError):
    """The output can't be written."""


class ArticleWriterPipeline:
    """Writes each ``Article`` to its site's JSON Lines file; enforces the article budget."""

    def __init__(self, crawler: Crawler, output: Path, max_size: int, text_files: bool,
                 max_items: int) -> None:
        self.crawler = crawler
        self.output = output
        self.max_size = max_size
        self.text_files = text_files
        self.max_items = max_items
        self.writers: dict[str, RotatingJsonlWriter] = {}
        self.per_site: dict[str, int] = {}
        self.written = 0
        self.closing = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        s = crawler.settings
        if not s.getbool("ARTICLES_ENABLED"):
            raise NotConfigured
        output = Path(s.get("ARCHIVE_STORE") or "archive")
        return cls(crawler, output, s.getint("ARTICLES_MAX_SIZE"),
                   s.getbool("ARTICLES_TEXT_FILES"), s.getint("ARTICLES_MAX_ITEMS"))

    def open_spider(self) -> None:
        try:
            self.output.mkdir(parents=True, exist_ok=True)
            if not os.access(self.output, os.W_OK):
                raise PermissionError(f"not writable: {self.output}")
        except OSError as exc:
            stats = self.crawler.stats
            assert stats is not None
            stats.set_value("articles/storage_error", str(exc))
            msg = f"output directory {self.output}: {exc}"
            raise StorageError(msg) from exc
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("articles/output", str(self.output))

    def _writer(self, site: str) -> RotatingJsonlWriter:
        if site not in self.writers:
            self.writers[site] = RotatingJsonlWriter(
                partial(dated_dir, self.output, "articles", site), max_size=self.max_size)
        return self.writers[site]

    def _site_budget(self, site: str) -> int:
        spider = self.crawler.spider
        limit = getattr(spider, "max_articles_for", lambda _s: None)(site)
        return int(limit or 0)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        site = item.site or "unknown"
        stats = self.crawler.stats
        assert stats is not None
        budget = self._site_budget(site)
        if (self.max_items and self.written >= self.max_items) or (
                budget and self.per_site.get(site, 0) >= budget):
            stats.inc_value("articles/over_budget")
            raise DropItem("article budget (--max-articles) reached", log_level="DEBUG")
        writer = self._writer(site)
        try:
            writer.write(item.to_dict())
            if self.text_files:
                self._write_text(site, item)
        except OSError as exc:
            stats.set_value("articles/storage_error", str(exc))
            logger.error("can't write article output under %s: %s", self.output, exc)
            self._close_spider("storage_error")
            raise DropItem(f"storage error: {exc}") from exc
        self.written += 1
        self.per_site[site] = self.per_site.get(site, 0) + 1
        stats.inc_value("articles/written")
        stats.inc_value("articles/words", item.word_count)
        if self.max_items and self.written >= self.max_items:
            self._close_spider("closespider_itemcount")
        return item

    def _write_text(self, site: str, item: Article) -> None:
        directory = dated_dir(self.output, "text", site, datetime.now(UTC))
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / text_file_name(item.canonical_url or item.url)
        tmp = target.with_name(target.name + ".open")
        header = f"{item.title or ''}\n{item.canonical_url or item.url}\n\n"
        tmp.write_text(header + item.text + "\n", encoding="utf-8")
        publish_file(tmp)
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("articles/text_files")

    def _close_spider(self, reason: str) -> None:
        if self.closing or self.crawler.engine is None:
            return
        self.closing = True
        from scrapy.utils.defer import deferred_from_coro  # noqa: PLC0415

        deferred_from_coro(self.crawler.engine.close_spider_async(reason=reason))

    def close_spider(self) -> None:
        stats = self.crawler.stats
        assert stats is not None
        files = []
        for writer in self.writers.values():
            writer.close()
            files.extend(writer.published)
        size = sum(f.stat().st_size for f in files if f.exists())
        stats.set_value("articles/files", len(files))
        stats.set_value("articles/bytes", size)
