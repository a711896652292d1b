"""The one news spider: seeds from start pages, feeds and sitemaps, per site.

``newsarchive crawl`` passes ``SiteConfig`` objects; ``scrapy crawl news`` takes string
arguments: ``-a url=URL[,URL…]``, ``-a urls_file=PATH``, ``-a config=sites.toml``,
``-a site=NAME[,NAME…]``, ``-a since=2d``, ``-a depth=N``, ``-a max_articles=N``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit, urlunsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.asyncio import run_in_thread
from scrapy.utils.sitemap import sitemap_urls_from_robots
from twisted.python.failure import Failure

from crawler.classify import (
    HeadTags,
    PageEvidence,
    declares_article,
    is_article,
    page_evidence,
    read_head,
)
from crawler.config import ConfigError, SiteConfig, load_sites, override_sites, site_from_urls
from crawler.discovery import DiscoveryError, Entry, feed_links, parse_feed, parse_sitemap
from crawler.distributed.leases import release
from crawler.distributed.settings import Fleet
from crawler.egress import EgressRefused
from crawler.handlers import FETCH_START_KEY
from crawler.incremental import IncrementalState
from crawler.items import FetchedPage
from crawler.middlewares import WARC_REF_KEY, NotArchived
from crawler.report import RunReport
from crawler.urls import host_in_domains, in_domains, normalize_url, url_fingerprint
from pipelines.warc_archive import WarcArchive

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["NewsSpider"]

# Links never worth following from a news page.
_DENY_LINKS = (r"/(login|signin|signup|register|subscribe|account|cart|checkout)(/|$)",
               r"/wp-(admin|login)", r"[?&](replytocom|share|print)=", r"/feed/?$",
               r"/(amp|print)/?$")


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def read_urls_file(path: str) -> list[str]:
    """URLs from a file (``-`` for stdin), one per line; blank lines and ``#`` comments ok."""
    import sys  # noqa: PLC0415

    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: can't read the URL list: {exc}") from None
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def _ignored_kind(message: str) -> str:
    """The report counter of a request Scrapy ignored, from the exception's message."""
    if "max redirections" in message:
        return "too_many_redirects"  # RedirectMiddleware: REDIRECT_MAX_TIMES
    if "DOWNLOAD_MAXSIZE" in message:
        return "too_large"  # HttpCompressionMiddleware: a decompression bomb
    if "robots.txt" in message:
        return "robots_disallowed"  # RobotsTxtMiddleware (counts robotstxt/forbidden too)
    return "ignored_requests"


_ABSOLUTE = re.compile(r"\s*(?:[A-Za-z][A-Za-z0-9+.-]*:|//)")


def _href_in_scope(domains: Sequence[str]) -> Callable[[str], str | None]:
    """LinkExtractor's ``process_value``: an absolute href is dropped unless its host is in
    ``domains``; a relative one is kept (the page's own host; checked again once joined)."""

    def keep(href: str) -> str | None:
        if not _ABSOLUTE.match(href):
            return href
        try:
            parts = urlsplit(href.strip())
        except ValueError:
            return href  # LinkExtractor decides what to make of it
        if parts.scheme and parts.scheme.lower() not in ("http", "https"):
            return None
        return href if host_in_domains(parts.hostname or "", domains) else None

    return keep


def _fetched_at(response: Response) -> str:
    start = response.meta.get(FETCH_START_KEY)
    when = start if isinstance(start, datetime) else datetime.now(UTC)
    return when.isoformat(timespec="seconds")


class NewsSpider(scrapy.Spider):
    name = "news"

    def __init__(self, *args: Any, sites: Iterable[SiteConfig] | None = None,
                 url: str | None = None, urls_file: str | None = None,
                 config: str | None = None, site: str | None = None,
                 since: str | None = None, depth: str | int | None = None,
                 max_articles: str | int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if sites is None:
            sites = self._sites_from_args(url, urls_file, config, site, since, depth,
                                          max_articles)
        self.sites: dict[str, SiteConfig] = {s.name: s for s in sites}
        if not self.sites:
            raise ConfigError("nothing to crawl: give URLs, --urls-file or --config")
        self.allowed_domains = sorted({d for s in self.sites.values()
                                       for d in s.allowed_domains})
        self._patterns = {name: {k: s.compiled(k) for k in
                                 ("article_allow", "article_deny", "follow_deny")}
                          for name, s in self.sites.items()}
        self._link_extractors = {
            # Scope is checked by host (LinkExtractor's allow_domains compares the netloc,
            # port included), first on the raw href: most links of a news page lead off
            # the site, and LinkExtractor's per-link work is then spent on them for nothing.
            name: LinkExtractor(deny=list(s.follow_deny) + list(_DENY_LINKS), unique=True,
                                process_value=_href_in_scope(s.allowed_domains))
            for name, s in self.sites.items()}
        self.emitted: set[bytes] = set()  # url_fingerprint of emitted URLs
        self.tracking: list[str] = []
        self.default_depth = 2
        self.min_words = 80
        self.follow_article_links = False
        self.robots_sitemaps = True
        self.feed_autodiscovery = True
        # pages go to the pipelines for extraction; archive-only crawls emit none
        self.extracting = True
        self.archive: WarcArchive | None = None
        self.incremental: IncrementalState | None = None
        self.max_pages = 0
        self._seen: dict[str, set[bytes]] = {}  # fingerprints of normalised URLs, per site
        self._asked: Counter[str] = Counter()  # requests per site (the page budget)

    @staticmethod
    def _sites_from_args(url: str | None, urls_file: str | None, config: str | None,
                         site: str | None, since: str | None, depth: str | int | None,
                         max_articles: str | int | None) -> list[SiteConfig]:
        depth_i = int(depth) if depth not in (None, "") else None
        max_i = int(max_articles) if max_articles not in (None, "") else None
        if config:
            return override_sites(load_sites(config, _csv(site) or None), since=since,
                                  depth=depth_i, max_articles=max_i)
        urls = _csv(url)
        if urls_file:
            urls += read_urls_file(urls_file)
        return site_from_urls(urls, depth=depth_i, since=since, max_articles=max_i)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.tracking = settings.getlist("NEWS_STRIP_QUERY_PARAMS")
        spider.default_depth = settings.getint("NEWS_DEPTH")
        spider.min_words = settings.getint("NEWS_MIN_ARTICLE_WORDS")
        spider.follow_article_links = settings.getbool("NEWS_FOLLOW_ARTICLE_LINKS")
        spider.robots_sitemaps = settings.getbool("NEWS_ROBOTS_SITEMAPS")
        spider.feed_autodiscovery = settings.getbool("NEWS_FEED_AUTODISCOVERY")
        spider.max_pages = settings.getint("NEWS_MAX_PAGES_PER_SITE")
        spider.extracting = settings.getbool("TRAFILATURA_ENABLED")
        spider.archive = WarcArchive.of(crawler)
        spider.incremental = IncrementalState.of(crawler)
        # Per-site delay and concurrency become Scrapy download slots (one per domain).
        slots = dict(settings.getdict("DOWNLOAD_SLOTS"))
        for site in spider.sites.values():
            slot: dict[str, Any] = {}
            if site.download_delay is not None:
                slot["delay"] = site.download_delay
            if site.concurrency is not None:
                slot["concurrency"] = site.concurrency
            if slot:
                for domain in site.allowed_domains:
                    slots.setdefault(domain, slot)
        if slots and not settings.frozen:
            settings.set("DOWNLOAD_SLOTS", slots, priority="spider")
        return spider

    # --- per-site answers used by pipelines ----------------------------------------------
    def since_for(self, site: str | None) -> datetime | None:
        config = self.sites.get(site or "")
        return config.since_dt if config else None

    def founded_for(self, site: str | None) -> datetime | None:
        config = self.sites.get(site or "")
        return config.founded_dt if config else None

    def max_articles_for(self, site: str | None) -> int | None:
        config = self.sites.get(site or "")
        return config.max_articles if config else None

    def depth_for(self, site: SiteConfig) -> int:
        return site.depth if site.depth is not None else self.default_depth

    # --- seeding -----------------------------------------------------------------------
    def _first_sight(self, site: SiteConfig, url: str) -> bool:
        """True the first time this run meets ``url`` (normalised) on ``site``. A link found
        again (an article is on its section page, the front page and in a sitemap) then
        costs no state lookup and no request for the dupefilter to drop."""
        seen = self._seen.setdefault(site.name, set())
        key = url_fingerprint(url)
        if key in seen:
            self._count("news/links_seen_before")
            return False
        seen.add(key)
        return True

    def _within_budget(self, site: SiteConfig) -> bool:
        """False once ``NEWS_MAX_PAGES_PER_SITE`` distinct URLs of the site were asked
        for (a calendar or faceted-search trap must not eat the run)."""
        if self.max_pages <= 0 or self._asked[site.name] < self.max_pages:
            return True
        self._count("news/over_page_budget")
        report = RunReport.of(self.crawler)
        if not report.count(site.name, "over_page_budget"):
            self.logger.warning("site %s: page budget of %d requests reached "
                                "(NEWS_MAX_PAGES_PER_SITE); not following more",
                                site.name, self.max_pages)
        report.inc(site.name, "over_page_budget")
        return False

    def _request(self, url: str, site: SiteConfig, source: str, callback: Any, *,
                 check_state: bool = False, **meta: Any) -> scrapy.Request | None:
        """A request for ``url``, or None when this run met it before, when it is over the
        page budget or (``check_state``) when it is an archived article whose update check
        is not due."""
        meta = {"news_site": site.name, "news_source": source, **meta}
        url = normalize_url(url, self.tracking)
        if not self._first_sight(site, url):
            return None
        if check_state and self.incremental is not None and \
                not self.incremental.should_fetch(url, normalized=True):
            return None
        if not self._within_budget(site):
            return None
        self._asked[site.name] += 1
        headers: dict[str, str] = {}
        if callback in (self.parse_feed, self.parse_sitemap):
            # conditional: a 304 comes to the callback (and is archived as a revisit)
            meta["handle_httpstatus_list"] = [304]
            if self.incremental is not None:
                headers = self.incremental.conditional_headers(url)
        return scrapy.Request(url, callback=callback, errback=self.on_error, meta=meta,
                              headers=headers or None)

    async def start(self) -> AsyncIterator[Any]:
        fleet = Fleet.of(self.crawler)
        if fleet is not None and not self.settings.getbool("DISTRIBUTED_SEEDER"):
            return  # another worker seeded this run: work on the shared frontier
        async for request in self._all_seeds():
            yield request
        if fleet is not None:
            fleet.seeding_done()

    async def _all_seeds(self) -> AsyncIterator[Any]:
        for site in self.sites.values():
            for request in self._seeds(site):
                if request is not None:
                    yield request

    def _seeds(self, site: SiteConfig) -> Iterable[scrapy.Request | None]:
        for url in site.start_urls:
            yield self._request(url, site, "start", self.parse_page)
        for url in site.feeds:
            yield self._request(url, site, "feed", self.parse_feed)
        for url in site.sitemaps:
            yield self._request(url, site, "sitemap", self.parse_sitemap)
        if site.robots_sitemaps and self.robots_sitemaps and not site.sitemaps:
            # Only for site roots: a list of article URLs must not pull in a whole site.
            roots = [u for u in site.start_urls if urlsplit(u).path in ("", "/")]
            for origin in dict.fromkeys(self._origin(u) for u in roots):
                yield self._request(origin + "/robots.txt", site, "robots",
                                    self.parse_robots)

    @staticmethod
    def _origin(url: str) -> str:
        parts = urlsplit(url)
        return urlunsplit((parts.scheme, parts.netloc, "", "", ""))

    # --- callbacks ---------------------------------------------------------------------
    def _site(self, response: Response) -> SiteConfig:
        return self.sites[response.meta["news_site"]]

    def _count(self, key: str, value: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(key, value)

    def parse_robots(self, response: Response) -> Iterable[scrapy.Request]:
        site = self._site(response)
        for url in sitemap_urls_from_robots(response.body, base_url=response.url):
            self._count("news/sitemaps_from_robots")
            request = self._request(url, site, "sitemap", self.parse_sitemap,
                                    depth_reset=True)
            if request is not None:
                yield request

    def _entries_to_requests(self, entries: list[Entry], site: SiteConfig, source: str,
                             callback: Any, response: Response | None = None,
                             ) -> Iterable[scrapy.Request]:
        since = site.since_dt
        new = 0
        for request in self._entry_requests(entries, site, source, callback, since):
            if not request.meta.get("news_is_sitemap"):
                new += 1
            yield request
        if self.incremental is not None and response is not None:
            self.incremental.source_fetched(response, site.name, new)

    def _entry_requests(self, entries: list[Entry], site: SiteConfig, source: str,
                        callback: Any, since: datetime | None) -> Iterable[scrapy.Request]:
        for entry in entries:
            if since and entry.date and entry.date < since:
                self._count("news/skipped_before_since")
                continue
            if not in_domains(entry.url, site.allowed_domains):
                self._count("news/offsite_entries")
                continue
            if entry.is_sitemap:
                request = self._request(entry.url, site, "sitemap", self.parse_sitemap,
                                        depth_reset=True, news_is_sitemap=True)
            else:
                listed = entry.date.isoformat() if entry.date else None
                request = self._request(entry.url, site, source, callback, check_state=True,
                                        depth_reset=True, news_listed_date=listed)
            if request is not None:
                yield request

    def _not_modified(self, response: Response, site: SiteConfig) -> bool:
        if response.status != 304:
            return False
        self._count("news/not_modified")
        if self.incremental is not None:
            self.incremental.source_fetched(response, site.name, 0)
        return True

    # Feeds and sitemaps are parsed in a thread: a sitemap of tens of thousands of URLs takes
    # a second of parsing, which on the reactor would stop every download for that long.

    async def parse_feed(self, response: Response) -> AsyncIterator[scrapy.Request]:
        site = self._site(response)
        if self._not_modified(response, site):
            return
        problems: list[str] = []
        try:
            entries = await run_in_thread(parse_feed, response.body, response.url, problems)
        except DiscoveryError as exc:
            problems.append(str(exc))
            entries = None
        for problem in problems:
            self._count("news/feed_errors")
            RunReport.of(self.crawler).inc(site.name, "feed_errors")
            self.logger.error("bad feed: %s", problem)
        if entries is None:
            return
        self._count("news/feeds")
        for request in self._entries_to_requests(entries, site, "feed", self.parse_page,
                                                 response):
            yield request

    async def parse_sitemap(self, response: Response) -> AsyncIterator[scrapy.Request]:
        site = self._site(response)
        if self._not_modified(response, site):
            return
        try:
            entries = await run_in_thread(parse_sitemap, response.body, response.url,
                                          max_size=self.settings.getint("DOWNLOAD_MAXSIZE"))
        except DiscoveryError as exc:
            self._count("news/sitemap_errors")
            RunReport.of(self.crawler).inc(site.name, "sitemap_errors")
            self.logger.error("bad sitemap: %s", exc)
            return
        self._count("news/sitemaps")
        for request in self._entries_to_requests(entries, site, "sitemap", self.parse_page,
                                                 response):
            yield request

    def parse_page(self, response: Response) -> Iterable[Any]:
        site = self._site(response)
        if not isinstance(response, TextResponse):
            self._count("news/non_text_responses")
            return
        source = response.meta.get("news_source", "link")
        depth = response.meta.get("depth", 0)
        head = read_head(response.text)
        if source == "start" and site.feed_autodiscovery and self.feed_autodiscovery:
            for url in feed_links(response.selector, response.url):
                if in_domains(url, site.allowed_domains) and url not in site.feeds:
                    self._count("news/feeds_autodiscovered")
                    request = self._request(url, site, "feed", self.parse_feed,
                                            depth_reset=True)
                    if request is not None:
                        yield request
        article = self._is_article(response, site, head)
        emitted = False
        if article:
            for item in self._emit(response, site, source, head):
                emitted = True
                yield item
        if not emitted and self.archive is not None:
            # no text will be extracted from this capture: its WARC file may close
            self.archive.release(response.meta.get(WARC_REF_KEY))
        if (not article or site.follow_article_links or self.follow_article_links) and \
                depth < self.depth_for(site):
            for link in self._link_extractors[site.name].extract_links(response):
                if in_domains(link.url, site.allowed_domains) and (
                        request := self._request(link.url, site, "link", self.parse_page,
                                                 check_state=True)) is not None:
                    yield request

    def _page_text(self, response: TextResponse, site: SiteConfig) -> str:
        """The page as text: as declared, unless it declares UTF-8 and is not (then the
        usual mislabel, windows-1252, rather than a page of U+FFFD)."""
        text = response.text
        # w3lib decodes with U+FFFD for what does not decode: no U+FFFD, nothing to check
        if "\ufffd" in text and response.encoding.lower().replace("_", "-") in {"utf-8", "utf8"}:
            try:
                response.body.decode("utf-8")
            except UnicodeDecodeError:
                self._count("news/charset_mismatch")
                RunReport.of(self.crawler).inc(site.name, "charset_mismatch")
                self.logger.info("%s: declared UTF-8 but is not; read as windows-1252",
                                 response.url)
                return response.body.decode("cp1252", errors="replace")
        return text

    def _is_article(self, response: TextResponse, site: SiteConfig,
                    head: HeadTags | None) -> bool:
        """``is_article``, parsing no more of the page than it takes: the URL patterns
        first, then the ``<head>`` alone (most articles say so there), then the page."""
        patterns = self._patterns[site.name]
        allow, deny = patterns["article_allow"], patterns["article_deny"]
        if not allow and not any(p.search(response.url) for p in deny) and \
                head is not None and declares_article(head.evidence):
            return True
        evidence = page_evidence(response.selector) if not allow else PageEvidence()
        return is_article(response.url, evidence, allow=allow, deny=deny,
                          min_words=self.min_words)

    def _emit(self, response: TextResponse, site: SiteConfig, source: str,
              head: HeadTags | None) -> Iterable[Any]:
        # the first canonical link of the page is the head's first, when the head has one
        canonical = (head.canonical if head is not None else None) or \
            response.xpath('//link[@rel="canonical"]/@href').get()
        keys = {url_fingerprint(normalize_url(response.url, self.tracking))}
        if canonical:
            with suppress(ValueError):
                keys.add(url_fingerprint(
                    normalize_url(response.urljoin(canonical.strip()), self.tracking)))
        fleet = Fleet.of(self.crawler)
        if keys & self.emitted or (fleet is not None and not fleet.claim_article(keys)):
            self._count("news/duplicate_articles")
            return
        self.emitted |= keys
        self._count("news/article_pages")
        if not self.extracting:
            # archive only: the capture is in the WARC and nothing would read the page item
            return
        yield FetchedPage(
            url=response.url, html=self._page_text(response, site), status=response.status,
            fetched_at=_fetched_at(response), site=site.name,
            source=source, requested_url=response.request.url if response.request else "",
            listed_date=response.meta.get("news_listed_date"),
            warc_ref=response.meta.get(WARC_REF_KEY), depth=response.meta.get("depth", 0))

    def on_error(self, failure: Failure) -> None:
        try:
            self._on_error(failure)
        finally:  # handled: a fleet worker's lease on the request ends
            release(self.crawler, failure.request)  # type: ignore[attr-defined]

    def _on_error(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        if failure.check(HttpError):
            status = failure.value.response.status  # type: ignore[union-attr]
            self._count(f"news/http_errors/{status // 100}xx")
            self.logger.info("HTTP %s on %s", status, request.url)
            return
        site = request.meta.get("news_site")
        if failure.check(NotArchived):  # a full disk: the crawl is stopping
            self.logger.info("%s: %s", request.url, failure.getErrorMessage())
            return
        report = RunReport.of(self.crawler)
        if failure.check(EgressRefused):
            # EgressGuardMiddleware logged it and counted egress/refused
            report.inc(site, "refused_requests")
            return
        if failure.check(IgnoreRequest):
            message = failure.getErrorMessage()
            kind = _ignored_kind(message)
            self._count(f"news/{kind}")
            report.inc(site, kind)
            self.logger.info("not fetched: %s: %s", request.url, message)
            return
        name = re.sub(r"[^A-Za-z0-9_]", "", type(failure.value).__name__)[:40]
        self._count(f"news/fetch_errors/{name}")
        report.inc(site, "fetch_errors")
        report.inc(site, f"fetch_error:{name}")
        self.logger.warning("can't fetch %s: %s", request.url, failure.getErrorMessage())
