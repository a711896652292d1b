"""End-to-end crawls of the bundled sample site through the ``newsarchive`` CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import read_articles, run_cli

NON_ARTICLE_HINTS = ("/tag/", "/author/", "/gallery/", "/search/", "/about/")


def paths(records: list[dict[str, Any]], base: str) -> list[str]:
    return sorted(r["url"].removeprefix(base) for r in records)


def expected(manifest: dict[str, Any], *sources: str) -> list[str]:
    return sorted(a["path"] for a in manifest["articles"]
                  if set(a["sources"]) & set(sources))


@pytest.fixture(scope="module")
def full_crawl(sample_site: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("full")
    before = dict(sample_site.hits)
    result = run_cli("crawl", sample_site.base_url + "/", "-o", str(out), "--text-files")
    hits = {k: v - before.get(k, 0) for k, v in sample_site.hits.items()}
    return {"result": result, "out": out, "records": read_articles(out), "hits": hits}


def test_full_crawl_archives_every_article_exactly_once(
        full_crawl: dict[str, Any], sample_site: Any, manifest: dict[str, Any]) -> None:
    result = full_crawl["result"]
    assert result.returncode == 0, result.stderr
    got = paths(full_crawl["records"], sample_site.base_url)
    assert got == sorted(a["path"] for a in manifest["articles"])
    assert len(got) == len(set(got))


def test_summary_names_counts_and_location(full_crawl: dict[str, Any],
                                           manifest: dict[str, Any]) -> None:
    stdout = full_crawl["result"].stderr
    assert f"articles: {len(manifest['articles'])}" in stdout
    assert "pages fetched:" in stdout
    assert str(full_crawl["out"].resolve()) in stdout


def test_non_articles_are_followed_not_emitted(full_crawl: dict[str, Any],
                                               sample_site: Any,
                                               manifest: dict[str, Any]) -> None:
    got = set(paths(full_crawl["records"], sample_site.base_url))
    for path in manifest["non_articles"]:
        assert path not in got
    for record in full_crawl["records"]:
        assert not any(h in record["url"] for h in NON_ARTICLE_HINTS)
    # section fronts were fetched (they are how link-only articles are found)
    assert any(full_crawl["hits"].get(p) for p in manifest["non_articles"])


def test_robots_disallowed_paths_are_never_requested(full_crawl: dict[str, Any],
                                                     manifest: dict[str, Any]) -> None:
    assert manifest["disallowed"]
    for path in manifest["disallowed"]:
        assert not any(k.startswith(path) for k in full_crawl["hits"]), path


def test_tracking_parameters_are_never_requested(full_crawl: dict[str, Any]) -> None:
    assert not [k for k in full_crawl["hits"] if "utm_" in k]


def test_alternate_url_with_canonical_is_emitted_once(full_crawl: dict[str, Any],
                                                      sample_site: Any,
                                                      manifest: dict[str, Any]) -> None:
    with_alt = [a for a in manifest["articles"] if a.get("alt_paths")]
    assert with_alt
    got = paths(full_crawl["records"], sample_site.base_url)
    for article in with_alt:
        assert got.count(article["path"]) == 1
        for alt in article["alt_paths"]:
            assert alt not in got


def test_records_carry_the_declared_metadata(full_crawl: dict[str, Any], sample_site: Any,
                                             manifest: dict[str, Any]) -> None:
    by_path = {r["url"].removeprefix(sample_site.base_url): r for r in full_crawl["records"]}
    for truth in manifest["articles"]:
        record = by_path[truth["path"]]
        assert record["title"] == truth["title"]
        assert record["authors"] == truth["authors"]
        assert record["published"] == truth["published"]
        assert record["language"].split("-")[0] == truth["language"]
        assert record["canonical_url"] == sample_site.base_url + truth["path"]
        assert record["site"] == "127.0.0.1"
        assert record["status"] == 200
        assert record["fetched_at"]
        assert truth["first_paragraph"][:60] in record["text"]
        assert truth["last_paragraph"][-60:] in record["text"]
        for junk in ("Leave a Comment", "Your email address will not be published",
                     "bloggers like this", "All rights reserved"):
            assert junk not in record["text"], (truth["path"], junk)
        if truth.get("credit"):
            assert truth["credit"] not in record["text"], truth["path"]


def test_text_files_are_written_inside_the_output(full_crawl: dict[str, Any],
                                                  manifest: dict[str, Any]) -> None:
    out: Path = full_crawl["out"]
    files = list(out.glob("text/**/*.txt"))
    assert len(files) == len(manifest["articles"])
    for path in files:
        assert path.resolve().is_relative_to(out.resolve())
    assert not list(out.glob("**/*.open"))


@pytest.mark.parametrize(("seed", "sources"), [
    ("rss", ("rss",)),
    ("atom", ("atom",)),
])
def test_each_feed_alone(sample_site: Any, manifest: dict[str, Any], tmp_path: Path,
                         seed: str, sources: tuple[str, ...]) -> None:
    result = run_cli("crawl", sample_site.base_url + manifest["feeds"][seed], "-o",
                     str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert paths(read_articles(tmp_path), sample_site.base_url) == expected(manifest, *sources)


def test_sitemap_index_alone(sample_site: Any, manifest: dict[str, Any],
                             tmp_path: Path) -> None:
    result = run_cli("crawl", sample_site.base_url + manifest["sitemap_index"], "-o",
                     str(tmp_path))
    assert result.returncode == 0, result.stderr
    got = paths(read_articles(tmp_path), sample_site.base_url)
    assert got == expected(manifest, "sitemap", "news_sitemap")


def test_links_alone_from_the_homepage(sample_site: Any, manifest: dict[str, Any],
                                       tmp_path: Path) -> None:
    result = run_cli("crawl", sample_site.base_url + "/", "-o", str(tmp_path),
                     "-s", "NEWS_ROBOTS_SITEMAPS=False", "-s", "NEWS_FEED_AUTODISCOVERY=False")
    assert result.returncode == 0, result.stderr
    assert paths(read_articles(tmp_path), sample_site.base_url) == expected(manifest, "links")


def test_depth_zero_fetches_only_the_start_page(sample_site: Any, tmp_path: Path) -> None:
    result = run_cli("crawl", sample_site.base_url + "/", "-o", str(tmp_path), "--depth", "0",
                     "-s", "NEWS_ROBOTS_SITEMAPS=False", "-s", "NEWS_FEED_AUTODISCOVERY=False")
    assert result.returncode == 0, result.stderr
    assert read_articles(tmp_path) == []
    assert "articles: 0" in result.stderr


def test_since_filters_sitemap_entries_before_fetching(sample_site: Any,
                                                       manifest: dict[str, Any],
                                                       tmp_path: Path) -> None:
    from crawler.since import parse_timestamp

    cutoff = "2026-11-10"
    limit = parse_timestamp(cutoff)
    assert limit is not None
    before = dict(sample_site.hits)
    result = run_cli("crawl", sample_site.base_url + manifest["sitemap_index"], "-o",
                     str(tmp_path), "--since", cutoff)
    assert result.returncode == 0, result.stderr
    wanted = sorted(a["path"] for a in manifest["articles"]
                    if set(a["sources"]) & {"sitemap", "news_sitemap"}
                    and (parse_timestamp(a["published"]) or limit) >= limit)
    assert wanted
    assert paths(read_articles(tmp_path), sample_site.base_url) == wanted
    old = [a["path"] for a in manifest["articles"]
           if (parse_timestamp(a["published"]) or limit) < limit
           and set(a["sources"]) <= {"sitemap", "news_sitemap"}]
    for path in old:
        assert sample_site.hits.get(path, 0) == before.get(path, 0), path


def test_max_articles(sample_site: Any, tmp_path: Path) -> None:
    result = run_cli("crawl", sample_site.base_url + "/", "-o", str(tmp_path),
                     "--max-articles", "3")
    assert result.returncode == 0, result.stderr
    assert len(read_articles(tmp_path)) == 3


def test_urls_file_fetches_exactly_the_list(sample_site: Any, manifest: dict[str, Any],
                                            tmp_path: Path) -> None:
    chosen = [a["path"] for a in manifest["articles"][:3]]
    listing = "\n".join(["# my list", *(sample_site.base_url + p for p in chosen),
                         sample_site.base_url + "/about/", ""])
    before = dict(sample_site.hits)
    result = run_cli("crawl", "--urls-file", "-", "-o", str(tmp_path), input_text=listing)
    assert result.returncode == 0, result.stderr
    assert paths(read_articles(tmp_path), sample_site.base_url) == sorted(chosen)
    fetched = {k for k, v in sample_site.hits.items() if v > before.get(k, 0)}
    assert fetched <= {*chosen, "/about/", "/robots.txt"}


def test_config_file_crawl_selects_sites(sample_site: Any, manifest: dict[str, Any],
                                         tmp_path: Path) -> None:
    config = tmp_path / "sites.toml"
    config.write_text(f"""
[[sites]]
name = "gazette-rss"
feeds = ["{sample_site.base_url}{manifest['feeds']['rss']}"]

[[sites]]
name = "gazette-atom"
feeds = ["{sample_site.base_url}{manifest['feeds']['atom']}"]
""")
    out = tmp_path / "out"
    result = run_cli("crawl", "--config", str(config), "--site", "gazette-atom", "-o", str(out))
    assert result.returncode == 0, result.stderr
    records = read_articles(out)
    assert {r["site"] for r in records} == {"gazette-atom"}
    assert paths(records, sample_site.base_url) == expected(manifest, "atom")
    assert list(out.glob("articles/gazette-atom/*/*/*/*.jsonl.gz"))


def test_bad_config_fails_before_any_request(sample_site: Any, tmp_path: Path) -> None:
    config = tmp_path / "sites.toml"
    config.write_text(f'[[sites]]\nname = "g"\nstart_urls = ["{sample_site.base_url}/"]\n'
                      'depth = -1\n')
    before = sum(sample_site.hits.values())
    result = run_cli("crawl", "--config", str(config), "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert str(config) in result.stderr
    assert "'depth'" in result.stderr
    assert sum(sample_site.hits.values()) == before


def test_unreachable_site_exits_non_zero(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_cli("crawl", f"http://127.0.0.1:{port}/", "-o", str(tmp_path),
                     "-s", "RETRY_TIMES=0")
    assert result.returncode == 1
    assert "articles: 0" in result.stderr


def test_unwritable_output_is_a_storage_error(sample_site: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = run_cli("crawl", sample_site.base_url + "/", "-o", str(blocker / "out"))
    assert result.returncode == 3
    assert "output" in result.stderr


def test_scrapy_crawl_runs_the_same_spider(sample_site: Any, manifest: dict[str, Any],
                                           tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import REPO

    out = tmp_path / "scrapy-out"
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "news", "-a",
         f"url={sample_site.base_url}{manifest['feeds']['rss']}", "-s",
         f"ARCHIVE_STORE={out}", "-s", "LOG_LEVEL=WARNING"],
        cwd=REPO, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr
    assert paths(read_articles(out), sample_site.base_url) == expected(manifest, "rss")


def test_jobdir_disk_queues_crawl_everything(sample_site: Any, manifest: dict[str, Any],
                                             tmp_path: Path) -> None:
    # Scrapy's JOBDIR (disk-backed request queues and seen-set, for large crawls) also
    # gives the spider a ``state`` dict: it must not clash with the spider's own state.
    job = tmp_path / "job"
    result = run_cli("crawl", sample_site.base_url + "/", "-o", str(tmp_path / "out"),
                     "-s", f"JOBDIR={job}", "-s", "TRAFILATURA_PROCESSES=0")
    assert result.returncode == 0, result.stderr
    got = paths(read_articles(tmp_path / "out"), sample_site.base_url)
    assert got == sorted(a["path"] for a in manifest["articles"])
    assert (job / "requests.queue").is_dir()
    # the seen-set on disk: per request, a 2-byte length and a 20-byte fingerprint
    seen = (job / "requests.seen").read_bytes()
    assert len(seen) % 22 == 0 and seen[:2] == b"\x00\x14"
    assert len(seen) // 22 > len(manifest["articles"])
