"""Write articles out: gzipped JSON Lines per site, optionally one ``.txt`` per article.

Files are staged, then published to the store (``ARCHIVE_STORE``) as::

    articles/<site>/<YYYY>/<MM>/<DD>/articles-<ts>-<serial>-<token>.jsonl.gz
    text/<site>/<YYYY>/<MM>/<DD>/<slug>-<urlhash>.txt      (with ARTICLES_TEXT_FILES)
"""

from __future__ import annotations

import errno
import gzip
import json
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
from pipelines.storage.errors import DiskFull, is_disk_full

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
        pipeline = cls(crawler, ArchiveOutput.of(crawler), s.getint("ARTICLES_MAX_SIZE"),
                       s.getbool("ARTICLES_TEXT_FILES"), s.getint("ARTICLES_MAX_ITEMS"))
        pipeline.output.open_file_recoverers.append(pipeline.recover_open)
        return pipeline

    def recover_open(self, path: Path) -> bool:
        """An articles ``.open`` file an interrupted run left (called at start by
        ``ArchiveOutput``): published if it is complete and the state recorded its
        articles (the crash came between the two steps of closing it), else removed (the
        articles were never recorded, this run fetches them again). False: not ours."""
        if not path.name.endswith(".jsonl.gz.open"):
            return False
        complete = self.state is not None and self._recorded(path)
        if complete:
            final = publish_file(path)
            logger.warning("completed %s, closed by an interrupted run",
                           final.relative_to(self.output.staging_dir))
        else:
            path.unlink(missing_ok=True)
            logger.warning("removed %s, left half written by an interrupted run: its "
                           "articles are fetched again",
                           path.relative_to(self.output.staging_dir))
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(
            f"articles/interrupted_files/{'completed' if complete else 'removed'}")
        return True

    def _recorded(self, path: Path) -> bool:
        """True if ``path`` is a whole gzip file whose every article the state holds
        with this very capture."""
        assert self.state is not None
        try:
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                records = [json.loads(line) for line in handle]
        except (OSError, EOFError, ValueError):
            return False
        for record in records:
            known = self.state.store.article(
                self.state.key(record.get("canonical_url") or record["url"]))
            if known is None or known.warc_record_id != record.get("warc_record_id"):
                return False
        return bool(records)

    def open_spider(self) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("articles/output", self.output.uri.uri)

    def _writer(self, site: str) -> RotatingJsonlWriter:
        if site not in self.writers:
            def directory_for(now: datetime) -> Path:
                return self.output.staged("articles", site, now, "x")[1].parent

            def closing(path: Path) -> None:
                # before the rename: a crash in between leaves a complete .open file whose
                # articles the state knows, which the next run publishes (recover_open)
                states = self.pending_states.pop(site, [])
                if self.state is None or not states:
                    return
                try:
                    self.state.commit(states)
                except Exception as exc:  # sqlite: "database or disk is full"
                    # the writer drops the file: the next run fetches these again
                    code = errno.ENOSPC if "full" in str(exc) else errno.EIO
                    msg = f"can't record its articles in the state: {exc}"
                    raise OSError(code, msg) from exc

            def published(path: Path) -> None:
                size = path.stat().st_size  # before publish(): its thread moves the file
                self.output.publish(path.relative_to(self.output.staging_dir).as_posix())
                assert self.crawler.stats is not None
                self.crawler.stats.inc_value("articles/files")
                self.crawler.stats.inc_value("articles/bytes", size)

            worker = self.crawler.settings.get("DISTRIBUTED_WORKER_ID") \
                if self.crawler.settings.getbool("DISTRIBUTED_ENABLED") else None
            prefix = f"articles-{safe_component(str(worker), 40)}" if worker else "articles"
            self.writers[site] = RotatingJsonlWriter(
                directory_for, prefix=prefix, max_size=self.max_size, on_published=published,
                on_closing=closing)
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
        if self.output.disk_is_full:
            # not archived, not recorded in the state: the next run fetches it again
            stats.inc_value("articles/dropped")
            raise DropItem("the crawl is stopping: the disk is full", log_level="INFO")
        writer = self._writer(site)
        if self.state is not None:
            # before write(): a rotation inside it publishes this article's file
            prior = self.state.known(item.canonical_url or item.url)
            self.pending_states.setdefault(site, []).append(self.state.state_for(item, prior))
        try:
            writer.write(item.to_dict())
        except OSError as exc:
            # the writer dropped its open file: none of the articles in it is archived
            # (nor recorded in the state, so the next run fetches them again)
            self.pending_states.pop(site, None)
            lost = writer.last_dropped
            self.written -= lost
            self.per_site[site] = self.per_site.get(site, 0) - lost
            stats.inc_value("articles/written", -lost)
            stats.inc_value("articles/dropped", lost + 1)
            self._storage_error(exc)
            raise DropItem(f"storage error: {exc}") from exc
        if self.text_files:
            try:
                self._write_text(site, item)
            except OSError as exc:
                self._storage_error(exc)
                raise DropItem(f"storage error: {exc}") from exc
        self.written += 1
        self.per_site[site] = self.per_site.get(site, 0) + 1
        stats.inc_value("articles/written")
        stats.inc_value("articles/words", item.word_count)
        if self.max_items and self.written >= self.max_items:
            self._close_spider("closespider_itemcount")
        return item

    def _storage_error(self, exc: OSError) -> None:
        """Stop the crawl: a full disk is reported as such (``DiskFull``), anything else
        as the error it is; both end the run with the storage exit status."""
        assert self.crawler.stats is not None
        if is_disk_full(exc):
            self.output.disk_full(exc if isinstance(exc, DiskFull)
                                  else DiskFull(self.output.staging_dir, exc))
            return
        self.crawler.stats.set_value("articles/storage_error", str(exc))
        logger.error("can't write article output in %s: %s", self.output.staging_dir, exc)
        self.output.stop_crawl()

    def _write_text(self, site: str, item: Article) -> None:
        key, target = self.output.staged("text", site, datetime.now(UTC),
                                         text_file_name(item.canonical_url or item.url))
        tmp = target.with_name(target.name + ".open")
        header = f"{item.title or ''}\n{item.canonical_url or item.url}\n\n"
        try:
            tmp.write_text(header + item.text + "\n", encoding="utf-8")
        except OSError:
            tmp.unlink(missing_ok=True)
            raise
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
        for site, writer in self.writers.items():
            try:
                writer.close()
            except OSError as exc:
                self.pending_states.pop(site, None)
                assert self.crawler.stats is not None
                self.crawler.stats.inc_value("articles/written", -writer.last_dropped)
                self.crawler.stats.inc_value("articles/dropped", writer.last_dropped)
                self._storage_error(exc)
