"""Package an archive's captures as a WACZ for ReplayWeb.page (warc-requirements R24).

The archive is a directory or ``s3://bucket/prefix``, read through
:class:`pipelines.reader.Archive` (catalog first, read-only). Two ways to select:

* no article filter: whole WARC files (all, or those of ``--crawl``), with every
  article of those WARCs listed as a page; on S3 each WARC is streamed to a temporary
  directory first;
* an article filter (site, date range, language, text, URL: the same as ``articles``):
  only the response records of the matching articles, each read by offset and length
  (a ranged GET on S3, never a whole WARC) and copied, gzip member as is, into one new
  WARC; those articles are the pages.

The crawler's articles become ``pages.jsonl`` (url, ts, title), so ReplayWeb.page lists
them; the WACZ itself is made by py-wacz (``wacz create``). Nothing is written to the
archive.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.reader import Archive, ArticleFilter

__all__ = ["WaczError", "WaczResult", "build_wacz", "has_article_filter"]

logger = logging.getLogger(__name__)

_CHUNK = 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


class WaczError(RuntimeError):
    """Nothing to package, or py-wacz failed."""


@dataclass(frozen=True)
class WaczResult:
    path: Path
    warcs: int  # WARC files in the WACZ
    pages: int  # articles listed as pages
    captures: int | None = None  # records copied (selected captures only)


class _LogWriter:
    def write(self, text: str) -> int:
        if text.strip():
            logger.info("wacz: %s", text.strip())
        return len(text)

    def flush(self) -> None:
        return None


def has_article_filter(where: ArticleFilter | None) -> bool:
    """True if ``where`` selects articles (anything but "all of them")."""
    return where is not None and where.filters_records()


def _warc_ts(value: str | None) -> str | None:
    """``2026-11-20T10:00:00Z``: the UTC form warcio and ReplayWeb.page read."""
    from crawler.since import parse_timestamp  # noqa: PLC0415

    parsed = parse_timestamp(value)
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ") if parsed else None


def _page(article: dict[str, Any]) -> dict[str, Any]:
    return {"id": article.get("warc_record_id") or article["url"], "url": article["url"],
            "ts": _warc_ts(article.get("fetched_at")),
            "title": article.get("title") or article["url"]}


def _write_pages(pages: IO[str], articles: Iterable[dict[str, Any]]) -> int:
    count = 0
    for article in articles:
        pages.write(json.dumps(_page(article), ensure_ascii=False) + "\n")
        count += 1
    return count


def _pages_header(pages: IO[str]) -> None:
    header = {"format": "json-pages-1.0", "id": "pages", "title": "Articles"}
    pages.write(json.dumps(header) + "\n")


# -- whole WARC files ----------------------------------------------------------------------


def _whole_warcs(archive: Archive, work: Path, pages: IO[str], crawls: set[str] | None,
                 ) -> tuple[list[Path], int]:
    """The selected WARC files on local disk (in place, or streamed from S3 to ``work``)
    and the number of pages written: every article stored in them."""
    from pipelines.reader import LocalSource  # noqa: PLC0415

    source = archive.source
    warcs: list[Path] = []
    for entry in archive.files("warc", group=crawls):
        if isinstance(source, LocalSource):
            path = source.root / entry.key
            if not path.is_file():  # catalogued, then removed: nothing to package
                logger.warning("WARC %s is in the catalog but not in %s", entry.key,
                               source.uri)
                continue
        else:
            path = work / "warc" / entry.key
            path.parent.mkdir(parents=True, exist_ok=True)
            with source.open(entry.key) as raw, path.open("wb") as out:
                shutil.copyfileobj(raw, out, _CHUNK)
        warcs.append(path)
    names = {path.name for path in warcs}
    count = _write_pages(pages, (a for a in archive.articles() if a.get("warc_file") in names))
    return warcs, count


# -- selected captures ---------------------------------------------------------------------


def _selected_articles(archive: Archive, where: ArticleFilter, crawls: set[str] | None,
                       ) -> Iterator[tuple[dict[str, Any], str]]:
    """Matching articles with a WARC location, and the key of their WARC."""
    from pipelines.reader.catalog import parse_key  # noqa: PLC0415

    skipped = 0
    for article in archive.articles(where=where):
        name, offset, length = (article.get("warc_file"), article.get("warc_offset"),
                                article.get("warc_length"))
        if not name or offset is None or not length:
            skipped += 1
            continue
        key = archive.warc_key(str(name))
        if crawls is not None:
            parsed = parse_key(key)
            if parsed is None or parsed[1] not in crawls:
                continue
        yield article, key
    if skipped:
        logger.warning("%d matching article(s) have no WARC location (crawled with "
                       "WARC_ENABLED off?): not in the WACZ", skipped)


def _revisit_headers(member: bytes) -> list[tuple[str, str]] | None:
    """The WARC headers of a gzipped record if it is a ``revisit``, else None (only its
    first few kB are decompressed)."""
    head = zlib.decompressobj(31).decompress(member, 16384)
    block = head.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    lines = block.split("\r\n")[1:]  # after "WARC/1.1"
    headers = [(name.strip(), value.strip())
               for name, sep, value in (line.partition(":") for line in lines) if sep]
    kind = next((v for n, v in headers if n.lower() == "warc-type"), None)
    return headers if kind == "revisit" else None


def _selected_warc(archive: Archive, work: Path, pages: IO[str], where: ArticleFilter,
                   crawls: set[str] | None) -> tuple[list[Path], int]:
    """One WARC holding the matching articles' response records (each one ranged read,
    copied as is; a revisit with the response it refers to), and the number of pages
    written."""
    from warcio.warcwriter import WARCWriter  # noqa: PLC0415

    stamp = datetime.now(UTC)
    name = f"newsarchive-selected-{stamp:%Y%m%d%H%M%S%f}.warc.gz"
    path = work / name
    count = 0
    originals: set[tuple[str, int, int]] = set()  # revisits' responses copied so far
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        writer.write_record(writer.create_warcinfo_record(name, {
            "software": "newsarchive wacz",
            "description": f"captures of {archive.uri} selected by article filters",
            "format": "WARC File Format 1.1",
        }))
        for article, key in _selected_articles(archive, where, crawls):
            offset, length = int(article["warc_offset"]), int(article["warc_length"])
            data = archive.source.read_range(key, offset, length)
            if len(data) != length or not data.startswith(_GZIP_MAGIC):
                msg = (f"{archive.source.location(key)}: no gzipped WARC record at "
                       f"{offset}+{length} (for {article.get('url')})")
                raise WaczError(msg)
            out.write(data)
            revisit = _revisit_headers(data)
            if revisit is not None:  # the payload is in an earlier response: add it too
                original = archive.revisit_original(revisit)
                if original is None:
                    logger.warning("%s: the response its revisit record refers to is not "
                                   "in %s", article.get("url"), archive.uri)
                elif original not in originals:
                    originals.add(original)
                    out.write(archive.source.read_range(*original))
            pages.write(json.dumps(_page(article), ensure_ascii=False) + "\n")
            count += 1
    if not count:
        path.unlink()
        return [], 0
    return [path], count


# -- the WACZ ------------------------------------------------------------------------------


@contextlib.contextmanager
def _py_wacz() -> Iterator[Any]:
    """py-wacz's ``main``, with its global change to cdxj-indexer undone afterwards.

    Importing ``wacz.waczindexer`` appends ``warcinfo`` to
    ``CDXJIndexer.DEFAULT_RECORDS``, the list our own CDXJ sidecars are built with
    (:func:`pipelines.warc.index_warc`): in a process that also crawls or indexes, every
    later sidecar would list warcinfo records. py-wacz gets its list while it runs.
    """
    from cdxj_indexer.main import CDXJIndexer  # noqa: PLC0415
    from wacz.main import main  # noqa: PLC0415

    records = CDXJIndexer.DEFAULT_RECORDS
    if "warcinfo" not in records:
        records.append("warcinfo")
    try:
        yield main
    finally:
        while "warcinfo" in records:
            records.remove("warcinfo")


def build_wacz(archive: Archive | str | Path, output: Path, *,
               crawl: str | Iterable[str] | None = None, where: ArticleFilter | None = None,
               title: str | None = None) -> WaczResult:
    """Write ``output`` (a ``.wacz``) from ``archive``: whole WARCs (of ``crawl``), or
    with an article filter ``where`` only the matching articles' captures."""
    from pipelines.reader import Archive  # noqa: PLC0415

    if not isinstance(archive, Archive):
        archive = Archive(archive)
    crawls = {crawl} if isinstance(crawl, str) else set(crawl) if crawl else None
    selected = has_article_filter(where)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="newsarchive-wacz-") as tmp:
        work = Path(tmp)
        pages = work / "pages.jsonl"
        with pages.open("w", encoding="utf-8") as out:
            _pages_header(out)
            if selected:
                assert where is not None
                warcs, count = _selected_warc(archive, work, out, where, crawls)
            else:
                warcs, count = _whole_warcs(archive, work, out, crawls)
        if not warcs:
            what = f"no captures match the filters in {archive.uri}" if selected else \
                f"no WARC files{' of crawl ' + ', '.join(sorted(crawls)) if crawls else ''}" \
                f" in {archive.uri}"
            raise WaczError(what)
        default_title = f"newsarchive: {', '.join(sorted(crawls)) if crawls else archive.uri}"
        args = ["create", "-o", str(output), "-p", str(pages), "--title",
                title or default_title, *map(str, warcs)]
        # py-wacz prints progress
        with _py_wacz() as wacz_main, contextlib.redirect_stdout(_LogWriter()):
            status = wacz_main(args)
    if status not in (0, None) or not output.is_file():
        raise WaczError(f"wacz create failed with status {status} for {output}")
    logger.info("wrote %s: %d WARC file(s), %d page(s)", output, len(warcs), count)
    return WaczResult(output, len(warcs), count, count if selected else None)
