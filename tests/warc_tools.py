"""Helpers for the WARC tests: read files back with warcio, check them with ``warcio check``,
parse CDXJ sidecars, and replay them through pywb (``wayback``) on 127.0.0.1.

Nothing here parses WARC bytes by hand: warcio, cdxj-indexer and pywb do the reading.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from warcio.archiveiterator import ArchiveIterator
from warcio.cli import main as warcio_main

from pipelines.warc.compat import install_brotli_for_warcio

# warcio's br support expects brotlipy; Scrapy needs Google's brotli (see the module)
install_brotli_for_warcio()

__all__ = [
    "CdxjLine",
    "PywbServer",
    "ReadRecord",
    "Replay",
    "capture",
    "cdxj_for",
    "read_blocks",
    "read_cdxj",
    "read_records",
    "warcio_check",
]

COLLECTION = "archive"


def capture(url: str = "http://example.com/", **kw: Any) -> Any:
    """An :class:`HttpCapture` with test defaults (GET, 200, 127.0.0.1, a pinned time)."""
    from pipelines.warc import HttpCapture

    defaults: dict[str, Any] = {
        "method": "GET",
        "status": 200,
        "fetch_start": datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC),
        "request_headers": [("Accept", "text/html"), ("User-Agent", "newsarchive-test")],
        "response_headers": [("Content-Type", "text/html; charset=utf-8")],
        "body": b"<html><body>hello</body></html>",
        "ip_address": "127.0.0.1",
        "protocol": "HTTP/1.1",
    }
    defaults.update(kw)
    return HttpCapture(url=url, **defaults)


@dataclass
class ReadRecord:
    """One record as warcio read it."""

    rec_type: str
    headers: list[tuple[str, str]]
    http_headers: list[tuple[str, str]] | None
    http_protocol: str | None
    http_statusline: str | None
    raw: bytes  # the payload as stored (after the HTTP head, content coding kept)
    decoded: bytes  # warcio's content_stream(): content coding removed
    offset: int
    length: int
    filename: str
    digest_passed: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def http_get_all(self, name: str) -> list[str]:
        return [v for k, v in self.http_headers or [] if k.lower() == name.lower()]


def read_records(path: Path) -> list[ReadRecord]:
    """Every record of a WARC file, via ``ArchiveIterator(check_digests=True)``."""
    out = []
    with path.open("rb") as fh:
        iterator = ArchiveIterator(fh, check_digests=True)
        for record in iterator:
            http = record.http_headers
            raw = record.raw_stream.read()
            decoded = b""
            if record.rec_type != "revisit":
                # a second pass for the decoded body: warcio decodes per Content-Encoding
                decoded = _decoded(path, iterator.get_record_offset())
            iterator.read_to_end()
            out.append(ReadRecord(
                rec_type=record.rec_type,
                headers=list(record.rec_headers.headers),
                http_headers=list(http.headers) if http else None,
                http_protocol=http.protocol if http else None,
                http_statusline=http.statusline if http else None,
                raw=raw,
                decoded=decoded,
                offset=iterator.get_record_offset(),
                length=iterator.get_record_length(),
                filename=path.name,
                digest_passed=record.digest_checker.passed,
            ))
    return out


def _decoded(path: Path, offset: int) -> bytes:
    with path.open("rb") as fh:
        fh.seek(offset)
        record = next(iter(ArchiveIterator(fh)))
        return bytes(record.content_stream().read())


def warcio_check(paths: Iterable[Path]) -> tuple[int, str]:
    """``warcio check -v <paths>`` in process: (exit code, output)."""
    out = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out):
        try:
            warcio_main(["check", "-v", *map(str, paths)])
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue()


@dataclass(frozen=True)
class CdxjLine:
    urlkey: str
    timestamp: str
    fields: dict[str, str]
    raw: bytes


def wayback_command() -> Path:
    """pywb's ``wayback`` from its own virtualenv (``make test`` creates ``.venv-pywb``;
    ``$NEWSARCHIVE_WAYBACK`` overrides)."""
    configured = os.environ.get("NEWSARCHIVE_WAYBACK")
    path = Path(configured) if configured else (
        Path(__file__).resolve().parent.parent / ".venv-pywb" / "bin" / "wayback")
    if not path.exists():
        msg = f"pywb's wayback not found at {path}: run `make .venv-pywb/.installed-stamp`"
        raise FileNotFoundError(msg)
    return path


def cdxj_for(warc: Path) -> Path:
    """The CDXJ sidecar of a WARC: ``cdxj/…`` beside ``warc/…`` in a published archive,
    else next to the file (as the writer leaves it)."""
    name = warc.name.removesuffix(".warc.gz") + ".cdxj"
    parts = warc.parts
    if "warc" in parts[:-1]:
        index = len(parts) - 1 - parts[::-1].index("warc", 1)
        published = Path(*parts[:index], "cdxj", *parts[index + 1:-1], name)
        if published.exists():
            return published
    return warc.with_name(name)


def read_cdxj(path: Path) -> list[CdxjLine]:
    lines = []
    for raw in path.read_bytes().splitlines():
        urlkey, timestamp, data = raw.decode("utf-8").split(" ", 2)
        lines.append(CdxjLine(urlkey, timestamp, json.loads(data), raw))
    return lines


@dataclass(frozen=True)
class Replay:
    status: int
    headers: dict[str, str]
    body: bytes


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PywbServer:
    """pywb's ``wayback`` on 127.0.0.1 over the WARCs (and ``.cdxj`` sidecars) found in
    ``collection_dir``, as collection ``archive``.

    Builds a temporary root with ``collections/archive/archive/`` (symlinks to the WARCs)
    and ``collections/archive/indexes/index.cdxj`` (the sidecars merged, byte-sorted), runs
    pywb in a subprocess (so gevent's import-time warnings stay out of pytest), and
    replays with ``get(ts14, url)`` = ``GET /archive/<ts14>id_/<url>`` (no redirects
    followed).
    """

    def __init__(self, collection_dir: Path | Iterable[Path], timeout: float = 20) -> None:
        dirs = [collection_dir] if isinstance(collection_dir, Path) else list(collection_dir)
        self.dirs = dirs
        self.timeout = timeout
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.base_url = ""

    def __enter__(self) -> Self:
        self._tmp = tempfile.TemporaryDirectory(prefix="pywb-")
        root = Path(self._tmp.name)
        coll = root / "collections" / COLLECTION
        (coll / "archive").mkdir(parents=True)
        (coll / "indexes").mkdir()
        lines: list[bytes] = []
        for directory in self.dirs:
            for warc in sorted(directory.glob("*.warc.gz")):
                (coll / "archive" / warc.name).symlink_to(warc.resolve())
                cdxj = cdxj_for(warc)
                if cdxj.exists():
                    lines.extend(cdxj.read_bytes().splitlines())
        (coll / "indexes" / "index.cdxj").write_bytes(
            b"".join(line + b"\n" for line in sorted(lines))
        )
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        log = (root / "wayback.log").open("wb")
        self._process = subprocess.Popen(
            [str(wayback_command()), "-b", "127.0.0.1", "-p", str(self.port), "-d", str(root)],
            cwd=root, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                self._request("/")
                break
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    output = (root / "wayback.log").read_text(errors="replace")
                    self.__exit__(None, None, None)
                    msg = f"wayback did not start: {output[-2000:]}"
                    raise RuntimeError(msg) from None
                time.sleep(0.1)
        return self

    def _request(self, path: str) -> Replay:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return Replay(resp.status, dict(resp.getheaders()), resp.read())
        finally:
            conn.close()

    def get(self, timestamp: str, url: str) -> Replay:
        """Replay ``url`` at ``timestamp`` (14 digits) in ``id_`` (identity) mode."""
        return self._request(f"/{COLLECTION}/{timestamp}id_/{url}")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.communicate()
            self._process = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp.name, ignore_errors=True)
            self._tmp.cleanup()
            self._tmp = None



def read_blocks(path: Path) -> dict[int, bytes]:
    """Every record's whole block (HTTP head included), by record offset, as warcio reads
    it with ``no_record_parse=True``: what ``WARC-Block-Digest`` is computed over."""
    blocks = {}
    with path.open("rb") as fh:
        iterator = ArchiveIterator(fh, no_record_parse=True)
        for record in iterator:
            data = record.raw_stream.read()
            iterator.read_to_end()
            blocks[iterator.get_record_offset()] = data
    return blocks
