"""Honour ``Retry-After`` on 429 and 503 answers before Scrapy's RetryMiddleware retries.

Scrapy's ``RetryMiddleware`` (550) retries 429/503 at once. This middleware sits just below
the network side of it (560: its ``process_response`` runs first) and, when the answer
carries ``Retry-After`` (seconds or an HTTP date), waits that long without blocking the
reactor, and holds back the rest of that site's download slot for the same time. A wait
longer than ``RETRYAFTER_MAX_DELAY`` is not honoured: the response goes on unretried-for,
and RetryMiddleware's bounded retries decide. Off with ``RETRYAFTER_ENABLED = False``.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Self

from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import deferred_to_future
from twisted.internet.task import deferLater

from crawler.report import RunReport

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

__all__ = ["RetryAfterMiddleware", "retry_after_seconds"]

logger = logging.getLogger(__name__)

_STATUSES = frozenset({429, 503})


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None,
                        ) -> float | None:
    """Seconds to wait from a ``Retry-After`` value, or None when it is not valid."""
    if value is None:
        return None
    text = (value.decode("latin-1") if isinstance(value, bytes) else value).strip()
    if text.isdigit():
        return float(int(text[:12]))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class RetryAfterMiddleware:
    def __init__(self, crawler: Crawler, max_delay: float) -> None:
        self.crawler = crawler
        self.max_delay = max_delay

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.getbool("RETRYAFTER_ENABLED") or \
                not settings.getbool("RETRY_ENABLED"):
            raise NotConfigured
        return cls(crawler, settings.getfloat("RETRYAFTER_MAX_DELAY"))

    def _hold_slot(self, request: Request, delay: float) -> None:
        engine = self.crawler.engine
        downloader = getattr(engine, "downloader", None) if engine else None
        if downloader is None:
            return
        key = request.meta.get("download_slot")
        slot = downloader.slots.get(key) if key is not None else None
        if slot is not None:
            # the downloader waits slot.delay after lastseen: push lastseen into the future
            slot.lastseen = max(slot.lastseen, time.time() + delay)

    async def process_response(self, request: Request, response: Response) -> Response:
        if response.status not in _STATUSES or request.meta.get("dont_retry"):
            return response
        delay = retry_after_seconds(response.headers.get(b"Retry-After"))
        if delay is None:
            return response
        assert self.crawler.stats is not None
        RunReport.of(self.crawler).inc(request.meta.get("news_site"), "rate_limited")
        if delay > self.max_delay:
            self.crawler.stats.inc_value("retryafter/too_long")
            logger.warning("%s asks to retry after %.0f s (more than RETRYAFTER_MAX_DELAY "
                           "= %.0f s): not waiting", request.url, delay, self.max_delay)
            return response
        self.crawler.stats.inc_value("retryafter/waits")
        self.crawler.stats.inc_value("retryafter/seconds", round(delay))
        logger.info("HTTP %d on %s: waiting %.1f s (Retry-After)", response.status,
                    request.url, delay)
        self._hold_slot(request, delay)
        if delay > 0:
            from twisted.internet import reactor  # noqa: PLC0415 - the one Scrapy installed

            await deferred_to_future(deferLater(reactor, delay, lambda: None))
        return response
