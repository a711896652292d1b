"""Safe output paths: file names derived from URLs never leave the output directory."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import unquote, urlsplit

__all__ = ["safe_component", "text_file_name"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_component(value: str, max_len: int = 80) -> str:
    """One path component of letters, digits, '.', '_' and '-'; never '.', '..' or empty."""
    cleaned = _UNSAFE.sub("-", value).strip(".-_")[:max_len].strip(".-_")
    return cleaned or "_"


def text_file_name(url: str) -> str:
    """A readable, unique file name for the article at ``url``: slug plus URL hash."""
    path = unquote(urlsplit(url).path).rstrip("/")
    last = path.rsplit("/", 1)[-1]
    last = re.sub(r"\.(s?html?|php|aspx?|jsp)$", "", last, flags=re.IGNORECASE)
    digest = hashlib.sha1(url.encode("utf-8"), usedforsecurity=False).hexdigest()[:10]
    return f"{safe_component(last, 80)}-{digest}.txt"
