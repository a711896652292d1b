"""Run a crawl in this process and judge its outcome from Scrapy's stats."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings

from crawler.config import SiteConfig

if TYPE_CHECKING:
    from pipelines.storage import Store

logger = logging.getLogger(__name__)

__all__ = [
    "RunResult",
    "collect_report",
    "project_settings",
    "publish_report",
    "run_crawl",
    "summary",
]


def project_settings(overrides: dict[str, Any] | None = None) -> Settings:
    """The project's settings, found without a ``scrapy.cfg`` in the working directory."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    settings = get_project_settings()
    settings.setdict(overrides or {}, priority="cmdline")
    return settings


@dataclass
class RunResult:
    """Scrapy's stats of a finished crawl (crawler.report.judge turns them into a status)."""

    stats: dict[str, Any] = field(default_factory=dict)


def run_crawl(sites: Sequence[SiteConfig], settings: Settings) -> RunResult:
    """Crawl ``sites`` with ``settings``; blocks until the crawl ends."""
    from scrapy.crawler import AsyncCrawlerProcess  # noqa: PLC0415

    from crawler.spiders.news import NewsSpider  # noqa: PLC0415

    process = AsyncCrawlerProcess(settings)
    crawler = process.create_crawler(NewsSpider)
    process.crawl(crawler, sites=list(sites))
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    return RunResult(stats=stats)


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"  # pragma: no cover


def summary(result: RunResult, output: Path) -> str:
    s = result.stats
    errors = {k.rsplit("/", 1)[-1]: v for k, v in s.items()
              if k.startswith(("news/http_errors/", "news/fetch_errors/"))}
    error_text = ", ".join(f"{k}: {v}" for k, v in sorted(errors.items())) or "none"
    lines = [
        f"articles: {s.get('articles/written', 0)} "
        f"(duplicates skipped: {s.get('news/duplicate_articles', 0) + s.get('dedup/duplicates', 0)}"
        f", too short: {s.get('extract/too_short', 0)})",
        f"pages fetched: {s.get('response_received_count', 0)} "
        f"({_size(s.get('downloader/response_bytes', 0))}); "
        f"disallowed by robots.txt: {s.get('news/robots_disallowed', 0)}",
        f"errors: {error_text}; feed errors: {s.get('news/feed_errors', 0)}; "
        f"sitemap errors: {s.get('news/sitemap_errors', 0)}",
        f"written: {s.get('articles/files', 0)} article file(s), "
        f"{_size(s.get('articles/bytes', 0))}, to {s.get('storage/uri', output)}; "
        f"published {s.get('storage/published', 0)} file(s), "
        f"pending {s.get('storage/pending', 0)}",
        f"WARC: {s.get('warc/files', 0)} file(s), {_size(s.get('warc/bytes', 0))}, "
        f"{s.get('warc/captures', 0)} captures ({s.get('warc/revisits', 0)} revisits)"
        + (f" (crawl {s['warc/crawl']})" if s.get("warc/crawl") else ""),
        f"finished: {s.get('finish_reason', 'unknown')} "
        f"in {s.get('elapsed_time_seconds', 0):.1f} s",
    ]
    return "\n".join(lines)


def collect_report(stats: dict[str, Any], site_names: list[str], health: Any,
                   settings: Settings, output: str, state_dir: Path) -> dict[str, Any]:
    """The run's JSON report (without its exit status)."""
    import sqlite3  # noqa: PLC0415

    import redis  # noqa: PLC0415

    from crawler.report import build_report  # noqa: PLC0415
    from crawler.state import open_state  # noqa: PLC0415

    sources = []
    if settings.getbool("STATE_ENABLED"):
        try:
            state = open_state(settings.get("STATE_URL") or str(state_dir / "state.sqlite"))
            try:
                sources = [s for s in state.sources() if s.site in site_names]
            finally:
                state.close()
        except (redis.RedisError, sqlite3.Error) as exc:  # the report goes out without
            logger.error("can't read the state store for the report: %s", exc)
    from pipelines.paths import safe_component  # noqa: PLC0415

    # the same name the WARC files are grouped under (a config file's stem may hold spaces)
    crawl = safe_component(str(settings.get("ARCHIVE_CRAWL_NAME") or "crawl"))
    return build_report(stats, site_names, health, sources, crawl, output)


def publish_report(report: dict[str, Any], store: Store, state_dir: Path,
                   kind: str = "report") -> str | None:
    """Publish the report as ``reports/<crawl>/<YYYY>/<MM>/<DD>/report-….json`` (with a
    fleet worker's id: ``report-<ts>-<worker>-….json``); where it went, or None if it
    stays pending (the run then ends with a storage error)."""
    import json  # noqa: PLC0415
    import secrets  # noqa: PLC0415
    from datetime import UTC, datetime  # noqa: PLC0415

    from pipelines.paths import safe_component  # noqa: PLC0415
    from pipelines.storage import Publisher, StorageError, relative_key  # noqa: PLC0415

    now = datetime.now(UTC)
    worker = f"-{safe_component(str(report['worker']), 40)}" if report.get("worker") else ""
    name = f"{kind}-{now:%Y%m%d%H%M%S}{worker}-{secrets.token_hex(3)}.json"
    try:
        publisher = Publisher(store, state_dir / "staging", cooldown=0)
        key = relative_key("reports", str(report.get("crawl") or "crawl"), now, name)
        path = publisher.staging_path(key)
        tmp = path.with_name(path.name + ".open")
        try:
            tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n",
                           encoding="utf-8")
            tmp.replace(path)
        except OSError:
            tmp.unlink(missing_ok=True)  # a full disk: no half report left behind
            raise
        if publisher.publish(key, content_type="application/json"):
            return store.location(key)
    except (StorageError, OSError) as exc:
        logger.error("can't write the run report: %s", exc)
    return None
