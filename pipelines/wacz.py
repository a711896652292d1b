"""Package an archive's WARC files as a WACZ for ReplayWeb.page (warc-requirements R24).

The crawler's articles become ``pages.jsonl`` (url, ts, title), so ReplayWeb.page lists
the articles; the WACZ itself is made by py-wacz (``wacz create``).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["WaczError", "WaczResult", "build_wacz", "find_warcs", "iter_articles"]

logger = logging.getLogger(__name__)


class WaczError(RuntimeError):
    """Nothing to package, or py-wacz failed."""


@dataclass(frozen=True)
class WaczResult:
    path: Path
    warcs: int
    pages: int


class _LogWriter:
    def write(self, text: str) -> int:
        if text.strip():
            logger.info("wacz: %s", text.strip())
        return len(text)

    def flush(self) -> None:
        return None


def find_warcs(store: Path, crawl: str | None = None) -> list[Path]:
    """Published WARC files under ``<store>/warc[/<crawl>]`` (never ``.open`` ones)."""
    root = store / "warc" / crawl if crawl else store / "warc"
    return sorted(root.glob("**/*.warc.gz"))


def iter_articles(store: Path, site: str | None = None) -> Iterator[dict[str, Any]]:
    """Article records of published JSON Lines files, streamed."""
    root = store / "articles" / site if site else store / "articles"
    for path in sorted(root.glob("**/*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield json.loads(line)


def _warc_ts(value: str | None) -> str | None:
    """``2026-11-20T10:00:00Z``: the UTC form warcio and ReplayWeb.page read."""
    from crawler.since import parse_timestamp  # noqa: PLC0415

    parsed = parse_timestamp(value)
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ") if parsed else None


def _write_pages(store: Path, target: Path, warc_names: set[str],
                 site: str | None) -> int:
    count = 0
    with target.open("w", encoding="utf-8") as out:
        header = {"format": "json-pages-1.0", "id": "pages", "title": "Articles"}
        out.write(json.dumps(header) + "\n")
        for article in iter_articles(store, site):
            if article.get("warc_file") not in warc_names:
                continue
            page = {"id": article.get("warc_record_id") or article["url"],
                    "url": article["url"], "ts": _warc_ts(article.get("fetched_at")),
                    "title": article.get("title") or article["url"]}
            out.write(json.dumps(page, ensure_ascii=False) + "\n")
            count += 1
    return count


def build_wacz(store: Path, output: Path, *, crawl: str | None = None,
               site: str | None = None, title: str | None = None) -> WaczResult:
    """Write ``output`` (a ``.wacz``) from the archive at ``store``."""
    from wacz.main import main as wacz_main  # noqa: PLC0415

    warcs = find_warcs(store, crawl)
    if not warcs:
        where = store / "warc" / (crawl or "")
        raise WaczError(f"no WARC files under {where}")
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="newsarchive-wacz-") as tmp:
        pages = Path(tmp) / "pages.jsonl"
        count = _write_pages(store, pages, {w.name for w in warcs}, site)
        args = ["create", "-o", str(output), "-p", str(pages),
                "--title", title or f"newsarchive: {crawl or store.name}",
                *map(str, warcs)]
        with contextlib.redirect_stdout(_LogWriter()):  # py-wacz prints progress
            status = wacz_main(args)
    if status not in (0, None) or not output.is_file():
        raise WaczError(f"wacz create failed with status {status} for {output}")
    logger.info("wrote %s: %d WARC files, %d pages", output, len(warcs), count)
    return WaczResult(output, len(warcs), count)
