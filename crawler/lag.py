"""Reactor lag: how late a timer due every ``LAG_INTERVAL`` seconds fires.

Anything that blocks the event loop (parsing, compression, extraction in-process) shows up
as lag; the crawl's stats get ``reactor/lag_max_ms``, ``reactor/lag_mean_ms`` and
``reactor/stalls`` (lags over 100 ms).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Self

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import create_looping_call

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["ReactorLag"]

_STALL = 0.1


class ReactorLag:
    def __init__(self, crawler: Crawler, interval: float) -> None:
        self.crawler = crawler
        self.interval = interval
        self.task: Any = None
        self.last = 0.0
        self.samples = 0
        self.total = 0.0
        self.worst = 0.0
        self.stalls = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        interval = crawler.settings.getfloat("LAG_INTERVAL")
        if not crawler.settings.getbool("LAG_ENABLED") or interval <= 0:
            raise NotConfigured
        obj = cls(crawler, interval)
        crawler.signals.connect(obj.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(obj.spider_closed, signal=signals.spider_closed)
        return obj

    def spider_opened(self) -> None:
        self.last = time.monotonic()
        self.task = create_looping_call(self.tick)
        self.task.start(self.interval, now=False)

    def tick(self) -> None:
        now = time.monotonic()
        lag = max(now - self.last - self.interval, 0.0)
        self.last = now
        self.samples += 1
        self.total += lag
        self.worst = max(self.worst, lag)
        if lag > _STALL:
            self.stalls += 1

    def spider_closed(self) -> None:
        if self.task is not None and self.task.running:
            self.task.stop()
        stats = self.crawler.stats
        assert stats is not None
        stats.set_value("reactor/lag_max_ms", round(self.worst * 1000, 1))
        stats.set_value("reactor/lag_mean_ms",
                        round(self.total / self.samples * 1000, 2) if self.samples else 0.0)
        stats.set_value("reactor/stalls", self.stalls)
