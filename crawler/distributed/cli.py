"""The command line's side of a distributed crawl: join, judge a worker, finish."""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from crawler import exitcodes
from crawler.distributed.fleet import FleetRun, join_run
from crawler.distributed.report import fleet_reports, merge_reports, relax_worker_report
from crawler.distributed.settings import fleet_settings
from pipelines.paths import safe_component
from pipelines.storage.uri import redact_uri

__all__ = ["finish_fleet", "join_fleet", "judge_worker", "print_fleet_report"]


def _worker_id(args: argparse.Namespace, settings: Any) -> str:
    raw = (getattr(args, "worker_id", None) or settings.get("DISTRIBUTED_WORKER_ID")
           or os.environ.get("NEWSARCHIVE_WORKER_ID") or socket.gethostname().split(".")[0])
    return safe_component(str(raw), 40)


def _prefix(settings: Any, crawl: str) -> str:
    return str(settings.get("DISTRIBUTED_PREFIX") or f"newsarchive:{safe_component(crawl)}")


def join_fleet(args: argparse.Namespace, settings: Any, state_dir: Path
               ) -> tuple[int, FleetRun | None, Path]:
    """Join (or, for ``crawl``, seed) the run; the settings become a fleet worker's.
    ``(status, run or None, the worker's own state directory)``."""
    import redis  # noqa: PLC0415

    url = args.redis
    worker = _worker_id(args, settings)
    prefix = _prefix(settings, str(settings.get("ARCHIVE_CRAWL_NAME") or "crawl"))
    seed = args.command == "crawl"
    timing = {"worker_timeout": settings.getfloat("DISTRIBUTED_WORKER_TIMEOUT"),
              "expire": settings.getfloat("DISTRIBUTED_EXPIRE")}
    deadline = time.monotonic() + settings.getfloat("DISTRIBUTED_JOIN_WAIT")
    try:
        while True:
            joined = join_run(url, prefix, worker, seed=seed, **timing)
            if joined is not None or time.monotonic() >= deadline:
                break
            time.sleep(min(settings.getfloat("DISTRIBUTED_POLL_INTERVAL"), 1.0))
    except redis.RedisError as exc:
        print(f"newsarchive: storage error: can't use Redis at {redact_uri(url)}: {exc}",
              file=sys.stderr)
        return exitcodes.STORAGE_ERROR, None, state_dir
    if joined is None:
        print(f"newsarchive: no distributed crawl to join under {prefix!r} at "
              f"{redact_uri(url)} "
              f"(waited {settings.getfloat('DISTRIBUTED_JOIN_WAIT'):g} s)", file=sys.stderr)
        return exitcodes.OK, None, state_dir
    run, seeder = joined
    overrides = fleet_settings(url, run, seeder=seeder)
    if settings.get("STATE_URL"):  # the operator's own shared state store wins
        overrides.pop("STATE_URL")
    own_state = state_dir / "workers" / worker
    overrides["ARCHIVE_STATE_DIR"] = str(own_state)
    settings.setdict(overrides, priority="cmdline")
    return exitcodes.OK, run, own_state


def judge_worker(report: dict[str, Any], stats: dict[str, Any], fleet: FleetRun) -> int:
    """A worker's exit status: as a run's, but fetching nothing of a site (or nothing at
    all, the others having done it) is no failure of this worker."""
    from crawler.report import judge  # noqa: PLC0415

    report["worker"] = fleet.worker
    report["fleet_run"] = fleet.keys.run
    relax_worker_report(report)
    stats = dict(stats)
    if stats.get("finish_reason") == "finished":
        stats["response_received_count"] = max(1, stats.get("response_received_count") or 0)
    return judge(report, stats)


def finish_fleet(fleet: FleetRun, report: dict[str, Any], store: Any,
                 state_dir: Path) -> str | None:
    """Hand this worker's report to the fleet; the last worker out publishes the fleet
    report (``reports/<crawl>/…/fleet-report-<ts>-<worker>-….json``)."""
    import redis  # noqa: PLC0415

    from crawler.run import publish_report  # noqa: PLC0415

    try:
        fleet.store_report(report)
        if not fleet.finish():
            return None
        merged = merge_reports(fleet_reports(fleet.client, fleet.keys.prefix,
                                             fleet.keys.run), fleet.keys.run)
        fleet.client.set(fleet.keys.key("fleet-report"), json.dumps(merged),
                         px=fleet.expire_ms)
    except redis.RedisError as exc:  # this worker's own report is published already
        print(f"newsarchive: can't hand this worker's report to the fleet: {exc}",
              file=sys.stderr)
        return None
    return publish_report({**merged, "worker": fleet.worker}, store, state_dir,
                          kind="fleet-report")


def print_fleet_report(args: argparse.Namespace) -> int:
    import redis  # noqa: PLC0415

    from crawler.run import project_settings  # noqa: PLC0415

    settings = project_settings(dict(args.settings))
    crawl = Path(args.config).stem if args.config else args.crawl
    prefix = _prefix(settings, crawl)
    try:
        client: Any = redis.Redis.from_url(args.redis)
        run = args.run
        if run is None:
            value = client.get(f"{prefix}:run") or client.get(f"{prefix}:last-run")
            run = value.decode() if value else None
        reports = fleet_reports(client, prefix, run) if run else {}
    except redis.RedisError as exc:
        print(f"newsarchive: storage error: can't use Redis at {redact_uri(args.redis)}: "
              f"{exc}", file=sys.stderr)
        return exitcodes.STORAGE_ERROR
    if not reports:
        print(f"newsarchive: no worker reports under {prefix!r}"
              + (f" for run {run}" if run else ""), file=sys.stderr)
        return exitcodes.FAILED
    print(json.dumps(merge_reports(reports, run), indent=2, ensure_ascii=False))
    return exitcodes.OK
