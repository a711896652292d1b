"""The crawl's output: one ``Publisher`` over the store named by ``ARCHIVE_STORE``.

Every writer stages its files under ``<state>/staging/<key>`` and hands closed files to
:meth:`ArchiveOutput.publish`, which publishes them off the reactor, one at a time, in
order (a rename for a directory, an upload for S3). Files that can't be published stay
staged and journalled; the next run (or ``newsarchive publish``) publishes them first.

State directory (``ARCHIVE_STATE_DIR``): ``<dir>/.newsarchive`` for a local output,
``~/.local/share/newsarchive/s3/<bucket>/<prefix>`` for S3.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Self

from scrapy import signals
from scrapy.settings import BaseSettings
from scrapy.utils.defer import deferred_from_coro

from crawler.registry import PerCrawler
from pipelines.reader.catalog import CatalogingStore
from pipelines.storage import (
    DiskFull,
    OutputURI,
    PendingReport,
    Publisher,
    StorageError,
    Store,
    is_disk_full,
    open_store,
    parse_uri,
    relative_key,
)
from pipelines.storage.options import s3_options

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["ArchiveOutput", "default_state_dir", "s3_options", "store_for"]

logger = logging.getLogger(__name__)

_OUTPUTS: PerCrawler[ArchiveOutput] = PerCrawler()
_STAMP = re.compile(r"-(\d{8})\d*-")


def default_state_dir(uri: OutputURI) -> Path:
    if uri.is_s3:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
        parts = [p for p in (uri.prefix or "").split("/") if p]
        return base.joinpath("newsarchive", "s3", uri.bucket or "_", *parts)
    assert uri.path is not None
    return uri.path / ".newsarchive"


def store_for(settings: BaseSettings) -> tuple[OutputURI, Store, Path]:
    """The output URI, its store and the state directory, from settings."""
    uri = parse_uri(str(settings.get("ARCHIVE_STORE") or "archive"))
    store = open_store(uri, s3_options(settings) if uri.is_s3 else None)
    state = settings.get("ARCHIVE_STATE_DIR")
    return uri, store, Path(state) if state else default_state_dir(uri)


def key_date(filename: str, fallback: datetime) -> datetime:
    """The day in a file name's timestamp (``…-YYYYMMDDhhmmss…-…``), else ``fallback``."""
    match = _STAMP.search(filename)
    if match:
        try:
            return datetime.strptime(match.group(1), "%Y%m%d").replace(tzinfo=fallback.tzinfo)
        except ValueError:
            pass
    return fallback


class ArchiveOutput:
    """The publisher of one crawl, shared by every writer (see :meth:`of`)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.uri, self.store, self.state_dir = store_for(settings)
        budget = settings.getint("ARCHIVE_DISK_BUDGET")
        # the catalog: every articles file, WARC and CDXJ published is listed in the run's
        # manifest (catalog/runs/…), written at the end (pipelines/reader/catalog.py)
        self.started = datetime.now(UTC)
        self.cataloging: CatalogingStore | None = (
            CatalogingStore(self.store) if settings.getbool("CATALOG_ENABLED", True) else None)
        self.publisher = Publisher(self.cataloging or self.store, self.state_dir / "staging",
                                   disk_budget_bytes=budget or None,
                                   cooldown=settings.getfloat("ARCHIVE_RETRY_COOLDOWN"))
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="publish")
        self._futures: list[Future[bool]] = []
        self._stopping = False
        self._closing = False  # spider_closed came: the crawl is over already
        # writers' handlers for their .open files left by an interrupted run (True: done)
        self.open_file_recoverers: list[Callable[[Path], bool]] = []
        self.disk_is_full = False
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closing, signal=signals.spider_closed)

    @classmethod
    def of(cls, crawler: Crawler) -> Self:
        return _OUTPUTS.get(crawler, cls)  # type: ignore[return-value]

    @property
    def staging_dir(self) -> Path:
        return self.publisher.staging_dir

    def work_dir(self, name: str) -> Path:
        """A private directory under staging for files still being written."""
        path = self.staging_dir / "_work" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def staged(self, kind: str, group: str, when: datetime, filename: str
               ) -> tuple[str, Path]:
        key = relative_key(kind, group, when, filename)
        return key, self.publisher.staging_path(key)

    # --- lifecycle -------------------------------------------------------------------
    def spider_closing(self) -> None:
        self._closing = True  # connected first: runs before every writer closes its files

    def spider_opened(self) -> None:
        # connected now, after every writer's own handler: writers close and hand over
        # their last files before the publisher finishes
        self.crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        stats = self.crawler.stats
        assert stats is not None
        stats.set_value("storage/uri", self.uri.uri)
        self.recover_staged()
        self._abort_stale_uploads()
        report = self._publish_pending()
        stats.inc_value("storage/published_from_earlier_runs", len(report.published))
        if report.lost:
            stats.set_value("storage/lost", len(report.lost))

    def _publish_pending(self) -> PendingReport:
        """``publish_pending()``; a journal that can't be written (a full disk) is a
        storage error that stops the crawl, and what is staged stays for the next run."""
        try:
            return self.publisher.publish_pending()
        except OSError as exc:
            logger.error("can't publish the pending files of %s: %s", self.staging_dir, exc)
            if is_disk_full(exc):
                self.disk_full(DiskFull(self.staging_dir, exc))
            else:
                self.stop_crawl()
            return PendingReport(pending=[e.key for e in self.publisher.pending()])

    def _abort_stale_uploads(self) -> None:
        """Abort multipart uploads under the prefix that a crash left behind (older than
        ``ARCHIVE_ABORT_UPLOADS_AFTER``: live uploads of other workers are younger)."""
        age = self.crawler.settings.getfloat("ARCHIVE_ABORT_UPLOADS_AFTER")
        if age <= 0:
            return
        try:
            aborted = self.store.abort_stale_multipart_uploads(timedelta(seconds=age))
        except Exception as exc:  # botocore errors too: this clean-up must never stop a run
            logger.warning("can't list incomplete uploads of %s: %s", self.uri.uri, exc)
            return
        if aborted:
            assert self.crawler.stats is not None
            self.crawler.stats.set_value("storage/aborted_uploads", aborted)
            logger.warning("aborted %d incomplete upload(s) left under %s", aborted,
                           self.uri.uri)

    def recover_staged(self) -> None:
        """Journal closed files a crash left staged but not yet handed to the publisher;
        remove the half-written ones it left (see :meth:`discard_open_files`)."""
        self.discard_open_files()
        journalled = {entry.key for entry in self.publisher.pending()}
        for path in sorted(self.staging_dir.rglob("*")):
            relative = path.relative_to(self.staging_dir)
            if (not path.is_file() or relative.parts[0].startswith(("_", "."))
                    or path.name.endswith(".open")):
                continue
            key = relative.as_posix()
            if key not in journalled:
                logger.warning("found %s staged by an interrupted run: publishing it", key)
                after = None
                if key.startswith("cdxj/"):
                    candidate = "warc/" + key[5:].removesuffix(".cdxj") + ".warc.gz"
                    after = candidate if (self.staging_dir / candidate).exists() else None
                self.publisher.publish(key, after=after)

    def discard_open_files(self) -> None:
        """Remove the ``.open`` files an interrupted run left in staging, except WARCs
        (``WarcArchive.repair`` cuts those to their complete records and publishes them)
        and those a writer recovers (``open_file_recoverers``: the articles writer
        publishes a complete file whose articles the state recorded). A CDXJ sidecar is
        written again from its WARC; a run report of a killed run is gone with it."""
        stats = self.crawler.stats
        assert stats is not None
        for path in sorted(self.staging_dir.rglob("*.open")):
            if not path.is_file() or path.name.endswith(".warc.gz.open"):
                continue
            if any(recover(path) for recover in self.open_file_recoverers):
                continue
            logger.warning("removing %s, left half written by an interrupted run",
                           path.relative_to(self.staging_dir))
            path.unlink(missing_ok=True)
            stats.inc_value("storage/discarded_open")

    def publish(self, key: str, *, after: str | None = None) -> None:
        """Publish a closed staged file, in order, off the reactor thread."""
        self._futures = [f for f in self._futures if not f.done()]
        self._futures.append(self._executor.submit(self._publish, key, after))

    def _publish(self, key: str, after: str | None) -> bool:
        stats = self.crawler.stats
        assert stats is not None
        try:
            ok = self.publisher.publish(key, after=after)
        except (StorageError, OSError) as exc:
            # the file stays staged: the next run journals and publishes it
            logger.error("can't publish %s to %s: %s", key, self.uri.uri, exc)
            stats.set_value("storage/last_error", str(exc))
            if isinstance(exc, OSError) and is_disk_full(exc):
                self.disk_full(exc if isinstance(exc, DiskFull)
                               else DiskFull(self.staging_dir, exc))
            return False
        if ok:
            stats.inc_value("storage/published")
        else:
            stats.inc_value("storage/deferred")
            if self.publisher.last_error:
                stats.set_value("storage/last_error", self.publisher.last_error)
            if self.publisher.over_budget() and not self._stopping:
                logger.error("staging %s passed ARCHIVE_DISK_BUDGET while %s is failing: "
                             "stopping the crawl", self.staging_dir, self.uri.uri)
                self.stop_crawl()
        return ok

    def disk_full(self, exc: DiskFull) -> None:
        """A writer found the disk full: record where, stop the crawl (exit status 3).
        Files closed before stay intact and are published; callable from any thread."""
        stats = self.crawler.stats
        assert stats is not None
        if not self.disk_is_full:
            self.disk_is_full = True
            stats.set_value("storage/disk_full", str(exc))
            stats.set_value("storage/last_error", str(exc))
            logger.error("%s: stopping the crawl", exc)
        self.stop_crawl()

    def stop_crawl(self) -> None:
        """Close the spider with the ``storage_error`` reason, once."""
        if self._stopping or self._closing:
            return
        self._stopping = True
        engine = self.crawler.engine
        if engine is None:
            return
        from twisted.internet import reactor  # noqa: PLC0415
        from twisted.python.threadable import isInIOThread  # noqa: PLC0415

        def close() -> None:
            deferred_from_coro(engine.close_spider_async(reason="storage_error"))

        if isInIOThread():
            close()
        else:
            reactor.callFromThread(close)

    def write_catalog_manifest(self) -> str | None:
        """Publish the run's catalog manifest (the files it published); its key, or None
        when there was nothing to list."""
        if self.cataloging is None or not self.cataloging.entries:
            return None
        from pipelines.reader.catalog import new_run_id, write_run_manifest  # noqa: PLC0415
        from pipelines.warc_archive import crawl_name  # noqa: PLC0415

        try:
            key, published = write_run_manifest(
                self.publisher, crawl_name(self.crawler), new_run_id(self.started),
                self.started, self.cataloging.entries)
        except (StorageError, OSError) as exc:
            logger.error("can't write the catalog manifest of this run: %s", exc)
            return None
        if not published:
            logger.error("the catalog manifest %s stays pending", key)
        return key

    def spider_closed(self) -> None:
        """Wait for the publishes, retry what is pending, record the outcome."""
        self._executor.shutdown(wait=True)
        stats = self.crawler.stats
        assert stats is not None
        report = self._publish_pending()
        if self.write_catalog_manifest() is not None:
            report.pending = [entry.key for entry in self.publisher.pending()]
        stats.set_value("storage/pending", len(report.pending))
        if self.publisher.lost:
            stats.set_value("storage/lost", len(self.publisher.lost))
        if report.pending:
            logger.error("%d file(s) could not be published to %s and stay in %s; "
                         "`newsarchive publish` or the next run publishes them",
                         len(report.pending), self.uri.uri, self.staging_dir)
