"""Scrapy's fetch-only ceiling: a bare spider over the benchmark site, no extraction, no archive.

``python -m bench.fetchonly URL`` fetches what ``newsarchive crawl URL`` fetches on the
benchmark site (robots.txt, sitemap index and sitemaps, front page, feed, section pages and
their pagination, article pages), with the crawl's own identity, headers and concurrency
settings, and does nothing with the article pages. It prints one JSON line of counts.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Iterable
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from bench.site import ARTICLE_PREFIX
from crawler import settings as product

# The product's settings that shape fetching; the benchmark's politeness overrides below.
SETTINGS: dict[str, Any] = {
    name: getattr(product, name) for name in (
        "USER_AGENT", "ROBOTSTXT_OBEY", "CONCURRENT_REQUESTS", "DOWNLOAD_TIMEOUT",
        "DOWNLOAD_MAXSIZE", "DOWNLOAD_WARNSIZE", "RETRY_TIMES", "COOKIES_ENABLED",
        "DEFAULT_REQUEST_HEADERS", "CONCURRENT_ITEMS", "TELNETCONSOLE_ENABLED")
    if hasattr(product, name)
} | {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "LOG_LEVEL": "WARNING",
    "DEPTH_LIMIT": 0,
}


class FetchOnlySpider(scrapy.Spider):
    name = "fetchonly"

    def __init__(self, url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.root = url.rstrip("/") + "/"
        self.host = urlsplit(url).netloc
        self.articles = 0
        self.other = 0

    async def start(self) -> AsyncIterator[Any]:
        yield scrapy.Request(self.root, callback=self.parse_listing)
        yield scrapy.Request(self.root + "robots.txt", callback=self.parse_robots)

    def _follow(self, url: str) -> scrapy.Request | None:
        parts = urlsplit(url)
        if parts.netloc != self.host:
            return None
        if parts.path.startswith(ARTICLE_PREFIX):
            return scrapy.Request(url, callback=self.parse_article)
        if parts.path.endswith(".xml"):
            return scrapy.Request(url, callback=self.parse_xml)
        return scrapy.Request(url, callback=self.parse_listing)

    def parse_robots(self, response: Response) -> Iterable[scrapy.Request]:
        self.other += 1
        for url in sitemap_urls_from_robots(response.body, base_url=response.url):
            yield scrapy.Request(url, callback=self.parse_xml)

    def parse_xml(self, response: Response) -> Iterable[scrapy.Request]:
        self.other += 1
        if b"<rss" in response.body[:500]:
            urls = response.xpath("//item/link/text()").getall()
        else:
            urls = [entry["loc"] for entry in Sitemap(response.body)]
        for url in urls:
            request = self._follow(url.strip())
            if request is not None:
                yield request

    def parse_listing(self, response: Response) -> Iterable[scrapy.Request]:
        self.other += 1
        hrefs = response.xpath("//a/@href | //link[@rel='alternate']/@href").getall()
        for href in hrefs:
            request = self._follow(response.urljoin(href))
            if request is not None:
                yield request

    def parse_article(self, response: Response) -> None:
        self.articles += 1

    def closed(self, reason: str) -> None:
        print(json.dumps({"articles": self.articles, "other": self.other, "reason": reason}),
              flush=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m bench.fetchonly URL", file=sys.stderr)
        return 2
    process = CrawlerProcess(SETTINGS)
    process.crawl(FetchOnlySpider, url=argv[0])
    process.start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
