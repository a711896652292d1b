"""What the Scrapy recorder hands to the WARC writer for one HTTP exchange."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

__all__ = ["HttpCapture", "Truncation"]

#: ``WARC-Truncated`` reasons we use (R15): a size cap or stopped download, a lost connection.
Truncation = Literal["length", "disconnect"]


@dataclass(frozen=True, slots=True)
class HttpCapture:
    """One request/response hop as seen at the network edge of Scrapy (R8).

    * ``url``: that hop's URL including the query (the WARC-Target-URI, R13/R14).
    * ``request_headers``: final request headers, every value; the writer adds ``Host``
      and ``Content-Length`` when missing and drops credentials (R13).
    * ``response_headers``: every value of repeated headers, in order (R12).
    * ``body``: exactly as the download handler returned it, still content-encoded (R9).
    * ``protocol``: ``"HTTP/1.1"``, ``"HTTP/1.0"``, ``"h2"`` or ``None`` (R11).
    * ``ip_address``: the peer address (``None`` behind a proxy, R14).
    * ``fetch_start``: aware UTC datetime with microseconds (R14).
    * ``truncated``: ``"length"`` or ``"disconnect"`` when the body is incomplete (R15).
    * ``via_proxy``: the request went through an HTTP proxy, so the request line is in
      absolute form (R13).
    """

    url: str
    method: str
    status: int
    fetch_start: datetime
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    request_body: bytes = b""
    protocol: str | None = "HTTP/1.1"
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    ip_address: str | None = None
    truncated: Truncation | None = None
    via_proxy: bool = False

    def __post_init__(self) -> None:
        if self.fetch_start.tzinfo is None:
            msg = "HttpCapture.fetch_start must be timezone-aware (UTC)"
            raise ValueError(msg)
        if self.truncated not in (None, "length", "disconnect"):
            msg = f"HttpCapture.truncated must be 'length' or 'disconnect', not {self.truncated!r}"
            raise ValueError(msg)
