"""The fleet's seen-set: scrapy-redis's Redis filter, keeping 20-byte fingerprints.

scrapy-redis stores a 40-character hex SHA1 of its own canonical form per request; this
subclass stores the raw 20 bytes of Scrapy's request fingerprint (``REQUEST_FINGERPRINTER``),
so the fleet and a single-process crawl agree on what "the same request" is, and the set
takes less memory (see README, "Distributed crawls").
"""

from __future__ import annotations

from typing import Any, Self

from scrapy.http import Request
from scrapy_redis.dupefilter import RFPDupeFilter

__all__ = ["FleetDupeFilter"]


class FleetDupeFilter(RFPDupeFilter):
    fingerprinter: Any = None

    @classmethod
    def from_spider(cls, spider: Any) -> Self:
        dupefilter = super().from_spider(spider)
        dupefilter.fingerprinter = spider.crawler.request_fingerprinter
        return dupefilter

    def request_fingerprint(self, request: Request) -> Any:
        if self.fingerprinter is None:  # pragma: no cover - only built by from_spider
            return super().request_fingerprint(request)
        return self.fingerprinter.fingerprint(request)

    def close(self, reason: str = "") -> None:
        """Keep the set: it is the fleet's, and expires with the run (not cleared)."""
