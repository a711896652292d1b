"""A local news site for crawl benchmarks: generator and fast servers (127.0.0.1 only).

``build_site(root, pages, base_url)`` writes a site of ``pages`` article pages made of the
real pages of the article-extraction benchmark (``html/*.html.gz``), each served under many
URLs (``/a/<n>/<slug>.html``). Every copy is a distinct article: its ``<link rel=canonical>``
and ``og:url`` name its own URL and it carries one paragraph of its own (the copy number).
The template's relative links and assets are made absolute on the page's original host
(as on the real site), so crawlers don't turn them into 404s on ours. Around the articles:

* ``/`` front page (latest stories, links to every section, ``<link rel=alternate>`` feed);
* ``/section/<name>/`` and ``/section/<name>/page/<k>/``: ~100 articles per page, paginated;
* ``/rss.xml``: the latest 100 articles; ``/sitemap_index.xml`` → ``/sitemaps/sitemap-<k>.xml``
  (1,000 URLs each); ``/robots.txt`` with ``Sitemap:``.

Every file is stored gzipped only (``<path>.gz``, level 1 like nginx's default); directory
URLs serve ``index.html``. Servers answer with ``Content-Encoding: gzip`` when the client
accepts it (and decompress otherwise), ``Content-Type`` with ``charset=utf-8``, and append
``<status> <path> <bytes>`` per request to an access log (how the benchmark counts pages).

Servers: nginx when installed (``gzip_static``/``gunzip``, one worker per core), else
``PyServer``: one asyncio HTTP/1.1 process per core sharing the port with SO_REUSEPORT.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import html as htmllib
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Self
from urllib.parse import unquote, urljoin, urlsplit
from xml.sax.saxutils import escape as xml_escape

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT.parent / "shared" / "benchmarks" / "article-extraction"
SECTIONS = ("world", "politics", "business", "technology", "science", "health", "sport",
            "culture", "opinion", "travel")
PER_PAGE = 100          # articles per section page
PER_SITEMAP = 1000      # URLs per sitemap file
FEED_ITEMS = 100
GZIP_LEVEL = 1          # nginx's default gzip_comp_level
ARTICLE_PREFIX = "/a/"
INFO_FILE = "site.json"  # beside the document root, not served
URL_TOKEN = "__BENCH_ARTICLE_URL__"  # noqa: S105 (a placeholder, not a secret)
NOTE_TOKEN = "__BENCH_COPY_NOTE__"  # noqa: S105

__all__ = ["NginxServer", "PyServer", "SiteInfo", "build_site", "free_port", "start_server"]


# --------------------------------------------------------------------------- templates


@dataclass(frozen=True)
class Template:
    page_id: str
    original_url: str
    title: str
    slug: str
    html: str  # with URL_TOKEN (canonical, og:url) and NOTE_TOKEN (the copy's paragraph)


_CANONICAL = re.compile(r"<link\b[^>]*\brel\s*=\s*[\"']?canonical\b[^>]*>", re.I)
_OG_URL = re.compile(r"<meta\b[^>]*\bproperty\s*=\s*[\"']?og:url\b[^>]*>", re.I)
_BASE = re.compile(r"<base\b[^>]*>", re.I)
_HEAD = re.compile(r"<head\b[^>]*>", re.I)
_META_CHARSET = re.compile(r"<meta\b[^>]*charset\s*=[^>]*>", re.I)
_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title>", re.I | re.S)
_PARA = re.compile(r"<p\b[^>]*>(.*?)</p\s*>", re.I | re.S)
_TAGS = re.compile(r"<[^>]+>")
_LINK_ATTR = re.compile(r"""(\s(?:href|src)\s*=\s*)(["'])([^"']*)\2""", re.I)
_CSS_URL = re.compile(r"""url\(\s*(['"]?)(/[^'")\s]*)\1\s*\)""", re.I)
_KEEP_LINK = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//|#|$)", re.I)
_WORDS = re.compile(r"\w+")


def _slug(url: str) -> str:
    path = urlsplit(url).path.rstrip("/")
    last = path.rpartition("/")[2].rpartition(".")[0] or path.rpartition("/")[2]
    slug = re.sub(r"[^a-z0-9]+", "-", unquote(last).lower()).strip("-")[:60].strip("-")
    return slug or "story"


def _absolute_links(page: str, original_url: str) -> str:
    """Relative href/src values and CSS url()s made absolute on the page's original site."""
    def fix(m: re.Match[str]) -> str:
        value = htmllib.unescape(m.group(3)).strip()
        if _KEEP_LINK.match(value):
            return m.group(0)
        try:
            absolute = urljoin(original_url, value)
        except ValueError:
            return m.group(0)
        return f"{m.group(1)}{m.group(2)}{htmllib.escape(absolute)}{m.group(2)}"
    def fix_css(m: re.Match[str]) -> str:
        try:
            return f"url({m.group(1)}{urljoin(original_url, m.group(2))}{m.group(1)})"
        except ValueError:
            return m.group(0)
    return _CSS_URL.sub(fix_css, _LINK_ATTR.sub(fix, page))


def _prepare(page_id: str, original_url: str, page: str) -> Template:
    page = _BASE.sub("", page)
    page = _absolute_links(page, original_url)
    # canonical and og:url name the copy's own URL
    page = _CANONICAL.sub("", page)
    page = _OG_URL.sub("", page)
    page = _META_CHARSET.sub("", page)  # the bytes are utf-8 now
    head_tags = (f'<meta charset="utf-8"><link rel="canonical" href="{URL_TOKEN}">'
                 f'<meta property="og:url" content="{URL_TOKEN}">')
    m = _HEAD.search(page)
    page = (page[:m.end()] + head_tags + page[m.end():] if m
            else f"<head>{head_tags}</head>" + page)
    # the copy's own paragraph, after the first paragraph of prose (inside the article)
    at = None
    for p in _PARA.finditer(page, m.end() if m else 0):
        if len(_WORDS.findall(_TAGS.sub(" ", p.group(1)))) >= 12:
            at = p.end()
            break
    if at is None:
        close = page.lower().rfind("</body")
        at = close if close >= 0 else len(page)
    page = page[:at] + f"\n<p>{NOTE_TOKEN}</p>\n" + page[at:]
    tm = _TITLE.search(page)
    title = " ".join(htmllib.unescape(_TAGS.sub(" ", tm.group(1))).split()) if tm else ""
    return Template(page_id, original_url, title[:150] or _slug(original_url),
                    _slug(original_url), page)


def load_templates(data_dir: Path = DATA_DIR) -> list[Template]:
    truth = json.loads((data_dir / "ground-truth.json").read_text(encoding="utf-8"))
    templates = []
    for page_id in sorted(truth):
        raw = gzip.decompress((data_dir / "html" / f"{page_id}.html.gz").read_bytes())
        templates.append(_prepare(page_id, truth[page_id].get("url", ""),
                                  raw.decode("utf-8", errors="replace")))
    return templates


# --------------------------------------------------------------------------- the site


@dataclass
class SiteInfo:
    root: Path          # document root
    base_url: str       # http://127.0.0.1:PORT
    pages: int
    templates: int
    article_paths: list[str] = field(default_factory=list)  # /a/<n>/<slug>.html
    template_of: list[int] = field(default_factory=list)    # template index per article
    sitemaps: list[str] = field(default_factory=list)
    section_pages: int = 0

    def article_url(self, n: int) -> str:
        return self.base_url + self.article_paths[n]

    def file_for(self, path: str) -> Path:
        """The stored (gzipped) file of a URL path."""
        if path.endswith("/"):
            path += "index.html"
        return self.root / (path.lstrip("/") + ".gz")

    def save(self) -> None:
        data = {"root": str(self.root), "base_url": self.base_url, "pages": self.pages,
                "templates": self.templates, "article_paths": self.article_paths,
                "template_of": self.template_of, "sitemaps": self.sitemaps,
                "section_pages": self.section_pages}
        (self.root.parent / INFO_FILE).write_text(json.dumps(data), encoding="utf-8")

    @classmethod
    def load(cls, root: Path) -> Self:
        data = json.loads((root.parent / INFO_FILE).read_text(encoding="utf-8"))
        data["root"] = Path(data["root"])
        return cls(**data)


def _write(path: Path, body: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = body.encode("utf-8") if isinstance(body, str) else body
    path.write_bytes(gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0))


_templates_cache: list[Template] | None = None


def _write_articles(args: tuple[Path, str, list[tuple[int, int, str]]]) -> None:
    """Worker: write a batch of (n, template index, path) article copies."""
    global _templates_cache  # noqa: PLW0603
    root, base_url, batch = args
    if _templates_cache is None:
        _templates_cache = load_templates()
    for n, t, path in batch:
        tpl = _templates_cache[t]
        note = (f"Archive edition note: this is copy number {n + 1} of this story, "
                f"published on the benchmark site as article {n + 1} for the crawl tests.")
        body = tpl.html.replace(URL_TOKEN, base_url + path).replace(NOTE_TOKEN, note)
        _write(root / (path.lstrip("/") + ".gz"), body)


def _date(n: int, pages: int) -> datetime:
    # newest article last: one every 10 minutes back from a fixed date
    return datetime(2026, 11, 20, 12, 0, tzinfo=UTC) - timedelta(minutes=10 * (pages - n))


def _nav(base_url: str) -> str:
    links = "".join(f'<li><a href="{base_url}/section/{s}/">{s.title()}</a></li>'
                    for s in SECTIONS)
    return f'<nav><ul><li><a href="{base_url}/">Home</a></li>{links}</ul></nav>'


def _listing(base_url: str, title: str, items: Sequence[tuple[str, str]],
             prev_url: str | None, next_url: str | None) -> str:
    lis = "\n".join(f'<li><a href="{base_url}{p}">{htmllib.escape(t)}</a></li>'
                    for p, t in items)
    pager = ""
    if prev_url:
        pager += f'<a rel="prev" href="{base_url}{prev_url}">Newer stories</a> '
    if next_url:
        pager += f'<a rel="next" href="{base_url}{next_url}">Older stories</a>'
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{htmllib.escape(title)} – Bench Gazette</title>"
            '<meta property="og:type" content="website">'
            f'<link rel="alternate" type="application/rss+xml" title="Latest" '
            f'href="{base_url}/rss.xml"></head>\n<body><header><h1>Bench Gazette</h1>'
            f"{_nav(base_url)}</header>\n<main><h2>{htmllib.escape(title)}</h2>\n<ul>\n"
            f"{lis}\n</ul>\n<p class=\"pager\">{pager}</p></main>\n"
            "<footer><p>Bench Gazette, a local site for crawl benchmarks.</p></footer>"
            "</body></html>\n")


def build_site(root: Path, pages: int, base_url: str, *, processes: int | None = None,
               templates: list[Template] | None = None) -> SiteInfo:
    """Write a site of ``pages`` articles under ``root`` (the document root) for ``base_url``."""
    base_url = base_url.rstrip("/")
    templates = templates if templates is not None else load_templates()
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    info = SiteInfo(root=root, base_url=base_url, pages=pages, templates=len(templates))
    for n in range(pages):
        t = n % len(templates)
        info.template_of.append(t)
        info.article_paths.append(f"{ARTICLE_PREFIX}{n + 1}/{templates[t].slug}.html")

    # articles, in parallel batches
    jobs = [(n, info.template_of[n], info.article_paths[n]) for n in range(pages)]
    batch = 200
    batches = [(root, base_url, jobs[i:i + batch]) for i in range(0, len(jobs), batch)]
    processes = processes or os.cpu_count() or 1
    if processes > 1 and len(batches) > 1:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(min(processes, len(batches))) as pool:
            for _ in pool.imap_unordered(_write_articles, batches):
                pass
    else:
        global _templates_cache  # noqa: PLW0603
        _templates_cache = templates
        for b in batches:
            _write_articles(b)

    def title(n: int) -> str:
        return f"{templates[info.template_of[n]].title} (#{n + 1})"

    newest_first = list(range(pages - 1, -1, -1))
    # sections: article n belongs to SECTIONS[n % len]; newest first, PER_PAGE per page
    for s_index, section in enumerate(SECTIONS):
        members = [n for n in newest_first if n % len(SECTIONS) == s_index]
        chunks = [members[i:i + PER_PAGE] for i in range(0, len(members), PER_PAGE)] or [[]]
        for k, chunk in enumerate(chunks, start=1):
            path = f"/section/{section}/" if k == 1 else f"/section/{section}/page/{k}/"
            prev_url = None if k == 1 else (
                f"/section/{section}/" if k == 2 else f"/section/{section}/page/{k - 1}/")
            next_url = f"/section/{section}/page/{k + 1}/" if k < len(chunks) else None
            body = _listing(base_url, f"{section.title()}, page {k}",
                            [(info.article_paths[n], title(n)) for n in chunk],
                            prev_url, next_url)
            _write(info.file_for(path), body)
            info.section_pages += 1
    # front page
    front = [(info.article_paths[n], title(n)) for n in newest_first[:50]]
    _write(info.file_for("/"), _listing(base_url, "Latest news", front, None, None))
    # feed
    items = "\n".join(
        f"<item><title>{xml_escape(title(n))}</title>"
        f"<link>{base_url}{info.article_paths[n]}</link>"
        f"<guid>{base_url}{info.article_paths[n]}</guid>"
        f"<pubDate>{_date(n, pages).strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>"
        for n in newest_first[:FEED_ITEMS])
    _write(root / "rss.xml.gz",
           '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
           f"<title>Bench Gazette</title><link>{base_url}/</link>"
           f"<description>Latest stories</description>\n{items}\n</channel></rss>\n")
    # sitemaps
    for k, i in enumerate(range(0, pages, PER_SITEMAP), start=1):
        urls = "\n".join(
            f"<url><loc>{base_url}{info.article_paths[n]}</loc>"
            f"<lastmod>{_date(n, pages).strftime('%Y-%m-%dT%H:%M:%SZ')}</lastmod></url>"
            for n in range(i, min(i + PER_SITEMAP, pages)))
        path = f"/sitemaps/sitemap-{k}.xml"
        _write(info.file_for(path),
               '<?xml version="1.0" encoding="utf-8"?>\n'
               '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
               f"{urls}\n</urlset>\n")
        info.sitemaps.append(path)
    entries = "\n".join(f"<sitemap><loc>{base_url}{p}</loc></sitemap>" for p in info.sitemaps)
    _write(root / "sitemap_index.xml.gz",
           '<?xml version="1.0" encoding="utf-8"?>\n'
           '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
           f"{entries}\n</sitemapindex>\n")
    _write(root / "robots.txt.gz",
           f"User-agent: *\nAllow: /\n\nSitemap: {base_url}/sitemap_index.xml\n")
    info.save()
    return info


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"server did not listen on 127.0.0.1:{port}")


def _proc_cpu_seconds(pid: int) -> float:
    """user + system CPU seconds of one process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    out: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                out += [int(c) for c in (task / "children").read_text().split()]
    return out


def process_tree(pid: int) -> list[int]:
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo += _children(p)
    return tree


class _Server:
    kind = "?"
    proc: subprocess.Popen[bytes]
    log_path: Path

    def cpu_seconds(self) -> float:
        """CPU seconds used so far by the server's processes (master and workers)."""
        return sum(_proc_cpu_seconds(p) for p in process_tree(self.proc.pid))

    def log_offset(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_lines(self, offset: int) -> list[tuple[int, str, int]]:
        """Access log entries (status, path, bytes) written after ``offset``."""
        out = []
        with self.log_path.open("rb") as f:
            f.seek(offset)
            for line in f.read().decode("utf-8", "replace").splitlines():
                status, _, rest = line.partition(" ")
                path, _, size = rest.rpartition(" ")
                if status.isdigit() and size.isdigit():
                    out.append((int(status), urlsplit(path).path, int(size)))
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


_NGINX_CONF = """\
{user}worker_processes {workers};
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    types {{ text/html html; application/xml xml; text/plain txt; }}
    default_type application/octet-stream;
    charset utf-8;
    charset_types text/html application/xml application/rss+xml text/plain;
    log_format bench '$status $request_uri $body_bytes_sent';
    access_log {dir}/access.log bench;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    open_file_cache max=50000 inactive=120s;
    client_body_temp_path {dir}/tmp-body;
    proxy_temp_path {dir}/tmp-proxy;
    fastcgi_temp_path {dir}/tmp-fastcgi;
    uwsgi_temp_path {dir}/tmp-uwsgi;
    scgi_temp_path {dir}/tmp-scgi;
    server {{
        listen 127.0.0.1:{port} reuseport;
        server_name _;
        root {root};
        gzip_static always;
        gunzip on;
        server_tokens off;
        rewrite ^(.*)/$ $1/index.html last;
        location = /rss.xml {{ types {{ }} default_type application/rss+xml; }}
    }}
}}
"""


class NginxServer(_Server):
    kind = "nginx"

    def __init__(self, root: Path, port: int, workers: int | None = None) -> None:
        self.dir = root.parent / "nginx"
        self.dir.mkdir(exist_ok=True)
        self.log_path = self.dir / "access.log"
        self.log_path.touch()
        user = "user root;\n" if os.geteuid() == 0 else ""
        conf = self.dir / "nginx.conf"
        conf.write_text(_NGINX_CONF.format(user=user, workers=workers or os.cpu_count() or 1,
                                           dir=self.dir, port=port, root=root))
        self.proc = subprocess.Popen(
            [shutil.which("nginx") or "nginx", "-p", str(self.dir), "-c", str(conf),
             "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_listening(port, self.proc)


_TYPES = {".html": "text/html; charset=utf-8", ".xml": "application/xml; charset=utf-8",
          ".txt": "text/plain; charset=utf-8"}


def _py_worker(root: str, port: int, log_path: str) -> None:  # pragma: no cover - subprocess
    """One server process: asyncio HTTP/1.1 with keep-alive, gzip files as stored."""
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    log_fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    base = Path(root)

    def respond(target: str, gzip_ok: bool) -> tuple[int, list[tuple[str, str]], bytes]:
        path = unquote(urlsplit(target).path) or "/"
        if path.endswith("/"):
            path += "index.html"
        file = base / (path.lstrip("/") + ".gz")
        if ".." in path.split("/") or not file.is_file():
            return 404, [("Content-Type", "text/html; charset=utf-8")], b"<h1>Not found</h1>"
        data = file.read_bytes()
        ctype = ("application/rss+xml; charset=utf-8" if path == "/rss.xml"
                 else _TYPES.get(Path(path).suffix, "application/octet-stream"))
        headers = [("Content-Type", ctype), ("Vary", "Accept-Encoding")]
        if gzip_ok:
            headers.append(("Content-Encoding", "gzip"))
        else:
            data = zlib.decompress(data, wbits=31)
        return 200, headers, data

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, version = ([*lines[0].split(" "), "", ""])[:3]
                hdrs = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    hdrs[name.strip().lower()] = value.strip()
                status, headers, body = respond(target, "gzip" in hdrs.get(
                    "accept-encoding", "").lower())
                close = (hdrs.get("connection", "").lower() == "close"
                         or version == "HTTP/1.0")
                reason = "OK" if status == 200 else "Not Found"
                out = [f"HTTP/1.1 {status} {reason}", "Server: bench-site",
                       f"Content-Length: {len(body)}",
                       *(f"{k}: {v}" for k, v in headers)]
                if close:
                    out.append("Connection: close")
                os.write(log_fd, f"{status} {target} {len(body)}\n".encode())
                writer.write("\r\n".join(out).encode() + b"\r\n\r\n"
                             + (b"" if method == "HEAD" else body))
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, reuse_port=True,
                                            backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


class PyServer(_Server):
    """``python -m bench.site serve``: one process per core behind SO_REUSEPORT."""

    kind = "python-asyncio"

    def __init__(self, root: Path, port: int, workers: int | None = None) -> None:
        self.log_path = root.parent / "access.log"
        self.log_path.touch()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.site", "serve", str(root), str(port),
             str(self.log_path), str(workers or os.cpu_count() or 1)],
            cwd=REPO_ROOT, stdout=subprocess.DEVNULL)
        _wait_listening(port, self.proc)


def start_server(root: Path, port: int, kind: str = "auto") -> _Server:
    """nginx when installed (``kind="auto"``), else the Python server."""
    if kind == "nginx" or (kind == "auto" and shutil.which("nginx")):
        return NginxServer(root, port)
    return PyServer(root, port)


def _serve_main(argv: Sequence[str]) -> None:  # pragma: no cover - subprocess
    root, port, log_path, workers = argv[0], int(argv[1]), argv[2], int(argv[3])
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_py_worker, args=(root, port, log_path), daemon=True)
             for _ in range(workers)]
    for p in procs:
        p.start()

    def stop(*_: object) -> None:
        for p in procs:
            if p.pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p.pid, signal.SIGTERM)
        for p in procs:
            p.join(5)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for p in procs:
        p.join()


def iter_article_html(info: SiteInfo, indexes: Sequence[int]) -> Iterator[tuple[str, str]]:
    """(url, decoded html) of articles, read from the stored files."""
    for n in indexes:
        path = info.article_paths[n]
        raw = gzip.decompress((info.root / (path.lstrip("/") + ".gz")).read_bytes())
        yield info.base_url + path, raw.decode("utf-8")


if __name__ == "__main__":  # pragma: no cover
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        _serve_main(sys.argv[2:])
    elif len(sys.argv) > 1 and sys.argv[1] == "build":
        # python -m bench.site build DIR PAGES [PORT]: build and serve until Ctrl-C
        out, count = Path(sys.argv[2]), int(sys.argv[3])
        chosen = int(sys.argv[4]) if len(sys.argv) > 4 else free_port()
        started = time.monotonic()
        site = build_site(out / "www", count, f"http://127.0.0.1:{chosen}")
        print(f"built {count} articles in {time.monotonic() - started:.1f}s", flush=True)
        with start_server(site.root, chosen) as srv:
            print(f"{srv.kind} serving {site.base_url}/", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                srv.proc.wait()
    else:
        print("usage: python -m bench.site build DIR PAGES [PORT] | serve ROOT PORT LOG N",
              file=sys.stderr)
        sys.exit(2)
