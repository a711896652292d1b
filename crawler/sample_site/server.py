"""A small HTTP server for the bundled sample news site (stdlib only).

Files under the root are served as they are, except that the placeholder ``__BASE__`` is
replaced by the server's base URL (``http://127.0.0.1:PORT``) in text files and inside
``.gz`` files. ``_routes.json`` at the root declares redirects and is not served itself.
Directory paths serve ``index.html``. Text responses are gzip-encoded when the client
accepts it; every response has Content-Length, Last-Modified and ETag, and conditional
requests are answered with 304.

``python -m crawler.sample_site.server [--root DIR] [--host H] [--port N]`` prints the base
URL as its first line of output and serves until it is stopped.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import signal
import sys
import threading
import zlib
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Self
from urllib.parse import unquote, urlsplit

from crawler.sample_site import SITE_ROOT

__all__ = ["PLACEHOLDER", "SITE_ROOT", "SampleSiteServer", "main"]

PLACEHOLDER = b"__BASE__"
ROUTES_FILE = "_routes.json"

_TEXT_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".xml": "application/xml",
    ".txt": "text/plain",
    ".json": "application/json",
}
_BINARY_TYPES = {
    ".gz": "application/gzip",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
    ".css": "text/css",
    ".js": "text/javascript",
}
_NOT_FOUND = (b"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
              b"<title>Page not found</title></head>\n<body><h1>Page not found</h1>\n"
              b"<p>The page you asked for does not exist.</p></body></html>\n")
_MAX_GZ_SIZE = 64 * 1024 * 1024


def _content_type(path: Path, body: bytes) -> str:
    """The Content-Type of a file: by extension, feeds by name, charset only if utf-8."""
    suffix = path.suffix.lower()
    if suffix in _TEXT_TYPES:
        kind = _TEXT_TYPES[suffix]
        if suffix == ".xml":
            stem = path.stem.lower()
            if "rss" in stem:
                kind = "application/rss+xml"
            elif "atom" in stem:
                kind = "application/atom+xml"
            return kind
        if kind == "application/json":
            return kind
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return kind  # let the page's own <meta charset> decide
        return f"{kind}; charset=utf-8"
    return _BINARY_TYPES.get(suffix, "application/octet-stream")


def _substitute_gzip(raw: bytes, base: bytes) -> bytes:
    """Gunzip, replace the placeholder, gzip again; broken gzip data is served unchanged."""
    try:
        decompressor = zlib.decompressobj(wbits=31)
        data = decompressor.decompress(raw, _MAX_GZ_SIZE)
        if decompressor.unconsumed_tail or not decompressor.eof:
            return raw
    except zlib.error:
        return raw
    if PLACEHOLDER not in data:
        return raw
    return gzip.compress(data.replace(PLACEHOLDER, base), mtime=0)


def _etag_matches(header: str, etags: set[str]) -> bool:
    candidates = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in candidates or bool(candidates & etags)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections

    def version_string(self) -> str:
        return "SampleGazette/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._respond(head=False)

    def do_HEAD(self) -> None:
        self._respond(head=True)

    # ------------------------------------------------------------------------------------
    def _respond(self, *, head: bool) -> None:
        parts = urlsplit(self.path)
        self.server.count(parts.path + (f"?{parts.query}" if parts.query else ""))
        path = unquote(parts.path) or "/"
        query = f"?{parts.query}" if parts.query else ""

        redirect = self.server.routes.get(path)
        if redirect is not None:
            target, status = redirect
            self._redirect(target, status, head=head)
            return

        file = self.server.resolve(path)
        if file is not None and file.is_dir():
            if path.endswith("/"):
                file = file / "index.html"
            else:
                self._redirect(parts.path + "/" + query, 301, head=head)
                return
        if file is None or not file.is_file():
            self._send(HTTPStatus.NOT_FOUND, _NOT_FOUND, "text/html; charset=utf-8",
                       head=head)
            return
        self._send_file(file, head=head)

    def _redirect(self, target: str, status: int, *, head: bool) -> None:
        location = self.server.base_url + target if target.startswith("/") else target
        body = (f"<!DOCTYPE html>\n<html><head><title>Moved</title></head><body>"
                f"<p>Moved to <a href=\"{location}\">{location}</a>.</p></body></html>\n"
                ).encode()
        self._send(HTTPStatus(status), body, "text/html; charset=utf-8", head=head,
                   extra={"Location": location})

    def _send_file(self, file: Path, *, head: bool) -> None:
        raw = file.read_bytes()
        suffix = file.suffix.lower()
        base = self.server.base_url.encode()
        if suffix == ".gz":
            body = _substitute_gzip(raw, base)
        elif suffix in _TEXT_TYPES:
            body = raw.replace(PLACEHOLDER, base)
        else:
            body = raw
        mtime = int(file.stat().st_mtime)
        last_modified = formatdate(mtime, usegmt=True)
        digest = hashlib.sha1(body, usedforsecurity=False).hexdigest()[:20]
        identity_tag, gzip_tag = f'"{digest}"', f'"{digest}-gzip"'
        compressible = suffix in _TEXT_TYPES
        use_gzip = compressible and self._accepts_gzip()
        headers = {"Last-Modified": last_modified,
                   "ETag": gzip_tag if use_gzip else identity_tag}
        if compressible:
            headers["Vary"] = "Accept-Encoding"
        if self._not_modified({identity_tag, gzip_tag}, mtime):
            self._send(HTTPStatus.NOT_MODIFIED, b"", None, head=True, extra=headers)
            return
        content_type = _content_type(file, body)
        if use_gzip:
            body = gzip.compress(body, mtime=0)
            headers["Content-Encoding"] = "gzip"
        self._send(HTTPStatus.OK, body, content_type, head=head, extra=headers)

    def _accepts_gzip(self) -> bool:
        for item in (self.headers.get("Accept-Encoding") or "").split(","):
            name, _, params = item.strip().partition(";")
            if name.strip().lower() in ("gzip", "x-gzip", "*"):
                return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00")
        return False

    def _not_modified(self, etags: set[str], mtime: int) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            return _etag_matches(if_none_match, etags)
        if_modified_since = self.headers.get("If-Modified-Since")
        if if_modified_since:
            try:
                since = parsedate_to_datetime(if_modified_since)
            except (TypeError, ValueError):
                return False
            return since is not None and mtime <= since.timestamp()
        return False

    def _send(self, status: HTTPStatus, body: bytes, content_type: str | None, *,
              head: bool, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        if status != HTTPStatus.NOT_MODIFIED:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head and body:
            self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], root: Path, *, verbose: bool = False) -> None:
        super().__init__(address, _Handler)
        self.root = root.resolve()
        self.verbose = verbose
        self.hits: dict[str, int] = {}
        self._lock = threading.Lock()
        host, port = self.server_address[:2]
        host_s = host.decode() if isinstance(host, bytes) else host
        if ":" in host_s:
            host_s = f"[{host_s}]"
        self.base_url = f"http://{host_s}:{port}"
        self.routes = self._load_routes()

    def _load_routes(self) -> dict[str, tuple[str, int]]:
        file = self.root / ROUTES_FILE
        if not file.is_file():
            return {}
        data = json.loads(file.read_text(encoding="utf-8"))
        return {path: (str(target), int(status))
                for path, (target, status) in data.get("redirects", {}).items()}

    def count(self, key: str) -> None:
        with self._lock:
            self.hits[key] = self.hits.get(key, 0) + 1

    def resolve(self, path: str) -> Path | None:
        """The file or directory for a URL path, or None if outside the root or hidden."""
        relative = path.lstrip("/")
        if relative == ROUTES_FILE or "\x00" in relative:
            return None
        candidate = (self.root / relative).resolve()
        if candidate != self.root and not candidate.is_relative_to(self.root):
            return None
        return candidate


class SampleSiteServer:
    """Serves a sample site on 127.0.0.1 in a background thread.

    ``hits`` counts requests per path (query string included).
    """

    def __init__(self, root: Path = SITE_ROOT, host: str = "127.0.0.1", port: int = 0, *,
                 verbose: bool = False) -> None:
        self._server = _Server((host, port), Path(root), verbose=verbose)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return self._server.base_url

    @property
    def hits(self) -> dict[str, int]:
        return self._server.hits

    @property
    def root(self) -> Path:
        return self._server.root

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name="sample-site-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def serve_forever(self) -> None:
        """Serve in the calling thread until ``shutdown`` or an exception."""
        self._server.serve_forever(poll_interval=0.1)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crawler.sample_site.server",
        description="Serve the bundled sample news site (or another directory).")
    parser.add_argument("--root", type=Path, default=SITE_ROOT, help="directory to serve")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        parser.error(f"--root {args.root}: not a directory")

    def _terminate(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    server = SampleSiteServer(args.root, args.host, args.port, verbose=args.verbose)
    signal.signal(signal.SIGTERM, _terminate)
    print(server.base_url, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
