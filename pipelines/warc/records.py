"""Build WARC/1.1 records for one capture with warcio (R7, R9-R16, R18-R21).

Everything here is built with warcio's ``RecordBuilder.create_warc_record`` /
``create_revisit_record`` / ``create_warcinfo_record`` and ``StatusAndHeaders``; warcio
computes the sha1/Base32 digests (``ensure_digest``) and serialises the records. Nothing
here touches files: see :mod:`pipelines.warc.writer`.

HTTP headers are passed to warcio as given: ``create_warc_record(http_headers=...)`` does
not parse, add or replace any HTTP header (only ``StatusAndHeaders.add_range`` and the
reader's defaults would), so no ``Content-Length`` is invented and no ``Transfer-Encoding``
is added (R10). warcio percent-encodes non-ASCII header values (RFC 8187) when serialising.
"""

from __future__ import annotations

import http
import ipaddress
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from io import BytesIO
from urllib.parse import urlsplit

from warcio.recordbuilder import RecordBuilder
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser
from warcio.utils import Digester

from pipelines.warc.capture import HttpCapture
from pipelines.warc.dedup import DedupEntry

__all__ = [
    "FIDELITY",
    "PROFILE_IDENTICAL_PAYLOAD",
    "PROFILE_SERVER_NOT_MODIFIED",
    "WARC_VERSION",
    "WarcInfo",
    "conversion_record",
    "default_extractor",
    "default_software",
    "metadata_record",
    "new_record_id",
    "not_modified_record",
    "payload_digest",
    "request_record",
    "response_record",
    "revisit_record",
    "status_line",
    "warc_date",
    "warcinfo_record",
]

logger = logging.getLogger(__name__)

WARC_VERSION = "WARC/1.1"
PROFILE_IDENTICAL_PAYLOAD = RecordBuilder.REVISIT_PROFILE_1_1
PROFILE_SERVER_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
CONFORMS_TO = "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"
FORMAT = "WARC File Format 1.1"
FIDELITY = (
    "reconstructed-from-scrapy (header names normalised, connection headers and chunk "
    "framing removed, reason phrase synthesised)"
)

#: Never archived (R13).
_ALWAYS_DROPPED = frozenset({"proxy-authorization"})
#: Archived only with ``keep_credentials=True`` (R13).
_CREDENTIALS = frozenset({"authorization", "cookie"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_H2 = frozenset({"h2", "http/2", "http/2.0"})

_builder = RecordBuilder(warc_version=WARC_VERSION)


def _dist_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def default_software() -> str:
    """``newsarchive/<v> Scrapy/<v> warcio/<v>`` from the installed metadata (R7)."""
    from crawler import __version__  # noqa: PLC0415 -- keeps this module import-light

    return f"newsarchive/{__version__} Scrapy/{_dist_version('scrapy')} " + (
        f"warcio/{_dist_version('warcio')}"
    )


def default_extractor() -> str:
    """``trafilatura/<v>``: the extractor named in metadata records (R21)."""
    return f"trafilatura/{_dist_version('trafilatura')}"


@dataclass(frozen=True, slots=True)
class WarcInfo:
    """The crawl description written as the ``warcinfo`` record of every file (R7)."""

    is_part_of: str
    operator: str
    user_agent: str
    robots: str
    description: str = ""
    http_from: str | None = None
    hostname: str | None = None
    ip: str | None = None
    software: str = field(default_factory=default_software)

    def fields(self) -> list[tuple[str, str]]:
        """The ``application/warc-fields`` lines, in order; empty optional ones left out."""
        pairs = [
            ("software", self.software),
            ("format", FORMAT),
            ("conformsTo", CONFORMS_TO),
            ("isPartOf", self.is_part_of),
            ("description", self.description),
            ("operator", self.operator),
            ("robots", self.robots),
            ("http-header-user-agent", self.user_agent),
            ("http-header-from", self.http_from or ""),
            ("hostname", self.hostname or ""),
            ("ip", self.ip or ""),
            ("http-fidelity", FIDELITY),
        ]
        return [(name, value) for name, value in pairs if value]


def new_record_id() -> str:
    """``<urn:uuid:…>`` with a random uuid4 (R14)."""
    return str(StatusAndHeadersParser.make_warc_id())


def warc_date(when: datetime) -> str:
    """ISO 8601 UTC with exactly six fractional digits, e.g. ``2026-01-02T03:04:05.000006Z``.

    warcio's ``datetime_to_iso_date`` drops the fraction when it is zero; R14 wants the
    microseconds on every capture, so the format is fixed here.
    """
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def payload_digest(body: bytes) -> str:
    """``sha1:<BASE32>`` of the body as stored (content coding kept, R16), by warcio."""
    digester = Digester("sha1")
    digester.update(body)
    return str(digester)


def status_line(status: int, protocol: str | None) -> tuple[str, str]:
    """``(protocol, "<code> <reason>")`` for ``StatusAndHeaders`` (R11).

    HTTP/1.0 stays; anything else (``h2``, ``None``) is written in HTTP/1.1 syntax. An
    unknown code keeps the space before the empty reason (``HTTP/1.1 599 ``).
    """
    proto = protocol if protocol in ("HTTP/1.0", "HTTP/1.1") else "HTTP/1.1"
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    return proto, f"{status} {reason}"


def _is_h2(protocol: str | None) -> bool:
    return protocol is not None and protocol.lower() in _H2


def _host_header(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    try:
        port = parts.port
    except ValueError:
        return netloc
    if port is not None and port == _DEFAULT_PORTS.get(parts.scheme.lower()):
        netloc = netloc.rsplit(":", 1)[0]
    return netloc


def _request_target(url: str, *, absolute: bool) -> str:
    if absolute:
        return url.split("#", 1)[0]
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return target


def _request_headers(capture: HttpCapture, *, keep_credentials: bool) -> list[tuple[str, str]]:
    dropped = _ALWAYS_DROPPED if keep_credentials else _ALWAYS_DROPPED | _CREDENTIALS
    headers = [(k, v) for k, v in capture.request_headers if k.lower() not in dropped]
    names = {k.lower() for k, _ in headers}
    if "host" not in names:
        headers.insert(0, ("Host", _host_header(capture.url)))
    if capture.request_body and "content-length" not in names:
        headers.append(("Content-Length", str(len(capture.request_body))))
    return headers


def _response_headers(capture: HttpCapture) -> list[tuple[str, str]]:
    """The response headers as received; a stray ``Transfer-Encoding`` (the body is always
    de-chunked by Twisted) is kept under ``X-Crawler-`` so readers do not de-chunk (R10)."""
    out = []
    for name, value in capture.response_headers:
        lower = name.lower()
        if lower == "transfer-encoding":
            logger.debug("renaming Transfer-Encoding of de-chunked body %s", capture.url)
            out.append(("X-Crawler-" + name, value))
        elif lower == "content-length" and capture.truncated:
            # the declared length is not what is stored: keep it visible, but let readers
            # and replay (pywb passes Content-Length on) see the real length (R9, R15, R23)
            out.append(("X-Crawler-" + name, value))
        else:
            out.append((name, value))
    if capture.truncated:
        out.append(("Content-Length", str(len(capture.body))))
    return out


def _http_head(capture: HttpCapture) -> StatusAndHeaders:
    proto, line = status_line(capture.status, capture.protocol)
    return StatusAndHeaders(line, _response_headers(capture), protocol=proto)


def _canonical_ip(value: str) -> str:
    """RFC 5952 form for IPv6 (W11A #100); anything unparsable is kept as given."""
    try:
        return str(ipaddress.ip_address(value.strip("[]")))
    except ValueError:
        return value


def _common_headers(
    record_type: str,
    record_id: str,
    date: str,
    uri: str,
    warcinfo_id: str | None,
    ip_address: str | None = None,
) -> dict[str, str]:
    headers = {
        "WARC-Type": record_type,
        "WARC-Record-ID": record_id,
        "WARC-Date": date,
        "WARC-Target-URI": uri,
    }
    if ip_address:
        headers["WARC-IP-Address"] = _canonical_ip(ip_address)
    if warcinfo_id:
        headers["WARC-Warcinfo-ID"] = warcinfo_id
    return headers


def warcinfo_record(
    filename: str, info: WarcInfo, *, record_id: str, date: str
) -> ArcWarcRecord:
    """The ``warcinfo`` record opening a file; ``filename`` is the final name (R5, R7)."""
    record = _builder.create_warcinfo_record(filename, dict(info.fields()))
    record.rec_headers.replace_header("WARC-Record-ID", record_id)
    record.rec_headers.replace_header("WARC-Date", date)
    return record


def response_record(
    capture: HttpCapture,
    *,
    record_id: str,
    date: str,
    warcinfo_id: str | None,
    digest: str | None = None,
) -> ArcWarcRecord:
    """The ``response`` record: HTTP head + the body exactly as received (R9-R12, R15)."""
    headers = _common_headers(
        "response", record_id, date, capture.url, warcinfo_id, capture.ip_address
    )
    if _is_h2(capture.protocol):
        headers["WARC-Protocol"] = "h2"
    if capture.truncated:
        headers["WARC-Truncated"] = capture.truncated
    if digest:
        headers["WARC-Payload-Digest"] = digest
    return _builder.create_warc_record(
        capture.url,
        "response",
        payload=BytesIO(capture.body),
        length=len(capture.body),
        warc_headers_dict=headers,
        http_headers=_http_head(capture),
    )


def request_record(
    capture: HttpCapture,
    *,
    record_id: str,
    date: str,
    warcinfo_id: str | None,
    concurrent_to: str,
    keep_credentials: bool = False,
) -> ArcWarcRecord:
    """The ``request`` record of a capture, linked to its response/revisit (R13, R14)."""
    headers = _common_headers(
        "request", record_id, date, capture.url, warcinfo_id, capture.ip_address
    )
    headers["WARC-Concurrent-To"] = concurrent_to
    target = _request_target(capture.url, absolute=capture.via_proxy)
    http_headers = StatusAndHeaders(
        f"{target} HTTP/1.1",
        _request_headers(capture, keep_credentials=keep_credentials),
        protocol=capture.method.upper(),
    )
    return _builder.create_warc_record(
        capture.url,
        "request",
        payload=BytesIO(capture.request_body),
        length=len(capture.request_body),
        warc_headers_dict=headers,
        http_headers=http_headers,
    )


def revisit_record(
    capture: HttpCapture,
    *,
    record_id: str,
    date: str,
    warcinfo_id: str | None,
    digest: str,
    original: DedupEntry,
) -> ArcWarcRecord:
    """An identical-payload-digest ``revisit``: block = the new response head only (R18)."""
    headers = _common_headers(
        "revisit", record_id, date, capture.url, warcinfo_id, capture.ip_address
    )
    if _is_h2(capture.protocol):
        headers["WARC-Protocol"] = "h2"
    headers["WARC-Refers-To"] = original.record_id
    headers["WARC-Truncated"] = "length"
    return _builder.create_revisit_record(
        capture.url,
        digest,
        original.uri,
        original.date,
        http_headers=_http_head(capture),
        warc_headers_dict=headers,
    )


def not_modified_record(
    capture: HttpCapture,
    *,
    record_id: str,
    date: str,
    warcinfo_id: str | None,
    original: DedupEntry | None = None,
) -> ArcWarcRecord:
    """A server-not-modified ``revisit`` for a 304 answer (R19); block = the 304 head."""
    headers = _common_headers(
        "revisit", record_id, date, capture.url, warcinfo_id, capture.ip_address
    )
    if _is_h2(capture.protocol):
        headers["WARC-Protocol"] = "h2"
    headers["WARC-Profile"] = PROFILE_SERVER_NOT_MODIFIED
    if original is not None:
        headers["WARC-Refers-To"] = original.record_id
        headers["WARC-Refers-To-Target-URI"] = original.uri
        headers["WARC-Refers-To-Date"] = original.date
    return _builder.create_warc_record(
        capture.url, "revisit", warc_headers_dict=headers, http_headers=_http_head(capture)
    )


def conversion_record(
    uri: str,
    text: str,
    *,
    record_id: str,
    date: str,
    warcinfo_id: str | None,
    refers_to: str,
    language: str | None = None,
) -> ArcWarcRecord:
    """Extracted article text as a ``conversion`` record; no Concurrent-To (R20)."""
    headers = _common_headers("conversion", record_id, date, uri, warcinfo_id)
    headers["WARC-Refers-To"] = refers_to
    if language:
        headers["WARC-Identified-Content-Language"] = language
    data = text.encode("utf-8")
    return _builder.create_warc_record(
        uri,
        "conversion",
        payload=BytesIO(data),
        length=len(data),
        warc_content_type="text/plain; charset=utf-8",
        warc_headers_dict=headers,
    )


def _warc_fields(fields: Iterable[tuple[str, str]]) -> bytes:
    lines = []
    for name, value in fields:
        # one field per line: fold embedded line breaks so a value cannot forge a field
        flat = " ".join(str(value).splitlines())
        lines.append(f"{name}: {flat}\r\n")
    return "".join(lines).encode("utf-8")


def metadata_record(
    uri: str,
    fields: Sequence[tuple[str, str]],
    *,
    record_id: str,
    date: str,
    warcinfo_id: str | None,
    refers_to: str,
    extractor: str | None = None,
) -> ArcWarcRecord:
    """Extraction facts as ``application/warc-fields`` ``metadata`` (R21)."""
    headers = _common_headers("metadata", record_id, date, uri, warcinfo_id)
    headers["WARC-Refers-To"] = refers_to
    data = _warc_fields([*fields, ("extractor", extractor or default_extractor())])
    return _builder.create_warc_record(
        uri,
        "metadata",
        payload=BytesIO(data),
        length=len(data),
        warc_content_type="application/warc-fields",
        warc_headers_dict=headers,
    )

