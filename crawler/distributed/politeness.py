"""Per-domain politeness across the fleet: a Redis-held slot per domain.

Scrapy's ``DOWNLOAD_DELAY`` and ``CONCURRENT_REQUESTS_PER_DOMAIN`` (and a site's
``download_delay``/``concurrency``, as ``DOWNLOAD_SLOTS``) hold per process; N workers
would multiply them by N. This downloader middleware, the last before the network,
takes one of the domain's ``concurrency`` slots in Redis before each download (and waits
for the domain's delay since the fleet's last request to it); the slot is given back when
the response or the error comes back. A slot of a dead worker expires after
``DOWNLOAD_TIMEOUT`` + 30 s. Like scrapy-redis's scheduler, it talks to Redis with the
synchronous client: a loopback or LAN round trip (well under a millisecond) costs less
than a turn of a busy event loop, which an asyncio client waits for on every call; only
the waits for a slot are asynchronous (``asyncio.sleep``).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import TYPE_CHECKING, Any, Self

from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from scrapy.utils.httpobj import urlparse_cached

from crawler.distributed.settings import Fleet

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["FleetPolitenessMiddleware"]

logger = logging.getLogger(__name__)

SLOT_KEY = "fleet_domain_slot"

# KEYS: holders (zset token -> expiry ms), next-allowed time; ARGV: concurrency, delay ms,
# slot ttl ms, token. Returns 0 (taken) or the ms to wait before trying again.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return -1 end
local nxt = tonumber(redis.call('GET', KEYS[2]) or '0')
if nxt > now then return nxt - now end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[4])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
local delay = tonumber(ARGV[2])
if delay > 0 then redis.call('SET', KEYS[2], now + delay, 'PX', delay + 1000) end
return 0
"""


class FleetPolitenessMiddleware:
    def __init__(self, crawler: Crawler, client: Any, prefix: str) -> None:
        self.crawler = crawler
        self.client = client
        self.prefix = prefix
        s = crawler.settings
        self.default_concurrency = s.getint("CONCURRENT_REQUESTS_PER_DOMAIN")
        self.default_delay = s.getfloat("DOWNLOAD_DELAY")
        self.ttl_ms = int((s.getfloat("DOWNLOAD_TIMEOUT") + 30) * 1000)
        self.poll = s.getfloat("DISTRIBUTED_POLL_INTERVAL")
        self.acquire = self.client.register_script(_ACQUIRE)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        fleet = Fleet.of(crawler)
        if fleet is None or not crawler.settings.getbool("DISTRIBUTED_POLITENESS"):
            raise NotConfigured
        # domains are shared by every run of the crawl: keys outside the run
        return cls(crawler, fleet.client, fleet.keys.prefix + ":domain")

    def _limits(self, domain: str) -> tuple[int, float]:
        slots = self.crawler.settings.getdict("DOWNLOAD_SLOTS")
        slot = slots.get(domain) or {}
        concurrency = int(slot.get("concurrency") or self.default_concurrency or 1)
        delay = float(slot.get("delay", self.default_delay) or 0)
        return max(concurrency, 1), max(delay, 0.0)

    async def process_request(self, request: Request) -> None:
        domain = urlparse_cached(request).hostname or ""
        concurrency, delay = self._limits(domain)
        token = secrets.token_hex(8)
        holders = f"{self.prefix}:{domain}:slots"
        waited = False
        while True:
            wait = self.acquire(keys=[holders, f"{self.prefix}:{domain}:next"],
                                      args=[concurrency, int(delay * 1000), self.ttl_ms,
                                            token])
            if int(wait) == 0:
                break
            waited = True
            await asyncio.sleep(self.poll / 4 if int(wait) < 0 else int(wait) / 1000)
        if waited:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("fleet/politeness_waits")
        request.meta[SLOT_KEY] = (holders, token)

    def _release(self, request: Request) -> None:
        held = request.meta.pop(SLOT_KEY, None)
        if held is not None:
            self.client.zrem(*held)

    def process_response(self, request: Request, response: Response) -> Response:
        self._release(request)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        self._release(request)
