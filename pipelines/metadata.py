"""Article metadata from what the page declares: JSON-LD, OpenGraph/article meta, markup.

trafilatura's own metadata (and htmldate behind it) is the fallback, applied by
``pipelines.extract``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin

from parsel import Selector

from crawler.classify import ARTICLE_TYPES, jsonld_objects

__all__ = [
    "PageMetadata", "detect_language", "instant", "normalize_authors", "page_metadata",
    "relative_dates", "valid_date",
]

EARLIEST_DATE = datetime(1995, 1, 1, tzinfo=UTC)
_BY = re.compile(r"^\s*(by|von|par|por|door|di|av)\s*[:\s]\s*", re.IGNORECASE)
_SPLIT_AUTHORS = re.compile(r"\s*(?:;|\||,\s*and\s+|\s+and\s+|\s+&\s+|,\s*|\s+[-–—]\s+)\s*")
_WS = re.compile(r"\s+")
# a "name" that is really a date, a role or a label of the byline
_NOT_A_NAME = re.compile(
    r"\d|^(?:updated|published|posted|staff|reporter|editor|correspondent|contributor|"
    r"more|about|follow|view|read|email|e-mail|twitter|facebook|share|comments?)\b"
    r"|\b(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day|ago|am|pm|writers?|reporters?|"
    r"correspondents?|editors?|columnists?|contributors?)$",
    re.IGNORECASE,
)
_MAX_NAME_WORDS = 6
_DATE_NAMES = frozenset(
    """
    jan january feb february mar march apr april may jun june jul july aug august sep sept
    september oct october nov november dec december mon monday tue tues tuesday wed wednesday
    thu thur thurs thursday fri friday sat saturday sun sunday today yesterday
    """.split()  # noqa: SIM905
)


@dataclass
class PageMetadata:
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    organisations: list[str] = field(default_factory=list)
    published: str | None = None
    modified: str | None = None
    language: str | None = None
    site_name: str | None = None
    description: str | None = None
    canonical_url: str | None = None
    categories: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    is_accessible_for_free: bool | None = None
    captions: list[tuple[str | None, str, str | None]] = field(default_factory=list)


def _clean(text: Any) -> str | None:
    if not isinstance(text, str):
        return None
    text = _WS.sub(" ", text).strip()
    return text or None


def valid_date(value: str | None, now: datetime | None = None) -> str | None:
    """The ISO 8601 date as given (timezone kept) if plausible, else None.

    Dates in the future (beyond a day of clock skew) or before 1995 are rejected.
    """
    value = _clean(value)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:  # "Tue, 19 Nov 2019 10:30:00 -0500" (RSS, some meta tags)
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    aware = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    if aware > now + timedelta(days=1) or aware < EARLIEST_DATE:
        return None
    return parsed.isoformat()


def instant(value: str) -> datetime:
    """An ISO date from ``valid_date`` as an aware datetime (naive values taken as UTC), so
    that dates in different timezones compare by the moment they name."""
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def normalize_authors(names: Iterable[str]) -> list[str]:
    """Byline names without "By", split on "and"/","/";", de-duplicated, order kept."""
    out: list[str] = []
    seen: set[str] = set()
    for raw in names:
        text = _clean(raw)
        if not text:
            continue
        text = _BY.sub("", text)
        for part in _SPLIT_AUTHORS.split(text):
            name = part.strip(" .,:;-–—|")
            if not name or len(name) > 80 or name.lower().startswith(("http", "www.")):
                continue
            if _NOT_A_NAME.search(name) or len(name.split()) > _MAX_NAME_WORDS or "@" in name:
                continue
            if all(w.casefold().rstrip(".") in _DATE_NAMES for w in name.split()):
                continue  # "Monday November", "Nov": a dateline split from the byline
            key = name.casefold()
            if key not in seen:
                seen.add(key)
                out.append(name)
    return out


def _names(value: Any) -> tuple[list[str], list[str]]:
    """Person names and organisation names of a JSON-LD author value."""
    people: list[str] = []
    orgs: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str):
            people.append(item)
        elif isinstance(item, dict):
            name = _clean(item.get("name"))
            kind = str(item.get("@type", "")).lower()
            if name:
                (orgs if "organization" in kind else people).append(name)
    return people, orgs


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _article_object(objects: list[dict[str, Any]]) -> dict[str, Any]:
    for obj in objects:
        value = obj.get("@type")
        types = value if isinstance(value, list) else [value]
        if any(str(t).lower().rpartition("/")[2] in ARTICLE_TYPES for t in types if t):
            return obj
    return {}


class _Metas:
    """The page's ``<meta>`` tags read once: by property, name or itemprop."""

    def __init__(self, sel: Selector) -> None:
        self.first: dict[str, str] = {}  # the first tag's content, as a lookup gets it
        self.all: dict[str, list[str]] = {}  # every content by property or name
        for node in sel.root.iter("meta"):
            content = node.get("content")
            if content is None:  # as in XPath's //meta[…]/@content: no content, no value
                continue
            prop, name, itemprop = node.get("property"), node.get("name"), node.get("itemprop")
            for key in {prop, name, itemprop} - {None}:
                self.first.setdefault(str(key), content)
            for key in {prop, name} - {None}:
                self.all.setdefault(str(key), []).append(content)

    def get(self, *names: str) -> str | None:
        """The first name's value that is not blank."""
        for name in names:
            value = _clean(self.first.get(name))
            if value:
                return value
        return None

    def get_all(self, name: str) -> list[str]:
        return [v for v in (_clean(x) for x in self.all.get(name, [])) if v]


def _dedup(values: Iterable[str]) -> list[str]:
    out: dict[str, str] = {}
    for v in values:
        out.setdefault(v.casefold(), v)
    return list(out.values())


def _first_date(now: datetime | None, values: Iterable[Any]) -> str | None:
    for value in values:
        if isinstance(value, str):
            date = valid_date(value, now)
            if date:
                return date
    return None


_UPDATE_LABEL = re.compile(r"(?:updated|modified|edited|revised)\W*$", re.IGNORECASE)
_UPDATE_CLASS = re.compile(r"updat|modif", re.IGNORECASE)


def _is_update_stamp(element: Any) -> bool:
    """A ``<time>`` the page labels as the last update: "Updated <time>…", class="updated"."""
    if _UPDATE_CLASS.search(element.get("class") or ""):
        return True
    if re.match(r"\s*(?:last\s+)?(?:updated|modified)\b", element.text or "", re.IGNORECASE):
        return True
    parent = element.getparent()
    if parent is None:
        return False
    before = [parent.text or ""]
    for sibling in parent:
        if sibling is element:
            break
        before = [sibling.tail or ""]  # only the text right before the element counts
    return bool(_UPDATE_LABEL.search(before[-1][-40:]))


def _time_values(sel: Selector, prop: str) -> list[str]:
    """Machine-readable dates in the markup: microdata first, then ``<time>`` elements.

    A ``<time>`` inside a link belongs to a teaser of another article ("1 hour ago" next to a
    related video) and is skipped; one labelled as an update ("Updated <time>", class
    "updated") is a modification date, never the publication date.
    """
    values = sel.xpath(f'//*[@itemprop="{prop}"]/@datetime | '
                       f'//*[@itemprop="{prop}"][not(self::meta)]/@content').getall()
    if prop == "datePublished":
        values += sel.xpath("//time[@pubdate]/@datetime").getall()
    for scope in ("//article", "//header", "//main", ""):
        stamps = [t.root for t in sel.xpath(f"{scope}//time[@datetime][not(ancestor::a)]")]
        if not stamps:
            continue
        wanted = [t for t in stamps if _is_update_stamp(t) == (prop == "dateModified")]
        if wanted:
            values.append(wanted[0].get("datetime"))
        break
    return values


_RELATIVE = re.compile(
    r"\b(?:(\d{1,3}|an?|one)\s+(minute|min|hour|hr|day|week)s?\s+ago|(yesterday))\b",
    re.IGNORECASE,
)
_OTHER_CONTENT = "".join(
    f" or contains(@class, '{word}') or contains(@id, '{word}')"
    for word in ("comment", "related", "recommend", "popular", "trending", "sidebar", "widget")
)
_RELATIVE_PLACES = (
    "(//time[not(@datetime)] | "
    "//*[self::span or self::div or self::p or self::small or self::li]"
    "[contains(@class, 'date') or contains(@class, 'time') or contains(@class, 'byline') or "
    "contains(@class, 'posted') or contains(@class, 'published') or contains(@class, 'updated')])"
    f"[not(ancestor::*[self::a or self::aside or self::nav or self::footer{_OTHER_CONTENT}])]"
)
_UNITS = {"minute": 60, "min": 60, "hour": 3600, "hr": 3600, "day": 86400, "week": 604800}


def relative_dates(sel: Selector, now: datetime) -> tuple[str | None, str | None]:
    """Published and modified dates written relative to the fetch ("3 hours ago",
    "Updated yesterday"), resolved against ``now`` (the fetch time, timezone kept).

    Minutes and hours give an instant; days, weeks and "yesterday" give a calendar day. A
    phrase right after "Updated"/"Modified" is the modification date. Only the byline's and
    date stamps' own short texts are read, and none inside links, asides, navigation, footers,
    comments or related/recommended/popular lists (the times of other articles and posts).
    """
    published = modified = None
    for node in sel.xpath(_RELATIVE_PLACES):
        text = " ".join(node.xpath("string()").get("").split())
        if not text or len(text) > 120:
            continue
        for match in _RELATIVE.finditer(text):
            amount, unit, yesterday = match.groups()
            if yesterday:
                value = (now - timedelta(days=1)).date().isoformat()
            else:
                count = int(amount) if amount.isdigit() else 1
                seconds = _UNITS[unit.lower()] * count
                when = now - timedelta(seconds=seconds)
                value = (when.isoformat(timespec="minutes") if seconds < 86400
                         else when.date().isoformat())
            if _UPDATE_LABEL.search(text[: match.start()][-40:]):
                modified = modified or value
            else:
                published = published or value
    return published, modified


# Author links and microdata outside the article's own byline: comment authors (WordPress
# marks each commenter with rel="author"), asides and navigation.
_BYLINE_CANDIDATES = (
    '//*[@rel="author" or @itemprop="author"]'
    '[not(ancestor::*[self::aside or self::nav or contains(@class, "comment") or '
    'contains(@id, "comment")])]'
)
_BYLINE_SCOPE = 3  # a byline's names share an ancestor at most this many levels up


def _byline_names(sel: Selector) -> list[str]:
    """Names from the page's first byline (``rel="author"`` links, ``itemprop="author"``).

    Only the candidates under the first one's ancestor ``_BYLINE_SCOPE`` levels up count: the
    article's byline "By <a>A</a> and <a>B</a>" gives both names, the author links of a
    "most popular" list further down the page give none.
    """
    found = sel.xpath(_BYLINE_CANDIDATES)
    if not found:
        return []
    scope = found[0].root
    for _ in range(_BYLINE_SCOPE):
        parent = scope.getparent()
        if parent is None:
            break
        scope = parent
    names: list[str] = []
    for node in found:
        if node.root is found[0].root or any(a is scope for a in node.root.iterancestors()):
            names.append(" ".join(node.xpath(".//text()").getall()))
    return names


def detect_language(text: str) -> str | None:
    """The language of ``text`` by py3langid (ISO 639-1), or None if unsure or unavailable."""
    if len(text.split()) < 20:
        return None
    try:
        import py3langid  # noqa: PLC0415  (optional, loaded on first use)
    except ImportError:
        return None
    code, _score = py3langid.classify(text[:3000])
    return str(code) or None


# Figures: HTML5 <figure>, and WordPress's classic caption markup that predates it
# (<div class="wp-caption"><img …><p class="wp-caption-text">…</p></div>), still what many
# WordPress themes print.
_FIGURES = (
    "//figure[.//img or .//picture] | "
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' wp-caption ')]"
    "[.//img][not(ancestor::figure)][not(.//figure)]"
)


def page_metadata(sel: Selector, url: str, now: datetime | None = None,
                  fetched: datetime | None = None) -> PageMetadata:
    """Read what the page declares about itself.

    ``now`` bounds plausible dates (default: the clock); ``fetched`` is when the page was
    fetched: only with it are relative dates ("3 hours ago") resolved, since they count from
    the fetch, not from the extraction.
    """
    md = PageMetadata()
    metas = _Metas(sel)
    objects = jsonld_objects(sel)
    art = _article_object(objects)

    md.title = _clean(art.get("headline")) or metas.get("og:title", "twitter:title")
    people, orgs = _names(art.get("author")) if art else ([], [])
    if not people:
        people = metas.get_all("author") or metas.get_all("article:author")
        people = [p for p in people if not p.startswith("http")]
    if not people:
        people = _byline_names(sel)
    md.authors = normalize_authors(people)
    md.organisations = _dedup(orgs)

    md.published = _first_date(now, (
        art.get("datePublished"), art.get("dateCreated"),
        metas.get("article:published_time", "og:article:published_time", "datePublished"),
        metas.get("pubdate", "publish-date", "publishdate", "date", "dc.date",
              "DC.date.issued", "dcterms.created", "sailthru.date", "parsely-pub-date"),
        *_time_values(sel, "datePublished"),
    ))
    md.modified = _first_date(now, (
        art.get("dateModified"),
        metas.get("article:modified_time", "og:updated_time", "dateModified", "last-modified",
              "dcterms.modified"),
        *_time_values(sel, "dateModified"),
    ))
    if fetched is not None and (md.published is None or md.modified is None):
        relative = relative_dates(sel, fetched)
        md.published = md.published or valid_date(relative[0], now)
        md.modified = md.modified or valid_date(relative[1], now)
    if md.published and md.modified and instant(md.modified) < instant(md.published):
        md.modified = None  # a modification before publication is a wrong pick

    lang = (_clean(art.get("inLanguage")) if isinstance(art.get("inLanguage"), str) else None) \
        or _clean(sel.xpath("/html/@lang").get()) or metas.get("og:locale", "language") \
        or _clean(sel.xpath('//meta[@http-equiv="content-language"]/@content').get())
    md.language = lang.replace("_", "-").split(",")[0].strip() if lang else None

    publisher = art.get("publisher") if art else None
    md.site_name = metas.get("og:site_name") or (
        _clean(publisher.get("name")) if isinstance(publisher, dict) else None)
    md.description = metas.get("description", "og:description", "twitter:description") or \
        _clean(art.get("description"))

    canonical = sel.xpath('//link[@rel="canonical"]/@href').get() or metas.get("og:url")
    if canonical and canonical.strip():
        md.canonical_url = urljoin(url, canonical.strip())

    md.categories = _dedup(_strings(art.get("articleSection")) +
                           metas.get_all("article:section"))
    md.tags = _dedup(metas.get_all("article:tag") + _strings(art.get("keywords")) +
                     _strings(metas.get("news_keywords", "keywords")))
    free = art.get("isAccessibleForFree")
    if isinstance(free, bool):
        md.is_accessible_for_free = free
    elif isinstance(free, str) and free.lower() in ("true", "false"):
        md.is_accessible_for_free = free.lower() == "true"

    for fig in sel.xpath(_FIGURES):
        src = fig.xpath(".//img/@src").get()
        caption = _clean(" ".join(fig.xpath(
            ".//figcaption//text() | .//*[contains(concat(' ', normalize-space(@class), ' '), "
            "' wp-caption-text ')]//text()").getall()))
        credit = _clean(" ".join(fig.xpath(
            './/*[contains(@class,"credit") or contains(@class,"copyright") or '
            'contains(@class,"byline")]//text()').getall()))
        if caption and credit and caption.endswith(credit):
            caption = caption[: -len(credit)].strip() or None
        if caption or src:
            md.captions.append((urljoin(url, src) if src else None, caption or "", credit))
    return md
