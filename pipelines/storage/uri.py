"""Parse the ``--output`` URI: a directory (path or ``file://``) or ``s3://bucket[/prefix]``."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pipelines.storage.errors import StorageConfigError

__all__ = ["OutputURI", "parse_uri", "redact_uri", "validate_bucket_name"]

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


@dataclass(frozen=True, slots=True)
class OutputURI:
    """A parsed output location: ``scheme`` is ``"file"`` (with ``path``) or ``"s3"``."""

    uri: str
    scheme: str
    path: Path | None = None
    bucket: str = ""
    prefix: str = ""

    @property
    def is_s3(self) -> bool:
        return self.scheme == "s3"


def validate_bucket_name(bucket: str, uri: str) -> str:
    """Return ``bucket`` if it follows the S3 naming rules, else raise ``StorageConfigError``."""
    problem = ""
    if not 3 <= len(bucket) <= 63:
        problem = "must be 3 to 63 characters long"
    elif not _BUCKET.fullmatch(bucket):
        problem = ("may contain only lowercase letters, digits, '.' and '-', "
                   "and must start and end with a letter or digit")
    elif ".." in bucket or ".-" in bucket or "-." in bucket:
        problem = "must not contain '..', '.-' or '-.'"
    elif bucket.startswith(_RESERVED_PREFIXES) or bucket.endswith(_RESERVED_SUFFIXES):
        problem = "uses a prefix or suffix reserved by S3"
    else:
        try:
            ipaddress.IPv4Address(bucket)
        except ValueError:
            return bucket
        problem = "must not look like an IP address"
    msg = f"invalid S3 bucket name {bucket!r} in output URI {uri!r}: {problem}"
    raise StorageConfigError(msg)


def _clean_prefix(prefix: str, uri: str) -> str:
    parts = [part for part in prefix.split("/") if part]
    for part in parts:
        if part in {".", ".."}:
            msg = f"invalid prefix in output URI {uri!r}: '.' and '..' are not allowed"
            raise StorageConfigError(msg)
    return "/".join(parts)


def redact_uri(uri: str) -> str:
    """``uri`` with any ``user:password@`` part replaced by ``***@``, for messages."""
    scheme, sep, rest = uri.partition("://")
    if not sep:
        return uri
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rsplit("@", 1)[1]
    return f"{scheme}{sep}{authority}{slash}{path}"


def parse_uri(uri: str) -> OutputURI:
    """Parse ``./archive``, ``/abs/dir``, ``file:///abs/dir`` or ``s3://bucket/prefix``.

    Query strings, fragments and credentials in the URI are refused: credentials come
    from boto3's chain, never from the command line.
    """
    text = uri.strip()
    shown = redact_uri(text)
    if not text:
        msg = "empty output URI"
        raise StorageConfigError(msg)
    scheme, sep, _ = text.partition("://")
    if not sep or len(scheme) == 1:  # a plain path (also C:\ style on Windows)
        return OutputURI(uri=uri, scheme="file", path=Path(text).expanduser())
    scheme = scheme.lower()
    parts = urlsplit(text)
    if parts.query or parts.fragment:
        msg = f"output URI {shown!r} must not have a query or fragment"
        raise StorageConfigError(msg)
    if scheme == "file":
        if parts.netloc not in {"", "localhost"}:
            msg = f"output URI {shown!r}: file:// URIs must name a local path (file:///dir)"
            raise StorageConfigError(msg)
        return OutputURI(uri=uri, scheme="file", path=Path(unquote(parts.path)))
    if scheme == "s3":
        if "@" in parts.netloc or ":" in parts.netloc:
            msg = (f"output URI {shown!r}: put credentials and endpoints in the environment "
                   "or settings, not in the URI")
            raise StorageConfigError(msg)
        bucket = validate_bucket_name(parts.netloc, shown)
        return OutputURI(uri=uri, scheme="s3", bucket=bucket,
                         prefix=_clean_prefix(unquote(parts.path), shown))
    msg = f"unsupported output URI {shown!r}: use a directory path or s3://bucket/prefix"
    raise StorageConfigError(msg)
