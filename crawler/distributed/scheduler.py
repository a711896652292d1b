"""The fleet's scheduler: scrapy-redis's, with leases so a dead worker loses no request.

A request taken from the shared frontier is *leased* to this worker (moved, atomically,
into ``<run>:lease:<worker>``) until the worker has handled it (its callback's output and
items, see :mod:`crawler.distributed.leases`); a worker whose heartbeat stops has its
leases put back in the frontier by the others. A request that comes back to the scheduler
(retry, redirect) goes to the frontier first and its lease is released after.

Also: no deprecated calls (stats without the ``spider`` argument, the spider's logger rather
than ``Spider.log``), and a local hand-off used by the coordinator to wake an idle engine
when the frontier gets work.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from scrapy.http import Request
from scrapy.utils.misc import load_object
from scrapy_redis.scheduler import Scheduler

from crawler.distributed.settings import Fleet

__all__ = ["LEASE_KEY", "LOCAL_KEY", "FleetScheduler"]

logger = logging.getLogger(__name__)

LEASE_KEY = "fleet_lease"
LOCAL_KEY = "fleet_local"


class FleetScheduler(Scheduler):
    crawler: Any = None
    df: Any
    queue: Any

    @classmethod
    def from_crawler(cls, crawler: Any) -> FleetScheduler:
        scheduler: FleetScheduler = cls.from_settings(crawler.settings)
        scheduler.stats = crawler.stats
        scheduler.crawler = crawler
        scheduler.local = deque()
        scheduler.starved = False
        scheduler.fleet = Fleet.of(crawler)
        if scheduler.fleet is None:
            from scrapy.exceptions import NotConfigured  # noqa: PLC0415

            raise NotConfigured("FleetScheduler needs DISTRIBUTED_ENABLED")
        return scheduler

    def open(self, spider: Any) -> None:
        """scrapy-redis's ``open`` without ``Spider.log`` (deprecated in Scrapy 2.19)."""
        self.spider = spider
        try:
            self.queue = load_object(self.queue_cls)(
                server=self.server, spider=spider,
                key=self.queue_key % {"spider": spider.name}, serializer=self.serializer)
        except TypeError as exc:
            raise ValueError(f"Failed to instantiate queue class {self.queue_cls!r}: "
                             f"{exc}") from exc
        if not self.df:
            self.df = load_object(self.dupefilter_cls).from_spider(spider)
        if self.flush_on_start:
            self.flush()
        queued = len(self.queue)
        if queued:
            logger.info("joining the fleet's frontier: %d request(s) queued", queued)

    def enqueue_request(self, request: Request) -> bool:
        if request.meta.pop(LOCAL_KEY, False):
            self.local.append(request)
            return True
        lease = request.meta.pop(LEASE_KEY, None)
        try:
            if not request.dont_filter and self.df.request_seen(request):
                self.df.log(request, self.spider)
                return False
            if self.stats:
                self.stats.inc_value("scheduler/enqueued/redis")
            self.queue.push(request)
            return True
        finally:
            if lease is not None:  # the frontier holds it now (or had it already)
                self.fleet.release(lease)

    def leased_request(self) -> Request | None:
        """The next request of the frontier, leased to this worker."""
        popped = self.fleet.pop()
        if popped is None:
            return None
        data, lease = popped
        request: Request = self.queue._decode_request(data)
        request.meta[LEASE_KEY] = lease
        return request

    def next_request(self) -> Request | None:
        request = self.local.popleft() if self.local else self.leased_request()
        self.starved = request is None
        if request is not None and self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        return bool(self.local) or len(self) > 0

    def close(self, reason: str) -> None:
        # requests handed over locally but not started stay leased: the coordinator puts
        # every lease of this worker back in the frontier when the spider closes
        self.local.clear()
        super().close(reason)
