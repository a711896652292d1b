"""The fleet report: worker reports merged, and a worker judged on its share only."""

from __future__ import annotations

from typing import Any

from crawler import exitcodes
from crawler.distributed.report import merge_reports, relax_worker_report
from crawler.report import HealthConfig, build_report, judge


def _worker(pages: dict[str, int], articles: int = 0, code: int = 0) -> dict[str, Any]:
    stats = {"finish_reason": "finished", "response_received_count": sum(pages.values()),
             "warc/captures": sum(pages.values()), "storage/published": 2,
             "report/sites": {name: {"pages_fetched": n, "articles_new": articles}
                              for name, n in pages.items()}}
    report = build_report(stats, sorted(pages), HealthConfig(), [], "news", "out")
    report["exit_code"] = code
    return report


def test_a_worker_that_fetched_nothing_of_a_site_does_not_fail_it() -> None:
    report = _worker({"a": 10, "b": 0}, articles=3)
    assert report["failed_sites"] == ["b"]  # as a plain run would judge it
    relax_worker_report(report)
    assert report["failed_sites"] == []
    assert report["sites"]["b"]["status"] == "idle"
    assert report["problems"] == []
    stats = {"finish_reason": "finished", "response_received_count": 10}
    assert judge(report, stats) == exitcodes.OK


def test_a_site_that_failed_for_the_fleet_stays_failed() -> None:
    report = _worker({"a": 10, "b": 0})
    report["sites"]["b"]["fetch_errors"] = 4  # it tried and could not
    relax_worker_report(report)
    assert report["failed_sites"] == ["b"]


def test_merge_sums_workers_and_judges_the_fleet() -> None:
    merged = merge_reports({"w1": _worker({"a": 10, "b": 0}, articles=4),
                            "w2": _worker({"a": 5, "b": 7}, articles=2)}, "run1")
    assert merged["worker_count"] == 2
    assert merged["pages_fetched"] == 22
    assert merged["warc_captures"] == 22
    assert merged["sites"]["a"]["pages_fetched"] == 15
    assert merged["sites"]["b"]["pages_fetched"] == 7
    assert merged["sites"]["a"]["articles_new"] == 6
    assert merged["failed_sites"] == []
    assert merged["exit_code"] == exitcodes.OK
    assert set(merged["workers"]) == {"w1", "w2"}
    assert merged["problems"] == []  # w1 fetched nothing of b, w2 did


def test_merge_fails_a_site_no_worker_could_fetch() -> None:
    merged = merge_reports({"w1": _worker({"a": 10, "b": 0}),
                            "w2": _worker({"a": 5, "b": 0})}, "run1")
    assert merged["failed_sites"] == ["b"]
    assert merged["exit_code"] == exitcodes.SITES_FAILED
    assert merged["problems"] == ["b: nothing could be fetched"]
    stored = merge_reports({"w1": _worker({"a": 3}, code=exitcodes.STORAGE_ERROR)}, "r")
    assert stored["exit_code"] == exitcodes.STORAGE_ERROR
