"""Scheduled crawls: incremental runs, versions, locks, reports, health, kills."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crawler.sample_site import SampleSiteServer
from tests.conftest import REPO, cli_env, read_articles, run_cli
from tests.warc_tools import read_records

BODY = ("The harbour commission met on {day} to discuss the ferry timetable, the new "
        "landing stage and the price of a season ticket for island residents. ") * 12


def article(title: str, published: datetime, extra: str = "") -> str:
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta property="og:type" content="article">
<meta property="article:published_time" content="{published.isoformat()}">
</head><body><article><h1>{title}</h1><p>{BODY.format(day=title)}</p>{extra}</article>
</body></html>"""


def rss(items: list[tuple[str, str]]) -> str:
    entries = "".join(f"<item><title>{t}</title><link>__BASE__{p}</link></item>"
                      for p, t in items)
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour News</title>'
            f"{entries}</channel></rss>")


def sitemap(paths: list[str]) -> str:
    urls = "".join(f"<url><loc>__BASE__{p}</loc></url>" for p in paths)
    return f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'


@pytest.fixture
def changing_site(tmp_path: Path) -> dict[str, Any]:
    root = tmp_path / "site"
    (root / "news").mkdir(parents=True)
    # published just under an hour ago: with a 1h/7d schedule the first update check
    # falls due some seconds after the first run's fetches
    published = datetime.now(UTC) - timedelta(minutes=60) + timedelta(seconds=20)
    (root / "news" / "a1.html").write_text(article("Ferry timetable", published))
    (root / "news" / "a2.html").write_text(article("Landing stage", published))
    (root / "feed.xml").write_text(rss([("/news/a1.html", "a1"), ("/news/a2.html", "a2")]))
    (root / "sitemap.xml").write_text(sitemap(["/news/a1.html", "/news/a2.html"]))
    (root / "robots.txt").write_text("User-agent: *\nDisallow:\n"
                                     "Sitemap: __BASE__/sitemap.xml\n")
    (root / "index.html").write_text(
        '<html><head><link rel="alternate" type="application/rss+xml" href="/feed.xml">'
        "</head><body><p>Harbour News</p></body></html>")
    return {"root": root, "published": published}


def crawl(server: SampleSiteServer, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("crawl", server.base_url + "/", "-o", str(out),
                   "-s", "STATE_UPDATE_SCHEDULE=1h,7d", *args)


def report_of(out: Path) -> dict[str, Any]:
    reports = sorted(out.glob("reports/**/*.json"))
    assert reports
    return json.loads(reports[-1].read_text())


def test_second_run_fetches_only_new_and_due(changing_site: dict[str, Any],
                                             tmp_path: Path) -> None:
    root, out = changing_site["root"], tmp_path / "out"
    with SampleSiteServer(root=root) as server:
        first = crawl(server, out)
        assert first.returncode == 0, first.stderr
        run1 = {r["url"].removeprefix(server.base_url): r for r in read_articles(out)}
        assert set(run1) == {"/news/a1.html", "/news/a2.html"}
        assert {r["version"] for r in run1.values()} == {1}
        assert report_of(out)["sites"]["127.0.0.1"]["articles_new"] == 2

        # between the runs: a1 is edited, a3 appears in the sitemap only; the feed and a2
        # stay the same; a1 and a2 fall due for their first update check
        (root / "news" / "a1.html").write_text(article(
            "Ferry timetable", changing_site["published"],
            "<p>Update: the commission postponed the vote on season tickets to March.</p>"))
        (root / "news" / "a3.html").write_text(article("Season tickets",
                                                       datetime.now(UTC)))
        (root / "sitemap.xml").write_text(sitemap(["/news/a1.html", "/news/a2.html",
                                                   "/news/a3.html"]))
        time.sleep(max(0.0, (changing_site["published"] + timedelta(hours=1)
                             - datetime.now(UTC)).total_seconds()) + 1)
        before = dict(server.hits)
        second = crawl(server, out)
        assert second.returncode == 0, second.stderr
        fetched = {k: v - before.get(k, 0) for k, v in server.hits.items()
                   if v > before.get(k, 0)}

    assert fetched.get("/feed.xml") == 1  # asked, answered 304
    assert fetched.get("/news/a3.html") == 1
    assert fetched.get("/news/a1.html") == 1 and fetched.get("/news/a2.html") == 1  # due
    records = read_articles(out)
    by_url: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_url.setdefault(record["url"].removeprefix(server.base_url), []).append(record)
    assert sorted(r["version"] for r in by_url["/news/a1.html"]) == [1, 2]
    new_a1 = next(r for r in by_url["/news/a1.html"] if r["version"] == 2)
    assert new_a1["previous"] == run1["/news/a1.html"]["warc_record_id"]
    assert "postponed the vote" in new_a1["text"]
    assert len(by_url["/news/a2.html"]) == 1  # unchanged: no new version
    assert [r["version"] for r in by_url["/news/a3.html"]] == [1]

    site = report_of(out)["sites"]["127.0.0.1"]
    assert (site["articles_new"], site["articles_updated"], site["articles_unchanged"]) == (
        1, 1, 1)

    captures = sorted((r for p in out.glob("warc/**/*.warc.gz") for r in read_records(p)
                       if r.rec_type in ("response", "revisit")),
                      key=lambda r: r.get("WARC-Date") or "")
    feed = [r for r in captures if (r.get("WARC-Target-URI") or "").endswith("/feed.xml")]
    assert [r.rec_type for r in feed] == ["response", "revisit"]
    assert (feed[1].get("WARC-Profile") or "").endswith("/server-not-modified")
    a2 = [r for r in captures if (r.get("WARC-Target-URI") or "").endswith("/news/a2.html")]
    assert [r.rec_type for r in a2] == ["response", "revisit"]  # identical payload
    assert a2[1].get("WARC-Refers-To") == a2[0].get("WARC-Record-ID")


def test_full_ignores_the_state(changing_site: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "out"
    with SampleSiteServer(root=changing_site["root"]) as server:
        assert crawl(server, out).returncode == 0
        before = dict(server.hits)
        again = crawl(server, out)
        assert again.returncode == 0
        assert server.hits.get("/news/a2.html", 0) == before.get("/news/a2.html", 0)
        full = crawl(server, out, "--full")
        assert full.returncode == 0, full.stderr
        assert server.hits["/news/a2.html"] == before["/news/a2.html"] + 1
        assert server.hits["/news/a1.html"] == before["/news/a1.html"] + 1


def _slow_crawl(base_url: str, out: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "crawler.cli", "crawl", base_url + "/", "-o", str(out),
             "-s", "DOWNLOAD_DELAY=0.3", "-s", "AUTOTHROTTLE_ENABLED=False",
             "-s", "ARTICLES_MAX_SIZE=1"],
            cwd=REPO, env=cli_env(), stdout=handle, stderr=subprocess.STDOUT)


def _wait_for(predicate: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_second_run_exits_with_the_lock_code(sample_site: Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = _slow_crawl(sample_site.base_url, out, tmp_path / "first.log")
    try:
        _wait_for(lambda: (out / ".newsarchive" / "run.lock").exists()
                  and (out / ".newsarchive" / "run.lock").read_text())
        started = time.monotonic()
        second = run_cli("crawl", sample_site.base_url + "/", "-o", str(out))
        assert second.returncode == 5, second.stderr
        assert "another run holds" in second.stderr
        assert f"pid {first.pid}" in second.stderr
        assert time.monotonic() - started < 20
    finally:
        first.kill()
        first.communicate()
    # the dead run's lock is taken over
    third = run_cli("crawl", sample_site.base_url + "/", "-o", str(out), "--max-articles", "1")
    assert third.returncode == 0, third.stderr


def test_killed_run_then_rerun_archives_each_article_once(sample_site: Any,
                                                         manifest: dict[str, Any],
                                                         tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = _slow_crawl(sample_site.base_url, out, tmp_path / "killed.log")
    try:  # kill it once some articles are published (each file holds one article)
        _wait_for(lambda: len(list(out.glob("articles/**/*.jsonl.gz"))) >= 5)
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate()
    published_before = len(read_articles(out))
    assert 5 <= published_before < len(manifest["articles"])
    rerun = run_cli("crawl", sample_site.base_url + "/", "-o", str(out))
    assert rerun.returncode == 0, rerun.stderr
    urls = [r["url"].removeprefix(sample_site.base_url) for r in read_articles(out)]
    assert sorted(urls) == sorted(a["path"] for a in manifest["articles"])  # once each


def test_sigterm_finishes_cleanly_with_a_report(sample_site: Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = _slow_crawl(sample_site.base_url, out, tmp_path / "term.log")
    try:
        _wait_for(lambda: len(list(out.glob("articles/**/*.jsonl.gz"))) >= 2)
        run.send_signal(signal.SIGTERM)
        run.wait(timeout=60)
    finally:
        run.kill()
        run.communicate()
    log = (tmp_path / "term.log").read_text()
    assert run.returncode == 1, log[-2000:]
    assert "report:" in log
    report = report_of(out)
    assert report["finish_reason"] == "shutdown"
    assert report["exit_code"] == 1
    assert not [p for p in out.rglob("*.open") if "articles" in p.parts]
    assert read_articles(out)


def test_health_threshold_gives_the_warning_code(sample_site: Any, tmp_path: Path) -> None:
    config = tmp_path / "sites.toml"
    config.write_text(f"""
[health]
min_articles = 100
max_blocked = 0

[[sites]]
name = "gazette"
feeds = ["{sample_site.base_url}/feeds/rss.xml"]
""")
    out = tmp_path / "out"
    result = run_cli("crawl", "--config", str(config), "-o", str(out))
    assert result.returncode == 6, result.stderr
    assert "gazette: 15 new or updated articles (min_articles = 100)" in result.stderr
    report = report_of(out)
    assert report["exit_code"] == 6
    assert report["sites"]["gazette"]["status"] == "warning"
    assert report["sites"]["gazette"]["articles_new"] == 15


def test_a_failed_site_gives_its_code(sample_site: Any, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = tmp_path / "sites.toml"
    config.write_text(f"""
[[sites]]
name = "gazette"
feeds = ["{sample_site.base_url}/feeds/atom.xml"]

[[sites]]
name = "gone"
start_urls = ["http://localhost:{port}/"]
""")
    out = tmp_path / "out"
    result = run_cli("crawl", "--config", str(config), "-o", str(out), "-s", "RETRY_TIMES=0")
    assert result.returncode == 4, result.stderr
    report = report_of(out)
    assert report["failed_sites"] == ["gone"]
    assert report["sites"]["gone"]["fetch_errors"] >= 1
    assert report["sites"]["gazette"]["status"] == "ok"
