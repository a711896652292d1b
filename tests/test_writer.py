import errno
import gzip
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelines.jsonl import RotatingJsonlWriter
from pipelines.paths import safe_component, text_file_name
from pipelines.storage import DiskFull, relative_key


def test_files_are_open_while_written_and_renamed_when_closed(tmp_path: Path) -> None:
    writer = RotatingJsonlWriter(lambda _now: tmp_path / "a", max_size=10**9)
    writer.write({"n": 1})
    assert [p.name.endswith(".jsonl.gz.open") for p in (tmp_path / "a").iterdir()] == [True]
    final = writer.close()
    assert final is not None
    assert [p.name for p in (tmp_path / "a").iterdir()] == [final.name]
    assert re.fullmatch(r"articles-\d{14}-00001-[0-9a-f]{6}\.jsonl\.gz", final.name)
    with gzip.open(final, "rt") as handle:
        assert [json.loads(line) for line in handle] == [{"n": 1}]


def test_rotation_by_compressed_size_keeps_every_record(tmp_path: Path) -> None:
    writer = RotatingJsonlWriter(lambda _now: tmp_path, max_size=20_000, compresslevel=1)
    import random

    rng = random.Random(7)
    for i in range(2000):
        writer.write({"i": i, "noise": "".join(rng.choice("abcdefghij") for _ in range(200))})
    writer.close()
    assert len(writer.published) > 3
    serials = [int(p.name.split("-")[2]) for p in writer.published]
    assert serials == sorted(serials) == list(range(1, len(serials) + 1))
    seen = []
    for path in writer.published:
        with gzip.open(path, "rt") as handle:
            seen.extend(json.loads(line)["i"] for line in handle)
    assert seen == list(range(2000))
    assert not list(tmp_path.glob("*.open"))


def test_a_failed_close_drops_the_file_and_says_disk_full(tmp_path: Path) -> None:
    """``on_closing`` (the state recording the file's articles) fails on a full disk: the
    file is dropped, nothing is announced as published, the error names the file."""
    published: list[Path] = []
    failures = [OSError(errno.ENOSPC, "database or disk is full")]

    def closing(path: Path) -> None:
        assert path.name.endswith(".jsonl.gz.open")
        if failures:
            raise failures.pop()

    writer = RotatingJsonlWriter(lambda _now: tmp_path, max_size=10**9,
                                 on_published=published.append, on_closing=closing)
    writer.write({"n": 1})
    writer.write({"n": 2})
    (open_file,) = tmp_path.iterdir()
    with pytest.raises(DiskFull) as raised:
        writer.close()
    assert str(raised.value) == f"disk full at {open_file} (database or disk is full)"
    assert raised.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []
    assert published == [] and writer.published == []
    assert writer.last_dropped == 2 and writer.records == 0
    writer.write({"n": 3})  # a new file afterwards
    final = writer.close()
    assert final is not None and published == [final]


def test_close_without_writes_publishes_nothing(tmp_path: Path) -> None:
    writer = RotatingJsonlWriter(lambda _now: tmp_path)
    assert writer.close() is None
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("hostile", ["../../etc/passwd", "..", ".", "", "a/b\\c", "é" * 200,
                                     "x" * 500, "/absolute", "con:nul", "\x00",
                                     "a\x00/../b", "..\x00..", "%2e%2e%2f"])
def test_path_components_stay_inside(tmp_path: Path, hostile: str) -> None:
    name = safe_component(hostile)
    assert name not in ("", ".", "..")
    assert "/" not in name and "\\" not in name and ":" not in name
    assert len(name) <= 80
    # the layout every writer publishes under accepts it and stays inside the output
    key = relative_key("text", name, datetime(2026, 11, 20, tzinfo=UTC), "a.txt")
    path = tmp_path / key
    assert path.resolve().is_relative_to(tmp_path.resolve())
    assert path.parts[-4:-1] == ("2026", "11", "20")


@pytest.mark.parametrize("url", [
    "https://e.example/news/2026/11/story.html",
    "https://e.example/../../../etc/passwd",
    "https://e.example/%2e%2e%2f%2e%2e%2fsecret",
    "https://e.example/",
    "https://e.example/a/" + "very-long-" * 50,
])
def test_text_file_names_are_safe_and_unique(url: str) -> None:
    name = text_file_name(url)
    assert re.fullmatch(r"[A-Za-z0-9._-]+-[0-9a-f]{10}\.txt", name)
    assert not name.startswith(".")
    assert text_file_name(url + "?x=1") != name
