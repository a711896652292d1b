"""The fleet worker's clock: heartbeat, sweeping dead workers, waking up, finishing.

Every ``DISTRIBUTED_POLL_INTERVAL`` seconds:

* heartbeat (``DISTRIBUTED_HEARTBEAT``): this worker is alive; the run keys' TTLs renewed;
* an idle engine with work in the frontier is woken up (Scrapy only polls its scheduler
  every few seconds by itself);
* when this worker is idle, dead workers' leases go back to the frontier, and once the
  fleet is drained — nothing queued, nothing leased by a live worker, seeding over — for
  ``DISTRIBUTED_IDLE_TIMEOUT`` seconds, the spider closes ("finished").

Until then ``spider_idle`` is answered with ``DontCloseSpider``: others may still add work.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Self

from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.utils.defer import deferred_from_coro
from twisted.internet.task import LoopingCall

from crawler.distributed.scheduler import LOCAL_KEY, FleetScheduler
from crawler.distributed.settings import Fleet

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawler.distributed.fleet import FleetRun

__all__ = ["FleetCoordinator"]

logger = logging.getLogger(__name__)


class FleetCoordinator:
    def __init__(self, crawler: Crawler, fleet: FleetRun) -> None:
        self.crawler = crawler
        self.fleet = fleet
        s = crawler.settings
        self.interval = s.getfloat("DISTRIBUTED_POLL_INTERVAL")
        self.heartbeat_every = s.getfloat("DISTRIBUTED_HEARTBEAT")
        self.idle_timeout = s.getfloat("DISTRIBUTED_IDLE_TIMEOUT")
        self.worker_timeout = s.getfloat("DISTRIBUTED_WORKER_TIMEOUT")
        self.failing_since: float | None = None
        self.loop: LoopingCall | None = None
        self.last_beat = 0.0
        self.drained_since: float | None = None
        self.closing = False
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        fleet = Fleet.of(crawler)
        if fleet is None:
            raise NotConfigured
        return cls(crawler, fleet)

    def _stat(self, key: str, value: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(key, value)

    def spider_opened(self) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("fleet/worker", self.fleet.worker)
        self.crawler.stats.set_value("fleet/run", self.fleet.keys.run)
        self.loop = LoopingCall(self.tick)
        self.loop.start(self.interval, now=False).addErrback(
            lambda f: logger.error("fleet coordinator stopped: %s", f.getErrorMessage()))

    def tick(self) -> None:
        """One check; a Redis failure is logged and retried, and ends the worker
        ("fleet_redis_error") once it lasts ``DISTRIBUTED_WORKER_TIMEOUT``: by then the
        others count this worker as dead and take its requests back."""
        if self.closing:
            return
        import redis  # noqa: PLC0415

        try:
            self._tick()
        except redis.RedisError as exc:
            now = time.monotonic()
            if self.failing_since is None:
                self.failing_since = now
                logger.warning("fleet Redis unavailable: %s", exc)
            elif now - self.failing_since >= self.worker_timeout:
                logger.error("fleet Redis unavailable for %.0f s: stopping this worker",
                             now - self.failing_since)
                self.closing = True
                engine = self.crawler.engine
                if engine is not None:
                    deferred_from_coro(engine.close_spider_async(reason="fleet_redis_error"))
        else:
            if self.failing_since is not None:
                logger.warning("fleet Redis reachable again")
            self.failing_since = None

    def _tick(self) -> None:
        now = time.monotonic()
        if now - self.last_beat >= self.heartbeat_every:
            self.last_beat = now
            self.fleet.heartbeat()
            self._sweep()
        engine = self.crawler.engine
        if engine is None or engine.scheduler is None or engine.spider is None:
            return
        scheduler = engine.scheduler
        if isinstance(scheduler, FleetScheduler) and scheduler.starved and \
                not engine.needs_backout():
            request = scheduler.leased_request()
            if request is not None:  # wake the engine: it takes more by itself
                request.meta[LOCAL_KEY] = True
                self._stat("fleet/wakeups")
                engine.crawl(request)
                return
        if not engine.spider_is_idle():
            self.drained_since = None
            return
        if not self._sweep():
            self.drained_since = None
            return
        if self.drained_since is None:
            self.drained_since = now
        elif now - self.drained_since >= self.idle_timeout:
            logger.info("the frontier is drained and no worker holds work: finishing")
            self.closing = True
            deferred_from_coro(engine.close_spider_async(reason="finished"))

    def _sweep(self) -> bool:
        """Dead workers' leases back to the frontier; True when the fleet is drained."""
        drained, requeued, _live, _held = self.fleet.sweep()
        if requeued:
            self._stat("fleet/requeued_from_dead_workers", requeued)
            logger.warning("put %d request(s) of dead worker(s) back in the frontier",
                           requeued)
        return drained

    def spider_idle(self) -> None:
        if not self.closing:
            raise DontCloseSpider

    def spider_closed(self) -> None:
        import redis  # noqa: PLC0415

        self.closing = True
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        try:
            returned = self.fleet.requeue_mine()
            self.fleet.heartbeat()
        except redis.RedisError as exc:  # the others take them back when we fall silent
            logger.error("can't hand unfinished requests back to the fleet: %s", exc)
            return
        if returned:
            self._stat("fleet/requeued_own", returned)
            logger.info("put %d unfinished request(s) back in the frontier", returned)
