"""One crawl of the hostile site (tests/sites/hostile.py): it finishes, the report names
each problem, and every good article is archived."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import read_articles, run_cli
from tests.sites.hostile import GOOD, HostileSite

PAGE_BUDGET = 40


def _report(out: Path) -> dict[str, Any]:
    (path,) = out.glob("reports/**/*.json")
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return report


@pytest.fixture(scope="module")
def hostile_crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    out = tmp_path_factory.mktemp("hostile")
    with HostileSite() as site:
        result = run_cli("crawl", site.base_url + "/", "-o", str(out), "-v",
                         "-s", "DOWNLOAD_TIMEOUT=4", "-s", "TRUNCATE_SIZE=1048576",
                         "-s", f"NEWS_MAX_PAGES_PER_SITE={PAGE_BUDGET}",
                         "-s", "EGRESS_ALLOW=127.0.0.1/32", timeout=240)
        yield {"result": result, "site": site, "out": out, "base": site.base_url,
               "report": _report(out), "requests": site.requests}


def _site(crawl: dict[str, Any]) -> dict[str, Any]:
    site: dict[str, Any] = crawl["report"]["sites"]["127.0.0.1"]
    return site


def test_crawl_finishes_and_archives_every_good_article(hostile_crawl: dict[str, Any],
                                                         ) -> None:
    result = hostile_crawl["result"]
    assert result.returncode == 6, result.stderr[-3000:]  # warnings: the page budget
    assert hostile_crawl["report"]["finish_reason"] == "finished"
    urls = {r["url"].removeprefix(hostile_crawl["base"])
            for r in read_articles(hostile_crawl["out"])}
    assert set(GOOD) <= urls
    assert not list(hostile_crawl["out"].glob("**/*.open"))


def test_hostile_input_never_stalls_the_reactor_for_long(hostile_crawl: dict[str, Any]) -> None:
    """Bombs, endless and huge answers are cut without keeping the event loop from running:
    the report's reactor lag (a timer due every 0.1 s) stays under a second."""
    report = hostile_crawl["report"]
    lag = report["reactor_lag_ms"]
    assert isinstance(lag["max"], float | int) and isinstance(lag["mean"], float | int)
    assert 0 <= lag["mean"] <= lag["max"] < 1000, lag
    assert report["reactor_stalls"] >= 0


def test_malformed_cut_and_mislabelled_articles_are_still_archived(
        hostile_crawl: dict[str, Any]) -> None:
    records = {r["url"].removeprefix(hostile_crawl["base"]): r
               for r in read_articles(hostile_crawl["out"])}
    assert "/cut.html" in records and records["/cut.html"]["text"]
    assert records["/malformed.html"]["title"] == "Malformed story"
    assert len(records["/malformed.html"]["text"].split()) >= 100
    # declared UTF-8, sent windows-1252: read as windows-1252, not as a page of U+FFFD
    assert records["/mislabelled.html"]["title"] == "Caf\u00e9 cr\u00e8me story"
    assert "Le caf\u00e9 cr\u00e8me \u00e9tait" in records["/mislabelled.html"]["text"]
    assert _site(hostile_crawl)["charset_mismatch"] == 1


def test_big_and_endless_responses_are_truncated_and_counted(
        hostile_crawl: dict[str, Any]) -> None:
    from warcio.archiveiterator import ArchiveIterator

    truncated = {}
    for path in hostile_crawl["out"].glob("warc/**/*.warc.gz"):
        with path.open("rb") as handle:
            for record in ArchiveIterator(handle):
                if record.rec_type == "response" and \
                        record.rec_headers.get_header("WARC-Truncated"):
                    url = record.rec_headers.get_header("WARC-Target-URI")
                    truncated[url.removeprefix(hostile_crawl["base"])] = \
                        record.rec_headers.get_header("WARC-Truncated")
    assert truncated.get("/big.html") == "length"
    assert truncated.get("/endless.html") == "length"
    assert _site(hostile_crawl)["truncated"] >= 2


def test_gzip_bomb_is_stopped_at_the_decompressed_size_cap(
        hostile_crawl: dict[str, Any]) -> None:
    assert _site(hostile_crawl)["too_large"] == 1
    assert "/bomb.html" in hostile_crawl["result"].stderr
    assert "during decompression" in hostile_crawl["result"].stderr


def test_redirect_loop_and_long_chain_are_reported(hostile_crawl: dict[str, Any]) -> None:
    site = _site(hostile_crawl)
    assert site["redirect_loops"] == 1
    assert site["too_many_redirects"] == 1
    paths = [p for p, _ in hostile_crawl["requests"]]
    assert paths.count("/loop/a") == 1
    assert "/chain/20" in paths and "/chain/21" not in paths  # REDIRECT_MAX_TIMES = 20


def test_crawler_trap_is_bounded_by_the_page_budget(hostile_crawl: dict[str, Any]) -> None:
    site = _site(hostile_crawl)
    assert site["over_page_budget"] > 0
    assert any("NEWS_MAX_PAGES_PER_SITE" in p for p in site["problems"])
    distinct = {p for p, _ in hostile_crawl["requests"]}
    # every distinct URL asked for counts against the budget (redirect hops are not asked
    # for by the spider, and the robots.txt of RobotsTxtMiddleware neither)
    assert len({p for p in distinct if not p.startswith(("/chain/", "/loop/b"))}) \
        <= PAGE_BUDGET + 1


def test_offsite_redirect_is_counted_not_blamed_on_robots(hostile_crawl: dict[str, Any],
                                                          ) -> None:
    assert hostile_crawl["report"]["offsite_filtered"] == 1  # /to-internal -> 127.0.0.3
    assert _site(hostile_crawl)["robots_disallowed"] == 0


def test_timeouts_are_retried_a_bounded_number_of_times_and_reported(
        hostile_crawl: dict[str, Any]) -> None:
    paths = [p for p, _ in hostile_crawl["requests"]]
    assert paths.count("/slow.html") == 3  # RETRY_TIMES = 2
    assert paths.count("/hang.html") == 3
    assert _site(hostile_crawl)["fetch_error_kinds"] == {"DownloadTimeoutError": 2}


def test_5xx_storm_is_retried_a_bounded_number_of_times_and_reported(
        hostile_crawl: dict[str, Any]) -> None:
    paths = [p for p, _ in hostile_crawl["requests"]]
    for n in (1, 2, 3):
        assert paths.count(f"/storm/{n}.html") == 3
    assert _site(hostile_crawl)["http_errors"]["5xx"] == 3


def test_retry_after_is_honoured(hostile_crawl: dict[str, Any]) -> None:
    times = [t for p, t in hostile_crawl["requests"] if p == "/news/limited.html"]
    assert len(times) == 2
    assert times[1] - times[0] >= 0.95  # Retry-After: 1
    assert "waiting 1.0 s (Retry-After)" in hostile_crawl["result"].stderr
    assert _site(hostile_crawl)["rate_limited"] == 1


def test_broken_feeds_and_sitemaps_are_reported_and_never_expanded(
        hostile_crawl: dict[str, Any]) -> None:
    site = _site(hostile_crawl)
    assert site["sitemap_errors"] == 1
    assert "sitemap-badgzip.xml.gz: bad gzip data" in hostile_crawl["result"].stderr
    # the garbage feed is named, and its undecodable "link" is never requested
    assert site["feed_errors"] >= 1
    assert "bad feed: feed " in hostile_crawl["result"].stderr
    assert "feed-garbage.xml" in hostile_crawl["result"].stderr
    paths = [p for p, _ in hostile_crawl["requests"]]
    assert not [p for p in paths if "%EF%BF%BD" in p.upper()]
    assert "/xxe-canary" not in paths  # the external entity was never fetched
    assert not [p for p in paths if "lol" in p]  # nor the billion laughs expanded
    # the huge sitemap was cut at TRUNCATE_SIZE, its offsite entries not followed
    assert not [p for p in paths if p.startswith("/news/") and p[6:].isdigit()]


def test_long_and_non_utf8_urls_do_not_stop_the_crawl(hostile_crawl: dict[str, Any],
                                                       ) -> None:
    paths = [p for p, _ in hostile_crawl["requests"]]
    # the 6000-character URL is over URLLENGTH_LIMIT: not fetched, counted
    assert not [p for p in paths if len(p) > 2083]
    assert hostile_crawl["report"]["ignored_long_urls"] >= 1
    assert "/news/%FF%FE-latin.html" in paths
    assert "/news/caf%C3%A9.html" in paths


# --- SSRF: a second listener on another loopback address, outside EGRESS_ALLOW ------------

class Listener:
    """Counts TCP connections accepted on ``host`` (a free port)."""

    def __init__(self, host: str) -> None:
        self.sock = socket.socket()
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecret")
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def internal() -> Iterator[Listener]:
    listener = Listener("127.0.0.3")
    yield listener
    listener.close()


def _ssrf_crawl(tmp_path: Path, internal: Listener, *extra: str,
                ) -> tuple[Any, dict[str, Any], HostileSite]:
    secret = f"http://127.0.0.3:{internal.port}/latest/meta-data/"
    with HostileSite(internal_url=secret + "iam/") as site:
        config = tmp_path / "sites.toml"
        config.write_text(
            f'[[sites]]\nname = "hostile"\nstart_urls = ["{site.base_url}/to-internal", '
            # 2130706435 is 127.0.0.3 to inet_aton: a host name only the resolver can check
            f'"{secret}", "http://2130706435:{internal.port}/numeric"]\n'
            f'allowed_domains = ["127.0.0.1", "127.0.0.3", "2130706435"]\n'
            f"robots_sitemaps = false\nfeed_autodiscovery = false\n", encoding="utf-8")
        result = run_cli("crawl", "--config", str(config), "-o", str(tmp_path / "out"),
                         "-s", "EGRESS_ALLOW=127.0.0.1/32", "-s", "ROBOTSTXT_OBEY=False",
                         "-s", "TRAFILATURA_PROCESSES=0",
                         *extra)
    return result, _report(tmp_path / "out"), site


def test_requests_to_other_addresses_are_refused_and_never_connected(
        tmp_path: Path, internal: Listener) -> None:
    result, report, site = _ssrf_crawl(tmp_path, internal)
    assert internal.accepted == 0
    assert site.hits("/to-internal") == 1
    counts = report["sites"]["hostile"]
    # the start URL, the redirect hop, and the numeric host name refused at resolution
    assert counts["refused_requests"] == 3
    assert "127.0.0.3 is loopback" in result.stderr
    assert "2130706435 resolves to 127.0.0.3 is loopback" in result.stderr
    assert any("EGRESS_ALLOW" in p for p in report["problems"])


def test_the_resolver_refuses_them_too(tmp_path: Path, internal: Listener) -> None:
    """Without the middleware, the name resolver drops the address: no connection."""
    middlewares = json.dumps({"crawler.egress.EgressGuardMiddleware": None})
    result, report, _ = _ssrf_crawl(tmp_path, internal, "-s",
                                    f"DOWNLOADER_MIDDLEWARES={middlewares}")
    assert internal.accepted == 0
    assert report["sites"]["hostile"]["fetch_errors"] == 3, result.stderr[-2000:]


def test_allowed_networks_are_reached(tmp_path: Path, internal: Listener) -> None:
    _ssrf_crawl(tmp_path, internal, "-s", "EGRESS_ALLOW=127.0.0.1/32,127.0.0.3/32")
    assert internal.accepted >= 1


@pytest.mark.parametrize(("address", "kind"), [
    ("169.254.169.254", "cloud metadata"), ("fd00:ec2::254", "cloud metadata"),
    ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.1.1", "private"),
    ("100.64.0.1", "shared (carrier-grade NAT)"), ("127.0.0.2", "loopback"),
    ("::1", "loopback"), ("fd12::1", "private"), ("fe80::1", "link-local"),
    ("::ffff:10.0.0.1", "private"), ("0.0.0.0", "unspecified"),  # noqa: S104
    ("224.0.0.1", "multicast"), ("93.184.215.14", None), ("2606:4700::1111", None),
])
def test_refusal_kinds(address: str, kind: str | None) -> None:
    from crawler.egress import EgressPolicy, refusal

    assert refusal(address) == kind
    allowed = EgressPolicy.from_settings_list(["10.0.0.0/8", "::1"])
    assert (allowed.refused(address) is None) == (kind is None or address in
                                                  ("10.1.2.3", "::1", "::ffff:10.0.0.1"))


@pytest.mark.faults
def test_full_size_page_with_the_default_caps(tmp_path: Path) -> None:
    """The 50 MB page against the shipped TRUNCATE_SIZE (16 MiB): cut there, archived."""
    from warcio.archiveiterator import ArchiveIterator

    with HostileSite() as site:
        urls = "".join(site.base_url + p + "\n" for p in ("/big.html", GOOD[0]))
        result = run_cli("crawl", "--urls-file", "-", "-o", str(tmp_path), "-s",
                         "EGRESS_ALLOW=127.0.0.1/32", input_text=urls)
    assert result.returncode == 0, result.stderr[-3000:]
    sizes = {}
    for path in tmp_path.glob("warc/**/*.warc.gz"):
        with path.open("rb") as handle:
            for record in ArchiveIterator(handle):
                if record.rec_type == "response":
                    url = record.rec_headers.get_header("WARC-Target-URI")
                    sizes[url.removeprefix(site.base_url)] = (
                        len(record.content_stream().read()),
                        record.rec_headers.get_header("WARC-Truncated"))
    length, truncated = sizes["/big.html"]
    assert truncated == "length"
    assert 16 * 1024 * 1024 < length < 17 * 1024 * 1024
    assert [r["url"] for r in read_articles(tmp_path)] == [site.base_url + GOOD[0]]


def test_retry_after_values() -> None:
    from datetime import UTC, datetime

    from crawler.retryafter import retry_after_seconds

    now = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds(b"7", now) == 7.0
    assert retry_after_seconds("Wed, 25 Nov 2026 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Wed, 25 Nov 2026 11:00:00 GMT", now) == 0.0  # past
    for bad in (None, b"", b"soon", b"-5", b"1.5"):
        assert retry_after_seconds(bad, now) is None


def test_non_http_schemes_are_never_fetched(tmp_path: Path) -> None:
    """file:// and s3:// have no download handler, and the guard refuses them first."""
    secret = tmp_path / "secret.txt"
    secret.write_text("local secret 5be1", encoding="utf-8")
    from scrapy import Request
    from scrapy.utils.test import get_crawler

    from crawler import settings as project
    from crawler.egress import EgressGuardMiddleware, EgressRefused

    assert project.DOWNLOAD_HANDLERS["file"] is None
    assert project.DOWNLOAD_HANDLERS["s3"] is None
    crawler = get_crawler(settings_dict={"EGRESS_ENABLED": True, "EGRESS_ALLOW": []})
    guard = EgressGuardMiddleware.from_crawler(crawler)
    for url in (secret.as_uri(), "s3://bucket/key", "ftp://127.0.0.1/x"):
        with pytest.raises(EgressRefused, match="is not fetched"):
            guard.process_request(Request(url))
    for url in ("http://169.254.169.254/latest/", "http://[::1]:8080/", "http://10.0.0.1/",
                "https://0x7f000001/", "http://2130706433/"):
        request = Request(url)
        if url.endswith(("0x7f000001/", "2130706433/")):
            # not IP literals to Python: a name, resolved (and refused) by GuardedResolver
            guard.process_request(request)
        else:
            with pytest.raises(EgressRefused):
                guard.process_request(request)
    guard.process_request(Request("https://example.org/"))


def test_a_bad_allow_list_is_a_config_error(tmp_path: Path) -> None:
    result = run_cli("crawl", "http://127.0.0.1:9/", "-o", str(tmp_path / "out"),
                     "-s", "EGRESS_ALLOW=127.0.0.1/32,intranet")
    assert result.returncode == 2
    assert "config error: EGRESS_ALLOW: 'intranet' is not a network" in result.stderr
    assert not (tmp_path / "out").exists()


def test_the_resolver_checks_every_answer_so_rebinding_is_refused() -> None:
    """A name that answers a public address, then 10.0.0.1 (DNS rebinding): the second
    answer reaches no connection. The inner resolver stands in for DNS only."""
    from twisted.internet.address import IPv4Address

    from crawler import egress

    answers = [["93.184.215.14"], ["10.0.0.1"], ["10.0.0.2", "93.184.215.15"]]

    class ScriptedDns:
        def resolveHostName(self, receiver: Any, name: str, port: int = 0,
                            *_: Any) -> Any:
            receiver.resolutionBegan(None)
            for host in answers.pop(0):
                receiver.addressResolved(IPv4Address("TCP", host, port))
            receiver.resolutionComplete()
            return None

    class Receiver:
        def __init__(self) -> None:
            self.addresses: list[str] = []

        def resolutionBegan(self, resolution: Any) -> None:
            pass

        def addressResolved(self, address: Any) -> None:
            self.addresses.append(address.host)

        def resolutionComplete(self) -> None:
            pass

    resolver = egress._FilteringNameResolver(ScriptedDns(),
                                             egress.EgressPolicy.from_settings_list([]))
    got = []
    for _ in range(3):
        receiver = Receiver()
        resolver.resolveHostName(receiver, "rebind.example", 80)
        got.append(receiver.addresses)
        refused = egress._REFUSED_NAMES.get("rebind.example")
        if not receiver.addresses:
            assert refused == "10.0.0.1 is private"
        else:
            assert refused is None
    assert got == [["93.184.215.14"], [], ["93.184.215.15"]]


def test_bot_walls_are_told_from_pages() -> None:
    """A 200 that is a bot wall counts as ``blocked`` in the run report."""
    import random
    import re

    from crawler.report import looks_like_challenge

    walls = [b"<html><head><TITLE>Just a moment...</TITLE>",
             b"<html><head><title>\n  Attention Required! | Cloudflare</title>",
             b"<svg><title>icon</title></svg><title>Are you a robot?</title>",
             b"<div id='cf-challenge-running'></div>",
             b"<script src='https://www.google.com/recaptcha/api.js'></script>"
             b"<div class='g-recaptcha'></div>",
             b"<div id='px-captcha'></div>", b"https://geo.captcha-delivery.com/captcha/"]
    pages = [b"<html><head><title>Access to the courts</title></head><body>captcha</body>",
             b"<title>News</title>" + b"x" * 9000 + b"cf-challenge"]  # past the first 8 kB
    assert all(looks_like_challenge(w) for w in walls[:3] + walls[4:])
    assert looks_like_challenge(walls[3])
    assert not any(looks_like_challenge(p) for p in pages)
    # the same answers as one regex over the first 8 kB (what it replaced)
    old = re.compile(
        rb"<title>\s*(?:just a moment|attention required|access denied|are you a robot|"
        rb"verify you are human|security check)|cf-browser-verification|cf-challenge|"
        rb"px-captcha|g-recaptcha|h-captcha|captcha-delivery")
    parts = [b"<title>", b"<TITLE> ", b"just a moment", b"Access Denied", b"cf-",
             b"challenge", b"captcha", b"h-", b"px-", b"<p>news</p>", b"x" * 3000]
    rng = random.Random(7)
    for body in walls + pages + [b"".join(rng.choices(parts, k=rng.randint(1, 12)))
                                 for _ in range(3000)]:
        assert looks_like_challenge(body) == bool(old.search(body[:8192].lower())), body
