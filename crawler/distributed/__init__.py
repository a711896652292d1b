"""Distributed crawls: many workers, one frontier in Redis (scrapy-redis).

``newsarchive crawl --redis URL`` seeds the shared frontier (once per run) and works on it;
``newsarchive worker --redis URL`` joins. See README, "Distributed crawls".
"""

from crawler.distributed.fleet import FleetKeys, FleetRun, join_run
from crawler.distributed.settings import Fleet, fleet_settings

__all__ = ["Fleet", "FleetKeys", "FleetRun", "fleet_settings", "join_run"]
