"""The crawler's fleet handle (:class:`Fleet`) and the settings a fleet worker runs with."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crawler.distributed.fleet import FleetKeys, FleetRun
from crawler.registry import PerCrawler

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["Fleet", "fleet_settings"]

_FLEETS: PerCrawler[FleetRun | None] = PerCrawler()


def fleet_settings(url: str, run: FleetRun, *, seeder: bool) -> dict[str, Any]:
    """Settings overrides that turn a crawl into a fleet worker of ``run``."""
    keys = run.keys
    return {
        "DISTRIBUTED_ENABLED": True,
        "DISTRIBUTED_REDIS_URL": url,
        "DISTRIBUTED_RUN_ID": keys.run,
        "DISTRIBUTED_PREFIX": keys.prefix,
        "DISTRIBUTED_WORKER_ID": run.worker,
        "DISTRIBUTED_SEEDER": seeder,
        # scrapy-redis: the shared frontier and seen-set of this run
        "SCHEDULER": "crawler.distributed.scheduler.FleetScheduler",
        "DUPEFILTER_CLASS": "crawler.distributed.dupefilter.FleetDupeFilter",
        "SCHEDULER_PERSIST": True,  # off: the first worker to finish would wipe the queue
        "SCHEDULER_QUEUE_KEY": keys.key("queue"),
        "SCHEDULER_DUPEFILTER_KEY": keys.key("seen"),
        "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.PriorityQueue",
        "REDIS_URL": url,
        # the state store is shared too
        "STATE_URL": url,
    }


class Fleet:
    """The crawler's :class:`FleetRun`, or None when not distributed (see :meth:`of`)."""

    @classmethod
    def of(cls, crawler: Crawler) -> FleetRun | None:
        return _FLEETS.get(crawler, cls._build)

    @classmethod
    def _build(cls, crawler: Crawler) -> FleetRun | None:
        s = crawler.settings
        if not s.getbool("DISTRIBUTED_ENABLED"):
            return None
        keys = FleetKeys(str(s.get("DISTRIBUTED_PREFIX")), str(s.get("DISTRIBUTED_RUN_ID")))
        return FleetRun(str(s.get("DISTRIBUTED_REDIS_URL")), keys,
                        str(s.get("DISTRIBUTED_WORKER_ID")),
                        worker_timeout=s.getfloat("DISTRIBUTED_WORKER_TIMEOUT"),
                        expire=s.getfloat("DISTRIBUTED_EXPIRE"))

    @staticmethod
    def worker_id(settings: Any) -> str | None:
        if settings.getbool("DISTRIBUTED_ENABLED"):
            return str(settings.get("DISTRIBUTED_WORKER_ID"))
        return None
