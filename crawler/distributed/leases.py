"""Release a request's lease once this worker has handled it.

Handled means: the callback's output went through (its requests are in the frontier) and
every item it gave was scraped, dropped or failed in the item pipelines; or the errback
ran (``release``, called by the spider); or the callback raised.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Self

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response

from crawler.distributed.scheduler import LEASE_KEY
from crawler.distributed.settings import Fleet

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawler.distributed.fleet import FleetRun

__all__ = ["LeaseMiddleware", "release"]


def release(crawler: Crawler, request: Request) -> None:
    """``request`` is handled: its lease ends (no-op outside a fleet or without a lease);
    the request is kept until this worker's output is published."""
    fleet = Fleet.of(crawler)
    lease = request.meta.pop(LEASE_KEY, None)
    if fleet is not None and lease is not None:
        fleet.handled(lease)


class LeaseMiddleware:
    """A spider middleware: releases leases after the output and items of a response."""

    def __init__(self, crawler: Crawler, fleet: FleetRun) -> None:
        self.crawler = crawler
        self.fleet = fleet
        # responses whose items are still in the pipelines -> (items left, output done)
        self.pending: dict[Response, list[int]] = {}
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(self.item_done, signal=signal)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        fleet = Fleet.of(crawler)
        if fleet is None:
            raise NotConfigured
        return cls(crawler, fleet)

    def _maybe_release(self, response: Response) -> None:
        left = self.pending.get(response)
        if left is not None and left[0] <= 0 and left[1]:
            del self.pending[response]
            if response.request is not None:
                release(self.crawler, response.request)

    async def process_spider_output(self, response: Response,
                                    result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        state = self.pending.setdefault(response, [0, 0])
        try:
            async for output in result:
                if not isinstance(output, Request):
                    state[0] += 1
                yield output
        finally:
            state[1] = 1
            self._maybe_release(response)

    def process_spider_exception(self, response: Response, exception: Exception) -> None:
        self.pending.pop(response, None)
        if response.request is not None:
            release(self.crawler, response.request)

    def item_done(self, item: Any, response: Response | None = None, **_: Any) -> None:
        if response is None or response not in self.pending:
            return
        self.pending[response][0] -= 1
        self._maybe_release(response)
