"""The ``newsarchive`` command: crawl, demo, extract."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler import __version__, exitcodes
from crawler.config import (
    ConfigError,
    SiteConfig,
    load_config,
    override_sites,
    site_from_urls,
)

__all__ = ["build_parser", "main"]

DESCRIPTION = """\
Archive news sites: discover articles from start pages, RSS/Atom feeds and sitemaps,
archive every response as WARC, extract clean text and metadata as JSON Lines, to a
directory or an S3 bucket.

exit status: 0 success; 1 the run failed (nothing fetched, crawl error);
2 bad command line or config; 3 storage error (output unreachable, files pending);
4 some sites failed; 5 another run holds the lock; 6 success with warnings
(health thresholds of the config crossed).
"""


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value!r}")
    return number


def _since(value: str) -> str:
    from crawler.since import parse_since  # noqa: PLC0415

    try:
        parse_since(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _setting(value: str) -> tuple[str, str]:
    name, sep, setting = value.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {value!r}")
    return name, setting


def _add_run_options(p: argparse.ArgumentParser, default_output: str) -> None:
    out = p.add_argument_group("output")
    out.add_argument("-o", "--output", default=default_output, metavar="DIR|s3://BUCKET/PREFIX",
                     help="where to write the archive: a directory or an S3 URI "
                          "(default: %(default)s)")
    out.add_argument("--state", metavar="DIR",
                     help="state and staging directory (default: DIR/.newsarchive, or "
                          "~/.local/share/newsarchive/s3/BUCKET/PREFIX for S3)")
    out.add_argument("--text-files", action="store_true",
                     help="also write one .txt file per article (for small runs)")
    limits = p.add_argument_group("limits")
    limits.add_argument("--max-articles", type=_positive_int, metavar="N",
                        help="stop after N articles (default: no limit)")
    limits.add_argument("--since", type=_since, metavar="AGE|DATE",
                        help="only articles published since, e.g. 2d, 12h, 2026-11-01 "
                             "(default: no limit)")
    limits.add_argument("--full", action="store_true",
                        help="ignore what earlier runs archived: fetch everything again "
                             "(the state is still updated)")
    limits.add_argument("--depth", type=_positive_int, metavar="N",
                        help="links to follow from start pages (default: 2; feeds and "
                             "sitemaps are always read)")
    logs = p.add_argument_group("logging")
    logs.add_argument("-v", "--verbose", action="count", default=0,
                      help="more log output (-v info, -vv debug)")
    logs.add_argument("-q", "--quiet", action="store_true",
                      help="no progress line and no summary, errors only")
    logs.add_argument("--log-file", metavar="PATH", help="write the log to PATH")
    p.add_argument("-s", "--set", dest="settings", type=_setting, action="append",
                   default=[], metavar="NAME=VALUE",
                   help="override a Scrapy/newsarchive setting (repeatable)")


def _redis_url(value: str) -> str:
    if not value.startswith(("redis://", "rediss://", "unix://")):
        from pipelines.storage.uri import redact_uri  # noqa: PLC0415

        raise argparse.ArgumentTypeError(
            f"expected a Redis URL (redis://host:6379/0), got {redact_uri(value)!r}")
    return value


def _add_fleet_options(p: argparse.ArgumentParser, *, required: bool) -> None:
    fleet = p.add_argument_group("distributed crawl")
    fleet.add_argument("--redis", required=required, type=_redis_url,
                       metavar="redis://HOST:PORT/DB",
                       help="share the frontier, seen-set and state with other workers in "
                            "this Redis" + ("" if required else
                                            " (this run seeds it, once per run)"))
    fleet.add_argument("--worker-id", metavar="ID",
                       help="this worker's name in the fleet, file names and reports "
                            "(default: $NEWSARCHIVE_WORKER_ID, else the host name)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsarchive", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"newsarchive {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    crawl = sub.add_parser(
        "crawl", help="crawl sites into an archive",
        description="Crawl one site or a URL list (one-off), or the sites of a config file "
                    "(scheduled). Start URLs that look like feeds or sitemaps are read as "
                    "such; a site root also brings in the sitemaps of its robots.txt.")
    crawl.add_argument("urls", nargs="*", metavar="URL",
                       help="start pages, feeds or sitemaps of one-off runs")
    crawl.add_argument("--urls-file", metavar="FILE",
                       help="fetch exactly the URLs listed in FILE ('-' for stdin), one per "
                            "line, without following links")
    crawl.add_argument("--config", metavar="SITES.TOML",
                       help="crawl the sites of this config file (see sites.example.toml)")
    crawl.add_argument("--site", action="append", metavar="NAME",
                       help="with --config: only this site (repeatable)")
    _add_fleet_options(crawl, required=False)
    _add_run_options(crawl, "archive")

    worker = sub.add_parser(
        "worker", help="join a distributed crawl as an extra worker",
        description="Work on the shared frontier of a distributed crawl that `newsarchive "
                    "crawl --redis URL` seeded (same sites: the same --config or URLs). "
                    "Waits up to DISTRIBUTED_JOIN_WAIT seconds for a run to join, and "
                    "exits once the frontier is drained and no worker holds work.")
    worker.add_argument("urls", nargs="*", metavar="URL",
                        help="the start URLs the seeder was given (one-off runs)")
    worker.add_argument("--urls-file", metavar="FILE", help="the seeder's URL list")
    worker.add_argument("--config", metavar="SITES.TOML", help="the seeder's config file")
    worker.add_argument("--site", action="append", metavar="NAME",
                        help="with --config: only this site (repeatable)")
    _add_fleet_options(worker, required=True)
    _add_run_options(worker, "archive")

    fleet = sub.add_parser(
        "fleet-report", help="the merged report of a distributed crawl's workers",
        description="Print the fleet report (every worker's run report merged) of the "
                    "latest run of a distributed crawl, as JSON.")
    fleet.add_argument("--redis", required=True, metavar="redis://HOST:PORT/DB",
                       help="the fleet's Redis")
    name = fleet.add_mutually_exclusive_group(required=True)
    name.add_argument("--config", metavar="SITES.TOML",
                      help="the crawl's config file (the crawl name is its stem)")
    name.add_argument("--crawl", metavar="NAME", help="the crawl name")
    fleet.add_argument("--run", metavar="ID", help="this run, not the latest")
    fleet.add_argument("-s", "--set", dest="settings", type=_setting, action="append",
                       default=[], metavar="NAME=VALUE", help="override a setting")

    demo = sub.add_parser(
        "demo", help="archive the bundled sample news site (served on 127.0.0.1)",
        description="Serve the bundled sample news site on 127.0.0.1 and crawl it, "
                    "the quickest way to see what newsarchive writes.")
    _add_run_options(demo, "demo-archive")

    extract = sub.add_parser(
        "extract", help="extract one saved HTML page (the crawl's code path)",
        description="Extract the article text and metadata of a saved HTML page.")
    extract.add_argument("file", metavar="FILE", help="HTML file, or '-' for stdin")
    extract.add_argument("--url", required=True, help="the URL the page was fetched from")
    extract.add_argument("--format", choices=("txt", "json"), default="txt",
                         help="plain text, or a JSON object with all fields "
                              "(default: %(default)s)")
    check = sub.add_parser(
        "check-output", help="check that an output directory or bucket is usable",
        description="Check that the output (a directory or s3://bucket/prefix) exists, is "
                    "reachable with the current credentials, and is writable.")
    check.add_argument("output", metavar="DIR|s3://BUCKET/PREFIX")
    check.add_argument("-s", "--set", dest="settings", type=_setting, action="append",
                       default=[], metavar="NAME=VALUE", help="override a setting")

    publish = sub.add_parser(
        "publish", help="publish files left pending by earlier runs",
        description="Upload (or move) the files earlier runs could not publish, in order, "
                    "then a catalog manifest listing them (so readers find them).")
    publish.add_argument("-o", "--output", required=True, metavar="DIR|s3://BUCKET/PREFIX")
    publish.add_argument("--state", metavar="DIR", help="state and staging directory")
    publish.add_argument("-s", "--set", dest="settings", type=_setting, action="append",
                         default=[], metavar="NAME=VALUE", help="override a setting")

    # -- reader commands (ls, articles, show, wacz, replay, catalog): crawler/readcmds.py --
    from crawler.readcmds import add_reader_commands  # noqa: PLC0415

    add_reader_commands(sub)
    # -- end of reader commands --
    return parser


def _settings_for(args: argparse.Namespace) -> dict[str, Any]:
    level = "DEBUG" if args.verbose > 1 else "INFO" if args.verbose else (
        "ERROR" if args.quiet else "WARNING")
    overrides: dict[str, Any] = {
        "ARCHIVE_STORE": args.output,
        **({"ARCHIVE_STATE_DIR": args.state} if getattr(args, "state", None) else {}),
        "ARTICLES_TEXT_FILES": args.text_files,
        "LOG_LEVEL": level,
        "PROGRESS_ENABLED": not args.quiet,
    }
    if args.depth is not None:
        overrides["NEWS_DEPTH"] = args.depth
    if args.full:
        overrides["STATE_FULL"] = True
    if args.max_articles:
        overrides["ARTICLES_MAX_ITEMS"] = args.max_articles
    if args.log_file:
        overrides["LOG_FILE"] = args.log_file
    overrides.update(dict(args.settings))
    return overrides


def _open_output(settings: Any) -> tuple[int, Any]:
    """Open and check the output before crawling: ``(status, (uri, store, state_dir))``,
    with a clear message and the exit status on failure."""
    from pipelines.output import store_for  # noqa: PLC0415
    from pipelines.storage import StorageConfigError, StorageError  # noqa: PLC0415

    try:
        output = store_for(settings)
        output[1].check()
    except StorageConfigError as exc:
        print(f"newsarchive: config error: {exc}", file=sys.stderr)
        return exitcodes.CONFIG_ERROR, None
    except (StorageError, OSError) as exc:
        print(f"newsarchive: storage error: {exc}", file=sys.stderr)
        return exitcodes.STORAGE_ERROR, None
    return exitcodes.OK, output


def _run(sites: list[SiteConfig], args: argparse.Namespace) -> int:
    from crawler.lock import LockHeld, RunLock  # noqa: PLC0415
    from crawler.run import project_settings, run_crawl  # noqa: PLC0415

    overrides = _settings_for(args)
    overrides.setdefault("ARCHIVE_CRAWL_NAME", args.crawl_name or (
        sites[0].name if len(sites) == 1 else "crawl"))
    settings = project_settings(overrides)
    try:
        from crawler.egress import EgressPolicy  # noqa: PLC0415

        EgressPolicy.from_settings(settings)
    except ValueError as exc:
        print(f"newsarchive: config error: {exc}", file=sys.stderr)
        return exitcodes.CONFIG_ERROR
    status, output = _open_output(settings)
    if status != exitcodes.OK:
        return status
    uri, store, state_dir = output
    fleet = None
    if getattr(args, "redis", None):
        from crawler.distributed.cli import join_fleet  # noqa: PLC0415

        status, fleet, state_dir = join_fleet(args, settings, state_dir)
        if fleet is None:
            return status
    try:
        with RunLock(state_dir / "run.lock"):
            result = run_crawl(sites, settings)
            return _finish(result, sites, settings, args, (uri.uri, store, state_dir),
                           fleet)
    except LockHeld as exc:
        print(f"newsarchive: {exc}", file=sys.stderr)
        return exitcodes.LOCKED
    finally:
        if fleet is not None:
            fleet.close()


def _finish(result: Any, sites: list[SiteConfig], settings: Any, args: argparse.Namespace,
            output: tuple[str, Any, Path], fleet: Any = None) -> int:
    """Report, health, exit status of a finished run."""
    from crawler.report import HealthConfig, judge  # noqa: PLC0415
    from crawler.run import collect_report, publish_report, summary  # noqa: PLC0415

    health = getattr(args, "health", None) or HealthConfig()
    uri, store, state_dir = output
    report = collect_report(result.stats, [s.name for s in sites], health, settings, uri,
                            state_dir)
    if fleet is not None:
        from crawler.distributed.cli import judge_worker  # noqa: PLC0415

        code = judge_worker(report, result.stats, fleet)
    else:
        code = judge(report, result.stats)
    report["exit_code"] = code
    report["exit_status"] = exitcodes.describe(code)
    location = publish_report(report, store, state_dir)
    if location is None:
        code = exitcodes.STORAGE_ERROR
        result.stats["storage/pending"] = result.stats.get("storage/pending", 0) + 1
    if fleet is not None:
        from crawler.distributed.cli import finish_fleet  # noqa: PLC0415

        fleet_location = finish_fleet(fleet, report, store, state_dir)
        if fleet_location and not args.quiet:
            print(f"fleet report: {fleet_location}", file=sys.stderr)
    if not args.quiet:
        print(summary(result, Path(args.output)), file=sys.stderr)
        for problem in report["problems"]:
            print(f"problem: {problem}", file=sys.stderr)
        print(f"report: {location or 'pending in the staging directory (not published)'}",
              file=sys.stderr)
    if code != exitcodes.OK:
        print(f"newsarchive: run ended with status {code} ({exitcodes.describe(code)}; "
              f"{result.stats.get('finish_reason', 'unknown')})", file=sys.stderr)
    return code


def _crawl(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from crawler.spiders.news import read_urls_file  # noqa: PLC0415

    args.crawl_name = None
    command = args.command
    if args.config and (args.urls or args.urls_file):
        parser.error(f"{command}: give URLs/--urls-file or --config, not both")
    if args.site and not args.config:
        parser.error(f"{command}: --site needs --config")
    if not (args.config or args.urls or args.urls_file):
        parser.error(f"{command}: nothing to crawl: give URLs, --urls-file or --config")
    try:
        if args.config:
            sites, args.health = load_config(args.config, args.site)
            sites = override_sites(sites, since=args.since, depth=args.depth,
                                   max_articles=args.max_articles or None)
            args.crawl_name = Path(args.config).stem
        else:
            sites = site_from_urls(args.urls, depth=args.depth, since=args.since) \
                if args.urls else []
            if args.urls_file:
                listed = read_urls_file(args.urls_file)
                if not listed:
                    raise ConfigError(f"{args.urls_file}: no URLs in the list")
                sites += [replace(s, robots_sitemaps=False, feed_autodiscovery=False,
                                  depth=0, name=s.name + "-list" if any(
                                      o.name == s.name for o in sites) else s.name)
                          for s in site_from_urls(listed, since=args.since)]
    except ConfigError as exc:
        print(f"newsarchive: config error: {exc}", file=sys.stderr)
        return exitcodes.CONFIG_ERROR
    return _run(sites, args)


def _fleet_report(args: argparse.Namespace) -> int:
    from crawler.distributed.cli import print_fleet_report  # noqa: PLC0415

    return print_fleet_report(args)


def _demo(args: argparse.Namespace) -> int:
    from crawler.sample_site import SampleSiteServer  # noqa: PLC0415

    with SampleSiteServer() as server:
        if not args.quiet:
            print(f"serving the sample news site at {server.base_url}/")
        sites = site_from_urls([server.base_url + "/"], depth=args.depth, since=args.since)
        sites = [replace(s, name="sample-gazette") for s in sites]
        args.crawl_name = "sample-gazette"
        # Our own server on loopback: no need for the delays real sites deserve.
        # Loopback is refused by default (EGRESS_ALLOW): allow our own server's address.
        args.settings = [("DOWNLOAD_DELAY", "0"), ("AUTOTHROTTLE_ENABLED", "False"),
                         ("EGRESS_ALLOW", "127.0.0.1/32"), *args.settings]
        return _run(sites, args)


def _extract(args: argparse.Namespace) -> int:
    from pipelines.extract import extract_article  # noqa: PLC0415

    try:
        data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        print(f"newsarchive: error: {args.file}: {exc}", file=sys.stderr)
        return exitcodes.CONFIG_ERROR
    article = extract_article(data, args.url)
    if args.format == "json":
        print(json.dumps(asdict(article), ensure_ascii=False, indent=2))
    else:
        print(article.text)
    if not article.text:
        print(f"newsarchive: no article text found in {args.file}", file=sys.stderr)
        return exitcodes.FAILED
    return exitcodes.OK


def _check(args: argparse.Namespace) -> int:
    from crawler.run import project_settings  # noqa: PLC0415

    settings = project_settings({"ARCHIVE_STORE": args.output, **dict(args.settings)})
    status, _output = _open_output(settings)
    if status == exitcodes.OK:
        print(f"{args.output}: reachable and writable")
    return status


def _publish(args: argparse.Namespace) -> int:
    from crawler.run import project_settings  # noqa: PLC0415
    from pipelines.output import store_for  # noqa: PLC0415
    from pipelines.reader.catalog import (  # noqa: PLC0415
        CatalogingStore,
        crawl_of,
        new_run_id,
        write_run_manifest,
    )
    from pipelines.storage import Publisher, StorageConfigError, StorageError  # noqa: PLC0415

    overrides = {"ARCHIVE_STORE": args.output, **dict(args.settings)}
    if args.state:
        overrides["ARCHIVE_STATE_DIR"] = args.state
    settings = project_settings(overrides)
    try:
        uri, store, state = store_for(settings)
    except StorageConfigError as exc:
        print(f"newsarchive: config error: {exc}", file=sys.stderr)
        return exitcodes.CONFIG_ERROR
    # what it publishes goes in a catalog manifest of its own, as a crawl's run does
    cataloging = CatalogingStore(store) if settings.getbool("CATALOG_ENABLED", True) \
        else None
    started = datetime.now(UTC)
    publisher = Publisher(cataloging or store, state / "staging", cooldown=0)
    report = publisher.publish_pending()
    print(f"{uri.uri}: {len(report.published)} file(s) published, "
          f"{len(report.pending)} still pending, {len(report.lost)} lost")
    if cataloging is not None and cataloging.entries:
        try:
            key, published = write_run_manifest(
                publisher, crawl_of(report.published), new_run_id(started), started,
                cataloging.entries)
        except (StorageError, OSError) as exc:
            print(f"newsarchive: storage error: can't write the catalog manifest: {exc}",
                  file=sys.stderr)
            return exitcodes.STORAGE_ERROR
        print(f"catalog: {store.location(key)}" if published else
              f"catalog: {key} stays pending")
        if not published:
            report.pending.append(key)
    if report.pending:
        print(f"newsarchive: storage error: {publisher.last_error}", file=sys.stderr)
        return exitcodes.STORAGE_ERROR
    return exitcodes.OK if not report.lost else exitcodes.FAILED


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ("crawl", "worker"):
        return _crawl(args, parser)
    if args.command == "fleet-report":
        return _fleet_report(args)
    if args.command == "demo":
        return _demo(args)
    if args.command == "check-output":
        return _check(args)
    if args.command == "publish":
        return _publish(args)
    # -- reader commands: crawler/readcmds.py --
    from crawler.readcmds import READER_COMMANDS, run_reader_command  # noqa: PLC0415

    if args.command in READER_COMMANDS:
        return run_reader_command(args)
    # -- end of reader commands --
    return _extract(args)


if __name__ == "__main__":
    sys.exit(main())
