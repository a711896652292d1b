"""Tell article pages from everything else (section fronts, tag and author pages, …).

Order of evidence: the site's URL patterns from the config, then what the page says of
itself (JSON-LD type, ``og:type``), then its shape (a publication date and enough prose).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from parsel import Selector

__all__ = ["ARTICLE_TYPES", "HeadTags", "PageEvidence", "declares_article", "is_article",
           "page_evidence", "read_head"]

ARTICLE_TYPES = frozenset({
    "article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle",
    "opinionnewsarticle", "reviewnewsarticle", "backgroundnewsarticle",
    "askpublicnewsarticle", "blogposting", "liveblogposting", "socialmediaposting",
    "report", "techarticle", "scholarlyarticle",
})
LISTING_TYPES = frozenset({
    "collectionpage", "website", "profilepage", "searchresultspage", "itemlist",
    "imagegallery", "mediagallery", "aboutpage", "contactpage",
})
# Path segments that mark listings on almost every CMS.
_LISTING_PATH = re.compile(
    r"/(tag|tags|topic|topics|author|authors|category|categories|section|search|page|"
    r"gallery|galleries|photos|video|videos|about|contact|newsletter|subscribe|login)"
    r"(/|$)", re.IGNORECASE)
_WORD = re.compile(r"\w+")
_DATE_XPATH = ('//meta[@property="article:published_time" or @name="date" or '
               '@itemprop="datePublished" or @name="pubdate" or @name="publish-date"]'
               '/@content')


@dataclass
class PageEvidence:
    """What a page says of itself. The costlier clues (a publication date in the markup,
    words of prose) are looked up only when :func:`is_article` gets that far."""

    jsonld_types: set[str] = field(default_factory=set)
    og_type: str | None = None
    jsonld: list[dict[str, Any]] = field(default_factory=list)
    selector: Selector | None = field(default=None, repr=False)
    jsonld_date: bool = False
    _published: bool | None = field(default=None, repr=False)
    _prose: int | None = field(default=None, repr=False)

    @property
    def has_published_date(self) -> bool:
        if self._published is None:
            sel = self.selector
            self._published = self.jsonld_date or (sel is not None and bool(
                sel.xpath(_DATE_XPATH).get() or sel.xpath("//article//time/@datetime").get()))
        return self._published

    @property
    def prose_words(self) -> int:
        if self._prose is None:
            self._prose = _prose_words(self.selector) if self.selector is not None else 0
        return self._prose


def _walk_jsonld(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from _walk_jsonld(item)
    elif isinstance(node, dict):
        yield node
        graph = node.get("@graph")
        if graph is not None:
            yield from _walk_jsonld(graph)


def jsonld_objects(selector: Selector) -> list[dict[str, Any]]:
    """Every JSON-LD object of the page; broken blocks are skipped."""
    return _parse_jsonld(
        selector.xpath('//script[@type="application/ld+json"]/text()').getall())


def _parse_jsonld(blocks: Iterable[str]) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for raw in blocks:
        try:
            data = json.loads(raw.strip().rstrip(";"))
        except ValueError:
            continue
        objects.extend(_walk_jsonld(data))
    return objects


def _types(obj: dict[str, Any]) -> set[str]:
    value = obj.get("@type")
    values = value if isinstance(value, list) else [value]
    return {str(v).lower().rpartition("/")[2] for v in values if v}


def _prose_words(selector: Selector) -> int:
    """Words in paragraphs of 12 words or more (prose, not teasers or captions), outside
    footers and navigation."""
    root = selector.root
    if not hasattr(root, "xpath"):
        return 0
    words = 0
    for p in root.xpath("//p[not(ancestor::footer) and not(ancestor::nav)]"):
        count = len(_WORD.findall(" ".join(p.itertext())))
        if count >= 12:
            words += count
    return words


def _evidence(jsonld: list[dict[str, Any]], og_type: str | None,
              selector: Selector | None = None) -> PageEvidence:
    ev = PageEvidence(jsonld=jsonld, og_type=og_type.strip().lower() if og_type else None,
                      selector=selector)
    for obj in jsonld:
        ev.jsonld_types |= _types(obj)
        ev.jsonld_date = ev.jsonld_date or bool(obj.get("datePublished"))
    return ev


def page_evidence(selector: Selector) -> PageEvidence:
    return _evidence(jsonld_objects(selector),
                     selector.xpath('//meta[@property="og:type"]/@content').get(), selector)


# The <head> read without an HTML parser: a news page's head is tens of kB of inline
# scripts and styles, and parsing it cost more than the rest of the crawl's work on the
# page (0.32 ms against 0.08 ms on the extraction benchmark's pages). Comments, scripts and
# styles are skipped whole, so a tag inside one is not read (nor a "</head>" in a script).
_HEAD_TAG = re.compile(
    r"<(?:(!--)|(script|style)\b([^>]*)>|(meta|link)\b([^>]*)>|(/head)\s*>)", re.IGNORECASE)
_RAW_END = {"script": re.compile(r"</script\s*>", re.IGNORECASE),
            "style": re.compile(r"</style\s*>", re.IGNORECASE)}
_ATTRIBUTE = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?""")


def _attributes(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, quoted in _ATTRIBUTE.findall(text):
        value = quoted[1:-1] if quoted[:1] in ("'", '"') else quoted
        found.setdefault(name.lower(), html.unescape(value))  # first one wins, as in HTML
    return found


@dataclass
class HeadTags:
    """What a page's ``<head>`` says of it: :class:`PageEvidence` from its JSON-LD and
    ``og:type``, and its first canonical link."""

    evidence: PageEvidence
    canonical: str | None = None


def read_head(text: str) -> HeadTags | None:
    """The page's ``<head>`` read for article clues, or None when it has no ``</head>``."""
    og_type: str | None = None
    canonical: str | None = None
    blocks: list[str] = []
    pos = 0
    while (tag := _HEAD_TAG.search(text, pos)) is not None:
        comment, raw, raw_attrs, name, attrs, head_end = tag.groups()
        pos = tag.end()
        if head_end:
            return HeadTags(_evidence(_parse_jsonld(blocks), og_type), canonical)
        if comment:
            close = text.find("-->", pos)
            pos = len(text) if close < 0 else close + 3
        elif raw:
            kind = raw.lower()
            close_tag = _RAW_END[kind].search(text, pos)
            if close_tag is not None and kind == "script" and \
                    "ld+json" in raw_attrs.lower() and \
                    _attributes(raw_attrs).get("type", "").strip().lower() == \
                    "application/ld+json":
                blocks.append(text[pos:close_tag.start()])
            pos = len(text) if close_tag is None else close_tag.end()
        elif og_type is None and "og:type" in attrs and name.lower() == "meta":
            values = _attributes(attrs)
            if values.get("property") == "og:type":
                og_type = values.get("content", "")
        elif canonical is None and "canonical" in attrs and name.lower() == "link":
            values = _attributes(attrs)
            if values.get("rel") == "canonical" and "href" in values:
                canonical = values["href"]
    return None


def declares_article(evidence: PageEvidence) -> bool:
    """The page calls itself an article (JSON-LD type or ``og:type``): the clues that
    :func:`is_article` accepts before any other once the URL patterns had their say."""
    return bool(evidence.jsonld_types & ARTICLE_TYPES) or evidence.og_type == "article"


def is_article(url: str, evidence: PageEvidence, *, allow: Sequence[re.Pattern[str]] = (),
               deny: Sequence[re.Pattern[str]] = (), min_words: int = 80) -> bool:
    """Whether a fetched page is an article to extract and emit."""
    if any(p.search(url) for p in deny):
        return False
    if allow:
        return any(p.search(url) for p in allow)
    if declares_article(evidence):
        return True
    if evidence.jsonld_types & LISTING_TYPES or evidence.og_type in (
            "website", "profile", "video.other"):
        return False
    if _LISTING_PATH.search(urlsplit(url).path):
        return False
    return evidence.has_published_date and evidence.prose_words >= min_words
