"""A stdlib HTTP/1.1 test server with one route per WARC capture case (warc-requirements §J).

Routes: ``/robots.txt``, ``/index.html`` (links to every route), ``/plain.html``,
``/gzip.html`` (gzip), ``/br.html`` (brotli), ``/chunked.html`` (chunked, no
Content-Length), ``/chunked-gzip.html``, ``/redirect/1`` -> 302 -> ``/redirect/2`` -> 301 ->
``/plain.html?from=redirect``, ``/cookies.html`` (two Set-Cookie, two X-Dup),
``/query.html?...`` (echoes the query), ``/binary.bin``, ``/image.png``,
``/truncated.html`` (declares 5000 bytes, sends 1000, closes), ``/large.html`` (~300 kB),
``/echo-headers.html`` (lists the request headers), ``/auth.html`` (Basic auth ``u`` /
``secret``, else 401), ``/notfound`` (404 with a body), ``/same-a.html`` and
``/same-b.html`` (byte-identical bodies).

``python -m tests.sites.routes_server --port 0`` prints the base URL as its first line; in
tests, ``with RoutesServer() as server:`` serves from a thread and records every request
in ``server.requests`` (path with query, headers) and every answer in
``server.responses`` (path with query, status, entity body before content coding).
"""

from __future__ import annotations

import argparse
import base64
import gzip
import random
import signal
import struct
import sys
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

import brotli

__all__ = [
    "AUTH_PASS",
    "AUTH_USER",
    "BINARY",
    "PNG",
    "ROUTES",
    "RoutesServer",
    "Served",
    "main",
    "page",
]

AUTH_USER = "u"
AUTH_PASS = "secret"  # noqa: S105 - a test credential the WARC must not contain
TRUNCATED_DECLARED = 5000
TRUNCATED_SENT = 1000
HTML = "text/html; charset=utf-8"


def page(title: str, *paragraphs: str) -> bytes:
    """A small, distinct HTML page."""
    body = "".join(f"<p>{p}</p>\n" for p in paragraphs)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{title}</title></head>\n<body><h1>{title}</h1>\n{body}</body></html>\n"
            ).encode()


def _png() -> bytes:
    """A valid 1x1 RGB PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x80\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + \
        chunk(b"IEND", b"")


BINARY = random.Random(20261125).randbytes(4096)
PNG = _png()
_LARGE = page("Large page", *(f"Paragraph {i}: " + "lorem ipsum dolor sit amet " * 20
                              for i in range(550)))
_SAME = page("Same page", "These bytes are served at two URLs, for dedup.")

#: Fixed entity bodies (before content coding) by path.
ROUTES: dict[str, bytes] = {
    "/robots.txt": b"User-agent: *\nAllow: /\n",
    "/plain.html": page("Plain page", "A plain page with Content-Length."),
    "/gzip.html": page("Gzip page", "This page is sent gzip-encoded. " * 40),
    "/br.html": page("Brotli page", "This page is sent brotli-encoded. " * 40),
    "/chunked.html": page("Chunked page", *(f"Chunk paragraph {i}." for i in range(40))),
    "/chunked-gzip.html": page("Chunked gzip page",
                               *(f"Chunked gzip paragraph {i}." for i in range(40))),
    "/cookies.html": page("Cookies page", "Two Set-Cookie and two X-Dup headers."),
    "/binary.bin": BINARY,
    "/image.png": PNG,
    "/truncated.html": (page("Truncated page", "x" * TRUNCATED_DECLARED)
                        [:TRUNCATED_SENT]),
    "/large.html": _LARGE,
    "/auth.html": page("Members only", "You are authenticated."),
    "/notfound": page("Not found", "There is nothing here."),
    "/etag.html": page("ETag page", "Revalidated with If-None-Match on every fetch."),
    "/same-a.html": _SAME,
    "/same-b.html": _SAME,
}
REDIRECTS: dict[str, tuple[int, str]] = {
    "/redirect/1": (302, "/redirect/2"),
    "/redirect/2": (301, "/plain.html?from=redirect"),
}
LINKED = [
    "/plain.html", "/gzip.html", "/br.html", "/chunked.html", "/chunked-gzip.html",
    "/redirect/1", "/cookies.html", "/query.html?a=1&b=2", "/binary.bin", "/image.png",
    "/truncated.html", "/large.html", "/echo-headers.html", "/auth.html", "/notfound",
    "/same-a.html", "/same-b.html",
]


@dataclass(frozen=True)
class Served:
    """One answer: the path (with query), the status and the entity before coding."""

    path: str
    status: int
    body: bytes


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 30

    def version_string(self) -> str:
        return "RoutesServer/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        self.server.record_request(target, dict(self.headers.items()))
        path = parts.path
        if path in REDIRECTS:
            status, location = REDIRECTS[path]
            body = page("Moved", f"Moved to {location}.")
            self._send(target, status, body, extra=[("Location", self.server.base_url
                                                     + location)])
        elif path in {"/index.html", "/"}:
            links = "".join(f'<li><a href="{p}">{p}</a></li>\n' for p in LINKED)
            body = (f"<!DOCTYPE html>\n<html><head><title>Routes</title></head><body>"
                    f"<ul>\n{links}</ul></body></html>\n").encode()
            self._send(target, 200, body)
        elif path == "/gzip.html":
            self._send(target, 200, ROUTES[path], encoding="gzip")
        elif path == "/br.html":
            self._send(target, 200, ROUTES[path], encoding="br")
        elif path == "/chunked.html":
            self._send_chunked(target, ROUTES[path], encoding=None)
        elif path == "/chunked-gzip.html":
            self._send_chunked(target, ROUTES[path], encoding="gzip")
        elif path == "/cookies.html":
            self._send(target, 200, ROUTES[path], extra=[
                ("Set-Cookie", "first=1; Path=/"), ("X-Dup", "one"),
                ("Set-Cookie", "second=2; Path=/; HttpOnly"), ("X-Dup", "two")])
        elif path == "/query.html":
            pairs = parse_qsl(parts.query, keep_blank_values=True)
            self._send(target, 200, page("Query page", f"query: {parts.query}",
                                         *(f"{k} = {v}" for k, v in pairs)))
        elif path == "/echo-headers.html":
            lines = [f"{k}: {v}" for k, v in self.headers.items()]
            self._send(target, 200, page("Echo headers", *lines))
        elif path == "/truncated.html":
            self._send_truncated(target)
        elif path == "/auth.html":
            expected = "Basic " + base64.b64encode(
                f"{AUTH_USER}:{AUTH_PASS}".encode()).decode()
            if self.headers.get("Authorization") == expected:
                self._send(target, 200, ROUTES[path])
            else:
                self._send(target, 401, page("Unauthorized", "Credentials needed."),
                           extra=[("WWW-Authenticate", 'Basic realm="routes"')])
        elif path == "/notfound":
            self._send(target, 404, ROUTES[path])
        elif path == "/etag.html":
            # revalidated on every use (max-age=0), answered 304 when the ETag matches
            etag = '"etag-v1"'
            if self.headers.get("If-None-Match") == etag:
                self._send(target, 304, b"", extra=[("ETag", etag),
                                                    ("Cache-Control", "max-age=0")])
            else:
                self._send(target, 200, ROUTES[path], extra=[("ETag", etag),
                                                              ("Cache-Control", "max-age=0")])
        elif path in ROUTES:
            kind = {"/robots.txt": "text/plain; charset=utf-8",
                    "/binary.bin": "application/octet-stream",
                    "/image.png": "image/png"}.get(path, HTML)
            self._send(target, 200, ROUTES[path], content_type=kind)
        else:
            self._send(target, 404, page("Unknown route", path))

    def _send(self, target: str, status: int, body: bytes, *, content_type: str = HTML,
              encoding: str | None = None, extra: Sequence[tuple[str, str]] = ()) -> None:
        self.server.record_response(target, status, body)
        data = _encode(body, encoding)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if encoding:
            self.send_header("Content-Encoding", encoding)
        for name, value in extra:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_chunked(self, target: str, body: bytes, *, encoding: str | None) -> None:
        self.server.record_response(target, 200, body)
        data = _encode(body, encoding)
        self.send_response(200)
        self.send_header("Content-Type", HTML)
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        size = max(1, len(data) // 4)
        for start in range(0, len(data), size):
            piece = data[start:start + size]
            self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def _send_truncated(self, target: str) -> None:
        body = ROUTES["/truncated.html"]
        self.server.record_response(target, 200, body)
        self.send_response(200)
        self.send_header("Content-Type", HTML)
        self.send_header("Content-Length", str(TRUNCATED_DECLARED))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True


def _encode(body: bytes, encoding: str | None) -> bytes:
    if encoding == "gzip":
        return gzip.compress(body, mtime=0)
    if encoding == "br":
        return bytes(brotli.compress(body))
    return body


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        host, port = self.server_address[:2]
        host_s = host.decode() if isinstance(host, bytes) else host
        self.base_url = f"http://{host_s}:{port}"
        self.lock = threading.Lock()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.responses: list[Served] = []

    def record_request(self, target: str, headers: dict[str, str]) -> None:
        with self.lock:
            self.requests.append((target, headers))

    def record_response(self, target: str, status: int, body: bytes) -> None:
        with self.lock:
            self.responses.append(Served(target, status, body))


class RoutesServer:
    """The routes on 127.0.0.1 (free port by default), served from a daemon thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server((host, port))
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return self._server.base_url

    @property
    def requests(self) -> list[tuple[str, dict[str, str]]]:
        """A snapshot of every request so far: (path with query, headers)."""
        with self._server.lock:
            return list(self._server.requests)

    @property
    def responses(self) -> list[Served]:
        """A snapshot of every answer so far."""
        with self._server.lock:
            return list(self._server.responses)

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever,
                                            kwargs={"poll_interval": 0.1},
                                            name="routes-server", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.sites.routes_server",
                                     description="Serve the WARC test routes.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)

    def _terminate(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    server = _Server((args.host, args.port))
    signal.signal(signal.SIGTERM, _terminate)
    print(server.base_url, flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
