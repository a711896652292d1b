"""WARC writing benchmark: newsarchive's ``WarcWriter`` against plain warcio.

Run with ``python -m bench.warc`` (``make bench-warc``). The pages are the HTML files of
the article-extraction benchmark (``html/*.html.gz`` and their URLs in
``ground-truth.json``), turned into ``--captures`` (default 2000) ``HttpCapture`` objects
with distinct URLs: half carry the gzip body as received plus ``Content-Encoding: gzip``,
half the plain HTML. Nothing is served; captures are built before timing.

Systems, timed in the same run on the same captures (wall clock, ``time.perf_counter``):

* ``newsarchive``: ``pipelines.warc.WarcWriter`` with rotation (``--max-size``), fsync on
  close and CDXJ sidecars (dedup off, so both sides write the same records);
* ``warcio``: one ``warcio.warcwriter.WARCWriter(gzip=True)`` writing the same
  request/response pairs (``write_request_response_pair``) to one file, no warcinfo,
  index or fsync.

Printed: records/s, captures/s, MB/s of WARC output and input body MB/s, WARC bytes per
archived page, and the ratio newsarchive/warcio. JSON goes to
``bench/results/warc-<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from io import BytesIO
from pathlib import Path
from typing import Any

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipelines.warc import HttpCapture, WarcInfo, WarcWriter

__all__ = ["SystemResult", "build_captures", "main"]

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_ENV = "NEWSARCHIVE_EXTRACT_BENCH_DIR"
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "benchmarks" / "article-extraction"
RESULTS_DIR = REPO_ROOT / "bench" / "results"
REQUEST_HEADERS = [
    ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ("Accept-Language", "en"),
    ("User-Agent", "newsarchive-bench/0.1 (+https://example.org/bot)"),
    ("Accept-Encoding", "gzip, deflate, br"),
]


@dataclass
class SystemResult:
    name: str
    seconds: float
    captures: int
    records: int
    warc_bytes: int
    body_bytes: int
    files: int

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds

    @property
    def captures_per_s(self) -> float:
        return self.captures / self.seconds

    @property
    def out_mb_per_s(self) -> float:
        return self.warc_bytes / 1e6 / self.seconds

    @property
    def in_mb_per_s(self) -> float:
        return self.body_bytes / 1e6 / self.seconds

    @property
    def bytes_per_page(self) -> float:
        return self.warc_bytes / self.captures

    def figures(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "records_per_s": round(self.records_per_s, 1),
            "captures_per_s": round(self.captures_per_s, 1),
            "out_mb_per_s": round(self.out_mb_per_s, 2),
            "in_mb_per_s": round(self.in_mb_per_s, 2),
            "bytes_per_page": round(self.bytes_per_page, 1),
        }


def load_pages(data_dir: Path) -> list[tuple[str, bytes]]:
    """``(url, html bytes)`` per benchmark page."""
    truth = json.loads((data_dir / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for path in sorted((data_dir / "html").glob("*.html.gz")):
        key = path.name.removesuffix(".html.gz")
        url = truth.get(key, {}).get("url") or f"https://news.example/{key}"
        pages.append((url, gzip.decompress(path.read_bytes())))
    if not pages:
        msg = f"no html/*.html.gz under {data_dir}"
        raise FileNotFoundError(msg)
    return pages


def build_captures(pages: list[tuple[str, bytes]], count: int) -> list[HttpCapture]:
    """``count`` captures cycling over ``pages``; even ones gzip-encoded as received."""
    gzipped = [gzip.compress(html, compresslevel=6, mtime=0) for _, html in pages]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    captures = []
    for i in range(count):
        url, html = pages[i % len(pages)]
        sep = "&" if "?" in url else "?"
        encoded = i % 2 == 0
        body = gzipped[i % len(pages)] if encoded else html
        headers = [("Content-Type", "text/html; charset=utf-8")]
        if encoded:
            headers.append(("Content-Encoding", "gzip"))
        headers += [
            ("Content-Length", str(len(body))),
            ("Set-Cookie", f"session={i}; Path=/; HttpOnly"),
            ("Set-Cookie", "consent=0; Path=/"),
            ("Cache-Control", "max-age=60"),
        ]
        captures.append(HttpCapture(
            url=f"{url}{sep}bench={i}",
            method="GET",
            status=200,
            fetch_start=start + timedelta(milliseconds=250 * i),
            request_headers=list(REQUEST_HEADERS),
            protocol="HTTP/1.1",
            response_headers=headers,
            body=body,
            ip_address="192.0.2.10",
        ))
    return captures


def run_newsarchive(captures: list[HttpCapture], out: Path, max_size: int) -> SystemResult:
    info = WarcInfo(is_part_of="bench", operator="bench", user_agent="newsarchive-bench",
                    robots="obey (protego)")
    begin = time.perf_counter()
    writer = WarcWriter(out, prefix="bench", info=info, max_size=max_size, hostname="bench")
    for capture in captures:
        writer.write_capture(capture)
    paths = writer.close()
    seconds = time.perf_counter() - begin
    stats = writer.stats
    return SystemResult("newsarchive", seconds, len(captures), stats["records"],
                        sum(p.stat().st_size for p in paths),
                        sum(len(c.body) for c in captures), len(paths))


def run_warcio(captures: list[HttpCapture], out: Path) -> SystemResult:
    path = out / "plain.warc.gz"
    begin = time.perf_counter()
    records = 0
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True, warc_version="1.1")
        for c in captures:
            http = StatusAndHeaders("200 OK", c.response_headers, protocol="HTTP/1.1")
            resp = writer.create_warc_record(
                c.url, "response", payload=BytesIO(c.body), length=len(c.body),
                http_headers=http, warc_headers_dict={"WARC-IP-Address": c.ip_address or ""},
            )
            target = c.url.split("/", 3)[-1]
            req_http = StatusAndHeaders(f"/{target} HTTP/1.1", c.request_headers,
                                        protocol=c.method)
            req = writer.create_warc_record(c.url, "request", payload=BytesIO(b""), length=0,
                                            http_headers=req_http)
            writer.write_request_response_pair(req, resp)
            records += 2
    seconds = time.perf_counter() - begin
    return SystemResult("warcio", seconds, len(captures), records, path.stat().st_size,
                        sum(len(c.body) for c in captures), 1)


def format_table(ours: SystemResult, plain: SystemResult) -> str:
    rows = [
        ("seconds", "{:.2f}", lambda r: r.seconds),
        ("records/s", "{:.0f}", lambda r: r.records_per_s),
        ("captures/s", "{:.0f}", lambda r: r.captures_per_s),
        ("WARC MB/s (out)", "{:.1f}", lambda r: r.out_mb_per_s),
        ("body MB/s (in)", "{:.1f}", lambda r: r.in_mb_per_s),
        ("WARC bytes/page", "{:.0f}", lambda r: r.bytes_per_page),
        ("files", "{:d}", lambda r: r.files),
    ]
    lines = [f"{'':18} {'newsarchive':>12} {'warcio':>12} {'ratio':>7}"]
    for label, fmt, get in rows:
        a, b = get(ours), get(plain)
        ratio = f"{a / b:.2f}" if b else "-"
        lines.append(f"{label:18} {fmt.format(a):>12} {fmt.format(b):>12} {ratio:>7}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.warc", description=__doc__.split(
        "\n", 1)[0])
    parser.add_argument("--captures", type=int, default=2000, help="captures to write")
    parser.add_argument("--max-size", type=int, default=64_000_000,
                        help="WarcWriter rotation size in bytes (default 64 MB)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help=f"benchmark data (default ${DATA_ENV} or {DEFAULT_DATA_DIR})")
    parser.add_argument("--json", type=Path, default=None, help="where to write the figures")
    parser.add_argument("--no-json", action="store_true", help="print only")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    data_dir: Path = args.data_dir or Path(os.environ.get(DATA_ENV) or DEFAULT_DATA_DIR)
    try:
        pages = load_pages(data_dir)
    except (OSError, ValueError) as exc:
        print(f"bench.warc: error: {exc}", file=sys.stderr)
        return 2
    captures = build_captures(pages, args.captures)
    print(f"{len(captures)} captures from {len(pages)} pages in {data_dir} "
          f"(half gzip-encoded), {sum(len(c.body) for c in captures) / 1e6:.0f} MB of bodies")
    with tempfile.TemporaryDirectory(prefix="bench-warc-") as tmp:
        root = Path(tmp)
        (root / "ours").mkdir()
        (root / "plain").mkdir()
        plain = run_warcio(captures, root / "plain")
        ours = run_newsarchive(captures, root / "ours", args.max_size)
    print()
    print(format_table(ours, plain))
    if not args.no_json:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        json_path: Path = args.json or RESULTS_DIR / f"warc-{stamp}.json"
        json_path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "benchmark": "warc",
            "time": stamp,
            "data_dir": str(data_dir),
            "pages": len(pages),
            "captures": len(captures),
            "max_size": args.max_size,
            "python": platform.python_version(),
            "versions": {name: version(name) for name in ("warcio", "cdxj-indexer", "scrapy")},
            "systems": {r.name: r.figures() for r in (ours, plain)},
            "ratio_newsarchive_over_warcio": {
                "records_per_s": round(ours.records_per_s / plain.records_per_s, 3),
                "out_mb_per_s": round(ours.out_mb_per_s / plain.out_mb_per_s, 3),
                "bytes_per_page": round(ours.bytes_per_page / plain.bytes_per_page, 3),
            },
        }
        json_path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"\nfigures written to {json_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
