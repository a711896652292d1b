"""The run report: per-site counts collected during the crawl, health checks, exit status.

``RunReport`` (an extension) counts per site; after the crawl, ``build_report`` turns
those counts and Scrapy's stats into the JSON report, and ``judge`` applies the health
thresholds of the config (``[health]``) to pick the exit status.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Self

from scrapy import signals
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.http import Request, Response

from crawler import __version__, exitcodes
from crawler.items import Article, FetchedPage
from crawler.registry import PerCrawler

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawler.state import SourceState

__all__ = ["HealthConfig", "RunReport", "build_report", "judge", "looks_like_challenge"]

logger = logging.getLogger(__name__)

_REPORTS: PerCrawler[RunReport] = PerCrawler()
# Pages that answer 200 but are a bot wall, not the page asked for: the wall's title or a
# challenge script's marker, looked up in the lower-cased first 8 kB of every 200 (a
# case-sensitive search is several times faster than an IGNORECASE one) by substring
# first: as one regex over those 8 kB it cost 0.1 ms a page.
_CHALLENGE_TITLE = re.compile(
    rb"<title>\s*(?:just a moment|attention required|access denied|are you a robot|"
    rb"verify you are human|security check)")
_CHALLENGE_MARKS = (b"cf-browser-verification", b"cf-challenge", b"px-captcha",
                    b"g-recaptcha", b"h-captcha", b"captcha-delivery")


def looks_like_challenge(body: bytes) -> bool:
    """Whether a page is a bot wall (Cloudflare, PerimeterX, reCAPTCHA, DataDome...)."""
    start = body[:8192].lower()
    at = start.find(b"<title>")
    while at >= 0:
        if _CHALLENGE_TITLE.match(start, at):
            return True
        at = start.find(b"<title>", at + 7)
    return any(mark in start for mark in _CHALLENGE_MARKS)


@dataclass(frozen=True)
class HealthConfig:
    """Thresholds (``[health]`` in the config); crossing one exits with status 6."""

    min_articles: int | None = None  # per site and run
    max_error_rate: float | None = None  # HTTP + network errors / requests, per site
    max_blocked: int | None = None  # 401/403/429 or challenge pages, per site
    max_missing_date: int | None = None  # articles without a publication date, per site
    max_empty_text: int | None = None  # article pages without text, per site
    source_silence: timedelta | None = None  # a feed/sitemap with nothing new for longer


class RunReport:
    """Counts per site during the crawl (see :meth:`of`)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.sites: dict[str, Counter[str]] = {}
        self.started = datetime.now(UTC)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("REPORT_ENABLED"):
            raise NotConfigured
        report = cls.of(crawler)
        crawler.signals.connect(report.response_received, signal=signals.response_received)
        crawler.signals.connect(report.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(report.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(report.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(report.request_dropped, signal=signals.request_dropped)
        return report

    @classmethod
    def of(cls, crawler: Crawler) -> Self:
        return _REPORTS.get(crawler, cls)  # type: ignore[return-value]

    def inc(self, site: str | None, key: str, value: int = 1) -> None:
        self.sites.setdefault(site or "unknown", Counter())[key] += value

    def count(self, site: str | None, key: str) -> int:
        return self.sites.get(site or "unknown", Counter())[key]

    def response_received(self, response: Response, request: Request, **_: Any) -> None:
        site = request.meta.get("news_site")
        self.inc(site, "pages_fetched")
        self.inc(site, "bytes", len(response.body))
        status = response.status
        if status >= 400:
            self.inc(site, f"http_{status // 100}xx")
        if status in (401, 403, 429) or (
                status == 200 and looks_like_challenge(response.body)):
            self.inc(site, "blocked")

    def request_dropped(self, request: Request, **_: Any) -> None:
        # a redirect back to a URL of its own chain: the dupefilter drops it silently
        if request.url in request.meta.get("redirect_urls", ()):
            self.inc(request.meta.get("news_site"), "redirect_loops")
            logger.warning("redirect loop: %s", " -> ".join(
                [*request.meta["redirect_urls"], request.url]))

    def item_scraped(self, item: Any, **_: Any) -> None:
        if isinstance(item, Article):
            self.inc(item.site, "articles_new" if item.version == 1 else "articles_updated")
            if not item.published:
                self.inc(item.site, "missing_date")

    def item_dropped(self, item: Any, exception: BaseException, **_: Any) -> None:
        site = getattr(item, "site", None)
        message = str(exception) if isinstance(exception, DropItem) else ""
        if "unchanged" in message:
            self.inc(site, "articles_unchanged")
        elif "too little article text" in message and isinstance(item, FetchedPage):
            self.inc(site, "empty_text")

    def spider_closed(self) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("report/sites", {k: dict(v) for k, v in
                                                       self.sites.items()})
        self.crawler.stats.set_value("report/started", self.started.isoformat())


#: Per-site counters of hostile or broken input, reported as they are (README: "Hostile
#: input"); those in _ALWAYS_PROBLEMS also make the run end with warnings.
_HOSTILE = ("refused_requests", "over_page_budget", "too_many_redirects", "redirect_loops",
            "too_large", "truncated", "feed_errors", "sitemap_errors", "rate_limited",
            "ignored_requests", "charset_mismatch")
_ALWAYS_PROBLEMS = {
    "refused_requests": "requests to non-public addresses refused (EGRESS_ALLOW)",
    "over_page_budget": "requests over the page budget (NEWS_MAX_PAGES_PER_SITE)",
}


def _site_problems(name: str, counts: dict[str, int], health: HealthConfig,
                   silent: list[str]) -> list[str]:
    problems = [f"{name}: {counts[key]} {text}" for key, text in _ALWAYS_PROBLEMS.items()
                if counts.get(key)]
    requests = counts.get("pages_fetched", 0) + counts.get("fetch_errors", 0)
    errors = counts.get("http_4xx", 0) + counts.get("http_5xx", 0) + \
        counts.get("fetch_errors", 0)
    articles = counts.get("articles_new", 0) + counts.get("articles_updated", 0)
    if health.min_articles is not None and articles < health.min_articles:
        problems.append(f"{name}: {articles} new or updated articles "
                        f"(min_articles = {health.min_articles})")
    if health.max_error_rate is not None and requests and \
            errors / requests > health.max_error_rate:
        problems.append(f"{name}: error rate {errors / requests:.0%} "
                        f"(max_error_rate = {health.max_error_rate:.0%})")
    for key, limit in (("blocked", health.max_blocked),
                       ("missing_date", health.max_missing_date),
                       ("empty_text", health.max_empty_text)):
        if limit is not None and counts.get(key, 0) > limit:
            problems.append(f"{name}: {counts.get(key, 0)} {key.replace('_', ' ')} "
                            f"(max_{key} = {limit})")
    problems.extend(f"{name}: {url} listed nothing new for longer than "
                    f"{health.source_silence}" for url in silent)
    return problems


def _silent(sources: list[SourceState], silence: timedelta | None,
            now: datetime) -> dict[str, list[str]]:
    from crawler.since import parse_timestamp  # noqa: PLC0415

    found: dict[str, list[str]] = {}
    if silence is None:
        return found
    for source in sources:
        last = parse_timestamp(source.last_new) or parse_timestamp(source.last_fetch)
        if last is not None and now - last > silence:
            found.setdefault(source.site, []).append(source.url)
    return found


def build_report(stats: dict[str, Any], site_names: list[str], health: HealthConfig,
                 sources: list[SourceState], crawl: str, output: str) -> dict[str, Any]:
    """The JSON report of one run (its ``exit_code`` decided by :func:`judge`)."""
    now = datetime.now(UTC)
    counted: dict[str, dict[str, int]] = stats.get("report/sites") or {}
    silent = _silent(sources, health.source_silence, now)
    sites: dict[str, Any] = {}
    problems: list[str] = []
    failed: list[str] = []
    for name in site_names:
        counts = dict(counted.get(name, {}))
        site_problems = _site_problems(name, counts, health, silent.get(name, []))
        ok_pages = counts.get("pages_fetched", 0) - counts.get("http_4xx", 0) - \
            counts.get("http_5xx", 0)
        status = "failed" if ok_pages <= 0 else ("warning" if site_problems else "ok")
        if status == "failed":
            failed.append(name)
            site_problems.insert(0, f"{name}: nothing could be fetched")
        problems.extend(site_problems)
        sites[name] = {
            "status": status,
            "articles_new": counts.get("articles_new", 0),
            "articles_updated": counts.get("articles_updated", 0),
            "articles_unchanged": counts.get("articles_unchanged", 0),
            "pages_fetched": counts.get("pages_fetched", 0),
            "bytes_fetched": counts.get("bytes", 0),
            "http_errors": {k.removeprefix("http_"): v for k, v in sorted(counts.items())
                            if k.startswith("http_")},
            "fetch_errors": counts.get("fetch_errors", 0),
            "fetch_error_kinds": {k.removeprefix("fetch_error:"): v for k, v in
                                  sorted(counts.items()) if k.startswith("fetch_error:")},
            "robots_disallowed": counts.get("robots_disallowed", 0),
            **{key: counts.get(key, 0) for key in _HOSTILE},
            "blocked": counts.get("blocked", 0),
            "missing_date": counts.get("missing_date", 0),
            "empty_text": counts.get("empty_text", 0),
            "silent_sources": silent.get(name, []),
            "problems": site_problems,
        }
    if stats.get("storage/disk_full"):  # "disk full at <path> (…)": the crawl stopped
        problems.insert(0, f"{stats['storage/disk_full']}: the crawl stopped early")
    started = stats.get("report/started") or stats.get("start_time")
    return {
        "newsarchive": __version__,
        "crawl": crawl,
        "output": output,
        "started": str(started) if started else None,
        "finished": now.isoformat(timespec="seconds"),
        "duration_seconds": round(float(stats.get("elapsed_time_seconds") or 0), 1),
        "finish_reason": stats.get("finish_reason"),
        "pages_fetched": stats.get("response_received_count", 0),
        "ignored_long_urls": stats.get("urllength/request_ignored_count", 0),
        "offsite_filtered": stats.get("offsite/filtered", 0),  # e.g. redirects elsewhere
        "bytes_archived": stats.get("warc/bytes", 0),
        "warc_captures": stats.get("warc/captures", 0),
        "files_published": stats.get("storage/published", 0),
        "pending_uploads": stats.get("storage/pending", 0),
        # how late the event loop ran (crawler/lag.py): what blocked the reactor, and for how long
        "reactor_lag_ms": {"max": stats.get("reactor/lag_max_ms"),
                           "mean": stats.get("reactor/lag_mean_ms")},
        "reactor_stalls": stats.get("reactor/stalls", 0),
        "sites": sites,
        "failed_sites": failed,
        "problems": problems,
    }


def judge(report: dict[str, Any], stats: dict[str, Any]) -> int:
    """The exit status of a finished run."""
    if stats.get("finish_reason") == "storage_error" or stats.get("storage/pending") or \
            stats.get("storage/lost") or stats.get("storage/disk_full"):
        return exitcodes.STORAGE_ERROR
    if stats.get("finish_reason") not in ("finished", "closespider_itemcount"):
        return exitcodes.FAILED
    sites = report["sites"]
    if not stats.get("response_received_count") or (
            sites and len(report["failed_sites"]) == len(sites)):
        return exitcodes.FAILED
    if report["failed_sites"]:
        return exitcodes.SITES_FAILED
    if report["problems"]:
        return exitcodes.WARNINGS
    return exitcodes.OK
