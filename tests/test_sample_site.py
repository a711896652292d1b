"""The bundled sample site and its server, checked over HTTP without Scrapy."""

from __future__ import annotations

import gzip
import html
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from lxml import etree

NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
      "news": "http://www.google.com/schemas/sitemap-news/0.9",
      "atom": "http://www.w3.org/2005/Atom"}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@pytest.fixture(scope="module")
def site() -> Iterator[Any]:
    from crawler.sample_site import SampleSiteServer

    with SampleSiteServer() as server:
        yield server


def fetch(url: str, headers: dict[str, str] | None = None, *,
          follow: bool = True) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and raw body; HTTP errors are answers too."""
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310
    opener = urllib.request.build_opener() if follow else urllib.request.build_opener(
        _NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers), exc.read()


def xml(site: Any, path: str) -> etree._Element:
    status, _, body = fetch(site.base_url + path)
    assert status == 200, path
    if path.endswith(".gz"):
        body = gzip.decompress(body)
    assert b"__BASE__" not in body
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(body, parser)


def article_paths(manifest: dict[str, Any]) -> set[str]:
    return {a["path"] for a in manifest["articles"]}


def test_manifest_shape(manifest: dict[str, Any]) -> None:
    articles = manifest["articles"]
    assert 25 <= len(articles) <= 35
    assert len(article_paths(manifest)) == len(articles)
    assert {a["language"] for a in articles} >= {"en", "fr", "de"}
    for source in ("links", "rss", "atom", "sitemap", "news_sitemap"):
        only = [a for a in articles if a["sources"] == [source]]
        assert only, f"no article is found only via {source}"
    assert any(a["alt_paths"] for a in articles)
    assert manifest["disallowed"] == ["/private/"]


def test_every_article_is_served_with_its_metadata(site: Any,
                                                   manifest: dict[str, Any]) -> None:
    for article in manifest["articles"]:
        status, headers, body = fetch(site.base_url + article["path"])
        assert status == 200, article["path"]
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        page = html.unescape(body.decode("utf-8"))
        assert f"<title>{article['title']} | The Sample Gazette</title>" in page
        assert f'<link rel="canonical" href="{site.base_url}{article["path"]}">' in page
        assert "__BASE__" not in page
        assert article["first_paragraph"] in page
        assert article["last_paragraph"] in page
        assert article["published"] in page
        for alt in article["alt_paths"]:
            status, _, alt_body = fetch(site.base_url + alt)
            assert status == 200
            assert f'rel="canonical" href="{site.base_url}{article["path"]}"'.encode() in alt_body


def test_non_articles_are_not_declared_articles(site: Any, manifest: dict[str, Any]) -> None:
    for path in manifest["non_articles"]:
        status, _, body = fetch(site.base_url + path)
        assert status == 200, path
        assert b'content="article"' not in body, path
        assert b'"NewsArticle"' not in body, path


def test_feeds_list_only_manifest_articles(site: Any, manifest: dict[str, Any]) -> None:
    base, known = site.base_url, article_paths(manifest)
    rss = xml(site, manifest["feeds"]["rss"])
    rss_links = [link.removeprefix(base) for link in rss.xpath("//item/link/text()")]
    assert rss.xpath("//item/pubDate/text()")
    atom = xml(site, manifest["feeds"]["atom"])
    atom_links = [link.removeprefix(base) for link in atom.xpath(
        "//atom:entry/atom:link[@rel='alternate']/@href", namespaces=NS)]
    assert atom.xpath("//atom:entry/atom:published/text()", namespaces=NS)
    for source, links in (("rss", rss_links), ("atom", atom_links)):
        assert links and set(links) <= known
        assert set(links) == {a["path"] for a in manifest["articles"] if source in a["sources"]}
    assert set(rss_links) != set(atom_links)
    assert set(rss_links) & set(atom_links)


def test_feed_content_types(site: Any, manifest: dict[str, Any]) -> None:
    _, rss, _ = fetch(site.base_url + manifest["feeds"]["rss"])
    _, atom, _ = fetch(site.base_url + manifest["feeds"]["atom"])
    assert rss["Content-Type"] == "application/rss+xml"
    assert atom["Content-Type"] == "application/atom+xml"


def test_sitemaps_list_only_manifest_articles(site: Any, manifest: dict[str, Any]) -> None:
    base, known = site.base_url, article_paths(manifest)
    index = xml(site, manifest["sitemap_index"])
    children = [loc.removeprefix(base) for loc in
                index.xpath("//sm:sitemap/sm:loc/text()", namespaces=NS)]
    assert set(children) == set(manifest["sitemaps"])
    articles = xml(site, "/sitemaps/articles.xml")
    listed = [loc.removeprefix(base) for loc in
              articles.xpath("//sm:url/sm:loc/text()", namespaces=NS)]
    assert set(listed) <= known
    assert set(listed) == {a["path"] for a in manifest["articles"] if "sitemap" in a["sources"]}
    assert len(articles.xpath("//sm:url/sm:lastmod", namespaces=NS)) == len(listed)


def test_news_sitemap_is_gzip_with_publication_dates(site: Any,
                                                     manifest: dict[str, Any]) -> None:
    status, headers, body = fetch(site.base_url + "/sitemaps/news.xml.gz",
                                  {"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["Content-Type"] == "application/gzip"
    assert "Content-Encoding" not in headers
    assert body[:2] == b"\x1f\x8b"
    root = xml(site, "/sitemaps/news.xml.gz")
    urls = root.xpath("//sm:url", namespaces=NS)
    assert urls
    by_path = {a["path"]: a for a in manifest["articles"]}
    for url in urls:
        path = url.findtext("sm:loc", namespaces=NS).removeprefix(site.base_url)
        assert "news_sitemap" in by_path[path]["sources"]
        assert url.findtext("news:news/news:publication_date", namespaces=NS) == \
            by_path[path]["published"]
        assert url.findtext("news:news/news:publication/news:name", namespaces=NS)
        assert url.findtext("news:news/news:title", namespaces=NS) == by_path[path]["title"]


def test_robots_txt(site: Any) -> None:
    status, headers, body = fetch(site.base_url + "/robots.txt")
    assert status == 200
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    lines = body.decode().splitlines()
    assert "Disallow: /private/" in lines
    assert f"Sitemap: {site.base_url}/sitemap.xml" in lines


def test_missing_page_is_404(site: Any, manifest: dict[str, Any]) -> None:
    for path in [*manifest["missing"], "/_routes.json", "/../server.py"]:
        status, headers, body = fetch(site.base_url + path)
        assert status == 404, path
        assert b"Page not found" in body
        assert headers["Content-Type"].startswith("text/html")


def test_redirects(site: Any, manifest: dict[str, Any]) -> None:
    target, code = manifest["redirects"]["/go/latest"]
    assert target in article_paths(manifest)
    status, headers, _ = fetch(site.base_url + "/go/latest", follow=False)
    assert status == code == 301
    assert headers["Location"] == site.base_url + target
    status, _, body = fetch(site.base_url + "/go/top-story")  # a chain, followed
    assert status == 200
    assert site.base_url.encode() + target.encode() in body
    status, headers, _ = fetch(site.base_url + "/world?x=1", follow=False)
    assert status == 301
    assert headers["Location"].endswith("/world/?x=1")


def test_gzip_content_encoding_when_asked(site: Any) -> None:
    status, headers, body = fetch(site.base_url + "/", {"Accept-Encoding": "gzip, deflate"})
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Vary"] == "Accept-Encoding"
    assert int(headers["Content-Length"]) == len(body)
    page = gzip.decompress(body)
    assert b"The Sample Gazette" in page
    assert b"__BASE__" not in page
    status, headers, plain = fetch(site.base_url + "/")
    assert "Content-Encoding" not in headers
    assert plain == page


def test_conditional_requests_get_304(site: Any) -> None:
    url = site.base_url + "/world/"
    status, headers, _ = fetch(url)
    assert status == 200
    assert headers["ETag"] and headers["Last-Modified"]
    status, _, body = fetch(url, {"If-None-Match": headers["ETag"]})
    assert (status, body) == (304, b"")
    status, _, body = fetch(url, {"If-Modified-Since": headers["Last-Modified"]})
    assert (status, body) == (304, b"")
    status, _, _ = fetch(url, {"If-None-Match": '"something-else"'})
    assert status == 200


def test_hits_count_paths_with_their_query(site: Any) -> None:
    path = "/about/?utm_source=test"
    before = site.hits.get(path, 0)
    status, _, _ = fetch(site.base_url + path)
    assert status == 200  # the query is ignored for the file lookup
    assert site.hits[path] == before + 1
    assert not any(k.startswith("/private/") for k in site.hits)


def test_module_runs_as_a_server_process() -> None:
    from tests.conftest import start_server, stop_server

    server = start_server()
    try:
        status, _, body = fetch(server.url("/robots.txt"))
        assert status == 200
        assert f"Sitemap: {server.base_url}/sitemap.xml".encode() in body
    finally:
        stop_server(server)
