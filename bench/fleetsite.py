"""A generated news site (~500 pages by default), served on 127.0.0.1 by a thread that counts.

Used by tests/test_distributed.py and bench/distributed.py. ``/`` links the sections;
``/section/<k>/`` lists its articles (49 by default); every article
(``/news/2026/11/<n>-story-<n>.html``) is a NewsArticle with its own text. The server
counts the requests of every path and the most requests in flight at once (one host), and
can answer each request after ``delay`` seconds; it notes when the first and the last
request arrived (fetch throughput as the server sees it).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FleetSite"]

SECTIONS = 10
PER_SECTION = 49
_WORDS = ["council", "harbour", "budget", "river", "school", "transit", "museum", "weather",
          "market", "festival", "bridge", "library", "election", "hospital", "stadium",
          "orchard", "railway", "factory"]


def _page(title: str, body: str, head: str = "", sections: int = SECTIONS) -> bytes:
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{title}</title>{head}</head><body>"
            f"<nav><a href=\"/\">Home</a> "
            + " ".join(f'<a href="/section/{k}/">Section {k}</a>' for k in range(sections))
            + f"</nav><main>{body}</main></body></html>").encode()


class FleetSite:
    def __init__(self, delay: float = 0.0, sections: int = SECTIONS,
                 per_section: int = PER_SECTION) -> None:
        self.delay = delay
        self.sections = sections
        self.per_section = per_section
        self.first: float | None = None
        self.last: float | None = None
        self.hits: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        site = self
        self.event = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                site.serve(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.articles = [f"/news/2026/11/{n}-story-{n}.html"
                         for n in range(sections * per_section)]
        self.pages = {"/": self._front(), **{f"/section/{k}/": self._section(k)
                                              for k in range(sections)}}
        for n, path in enumerate(self.articles):
            self.pages[path] = self._article(n, path)

    def _front(self) -> bytes:
        return _page("Fleet Gazette", "<h1>Fleet Gazette</h1>" + "".join(
            f'<p><a href="/section/{k}/">Section {k}</a></p>' for k in range(self.sections)),
            '<meta property="og:type" content="website">', self.sections)

    def _section(self, k: int) -> bytes:
        links = "".join(f'<li><a href="{self.articles[n]}">Story {n}</a></li>'
                        for n in range(k * self.per_section, (k + 1) * self.per_section))
        return _page(f"Section {k}", f"<h1>Section {k}</h1><ul>{links}</ul>",
                     '<meta property="og:type" content="website">', self.sections)

    def _article(self, n: int, path: str) -> bytes:
        sentences = []
        for i in range(12):
            words = [_WORDS[(n * 7 + i * 3 + j) % len(_WORDS)] for j in range(10)]
            sentences.append(f"Story {n} sentence {i} tells of the {' '.join(words)}.")
        paragraphs = "".join(f"<p>{' '.join(sentences[i:i + 3])}</p>" for i in range(0, 12, 3))
        head = (f'<meta property="og:type" content="article">'
                f'<link rel="canonical" href="{self.base_url}{path}">'
                f'<meta property="article:published_time" content="2026-11-{1 + n % 20:02d}'
                f'T08:00:00Z">')
        return _page(f"Story {n}", f"<article><h1>Story {n}</h1>"
                     f"<time datetime=\"2026-11-{1 + n % 20:02d}\">Nov</time>"
                     f"{paragraphs}</article>", head, self.sections)

    @property
    def page_paths(self) -> set[str]:
        return set(self.pages)

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?", 1)[0]
        with self.lock:
            now = time.monotonic()
            if self.first is None:
                self.first = now
            self.last = now
            self.hits[path] += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                self.event.wait(self.delay)
            body = self.pages.get(path)
            if path == "/robots.txt":
                body, status, kind = b"User-agent: *\nAllow: /\n", 200, "text/plain"
            elif body is None:
                body, status, kind = b"not found", 404, "text/plain"
            else:
                status, kind = 200, "text/html; charset=utf-8"
            handler.send_response(status)
            handler.send_header("Content-Type", kind)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        finally:
            with self.lock:
                self.in_flight -= 1

    def fetched(self) -> Counter[str]:
        """Hits per page, robots.txt left out (every worker reads it once)."""
        with self.lock:
            return Counter({p: n for p, n in self.hits.items() if p != "/robots.txt"})

    def reset(self, delay: float | None = None) -> None:
        with self.lock:
            self.hits.clear()
            self.max_in_flight = 0
            self.first = self.last = None
        if delay is not None:
            self.delay = delay

    def __enter__(self) -> FleetSite:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()
