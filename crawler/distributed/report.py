"""The fleet report: the run reports of every worker of a run, merged."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from crawler import exitcodes

__all__ = ["fleet_reports", "merge_reports", "relax_worker_report"]

_SUMMED = ("pages_fetched", "bytes_archived", "warc_captures", "files_published",
           "pending_uploads")
_SITE_SUMMED = ("articles_new", "articles_updated", "articles_unchanged", "pages_fetched",
                "bytes_fetched", "fetch_errors", "robots_disallowed", "blocked",
                "missing_date", "empty_text")


def merge_reports(reports: dict[str, dict[str, Any]], run: str) -> dict[str, Any]:
    """One report for the fleet: totals and per-site sums over ``reports`` (worker ->
    its run report), each worker's outcome, and the worst exit status."""
    totals: Counter[str] = Counter()
    sites: dict[str, dict[str, Any]] = {}
    problems: list[tuple[str, str]] = []
    workers = {}
    for worker, report in sorted(reports.items()):
        for key in _SUMMED:
            totals[key] += int(report.get(key) or 0)
        for name, site in (report.get("sites") or {}).items():
            merged = sites.setdefault(name, {"http_errors": Counter(), "workers": 0})
            merged["workers"] += 1
            for key in _SITE_SUMMED:
                merged[key] = merged.get(key, 0) + int(site.get(key) or 0)
            merged["http_errors"].update(site.get("http_errors") or {})
        problems += [(worker, p) for p in report.get("problems") or []]
        workers[worker] = {k: report.get(k) for k in (
            "exit_code", "exit_status", "finish_reason", "started", "finished",
            "duration_seconds", "pages_fetched", "warc_captures", "files_published")}
    for site in sites.values():
        site["http_errors"] = dict(site["http_errors"])
        fetched_ok = site.get("pages_fetched", 0) - sum(
            v for k, v in site["http_errors"].items() if k[:1] in "45")
        site["status"] = "ok" if fetched_ok > 0 else "failed"
    # a worker's "nothing could be fetched" is the fleet's only if no worker could
    nothing = " nothing could be fetched"
    problems_text = [f"{name}:{nothing}" for name, site in sorted(sites.items())
                     if site["status"] == "failed"]
    problems_text += [f"{worker}: {p}" for worker, p in problems
                      if not p.endswith(":" + nothing)]
    codes = [int(r.get("exit_code") or 0) for r in reports.values()]
    first = next(iter(reports.values()), {})
    return {
        "fleet_run": run,
        "crawl": first.get("crawl"),
        "output": first.get("output"),
        "workers": workers,
        "worker_count": len(reports),
        "started": min((str(r.get("started")) for r in reports.values()
                        if r.get("started")), default=None),
        "finished": max((str(r.get("finished")) for r in reports.values()
                         if r.get("finished")), default=None),
        **{k: totals[k] for k in _SUMMED},
        "sites": sites,
        "failed_sites": sorted(n for n, s in sites.items() if s["status"] == "failed"),
        "problems": problems_text,
        "exit_code": _fleet_status(codes, sites, problems_text),
    }


def _fleet_status(codes: list[int], sites: dict[str, dict[str, Any]],
                  problems: list[str]) -> int:
    if exitcodes.STORAGE_ERROR in codes:
        return exitcodes.STORAGE_ERROR
    failed = [n for n, s in sites.items() if s["status"] == "failed"]
    if not sites or len(failed) == len(sites) or (exitcodes.OK not in codes and \
            exitcodes.WARNINGS not in codes):
        return exitcodes.FAILED
    if failed:
        return exitcodes.SITES_FAILED
    return exitcodes.WARNINGS if problems else exitcodes.OK


def relax_worker_report(report: dict[str, Any]) -> None:
    """A worker fetches only its share: a site it fetched nothing of is not failed (the
    fleet report judges the fleet)."""
    for name, site in report["sites"].items():
        if site["status"] == "failed" and not site["pages_fetched"] and \
                not site["fetch_errors"]:
            site["status"] = "idle"
            site["problems"] = [p for p in site["problems"]
                                if p != f"{name}: nothing could be fetched"]
    report["failed_sites"] = [n for n in report["failed_sites"]
                              if report["sites"][n]["status"] == "failed"]
    report["problems"] = [p for s in report["sites"].values() for p in s["problems"]]


def fleet_reports(client: Any, prefix: str, run: str) -> dict[str, dict[str, Any]]:
    raw = client.hgetall(f"{prefix}:{run}:reports")
    return {k.decode(): json.loads(v) for k, v in raw.items()}
