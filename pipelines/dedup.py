"""Never emit the same article twice in one run, whatever URL it was reached by."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from scrapy.exceptions import DropItem

from crawler.items import Article
from crawler.urls import normalize_url, url_fingerprint

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["CanonicalDedupPipeline"]


class CanonicalDedupPipeline:
    """Drops an article whose canonical URL (or fetched URL) was already emitted.

    Keys are normalised URLs (tracking parameters stripped); the set holds their
    fingerprints (16 bytes each), one or two per article of the run.
    """

    def __init__(self, crawler: Crawler, tracking: list[str]) -> None:
        self.crawler = crawler
        self.tracking = tracking
        self.seen: set[bytes] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler, crawler.settings.getlist("NEWS_STRIP_QUERY_PARAMS"))

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        keys = {url_fingerprint(normalize_url(item.url, self.tracking))}
        if item.canonical_url:
            try:
                canonical = normalize_url(item.canonical_url, self.tracking)
            except ValueError:
                canonical = None
            if canonical:
                keys.add(url_fingerprint(canonical))
                item.canonical_url = canonical
        if keys & self.seen:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("dedup/duplicates")
            raise DropItem("duplicate article (same canonical URL)", log_level="INFO")
        self.seen |= keys
        return item
