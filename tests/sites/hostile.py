"""A hostile news site on 127.0.0.1: good articles next to every kind of bad input.

``with HostileSite() as site:`` serves from daemon threads and records each request in
``site.requests`` (path with query, monotonic time). ``/`` links to the good articles
(``GOOD``) and to every hostile route; ``/feed.xml`` and ``/sitemap.xml`` list good
articles too, next to broken feeds and sitemaps. Routes (see ``CASES`` for the outcome a
crawl must show for each):

``/malformed.html`` (unclosed tags, stray ``</div>``, no ``</html>``), ``/cut.html`` (an
article cut mid-tag, honest Content-Length), ``/mislabelled.html`` (declares UTF-8 in the
header and ``<meta>``, sends windows-1252), ``/binary.html`` (random bytes as text/html),
``/big.html`` (``BIG_SIZE`` bytes, default 50 MB, streamed), ``/endless.html`` (chunked,
never ends), ``/bomb.html`` (gzip: 64 kB on the wire, 64 MB decoded), ``/loop/a`` ->
``/loop/b`` -> ``/loop/a``, ``/chain/0`` -> … -> ``/chain/30``, ``/search?…`` (every page
links to 20 more facet combinations: a crawler trap), ``/slow.html`` (one byte a second),
``/hang.html`` (never answers), ``/limited.html`` (429 with ``Retry-After: 1`` once, then
the article), ``/storm/N.html`` (always 503), a 6000-character URL and non-UTF-8 URLs,
``/feed-bomb.xml`` (billion laughs and an external entity pointing at
``/xxe-canary``), ``/feed-garbage.xml``, ``/sitemap-badgzip.xml.gz`` (gzip header, garbage
after), ``/sitemap-huge.xml`` (``HUGE_SITEMAP_URLS`` offsite entries), ``/to-internal``
(302 to ``internal_url``: another loopback address a test keeps out of ``EGRESS_ALLOW``).
"""

from __future__ import annotations

import gzip
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlencode, urlsplit

__all__ = ["BIG_SIZE", "CASES", "GOOD", "HostileSite", "article"]

BIG_SIZE = 50 * 1024 * 1024
BOMB_SIZE = 64 * 1024 * 1024
HUGE_SITEMAP_URLS = 100_000
LONG_PATH = "/news/" + "long-" * 1200 + "story.html"
GOOD = [f"/news/good-{i}.html" for i in range(1, 5)] + ["/news/limited.html"]
_WORDS = (
    "harbour", "council", "ferry", "budget", "school", "river", "market", "library", "bridge",
    "festival", "station", "hospital", "museum", "garden", "stadium", "orchestra", "election",
    "tram", "farmers", "bakery", "theatre", "lighthouse", "vineyard",
)

#: case -> the route(s) that exercise it (README "Hostile input" lists the outcomes)
CASES = {
    "malformed HTML": "/malformed.html",
    "truncated HTML": "/cut.html",
    "charset mismatch": "/mislabelled.html",
    "binary as text/html": "/binary.html",
    "50 MB page": "/big.html",
    "endless response": "/endless.html",
    "gzip bomb": "/bomb.html",
    "redirect loop": "/loop/a",
    "long redirect chain": "/chain/0",
    "faceted-search trap": "/search",
    "slow drip": "/slow.html",
    "never answers": "/hang.html",
    "429 Retry-After": "/news/limited.html",
    "5xx storm": "/storm/1.html",
}


def article(title: str, seed: int) -> bytes:
    """A distinct article page of about 150 words."""
    rng = random.Random(seed)
    paragraphs = "".join(
        "<p>" + " ".join(rng.choice(_WORDS) for _ in range(50)).capitalize() + ".</p>\n"
        for _ in range(3))
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{title}</title>"
            f'<meta property="og:type" content="article">'
            f'<meta property="article:published_time" content="2026-11-20T08:00:00Z">'
            f"</head><body><article><h1>{title}</h1>\n{paragraphs}</article></body></html>"
            ).encode()


def _bomb() -> bytes:
    return gzip.compress(bytes(BOMB_SIZE), compresslevel=9, mtime=0)


@dataclass
class _State:
    base_url: str = ""
    internal_url: str = "http://127.0.0.3:9/"
    big_size: int = BIG_SIZE
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[tuple[str, float]] = field(default_factory=list)
    bomb: bytes = b""
    limited_once: bool = False


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 60

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError):  # the crawler hung up: fine
            self.close_connection = True

    def _send(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8",
              headers: tuple[tuple[str, str], ...] = ()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self._send(302, b"", headers=(("Location", location),))

    def do_GET(self) -> None:
        state = self.server.state
        with state.lock:
            state.requests.append((self.path, time.monotonic()))
        parts = urlsplit(self.path)
        path = parts.path
        if path == "/robots.txt":
            base = state.base_url
            self._send(200, (f"User-agent: *\nAllow: /\nSitemap: {base}/sitemap.xml\n"
                             f"Sitemap: {base}/sitemap-badgzip.xml.gz\n"
                             f"Sitemap: {base}/sitemap-huge.xml\n").encode(), "text/plain")
        elif path == "/":
            self._send(200, self._index(), "text/html; charset=latin-1")
        elif path in GOOD and path != "/news/limited.html":
            self._send(200, article(f"Good story {path[-6]}", GOOD.index(path)))
        elif path == "/news/limited.html":
            with state.lock:
                first, state.limited_once = not state.limited_once, True
            if first:
                self._send(429, b"slow down", "text/plain", (("Retry-After", "1"),))
            else:
                self._send(200, article("Rate limited story", 429))
        elif path == "/malformed.html":
            # an article with unclosed paragraphs, stray end tags, no </body></html>
            body = article("Malformed story", 9).replace(b"</p>", b"<b><i></div></span>")
            self._send(200, body.replace(b"</article></body></html>", b"<table><tr><td>"))
        elif path == "/cut.html":
            self._send(200, article("Cut story", 7)[:700])
        elif path == "/mislabelled.html":
            body = article("Caf\u00e9 cr\u00e8me story", 8).decode()
            body = body.replace("</article>", "<p>Le caf\u00e9 cr\u00e8me \u00e9tait "
                                "d\u00e9licieux, \u00e0 c\u00f4t\u00e9 du th\u00e9\u00e2tre."
                                "</p></article>")
            self._send(200, body.encode("cp1252"))
        elif path == "/binary.html":
            self._send(200, random.Random(3).randbytes(64 * 1024))
        elif path == "/big.html":
            self._stream(state.big_size)
        elif path == "/endless.html":
            self._stream(None)
        elif path == "/bomb.html":
            with state.lock:
                if not state.bomb:
                    state.bomb = _bomb()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(state.bomb)))
            self.end_headers()
            self.wfile.write(state.bomb)
        elif path == "/loop/a":
            self._redirect("/loop/b")
        elif path == "/loop/b":
            self._redirect("/loop/a")
        elif path.startswith("/chain/"):
            self._redirect(f"/chain/{int(path.rsplit('/', 1)[1]) + 1}")
        elif path == "/search":
            facets = dict(parse_qsl(parts.query))
            links = "".join(
                f'<a href="/search?{urlencode({**facets, f"f{len(facets)}": str(i)})}">'
                f"facet {i}</a>\n" for i in range(20))
            self._send(200, f"<html><body><h1>Search</h1>{links}</body></html>".encode())
        elif path == "/slow.html":
            self._drip()
        elif path == "/hang.html":
            time.sleep(30)
        elif path.startswith("/storm/"):
            self._send(503, b"unavailable", "text/plain")
        elif path == "/to-internal":
            self._redirect(state.internal_url)
        elif path == "/feed.xml":
            self._send(200, self._feed(), "application/rss+xml")
        elif path == "/feed-bomb.xml":
            self._send(200, self._feed_bomb(), "application/rss+xml")
        elif path == "/feed-garbage.xml":
            self._send(200, b"<?xml version='1.0'?><rss><channel><item><link>\x00\xff"
                            b"</item></rss></rss>" + bytes(range(256)), "application/rss+xml")
        elif path == "/sitemap.xml":
            self._send(200, self._sitemap(), "application/xml")
        elif path == "/sitemap-badgzip.xml.gz":
            self._send(200, b"\x1f\x8b\x08\x00\x00\x00\x00\x00not gzip data at all",
                       "application/gzip")
        elif path == "/sitemap-huge.xml":
            self._send(200, self._huge_sitemap(), "application/xml")
        else:
            self._send(404, b"<html><body>not found</body></html>")

    def _index(self) -> bytes:
        links = [*GOOD, *CASES.values(), "/storm/2.html", "/storm/3.html", "/to-internal",
                 LONG_PATH, "/news/%FF%FE-latin.html", "/news/caf\xe9.html"]
        anchors = "".join(f'<li><a href="{p}">{p[:40]}</a></li>\n' for p in links)
        return (f'<!DOCTYPE html><html><head><title>Hostile Times</title>'
                f'<link rel="alternate" type="application/rss+xml" href="/feed.xml">'
                f'<link rel="alternate" type="application/rss+xml" href="/feed-bomb.xml">'
                f'<link rel="alternate" type="application/rss+xml" href="/feed-garbage.xml">'
                f"</head><body><ul>\n{anchors}</ul></body></html>").encode("latin-1")

    def _feed(self) -> bytes:
        base = self.server.state.base_url
        items = "".join(f"<item><title>{p}</title><link>{base}{p}</link></item>"
                        for p in GOOD)
        return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Hostile</title>'
                f"{items}</channel></rss>").encode()

    def _feed_bomb(self) -> bytes:
        base = self.server.state.base_url
        lol = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
        return (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol0 "lol">{lol}'
                f'<!ENTITY xxe SYSTEM "{base}/xxe-canary">]>'
                f'<rss version="2.0"><channel><title>&lol9;</title>'
                f"<item><title>&xxe;</title><link>{base}/news/&lol9;</link></item>"
                f"<item><title>x</title><link>{base}/xxe-&xxe;</link></item>"
                f"<item><title>good</title><link>{base}{GOOD[0]}</link></item>"
                f"</channel></rss>").encode()

    def _sitemap(self) -> bytes:
        base = self.server.state.base_url
        urls = "".join(f"<url><loc>{base}{p}</loc></url>" for p in GOOD)
        return (f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/'
                f'sitemap/0.9">{urls}</urlset>').encode()

    def _huge_sitemap(self) -> bytes:
        entry = "<url><loc>http://elsewhere.invalid/news/{}.html</loc></url>"
        return ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/'
                'sitemap/0.9">' + "".join(entry.format(i) for i in range(HUGE_SITEMAP_URLS))
                + "</urlset>").encode()

    def _stream(self, size: int | None) -> None:
        """``size`` bytes of HTML in chunks (forever when None)."""
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"<p>" + b"endless words " * 4600 + b"</p>\n"
        sent = 0
        try:
            while size is None or sent < size:
                piece = chunk if size is None else chunk[:size - sent]
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                sent += len(piece)
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True

    def _drip(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        try:
            for _ in range(60):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(1)
        except OSError:
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], state: _State) -> None:
        super().__init__(address, _Handler)
        self.state = state
        host, port = self.server_address[:2]
        state.base_url = f"http://{host!s}:{port}"


class HostileSite:
    """The hostile site on 127.0.0.1 (a free port), served from a daemon thread."""

    def __init__(self, *, big_size: int = BIG_SIZE, internal_url: str | None = None) -> None:
        self.state = _State(big_size=big_size)
        if internal_url:
            self.state.internal_url = internal_url
        self._server = _Server(("127.0.0.1", 0), self.state)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return self.state.base_url

    @property
    def requests(self) -> list[tuple[str, float]]:
        with self.state.lock:
            return list(self.state.requests)

    def hits(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)

    def __enter__(self) -> Self:
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True,
                                        name="hostile-site")
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join()
        self._server.server_close()
