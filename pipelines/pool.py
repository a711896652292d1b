"""Extraction off the reactor: a pool of worker processes with bounded work in flight.

trafilatura costs 15-25 ms of CPU per page: run in the crawl's process it holds the
reactor and leaves the other cores idle. By default there is one worker per core (the
reactor's share of a core is small next to extraction's). Workers are started by a
forkserver (clean processes, never forks of the running reactor) and build
trafilatura's configuration once each. At most ``max_pending`` pages wait for or sit in
the pool; callers await a slot, which holds back Scrapy's scraper and with it the
downloads, so memory stays flat.
With ``processes=0`` extraction runs in a thread instead (one-core machines).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

from scrapy.utils.asyncio import run_in_thread

if TYPE_CHECKING:
    from crawler.items import Article
    from pipelines.extract import ExtractionOptions

__all__ = ["ExtractionPool", "default_processes"]

_OPTIONS: ExtractionOptions | None = None


def default_processes() -> int:
    """One worker per usable core, none on a one-core machine.

    The reactor needs a few ms of CPU per page against 30-40 ms of extraction, so a core
    kept for it would idle most of the time: on two cores, one worker caps the crawl at
    one core's extraction rate (see the crawl benchmark in README).
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)
    return cores if cores > 1 else 0


def _watch_crawl(pid: int) -> None:
    """Exit when the crawl's process is gone (SIGKILL leaves no chance to shut the pool
    down, and a worker would wait on its queue forever)."""
    while True:
        time.sleep(1.0)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:  # pragma: no cover - pid reused by another user
            os._exit(0)


def _init_worker(config_file: str | None, switches: dict[str, Any], crawl_pid: int) -> None:
    global _OPTIONS  # noqa: PLW0603
    from pipelines.extract import ExtractionOptions  # noqa: PLC0415

    threading.Thread(target=_watch_crawl, args=(crawl_pid,), daemon=True,
                     name="watch-crawl").start()
    _OPTIONS = ExtractionOptions.build(config_file, **switches)


def _ready() -> bool:
    return _OPTIONS is not None


def _extract(html: str, url: str, fields: dict[str, Any]) -> Article:
    from pipelines.extract import extract_article  # noqa: PLC0415

    return extract_article(html, url, options=_OPTIONS, **fields)


class ExtractionPool:
    def __init__(self, options: ExtractionOptions, config_file: str | None,
                 switches: dict[str, Any], processes: int, max_pending: int) -> None:
        self.options = options
        self.processes = processes
        self.max_pending = max(max_pending, 1)
        self._semaphore: asyncio.Semaphore | None = None
        self._executor: ProcessPoolExecutor | None = None
        if processes > 0:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["pipelines.extract", "trafilatura"])
            self._executor = ProcessPoolExecutor(
                max_workers=processes, mp_context=context, initializer=_init_worker,
                initargs=(config_file, switches, os.getpid()))

    async def extract(self, html: str, url: str, **fields: Any) -> Article:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.max_pending)
        async with self._semaphore:
            if self._executor is None:
                from pipelines.extract import extract_article  # noqa: PLC0415

                return await run_in_thread(extract_article, html, url, options=self.options,
                                           **fields)
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, _extract, html, url, fields)

    def warm_up(self) -> None:
        """Start the forkserver and the workers now (blocking: call it in a thread), not
        on the event loop at the first page."""
        if self._executor is not None:
            futures = [self._executor.submit(_ready) for _ in range(self.processes)]
            for future in futures:
                future.result()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
