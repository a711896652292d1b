"""bench/read.py's archive is a real one: the crawl's layout, a catalog, readable captures."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from bench.read import build_archive
from bench.site import DATA_DIR
from pipelines.reader import Archive

pytestmark = pytest.mark.skipif(not (DATA_DIR / "ground-truth.json").is_file(),
                                reason="the article-extraction benchmark pages are not here")


def test_bench_archive_is_readable_through_its_catalog(tmp_path: Path) -> None:
    data = tmp_path / "data"  # 6 of the pages: each is extracted once, the slow part
    (data / "html").mkdir(parents=True)
    shutil.copy(DATA_DIR / "ground-truth.json", data)
    for page in sorted((DATA_DIR / "html").glob("*.html.gz"))[:6]:
        shutil.copy(page, data / "html")
    described = build_archive(tmp_path / "bench", 24, sites=3, data_dir=data,
                              articles_max_size=1)  # a file per article
    assert described["templates"] == 6
    archive = Archive(tmp_path / "bench" / "archive")
    assert archive.catalog is not None and len(archive.runs()) == 1
    assert archive.sites() == ["bench-site-1", "bench-site-2", "bench-site-3"]
    files = list(archive.files("articles"))
    assert len(files) == described["files"]["articles"] > 3  # rotated
    lines = sum(len(gzip.decompress((tmp_path / "bench" / "archive" / f.key).read_bytes())
                    .splitlines()) for f in files)
    articles = list(archive.articles())
    assert lines == len(articles) == 24
    assert len({a.url for a in articles}) == 24
    article = next(archive.articles(site=articles[5].site, url=articles[5].url))
    capture = archive.capture_of(article)
    assert capture.url == article.url and capture.status == 200
    assert f"Copy {article.url.split('/')[4]}.".encode() in capture.body
    assert len(list(archive.articles(since="2026-10-01"))) < 24  # dates spread over a year
    assert not (tmp_path / "bench" / "state").exists()
