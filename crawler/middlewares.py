"""The WARC recorder: a downloader middleware at the network edge (priority 950).

Above HttpCompression (590) and Redirect (600) it sees every response as received: the
body still Content-Encoded, 3xx responses before they are followed, final request
headers (warc-requirements §B, R8). It never changes the request or the response.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Self

from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response

from crawler.handlers import FETCH_START_KEY
from pipelines.storage.errors import DiskFull
from pipelines.warc import HttpCapture
from pipelines.warc_archive import WarcArchive

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from pipelines.warc.capture import Truncation

__all__ = ["WARC_REF_KEY", "NotArchived", "WarcRecorderMiddleware", "capture_of"]

WARC_REF_KEY = "warc_ref"
_SEEN_KEY = "warc_seen"
_HTML_TYPES = (b"text/html", b"application/xhtml+xml")


def _text(value: bytes | str) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _truncation(response: Response) -> Truncation | None:
    flags = set(response.flags)
    if flags & {"dataloss", "partial"}:
        return "disconnect"
    if "download_stopped" in flags:
        return "length"
    return None


def capture_of(request: Request, response: Response) -> HttpCapture:
    """The HTTP exchange as the writer needs it: every header value, the raw body."""
    request_headers = [(_text(k), _text(v)) for k in request.headers
                       for v in request.headers.getlist(k)]
    response_headers = [(_text(k), _text(v)) for k in response.headers
                        for v in response.headers.getlist(k)]
    start = request.meta.get(FETCH_START_KEY)
    return HttpCapture(
        url=response.url, method=request.method, status=response.status,
        fetch_start=start if isinstance(start, datetime) else datetime.now(UTC),
        request_headers=request_headers, request_body=request.body or b"",
        protocol=response.protocol, response_headers=response_headers,
        body=response.body, ip_address=str(response.ip_address) if response.ip_address
        and not request.meta.get("proxy") else None,
        truncated=_truncation(response), via_proxy=bool(request.meta.get("proxy")))


class NotArchived(IgnoreRequest):
    """The response could not be written to the WARC (a full disk): it is dropped, so
    nothing is extracted from a page the archive does not hold."""


class WarcRecorderMiddleware:
    """Writes a request/response (or revisit) capture for every downloaded response."""

    def __init__(self, crawler: Crawler, archive: WarcArchive) -> None:
        self.crawler = crawler
        self.archive = archive
        # an HTML capture's file stays open for its text records, when text is extracted
        self.holding = crawler.settings.getbool("TRAFILATURA_ENABLED")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler, WarcArchive.require(crawler))

    def process_request(self, request: Request) -> None:
        request.meta[_SEEN_KEY] = True
        request.meta.pop(WARC_REF_KEY, None)  # a redirect copies the previous hop's meta

    async def process_response(self, request: Request, response: Response) -> Response:
        # R8: nothing from the HTTP cache, nothing this middleware did not see leave
        if "cached" in response.flags or not request.meta.get(_SEEN_KEY):
            return response
        content_type = response.headers.get(b"Content-Type") or b""
        hold = self.holding and 200 <= response.status < 300 and \
            content_type.split(b";")[0].strip().lower() in _HTML_TYPES
        try:
            ref = await self.archive.write_capture(capture_of(request, response), hold=hold)
        except DiskFull as exc:
            self.archive.output.disk_full(exc)
            raise NotArchived(f"not archived: {exc}") from exc
        request.meta[WARC_REF_KEY] = ref
        return response
