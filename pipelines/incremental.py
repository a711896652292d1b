"""Versions of articles across runs: new, updated (a new version) or unchanged (dropped).

Unchanged articles are not written again: their capture is in the WARC (a revisit when
the bytes are identical and ``WARC_DEDUP_ENABLED``), and the state records the check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from scrapy.exceptions import DropItem, NotConfigured

from crawler.incremental import IncrementalState
from crawler.items import Article

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["IncrementalPipeline"]


class IncrementalPipeline:
    def __init__(self, crawler: Crawler, state: IncrementalState) -> None:
        self.crawler = crawler
        self.state = state

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        state = IncrementalState.of(crawler)
        if state is None:
            raise NotConfigured
        return cls(crawler, state)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        stats = self.crawler.stats
        assert stats is not None
        kind, prior = self.state.classify(item)
        if kind == "unchanged" and prior is not None:
            self.state.unchanged(item, prior)
            stats.inc_value("state/unchanged")
            raise DropItem("unchanged since its last capture", log_level="DEBUG")
        if kind == "updated" and prior is not None:
            item.version = prior.version + 1
            item.previous = prior.warc_record_id
        stats.inc_value(f"state/{kind}")
        return item
