"""Article filters applied after extraction: the ``--since`` window."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Self

from scrapy.exceptions import DropItem

from crawler.items import Article
from crawler.since import parse_since, parse_timestamp

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["SinceFilterPipeline"]


class SinceFilterPipeline:
    """Drops articles published before the crawl's window.

    The window is the spider's per-site ``since`` (``--since`` or the site config), else the
    ``ARTICLES_SINCE`` setting. Articles without a known date are kept.
    """

    def __init__(self, crawler: Crawler, default_since: datetime | None) -> None:
        self.crawler = crawler
        self.default_since = default_since

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        value = crawler.settings.get("ARTICLES_SINCE")
        return cls(crawler, parse_since(value) if value else None)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        spider = self.crawler.spider
        since = getattr(spider, "since_for", lambda _site: None)(item.site) or self.default_since
        published = parse_timestamp(item.published)
        if since and published and published < since:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("filter/older_than_since")
            raise DropItem("published before --since", log_level="DEBUG")
        return item
