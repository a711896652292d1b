"""Storage core: URIs, layout, LocalStore, and S3Store/Publisher against a real S3 server."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pipelines.storage import (
    JOURNAL_NAME,
    InvalidKey,
    LocalStore,
    PendingJournal,
    Publisher,
    S3Options,
    S3Store,
    StorageConfigError,
    StorageUnavailable,
    check_key,
    object_key,
    open_store,
    parse_uri,
    relative_key,
)
from pipelines.storage.journal import PendingEntry
from tests.s3server import ACCESS_KEY, REGION, SECRET_KEY, SeaweedS3, s3server  # noqa: F401

MiB = 1024 * 1024
WHEN = datetime(2025, 3, 7, 12, 0, tzinfo=UTC)
# Fast failures: no botocore retries, tiny backoff, short timeouts.
FAST: dict[str, Any] = {"max_attempts": 1, "upload_attempts": 2, "retry_base_delay": 0.01,
        "connect_timeout": 2.0, "read_timeout": 20.0}


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stage(publisher: Publisher, key: str, data: bytes) -> Path:
    path = publisher.staging_path(key)
    path.write_bytes(data)
    return path


# -- URIs and layout ---------------------------------------------------------------------

@pytest.mark.parametrize(("uri", "expected"), [
    ("./archive", Path("archive")),
    ("archive/sub", Path("archive/sub")),
    ("/srv/archive", Path("/srv/archive")),
    ("file:///srv/archive", Path("/srv/archive")),
    ("file://localhost/srv/my%20archive", Path("/srv/my archive")),
])
def test_parse_path_uris(uri: str, expected: Path) -> None:
    parsed = parse_uri(uri)
    assert (parsed.scheme, parsed.path, parsed.is_s3) == ("file", expected, False)


@pytest.mark.parametrize(("uri", "bucket", "prefix"), [
    ("s3://news-archive", "news-archive", ""),
    ("s3://news-archive/", "news-archive", ""),
    ("s3://news.archive.eu/crawls/2025/", "news.archive.eu", "crawls/2025"),
    ("S3://abc//a//b", "abc", "a/b"),
])
def test_parse_s3_uris(uri: str, bucket: str, prefix: str) -> None:
    parsed = parse_uri(uri)
    assert (parsed.scheme, parsed.bucket, parsed.prefix) == ("s3", bucket, prefix)


@pytest.mark.parametrize("bucket", [
    "ab", "a" * 64, "News", "under_score", "-start", "end-", "double..dot", "dot.-dash",
    "192.168.1.10", "xn--punycode", "name-s3alias", "sp ace",
])
def test_bad_bucket_names(bucket: str) -> None:
    uri = f"s3://{bucket}/prefix"
    with pytest.raises(StorageConfigError) as info:
        parse_uri(uri)
    assert uri in str(info.value)


@pytest.mark.parametrize("uri", [
    "", "ftp://host/dir", "s3://AKIA:secret@bucket/x", "s3://bucket/x?versionId=1",
    "s3://bucket/a/../b", "file://otherhost/dir",
])
def test_bad_uris(uri: str) -> None:
    with pytest.raises(StorageConfigError) as info:
        parse_uri(uri)
    assert "secret" not in str(info.value)


def test_layout_keys() -> None:
    assert object_key("crawls/a", "warc", "crawl-1", WHEN, "x-00001.warc.gz") == \
        "crawls/a/warc/crawl-1/2025/03/07/x-00001.warc.gz"
    assert object_key("", "cdxj", "bbc.co.uk", WHEN, "x.cdxj") == \
        "cdxj/bbc.co.uk/2025/03/07/x.cdxj"
    assert relative_key("articles", "site_1", WHEN, "a.jsonl.gz") == \
        "articles/site_1/2025/03/07/a.jsonl.gz"
    for group, filename in [("..", "f"), ("a/b", "f"), ("g", ".."), ("g", "a b"),
                            ("", "f"), ("g", "x/../../etc")]:
        with pytest.raises(InvalidKey):
            relative_key("warc", group, WHEN, filename)
    with pytest.raises(InvalidKey):
        relative_key("secrets", "g", WHEN, "f")
    for group, filename in [("g\x00", "f"), ("g", "a\x00b"), ("g" * 256, "f"),
                            ("g", "f" * 256), ("/abs", "f"), ("g", "/etc/passwd")]:
        with pytest.raises(InvalidKey):
            relative_key("warc", group, WHEN, filename)
    for key in ["/etc/passwd", "a/../b", "a/./b", "a//b", "a/\x00/b", "", "a/" + "b" * 256]:
        with pytest.raises(InvalidKey):
            check_key(key)
    assert check_key("warc/g/2025/03/07/f.warc.gz") == "warc/g/2025/03/07/f.warc.gz"


# -- LocalStore --------------------------------------------------------------------------

def test_local_publish_is_atomic(tmp_path: Path) -> None:
    root, staging = tmp_path / "archive", tmp_path / "archive" / ".staging"
    store = open_store(str(root))
    assert isinstance(store, LocalStore)
    store.check()
    publisher = Publisher(store, staging)
    key = relative_key("warc", "crawl", WHEN, "c-00000.warc.gz")
    path = publisher.staging_path(key)
    with path.open("wb") as f:
        f.write(b"half")
        # half written: nothing is visible under the output tree
        assert not (root / key).exists()
        f.write(b" and done")
    assert not (root / key).exists()
    assert publisher.publish(key) is True
    assert (root / key).read_bytes() == b"half and done"
    assert not path.exists()
    assert not (staging / JOURNAL_NAME).exists()
    leftovers = [p for p in staging.rglob("*") if p.is_file()]
    assert leftovers == []


def test_local_publish_across_filesystems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          ) -> None:
    """When staging is on another filesystem, copy to a hidden name, then rename."""
    import errno

    store = LocalStore(tmp_path / "out")
    publisher = Publisher(store, tmp_path / "staging")
    key = relative_key("reports", "crawl", WHEN, "r.json")
    stage(publisher, key, b"{}")
    real_replace = os.replace

    def replace(src: Any, dst: Any) -> None:
        if Path(src).is_relative_to(tmp_path / "staging"):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    assert publisher.publish(key)
    assert (tmp_path / "out" / key).read_bytes() == b"{}"
    assert sorted(p.name for p in (tmp_path / "out" / key).parent.iterdir()) == ["r.json"]
    assert not publisher.staging_path(key).exists()


def test_pending_after_a_crash_between_publish_and_journal(tmp_path: Path) -> None:
    """Published but not marked done (crash): the next run notices; a vanished file is
    reported as lost instead of blocking the journal forever."""
    store = LocalStore(tmp_path / "out")
    publisher = Publisher(store, tmp_path / "staging")
    done_key = relative_key("warc", "crawl", WHEN, "published.warc.gz")
    stage(publisher, done_key, b"w")
    publisher.journal.add(PendingEntry(done_key))
    store.publish(publisher.staging_path(done_key), done_key)  # crash before done()
    lost_key = relative_key("cdxj", "crawl", WHEN, "lost.cdxj")
    publisher.journal.add(PendingEntry(lost_key, after=done_key))
    report = Publisher(store, tmp_path / "staging").publish_pending()
    assert report.published == [done_key]
    assert report.lost == [lost_key]
    assert not report.ok
    assert not (tmp_path / "staging" / JOURNAL_NAME).exists()


def test_local_check_unwritable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorageUnavailable, match="not writable"):
        LocalStore(blocker / "archive").check()


def test_journal_survives_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / JOURNAL_NAME
    journal = PendingJournal(path)
    journal.add(PendingEntry("warc/a"))
    journal.add(PendingEntry("cdxj/a", after="warc/a"))
    with path.open("a") as f:
        f.write('{"key": "warc/b", "sta')  # crash while appending
    reopened = PendingJournal(path)
    assert [e.key for e in reopened.entries()] == ["warc/a", "cdxj/a"]
    reopened.add(PendingEntry("warc/c"))
    reopened.done("warc/a")
    again = PendingJournal(path)
    assert [(e.key, e.after) for e in again.entries()] == [("cdxj/a", "warc/a"), ("warc/c", None)]
    again.done("cdxj/a")
    again.done("warc/c")
    assert not path.exists()


# -- S3 ----------------------------------------------------------------------------------

@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch, s3server: SeaweedS3,  # noqa: F811
           tmp_path: Path) -> SeaweedS3:
    """boto3's standard environment pointing at the test server, isolated from ~/.aws."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3server.endpoint)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return s3server


@pytest.fixture
def client(s3_env: SeaweedS3) -> Iterator[Any]:
    c = s3_env.client()
    yield c
    c.close()


@pytest.fixture
def bucket(client: Any) -> str:
    name = f"t-{uuid.uuid4().hex[:20]}"
    client.create_bucket(Bucket=name)
    return name


def make_store(bucket: str, prefix: str = "news", **options: Any) -> S3Store:
    store = open_store(f"s3://{bucket}/{prefix}", S3Options(**{**FAST, **options}))
    assert isinstance(store, S3Store)
    return store


def test_s3_check_ok_leaves_nothing(bucket: str, client: Any) -> None:
    store = make_store(bucket)
    assert store.endpoint.startswith("http://127.0.0.1:")  # from AWS_ENDPOINT_URL_S3
    store.check()
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_s3_publish_small(bucket: str, client: Any, tmp_path: Path,
                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    store = make_store(bucket)
    publisher = Publisher(store, tmp_path / "staging")
    key = relative_key("articles", "example.com", WHEN, "articles-00000.jsonl.gz")
    data = b'{"url": "https://example.com/a"}\n' * 100
    path = stage(publisher, key, data)
    assert publisher.publish(key, content_type="application/gzip") is True
    assert not path.exists()
    full = f"news/{key}"
    head = client.head_object(Bucket=bucket, Key=full, ChecksumMode="ENABLED")
    assert head["ContentLength"] == len(data)
    assert head["ChecksumSHA256"] == sha256_b64(data)
    assert head["ContentType"] == "application/gzip"
    assert client.get_object(Bucket=bucket, Key=full)["Body"].read() == data
    assert [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]] == [full]
    assert SECRET_KEY not in caplog.text


def test_s3_publish_multipart_with_verified_checksum(bucket: str, client: Any,
                                                     tmp_path: Path) -> None:
    store = make_store(bucket, multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    publisher = Publisher(store, tmp_path / "staging")
    key = relative_key("warc", "crawl-1", WHEN, "crawl-1-00000.warc.gz")
    data = os.urandom(12 * MiB)
    stage(publisher, key, data)
    assert publisher.publish(key)
    full = f"news/{key}"
    head = client.head_object(Bucket=bucket, Key=full, ChecksumMode="ENABLED")
    parts = [data[i:i + 5 * MiB] for i in range(0, len(data), 5 * MiB)]
    composite = hashlib.sha256(b"".join(hashlib.sha256(p).digest() for p in parts)).digest()
    assert head["ContentLength"] == len(data)
    assert head["ChecksumSHA256"] == f"{base64.b64encode(composite).decode()}-3"
    attrs = client.get_object_attributes(Bucket=bucket, Key=full,
                                         ObjectAttributes=["ObjectParts", "ObjectSize"])
    assert attrs["ObjectParts"]["TotalPartsCount"] == 3
    body = client.get_object(Bucket=bucket, Key=full)["Body"].read()
    assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()


def test_server_rejects_a_wrong_checksum(bucket: str, client: Any) -> None:
    wrong = sha256_b64(b"something else")
    with pytest.raises(ClientError) as info:
        client.put_object(Bucket=bucket, Key="single", Body=b"payload", ChecksumSHA256=wrong)
    assert info.value.response["Error"]["Code"] == "BadDigest"
    upload = client.create_multipart_upload(Bucket=bucket, Key="multi",
                                            ChecksumAlgorithm="SHA256")
    with pytest.raises(ClientError) as info:
        client.upload_part(Bucket=bucket, Key="multi", UploadId=upload["UploadId"],
                           PartNumber=1, Body=b"x" * 1000, ChecksumSHA256=wrong)
    assert info.value.response["Error"]["Code"] == "BadDigest"
    client.abort_multipart_upload(Bucket=bucket, Key="multi", UploadId=upload["UploadId"])
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_s3_publish_with_sse_and_storage_class(bucket: str, client: Any,
                                               tmp_path: Path) -> None:
    store = make_store(bucket, sse="AES256", storage_class="STANDARD_IA")
    store.check()
    publisher = Publisher(store, tmp_path / "staging")
    key = relative_key("reports", "crawl", WHEN, "summary.json")
    stage(publisher, key, b"{}")
    assert publisher.publish(key, content_type="application/json")
    head = client.head_object(Bucket=bucket, Key=f"news/{key}")
    assert (head["ServerSideEncryption"], head["StorageClass"]) == ("AES256", "STANDARD_IA")


def test_when_required_checksum_mode_still_sends_sha256(bucket: str, client: Any,
                                                        tmp_path: Path) -> None:
    store = make_store(bucket, prefix="", request_checksum_calculation="when_required")
    sent: list[str] = []
    store.client.meta.events.register(
        "before-send.s3.PutObject",
        lambda request, **_: sent.append(
            request.headers.get("x-amz-checksum-sha256", b"").decode()))
    key = relative_key("reports", "crawl", WHEN, "report.json")
    publisher = Publisher(store, tmp_path / "staging")
    stage(publisher, key, b'{"ok": true}')
    assert publisher.publish(key)
    assert sent == [sha256_b64(b'{"ok": true}')]


def test_local_copy_kept_until_confirmed(bucket: str, tmp_path: Path) -> None:
    store = make_store(bucket)
    publisher = Publisher(store, tmp_path / "staging", cooldown=0)
    key = relative_key("warc", "crawl", WHEN, "c.warc.gz")
    path = stage(publisher, key, b"warc bytes")
    seen: list[bool] = []
    lie = {"on": True}

    def on_head(parsed: dict[str, Any], **_: Any) -> None:
        seen.append(path.exists())
        if lie["on"]:
            parsed["ContentLength"] = 1  # the server "confirms" a different size

    store.client.meta.events.register("after-call.s3.HeadObject", on_head)
    assert publisher.publish(key) is False
    assert path.read_bytes() == b"warc bytes"  # not confirmed: kept
    assert [e.key for e in publisher.pending()] == [key]
    assert "size mismatch" in (publisher.pending()[0].error or "")
    lie["on"] = False
    assert publisher.publish_pending().ok
    assert seen == [True, True, True]  # the file existed at every confirmation
    assert not path.exists()


def test_warc_is_published_before_its_cdxj(bucket: str, client: Any, tmp_path: Path) -> None:
    store = make_store(bucket)
    order: list[str] = []
    store.client.meta.events.register("before-parameter-build.s3.PutObject",
                                      lambda params, **_: order.append(params["Key"]))
    publisher = Publisher(store, tmp_path / "staging")
    warc = relative_key("warc", "crawl", WHEN, "crawl-00001.warc.gz")
    cdxj = relative_key("cdxj", "crawl", WHEN, "crawl-00001.cdxj")
    stage(publisher, warc, b"WARC/1.1 ...")
    stage(publisher, cdxj, b"com,example)/ 20250307120000 {}\n")
    # the index is closed first but must wait for its WARC
    assert publisher.publish(cdxj, after=warc) is False
    assert order == []
    assert not store.exists(cdxj)
    assert publisher.publish(warc) is True
    assert order == [f"news/{warc}", f"news/{cdxj}"]
    assert publisher.pending() == []
    assert not (tmp_path / "staging" / JOURNAL_NAME).exists()


def test_publish_with_wrong_credentials_keeps_the_file(bucket: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture,
                                                       ) -> None:
    """boto3 wraps the refusal in S3UploadFailedError: no retry helps, the file stays."""
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-value-1234")
    store = make_store(bucket, upload_attempts=5, retry_base_delay=5.0)
    publisher = Publisher(store, tmp_path / "staging")
    key = relative_key("warc", "crawl", WHEN, "c.warc.gz")
    path = stage(publisher, key, b"data")
    assert publisher.publish(key) is False  # at once: no 5 s backoff for a permanent error
    assert path.exists()
    assert "after 1 attempt" in (publisher.last_error or "")
    assert "SignatureDoesNotMatch" in (publisher.last_error or "")
    assert "wrong-secret-value" not in caplog.text


def test_s3_options_validate_and_hide_secrets() -> None:
    options = S3Options(aws_access_key_id="AKIAEXAMPLE",
                        aws_secret_access_key="s3cr3t-value")  # noqa: S106 - a fake
    assert "s3cr3t" not in repr(options)
    assert "AKIAEXAMPLE" not in repr(options)
    with pytest.raises(StorageConfigError, match="addressing_style"):
        S3Options(addressing_style="sideways")
    with pytest.raises(StorageConfigError, match="5 MiB"):
        S3Options(multipart_chunksize=MiB)
    with pytest.raises(StorageConfigError, match="request_checksum_calculation"):
        S3Options(request_checksum_calculation="never")
    with pytest.raises(StorageConfigError, match="or neither"):
        S3Options(aws_access_key_id="AKIAEXAMPLE")


def _assert_clear(exc: StorageUnavailable, uri: str) -> None:
    text = str(exc)
    assert uri in text
    assert SECRET_KEY not in text
    assert ACCESS_KEY not in text


def test_check_wrong_credentials(bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-value-1234")
    store = make_store(bucket)
    with pytest.raises(StorageUnavailable, match="access denied") as info:
        store.check()
    _assert_clear(info.value, f"s3://{bucket}/news")
    assert "wrong-secret-value" not in str(info.value)
    assert "AKIA…" in str(info.value)  # a 4-character key id hint at most


def test_check_missing_credentials(bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(StorageUnavailable, match="no usable AWS credentials") as info:
        make_store(bucket).check()
    _assert_clear(info.value, f"s3://{bucket}/news")


def test_check_unreachable_endpoint(monkeypatch: pytest.MonkeyPatch, s3_env: SeaweedS3,
                                    ) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint)
    with pytest.raises(StorageUnavailable, match="cannot reach") as info:
        make_store("unreachable-bucket").check()
    _assert_clear(info.value, "s3://unreachable-bucket/news")
    assert endpoint in str(info.value)


def test_check_missing_bucket(s3_env: SeaweedS3) -> None:
    with pytest.raises(StorageUnavailable, match="does not exist") as info:
        make_store("no-such-bucket-here", prefix="").check()
    _assert_clear(info.value, "s3://no-such-bucket-here")


def test_server_stopped_during_publish(bucket: str, s3_env: SeaweedS3, tmp_path: Path,
                                       caplog: pytest.LogCaptureFixture) -> None:
    """Kill the server mid-multipart: kept + journalled; after a restart, stale parts are
    aborted and the next run's ``publish_pending()`` uploads the file."""
    caplog.set_level(logging.INFO, logger="pipelines.storage")
    options: dict[str, Any] = {"multipart_threshold": 5 * MiB,
                               "multipart_chunksize": 5 * MiB, "max_concurrency": 1}
    store = make_store(bucket, **options)
    staging = tmp_path / "staging"
    publisher = Publisher(store, staging, cooldown=0)
    warc = relative_key("warc", "crawl", WHEN, "crawl-00002.warc.gz")
    cdxj = relative_key("cdxj", "crawl", WHEN, "crawl-00002.cdxj")
    data = os.urandom(12 * MiB)
    path = stage(publisher, warc, data)
    stage(publisher, cdxj, b"index\n")
    stopped = threading.Event()

    def stop_after_first_part(**_: Any) -> None:
        if not stopped.is_set():
            stopped.set()
            s3_env.stop()

    store.client.meta.events.register("after-call.s3.UploadPart", stop_after_first_part)
    try:
        assert publisher.publish(warc) is False
        assert publisher.publish(cdxj, after=warc) is False
        assert path.read_bytes() == data
        lines = [json.loads(line) for line in
                 (staging / JOURNAL_NAME).read_text().splitlines()]
        assert {(rec["key"], rec["status"]) for rec in lines} == {(warc, "pending"),
                                                                  (cdxj, "pending")}
        assert "failed" in caplog.text
        assert SECRET_KEY not in caplog.text
    finally:
        if s3_env.process is None:
            s3_env.start()
    client = s3_env.client()
    try:
        # no partial object is visible, but the interrupted upload is listed
        assert client.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
        uploads = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        assert [u["Key"] for u in uploads] == [f"news/{warc}"]

        next_run_store = make_store(bucket, **options)
        assert next_run_store.abort_stale_multipart_uploads(timedelta(0)) == 1
        assert not client.list_multipart_uploads(Bucket=bucket).get("Uploads")
        next_run = Publisher(next_run_store, staging)
        assert [e.key for e in next_run.pending()] == [warc, cdxj]
        report = next_run.publish_pending()
        assert report.ok
        assert report.published == [warc, cdxj]
        assert not (staging / JOURNAL_NAME).exists()
        assert not path.exists()
        body = client.get_object(Bucket=bucket, Key=f"news/{warc}")["Body"].read()
        assert body == data
    finally:
        client.close()


def test_stale_multipart_uploads_are_aborted(bucket: str, client: Any) -> None:
    mine = client.create_multipart_upload(Bucket=bucket, Key="news/warc/x.warc.gz")
    client.upload_part(Bucket=bucket, Key="news/warc/x.warc.gz", UploadId=mine["UploadId"],
                       PartNumber=1, Body=b"x" * 1024)
    other = client.create_multipart_upload(Bucket=bucket, Key="elsewhere/y")
    store = make_store(bucket)
    assert store.abort_stale_multipart_uploads(timedelta(hours=1)) == 0  # too recent
    assert store.abort_stale_multipart_uploads(timedelta(0)) == 1
    left = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert [u["Key"] for u in left] == ["elsewhere/y"]
    client.abort_multipart_upload(Bucket=bucket, Key="elsewhere/y", UploadId=other["UploadId"])


def test_unreachable_bucket_keeps_staging_within_budget(monkeypatch: pytest.MonkeyPatch,
                                                        s3_env: SeaweedS3,
                                                        tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{closed_port()}")
    store = make_store("down-bucket")
    publisher = Publisher(store, tmp_path / "staging", disk_budget_bytes=5000, cooldown=60)
    first = relative_key("warc", "crawl", WHEN, "c-0.warc.gz")
    stage(publisher, first, b"x" * 3000)
    assert publisher.publish(first) is False
    assert not publisher.over_budget()
    calls: list[str] = []
    store.client.meta.events.register("before-call.s3.*",
                                      lambda model, **_: calls.append(model.name))
    second = relative_key("warc", "crawl", WHEN, "c-1.warc.gz")
    stage(publisher, second, b"y" * 3000)
    assert publisher.publish(second) is False  # store failing: journalled, not retried now
    assert calls == []
    assert publisher.disk_used() >= 6000
    assert publisher.over_budget()
    assert [e.key for e in publisher.pending()] == [first, second]
    assert publisher.last_error is not None
    assert "s3://down-bucket/news" in publisher.last_error


def test_publish_pending_gives_up_early_while_the_store_is_down(
        monkeypatch: pytest.MonkeyPatch, s3_env: SeaweedS3, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{closed_port()}")
    store = make_store("down-bucket", upload_attempts=1)
    publisher = Publisher(store, tmp_path / "staging", max_failures=2)
    keys = [relative_key("warc", "crawl", WHEN, f"c-{i}.warc.gz") for i in range(4)]
    for key in keys:
        stage(publisher, key, b"w")
        publisher.journal.add(PendingEntry(key))
    attempts: list[str] = []
    store.client.meta.events.register("before-parameter-build.s3.PutObject",
                                      lambda params, **_: attempts.append(params["Key"]))
    report = publisher.publish_pending()
    assert attempts == [f"news/{keys[0]}", f"news/{keys[1]}"]
    assert report.pending == keys
    assert not report.ok
