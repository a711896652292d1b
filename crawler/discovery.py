"""Parsers for what seeds a crawl: RSS/Atom feeds, XML sitemaps, feed autodiscovery.

XML is parsed with lxml without entity expansion or network access, so an XML bomb or an
external entity in a feed or sitemap is never expanded or fetched.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from urllib.parse import urljoin

from lxml import etree
from parsel import Selector
from scrapy.utils.gz import gunzip

from crawler.since import parse_timestamp

__all__ = [
    "DiscoveryError",
    "Entry",
    "feed_links",
    "is_gzip",
    "parse_feed",
    "parse_sitemap",
]

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+xml",
              "application/rdf+xml")


class DiscoveryError(ValueError):
    """A feed or sitemap that can't be read at all."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One URL listed by a feed or sitemap, with the date it gives, if any."""

    url: str
    date: datetime | None = None
    is_sitemap: bool = False


def _local(tag: object) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2].lower()


def is_gzip(body: bytes) -> bool:
    return body[:2] == b"\x1f\x8b"


def _iterparse(body: bytes) -> etree.iterparse:
    return etree.iterparse(
        BytesIO(body), events=("start", "end"), recover=True, resolve_entities=False,
        no_network=True, remove_comments=True, remove_pis=True, huge_tree=False,
        collect_ids=False, load_dtd=False, dtd_validation=False)


def parse_sitemap(body: bytes, base_url: str, max_size: int = 0) -> list[Entry]:
    """Entries of a sitemap or sitemap index (gzipped or not).

    ``news:publication_date`` (Google News) wins over ``lastmod`` as the entry's date.
    """
    if is_gzip(body):
        try:
            body = gunzip(body, max_size=max_size)
        except (OSError, EOFError, ValueError, zlib.error) as exc:
            raise DiscoveryError(f"sitemap {base_url}: bad gzip data: {exc}") from None
    entries: list[Entry] = []
    root_kind = ""
    context = _iterparse(body)
    errors_at_start = 0
    try:
        for event, elem in context:
            name = _local(elem.tag)
            if event == "start":
                if name in ("url", "sitemap"):
                    errors_at_start = len(context.error_log)
                if not root_kind:
                    root_kind = name
                    if root_kind not in ("urlset", "sitemapindex"):
                        raise DiscoveryError(
                            f"sitemap {base_url}: root element is <{root_kind}>, "
                            "not <urlset> or <sitemapindex>")
                continue
            if name not in ("url", "sitemap"):
                continue
            loc = lastmod = news_date = None
            tainted = False
            for child in elem.iter():
                if child.tag is etree.Entity:  # unexpanded entity: the value is not real
                    tainted = True
                    break
                cname = _local(child.tag)
                text = (child.text or "").strip()
                if cname == "loc" and loc is None:
                    loc = text
                elif cname == "lastmod":
                    lastmod = text
                elif cname == "publication_date":
                    news_date = text
            elem.clear()
            if tainted or len(context.error_log) > errors_at_start:
                continue  # broken or truncated inside this entry: its values can't be trusted
            if loc:
                date = parse_timestamp(news_date) or parse_timestamp(lastmod)
                entries.append(Entry(urljoin(base_url, loc), date, name == "sitemap"))
    except etree.XMLSyntaxError as exc:
        if not entries:
            raise DiscoveryError(f"sitemap {base_url}: not XML: {exc}") from None
    if not root_kind:
        raise DiscoveryError(f"sitemap {base_url}: empty or not XML")
    return entries


def parse_feed(body: bytes, base_url: str,
               problems: list[str] | None = None) -> list[Entry]:
    """Entries of an RSS 0.9x/2.0, RSS 1.0 (RDF) or Atom feed.

    A feed with XML errors is read as far as it can be (the entries it yields are whole
    and clean); what was wrong goes to ``problems`` for the run's report."""
    entries: list[Entry] = []
    root_kind = ""
    context = _iterparse(body)
    errors_at_start = 0
    try:
        for event, elem in context:
            name = _local(elem.tag)
            if event == "start":
                if name in ("item", "entry"):
                    errors_at_start = len(context.error_log)
                if not root_kind:
                    root_kind = name
                    if root_kind not in ("rss", "feed", "rdf", "channel"):
                        raise DiscoveryError(
                            f"feed {base_url}: root element is <{root_kind}>, "
                            "not <rss>, <feed> or <rdf:RDF>")
                continue
            if name not in ("item", "entry"):
                continue
            tainted = any(c.tag is etree.Entity for c in elem.iter())
            url = None if tainted else _entry_link(elem)
            date = None
            for child in elem:
                cname = _local(child.tag)
                if cname in ("pubdate", "published", "date", "issued") or (
                        cname == "updated" and date is None):
                    date = parse_timestamp((child.text or "").strip()) or date
            elem.clear()
            if len(context.error_log) > errors_at_start:
                continue  # broken or truncated inside this entry: its values can't be trusted
            if url and "\ufffd" not in url:  # undecodable bytes make no link
                entries.append(Entry(urljoin(base_url, url), date))
    except etree.XMLSyntaxError as exc:
        if not entries:
            raise DiscoveryError(f"feed {base_url}: not XML: {exc}") from None
    if not root_kind:
        raise DiscoveryError(f"feed {base_url}: empty or not XML")
    errors = context.error_log
    if problems is not None and len(errors):
        first = errors[0]
        problems.append(f"feed {base_url}: {len(errors)} XML error(s), read as far as "
                        f"possible ({len(entries)} entries); first at line {first.line}: "
                        f"{first.message}")
    return entries


def _entry_link(elem: etree._Element) -> str | None:
    guid = None
    for child in elem:
        cname = _local(child.tag)
        if cname == "link":
            href = child.get("href")
            if href is not None:  # Atom
                if child.get("rel", "alternate") == "alternate":
                    return href.strip()
                continue
            if child.text and child.text.strip():
                return child.text.strip()
        elif cname == "guid" and child.get("isPermaLink", "true") != "false":
            guid = (child.text or "").strip() or None
        elif cname == "about":
            guid = guid or child.text
    about = elem.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about")
    return guid or about


def feed_links(selector: Selector, base_url: str) -> list[str]:
    """Feed URLs a page announces with ``<link rel="alternate" type="…rss+xml">``."""
    found = []
    for link in selector.xpath("//head/link[@href]"):
        rel = (link.attrib.get("rel") or "").lower().split()
        kind = (link.attrib.get("type") or "").lower().strip()
        if "alternate" in rel and kind in FEED_TYPES:
            found.append(urljoin(base_url, link.attrib["href"].strip()))
    return list(dict.fromkeys(found))
