"""The crawl's view of the state store: skip what is archived, re-fetch what is due.

- Article URLs (from feeds, sitemaps or links) already archived are not requested again
  unless their update check is due (``STATE_UPDATE_SCHEDULE`` after publication).
- Feeds and sitemaps are fetched with ``If-None-Match``/``If-Modified-Since``; their new
  validators are saved only when the run ends normally, so a killed run's feeds are read
  in full next time and nothing they listed is lost.
- Articles are recorded as archived only once the file holding them is published.
``STATE_FULL`` (``--full``) ignores what the store says (and still updates it).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Self

from scrapy import signals
from scrapy.http import Response

from crawler.items import Article
from crawler.registry import PerCrawler
from crawler.since import parse_timestamp
from crawler.state import (
    ArticleState,
    SourceState,
    StateStore,
    next_check,
    open_state,
    parse_schedule,
)
from crawler.urls import normalize_url

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["IncrementalState", "text_digest"]

logger = logging.getLogger(__name__)

_STATES: PerCrawler[IncrementalState | None] = PerCrawler()


def text_digest(text: str) -> str:
    return "sha1:" + hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds")


class IncrementalState:
    def __init__(self, crawler: Crawler, store: StateStore) -> None:
        self.crawler = crawler
        self.store = store
        settings = crawler.settings
        self.full = settings.getbool("STATE_FULL")
        self.schedule = parse_schedule(settings.getlist("STATE_UPDATE_SCHEDULE"))
        self.tracking = settings.getlist("NEWS_STRIP_QUERY_PARAMS")
        self._sources: dict[str, SourceState] = {}
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def of(cls, crawler: Crawler) -> Self | None:
        return _STATES.get(crawler, cls._build)  # type: ignore[return-value]

    @classmethod
    def _build(cls, crawler: Crawler) -> Self | None:
        settings = crawler.settings
        if not settings.getbool("STATE_ENABLED"):
            return None
        location = settings.get("STATE_URL")
        if not location:  # beside the output: the crawl's publisher knows where
            from pipelines.output import ArchiveOutput  # noqa: PLC0415

            location = str(ArchiveOutput.of(crawler).state_dir / "state.sqlite")
        return cls(crawler, open_state(location))

    def _count(self, key: str) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(key)

    # --- articles ------------------------------------------------------------------------
    def key(self, url: str) -> str:
        return normalize_url(url, self.tracking)

    def known(self, url: str, *, normalized: bool = False) -> ArticleState | None:
        """The archived state of ``url`` (already in :meth:`key` form when ``normalized``)."""
        if self.full:
            return None
        try:
            return self.store.article(url if normalized else self.key(url))
        except ValueError:
            return None

    def should_fetch(self, url: str, now: datetime | None = None, *,
                     normalized: bool = False) -> bool:
        """False for an archived article whose update check is not due."""
        prior = self.known(url, normalized=normalized)
        if prior is None:
            return True
        due = parse_timestamp(prior.next_check)
        if due is not None and due <= (now or datetime.now(UTC)):
            self._count("state/update_checks")
            return True
        self._count("state/skipped_archived")
        return False

    def classify(self, article: Article) -> tuple[str, ArticleState | None]:
        """``new``, ``updated`` or ``unchanged``, and the earlier state if any."""
        prior = self.known(article.canonical_url or article.url) or self.known(article.url)
        if prior is None:
            return "new", None
        if prior.text_digest == text_digest(article.text):
            return "unchanged", prior
        return "updated", prior

    def state_for(self, article: Article, prior: ArticleState | None) -> ArticleState:
        """The state to record for ``article`` (version already set on it)."""
        now = datetime.now(UTC)
        published = parse_timestamp(article.published)
        first = parse_timestamp(prior.first_capture) if prior else None
        base = published or first or now
        checks = (prior.checks + 1) if prior else 0
        # the next check after this capture (its fetch time, not the time it is recorded)
        upcoming = next_check(base, self.schedule, parse_timestamp(article.fetched_at) or now)
        key = self.key(article.canonical_url or article.url)
        aliases = {self.key(article.url), key, *(prior.aliases if prior else ())}
        return ArticleState(
            key=key, url=article.url, site=article.site or "",
            first_capture=prior.first_capture if prior else (article.fetched_at or _iso(now)),
            last_capture=article.fetched_at or _iso(now), published=article.published,
            text_digest=text_digest(article.text),
            warc_file=article.warc_file, warc_offset=article.warc_offset,
            warc_record_id=article.warc_record_id, status="ok", version=article.version,
            checks=checks, next_check=_iso(upcoming) if upcoming else None,
            aliases=tuple(sorted(aliases)))

    def unchanged(self, article: Article, prior: ArticleState) -> None:
        """Record an update check that found the same text (the WARC holds the capture)."""
        state = self.state_for(article, prior)
        state.version = prior.version
        state.warc_file, state.warc_offset = prior.warc_file, prior.warc_offset
        state.warc_record_id = prior.warc_record_id
        self.store.put_articles([state])

    def commit(self, states: list[ArticleState]) -> None:
        """Record articles whose file was published."""
        if states:
            self.store.put_articles(states)

    # --- feeds and sitemaps --------------------------------------------------------------
    def conditional_headers(self, url: str) -> dict[str, str]:
        if self.full:
            return {}
        source = self.store.source(url)
        headers = {}
        if source and source.etag:
            headers["If-None-Match"] = source.etag
        if source and source.last_modified:
            headers["If-Modified-Since"] = source.last_modified
        return headers

    def source_fetched(self, response: Response, site: str, new_entries: int) -> None:
        """Remember the validators and whether the source listed anything new; saved
        when the run ends normally."""
        url = response.request.url if response.request else response.url
        prior = self._sources.get(url) or self.store.source(url) or SourceState(url, site)
        now = _iso(datetime.now(UTC))
        if response.status != 304:
            etag = response.headers.get(b"ETag")
            modified = response.headers.get(b"Last-Modified")
            prior.etag = etag.decode("latin-1") if etag else None
            prior.last_modified = modified.decode("latin-1") if modified else None
        prior.last_fetch = now
        if new_entries:
            prior.last_new = now
        self._sources[url] = prior

    def spider_closed(self, reason: str) -> None:
        if reason in ("finished", "closespider_itemcount") and self._sources:
            self.store.put_sources(self._sources.values())
        elif self._sources:
            logger.info("run ended with %r: feed and sitemap validators not saved, the "
                        "next run reads them in full", reason)
        self.store.close()
