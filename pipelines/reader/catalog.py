"""The archive's catalog: what was published, so readers never list the whole bucket.

Layout under the archive root (the bucket prefix):

``catalog/runs/<crawl>/<YYYY>/<MM>/<DD>/run-<YYYYmmddHHMMSS>-<token>.json``
    one manifest per crawl run, written by the crawl at its end through its publisher
    (so after every file it lists): each published articles file, WARC and CDXJ with its
    kind, key, group (site or crawl), day, size and, for articles files, the article count,
    the range of article dates and fetch times, and the languages.
``catalog/index.json``
    written by ``newsarchive catalog compact``: the runs merged so far (with their
    totals) and one partition per kind and group (``articles/<site>``, ``warc/<crawl>``,
    ``cdxj/<crawl>``) with totals and the key of its gzipped JSON Lines file of entries
    (``catalog/index/<kind>/<group>-<stamp>.jsonl.gz``, a new name at each compaction,
    so a reader holding the previous head still reads a whole, consistent partition).

A reader reads the head, the partitions it needs and the manifests not merged yet. With
neither, it falls back to listing ``articles/``, ``warc/`` (archives written before the
catalog; ``catalog compact --rescan`` catalogs them).
"""

from __future__ import annotations

import gzip
import heapq
import io
import json
import logging
import re
import secrets
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from pipelines.reader.source import NotFound, Source
from pipelines.storage import PublishResult, Store

__all__ = [
    "CATALOG_KINDS",
    "INDEX_KEY",
    "RUNS_PREFIX",
    "Catalog",
    "CatalogingStore",
    "CompactResult",
    "FileEntry",
    "RunInfo",
    "compact",
    "crawl_of",
    "describe_articles",
    "listed_entries",
    "parse_key",
    "read_catalog",
    "write_run_manifest",
]

logger = logging.getLogger(__name__)

RUN_FORMAT = "newsarchive-catalog-run/1"
INDEX_FORMAT = "newsarchive-catalog-index/1"
CATALOG_KINDS = ("articles", "warc", "cdxj")
RUNS_PREFIX = "catalog/runs/"
INDEX_KEY = "catalog/index.json"
PARTITIONS_PREFIX = "catalog/index/"
_KEY = re.compile(r"^(?P<kind>[a-z]+)/(?P<group>[A-Za-z0-9._-]+)/(?P<y>\d{4})/(?P<m>\d{2})/"
                  r"(?P<d>\d{2})/(?P<name>[A-Za-z0-9._-]+)$")
_SUFFIX = {"articles": ".jsonl.gz", "warc": ".warc.gz", "cdxj": ".cdxj"}


def parse_key(key: str) -> tuple[str, str, str, str] | None:
    """``(kind, group, YYYY-MM-DD, file name)`` of a published archive key, or None."""
    match = _KEY.match(key)
    if match is None:
        return None
    return (match["kind"], match["group"], f"{match['y']}-{match['m']}-{match['d']}",
            match["name"])


@dataclass(slots=True)
class FileEntry:
    """One published file as the catalog knows it."""

    kind: str
    key: str
    group: str
    day: str
    size: int
    run: str | None = None
    crawl: str | None = None
    articles: int | None = None
    date_min: str | None = None  # article dates: published, else fetched_at (UTC ISO)
    date_max: str | None = None
    fetched_min: str | None = None
    fetched_max: str | None = None
    languages: list[str] | None = None

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileEntry:
        known = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        return cls(**known)

    @classmethod
    def from_key(cls, key: str, size: int) -> FileEntry | None:
        parsed = parse_key(key)
        if parsed is None or parsed[0] not in CATALOG_KINDS \
                or not parsed[3].endswith(_SUFFIX[parsed[0]]):
            return None
        kind, group, day, _name = parsed
        return cls(kind=kind, key=key, group=group, day=day, size=size)


# -- describing articles files ----------------------------------------------------------


def _utc(value: Any) -> str | None:
    from crawler.since import parse_timestamp  # noqa: PLC0415

    parsed = parse_timestamp(value) if isinstance(value, str) else None
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ") if parsed else None


def article_date(record: dict[str, Any]) -> str | None:
    """The date an article is selected by: ``published``, else ``fetched_at`` (UTC)."""
    return _utc(record.get("published")) or _utc(record.get("fetched_at"))


@dataclass(slots=True)
class _Stats:
    count: int = 0
    date_min: str | None = None
    date_max: str | None = None
    fetched_min: str | None = None
    fetched_max: str | None = None
    languages: set[str] = field(default_factory=set)

    def add(self, record: dict[str, Any]) -> None:
        self.count += 1
        date = article_date(record)
        if date:
            self.date_min = min(self.date_min or date, date)
            self.date_max = max(self.date_max or date, date)
        fetched = _utc(record.get("fetched_at"))
        if fetched:
            self.fetched_min = min(self.fetched_min or fetched, fetched)
            self.fetched_max = max(self.fetched_max or fetched, fetched)
        language = record.get("language")
        if isinstance(language, str) and language:
            self.languages.add(language)

    def apply(self, entry: FileEntry) -> FileEntry:
        entry.articles = self.count
        entry.date_min, entry.date_max = self.date_min, self.date_max
        entry.fetched_min, entry.fetched_max = self.fetched_min, self.fetched_max
        entry.languages = sorted(self.languages)
        return entry


def describe_articles(stream: IO[bytes], entry: FileEntry) -> FileEntry:
    """Fill in the article count, date ranges and languages of an articles file entry,
    reading the gzipped JSON Lines ``stream`` line by line."""
    stats = _Stats()
    with gzip.open(stream, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                stats.add(json.loads(line))
    return stats.apply(entry)


# -- writer side: record what a run publishes --------------------------------------------


class CatalogingStore:
    """A ``Store`` that remembers each articles file, WARC and CDXJ it publishes (described
    from the staged copy just before it goes), for the run's catalog manifest."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.entries: list[FileEntry] = []
        self._lock = threading.Lock()

    @property
    def uri(self) -> str:
        return self.store.uri

    def location(self, key: str) -> str:
        return self.store.location(key)

    def check(self) -> None:
        self.store.check()

    def exists(self, key: str) -> bool:
        return self.store.exists(key)

    def abort_stale_multipart_uploads(self, older_than: timedelta) -> int:
        return self.store.abort_stale_multipart_uploads(older_than)

    def __getattr__(self, name: str) -> Any:  # S3Store's extras (client, bucket, …)
        return getattr(self.store, name)

    def publish(self, local_path: Path, key: str, *, content_type: str | None = None,
                ) -> PublishResult:
        entry = None
        try:
            entry = FileEntry.from_key(key, local_path.stat().st_size)
            if entry is not None and entry.kind == "articles":
                with local_path.open("rb") as fh:
                    describe_articles(fh, entry)
        except (OSError, ValueError, EOFError) as exc:  # never block a publish on this
            logger.warning("can't describe %s for the catalog: %s", key, exc)
            entry = entry if entry is not None and entry.kind != "articles" else \
                FileEntry.from_key(key, 0)
        result = self.store.publish(local_path, key, content_type=content_type)
        if entry is not None:
            entry.size = result.size
            with self._lock:
                self.entries.append(entry)
        return result


def crawl_of(keys: Iterable[str], default: str = "publish") -> str:
    """The crawl that wrote these keys (the group of their WARC, CDXJ and report files)
    if there is one, else ``default``: ``newsarchive publish`` names its manifest so."""
    crawls = set()
    for key in keys:
        parsed = parse_key(key)
        if parsed is not None and parsed[0] in {"warc", "cdxj", "reports"}:
            crawls.add(parsed[1])
    return crawls.pop() if len(crawls) == 1 else default


def run_manifest_key(crawl: str, finished: datetime, run_id: str) -> str:
    return f"{RUNS_PREFIX}{crawl}/{finished:%Y/%m/%d}/{run_id}.json"


def new_run_id(started: datetime) -> str:
    return f"run-{started:%Y%m%d%H%M%S}-{secrets.token_hex(3)}"


def write_run_manifest(publisher: Any, crawl: str, run_id: str, started: datetime,
                       entries: Iterable[FileEntry], finished: datetime | None = None,
                       ) -> tuple[str, bool]:
    """Stage and publish this run's manifest through ``publisher`` (a ``Publisher``):
    ``(key, published)``; unpublished, it stays pending like any other file."""
    finished = finished or datetime.now(UTC)
    files = []
    for entry in entries:
        entry.run, entry.crawl = run_id, crawl
        files.append(entry.to_dict())
    manifest = {
        "format": RUN_FORMAT,
        "run_id": run_id,
        "crawl": crawl,
        "started": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "finished": finished.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "files": files,
    }
    key = run_manifest_key(crawl, finished, run_id)
    path = publisher.staging_path(key)
    tmp = path.with_name(path.name + ".open")
    try:
        tmp.write_text(json.dumps(manifest, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)  # a full disk: no half manifest left behind
        raise
    return key, bool(publisher.publish(key, content_type="application/json"))


# -- reader side --------------------------------------------------------------------------


@dataclass(slots=True)
class RunInfo:
    run_id: str
    crawl: str
    started: str
    finished: str
    files: int
    bytes: int
    articles: int
    key: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _run_info(key: str, manifest: dict[str, Any]) -> RunInfo:
    files = manifest.get("files", [])
    return RunInfo(run_id=str(manifest.get("run_id")), crawl=str(manifest.get("crawl")),
                   started=str(manifest.get("started")), finished=str(manifest.get("finished")),
                   files=len(files), bytes=sum(int(f.get("size", 0)) for f in files),
                   articles=sum(int(f.get("articles") or 0) for f in files), key=key)


def _read_json(source: Source, key: str) -> dict[str, Any] | None:
    try:
        data = json.loads(source.read_bytes(key))
    except NotFound:
        return None
    return data if isinstance(data, dict) else None


def _iter_jsonl_gz(source: Source, key: str) -> Iterator[dict[str, Any]]:
    with source.open(key) as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


class Catalog:
    """The catalog of an archive as a reader sees it: the compacted head and the run
    manifests published since."""

    def __init__(self, source: Source, head: dict[str, Any] | None,
                 manifest_keys: list[str]) -> None:
        self.source = source
        self.head = head or {"format": INDEX_FORMAT, "runs": {}, "partitions": {}}
        self.manifest_keys = manifest_keys  # not merged in the head yet
        self._manifests: dict[str, dict[str, Any]] = {}

    @property
    def partitions(self) -> dict[str, dict[str, Any]]:
        return dict(self.head.get("partitions", {}))

    def manifest(self, key: str) -> dict[str, Any]:
        if key not in self._manifests:
            self._manifests[key] = _read_json(self.source, key) or {"files": []}
        return self._manifests[key]

    def runs(self) -> Iterator[RunInfo]:
        for key, info in sorted(self.head.get("runs", {}).items()):
            yield RunInfo(**{**info, "key": key})
        for key in self.manifest_keys:
            yield _run_info(key, self.manifest(key))

    def groups(self, kind: str) -> list[str]:
        names = {p.split("/", 1)[1] for p in self.partitions if p.startswith(kind + "/")}
        for key in self.manifest_keys:
            names.update(f["group"] for f in self.manifest(key).get("files", [])
                         if f.get("kind") == kind)
        return sorted(names)

    def entries(self, kinds: Iterable[str] = CATALOG_KINDS,
                groups: Iterable[str] | None = None) -> Iterator[FileEntry]:
        """Entries of these kinds (and groups): only the matching partitions are read."""
        kinds = set(kinds)
        wanted = set(groups) if groups is not None else None
        for name, partition in sorted(self.partitions.items()):
            kind, _, group = name.partition("/")
            if kind in kinds and (wanted is None or group in wanted):
                for data in _iter_jsonl_gz(self.source, str(partition["key"])):
                    yield FileEntry.from_dict(data)
        for key in self.manifest_keys:
            for data in self.manifest(key).get("files", []):
                if data.get("kind") in kinds and (wanted is None or data.get("group") in wanted):
                    yield FileEntry.from_dict(data)


def read_catalog(source: Source) -> Catalog | None:
    """The archive's catalog, or None if it has none (an archive older than catalogs)."""
    head = _read_json(source, INDEX_KEY)
    merged = set((head or {}).get("runs", {}))
    manifests = [obj.key for obj in source.objects(RUNS_PREFIX)
                 if obj.key.endswith(".json") and obj.key not in merged]
    if head is None and not manifests:
        return None
    return Catalog(source, head, manifests)


def listed_entries(source: Source, kinds: Iterable[str] = CATALOG_KINDS,
                   groups: Iterable[str] | None = None) -> Iterator[FileEntry]:
    """Entries found by listing ``<kind>/[<group>/]`` (no catalog): sizes and days only."""
    for kind in kinds:
        prefixes = [f"{kind}/{g}/" for g in sorted(set(groups))] if groups is not None \
            else [f"{kind}/"]
        for prefix in prefixes:
            for obj in source.objects(prefix):
                entry = FileEntry.from_key(obj.key, obj.size)
                if entry is not None and entry.kind == kind:
                    yield entry


# -- compaction -----------------------------------------------------------------------------


@dataclass(slots=True)
class CompactResult:
    runs_merged: int = 0
    files_added: int = 0
    partitions_written: int = 0
    rescanned: int = 0
    index_key: str = INDEX_KEY


def _sort_key(entry: FileEntry) -> tuple[str, str]:
    return entry.day, entry.key


def _publish_bytes(store: Store, key: str, write: Any, content_type: str) -> int:
    with tempfile.NamedTemporaryFile(prefix="newsarchive-catalog-", delete=False) as tmp:
        write(tmp)
        path = Path(tmp.name)
    try:
        return store.publish(path, key, content_type=content_type).size
    finally:
        path.unlink(missing_ok=True)


def compact(source: Source, store: Store, *, rescan: bool = False) -> CompactResult:
    """Merge the run manifests published since the last compaction into the index
    partitions and write a new ``catalog/index.json`` (last, so readers never see a head
    pointing at missing partitions). With ``rescan``, files found by listing that no
    manifest lists (archives written before catalogs, runs killed before their manifest)
    are described and added too. Needs write access; readers never call it."""
    result = CompactResult()
    catalog = read_catalog(source) or Catalog(source, None, [])
    head = catalog.head
    runs: dict[str, Any] = dict(head.get("runs", {}))
    new: dict[str, list[FileEntry]] = {}
    for key in catalog.manifest_keys:
        manifest = catalog.manifest(key)
        info = _run_info(key, manifest).to_dict()
        info.pop("key")
        runs[key] = info
        result.runs_merged += 1
        for data in manifest.get("files", []):
            entry = FileEntry.from_dict(data)
            new.setdefault(f"{entry.kind}/{entry.group}", []).append(entry)
    if rescan:
        known = {e.key for e in catalog.entries()}
        for entries in new.values():
            known.update(e.key for e in entries)
        for entry in listed_entries(source):
            if entry.key in known:
                continue
            if entry.kind == "articles":
                with source.open(entry.key) as raw:
                    describe_articles(raw, entry)
            new.setdefault(f"{entry.kind}/{entry.group}", []).append(entry)
            result.rescanned += 1
    partitions: dict[str, Any] = dict(head.get("partitions", {}))
    stamp = f"{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(3)}"
    for name, added in sorted(new.items()):
        kind, _, group = name.partition("/")
        old = partitions.get(name)
        added_keys = {e.key for e in added}
        added.sort(key=_sort_key)

        def merged(old: dict[str, Any] | None = old, added: list[FileEntry] = added,
                   added_keys: set[str] = added_keys) -> Iterator[FileEntry]:
            previous: Iterator[FileEntry] = iter(())
            if old is not None:
                previous = (e for e in map(FileEntry.from_dict,
                                           _iter_jsonl_gz(source, str(old["key"])))
                            if e.key not in added_keys)
            return heapq.merge(previous, iter(added), key=_sort_key)

        totals: dict[str, Any] = {"files": 0, "bytes": 0, "articles": 0}

        entries_in = merged()

        def write(fh: IO[bytes], entries: Iterator[FileEntry] = entries_in,
                  totals: dict[str, Any] = totals) -> None:
            with gzip.GzipFile(fileobj=fh, mode="wb") as gz, \
                    io.TextIOWrapper(gz, encoding="utf-8") as out:
                for entry in entries:
                    out.write(json.dumps(entry.to_dict(), ensure_ascii=False) + "\n")
                    totals["files"] += 1
                    totals["bytes"] += entry.size
                    totals["articles"] += entry.articles or 0
                    for field_name, pick in (("day_min", min), ("day_max", max)):
                        totals[field_name] = pick(totals.get(field_name) or entry.day,
                                                  entry.day)
                    if entry.date_min:
                        totals["date_min"] = min(totals.get("date_min") or entry.date_min,
                                                 entry.date_min)
                    if entry.date_max:
                        totals["date_max"] = max(totals.get("date_max") or entry.date_max,
                                                 entry.date_max)

        part_key = f"{PARTITIONS_PREFIX}{kind}/{group}-{stamp}.jsonl.gz"
        _publish_bytes(store, part_key, write, "application/gzip")
        partitions[name] = {"key": part_key, **totals}
        result.partitions_written += 1
        result.files_added += len(added)
    index = {"format": INDEX_FORMAT,
             "updated": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "runs": runs, "partitions": partitions}
    _publish_bytes(store, INDEX_KEY,
                   lambda fh: fh.write(json.dumps(index, ensure_ascii=False,
                                                  indent=1).encode() + b"\n"),
                   "application/json")
    return result
