"""Malformed feeds, sitemaps and pages: the crawl goes on and says what was wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import read_articles, run_cli


@pytest.fixture(scope="module")
def broken_crawl(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from crawler.sample_site import SampleSiteServer
    from tests.conftest import SITES

    out = tmp_path_factory.mktemp("broken")
    with SampleSiteServer(root=SITES / "broken") as server:
        result = run_cli("crawl", server.base_url + "/", "-o", str(out), "-v")
        hits = dict(server.hits)
    return {"result": result, "records": read_articles(out), "hits": hits,
            "base": server.base_url, "out": out}


def test_crawl_finishes_and_archives_the_good_articles(broken_crawl: dict[str, Any]) -> None:
    result = broken_crawl["result"]
    assert result.returncode == 0, result.stderr
    urls = {r["url"].removeprefix(broken_crawl["base"]) for r in broken_crawl["records"]}
    assert {"/news/good-story.html", "/news/unclosed.html", "/news/latin1-story.html"} <= urls


def test_each_problem_is_named_in_the_log(broken_crawl: dict[str, Any]) -> None:
    log = broken_crawl["result"].stderr
    base = broken_crawl["base"]
    assert f"bad feed: feed {base}/feed-html.xml: root element is <html>" in log
    # a truncated feed gives what it holds and is still named
    assert f"bad feed: feed {base}/feed-truncated.xml: 1 XML error(s)" in log
    assert f"bad sitemap: sitemap {base}/sitemap-badgzip.xml.gz: bad gzip data" in log
    assert "HTTP 404" in log and "/news/missing-story.html" in log


def test_summary_counts_the_problems(broken_crawl: dict[str, Any]) -> None:
    stdout = broken_crawl["result"].stderr
    assert "4xx: 1" in stdout
    assert "feed errors: 2" in stdout  # the HTML one and the truncated one
    assert "sitemap errors: 1" in stdout


def test_xml_bomb_is_not_expanded_and_nothing_is_fetched_from_it(
        broken_crawl: dict[str, Any]) -> None:
    assert not [k for k in broken_crawl["hits"] if "lollol" in k or "passwd" in k]


def test_truncated_feed_and_sitemap_still_yield_their_complete_entries(
        broken_crawl: dict[str, Any]) -> None:
    hits = broken_crawl["hits"]
    assert hits.get("/feed-truncated.xml")
    assert hits.get("/news/good-story.html") == 1  # listed three times, fetched once


def test_latin1_page_is_decoded(broken_crawl: dict[str, Any]) -> None:
    (record,) = [r for r in broken_crawl["records"] if "latin1" in r["url"]]
    assert "Hélène Le Goff" in record["text"]
    assert record["language"] == "fr"


def test_no_half_written_files(broken_crawl: dict[str, Any]) -> None:
    out: Path = broken_crawl["out"]
    assert not list(out.glob("**/*.open"))
