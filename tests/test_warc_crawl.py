"""End-to-end WARC capture: real crawls through the ``newsarchive`` CLI, read back with
real tools only (warcio ``ArchiveIterator`` and ``warcio check``, the cdxj-indexer
sidecars, pywb replay).

A few module-scoped crawls (every route of ``tests/sites/routes_server.py``; the bundled
sample site; the sample site with tiny WARC files) carry most assertions; the
setting-specific behaviours (dedup, HTTP cache, auth, delay, crash recovery) get a small
crawl each. Requirement ids (R1-R26) refer to ``docs/warc-requirements.md``.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.client
import itertools
import re
import subprocess
import sys
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import brotli
import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.conftest import REPO, cli_env, read_articles, run_cli
from tests.sites.routes_server import (
    AUTH_PASS,
    AUTH_USER,
    BINARY,
    LINKED,
    PNG,
    ROUTES,
    RoutesServer,
    Served,
)
from tests.warc_tools import (
    PywbServer,
    ReadRecord,
    Replay,
    cdxj_for,
    read_blocks,
    read_cdxj,
    read_records,
    warcio_check,
)

SHA1_B32 = re.compile(r"^sha1:[A-Z2-7]{32}$")
NAME_RE = re.compile(r"^[A-Za-z0-9_-]+-\d{17}-\d{5}-[A-Za-z0-9_-]+-[a-z0-9]{6}\.warc\.gz$")
DATE_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
ACCEPT_ENCODING = "gzip, deflate, br"
PROFILE_IDENTICAL = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
WARCINFO_KEYS = ("software", "format", "conformsTo", "isPartOf", "description", "operator",
                 "robots", "http-header-user-agent", "http-fidelity")
CAPTURE_TYPES = ("response", "revisit")
SMALL_WARC = 40_000
TRUNCATE = 100_000


# -- helpers ----------------------------------------------------------------------------


def sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()  # noqa: S324


def ts14(warc_date: str) -> str:
    return re.sub(r"\D", "", warc_date)[:14]


def parse_date(warc_date: str) -> datetime:
    return datetime.fromisoformat(warc_date.replace("Z", "+00:00"))


def warc_files(out: Path) -> list[Path]:
    return sorted(out.glob("warc/**/*.warc.gz"))


def fields_of(payload: bytes) -> list[tuple[str, str]]:
    """``application/warc-fields`` lines as (name, value)."""
    pairs = []
    for line in payload.decode("utf-8").splitlines():
        if line.strip():
            name, _, value = line.partition(":")
            pairs.append((name.strip(), value.strip()))
    return pairs


@dataclass
class Crawl:
    """One CLI run and everything it wrote, read back with warcio."""

    out: Path
    result: subprocess.CompletedProcess[str]
    files: dict[Path, list[ReadRecord]] = field(default_factory=dict)
    served: list[Served] = field(default_factory=list)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    hits: dict[str, int] = field(default_factory=dict)

    @classmethod
    def read(cls, out: Path, result: subprocess.CompletedProcess[str], **kw: Any) -> Crawl:
        crawl = cls(out, result, **kw)
        crawl.files = {path: read_records(path) for path in warc_files(out)}
        return crawl

    def records(self, *types: str) -> list[ReadRecord]:
        return [r for recs in self.files.values() for r in recs
                if not types or r.rec_type in types]

    def captures(self, url: str) -> list[ReadRecord]:
        return [r for r in self.records(*CAPTURE_TYPES) if r.get("WARC-Target-URI") == url]

    def capture(self, url: str) -> ReadRecord:
        found = self.captures(url)
        assert len(found) == 1, (url, [r.get("WARC-Target-URI") for r in self.records(
            *CAPTURE_TYPES)])
        return found[0]


def crawl_routes(server: RoutesServer, out: Path, paths: list[str], *settings: str,
                 cli: bool = True) -> Crawl:
    """Fetch exactly ``paths`` (``--urls-file -``) into ``out``; ``settings`` are
    ``NAME=VALUE``. ``cli=False`` runs the CLI without run_cli's no-delay settings."""
    urls = "".join(server.url(p) + "\n" for p in paths)
    n_requests, n_served = len(server.requests), len(server.responses)
    args = ["crawl", "--urls-file", "-", "-o", str(out), "-v"]
    for setting in settings:
        args += ["-s", setting]
    result = run_cli(*args, input_text=urls, fast=cli,
                     timeout=180 if cli else 120)
    return Crawl.read(out, result, served=server.responses[n_served:],
                      requests=server.requests[n_requests:])


def served_body(crawl: Crawl, url: str) -> bytes:
    path = urlsplit(url)
    target = path.path + (f"?{path.query}" if path.query else "")
    bodies = {s.body for s in crawl.served if s.path == target}
    assert len(bodies) == 1, (url, bodies)
    return bodies.pop()


# -- crawls -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def routes() -> Iterator[RoutesServer]:
    with RoutesServer() as server:
        yield server


@pytest.fixture(scope="module")
def route_crawl(routes: RoutesServer, tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    """Every route once (and robots.txt), with a TRUNCATE_SIZE that stops /large.html."""
    out = tmp_path_factory.mktemp("routes")
    return crawl_routes(routes, out, ["/index.html", *LINKED], f"TRUNCATE_SIZE={TRUNCATE}",
                        "WARC_DEDUP_ENABLED=False")


@pytest.fixture(scope="module")
def sample_crawl(sample_site: Any, tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    out = tmp_path_factory.mktemp("sample")
    before = dict(sample_site.hits)
    result = run_cli("crawl", sample_site.base_url + "/", "-o", str(out))
    hits = {k: v - before.get(k, 0) for k, v in sample_site.hits.items()
            if v - before.get(k, 0)}
    return Crawl.read(out, result, hits=hits)


@pytest.fixture(scope="module")
def small_files_crawl(sample_site: Any, tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    out = tmp_path_factory.mktemp("small")
    result = run_cli("crawl", sample_site.base_url + "/", "-o", str(out),
                     "-s", f"WARC_MAX_SIZE={SMALL_WARC}")
    return Crawl.read(out, result)


@pytest.fixture(scope="module")
def archive_only_crawl(sample_site: Any, tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    """No extraction (``TRAFILATURA_ENABLED=False``), small files: fetch and archive only."""
    out = tmp_path_factory.mktemp("archive-only")
    result = run_cli("crawl", sample_site.base_url + "/", "-o", str(out), "-v",
                     "-s", "TRAFILATURA_ENABLED=False", "-s", f"WARC_MAX_SIZE={SMALL_WARC}")
    return Crawl.read(out, result)


ALL_CRAWLS = ["route_crawl", "sample_crawl", "small_files_crawl", "archive_only_crawl"]


@pytest.fixture(params=ALL_CRAWLS)
def any_crawl(request: pytest.FixtureRequest) -> Crawl:
    crawl: Crawl = request.getfixturevalue(request.param)
    return crawl


# -- every file, every crawl: R1, R3, R5, R7, R13, R14, R16, R22 --------------------------


def test_crawls_succeed(any_crawl: Crawl) -> None:
    assert any_crawl.result.returncode == 0, any_crawl.result.stderr[-3000:]
    assert any_crawl.files


def test_files_pass_warcio_check_and_are_closed_r1_r3(any_crawl: Crawl) -> None:
    code, output = warcio_check(any_crawl.files)
    assert code == 0, output
    leftovers = [p for p in any_crawl.out.rglob("*") if p.name.endswith((".open", ".invalid"))]
    assert leftovers == []
    for path, recs in any_crawl.files.items():
        assert NAME_RE.match(path.name), path.name
        data = path.read_bytes()
        ends = [r.offset for r in recs[1:]] + [len(data)]
        for rec, end in zip(recs, ends, strict=True):
            # R1: each record is exactly one whole gzip member, back to back
            assert rec.offset + rec.length == end
            inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
            inflater.decompress(data[rec.offset:end])
            assert inflater.eof and not inflater.unused_data


def test_warcinfo_first_in_every_file_r5_r7(any_crawl: Crawl) -> None:
    for path, recs in any_crawl.files.items():
        info = recs[0]
        assert info.rec_type == "warcinfo"
        assert [r.rec_type for r in recs[1:]].count("warcinfo") == 0
        assert info.get("WARC-Filename") == path.name
        assert info.get("Content-Type") == "application/warc-fields"
        fields = dict(fields_of(info.raw))
        for key in WARCINFO_KEYS:
            assert fields.get(key), (key, fields)
        assert f"Scrapy/{version('scrapy')}" in fields["software"]
        assert f"warcio/{version('warcio')}" in fields["software"]
        assert fields["format"] == "WARC File Format 1.1"
        assert fields["conformsTo"] == ("https://iipc.github.io/warc-specifications/"
                                        "specifications/warc-format/warc-1.1/")
        assert fields["robots"].startswith("obey")
        assert fields["http-fidelity"].startswith("reconstructed-from-scrapy")
        info_id = info.get("WARC-Record-ID")
        assert all(r.get("WARC-Warcinfo-ID") == info_id for r in recs[1:])


def test_request_response_pairs_r13_r14(any_crawl: Crawl) -> None:
    ids = [r.get("WARC-Record-ID") for r in any_crawl.records()]
    assert len(ids) == len(set(ids))
    for recs in any_crawl.files.values():
        requests = [r for r in recs if r.rec_type == "request"]
        by_concurrent = Counter(r.get("WARC-Concurrent-To") for r in requests)
        captures = [r for r in recs if r.rec_type in CAPTURE_TYPES]
        assert len(requests) == len(captures)
        by_id = {r.get("WARC-Record-ID"): r for r in captures}
        for req in requests:
            resp = by_id[req.get("WARC-Concurrent-To")]
            assert by_concurrent[req.get("WARC-Concurrent-To")] == 1
            url = resp.get("WARC-Target-URI") or ""
            parts = urlsplit(url)
            assert req.get("WARC-Target-URI") == url
            assert DATE_RE.match(resp.get("WARC-Date") or "")
            assert req.get("WARC-Date") == resp.get("WARC-Date")
            assert req.get("WARC-IP-Address") == resp.get("WARC-IP-Address") == "127.0.0.1"
            assert req.get("Content-Type") == "application/http; msgtype=request"
            assert resp.get("Content-Type") == "application/http; msgtype=response"
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            assert req.http_protocol == "GET"
            assert req.http_statusline == f"{target} HTTP/1.1"
            assert req.http_get_all("Host") == [parts.netloc]
            assert req.http_get_all("Accept-Encoding") == [ACCEPT_ENCODING]  # R26
            assert req.http_get_all("Authorization") == []


def test_digests_r16(any_crawl: Crawl) -> None:
    for path, recs in any_crawl.files.items():
        blocks = read_blocks(path)
        for rec in recs:
            block_digest = rec.get("WARC-Block-Digest")
            if rec.rec_type == "warcinfo" and block_digest is None:
                continue
            assert block_digest and SHA1_B32.match(block_digest), rec.headers
            assert block_digest == sha1_b32(blocks[rec.offset])
            # warcio leaves revisits unchecked (their payload digest names another record)
            assert rec.digest_passed is (None if rec.rec_type == "revisit" else True)
            payload_digest = rec.get("WARC-Payload-Digest")
            if rec.rec_type in ("response", "conversion"):
                assert payload_digest and SHA1_B32.match(payload_digest)
                assert payload_digest == sha1_b32(rec.raw)
            if rec.rec_type == "revisit":
                assert payload_digest and SHA1_B32.match(payload_digest)


def test_cdxj_sidecars_r22(any_crawl: Crawl) -> None:
    for path, recs in any_crawl.files.items():
        sidecar = cdxj_for(path)
        lines = read_cdxj(sidecar)
        raw = [ln.raw for ln in lines]
        assert raw == sorted(raw)
        got = Counter((ln.fields["url"], int(ln.fields["offset"]), int(ln.fields["length"]),
                       ln.fields["filename"]) for ln in lines)
        want = Counter((r.get("WARC-Target-URI"), r.offset, r.length, path.name)
                       for r in recs if r.rec_type in CAPTURE_TYPES)
        assert got == want
    sidecars = {p.name for p in any_crawl.out.glob("cdxj/**/*.cdxj")}
    assert sidecars == {p.name.removesuffix(".warc.gz") + ".cdxj" for p in any_crawl.files}


# -- the route crawl: HTTP fidelity R8-R15, R26 ------------------------------------------


def test_every_answer_of_the_server_is_archived(route_crawl: Crawl, routes: RoutesServer) -> None:
    assert route_crawl.result.returncode == 0, route_crawl.result.stderr[-3000:]
    got = Counter(r.get("WARC-Target-URI") for r in route_crawl.records(*CAPTURE_TYPES))
    want = Counter(routes.url(s.path) for s in route_crawl.served)
    assert got == want
    assert routes.url("/robots.txt") in got
    assert route_crawl.records("revisit") == []  # dedup switched off for this crawl (R18)


def test_accept_encoding_sent_r26(route_crawl: Crawl, routes: RoutesServer) -> None:
    assert route_crawl.requests
    for _, headers in route_crawl.requests:
        assert headers.get("Accept-Encoding") == ACCEPT_ENCODING
    echo = route_crawl.capture(routes.url("/echo-headers.html"))
    assert f"Accept-Encoding: {ACCEPT_ENCODING}".encode() in echo.raw
    assert f"Host: {urlsplit(routes.base_url).netloc}".encode() in echo.raw


def test_br_page_reaches_the_spider_r26(route_crawl: Crawl, routes: RoutesServer) -> None:
    """Scrapy must decode what it asks for: ``br`` is in Accept-Encoding, so a br page has
    to reach the spider. Fails where the ``brotli`` module is brotlipy's (pywb depends on
    it and its ``brotli/`` package shadows Brotli's ``brotli.py``): HttpCompression then
    raises ``'Decompressor' object has no attribute 'process'``."""
    url = routes.url("/br.html")
    errors = [line for line in route_crawl.result.stderr.splitlines()
              if "can't fetch" in line or "Error" in line]
    assert [line for line in errors if url in line] == []


@pytest.mark.parametrize(("path", "encoding"), [
    ("/gzip.html", "gzip"), ("/br.html", "br"), ("/chunked-gzip.html", "gzip")])
def test_content_encoded_bodies_kept_r9(route_crawl: Crawl, routes: RoutesServer, path: str,
                                        encoding: str) -> None:
    rec = route_crawl.capture(routes.url(path))
    assert rec.http_get_all("Content-Encoding") == [encoding]
    decode = gzip.decompress if encoding == "gzip" else brotli.decompress
    assert decode(rec.raw) == ROUTES[path]
    assert rec.decoded == ROUTES[path]  # warcio decodes per the stored header
    assert rec.raw != ROUTES[path]
    for length in rec.http_get_all("Content-Length"):
        assert int(length) == len(rec.raw)
    if encoding == "gzip":  # digested as gzip bytes (R16)
        assert rec.get("WARC-Payload-Digest") == sha1_b32(gzip.compress(ROUTES[path], mtime=0))


@pytest.mark.parametrize("path", ["/chunked.html", "/chunked-gzip.html"])
def test_chunked_bodies_de_chunked_r10(route_crawl: Crawl, routes: RoutesServer,
                                       path: str) -> None:
    rec = route_crawl.capture(routes.url(path))
    assert rec.http_get_all("Transfer-Encoding") == []
    assert rec.http_get_all("Content-Length") == []
    assert rec.decoded == ROUTES[path]
    if path == "/chunked.html":
        assert rec.raw == ROUTES[path]
    else:
        assert rec.raw == gzip.compress(ROUTES[path], mtime=0)


def test_repeated_headers_r12(route_crawl: Crawl, routes: RoutesServer) -> None:
    rec = route_crawl.capture(routes.url("/cookies.html"))
    assert rec.http_get_all("Set-Cookie") == ["first=1; Path=/", "second=2; Path=/; HttpOnly"]
    assert rec.http_get_all("X-Dup") == ["one", "two"]


def test_status_lines_and_redirect_chain_r11(route_crawl: Crawl, routes: RoutesServer) -> None:
    expected = {
        "/notfound": "404 Not Found",
        "/auth.html": "401 Unauthorized",
        "/redirect/1": "302 Found",
        "/redirect/2": "301 Moved Permanently",
        "/plain.html?from=redirect": "200 OK",
        "/plain.html": "200 OK",
    }
    for path, line in expected.items():
        rec = route_crawl.capture(routes.url(path))
        assert rec.http_protocol == "HTTP/1.1"
        assert rec.http_statusline == line, path
    assert route_crawl.capture(routes.url("/notfound")).raw == ROUTES["/notfound"]
    first = route_crawl.capture(routes.url("/redirect/1"))
    assert first.http_get_all("Location") == [routes.url("/redirect/2")]
    second = route_crawl.capture(routes.url("/redirect/2"))
    assert second.http_get_all("Location") == [routes.url("/plain.html?from=redirect")]


def test_query_string_kept_r13(route_crawl: Crawl, routes: RoutesServer) -> None:
    rec = route_crawl.capture(routes.url("/query.html?a=1&b=2"))
    assert b"query: a=1&amp;b=2" in rec.raw or b"query: a=1&b=2" in rec.raw


@pytest.mark.parametrize(("path", "body", "mime"), [
    ("/binary.bin", BINARY, "application/octet-stream"), ("/image.png", PNG, "image/png")])
def test_binary_bodies_byte_identical(route_crawl: Crawl, routes: RoutesServer, path: str,
                                      body: bytes, mime: str) -> None:
    rec = route_crawl.capture(routes.url(path))
    assert rec.raw == body
    assert rec.http_get_all("Content-Type") == [mime]
    assert rec.get("WARC-Payload-Digest") == sha1_b32(body)


def test_truncation_r15(route_crawl: Crawl, routes: RoutesServer) -> None:
    cut = route_crawl.capture(routes.url("/truncated.html"))
    assert cut.get("WARC-Truncated") == "disconnect"
    assert cut.raw == ROUTES["/truncated.html"]
    assert len(cut.raw) == 1000
    large = route_crawl.capture(routes.url("/large.html"))
    assert large.get("WARC-Truncated") == "length"
    assert TRUNCATE < len(large.raw) < len(ROUTES["/large.html"])
    assert ROUTES["/large.html"].startswith(large.raw)
    complete = [r for r in route_crawl.records("response")
                if r.get("WARC-Target-URI") not in (routes.url("/truncated.html"),
                                                     routes.url("/large.html"))]
    assert complete
    assert [r.get("WARC-Truncated") for r in complete if r.get("WARC-Truncated")] == []


def _replay(pywb: PywbServer, rec: ReadRecord, timeout: float = 3) -> Replay | str:
    """pywb's ``id_`` replay of ``rec``, or what went wrong reading it."""
    url = rec.get("WARC-Target-URI") or ""
    conn = http.client.HTTPConnection("127.0.0.1", pywb.port, timeout=timeout)
    try:
        conn.request("GET", f"/archive/{ts14(rec.get('WARC-Date') or '')}id_/{url}")
        resp = conn.getresponse()
        headers = dict(resp.getheaders())
        try:
            return Replay(resp.status, headers, resp.read())
        except (OSError, http.client.HTTPException) as exc:
            return (f"HTTP {resp.status}, Content-Length {headers.get('Content-Length')}: "
                    f"reading the body failed: {exc!r}")
    finally:
        conn.close()


def _replay_problems(crawl: Crawl, truncated: bool) -> list[tuple[str, str]]:
    responses = [r for r in crawl.records("response")
                 if bool(r.get("WARC-Truncated")) == truncated]
    assert responses
    problems = []
    with PywbServer(sorted({p.parent for p in crawl.files})) as pywb:
        for rec in responses:
            url = rec.get("WARC-Target-URI") or ""
            status = int((rec.http_statusline or "0").split()[0])
            replay = _replay(pywb, rec)
            if isinstance(replay, str):
                problems.append((url, replay))
            elif replay.status != status:
                problems.append((url, f"status {replay.status} != {status}"))
            elif "Memento-Datetime" not in replay.headers:
                problems.append((url, "no Memento-Datetime"))
            elif 300 <= status < 400:
                location = urlsplit(rec.http_get_all("Location")[0])
                if not replay.headers.get("Location", "").endswith(
                        f"{location.path}?{location.query}".rstrip("?")):
                    problems.append((url, f"Location {replay.headers.get('Location')}"))
            elif replay.body != rec.decoded or \
                    not served_body(crawl, url).startswith(replay.body):
                problems.append((url, f"body {replay.body[:60]!r}"))
    return problems


def test_pywb_replays_every_complete_route_capture_r23(route_crawl: Crawl) -> None:
    """Archived status (3xx too), Memento-Datetime and the payload the server sent."""
    assert _replay_problems(route_crawl, truncated=False) == []


def test_pywb_replays_truncated_captures_r15_r23(route_crawl: Crawl) -> None:
    """A truncated capture replays what was archived (the short body), without hanging.

    Fails while the response record keeps the server's declared ``Content-Length`` (5000,
    ~300 kB) over the shorter stored body: pywb passes it on and clients wait for bytes that
    never come.
    """
    assert _replay_problems(route_crawl, truncated=True) == []


# -- the sample-site crawl: R20, R21, everything fetched is archived -------------------------


def test_sample_crawl_archives_every_fetched_url(sample_crawl: Crawl, sample_site: Any,
                                                 manifest: dict[str, Any]) -> None:
    base = sample_site.base_url
    got = Counter(r.get("WARC-Target-URI") for r in sample_crawl.records(*CAPTURE_TYPES))
    want = Counter({base + path: n for path, n in sample_crawl.hits.items()})
    assert got == want
    must = [manifest["robots"], manifest["sitemap_index"], *manifest["sitemaps"],
            *manifest["feeds"].values(), *manifest["missing"], "/go/latest"]
    assert any(s.endswith(".xml.gz") for s in manifest["sitemaps"])
    for path in must:
        assert base + path in got, path
    articles = {a["path"] for a in manifest["articles"]}
    assert [p for p in manifest["non_articles"] if base + p in got]
    assert {base + p for p in articles} <= set(got)
    moved = sample_crawl.capture(base + "/go/latest")
    assert moved.http_statusline == "301 Moved Permanently"
    target, _ = manifest["redirects"]["/go/latest"]
    assert moved.http_get_all("Location") == [base + target]
    missing = sample_crawl.capture(base + manifest["missing"][0])
    assert missing.http_statusline == "404 Not Found"
    sitemap_gz = sample_crawl.capture(base + manifest["sitemaps"][1])
    assert gzip.decompress(sitemap_gz.raw).lstrip().startswith(b"<?xml")


def test_conversion_per_article_r20(sample_crawl: Crawl) -> None:
    articles = read_articles(sample_crawl.out)
    assert articles
    conversions = sample_crawl.records("conversion")
    by_refers = Counter(c.get("WARC-Refers-To") for c in conversions)
    for article in articles:
        record_id = article["warc_record_id"]
        assert by_refers[record_id] == 1, article["url"]
        path = next(p for p in sample_crawl.files if p.name == article["warc_file"])
        recs = sample_crawl.files[path]
        response = next(r for r in recs if r.get("WARC-Record-ID") == record_id)
        conversion = next(r for r in recs if r.rec_type == "conversion"
                          and r.get("WARC-Refers-To") == record_id)
        assert response.rec_type == "response"
        assert conversion.get("WARC-Concurrent-To") is None
        assert conversion.get("WARC-Date") == response.get("WARC-Date")
        assert conversion.get("WARC-Target-URI") == response.get("WARC-Target-URI")
        assert conversion.get("Content-Type") == "text/plain; charset=utf-8"
        assert conversion.raw.decode("utf-8") == article["text"]
        # the item's offset and length locate exactly that response record
        assert (article["warc_offset"], article["warc_length"]) == (response.offset,
                                                                    response.length)
        with path.open("rb") as fh:
            fh.seek(article["warc_offset"])
            iterator = ArchiveIterator(fh)
            record = next(iter(iterator))
            assert record.rec_headers.get_header("WARC-Record-ID") == record_id
            assert record.rec_type == "response"
            record.raw_stream.read()
            iterator.read_to_end()
            assert iterator.get_record_length() == article["warc_length"]
    # every conversion refers to a response in its own file
    for recs in sample_crawl.files.values():
        responses = {r.get("WARC-Record-ID") for r in recs if r.rec_type == "response"}
        for rec in recs:
            if rec.rec_type == "conversion":
                assert rec.get("WARC-Refers-To") in responses


def test_metadata_records_r21(sample_crawl: Crawl) -> None:
    metadata = sample_crawl.records("metadata")
    assert len(metadata) >= len(read_articles(sample_crawl.out))
    for recs in sample_crawl.files.values():
        responses = {r.get("WARC-Record-ID"): r for r in recs if r.rec_type == "response"}
        for rec in recs:
            if rec.rec_type != "metadata":
                continue
            assert rec.get("Content-Type") == "application/warc-fields"
            response = responses[rec.get("WARC-Refers-To")]
            assert rec.get("WARC-Target-URI") == response.get("WARC-Target-URI")
            fields = dict(fields_of(rec.raw))
            assert fields.get("title")
            assert "trafilatura/" in fields.get("extractor", "")


# -- R4: rotation keeps capture groups together ---------------------------------------------


def test_small_files_keep_groups_together_r4(small_files_crawl: Crawl,
                                             sample_crawl: Crawl) -> None:
    files = small_files_crawl.files
    assert len(files) >= 3
    got = Counter(r.get("WARC-Target-URI") for r in small_files_crawl.records(*CAPTURE_TYPES))
    assert sum(got.values()) == len(sample_crawl.records(*CAPTURE_TYPES))
    for path, recs in files.items():
        ids = {r.get("WARC-Record-ID") for r in recs}
        for rec in recs:
            for link in ("WARC-Concurrent-To", "WARC-Refers-To"):
                if rec.get(link):
                    assert rec.get(link) in ids, (path.name, rec.rec_type, link)


def test_archive_only_archives_what_a_full_crawl_does(archive_only_crawl: Crawl,
                                                     sample_crawl: Crawl) -> None:
    def urls(crawl: Crawl) -> set[str]:
        return {r.get("WARC-Target-URI") for r in crawl.records(*CAPTURE_TYPES)}

    assert urls(archive_only_crawl) == urls(sample_crawl)
    assert not archive_only_crawl.records("conversion", "metadata")
    assert read_articles(archive_only_crawl.out) == []
    assert read_articles(sample_crawl.out)  # the same pages do hold articles
    # the spider knew the article pages, and sent none through the pipelines
    log = archive_only_crawl.result.stderr
    found = re.search(r"'news/article_pages': (\d+)", log)
    assert found and int(found[1]) >= len(read_articles(sample_crawl.out)), log[-3000:]
    assert "'item_scraped_count'" not in log


def test_archive_only_files_close_during_the_crawl(archive_only_crawl: Crawl) -> None:
    """With no text records to wait for, no capture holds its file open: full files close
    (and are published) while the crawl goes on, not all at its end."""
    log = archive_only_crawl.result.stderr
    closing = log.index("Closing spider")
    assert len(archive_only_crawl.files) >= 3
    assert len(re.findall(r"closed WARC file", log[:closing])) >= 2


def test_archive_only_crawl_never_loads_trafilatura(sample_site: Any, tmp_path: Path) -> None:
    """An archive-only crawl has no use for the extractor: its process never imports it
    (a quarter of a second at every start of a scheduled crawl)."""
    script = ("import sys\nfrom crawler.cli import main\nrc = main(sys.argv[1:])\n"
              "print('loaded:', sorted(m for m in sys.modules if m.split('.')[0] in "
              "('trafilatura', 'justext', 'htmldate', 'py3langid')))\nsys.exit(rc)\n")
    crawl = ["crawl", sample_site.base_url + "/", "-o", str(tmp_path), "-s", "DOWNLOAD_DELAY=0",
             "-s", "AUTOTHROTTLE_ENABLED=False", "--max-articles", "3"]
    runs = {}
    for extracting in (False, True):
        result = subprocess.run(
            [sys.executable, "-c", script, *crawl, "-s", f"TRAFILATURA_ENABLED={extracting}",
             "-s", "TRAFILATURA_PROCESSES=0"],
            cwd=REPO, capture_output=True, text=True, timeout=180, env=cli_env(), check=False)
        assert result.returncode == 0, result.stderr[-3000:]
        runs[extracting] = result.stdout
    assert "loaded: []" in runs[False], runs[False]
    assert "'trafilatura'" in runs[True], runs[True]  # the check sees an import when one happens


def test_only_single_capture_files_exceed_the_size_r4(small_files_crawl: Crawl) -> None:
    """Fails while conversion/metadata records are appended after the size check (the
    writer checks only response + request): files end up to ~40 % over WARC_MAX_SIZE."""
    oversize = {}
    for path, recs in small_files_crawl.files.items():
        captures = [r for r in recs if r.rec_type in CAPTURE_TYPES]
        size = path.stat().st_size
        if size > SMALL_WARC and len(captures) > 1:
            extraction = sum(r.length for r in recs if r.rec_type in ("conversion", "metadata"))
            oversize[path.name] = (f"{size} bytes > {SMALL_WARC}, {len(captures)} captures, "
                                   f"{extraction} bytes of conversion/metadata records")
    assert oversize == {}


# -- R18: dedup -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dedup_runs(routes: RoutesServer,
               tmp_path_factory: pytest.TempPathFactory) -> tuple[Crawl, Crawl, Crawl]:
    out = tmp_path_factory.mktemp("dedup")
    paths = ["/same-a.html", "/same-b.html"]
    first = crawl_routes(routes, out, paths, "WARC_DEDUP_ENABLED=True")
    second = crawl_routes(routes, out, paths, "WARC_DEDUP_ENABLED=True")
    # second.files holds both runs' files: keep only the new ones
    second.files = {p: r for p, r in second.files.items() if p not in first.files}
    off = crawl_routes(routes, tmp_path_factory.mktemp("dedup-off"), paths,
                       "WARC_DEDUP_ENABLED=False")
    return first, second, off


def test_dedup_revisits_r18(dedup_runs: tuple[Crawl, Crawl, Crawl],
                            routes: RoutesServer) -> None:
    first, second, off = dedup_runs
    for crawl in dedup_runs:
        assert crawl.result.returncode == 0, crawl.result.stderr[-3000:]
    urls = [routes.url("/same-a.html"), routes.url("/same-b.html")]
    run1 = sorted((c for u in urls for c in first.captures(u)),
                  key=lambda r: (r.filename, r.offset))
    assert [r.rec_type for r in run1] == ["response", "revisit"]
    original = run1[0]
    revisits = [run1[1], *(c for u in urls for c in second.captures(u))]
    assert [r.rec_type for r in revisits] == ["revisit"] * 3
    for rev in revisits:
        assert rev.get("WARC-Profile") == PROFILE_IDENTICAL
        assert rev.get("WARC-Refers-To") == original.get("WARC-Record-ID")
        assert rev.get("WARC-Refers-To-Target-URI") == original.get("WARC-Target-URI")
        assert rev.get("WARC-Refers-To-Date") == original.get("WARC-Date")
        assert rev.get("WARC-Payload-Digest") == original.get("WARC-Payload-Digest")
        assert rev.get("WARC-Truncated") == "length"
        assert rev.raw == b""  # head-only block
    assert off.records("revisit") == []
    assert sorted(r.get("WARC-Target-URI") or "" for r in off.records("response")) == sorted(
        [*urls, routes.url("/robots.txt")])


def test_pywb_replays_revisits_r18_r23(dedup_runs: tuple[Crawl, Crawl, Crawl],
                                       routes: RoutesServer) -> None:
    first, second, _ = dedup_runs
    dirs = sorted({p.parent for p in [*first.files, *second.files]})
    urls = [routes.url("/same-a.html"), routes.url("/same-b.html")]
    with PywbServer(dirs) as pywb:
        for crawl in (first, second):
            for url in urls:
                rec = crawl.capture(url)
                replay = pywb.get(ts14(rec.get("WARC-Date") or ""), url)
                assert replay.status == 200, (url, rec.rec_type, replay)
                assert replay.body == ROUTES["/same-a.html"], (url, rec.rec_type)


# -- R8: nothing from the HTTP cache ----------------------------------------------------------


def test_http_cache_hits_are_not_archived_r8(routes: RoutesServer,
                                             tmp_path: Path) -> None:
    paths = ["/plain.html", "/gzip.html", "/redirect/1"]
    settings = ("HTTPCACHE_ENABLED=True", f"HTTPCACHE_DIR={tmp_path / 'cache'}")
    first = crawl_routes(routes, tmp_path / "one", paths, *settings)
    second = crawl_routes(routes, tmp_path / "two", paths, *settings)
    assert first.result.returncode == 0, first.result.stderr[-3000:]
    assert second.result.returncode == 0, second.result.stderr[-3000:]
    assert len(first.records("response", "revisit")) == 6  # robots, 3 pages, 2 redirect hops
    assert second.requests == []  # all served from the cache
    assert second.records("response", "revisit", "request") == []


# -- R19: a conditional re-fetch answered 304 ------------------------------------------------


def test_not_modified_is_a_server_not_modified_revisit_r19(routes: RoutesServer,
                                                           tmp_path: Path) -> None:
    settings = ("HTTPCACHE_ENABLED=True", f"HTTPCACHE_DIR={tmp_path / 'cache'}",
                "HTTPCACHE_POLICY=scrapy.extensions.httpcache.RFC2616Policy",
                "WARC_DEDUP_ENABLED=True")
    out = tmp_path / "out"
    first = crawl_routes(routes, out, ["/etag.html"], *settings)
    second = crawl_routes(routes, out, ["/etag.html"], *settings)
    assert first.result.returncode == 0, first.result.stderr[-3000:]
    assert second.result.returncode == 0, second.result.stderr[-3000:]
    url = routes.url("/etag.html")
    original = first.capture(url)
    assert original.rec_type == "response"
    # the server was asked conditionally and said 304
    assert [h.get("If-None-Match") for p, h in second.requests if p == "/etag.html"] == [
        '"etag-v1"']
    assert [s.status for s in second.served if s.path == "/etag.html"] == [304]
    # HttpCache (below the recorder) turned it into the cached 200 for the spider
    assert "'httpcache/revalidate': 1" in second.result.stderr
    new = [r for p, recs in second.files.items() if p not in first.files for r in recs
           if r.get("WARC-Target-URI") == url and r.rec_type in CAPTURE_TYPES]
    assert len(new) == 1
    revisit = new[0]
    assert revisit.rec_type == "revisit"
    assert revisit.get("WARC-Profile") == (
        "http://netpreserve.org/warc/1.1/revisit/server-not-modified")
    assert revisit.get("WARC-Refers-To") == original.get("WARC-Record-ID")
    assert revisit.get("WARC-Refers-To-Date") == original.get("WARC-Date")
    assert revisit.http_statusline.startswith("304")
    new_file = next(p for p in second.files if p not in first.files)
    cdxj = read_cdxj(cdxj_for(new_file))
    assert any(e.fields["url"] == url and e.fields["status"] == "304" for e in cdxj)


# -- R13: credentials never archived --------------------------------------------------------


def test_http_auth_credentials_not_archived_r13(routes: RoutesServer, tmp_path: Path) -> None:
    crawl = crawl_routes(routes, tmp_path, ["/auth.html"], f"HTTPAUTH_USER={AUTH_USER}",
                         f"HTTPAUTH_PASS={AUTH_PASS}",
                         # Scrapy matches the domain against host:port
                         f"HTTPAUTH_DOMAIN={urlsplit(routes.base_url).netloc}")
    assert crawl.result.returncode == 0, crawl.result.stderr[-3000:]
    assert any(h.get("Authorization") for p, h in crawl.requests if p == "/auth.html")
    rec = crawl.capture(routes.url("/auth.html"))
    assert rec.http_statusline == "200 OK"
    assert rec.raw == ROUTES["/auth.html"]
    for req in crawl.records("request"):
        assert req.http_get_all("Authorization") == []
        assert req.http_get_all("Proxy-Authorization") == []
    token = base64.b64encode(f"{AUTH_USER}:{AUTH_PASS}".encode())
    for path in [*crawl.files, *tmp_path.glob("cdxj/**/*.cdxj")]:
        data = path.read_bytes()
        data = gzip.decompress(data) if path.suffix == ".gz" else data
        assert AUTH_PASS.encode() not in data
        assert token not in data


# -- R14: WARC-Date is the fetch start, not the scheduling time ------------------------------


def test_download_delay_spaces_warc_dates_r14(routes: RoutesServer, tmp_path: Path) -> None:
    crawl = crawl_routes(routes, tmp_path, ["/plain.html", "/gzip.html", "/cookies.html"],
                         "DOWNLOAD_DELAY=1", "RANDOMIZE_DOWNLOAD_DELAY=False",
                         "AUTOTHROTTLE_ENABLED=False", cli=False)
    assert crawl.result.returncode == 0, crawl.result.stderr[-3000:]
    dates = sorted(parse_date(r.get("WARC-Date") or "") for r in crawl.records("response"))
    assert len(dates) == 4  # robots.txt + 3 pages, one slot
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(dates)]
    assert min(gaps) >= 0.9, gaps


# -- R3: crash recovery -------------------------------------------------------------------------


def _open_records(path: Path) -> int:
    count = 0
    try:
        with path.open("rb") as fh:
            for _ in ArchiveIterator(fh):
                count += 1
    except Exception:  # noqa: S110 - a file being written may end mid-record
        pass
    return count


def test_killed_crawl_leaves_open_file_repaired_next_run_r3(
        sample_site: Any, routes: RoutesServer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    log = (tmp_path / "killed.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "crawl", sample_site.base_url + "/", "-o",
         str(out), "-s", "DOWNLOAD_DELAY=0.5", "-s", "AUTOTHROTTLE_ENABLED=False"],
        cwd=REPO, env=cli_env(), stdout=log, stderr=subprocess.STDOUT)
    log.close()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            opened = list(out.glob("**/*.warc.gz.open"))
            if opened and _open_records(opened[0]) >= 7:  # warcinfo + 3 captures
                break
            time.sleep(0.1)
    finally:
        process.kill()
        process.communicate()
    assert process.returncode != 0, (tmp_path / "killed.log").read_text()[-2000:]
    leftovers = sorted(p for p in out.rglob("*") if p.is_file() and ".warc.gz" in p.name)
    assert len(leftovers) == 1
    open_file = leftovers[0]
    assert open_file.name.endswith(".warc.gz.open")
    kept = _open_records(open_file)
    assert kept >= 7
    # a torn last write: the last record is cut short
    with open_file.open("r+b") as fh:
        fh.truncate(open_file.stat().st_size - 5)

    crawl = crawl_routes(routes, out, ["/plain.html"])
    assert crawl.result.returncode == 0, crawl.result.stderr[-3000:]
    assert not open_file.exists()
    assert [p for p in out.rglob("*") if p.name.endswith((".open", ".invalid"))] == []
    (repaired,) = [p for p in crawl.files if p.name == open_file.name.removesuffix(".open")]
    assert warcio_check([repaired])[0] == 0
    recs = crawl.files[repaired]
    assert recs[0].rec_type == "warcinfo"
    assert recs[0].get("WARC-Filename") == repaired.name
    assert 3 <= len(recs) < kept  # the torn record is cut off
    assert cdxj_for(repaired).exists()
    assert cdxj_for(repaired).parent != repaired.parent  # published as kind cdxj
    assert "repaired WARC file" in crawl.result.stderr
    assert "'warc/repaired/repaired': 1" in crawl.result.stderr
