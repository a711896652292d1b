"""Download handlers: Scrapy's HTTP/1.1 handler, stamping when each fetch really starts.

``process_request`` of a middleware runs before the download slot's delay, so it is too
early for ``WARC-Date`` (warc-requirements R14); the handler runs when the request leaves.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.http import Response

__all__ = ["FETCH_START_KEY", "FetchStartHttpHandler"]

FETCH_START_KEY = "warc_fetch_start"


class FetchStartHttpHandler(HTTP11DownloadHandler):
    """``HTTP11DownloadHandler`` that records the fetch start in ``request.meta``."""

    async def download_request(self, request: Request) -> Response:
        request.meta[FETCH_START_KEY] = datetime.now(UTC)
        return await super().download_request(request)
