"""URL normalisation: canonical form, tracking parameters, scope checks."""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import re
from collections.abc import Iterable, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url, safe_url_string

__all__ = ["DEFAULT_TRACKING_PARAMS", "host_in_domains", "host_of", "in_domains", "normalize_url",
           "strip_tracking", "url_fingerprint"]

_DEFAULT_PORTS = {"http": 80, "https": 443}

# Query parameters that identify a campaign or a click, never a page (glob patterns).
DEFAULT_TRACKING_PARAMS = (
    "utm_*", "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid",
    "yclid", "igshid", "_ga", "_gl", "ocid", "cmpid", "smid", "ref_src", "spm",
)


@functools.cache
def _compile(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One regex for the glob ``patterns``, compiled once per pattern tuple."""
    parts = [fnmatch.translate(p.lower()) for p in patterns] or ["(?!x)x"]
    return re.compile("|".join(parts))


def strip_tracking(url: str, patterns: Sequence[str]) -> str:
    """Drop query parameters whose name matches one of the glob ``patterns``."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    rx = _compile(tuple(patterns))
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not rx.fullmatch(k.lower())]
    return urlunsplit(parts._replace(query=urlencode(kept, doseq=True)))


def normalize_url(url: str, tracking: Sequence[str] = ()) -> str:
    """The form used to recognise one page under several URLs.

    Lower-cased scheme and host, default port dropped, fragment dropped, tracking
    parameters stripped, remaining query arguments sorted (w3lib's canonicalisation).
    An article's URL is normalised by the spider, the dedup and the state pipelines: the
    last few thousand answers are kept.
    """
    return _normalize(url, tuple(tracking))


@functools.lru_cache(maxsize=4096)
def _normalize(url: str, tracking: tuple[str, ...]) -> str:
    url = safe_url_string(url.strip())
    if tracking:
        url = strip_tracking(url, tracking)
    url = canonicalize_url(url, keep_fragments=False)
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port and parts.port != _DEFAULT_PORTS.get(parts.scheme):
        netloc = f"{netloc}:{parts.port}"
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), netloc, path, parts.query, ""))


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def host_in_domains(host: str, domains: Iterable[str]) -> bool:
    """True if ``host`` is one of ``domains`` or a subdomain of one."""
    host = host.lower()
    return any(host == d or host.endswith("." + d) for d in domains)


def in_domains(url: str, domains: Iterable[str]) -> bool:
    """True if the URL's host is one of ``domains`` or a subdomain of one."""
    return host_in_domains(host_of(url), domains)


def url_fingerprint(url: str) -> bytes:
    """16 bytes standing for a (normalised) URL in a run's seen-sets: a fraction of the
    URL's own size in memory, collisions out of reach (2**-64 at a billion URLs)."""
    return hashlib.blake2b(url.encode("utf-8", "surrogatepass"), digest_size=16).digest()
