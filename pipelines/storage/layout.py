"""Archive layout: ``<prefix>/<kind>/<group>/<YYYY>/<MM>/<DD>/<filename>``, on disk and in S3."""

from __future__ import annotations

import re
from datetime import datetime

from pipelines.storage.errors import InvalidKey

__all__ = ["KINDS", "check_key", "join_key", "object_key", "relative_key"]

KINDS = frozenset({"warc", "cdxj", "articles", "reports", "text"})
_SAFE = re.compile(r"[A-Za-z0-9._-]{1,255}")


def _component(value: str, what: str) -> str:
    if not _SAFE.fullmatch(value) or value in {".", ".."}:
        msg = f"unsafe {what} {value!r}: use 1-255 of [A-Za-z0-9._-], not '.' or '..'"
        raise InvalidKey(msg)
    return value


def relative_key(kind: str, group: str, when: datetime, filename: str) -> str:
    """The key below the store's root: ``<kind>/<group>/<YYYY>/<MM>/<DD>/<filename>``."""
    if kind not in KINDS:
        msg = f"unknown kind {kind!r}: one of {', '.join(sorted(KINDS))}"
        raise InvalidKey(msg)
    return (f"{kind}/{_component(group, 'group')}/{when:%Y}/{when:%m}/{when:%d}/"
            f"{_component(filename, 'file name')}")


def join_key(prefix: str, key: str) -> str:
    """``prefix/key`` without doubled or leading slashes (``prefix`` may be empty)."""
    prefix = prefix.strip("/")
    return f"{prefix}/{key}" if prefix else key


def object_key(prefix: str, kind: str, group: str, when: datetime, filename: str) -> str:
    """The full object key: ``<prefix>/<kind>/<group>/<YYYY>/<MM>/<DD>/<filename>``."""
    return join_key(prefix, relative_key(kind, group, when, filename))


def check_key(key: str) -> str:
    """Return ``key`` if every ``/``-separated component is safe (no ``..``, no absolute)."""
    if not key or key.startswith("/"):
        msg = f"unsafe key {key!r}: must be relative and non-empty"
        raise InvalidKey(msg)
    for part in key.split("/"):
        _component(part, "key component")
    return key
