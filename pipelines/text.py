"""Write articles out: gzipped JSON Lines per site, optionally one ``.txt`` per article.

Files are staged, then published to the store (``ARCHIVE_STORE``) as::

    articles/<site>/<YYYY>/<MM>/<DD>/articles-<ts>-<serial>-<token>.jsonl.gz
    text/<site>/<YYYY>/<MM>/<DD>/<slug>-<urlhash>.txt      (with ARTICLES_TEXT_FILES)
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from scrapy.exceptions import DropItem, NotConfigured

from crawler.incremental import IncrementalState
from crawler.items import Article
from crawler.state import ArticleState
from pipelines.durable import publish_file
from pipelines.jsonl import RotatingJsonlWriter
from pipelines.output import ArchiveOutput
from pipelines.paths import safe_component, text_file_name

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["ArticleWriterPipeline"]

logger = logging.getLogger(__name__)


class ArticleWriterPipeline:
    """Writes each ``Article`` to its site's JSON Lines file; enforces the article budget."""

    def __init__(self, crawler: Crawler, output: ArchiveOutput, max_size: int,
                 text_files: bool, max_items: int) -> None:
        self.crawler = crawler
        self.output = output
        self.max_size = max_size
        self.text_files = text_files
        self.max_items = max_items
        self.writers: dict[str, RotatingJsonlWriter] = {}
        self.state = IncrementalState.of(crawler)
        # state of the articles in each site's open file, recorded once it is published
        self.pending_states: dict[str, list[ArticleState]] = {}
        self.per_site: dict[str, int] = {}
        self.written = 0
        self.closing = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        s = crawler.settings
        if not s.getbool("ARTICLES_ENABLED"):
            raise NotConfigured
        return cls(crawler, ArchiveOutput.of(crawler), s.getint("ARTICLES_MAX_SIZE"),
                   s.getbool("ARTICLES_TEXT_FILES"), s.getint("ARTICLES_MAX_ITEMS"))

    def open_spider(self) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("articles/output", self.output.uri.uri)

    def _writer(self, site: str) -> RotatingJsonlWriter:
        if site not in self.writers:
            def directory_for(now: datetime) -> Path:
                return self.output.staged("articles", site, now, "x")[1].parent

            def published(path: Path) -> None:
                if self.state is not None:
                    self.state.commit(self.pending_states.pop(site, []))
                self.output.publish(path.relative_to(self.output.staging_dir).as_posix())
                assert self.crawler.stats is not None
                self.crawler.stats.inc_value("articles/files")
                self.crawler.stats.inc_value("articles/bytes", path.stat().st_size)

            worker = self.crawler.settings.get("DISTRIBUTED_WORKER_ID") \
                if self.crawler.settings.getbool("DISTRIBUTED_ENABLED") else None
            prefix = f"articles-{safe_component(str(worker), 40)}" if worker else "articles"
            self.writers[site] = RotatingJsonlWriter(
                directory_for, prefix=prefix, max_size=self.max_size, on_published=published)
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
            if self.state is not None:
                # before write(): a rotation inside it publishes this article's file
                prior = self.state.known(item.canonical_url or item.url)
                self.pending_states.setdefault(site, []).append(
                    self.state.state_for(item, prior))
            writer.write(item.to_dict())
            if self.text_files:
                self._write_text(site, item)
        except OSError as exc:
            if self.pending_states.get(site):
                self.pending_states[site].pop()  # not written: not archived
            stats.set_value("articles/storage_error", str(exc))
            logger.error("can't write article output in %s: %s", self.output.staging_dir, exc)
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
        key, target = self.output.staged("text", site, datetime.now(UTC),
                                         text_file_name(item.canonical_url or item.url))
        tmp = target.with_name(target.name + ".open")
        header = f"{item.title or ''}\n{item.canonical_url or item.url}\n\n"
        tmp.write_text(header + item.text + "\n", encoding="utf-8")
        publish_file(tmp)
        self.output.publish(key)
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("articles/text_files")

    def _close_spider(self, reason: str) -> None:
        if self.closing or self.crawler.engine is None:
            return
        self.closing = True
        from scrapy.utils.defer import deferred_from_coro  # noqa: PLC0415

        deferred_from_coro(self.crawler.engine.close_spider_async(reason=reason))

    def close_spider(self) -> None:
        for writer in self.writers.values():
            writer.close()
