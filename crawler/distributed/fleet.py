"""The fleet's shared state in Redis: run, workers, leases, seeding, reports.

One *run* is one crawl of the fleet, from seeding to the drained frontier. Its keys, under
``<DISTRIBUTED_PREFIX>`` (default ``newsarchive:<crawl>``)::

    <p>:run                  the current run id (SET NX by the seeder; refreshed while alive)
    <p>:last-run             the id of the latest run (for ``newsarchive fleet-report``)
    <p>:<run>:queue          the frontier: scrapy-redis's priority queue (sorted set)
    <p>:<run>:seen           the seen-set: 20-byte request fingerprints (scrapy-redis filter)
    <p>:<run>:seeding        present while the seeder's ``start()`` is still adding seeds
    <p>:<run>:workers        hash worker -> last heartbeat (Redis server time, ms)
    <p>:<run>:lease:<worker> hash lease -> "<score>|<request>": requests a worker works on
    <p>:<run>:done:<worker>  the same, for requests handled but whose output (WARC, article
                             files) is not published yet: dropped when the worker finishes
    <p>:<run>:articles       hash canonical article key -> worker (archived once)
    <p>:<run>:reports        hash worker -> JSON run report
    <p>:<run>:merged         the fleet report, written once by the last worker

Every run key expires ``DISTRIBUTED_EXPIRE`` seconds after the last heartbeat touched it.
A worker whose heartbeat is older than ``DISTRIBUTED_WORKER_TIMEOUT`` is dead: any worker
puts its leases, handled or not, back in the frontier (``sweep``): what a dead worker had
not published is fetched again by the others.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any

__all__ = ["FleetKeys", "FleetRun", "join_run"]

logger = logging.getLogger(__name__)

# pop the best request and lease it to the worker, atomically
_POP_LEASE = """
local r = redis.call('ZPOPMIN', KEYS[1])
if #r == 0 then return false end
redis.call('HSET', KEYS[2], ARGV[1], r[2] .. '|' .. r[1])
return r[1]
"""
# put every lease of a hash back in the frontier, delete the hash; returns the count
_REQUEUE = """
local all = redis.call('HGETALL', KEYS[2])
local n = 0
for i = 2, #all, 2 do
  local v = all[i]
  local sep = string.find(v, '|', 1, true)
  redis.call('ZADD', KEYS[1], tonumber(string.sub(v, 1, sep - 1)), string.sub(v, sep + 1))
  n = n + 1
end
redis.call('DEL', KEYS[2])
return n
"""
# a handled request: from the in-flight leases to the unpublished ones
_HANDLED = """
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v then
  redis.call('HSET', KEYS[2], ARGV[1], v)
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return v and 1 or 0
"""
# heartbeat: workers[me] = now; refresh the TTL of the run keys; returns server time (ms)
_HEARTBEAT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], now)
local ttl = tonumber(ARGV[2])
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ttl) end
end
return now
"""
# sweep dead workers (requeue their leases) and say whether the fleet is drained:
# returns {drained (0/1), requeued, live workers, requests held by others}
_SWEEP = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local timeout = tonumber(ARGV[1])
local prefix = ARGV[2]
local me = ARGV[3]
local workers = redis.call('HGETALL', KEYS[2])
local requeued, live, held = 0, 0, 0
for i = 1, #workers, 2 do
  local name, beat = workers[i], tonumber(workers[i + 1])
  local lease = prefix .. ':lease:' .. name
  if now - beat > timeout then
    for _, hash in ipairs({lease, prefix .. ':done:' .. name}) do
      local all = redis.call('HGETALL', hash)
      for j = 2, #all, 2 do
        local v = all[j]
        local sep = string.find(v, '|', 1, true)
        redis.call('ZADD', KEYS[1], tonumber(string.sub(v, 1, sep - 1)),
                   string.sub(v, sep + 1))
        requeued = requeued + 1
      end
      redis.call('DEL', hash)
    end
    redis.call('HDEL', KEYS[2], name)
  else
    live = live + 1
    if name ~= me then held = held + redis.call('HLEN', lease) end
  end
end
local drained = 0
if redis.call('ZCARD', KEYS[1]) == 0 and redis.call('EXISTS', KEYS[3]) == 0
    and held == 0 then drained = 1 end
return {drained, requeued, live, held}
"""

# start a run unless one is on: the run marker and the seeding flag, atomically
_START = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[3]) then
  redis.call('HSET', KEYS[2], 'by', ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
  return 1
end
return 0
"""

# claim canonical article keys for ARGV[1] unless a live other worker holds one
_CLAIM = """
for i = 2, #ARGV do
  local owner = redis.call('HGET', KEYS[1], ARGV[i])
  if owner and owner ~= ARGV[1] and redis.call('HEXISTS', KEYS[2], owner) == 1 then
    return 0
  end
end
for i = 2, #ARGV do redis.call('HSET', KEYS[1], ARGV[i], ARGV[1]) end
return 1
"""


@dataclass(frozen=True)
class FleetKeys:
    prefix: str
    run: str

    @property
    def current(self) -> str:
        return f"{self.prefix}:run"

    @property
    def last(self) -> str:
        return f"{self.prefix}:last-run"

    def key(self, name: str) -> str:
        return f"{self.prefix}:{self.run}:{name}"

    @property
    def base(self) -> str:
        return f"{self.prefix}:{self.run}"

    def lease(self, worker: str) -> str:
        return self.key(f"lease:{worker}")


class FleetRun:
    """One worker's handle on the run it takes part in (a synchronous Redis client)."""

    def __init__(self, url: str, keys: FleetKeys, worker: str, *, worker_timeout: float,
                 expire: float) -> None:
        import redis  # noqa: PLC0415

        self.client: Any = redis.Redis.from_url(url)
        self.url = url
        self.keys = keys
        self.worker = worker
        self.worker_timeout_ms = int(worker_timeout * 1000)
        self.expire_ms = int(expire * 1000)
        self._pop = self.client.register_script(_POP_LEASE)
        self._requeue = self.client.register_script(_REQUEUE)
        self._beat = self.client.register_script(_HEARTBEAT)
        self._sweep = self.client.register_script(_SWEEP)
        self._claim = self.client.register_script(_CLAIM)
        self._handled = self.client.register_script(_HANDLED)

    # --- the worker's life --------------------------------------------------------------
    def heartbeat(self) -> None:
        k = self.keys
        ttl = self.expire_ms
        self._beat(keys=[k.key("workers"), k.key("workers"), k.key("queue"), k.key("seen"),
                         k.key("articles"), k.key("reports"), k.lease(self.worker),
                         k.key(f"done:{self.worker}")],
                   args=[self.worker, ttl])
        # the run marker and the seeding flag live only as long as someone refreshes them
        self.client.pexpire(k.current, max(self.worker_timeout_ms * 3, 1000))
        if self.client.hget(k.key("seeding"), "by") == self.worker.encode():
            self.client.pexpire(k.key("seeding"), max(self.worker_timeout_ms, 1000))

    def seeding_done(self) -> None:
        self.client.delete(self.keys.key("seeding"))

    def leave(self) -> None:
        self.client.hdel(self.keys.key("workers"), self.worker)

    # --- leases -------------------------------------------------------------------------
    def pop(self) -> tuple[bytes, str] | None:
        """The next request (as queued) with its lease id, or None when the frontier is
        empty."""
        lease = secrets.token_hex(8)
        data = self._pop(keys=[self.keys.key("queue"), self.keys.lease(self.worker)],
                         args=[lease])
        return (data, lease) if data else None

    def release(self, lease: str) -> None:
        """The frontier holds the request again (retry, redirect): drop the lease."""
        self.client.hdel(self.keys.lease(self.worker), lease)

    def handled(self, lease: str) -> None:
        """Handled here; kept (as unpublished) until this worker's output is published."""
        self._handled(keys=[self.keys.lease(self.worker), self.keys.key(f"done:{self.worker}")],
                      args=[lease])

    def held(self) -> int:
        return int(self.client.hlen(self.keys.lease(self.worker)))

    def requeue_mine(self) -> int:
        return int(self._requeue(keys=[self.keys.key("queue"), self.keys.lease(self.worker)]))

    def sweep(self) -> tuple[bool, int, int, int]:
        """Put dead workers' leases back; ``(drained, requeued, live workers, held by
        others)``."""
        k = self.keys
        drained, requeued, live, held = self._sweep(
            keys=[k.key("queue"), k.key("workers"), k.key("seeding")],
            args=[self.worker_timeout_ms, k.base, self.worker])
        return bool(drained), int(requeued), int(live), int(held)

    def queued(self) -> int:
        return int(self.client.zcard(self.keys.key("queue")))

    # --- articles -------------------------------------------------------------------------
    def claim_article(self, keys: set[bytes]) -> bool:
        """True if none of ``keys`` (fingerprints of one page's canonical URLs) is claimed
        by another live worker of the run; this worker claims them. Claims of a dead worker are
        taken over with its requests."""
        k = self.keys
        return bool(self._claim(keys=[k.key("articles"), k.key("workers")],
                                args=[self.worker, *sorted(keys)]))

    # --- reports --------------------------------------------------------------------------
    def store_report(self, report: dict[str, Any]) -> None:
        name = self.keys.key("reports")
        self.client.hset(name, self.worker, json.dumps(report))
        self.client.pexpire(name, self.expire_ms)

    def finish(self) -> bool:
        """Leave the run; True for the last worker out (it writes the fleet report)."""
        k = self.keys
        self.client.delete(k.key(f"done:{self.worker}"))  # published: nothing to redo
        self.leave()
        if self.client.hlen(k.key("workers")):
            return False
        if not self.client.set(k.key("merged"), self.worker, nx=True, px=self.expire_ms):
            return False
        # the run is over: the next seeder starts a new one
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(k.current)
        pipe.set(k.last, k.run, px=self.expire_ms)
        for name in ("queue", "seen", "articles"):
            pipe.pexpire(k.key(name), self.expire_ms)
        pipe.execute()
        return True

    def close(self) -> None:
        self.client.close()


def join_run(url: str, prefix: str, worker: str, *, seed: bool, worker_timeout: float,
             expire: float) -> tuple[FleetRun, bool] | None:
    """Join the current run, or (``seed``) start one: ``(run, True)`` for the one seeder
    of a new run; None when there is no run to join."""
    import redis  # noqa: PLC0415

    client: Any = redis.Redis.from_url(url)
    try:
        current = f"{prefix}:run"
        seeder = False
        run_id = None
        if seed:
            candidate = secrets.token_hex(6)
            keys = FleetKeys(prefix, candidate)
            started = client.eval(_START, 2, current, keys.key("seeding"), candidate, worker,
                                  max(int(worker_timeout * 3000), 1000),
                                  max(int(worker_timeout * 1000), 1000))
            if started:
                run_id, seeder = candidate, True
        if run_id is None:
            value = client.get(current)
            if value is None:
                return None
            run_id = value.decode()
    finally:
        client.close()
    run = FleetRun(url, FleetKeys(prefix, run_id), worker, worker_timeout=worker_timeout,
                   expire=expire)
    run.heartbeat()
    logger.info("worker %s %s run %s", worker, "seeds" if seeder else "joins", run_id)
    return run, seeder
