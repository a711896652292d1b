"""The crawl's WARC archive: one ``WarcWriter`` shared by the recorder and the pipelines.

Files are written in the staging area (``<state>/staging/_work/warc/<crawl>/``) and, once
closed and indexed, published as ``warc/<crawl>/<YYYY>/<MM>/<DD>/<name>.warc.gz`` and
then ``cdxj/<crawl>/<YYYY>/<MM>/<DD>/<name>.cdxj`` (the day the file was opened). The
optional dedup index is ``<state>/warc-dedup.sqlite``. Leftover ``.open`` files of a
crashed run are repaired and published at start-up.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TypeVar

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import is_asyncio_available, run_in_thread

from crawler.items import Article
from crawler.registry import PerCrawler
from pipelines.output import ArchiveOutput, key_date
from pipelines.paths import safe_component
from pipelines.storage.errors import DiskFull
from pipelines.warc import (
    CaptureRef,
    DedupIndex,
    HttpCapture,
    WarcFileClosedError,
    WarcInfo,
    WarcWriter,
    index_warc,
    repair_open_files,
    sidecar_path,
)
from pipelines.warc.records import default_software

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["WarcArchive", "crawl_name"]

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

_ARCHIVES: PerCrawler[WarcArchive | None] = PerCrawler()


def crawl_name(crawler: Crawler) -> str:
    """``ARCHIVE_CRAWL_NAME``, else the site's name for one-site crawls, else "crawl"."""
    name = crawler.settings.get("ARCHIVE_CRAWL_NAME")
    if name:
        return safe_component(str(name))
    sites = getattr(crawler.spider, "sites", None) or {}
    return safe_component(next(iter(sites))) if len(sites) == 1 else "crawl"


class WarcArchive:
    """Owns the writer; created once per crawler by :meth:`of`."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.output = ArchiveOutput.of(crawler)
        self.prefix = settings.get("WARC_PREFIX") or "newsarchive"
        self.max_size = settings.getint("WARC_MAX_SIZE")
        self.max_age = settings.getfloat("WARC_MAX_AGE")
        self.operator = settings.get("WARC_OPERATOR") or settings.get("NEWSARCHIVE_CONTACT_URL")
        self.dedup_enabled = settings.getbool("WARC_DEDUP_ENABLED")
        self.keep_credentials = settings.getbool("WARC_KEEP_CREDENTIALS")
        self.group = "crawl"
        self.writer: WarcWriter | None = None
        self.dedup: DedupIndex | None = None
        # Writes go one at a time to one file: one thread of their own does them. Queued on
        # the writer's lock in a pool of threads instead, they kept taking the GIL back from
        # the reactor's thread (archive-only crawl: 1,272 of 2,641 pool thread samples were
        # waits on that lock).
        self._thread: ThreadPoolExecutor | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def of(cls, crawler: Crawler) -> Self | None:
        """The crawler's archive, or None when ``WARC_ENABLED`` is off."""
        return _ARCHIVES.get(  # type: ignore[return-value]
            crawler, lambda c: cls(c) if c.settings.getbool("WARC_ENABLED") else None)

    @classmethod
    def require(cls, crawler: Crawler) -> Self:
        archive = cls.of(crawler)
        if archive is None:
            raise NotConfigured
        return archive

    # --- lifecycle -------------------------------------------------------------------
    def _info(self) -> WarcInfo:
        settings = self.crawler.settings
        robots = "obey (protego)" if settings.getbool("ROBOTSTXT_OBEY") else "ignore"
        headers = settings.getdict("DEFAULT_REQUEST_HEADERS")
        return WarcInfo(
            is_part_of=crawl_name(self.crawler),
            operator=str(self.operator),
            user_agent=str(settings.get("USER_AGENT")),
            robots=robots,
            description=settings.get("WARC_DESCRIPTION") or
            "news crawl by newsarchive: every HTTP response of the crawl, with extracted text",
            http_from=headers.get("From"),
            software=default_software(),
        )

    def spider_opened(self) -> None:
        name = crawl_name(self.crawler)
        self.group = name
        directory = self.output.work_dir(f"warc/{name}")
        self.repair()
        if self.dedup_enabled:
            self.output.state_dir.mkdir(parents=True, exist_ok=True)
            self.dedup = DedupIndex(self.output.state_dir / "warc-dedup.sqlite")
        self.writer = WarcWriter(directory, prefix=self.prefix, info=self._info(),
                                 max_size=self.max_size, max_age=self.max_age,
                                 dedup=self.dedup, keep_credentials=self.keep_credentials,
                                 on_published=self._published,
                                 hostname=self._worker_name())
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="warc-writer")
        stats = self.crawler.stats
        assert stats is not None
        stats.set_value("warc/crawl", name)

    def _worker_name(self) -> str | None:
        """A fleet worker's files carry its id where a WARC name has the host name."""
        settings = self.crawler.settings
        if not settings.getbool("DISTRIBUTED_ENABLED"):
            return None
        return safe_component(str(settings.get("DISTRIBUTED_WORKER_ID")), 40).replace(".", "-")

    def repair(self) -> None:
        """Repair (or set aside) every ``.open`` WARC a crashed run left in staging, and
        publish closed WARCs it did not get to hand over."""
        root = self.output.staging_dir / "_work" / "warc"
        if not root.is_dir():
            return
        stats = self.crawler.stats
        assert stats is not None
        for directory in sorted({p.parent for p in root.glob("*/*.warc.gz.open")}):
            for outcome in repair_open_files(directory):
                stats.inc_value(f"warc/repaired/{outcome.status}")
                logger.warning("leftover %s from an interrupted run: %s (%d records kept)",
                               outcome.source, outcome.status, outcome.records)
        for warc in sorted(root.glob("*/*.warc.gz")):
            cdxj = sidecar_path(warc)
            if not cdxj.exists():
                cdxj = index_warc(warc)
            self._hand_over(warc, cdxj, warc.parent.name)

    def _published(self, warc: Path, cdxj: Path | None) -> None:
        """Called by the writer (in its thread) for each closed, indexed file."""
        self._hand_over(warc, cdxj, self.group)

    def _hand_over(self, warc: Path, cdxj: Path | None, group: str) -> None:
        when = key_date(warc.name, datetime.now(UTC))
        warc_key, warc_staged = self.output.staged("warc", group, when, warc.name)
        os.replace(warc, warc_staged)
        self.output.publish(warc_key)
        if cdxj is not None and cdxj.exists():
            cdxj_key, cdxj_staged = self.output.staged("cdxj", group, when, cdxj.name)
            os.replace(cdxj, cdxj_staged)
            self.output.publish(cdxj_key, after=warc_key)
        logger.info("closed %s", warc.name)

    def spider_closed(self) -> None:
        if self.writer is not None:
            self.writer.close()
            stats = self.crawler.stats
            assert stats is not None
            # records, bytes, files (published), captures, revisits: the writer counts them
            for key, value in self.writer.stats.items():
                stats.set_value(f"warc/{key}", value)
        if self.dedup is not None:
            self.dedup.close()
        if self._thread is not None:
            self._thread.shutdown()

    async def _in_writer_thread(self, func: Callable[..., _T], /, *args: Any,
                                **kwargs: Any) -> _T:
        if self._thread is None or not is_asyncio_available():
            return await run_in_thread(func, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(
            self._thread, functools.partial(func, *args, **kwargs))

    # --- used by the recorder and the pipelines -----------------------------------------
    async def write_capture(self, capture: HttpCapture, *, hold: bool) -> CaptureRef:
        assert self.writer is not None
        return await self._in_writer_thread(self.writer.write_capture, capture, hold=hold)

    def release(self, ref: CaptureRef | None) -> None:
        if ref is not None and self.writer is not None:
            self.writer.release(ref)

    async def write_article(self, ref: CaptureRef, article: Article) -> None:
        """Conversion (text) and metadata records for ``article``; fills its WARC fields."""
        assert self.writer is not None
        fields = [("title", article.title or "")]
        fields += [("author", a) for a in article.authors]
        fields += [("datePublished", article.published or ""),
                   ("dateModified", article.modified or ""),
                   ("language", article.language or ""),
                   ("canonicalURL", article.canonical_url or ""),
                   ("wordCount", str(article.word_count)),
                   ("extractedAt", datetime.now(UTC).isoformat(timespec="seconds"))]
        fields = [(k, v) for k, v in fields if v]
        try:
            await self._in_writer_thread(
                self.writer.write_extraction, ref, text=article.text,
                language=_iso639_3(article.language), fields=fields, extractor=_extractor())
        except WarcFileClosedError:
            logger.warning("WARC file of %s closed before its text was written", ref.url)
        except DiskFull as exc:  # the capture is kept; the crawl stops
            self.release(ref)
            self.output.disk_full(exc)
        article.warc_file = ref.filename
        article.warc_offset = ref.offset
        article.warc_length = ref.length
        article.warc_record_id = ref.record_id


@functools.cache
def _extractor() -> str:
    from importlib.metadata import version  # noqa: PLC0415

    from crawler import __version__  # noqa: PLC0415

    return f"newsarchive/{__version__} trafilatura/{version('trafilatura')}"


_ISO639_1_TO_3 = {"en": "eng", "fr": "fra", "de": "deu", "es": "spa", "it": "ita",
                  "pt": "por", "nl": "nld", "sv": "swe", "da": "dan", "no": "nor",
                  "fi": "fin", "pl": "pol", "ru": "rus", "uk": "ukr", "tr": "tur",
                  "ar": "ara", "zh": "zho", "ja": "jpn", "ko": "kor", "hi": "hin"}


def _iso639_3(language: str | None) -> str | None:
    """``WARC-Identified-Content-Language`` wants ISO 639-3 codes."""
    if not language:
        return None
    return _ISO639_1_TO_3.get(language.split("-")[0].lower())


