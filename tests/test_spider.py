"""The spider run in-process, the Scrapy way (get_crawler + crawl_async)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.utils.defer import deferred_f_from_coro_f
from scrapy.utils.test import get_crawler

import crawler.settings as project_settings
from crawler.config import site_from_urls
from crawler.items import Article
from crawler.spiders.news import NewsSpider


def settings_for(output: Path, **extra: Any) -> dict[str, Any]:
    values = {k: getattr(project_settings, k) for k in dir(project_settings) if k.isupper()}
    values.update({"ARCHIVE_STORE": str(output), "LOG_LEVEL": "WARNING",
                   "PROGRESS_ENABLED": False, "AUTOTHROTTLE_ENABLED": False,
                   "DOWNLOAD_DELAY": 0}, **extra)
    return values


@deferred_f_from_coro_f
async def test_items_are_articles_with_fields(sample_site: Any, manifest: dict[str, Any],
                                              tmp_path: Path) -> None:
    crawler = get_crawler(NewsSpider, settings_for(tmp_path))
    items: list[Article] = []

    def collect(item: Any) -> None:
        items.append(item)

    crawler.signals.connect(collect, signal=signals.item_scraped)
    sites = site_from_urls([sample_site.base_url + manifest["feeds"]["atom"]])
    await crawler.crawl_async(sites=sites)
    assert crawler.stats is not None
    stats = crawler.stats.get_stats()
    assert stats["finish_reason"] == "finished"
    expected = sorted(a["path"] for a in manifest["articles"] if "atom" in a["sources"])
    assert sorted(i.url.removeprefix(sample_site.base_url) for i in items) == expected
    assert all(isinstance(i, Article) and i.source == "feed" and i.text for i in items)
    assert stats["articles/written"] == len(expected)
    assert stats["news/feeds"] == 1


@deferred_f_from_coro_f
async def test_spider_arguments_of_scrapy_crawl(sample_site: Any, manifest: dict[str, Any],
                                                tmp_path: Path) -> None:
    crawler = get_crawler(NewsSpider, settings_for(tmp_path))
    items: list[Article] = []

    def collect(item: Any) -> None:  # a named function: signal receivers are weak refs
        items.append(item)

    crawler.signals.connect(collect, signal=signals.item_scraped)
    await crawler.crawl_async(url=sample_site.base_url + manifest["feeds"]["rss"],
                              max_articles="2")
    assert len(items) == 2


def test_telnet_and_remote_control_are_off() -> None:
    assert project_settings.TELNETCONSOLE_ENABLED is False
    assert project_settings.REMOTE_CONTROL_ENABLED is False
    assert "zstd" not in project_settings.DEFAULT_REQUEST_HEADERS["Accept-Encoding"]
    assert project_settings.ROBOTSTXT_OBEY is True


@deferred_f_from_coro_f
async def test_dates_before_the_site_was_founded_are_dropped(
        sample_site: Any, manifest: dict[str, Any], tmp_path: Path) -> None:
    crawler = get_crawler(NewsSpider, settings_for(tmp_path))
    items: list[Article] = []

    def collect(item: Any) -> None:
        items.append(item)

    crawler.signals.connect(collect, signal=signals.item_scraped)
    declared = {a["path"]: a["published"] for a in manifest["articles"]}
    in_feed = sorted(datetime.fromisoformat(a["published"]) for a in manifest["articles"]
                     if "atom" in a["sources"])
    founded = in_feed[len(in_feed) // 2].astimezone(UTC)  # half the feed's articles are older
    (site,) = site_from_urls([sample_site.base_url + manifest["feeds"]["atom"]])
    await crawler.crawl_async(sites=[replace(site, founded=founded.isoformat(),
                                             founded_dt=founded)])
    older = [i for i in items
             if datetime.fromisoformat(declared[i.url.removeprefix(sample_site.base_url)])
             < founded]
    assert older and len(older) < len(items)  # the feed has articles on both sides
    assert all(i.published is None for i in older)
    assert all(i.published for i in items if i not in older)
    assert crawler.stats is not None
    assert crawler.stats.get_value("extract/dates_before_site") >= len(older)


def test_offsite_hrefs_are_dropped_before_link_extraction_works_on_them() -> None:
    from scrapy.http import HtmlResponse
    from scrapy.linkextractors import LinkExtractor

    from crawler.spiders.news import _href_in_scope

    keep = _href_in_scope(["news.example"])
    assert keep("/world/a") == "/world/a"  # relative: the page's own host
    assert keep("b.html") == "b.html"
    assert keep(" https://news.example/x") == " https://news.example/x"
    assert keep("//www.news.example/y") == "//www.news.example/y"
    assert keep("HTTP://NEWS.EXAMPLE:8080/z") == "HTTP://NEWS.EXAMPLE:8080/z"
    assert keep("https://othernews.example/x") is None
    assert keep("//ads.example/x") is None
    assert keep("mailto:desk@news.example") is None
    assert keep("javascript:void(0)") is None
    assert keep("http://[::1") == "http://[::1"  # unparsable: LinkExtractor's to judge
    page = HtmlResponse("https://news.example/section/", encoding="utf-8", body=b"""<html>
        <body><a href="/a/1">1</a><a href="https://news.example/a/2">2</a>
        <a href="https://elsewhere.example/a/3">3</a><a href="//cdn.example/a/4">4</a>
        </body></html>""")
    links = LinkExtractor(process_value=keep).extract_links(page)
    assert [link.url for link in links] == ["https://news.example/a/1",
                                            "https://news.example/a/2"]


@deferred_f_from_coro_f
async def test_a_url_met_again_is_not_requested_again(sample_site: Any, tmp_path: Path) -> None:
    """Each article is linked from several pages and listed in feeds and sitemaps: the
    spider asks for it once, and leaves nothing for Scrapy's dupefilter to drop."""
    crawler = get_crawler(NewsSpider, settings_for(tmp_path, TRAFILATURA_ENABLED=False))
    scheduled: list[str] = []
    dropped: list[str] = []

    def on_scheduled(request: Any) -> None:
        if not request.meta.get("redirect_urls"):  # the spider's, not RedirectMiddleware's
            scheduled.append(request.url)

    def on_dropped(request: Any) -> None:
        dropped.append(request.url)

    crawler.signals.connect(on_scheduled, signal=signals.request_scheduled)
    crawler.signals.connect(on_dropped, signal=signals.request_dropped)
    await crawler.crawl_async(sites=site_from_urls([sample_site.base_url + "/"]))
    assert crawler.stats is not None
    stats = crawler.stats.get_stats()
    assert stats["news/article_pages"] >= 20
    assert stats["news/links_seen_before"] > 0
    assert len(scheduled) == len(set(scheduled)), [u for u in scheduled if scheduled.count(u) > 1]
    # only a redirect to a URL the spider asked for itself is left for the dupefilter
    assert stats.get("dupefilter/filtered", 0) <= 1, dropped


def test_no_spider_callback_is_a_generator_returning_a_value() -> None:
    """What Scrapy's WARN_ON_GENERATOR_RETURN_VALUE checked at every response (it is off:
    the check re-read the spider's source each time), checked once here."""
    import inspect

    from scrapy.utils.misc import is_generator_with_return_value

    assert project_settings.WARN_ON_GENERATOR_RETURN_VALUE is False
    callbacks = [member for name, member in inspect.getmembers(NewsSpider, inspect.isfunction)
                 if name.startswith(("parse", "on_"))]
    assert len(callbacks) >= 5
    generators = [f for f in callbacks if inspect.isgeneratorfunction(f)]
    assert generators  # parse_page and parse_robots: what the check looks at
    assert [f.__name__ for f in generators if is_generator_with_return_value(f)] == []
