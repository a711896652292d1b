"""Article extraction: trafilatura for the text, the page's own declarations for metadata.

``extract_article(html, url)`` is the one code path used by the crawl, by
``newsarchive extract`` and by the benchmark. trafilatura is imported on first use: an
archive-only crawl, and a crawl's main process when the extraction pool has workers, never
load it (a quarter of a second at every start).
"""

from __future__ import annotations

import logging
from configparser import ConfigParser
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self

from parsel import Selector
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.utils.asyncio import run_in_thread

from crawler.items import Article, FetchedPage, Image
from crawler.urls import DEFAULT_TRACKING_PARAMS, normalize_url
from pipelines.cleaning import clean_text, lift_embedded_posts, prune_tree, wrap_lead_text
from pipelines.metadata import (
    detect_language,
    instant,
    normalize_authors,
    page_metadata,
    valid_date,
)
from pipelines.pool import ExtractionPool, default_processes
from pipelines.warc_archive import WarcArchive

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["ExtractPipeline", "ExtractionOptions", "extract_article"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExtractionOptions:
    """trafilatura's configuration and switches, built once per crawl."""

    config: ConfigParser
    fast: bool = False
    favor_precision: bool = False
    include_tables: bool = True
    target_language: str | None = None

    @classmethod
    def build(cls, config_file: str | None = None, **switches: Any) -> Self:
        from trafilatura.settings import use_config  # noqa: PLC0415

        # use_config lays the user's file over trafilatura's settings.cfg.
        config = use_config(config_file) if config_file else use_config()
        # Signal-based timeouts only work in the main thread; extraction runs elsewhere.
        config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")
        return cls(config=config, **switches)


_default_options: ExtractionOptions | None = None


def _defaults() -> ExtractionOptions:
    global _default_options  # noqa: PLW0603
    if _default_options is None:
        _default_options = ExtractionOptions.build()
    return _default_options


def _parse_time(value: str | None) -> datetime | None:
    """The fetch time as an aware datetime: relative dates ("3 hours ago") count from it."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _heuristic_date(value: str | None, now: datetime | None) -> str | None:
    """trafilatura's date (htmldate's heuristics over the page text, a day at best) when the
    page declares none. January 1st is htmldate's answer for a bare year, most often the
    year of a copyright notice ("© 2019 The Post"): that is no publication date."""
    if value and value.endswith("-01-01"):
        return None
    return valid_date(value, now)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def extract_article(html: str | bytes, url: str, *, options: ExtractionOptions | None = None,
                    fetched_at: str | None = None, status: int | None = None,
                    site: str | None = None, source: str | None = None) -> Article:
    """Extract text and metadata of the article page ``html`` fetched from ``url``.

    Always returns an ``Article``; its ``text`` is empty when no article text was found.
    """
    import trafilatura  # noqa: PLC0415
    from trafilatura.utils import load_html  # noqa: PLC0415

    options = options or _defaults()
    article = Article(url=url, site=site, fetched_at=fetched_at or _now_iso(), status=status,
                      source=source)
    tree = load_html(html)
    if tree is None:
        return article
    sel = Selector(root=tree, type="html")
    fetched = _parse_time(fetched_at)  # only a real fetch time resolves "3 hours ago"
    md = page_metadata(sel, url, now=fetched, fetched=fetched)
    lift_embedded_posts(tree)  # quoted tweets/posts out of widget wrappers, before pruning
    prune_tree(tree)  # after the metadata and figures were read from the full page
    wrap_lead_text(tree)  # a first paragraph written as loose text before <br><br>
    # trafilatura's own metadata (with htmldate) is only a fallback and costs about a quarter
    # of the extraction time: it runs only when the page leaves a main field undeclared. The
    # text does not depend on it.
    fallback = not (md.title and md.published and (md.authors or md.organisations)
                    and md.site_name)
    doc: Any = trafilatura.bare_extraction(
        tree, url=url, with_metadata=fallback, include_comments=False,
        include_tables=options.include_tables, include_images=False,
        fast=options.fast, favor_precision=options.favor_precision,
        target_language=options.target_language, config=options.config)

    title = md.title or (doc.title if doc else None)
    authors = md.authors or normalize_authors([doc.author] if doc and doc.author else [])
    captions = [c for _, c, _ in md.captions if c]
    raw_text = doc.text if doc and doc.text else ""
    description = md.description or (doc.description if doc else None)
    page_urls = " ".join(u for u in (url, md.canonical_url) if u)
    text = clean_text(raw_text, title=title, authors=authors, captions=captions,
                      description=description, url=page_urls)

    canonical = md.canonical_url or url
    try:
        article.canonical_url = normalize_url(canonical, DEFAULT_TRACKING_PARAMS)
    except ValueError:
        article.canonical_url = url
    article.title = title
    article.authors = authors
    article.published = md.published or (_heuristic_date(doc.date, fetched) if doc else None)
    article.modified = md.modified
    article.language = md.language or (doc.language if doc else None)
    article.site_name = md.site_name or (doc.sitename if doc else None)
    article.description = md.description or (doc.description if doc else None)
    article.categories = md.categories or list(doc.categories or []) if doc else md.categories
    article.tags = md.tags or list(doc.tags or []) if doc else md.tags
    article.text = text
    article.word_count = len(text.split())
    article.images = [Image(src=src or "", caption=cap or None, credit=credit)
                      for src, cap, credit in md.captions]
    article.is_accessible_for_free = md.is_accessible_for_free
    article.author_organisations = md.organisations
    article.language_detected = detect_language(text)
    return article


class ExtractPipeline:
    """Turns each ``FetchedPage`` into an ``Article`` (in a thread, off the reactor)."""

    def __init__(self, crawler: Crawler, options: ExtractionOptions, min_words: int,
                 pool: ExtractionPool | None = None) -> None:
        self.crawler = crawler
        self.options = options
        self.min_words = min_words
        self.archive = WarcArchive.of(crawler)
        self.pool = pool or ExtractionPool(options, None, {}, 0, 4)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.getbool("TRAFILATURA_ENABLED"):
            raise NotConfigured
        config_file = settings.get("TRAFILATURA_CONFIG_FILE") or None
        switches = {
            "fast": settings.getbool("TRAFILATURA_FAST"),
            "favor_precision": settings.getbool("TRAFILATURA_FAVOR_PRECISION"),
            "include_tables": settings.getbool("TRAFILATURA_INCLUDE_TABLES"),
            "target_language": settings.get("TRAFILATURA_TARGET_LANGUAGE") or None,
        }
        options = ExtractionOptions.build(config_file, **switches)
        processes = settings.getint("TRAFILATURA_PROCESSES", -1)
        if processes < 0:
            processes = default_processes()
        # Six pages per worker keep the workers fed through the reactor's pauses (3,000-page
        # benchmark crawl, medians of 5 runs: 54.3 s with two per worker, 52.0 s with six,
        # and steadier); a page is a fraction of a MB, so memory stays flat either way.
        pending = settings.getint("TRAFILATURA_MAX_PENDING") or 6 * max(processes, 1)
        pool = ExtractionPool(options, config_file, switches, processes, pending)
        assert crawler.stats is not None
        crawler.stats.set_value("extract/processes", processes)
        return cls(crawler, options, settings.getint("TRAFILATURA_MIN_WORDS"), pool)

    async def open_spider(self) -> None:
        await run_in_thread(self.pool.warm_up)

    def close_spider(self) -> None:
        self.pool.close()

    def _check_founded(self, article: Article, site: str | None) -> None:
        """Drop a published/modified date older than the site's ``founded`` (sites.toml): a
        date from before the site existed is a wrong pick (a quoted date, a copied archive)."""
        founded_for = getattr(self.crawler.spider, "founded_for", None)
        founded = founded_for(site) if founded_for is not None else None
        if founded is None:
            return
        for name in ("published", "modified"):
            value = getattr(article, name)
            if value and instant(value) < founded:
                setattr(article, name, None)
                assert self.crawler.stats is not None
                self.crawler.stats.inc_value("extract/dates_before_site")

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchedPage):
            return item
        stats = self.crawler.stats
        assert stats is not None
        article = await self.pool.extract(
            item.html, item.url, fetched_at=item.fetched_at, status=item.status,
            site=item.site, source=item.source)
        if article.word_count < self.min_words:
            if self.archive is not None:
                self.archive.release(item.warc_ref)
            stats.inc_value("extract/too_short")
            raise DropItem(f"too little article text ({article.word_count} words)",
                           log_level="INFO")
        if article.published is None and item.listed_date:
            article.published = valid_date(item.listed_date)
        self._check_founded(article, item.site)
        if self.archive is not None and item.warc_ref is not None:
            await self.archive.write_article(item.warc_ref, article)
        stats.inc_value("extract/articles")
        return article
