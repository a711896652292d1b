"""The researchers' commands: ``ls``, ``articles``, ``show``, ``wacz``, ``replay``,
``catalog compact``.

All but ``catalog compact`` are read-only: on S3 they call only ``ListObjectsV2`` and
``GetObject`` (``s3:ListBucket`` and ``s3:GetObject`` on the prefix are enough).
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from crawler import exitcodes

__all__ = ["READER_COMMANDS", "ReaderSettings", "add_reader_commands", "run_reader_command"]

READER_COMMANDS = frozenset({"ls", "articles", "show", "wacz", "replay", "catalog"})


def _setting(value: str) -> tuple[str, str]:
    name, sep, setting = value.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {value!r}")
    return name, setting


def _when(value: str) -> str:
    from pipelines.reader import parse_when  # noqa: PLC0415

    try:
        parse_when(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _fields(value: str) -> list[str]:
    from pipelines.reader.formats import check_fields  # noqa: PLC0415

    names = [name.strip() for name in value.split(",") if name.strip()]
    try:
        return check_fields(names)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("archive", metavar="ARCHIVE", help="archive directory or s3://BUCKET/PREFIX")
    p.add_argument("-s", "--set", dest="settings", type=_setting, action="append",
                   default=[], metavar="NAME=VALUE",
                   help="a setting, e.g. AWS_ENDPOINT_URL or ARCHIVE_S3_ADDRESSING_STYLE")


def _dates(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--since", type=_when, metavar="DATE|AGE",
                   help=f"{what} from this time on (2026-11-01, 2026-11-01T12:00Z, 2d)")
    p.add_argument("--until", type=_when, metavar="DATE|AGE",
                   help=f"{what} up to this time (a bare date: to the end of that day)")


def _article_filters(p: argparse.ArgumentParser) -> None:
    """The article filters of ``articles`` and ``wacz``."""
    p.add_argument("--site", action="append", metavar="NAME", help="repeatable")
    _dates(p, "articles published")
    p.add_argument("--language", action="append", metavar="LANG",
                   help="declared language; 'en' also matches 'en-GB' (repeatable)")
    p.add_argument("--contains", action="append", metavar="TEXT",
                   help="title or text contains TEXT, case-insensitive (repeatable: all "
                        "must occur)")
    p.add_argument("--url", help="only the article at this URL or canonical URL")


def add_reader_commands(sub: Any) -> None:
    """Register the reader subcommands on the ``newsarchive`` subparsers."""
    ls = sub.add_parser(
        "ls", help="what an archive holds: sites, crawls, runs, counts, sizes",
        description="Summarise an archive from its catalog (or a listing for archives "
                    "without one): per site and crawl the files, bytes, articles and days, "
                    "and the runs.")
    _common(ls)
    ls.add_argument("--site", action="append", metavar="NAME",
                    help="only this site (repeatable); WARCs of a crawl of that name")
    _dates(ls, "files written")
    ls.add_argument("--json", action="store_true", help="machine-readable output")

    articles = sub.add_parser(
        "articles", help="stream matching articles as JSON Lines, CSV or Parquet",
        description="Stream the archive's articles that match every filter given. Dates "
                    "are the article's publication date, else its fetch time.")
    _common(articles)
    _article_filters(articles)
    articles.add_argument("--fields", type=_fields, metavar="F1,F2,…",
                          help="fields to output (default: all, see the README)")
    articles.add_argument("--format", choices=("jsonl", "csv", "parquet"), default="jsonl",
                          help="output format (default: %(default)s)")
    articles.add_argument("-o", "--output", metavar="FILE",
                          help="write to FILE (default: stdout; required for parquet)")
    articles.add_argument("--limit", type=int, metavar="N", help="stop after N articles")

    show = sub.add_parser(
        "show", help="an article's metadata and text, or its archived response (--raw)",
        description="Show the archived article at URL (latest version unless --version), "
                    "or with --raw the HTTP response body the server sent (content coding "
                    "removed), read from its WARC by offset and length (a ranged GET on S3). "
                    "Pages that are not articles are found in the CDXJ indexes.")
    _common(show)
    show.add_argument("url", metavar="URL")
    show.add_argument("--version", type=int, metavar="N", help="that version of the article")
    show.add_argument("--site", action="append", metavar="NAME",
                      help="look only in this site's articles (faster)")
    mode = show.add_mutually_exclusive_group()
    mode.add_argument("--raw", action="store_true",
                      help="the archived response body, decoded, to stdout")
    mode.add_argument("--headers", action="store_true",
                      help="the archived response's status line and headers")
    mode.add_argument("--json", action="store_true", help="the article record as JSON")

    wacz = sub.add_parser(
        "wacz", help="package captures as a WACZ for ReplayWeb.page",
        description="Package an archive (a directory or s3://BUCKET/PREFIX) as a WACZ, the "
                    "archived articles listed as its pages. Without article filters: whole "
                    "WARC files (all, or --crawl's). With any of --site, --since, --until, "
                    "--language, --contains, --url: only the captures of the matching "
                    "articles, each read by offset and length (a ranged GET on S3).")
    _common(wacz)
    wacz.add_argument("-o", "--output", required=True, metavar="FILE.wacz",
                      help="the WACZ file to write")
    _article_filters(wacz)
    wacz.add_argument("--crawl", action="append", metavar="NAME",
                      help="only the WARCs of this crawl (repeatable)")
    wacz.add_argument("--title", help="the WACZ title (default: from the crawl or archive)")

    replay = sub.add_parser(
        "replay", help="replay the archive in pywb on 127.0.0.1",
        description="Run pywb's wayback on 127.0.0.1 over the archive's WARCs (with their "
                    "CDXJ indexes merged). WARCs of an S3 archive are downloaded to --cache "
                    "first. wayback comes from $NEWSARCHIVE_WAYBACK, .venv-pywb/bin/wayback "
                    "or PATH.")
    _common(replay)
    replay.add_argument("--crawl", action="append", metavar="NAME",
                        help="only this crawl's WARCs (repeatable)")
    _dates(replay, "WARCs written")
    replay.add_argument("--port", type=int, default=8080, help="(default: %(default)s)")
    replay.add_argument("--cache", metavar="DIR",
                        help="where to keep downloaded WARCs (default: a temporary directory)")

    catalog = sub.add_parser(
        "catalog", help="maintain the archive's catalog (needs write access)",
        description="Catalog maintenance. 'compact' merges the run manifests into "
                    "catalog/index.json and its partitions, so readers read few objects.")
    actions = catalog.add_subparsers(dest="catalog_command", metavar="ACTION", required=True)
    compact = actions.add_parser(
        "compact", help="merge run manifests into the catalog index",
        description="Merge catalog/runs/ manifests into catalog/index.json. With --rescan, "
                    "also catalog files no manifest lists (archives written before the "
                    "catalog existed, runs killed before writing theirs).")
    _common(compact)
    compact.add_argument("--rescan", action="store_true",
                         help="list the whole archive and add what is not catalogued")


# -- helpers ---------------------------------------------------------------------------


def _settings(args: argparse.Namespace) -> Any:
    from crawler.run import project_settings  # noqa: PLC0415

    return project_settings({"ARCHIVE_STORE": args.archive, **dict(args.settings)})


class ReaderSettings:
    """The few settings a reader uses (the S3 options), read as Scrapy reads them but
    without importing Scrapy, which would double a reader's start-up: the project's
    settings module (``$SCRAPY_SETTINGS_MODULE``, else ``crawler.settings``) under the
    ``-s NAME=VALUE`` overrides."""

    def __init__(self, overrides: dict[str, Any]) -> None:
        import importlib  # noqa: PLC0415

        module = importlib.import_module(os.environ.get("SCRAPY_SETTINGS_MODULE")
                                         or "crawler.settings")
        self.values = {name: getattr(module, name) for name in dir(module) if name.isupper()}
        self.values.update(overrides)

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

    def getint(self, name: str, default: int = 0) -> int:
        return int(self.get(name, default))

    def getbool(self, name: str, default: bool = False) -> bool:
        value = self.get(name, default)
        try:
            return bool(int(value))
        except ValueError:
            if value in ("True", "true"):
                return True
            if value in ("False", "false"):
                return False
            msg = (f"{name}: supported values for a boolean setting are 0/1, True/False, "
                   f"'0'/'1', 'True'/'False' and 'true'/'false', not {value!r}")
            raise ValueError(msg) from None


def _archive(args: argparse.Namespace) -> Any:
    from pipelines.reader import Archive  # noqa: PLC0415
    from pipelines.storage import StorageConfigError, parse_uri  # noqa: PLC0415
    from pipelines.storage.options import s3_options  # noqa: PLC0415

    uri = parse_uri(args.archive)
    if not uri.is_s3:
        assert uri.path is not None
        if not uri.path.is_dir():
            msg = f"{args.archive}: not an archive directory"
            raise FileNotFoundError(msg)
        return Archive(uri.path)
    try:
        options = s3_options(ReaderSettings(dict(args.settings)))
    except ValueError as exc:
        raise StorageConfigError(str(exc)) from None
    return Archive(args.archive, options=options)


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"  # pragma: no cover


def _error(message: str, code: int) -> int:
    print(f"newsarchive: {message}", file=sys.stderr)
    return code


def run_reader_command(args: argparse.Namespace) -> int:
    """Run a reader subcommand; its exit status."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    from pipelines.reader import CaptureNotFound  # noqa: PLC0415
    from pipelines.storage import StorageConfigError, StorageError  # noqa: PLC0415

    handlers = {"ls": _ls, "articles": _articles, "show": _show, "wacz": _wacz,
                "replay": _replay, "catalog": _catalog}
    try:
        return handlers[args.command](args)
    except StorageConfigError as exc:
        return _error(f"config error: {exc}", exitcodes.CONFIG_ERROR)
    except (FileNotFoundError, CaptureNotFound) as exc:
        return _error(f"error: {exc}", exitcodes.FAILED)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        return _error(f"storage error: {args.archive}: {error.get('Code')} "
                      f"{error.get('Message') or exc}", exitcodes.STORAGE_ERROR)
    except (BotoCoreError, StorageError) as exc:
        return _error(f"storage error: {args.archive}: {exc}", exitcodes.STORAGE_ERROR)
    except BrokenPipeError:  # `newsarchive articles … | head`
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the final flush
        return exitcodes.OK


# -- ls --------------------------------------------------------------------------------


def _ls(args: argparse.Namespace) -> int:
    archive = _archive(args)
    summary = archive.summary(site=args.site, since=args.since, until=args.until)
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
        return exitcodes.OK
    runs = summary["runs"]
    catalog = archive.catalog
    where = (f"catalog: {len(runs)} run(s), {len(catalog.manifest_keys)} not compacted"
             if catalog is not None else "no catalog: listed")
    print(f"{summary['archive']} ({where})")
    for kind, label in (("articles", "site"), ("warc", "crawl"), ("cdxj", "crawl")):
        rows = [r for r in summary["groups"] if r["kind"] == kind]
        if not rows:
            continue
        print(f"\n{kind}")
        print(f"  {label:<24} {'files':>6} {'size':>10} {'articles':>9}  days")
        for r in rows:
            count = "-" if r["articles"] is None or kind != "articles" else str(r["articles"])
            print(f"  {r['group']:<24} {r['files']:>6} {_size(r['bytes']):>10} {count:>9}  "
                  f"{r['day_min']} .. {r['day_max']}")
    if runs:
        print("\nruns")
        for run in runs:
            print(f"  {run['run_id']:<30} {run['crawl']:<18} {run['finished']}  "
                  f"{run['files']:>4} files {_size(run['bytes']):>10} "
                  f"{run['articles']:>6} articles")
    totals = summary["totals"]
    count = totals["articles"]["articles"]
    print(f"\ntotal: {'?' if count is None else count} articles in "
          f"{totals['articles']['files']} file(s) ({_size(totals['articles']['bytes'])}); "
          f"{totals['warc']['files']} WARC file(s) ({_size(totals['warc']['bytes'])})")
    return exitcodes.OK


# -- articles --------------------------------------------------------------------------


def _limited(records: Iterator[Any], limit: int | None) -> Iterator[Any]:
    for number, record in enumerate(records):
        if limit is not None and number >= limit:
            return
        yield record


def _articles(args: argparse.Namespace) -> int:
    from pipelines.reader import ArticleFilter  # noqa: PLC0415
    from pipelines.reader.formats import (  # noqa: PLC0415
        write_csv,
        write_jsonl,
        write_lines,
        write_parquet,
    )

    if args.format == "parquet" and not args.output:
        return _error("--format parquet needs -o FILE", exitcodes.CONFIG_ERROR)
    archive = _archive(args)
    where = ArticleFilter.build(site=args.site, since=args.since, until=args.until,
                                language=args.language, contains=args.contains, url=args.url)
    records: Iterator[Any]
    if args.format == "jsonl" and not args.fields:
        # every field: the stored lines as they are (parsed only to filter)
        records = _limited(archive.article_lines(where=where), args.limit)
    else:
        records = _limited(archive.articles(where=where), args.limit)
    if args.format == "parquet":
        count = write_parquet(records, Path(args.output), fields=args.fields)
    else:
        def write(out: IO[str]) -> int:
            if args.format == "csv":
                return write_csv(records, out, args.fields)
            if args.fields:
                return write_jsonl(records, out, args.fields)
            return write_lines(records, out)

        if args.output:
            with Path(args.output).open("w", encoding="utf-8", newline="") as out:
                count = write(out)
        else:
            count = write(sys.stdout)
            sys.stdout.flush()
    if args.output:
        print(f"wrote {count} article(s) to {args.output}", file=sys.stderr)
    return exitcodes.OK


# -- show ------------------------------------------------------------------------------


def _show(args: argparse.Namespace) -> int:
    archive = _archive(args)
    if args.raw or args.headers:
        capture = archive.capture(args.url, version=args.version, site=args.site)
        if args.headers:
            print(f"{capture.status} {capture.url} ({capture.date}, {capture.warc_key} "
                  f"@{capture.offset}+{capture.length})")
            for name, value in capture.http_headers:
                print(f"{name}: {value}")
            return exitcodes.OK
        sys.stdout.buffer.write(capture.body)
        sys.stdout.buffer.flush()
        return exitcodes.OK
    versions = archive.versions(args.url, site=args.site)
    if args.version is not None:
        chosen = [a for a in versions if (a.get("version") or 1) == args.version]
    else:
        chosen = versions[-1:]
    if not chosen:
        which = f" version {args.version}" if args.version is not None else ""
        return _error(f"error: no article{which} for {args.url} in {archive.uri}",
                      exitcodes.FAILED)
    article = chosen[-1]
    if args.json:
        print(json.dumps(dict(article), indent=2, ensure_ascii=False))
        return exitcodes.OK
    numbers = ", ".join(str(a.get("version") or 1) for a in versions)
    lines = [
        f"title:     {article.get('title') or ''}",
        f"url:       {article.get('url')}",
        f"canonical: {article.get('canonical_url')}",
        f"site:      {article.get('site')} ({article.get('site_name') or ''})",
        f"published: {article.get('published') or '-'}"
        f"   modified: {article.get('modified') or '-'}",
        f"authors:   {', '.join(article.get('authors') or []) or '-'}",
        f"language:  {article.get('language') or '-'}   words: {article.get('word_count')}",
        f"version:   {article.get('version') or 1} (archived versions: {numbers})",
        f"fetched:   {article.get('fetched_at')} (HTTP {article.get('status')})",
        f"warc:      {article.get('warc_file')} @{article.get('warc_offset')}"
        f"+{article.get('warc_length')}",
        "",
        str(article.get("text") or ""),
    ]
    print("\n".join(lines))
    return exitcodes.OK


# -- wacz ------------------------------------------------------------------------------


def _wacz(args: argparse.Namespace) -> int:
    from pipelines.reader import ArticleFilter  # noqa: PLC0415
    from pipelines.wacz import WaczError, build_wacz  # noqa: PLC0415

    archive = _archive(args)
    where = ArticleFilter.build(site=args.site, since=args.since, until=args.until,
                                language=args.language, contains=args.contains, url=args.url)
    output = Path(args.output)
    try:
        result = build_wacz(archive, output, crawl=args.crawl, where=where, title=args.title)
    except WaczError as exc:
        return _error(f"error: {exc}", exitcodes.FAILED)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError) and exc.filename is None:
            raise
        return _error(f"error: {output}: {exc}", exitcodes.STORAGE_ERROR)
    captures = f", {result.captures} capture(s)" if result.captures is not None else ""
    print(f"wrote {result.path}: {result.warcs} WARC file(s){captures}, "
          f"{result.pages} page(s)")
    return exitcodes.OK


# -- catalog ---------------------------------------------------------------------------


def _catalog(args: argparse.Namespace) -> int:
    from pipelines.output import store_for  # noqa: PLC0415
    from pipelines.reader import compact  # noqa: PLC0415

    archive = _archive(args)
    _uri, store, _state = store_for(_settings(args))
    result = compact(archive.source, store, rescan=args.rescan)
    print(f"{archive.uri}: merged {result.runs_merged} run manifest(s), "
          f"{result.files_added} file(s) into {result.partitions_written} partition(s)"
          + (f" ({result.rescanned} found by listing)" if args.rescan else "")
          + f"; wrote {result.index_key}")
    return exitcodes.OK


# -- replay ----------------------------------------------------------------------------


def wayback_command() -> str | None:
    """pywb's ``wayback``: ``$NEWSARCHIVE_WAYBACK``, ``.venv-pywb/bin/wayback`` (of the
    project or the working directory), else PATH."""
    configured = os.environ.get("NEWSARCHIVE_WAYBACK")
    if configured:
        return configured
    for base in (Path(__file__).resolve().parent.parent, Path.cwd()):
        candidate = base / ".venv-pywb" / "bin" / "wayback"
        if candidate.exists():
            return str(candidate)
    return shutil.which("wayback")


def _local_copy(archive: Any, key: str, cache: Path) -> Path:
    """The file of ``key``: in place for a directory, else downloaded once to ``cache``."""
    from pipelines.reader import LocalSource  # noqa: PLC0415

    source = archive.source
    if isinstance(source, LocalSource):
        return source.root / key
    target = cache / key
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        with source.open(key) as raw, tmp.open("wb") as out:
            shutil.copyfileobj(raw, out, 1024 * 1024)
        tmp.replace(target)
    return target


def build_collection(archive: Any, root: Path, cache: Path, *, crawls: list[str] | None,
                     since: str | None, until: str | None) -> int:
    """``root/collections/archive/{archive,indexes}`` for pywb: the selected WARCs
    (symlinked) and their CDXJ indexes merged in byte order (streamed). WARC count."""
    from pipelines.reader import NotFound  # noqa: PLC0415

    coll = root / "collections" / "archive"
    (coll / "archive").mkdir(parents=True, exist_ok=True)
    (coll / "indexes").mkdir(parents=True, exist_ok=True)
    indexes: list[Path] = []
    count = 0
    for entry in archive.files("warc", group=crawls, since=since, until=until):
        warc = _local_copy(archive, entry.key, cache)
        link = coll / "archive" / entry.name
        if not link.exists():
            link.symlink_to(warc.resolve())
        count += 1
        cdxj_key = "cdxj/" + entry.key.removeprefix("warc/").removesuffix(".warc.gz") + ".cdxj"
        with contextlib.suppress(NotFound, FileNotFoundError):
            indexes.append(_local_copy(archive, cdxj_key, cache))
    with contextlib.ExitStack() as stack:
        streams: list[IO[bytes]] = [stack.enter_context(p.open("rb")) for p in indexes]
        with (coll / "indexes" / "index.cdxj").open("wb") as out:
            for line in heapq.merge(*streams):
                out.write(line if line.endswith(b"\n") else line + b"\n")
    return count


def _interrupt(signum: int, frame: object) -> None:
    del signum, frame
    raise KeyboardInterrupt


def _replay(args: argparse.Namespace) -> int:
    wayback = wayback_command()
    if wayback is None:
        return _error("pywb's wayback not found: set NEWSARCHIVE_WAYBACK, or run "
                      "`make .venv-pywb/.installed-stamp`", exitcodes.CONFIG_ERROR)
    archive = _archive(args)
    with tempfile.TemporaryDirectory(prefix="newsarchive-replay-") as tmp:
        root = Path(tmp)
        cache = Path(args.cache) if args.cache else root / "cache"
        count = build_collection(archive, root, cache, crawls=args.crawl, since=args.since,
                                 until=args.until)
        if not count:
            return _error(f"error: no WARC files selected in {archive.uri}", exitcodes.FAILED)
        process = subprocess.Popen([wayback, "-b", "127.0.0.1", "-p", str(args.port),
                                    "-d", str(root)], cwd=root)
        signal.signal(signal.SIGTERM, _interrupt)  # stop wayback too on SIGTERM
        print(f"replaying {count} WARC file(s) of {archive.uri} at "
              f"http://127.0.0.1:{args.port}/archive/ (Ctrl-C to stop)", flush=True)
        try:
            while process.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        return exitcodes.OK if process.returncode in (0, -15, None) else exitcodes.FAILED
