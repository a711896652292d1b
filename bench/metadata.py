"""Metadata benchmark: newsarchive's ``extract_article`` against plain trafilatura.

Run with ``python -m bench.metadata`` (``make bench-metadata``). Pages: the article-extraction
benchmark's DEV pages (see ``bench.extract``), then the 30 articles of the bundled sample site
(``crawler/sample_site``), whose truth is its ``manifest.json``. The truth of a field of a DEV
page is what the page itself declares in JSON-LD (an Article-type object) or, where JSON-LD
says nothing, in its OpenGraph/``article:``/``<meta>`` tags, read here by a small reader of its
own; a page that declares nothing for a field does not count for that field.

Each system runs on two versions of every page:

* ``full``: the page as fetched;
* ``stripped``: the same page without its JSON-LD blocks and without every ``<meta>`` tag that
  has a name, property or itemprop, so that only the fallbacks are left (``<title>``,
  ``<time>`` and microdata in the body, bylines, ``html/@lang``, htmldate's heuristics).

Systems: ``newsarchive`` (``pipelines.extract.extract_article``) and ``trafilatura``
(``trafilatura.bare_extraction(html, url=url, with_metadata=True)``).

Comparison per field (values normalised: case, spaces, a leading "By"):

* title: equal; authors: equal sets of person names (a declared name split on ","/"and"; a
  part that is a role, "AP National Political Writer", is not a name);
* published (date): the same calendar day as declared, in the declared timezone (declared
  dates in any usual format; an impossible one such as "0001-01-01" declares nothing);
  published (instant): the same moment, for declared values with a time of day (trafilatura
  gives a day only, so it never matches);
* modified (date): same calendar day; language: same primary subtag ("en" = "en-GB");
* site_name: equal; section: the first declared section is among the returned ones;
  tags: equal sets; paywall: ``isAccessibleForFree`` equal (trafilatura has no such field).

Accuracy is matches / pages with a declared value; a missing output counts as wrong.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trafilatura
from dateutil import parser as dateutil_parser
from lxml import etree
from parsel import Selector
from trafilatura.utils import load_html

from bench.extract import BenchError, Page, data_dir_from_env, load_pages
from crawler.classify import ARTICLE_TYPES, jsonld_objects
from crawler.sample_site import SITE_ROOT, load_manifest

__all__ = ["FIELDS", "declared_truth", "load_sample_site", "main", "strip_declarations"]

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "bench" / "results"
FIELDS = (
    "title", "authors", "published_date", "published_instant", "modified_date", "language",
    "site_name", "section", "tags", "paywall",
)
_WS = re.compile(r"\s+")
_BY = re.compile(r"^by\s+", re.IGNORECASE)
_AUTHOR_SPLIT = re.compile(r"\s*(?:,|;|\s+and\s+|\s+&\s+)\s*")
# the role part of a declared "NAME, AP National Political Writer": not a second person
_ROLE = re.compile(
    r"\b(?:writer|reporter|correspondent|editor|columnist|contributor|staff)s?$", re.IGNORECASE
)


# --------------------------------------------------------------------------- truth


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = _WS.sub(" ", value).strip()
    return value or None


def _norm(value: str) -> str:
    return _BY.sub("", _WS.sub(" ", value).strip()).casefold()


def _article(objects: list[dict[str, Any]]) -> dict[str, Any]:
    for obj in objects:
        kinds = obj.get("@type")
        for kind in kinds if isinstance(kinds, list) else [kinds]:
            if str(kind).lower().rpartition("/")[2] in ARTICLE_TYPES:
                return obj
    return {}


def _meta(sel: Selector, name: str) -> str | None:
    return _text(sel.xpath(f'//meta[@property="{name}" or @name="{name}"]/@content').get())


def _people(value: Any) -> list[str]:
    names: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str) and _text(item):
            names.append(_text(item) or "")
        elif isinstance(item, dict) and "organization" not in str(item.get("@type")).lower():
            name = _text(item.get("name"))
            if name:
                names.append(name)
    return names


def _split(value: Any) -> list[str]:
    if isinstance(value, list):
        return [s for v in value for s in _split(v)]
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return []


def declared_truth(html: str) -> dict[str, Any]:
    """What the page declares: JSON-LD first, then meta tags. Missing fields are absent."""
    tree = load_html(html)
    if tree is None:
        return {}
    sel = Selector(root=tree, type="html")
    art = _article(jsonld_objects(sel))
    truth: dict[str, Any] = {}

    def put(key: str, *values: Any) -> None:
        for value in values:
            if value not in (None, "", [], set()):
                truth[key] = value
                return

    put("title", _text(art.get("headline")), _meta(sel, "og:title"))
    put("authors", [n for a in _people(art.get("author")) for n in _AUTHOR_SPLIT.split(_BY.sub(
        "", a)) if n.strip() and not _ROLE.search(n.strip())])
    put("published", _text(art.get("datePublished")), _meta(sel, "article:published_time"))
    put("modified", _text(art.get("dateModified")), _meta(sel, "article:modified_time"))
    lang = art.get("inLanguage")
    put("language", _text(lang) if isinstance(lang, str) else None,
        _meta(sel, "og:locale"), _text(sel.xpath("/html/@lang").get()))
    publisher = art.get("publisher")
    put("site_name", _meta(sel, "og:site_name"),
        _text(publisher.get("name")) if isinstance(publisher, dict) else None)
    put("section", _split(art.get("articleSection"))[:1], [_meta(sel, "article:section")]
        if _meta(sel, "article:section") else None)
    tags = sel.xpath('//meta[@property="article:tag"]/@content').getall()
    put("tags", _split(art.get("keywords")), [t.strip() for t in tags if t.strip()])
    free = art.get("isAccessibleForFree")
    if isinstance(free, str) and free.lower() in ("true", "false"):
        free = free.lower() == "true"
    if isinstance(free, bool):
        truth["paywall"] = not free
    return truth


def strip_declarations(html: str) -> str:
    """The page without JSON-LD and without named meta tags (charset meta stays)."""
    tree = load_html(html)
    if tree is None:
        return html
    for node in tree.xpath('//script[@type="application/ld+json"] | '
                           '//meta[@name or @property or @itemprop]'):
        parent = node.getparent()
        if parent is not None:
            parent.remove(node)
    return etree.tostring(tree, encoding="unicode", method="html")


# --------------------------------------------------------------------------- systems


@dataclass
class Output:
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    published: str | None = None
    modified: str | None = None
    language: str | None = None
    site_name: str | None = None
    sections: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    paywall: bool | None = None


def run_newsarchive(html: str, url: str) -> Output:
    from pipelines.extract import extract_article  # noqa: PLC0415

    a = extract_article(html, url)
    return Output(a.title, a.authors, a.published, a.modified, a.language, a.site_name,
                  a.categories, a.tags,
                  None if a.is_accessible_for_free is None else not a.is_accessible_for_free)


def run_trafilatura(html: str, url: str) -> Output:
    doc: Any = trafilatura.bare_extraction(html, url=url, with_metadata=True)
    if doc is None:
        return Output()
    authors = [a.strip() for a in (doc.author or "").split(";") if a.strip()]
    return Output(doc.title, authors, doc.date, None, doc.language, doc.sitename,
                  list(doc.categories or []), list(doc.tags or []), None)


SYSTEMS: dict[str, Callable[[str, str], Output]] = {
    "newsarchive": run_newsarchive, "trafilatura": run_trafilatura,
}


# --------------------------------------------------------------------------- comparing


def _parse(value: str | None) -> datetime | None:
    """ISO 8601, RFC 2822 or a written date ("November 19, 2019"); None if unusable."""
    if not value:
        return None
    try:
        parsed = dateutil_parser.parse(value)
    except (ValueError, OverflowError):
        return None
    return parsed if 1995 <= parsed.year <= datetime.now(UTC).year + 1 else None


def _day(value: str | None) -> str | None:
    parsed = _parse(value)
    return parsed.date().isoformat() if parsed else None


def _instant(value: str | None) -> datetime | None:
    parsed = _parse(value)
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _has_time(value: str) -> bool:
    return bool(re.search(r"\d{1,2}:\d{2}", value))


def compare(truth: dict[str, Any], out: Output) -> dict[str, bool]:
    """Per declared field: whether the output matches."""
    result: dict[str, bool] = {}
    if "title" in truth:
        result["title"] = bool(out.title) and _norm(out.title or "") == _norm(truth["title"])
    if "authors" in truth:
        result["authors"] = {_norm(a) for a in out.authors} == {_norm(a)
                                                               for a in truth["authors"]}
    if "published" in truth and _day(truth["published"]):  # "0001-01-01" declares nothing
        declared = truth["published"]
        result["published_date"] = _day(out.published) == _day(declared)
        if _has_time(declared):
            a, b = _instant(out.published), _instant(declared)
            result["published_instant"] = (
                a is not None and b is not None and _has_time(out.published or "") and a == b)
    if "modified" in truth and _day(truth["modified"]):
        result["modified_date"] = _day(out.modified) == _day(truth["modified"])
    if "language" in truth:
        def primary(v: str | None) -> str:
            return (v or "").replace("_", "-").split("-")[0].strip().casefold()
        result["language"] = primary(out.language) == primary(truth["language"])
    if "site_name" in truth:
        result["site_name"] = _norm(out.site_name or "") == _norm(truth["site_name"])
    if "section" in truth:
        result["section"] = _norm(truth["section"][0]) in {_norm(s) for s in out.sections}
    if "tags" in truth:
        result["tags"] = {_norm(t) for t in out.tags} == {_norm(t) for t in truth["tags"]}
    if "paywall" in truth:
        result["paywall"] = out.paywall == truth["paywall"]
    return result


@dataclass
class Tally:
    hits: dict[str, int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    cpu_seconds: float = 0.0
    pages: int = 0

    def add(self, matches: dict[str, bool]) -> None:
        for key, hit in matches.items():
            self.totals[key] = self.totals.get(key, 0) + 1
            self.hits[key] = self.hits.get(key, 0) + int(hit)

    def accuracy(self, key: str) -> float | None:
        total = self.totals.get(key, 0)
        return self.hits.get(key, 0) / total if total else None


SAMPLE_BASE = "http://127.0.0.1:8000"  # a name for the URLs only; nothing is fetched


def load_sample_site(root: Path = SITE_ROOT) -> tuple[list[Page], dict[str, dict[str, Any]]]:
    """The sample site's 30 articles with the truth its ``manifest.json`` gives (the values
    the site generator wrote into each page's JSON-LD, meta tags and byline)."""
    manifest = load_manifest(root)
    pages: list[Page] = []
    truths: dict[str, dict[str, Any]] = {}
    for entry in manifest["articles"]:
        path = str(entry["path"])
        html = (root / path.lstrip("/")).read_text(encoding="utf-8")
        pages.append(Page(path, SAMPLE_BASE + path, html, ""))
        truth = {
            "title": entry.get("title"), "authors": entry.get("authors"),
            "published": entry.get("published"), "modified": entry.get("modified"),
            "language": entry.get("language"), "site_name": manifest.get("site"),
            "section": [entry["section"]] if entry.get("section") else None,
            "tags": entry.get("tags"),
        }
        truths[path] = {k: v for k, v in truth.items() if v not in (None, "", [])}
    return pages, truths


def run(pages: Sequence[Page],
        truths: dict[str, dict[str, Any]] | None = None) -> dict[tuple[str, str], Tally]:
    if truths is None:
        truths = {p.page_id: declared_truth(p.html) for p in pages}
    stripped = {p.page_id: strip_declarations(p.html) for p in pages}
    tallies: dict[tuple[str, str], Tally] = {}
    for variant in ("full", "stripped"):
        for name, system in SYSTEMS.items():
            tally = tallies[(variant, name)] = Tally()
            for page in pages:
                html = page.html if variant == "full" else stripped[page.page_id]
                cpu0 = time.process_time()
                out = system(html, page.url)
                tally.cpu_seconds += time.process_time() - cpu0
                tally.pages += 1
                tally.add(compare(truths[page.page_id], out))
    return tallies


def format_table(tallies: dict[tuple[str, str], Tally]) -> str:
    columns = list(tallies)
    head = f"{'field':<18} {'n':>4} " + " ".join(f"{v[:5] + ' ' + n[:11]:>18}"
                                                   for v, n in columns)
    rows = [head, "-" * len(head)]
    for key in FIELDS:
        n = max(t.totals.get(key, 0) for t in tallies.values())
        cells = []
        for col in columns:
            acc = tallies[col].accuracy(key)
            cells.append(f"{'-' if acc is None else f'{acc:.3f}':>18}")
        rows.append(f"{key:<18} {n:>4} " + " ".join(cells))
    speeds = " ".join(
        f"{(t.pages / t.cpu_seconds if t.cpu_seconds else 0.0):>18.1f}" for t in tallies.values())
    rows.append(f"{'pages/CPU s':<18} {'':>4} {speeds}")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.metadata",
                                     description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages")
    parser.add_argument("--json", type=Path, default=None, help="where to write the figures")
    parser.add_argument("--no-json", action="store_true")
    args = parser.parse_args(argv)
    data_dir: Path = args.data_dir or data_dir_from_env()
    try:
        pages = load_pages(data_dir, args.limit)
    except BenchError as exc:
        print(f"bench.metadata: error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(pages)} pages from {data_dir}; truth = declared JSON-LD / meta values")
    tallies = run(pages)
    print()
    print(format_table(tallies))
    sample_pages, sample_truths = load_sample_site()
    print(f"\n{len(sample_pages)} articles of the sample site; truth = its manifest.json")
    sample_tallies = run(sample_pages, sample_truths)
    print()
    print(format_table(sample_tallies))
    print("\nn = pages that declare the field; full = page as fetched, stripped = without "
          "JSON-LD and named <meta> tags")
    if not args.no_json:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path: Path = args.json or RESULTS_DIR / f"metadata-{stamp}.json"
        payload = {
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "data_dir": str(data_dir),
            "results": {f"{v}/{n}": {"accuracy": {k: t.accuracy(k) for k in FIELDS},
                                     "n": t.totals, "cpu_seconds": t.cpu_seconds}
                        for (v, n), t in tallies.items()},
            "sample_site": {f"{v}/{n}": {"accuracy": {k: t.accuracy(k) for k in FIELDS},
                                         "n": t.totals, "cpu_seconds": t.cpu_seconds}
                            for (v, n), t in sample_tallies.items()},
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        print(f"\nfigures written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
