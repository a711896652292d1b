"""Progress line on an interactive terminal: pages, articles, errors, rate.

Off when stderr is not a terminal (cron, systemd, CI), so logs stay clean.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any, Self, TextIO

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import create_looping_call

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["Progress"]


class Progress:
    def __init__(self, crawler: Crawler, interval: float, stream: TextIO) -> None:
        self.crawler = crawler
        self.interval = interval
        self.stream = stream
        self.task: Any = None
        self.started = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.getbool("PROGRESS_ENABLED") or not sys.stderr.isatty():
            raise NotConfigured
        obj = cls(crawler, settings.getfloat("PROGRESS_INTERVAL"), sys.stderr)
        crawler.signals.connect(obj.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(obj.spider_closed, signal=signals.spider_closed)
        return obj

    def line(self) -> str:
        stats = self.crawler.stats
        assert stats is not None
        values = stats.get_stats()
        pages = values.get("response_received_count", 0)
        articles = values.get("articles/written", 0)
        errors = sum(v for k, v in values.items()
                     if k.startswith(("news/http_errors/", "news/fetch_errors/")))
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return (f"\rpages {pages} | articles {articles} | errors {errors} | "
                f"{pages / elapsed:.1f} pages/s ")

    def spider_opened(self) -> None:
        self.started = time.monotonic()
        self.task = create_looping_call(self.show)
        self.task.start(self.interval, now=False)

    def show(self) -> None:
        self.stream.write(self.line())
        self.stream.flush()

    def spider_closed(self) -> None:
        if self.task is not None and self.task.running:
            self.task.stop()
        self.stream.write(self.line() + "\n")
        self.stream.flush()
