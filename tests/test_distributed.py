"""Distributed crawls: worker processes sharing a real ``redis-server`` crawl a ~500-page
site served on 127.0.0.1 (bench/fleetsite.py), which counts every request it answers."""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from scrapy.http import Request, Response
from scrapy.utils.defer import deferred_f_from_coro_f
from scrapy.utils.test import get_crawler
from warcio.archiveiterator import ArchiveIterator

from bench.fleetsite import FleetSite
from crawler.distributed import join_run
from crawler.distributed.politeness import FleetPolitenessMiddleware
from tests.conftest import REPO, cli_env, read_articles
from tests.redisserver import RedisServer, redis_server

__all__ = ["redis_server"]

_DB = itertools.count()
# short timings: a drained fleet finishes after 1 s, a silent worker is dead after 4 s
FAST = ("-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
        "-s", "DISTRIBUTED_IDLE_TIMEOUT=1", "-s", "DISTRIBUTED_POLL_INTERVAL=0.1",
        "-s", "DISTRIBUTED_HEARTBEAT=0.2", "-s", "DISTRIBUTED_WORKER_TIMEOUT=4",
        "-s", "DISTRIBUTED_JOIN_WAIT=15", "-s", "TRAFILATURA_PROCESSES=0",
        "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=3", "-s", "PROGRESS_ENABLED=False")


@pytest.fixture(scope="module")
def site() -> Iterator[FleetSite]:
    with FleetSite() as served:
        yield served


@pytest.fixture
def db(redis_server: RedisServer) -> str:
    """A Redis database of its own for each test (frontier, state store)."""
    number = 1 + next(_DB) % 15  # Redis has databases 0-15; 0 is left to other tests
    url = redis_server.url.rsplit("/", 1)[0] + f"/{number}"
    redis.Redis.from_url(url).flushdb()
    return url


def _start(command: str, worker: str, site: FleetSite, url: str, out: Path,
           *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", command, site.base_url + "/", "--redis", url,
         "--worker-id", worker, "-o", str(out), *FAST, *extra],
        # warnings are errors in the workers too: no deprecated calls in the fleet path
        cwd=REPO, env={**cli_env(), "PYTHONWARNINGS": "error"}, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _wait(procs: dict[str, subprocess.Popen[str]], timeout: float = 120,
          allowed: tuple[int, ...] = (0, -signal.SIGKILL)) -> dict[str, int]:
    codes = {}
    for name, proc in procs.items():
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            pytest.fail(f"worker {name} did not finish:\n{out[-3000:]}")
        codes[name] = proc.returncode
        if proc.returncode not in allowed:
            pytest.fail(f"worker {name} exited {proc.returncode}:\n{out[-3000:]}")
    return codes


def _captures(out: Path) -> tuple[Counter[str], set[str]]:
    """Response captures per URL path in the published WARCs, and the workers in their
    file names."""
    captures: Counter[str] = Counter()
    workers = set()
    for path in out.glob("warc/**/*.warc.gz"):
        workers.add(path.name.split("-")[-2])
        with path.open("rb") as handle:
            for record in ArchiveIterator(handle):
                if record.rec_type == "response":
                    uri = record.rec_headers.get_header("WARC-Target-URI")
                    captures["/" + uri.split("/", 3)[3]] += 1
    captures.pop("/robots.txt", None)
    return captures, workers


def _reports(out: Path) -> tuple[dict[str, dict], list[dict]]:
    workers, fleet = {}, []
    for path in out.glob("reports/**/*.json"):
        report = json.loads(path.read_text())
        if path.name.startswith("fleet-report-"):
            fleet.append(report)
        else:
            assert report["worker"] in path.name
            workers[report["worker"]] = report
    return workers, fleet


def test_three_workers_share_one_frontier(site: FleetSite, db: str, tmp_path: Path) -> None:
    """Two seeders and a worker at once: seeded once, every page fetched once, in total
    the whole site, every article archived once; per-domain concurrency holds fleet-wide."""
    site.reset(delay=0.01)
    out = tmp_path / "archive"
    procs = {name: _start(command, name, site, db, out) for name, command in
             (("w1", "crawl"), ("w2", "crawl"), ("w3", "worker"))}
    _wait(procs)
    fetched = site.fetched()
    assert fetched["/"] == 1  # two seeders, one seeding
    assert set(fetched) == site.page_paths
    assert {p: n for p, n in fetched.items() if n > 1} == {}
    # politeness: CONCURRENT_REQUESTS_PER_DOMAIN=3 is the fleet's, not each worker's
    assert 1 <= site.max_in_flight <= 3

    captures, warc_workers = _captures(out)
    assert set(captures) == site.page_paths
    assert max(captures.values()) == 1
    articles = read_articles(out)
    paths = Counter("/" + a["url"].split("/", 3)[3] for a in articles)
    assert set(paths) == set(site.articles)
    assert max(paths.values()) == 1

    reports, fleet = _reports(out)
    assert set(reports) == {"w1", "w2", "w3"}
    assert all(r["exit_code"] == 0 for r in reports.values())
    # each worker did a share of the work, and says so in its file names
    assert all(r["pages_fetched"] > 0 for r in reports.values())
    assert warc_workers == {"w1", "w2", "w3"}
    assert {p.name.split("-")[1] for p in out.glob("articles/**/*.jsonl.gz")} == \
        {"w1", "w2", "w3"}
    assert len(fleet) == 1
    merged = fleet[0]
    assert merged["worker_count"] == 3
    assert merged["pages_fetched"] == sum(r["pages_fetched"] for r in reports.values())
    assert merged["sites"]["127.0.0.1"]["articles_new"] == len(site.articles)
    assert merged["exit_code"] == 0

    # the run is over and clean: nothing queued, leased or pending; the next seeder starts
    # a new run; the seen-set and the reports expire
    client = redis.Redis.from_url(db)
    prefix = "newsarchive:127.0.0.1"
    assert client.get(f"{prefix}:run") is None
    run = client.get(f"{prefix}:last-run").decode()
    assert client.zcard(f"{prefix}:{run}:queue") == 0
    assert client.keys(f"{prefix}:{run}:lease:*") == []
    assert client.keys(f"{prefix}:{run}:done:*") == []
    assert client.hlen(f"{prefix}:{run}:workers") == 0
    assert client.scard(f"{prefix}:{run}:seen") == len(site.page_paths) + 1  # + robots.txt
    assert 0 < client.pttl(f"{prefix}:{run}:seen") <= 7 * 24 * 3600 * 1000

    # the merged report stays readable from Redis
    shown = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "fleet-report", "--redis", db, "--crawl",
         "127.0.0.1"], cwd=REPO, env=cli_env(), capture_output=True, text=True, check=False)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["pages_fetched"] == merged["pages_fetched"]


def test_killed_worker_loses_nothing(site: FleetSite, db: str, tmp_path: Path) -> None:
    """SIGKILL one of three workers mid-crawl and stop another (SIGTERM): the last one
    fetches again what the killed one held or had not published, the stopped one hands
    back what it held and publishes what it did, and the archive still has the whole site,
    every article once."""
    site.reset(delay=0.03)
    out = tmp_path / "archive"
    procs = {name: _start(command, name, site, db, out) for name, command in
             (("w1", "crawl"), ("w2", "worker"), ("w3", "worker"))}
    deadline = time.monotonic() + 60
    while sum(site.fetched().values()) < 150:
        assert time.monotonic() < deadline, "the crawl did not get going"
        time.sleep(0.05)
    fetched_before = sum(site.fetched().values())
    procs["w2"].send_signal(signal.SIGKILL)
    procs["w3"].send_signal(signal.SIGTERM)
    codes = _wait(procs, allowed=(0, 1, -signal.SIGKILL))
    assert codes == {"w1": 0, "w2": -signal.SIGKILL, "w3": 1}  # 1: an interrupted run
    assert fetched_before < len(site.page_paths)  # killed mid-crawl

    fetched = site.fetched()
    assert set(fetched) == site.page_paths
    again = sum(n - 1 for n in fetched.values())
    assert 0 < again <= fetched_before  # only what the dead worker had is fetched again

    captures, warc_workers = _captures(out)
    assert set(captures) == site.page_paths
    assert warc_workers == {"w1", "w3"}  # the dead worker published nothing, w3 did
    articles = read_articles(out)
    paths = Counter("/" + a["url"].split("/", 3)[3] for a in articles)
    assert set(paths) == set(site.articles)
    assert max(paths.values()) == 1
    reports, fleet = _reports(out)
    assert set(reports) == {"w1", "w3"}
    assert reports["w3"]["finish_reason"] == "shutdown"
    assert reports["w3"]["pages_fetched"] > 0
    assert len(fleet) == 1 and fleet[0]["worker_count"] == 2
    assert fleet[0]["sites"]["127.0.0.1"]["articles_new"] == len(site.articles)


def test_one_seeder_per_run(db: str) -> None:
    """Eight would-be seeders at once: one seeds, the others join its run."""
    results: list[tuple[str, bool]] = []
    barrier = threading.Barrier(8)

    def seed(n: int) -> None:
        barrier.wait()
        joined = join_run(db, "newsarchive:race", f"s{n}", seed=True, worker_timeout=5,
                          expire=60)
        assert joined is not None
        run, seeder = joined
        results.append((run.keys.run, seeder))
        run.close()

    threads = [threading.Thread(target=seed, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert len({run for run, _ in results}) == 1
    assert sum(seeder for _, seeder in results) == 1


def test_worker_without_a_run_waits_then_exits(db: str, tmp_path: Path) -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "worker", "http://127.0.0.1:9/", "--redis", db,
         "-o", str(tmp_path / "a"), "-s", "DISTRIBUTED_JOIN_WAIT=1"],
        cwd=REPO, env=cli_env(), capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "no distributed crawl to join" in done.stderr
    assert time.monotonic() - started >= 1


def test_bad_redis_url_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "worker", "http://127.0.0.1:9/", "--redis",
         "localhost:6379", "-o", str(tmp_path / "a")],
        cwd=REPO, env=cli_env(), capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 2
    assert "expected a Redis URL" in done.stderr


def test_unreachable_redis_is_a_storage_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "crawl", "http://127.0.0.1:9/", "--redis",
         f"redis://:s3cr3t-pw@127.0.0.1:{port}/0", "-o", str(tmp_path / "a")],
        cwd=REPO, env=cli_env(), capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 3
    assert "can't use Redis at redis://***@127.0.0.1" in done.stderr
    assert "s3cr3t-pw" not in done.stderr + done.stdout


def _politeness_crawler(db: str, **settings: object) -> Any:
    crawler = get_crawler(settings_dict={
        "DISTRIBUTED_ENABLED": True, "DISTRIBUTED_REDIS_URL": db,
        "DISTRIBUTED_PREFIX": "newsarchive:polite", "DISTRIBUTED_RUN_ID": "r1",
        "DISTRIBUTED_WORKER_ID": "w", "DISTRIBUTED_POLL_INTERVAL": 0.02,
        "DISTRIBUTED_POLITENESS": True, **settings})
    return FleetPolitenessMiddleware.from_crawler(crawler)


async def _hammer(middlewares: list[Any], requests: int, hold: float
                  ) -> tuple[int, list[float]]:
    """Every middleware (a worker) sends ``requests`` requests at once to one domain;
    the most in flight together, and when each got its slot."""
    state = {"now": 0, "max": 0}
    starts: list[float] = []

    async def one(middleware: Any, n: int) -> None:
        request = Request(f"http://news.example/{n}")
        await middleware.process_request(request)
        starts.append(time.monotonic())
        state["now"] += 1
        state["max"] = max(state["max"], state["now"])
        await asyncio.sleep(hold)
        state["now"] -= 1
        middleware.process_response(request, Response(request.url))

    await asyncio.gather(*(one(m, n) for m in middlewares for n in range(requests)))
    return state["max"], sorted(starts)


@deferred_f_from_coro_f
async def test_politeness_slots_are_fleet_wide(db: str) -> None:
    """Three workers, four requests each at once, CONCURRENT_REQUESTS_PER_DOMAIN=2: never
    more than two in flight for the domain, and two do run together."""
    workers = [_politeness_crawler(db, CONCURRENT_REQUESTS_PER_DOMAIN=2, DOWNLOAD_DELAY=0)
               for _ in range(3)]
    most, starts = await _hammer(workers, 4, hold=0.05)
    assert most == 2
    assert len(starts) == 12
    held = redis.Redis.from_url(db).zcard("newsarchive:polite:domain:news.example:slots")
    assert held == 0  # every slot given back


@deferred_f_from_coro_f
async def test_politeness_delay_is_fleet_wide(db: str) -> None:
    """DOWNLOAD_DELAY=0.1 across three workers: starts at least 0.1 s apart."""
    workers = [_politeness_crawler(db, CONCURRENT_REQUESTS_PER_DOMAIN=8, DOWNLOAD_DELAY=0.1)
               for _ in range(3)]
    _, starts = await _hammer(workers, 2, hold=0.0)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(gaps) == 5
    assert min(gaps) >= 0.09  # Redis's clock in ms, ours in ns: a millisecond of slack


@pytest.mark.faults
def test_workers_stop_when_redis_goes_away(site: FleetSite, tmp_path: Path) -> None:
    """The fleet's Redis dies mid-crawl: the workers give up after
    DISTRIBUTED_WORKER_TIMEOUT (status 1) rather than hang, and keep what they published."""
    (tmp_path / "redis").mkdir()
    server = RedisServer(tmp_path / "redis")
    try:
        site.reset(delay=0.05)
        out = tmp_path / "archive"
        procs = {name: _start(command, name, site, server.url, out) for name, command in
                 (("w1", "crawl"), ("w2", "worker"))}
        deadline = time.monotonic() + 60
        while sum(site.fetched().values()) < 60:
            assert time.monotonic() < deadline, "the crawl did not get going"
            time.sleep(0.05)
    finally:
        server.stop()
    stopped = time.monotonic()
    outputs = {}
    for name, proc in procs.items():
        try:
            outputs[name], _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail(f"worker {name} hangs without Redis:\n{proc.communicate()[0][-3000:]}")
    assert time.monotonic() - stopped < 45
    for name, proc in procs.items():
        assert proc.returncode == 1, outputs[name][-3000:]
        assert "fleet Redis unavailable" in outputs[name]
