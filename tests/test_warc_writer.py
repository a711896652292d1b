"""The Scrapy-free WARC layer (``pipelines.warc``), read back with real tools: warcio
``ArchiveIterator`` and ``warcio check``, cdxj-indexer sidecars, and pywb replay.

Requirement ids (R1-R26) refer to ``docs/warc-requirements.md``.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import random
import re
import shutil
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.warcwriter import BufferWARCWriter

from pipelines.warc import (
    CaptureRef,
    DedupIndex,
    WarcFileClosedError,
    WarcInfo,
    WarcWriter,
    records,
    repair_open_files,
    warc_file_name,
)
from pipelines.warc.records import FIDELITY, PROFILE_IDENTICAL_PAYLOAD
from tests.warc_tools import (
    PywbServer,
    ReadRecord,
    capture,
    read_cdxj,
    read_records,
    warcio_check,
)

SHA1_B32 = re.compile(r"^sha1:[A-Z2-7]{32}$")
NAME_RE = re.compile(r"^[A-Za-z0-9_-]+-\d{17}-\d{5}-[A-Za-z0-9_-]+-[a-z0-9]{6}\.warc\.gz$")
WARCINFO_ID = "<urn:uuid:00000000-0000-4000-8000-000000000001>"
HTML = b"<html><head><title>Golden</title></head><body><p>Golden article.</p></body></html>"
# gzip.compress(HTML, mtime=0), pinned so the golden digests do not depend on the zlib build
GZ_BODY = (
    b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\xb3\xc9(\xc9\xcd\xb1\xb3\xc9HML\xb1\xb3)\xc9,"
    b"\xc9I\xb5s\xcf\xcfII\xcd\xb3\xd1\x87\xf0l\xf4!rI\xf9)\x95v6\x05PY\x85\xc4\xa2\x92\xcc"
    b"\xe4\x9cT=\x1b\xfd\x02\xa0\x12\x88\xa4>\xd8,\x00Q\xe6\xddrR\x00\x00\x00"
)
INFO = WarcInfo(
    is_part_of="newsarchive-test",
    operator="Test Operator <ops@example.org>",
    user_agent="newsarchive-test/0.1 (+https://example.org/bot)",
    robots="obey (protego)",
    description="unit test crawl",
    http_from="ops@example.org",
)


def _id(n: int) -> str:
    return f"<urn:uuid:00000000-0000-4000-8000-{n:012d}>"


def _serialise(record: Any) -> bytes:
    writer = BufferWARCWriter(gzip=False, warc_version="1.1")
    try:
        writer.write_record(record)
        return bytes(writer.get_contents())
    finally:
        writer.out.close()


def _sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()  # noqa: S324


def _writer(tmp_path: Path, **kw: Any) -> WarcWriter:
    kw.setdefault("hostname", "crawl-1.example.org")
    return WarcWriter(tmp_path, prefix="test", info=INFO, **kw)


def _assert_sidecar_is_cdxj_indexers(warc: Path, tmp_path: Path) -> None:
    """The sidecar made while writing is the one cdxj-indexer makes from the closed file."""
    from pipelines.warc import index_warc, sidecar_path

    copy = tmp_path / "reindexed" / warc.name
    copy.parent.mkdir(exist_ok=True)
    shutil.copy(warc, copy)
    assert index_warc(copy).read_bytes() == sidecar_path(warc).read_bytes()


def _all_records(paths: list[Path]) -> dict[str, list[ReadRecord]]:
    return {p.name: read_records(p) for p in paths}


class Clock:
    def __init__(self, start: float = 1_780_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


# -- R2 names -----------------------------------------------------------------------------


def test_file_names_r2() -> None:
    when = datetime(2026, 3, 4, 5, 6, 7, 891234, tzinfo=UTC)
    name = warc_file_name("news crawl/x:1", when, 7, "crawl-3.dc1.example.org", "ab12cd")
    assert name == "news-crawl-x-1-20260304050607891-00007-crawl-3-ab12cd.warc.gz"
    assert NAME_RE.match(name)
    # random token by default: two writers at one fixed time differ
    assert warc_file_name("p", when, 0, "h") != warc_file_name("p", when, 0, "h")
    with pytest.raises(ValueError, match="prefix"):
        warc_file_name("///", when, 0, "h")


# -- golden records (pinned ids and dates) -------------------------------------------------


def test_golden_gzip_response_with_repeated_headers_r9_r12() -> None:
    assert gzip.decompress(GZ_BODY) == HTML
    cap = capture(
        "http://news.example/a/golden.html",
        response_headers=[
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Encoding", "gzip"),
            ("Content-Length", str(len(GZ_BODY))),
            ("Set-Cookie", "a=1; Path=/"),
            ("Set-Cookie", "b=2; Path=/"),
            ("X-Dup", "one"),
            ("X-Dup", "two"),
        ],
        body=GZ_BODY,
    )
    record = records.response_record(
        cap, record_id=_id(2), date=records.warc_date(cap.fetch_start), warcinfo_id=WARCINFO_ID
    )
    head = (
        b"WARC/1.1\r\n"
        b"WARC-Type: response\r\n"
        b"WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000002>\r\n"
        b"WARC-Date: 2026-03-04T05:06:07.123456Z\r\n"
        b"WARC-Target-URI: http://news.example/a/golden.html\r\n"
        b"WARC-IP-Address: 127.0.0.1\r\n"
        b"WARC-Warcinfo-ID: <urn:uuid:00000000-0000-4000-8000-000000000001>\r\n"
        b"WARC-Payload-Digest: sha1:6KOG5JRPLHYSST2EC3JHTQCADUXUHFN5\r\n"
        b"WARC-Block-Digest: sha1:UKSRPMCMSIIIXDBMWKX2VDFKHLLQ7MX3\r\n"
        b"Content-Type: application/http; msgtype=response\r\n"
        b"Content-Length: 257\r\n"
        b"\r\n"
        b"HTTP/1.1 200 OK\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n"
        b"Content-Encoding: gzip\r\n"
        b"Content-Length: 80\r\n"
        b"Set-Cookie: a=1; Path=/\r\n"
        b"Set-Cookie: b=2; Path=/\r\n"
        b"X-Dup: one\r\n"
        b"X-Dup: two\r\n"
        b"\r\n"
    )
    assert _serialise(record) == head + GZ_BODY + b"\r\n\r\n"
    # payload digest = the gzip bytes as stored (R16)
    assert _sha1_b32(GZ_BODY) == "sha1:6KOG5JRPLHYSST2EC3JHTQCADUXUHFN5"


def test_golden_redirect_with_query_and_request_r13_r14() -> None:
    cap = capture(
        "http://127.0.0.1:8123/redirect?to=%2Fa%2Fb&x=1",
        status=302,
        response_headers=[("Location", "http://127.0.0.1:8123/a/b"), ("Content-Length", "0")],
        body=b"",
        request_headers=[
            ("Accept", "text/html"),
            ("Accept-Encoding", "gzip, deflate, br"),
            ("Cookie", "sid=secret"),
            ("Authorization", "Basic c2VjcmV0"),
            ("Proxy-Authorization", "Basic c2VjcmV0"),
        ],
    )
    date = records.warc_date(cap.fetch_start)
    response = records.response_record(cap, record_id=_id(3), date=date,
                                       warcinfo_id=WARCINFO_ID)
    request = records.request_record(cap, record_id=_id(4), date=date, warcinfo_id=WARCINFO_ID,
                                     concurrent_to=_id(3))
    assert _serialise(response) == (
        b"WARC/1.1\r\n"
        b"WARC-Type: response\r\n"
        b"WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000003>\r\n"
        b"WARC-Date: 2026-03-04T05:06:07.123456Z\r\n"
        b"WARC-Target-URI: http://127.0.0.1:8123/redirect?to=%2Fa%2Fb&x=1\r\n"
        b"WARC-IP-Address: 127.0.0.1\r\n"
        b"WARC-Warcinfo-ID: <urn:uuid:00000000-0000-4000-8000-000000000001>\r\n"
        b"WARC-Payload-Digest: sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ\r\n"
        b"WARC-Block-Digest: sha1:W3NZRBUVWQBBJYT6EQEQZVTICWYVBU3M\r\n"
        b"Content-Type: application/http; msgtype=response\r\n"
        b"Content-Length: 78\r\n"
        b"\r\n"
        b"HTTP/1.1 302 Found\r\n"
        b"Location: http://127.0.0.1:8123/a/b\r\n"
        b"Content-Length: 0\r\n"
        b"\r\n"
        b"\r\n"
        b"\r\n"
    )
    assert _serialise(request) == (
        b"WARC/1.1\r\n"
        b"WARC-Type: request\r\n"
        b"WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000004>\r\n"
        b"WARC-Date: 2026-03-04T05:06:07.123456Z\r\n"
        b"WARC-Target-URI: http://127.0.0.1:8123/redirect?to=%2Fa%2Fb&x=1\r\n"
        b"WARC-IP-Address: 127.0.0.1\r\n"
        b"WARC-Warcinfo-ID: <urn:uuid:00000000-0000-4000-8000-000000000001>\r\n"
        b"WARC-Concurrent-To: <urn:uuid:00000000-0000-4000-8000-000000000003>\r\n"
        b"WARC-Payload-Digest: sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ\r\n"
        b"WARC-Block-Digest: sha1:DLRGT4KCW4KSDXZORAZTQMZFFHCLOOLI\r\n"
        b"Content-Type: application/http; msgtype=request\r\n"
        b"Content-Length: 119\r\n"
        b"\r\n"
        b"GET /redirect?to=%2Fa%2Fb&x=1 HTTP/1.1\r\n"
        b"Host: 127.0.0.1:8123\r\n"
        b"Accept: text/html\r\n"
        b"Accept-Encoding: gzip, deflate, br\r\n"
        b"\r\n"
        b"\r\n"
        b"\r\n"
    )


# -- R11 status lines, R13 request records ---------------------------------------------------


@pytest.mark.parametrize(
    ("status", "protocol", "line", "warc_protocol"),
    [
        (404, "HTTP/1.1", b"HTTP/1.1 404 Not Found\r\n", None),
        (599, "HTTP/1.1", b"HTTP/1.1 599 \r\n", None),
        (200, "h2", b"HTTP/1.1 200 OK\r\n", "h2"),
        (200, "HTTP/1.0", b"HTTP/1.0 200 OK\r\n", None),
        (200, None, b"HTTP/1.1 200 OK\r\n", None),
    ],
)
def test_status_line_r11(
    tmp_path: Path, status: int, protocol: str | None, line: bytes, warc_protocol: str | None
) -> None:
    with _writer(tmp_path) as writer:
        writer.write_capture(capture(status=status, protocol=protocol))
    (path,) = writer.published
    response = next(r for r in read_records(path) if r.rec_type == "response")
    assert response.get("WARC-Protocol") == warc_protocol
    # warcio's parser strips the status line, so look at the stored member itself
    member = gzip.decompress(path.read_bytes()[response.offset:response.offset + response.length])
    assert b"\r\n\r\n" + line in member
    assert response.http_protocol == line.split(b" ")[0].decode()
    assert response.http_statusline == line.decode().split(" ", 1)[1].strip()
    assert b"HTTP/2" not in gzip.decompress(path.read_bytes())


@pytest.mark.parametrize("keep", [False, True])
def test_request_credentials_host_and_post_body_r13(tmp_path: Path, keep: bool) -> None:
    cap = capture(
        "https://news.example:443/search?q=a+b",
        method="POST",
        request_headers=[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", "sid=1"),
            ("Authorization", "Basic dTpw"),
            ("Proxy-Authorization", "Basic cDpw"),
        ],
        request_body=b"q=a+b&page=2",
    )
    with _writer(tmp_path, keep_credentials=keep) as writer:
        writer.write_capture(cap)
    request = next(r for r in read_records(writer.published[0]) if r.rec_type == "request")
    assert request.http_protocol == "POST"
    assert request.http_statusline == "/search?q=a+b HTTP/1.1"
    assert request.http_get_all("Host") == ["news.example"]  # default port left out
    assert request.http_get_all("Content-Length") == ["12"]
    assert request.raw == b"q=a+b&page=2"
    assert request.http_get_all("Proxy-Authorization") == []
    assert bool(request.http_get_all("Authorization")) is keep
    assert bool(request.http_get_all("Cookie")) is keep
    # R23: the sidecar is built with post-append, so the POST capture is addressable
    (line,) = read_cdxj(writer.published[0].with_name(
        writer.published[0].name.removesuffix(".warc.gz") + ".cdxj"))
    assert line.fields["method"] == "POST"
    assert line.fields["requestBody"] == "q=a b&page=2"
    assert "__wb_method=post" in line.urlkey


# -- a full file: R1, R5, R7, R14, R16, R20-R22 ---------------------------------------------


def test_file_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_read_back(*_: Any, **__: Any) -> Path:
        raise AssertionError("a file of GET captures is indexed as it is written")

    monkeypatch.setattr("pipelines.warc.writer.index_warc", no_read_back)
    published: list[tuple[Path, Path | None]] = []
    writer = _writer(tmp_path, on_published=lambda w, c: published.append((w, c)))
    gz = capture("http://news.example/a/gz?id=1", body=GZ_BODY, response_headers=[
        ("Content-Type", "text/html"), ("Content-Encoding", "gzip"),
        ("Content-Length", str(len(GZ_BODY))),
        ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"),
    ])
    chunked = capture("http://news.example/a/chunked", response_headers=[
        ("Content-Type", "text/html"), ("Transfer-Encoding", "chunked"),
    ])
    redirect = capture("http://news.example/old?x=1", status=302,
                       response_headers=[("Location", "http://news.example/a/gz?id=1")], body=b"")
    trunc = capture("http://news.example/big", body=b"x" * 100, truncated="length")
    ref_gz = writer.write_capture(gz, hold=True)
    ref_chunked = writer.write_capture(chunked)
    ref_redirect = writer.write_capture(redirect)
    ref_trunc = writer.write_capture(trunc)
    ids = writer.write_extraction(ref_gz, text="Golden article.", language="en",
                                  fields=[("title", "Golden"), ("hopsFromSeed", "L")])
    assert len(ids) == 2
    # mid-crawl only the .open file exists (R3)
    assert [p.name for p in tmp_path.iterdir()] == [ref_gz.filename + ".open"]
    assert writer.close() == [tmp_path / ref_gz.filename]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [ref_gz.filename, ref_gz.filename.removesuffix(".warc.gz") + ".cdxj"]
    )
    warc = tmp_path / ref_gz.filename
    cdxj_path = tmp_path / (ref_gz.filename.removesuffix(".warc.gz") + ".cdxj")
    assert published == [(warc, cdxj_path)]
    assert NAME_RE.match(warc.name) and "-crawl-1-" in warc.name

    code, output = warcio_check([warc])
    assert code == 0, output
    assert "digest pass" in output

    recs = read_records(warc)
    assert [r.rec_type for r in recs] == [
        "warcinfo", "response", "request", "response", "request", "response", "request",
        "response", "request", "conversion", "metadata",
    ]
    # R1: every record starts a gzip member that holds exactly that one record
    data = warc.read_bytes()
    for rec in recs:
        member = data[rec.offset:rec.offset + rec.length]
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        inflater.decompress(member)
        assert inflater.eof and not inflater.unused_data
        assert len(list(ArchiveIterator(io.BytesIO(member)))) == 1
    assert sum(r.length for r in recs) == len(data)

    # R5/R7: warcinfo first, all fields, final name, its id on every later record
    info = recs[0]
    assert info.get("WARC-Filename") == warc.name
    fields = dict(line.split(": ", 1) for line in info.raw.decode().splitlines())
    assert fields == {
        "software": records.default_software(),
        "format": "WARC File Format 1.1",
        "conformsTo":
            "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        "isPartOf": INFO.is_part_of,
        "description": INFO.description,
        "operator": INFO.operator,
        "robots": INFO.robots,
        "http-header-user-agent": INFO.user_agent,
        "http-header-from": "ops@example.org",
        "hostname": "crawl-1.example.org",
        "http-fidelity": FIDELITY,
    }
    from importlib.metadata import version

    assert f"Scrapy/{version('scrapy')}" in fields["software"]
    assert f"warcio/{version('warcio')}" in fields["software"]
    info_id = info.get("WARC-Record-ID")
    assert all(r.get("WARC-Warcinfo-ID") == info_id for r in recs[1:])

    # R14/R16: pairs linked, one date, unique ids, digests in form and recomputed
    by_id = {r.get("WARC-Record-ID"): r for r in recs}
    assert len(by_id) == len(recs)
    for rec in recs:
        assert rec.get("WARC-Type") == rec.rec_type
        assert rec.headers[0] == ("WARC-Type", rec.rec_type) or rec.rec_type == "warcinfo"
        assert SHA1_B32.match(rec.get("WARC-Block-Digest") or "")
        assert rec.digest_passed is True
        if rec.rec_type in ("response", "conversion"):
            assert SHA1_B32.match(rec.get("WARC-Payload-Digest") or "")
            assert rec.get("WARC-Payload-Digest") == _sha1_b32(rec.raw)
    for req in (r for r in recs if r.rec_type == "request"):
        resp = by_id[req.get("WARC-Concurrent-To")]
        assert resp.rec_type == "response"
        assert resp.get("WARC-Date") == req.get("WARC-Date") == "2026-03-04T05:06:07.123456Z"
        assert resp.get("WARC-Target-URI") == req.get("WARC-Target-URI")
        assert req.get("WARC-IP-Address") == resp.get("WARC-IP-Address") == "127.0.0.1"

    # R9: gzip body stored as received, digest over gzip bytes, decodes to the HTML
    gz_rec = by_id[ref_gz.record_id]
    assert gz_rec.raw == GZ_BODY and gz_rec.decoded == HTML
    assert gz_rec.http_get_all("Set-Cookie") == ["a=1", "b=2"]
    assert ref_gz.payload_digest == _sha1_b32(GZ_BODY)
    # R10: no Transfer-Encoding, no invented Content-Length
    ch = by_id[ref_chunked.record_id]
    assert ch.http_get_all("Transfer-Encoding") == []
    assert ch.http_get_all("Content-Length") == []
    assert ch.http_get_all("X-Crawler-Transfer-Encoding") == ["chunked"]
    # R15
    assert by_id[ref_trunc.record_id].get("WARC-Truncated") == "length"
    assert by_id[ref_gz.record_id].get("WARC-Truncated") is None

    # R20/R21: conversion + metadata refer to the response
    conv, meta = recs[-2], recs[-1]
    assert conv.get("WARC-Refers-To") == meta.get("WARC-Refers-To") == ref_gz.record_id
    assert conv.get("WARC-Concurrent-To") is None
    assert conv.get("WARC-Date") == ref_gz.warc_date
    assert conv.get("Content-Type") == "text/plain; charset=utf-8"
    assert conv.get("WARC-Identified-Content-Language") == "en"
    assert conv.raw == b"Golden article."
    assert meta.get("Content-Type") == "application/warc-fields"
    meta_fields = dict(line.split(": ", 1) for line in meta.raw.decode().splitlines())
    assert meta_fields["title"] == "Golden"
    assert meta_fields["extractor"].startswith("trafilatura/")

    # R22: sidecar byte-sorted; one line per response/revisit with offset/length/file
    lines = read_cdxj(cdxj_path)
    assert [ln.raw for ln in lines] == sorted(ln.raw for ln in lines)
    responses = [r for r in recs if r.rec_type in ("response", "revisit")]
    assert len(lines) == len(responses)
    got = {(ln.fields["url"], int(ln.fields["offset"]), int(ln.fields["length"]),
            ln.fields["filename"]) for ln in lines}
    assert got == {(r.get("WARC-Target-URI"), r.offset, r.length, warc.name) for r in responses}
    refs = {(r.url, r.offset, r.length, r.filename)
            for r in (ref_gz, ref_chunked, ref_redirect, ref_trunc)}
    assert refs == got
    assert {ln.fields["status"] for ln in lines} == {"200", "302"}
    _assert_sidecar_is_cdxj_indexers(warc, tmp_path)


def test_extraction_needs_hold_once_file_closed(tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    ref = writer.write_capture(capture())
    writer.rotate()
    with pytest.raises(WarcFileClosedError):
        writer.write_extraction(ref, text="late")
    writer.close()


def test_no_dedup_index_no_revisits_and_ipv6_canonical(tmp_path: Path) -> None:
    with _writer(tmp_path) as writer:
        first = writer.write_capture(capture("http://news.example/1"))
        second = writer.write_capture(capture("http://news.example/2",
                                              ip_address="2001:DB8:0:0:0:0:0:1"))
    assert first.payload_digest == second.payload_digest
    assert not second.is_revisit and writer.stats["revisits"] == 0
    recs = read_records(writer.published[0])
    assert [r.get("WARC-IP-Address") for r in recs if r.rec_type == "response"] == [
        "127.0.0.1", "2001:db8::1"]


# -- R4 rotation ----------------------------------------------------------------------------


def test_rotation_keeps_capture_groups_together_r4(tmp_path: Path) -> None:
    max_size = 3000
    writer = _writer(tmp_path, max_size=max_size)
    big = random.Random(5).randbytes(10_000)  # incompressible: an oversize capture
    pending: list[CaptureRef] = []
    refs = []
    for i in range(12):
        body = big if i == 5 else f"<p>article {i}</p>".encode() * 20
        ref = writer.write_capture(capture(f"http://news.example/{i}", body=body), hold=True)
        assert ref.held
        refs.append(ref)
        pending.append(ref)
        if len(pending) == 3:  # extraction results arrive after later captures rotated
            for held in pending:
                writer.write_extraction(held, text=f"text of {held.url}",
                                        fields=[("title", held.url)])
            pending.clear()
        assert len(writer.open_files) <= 4
    for held in pending:
        writer.release(held)
    paths = writer.close()
    assert len(paths) >= 4
    assert [p.name for p in tmp_path.glob("*.open")] == []
    assert writer.stats["files"] == len(paths)
    code, output = warcio_check(paths)
    assert code == 0, output

    serials = [int(p.name.split("-")[2]) for p in paths]
    assert sorted(serials) == list(range(len(paths)))
    for name, recs in _all_records(paths).items():
        assert recs[0].rec_type == "warcinfo"
        ids = {r.get("WARC-Record-ID") for r in recs}
        for rec in recs:
            for link in ("WARC-Concurrent-To", "WARC-Refers-To"):
                if rec.get(link):
                    assert rec.get(link) in ids, f"{rec.rec_type} in {name} links out"
        captures = [r for r in recs if r.rec_type == "response"]
        # the size is checked before each capture group: the groups pass the limit only in
        # a single-capture file; extraction records of held captures may be appended later
        groups_end = max(r.offset + r.length for r in recs if r.rec_type in
                         ("warcinfo", "response", "request"))
        if groups_end > max_size:
            assert len(captures) == 1, name
    for ref in refs:
        recs = read_records(tmp_path / ref.filename)
        assert ref.record_id in {r.get("WARC-Record-ID") for r in recs}
        types = [r.rec_type for r in recs if ref.record_id in
                 (r.get("WARC-Record-ID"), r.get("WARC-Concurrent-To"), r.get("WARC-Refers-To"))]
        assert sorted(types) == ["conversion", "metadata", "request", "response"]
    big_ref = refs[5]
    big_recs = read_records(tmp_path / big_ref.filename)
    assert [r.get("WARC-Target-URI") for r in big_recs if r.rec_type == "response"] == [
        big_ref.url
    ]


def test_rotation_on_max_age_with_injected_clock_r4(tmp_path: Path) -> None:
    clock = Clock()
    writer = _writer(tmp_path, max_age=60, clock=clock)
    first = writer.write_capture(capture("http://news.example/1"))
    clock.now += 59
    second = writer.write_capture(capture("http://news.example/2"))
    clock.now += 1
    third = writer.write_capture(capture("http://news.example/3"))
    paths = writer.close()
    assert first.filename == second.filename != third.filename
    assert [p.name for p in paths] == [first.filename, third.filename]
    opened = datetime.fromtimestamp(clock.now, UTC)
    assert opened.strftime("%Y%m%d%H%M%S") in third.filename
    info = read_records(paths[1])[0]
    assert info.get("WARC-Date") == records.warc_date(opened)


# -- R18/R19 dedup and pywb replay (R23) -----------------------------------------------------


def test_dedup_revisits_across_runs_replay_in_pywb(tmp_path: Path) -> None:
    db = tmp_path / "dedup.sqlite"
    out = tmp_path / "warcs"
    t0 = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
    t1 = t0 + timedelta(hours=1)
    page = b"<html><body><p>The same article bytes.</p></body></html>" * 5
    html = [("Content-Type", "text/html; charset=utf-8")]

    dedup = DedupIndex(db)
    with _writer(out, dedup=dedup) as run1:
        original = run1.write_capture(
            capture("http://news.example/a", fetch_start=t0, body=page, response_headers=html))
        # same run, same bytes at another URL: revisit of a not yet published original
        same_run = run1.write_capture(
            capture("http://news.example/a-copy", fetch_start=t0 + timedelta(seconds=5),
                    body=page, response_headers=html))
    dedup.close()
    assert not original.is_revisit and same_run.is_revisit

    dedup = DedupIndex(db)  # a second run reopens the index
    assert len(dedup) == 1
    with _writer(out, dedup=dedup) as run2:
        again = run2.write_capture(
            capture("http://news.example/a", fetch_start=t1, body=page, response_headers=html))
        other = run2.write_capture(
            capture("http://news.example/b", fetch_start=t1 + timedelta(seconds=5), body=page,
                    response_headers=html))
        not_2xx = run2.write_capture(
            capture("http://news.example/gone", status=404, body=page, response_headers=html))
        empty = run2.write_capture(capture("http://news.example/e", body=b""))
        empty2 = run2.write_capture(capture("http://news.example/e2", body=b""))
        not_modified = run2.write_capture(capture(
            "http://news.example/a", status=304, fetch_start=t1 + timedelta(seconds=9),
            body=b"", response_headers=[("ETag", '"v1"')],
            request_headers=[("If-None-Match", '"v1"')]))
    dedup.close()
    assert again.is_revisit and other.is_revisit and not_modified.is_revisit
    assert not (not_2xx.is_revisit or empty.is_revisit or empty2.is_revisit)
    assert run2.stats["revisits"] == 3

    paths = sorted(out.glob("*.warc.gz"))
    code, output = warcio_check(paths)
    assert code == 0, output
    recs = [r for recs in _all_records(paths).values() for r in recs]
    by_id = {r.get("WARC-Record-ID"): r for r in recs}
    for ref in (same_run, again, other):
        rev = by_id[ref.record_id]
        assert rev.rec_type == "revisit"
        assert rev.get("WARC-Profile") == PROFILE_IDENTICAL_PAYLOAD
        assert rev.get("WARC-Payload-Digest") == original.payload_digest == _sha1_b32(page)
        assert rev.get("WARC-Refers-To") == original.record_id
        assert rev.get("WARC-Refers-To-Target-URI") == "http://news.example/a"
        assert rev.get("WARC-Refers-To-Date") == original.warc_date
        assert rev.get("WARC-Truncated") == "length"
        assert rev.raw == b""  # head-only block
        assert rev.http_get_all("Content-Type") == ["text/html; charset=utf-8"]
        assert any(r.rec_type == "request" and r.get("WARC-Concurrent-To") == ref.record_id
                   for r in recs)
    nm = by_id[not_modified.record_id]
    assert nm.get("WARC-Profile") == records.PROFILE_SERVER_NOT_MODIFIED
    assert nm.get("WARC-Refers-To") == original.record_id
    assert nm.get("WARC-Refers-To-Date") == original.warc_date
    assert nm.http_statusline == "304 Not Modified"
    assert nm.get("WARC-Payload-Digest") is None

    for path in paths:  # run 1 indexed while writing, run 2 (a 304) read back
        _assert_sidecar_is_cdxj_indexers(path, tmp_path)
    cdx = [ln for p in out.glob("*.cdxj") for ln in read_cdxj(p)]
    revisit_lines = [ln for ln in cdx if ln.fields["mime"] == "warc/revisit"]
    assert len(revisit_lines) == 4  # 3 identical-payload + the 304

    with PywbServer(out) as pywb:
        for ref in (original, same_run, again, other):
            ts = ref.warc_date[:19].replace("-", "").replace("T", "").replace(":", "")
            replay = pywb.get(ts, ref.url)
            assert replay.status == 200, (ref, replay)
            assert replay.body == page
            assert "Memento-Datetime" in replay.headers
        ts = not_modified.warc_date[:19].replace("-", "").replace("T", "").replace(":", "")
        nm_replay = pywb.get(ts, not_modified.url)
        # pywb replays a server-not-modified revisit as the archived 304 (R19)
        assert nm_replay.status == 304
        assert nm_replay.headers["X-Archive-Orig-ETag"] == '"v1"'


def test_pywb_replays_gzip_redirect_and_query(tmp_path: Path) -> None:
    with _writer(tmp_path) as writer:
        gz = writer.write_capture(capture(
            "http://news.example/a/gz?id=1", body=GZ_BODY,
            response_headers=[("Content-Type", "text/html"), ("Content-Encoding", "gzip"),
                              ("Content-Length", str(len(GZ_BODY)))]))
        redirect = writer.write_capture(capture(
            "http://news.example/old?x=1", status=302, body=b"",
            response_headers=[("Location", "http://news.example/a/gz?id=1"),
                              ("Content-Length", "0")]))
    ts = "20260304050607"
    with PywbServer(tmp_path) as pywb:
        page = pywb.get(ts, gz.url)
        assert page.status == 200
        assert page.body == HTML  # pywb decodes per Content-Encoding (R9, R23)
        moved = pywb.get(ts, redirect.url)
        assert moved.status == 302
        assert moved.headers["Location"].endswith("/a/gz?id=1")


# -- R3 repair ------------------------------------------------------------------------------


def test_repair_cuts_truncated_open_file_and_invalidates_garbage(tmp_path: Path) -> None:
    src = tmp_path / "src"
    crash = tmp_path / "crash"
    crash.mkdir()
    writer = _writer(src)
    refs = [writer.write_capture(capture(f"http://news.example/{i}", body=bytes(range(256)) * 8))
            for i in range(3)]
    (open_path,) = writer.open_files
    data = open_path.read_bytes()
    writer.close()
    cut = refs[2].offset + refs[2].length // 2  # mid-way through the third response
    name = refs[0].filename
    (crash / (name + ".open")).write_bytes(data[:cut])
    garbage = warc_file_name("test", datetime(2026, 1, 1, tzinfo=UTC), 9, "h", "zzzzzz")
    (crash / (garbage + ".open")).write_bytes(b"not a warc at all " * 50)

    published: list[Path] = []
    outcomes = repair_open_files(crash, on_published=lambda w, _c: published.append(w))
    by_status = {o.status: o for o in outcomes}
    assert set(by_status) == {"repaired", "invalid"}
    repaired = by_status["repaired"]
    assert repaired.path == crash / name and published == [crash / name]
    assert repaired.records == 5  # warcinfo + two complete capture groups
    assert repaired.path.stat().st_size == refs[2].offset
    assert by_status["invalid"].path == crash / (garbage + ".invalid")
    assert list(crash.glob("*.open")) == []

    code, output = warcio_check([repaired.path])
    assert code == 0, output
    recs = read_records(repaired.path)
    assert [r.rec_type for r in recs] == ["warcinfo", "response", "request", "response",
                                          "request"]
    lines = read_cdxj(repaired.path.with_name(name.removesuffix(".warc.gz") + ".cdxj"))
    assert {ln.fields["url"] for ln in lines} == {refs[0].url, refs[1].url}


def test_content_coded_payloads_are_stored_not_deflated_again_r1(tmp_path: Path) -> None:
    """A gzip or br body does not deflate again: its record's gzip member keeps it in
    stored blocks (the WARC and HTTP heads still deflated), and every reader still sees one
    gzip member per record with the body as received."""
    rng = random.Random(3)
    html = b"".join(b"<p>%d %s</p>" % (i, rng.choice([b"news", b"court", b"vote", b"storm"]))
                    for i in range(20_000))
    coded = gzip.compress(html)
    writer = _writer(tmp_path)
    gz = writer.write_capture(capture("http://news.example/gz", body=coded, response_headers=[
        ("Content-Type", "text/html"), ("Content-Encoding", "gzip"),
        ("Content-Length", str(len(coded)))]))
    plain = writer.write_capture(capture("http://news.example/plain", body=html,
                                         response_headers=[("Content-Type", "text/html")]))
    [path] = writer.close()
    data = path.read_bytes()
    gz_member = data[gz.offset:gz.offset + gz.length]
    plain_member = data[plain.offset:plain.offset + plain.length]
    assert len(coded) < len(gz_member) < len(coded) + 1000  # stored, heads compressed
    assert len(plain_member) < len(html) // 3  # deflated
    record = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(gz_member)
    assert record.startswith(b"WARC/1.1\r\n") and record.endswith(coded + b"\r\n\r\n")
    code, output = warcio_check([path])
    assert code == 0, output
    responses = {dict(r.headers)["WARC-Target-URI"]: r for r in read_records(path)
                 if r.rec_type == "response"}
    assert responses["http://news.example/gz"].raw == coded
    assert responses["http://news.example/gz"].decoded == html
    assert responses["http://news.example/plain"].raw == html
    # the member as gzip.decompress and a streaming reader see it
    from pipelines.warc.writer import gzip_member

    assert gzip.decompress(gz_member) == record
    member = gzip_member(b"head\r\n\r\n" + coded, stored_from=8)
    assert gzip.decompress(member) == b"head\r\n\r\n" + coded
