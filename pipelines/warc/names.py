"""WARC file names (R2): ``<prefix>-<YYYYMMDDhhmmssSSS>-<SERIAL5>-<shorthost>-<token>.warc.gz``."""

from __future__ import annotations

import re
import secrets
import string
from datetime import UTC, datetime

__all__ = [
    "CDXJ_SUFFIX",
    "INVALID_SUFFIX",
    "OPEN_SUFFIX",
    "WARC_SUFFIX",
    "new_token",
    "sanitize_part",
    "short_hostname",
    "sidecar_name",
    "warc_file_name",
]

WARC_SUFFIX = ".warc.gz"
OPEN_SUFFIX = ".open"
INVALID_SUFFIX = ".invalid"
CDXJ_SUFFIX = ".cdxj"

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_TOKEN_ALPHABET = string.ascii_lowercase + string.digits


def sanitize_part(value: str, what: str) -> str:
    """``value`` with every run of characters outside ``[A-Za-z0-9_-]`` replaced by ``-``.

    Raises ``ValueError`` when nothing usable is left (an empty part would make names
    ambiguous).
    """
    cleaned = _UNSAFE.sub("-", value).strip("-")
    if not cleaned:
        msg = f"WARC file name {what} {value!r} has no usable characters [A-Za-z0-9_-]"
        raise ValueError(msg)
    return cleaned


def short_hostname(hostname: str) -> str:
    """First label of ``hostname`` (``crawl-3.example.org`` -> ``crawl-3``), sanitised."""
    return sanitize_part(hostname.strip().split(".", 1)[0] or hostname, "hostname")


def new_token(length: int = 6) -> str:
    """A random token telling apart several writer processes on one host."""
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(length))


def warc_file_name(
    prefix: str, when: datetime, serial: int, hostname: str, token: str | None = None
) -> str:
    """The final file name of a WARC opened at ``when`` (R2).

    ``when`` is converted to UTC (naive datetimes are taken as UTC); the timestamp has
    millisecond precision (17 digits). ``serial`` is written with at least five digits.
    """
    if serial < 0:
        msg = f"WARC serial must not be negative: {serial}"
        raise ValueError(msg)
    utc = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    stamp = utc.strftime("%Y%m%d%H%M%S") + f"{utc.microsecond // 1000:03d}"
    token = sanitize_part(token if token is not None else new_token(), "token")
    return (
        f"{sanitize_part(prefix, 'prefix')}-{stamp}-{serial:05d}-"
        f"{short_hostname(hostname)}-{token}{WARC_SUFFIX}"
    )


def sidecar_name(warc_name: str) -> str:
    """``x.warc.gz`` -> ``x.cdxj`` (R22)."""
    base = warc_name.removesuffix(WARC_SUFFIX)
    return base + CDXJ_SUFFIX
