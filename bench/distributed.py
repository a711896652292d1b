"""Distributed crawl benchmark: pages/s of 1, 2 and 3 fleet workers, and Redis memory.

``python -m bench.distributed [--pages 1500] [--workers 1,2,3] [--frontier 100000]``

1. Serves a generated news site (``bench/fleetsite.py``) on 127.0.0.1 and starts a
   ``redis-server`` on a free loopback port.
2. Baseline: a plain ``newsarchive crawl`` of the site (no Redis). Then, for N workers:
   ``newsarchive crawl --redis`` plus N-1 ``newsarchive worker --redis``, all at once, each
   run in a fresh Redis database. Throughput end to end: pages over the time from starting
   the processes to the last exit (start-up, fetching, extraction, publishing), less the
   fleet's final idle wait (``DISTRIBUTED_IDLE_TIMEOUT``), as a ratio to the baseline; and
   the fetch rate the server saw (first to last request). Everything runs on this
   machine: N workers share its cores (and the server's).
3. Memory: ``used_memory`` of an empty Redis database against one holding ``--frontier``
   requests as the crawl queues them (scrapy-redis priority queue, pickled request dicts
   with our spider's meta), the same number of seen-set fingerprints (20 bytes each,
   ``FleetDupeFilter``) and of claimed article keys; printed per 100,000 URLs.

Per-domain politeness is fleet-wide, so one site would cap every fleet at its
``CONCURRENT_REQUESTS_PER_DOMAIN``: the crawl runs set it to 32 to measure the workers.
Results go to ``bench/results/distributed-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "bench" / "results"
IDLE_TIMEOUT = 2.0
SETTINGS = ("-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", "-q",
            "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=32", "-s", "CONCURRENT_REQUESTS=32",
            "-s", f"DISTRIBUTED_IDLE_TIMEOUT={IDLE_TIMEOUT}", "-s", "DISTRIBUTED_POLL_INTERVAL=0.2",
            "-s", "DISTRIBUTED_HEARTBEAT=1", "-s", "DISTRIBUTED_WORKER_TIMEOUT=15",
            "-s", "DISTRIBUTED_JOIN_WAIT=30", "-s", "PROGRESS_ENABLED=False",
            # the benchmark site is on loopback, refused by default (EGRESS_ALLOW)
            "-s", "EGRESS_ALLOW=127.0.0.1/32")


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO_ROOT)}
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    return env


def _crawl(site: Any, out: Path, redis_url: str | None, workers: int) -> dict[str, Any]:
    site.reset()
    commands = [["crawl"]] + [["worker"]] * (workers - 1) if redis_url else [["crawl"]]
    procs = []
    started = time.monotonic()
    for n, command in enumerate(commands):
        fleet = ["--redis", redis_url, "--worker-id", f"b{n + 1}"] if redis_url else []
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "crawler.cli", *command, site.base_url + "/", *fleet,
             "-o", str(out), *SETTINGS], cwd=REPO_ROOT, env=_env(),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    codes = []
    for proc in procs:
        output, _ = proc.communicate(timeout=1800)
        codes.append(proc.returncode)
        if proc.returncode != 0:
            print(output[-2000:], file=sys.stderr)
    # end to end: from starting the processes to the last exit, less the fleet's final
    # wait (DISTRIBUTED_IDLE_TIMEOUT): start-up, fetching, extraction, publishing
    wall = time.monotonic() - started - (IDLE_TIMEOUT if redis_url else 0)
    fetched = site.fetched()
    span = (site.last or 0) - (site.first or 0)
    pages = sum(fetched.values())
    return {"workers": workers, "exit_codes": codes, "pages": pages,
            "distinct_pages": len(fetched), "fetch_seconds": round(span, 2),
            "fetch_pages_per_s": round(pages / span, 1) if span > 0 else None,
            "seconds": round(wall, 2), "pages_per_s": round(pages / wall, 1)}


def _memory(redis_url: str, count: int) -> dict[str, Any]:
    import redis  # noqa: PLC0415
    from scrapy.utils.test import get_crawler  # noqa: PLC0415
    from scrapy_redis import picklecompat  # noqa: PLC0415
    from scrapy_redis.queue import PriorityQueue  # noqa: PLC0415

    from crawler.config import site_from_urls  # noqa: PLC0415
    from crawler.spiders.news import NewsSpider  # noqa: PLC0415

    client: Any = redis.Redis.from_url(redis_url)
    client.flushdb()
    crawler = get_crawler(NewsSpider, {"STATE_ENABLED": False, "WARC_ENABLED": False})
    site = site_from_urls(["http://news.example/"])[0]
    spider = NewsSpider.from_crawler(crawler, sites=[site])
    queue = PriorityQueue(client, spider, "bench:queue", picklecompat)
    fingerprinter = crawler.request_fingerprinter
    before = int(client.info("memory")["used_memory"])
    sizes = {}
    batch = 5000
    for name in ("queue", "seen", "articles"):
        start = int(client.info("memory")["used_memory"])
        for first in range(0, count, batch):
            pipe = client.pipeline(transaction=False)
            for n in range(first, min(first + batch, count)):
                url = f"http://news.example/2026/11/{n % 28 + 1:02d}/story-{n}-about-things.html"
                request = spider._request(url, site, "link", spider.parse_page)
                request.meta["depth"] = 2
                if name == "queue":
                    pipe.zadd("bench:queue", {queue._encode_request(request): 0})
                elif name == "seen":
                    pipe.sadd("bench:seen", fingerprinter.fingerprint(request))
                else:
                    pipe.hset("bench:articles", url, "worker-12")
            pipe.execute()
        sizes[name] = int(client.info("memory")["used_memory"]) - start
    total = int(client.info("memory")["used_memory"]) - before
    client.flushdb()
    per = 100_000 / count
    return {"urls": count, "bytes": sizes, "total_bytes": total,
            "per_100k_mb": {k: round(v * per / 2**20, 1) for k, v in sizes.items()},
            "total_per_100k_mb": round(total * per / 2**20, 1),
            "queue_entry_bytes": round(sizes["queue"] / count),
            "seen_entry_bytes": round(sizes["seen"] / count)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.distributed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=1500, help="articles in the site")
    parser.add_argument("--workers", default="1,2,3", help="fleet sizes to measure")
    parser.add_argument("--frontier", type=int, default=100_000,
                        help="URLs for the memory measurement")
    args = parser.parse_args(argv)

    from bench.fleetsite import FleetSite  # noqa: PLC0415
    from tests.redisserver import RedisServer  # noqa: PLC0415

    sizes = [int(n) for n in args.workers.split(",") if n.strip()]
    per_section = 100
    sections = max(1, args.pages // per_section)
    results: dict[str, Any] = {"machine_cpus": os.cpu_count(),
                               "load_average": os.getloadavg(), "runs": {}}
    with tempfile.TemporaryDirectory(prefix="bench-distributed-") as tmp, \
            FleetSite(sections=sections, per_section=per_section) as site:
        server = RedisServer(Path(tmp))
        try:
            results["site_pages"] = len(site.page_paths)
            print(f"site: {len(site.page_paths)} pages at {site.base_url}; redis at "
                  f"{server.url}; {os.cpu_count()} CPUs, load average "
                  f"{os.getloadavg()[0]:.1f}", flush=True)
            base = _crawl(site, Path(tmp) / "baseline", None, 1)
            results["runs"]["baseline"] = base
            print(f"baseline (crawl, no Redis): {base['pages_per_s']} pages/s end to end "
                  f"({base['pages']} pages in {base['seconds']} s); fetching "
                  f"{base['fetch_pages_per_s']} pages/s", flush=True)
            for n, workers in enumerate(sizes, start=1):
                url = server.url.rsplit("/", 1)[0] + f"/{n}"
                run = _crawl(site, Path(tmp) / f"fleet-{workers}", url, workers)
                run["ratio_to_baseline"] = round(run["pages_per_s"] / base["pages_per_s"], 2)
                results["runs"][f"fleet-{workers}"] = run
                print(f"fleet of {workers}: {run['pages_per_s']} pages/s end to end "
                      f"({run['pages']} fetches of {run['distinct_pages']} pages in "
                      f"{run['seconds']} s) = {run['ratio_to_baseline']} x baseline; "
                      f"fetching {run['fetch_pages_per_s']} pages/s; exit codes "
                      f"{run['exit_codes']}", flush=True)
            memory = _memory(server.url.rsplit("/", 1)[0] + "/15", args.frontier)
            results["memory"] = memory
            print(f"redis memory per 100k URLs: frontier {memory['per_100k_mb']['queue']} MB "
                  f"({memory['queue_entry_bytes']} B/request), seen-set "
                  f"{memory['per_100k_mb']['seen']} MB ({memory['seen_entry_bytes']} B), "
                  f"article claims {memory['per_100k_mb']['articles']} MB; "
                  f"total {memory['total_per_100k_mb']} MB", flush=True)
        finally:
            server.stop()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"distributed-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {path.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
