"""The crawl benchmark's site generator and server (bench/site.py), on a small site."""

from __future__ import annotations

import gzip
import http.client
import re
from pathlib import Path

import pytest

from bench.site import DATA_DIR, PyServer, SiteInfo, build_site, free_port

pytestmark = pytest.mark.skipif(not (DATA_DIR / "ground-truth.json").is_file(),
                                reason="article-extraction benchmark data not available")

PAGES = 230  # more than two rounds of the 105 templates, sections of 23


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[SiteInfo, int]:
    port = free_port()
    root = tmp_path_factory.mktemp("bench-site") / "www"
    return build_site(root, PAGES, f"http://127.0.0.1:{port}", processes=1), port


def _read(info: SiteInfo, path: str) -> str:
    return gzip.decompress(info.file_for(path).read_bytes()).decode("utf-8")


def test_distinct_articles_listed_in_sitemap(site: tuple[SiteInfo, int]) -> None:
    info, _ = site
    urls = [info.article_url(n) for n in range(PAGES)]
    assert len(set(urls)) == PAGES
    # each copy names itself as canonical and carries its own paragraph
    bodies = [_read(info, info.article_paths[n]) for n in (0, 105, 210)]
    assert len(set(bodies)) == 3
    for n, body in zip((0, 105, 210), bodies, strict=True):
        assert f'<link rel="canonical" href="{urls[n]}">' in body
        assert f'<meta property="og:url" content="{urls[n]}">' in body
        assert f"copy number {n + 1} of this story" in body
    index = _read(info, "/sitemap_index.xml")
    listed: list[str] = []
    for loc in re.findall(r"<loc>([^<]+)</loc>", index):
        assert loc.startswith(info.base_url)
        listed += re.findall(r"<loc>([^<]+)</loc>", _read(info, loc[len(info.base_url):]))
    assert sorted(listed) == sorted(urls)
    assert f"Sitemap: {info.base_url}/sitemap_index.xml" in _read(info, "/robots.txt")
    # the sections list every article once
    in_sections = re.findall(r'href="([^"]+/a/[^"]+)"',
                             "".join(_read(info, f"/section/{s}/") for s in
                                     ("world", "politics", "business", "technology",
                                      "science", "health", "sport", "culture", "opinion",
                                      "travel")))
    assert sorted(in_sections) == sorted(urls)


def test_server_answers_gzip_with_charset(site: tuple[SiteInfo, int]) -> None:
    info, port = site
    with PyServer(info.root, port, workers=2) as server:
        offset = server.log_offset()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", info.article_paths[7], headers={"Accept-Encoding": "gzip"})
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200
        assert response.getheader("Content-Encoding") == "gzip"
        assert response.getheader("Content-Type") == "text/html; charset=utf-8"
        assert info.article_url(7) in gzip.decompress(body).decode("utf-8")
        # same connection (keep-alive), a client without gzip gets plain bytes
        conn.request("GET", "/robots.txt")
        response = conn.getresponse()
        assert response.getheader("Content-Encoding") is None
        assert response.read().startswith(b"User-agent: *")
        conn.request("GET", "/no/such/page.html")
        response = conn.getresponse()
        response.read()
        assert response.status == 404
        conn.close()
        logged = server.log_lines(offset)
        assert [(s, p) for s, p, _ in logged] == [
            (200, info.article_paths[7]), (200, "/robots.txt"), (404, "/no/such/page.html")]
        assert server.cpu_seconds() >= 0


def test_site_info_round_trip(site: tuple[SiteInfo, int]) -> None:
    info, _ = site
    loaded = SiteInfo.load(info.root)
    assert loaded.article_paths == info.article_paths
    assert isinstance(loaded.root, Path)
