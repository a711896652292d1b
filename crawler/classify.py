"""Tell article pages from everything else (section fronts, tag and author pages, …).

Order of evidence: the site's URL patterns from the config, then what the page says of
itself (JSON-LD type, ``og:type``), then its shape (a publication date and enough prose).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from parsel import Selector

__all__ = ["ARTICLE_TYPES", "PageEvidence", "is_article", "page_evidence"]

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


@dataclass
class PageEvidence:
    jsonld_types: set[str] = field(default_factory=set)
    og_type: str | None = None
    has_published_date: bool = False
    prose_words: int = 0
    jsonld: list[dict[str, Any]] = field(default_factory=list)


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
    objects: list[dict[str, Any]] = []
    for raw in selector.xpath('//script[@type="application/ld+json"]/text()').getall():
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


def page_evidence(selector: Selector) -> PageEvidence:
    ev = PageEvidence()
    ev.jsonld = jsonld_objects(selector)
    for obj in ev.jsonld:
        ev.jsonld_types |= _types(obj)
        if obj.get("datePublished"):
            ev.has_published_date = True
    og = selector.xpath('//meta[@property="og:type"]/@content').get()
    ev.og_type = og.strip().lower() if og else None
    if selector.xpath(
            '//meta[@property="article:published_time" or @name="date" or '
            '@itemprop="datePublished" or @name="pubdate" or @name="publish-date"]'
            '/@content').get() or selector.xpath("//article//time/@datetime").get():
        ev.has_published_date = True
    paragraphs = selector.xpath("//p[not(ancestor::footer) and not(ancestor::nav)]")
    words = 0
    for p in paragraphs:
        text = " ".join(p.xpath(".//text()").getall())
        count = len(_WORD.findall(text))
        if count >= 12:  # prose, not a teaser or a caption
            words += count
    ev.prose_words = words
    return ev


def is_article(url: str, evidence: PageEvidence, *, allow: Sequence[re.Pattern[str]] = (),
               deny: Sequence[re.Pattern[str]] = (), min_words: int = 80) -> bool:
    """Whether a fetched page is an article to extract and emit."""
    if any(p.search(url) for p in deny):
        return False
    if allow:
        return any(p.search(url) for p in allow)
    if evidence.jsonld_types & ARTICLE_TYPES:
        return True
    if evidence.og_type == "article":
        return True
    if evidence.jsonld_types & LISTING_TYPES or evidence.og_type in (
            "website", "profile", "video.other"):
        return False
    if _LISTING_PATH.search(urlsplit(url).path):
        return False
    return evidence.has_published_date and evidence.prose_words >= min_words
