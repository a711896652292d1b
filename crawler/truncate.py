"""Stop responses that grow past ``TRUNCATE_SIZE`` and keep what arrived, flagged.

Scrapy's ``DOWNLOAD_MAXSIZE`` cancels a download and loses it; this extension stops it
with ``StopDownload(fail=False)`` so the partial body reaches the WARC recorder as
``WARC-Truncated: length`` and the crawl goes on. ``DOWNLOAD_MAXSIZE`` stays as the
hard limit above it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Self

from scrapy import signals
from scrapy.exceptions import NotConfigured, StopDownload

from crawler.report import RunReport

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

__all__ = ["TruncateLargeResponses"]

logger = logging.getLogger(__name__)

_RECEIVED = "truncate_received"


class TruncateLargeResponses:
    def __init__(self, crawler: Crawler, size: int) -> None:
        self.crawler = crawler
        self.size = size

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        size = settings.getint("TRUNCATE_SIZE")
        if not settings.getbool("TRUNCATE_ENABLED") or size <= 0:
            raise NotConfigured
        obj = cls(crawler, size)
        crawler.signals.connect(obj.headers_received, signal=signals.headers_received)
        crawler.signals.connect(obj.bytes_received, signal=signals.bytes_received)
        return obj

    def headers_received(self, request: Request, **_: Any) -> None:
        request.meta[_RECEIVED] = 0  # meta is copied across redirects: count per hop

    def bytes_received(self, data: bytes, request: Request, **_: Any) -> None:
        received = request.meta.get(_RECEIVED, 0) + len(data)
        request.meta[_RECEIVED] = received
        if received > self.size:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("truncate/responses")
            RunReport.of(self.crawler).inc(request.meta.get("news_site"), "truncated")
            logger.warning("response of %s passed %d bytes: truncated", request.url,
                           self.size)
            raise StopDownload(fail=False)
