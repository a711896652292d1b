"""``Archive``: read an archive (directory or ``s3://bucket/prefix``) as data.

>>> archive = Archive("s3://news-archive/prod")
>>> for article in archive.articles(site="guardian", since="2026-11-01"):
...     print(article.published, article.title)
>>> capture = archive.capture(article.url)     # the archived HTTP response
>>> archive.to_parquet("guardian.parquet", site="guardian")

Everything streams: files are read line by line, one at a time; WARC records are read
by offset and length (a ranged GET on S3). Nothing is ever written to the archive.
"""

from __future__ import annotations

import gzip
import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipelines.reader.catalog import (
    CATALOG_KINDS,
    Catalog,
    FileEntry,
    RunInfo,
    article_date,
    listed_entries,
    read_catalog,
)
from pipelines.reader.source import NotFound, Source, open_source
from pipelines.storage import S3Options

__all__ = [
    "ARTICLE_FIELDS",
    "Archive",
    "ArticleFilter",
    "Capture",
    "CaptureNotFound",
    "parse_when",
]

ARTICLE_FIELDS = (
    "url", "canonical_url", "site", "title", "authors", "published", "modified",
    "language", "site_name", "description", "categories", "tags", "text", "word_count",
    "images", "is_accessible_for_free", "fetched_at", "status", "source", "version",
    "previous", "warc_file", "warc_offset", "warc_length", "warc_record_id",
)
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_WARC_STAMP = re.compile(r"-(\d{4})(\d{2})(\d{2})\d{6,}-")


class CaptureNotFound(LookupError):
    """No archived capture for that URL (or version)."""


def parse_when(value: str | datetime | None, *, end: bool = False) -> datetime | None:
    """An aware UTC datetime from ``2d``/``12h``/an ISO date or time/a datetime.

    A bare date as an upper bound (``end``) means the end of that day.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    from crawler.since import parse_since  # noqa: PLC0415

    parsed = parse_since(value)
    if end and _DAY.match(value.strip()):
        parsed += timedelta(days=1) - timedelta(microseconds=1)
    return parsed


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _as_set(value: str | Iterable[str] | None) -> set[str] | None:
    if value is None:
        return None
    items = {value} if isinstance(value, str) else set(value)
    return {item for item in items if item} or None


@dataclass
class ArticleFilter:
    """Which articles: sites, a date range (``published``, else ``fetched_at``), languages
    (``en`` matches ``en-GB``), words the title or text contains (case-insensitive, all of
    them), a URL."""

    sites: set[str] | None = None
    since: datetime | None = None
    until: datetime | None = None
    languages: set[str] | None = None
    contains: list[str] = field(default_factory=list)
    url: str | None = None

    @classmethod
    def build(cls, *, site: str | Iterable[str] | None = None,
              since: str | datetime | None = None, until: str | datetime | None = None,
              language: str | Iterable[str] | None = None,
              contains: str | Iterable[str] | None = None,
              url: str | None = None) -> ArticleFilter:
        langs = _as_set(language)
        words = [contains] if isinstance(contains, str) else list(contains or [])
        return cls(sites=_as_set(site), since=parse_when(since),
                   until=parse_when(until, end=True),
                   languages={lang.lower() for lang in langs} if langs else None,
                   contains=[w.casefold() for w in words if w], url=url)

    def file_may_match(self, entry: FileEntry) -> bool:
        """False when the catalog says no article of the file can match."""
        if self.sites is not None and entry.group not in self.sites:
            return False
        if entry.articles is None:  # listed, not catalogued: can't tell
            return True
        if entry.articles == 0:
            return False
        if self.since and entry.date_max and entry.date_max < _iso(self.since):
            return False
        if self.until and entry.date_min and entry.date_min > _iso(self.until):
            return False
        if self.languages and entry.languages is not None:
            have = {lang.lower() for lang in entry.languages}
            if not any(_lang_match(lang, self.languages) for lang in have):
                return False
        return True

    def filters_records(self) -> bool:
        """True if records must be read to decide (anything but all of them)."""
        return bool(self.sites is not None or self.since or self.until or self.languages
                    or self.contains or self.url is not None)

    def matches(self, record: dict[str, Any]) -> bool:
        if self.url is not None and self.url not in (record.get("url"),
                                                     record.get("canonical_url")):
            return False
        if self.sites is not None and record.get("site") not in self.sites:
            return False
        if self.since or self.until:
            date = article_date(record)
            if date is None:
                return False
            if (self.since and date < _iso(self.since)) or \
                    (self.until and date > _iso(self.until)):
                return False
        if self.languages:
            language = record.get("language")
            if not isinstance(language, str) or not _lang_match(language.lower(),
                                                                 self.languages):
                return False
        if self.contains:
            haystack = f"{record.get('title') or ''}\n{record.get('text') or ''}".casefold()
            if not all(word in haystack for word in self.contains):
                return False
        return True


def _lang_match(language: str, wanted: set[str]) -> bool:
    return language in wanted or language.split("-", 1)[0].split("_", 1)[0] in wanted


class Article(dict[str, Any]):
    """One article record (a dict of the README's fields) with attribute access:
    ``article.title``, ``article["text"]``; ``published_at``/``fetched_at_dt`` as
    datetimes; ``capture()`` fetches the archived response."""

    _archive: Archive | None = None

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            if name in ARTICLE_FIELDS:
                return None
            raise AttributeError(name) from None

    @property
    def published_at(self) -> datetime | None:
        from crawler.since import parse_timestamp  # noqa: PLC0415

        return parse_timestamp(self.get("published"))

    @property
    def fetched_at_dt(self) -> datetime | None:
        from crawler.since import parse_timestamp  # noqa: PLC0415

        return parse_timestamp(self.get("fetched_at"))

    def capture(self) -> Capture:
        if self._archive is None:
            raise CaptureNotFound("this article is not attached to an archive")
        return self._archive.capture_of(self)


@dataclass
class Capture:
    """An archived HTTP response, read from its WARC by offset and length."""

    url: str
    date: str
    record_id: str | None
    warc_key: str
    offset: int
    length: int
    status: int | None
    http_headers: list[tuple[str, str]]
    warc_headers: list[tuple[str, str]]
    body: bytes  # decoded: Content-Encoding (gzip, br) removed
    raw_body: bytes  # as the server sent it (content coding kept)
    record_type: str = "response"
    # a revisit (payload archived before): where its original response is, whose
    # payload ``body``/``raw_body`` then hold
    original: tuple[str, int, int] | None = None

    def header(self, name: str) -> str | None:
        for key, value in self.http_headers:
            if key.lower() == name.lower():
                return value
        return None

    @property
    def content_type(self) -> str | None:
        return self.header("Content-Type")

    def text(self, errors: str = "replace") -> str:
        """The body as text, in the charset the response declared (else UTF-8)."""
        charset = "utf-8"
        match = re.search(r"charset=[\"']?([\w.:-]+)", self.content_type or "", re.I)
        if match:
            charset = match.group(1)
        try:
            return self.body.decode(charset, errors)
        except LookupError:
            return self.body.decode("utf-8", errors)


@dataclass(frozen=True)
class SiteSummary:
    group: str
    kind: str
    files: int
    bytes: int
    articles: int | None
    day_min: str | None
    day_max: str | None


class Archive:
    """A read-only view of an archive: ``Archive("s3://bucket/prefix")`` or a path.

    S3 credentials and endpoint come from boto3's chain (``AWS_*`` variables, profile,
    role) or ``options``; only ``ListObjectsV2`` and ``GetObject`` are ever called.
    """

    def __init__(self, uri: str | Path, *, options: S3Options | None = None,
                 source: Source | None = None, client: Any = None) -> None:
        self.source: Source = source or open_source(str(uri), options, client)
        self._catalog: Catalog | None = None
        self._catalog_read = False
        self._warc_keys: dict[str, str] = {}
        self._crawls: list[str] | None = None

    @property
    def uri(self) -> str:
        return self.source.uri

    def __repr__(self) -> str:
        return f"Archive({self.uri!r})"

    # -- catalog --------------------------------------------------------------------------

    @property
    def catalog(self) -> Catalog | None:
        """The catalog (read once), or None for an archive without one."""
        if not self._catalog_read:
            self._catalog = read_catalog(self.source)
            self._catalog_read = True
        return self._catalog

    def refresh(self) -> None:
        """Forget the catalog read so far (new runs may have published)."""
        self._catalog_read = False
        self._catalog = None
        self._warc_keys.clear()
        self._crawls = None

    def files(self, kind: str | Iterable[str] = CATALOG_KINDS, *,
              group: str | Iterable[str] | None = None, since: str | datetime | None = None,
              until: str | datetime | None = None) -> Iterator[FileEntry]:
        """Published files (from the catalog, else by listing), optionally of some groups
        (sites for articles, crawls for WARC/CDXJ) written between ``since`` and ``until``
        (the day in the file's path)."""
        kinds = [kind] if isinstance(kind, str) else list(kind)
        groups = _as_set(group)
        start, stop = parse_when(since), parse_when(until, end=True)
        catalog = self.catalog
        entries = catalog.entries(kinds, groups) if catalog is not None else \
            listed_entries(self.source, kinds, groups)
        for entry in entries:
            if start and entry.day < f"{start:%Y-%m-%d}":
                continue
            if stop and entry.day > f"{stop:%Y-%m-%d}":
                continue
            yield entry

    def runs(self) -> list[RunInfo]:
        catalog = self.catalog
        return list(catalog.runs()) if catalog is not None else []

    def sites(self) -> list[str]:
        catalog = self.catalog
        if catalog is not None:
            return catalog.groups("articles")
        return self.source.list_dirs("articles/")

    def crawls(self) -> list[str]:
        if self._crawls is None:
            catalog = self.catalog
            self._crawls = catalog.groups("warc") if catalog is not None else \
                self.source.list_dirs("warc/")
        return self._crawls

    # -- articles -------------------------------------------------------------------------

    def articles(self, *, site: str | Iterable[str] | None = None,
                 since: str | datetime | None = None, until: str | datetime | None = None,
                 language: str | Iterable[str] | None = None,
                 contains: str | Iterable[str] | None = None, url: str | None = None,
                 where: ArticleFilter | None = None) -> Iterator[Article]:
        """Matching articles, streamed file by file, line by line. Files the catalog
        shows can't match (other sites, dates outside the range) are never opened."""
        selected = where or ArticleFilter.build(site=site, since=since, until=until,
                                                language=language, contains=contains,
                                                url=url)
        for _line, record in self._matching(selected, parse=True):
            article = Article(record)
            article._archive = self
            yield article

    def article_lines(self, *, where: ArticleFilter | None = None, **filters: Any,
                      ) -> Iterator[str]:
        """The matching articles as their stored JSON lines (no newline), verbatim: what
        ``articles --format jsonl`` prints. Without a filter no line is even parsed."""
        selected = where or ArticleFilter.build(**filters)
        for line, _record in self._matching(selected, parse=selected.filters_records()):
            yield line

    def _matching(self, selected: ArticleFilter, *, parse: bool,
                  ) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(stored line, record)`` of the matching articles; without ``parse`` (only
        when ``selected`` filters nothing) the record is left empty."""
        # a URL is in the line as JSON writes it (our writer: ensure_ascii off); skip
        # the lines that can't hold it before parsing them
        needles = ({json.dumps(selected.url, ensure_ascii=False)[1:-1],
                    json.dumps(selected.url)[1:-1]} if selected.url is not None else None)
        for entry in self.files("articles", group=selected.sites):
            if not selected.file_may_match(entry):
                continue
            for line in self._lines(entry.key):
                if needles is not None and not any(n in line for n in needles):
                    continue
                if not parse:
                    yield line, {}
                    continue
                record = json.loads(line)
                if selected.matches(record):
                    yield line, record

    def _lines(self, key: str) -> Iterator[str]:
        try:
            raw = self.source.open(key)
        except NotFound:
            return
        with raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
            for text in lines:
                line = text.rstrip("\r\n")
                if line.strip():
                    yield line

    def versions(self, url: str, *, site: str | Iterable[str] | None = None,
                 ) -> list[Article]:
        """Every archived version of the article at ``url`` (or canonical URL), oldest
        first."""
        found = list(self.articles(url=url, site=site))
        return sorted(found, key=lambda a: (a.get("version") or 1, a.get("fetched_at") or ""))

    def article(self, url: str, *, version: int | None = None,
                site: str | Iterable[str] | None = None) -> Article:
        """The latest version of the article at ``url`` (or version ``version``)."""
        versions = self.versions(url, site=site)
        if version is not None:
            versions = [a for a in versions if (a.get("version") or 1) == version]
        if not versions:
            which = f" version {version}" if version is not None else ""
            raise CaptureNotFound(f"no article{which} for {url} in {self.uri}")
        return versions[-1]

    def to_parquet(self, path: str | Path, *, fields: Sequence[str] | None = None,
                   batch_size: int = 1000, **filters: Any) -> int:
        """Write the matching articles to a Parquet file in batches; the row count."""
        from pipelines.reader.formats import write_parquet  # noqa: PLC0415

        return write_parquet(self.articles(**filters), path, fields=fields,
                             batch_size=batch_size)

    # -- captures -------------------------------------------------------------------------

    def warc_key(self, warc_file: str) -> str:
        """The key of a WARC file named in an article record."""
        if warc_file in self._warc_keys:
            return self._warc_keys[warc_file]
        catalog = self.catalog
        if catalog is not None:
            for entry in catalog.entries(["warc"]):
                self._warc_keys.setdefault(entry.name, entry.key)
            if warc_file in self._warc_keys:
                return self._warc_keys[warc_file]
        # no catalog (or not in it): the day is in the file name, the crawl is a folder
        match = _WARC_STAMP.search(warc_file)
        if match:
            for crawl in self.crawls():
                key = f"warc/{crawl}/{match[1]}/{match[2]}/{match[3]}/{warc_file}"
                if any(obj.key == key for obj in self.source.objects(key)):
                    self._warc_keys[warc_file] = key
                    return key
        for crawl in self.crawls():  # last resort: list that crawl's WARCs
            for obj in self.source.objects(f"warc/{crawl}/"):
                if obj.key.endswith("/" + warc_file):
                    self._warc_keys[warc_file] = obj.key
                    return obj.key
        raise CaptureNotFound(f"WARC file {warc_file} not found in {self.uri}")

    def read_record(self, warc_key: str, offset: int, length: int, *,
                    resolve: bool = True) -> Capture:
        """The WARC record at ``offset`` (``length`` bytes, one gzip member) of a file:
        a single ranged read. A revisit gets its original's payload (found through the
        CDXJ indexes, then one more ranged read) unless ``resolve`` is off."""
        from warcio.archiveiterator import ArchiveIterator  # noqa: PLC0415

        from pipelines.warc.compat import install_brotli_for_warcio  # noqa: PLC0415

        install_brotli_for_warcio()
        data = self.source.read_range(warc_key, offset, length)
        for record in ArchiveIterator(io.BytesIO(data)):
            http = record.http_headers
            warc_headers = list(record.rec_headers.headers)
            raw_body = record.raw_stream.read()
            body = b""
            if record.rec_type in {"response", "resource"}:
                replay = ArchiveIterator(io.BytesIO(data))
                body = bytes(next(iter(replay)).content_stream().read())
            status = None
            if http is not None and http.get_statuscode():
                status = int(http.get_statuscode())
            capture = Capture(
                url=str(record.rec_headers.get_header("WARC-Target-URI")),
                date=str(record.rec_headers.get_header("WARC-Date")),
                record_id=record.rec_headers.get_header("WARC-Record-ID"),
                warc_key=warc_key, offset=offset, length=length, status=status,
                http_headers=list(http.headers) if http is not None else [],
                warc_headers=warc_headers, body=body, raw_body=bytes(raw_body),
                record_type=str(record.rec_type))
            if capture.record_type == "revisit" and resolve:
                capture.original = self.revisit_original(warc_headers)
                if capture.original is not None:
                    first = self.read_record(*capture.original, resolve=False)
                    capture.body, capture.raw_body = first.body, first.raw_body
            return capture
        raise CaptureNotFound(f"no WARC record at {warc_key}:{offset}")

    def capture_of(self, article: dict[str, Any]) -> Capture:
        """The archived response an article was extracted from."""
        name, offset, length = (article.get("warc_file"), article.get("warc_offset"),
                                article.get("warc_length"))
        if not name or offset is None or not length:
            raise CaptureNotFound(f"{article.get('url')}: the record has no WARC location "
                                  "(crawled with WARC_ENABLED off?)")
        return self.read_record(self.warc_key(str(name)), int(offset), int(length))

    def capture(self, url: str, *, version: int | None = None,
                site: str | Iterable[str] | None = None) -> Capture:
        """The archived response for ``url``: an article's (latest, or ``version``), else
        any archived page found in the CDXJ indexes (latest capture)."""
        try:
            return self.capture_of(self.article(url, version=version, site=site))
        except CaptureNotFound:
            if version is not None:
                raise
        found = self._cdxj_lookup(url)
        if found is None:
            raise CaptureNotFound(f"no capture of {url} in {self.uri}")
        key, offset, length = found
        return self.read_record(key, offset, length)

    def revisit_original(self, warc_headers: Iterable[tuple[str, str]],
                         ) -> tuple[str, int, int] | None:
        """``(WARC key, offset, length)`` of the response a revisit record refers to
        (``WARC-Refers-To-Target-URI`` at ``WARC-Refers-To-Date``), from the CDXJ
        indexes; None if it is not in the archive."""
        headers = {name.lower(): value for name, value in warc_headers}
        target = headers.get("warc-refers-to-target-uri")
        date = headers.get("warc-refers-to-date")
        if not target or not date:
            return None
        return self._cdxj_lookup(target, timestamp=re.sub(r"\D", "", date)[:14])

    def _cdxj_lookup(self, url: str, *, timestamp: str | None = None,
                     ) -> tuple[str, int, int] | None:
        """The latest response for ``url`` (or the one at ``timestamp``, 14 digits) in
        the CDXJ indexes."""
        best: tuple[str, str, int, int] | None = None
        for entry in self.files("cdxj"):
            try:
                raw = self.source.open(entry.key)
            except NotFound:
                continue
            with raw, io.TextIOWrapper(raw, encoding="utf-8") as lines:
                for line in lines:
                    parts = line.rstrip("\n").split(" ", 2)
                    if len(parts) < 3 or url not in parts[2] or (
                            timestamp is not None and parts[1] != timestamp):
                        continue
                    data = json.loads(parts[2])
                    if data.get("url") != url or data.get("mime") == "warc/revisit" \
                            or not str(data.get("status", "200")).isdigit():
                        continue
                    if best is None or parts[1] > best[0]:
                        warc = entry.key.replace("cdxj/", "warc/", 1)
                        warc = warc.removesuffix(".cdxj") + ".warc.gz"
                        best = (parts[1], warc, int(data["offset"]), int(data["length"]))
        return (best[1], best[2], best[3]) if best else None

    # -- summary --------------------------------------------------------------------------

    def summary(self, *, site: str | Iterable[str] | None = None,
                since: str | datetime | None = None,
                until: str | datetime | None = None) -> dict[str, Any]:
        """Totals per kind and group (files, bytes, articles, days) and the runs, from
        the catalog (or a listing): what ``newsarchive ls --json`` prints."""
        sites = _as_set(site)
        groups: dict[tuple[str, str], dict[str, Any]] = {}
        for entry in self.files(group=None, since=since, until=until):
            if sites is not None and entry.group not in sites:
                continue
            row = groups.setdefault((entry.kind, entry.group), {
                "kind": entry.kind, "group": entry.group, "files": 0, "bytes": 0,
                "articles": 0, "day_min": entry.day, "day_max": entry.day})
            row["files"] += 1
            row["bytes"] += entry.size
            if entry.articles is None:
                row["articles"] = None
            elif row["articles"] is not None:
                row["articles"] += entry.articles
            row["day_min"] = min(row["day_min"], entry.day)
            row["day_max"] = max(row["day_max"], entry.day)
        start, stop = parse_when(since), parse_when(until, end=True)
        runs = [r.to_dict() for r in self.runs()
                if (not start or r.finished >= _iso(start))
                and (not stop or r.started <= _iso(stop))]
        rows = sorted(groups.values(), key=lambda r: (r["kind"], r["group"]))
        totals = {kind: {"files": sum(r["files"] for r in rows if r["kind"] == kind),
                         "bytes": sum(r["bytes"] for r in rows if r["kind"] == kind)}
                  for kind in CATALOG_KINDS}
        counted = [r["articles"] for r in rows if r["kind"] == "articles"]
        totals["articles"]["articles"] = None if None in counted else sum(counted)
        return {"archive": self.uri, "catalog": self.catalog is not None, "groups": rows,
                "totals": totals, "runs": runs}
