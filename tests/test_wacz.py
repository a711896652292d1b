"""newsarchive wacz: a WACZ that py-wacz validates, listing the articles as pages."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import read_articles, run_cli


@pytest.fixture(scope="module")
def archive(sample_site: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wacz-archive")
    result = run_cli("crawl", sample_site.base_url + "/", "-o", str(out))
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def wacz_file(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("wacz") / "crawl.wacz"
    result = run_cli("wacz", str(archive), "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert "1 WARC file(s)" in result.stdout or "WARC file(s)" in result.stdout
    return target


def test_wacz_validates(wacz_file: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "wacz", "validate", "-f", str(wacz_file)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation succeeded" in result.stdout


def test_pages_list_every_article(wacz_file: Path, archive: Path) -> None:
    articles = read_articles(archive)
    with zipfile.ZipFile(wacz_file) as z:
        lines = z.read("pages/pages.jsonl").decode().splitlines()
    header, *pages = (json.loads(line) for line in lines)
    assert header["format"] == "json-pages-1.0"
    assert sorted(p["url"] for p in pages) == sorted(a["url"] for a in articles)
    assert all(p["ts"].endswith("Z") and p["title"] for p in pages)


def test_warcs_stored_with_indexes_and_hashes(wacz_file: Path, archive: Path) -> None:
    with zipfile.ZipFile(wacz_file) as z:
        names = z.namelist()
        warcs = [i for i in z.infolist() if i.filename.startswith("archive/")]
        assert warcs and all(i.compress_type == zipfile.ZIP_STORED for i in warcs)
        assert {"indexes/index.cdx.gz", "indexes/index.idx", "datapackage.json"} <= set(names)
        package = json.loads(z.read("datapackage.json"))
        for resource in package["resources"]:
            digest = hashlib.sha256(z.read(resource["path"])).hexdigest()
            assert resource["hash"] == f"sha256:{digest}"
    local = {p.name for p in archive.glob("warc/**/*.warc.gz")}
    assert {Path(i.filename).name for i in warcs} == local


def test_wacz_of_an_empty_archive_fails_clearly(tmp_path: Path) -> None:
    result = run_cli("wacz", str(tmp_path), "-o", str(tmp_path / "x.wacz"))
    assert result.returncode == 1
    assert "no WARC files" in result.stderr
